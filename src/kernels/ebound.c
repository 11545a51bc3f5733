/* Per-entry error bounds of the returned Gram entries (dw_kernel_gram_bound; docs/kernel.md "Per-entry error
 * bounds"): beside each entry, an absolute bound on |K_exact - K| (and Theta), where K_exact is the kernel of the
 * float64 inputs in exact arithmetic. Relu family (closed form, angle state): a forward error analysis of the
 * operations the sweep does (sweep_body.h relu_dual, homog_core; tile.c's layer 1), in the standard model
 * |fl(a op b) - a op b| <= u |a op b| (u = 2^-53) with SLEEF's documented error of atan2 (u35: 3.5 ulp), the
 * angle's sensitivity bounded by moduli of continuity that hold for all errors (not first order), and the
 * magnitudes of the entry itself. Generic activations: the entry's own expectation bound (the series or the
 * pairwise quadrature) propagated through the layers entry by entry, the propagation of bound.c. */
#include "kernels/kernel.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define U (DBL_EPSILON / 2)
#define PI_ERR 1.3e-16 /* |fl(pi) - pi| <= 1.23e-16 */
#define DW_PI_VALUE 3.14159265358979323846

static double gam(double k) { return k * U / (1.0 - k * U); }
static double gam2(double k, double u) { return k * u / (1.0 - k * u); }

/* The slack of a step's bound: the rounding of the bound's own arithmetic (a few u relative) and the products of
 * two error bounds left out of the first-order sums (each at most rel times the term it multiplies). */
static double slack(double rel) { return 1.0 + 1e-6 + 4.0 * rel; }

void dw_kern_ebound_points(const dw_kernel_plan *p, const side *sd, size_t k0, size_t k1, double *ea)
{
    const int L = p->depth + 1;
    const double uw = p->lam2 != 1.0 ? U : 0.0; /* w and fan_in scaled by lam^2 (relu_view): one rounding */
    for (size_t k = k0; k < k1; k++) {
        double *e = ea + (k - k0) * (size_t)L;
        e[0] = gam((double)p->d + 3.0); /* (w / d) |x|^2 + b: the sum's gamma_d, w / d, the product, the bias */
        if (p->act->fam == DW_FAM_GENERIC) {
            for (int l = 1; l < L; l++) e[l] = field(p, sd, l, PB_EA)[k];
            continue;
        }
        for (int l = 0; l + 1 < L; l++) {
            /* a' = sp^2 + b, sp = sqrt(w m2 a): sp^2 within (ea + 6u + 2uw) of w m2 a, the square and the sum */
            const double sp = field(p, sd, l, F_SP)[k], an = field(p, sd, l + 1, F_A)[k], P = sp * sp;
            e[l + 1] = an > 0 ? (e[l] + 7.0 * U + 2.0 * uw) * P / an * slack(e[l]) + U : 0.0;
        }
    }
}

/* |theta(s) - theta(s')| for |s - s'| <= D, theta(s) = 2 asin(sqrt s) (from the side nearer 0: theta or pi -
 * theta): asin is 1 / sqrt(1 - y^2)-Lipschitz and |sqrt s - sqrt s'| <= min(D / (sqrt s + sqrt(s - D)), sqrt D). */
static double angle_mod(double s, double D)
{
    if (!(D > 0)) return 0.0;
    if (s > 0.5) s = 1.0 - s;
    if (s < 0) s = 0;
    if (D >= 0.25) return DW_PI_VALUE;
    const double hi = fmin(s + D, 1.0), lo = fmax(s - D, 0.0);
    const double lip = 1.0 / sqrt(1.0 - hi);
    const double den = sqrt(s) + sqrt(lo);
    const double dq = den > 0 ? fmin(D / den, sqrt(D)) : sqrt(D);
    return fmin(2.0 * lip * dq * (1.0 + 8.0 * U), DW_PI_VALUE);
}

/* Layer 1 of the relu family: the bounds of c (dc), of the angle state s, t (ds, dt) and of Theta (dth) from
 * the inner product g (BLAS: |fl(g) - g| <= gamma_d |x||y|), for the entries of one row. ni: the row's |x|^2,
 * nj: the columns'; s_u, t_u: the unrefined state recomputed (tile.c refines pairs with min(s, t) < 1/16: the
 * refined value is within |refined - unrefined| + the unrefined bound of the exact one; identical points have
 * the exact state 0, 1). */
