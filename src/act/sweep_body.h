/* The body of the layer sweeps, included by sweep_avx2.c and sweep_scalar.c with the vector macros defined:
 * VD (vector type), VM (mask type), VW (lanes), VLOAD, VSTORE, VSET1, VSQRT, VABS, VMIN, VMAX, VATAN2, VASIN,
 * VEXP, VEXPM1, VLT, VLE, VEQ, VSEL(mask, if_true, if_false), FN(name).
 *
 * Every expression is symmetric under swapping the row and column points (products and sums of the two
 * points' values only, differences only squared), so K(x, y) and K(y, x) are bit-identical.
 * Each lane depends only on its own entry, so results do not depend on tiling or thread count.
 */

#define DW_PI 3.14159265358979323846

/* g(x) = sin x - x cos x for 0 <= x < 1 by its Taylor series sum_k (-1)^(k+1) 2k x^(2k+1)/(2k+1)!,
 * which avoids the cancellation of the direct formula (g ~ x^3/3); 10 terms reach 1e-18 relative at x = 1. */
static inline VD FN(g_series)(VD x)
{
    const VD x2 = x * x;
    VD p = VSET1(-20.0 / 51090942171709440000.0);    /* k = 10: -20/21! */
    p = p * x2 + VSET1(18.0 / 121645100408832000.0); /* k = 9 */
    p = p * x2 - VSET1(16.0 / 355687428096000.0);    /* k = 8 */
    p = p * x2 + VSET1(14.0 / 1307674368000.0);      /* k = 7 */
    p = p * x2 - VSET1(12.0 / 6227020800.0);         /* k = 6 */
    p = p * x2 + VSET1(10.0 / 39916800.0);           /* k = 5 */
    p = p * x2 - VSET1(8.0 / 362880.0);              /* k = 4 */
    p = p * x2 + VSET1(6.0 / 5040.0);                /* k = 3 */
    p = p * x2 - VSET1(4.0 / 120.0);                 /* k = 2 */
    p = p * x2 + VSET1(2.0 / 6.0);                   /* k = 1 */
    return p * (x2 * x);
}

/* atan2(y, x) for y, x >= 0 (not both 0), an angle in [0, pi/2]: SLEEF 3.5's atan2 of 3.5 ulp (Sleef_atan2d4_u35,
 * sleefsimddp.c: atan2k) operation for operation, so the same bits as the library call, without its sign and
 * infinity cases (which these arguments never reach) and inlined into the loop: t = min / max in [0, 1] (negated
 * when y > x), atan t = t + t^3 u(t^2) with SLEEF's degree-18 polynomial u by Estrin's scheme, plus pi/2 when
 * y > x. A NaN argument, or y = x = 0, gives an unspecified value (the callers discard those lanes). */
#define ATAN_P2(a, b) VFMA(t, VSET1(a), VSET1(b))
#define ATAN_P4(a, b, c, d) VFMA(t2, ATAN_P2(a, b), ATAN_P2(c, d))
static inline VD FN(atan2_pos)(VD y, VD x)
{
    const VM p = VLT(x, y);
    const VD s = VSEL(p, -x, y) / VMAX(x, y);
    const VD t = s * s, t2 = t * t, t4 = t2 * t2, t8 = t4 * t4, t16 = t8 * t8;
    const VD hi = VFMA(t2, VSET1(-1.88796008463073496563746e-05), ATAN_P2(0.000209850076645816976906797,
                                                                          -0.00110611831486672482563471));
    const VD p8a = VFMA(t4, ATAN_P4(0.00370026744188713119232403, -0.00889896195887655491740809,
                                    0.016599329773529201970117, -0.0254517624932312641616861),
                        ATAN_P4(0.0337852580001353069993897, -0.0407629191276836500001934,
                                0.0466667150077840625632675, -0.0523674852303482457616113));
    const VD p8b = VFMA(t4, ATAN_P4(0.0587666392926673580854313, -0.0666573579361080525984562,
                                    0.0769219538311769618355029, -0.090908995008245008229153),
                        ATAN_P4(0.111111105648261418443745, -0.14285714266771329383765, 0.199999999996591265594148,
                                -0.333333333333311110369124));
    const VD u = VFMA(t16, hi, VFMA(t8, p8a, p8b));
    const VD r = VFMA(s, t * u, s);
    return VSEL(p, VSET1(DW_PI / 2) + r, r);
}
#undef ATAN_P2
#undef ATAN_P4

