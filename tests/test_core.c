/* test_core.c - the matrix core, element-wise kernels, LSTM forward and
   backward (finite differences and PyTorch reference vectors), the losses,
   Adam, and the training API. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include "ref_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static float frand(kdts_rng *r) { return 2.0f * kdts_rng_uniform(r) - 1.0f; }

/* ------------------------------------------------------------------ GEMM */
static void test_gemm(void)
{
    static const int shapes[][3] = {{1, 1, 1}, {7, 13, 29}, {0, 5, 3}, {5, 0, 3}, {5, 3, 0}, {33, 17, 65},
                                    {8, 32, 256}, {31, 257, 63}, {97, 96, 300}, {2, 600, 5}, {130, 3, 513},
                                    {32, 256, 64}, {1, 100, 1}, {17, 1, 9}, {600, 7, 40}, {64, 15, 3},
                                    {3072, 24, 16}, {100, 40, 20}};
    static const float ab[][2] = {{1, 0}, {1, 1}, {0.5f, -1.5f}, {0, 2}, {-2, 0.25f}};
    kdts_rng r;
    size_t si;
    double worst = 0.0;
    int fails = 0, runs = 0;
    kdts_rng_seed(&r, 1);
    for (si = 0; si < sizeof shapes / sizeof shapes[0]; ++si) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2], ta, tb, ai;
        for (ta = 0; ta < 2; ++ta)
            for (tb = 0; tb < 2; ++tb)
                for (ai = 0; ai < 5; ++ai) {
                    /* small: pairs c and c + 2 (c = shape + transposes), so
                       every shape still meets all five over its 4 transposes */
                    int c = (int)(si + 2 * ta + tb) % 5;
                    if (kt_small() && ai != c && ai != (c + 2) % 5) continue;
                    {
                    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
                    size_t na = (size_t)(ta ? K : M) * lda + 1, nb = (size_t)(tb ? N : K) * ldb + 1;
                    size_t nc = (size_t)M * ldc + 1, i;
                    float *A = (float *)malloc(na * 4), *B = (float *)malloc(nb * 4);
                    float *C = (float *)malloc(nc * 4), *C2 = (float *)malloc(nc * 4);
                    float alpha = ab[ai][0], beta = ab[ai][1];
                    double maxd = 0.0, scale = 1e-30;
                    for (i = 0; i < na; ++i) A[i] = frand(&r);
                    for (i = 0; i < nb; ++i) B[i] = frand(&r);
                    for (i = 0; i < nc; ++i) C[i] = C2[i] = frand(&r);
                    if (beta == 0.0f) /* beta == 0 must not read C */
                        for (i = 0; i < nc; ++i) C[i] = C2[i] = NAN;
                    /* padding columns must be untouched: mark them */
                    kdts_gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
                    if (kdts_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL) != KDTS_OK) fails++;
                    for (i = 0; i < nc; ++i) {
                        int col = (int)(i % (size_t)ldc), row = (int)(i / (size_t)ldc);
                        if (row < M && col < N) {
                            double d = fabs((double)C[i] - C2[i]);
                            if (!(d == d)) d = 1e30;
                            if (d > maxd) maxd = d;
                            if (fabs(C2[i]) > scale) scale = fabs(C2[i]);
                        } else if (!(C[i] == C2[i] || (C[i] != C[i] && C2[i] != C2[i]))) {
                            maxd = 1e30; /* wrote outside the matrix */
                        }
                    }
                    /* error bound: float accumulation over K terms of size <= 1 */
                    if (maxd > 1e-6 * (K + 1) * (fabs(alpha) + 1) + 1e-6 * fabs(beta)) {
                        fails++;
                        printf("  gemm %dx%dx%d ta=%d tb=%d alpha=%g beta=%g: max diff %g\n", M, N, K, ta, tb,
                               (double)alpha, (double)beta, maxd);
                    }
                    if (maxd / (scale + 1.0) > worst) worst = maxd / (scale + 1.0);
                    runs++;
                    free(A);
                    free(B);
                    free(C);
                    free(C2);
                    }
                }
    }
    if (kt_small()) printf("KDTS_TEST_SMALL: gemm with 2 of the 5 alpha/beta pairs per shape and transposes\n");
    printf("gemm (%s path): %d products against the reference, worst |diff|/(max|C|+1) = %.3g\n",
           kdts_simd_name(), runs, worst);
    KT_CHECK(fails == 0, "%d gemm mismatches", fails);
    KT_CHECK(kdts_gemm(0, 0, 2, 2, 2, 1, NULL, 1, NULL, 2, 0, NULL, 2, NULL) == KDTS_ERR_ARG, "lda < K accepted");
    KT_CHECK(kdts_gemm(0, 0, -1, 2, 2, 1, NULL, 2, NULL, 2, 0, NULL, 2, NULL) == KDTS_ERR_ARG, "negative M accepted");
}

static void test_vec(void)
{
    enum { N = 1003 };
    float x[N], y[N], z[N];
    double es = 0, et = 0, ee = 0;
    int i;
    for (i = 0; i < N; ++i) x[i] = -20.0f + 40.0f * (float)i / (N - 1);
    x[5] = 0.0f;
    x[6] = 1e-5f;
    x[7] = -3e-3f;
    kdts_vec_sigmoid(y, x, N);
    for (i = 0; i < N; ++i) {
        double d = fabs(y[i] - 1.0 / (1.0 + exp(-(double)x[i])));
        if (d > es) es = d;
    }
    kdts_vec_tanh(y, x, N);
    for (i = 0; i < N; ++i) {
        double ref = tanh((double)x[i]), d = fabs(y[i] - ref) / (fabs(ref) > 1e-30 ? fabs(ref) : 1.0);
        if (fabs(ref) < 1e-30) d = fabs(y[i]);
        if (d > et) et = d;
    }
    for (i = 0; i < N; ++i) z[i] = x[i] * 4.0f;
    kdts_vec_exp(y, z, N);
    for (i = 0; i < N; ++i) {
        double ref = exp((double)(z[i] < -87 ? -87 : (z[i] > 87 ? 87 : z[i]))), d = fabs(y[i] - ref) / ref;
        if (d > ee) ee = d;
    }
    printf("vector kernels (%s): sigmoid abs err %.2g, tanh rel err %.2g, exp rel err %.2g\n", kdts_simd_name(),
           es, et, ee);
    KT_CHECK(es < 2e-7, "sigmoid error %g", es);
    KT_CHECK(et < 2e-6, "tanh relative error %g", et);
    KT_CHECK(ee < 2e-6, "exp relative error %g", ee);
    {
        /* derivative kernels against the formulas, vector body and tail */
        float dy[N], d1[N], d2[N];
        double e1 = 0, e2 = 0;
        for (i = 0; i < N; ++i) dy[i] = 0.5f - (float)(i % 7) * 0.3f;
        kdts_vec_sigmoid(y, x, N);
        kdts_vec_dsigmoid(d1, y, dy, N);
        kdts_vec_tanh(z, x, N);
        kdts_vec_dtanh(d2, z, dy, N);
        for (i = 0; i < N; ++i) {
            double r1 = (double)dy[i] * y[i] * (1.0 - y[i]), r2 = (double)dy[i] * (1.0 - (double)z[i] * z[i]);
            if (fabs(d1[i] - r1) > e1) e1 = fabs(d1[i] - r1);
            if (fabs(d2[i] - r2) > e2) e2 = fabs(d2[i] - r2);
        }
        KT_CHECK(e1 < 1e-7 && e2 < 1e-6, "derivative kernels: dsigmoid err %g, dtanh err %g", e1, e2);
    }
    {
        float a[37], b[37];
        double s = 0;
        for (i = 0; i < 37; ++i) {
            a[i] = (float)i * 0.5f;
            b[i] = (float)(37 - i);
            s += (double)a[i] * b[i];
        }
        KT_CHECK(fabs(kdts_vec_dot(a, b, 37) - s) < 1e-3, "dot");
        kdts_vec_axpy(a, 2.0f, b, 37);
        KT_CHECK(a[36] == 18.0f + 2.0f && a[0] == 74.0f, "axpy");
    }
}

/* ----------------------------------------------------- gradient checks */
typedef struct gc_ctx {
    kdts_lstm *m;
    kdts_lstm_ws *ws;
    kdts_loss_config lc;
    float w[3]; /* hard, soft, seq */
    float *x, *h0, *c0, *y, *tv, *tp, *out, *dout;
    int B, T;
} gc_ctx;