void dw_kern_ebound_first(const dw_kernel_plan *p, size_t i, size_t j0, size_t nj, const double *c, const double *s,
                          const double *t, const double *th, double eai, const double *eaj, size_t eas, double *dc,
                          double *ds, double *dt, double *dth)
{
    const size_t d = p->d;
    const double wd = p->w[0] / (double)d, b0 = p->beta[0], hb0 = b0 > 0 ? 1.0 : 0.0, gd = gam((double)d + 3.0);
    const double *ax = field(p, &p->X, 0, F_A), *ay = field(p, &p->Y, 0, F_A);
    const double *ihx = field(p, &p->X, 0, F_IH), *ihy = field(p, &p->Y, 0, F_IH);
    const double *xi = p->X.x + i * d;
    double nx = 0;
    for (size_t k = 0; k < d; k++) nx += xi[k] * xi[k];
    nx = sqrt(nx) * (1.0 + gam((double)d + 2.0));
    const int homog = dw_act_homogeneous(p->act);
    for (size_t j = 0; j < nj; j++) {
        const size_t jj = j0 + j;
        const double *yj = p->Y.x + jj * d;
        double ny = 0;
        for (size_t k = 0; k < d; k++) ny += yj[k] * yj[k];
        ny = sqrt(ny) * (1.0 + gam((double)d + 2.0));
        /* |c_hat - c| <= gamma_{d+3} ((w/d) |x||y| + b) */
        dc[j] = gd * (wd * nx * ny + b0) * slack(gd);
        if (th) dth[j] = p->standard ? gam((double)d + 1.0) * (nx * ny + hb0) * slack(gd) : dc[j];
        if (!homog) continue;
        const double ih = ihx[i] * ihy[jj];
        if (ih == 0.0 || (p->symmetric && i == jj) || (d > 0 && !memcmp(xi, yj, d * sizeof *xi) && ax[i] == ay[jj])) {
            ds[j] = dt[j] = 0.0; /* rho = 0 by convention, or the pair (x, x): s = 0, t = 1 exactly */
            continue;
        }
        /* rho_hat = c_hat (ih_i ih_j): ih = 1 / sqrt(a_hat) within ea/2 + 2u (+ second order) */
        const double rho = c[j] * ih;
        const double drho = dc[j] * ih * (1.0 + eai + eaj[j * eas]) +
                            fabs(rho) * (0.5 * (eai + eaj[j * eas]) + 6.0 * U);
        const double su = fmin(fmax(0.5 - 0.5 * rho, 0.0), 1.0), tu = fmin(fmax(0.5 + 0.5 * rho, 0.0), 1.0);
        const double bs = (0.5 * drho + U * su) * slack(drho), bt = (0.5 * drho + U * tu) * slack(drho);
        ds[j] = bs + fabs(s[j] - su);
        dt[j] = bt + fabs(t[j] - tu);
    }
}

/* One relu-family step for one entry, in a precision of unit roundoff u (double, or long double for the
 * reference of ebound_ref.c), atan2 within at ulps: the bounds of the outputs from those of the inputs. */