/* The same on n entries (n a multiple of VW): the tests' view of it. */
static void FN(atan2_pos_n)(size_t n, const double *y, const double *x, double *r)
{
    for (size_t j = 0; j < n; j += VW) VSTORE(r + j, FN(atan2_pos)(VLOAD(y + j), VLOAD(x + j)));
}

/* Relu family phi(z) = alpha z + (1 - alpha) relu(z) (relu: alpha = 0, abs: alpha = -1), from the angle state
 * (s, t) = (sin^2, cos^2)(theta/2). Outputs are divided by sqrt(ab):
 *   V  = E[phi(u) phi(v)]   = alpha cos(theta) + k (sin theta + (pi - theta) cos theta),  k = (1 - alpha)^2/(2 pi)
 *   Vd = E[phi'(u) phi'(v)] = alpha + k (pi - theta)
 *   Em = m2 - V, Ep = m2 + V, m2 = (1 + alpha^2)/2 = E[phi(u)^2]/a,
 * where Em and Ep are written without cancellation (small-theta and near-pi forms; see theory.md 1.5). */
static inline void FN(relu_dual)(VD s, VD t, double alpha, VD *V, VD *Vd, VD *Em, VD *Ep)
{
    const VD rs = VSQRT(s), rt = VSQRT(t);
    /* One arctangent: x = min(theta, pi - theta) = 2 atan(min/max), exact to rounding; the other is pi - x,
     * which has no cancellation because pi - x >= pi/2. */
    const VM lo = VLE(s, t); /* theta <= pi/2 */
    const VD x = VSET1(2.0) * VATAN2(VMIN(rs, rt), VMAX(rs, rt));
    const VD theta = VSEL(lo, x, VSET1(DW_PI) - x);
    const VD phi = VSEL(lo, VSET1(DW_PI) - x, x); /* pi - theta */
    const VD sn = VSET1(2.0) * rs * rt;          /* sin theta */
    const VD cs = t - s;                         /* cos theta */
    const VD cx = VSEL(lo, cs, VSET1(0.0) - cs);
    const VD gx = VSEL(VLT(x, VSET1(1.0)), FN(g_series)(x), sn - x * cx);
    const VD gth = VSEL(lo, gx, sn - theta * cs); /* sin theta - theta cos theta */
    const VD gpi = VSEL(lo, sn + phi * cs, gx);   /* sin theta + (pi - theta) cos theta */
    const double k = (1.0 - alpha) * (1.0 - alpha) / (2.0 * DW_PI);
    const VD kv = VSET1(k), av = VSET1(alpha);
    *V = av * cs + kv * gpi;
    *Vd = av + kv * phi;
    *Em = VSEL(lo, VSET1(1.0 + alpha * alpha) * s - kv * gth,
               VSET1((1.0 + alpha) * (1.0 + alpha) / 2.0) - VSET1(2.0 * alpha) * t - kv * gpi);
    *Ep = VSET1((1.0 - alpha) * (1.0 - alpha) / 2.0) + VSET1(2.0 * alpha) * t + kv * gpi;
}

/* Step 1{z > 0}: V = (pi - theta)/(2 pi), phi' = 0 almost everywhere, m2 = 1/2. */
static inline void FN(step_dual)(VD s, VD t, VD *V, VD *Vd, VD *Em, VD *Ep)
{
    const VD rs = VSQRT(s), rt = VSQRT(t);
    const VM lo = VLE(s, t);
    const VD x = VSET1(2.0) * VATAN2(VMIN(rs, rt), VMAX(rs, rt));
    const VD theta = VSEL(lo, x, VSET1(DW_PI) - x);
    const VD phi = VSEL(lo, VSET1(DW_PI) - x, x);
    const VD inv2pi = VSET1(1.0 / (2.0 * DW_PI));
    *V = phi * inv2pi;
    *Vd = VSET1(0.0);
    *Em = theta * inv2pi;
    *Ep = VSET1(0.5) + phi * inv2pi;
}

