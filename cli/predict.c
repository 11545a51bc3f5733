/* deepwick predict: kernel regression with a network's NNGP / NTK (theory.md 6). Reads the train inputs, labels and
 * test inputs, calls dw_predict_regress, writes the predictions (and the covariance) as .npy. */
#include "cli.h"

#include "opts.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct predict_args {
    cli_args base;
    const char *train, *labels, *test, *act, *out, *cov, *bound, *kind, *solver;
    long depth, threads, rank, max_iter;
    cli_reals weight_var, bias_var;
    double t, diag_reg, learning_rate, tol;
    bool classes, absolute, json;
} predict_args;

#define F(field) offsetof(predict_args, field)
static const cli_opt opts[] = {
    {"train", CLI_TEXT, F(train), "FILE", "train inputs, n x d: .npy (float64/float32) or .csv", NULL, CLI_REQUIRED, 0,
     0, NULL, NULL},
    {"labels", CLI_TEXT, F(labels), "FILE",
     "train targets, n x k (or n); with --classes one column of integer class labels 0..C-1,\n"
     "one-hot and centred (onehot - 1/C)", NULL, CLI_REQUIRED, 0, 0, NULL, NULL},
    {"test", CLI_TEXT, F(test), "FILE", "test inputs, m x d", NULL, CLI_REQUIRED, 0, 0, NULL, NULL},
    {"depth", CLI_INT, F(depth), "L", "number of activations (hidden layers), L >= 0", NULL, CLI_REQUIRED, INT_MIN,
     INT_MAX, NULL, NULL},
    {"act", CLI_TEXT, F(act), "ACT", "activation, as for `deepwick kernel`", NULL, CLI_REQUIRED | CLI_HIDDEN_JSON, 0, 0,
     NULL, NULL},
    {"out", CLI_TEXT, F(out), "FILE", "output .npy of the predictions, m x k (written atomically)", NULL,
     CLI_REQUIRED | CLI_OUTPUT, 0, 0, NULL, ".npy"},
    {"cov", CLI_TEXT, F(cov), "FILE", "also write the covariance of the predictions, m x m (cg: infinite t only)", NULL,
     CLI_OUTPUT, 0, 0, NULL, ".npy"},
    {"bound", CLI_TEXT, F(bound), "FILE",
     "also write the certified bound on every prediction, m x k (t infinite; cholesky, or cg for\n"
     "the activations with per-entry kernel bounds;\n"
     "docs/predict.md \"Certified bounds\"); --json reports its largest entry", NULL, CLI_OUTPUT, 0, 0, NULL, ".npy"},
    {"weight-var", CLI_REALS, F(weight_var), "V", "sigma_w^2, one value or L+1 values", "1", 0, 0, 0, NULL, NULL},
    {"bias-var", CLI_REALS, F(bias_var), "B", "sigma_b^2, one value or L+1 values", "0", 0, 0, 0, NULL, NULL},
    {"kind", CLI_CHOICE, F(kind), "K", "the kernel: nngp or ntk", "nngp", 0, 0, 0, "nngp|ntk", NULL},
    {"t", CLI_REAL, F(t), "T", "training time (default: infinity, kernel ridge regression)", NULL, 0, 0, 0, NULL, NULL},
    {"diag-reg", CLI_REAL, F(diag_reg), "R", "regulariser, relative to the mean diagonal tr(K)/n", "0", 0, 0, 0, NULL, NULL},
    {"diag-reg-absolute", CLI_FLAG, F(absolute), NULL, "--diag-reg is in absolute units", NULL, 0, 0, 0, NULL, NULL},
    {"learning-rate", CLI_REAL, F(learning_rate), "E", "learning rate (time unit)", "1", 0, 0, 0, NULL, NULL},
    {"solver", CLI_CHOICE, F(solver), "S", "auto (by memory), cholesky, or cg (matrix-free: CG, Lanczos at a finite t)",
     "auto", 0, 0, 0,
     "auto|cholesky|cg", NULL},
    {"tol", CLI_REAL, F(tol), "E", "cg: relative residual per column (Lanczos: relative change)", "1e-10", 0, 0, 0,
     NULL, NULL},
    {"rank", CLI_INT, F(rank), "K", "cg: rank of the RPCholesky preconditioner (0: none; default min(n, 500))", NULL, 0,
     0, LONG_MAX, NULL, NULL},
    {"max-iter", CLI_INT, F(max_iter), "N", "cg: the most iterations", "10000", 0, 1, LONG_MAX, NULL, NULL},
    {"classes", CLI_FLAG, F(classes), NULL, "--labels holds integer class labels (one-hot, centred)", NULL, 0, 0, 0,
     NULL, NULL},
    {"threads", CLI_INT, F(threads), "T", "threads (0, the default: all cores)", NULL, CLI_HIDDEN_JSON, 0, 4096, NULL,
     NULL},
    {"json", CLI_FLAG, F(json), NULL, "print a machine-readable summary on stdout", NULL, CLI_HIDDEN_JSON, 0, 0, NULL,
     NULL},
    {NULL, CLI_FLAG, 0, NULL, NULL, NULL, 0, 0, 0, NULL, NULL}};