void dw_kern_relu_step_bound(const dw_relu_in *in, dw_relu_out *out)
{
    const double u = in->u, alpha = in->alpha, aa = fabs(alpha), k = (1.0 - alpha) * (1.0 - alpha) / (2.0 * DW_PI_VALUE);
    const double w = in->w, beta = in->beta, uw = in->uw;
    const double ea_i = in->ea_i, ea_j = in->ea_j, e1i = in->e1_i, e1j = in->e1_j;
    const double S = in->s, T = in->t, DS = in->ds, DT = in->dt, sum = S + T;
    const double rel = fmax(fmax(DS, DT), fmax(ea_i, ea_j));
    /* the normalised state s~ = s / (s + t) and the angles: theta~ of s~ (exact), theta_hat as computed */
    const double Dst = sum > 0 ? (DS * (T + DT) + DT * (S + DS)) / sum : 1.0;
    const double dsum = fmin(DS + DT, in->dsum);
    const double dang = angle_mod(sum > 0 ? S / sum : 0.5, Dst);
    const int lo = in->lo >= 0 ? in->lo : S <= T;
    const double x = 2.0 * atan2(sqrt(fmin(S, T)), sqrt(fmax(S, T)));
    /* the small angle x is computed (x = theta, or pi - theta where theta > pi/2); the other one is fl(pi - x),
     * which carries fl(pi)'s error and a rounding on top of x's */
    const double theta = lo ? x : DW_PI_VALUE - x, phi = lo ? DW_PI_VALUE - x : x;
    const double dx = (2.0 * in->at + 2.5) * u * x; /* atan2 and the square roots */
    const double Dth = dang + dx;                   /* |x_hat - x|: theta and pi - theta move by that */
    const double ephi = lo ? in->pi_err + u * phi : 0.0, eth = lo ? 0.0 : in->pi_err + u * theta;
    const double sn = 2.0 * sqrt(S) * sqrt(T), cs = T - S;
    const double sinmax = fmin(1.0, sn / (sum > 0 ? sum : 1.0) + Dth);
    const double thmax = fmin(theta + Dth, DW_PI_VALUE), phmax = fmin(phi + Dth, DW_PI_VALUE);
    /* g_pi = sin + (pi - theta) cos (V's part), g_th = sin - theta cos (Em's): |g'| = (pi - theta) sin, theta sin;
     * either form of g (the series for x < 1: Horner and its truncation; the direct one) */
    const double gpi = sn + phi * cs, gth = sn - theta * cs;
    const double xs = fmin(x, 1.0), Rser = in->series ? (gam2(24.0, u) * 0.4 + 1e-18) * xs * xs * xs : 0.0;
    const double Rpi = Rser + gam2(5.0, u) * (sn + phi * fabs(cs));
    const double Rth = Rser + gam2(5.0, u) * (sn + theta * fabs(cs));
    const double dgpi = Rpi + phmax * sinmax * Dth + dsum * fabs(gpi) + fabs(cs) * (dx + ephi);
    const double dgth = Rth + thmax * sinmax * Dth + dsum * fabs(gth) + fabs(cs) * (dx + eth);
    /* V = alpha cos + k g_pi; Vd = alpha + k (pi - theta); the step: V = (pi - theta) / (2 pi), Vd = 0 (step_dual:
     * phi times a rounded 1 / (2 pi), 2u) */
    const double ip = 1.0 / (2.0 * DW_PI_VALUE);
    const double V = in->step ? phi * ip : alpha * cs + k * gpi, Vd = in->step ? 0.0 : alpha + k * phi;
    const double dV = in->step ? (Dth + ephi) * ip + 2.0 * u * V
                               : aa * (DS + DT + u * fabs(cs)) + k * dgpi +
                                     gam2(2.0, u) * (aa * fabs(cs) + k * fabs(gpi));
    const double dVd = in->step ? 0.0 : k * (Dth + ephi) + u * fabs(Vd);
    /* r_i r_j = sqrt(a_i a_j) within er_i + er_j + u, er = ea / 2 + u (r = sqrt(a_hat)); the step's r = [a > 0]
     * exactly */
    const double R = in->step ? (in->a_i > 0 && in->a_j > 0 ? 1.0 : 0.0) : sqrt(in->a_i) * sqrt(in->a_j);
    const double er = in->step ? 0.0 : 0.5 * (ea_i + ea_j) + 3.0 * u + uw;
    const double dcn = (w * R * (dV + fabs(V) * (er + 2.0 * u)) + u * fabs(in->c)) * slack(rel);
    out->dc = dcn;
    if (in->ntk) {
        double db = dcn;
        if (in->standard) db = (in->fan_in * R * (dV + fabs(V) * er) + u * fabs(in->th)) * slack(rel);
        out->dth = (db + w * (dVd * fabs(in->th0) + fabs(Vd) * in->dth0) + gam2(4.0, u) * w * fabs(Vd * in->th0) +
                    u * fabs(in->th)) * slack(rel);
    }
    /* the next layer's state: s' = (w sqrt(a_i a_j) Em + gap) / (2 sqrt(a'_i a'_j)), t' with Ep and 2 beta */
    if (in->inv == 0.0) {
        out->ds = out->dt = 0.0; /* a' = 0: rho = 0 by convention, exactly as computed */
        return;
    }
    double Em, dEm;
    if (in->step) { /* Em = theta / (2 pi) */
        Em = theta * ip;
        dEm = (Dth + eth) * ip + 2.0 * u * Em;
    } else if (lo) {
        Em = (1.0 + alpha * alpha) * S - k * gth;
        dEm = (1.0 + alpha * alpha) * DS + k * dgth + gam2(3.0, u) * ((1.0 + alpha * alpha) * S + k * fabs(gth));
    } else {
        Em = 0.5 * (1.0 + alpha) * (1.0 + alpha) - 2.0 * alpha * T - k * gpi;
        dEm = 2.0 * aa * DT + k * dgpi +
              gam2(4.0, u) * (0.5 * (1.0 + alpha) * (1.0 + alpha) + 2.0 * aa * T + k * fabs(gpi));
    }
    /* the step: Ep = 1/2 + (pi - theta) / (2 pi) */
    const double Ep = in->step ? 0.5 + phi * ip : 0.5 * (1.0 - alpha) * (1.0 - alpha) + 2.0 * alpha * T + k * gpi;
    const double dEp = in->step ? (Dth + ephi) * ip + 3.0 * u * Ep
                                : 2.0 * aa * DT + k * dgpi +
                                      gam2(4.0, u) * (0.5 * (1.0 - alpha) * (1.0 - alpha) + 2.0 * aa * T +
                                                      k * fabs(gpi));
    double gap = 0.0, dgap = 0.0;
    if (beta > 0 && !in->same) {
        const double si = in->sp_i, sj = in->sp_j;
        /* sp = sqrt(w m2 a) (the step: sqrt(w / 2), no a) */
        const double esi = (in->step ? 0.0 : 0.5 * ea_i) + 3.0 * u + uw;
        const double esj = (in->step ? 0.0 : 0.5 * ea_j) + 3.0 * u + uw;
        const double df = si - sj, Dd = esi * si + esj * sj + u * fabs(df);
        const double den = sqrt(in->a1_i) * sqrt(in->a1_j) + si * sj + beta;
        const double eden = fmax(0.5 * (e1i + e1j) + 2.0 * u, esi + esj + u) + 2.0 * u;
        gap = beta * df * df / den;
        dgap = beta * (2.0 * fabs(df) * Dd + Dd * Dd) / den + gap * (eden + 4.0 * u);
    }
    const double ei = 0.5 * (e1i + e1j) + 5.0 * u, inv = in->inv;
    const double E = w * R * Em + gap, F = w * R * Ep + gap + 2.0 * beta;
    const double dE = w * R * (dEm + fabs(Em) * (er + 2.0 * u)) + dgap + u * fabs(E);
    const double dF = w * R * (dEp + fabs(Ep) * (er + 2.0 * u)) + dgap + 2.0 * u * fabs(F);
    out->ds = (inv * dE + fabs(E) * inv * ei + u * in->s1) * slack(rel);
    out->dt = (inv * dF + fabs(F) * inv * ei + u * in->t1) * slack(rel);
}

