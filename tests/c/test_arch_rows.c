/* The block runner's finiteness check (arch_rows.c): the program runs without a check per activation and looks at
 * its output once; a non-finite output runs the block again with the checks. Inputs whose own passes succeed
 * never overflow a closed form (Cauchy-Schwarz), so the records are made here by hand: a block whose lane 0
 * overflows (x y = 1e400) among finite lanes. Against the pair-by-pair run (dw_arch_run) on the same records,
 * lane by lane: through an activation, the error naming it (DW_ERR_RANGE, as the pair run's); without one, the
 * same output (infinite in lane 0, the pair run's bits in the others) and no error. */
#include "check.h"
#include "kernels/arch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NB = 5, LD = NB + DW_ARCH_ROWS };

static void run_case(bool with_act)
{
    dw_net *net;
    dw_act *relu;
    CHECK(dw_net_init(&net) == DW_OK && dw_act_init(&relu, "relu") == DW_OK);
    CHECK(dw_net_add_dense(net, 1.0, 0.0, 0) == DW_OK);
    if (with_act) CHECK(dw_net_add_act(net, relu) == DW_OK && dw_net_add_dense(net, 2.0, 0.1, 0) == DW_OK);
    arch_prog p;
    CHECK(dw_arch_compile(&p, net, 1) == DW_OK);
    CHECK(p.rows_ok);
    /* the records: every activation's input variance 1 (the sweeps' fields from it) */
    double *rec = calloc((NB + 1) * p.rec + 1, sizeof *rec), *ty = calloc(LD * p.rec + 1, sizeof *ty);
    for (size_t b = 0; b <= NB; b++)
        for (size_t s = 0; s < p.nslot; s++) {
            rec[b * p.rec + p.slot[s].off] = 1.0;
            dw_arch_act_fields(relu, rec + b * p.rec + p.slot[s].off, p.slot[s].P);
        }
    const double *rx = rec + NB * p.rec;
    dw_arch_records_t(rec, NB, p.rec, ty);
    const double x = 1e200;
    double y[LD];
    for (size_t b = 0; b < LD; b++) y[b] = b == 0 ? 1e200 : 0.5 + 0.25 * (double)b; /* lane 0: x y overflows */
    arch_work w;
    memset(&w, 0, sizeof w);
    const size_t regs = (size_t)p.nreg * p.reg_len;
    w.K = calloc(2 * regs + 2 * p.reg_len + p.act_len + dw_arch_rows_len(&p), sizeof(double));
    w.T = w.K + regs;
    w.tmp = w.T + regs;
    w.act = w.tmp + 2 * p.reg_len;
    w.rows = w.act + p.act_len;
    double k[NB], t[NB];
    const dw_status s = dw_arch_run_rows(&p, &w, &x, rx, y, y, ty, LD, NB, 1, k, t);
    if (with_act) {
        CHECK(s == DW_ERR_RANGE);
        CHECK(strstr(dw_error_message(), "overflows") != NULL);
    } else {
        CHECK(s == DW_OK);
        CHECK(isinf(k[0]));
    }
    /* the pair run on the same records */
    for (size_t b = 0; b < NB; b++) {
        double kp, tp;
        const dw_status sp = dw_arch_run(&p, &w, &x, &y[b], 1, (double *)rx, rec + b * p.rec, false, false, &kp, &tp);
        if (b == 0) {
            CHECK(sp == s);
        } else {
            CHECK(sp == DW_OK);
            if (!with_act) CHECK(kp == k[b] && tp == t[b]);
        }
    }
    free(w.K);
    free(rec);
    free(ty);
    dw_arch_prog_clear(&p);
    dw_net_clear(net);
    dw_act_clear(relu);
}

int main(void)
{
    run_case(true);
    run_case(false);
    return check_done("test_arch_rows");
}