#ifndef GC_EPS
#define GC_EPS 3e-2
#endif
static double gc_loss(gc_ctx *g)
{
    kdts_loss_value lv;
    kdts_lstm_forward(g->m, g->ws, g->x, g->B, g->T, g->h0, g->c0, g->out, 1, NULL, NULL);
    kdts_loss_eval(&g->lc, g->w[0], g->w[1], g->w[2], g->out, g->y, g->tv, g->tp, g->B, g->T, &lv, NULL, NULL);
    return lv.total;
}

/* Compare analytic and central-difference directional derivatives along a
   random direction restricted to one tensor. Returns the relative error. */
static double gc_dir(gc_ctx *g, float *p, const float *grad, size_t n, kdts_rng *r, double eps)
{
    size_t i;
    double an = 0.0, lp, lm, fd, nd = 0.0;
    float *d = (float *)malloc(n * sizeof(float)), *save = (float *)malloc(n * sizeof(float));
    for (i = 0; i < n; ++i) {
        d[i] = frand(r);
        nd += (double)d[i] * d[i];
    }
    nd = sqrt(nd);
    for (i = 0; i < n; ++i) {
        d[i] = (float)(d[i] / nd);
        an += (double)grad[i] * d[i];
    }
    memcpy(save, p, n * sizeof(float));
    for (i = 0; i < n; ++i) p[i] = save[i] + (float)eps * d[i];
    lp = gc_loss(g);
    for (i = 0; i < n; ++i) p[i] = save[i] - (float)eps * d[i];
    lm = gc_loss(g);
    memcpy(p, save, n * sizeof(float));
    fd = (lp - lm) / (2.0 * eps);
    free(d);
    free(save);
    return fabs(fd - an) / (fabs(fd) + fabs(an) + 1e-4);
}

static void test_gradcheck(void)
{
    static const char *term_name[] = {"hard", "soft", "seq", "combined"};
    static const float terms[4][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0.7f, 0.3f, 0.5f}};
    const double bound = 5e-3;
    double worst = 0.0;
    char worst_what[128] = "";
    int mode;
    for (mode = 0; mode < 2; ++mode) {
        kdts_lstm m;
        kdts_lstm_ws ws;
        kdts_lstm_config cfg;
        gc_ctx g;
        kdts_rng r;
        int B = 3, T = 4, L = 2, H = 3, F = 2, h = 2, K = 5, O, ti, l;
        size_t i, nx, ns;
        float *dx, *dh0, *dc0;
        memset(&cfg, 0, sizeof cfg);
        cfg.input = F;
        cfg.hidden = H;
        cfg.layers = L;
        cfg.horizon = h;
        cfg.mode = mode ? KDTS_MODE_DIST : KDTS_MODE_POINT;
        cfg.bins = K;
        cfg.bin_lo = -2;
        cfg.bin_hi = 2;
        kdts_lstm_init(&m, &cfg, 42, NULL);
        kdts_lstm_ws_init(&ws, &cfg, B, T, 1, NULL);
        for (i = 0; i < m.nparams; ++i) m.params[i] *= 1.5f; /* livelier gates */
        O = m.outputs;
        kdts_rng_seed(&r, 7 + mode);
        memset(&g, 0, sizeof g);
        g.m = &m;
        g.ws = &ws;
        g.B = B;
        g.T = T;
        kdts_loss_config_from_model(&g.lc, &m);
        g.lc.temperature = 2.0f;
        nx = (size_t)B * T * F;
        ns = (size_t)L * B * H;
        g.x = (float *)malloc(nx * 4);
        g.h0 = (float *)malloc(ns * 4);
        g.c0 = (float *)malloc(ns * 4);
        g.y = (float *)malloc((size_t)B * T * h * 4);
        g.tv = (float *)malloc((size_t)B * T * h * 4);
        g.tp = (float *)malloc((size_t)B * h * K * 4);
        g.out = (float *)malloc((size_t)B * T * O * 4);
        g.dout = (float *)malloc((size_t)B * T * O * 4);
        dx = (float *)malloc(nx * 4);
        dh0 = (float *)malloc(ns * 4);
        dc0 = (float *)malloc(ns * 4);
        for (i = 0; i < nx; ++i) g.x[i] = frand(&r);
        for (i = 0; i < ns; ++i) {
            g.h0[i] = 0.5f * frand(&r);
            g.c0[i] = 0.5f * frand(&r);
        }
        for (i = 0; i < (size_t)B * T * h; ++i) {
            g.y[i] = 1.2f * frand(&r);
            g.tv[i] = 1.2f * frand(&r);
        }
        for (i = 0; i < (size_t)B * h; ++i) {
            float s = 0;
            int k;
            for (k = 0; k < K; ++k) s += (g.tp[i * K + k] = 0.1f + kdts_rng_uniform(&r));
            for (k = 0; k < K; ++k) g.tp[i * K + k] /= s;
        }
        for (ti = 0; ti < 4; ++ti) {
            double e;
            kdts_loss_value lv;
            struct {
                const char *name;
                float *p;
                float *gr;
                size_t n;
            } tens[KDTS_MAX_LAYERS * 4 + 5];
            int nt = 0, k;
            memcpy(g.w, terms[ti], sizeof g.w);
            kdts_lstm_forward(&m, &ws, g.x, B, T, g.h0, g.c0, g.out, 1, NULL, NULL);
            kdts_loss_eval(&g.lc, g.w[0], g.w[1], g.w[2], g.out, g.y, g.tv, g.tp, B, T, &lv, g.dout, NULL);
            kdts_lstm_zero_grad(&m);
            kdts_lstm_backward(&m, &ws, g.dout, dx, dh0, dc0, NULL);
            for (l = 0; l < L; ++l) {
                size_t I = l ? (size_t)H : (size_t)F;
                tens[nt].name = "W_ih"; tens[nt].p = m.params + m.off_wih[l]; tens[nt].gr = m.grads + m.off_wih[l]; tens[nt++].n = 4 * H * I;
                tens[nt].name = "W_hh"; tens[nt].p = m.params + m.off_whh[l]; tens[nt].gr = m.grads + m.off_whh[l]; tens[nt++].n = 4 * H * H;
                tens[nt].name = "b_ih"; tens[nt].p = m.params + m.off_bih[l]; tens[nt].gr = m.grads + m.off_bih[l]; tens[nt++].n = 4 * H;
                tens[nt].name = "b_hh"; tens[nt].p = m.params + m.off_bhh[l]; tens[nt].gr = m.grads + m.off_bhh[l]; tens[nt++].n = 4 * H;
            }
            tens[nt].name = "head W"; tens[nt].p = m.params + m.off_head_w; tens[nt].gr = m.grads + m.off_head_w; tens[nt++].n = (size_t)O * H;
            tens[nt].name = "head b"; tens[nt].p = m.params + m.off_head_b; tens[nt].gr = m.grads + m.off_head_b; tens[nt++].n = (size_t)O;
            tens[nt].name = "x"; tens[nt].p = g.x; tens[nt].gr = dx; tens[nt++].n = nx;
            tens[nt].name = "h0"; tens[nt].p = g.h0; tens[nt].gr = dh0; tens[nt++].n = ns;
            tens[nt].name = "c0"; tens[nt].p = g.c0; tens[nt].gr = dc0; tens[nt++].n = ns;
            for (k = 0; k < nt; ++k) {
                int rep;
                /* the gradients of later tensors were computed at this point */
                for (rep = 0; rep < 3; ++rep) {
                    e = gc_dir(&g, tens[k].p, tens[k].gr, tens[k].n, &r, GC_EPS);
                    if (e > worst) {
                        worst = e;
                        sprintf(worst_what, "%s mode, %s loss, %s", mode ? "dist" : "point", term_name[ti], tens[k].name);
                    }
                    if (e > bound)
                        printf("  gradcheck %s mode %s loss tensor %s (layer-order %d): rel err %.3g\n",
                               mode ? "dist" : "point", term_name[ti], tens[k].name, k, e);
                    KT_CHECK(e <= bound, "gradient check %s/%s/%s rel err %g > %g", mode ? "dist" : "point",
                             term_name[ti], tens[k].name, e, bound);
                }
            }
            /* element-wise check on a few single weights too */
            for (k = 0; k < 6; ++k) {
                size_t idx = kdts_rng_below(&r, (unsigned long)m.nparams);
                float save = m.params[idx];
                double lp, lm, fd, an = m.grads[idx];
                m.params[idx] = save + 1e-2f;
                lp = gc_loss(&g);
                m.params[idx] = save - 1e-2f;
                lm = gc_loss(&g);
                m.params[idx] = save;
                fd = (lp - lm) / (2e-2);
                e = fabs(fd - an) / (fabs(fd) + fabs(an) + 1e-3);
                if (e > worst) {
                    worst = e;
                    sprintf(worst_what, "%s mode, %s loss, param %lu", mode ? "dist" : "point", term_name[ti], (unsigned long)idx);
                }
                KT_CHECK(e <= bound, "single-parameter check %lu: rel err %g", (unsigned long)idx, e);
            }
        }
        free(g.x); free(g.h0); free(g.c0); free(g.y); free(g.tv); free(g.tp); free(g.out); free(g.dout);
        free(dx); free(dh0); free(dc0);
        kdts_lstm_ws_free(&ws);
        kdts_lstm_free(&m);
    }
    printf("gradient check (central differences, eps %g, float forward, double loss): worst relative error "
           "%.3g (%s), bound %.0e\n", GC_EPS, worst, worst_what, bound);
}

