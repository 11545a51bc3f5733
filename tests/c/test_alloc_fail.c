/* Every public entry point under allocation failure: for each scenario, count its allocations, then fail each one in
 * turn (k = 1..count). Each run must return DW_OK (an allocation it can do without) or DW_ERR_NOMEM with a message,
 * never crash, leave no live block behind once the scenario has freed its results, and leave no output file.
 * Runs single-threaded so that the k-th allocation is the same one every time. Under ASan the same sweep also
 * catches use of a NULL block and any leak at exit. */
#include "alloc_fail.h"
#include "check.h"
#include "deepwick.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef dw_status (*scenario_fn)(void);

static char tmpdir[256];

static dw_status sc_act(void)
{
    static const char *specs[] = {"relu", "leaky_relu:0.1", "poly:0,1,0.5", "tanh", "max(z, 0.1*z)",
                                  "z*sigmoid(1.702*z) + sin(z)^2", "erf", "gelu"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        dw_act *a;
        dw_status s = dw_act_init(&a, specs[i]);
        if (s) return s;
        double v, vd, b, bd;
        s = dw_act_dual_bound(a, 1.3, 0.7, 0.4, 1e-10, &v, &vd, &b, &bd, NULL);
        if (!s) s = dw_act_dual(a, 1.0, 1.0, 0.999999, &v, &vd);
        dw_act_clear(a);
        if (s) return s;
    }
    return DW_OK;
}

static dw_status sc_net(void)
{
    dw_act *a;
    dw_status s = dw_act_init(&a, "relu");
    if (s) return s;
    dw_net *n;
    if ((s = dw_net_init(&n))) {
        dw_act_clear(a);
        return s;
    }
    const double wv[4] = {2, 1, 1.5, 1}, w[3] = {10, 20, 30};
    if (!s) s = dw_net_set_fc(n, 3, a, true);
    if (!s) s = dw_net_set_weight_var(n, 4, wv);
    if (!s) s = dw_net_set_widths(n, 3, w);
    if (!s) s = dw_net_add_act(n, a);
    if (!s) s = dw_net_add_dense(n, 1, 0, 5);
    if (!s) s = dw_net_set_law(n, "sparse:0.5");
    if (!s && !dw_net_describe(n)[0]) s = DW_ERR_INTERNAL;
    dw_net_clear(n);
    dw_act_clear(a);
    return s;
}

static dw_status sc_io(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/m.npy", tmpdir);
    const double data[6] = {1, 2, 3, 4, 5, 6};
    const size_t shape[2] = {2, 3};
    dw_status s = dw_io_write_npy(path, data, 2, shape);
    if (s) return s;
    dw_matrix m;
    dw_matrix_init(&m);
    s = dw_io_read_matrix(&m, path);
    dw_matrix_clear(&m);
    remove(path);
    if (s) return s;
    const char csv[] = "a,b\n1,2\n3,4\n";
    s = dw_io_parse_csv(&m, csv, sizeof csv - 1, "mem.csv");
    dw_matrix_clear(&m);
    if (s) return s;
    snprintf(path, sizeof path, "%s/t.json", tmpdir);
    s = dw_io_write_text(path, "{}\n", 3);
    remove(path);
    return s;
}

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int empty = 1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}

/* Run one scenario through the sweep. */
static void sweep(const char *name, scenario_fn fn)
{
    /* A warm-up run first: one-time caches (quadrature rules, tables) stay allocated by design. */
    af_reset(0);
    dw_status s = fn();
    CHECK(s == DW_OK);
    long base = af_live();
    af_reset(0);
    s = fn();
    long total = af_count();
    CHECK(s == DW_OK);
    CHECK(af_live() == base);
    int bad = 0;
    for (long k = 1; k <= total; k++) {
        af_reset(k);
        dw_error_clear();
        s = fn();
        int failed = af_failed();
        af_reset(0);
        int ok = s == DW_OK || (s == DW_ERR_NOMEM && dw_error_message()[0] != '\0');
        int clean = af_live() == base && dir_is_empty(tmpdir);
        if (!ok || !clean || !failed) {
            if (bad++ < 5)
                fprintf(stderr, "%s: allocation %ld of %ld: status %d (%s), %s (live %+ld), %s\n", name, k, total, (int)s,
                        dw_error_message(), clean ? "clean" : "LEAK or file left", af_live() - base, failed ? "failed" : "not reached");
        }
        CHECK(ok);
        CHECK(clean);
    }
    fprintf(stderr, "%s: %ld allocations swept%s\n", name, total, bad ? " WITH FAILURES" : "");
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dw_alloc_fail_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    sweep("act", sc_act);
    sweep("net", sc_net);
    sweep("io", sc_io);
    rmdir(tmpdir);
    return check_done("alloc_fail");
}