static inline VD FN(clamp01)(VD x) { return VMIN(VMAX(x, VSET1(0.0)), VSET1(1.0)); }

/* Homogeneous families: advance (s, t, theta) from layer l to l + 1 and write c = K^{l+1}.
 * With p = w E[phi^2] per point and a' = p + beta:
 *   sqrt(a'_i a'_j) - c' = beta (sqrt p_i - sqrt p_j)^2 / (sqrt(a'_i a'_j) + sqrt(p_i p_j) + beta) + w r_i r_j Em
 *   sqrt(a'_i a'_j) + c' = (the same bias term) + 2 beta + w r_i r_j Ep
 * both sums of non-negative terms, and s' = (sqrt(a'a') - c')/(2 sqrt(a'a')), t' likewise. */
/* The row-side value of a per-point field: point i broadcast (a row of the Gram) or, on the diagonal of two
 * point sets (diag: entry j pairs point j0 + j of each side), the vector of points j0 + j.. */
#define ISIDE(field, off) (diag ? VLOAD(pi->field + (off) + j0 + j) : VSET1(pi->field[(off) + i]))

static void FN(homog_row)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj, size_t j0,
                          double *s, double *t, double *c, double *th)
{
    const int diag = 0; /* ISIDE: the row's point i */
    const double w = st->w, beta = st->beta;
    const int is_step = st->fam == DW_FAM_STEP;
    const double *rj = pj->r + j0, *spj = pj->sp + j0, *sa1j = pj->sa1 + j0, *ih1j = pj->ih1 + j0;
    const VD wv = VSET1(w), bv = VSET1(beta), zero = VSET1(0.0), half = VSET1(0.5);
    for (size_t j = 0; j < nj; j += VW) {
        const VD ri = ISIDE(r, 0), spi = ISIDE(sp, 0), sa1i = ISIDE(sa1, 0), ih1i = ISIDE(ih1, 0);
        VD V, Vd, Em, Ep;
        if (is_step)
            FN(step_dual)(VLOAD(s + j), VLOAD(t + j), &V, &Vd, &Em, &Ep);
        else
            FN(relu_dual)(VLOAD(s + j), VLOAD(t + j), st->alpha, &V, &Vd, &Em, &Ep);
        const VD rr = ri * VLOAD(rj + j);
        const VD wrr = wv * rr;
        const VD cn = wrr * V + bv;
        { /* the next layer's angle state */
            VD E = wrr * Em, F = wrr * Ep + VSET1(2.0 * beta);
            if (beta > 0) {
                const VD spjv = VLOAD(spj + j);
                const VD dp = spi - spjv;
                const VD gap = bv * (dp * dp) / (sa1i * VLOAD(sa1j + j) + spi * spjv + bv);
                E = E + gap;
                F = F + gap;
            }
            const VD inv = (ih1i * VLOAD(ih1j + j)) * half;
            const VM degenerate = VEQ(inv, zero); /* a variance is 0: u = 0 identically, take rho = 0 */
            VSTORE(s + j, VSEL(degenerate, half, FN(clamp01)(E * inv)));
            VSTORE(t + j, VSEL(degenerate, half, FN(clamp01)(F * inv)));
        }
        VSTORE(c + j, cn);
        if (st->ntk) {
            VD base = cn;
            if (st->standard) base = VSET1(st->fan_in) * (rr * V) + VSET1(st->has_bias);
            VSTORE(th + j, base + (wv * Vd) * VLOAD(th + j));
        }
    }
}

/* The architecture engine's activations take the pair afresh from the covariance c at each activation and need no
 * next-layer angle state, so they skip (s, t) and work from c and the variances directly: with
 * disc = a b - c^2 (compensated by FMA error terms, so that it keeps its relative accuracy as theta -> 0 or pi) and
 * x = atan2(sqrt(disc), |c|) = min(theta, pi - theta), one square root and one arctangent per entry give
 *   V sqrt(ab) = alpha c + k (sqrt(disc) + (pi - theta) c)    (for c >= 0 every term is >= 0),
 * and for c < 0, where theta = pi - x and the bracket is sqrt(ab) g(x), g(x) = sin x - x cos x, g by its series
 * below x = 1, where the difference cancels;
 *   Vd = alpha + k (pi - theta),
 * with sqrt(ab) = r_i r_j from the points' stored square roots. The step family uses V = (pi - theta)/(2 pi) on
 * r = [a > 0]. A zero variance takes rho = 0 (theta = pi/2), as the state form does. */