/* the single-window path (B = 1) against rows of a batch forward, for
   hidden sizes that fill whole vector chunks and sizes that leave a tail,
   inputs narrow enough to be fused into the step (3) and wider (9);
   kdts_lstm_forecast against the last step of the forward; and B = 1
   training (forward + backward) against a batch of two copies of the
   window with half the output gradient each. */
static void test_single_window(void)
{
    static const int hs[] = {3, 13, 16, 40, 64}, fs[] = {3, 9};
    size_t hi, fi;
    double worst = 0.0, worst_fc = 0.0, worst_g = 0.0;
    for (fi = 0; fi < sizeof fs / sizeof fs[0]; ++fi)
    for (hi = 0; hi < sizeof hs / sizeof hs[0]; ++hi) {
        kdts_lstm m;
        kdts_lstm_ws ws, wt;
        kdts_lstm_config cfg;
        kdts_rng r;
        enum { B = 4, T = 9, O = 5, FMAX = 9 };
        int F = fs[fi];
        float x[B * T * FMAX], x2[2 * T * FMAX], *ob, *o1, fc[B * O], *g1, *d1, *d2;
        double gmax = 0.0, gd = 0.0;
        int b, i;
        size_t np;
        memset(&cfg, 0, sizeof cfg);
        cfg.input = F;
        cfg.hidden = hs[hi];
        cfg.layers = 2;
        cfg.horizon = O;
        kdts_lstm_init(&m, &cfg, 100 + (unsigned)hi, NULL);
        kdts_lstm_ws_init(&ws, &cfg, B, T, 0, NULL);
        kdts_lstm_ws_init(&wt, &cfg, 2, T, 1, NULL);
        kdts_rng_seed(&r, 9);
        for (i = 0; i < B * T * F; ++i) x[i] = frand(&r);
        ob = (float *)malloc(sizeof(float) * B * T * O);
        o1 = (float *)malloc(sizeof(float) * T * O);
        kdts_lstm_forward(&m, &ws, x, B, T, NULL, NULL, ob, 0, NULL, NULL);
        for (b = 0; b < B; ++b) {
            kdts_lstm_forward(&m, &ws, x + b * T * F, 1, T, NULL, NULL, o1, 0, NULL, NULL);
            for (i = 0; i < T * O; ++i) {
                double d = fabs((double)o1[i] - ob[b * T * O + i]);
                if (d > worst) worst = d;
            }
            kdts_lstm_forecast(&m, &ws, x + b * T * F, 1, T, NULL, NULL, fc, NULL);
            for (i = 0; i < O; ++i) {
                double d = fabs((double)fc[i] - ob[(b * T + T - 1) * O + i]);
                if (d > worst_fc) worst_fc = d;
            }
        }
        kdts_lstm_forecast(&m, &ws, x, B, T, NULL, NULL, fc, NULL);
        for (b = 0; b < B; ++b)
            for (i = 0; i < O; ++i) {
                double d = fabs((double)fc[b * O + i] - ob[(b * T + T - 1) * O + i]);
                if (d > worst_fc) worst_fc = d;
            }
        /* B = 1 training against two copies */
        np = m.nparams;
        g1 = (float *)malloc(sizeof(float) * np);
        d1 = (float *)malloc(sizeof(float) * T * O);
        d2 = (float *)malloc(sizeof(float) * 2 * T * O);
        for (i = 0; i < T * O; ++i) d1[i] = frand(&r);
        for (i = 0; i < T * O; ++i) d2[i] = d2[T * O + i] = 0.5f * d1[i];
        memcpy(x2, x, sizeof(float) * T * F);
        memcpy(x2 + T * F, x, sizeof(float) * T * F);
        kdts_lstm_forward(&m, &wt, x, 1, T, NULL, NULL, o1, 1, NULL, NULL);
        kdts_lstm_zero_grad(&m);
        kdts_lstm_backward(&m, &wt, d1, NULL, NULL, NULL, NULL);
        memcpy(g1, m.grads, sizeof(float) * np);
        kdts_lstm_forward(&m, &wt, x2, 2, T, NULL, NULL, ob, 1, NULL, NULL);
        kdts_lstm_zero_grad(&m);
        kdts_lstm_backward(&m, &wt, d2, NULL, NULL, NULL, NULL);
        for (i = 0; i < (int)np; ++i) {
            double d = fabs((double)g1[i] - m.grads[i]);
            if (fabs(m.grads[i]) > gmax) gmax = fabs(m.grads[i]);
            if (d > gd) gd = d;
        }
        if (gd / gmax > worst_g) worst_g = gd / gmax;
        free(g1);
        free(d1);
        free(d2);
        free(ob);
        free(o1);
        kdts_lstm_ws_free(&ws);
        kdts_lstm_ws_free(&wt);
        kdts_lstm_free(&m);
    }
    printf("single-window forward vs. batch forward (hidden 3..64, input 3 and 9): max diff %.2g\n", worst);
    KT_CHECK(worst < 1e-5, "single-window path deviates by %g", worst);
    {
        /* 1x16, input 1, horizon 24, T = 96, by hand: a step of the layer is
           2*4*16*17 + 8*16 (biases) + 10*16 (cell) = 2464, the head 2*16*24 + 24 */
        kdts_lstm_config fc_cfg;
        memset(&fc_cfg, 0, sizeof fc_cfg);
        fc_cfg.input = 1;
        fc_cfg.hidden = 16;
        fc_cfg.layers = 1;
        fc_cfg.horizon = 24;
        KT_CHECK(kdts_lstm_flops(&fc_cfg, 96) == (2464.0 + 792.0) * 96, "kdts_lstm_flops %g", kdts_lstm_flops(&fc_cfg, 96));
        KT_CHECK(kdts_lstm_forecast_flops(&fc_cfg, 96) == 2464.0 * 96 + 792.0, "kdts_lstm_forecast_flops %g",
                 kdts_lstm_forecast_flops(&fc_cfg, 96));
    }
    printf("kdts_lstm_forecast vs. last step of the forward (B = 1 and 4): max diff %.2g\n", worst_fc);
    KT_CHECK(worst_fc < 1e-5, "forecast deviates from the forward's last step by %g", worst_fc);
    printf("B = 1 training gradients vs. a batch of two copies: max relative diff %.2g\n", worst_g);
    KT_CHECK(worst_g < 1e-5, "B = 1 training gradients deviate by %g (relative)", worst_g);
}

/* The batch forward and backward against one window at a time (the B = 1
   path, a single block of steps each, no row blocks), summed. The backward
   runs through time in blocks of steps (a few when 4H x B is large); with
   OpenMP the batch is also split into row blocks, one per thread, each
   stored apart (kdts_lstm_ws.part). Checked: several step blocks and a
   partial last one, univariate and wide inputs, hidden sizes with and
   without a vector tail, given initial states, a batch that splits evenly
   and one that does not; the outputs (out, ws->out), the final states, the
   forecast, the parameter gradients, dx, dh0 and dc0. */
