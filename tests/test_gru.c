/* test_gru.c - the GRU (kdts_gru_*): layout, init and config; every
   gradient against central finite differences of an independent
   double-precision GRU written here (point and distribution heads, two
   layers, vector tails, narrow / univariate / wide inputs, one sequence
   and a batch, dropout masks in forward and backward); forward, final
   state and gradients against PyTorch (tests/ref/gru_ref.bin from
   tools/gen_torch_ref_gru.py); the batch path against windows one at a
   time (row blocks, blocks of steps, odd batches); the fused
   single-window step against the batch; the step-by-step inference pieces
   against the window forward; with OpenMP, several threads against one;
   errors. The scalar build (make NO_SIMD=1) runs the same checks. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include "ref_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static float frand(kdts_rng *r) { return 2.0f * kdts_rng_uniform(r) - 1.0f; }

static kdts_gru_config gcfg(int F, int H, int L, int horizon, int dist, int bins, float dropout)
{
    kdts_gru_config c;
    memset(&c, 0, sizeof c);
    c.input = F;
    c.hidden = H;
    c.layers = L;
    c.horizon = horizon;
    c.mode = dist ? KDTS_MODE_DIST : KDTS_MODE_POINT;
    c.bins = dist ? bins : 0;
    c.dropout = dropout;
    return c;
}

/* the hard loss on every step (one place for the loss API) */
static kdts_result loss_hard(const kdts_loss_config *lc, const float *out, const float *y, int B, int T,
                             kdts_loss_value *lv, float *dout)
{
    return kdts_loss_eval(lc, 1.0f, 0.0f, 0.0f, out, y, NULL, NULL, B, T, lv, dout, NULL);
}

static float *fal(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }

/* ------------------------------------------- independent double GRU */
enum { DMAXL = 4 };
typedef struct dref {
    int F, H, L, O;
    size_t np, off[4 * DMAXL + 2]; /* per layer W_ih, W_hh, b_ih, b_hh; head W, b */
} dref;

/* The documented layout, computed here independently of kdts. */
static void dref_init(dref *d, int F, int H, int L, int O)
{
    size_t o = 0, HH = (size_t)H;
    int l;
    d->F = F;
    d->H = H;
    d->L = L;
    d->O = O;
    for (l = 0; l < L; ++l) {
        size_t I = l ? HH : (size_t)F;
        d->off[4 * l] = o;
        o += 3 * HH * I;
        d->off[4 * l + 1] = o;
        o += 3 * HH * HH;
        d->off[4 * l + 2] = o;
        o += 3 * HH;
        d->off[4 * l + 3] = o;
        o += 3 * HH;
    }
    d->off[4 * L] = o;
    o += (size_t)O * HH;
    d->off[4 * L + 1] = o;
    o += (size_t)O;
    d->np = o;
}

static double dsig(double v) { return 1.0 / (1.0 + exp(-v)); }

/* out (B,T,O) and hN (L,B,H) (may be NULL) of the double model from x
   (B,T,F) and h0 (L,B,H) (NULL: zeros); masks[l] (T,B,H), when masks is not
   NULL, scales layer l's outputs (dropout) */
static void dref_forward(const dref *d, const double *p, const double *x, const double *h0, float *const *masks, int B,
                         int T, double *out, double *hN)
{
    int F = d->F, H = d->H, L = d->L, O = d->O, b, t, l, j, k, W = F > H ? F : H;
    double *seq = (double *)malloc(sizeof(double) * B * T * W), *nxt = (double *)malloc(sizeof(double) * B * T * H);
    double *h = (double *)malloc(sizeof(double) * H), *hn = (double *)malloc(sizeof(double) * H);
    memcpy(seq, x, sizeof(double) * B * T * F);
    for (l = 0; l < L; ++l) {
        int I = l ? H : F;
        const double *wih = p + d->off[4 * l], *whh = p + d->off[4 * l + 1];
        const double *bih = p + d->off[4 * l + 2], *bhh = p + d->off[4 * l + 3];
        for (b = 0; b < B; ++b) {
            for (j = 0; j < H; ++j) h[j] = h0 ? h0[((size_t)l * B + b) * H + j] : 0.0;
            for (t = 0; t < T; ++t) {
                const double *xi = seq + ((size_t)b * T + t) * I;
                for (j = 0; j < H; ++j) {
                    double ir = bih[j], iz = bih[H + j], in = bih[2 * H + j];
                    double hr = bhh[j], hz = bhh[H + j], hh = bhh[2 * H + j], r, z, n;
                    for (k = 0; k < I; ++k) {
                        ir += wih[(size_t)j * I + k] * xi[k];
                        iz += wih[(size_t)(H + j) * I + k] * xi[k];
                        in += wih[(size_t)(2 * H + j) * I + k] * xi[k];
                    }
                    for (k = 0; k < H; ++k) {
                        hr += whh[(size_t)j * H + k] * h[k];
                        hz += whh[(size_t)(H + j) * H + k] * h[k];
                        hh += whh[(size_t)(2 * H + j) * H + k] * h[k];
                    }
                    r = dsig(ir + hr);
                    z = dsig(iz + hz);
                    n = tanh(in + r * hh);
                    hn[j] = (1.0 - z) * n + z * h[j];
                }
                memcpy(h, hn, sizeof(double) * H);
                for (j = 0; j < H; ++j)
                    nxt[((size_t)b * T + t) * H + j] = h[j] * (masks ? masks[l][((size_t)t * B + b) * H + j] : 1.0);
            }
            if (hN)
                for (j = 0; j < H; ++j) hN[((size_t)l * B + b) * H + j] = h[j];
        }
        memcpy(seq, nxt, sizeof(double) * B * T * H);
    }
    for (b = 0; b < B * T; ++b)
        for (j = 0; j < O; ++j) {
            double s = p[d->off[4 * L + 1] + j];
            for (k = 0; k < H; ++k) s += p[d->off[4 * L] + (size_t)j * H + k] * seq[(size_t)b * H + k];
            out[(size_t)b * O + j] = s;
        }
    free(seq);
    free(nxt);
    free(h);
    free(hn);
}

/* L = sum_i a_i out_i + 0.5 sum_i q_i out_i^2 */
typedef struct gc_loss {
    const dref *d;
    double *p, *x, *h0;
    float *const *masks;
    const double *a, *q;
    int B, T;
    double *out;
} gc_loss;

static double gc_eval(const gc_loss *g)
{
    size_t i, n = (size_t)g->B * g->T * g->d->O;
    double s = 0.0;
    dref_forward(g->d, g->p, g->x, g->h0, g->masks, g->B, g->T, g->out, NULL);
    for (i = 0; i < n; ++i) s += g->a[i] * g->out[i] + 0.5 * g->q[i] * g->out[i] * g->out[i];
    return s;
}

static double g_gc_worst;
static char g_gc_worst_at[200];
static size_t g_gc_checked;

/* Forward and backward of one configuration against the double model: the
   outputs and final state, then every gradient (every element when full,
   else about 30 spread over each tensor) against central differences
   (eps 1e-6) of the double loss. */