static inline void FN(homog_direct_core)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj,
                                         size_t j0, double *c, double *th, const int diag)
{
    const double w = st->w, beta = st->beta, alpha = st->alpha;
    const int is_step = st->fam == DW_FAM_STEP, ntk = st->ntk, standard = st->standard;
    const double *aj = pj->a + j0, *rj = pj->r + j0;
    const double k = is_step ? 1.0 / (2.0 * DW_PI) : (1.0 - alpha) * (1.0 - alpha) / (2.0 * DW_PI);
    const VD wv = VSET1(w), bv = VSET1(beta), zero = VSET1(0.0), one = VSET1(1.0), pi_v = VSET1(DW_PI);
    const VD kv = VSET1(k), av = VSET1(is_step ? 0.0 : alpha), fan = VSET1(st->fan_in), hb = VSET1(st->has_bias);
    /* in chunks of 64 entries: the square roots, the arctangents, then the rest. Short independent iterations let
     * the out-of-order core overlap several of their long chains (square root; division and polynomial); one fused
     * loop, 5% fewer instructions, took 6-10% more CPU on the residual MLP, two loops (square root and arctangent
     * in one) ~5% more than these three */
    double sdb[64], xb[64];
    for (size_t j0c = 0; j0c < nj; j0c += 64) {
        const size_t je = j0c + 64 < nj ? j0c + 64 : nj;
        for (size_t j = j0c; j < je; j += VW) {
            const VD ai = ISIDE(a, 0), bj = VLOAD(aj + j), cv = VLOAD(c + j);
            const VD p = ai * bj, e1 = VFMA(ai, bj, zero - p), q = cv * cv, e2 = VFMA(cv, cv, zero - q);
            VSTORE(sdb + (j - j0c), VSQRT(VMAX((p - q) + (e1 - e2), zero)));
        }
        for (size_t j = j0c; j < je; j += VW)
            VSTORE(xb + (j - j0c), FN(atan2_pos)(VLOAD(sdb + (j - j0c)), VABS(VLOAD(c + j))));
        for (size_t j = j0c; j < je; j += VW) {
            const VD ai = ISIDE(a, 0), ri = ISIDE(r, 0), bj = VLOAD(aj + j), cv = VLOAD(c + j);
            const VM degenerate = VLE(ai * bj, zero), lo = VLE(zero, cv);
            const VD sd = VLOAD(sdb + (j - j0c)), x = VSEL(degenerate, VSET1(DW_PI / 2), VLOAD(xb + (j - j0c)));
            const VD phi = VSEL(lo, pi_v - x, x); /* pi - theta */
            const VD rr = ri * VLOAD(rj + j);
            VD Vs; /* V sqrt(ab) (relu family), V [a > 0][b > 0] (step) */
            if (is_step) {
                Vs = rr * (kv * phi);
            } else {
                /* sqrt(disc) + (pi - theta) c is also sqrt(ab) g(x) for c < 0 (there pi - theta = x, c = -|c|); the
                 * series replaces it where it cancels, c < 0 with x < 1 (rare: relu's covariances are mostly >= 0) */
                VD G = sd + phi * cv;
                const VM cancel = VMANDNOT(VLT(x, one), lo);
                if (VANY(cancel)) G = VSEL(cancel, FN(g_series)(x) * rr, G);
                Vs = VSEL(degenerate, zero, av * cv + kv * G);
            }
            const VD cn = wv * Vs + bv;
            VSTORE(c + j, cn);
            if (ntk) {
                VD Vd = zero, base = cn;
                if (!is_step) Vd = av + kv * phi;
                if (standard) base = fan * Vs + hb;
                VSTORE(th + j, base + (wv * Vd) * VLOAD(th + j));
            }
        }
    }
}

static void FN(homog_direct_row)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj,
                                 size_t j0, double *c, double *th)
{
    FN(homog_direct_core)(st, nj, pi, i, pj, j0, c, th, 0);
}

