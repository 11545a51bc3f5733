/* The files of an out-of-core Gram (ooc.h): the partial .npy beside the output, its lock, the resume side file,
 * the disk-space check and the final rename. Kept apart from the driver (ooc.c) so that the driver reads as
 * compute -> write rows -> record. */
#include "kernels/ooc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define SIDE_MAGIC "deepwick kernel resume 1"

uint64_t dw_ooc_hash(uint64_t h, const void *p, size_t len)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < len; i++) {
        h ^= c[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* "<dir>/.<base><suffix>" */
static char *beside(const char *path, const char *suffix)
{
    const char *slash = strrchr(path, '/');
    const size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    const size_t baselen = strlen(base), slen = strlen(suffix);
    char *t = dw_alloc(dirlen + 1 + baselen + slen + 1, 1, "temporary file name");
    if (!t) return NULL;
    memcpy(t, path, dirlen);
    t[dirlen] = '.';
    memcpy(t + dirlen + 1, base, baselen);
    memcpy(t + dirlen + 1 + baselen, suffix, slen + 1);
    return t;
}

dw_status dw_ooc_names(ooc_files *f, const char *path, int ndim, const size_t *shape, size_t n)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->path = path;
    f->n = n;
    if (!path || !*path) return dw_fail(DW_ERR_INVALID, "output file path is empty");
    struct stat st;
    if (path[strlen(path) - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return dw_fail(DW_ERR_IO, "%s: %s", path, strerror(EISDIR));
    size_t count;
    dw_status s = dw_io_npy_header(path, ndim, shape, f->head, &f->head_len, &count);
    if (s) return s;
    f->data_bytes = (uint64_t)count * 8u;
    f->partial = beside(path, ".deepwick-partial");
    f->side = beside(path, ".deepwick-resume");
    f->sidetmp = beside(path, ".deepwick-resume.tmp");
    if (!f->partial || !f->side || !f->sidetmp) return DW_ERR_NOMEM;
    return DW_OK;
}

dw_status dw_ooc_check_space(const ooc_files *f)
{
    char *dir = dw_alloc(strlen(f->path) + 2, 1, "directory name");
    if (!dir) return DW_ERR_NOMEM;
    const char *slash = strrchr(f->path, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == f->path) strcpy(dir, "/");
    else {
        memcpy(dir, f->path, (size_t)(slash - f->path));
        dir[slash - f->path] = '\0';
    }
    struct statvfs vfs;
    const int e = statvfs(dir, &vfs) != 0 ? errno : 0;
    free(dir);
    if (e) return dw_fail(DW_ERR_IO, "%s: %s", f->path, strerror(e));
    const double need = (double)f->head_len + (double)f->data_bytes;
    double have = (double)vfs.f_bavail * (double)vfs.f_frsize;
    struct stat st;
    if (stat(f->partial, &st) == 0) /* its blocks come back (a new start) or are kept (a resume) */
        have += (double)st.st_blocks * 512.0;
    if (need > have) {
        char a[32], b[32];
        dw_core_format_bytes(need, a, sizeof a);
        dw_core_format_bytes(have, b, sizeof b);
        return dw_fail(DW_ERR_IO, "%s: the kernel result needs %s on disk but only %s is available there", f->path, a,
                       b);
    }
    return DW_OK;
}

/* The side file: its hash must be ours; rows and stats are read into f. 1: read, 0: none, -1: another run's. */
static int read_side(ooc_files *f)
{
    FILE *s = fopen(f->side, "re");
    if (!s) return 0;
    char magic[64] = "";
    uint64_t hash = 0;
    size_t rows = 0, n = 0, ev = 0, qd = 0;
    int routes = 0;
    char mb[64] = "", eb[64] = "";
    int ok = fgets(magic, sizeof magic, s) != NULL && !strncmp(magic, SIDE_MAGIC, strlen(SIDE_MAGIC)) &&
             fscanf(s, " hash %" SCNx64 " rows %zu of %zu stats %63s %63s %zu %zu %d", &hash, &rows, &n, mb, eb, &ev,
                    &qd, &routes) == 8;
    fclose(s);
    if (!ok || hash != f->hash || n != f->n || rows > n) return -1;
    f->rows_done = rows;
    f->stats.max_bound = strtod(mb, NULL);
    f->stats.entry_bound = strtod(eb, NULL);
    f->stats.evaluations = ev;
    f->stats.quadrature = qd;
    f->stats.routes = routes;
    return 1;
}

dw_status dw_ooc_record(ooc_files *f)
{
    char text[512];
    int len = snprintf(text, sizeof text, SIDE_MAGIC "\nhash %016" PRIx64 "\nrows %zu of %zu\nstats %a %a %zu %zu %d\n",
                       f->hash, f->rows_done, f->n, f->stats.max_bound, f->stats.entry_bound, f->stats.evaluations,
                       f->stats.quadrature, f->stats.routes);
    int fd = open(f->sidetmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int e = fd < 0 ? errno : 0;
    if (!e && write(fd, text, (size_t)len) != (ssize_t)len) e = errno ? errno : EIO;
    if (fd >= 0 && close(fd) != 0 && !e) e = errno;
    if (!e && rename(f->sidetmp, f->side) != 0) e = errno;
    if (e) {
        unlink(f->sidetmp);
        return dw_fail(DW_ERR_IO, "%s: %s", f->side, strerror(e));
    }
    return DW_OK;
}

/* pwrite at off, or (off UINT64_MAX) write at the file position: a sequential pass */
static dw_status write_at(ooc_files *f, const void *buf, size_t bytes, uint64_t off)
{
    const unsigned char *c = buf;
    while (bytes > 0) {
        const size_t chunk = bytes > ((size_t)1 << 30) ? ((size_t)1 << 30) : bytes;
        ssize_t w = off == UINT64_MAX ? write(f->fd, c, chunk) : pwrite(f->fd, c, chunk, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return dw_fail(DW_ERR_IO, "%s: %s", f->partial, strerror(w < 0 ? errno : EIO));
        c += w;
        if (off != UINT64_MAX) off += (uint64_t)w;
        bytes -= (size_t)w;
    }
    return DW_OK;
}

dw_status dw_ooc_write(ooc_files *f, const void *buf, size_t bytes, uint64_t off)
{
    return write_at(f, buf, bytes, (uint64_t)f->head_len + off);
}

/* The old way of the in-memory result (dw_io_write_npy): into the empty file, header then data, sequentially. A
 * file sized first (ftruncate) and filled by pwrite cost the CLI 1.27x at n = 2000 (docs/BENCHMARKS.md). */
dw_status dw_ooc_write_whole(ooc_files *f, const void *data, size_t bytes)
{
    dw_status s = write_at(f, f->head, f->head_len, UINT64_MAX);
    return s ? s : write_at(f, data, bytes, UINT64_MAX);
}

dw_status dw_ooc_open(ooc_files *f, bool resume)
{
    f->fd = open(f->partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f->fd < 0) return dw_fail(DW_ERR_IO, "%s: %s", f->path, strerror(errno));
    if (flock(f->fd, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        close(f->fd);
        f->fd = -1;
        if (e == EWOULDBLOCK)
            return dw_fail(DW_ERR_IO, "%s: another run is writing this output (%s is locked)", f->path, f->partial);
        return dw_fail(DW_ERR_IO, "%s: %s", f->partial, strerror(e));
    }
    unlink(f->sidetmp); /* a replacement of the side file cut short */
    f->rows_done = 0;
    memset(&f->stats, 0, sizeof f->stats);
    if (resume) {
        struct stat st;
        const int r = read_side(f);
        if (r < 0)
            return dw_fail(DW_ERR_INVALID,
                           "resume: the interrupted run of %s computed something else (other options, network or "
                           "inputs; %s); run without resume to start again",
                           f->path, f->side);
        if (r > 0 && (fstat(f->fd, &st) != 0 || (uint64_t)st.st_size != f->head_len + f->data_bytes))
            return dw_fail(DW_ERR_INVALID, "resume: %s does not have the size of the output; run without resume to "
                                           "start again", f->partial);
    }
    if (f->rows_done == 0) { /* a new start: whatever an older run left goes */
        unlink(f->side);
        if (ftruncate(f->fd, 0) != 0 || (!f->whole && ftruncate(f->fd, (off_t)(f->head_len + f->data_bytes)) != 0))
            return dw_fail(DW_ERR_IO, "%s: %s", f->partial, strerror(errno));
        if (f->whole) return DW_OK; /* one sequential pass (dw_ooc_write_whole); nothing to record */
    }
    f->whole = false; /* a resume continues block by block */
    dw_status s = write_at(f, f->head, f->head_len, 0);
    if (!s) s = dw_ooc_record(f);
    return s;
}

dw_status dw_ooc_finish(ooc_files *f)
{
    if (f->sync && fsync(f->fd) != 0) return dw_fail(DW_ERR_IO, "%s: %s", f->partial, strerror(errno));
    if (rename(f->partial, f->path) != 0) return dw_fail(DW_ERR_IO, "%s: %s", f->path, strerror(errno));
    if (!f->whole) unlink(f->side);
    close(f->fd); /* the lock goes with it */
    f->fd = -1;
    return DW_OK;
}

void dw_ooc_close(ooc_files *f, bool keep)
{
    if (f->fd >= 0) {
        if (!keep) { /* under the lock: no other run can be using them */
            unlink(f->partial);
            unlink(f->side);
            unlink(f->sidetmp);
        }
        close(f->fd);
        f->fd = -1;
    }
    free(f->partial);
    free(f->side);
    free(f->sidetmp);
    f->partial = f->side = f->sidetmp = NULL;
}