/* The relu family's step from layer l to l + 1 for one row (sweep_body.h homog_core), entry by entry: s0, t0,
 * th0 the layer-l state and NTK (as the sweep read them), s, t, c, th its outputs; ds, dt, dth the bounds of the
 * layer-l state (in) and of the outputs (out), dc the covariance's (out). ea*: the relative bounds of a^l, a^{l+1}
 * of the row point (eai) and of the columns (eaj, stride eas). */
void dw_kern_ebound_relu(const dw_kernel_plan *p, const dw_step *st, int l, size_t i, size_t j0, size_t nj,
                         const double *s0, const double *t0, const double *th0, const double *s, const double *t,
                         const double *c, const double *th, const double *eai, const double *eaj, size_t eas,
                         double *ds, double *dt, double *dc, double *dth)
{
    const double *ax = field(p, &p->X, l, F_A), *ay = field(p, &p->Y, l, F_A);
    const double *spx = field(p, &p->X, l, F_SP), *spy = field(p, &p->Y, l, F_SP);
    const double *a1x = field(p, &p->X, l + 1, F_A), *a1y = field(p, &p->Y, l + 1, F_A);
    const double *ihx = field(p, &p->X, l + 1, F_IH), *ihy = field(p, &p->Y, l + 1, F_IH);
    dw_relu_in in = {.u = U, .at = 3.5, .pi_err = PI_ERR, .series = 1, .lo = -1, .alpha = st->alpha, .w = st->w,
                     .beta = st->beta, .uw = p->lam2 != 1.0 ? U : 0.0, .ntk = st->ntk, .standard = st->standard,
                     .fan_in = st->fan_in, .a_i = ax[i], .sp_i = spx[i], .a1_i = a1x[i], .ea_i = eai[l],
                     .e1_i = eai[l + 1]};
    for (size_t j = 0; j < nj; j++) {
        const size_t jj = j0 + j;
        in.a_j = ay[jj];
        in.sp_j = spy[jj];
        in.a1_j = a1y[jj];
        in.ea_j = eaj[j * eas + (size_t)l];
        in.e1_j = eaj[j * eas + (size_t)l + 1];
        in.s = s0[j];
        in.t = t0[j];
        in.ds = ds[j];
        in.dt = dt[j];
        in.dsum = fabs((s0[j] - 1.0) + t0[j]) + 2.0 * U;
        in.c = c[j];
        if (st->ntk) {
            in.th0 = th0[j];
            in.dth0 = dth[j];
            in.th = th[j];
        }
        in.inv = 0.5 * ihx[i] * ihy[jj];
        in.s1 = s[j];
        in.t1 = t[j];
        in.same = p->symmetric && i == jj;
        dw_relu_out o = {0, 0, 0, 0};
        dw_kern_relu_step_bound(&in, &o);
        dc[j] = o.dc;
        if (st->ntk) dth[j] = o.dth;
        ds[j] = o.ds;
        dt[j] = o.dt;
    }
}