/* The same on the diagonal of two point sets (entry j pairs point j0 + j of each side). */
static void FN(homog_direct_diag)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj,
                                  size_t j0, double *c, double *th)
{
    (void)i;
    FN(homog_direct_core)(st, nj, pi, 0, pj, j0, c, th, 1);
}

/* Generic activations (theory.md 1.5 b): the Mehler series V = sum_k a_k(a_i) a_k(a_j) rho^k and Vd likewise with
 * b_k, by Horner in rho with fused multiply-adds, U vectors of entries at once so that the 2U Horner chains hide
 * the FMA latency (the sum is latency-bound otherwise).
 * Each entry stops at its own order: the first checkpoint k_c = min(8 (c + 1) - 1, K) at which the truncation
 * bounds |rho|^(k_c+1) T_i(k_c) T_j(k_c) of V and Vd (T: square roots of the Parseval tails after k_c terms, errors
 * included) are within st->budget of their scales sqrt(E phi(u)^2 E phi(v)^2), or at the layer's order K. The
 * block runs Horner from its largest order down, each lane's terms above its own order masked to zero; a lane's
 * sum is then exactly its own Horner sum from k_c (0 rho + 0 = 0 until its first term), so each lane's arithmetic
 * is the same whichever block it falls in, and results do not depend on tiling. The relative bound written to s:
 * |rho|^(k_c+1) T_i T_j + the coefficients' errors |da_i| |a_j| + |da_j| |a_i| + |da_i| |da_j| + rounding
 * (K + 2) eps |a_i| |a_j|, over sqrt(E phi(u)^2 E phi(v)^2), the larger of V's and Vd's. */