static void test_blocked_backward(void)
{
    static const int hs[] = {40, 128}, fs[] = {1, 9}, bs[] = {48, 17};
    size_t hi, fi, bi;
    double worst = 0.0, worst_x = 0.0, worst_f = 0.0;
    int parts = 0;
    for (bi = 0; bi < sizeof bs / sizeof bs[0]; ++bi)
    for (fi = 0; fi < sizeof fs / sizeof fs[0]; ++fi)
    for (hi = 0; hi < sizeof hs / sizeof hs[0]; ++hi)
    /* small: 4 of the 8 (batch, inputs, hidden) triples, every pair of two
       of their values once */
    if (kt_tiny() ? bi == fi && fi == hi : !kt_small() || (bi ^ fi ^ hi) == 0) {
        kdts_lstm m;
        kdts_lstm_ws wb, w1;
        kdts_lstm_config cfg;
        kdts_rng r;
        enum { T = 11, O = 5, L = 2 };
        int B = bs[bi], F = fs[fi], H = hs[hi], b, i, l, t;
        size_t np;
        float *x, *h0, *c0, *dout, *dx, *dh0, *dc0, *gb, *gs, *dx1, *dh1, *dc1, *h1, *c1;
        float *out, *wsout, *hN, *cN, *fc, *wsfc, *out1, *fc1;
        double gmax = 0.0, gd = 0.0, xmax = 0.0, xd = 0.0, fmax = 0.0, fd = 0.0;
        memset(&cfg, 0, sizeof cfg);
        cfg.input = F;
        cfg.hidden = H;
        cfg.layers = L;
        cfg.horizon = O;
        kdts_lstm_init(&m, &cfg, 31 + (unsigned)hi, NULL);
        kdts_lstm_ws_init(&wb, &cfg, B, T, 1, NULL);
        kdts_lstm_ws_init(&w1, &cfg, 1, T, 1, NULL);
        np = m.nparams;
        x = (float *)malloc(sizeof(float) * B * T * F);
        dx = (float *)malloc(sizeof(float) * B * T * F);
        dx1 = (float *)malloc(sizeof(float) * T * F);
        dout = (float *)malloc(sizeof(float) * B * T * O);
        h0 = (float *)malloc(sizeof(float) * L * B * H);
        c0 = (float *)malloc(sizeof(float) * L * B * H);
        dh0 = (float *)malloc(sizeof(float) * L * B * H);
        dc0 = (float *)malloc(sizeof(float) * L * B * H);
        hN = (float *)malloc(sizeof(float) * L * B * H);
        cN = (float *)malloc(sizeof(float) * L * B * H);
        h1 = (float *)malloc(sizeof(float) * L * H * 2);
        c1 = (float *)malloc(sizeof(float) * L * H * 2);
        dh1 = (float *)malloc(sizeof(float) * L * H);
        dc1 = (float *)malloc(sizeof(float) * L * H);
        out = (float *)malloc(sizeof(float) * B * T * O);
        wsout = (float *)malloc(sizeof(float) * B * T * O);
        out1 = (float *)malloc(sizeof(float) * T * O);
        fc = (float *)malloc(sizeof(float) * B * O);
        wsfc = (float *)malloc(sizeof(float) * B * O);
        fc1 = (float *)malloc(sizeof(float) * O);
        gb = (float *)malloc(sizeof(float) * np);
        gs = (float *)calloc(np, sizeof(float));
        kdts_rng_seed(&r, 77);
        for (i = 0; i < B * T * F; ++i) x[i] = frand(&r);
        for (i = 0; i < B * T * O; ++i) dout[i] = frand(&r);
        for (i = 0; i < L * B * H; ++i) h0[i] = 0.5f * frand(&r);
        for (i = 0; i < L * B * H; ++i) c0[i] = frand(&r);
        kdts_lstm_forecast(&m, &wb, x, B, T, h0, c0, fc, NULL);
        memcpy(wsfc, wb.out, sizeof(float) * B * O);
        kdts_lstm_forward(&m, &wb, x, B, T, h0, c0, out, 1, NULL, NULL);
        if (wb.part > parts) parts = wb.part;
        memcpy(wsout, wb.out, sizeof(float) * B * T * O);
        kdts_lstm_final_state(&wb, hN, cN);
        kdts_lstm_zero_grad(&m);
        kdts_lstm_backward(&m, &wb, dout, dx, dh0, dc0, NULL);
        memcpy(gb, m.grads, sizeof(float) * np);
#define KT_CMP(ref, got, mx, md)                               \
    do {                                                       \
        double d_ = fabs((double)(ref) - (got));               \
        if (fabs(ref) > (mx)) (mx) = fabs(ref);                \
        if (d_ > (md)) (md) = d_;                              \
    } while (0)
        for (b = 0; b < B; ++b) {
            for (l = 0; l < L; ++l) {
                memcpy(h1 + l * H, h0 + ((size_t)l * B + b) * H, sizeof(float) * H);
                memcpy(c1 + l * H, c0 + ((size_t)l * B + b) * H, sizeof(float) * H);
            }
            kdts_lstm_forecast(&m, &w1, x + (size_t)b * T * F, 1, T, h1, c1, fc1, NULL);
            kdts_lstm_forward(&m, &w1, x + (size_t)b * T * F, 1, T, h1, c1, out1, 1, NULL, NULL);
            kdts_lstm_final_state(&w1, h1 + L * H, c1 + L * H);
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
                for (i = 0; i < H; ++i) {
                    KT_CMP(h1[(L + l) * H + i], hN[((size_t)l * B + b) * H + i], fmax, fd);
                    KT_CMP(c1[(L + l) * H + i], cN[((size_t)l * B + b) * H + i], fmax, fd);
                }
            kdts_lstm_zero_grad(&m);
            kdts_lstm_backward(&m, &w1, dout + (size_t)b * T * O, dx1, dh1, dc1, NULL);
            for (i = 0; i < (int)np; ++i) gs[i] += m.grads[i];
            for (i = 0; i < T * F; ++i) KT_CMP(dx1[i], dx[(size_t)b * T * F + i], xmax, xd);
            for (l = 0; l < L; ++l)
                for (i = 0; i < H; ++i) {
                    KT_CMP(dh1[l * H + i], dh0[((size_t)l * B + b) * H + i], xmax, xd);
                    KT_CMP(dc1[l * H + i], dc0[((size_t)l * B + b) * H + i], xmax, xd);
                }
        }
        for (i = 0; i < (int)np; ++i) KT_CMP(gs[i], gb[i], gmax, gd);
#undef KT_CMP
        if (gd / gmax > worst) worst = gd / gmax;
        if (xd / xmax > worst_x) worst_x = xd / xmax;
        if (fd / fmax > worst_f) worst_f = fd / fmax;
        free(x); free(dx); free(dx1); free(dout); free(h0); free(c0); free(dh0); free(dc0);
        free(hN); free(cN); free(h1); free(c1); free(dh1); free(dc1); free(gb); free(gs);
        free(out); free(wsout); free(out1); free(fc); free(wsfc); free(fc1);
        kdts_lstm_ws_free(&wb);
        kdts_lstm_ws_free(&w1);
        kdts_lstm_free(&m);
    }
    if (kt_tiny()) printf("KDTS_TEST_SMALL=2: batch vs. windows on 2 of the 8 shapes (B 48, input 1, hidden 40; B 17, input 9, hidden 128)\n");
    else if (kt_small()) printf("KDTS_TEST_SMALL: batch vs. windows on 4 of the 8 shapes (B 48 with hidden 40 and 128)\n");
    printf("batch (B 48 and 17, T 11, hidden 40 and 128, input 1 and 9; up to %d row block%s) vs. windows one at a "
           "time: outputs/states/forecast %.2g, parameter gradients %.2g, dx/dh0/dc0 %.2g (max relative diff)\n",
           parts, parts == 1 ? "" : "s", worst_f, worst, worst_x);
    KT_CHECK(kdts__bwd_block(48, 40, 11) < 11 && kdts__bwd_block(48, 128, 11) < 11 &&
             11 % kdts__bwd_block(48, 40, 11) != 0 && 11 % kdts__bwd_block(48, 128, 11) != 0,
             "the test shapes run the backward in several blocks with a partial last one (%d and %d steps per block)",
             kdts__bwd_block(48, 40, 11), kdts__bwd_block(48, 128, 11));
#ifdef _OPENMP
    if (omp_get_max_threads() > 1)
        KT_CHECK(parts > 1, "with %d OpenMP threads the batch is split into row blocks (got %d)",
                 omp_get_max_threads(), parts);
#endif
    KT_CHECK(worst_f < 1e-5, "batch outputs/states/forecast deviate by %g (relative)", worst_f);
    KT_CHECK(worst < 1e-5, "blocked backward parameter gradients deviate by %g (relative)", worst);
    KT_CHECK(worst_x < 1e-5, "blocked backward dx/dh0/dc0 deviate by %g (relative)", worst_x);
}

#ifdef _OPENMP
/* With OpenMP: a training step with dropout (masks drawn whatever the row
   blocks) on all threads against the same step on one thread, same
   workspace: the same dropout masks, so the same outputs and dx (each
   row's arithmetic does not depend on the blocks), and parameter gradients
   equal up to the order of the sums. */