static void gc_run(const char *what, int B, int F, int H, int L, int horizon, int dist, int bins, float dropout,
                   int full)
{
    enum { T = 5 };
    kdts_gru m;
    kdts_gru_ws ws;
    kdts_gru_config cfg = gcfg(F, H, L, horizon, dist, bins, dropout);
    kdts_rng r;
    dref d;
    gc_loss g;
    float *x, *h0, *out, *dout, *dx, *dh0, *hN, *masks[DMAXL];
    double *dx_d, *dh0_d, *hN_d, *out_d, *a, *q, od = 0.0, om = 0.0;
    size_t i, nx, ns, no;
    int O, l, k, nt = 0, zeros = 0, scaled = 0, others = 0;
    struct { const char *name; double *dp; const float *g; size_t n; } ten[4 * DMAXL + 4];
    KT_CHECK(kdts_gru_init(&m, &cfg, 3, NULL) == KDTS_OK, "%s: init", what);
    KT_CHECK(kdts_gru_ws_init(&ws, &cfg, B, T, 1, NULL) == KDTS_OK, "%s: ws", what);
    O = m.outputs;
    dref_init(&d, F, H, L, O);
    KT_CHECK(d.np == m.nparams, "%s: %lu parameters, documented layout %lu", what, (unsigned long)m.nparams,
             (unsigned long)d.np);
    nx = (size_t)B * T * F;
    ns = (size_t)L * B * H;
    no = (size_t)B * T * O;
    x = fal(nx); h0 = fal(ns); out = fal(no); dout = fal(no); dx = fal(nx); dh0 = fal(ns); hN = fal(ns);
    g.p = (double *)malloc(sizeof(double) * d.np);
    g.x = (double *)malloc(sizeof(double) * nx);
    g.h0 = (double *)malloc(sizeof(double) * ns);
    out_d = (double *)malloc(sizeof(double) * no);
    hN_d = (double *)malloc(sizeof(double) * ns);
    a = (double *)malloc(sizeof(double) * no);
    q = (double *)malloc(sizeof(double) * no);
    dx_d = g.x;
    dh0_d = g.h0;
    kdts_rng_seed(&r, 40 + (unsigned)H + (unsigned)F);
    for (i = 0; i < m.nparams; ++i) m.params[i] = 0.7f * frand(&r);
    for (i = 0; i < nx; ++i) x[i] = frand(&r);
    for (i = 0; i < ns; ++i) h0[i] = 0.8f * frand(&r);
    for (i = 0; i < no; ++i) {
        a[i] = frand(&r);
        q[i] = 0.5 + kdts_rng_uniform(&r);
    }
    for (i = 0; i < m.nparams; ++i) g.p[i] = m.params[i];
    for (i = 0; i < nx; ++i) g.x[i] = x[i];
    for (i = 0; i < ns; ++i) g.h0[i] = h0[i];
    kdts_rng_seed(&r, 5);
    KT_CHECK(kdts_gru_forward(&m, &ws, x, B, T, h0, out, 1, &r, NULL) == KDTS_OK, "%s: forward", what);
    kdts_gru_final_state(&ws, hN);
    KT_CHECK(ws.part == 1, "%s: one row block", what);
    for (l = 0; l < L; ++l) masks[l] = ws.mask[l];
    if (dropout > 0.0f) {
        /* the masks must drop some units and scale the others by
           1/(1-p) (in float variables: no excess precision) */
        float keep = 1.0f - dropout, scale = 1.0f / keep;
        for (l = 0; l < L; ++l)
            for (i = 0; i < (size_t)T * B * H; ++i) {
                if (masks[l][i] == 0.0f) zeros++;
                else if (masks[l][i] == scale) scaled++;
                else others++;
            }
        KT_CHECK(ws.dropout_active && zeros > 0 && scaled > 0 && others == 0 &&
                     fabs((double)zeros / (zeros + scaled) - dropout) < 0.15,
                 "%s: dropout masks: %d dropped, %d scaled, %d other values", what, zeros, scaled, others);
    }
    g.d = &d;
    g.masks = dropout > 0.0f ? masks : NULL;
    g.a = a;
    g.q = q;
    g.B = B;
    g.T = T;
    g.out = out_d;
    dref_forward(&d, g.p, g.x, g.h0, g.masks, B, T, out_d, hN_d);
    for (i = 0; i < no; ++i) {
        if (fabs(out_d[i] - out[i]) > od) od = fabs(out_d[i] - out[i]);
        if (fabs(out_d[i]) > om) om = fabs(out_d[i]);
    }
    for (i = 0; i < ns; ++i)
        if (fabs(hN_d[i] - hN[i]) > od) od = fabs(hN_d[i] - hN[i]);
    KT_CHECK(od <= 2e-6 * (om > 1 ? om : 1), "%s: forward deviates from the double GRU by %g", what, od);
    for (i = 0; i < no; ++i) dout[i] = (float)(a[i] + q[i] * out[i]);
    kdts_gru_zero_grad(&m);
    KT_CHECK(kdts_gru_backward(&m, &ws, dout, dx, dh0, NULL) == KDTS_OK, "%s: backward", what);
    for (l = 0; l < L; ++l) {
        size_t I = l ? (size_t)H : (size_t)F;
        KT_CHECK(m.off_wih[l] == d.off[4 * l] && m.off_whh[l] == d.off[4 * l + 1] && m.off_bih[l] == d.off[4 * l + 2] &&
                     m.off_bhh[l] == d.off[4 * l + 3], "%s: layer %d offsets", what, l);
        ten[nt].name = "W_ih"; ten[nt].dp = g.p + d.off[4 * l]; ten[nt].g = m.grads + d.off[4 * l]; ten[nt++].n = 3 * H * I;
        ten[nt].name = "W_hh"; ten[nt].dp = g.p + d.off[4 * l + 1]; ten[nt].g = m.grads + d.off[4 * l + 1]; ten[nt++].n = 3 * (size_t)H * H;
        ten[nt].name = "b_ih"; ten[nt].dp = g.p + d.off[4 * l + 2]; ten[nt].g = m.grads + d.off[4 * l + 2]; ten[nt++].n = 3 * (size_t)H;
        ten[nt].name = "b_hh"; ten[nt].dp = g.p + d.off[4 * l + 3]; ten[nt].g = m.grads + d.off[4 * l + 3]; ten[nt++].n = 3 * (size_t)H;
    }
    KT_CHECK(m.off_head_w == d.off[4 * L] && m.off_head_b == d.off[4 * L + 1], "%s: head offsets", what);
    ten[nt].name = "head W"; ten[nt].dp = g.p + d.off[4 * L]; ten[nt].g = m.grads + d.off[4 * L]; ten[nt++].n = (size_t)O * H;
    ten[nt].name = "head b"; ten[nt].dp = g.p + d.off[4 * L + 1]; ten[nt].g = m.grads + d.off[4 * L + 1]; ten[nt++].n = (size_t)O;
    ten[nt].name = "x"; ten[nt].dp = dx_d; ten[nt].g = dx; ten[nt++].n = nx;
    ten[nt].name = "h0"; ten[nt].dp = dh0_d; ten[nt].g = dh0; ten[nt++].n = ns;
    for (k = 0; k < nt; ++k) {
        double maxn = 0.0, maxd = 0.0;
        /* every element, or about 30 per tensor (odd step: every gate); the
           analytic gradients come from the same forward/backward either way */
        size_t step = (full && !kt_small()) || ten[k].n <= 30 ? 1 : ten[k].n / 30 + (ten[k].n / 30 % 2 == 0);
        for (i = 0; i < ten[k].n; i += step) {
            double save = ten[k].dp[i], lp, lm, num, eps = 1e-6;
            ten[k].dp[i] = save + eps;
            lp = gc_eval(&g);
            ten[k].dp[i] = save - eps;
            lm = gc_eval(&g);
            ten[k].dp[i] = save;
            num = (lp - lm) / (2 * eps);
            if (fabs(num) > maxn) maxn = fabs(num);
            if (fabs(num - ten[k].g[i]) > maxd) maxd = fabs(num - ten[k].g[i]);
            g_gc_checked++;
        }
        if (maxd / (maxn + 1e-12) > g_gc_worst) {
            g_gc_worst = maxd / (maxn + 1e-12);
            sprintf(g_gc_worst_at, "%s, %s (max|grad| %.3g)", what, ten[k].name, maxn);
        }
        KT_CHECK(maxn > 0.0 && maxd <= 1e-4 * maxn, "%s %s: max|analytic-numeric| %.3g, max|numeric| %.3g", what,
                 ten[k].name, maxd, maxn);
    }
    free(x); free(h0); free(out); free(dout); free(dx); free(dh0); free(hN);
    free(g.p); free(g.x); free(g.h0); free(out_d); free(hN_d); free(a); free(q);
    kdts_gru_ws_free(&ws);
    kdts_gru_free(&m);
}

