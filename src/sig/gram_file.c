/* Signature-kernel Gram matrices out of core (dw_sig_kernel_gram_file): the rows in blocks by dw_sig_kernel_tile
 * (the entries of dw_sig_kernel_gram bit for bit), written by the out-of-core driver (kernels/ooc_rows.c). A
 * symmetric Gram (Y NULL, equal orders) computes the blocks' columns from r0 on (the driver mirrors the rest). */
#include "sig/sig.h"

#include "kernels/ooc.h"

#include <string.h>

uint64_t dw_sig_gram_hash(const char *what, const double *X, size_t n, size_t lx, const double *Y, size_t m, size_t ly,
                          size_t d)
{
    uint64_t h = dw_ooc_hash(DW_OOC_HASH0, dw_version(), strlen(dw_version()));
    h = dw_ooc_hash(h, what, strlen(what) + 1);
    const size_t dims[] = {n, lx, Y ? m : 0, Y ? ly : 0, d};
    h = dw_ooc_hash(h, dims, sizeof dims);
    h = dw_ooc_hash(h, X, n * lx * d * sizeof(double));
    if (Y) h = dw_ooc_hash(h, Y, m * ly * d * sizeof(double));
    return h;
}

typedef struct {
    const dw_sig_kernel_opts *o;
    const double *X, *Y;
    size_t n, lx, m, ly, d;
} sig_rows;

static dw_status kernel_rows(void *ctx, size_t r0, size_t r1, double *buf, size_t w, size_t slab)
{
    const sig_rows *r = ctx;
    const size_t mm = r->Y ? r->m : r->n;
    (void)slab;
    return dw_sig_kernel_tile(r->o, r->X, r->n, r->lx, r->Y, r->m, r->ly, r->d, r0, r1, mm - w, mm, w, buf);
}

dw_status dw_sig_kernel_gram_file(const dw_sig_kernel_opts *o, const double *X, size_t n, size_t lx, const double *Y,
                                  size_t m, size_t ly, size_t d, const char *path, const dw_file_opts *fo)
{
    const size_t mm = Y ? m : n;
    dw_status s = dw_sig_kernel_validate(o, X, n, lx, Y, m, ly, d, 0, n, 0, mm);
    if (s) return s;
    double work = 0.0;
    if ((s = dw_sig_kernel_bytes(o, lx, Y ? ly : lx, d, &work))) return s;
    uint64_t h = dw_sig_gram_hash("sigkernel", X, n, lx, Y, m, ly, d);
    const int ints[] = {o->dyadic_order, o->dyadic_order_y, (int)o->solver, (int)o->static_kernel, o->tr.basepoint,
                        o->tr.lead_lag, o->tr.time_aug};
    const double reals[] = {o->scale, o->tr.end_time};
    h = dw_ooc_hash(h, ints, sizeof ints);
    h = dw_ooc_hash(h, reals, sizeof reals);
    const sig_rows r = {o, X, Y, n, lx, m, ly, d};
    const size_t shape[2] = {n, mm};
    /* the work space of a tile, and (path transforms) the transformed paths of a block and of every column */
    const double paths = 8.0 * 4.0 * ((double)n * (double)lx + (double)mm * (double)(Y ? ly : lx)) * (double)d;
    const ooc_rows_job job = {path, 2, shape, n, mm, 1, Y == NULL && o->dyadic_order == o->dyadic_order_y, 1,
                              work + paths + DW_OOC_STAGE_BYTES, 0.0, h, kernel_rows, (void *)&r, NULL, NULL, NULL, NULL};
    return dw_ooc_rows_file(&job, fo);
}