static void test_threads_dropout(void)
{
    kdts_lstm m;
    kdts_lstm_ws ws;
    kdts_lstm_config cfg;
    kdts_rng r;
    enum { B = 40, T = 9, F = 3, H = 24, O = 4, L = 3 };
    int nt = omp_get_max_threads(), run, i, parts[3];
    size_t np;
    float *x, *dout, *out[3], *dx[3], *g[3];
    double gmax = 0.0, gd = 0.0, od = 0.0;
    if (nt < 2) {
        printf("threads with dropout: one OpenMP thread, not run\n");
        return;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.input = F;
    cfg.hidden = H;
    cfg.layers = L;
    cfg.horizon = O;
    cfg.dropout = 0.3f;
    kdts_lstm_init(&m, &cfg, 5, NULL);
    kdts_lstm_ws_init(&ws, &cfg, B, T, 1, NULL);
    np = m.nparams;
    x = (float *)malloc(sizeof(float) * B * T * F);
    dout = (float *)malloc(sizeof(float) * B * T * O);
    kdts_rng_seed(&r, 8);
    for (i = 0; i < B * T * F; ++i) x[i] = frand(&r);
    for (i = 0; i < B * T * O; ++i) dout[i] = frand(&r);
    /* run 0: all threads; 1: one thread; 2: the forward on all threads and
       the backward on one (the row blocks of the forward, one thread) */
    for (run = 0; run < 3; ++run) {
        out[run] = (float *)malloc(sizeof(float) * B * T * O);
        dx[run] = (float *)malloc(sizeof(float) * B * T * F);
        g[run] = (float *)malloc(sizeof(float) * np);
        omp_set_num_threads(run == 1 ? 1 : nt);
        kdts_rng_seed(&r, 9);
        kdts_lstm_forward(&m, &ws, x, B, T, NULL, NULL, out[run], 1, &r, NULL);
        parts[run] = ws.part;
        if (run == 2) omp_set_num_threads(1);
        kdts_lstm_zero_grad(&m);
        kdts_lstm_backward(&m, &ws, dout, dx[run], NULL, NULL, NULL);
        memcpy(g[run], m.grads, sizeof(float) * np);
    }
    omp_set_num_threads(nt);
    for (run = 0; run < 3; run += 2) {
        for (i = 0; i < B * T * O; ++i)
            if (fabs((double)out[run][i] - out[1][i]) > od) od = fabs((double)out[run][i] - out[1][i]);
        for (i = 0; i < B * T * F; ++i)
            if (fabs((double)dx[run][i] - dx[1][i]) > od) od = fabs((double)dx[run][i] - dx[1][i]);
        for (i = 0; i < (int)np; ++i) {
            double d = fabs((double)g[run][i] - g[1][i]);
            if (fabs(g[1][i]) > gmax) gmax = fabs(g[1][i]);
            if (d > gd) gd = d;
        }
    }
    printf("threads with dropout (B %d, %d layers): %d row blocks vs 1, and the backward of %d on one thread: outputs "
           "and dx differ by %.2g, gradients %.2g (relative)\n", B, L, parts[0], parts[2], od, gd / gmax);
    KT_CHECK(parts[0] > 1 && parts[1] == 1 && parts[2] == parts[0], "row blocks with %d threads, with 1, and with %d: "
             "%d, %d and %d", nt, nt, parts[0], parts[1], parts[2]);
    KT_CHECK(od < 1e-6, "dropout outputs and dx on %d row blocks equal one block's (max diff %g)", parts[0], od);
    KT_CHECK(gd / gmax < 1e-5, "dropout gradients on %d row blocks within 1e-5 of one block's (%g)", parts[0],
             gd / gmax);
    for (run = 0; run < 3; ++run) {
        free(out[run]);
        free(dx[run]);
        free(g[run]);
    }
    free(x);
    free(dout);
    kdts_lstm_ws_free(&ws);
    kdts_lstm_free(&m);
}
#endif

/* Every row of C = op(A) op(B) is computed by the same sequence of
   operations wherever it falls in the kernel's tiling: a product of M rows
   equals, bit for bit, each of its rows computed alone (M = 1) -- batch-1
   inference gives the numbers of the batch. Shapes put rows in tiles of
   every height (M up to 2 MR + 1) and columns in whole, partial and
   masked vectors; K past one KC block. */
static void test_gemm_rows(void)
{
    static const int Ns[] = {5, 16, 20, 32, 40, 70}, Ks[] = {1, 7, 64, 300};
    kdts_rng r;
    int ni, ki, M, ta, diffs = 0, runs = 0;
    kdts_rng_seed(&r, 31);
    for (ni = 0; ni < (int)(sizeof Ns / sizeof Ns[0]); ++ni)
        for (ki = 0; ki < (int)(sizeof Ks / sizeof Ks[0]); ++ki)
            for (ta = 0; ta < 2; ++ta) {
                int N = Ns[ni], K = Ks[ki], Mx = 2 * 8 + 1, lda = ta ? Mx : K, i;
                float *A = (float *)malloc((size_t)Mx * K * 4), *B = (float *)malloc((size_t)K * N * 4);
                float *C = (float *)malloc((size_t)Mx * N * 4), *C1 = (float *)malloc((size_t)N * 4);
                float *a1 = (float *)malloc((size_t)K * 4);
                for (i = 0; i < Mx * K; ++i) A[i] = frand(&r);
                for (i = 0; i < K * N; ++i) B[i] = frand(&r);
                for (M = 1; M <= Mx; ++M) {
                    int row, k;
                    if (kdts_gemm(ta, 0, M, N, K, 1.0f, A, lda, B, N, 0.0f, C, N, NULL) != KDTS_OK) diffs++;
                    for (row = 0; row < M; ++row) {
                        for (k = 0; k < K; ++k) a1[k] = ta ? A[(size_t)k * lda + row] : A[(size_t)row * lda + k];
                        if (kdts_gemm(0, 0, 1, N, K, 1.0f, a1, K, B, N, 0.0f, C1, N, NULL) != KDTS_OK ||
                            memcmp(C1, C + (size_t)row * N, (size_t)N * 4) != 0) {
                            if (diffs < 3)
                                printf("  row %d of a %dx%dx%d product (ta %d) differs from the row alone\n", row, M,
                                       N, K, ta);
                            diffs++;
                        }
                        runs++;
                    }
                }
                free(A);
                free(B);
                free(C);
                free(C1);
                free(a1);
            }
    printf("gemm (%s path): %d rows of products of 1..17 rows against the same row alone, bitwise\n",
           kdts_simd_name(), runs);
    KT_CHECK(diffs == 0, "%d rows depend on their place in the tiling", diffs);
}

/* the narrow-input kernels against plain loops: kdts__proj_small (G = bias
   + X W^T) for every width it takes and kdts__dgrad_univariate (W's
   gradient and the column sums), for even and odd row counts and a column
   count with a vector tail */
static void test_narrow_kernels(void)
{
    static const int ns[] = {64, 20};
    kdts_rng r;
    double worst_p = 0.0, worst_g = 0.0;
    int I, ni, rows, nr, c, f;
    kdts_rng_seed(&r, 21);
    for (I = 1; I <= KDTS__FUSE_IN; ++I)
        for (ni = 0; ni < 2; ++ni)
            for (rows = 6; rows <= 7; ++rows) {
                int n = ns[ni];
                float X[7 * KDTS__FUSE_IN], W[64 * KDTS__FUSE_IN], bias[64], G[7 * 64], wt[64 * KDTS__FUSE_IN];
                float dG[7 * 64], gw[64], g1[64], g2[64];
                for (c = 0; c < rows * I; ++c) X[c] = frand(&r);
                for (c = 0; c < n * I; ++c) W[c] = frand(&r);
                for (c = 0; c < n; ++c) bias[c] = frand(&r);
                for (c = 0; c < rows * n; ++c) dG[c] = frand(&r);
                kdts__pack_small(wt, W, I, n);
                kdts__proj_small(G, X, (size_t)rows, I, wt, bias, n);
                for (nr = 0; nr < rows; ++nr)
                    for (c = 0; c < n; ++c) {
                        double e = bias[c];
                        for (f = 0; f < I; ++f) e += (double)X[nr * I + f] * W[c * I + f];
                        if (fabs(e - G[nr * n + c]) > worst_p) worst_p = fabs(e - G[nr * n + c]);
                    }
                if (I > 1) continue;
                for (c = 0; c < n * I; ++c) gw[c] = 0.5f;
                for (c = 0; c < n; ++c) g1[c] = g2[c] = -0.25f;
                kdts__dgrad_univariate(gw, g1, g2, dG, X, (size_t)rows, n, (size_t)n);
                for (c = 0; c < n; ++c) {
                    double s = -0.25;
                    for (nr = 0; nr < rows; ++nr) s += dG[nr * n + c];
                    if (fabs(s - g1[c]) > worst_g) worst_g = fabs(s - g1[c]);
                    if (fabs(s - g2[c]) > worst_g) worst_g = fabs(s - g2[c]);
                    for (f = 0; f < I; ++f) {
                        double e = 0.5;
                        for (nr = 0; nr < rows; ++nr) e += (double)dG[nr * n + c] * X[nr * I + f];
                        if (fabs(e - gw[c * I + f]) > worst_g) worst_g = fabs(e - gw[c * I + f]);
                    }
                }
            }
    printf("narrow-input projection (inputs 1..%d) vs. plain loops: max diff %.2g\n", KDTS__FUSE_IN, worst_p);
    KT_CHECK(worst_p < 1e-5, "kdts__proj_small deviates by %g", worst_p);
    printf("univariate-input weight and bias gradients vs. plain loops: max diff %.2g\n", worst_g);
    KT_CHECK(worst_g < 1e-5, "kdts__dgrad_univariate deviates by %g", worst_g);
}

/* ------------------------------------------------------ PyTorch vectors */
static double cmp_tensor(const char *what, const float *got, const ref_tensor *want, size_t n, double tol)
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
    printf("  %-18s n=%-4lu first %+.6f vs %+.6f  max|diff| %.2e  max|ref| %.2e  rel %.2e\n", what,
           (unsigned long)n, (double)got[0], want->data[0], maxd, scale, maxd / (scale > 0 ? scale : 1));
    KT_CHECK(maxd <= tol * (scale > 0 ? scale : 1), "%s deviates from PyTorch: %g (relative %g > %g)", what, maxd,
             maxd / scale, tol);
    return maxd / (scale > 0 ? scale : 1);
}