#define GEN_U 4
static inline void FN(generic_block)(const dw_step *st, int nv, const dw_pts *pi, size_t i, const dw_pts *pj,
                                     size_t j0, size_t j, double *s, double *c, double *th)
{
    const size_t ks = pi->stride, kt = pj->stride;
    const VD wv = VSET1(st->w), bv = VSET1(st->beta), one = VSET1(1.0), zero = VSET1(0.0);
    const VD ihi = VSET1(pi->ih[i]), sai = VSET1(pi->sa[i]);
    const int K = st->deg, C = K / DW_GEN_CK; /* checkpoints c = 0..C */
    VD rho[GEN_U], pv[GEN_U], qv[GEN_U], cv[GEN_U], sel[GEN_U], tra[GEN_U], trb[GEN_U], sca[GEN_U], scb[GEN_U];
    VM open[GEN_U];
    VM any = VLT(one, zero); /* all false */
    for (int u = 0; u < nv; u++) {
        const size_t jj = j + (size_t)u * VW;
        const VD lim = sai * VLOAD(pj->sa + j0 + jj);
        cv[u] = VMIN(VMAX(VLOAD(c + jj), zero - lim), lim);
        rho[u] = VMIN(VMAX(cv[u] * (ihi * VLOAD(pj->ih + j0 + jj)), zero - one), one);
        pv[u] = qv[u] = zero;
        sca[u] = VSET1(pi->gb[i]) * VLOAD(pj->gb + j0 + jj);
        scb[u] = VSET1(pi->gb[3 * ks + i]) * VLOAD(pj->gb + 3 * kt + j0 + jj);
        sel[u] = VSET1((double)C);
        tra[u] = trb[u] = zero;
        open[u] = VEQ(one, one); /* all true: order not chosen yet */
    }
    /* Each lane's order: the first checkpoint where both truncation bounds meet the budget (else C). */
    const VD bud = VSET1(st->budget);
    /* pw = |rho|^(k_c + 1); k_{c+1} - k_c is DW_GEN_CK, except K - k_{C-1} = K - DW_GEN_CK C + 1 at the last */
    VD pw[GEN_U], step[GEN_U], last[GEN_U];
    const int k0 = K < DW_GEN_CK - 1 ? K : DW_GEN_CK - 1, kl = K - DW_GEN_CK * C + 1;
    for (int u = 0; u < nv; u++) {
        const VD ar = VABS(rho[u]), a2 = ar * ar, a4 = a2 * a2;
        step[u] = a4 * a4;
        pw[u] = ar;
        last[u] = ar;
        for (int k = 0; k < k0; k++) pw[u] = pw[u] * ar;
        for (int k = 1; k < kl; k++) last[u] = last[u] * ar;
    }
    int cmax = 0;
    for (int cc = 0; cc <= C; cc++) {
        const VD tia = VSET1(pi->gb[(8 + cc) * ks + i]), tib = VSET1(pi->gb[(8 + DW_GEN_NCP + cc) * ks + i]);
        const VD ccv = VSET1((double)cc);
        any = VLT(one, zero);
        for (int u = 0; u < nv; u++) {
            const size_t jj = j + (size_t)u * VW;
            const VD ta = pw[u] * (tia * VLOAD(pj->gb + (8 + cc) * kt + j0 + jj));
            const VD tb = pw[u] * (tib * VLOAD(pj->gb + (8 + DW_GEN_NCP + cc) * kt + j0 + jj));
            const VM ok = cc == C ? open[u] : VMAND(open[u], VMAND(VLE(ta, bud * sca[u]), VLE(tb, bud * scb[u])));
            sel[u] = VSEL(ok, ccv, sel[u]);
            tra[u] = VSEL(ok, ta, tra[u]);
            trb[u] = VSEL(ok, tb, trb[u]);
            open[u] = VMANDNOT(open[u], ok);
            any = VSEL(open[u], open[u], any);
            if (cc < C) pw[u] = pw[u] * (cc + 1 == C ? last[u] : step[u]);
        }
        cmax = cc;
        if (!VANY(any)) break;
    }
    for (int cc = cmax; cc >= 0; cc--) {
        const int khi = cc == C ? K : DW_GEN_CK * (cc + 1) - 1, klo = DW_GEN_CK * cc;
        VM act[GEN_U], all = VEQ(one, one);
        const VD ccv = VSET1((double)cc);
        for (int u = 0; u < nv; u++) {
            act[u] = VLE(ccv, sel[u]);
            all = VMAND(all, act[u]);
        }
        if (VALL(all)) { /* every lane takes these terms */
            for (int k = khi; k >= klo; k--) {
                const VD pik = VSET1(pi->pk[k * ks + i]), qik = VSET1(pi->qk[k * ks + i]);
                const double *pjk = pj->pk + k * kt + j0 + j, *qjk = pj->qk + k * kt + j0 + j;
                for (int u = 0; u < nv; u++) {
                    pv[u] = VFMA(pv[u], rho[u], pik * VLOAD(pjk + u * VW));
                    qv[u] = VFMA(qv[u], rho[u], qik * VLOAD(qjk + u * VW));
                }
            }
            continue;
        }
        for (int k = khi; k >= klo; k--) {
            const VD pik = VSET1(pi->pk[k * ks + i]), qik = VSET1(pi->qk[k * ks + i]);
            const double *pjk = pj->pk + k * kt + j0 + j, *qjk = pj->qk + k * kt + j0 + j;
            for (int u = 0; u < nv; u++) {
                pv[u] = VFMA(pv[u], rho[u], VKEEP(act[u], pik * VLOAD(pjk + u * VW)));
                qv[u] = VFMA(qv[u], rho[u], VKEEP(act[u], qik * VLOAD(qjk + u * VW)));
            }
        }
    }
    const VD rnd = VSET1((st->deg + 2) * 2.220446049250313e-16);
    for (int u = 0; u < nv; u++) {
        const size_t jj = j + (size_t)u * VW;
        VD bnd[2];
        for (int f = 0; f < 2; f++) {
            const VD ej = VLOAD(pj->gb + (3 * f) * kt + j0 + jj), ei = VSET1(pi->gb[(3 * f) * ks + i]);
            const VD di = VSET1(pi->gb[(3 * f + 2) * ks + i]), dj = VLOAD(pj->gb + (3 * f + 2) * kt + j0 + jj);
            const VD sc = f ? scb[u] : sca[u];
            const VD b = (f ? trb[u] : tra[u]) + di * ej + dj * ei + di * dj + rnd * sc;
            bnd[f] = VSEL(VLT(zero, sc), b / VMAX(sc, VSET1(1e-300)), VSEL(VLT(zero, b), VSET1(1e300), zero));
        }
        VSTORE(s + jj, VMAX(bnd[0], bnd[1]));
        const VD cn = wv * pv[u] + bv;
        VSTORE(c + jj, cn);
        if (st->ntk) {
            VD base = cn;
            if (st->standard) base = VSET1(st->fan_in) * pv[u] + VSET1(st->has_bias);
            VSTORE(th + jj, base + (wv * qv[u]) * VLOAD(th + jj));
        }
    }
}