/* Generic activations, one row after the series step and its fixes: bound.c's propagation (dw_kern_bound_tile)
 * taken entry by entry (a 1 x 1 tile: each factor its own value instead of a maximum over a tile), with the
 * entry's own expectation bound b (relative, from the sweep or the pairwise route) and its own angle term. dr, et:
 * the entries' relative bounds of rho and Theta (in: layer l, out: l + 1); c0: the layer-l covariances. */
void dw_kern_ebound_generic(const dw_kernel_plan *p, const dw_step *st, int l, size_t i, size_t j0, size_t nj,
                            const double *b, const double *c0, double *dr, double *et)
{
    const int kinked = p->act->nkinks > 0;
    for (size_t j = 0; j < nj; j++) {
        const size_t jj = j0 + j;
        const int same = p->symmetric && i == jj;
        const double kink = kinked ? dw_kern_kink_max(p, l, i, i + 1, jj, jj + 1, c0 + j, NULL, 4, same, dr[j]) : 0.0;
        double worst = 0.0;
        dw_kern_bound_tile(p, st, l, i, i + 1, jj, jj + 1, b[j], kink, &dr[j], &et[j], &worst);
    }
}

/* The absolute bounds of one row's returned entries from the generic route's relative ones: K relative to
 * sqrt(K(x, x) K(y, y)), Theta to sqrt(Theta(x, x) Theta(y, y)) (bound.c); dc (the rho bound on input) is
 * replaced by K's bound: dr minus the variances' share, which bound.c adds after c's. */
void dw_kern_ebound_generic_abs(const dw_kernel_plan *p, size_t i, size_t j0, size_t nj, double *dr, double *et)
{
    const int L = p->depth;
    const double *sax = field(p, &p->X, L, F_SA), *say = field(p, &p->Y, L, F_SA);
    const double *tx = field(p, &p->X, L, PB_TH), *ty = field(p, &p->Y, L, PB_TH);
    const double *ex = field(p, &p->X, L, PB_EA), *ey = field(p, &p->Y, L, PB_EA);
    for (size_t j = 0; j < nj; j++) {
        const size_t jj = j0 + j;
        const double relc = fmax(dr[j] - 0.5 * (ex[i] + ey[jj]) - 4.0 * DBL_EPSILON, 0.0) + 8.0 * U * dr[j];
        dr[j] = relc * sax[i] * say[jj] * slack(relc);
        et[j] = et[j] * tx[i] * ty[jj] * slack(et[j]);
    }
}

int dw_kern_ebound_supported(const dw_kernel_plan *p)
{
    return p->depth == 0 || p->act->fam == DW_FAM_RELU || p->act->fam == DW_FAM_GENERIC ||
           dw_kern_ebound_smooth_ok(p) || (p->act->fam == DW_FAM_STEP && dw_kern_ebound_ref_ok(p));
}