static void test_gradcheck(void)
{
    if (kt_small()) printf("KDTS_TEST_SMALL: gradient check about 30 elements per tensor in every case\n");
    /* batch of 3: layer 0 through the GEMM (9 inputs), layer 1 narrow */
    gc_run("point F9 H5", 3, 9, 5, 2, 3, 0, 0, 0.0f, 1);
    /* univariate layer 0, GEMM layer 1 (9 > 8 inputs), distribution head */
    gc_run("dist F1 H9", 3, 1, 9, 2, 2, 1, 4, 0.0f, 1);
    /* vector chunks with a tail (20 = 16 + 4, or 8 + 8 + 4) */
    gc_run("point F1 H20", 3, 1, 20, 2, 3, 0, 0, 0.0f, 0);
    gc_run("dist F3 H20 dropout", 3, 3, 20, 2, 2, 1, 5, 0.4f, 0);
    /* one sequence: the fused step (narrow input) with dropout, and the
       input product by a GEMM (12 inputs) with a tail of one unit */
    gc_run("B1 point F3 H20 dropout", 1, 3, 20, 2, 3, 0, 0, 0.4f, 0);
    gc_run("B1 dist F12 H17", 1, 12, 17, 2, 2, 1, 3, 0.0f, 0);
    printf("gradient check: %lu gradient elements (weights, biases, head, input, initial state; 2 layers; point and "
           "distribution heads; batch and one sequence; dropout) against central differences of a double GRU\n",
           (unsigned long)g_gc_checked);
    printf("worst max|analytic - numeric| / max|numeric| per tensor: %.3g (%s); bound 1e-4\n", g_gc_worst,
           g_gc_worst_at);
}

/* ------------------------------------------------------ PyTorch vectors */
static double cmp_ref(const char *what, const float *got, const ref_tensor *want, size_t n, double tol, double *abs_err)
{
    size_t i;
    double maxd = 0.0, scale = 0.0;
    if (!want || want->n != n) {
        KT_CHECK(0, "reference tensor %s missing or wrong size", what);
        return 1e30;
    }
    for (i = 0; i < n; ++i) {
        double d = fabs((double)got[i] - want->data[i]);
        if (!(d == d)) d = 1e30;
        if (d > maxd) maxd = d;
        if (fabs(want->data[i]) > scale) scale = fabs(want->data[i]);
    }
    printf("  %-18s n=%-4lu first %+.6f vs %+.6f  max|diff| %.2e  max|ref| %.2e  rel %.2e\n", what, (unsigned long)n,
           (double)got[0], want->data[0], maxd, scale, maxd / (scale > 0 ? scale : 1));
    KT_CHECK(maxd <= tol * (scale > 0 ? scale : 1), "%s deviates from PyTorch: %g (relative %g > %g)", what, maxd,
             maxd / scale, tol);
    if (abs_err && maxd > *abs_err) *abs_err = maxd;
    return maxd / (scale > 0 ? scale : 1);
}