static void FN(generic_row)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj, size_t j0,
                            double *s, double *c, double *th)
{
    size_t j = 0;
    for (; j + GEN_U * VW <= nj; j += GEN_U * VW) FN(generic_block)(st, GEN_U, pi, i, pj, j0, j, s, c, th);
    for (; j < nj; j += VW) FN(generic_block)(st, 1, pi, i, pj, j0, j, s, c, th);
}

/* Smooth families: advance c (and theta) from layer l to l + 1 with the closed forms of theory.md 1.5(a). */
static inline void FN(smooth_core)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj,
                                   size_t j0, double *c, double *th, const int diag)
{
    const double *aj = pj->a + j0, *saj = pj->sa + j0, *rj = pj->r + j0;
    const VD wv = VSET1(st->w), bv = VSET1(st->beta), one = VSET1(1.0), zero = VSET1(0.0);
    for (size_t j = 0; j < nj; j += VW) {
        const VD ai = ISIDE(a, 0), sai = ISIDE(sa, 0), ri = ISIDE(r, 0);
        const VD ajv = VLOAD(aj + j);
        const VD lim = sai * VLOAD(saj + j);
        const VD cv = VMIN(VMAX(VLOAD(c + j), zero - lim), lim); /* |c| <= sqrt(ab) up to rounding */
        VD V, Vd;
        switch (st->fam) {
        case DW_FAM_ERF: {
            const VD arg = (VSET1(2.0) * cv) * (ri * VLOAD(rj + j));
            V = VSET1(2.0 / DW_PI) * VASIN(VMIN(VMAX(arg, zero - one), one));
            const VD ac = VABS(cv);
            const VD q = (lim - ac) * (lim + ac); /* ab - c^2 >= 0 */
            Vd = VSET1(4.0 / DW_PI) / VSQRT(one + VSET1(2.0) * (ai + ajv) + VSET1(4.0) * q);
            break;
        }
        case DW_FAM_GELU: {
            /* phi(z) = z Phi(z). With Phi(u) = P(Z' <= u), Stein's lemma on E[u v 1{u - Z' >= 0} 1{v - Z'' >= 0}]:
             *   V  = c h + (ab D + c^2) / (2 pi S sqrt(D)),
             *   Vd = dV/dc = h + c ((3 + a + b) D + c^2) / (2 pi S D sqrt(D)),
             * S = (1 + a)(1 + b), D = S - c^2 = 1 + a + b + (ab - c^2) >= 1 (ab - c^2 formed without cancellation),
             * h = 1/4 + arcsin(c / sqrt(S)) / (2 pi) = atan2(sqrt(D), -c) / (2 pi) (no cancellation as c -> -sqrt(ab)).
             * Every numerator is a sum of non-negative terms; see docs/ACCURACY.md. */
            const VD ac = VABS(cv);
            const VD q = (lim - ac) * (lim + ac); /* ab - c^2 >= 0 */
            const VD ab = ai * ajv, apb = ai + ajv, S = (one + ai) * (one + ajv);
            const VD D = (one + apb) + q, sD = VSQRT(D), c2 = cv * cv;
            const VD i2p = VSET1(1.0 / (2.0 * DW_PI));
            const VD h = VATAN2(sD, zero - cv) * i2p;
            const VD den = (S * sD) * VSET1(2.0 * DW_PI);
            V = cv * h + (ab * D + c2) / den;
            Vd = h + cv * (((VSET1(3.0) + apb) * D + c2) / (den * D));
            break;
        }
        case DW_FAM_SIN:
        case DW_FAM_COS: {
            /* e^{-(a+b)/2} sinh(c) and cosh(c) without overflow (|c| <= (a+b)/2) or cancellation (expm1). */
            const VD m = VSET1(0.5) * (ai + ajv);
            const VD ep = VEXP(cv - m), em = VEXP((zero - cv) - m);
            const VD ch = VSET1(0.5) * (ep + em);
            const VD shs = (ri * VLOAD(rj + j)) * (VSET1(0.5) * (VEXPM1(cv) - VEXPM1(zero - cv)));
            const VD sh = VSEL(VLT(VABS(cv), VSET1(0.5)), shs, VSET1(0.5) * (ep - em));
            V = ch;
            Vd = sh;
            if (st->fam == DW_FAM_SIN) {
                V = sh;
                Vd = ch;
            }
            break;
        }
        case DW_FAM_EXP:
            V = VEXP(VSET1(0.5) * (ai + ajv) + cv);
            Vd = V;
            break;
        case DW_FAM_POLY: {
            /* E[phi(u)phi(v)] = sum_k M_k(a) M_k(b) c^k / k!, M_k = E[phi^(k)] (Price/Isserlis), by Horner. */
            const size_t ks = pi->stride, kt = pj->stride; /* the two sides have their own padded lengths */
            VD pv = zero, qv = zero;
            for (int k = st->deg; k >= 0; k--) {
                pv = pv * cv + ISIDE(pk, k * ks) * VLOAD(pj->pk + k * kt + j0 + j);
                qv = qv * cv + ISIDE(qk, k * ks) * VLOAD(pj->qk + k * kt + j0 + j);
            }
            V = pv;
            Vd = qv;
            break;
        }
        default: /* identity */
            V = cv;
            Vd = one;
            break;
        }
        const VD cn = wv * V + bv;
        VSTORE(c + j, cn);
        if (st->ntk) {
            VD base = cn;
            if (st->standard) base = VSET1(st->fan_in) * V + VSET1(st->has_bias);
            VSTORE(th + j, base + (wv * Vd) * VLOAD(th + j));
        }
    }
}