static void test_torch_ref(void)
{
    ref_file rf = ref_load("tests/ref/lstm_ref.bin");
    const ref_tensor *sz;
    double worst = 0.0, e;
    int mode;
    /* relative to each tensor's largest magnitude: float32 storage and
       accumulation give ~1e-7 per operation; 1e-5 leaves room for the
       ~100 sequential operations of BPTT in this model */
    const double tol = 1e-5;
    KT_CHECK(rf.ok, "cannot read tests/ref/lstm_ref.bin: %s", rf.ok ? "" : rf.err);
    if (!rf.ok) return;
    sz = ref_get(&rf, "sizes");
    printf("PyTorch reference (tests/ref/lstm_ref.bin):\n");
    for (mode = 0; mode < 2; ++mode) {
        const char *pf = mode ? "ds_" : "pt_";
        char nm[64];
        kdts_lstm m;
        kdts_lstm_ws ws;
        kdts_lstm_config cfg;
        kdts_loss_config lc;
        kdts_loss_value lv;
        const ref_tensor *t, *hyp = ref_get(&rf, "hyper");
        int B = (int)sz->data[0], T = (int)sz->data[1], F = (int)sz->data[2], H = (int)sz->data[3];
        int L = (int)sz->data[4], h = (int)sz->data[5], K = (int)sz->data[6], O, wi;
        size_t i, nx = (size_t)B * T * F, ns = (size_t)L * B * H;
        float *x, *h0, *c0, *y, *tv, *tp = NULL, *out, *dout, *dx, *dh0, *dc0, *hN, *cN, loss4[4];
        float alpha = (float)hyp->data[0], beta = (float)hyp->data[1];
        memset(&cfg, 0, sizeof cfg);
        cfg.input = F;
        cfg.hidden = H;
        cfg.layers = L;
        cfg.horizon = h;
        cfg.mode = mode ? KDTS_MODE_DIST : KDTS_MODE_POINT;
        cfg.bins = K;
        cfg.bin_lo = (float)hyp->data[3];
        cfg.bin_hi = (float)hyp->data[4];
        kdts_lstm_init(&m, &cfg, 1, NULL);
        kdts_lstm_ws_init(&ws, &cfg, B, T, 1, NULL);
        O = m.outputs;
        sprintf(nm, "%sparams", pf);
        t = ref_get(&rf, nm);
        KT_CHECK(t && t->n == m.nparams, "%s has %lu values, model has %lu", nm, t ? (unsigned long)t->n : 0UL,
                 (unsigned long)m.nparams);
        if (!t || t->n != m.nparams) { kdts_lstm_free(&m); kdts_lstm_ws_free(&ws); continue; }
        for (i = 0; i < m.nparams; ++i) m.params[i] = (float)t->data[i];
#define LOADF(dst, name, count)                                              \
    do {                                                                     \
        const ref_tensor *tt_ = ref_get(&rf, name);                          \
        dst = (float *)calloc((count) + 1, sizeof(float));                   \
        if (tt_ && tt_->n == (count))                                        \
            for (i = 0; i < (count); ++i) dst[i] = (float)tt_->data[i];      \
        else KT_CHECK(0, "reference tensor %s missing", name);               \
    } while (0)
        LOADF(x, "x", nx);
        LOADF(h0, "h0", ns);
        LOADF(c0, "c0", ns);
        LOADF(y, "y", (size_t)B * T * h);
        if (mode) {
            LOADF(tv, "ds_et", (size_t)B * T * h);
            LOADF(tp, "ds_pt", (size_t)B * h * K);
        } else {
            LOADF(tv, "tv", (size_t)B * T * h);
        }
        out = (float *)calloc((size_t)B * T * O, 4);
        dout = (float *)calloc((size_t)B * T * O, 4);
        dx = (float *)calloc(nx, 4);
        dh0 = (float *)calloc(ns, 4);
        dc0 = (float *)calloc(ns, 4);
        hN = (float *)calloc(ns, 4);
        cN = (float *)calloc(ns, 4);
        kdts_lstm_forward(&m, &ws, x, B, T, h0, c0, out, 1, NULL, NULL);
        kdts_lstm_final_state(&ws, hN, cN);
        printf(" %s mode:\n", mode ? "distribution" : "point");
        sprintf(nm, "%sout", pf);
        e = cmp_tensor(nm, out, ref_get(&rf, nm), (size_t)B * T * O, tol); if (e > worst) worst = e;
        sprintf(nm, "%shN", pf);
        e = cmp_tensor(nm, hN, ref_get(&rf, nm), ns, tol); if (e > worst) worst = e;
        sprintf(nm, "%scN", pf);
        e = cmp_tensor(nm, cN, ref_get(&rf, nm), ns, tol); if (e > worst) worst = e;
        /* one window at a time (the B = 1 path) against the same reference */
        {
            float *o1 = (float *)calloc((size_t)T * O, 4), *h1 = (float *)calloc((size_t)L * H, 4);
            float *c1 = (float *)calloc((size_t)L * H, 4), *all = (float *)calloc((size_t)B * T * O, 4);
            int bb, ll, jj;
            for (bb = 0; bb < B; ++bb) {
                for (ll = 0; ll < L; ++ll)
                    for (jj = 0; jj < H; ++jj) {
                        h1[ll * H + jj] = h0[((size_t)ll * B + bb) * H + jj];
                        c1[ll * H + jj] = c0[((size_t)ll * B + bb) * H + jj];
                    }
                kdts_lstm_forward(&m, &ws, x + (size_t)bb * T * F, 1, T, h1, c1, o1, 0, NULL, NULL);
                memcpy(all + (size_t)bb * T * O, o1, (size_t)T * O * 4);
            }
            sprintf(nm, "%sout", pf);
            printf("  (one window at a time)\n");
            e = cmp_tensor(nm, all, ref_get(&rf, nm), (size_t)B * T * O, tol); if (e > worst) worst = e;
            free(o1); free(h1); free(c1); free(all);
            kdts_lstm_forward(&m, &ws, x, B, T, h0, c0, out, 1, NULL, NULL); /* restore the batch forward */
        }
        kdts_loss_config_from_model(&lc, &m);
        lc.temperature = (float)hyp->data[2];
        lc.label_sigma = (float)hyp->data[5];
        kdts_distill_loss(&lc, alpha, beta, out, y, tv, tp, B, T, &lv, dout, NULL);
        loss4[0] = (float)lv.total;
        loss4[1] = (float)lv.hard;
        loss4[2] = (float)lv.soft;
        loss4[3] = (float)lv.seq;
        sprintf(nm, "%sloss", pf);
        e = cmp_tensor(nm, loss4, ref_get(&rf, nm), 4, tol); if (e > worst) worst = e;
        kdts_lstm_zero_grad(&m);
        kdts_lstm_backward(&m, &ws, dout, dx, dh0, dc0, NULL);
        sprintf(nm, "%sdparams", pf);
        e = cmp_tensor(nm, m.grads, ref_get(&rf, nm), m.nparams, tol); if (e > worst) worst = e;
        sprintf(nm, "%sdx", pf);
        e = cmp_tensor(nm, dx, ref_get(&rf, nm), nx, tol); if (e > worst) worst = e;
        sprintf(nm, "%sdh0", pf);
        e = cmp_tensor(nm, dh0, ref_get(&rf, nm), ns, tol); if (e > worst) worst = e;
        sprintf(nm, "%sdc0", pf);
        e = cmp_tensor(nm, dc0, ref_get(&rf, nm), ns, tol); if (e > worst) worst = e;
        /* each term alone */
        for (wi = 0; wi < 3; ++wi) {
            static const char *sfx[] = {"hard", "soft", "seq"};
            float w[3] = {0, 0, 0};
            w[wi] = 1.0f;
            kdts_lstm_forward(&m, &ws, x, B, T, h0, c0, out, 1, NULL, NULL);
            kdts_loss_eval(&lc, w[0], w[1], w[2], out, y, tv, tp, B, T, &lv, dout, NULL);
            kdts_lstm_zero_grad(&m);
            kdts_lstm_backward(&m, &ws, dout, NULL, NULL, NULL, NULL);
            sprintf(nm, "%sdparams_%s", pf, sfx[wi]);
            e = cmp_tensor(nm, m.grads, ref_get(&rf, nm), m.nparams, tol); if (e > worst) worst = e;
        }
        free(x); free(h0); free(c0); free(y); free(tv); free(tp); free(out); free(dout);
        free(dx); free(dh0); free(dc0); free(hN); free(cN);
        kdts_lstm_ws_free(&ws);
        kdts_lstm_free(&m);
    }
    printf("largest deviation from PyTorch (relative to each tensor's max): %.3g (bound %.0e)\n", worst, tol);
    ref_free(&rf);
}