#undef F

static const cli_cmd cmd = {
    "predict", "--train X.npy --labels Y.npy --test T.npy --depth L --act ACT --out P.npy [options]",
    "Kernel regression with the infinite-width NNGP or NTK of a fully connected network (theory.md 6):\n"
    "the mean of the infinite ensemble trained by gradient descent on MSE for time t (default infinity:\n"
    "K*(K + lambda I)^{-1} Y), lambda = diag_reg tr(K)/n, as Neural Tangents' gradient_descent_mse_ensemble.\n",
    opts, "With --classes the predicted class is the argmax of each row of the output.\n"};

/* cg's progress on a terminal: one line, overwritten, cleared at the end */
static int cg_progress(void *ctx, size_t iteration, double residual)
{
    int *shown = ctx;
    fprintf(stderr, "\rcg: iteration %zu, relative residual %.3g   ", iteration, residual);
    fflush(stderr);
    *shown = 1;
    return 0;
}

int cmd_predict(int argc, char **argv)
{
    int shown = 0;
    predict_args a = {0};
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc >= 0) {
        cli_args_free(&cmd, &a);
        return rc;
    }
    rc = 1;
    dw_act *act = NULL;
    dw_net *net = NULL;
    dw_predict_opts *o = NULL;
    dw_predict_info *info = NULL;
    double *Y = NULL, *mean = NULL, *cov = NULL, *bound = NULL;
    dw_matrix X, L, T;
    dw_matrix_init(&X);
    dw_matrix_init(&L);
    dw_matrix_init(&T);
    dw_status s;
    if (!cli_act_init(&act, a.act) || !cli_read_points(a.train, &X) || !cli_read_points(a.test, &T)) goto done;
    if ((s = dw_io_read_matrix(&L, a.labels))) {
        rc = cli_status(s);
        goto done;
    }
    if (T.cols != X.cols) {
        rc = cli_error("%s has %zu columns but %s has %zu: train and test inputs must have the same dimension", a.test,
                       T.cols, a.train, X.cols);
        goto done;
    }
    if (L.rows != X.rows) {
        rc = cli_error("%s has %zu rows but %s has %zu: one label row per train input", a.labels, L.rows, a.train,
                       X.rows);
        goto done;
    }
    size_t k = L.cols;
    const double *targets = L.data;
    if (a.classes) {
        if (L.cols != 1) {
            rc = cli_error("%s: --classes needs one column of class labels, got %zu columns", a.labels, L.cols);
            goto done;
        }
        if ((s = dw_predict_classes(L.data, L.rows, &k))) {
            rc = cli_error("%s: %s", a.labels, dw_error_message());
            goto done;
        }
        if (!(Y = malloc(L.rows * k * sizeof *Y))) {
            rc = cli_error("--classes: out of memory");
            goto done;
        }
        if ((s = dw_predict_one_hot(L.data, L.rows, k, Y))) {
            rc = cli_status(s);
            goto done;
        }
        targets = Y;
    }
    const size_t n = X.rows, m = T.rows;
    if ((s = dw_net_init(&net)) || (s = dw_net_set_fc(net, (int)a.depth, act, true)) ||
        (s = dw_net_set_weight_var(net, a.weight_var.n, a.weight_var.v)) ||
        (s = dw_net_set_bias_var(net, a.bias_var.n, a.bias_var.v)) || (s = dw_predict_opts_init(&o)) ||
        (s = dw_predict_opts_set_kind(o, a.kind)) || (s = dw_predict_opts_set_solver(o, a.solver)) ||
        (s = dw_predict_opts_set_diag_reg(o, a.diag_reg)) ||
        (s = dw_predict_opts_set_diag_reg_absolute_scale(o, a.absolute)) ||
        (s = dw_predict_opts_set_learning_rate(o, a.learning_rate)) ||
        (cli_given(&cmd, &a, "t") && (s = dw_predict_opts_set_t(o, a.t))) || (s = dw_predict_opts_set_tol(o, a.tol)) ||
        (cli_given(&cmd, &a, "rank") && (s = dw_predict_opts_set_rank(o, (size_t)a.rank))) ||
        (s = dw_predict_opts_set_max_iter(o, (size_t)a.max_iter)) ||
        (s = dw_predict_opts_set_threads(o, (int)a.threads)) ||
        (isatty(2) && (s = dw_predict_opts_set_progress(o, cg_progress, &shown))) ||
        (s = dw_predict_info_init(&info))) {
        rc = cli_status(s);
        goto done;
    }
    if (!cli_predict_opts_dist(o)) goto done;
    mean = malloc(m * k * sizeof *mean);
    cov = a.cov ? dw_core_alloc_large(m * m * sizeof *cov, "the covariance") : NULL;
    if (!mean || (a.cov && !cov)) {
        rc = cli_error("out of memory for the predictions (%zu x %zu)", m, a.cov ? m : k);
        goto done;
    }
    if (a.bound && cli_given(&cmd, &a, "t")) {
        rc = cli_error("--bound: the certified bound needs t infinite (no --t)");
        goto done;
    }
    /* the certified bound (a second factorisation and the kernel's per-entry bounds, several times the solve's
     * cost): only when asked for */
    const bool certify = a.bound != NULL;
    if (certify && !(bound = malloc(m * k * sizeof *bound))) {
        rc = cli_error("out of memory for the bounds (%zu x %zu)", m, k);
        goto done;
    }
    double t0 = cli_now();
    s = dw_predict_regress_bound(net, o, X.data, n, targets, k, T.data, m, X.cols, mean, cov, bound,
                                 a.json || a.bound ? info : NULL);
    double secs = cli_now() - t0;
    if (shown) fputs("\r\033[K", stderr);
    if (s) {
        rc = cli_status(s);
        goto done;
    }
    if (a.bound && isnan(dw_predict_info_lambda_lower(info))) { /* cg where the kernel has no per-entry bounds */
        rc = cli_error("--bound: no certificate on the cg route here (it needs --solver cg given, not chosen by "
                       "auto, and the kernel's per-entry bounds of a closed form: the relu family, step, "
                       "identity, erf, sin, cos, exp, gelu, poly; "
                       "--act %s); or use --solver cholesky", a.act);
        goto done;
    }
    size_t shape[2] = {m, k}, cshape[2] = {m, m};
    if (cli_distributed.writer && (s = dw_io_write_npy(a.out, mean, 2, shape))) {
        rc = cli_status(s);
        goto done;
    }
    if (cli_distributed.writer && a.cov && (s = dw_io_write_npy(a.cov, cov, 2, cshape))) {
        remove(a.out); /* no partial output */
        rc = cli_status(s);
        goto done;
    }
    if (cli_distributed.writer && a.bound && (s = dw_io_write_npy(a.bound, bound, 2, shape))) {
        remove(a.out);
        if (a.cov) remove(a.cov);
        rc = cli_status(s);
        goto done;
    }
    if (a.json) {
        printf("{\"command\": \"predict\", \"version\": \"%s\", ", dw_version());
        cli_json_options(stdout, &cmd, &a);
        printf(", \"act\": ");
        cli_json_string(stdout, dw_act_name(act));
        printf(", \"solver_used\": ");
        cli_json_string(stdout, dw_predict_info_solver(info));
        printf(", \"reason\": ");
        cli_json_string(stdout, dw_predict_info_reason(info));
        const double lm = dw_predict_info_lambda_min(info), rcond = dw_predict_info_rcond(info);
        printf(", \"jitter\": %.17g, \"lambda_min\": ", dw_predict_info_jitter(info));
        isfinite(lm) ? printf("%.17g", lm) : printf("null");
        printf(", \"lambda_min_exact\": %s, \"rcond\": ", dw_predict_info_lambda_min_exact(info) ? "true" : "false");
        isfinite(rcond) ? printf("%.17g", rcond) : printf("null");
        printf(", \"iterations\": %zu, \"rank_used\": %zu, \"residual\": %.3g", dw_predict_info_iterations(info),
               dw_predict_info_rank(info), dw_predict_info_residual(info));
        double bmax = bound ? 0.0 : NAN;
        for (size_t i = 0; bound && i < m * k; i++) bmax = fmax(bmax, bound[i]);
        const double ll = dw_predict_info_lambda_lower(info);
        printf(", \"bound_max\": ");
        isnan(bmax) ? printf("null") : isinf(bmax) ? printf("\"inf\"") : printf("%.6g", bmax);
        printf(", \"lambda_min_lower\": ");
        isfinite(ll) ? printf("%.17g", ll) : printf("null");
        printf(", \"kernel_bound\": %.6g, \"bound_estimate\": %s", dw_predict_info_kernel_bound(info),
               dw_predict_info_bound_estimate(info) ? "true" : "false");
        printf(", \"n\": %zu, \"m\": %zu, \"d\": %zu, \"k\": %zu, \"threads\": %d, \"seconds\": %.6f}\n", n, m, X.cols,
               k, dw_core_threads((int)a.threads), secs);
    }
    rc = 0;
done:
    cli_args_free(&cmd, &a);
    free(Y);
    free(mean);
    free(bound);
    dw_core_free_large(cov);
    dw_predict_info_clear(info);
    dw_predict_opts_clear(o);
    dw_net_clear(net);
    dw_act_clear(act);
    dw_matrix_clear(&X);
    dw_matrix_clear(&L);
    dw_matrix_clear(&T);
    return rc;
}
