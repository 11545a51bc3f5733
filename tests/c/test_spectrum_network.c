/* Jacobian of one given finite network: J from the GEMM chain against central finite differences of a forward pass
 * written here; the squared singular values against the traces tr(J J^T) = |J|_F^2 and tr((J J^T)^2) = |J^T J|_F^2
 * computed here; Hutchinson's estimates against those exact traces within 4 standard errors, reproducibility for a
 * seed, and every error path. */
#include "check.h"
#include "deepwick.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs = 88172645463325252ull;
static double unif(void) /* xorshift64 */
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return ((double)(rs >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif()); }

enum { L = 3 };
static const size_t width[L + 1] = {7, 9, 6, 8};

/* forward pass written independently: returns the output f(x) (width[L]) */
static void forward(const dw_act *act, double *const *W, double *const *b, const double *x, double *out)
{
    double a[16], h[16];
    memcpy(a, x, width[0] * sizeof(double));
    for (int l = 0; l < L; l++) {
        for (size_t i = 0; i < width[l + 1]; i++) {
            double s = b[l][i];
            for (size_t j = 0; j < width[l]; j++) s += W[l][i * width[l] + j] * a[j];
            h[i] = s;
        }
        dw_act_eval(act, width[l + 1], h, a, NULL);
    }
    memcpy(out, a, width[L] * sizeof(double));
}