static void test_torch_ref(void)
{
    ref_file rf = ref_load("tests/ref/gru_ref.bin");
    const ref_tensor *sz, *hyp;
    double worst = 0.0, worst_abs = 0.0, e;
    const double tol = 1e-5; /* relative to each tensor's largest magnitude */
    int mode;
    KT_CHECK(rf.ok, "cannot read tests/ref/gru_ref.bin: %s", rf.ok ? "" : rf.err);
    if (!rf.ok) return;
    sz = ref_get(&rf, "sizes");
    hyp = ref_get(&rf, "hyper");
    KT_CHECK(sz && sz->n == 7 && hyp && hyp->n == 3, "sizes / hyper");
    if (!sz || sz->n != 7 || !hyp || hyp->n != 3) {
        ref_free(&rf);
        return;
    }
    printf("PyTorch reference (tests/ref/gru_ref.bin, nn.GRU + nn.Linear):\n");
    for (mode = 0; mode < 2; ++mode) {
        const char *pf = mode ? "ds_" : "pt_";
        char nm[64];
        kdts_gru m;
        kdts_gru_ws ws;
        kdts_gru_config cfg;
        kdts_loss_config lc;
        kdts_loss_value lv;
        const ref_tensor *t;
        int B = (int)sz->data[0], T = (int)sz->data[1], F = (int)sz->data[2], H = (int)sz->data[3];
        int L = (int)sz->data[4], h = (int)sz->data[5], K = (int)sz->data[6], O, b, ll;
        size_t i, nx = (size_t)B * T * F, ns = (size_t)L * B * H, no;
        float *x, *h0, *y, *out, *dout, *rdout, *dx, *dh0, *hN, *o1, *h1, *g1, *dx1, *dh1, *all, loss1;
        cfg = gcfg(F, H, L, h, mode, K, 0.0f);
        cfg.bin_lo = (float)hyp->data[0];
        cfg.bin_hi = (float)hyp->data[1];
        kdts_gru_init(&m, &cfg, 1, NULL);
        kdts_gru_ws_init(&ws, &cfg, B, T, 1, NULL);
        O = m.outputs;
        no = (size_t)B * T * O;
        sprintf(nm, "%sparams", pf);
        t = ref_get(&rf, nm);
        KT_CHECK(t && t->n == m.nparams, "%s has %lu values, model %lu", nm, t ? (unsigned long)t->n : 0UL,
                 (unsigned long)m.nparams);
        if (!t || t->n != m.nparams) {
            kdts_gru_free(&m);
            kdts_gru_ws_free(&ws);
            continue;
        }
        for (i = 0; i < m.nparams; ++i) m.params[i] = (float)t->data[i];
#define LOADF(dst, name, count)                                         \
    do {                                                                \
        const ref_tensor *tt_ = ref_get(&rf, name);                     \
        dst = fal(count);                                               \
        if (tt_ && tt_->n == (count))                                   \
            for (i = 0; i < (count); ++i) dst[i] = (float)tt_->data[i]; \
        else                                                            \
            KT_CHECK(0, "reference tensor %s missing", name);           \
    } while (0)
        LOADF(x, "x", nx);
        LOADF(h0, "h0", ns);
        LOADF(y, "y", (size_t)B * T * h);
        sprintf(nm, "%sdout", pf);
        LOADF(rdout, nm, no);
#undef LOADF
        out = fal(no); dout = fal(no); dx = fal(nx); dh0 = fal(ns); hN = fal(ns);
        o1 = fal((size_t)T * O); h1 = fal((size_t)L * H); g1 = fal(m.nparams); dx1 = fal(nx); dh1 = fal(ns);
        all = fal(no);
        printf(" %s mode:\n", mode ? "distribution" : "point");
        kdts_gru_forward(&m, &ws, x, B, T, h0, out, 1, NULL, NULL);
        kdts_gru_final_state(&ws, hN);
        sprintf(nm, "%sout", pf);
        e = cmp_ref(nm, out, ref_get(&rf, nm), no, tol, &worst_abs); if (e > worst) worst = e;
        sprintf(nm, "%shN", pf);
        e = cmp_ref(nm, hN, ref_get(&rf, nm), ns, tol, &worst_abs); if (e > worst) worst = e;
        /* kdts's hard loss is the reference's loss: value and dL/dout */
        memset(&lc, 0, sizeof lc);
        lc.mode = cfg.mode;
        lc.horizon = h;
        lc.bins = mode ? K : 0;
        lc.bin_lo = cfg.bin_lo;
        lc.bin_hi = cfg.bin_hi;
        lc.temperature = 1.0f;
        lc.label_sigma = (float)hyp->data[2];
        loss_hard(&lc, out, y, B, T, &lv, dout);
        loss1 = (float)lv.total;
        sprintf(nm, "%sloss", pf);
        e = cmp_ref(nm, &loss1, ref_get(&rf, nm), 1, tol, NULL); if (e > worst) worst = e;
        sprintf(nm, "%sdout", pf);
        e = cmp_ref(nm, dout, ref_get(&rf, nm), no, tol, NULL); if (e > worst) worst = e;
        /* the backward of the reference's dout */
        kdts_gru_zero_grad(&m);
        kdts_gru_backward(&m, &ws, rdout, dx, dh0, NULL);
        sprintf(nm, "%sdparams", pf);
        e = cmp_ref(nm, m.grads, ref_get(&rf, nm), m.nparams, tol, &worst_abs); if (e > worst) worst = e;
        sprintf(nm, "%sdx", pf);
        e = cmp_ref(nm, dx, ref_get(&rf, nm), nx, tol, &worst_abs); if (e > worst) worst = e;
        sprintf(nm, "%sdh0", pf);
        e = cmp_ref(nm, dh0, ref_get(&rf, nm), ns, tol, &worst_abs); if (e > worst) worst = e;
        /* one window at a time (the single-sequence path), forward and
           backward, against the same reference */
        memset(g1, 0, sizeof(float) * m.nparams);
        for (b = 0; b < B; ++b) {
            for (ll = 0; ll < L; ++ll) memcpy(h1 + ll * H, h0 + ((size_t)ll * B + b) * H, sizeof(float) * H);
            kdts_gru_forward(&m, &ws, x + (size_t)b * T * F, 1, T, h1, o1, 1, NULL, NULL);
            memcpy(all + (size_t)b * T * O, o1, sizeof(float) * T * O);
            kdts_gru_final_state(&ws, h1);
            for (ll = 0; ll < L; ++ll) memcpy(hN + ((size_t)ll * B + b) * H, h1 + ll * H, sizeof(float) * H);
            kdts_gru_zero_grad(&m);
            kdts_gru_backward(&m, &ws, rdout + (size_t)b * T * O, dx1 + (size_t)b * T * F, h1, NULL);
            for (ll = 0; ll < L; ++ll) memcpy(dh1 + ((size_t)ll * B + b) * H, h1 + ll * H, sizeof(float) * H);
            for (i = 0; i < m.nparams; ++i) g1[i] += m.grads[i];
        }
        printf("  (one window at a time)\n");
        sprintf(nm, "%sout", pf);
        e = cmp_ref(nm, all, ref_get(&rf, nm), no, tol, &worst_abs); if (e > worst) worst = e;
        sprintf(nm, "%shN", pf);
        e = cmp_ref(nm, hN, ref_get(&rf, nm), ns, tol, &worst_abs); if (e > worst) worst = e;
        sprintf(nm, "%sdparams", pf);
        e = cmp_ref(nm, g1, ref_get(&rf, nm), m.nparams, tol, &worst_abs); if (e > worst) worst = e;
        sprintf(nm, "%sdx", pf);
        e = cmp_ref(nm, dx1, ref_get(&rf, nm), nx, tol, &worst_abs); if (e > worst) worst = e;
        sprintf(nm, "%sdh0", pf);
        e = cmp_ref(nm, dh1, ref_get(&rf, nm), ns, tol, &worst_abs); if (e > worst) worst = e;
        free(x); free(h0); free(y); free(out); free(dout); free(rdout); free(dx); free(dh0); free(hN);
        free(o1); free(h1); free(g1); free(dx1); free(dh1); free(all);
        kdts_gru_ws_free(&ws);
        kdts_gru_free(&m);
    }
    printf("largest deviation from PyTorch: %.3g relative to each tensor's max (bound %.0e), %.3g absolute\n", worst,
           tol, worst_abs);
    ref_free(&rf);
}

/* ----------------------------------------- batch vs. one window at a time */
#define KT_CMP(ref, got, mx, md)                   \
    do {                                           \
        double d_ = fabs((double)(ref) - (got));   \
        if (fabs(ref) > (mx)) (mx) = fabs(ref);    \
        if (d_ > (md)) (md) = d_;                  \
    } while (0)

/* The batch forward and backward against one window at a time (the B = 1
   path), summed: several blocks of steps with a partial last one,
   univariate and wide inputs, hidden sizes with and without a vector
   tail, given initial states, batches of 48 and 17 (with OpenMP split
   into row blocks, evenly and not); outputs (out and ws->out), final
   states, the forecast, parameter gradients, dx and dh0. */