/* ------------------------------------------------------------------ Adam */
static void test_adam(void)
{
    kdts_adam a;
    kdts_adam_config c;
    float p[3] = {1.0f, -2.0f, 0.5f}, g[3];
    double m[3] = {0, 0, 0}, v[3] = {0, 0, 0}, q[3] = {1.0, -2.0, 0.5};
    int step, i;
    double maxd = 0.0;
    memset(&c, 0, sizeof c);
    c.lr = 0.1f;
    c.weight_decay = 0.01f;
    KT_CHECK(kdts_adam_init(&a, &c, 3, NULL) == KDTS_OK, "adam init");
    for (step = 1; step <= 5; ++step) {
        /* gradient of sum (p_i - i)^2 / 2 + a fixed term */
        for (i = 0; i < 3; ++i) g[i] = p[i] - (float)i + 0.3f * (float)step;
        for (i = 0; i < 3; ++i) {
            double gi = q[i] - i + 0.3 * step, mh, vh;
            m[i] = 0.9 * m[i] + 0.1 * gi;
            v[i] = 0.999 * v[i] + 0.001 * gi * gi;
            mh = m[i] / (1 - pow(0.9, step));
            vh = v[i] / (1 - pow(0.999, step));
            q[i] = q[i] * (1 - 0.1 * 0.01) - 0.1 * mh / (sqrt(vh) + 1e-8);
        }
        kdts_adam_step(&a, p, g);
        for (i = 0; i < 3; ++i)
            if (fabs(p[i] - q[i]) > maxd) maxd = fabs(p[i] - q[i]);
        if (step == 1) {
            /* first step of Adam moves each weight by lr*sign(g) (plus decay) */
            KT_CHECK(fabs(p[0] - (1.0 * (1 - 0.001) - 0.1)) < 1e-6, "first Adam step %g", (double)p[0]);
        }
    }
    printf("adam: 5 steps against a hand computation, max diff %.2g\n", maxd);
    KT_CHECK(maxd < 1e-5, "adam deviates by %g", maxd);
    KT_CHECK(a.step == 5, "step count");
    kdts_adam_free(&a);
    {
        float gg[2] = {3.0f, 4.0f};
        double nrm = kdts_clip_grad_norm(gg, 2, 1.0f);
        KT_CHECK(fabs(nrm - 5.0) < 1e-6 && fabs(gg[0] - 0.6f) < 1e-6 && fabs(gg[1] - 0.8f) < 1e-6, "clip");
    }
    {
        /* clipping inside the step: a huge gradient moves by at most lr */
        float p1[2] = {0, 0}, g1[2] = {1e6f, -1e6f};
        memset(&c, 0, sizeof c);
        c.clip_norm = 1.0f;
        kdts_adam_init(&a, &c, 2, NULL);
        KT_CHECK(fabs(kdts_adam_step(&a, p1, g1) - 1e6 * sqrt(2.0)) < 1.0, "norm returned before clipping");
        KT_CHECK(fabs(g1[0] - 1.0f / sqrtf(2.0f)) < 1e-6, "gradient clipped in place");
        kdts_adam_free(&a);
    }
}

/* ------------------------------------------------------------ losses */
static void test_loss_misc(void)
{
    kdts_loss_config lc;
    float lo, hi, z[8] = {0, 0, 0, 0, 0, 0, 0, 0}, v;
    memset(&lc, 0, sizeof lc);
    /* a uniform distribution over [-4,4] in 8 bins: mean 0, 80% interval [-3.2, 3.2] */
    kdts_dist_expect(&v, z, 1, 8, -4, 4);
    KT_CHECK(fabs(v) < 1e-6, "expected value of a uniform distribution %g", (double)v);
    kdts_dist_interval(z, 8, -4, 4, 0.8f, &lo, &hi);
    KT_CHECK(fabs(lo + 3.2) < 1e-4 && fabs(hi - 3.2) < 1e-4, "interval [%g,%g]", (double)lo, (double)hi);
    KT_CHECK(fabs(kdts_bin_centre(-4, 4, 8, 0) + 3.5f) < 1e-6, "bin centre");
    /* point loss by hand: out 1, target 0, teacher 2 over B=1,T=2,h=1 */
    {
        float out[2] = {1, 3}, tg[2] = {0, 0}, tvv[2] = {2, 2}, d[2];
        kdts_loss_value lv;
        lc.mode = KDTS_MODE_POINT;
        lc.horizon = 1;
        kdts_distill_loss(&lc, 0.5f, 2.0f, out, tg, tvv, NULL, 1, 2, &lv, d, NULL);
        /* hard = (1+9)/2 = 5, soft = (3-2)^2 = 1, seq = (1+1)/2 = 1 */
        KT_CHECK(fabs(lv.hard - 5) < 1e-9 && fabs(lv.soft - 1) < 1e-9 && fabs(lv.seq - 1) < 1e-9, "loss terms");
        KT_CHECK(fabs(lv.total - (0.5 * 5 + 0.5 * 1 + 2 * 1)) < 1e-9, "combined %g", lv.total);
        /* d/dout0 = 0.5*2*1/2 + 2*2*(-1)/2 = -1.5; d/dout1 = 0.5*2*3/2 + 0.5*2*1 + 2*2*1/2 = 4.5 */
        KT_CHECK(fabs(d[0] + 1.5f) < 1e-6 && fabs(d[1] - 4.5f) < 1e-6, "loss gradient %g %g", (double)d[0], (double)d[1]);
        lc.hard_last_only = 1;
        kdts_distill_loss(&lc, 0.0f, 0.0f, out, tg, tvv, NULL, 1, 2, &lv, d, NULL);
        KT_CHECK(fabs(lv.hard - 9) < 1e-9 && d[0] == 0.0f, "hard loss on the last step only");
        out[0] = NAN;
        lc.hard_last_only = 0;
        KT_CHECK(kdts_distill_loss(&lc, 0.0f, 0.0f, out, tg, tvv, NULL, 1, 2, &lv, d, NULL) == KDTS_ERR_NONFINITE,
                 "NaN loss reported");
    }
}

/* --------------------------------------------------------- training */
/* windows of a univariate series s: x (n,T,1) = s[i..i+T), y (n,T,h) */
static void make_windows(const float *s, int start, int n, int T, int h, float *x, float *y)
{
    int i, t, j;
    for (i = 0; i < n; ++i)
        for (t = 0; t < T; ++t) {
            x[(size_t)i * T + t] = s[start + i + t];
            for (j = 0; j < h; ++j) y[((size_t)i * T + t) * h + j] = s[start + i + t + 1 + j];
        }
}

