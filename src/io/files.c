/* Files: reading a whole file into memory, dispatch on the extension, atomic writes.
 *
 * Atomic write: a temporary file is created with mkstemp in the target's directory, written, given mode
 * 0644 & ~umask, then renamed over the target. On any failure the temporary file is removed and the target is
 * left untouched, so a reader never sees a half-written output. */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>


/* A printable, bounded copy of s[0..n) for messages: bytes outside printable ASCII become \xNN, and text longer
 * than the buffer is cut with "...". `cap` should be at least 8. */
void dw_io_excerpt(char *out, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (cap < 8) {
        if (cap) out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;
        if (o + need > cap - 4) { /* keep room for "..." and the NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (need == 1) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------------------------------------------------------
 * reading
 * ---------------------------------------------------------------------------------------------------------- */

static void format_gib(double bytes, char *buf, size_t len)
{
    if (bytes >= 1024.0 * 1024.0 * 1024.0) snprintf(buf, len, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
    else snprintf(buf, len, "%.1f MiB", bytes / (1024.0 * 1024.0));
}

static dw_status too_big(const char *path, double bytes)
{
    char have[32], need[32];
    double avail = dw_core_mem_available();
    format_gib(bytes, need, sizeof need);
    format_gib(avail, have, sizeof have);
    return dw_fail(DW_ERR_NOMEM, "%s: file is too large to read (%s, but only %s of memory is available)", path,
                   need, have);
}

/* Reads the whole file. On success *buf is malloc'ed (len + 1 bytes, NUL-terminated for convenience only). */
dw_status dw_io_slurp(const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (!path || !*path) return dw_fail(DW_ERR_INVALID, "file path is empty");
    int fd;
    do fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return dw_fail(DW_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dw_fail(DW_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return dw_fail(DW_ERR_IO, "%s: %s", path, strerror(EISDIR));
    }
    double limit = dw_core_mem_available() / 2;
    size_t cap = 0;
    if (S_ISREG(st.st_mode)) {
        if ((double)st.st_size > limit || (uintmax_t)st.st_size >= SIZE_MAX / 2) {
            close(fd);
            return too_big(path, (double)st.st_size);
        }
        cap = (size_t)st.st_size + 1; /* +1: EOF is then seen without growing */
    }
    if (cap < 4096) cap = 4096;
    unsigned char *b = malloc(cap);
    if (!b) {
        close(fd);
        return dw_fail(DW_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", path, cap);
    }
    size_t n = 0;
    for (;;) {
        if (n + 1 >= cap) { /* pipes and files that grew while being read */
            if ((double)cap * 2 > limit || cap > SIZE_MAX / 4) {
                free(b);
                close(fd);
                return too_big(path, (double)cap * 2);
            }
            unsigned char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                close(fd);
                return dw_fail(DW_ERR_NOMEM, "%s: cannot allocate %zu bytes to read it", path, cap * 2);
            }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(b);
            close(fd);
            return dw_fail(DW_ERR_IO, "%s: %s", path, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return DW_OK;
}

/* The extension of the last path component, without the dot ("" if none). */
static const char *extension(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return (dot && dot != base) ? dot + 1 : "";
}

dw_status dw_io_read_matrix(dw_matrix *m, const char *path)
{
    if (!m) return dw_fail(DW_ERR_INVALID, "dw_io_read_matrix: the matrix is NULL");
    dw_matrix_init(m);
    if (!path || !*path) return dw_fail(DW_ERR_INVALID, "file path is empty");
    const char *ext = extension(path);
    if (strcasecmp(ext, "npy") == 0) return dw_io_read_npy(m, path);
    if (strcasecmp(ext, "csv") == 0) return dw_io_read_csv(m, path);
    return dw_fail(DW_ERR_INVALID, "%s: unsupported file extension%s%s%s (supported: .npy, .csv)", path,
                   *ext ? " '." : "", ext, *ext ? "'" : "");
}

/* ------------------------------------------------------------------------------------------------------------
 * writing
 * ---------------------------------------------------------------------------------------------------------- */

/* The process umask, read without changing it where /proc allows (umask() itself is not thread-safe). */
static mode_t current_umask(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            unsigned int u;
            if (sscanf(line, "Umask: %o", &u) == 1) {
                fclose(f);
                return (mode_t)(u & 0777);
            }
        }
        fclose(f);
    }
    mode_t u = umask(022);
    umask(u);
    return u;
}

/* Builds "<dir>/.<base>.XXXXXX" for mkstemp. Returns NULL (with a message) on failure. */
static char *temp_template(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0; /* including the slash */
    const char *base = slash ? slash + 1 : path;
    size_t baselen = strlen(base);
    if (baselen > 64) baselen = 64; /* keep the name well inside NAME_MAX */
    size_t total = dirlen + 1 + baselen + 8 + 1;
    char *t = dw_alloc(total, 1, "temporary file name");
    if (!t) return NULL;
    memcpy(t, path, dirlen);
    t[dirlen] = '.';
    memcpy(t + dirlen + 1, base, baselen);
    memcpy(t + dirlen + 1 + baselen, ".XXXXXX", 8);
    return t;
}

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t w = write(fd, c, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Checks that path does not name a directory (a trailing slash, or an existing directory). */
static dw_status check_not_dir(const char *path)
{
    size_t n = strlen(path);
    struct stat st;
    if (path[n - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
        return dw_fail(DW_ERR_IO, "%s: %s", path, strerror(EISDIR));
    return DW_OK;
}

dw_status dw_io_atomic_write(const char *path, const void *head, size_t head_len, const void *body,
                             size_t body_len)
{
    if (!path || !*path) return dw_fail(DW_ERR_INVALID, "output file path is empty");
    if ((head_len && !head) || (body_len && !body))
        return dw_fail(DW_ERR_INVALID, "%s: nothing to write (NULL data)", path);
    dw_status s = check_not_dir(path);
    if (s != DW_OK) return s;
    char *tmp = temp_template(path);
    if (!tmp) return DW_ERR_NOMEM;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return dw_fail(DW_ERR_IO, "%s: %s", path, strerror(e));
    }
    int e = 0;
    if (write_all(fd, head, head_len) != 0 || write_all(fd, body, body_len) != 0) e = errno;
    if (!e && fchmod(fd, 0644 & ~current_umask()) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    if (!e && rename(tmp, path) != 0) e = errno;
    if (e) {
        unlink(tmp);
        free(tmp);
        return dw_fail(DW_ERR_IO, "%s: %s", path, strerror(e));
    }
    free(tmp);
    return DW_OK;
}

dw_status dw_io_write_text(const char *path, const char *text, size_t len)
{
    return dw_io_atomic_write(path, text, len, NULL, 0);
}

dw_status dw_io_check_writable(const char *path)
{
    if (!path || !*path) return dw_fail(DW_ERR_INVALID, "output file path is empty");
    dw_status s = check_not_dir(path);
    if (s != DW_OK) return s;
    char *tmp = temp_template(path);
    if (!tmp) return DW_ERR_NOMEM;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return dw_fail(DW_ERR_IO, "%s: %s", path, strerror(e));
    }
    close(fd);
    unlink(tmp);
    free(tmp);
    return DW_OK;
}