static void test_batch_vs_windows(void)
{
    /* (B, F, H): each batch with each input width and each hidden size */
    static const int shapes[][3] = {{48, 1, 40}, {48, 9, 128}, {17, 9, 40}, {17, 1, 128}};
    size_t si;
    double worst = 0.0, worst_x = 0.0, worst_f = 0.0;
    int parts = 0;
    for (si = 0; si < sizeof shapes / sizeof shapes[0]; ++si) {
        kdts_gru m;
        kdts_gru_ws wb, w1;
        kdts_gru_config cfg;
        kdts_rng r;
        enum { T = 11, O = 5, L = 2 };
        int B = shapes[si][0], F = shapes[si][1], H = shapes[si][2], b, i, l, t;
        size_t np;
        float *x, *h0, *dout, *dx, *dh0, *gb, *gs, *dx1, *dh1, *h1, *out, *wsout, *hN, *fc, *wsfc, *out1, *fc1;
        double gmax = 0.0, gd = 0.0, xmax = 0.0, xd = 0.0, fmax = 0.0, fd = 0.0;
        cfg = gcfg(F, H, L, O, 0, 0, 0.0f);
        kdts_gru_init(&m, &cfg, 31 + (unsigned)si, NULL);
        kdts_gru_ws_init(&wb, &cfg, B, T, 1, NULL);
        kdts_gru_ws_init(&w1, &cfg, 1, T, 1, NULL);
        np = m.nparams;
        x = fal((size_t)B * T * F); dx = fal((size_t)B * T * F); dx1 = fal((size_t)T * F);
        dout = fal((size_t)B * T * O); h0 = fal((size_t)L * B * H); dh0 = fal((size_t)L * B * H);
        hN = fal((size_t)L * B * H); h1 = fal((size_t)L * H * 2); dh1 = fal((size_t)L * H);
        out = fal((size_t)B * T * O); wsout = fal((size_t)B * T * O); out1 = fal((size_t)T * O);
        fc = fal((size_t)B * O); wsfc = fal((size_t)B * O); fc1 = fal(O);
        gb = fal(np); gs = fal(np);
        kdts_rng_seed(&r, 77);
        for (i = 0; i < B * T * F; ++i) x[i] = frand(&r);
        for (i = 0; i < B * T * O; ++i) dout[i] = frand(&r);
        for (i = 0; i < L * B * H; ++i) h0[i] = 0.5f * frand(&r);
        kdts_gru_forecast(&m, &wb, x, B, T, h0, fc, NULL);
        memcpy(wsfc, wb.out, sizeof(float) * B * O);
        kdts_gru_forward(&m, &wb, x, B, T, h0, out, 1, NULL, NULL);
        if (wb.part > parts) parts = wb.part;
        memcpy(wsout, wb.out, sizeof(float) * B * T * O);
        kdts_gru_final_state(&wb, hN);
        kdts_gru_zero_grad(&m);
        kdts_gru_backward(&m, &wb, dout, dx, dh0, NULL);
        memcpy(gb, m.grads, sizeof(float) * np);
        for (b = 0; b < B; ++b) {
            for (l = 0; l < L; ++l) memcpy(h1 + l * H, h0 + ((size_t)l * B + b) * H, sizeof(float) * H);
            kdts_gru_forecast(&m, &w1, x + (size_t)b * T * F, 1, T, h1, fc1, NULL);
            kdts_gru_forward(&m, &w1, x + (size_t)b * T * F, 1, T, h1, out1, 1, NULL, NULL);
            kdts_gru_final_state(&w1, h1 + L * H);
            for (i = 0; i < O; ++i) {
                KT_CMP(fc1[i], fc[(size_t)b * O + i], fmax, fd);
                KT_CMP(fc1[i], wsfc[(size_t)b * O + i], fmax, fd);
            }
            for (t = 0; t < T; ++t)
                for (i = 0; i < O; ++i) {
                    KT_CMP(out1[t * O + i], out[((size_t)b * T + t) * O + i], fmax, fd);
                    KT_CMP(out1[t * O + i], wsout[((size_t)t * B + b) * O + i], fmax, fd);
                }
            for (l = 0; l < L; ++l)
                for (i = 0; i < H; ++i) KT_CMP(h1[(L + l) * H + i], hN[((size_t)l * B + b) * H + i], fmax, fd);
            kdts_gru_zero_grad(&m);
            kdts_gru_backward(&m, &w1, dout + (size_t)b * T * O, dx1, dh1, NULL);
            for (i = 0; i < (int)np; ++i) gs[i] += m.grads[i];
            for (i = 0; i < T * F; ++i) KT_CMP(dx1[i], dx[(size_t)b * T * F + i], xmax, xd);
            for (l = 0; l < L; ++l)
                for (i = 0; i < H; ++i) KT_CMP(dh1[l * H + i], dh0[((size_t)l * B + b) * H + i], xmax, xd);
        }
        for (i = 0; i < (int)np; ++i) KT_CMP(gs[i], gb[i], gmax, gd);
        if (gd / gmax > worst) worst = gd / gmax;
        if (xd / xmax > worst_x) worst_x = xd / xmax;
        if (fd / fmax > worst_f) worst_f = fd / fmax;
        free(x); free(dx); free(dx1); free(dout); free(h0); free(dh0); free(hN); free(h1); free(dh1);
        free(out); free(wsout); free(out1); free(fc); free(wsfc); free(fc1); free(gb); free(gs);
        kdts_gru_ws_free(&wb);
        kdts_gru_ws_free(&w1);
        kdts_gru_free(&m);
    }
    printf("batch (B 48 and 17, T 11, hidden 40 and 128, input 1 and 9; up to %d row block%s) vs. windows one at a "
           "time: outputs/states/forecast %.2g, parameter gradients %.2g, dx/dh0 %.2g (max relative diff)\n",
           parts, parts == 1 ? "" : "s", worst_f, worst, worst_x);
    KT_CHECK(kdts__bwd_block(48, 40, 11) < 11 && kdts__bwd_block(48, 128, 11) < 11 &&
                 11 % kdts__bwd_block(48, 40, 11) != 0 && 11 % kdts__bwd_block(48, 128, 11) != 0,
             "the test shapes run the backward in several blocks with a partial last one");
#ifdef _OPENMP
    if (omp_get_max_threads() > 1)
        KT_CHECK(parts > 1, "with %d OpenMP threads the batch is split into row blocks (got %d)",
                 omp_get_max_threads(), parts);
#endif
    KT_CHECK(worst_f < 1e-5, "batch outputs/states/forecast deviate by %g (relative)", worst_f);
    KT_CHECK(worst < 1e-5, "batch parameter gradients deviate by %g (relative)", worst);
    KT_CHECK(worst_x < 1e-5, "batch dx/dh0 deviate by %g (relative)", worst_x);
}

/* The single-window path (B = 1: the fused step) against rows of a batch
   forward, for hidden sizes that fill whole vectors and sizes with a tail,
   inputs fused into the step (3) and by a GEMM (9); kdts_gru_forecast
   against the forward's last step; B = 1 training against a batch of two
   copies of the window with half the output gradient each. */