static void test_training(void)
{
    enum { N = 1400, T = 24, H_ = 2 };
    static float s[N];
    kdts_rng r;
    int i, ntr = 900, nte = 300, ok;
    double mean = 0, var = 0, mse_t, mse_raw, mse_kd, mse_sine, agree_raw = 0, agree_kd = 0;
    float *xtr, *ytr, *xte, *yte, *ft, *fr, *fk;
    kdts_dataset dtr, dte;
    kdts_lstm teacher, raw, kd, sine;
    kdts_lstm_config tc, sc;
    kdts_train_config cfg;
    kdts_train_report rep;
    const kdts_lstm *tp[1];
    kdts_rng_seed(&r, 3);
    for (i = 0; i < N; ++i) s[i] = sinf(i * 0.21f) + 0.5f * sinf(i * 0.047f) + 0.1f * kdts_rng_normal(&r);
    for (i = ntr + 100; i < N; ++i) mean += s[i];
    mean /= N - ntr - 100;
    for (i = ntr + 100; i < N; ++i) var += (s[i] - mean) * (s[i] - mean);
    var /= N - ntr - 100;
    xtr = (float *)malloc(sizeof(float) * ntr * T);
    ytr = (float *)malloc(sizeof(float) * ntr * T * H_);
    xte = (float *)malloc(sizeof(float) * nte * T);
    yte = (float *)malloc(sizeof(float) * nte * T * H_);
    ft = (float *)malloc(sizeof(float) * nte * H_);
    fr = (float *)malloc(sizeof(float) * nte * H_);
    fk = (float *)malloc(sizeof(float) * nte * H_);
    make_windows(s, 0, ntr, T, H_, xtr, ytr);
    make_windows(s, ntr + 100 - T, nte, T, H_, xte, yte);
    dtr.x = xtr; dtr.y = ytr; dtr.n = ntr; dtr.T = T; dtr.F = 1; dtr.h = H_;
    dte.x = xte; dte.y = yte; dte.n = nte; dte.T = T; dte.F = 1; dte.h = H_;

    /* a 1-layer LSTM learns the noisy sine */
    memset(&sc, 0, sizeof sc);
    sc.hidden = 16;
    sc.horizon = H_;
    kdts_lstm_init(&sine, &sc, 11, NULL);
    memset(&cfg, 0, sizeof cfg);
    /* KDTS_TEST_SMALL: half the epochs of these four trainings (the same
       calls; the checks keep a 2x margin there: KD 0.008 vs raw 0.016) */
    if (kt_small()) printf("KDTS_TEST_SMALL: learning and distillation with half the epochs\n");
    cfg.epochs = kt_small() ? 6 : 12;
    cfg.batch = 16;
    cfg.adam.lr = 1e-2f;
    cfg.seed = 5;
    ok = kdts_train(&sine, &cfg, &dtr, NULL, NULL, 0, &rep, NULL) == KDTS_OK;
    kdts_eval_mse(&sine, &dte, &mse_sine, NULL, NULL);
    printf("learning: 1x16 LSTM on a noisy sine: test MSE %.4f, series variance %.4f, noise variance 0.01\n",
           mse_sine, var);
    KT_CHECK(ok && mse_sine < 0.1 * var, "sine test MSE %g not well below variance %g", mse_sine, var);

    /* teacher, raw student, distilled student (alpha = 1) on a fixed seed */
    memset(&tc, 0, sizeof tc);
    tc.hidden = 24;
    tc.layers = 2;
    tc.horizon = H_;
    kdts_lstm_init(&teacher, &tc, 21, NULL);
    kdts_train(&teacher, &cfg, &dtr, NULL, NULL, 0, NULL, NULL);
    sc.hidden = 3;
    kdts_lstm_init(&raw, &sc, 31, NULL);
    kdts_lstm_init(&kd, &sc, 31, NULL);
    cfg.epochs = kt_small() ? 3 : 6;
    kdts_train(&raw, &cfg, &dtr, NULL, NULL, 0, NULL, NULL);
    cfg.alpha = 1.0f; /* no hard labels at all: teacher forecast and teacher sequence */
    cfg.beta = 1.0f;
    tp[0] = &teacher;
    ok = kdts_train(&kd, &cfg, &dtr, NULL, tp, 1, NULL, NULL) == KDTS_OK;
    KT_CHECK(ok, "distillation ran");
    kdts_eval_mse(&teacher, &dte, &mse_t, NULL, NULL);
    kdts_eval_mse(&raw, &dte, &mse_raw, NULL, NULL);
    kdts_eval_mse(&kd, &dte, &mse_kd, NULL, NULL);
    kdts_predict(&teacher, xte, nte, T, ft, NULL);
    kdts_predict(&raw, xte, nte, T, fr, NULL);
    kdts_predict(&kd, xte, nte, T, fk, NULL);
    for (i = 0; i < nte * H_; ++i) {
        agree_raw += (fr[i] - ft[i]) * (fr[i] - ft[i]);
        agree_kd += (fk[i] - ft[i]) * (fk[i] - ft[i]);
    }
    agree_raw /= nte * H_;
    agree_kd /= nte * H_;
    printf("distillation: teacher 2x24 MSE %.4f; 1x3 student raw MSE %.4f, KD MSE %.4f; "
           "MSE to the teacher's forecasts: raw %.5f, KD %.5f\n",
           mse_t, mse_raw, mse_kd, agree_raw, agree_kd);
    KT_CHECK(agree_kd < agree_raw, "KD student (%g) not closer to the teacher than the raw student (%g)", agree_kd,
             agree_raw);

    /* early stopping keeps the best validation weights */
    {
        kdts_lstm es;
        double vm;
        kdts_lstm_init(&es, &sc, 41, NULL);
        memset(&cfg, 0, sizeof cfg);
        cfg.epochs = 5;
        cfg.batch = 32;
        cfg.patience = 1;
        cfg.adam.lr = 0.05f;
        kdts_train(&es, &cfg, &dtr, &dte, NULL, 0, &rep, NULL);
        kdts_eval_mse(&es, &dte, &vm, NULL, NULL);
        KT_CHECK(fabs(vm - rep.best_val_mse) < 1e-6 * (1 + vm), "restored weights give the best validation MSE (%g vs %g)",
                 vm, rep.best_val_mse);
        kdts_lstm_free(&es);
    }
    /* the same seed gives the same weights, a different seed different ones */
    {
        kdts_lstm a, b;
        kdts_lstm_init(&a, &sc, 99, NULL);
        kdts_lstm_init(&b, &sc, 99, NULL);
        KT_CHECK(memcmp(a.params, b.params, a.nparams * 4) == 0, "seeded init repeats");
        kdts_lstm_reset(&b, 100);
        KT_CHECK(memcmp(a.params, b.params, a.nparams * 4) != 0, "different seeds differ");
        /* a fixed value: the portable RNG gives the same first weight everywhere */
        printf("first weight for seed 99: %.9g\n", (double)a.params[0]);
        kdts_lstm_free(&a);
        kdts_lstm_free(&b);
    }
    kdts_lstm_free(&teacher);
    kdts_lstm_free(&raw);
    kdts_lstm_free(&kd);
    kdts_lstm_free(&sine);
    free(xtr); free(ytr); free(xte); free(yte); free(ft); free(fr); free(fk);
}

static void test_rng(void)
{
    kdts_rng r;
    unsigned long long first;
    kdts_rng_seed(&r, 12345);
    first = kdts_rng_next(&r);
    /* fixed by the algorithm (splitmix64 seeding, xorshift128+); the value
       was computed by an independent implementation of the same recurrences */
    KT_CHECK(first == 0x6ff7a029f2e261ebULL, "rng first value %llx", first);
    {
        int idx[10], i, seen = 0;
        for (i = 0; i < 10; ++i) idx[i] = i;
        kdts_rng_shuffle(&r, idx, 10);
        for (i = 0; i < 10; ++i) seen |= 1 << idx[i];
        KT_CHECK(seen == 1023, "shuffle is a permutation");
    }
}

int main(void)
{
    printf("kdts %s, SIMD path: %s\n", KDTS_VERSION_STRING, kdts_simd_name());
    test_rng();
    test_gemm();
    test_gemm_rows();
    test_vec();
    test_adam();
    test_loss_misc();
    test_gradcheck();
    test_torch_ref();
    test_single_window();
    test_blocked_backward();
#ifdef _OPENMP
    test_threads_dropout();
#endif
    test_narrow_kernels();
    if (kt_tiny())
        printf("KDTS_TEST_SMALL=2: the learning and distillation trainings NOT run here (the native scalar build of "
               "make test-paths runs them)\n");
    else
        test_training();
    return kt_done();
}
