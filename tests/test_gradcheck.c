/* test_gradcheck.c - every gradient kdts computes, checked element by
   element against central finite differences of an independent
   double-precision implementation of the same model and losses.

   Finite differences of the float model are limited by float rounding
   (about 1e-3 relative, see test_core.c); here the loss is evaluated in
   double, so eps = 1e-6 gives differences accurate to ~1e-9 and the check
   measures the float analytic gradients themselves. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 3, T = 5, F = 2, H = 4, L = 2, HZ = 3, K = 6 };

typedef struct dmodel {
    int mode;
    double *p; /* flat parameters, kdts layout */
    size_t np;
    const kdts_lstm *m; /* for offsets */
} dmodel;

typedef struct dinputs {
    double x[B * T * F], h0[L * B * H], c0[L * B * H];
    double y[B * T * HZ], tv[B * T * HZ], tp[B * HZ * K];
    double w[3], tau, sigma, lo, hi;
} dinputs;

static double dsig(double v) { return 1.0 / (1.0 + exp(-v)); }

/* out (B,T,O) of the double model */
static void dforward(const dmodel *dm, const dinputs *in, double *out)
{
    const kdts_lstm *m = dm->m;
    int O = m->outputs, b, t, l, j, k;
    static double seq[L + 1][T][B][H];
    for (b = 0; b < B; ++b)
        for (t = 0; t < T; ++t)
            for (j = 0; j < H; ++j) seq[0][t][b][j] = j < F ? in->x[(b * T + t) * F + j] : 0.0;
    for (l = 0; l < L; ++l) {
        int I = l ? H : F;
        const double *wih = dm->p + m->off_wih[l], *whh = dm->p + m->off_whh[l];
        const double *bih = dm->p + m->off_bih[l], *bhh = dm->p + m->off_bhh[l];
        for (b = 0; b < B; ++b) {
            double h[H], c[H], z[4 * H];
            for (j = 0; j < H; ++j) {
                h[j] = in->h0[(l * B + b) * H + j];
                c[j] = in->c0[(l * B + b) * H + j];
            }
            for (t = 0; t < T; ++t) {
                for (j = 0; j < 4 * H; ++j) {
                    double s = bih[j] + bhh[j];
                    for (k = 0; k < I; ++k) s += wih[j * I + k] * seq[l][t][b][k];
                    for (k = 0; k < H; ++k) s += whh[j * H + k] * h[k];
                    z[j] = s;
                }
                for (j = 0; j < H; ++j) {
                    double ig = dsig(z[j]), fg = dsig(z[H + j]), gg = tanh(z[2 * H + j]), og = dsig(z[3 * H + j]);
                    c[j] = fg * c[j] + ig * gg;
                    h[j] = og * tanh(c[j]);
                }
                for (j = 0; j < H; ++j) seq[l + 1][t][b][j] = h[j];
            }
        }
    }
    for (b = 0; b < B; ++b)
        for (t = 0; t < T; ++t)
            for (j = 0; j < O; ++j) {
                double s = dm->p[m->off_head_b + j];
                for (k = 0; k < H; ++k) s += dm->p[m->off_head_w + (size_t)j * H + k] * seq[L][t][b][k];
                out[(b * T + t) * O + j] = s;
            }
}

static double centre(const dinputs *in, int k) { return in->lo + (k + 0.5) * (in->hi - in->lo) / K; }

static double dloss(const dmodel *dm, const dinputs *in)
{
    double out[B * T * HZ * K], Lh = 0, Ls = 0, Lq = 0;
    int b, t, j, k;
    dforward(dm, in, out);
    for (b = 0; b < B; ++b)
        for (t = 0; t < T; ++t)
            for (j = 0; j < HZ; ++j) {
                int r = (b * T + t) * HZ + j;
                if (!dm->mode) {
                    double s = out[r];
                    Lh += (s - in->y[r]) * (s - in->y[r]);
                    Lq += (s - in->tv[r]) * (s - in->tv[r]);
                    if (t == T - 1) Ls += (s - in->tv[r]) * (s - in->tv[r]);
                } else {
                    const double *z = out + (size_t)r * K;
                    double mx = -1e300, se = 0, lse, E = 0, q[K], qs = 0, w = (in->hi - in->lo) / K;
                    for (k = 0; k < K; ++k) mx = z[k] > mx ? z[k] : mx;
                    for (k = 0; k < K; ++k) se += exp(z[k] - mx);
                    lse = log(se) + mx;
                    for (k = 0; k < K; ++k) E += exp(z[k] - lse) * centre(in, k);
                    Lq += (E - in->tv[r]) * (E - in->tv[r]);
                    for (k = 0; k < K; ++k) {
                        double d = (centre(in, k) - in->y[r]) / (in->sigma * w);
                        q[k] = exp(-0.5 * d * d);
                        qs += q[k];
                    }
                    for (k = 0; k < K; ++k) Lh -= q[k] / qs * (z[k] - lse);
                    if (t == T - 1) {
                        double mt = -1e300, st = 0, lt;
                        const double *pt = in->tp + (size_t)(b * HZ + j) * K;
                        for (k = 0; k < K; ++k) mt = z[k] / in->tau > mt ? z[k] / in->tau : mt;
                        for (k = 0; k < K; ++k) st += exp(z[k] / in->tau - mt);
                        lt = log(st) + mt;
                        for (k = 0; k < K; ++k) Ls += in->tau * in->tau * pt[k] * (log(pt[k]) - (z[k] / in->tau - lt));
                    }
                }
            }
    Lh /= B * T * HZ;
    Lq /= B * T * HZ;
    Ls /= B * HZ;
    return in->w[0] * Lh + in->w[1] * Ls + in->w[2] * Lq;
}