static void test_single_window(void)
{
    static const int hs[] = {3, 13, 16, 40, 64}, fs[] = {3, 9};
    size_t hi, fi;
    double worst = 0.0, worst_fc = 0.0, worst_g = 0.0;
    for (fi = 0; fi < sizeof fs / sizeof fs[0]; ++fi)
        for (hi = 0; hi < sizeof hs / sizeof hs[0]; ++hi) {
            kdts_gru m;
            kdts_gru_ws ws, wt;
            kdts_gru_config cfg;
            kdts_rng r;
            enum { B = 4, T = 9, O = 5, FMAX = 9 };
            int F = fs[fi], b, i;
            float x[B * T * FMAX], x2[2 * T * FMAX], *ob, *o1, fc[B * O], *g1, *d1, *d2;
            double gmax = 0.0, gd = 0.0;
            size_t np;
            cfg = gcfg(F, hs[hi], 2, O, 0, 0, 0.0f);
            kdts_gru_init(&m, &cfg, 100 + (unsigned)hi, NULL);
            kdts_gru_ws_init(&ws, &cfg, B, T, 0, NULL);
            kdts_gru_ws_init(&wt, &cfg, 2, T, 1, NULL);
            kdts_rng_seed(&r, 9);
            for (i = 0; i < B * T * F; ++i) x[i] = frand(&r);
            ob = fal((size_t)B * T * O);
            o1 = fal((size_t)T * O);
            kdts_gru_forward(&m, &ws, x, B, T, NULL, ob, 0, NULL, NULL);
            for (b = 0; b < B; ++b) {
                kdts_gru_forward(&m, &ws, x + b * T * F, 1, T, NULL, o1, 0, NULL, NULL);
                for (i = 0; i < T * O; ++i)
                    if (fabs((double)o1[i] - ob[b * T * O + i]) > worst) worst = fabs((double)o1[i] - ob[b * T * O + i]);
                kdts_gru_forecast(&m, &ws, x + b * T * F, 1, T, NULL, fc, NULL);
                for (i = 0; i < O; ++i)
                    if (fabs((double)fc[i] - ob[(b * T + T - 1) * O + i]) > worst_fc)
                        worst_fc = fabs((double)fc[i] - ob[(b * T + T - 1) * O + i]);
            }
            kdts_gru_forecast(&m, &ws, x, B, T, NULL, fc, NULL);
            for (b = 0; b < B; ++b)
                for (i = 0; i < O; ++i)
                    if (fabs((double)fc[b * O + i] - ob[(b * T + T - 1) * O + i]) > worst_fc)
                        worst_fc = fabs((double)fc[b * O + i] - ob[(b * T + T - 1) * O + i]);
            np = m.nparams;
            g1 = fal(np);
            d1 = fal((size_t)T * O);
            d2 = fal((size_t)2 * T * O);
            for (i = 0; i < T * O; ++i) d1[i] = frand(&r);
            for (i = 0; i < T * O; ++i) d2[i] = d2[T * O + i] = 0.5f * d1[i];
            memcpy(x2, x, sizeof(float) * T * F);
            memcpy(x2 + T * F, x, sizeof(float) * T * F);
            kdts_gru_forward(&m, &wt, x, 1, T, NULL, o1, 1, NULL, NULL);
            kdts_gru_zero_grad(&m);
            kdts_gru_backward(&m, &wt, d1, NULL, NULL, NULL);
            memcpy(g1, m.grads, sizeof(float) * np);
            kdts_gru_forward(&m, &wt, x2, 2, T, NULL, ob, 1, NULL, NULL);
            kdts_gru_zero_grad(&m);
            kdts_gru_backward(&m, &wt, d2, NULL, NULL, NULL);
            for (i = 0; i < (int)np; ++i) KT_CMP(m.grads[i], g1[i], gmax, gd);
            if (gd / gmax > worst_g) worst_g = gd / gmax;
            free(g1); free(d1); free(d2); free(ob); free(o1);
            kdts_gru_ws_free(&ws);
            kdts_gru_ws_free(&wt);
            kdts_gru_free(&m);
        }
    printf("single-window forward vs. batch forward (hidden 3..64, input 3 and 9): max diff %.2g\n", worst);
    KT_CHECK(worst < 1e-5, "single-window path deviates by %g", worst);
    printf("kdts_gru_forecast vs. last step of the forward (B = 1 and 4): max diff %.2g\n", worst_fc);
    KT_CHECK(worst_fc < 1e-5, "forecast deviates from the forward's last step by %g", worst_fc);
    printf("B = 1 training gradients vs. a batch of two copies: max relative diff %.2g\n", worst_g);
    KT_CHECK(worst_g < 1e-5, "B = 1 training gradients deviate by %g (relative)", worst_g);
}

/* The inference pieces (packed weights, one step over all layers from a
   state, the head) against kdts_gru_forecast and the final state of the
   window forward: a window from the zero state, then a stream continued
   for more steps against the forward over the longer window; the chunk
   order (rev) changes nothing. */
static void test_infer_pieces(void)
{
    static const int conf[][5] = {{1, 16, 1, 24, 0}, {3, 20, 2, 4, 1}, {9, 7, 3, 2, 0}, {1, 64, 2, 24, 0}};
    size_t ci;
    double worst = 0.0, worst_s = 0.0;
    int revsame = 1;
    for (ci = 0; ci < sizeof conf / sizeof conf[0]; ++ci) {
        enum { T = 12, MORE = 7 };
        int F = conf[ci][0], H = conf[ci][1], L = conf[ci][2], hz = conf[ci][3], dist = conf[ci][4], O, t, i;
        kdts_gru m;
        kdts_gru_ws ws;
        kdts_gru_config cfg = gcfg(F, H, L, hz, dist, 6, 0.0f);
        kdts_rng r;
        float *x, *wt, *hs, *hs2, *tmp, *o, *fc, *hN;
        size_t nw;
        kdts_gru_init(&m, &cfg, 50 + (unsigned)ci, NULL);
        kdts_gru_ws_init(&ws, &cfg, 1, T + MORE, 0, NULL);
        O = m.outputs;
        nw = kdts__gru_infer_floats(L, H, F, O);
        KT_CHECK(nw == kdts__gru_infer_head_off(L, H, F) + (size_t)H * O, "packed size");
        x = fal((size_t)(T + MORE) * F);
        wt = fal(nw);
        hs = fal((size_t)L * H);
        hs2 = fal((size_t)L * H);
        tmp = fal((size_t)H);
        o = fal((size_t)O);
        fc = fal((size_t)O);
        hN = fal((size_t)L * H);
        kdts_rng_seed(&r, 3);
        for (i = 0; i < (T + MORE) * F; ++i) x[i] = frand(&r);
        kdts__gru_infer_pack(wt, m.params, L, H, F, O);
        for (t = 0; t < T + MORE; ++t) {
            kdts__gru_infer_step(wt, L, H, F, x + (size_t)t * F, hs, tmp, t & 1);
            kdts__gru_infer_step(wt, L, H, F, x + (size_t)t * F, hs2, tmp, 0);
            if (memcmp(hs, hs2, sizeof(float) * L * H) != 0) revsame = 0;
            if (t == T - 1 || t == T + MORE - 1) {
                double *w = t == T - 1 ? &worst : &worst_s;
                kdts__gru_infer_head(wt, m.params + m.off_head_b, L, H, F, O, hs + (size_t)(L - 1) * H, o);
                kdts_gru_forecast(&m, &ws, x, 1, t + 1, NULL, fc, NULL);
                kdts_gru_final_state(&ws, hN);
                for (i = 0; i < O; ++i)
                    if (fabs((double)o[i] - fc[i]) > *w) *w = fabs((double)o[i] - fc[i]);
                for (i = 0; i < L * H; ++i)
                    if (fabs((double)hs[i] - hN[i]) > *w) *w = fabs((double)hs[i] - hN[i]);
            }
        }
        free(x); free(wt); free(hs); free(hs2); free(tmp); free(o); free(fc); free(hN);
        kdts_gru_ws_free(&ws);
        kdts_gru_free(&m);
    }
    printf("inference pieces (pack, step over all layers, head) vs. kdts_gru_forecast and its final state: window %.2g, "
           "stream continued %d steps %.2g (max diff)\n", worst, 7, worst_s);
    KT_CHECK(worst < 1e-5, "inference step deviates from the window forecast by %g", worst);
    KT_CHECK(worst_s < 1e-5, "streamed inference deviates from the longer window by %g", worst_s);
    KT_CHECK(revsame, "the chunk order of the inference step changes the state");
}