static void test_network(void)
{
    dw_act *act;
    CHECK(dw_act_init(&act, "erf") == DW_OK);
    double *W[L], *b[L], x[7];
    for (int l = 0; l < L; l++) {
        W[l] = malloc(width[l + 1] * width[l] * sizeof(double));
        b[l] = malloc(width[l + 1] * sizeof(double));
        for (size_t i = 0; i < width[l + 1] * width[l]; i++) W[l][i] = gauss() * sqrt(1.5 / (double)width[l]);
        for (size_t i = 0; i < width[l + 1]; i++) b[l][i] = 0.3 * gauss();
    }
    for (size_t i = 0; i < width[0]; i++) x[i] = gauss();
    dw_spectrum_network net = {L, width, (const double *const *)W, (const double *const *)b, act};
    const size_t n0 = width[0], nL = width[L];
    double J[8 * 7], s2[7];
    CHECK(dw_spectrum_network_jacobian(&net, x, J, s2) == DW_OK);
    /* central differences, step 1e-5: error O(h^2) ~ 1e-10 */
    double err = 0, scale = 0;
    for (size_t j = 0; j < n0; j++) {
        double xp[7], xm[7], fp[8], fm[8];
        memcpy(xp, x, sizeof x);
        memcpy(xm, x, sizeof x);
        xp[j] += 1e-5;
        xm[j] -= 1e-5;
        forward(act, W, b, xp, fp);
        forward(act, W, b, xm, fm);
        for (size_t i = 0; i < nL; i++) {
            double fd = (fp[i] - fm[i]) / 2e-5;
            err = fmax(err, fabs(fd - J[i * n0 + j]));
            scale = fmax(scale, fabs(J[i * n0 + j]));
        }
    }
    CHECK(scale > 0.01 && err < 1e-8 * fmax(1, scale));
    /* traces: sum s2 = |J|_F^2, sum s2^2 = |J^T J|_F^2; descending order */
    double f1 = 0, f2 = 0, t1 = 0, t2 = 0;
    for (size_t i = 0; i < nL * n0; i++) f1 += J[i] * J[i];
    for (size_t a = 0; a < n0; a++)
        for (size_t c = 0; c < n0; c++) {
            double g = 0;
            for (size_t i = 0; i < nL; i++) g += J[i * n0 + a] * J[i * n0 + c];
            f2 += g * g;
        }
    int desc = 1;
    for (size_t i = 0; i < n0; i++) {
        t1 += s2[i];
        t2 += s2[i] * s2[i];
        if (i && s2[i] > s2[i - 1]) desc = 0;
    }
    CHECK(desc);
    CHECK_CLOSE(t1, f1, 1e-13, 0);
    CHECK_CLOSE(t2, f2, 1e-13, 0);
    /* Hutchinson against the exact (1/N_0) tr (J^T J)^k within 4 standard errors; J alone (s2 NULL) */
    double J2[8 * 7];
    CHECK(dw_spectrum_network_jacobian(&net, x, J2, NULL) == DW_OK && memcmp(J, J2, sizeof J) == 0);
    double m[5], se[5], m2[5], se2[5];
    CHECK(dw_spectrum_network_hutchinson(&net, x, 5, 4000, 7, m, se) == DW_OK);
    for (int k = 1; k <= 5; k++) {
        double ex = 0;
        for (size_t i = 0; i < n0; i++) ex += pow(s2[i], k);
        ex /= (double)n0;
        CHECK(se[k - 1] > 0 && se[k - 1] < 0.05 * ex);
        if (!(fabs(m[k - 1] - ex) <= 4 * se[k - 1]))
            fprintf(stderr, "hutchinson k=%d: %g vs %g (se %g)\n", k, m[k - 1], ex, se[k - 1]);
        CHECK(fabs(m[k - 1] - ex) <= 4 * se[k - 1]);
    }
    CHECK(dw_spectrum_network_hutchinson(&net, x, 5, 4000, 7, m2, se2) == DW_OK);
    CHECK(memcmp(m, m2, sizeof m) == 0 && memcmp(se, se2, sizeof se) == 0);
    CHECK(dw_spectrum_network_hutchinson(&net, x, 5, 4000, 8, m2, se2) == DW_OK && m2[0] != m[0]);
    /* no biases at all (b NULL) equals zero biases */
    dw_spectrum_network nb = net;
    nb.b = NULL;
    for (int l = 0; l < L; l++) memset(b[l], 0, width[l + 1] * sizeof(double));
    CHECK(dw_spectrum_network_jacobian(&net, x, J, NULL) == DW_OK);
    CHECK(dw_spectrum_network_jacobian(&nb, x, J2, NULL) == DW_OK && memcmp(J, J2, sizeof J) == 0);

    /* errors */
    dw_spectrum_network e = net;
    e.depth = 0;
    CHECK(dw_spectrum_network_jacobian(&e, x, J, s2) == DW_ERR_INVALID && strstr(dw_error_message(), "depth 0"));
    CHECK(dw_spectrum_network_jacobian(NULL, x, J, s2) == DW_ERR_INVALID);
    CHECK(dw_spectrum_network_jacobian(&net, NULL, J, s2) == DW_ERR_INVALID);
    e = net;
    size_t wz[L + 1] = {7, 0, 6, 8};
    e.width = wz;
    CHECK(dw_spectrum_network_jacobian(&e, x, J, s2) == DW_ERR_INVALID && strstr(dw_error_message(), "N_1 = 0"));
    e = net;
    const double *Wn[L] = {W[0], NULL, W[2]};
    e.W = Wn;
    CHECK(dw_spectrum_network_jacobian(&e, x, J, s2) == DW_ERR_INVALID && strstr(dw_error_message(), "W^2"));
    double xbad[7];
    memcpy(xbad, x, sizeof x);
    xbad[3] = NAN;
    CHECK(dw_spectrum_network_jacobian(&net, xbad, J, s2) == DW_ERR_INVALID && strstr(dw_error_message(), "x[3]"));
    CHECK(dw_spectrum_network_hutchinson(&net, x, 0, 10, 1, m, se) == DW_ERR_INVALID);
    CHECK(dw_spectrum_network_hutchinson(&net, x, DW_SPECTRUM_KMAX + 1, 10, 1, m, se) == DW_ERR_INVALID);
    CHECK(dw_spectrum_network_hutchinson(&net, x, 3, 1, 1, m, se) == DW_ERR_INVALID &&
          strstr(dw_error_message(), "probes"));
    CHECK(dw_spectrum_network_hutchinson(&net, x, 3, 10, 1, NULL, se) == DW_ERR_INVALID);
    /* overflow in the forward pass: exp of a huge pre-activation */
    dw_act *ex;
    CHECK(dw_act_init(&ex, "exp") == DW_OK);
    e = net;
    e.act = ex;
    W[0][0] = 1e300;
    x[0] = 1e10;
    CHECK(dw_spectrum_network_jacobian(&e, x, J, s2) == DW_ERR_RANGE && strstr(dw_error_message(), "layer 1"));
    CHECK(dw_spectrum_network_hutchinson(&e, x, 3, 10, 1, m, se) == DW_ERR_RANGE);
    dw_act_clear(ex);
    for (int l = 0; l < L; l++) {
        free(W[l]);
        free(b[l]);
    }
    dw_act_clear(act);
}

int main(void)
{
    test_network();
    return check_done("test_spectrum_network");
}