static float fr(kdts_rng *r) { return 2.0f * kdts_rng_uniform(r) - 1.0f; }

int main(void)
{
    static const char *term[] = {"hard", "soft", "seq", "combined"};
    static const double wts[4][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0.6, 0.4, 0.5}};
    const double bound = 1e-4; /* |analytic - numeric| / max|numeric| per tensor */
    double worst = 0.0;
    char worst_at[160] = "";
    int mode, ti;
    size_t checked = 0;
    for (mode = 0; mode < 2; ++mode) {
        kdts_lstm m;
        kdts_lstm_ws ws;
        kdts_lstm_config cfg;
        kdts_loss_config lc;
        kdts_rng r;
        dmodel dm;
        static dinputs in;
        float x[B * T * F], h0[L * B * H], c0[L * B * H], y[B * T * HZ], tv[B * T * HZ], tp[B * HZ * K];
        float out[B * T * HZ * K], dout[B * T * HZ * K], dx[B * T * F], dh0[L * B * H], dc0[L * B * H];
        size_t i;
        memset(&ws, 0, sizeof ws); /* a failed init leaves it untouched */
        memset(&cfg, 0, sizeof cfg);
        cfg.input = F;
        cfg.hidden = H;
        cfg.layers = L;
        cfg.horizon = HZ;
        cfg.mode = mode ? KDTS_MODE_DIST : KDTS_MODE_POINT;
        cfg.bins = K;
        cfg.bin_lo = -1.5f;
        cfg.bin_hi = 1.5f;
        KT_CHECK(kdts_lstm_init(&m, &cfg, 5 + mode, NULL) == KDTS_OK, "init");
        KT_CHECK(kdts_lstm_ws_init(&ws, &cfg, B, T, 1, NULL) == KDTS_OK, "ws");
        kdts_rng_seed(&r, 77 + mode);
        for (i = 0; i < m.nparams; ++i) m.params[i] = 0.6f * fr(&r);
        for (i = 0; i < B * T * F; ++i) x[i] = fr(&r);
        for (i = 0; i < L * B * H; ++i) { h0[i] = 0.5f * fr(&r); c0[i] = 0.5f * fr(&r); }
        for (i = 0; i < B * T * HZ; ++i) { y[i] = fr(&r); tv[i] = fr(&r); }
        for (i = 0; i < B * HZ; ++i) {
            float s = 0;
            int k;
            for (k = 0; k < K; ++k) s += (tp[i * K + k] = 0.05f + kdts_rng_uniform(&r));
            for (k = 0; k < K; ++k) tp[i * K + k] /= s;
        }
        for (i = 0; i < B * T * F; ++i) in.x[i] = x[i];
        for (i = 0; i < L * B * H; ++i) { in.h0[i] = h0[i]; in.c0[i] = c0[i]; }
        for (i = 0; i < B * T * HZ; ++i) { in.y[i] = y[i]; in.tv[i] = tv[i]; }
        for (i = 0; i < B * HZ * K; ++i) in.tp[i] = tp[i];
        in.tau = 2.0;
        in.sigma = 1.0;
        in.lo = cfg.bin_lo;
        in.hi = cfg.bin_hi;
        dm.mode = mode;
        dm.m = &m;
        dm.np = m.nparams;
        dm.p = (double *)malloc(m.nparams * sizeof(double));
        for (i = 0; i < m.nparams; ++i) dm.p[i] = m.params[i];
        kdts_loss_config_from_model(&lc, &m);
        lc.temperature = 2.0f;
        lc.label_sigma = 1.0f;
        for (ti = 0; ti < 4; ++ti) {
            struct { const char *name; size_t off, n; double *dp; const float *g; } tens[4 * L + 5];
            int nt = 0, k, l;
            kdts_loss_value lv;
            double dl;
            memcpy(in.w, wts[ti], sizeof in.w);
            kdts_lstm_forward(&m, &ws, x, B, T, h0, c0, out, 1, NULL, NULL);
            kdts_loss_eval(&lc, (float)in.w[0], (float)in.w[1], (float)in.w[2], out, y, tv, tp, B, T, &lv, dout, NULL);
            dl = dloss(&dm, &in);
            KT_CHECK(fabs(dl - lv.total) <= 1e-5 * fabs(dl) + 1e-7, "%s %s loss: kdts %.9g, double %.9g",
                     mode ? "dist" : "point", term[ti], lv.total, dl);
            kdts_lstm_zero_grad(&m);
            kdts_lstm_backward(&m, &ws, dout, dx, dh0, dc0, NULL);
            for (l = 0; l < L; ++l) {
                size_t I = l ? H : F;
                tens[nt].name = "W_ih"; tens[nt].off = m.off_wih[l]; tens[nt++].n = 4 * H * I;
                tens[nt].name = "W_hh"; tens[nt].off = m.off_whh[l]; tens[nt++].n = 4 * H * H;
                tens[nt].name = "b_ih"; tens[nt].off = m.off_bih[l]; tens[nt++].n = 4 * H;
                tens[nt].name = "b_hh"; tens[nt].off = m.off_bhh[l]; tens[nt++].n = 4 * H;
            }
            tens[nt].name = "head W"; tens[nt].off = m.off_head_w; tens[nt++].n = (size_t)m.outputs * H;
            tens[nt].name = "head b"; tens[nt].off = m.off_head_b; tens[nt++].n = (size_t)m.outputs;
            for (k = 0; k < nt; ++k) { tens[k].dp = dm.p + tens[k].off; tens[k].g = m.grads + tens[k].off; }
            tens[nt].name = "x"; tens[nt].dp = in.x; tens[nt].g = dx; tens[nt++].n = B * T * F;
            tens[nt].name = "h0"; tens[nt].dp = in.h0; tens[nt].g = dh0; tens[nt++].n = L * B * H;
            tens[nt].name = "c0"; tens[nt].dp = in.c0; tens[nt].g = dc0; tens[nt++].n = L * B * H;
            for (k = 0; k < nt; ++k) {
                double maxn = 0, maxd = 0, *num = (double *)malloc(tens[k].n * sizeof(double));
                for (i = 0; i < tens[k].n; ++i) {
                    double save = tens[k].dp[i], lp, lm, eps = 1e-6;
                    tens[k].dp[i] = save + eps;
                    lp = dloss(&dm, &in);
                    tens[k].dp[i] = save - eps;
                    lm = dloss(&dm, &in);
                    tens[k].dp[i] = save;
                    num[i] = (lp - lm) / (2 * eps);
                    if (fabs(num[i]) > maxn) maxn = fabs(num[i]);
                }
                for (i = 0; i < tens[k].n; ++i) {
                    double d = fabs(num[i] - tens[k].g[i]);
                    if (d > maxd) maxd = d;
                }
                checked += tens[k].n;
                if (maxd / (maxn + 1e-12) > worst) {
                    worst = maxd / (maxn + 1e-12);
                    sprintf(worst_at, "%s mode, %s loss, %s (max|grad| %.3g)", mode ? "dist" : "point", term[ti],
                            tens[k].name, maxn);
                }
                KT_CHECK(maxd <= bound * (maxn + 1e-12), "%s mode %s loss %s: max|analytic-numeric| %.3g, max|grad| %.3g",
                         mode ? "dist" : "point", term[ti], tens[k].name, maxd, maxn);
                free(num);
            }
        }
        free(dm.p);
        kdts_lstm_ws_free(&ws);
        kdts_lstm_free(&m);
    }
    printf("gradient check: %lu gradient elements (every weight, bias, input and initial state of a 2-layer "
           "LSTM with head; point and distribution mode; hard, soft, seq and combined loss) against central "
           "differences (eps 1e-6) of a double-precision model\n",
           (unsigned long)checked);
    printf("worst max|analytic - numeric| / max|numeric| per tensor: %.3g (%s); bound %.0e\n", worst, worst_at, bound);
    return kt_done();
}