#ifdef _OPENMP
/* With OpenMP: a training step with dropout on all threads against one
   thread on the same workspace, and the forward on all threads with the
   backward on one: the same dropout masks, so the same outputs and dx
   (each row's arithmetic does not depend on the blocks), the parameter
   gradients equal up to the order of the sums. */
static void test_threads(void)
{
    kdts_gru m;
    kdts_gru_ws ws;
    kdts_gru_config cfg;
    kdts_rng r;
    enum { B = 40, T = 9, F = 3, H = 24, O = 4, L = 3 };
    int nt = omp_get_max_threads(), run, i, parts[3];
    size_t np;
    float *x, *dout, *out[3], *dx[3], *dh[3], *g[3];
    double gmax = 0.0, gd = 0.0, od = 0.0;
    if (nt < 2) {
        printf("threads: one OpenMP thread, not run\n");
        return;
    }
    cfg = gcfg(F, H, L, O, 0, 0, 0.3f);
    kdts_gru_init(&m, &cfg, 5, NULL);
    kdts_gru_ws_init(&ws, &cfg, B, T, 1, NULL);
    np = m.nparams;
    x = fal((size_t)B * T * F);
    dout = fal((size_t)B * T * O);
    kdts_rng_seed(&r, 8);
    for (i = 0; i < B * T * F; ++i) x[i] = frand(&r);
    for (i = 0; i < B * T * O; ++i) dout[i] = frand(&r);
    for (run = 0; run < 3; ++run) {
        out[run] = fal((size_t)B * T * O);
        dx[run] = fal((size_t)B * T * F);
        dh[run] = fal((size_t)L * B * H);
        g[run] = fal(np);
        omp_set_num_threads(run == 1 ? 1 : nt);
        kdts_rng_seed(&r, 9);
        kdts_gru_forward(&m, &ws, x, B, T, NULL, out[run], 1, &r, NULL);
        parts[run] = ws.part;
        if (run == 2) omp_set_num_threads(1);
        kdts_gru_zero_grad(&m);
        kdts_gru_backward(&m, &ws, dout, dx[run], dh[run], NULL);
        memcpy(g[run], m.grads, sizeof(float) * np);
    }
    omp_set_num_threads(nt);
    for (run = 0; run < 3; run += 2) {
        for (i = 0; i < B * T * O; ++i)
            if (fabs((double)out[run][i] - out[1][i]) > od) od = fabs((double)out[run][i] - out[1][i]);
        for (i = 0; i < B * T * F; ++i)
            if (fabs((double)dx[run][i] - dx[1][i]) > od) od = fabs((double)dx[run][i] - dx[1][i]);
        for (i = 0; i < L * B * H; ++i)
            if (fabs((double)dh[run][i] - dh[1][i]) > od) od = fabs((double)dh[run][i] - dh[1][i]);
        for (i = 0; i < (int)np; ++i) KT_CMP(g[1][i], g[run][i], gmax, gd);
    }
    printf("threads with dropout (B %d, %d layers, %d threads): %d row blocks vs 1, and the backward of %d on one "
           "thread: outputs, dx and dh0 differ by %.2g, gradients %.2g (relative)\n", B, L, nt, parts[0], parts[2], od,
           gd / gmax);
    KT_CHECK(parts[0] > 1 && parts[1] == 1 && parts[2] == parts[0], "row blocks with %d threads, with 1, and with %d: "
             "%d, %d and %d", nt, nt, parts[0], parts[1], parts[2]);
    KT_CHECK(od == 0.0, "outputs, dx and dh0 on %d row blocks equal one block's (max diff %g)", parts[0], od);
    KT_CHECK(gd / gmax < 1e-5, "gradients on %d row blocks within 1e-5 of one block's (%g)", parts[0], gd / gmax);
    for (run = 0; run < 3; ++run) {
        free(out[run]);
        free(dx[run]);
        free(dh[run]);
        free(g[run]);
    }
    free(x);
    free(dout);
    kdts_gru_ws_free(&ws);
    kdts_gru_free(&m);
}
#endif

