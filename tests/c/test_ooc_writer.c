/* The out-of-core writer's file (kernels/ooc_write.c) on blocks made here: a symmetric Gram (two outputs of two
 * layers, each block's buffer starting at a tile column before its first row, as dw_kernel_gram_file's) and a
 * rectangular one, posted block by block, give the .npy of the whole matrices, whatever the rows per block and the
 * memory left for the mirror groups (none, about two blocks' mirror, three, every block's); a run stopped after some
 * blocks records exactly its posted rows in the side file, and the rest posted after a resume completes the same
 * bytes. The expected bytes come from the entries' formula, not from the writer. */
#include "check.h"
#include "kernels/ooc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], out[128], partial[128], side_path[128];

/* Entry (i, j) of output-layer slab ol: distinct integers, symmetric in (i, j) when sym. */
static double entry(size_t ol, size_t i, size_t j, bool sym)
{
    const size_t lo = sym && j < i ? j : i, hi = sym && j < i ? i : j;
    return (double)(ol * 1000003u + lo * 1009u + hi);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The output's data is entry() of every slab, and its header is padded to 64 bytes. */
static int file_right(size_t slabs, size_t n, size_t m, bool sym)
{
    FILE *f = fopen(out, "rb");
    if (!f) return 0;
    unsigned char h[10];
    size_t hl = 0;
    if (fread(h, 1, 10, f) == 10) hl = 10 + (size_t)h[8] + 256 * (size_t)h[9];
    int ok = hl % 64 == 0 && fseek(f, (long)hl, SEEK_SET) == 0;
    for (size_t ol = 0; ok && ol < slabs; ol++)
        for (size_t i = 0; ok && i < n; i++)
            for (size_t j = 0; ok && j < m; j++) {
                double v;
                ok = fread(&v, sizeof v, 1, f) == 1 && v == entry(ol, i, j, sym);
                if (!ok) fprintf(stderr, "entry (%zu, %zu, %zu) wrong\n", ol, i, j);
            }
    ok = ok && fgetc(f) == EOF;
    fclose(f);
    return ok;
}

static size_t side_rows(void)
{
    FILE *s = fopen(side_path, "r");
    char line[256];
    size_t rows = 0;
    while (s && fgets(line, sizeof line, s))
        if (sscanf(line, "rows %zu", &rows) == 1) break;
    if (s) fclose(s);
    return rows;
}

/* Post the blocks of rows from the files' rows_done on (at most `blocks` of them; 0: all), stop the writer. */
static dw_status post_blocks(ooc_files *f, const ooc_layout *lay, size_t blocks, double *bufs[2])
{
    ooc_writer *w = NULL;
    dw_status s = dw_ooc_writer_start(&w, f, lay);
    const size_t slabs = lay->nout * lay->L, n = lay->n, m = lay->m, B = lay->B;
    size_t k = 0;
    for (size_t r0 = f->rows_done; !s && r0 < n && (!blocks || k < blocks); r0 += B, k++) {
        const size_t r1 = r0 + B < n ? r0 + B : n, cb = lay->symmetric ? r0 / 16 * 16 : 0, wd = m - cb;
        double *buf = bufs[k % 2];
        for (size_t ol = 0; ol < slabs; ol++)
            for (size_t i = r0; i < r1; i++)
                for (size_t j = cb; j < m; j++) buf[ol * B * wd + (i - r0) * wd + (j - cb)] = entry(ol, i, j, lay->symmetric);
        const ooc_block b = {buf, r0, r1, cb, wd, {0, 0, 0, 0, 0, 0}};
        s = dw_ooc_writer_post(w, &b);
    }
    const dw_status ws = dw_ooc_writer_stop(w);
    return s ? s : ws;
}

static void run(size_t n, size_t m, size_t L, size_t nout, size_t B, bool sym, double spare_blocks, size_t stop)
{
    size_t shape[4], nd = 0;
    if (nout == 2) shape[nd++] = 2;
    if (L > 1) shape[nd++] = L;
    shape[nd++] = n;
    shape[nd++] = m;
    /* spare_blocks: the mirror of that many blocks at the top of the matrix (negative: none) */
    const double spare = spare_blocks < 0 ? 0.0 : spare_blocks * 8.0 * (double)(nout * L * m * B) + 64.0;
    const ooc_layout lay = {n, m, L, nout, B, sym, spare};
    double *bufs[2] = {malloc(nout * L * B * m * sizeof(double)), malloc(nout * L * B * m * sizeof(double))};
    CHECK(bufs[0] && bufs[1]);
    for (int pass = 0; pass < (stop ? 2 : 1); pass++) {
        ooc_files f;
        CHECK(dw_ooc_names(&f, out, (int)nd, shape, n) == DW_OK);
        f.hash = 12345;
        CHECK(dw_ooc_open(&f, pass == 1) == DW_OK);
        CHECK(f.rows_done == (pass == 1 ? stop * B : 0));
        f.sync = (n + B - 1) / B > 1;
        CHECK(post_blocks(&f, &lay, pass == 0 ? stop : 0, bufs) == DW_OK);
        if (pass == 0 && stop) { /* stopped: the posted rows recorded, kept for the resume */
            dw_ooc_close(&f, true);
            CHECK(exists(partial) && side_rows() == stop * B && !exists(out));
            continue;
        }
        CHECK(dw_ooc_finish(&f) == DW_OK);
        dw_ooc_close(&f, false);
        const int ok = file_right(nout * L, n, m, sym);
        if (!ok)
            fprintf(stderr, "n %zu m %zu L %zu nout %zu B %zu sym %d spare %g stop %zu\n", n, m, L, nout, B, sym,
                    spare_blocks, stop);
        CHECK(ok && !exists(partial) && !exists(side_path));
        unlink(out);
    }
    free(bufs[0]);
    free(bufs[1]);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/dw_ooc_writer_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(out, sizeof out, "%s/G.npy", dir);
    snprintf(partial, sizeof partial, "%s/.G.npy.deepwick-partial", dir);
    snprintf(side_path, sizeof side_path, "%s/.G.npy.deepwick-resume", dir);
    const double spares[] = {-1, 2.2, 3.5, 1e6};
    const size_t rows[] = {1, 7, 16, 40, 200};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 5; b++) {
            run(131, 131, 2, 2, rows[b], true, spares[a], 0);
            run(131, 131, 1, 1, rows[b], true, spares[a], 0);
            run(131, 57, 2, 2, rows[b], false, spares[a], 0);
        }
    /* stopped inside a group (and the direct route), resumed */
    for (size_t a = 0; a < 4; a++) {
        run(131, 131, 2, 2, 7, true, spares[a], 3);
        run(131, 131, 1, 1, 16, true, spares[a], 1);
    }
    rmdir(dir);
    return check_done("ooc_writer");
}