static void FN(smooth_row)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj, size_t j0,
                           double *s, double *t, double *c, double *th)
{
    (void)t;
    if (st->fam == DW_FAM_GENERIC) {
        FN(generic_row)(st, nj, pi, i, pj, j0, s, c, th);
        return;
    }
    FN(smooth_core)(st, nj, pi, i, pj, j0, c, th, 0);
}

/* The diagonal of two point sets (entry j: point j0 + j of each side); closed forms only (not the generic family). */
static void FN(smooth_diag)(const dw_step *st, size_t nj, const dw_pts *pi, size_t i, const dw_pts *pj, size_t j0,
                            double *s, double *t, double *c, double *th)
{
    (void)s;
    (void)t;
    FN(smooth_core)(st, nj, pi, i, pj, j0, c, th, 1);
}

/* The homogeneous pair state of a row (dw_act_half_angle, vectorised): s = sin^2(theta/2), t = cos^2(theta/2) for
 * variances a (the row's) and b[j], covariances c[j], with ab - c^2 exact to rounding; a zero variance: 1/2. */
static void FN(half_row)(double a, const double *b, const double *c, size_t n, double *s, double *t)
{
    const VD zero = VSET1(0.0), one = VSET1(1.0), half = VSET1(0.5), two = VSET1(2.0), av = VSET1(a);
    for (size_t j = 0; j < n; j += VW) {
        const VD bv = VLOAD(b + j), cv = VLOAD(c + j);
        const VD p = av * bv, e1 = VFMA(av, bv, zero - p), q = cv * cv, e2 = VFMA(cv, cv, zero - q);
        const VD disc = VMAX((p - q) + (e1 - e2), zero);
        const VD sab = VSQRT(p) * VSQRT(one + e1 / p), ac = VABS(cv);
        const VD near = disc / (two * sab * (sab + ac)), far = (sab + ac) / (two * sab);
        const VM pos = VLE(zero, cv), degenerate = VLE(p, zero);
        VSTORE(s + j, VSEL(degenerate, half, VMIN(VSEL(pos, near, far), one)));
        VSTORE(t + j, VSEL(degenerate, half, VMIN(VSEL(pos, far, near), one)));
    }
}