/* ------------------------------------------- layout, init, config, flops */
static void test_layout(void)
{
    kdts_gru_config c = gcfg(0, 8, 0, 0, 0, 0, 0.0f), d;
    kdts_lstm_config lc;
    kdts_gru m, m2;
    kdts_error err;
    size_t i;
    int bad = 0, same = 1, nonzero = 0;
    float k;
    /* defaults as for the LSTM */
    KT_CHECK(kdts_gru_config_check(&c, NULL) == KDTS_OK && c.input == 1 && c.layers == 1 && c.horizon == 1,
             "point defaults");
    d = gcfg(2, 8, 2, 3, 1, 0, 0.0f);
    KT_CHECK(kdts_gru_config_check(&d, NULL) == KDTS_OK && d.bins == 32 && d.bin_lo == -4.0f && d.bin_hi == 4.0f,
             "dist defaults");
    memset(&lc, 0, sizeof lc);
    lc.input = 2; lc.hidden = 8; lc.layers = 2; lc.horizon = 3; lc.mode = KDTS_MODE_DIST;
    kdts_lstm_config_check(&lc, NULL);
    KT_CHECK(lc.bins == d.bins && lc.bin_lo == d.bin_lo && lc.bin_hi == d.bin_hi, "same defaults as the LSTM");
    /* parameter count: layer l 3H (I_l + H + 2), head O (H + 1) */
    d = gcfg(7, 10, 3, 4, 1, 5, 0.0f);
    KT_CHECK(kdts_gru_param_count(&d) == (size_t)(30 * (7 + 12) + 2 * 30 * (10 + 12) + 20 * 11),
             "param count %lu", (unsigned long)kdts_gru_param_count(&d));
    d = gcfg(1, 0, 1, 1, 0, 0, 0.0f);
    KT_CHECK(kdts_gru_param_count(&d) == 0, "hidden 0 counts 0");
    /* flops: 1x16, input 1, horizon 24, T 96 by hand: a step of the layer
       is 2*3*16*17 + 6*16 (biases) + 9*16 (cell) = 1872, the head
       2*16*24 + 24 = 792 */
    d = gcfg(1, 16, 1, 24, 0, 0, 0.0f);
    KT_CHECK(kdts_gru_flops(&d, 96) == (1872.0 + 792.0) * 96, "kdts_gru_flops %g", kdts_gru_flops(&d, 96));
    KT_CHECK(kdts_gru_forecast_flops(&d, 96) == 1872.0 * 96 + 792.0, "kdts_gru_forecast_flops %g",
             kdts_gru_forecast_flops(&d, 96));
    /* init: PyTorch's uniform +-1/sqrt(H), deterministic, grads zero */
    d = gcfg(3, 25, 2, 4, 0, 0, 0.0f);
    KT_CHECK(kdts_gru_init(&m, &d, 42, NULL) == KDTS_OK && kdts_gru_init(&m2, &d, 42, NULL) == KDTS_OK, "init");
    k = 1.0f / sqrtf(25.0f);
    for (i = 0; i < m.nparams; ++i) {
        if (!(fabsf(m.params[i]) <= k) || m.grads[i] != 0.0f) bad = 1;
        if (m.params[i] != m2.params[i]) same = 0;
        if (fabsf(m.params[i]) > 0.5f * k) nonzero++;
    }
    KT_CHECK(!bad && same && nonzero > (int)m.nparams / 3, "init range, determinism (%d of %lu beyond k/2)", nonzero,
             (unsigned long)m.nparams);
    kdts_gru_reset(&m2, 43);
    KT_CHECK(memcmp(m.params, m2.params, m.nparams * sizeof(float)) != 0, "another seed, other weights");
    kdts_gru_reset(&m2, 42);
    KT_CHECK(memcmp(m.params, m2.params, m.nparams * sizeof(float)) == 0, "reset to the same seed");
    KT_CHECK(m.outputs == 4 && m.off_head_b == m.nparams - 4 && m.off_head_w == m.off_head_b - 4 * 25, "head offsets");
    kdts_gru_free(&m);
    kdts_gru_free(&m2);
    kdts_gru_free(&m2); /* twice is safe */
    /* bad configurations */
    memset(&err, 0, sizeof err);
    d = gcfg(1, 0, 1, 1, 0, 0, 0.0f);
    KT_CHECK(kdts_gru_init(&m, &d, 1, &err) == KDTS_ERR_ARG && err.code == KDTS_ERR_ARG && err.message[0],
             "hidden 0 rejected (%s)", err.message);
    d = gcfg(1, 4, KDTS_MAX_LAYERS + 1, 1, 0, 0, 0.0f);
    KT_CHECK(kdts_gru_config_check(&d, NULL) == KDTS_ERR_ARG, "too many layers");
    d = gcfg(1, 4, 1, 1, 0, 0, 1.0f);
    KT_CHECK(kdts_gru_config_check(&d, NULL) == KDTS_ERR_ARG, "dropout 1");
    d = gcfg(1, 4, 1, 1, 1, 1, 0.0f);
    KT_CHECK(kdts_gru_config_check(&d, NULL) == KDTS_ERR_ARG, "1 bin");
}

static void test_errors(void)
{
    kdts_gru m;
    kdts_gru_ws ws, wf, wo;
    kdts_gru_config c = gcfg(2, 6, 2, 3, 0, 0, 0.2f), c2 = gcfg(2, 7, 2, 3, 0, 0, 0.0f);
    kdts_error err;
    kdts_rng r;
    float x[4 * 5 * 2], out[4 * 5 * 3], dout[4 * 5 * 3];
    memset(x, 0, sizeof x);
    memset(dout, 0, sizeof dout);
    kdts_rng_seed(&r, 1);
    kdts_gru_init(&m, &c, 1, NULL);
    kdts_gru_ws_init(&ws, &c, 4, 5, 1, NULL);
    kdts_gru_ws_init(&wf, &c, 4, 5, 0, NULL);
    kdts_gru_ws_init(&wo, &c2, 4, 5, 1, NULL);
    memset(&err, 0, sizeof err);
    KT_CHECK(kdts_gru_forward(&m, &ws, x, 5, 5, NULL, out, 0, NULL, &err) == KDTS_ERR_SHAPE &&
                 err.code == KDTS_ERR_SHAPE && err.message[0], "batch over the workspace (%s)", err.message);
    KT_CHECK(kdts_gru_forward(&m, &ws, x, 4, 6, NULL, out, 0, NULL, NULL) == KDTS_ERR_SHAPE, "steps over the workspace");
    KT_CHECK(kdts_gru_forward(&m, &ws, x, 0, 5, NULL, out, 0, NULL, NULL) == KDTS_ERR_SHAPE, "B = 0");
    KT_CHECK(kdts_gru_forward(&m, &wo, x, 4, 5, NULL, out, 0, NULL, NULL) == KDTS_ERR_SHAPE, "other architecture");
    KT_CHECK(kdts_gru_forecast(&m, &wo, x, 4, 5, NULL, out, NULL) == KDTS_ERR_SHAPE, "forecast, other architecture");
    KT_CHECK(kdts_gru_forward(&m, &wf, x, 4, 5, NULL, out, 1, &r, NULL) == KDTS_ERR_ARG, "training, forward-only ws");
    KT_CHECK(kdts_gru_forward(&m, &ws, x, 4, 5, NULL, out, 1, NULL, NULL) == KDTS_ERR_ARG, "dropout without rng");
    KT_CHECK(kdts_gru_forward(NULL, &ws, x, 4, 5, NULL, out, 0, NULL, NULL) == KDTS_ERR_ARG, "NULL model");
    KT_CHECK(kdts_gru_backward(&m, &wf, dout, NULL, NULL, NULL) == KDTS_ERR_ARG, "backward, forward-only ws");
    KT_CHECK(kdts_gru_forward(&m, &ws, x, 4, 5, NULL, out, 0, NULL, NULL) == KDTS_OK, "inference forward");
    memset(&err, 0, sizeof err);
    KT_CHECK(kdts_gru_backward(&m, &ws, dout, NULL, NULL, &err) == KDTS_ERR_ARG && err.message[0],
             "backward after an inference forward (%s)", err.message);
    KT_CHECK(kdts_gru_forward(&m, &ws, x, 4, 5, NULL, out, 1, &r, NULL) == KDTS_OK &&
                 kdts_gru_backward(&m, &ws, dout, NULL, NULL, NULL) == KDTS_OK, "training forward, backward");
    KT_CHECK(kdts_gru_backward(&m, &ws, NULL, NULL, NULL, NULL) == KDTS_ERR_ARG, "NULL dout");
    KT_CHECK(kdts_gru_ws_init(&wo, &c, 0, 5, 1, NULL) == KDTS_ERR_ARG, "workspace for 0 windows");
    kdts_gru_ws_free(&ws);
    kdts_gru_ws_free(&wf);
    kdts_gru_ws_free(&wo);
    kdts_gru_ws_free(&wo); /* twice is safe */
    kdts_gru_free(&m);
}

int main(void)
{
    printf("SIMD path: %s\n", kdts_simd_name());
    test_layout();
    test_errors();
    test_gradcheck();
    test_torch_ref();
    test_batch_vs_windows();
    test_single_window();
    test_infer_pieces();
#ifdef _OPENMP
    test_threads();
#endif
    return kt_done();
}
