/* test_linear.c - the NLinear / DLinear models, their closed-form ridge fit
   and the seasonal-period detector.

   - forward and every gradient (each parameter and each input) against
     central finite differences of an independent double-precision model
     (the trend built from an explicitly padded window, not by clamped
     indices), point and dist mode, with and without subtract_last, odd
     sizes, T = 1, a kernel longer than the window, and windows longer than
     the implementation's stack chunk;
   - forward and gradients against PyTorch (tests/ref/linear_ref.bin, from
     tools/gen_torch_ref_linear.py);
   - the closed-form fit against numpy's least squares / ridge solutions
     stored in the same file, against the optimality condition (gradient of
     the ridge objective at the solution), and against Adam converging to
     it; the statistics reused across lambdas, kinds and kernels; the
     validation search;
   - the period detector on synthetic series with known periods, on noise
     and random walks (no period), and on the bundled data files.
   Run from the repository root (reads tests/ref/ and data/). */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include "ref_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static float frand(kdts_rng *r) { return 2.0f * kdts_rng_uniform(r) - 1.0f; }

static float *fnew(size_t n)
{
    float *p = (float *)calloc(n ? n : 1, sizeof(float));
    if (!p) {
        printf("out of memory\n");
        exit(1);
    }
    return p;
}

static double *dnew(size_t n)
{
    double *p = (double *)calloc(n ? n : 1, sizeof(double));
    if (!p) {
        printf("out of memory\n");
        exit(1);
    }
    return p;
}

static kdts_linear_config mkcfg(int kind, int dist, int T, int F, int H, int K, int kernel, int sub, int trev)
{
    kdts_linear_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind ? KDTS_LINEAR_DLINEAR : KDTS_LINEAR_NLINEAR;
    c.mode = dist ? KDTS_MODE_DIST : KDTS_MODE_POINT;
    c.lookback = T;
    c.input = F;
    c.horizon = H;
    c.bins = dist ? K : 0;
    c.bin_lo = dist ? -2.0f : 0.0f;
    c.bin_hi = dist ? 2.0f : 0.0f;
    c.kernel = kernel;
    c.subtract_last = sub;
    c.target_rev = trev;
    return c;
}

/* ---------------------------------------- the independent double model */

/* out (B,O) of the model with double parameters p (kdts layout) on x. The
   trend is computed from an explicitly padded copy of the window: p values
   of the first step, the window, p values of the last step, then a plain
   average over each run of `kernel` values. */
static void dforward(const kdts_linear_config *c, const double *p, const double *x, int B, double *out)
{
    int T = c->lookback, F = c->input, D = T * F, O = c->mode == KDTS_MODE_DIST ? c->horizon * c->bins : c->horizon;
    int b, t, f, o, i, j;
    int pad = c->kind == KDTS_LINEAR_DLINEAR ? (c->kernel - 1) / 2 : 0;
    double *z = dnew((size_t)D), *tr = dnew((size_t)D), *padded = dnew((size_t)(T + 2 * pad));
    const double *W = p, *bb = p + (size_t)O * D, *W2 = p + (size_t)(D + 1) * O, *b2 = W2 + (size_t)O * D;
    for (b = 0; b < B; ++b) {
        const double *xb = x + (size_t)b * D;
        for (t = 0; t < T; ++t)
            for (f = 0; f < F; ++f) z[t * F + f] = xb[t * F + f] - (c->subtract_last ? xb[(T - 1) * F + f] : 0.0);
        if (c->kind == KDTS_LINEAR_DLINEAR) {
            for (f = 0; f < F; ++f) {
                for (i = 0; i < pad; ++i) padded[i] = z[f];
                for (t = 0; t < T; ++t) padded[pad + t] = z[t * F + f];
                for (i = 0; i < pad; ++i) padded[pad + T + i] = z[(T - 1) * F + f];
                for (t = 0; t < T; ++t) {
                    double s = 0.0;
                    for (j = 0; j < c->kernel; ++j) s += padded[t + j];
                    tr[t * F + f] = s / c->kernel;
                }
            }
        }
        for (o = 0; o < O; ++o) {
            double s = bb[o];
            if (c->kind == KDTS_LINEAR_NLINEAR) {
                for (i = 0; i < D; ++i) s += W[(size_t)o * D + i] * z[i];
            } else {
                s += b2[o];
                for (i = 0; i < D; ++i) s += W[(size_t)o * D + i] * tr[i] + W2[(size_t)o * D + i] * (z[i] - tr[i]);
            }
            if (c->subtract_last) s += xb[(T - 1) * F + (F - 1 - c->target_rev)];
            out[(size_t)b * O + o] = s;
        }
    }
    free(z);
    free(tr);
    free(padded);
}

/* L = sum G .* out in double */
static double dloss(const kdts_linear_config *c, const double *p, const double *x, int B, const double *G, double *out)
{
    int O = c->mode == KDTS_MODE_DIST ? c->horizon * c->bins : c->horizon, i;
    double s = 0.0;
    dforward(c, p, x, B, out);
    for (i = 0; i < B * O; ++i) s += G[i] * out[i];
    return s;
}

/* Forward and every gradient of one configuration against the double
   model. full: every parameter and input by finite differences; otherwise
   a sample of them plus random directions (large windows). */
static void check_config(const char *name, kdts_linear_config c, int B, int full, unsigned long long seed)
{
    kdts_linear m;
    kdts_error e;
    kdts_rng r;
    int D, O, i;
    size_t np, k, nx;
    float *x, *out, *G, *dx;
    double *xd, *pd, *Gd, *outd, maxo = 0.0, so = 0.0, maxgp = 0.0, sgp = 0.0, maxgx = 0.0, sgx = 0.0;
    const double eps = 1e-6;
    kdts_result rc = kdts_linear_init(&m, &c, seed, &e);
    KT_CHECK(rc == KDTS_OK, "%s: init %d (%s)", name, (int)rc, e.message);
    if (rc != KDTS_OK) return;
    D = m.inputs;
    O = m.outputs;
    np = m.nparams;
    nx = (size_t)B * D;
    kdts_rng_seed(&r, seed * 7 + 1);
    x = fnew(nx);
    out = fnew((size_t)B * O);
    G = fnew((size_t)B * O);
    dx = fnew(nx);
    xd = dnew(nx);
    pd = dnew(np);
    Gd = dnew((size_t)B * O);
    outd = dnew((size_t)B * O);
    for (k = 0; k < nx; ++k) xd[k] = x[k] = 1.5f * frand(&r);
    for (k = 0; k < np; ++k) pd[k] = m.params[k] = 0.8f * frand(&r);
    for (k = 0; k < (size_t)B * O; ++k) Gd[k] = G[k] = frand(&r);

    /* forward */
    rc = kdts_linear_forward(&m, x, B, c.lookback, out, &e);
    KT_CHECK(rc == KDTS_OK, "%s: forward %d", name, (int)rc);
    dforward(&c, pd, xd, B, outd);
    for (k = 0; k < (size_t)B * O; ++k) {
        double d = fabs(out[k] - outd[k]);
        if (!(d == d)) d = 1e30;
        if (d > maxo) maxo = d;
        if (fabs(outd[k]) > so) so = fabs(outd[k]);
    }
    KT_CHECK(maxo <= 1e-5 * (so > 1 ? so : 1), "%s: forward deviates from the double model by %g (scale %g)", name, maxo,
             so);

    /* backward: prefilled dx must be overwritten, grads added */
    for (k = 0; k < nx; ++k) dx[k] = 1234.5f;
    kdts_linear_zero_grad(&m);
    rc = kdts_linear_backward(&m, x, B, c.lookback, G, dx, &e);
    KT_CHECK(rc == KDTS_OK, "%s: backward %d", name, (int)rc);

    /* parameters */
    {
        size_t step = full ? 1 : np / 97 + 1;
        for (k = 0; k < np; k += step) {
            double lp, lm, num, d;
            double keep = pd[k];
            pd[k] = keep + eps;
            lp = dloss(&c, pd, xd, B, Gd, outd);
            pd[k] = keep - eps;
            lm = dloss(&c, pd, xd, B, Gd, outd);
            pd[k] = keep;
            num = (lp - lm) / (2 * eps);
            d = fabs(num - m.grads[k]);
            if (!(d == d)) d = 1e30;
            if (d > maxgp) maxgp = d;
            if (fabs(num) > sgp) sgp = fabs(num);
        }
    }
    /* inputs */
    {
        size_t step = full ? 1 : nx / 61 + 1;
        for (k = 0; k < nx; k += step) {
            double lp, lm, num, d, keep = xd[k];
            xd[k] = keep + eps;
            lp = dloss(&c, pd, xd, B, Gd, outd);
            xd[k] = keep - eps;
            lm = dloss(&c, pd, xd, B, Gd, outd);
            xd[k] = keep;
            num = (lp - lm) / (2 * eps);
            d = fabs(num - dx[k]);
            if (!(d == d)) d = 1e30;
            if (d > maxgx) maxgx = d;
            if (fabs(num) > sgx) sgx = fabs(num);
        }
    }
    /* random directions through everything (large windows) */
    if (!full) {
        int rep;
        for (rep = 0; rep < 3; ++rep) {
            double *u = dnew(np), *v = dnew(nx), *pp = dnew(np), *xp = dnew(nx), lp, lm, num, an = 0.0, d, sc = 0.0;
            for (k = 0; k < np; ++k) u[k] = frand(&r);
            for (k = 0; k < nx; ++k) v[k] = frand(&r);
            for (k = 0; k < np; ++k) pp[k] = pd[k] + eps * u[k];
            for (k = 0; k < nx; ++k) xp[k] = xd[k] + eps * v[k];
            lp = dloss(&c, pp, xp, B, Gd, outd);
            for (k = 0; k < np; ++k) pp[k] = pd[k] - eps * u[k];
            for (k = 0; k < nx; ++k) xp[k] = xd[k] - eps * v[k];
            lm = dloss(&c, pp, xp, B, Gd, outd);
            num = (lp - lm) / (2 * eps);
            for (k = 0; k < np; ++k) {
                an += m.grads[k] * u[k];
                sc += fabs(m.grads[k] * u[k]);
            }
            for (k = 0; k < nx; ++k) {
                an += dx[k] * v[k];
                sc += fabs(dx[k] * v[k]);
            }
            d = fabs(num - an);
            KT_CHECK(d <= 1e-5 * (sc > 1 ? sc : 1), "%s: directional derivative %g vs %g", name, an, num);
            free(u);
            free(v);
            free(pp);
            free(xp);
        }
    }
    printf("  %-28s D=%-4d O=%-3d np=%-5lu fwd %.1e  dparams %.1e (max %.1e)  dx %.1e (max %.1e)%s\n", name, D, O,
           (unsigned long)np, maxo / (so > 1 ? so : 1), maxgp, sgp, maxgx, sgx, full ? "" : "  (sampled)");
    KT_CHECK(maxgp <= 1e-5 * (sgp > 1 ? sgp : 1), "%s: parameter gradients deviate by %g (scale %g)", name, maxgp, sgp);
    KT_CHECK(maxgx <= 1e-5 * (sgx > 1 ? sgx : 1), "%s: input gradients deviate by %g (scale %g)", name, maxgx, sgx);

    /* accumulation: a second backward doubles grads; dx NULL is fine and
       leaves dx alone */
    {
        float *g1 = fnew(np);
        double worst = 0.0;
        memcpy(g1, m.grads, np * sizeof(float));
        for (k = 0; k < nx; ++k) dx[k] = 7.0f;
        rc = kdts_linear_backward(&m, x, B, c.lookback, G, NULL, NULL);
        KT_CHECK(rc == KDTS_OK, "%s: backward without dx", name);
        for (k = 0; k < np; ++k) {
            double d = fabs(m.grads[k] - 2.0 * g1[k]);
            if (d > worst) worst = d;
        }
        KT_CHECK(worst <= 1e-6 * (sgp > 1 ? sgp : 1), "%s: backward does not add into grads (%g)", name, worst);
        for (k = 0, i = 1; k < nx; ++k)
            if (dx[k] != 7.0f) i = 0;
        KT_CHECK(i, "%s: backward with dx NULL wrote somewhere", name);
        kdts_linear_zero_grad(&m);
        for (k = 0, i = 1; k < np; ++k)
            if (m.grads[k] != 0.0f) i = 0;
        KT_CHECK(i, "%s: zero_grad", name);
        free(g1);
    }
    /* windows one at a time give the batch's outputs */
    {
        float *o1 = fnew((size_t)O);
        int b, same = 1;
        for (b = 0; b < B; ++b) {
            kdts_linear_forward(&m, x + (size_t)b * D, 1, c.lookback, o1, NULL);
            for (i = 0; i < O; ++i)
                if (o1[i] != out[(size_t)b * O + i]) same = 0;
        }
        KT_CHECK(same, "%s: one window at a time differs from the batch", name);
        free(o1);
    }
    free(x);
    free(out);
    free(G);
    free(dx);
    free(xd);
    free(pd);
    free(Gd);
    free(outd);
    kdts_linear_free(&m);
}

static void test_gradients(void)
{
    printf("forward and gradients vs. the double model (finite differences):\n");
    /*                                           kind dist  T  F  H  K  kern sub trev */
    check_config("NLinear point", mkcfg(0, 0, 5, 3, 2, 0, 0, 0, 0), 3, 1, 1);
    check_config("NLinear dist", mkcfg(0, 1, 4, 2, 2, 3, 0, 0, 0), 2, 1, 2);
    check_config("NLinear point subtract_last", mkcfg(0, 0, 6, 3, 3, 0, 0, 1, 1), 3, 1, 3);
    check_config("NLinear T=1", mkcfg(0, 0, 1, 1, 1, 0, 0, 0, 0), 1, 1, 4);
    check_config("NLinear T=1 subtract_last", mkcfg(0, 0, 1, 2, 3, 0, 0, 1, 0), 2, 1, 5);
    check_config("DLinear point k=3", mkcfg(1, 0, 7, 2, 2, 0, 3, 0, 0), 3, 1, 6);
    check_config("DLinear dist k=5", mkcfg(1, 1, 6, 1, 2, 4, 5, 0, 0), 2, 1, 7);
    check_config("DLinear subtract_last k=9>T", mkcfg(1, 0, 5, 2, 3, 0, 9, 1, 0), 3, 1, 8);
    check_config("DLinear k=1", mkcfg(1, 0, 4, 1, 1, 0, 1, 0, 0), 2, 1, 9);
    check_config("DLinear T=1 k=3", mkcfg(1, 0, 1, 2, 2, 0, 3, 0, 0), 2, 1, 10);
    check_config("DLinear T=3 k=11 (p > T)", mkcfg(1, 0, 3, 2, 2, 0, 11, 1, 1), 3, 1, 16);
    check_config("DLinear dist k=7 F=3", mkcfg(1, 1, 8, 3, 1, 2, 7, 0, 0), 2, 1, 11);
    /* windows of more values than one stack chunk (512) */
    check_config("NLinear D=600 subtract_last", mkcfg(0, 0, 100, 6, 17, 0, 0, 1, 2), 3, 0, 12);
    check_config("NLinear D=1031", mkcfg(0, 0, 1031, 1, 7, 0, 0, 0, 0), 2, 0, 13);
    check_config("DLinear D=630 k=25", mkcfg(1, 0, 90, 7, 7, 0, 25, 0, 0), 3, 0, 14);
    check_config("DLinear D=1030 k=25 sub", mkcfg(1, 0, 515, 2, 3, 0, 25, 1, 1), 2, 0, 15);
}

/* ------------------------------------------------------- config, init */
static void test_config(void)
{
    kdts_linear_config c;
    kdts_linear m;
    kdts_error e;
    size_t i;
    int ok;
    memset(&c, 0, sizeof c);
    c.lookback = 10;
    KT_CHECK(kdts_linear_config_check(&c, &e) == KDTS_OK, "zero config with lookback: %s", e.message);
    KT_CHECK(c.input == 1 && c.horizon == 1 && c.kernel == 0 && c.bins == 0, "NLinear defaults");
    c.kind = KDTS_LINEAR_DLINEAR;
    c.mode = KDTS_MODE_DIST;
    KT_CHECK(kdts_linear_config_check(&c, NULL) == KDTS_OK && c.kernel == 25 && c.bins == 32 && c.bin_lo == -4.0f &&
                 c.bin_hi == 4.0f,
             "DLinear dist defaults");
    c = mkcfg(0, 0, 0, 1, 1, 0, 0, 0, 0);
    KT_CHECK(kdts_linear_config_check(&c, &e) == KDTS_ERR_ARG, "lookback 0 accepted");
    c = mkcfg(1, 0, 8, 1, 1, 0, 4, 0, 0);
    KT_CHECK(kdts_linear_config_check(&c, &e) == KDTS_ERR_ARG, "even kernel accepted");
    c = mkcfg(0, 1, 8, 1, 1, 8, 0, 1, 0);
    KT_CHECK(kdts_linear_config_check(&c, &e) == KDTS_ERR_ARG, "subtract_last in dist mode accepted");
    c = mkcfg(0, 0, 8, 2, 1, 0, 0, 1, 2);
    KT_CHECK(kdts_linear_config_check(&c, &e) == KDTS_ERR_ARG, "target_rev >= F accepted");
    c = mkcfg(0, 0, 8, 2, 1, 0, 0, 2, 0);
    KT_CHECK(kdts_linear_config_check(&c, &e) == KDTS_ERR_ARG, "subtract_last 2 accepted");
    c = mkcfg(0, 0, 65536, 65536, 1, 0, 0, 0, 0);
    KT_CHECK(kdts_linear_config_check(&c, &e) == KDTS_ERR_ARG, "T*F = 2^32 accepted");
    KT_CHECK(kdts_linear_param_count(&c) == 0, "param count of an invalid config");
    c = mkcfg(0, 0, 8, 1, 1, 0, 0, 0, 0);
    c.kind = (kdts_linear_kind)5;
    KT_CHECK(kdts_linear_config_check(&c, &e) == KDTS_ERR_ARG, "unknown kind accepted");
    KT_CHECK(kdts_linear_config_check(NULL, &e) == KDTS_ERR_ARG, "NULL config");

    c = mkcfg(0, 0, 96, 1, 24, 0, 0, 0, 0);
    KT_CHECK(kdts_linear_param_count(&c) == 97 * 24, "NLinear 96->24 has %lu params",
             (unsigned long)kdts_linear_param_count(&c));
    KT_CHECK(kdts_linear_flops(&c) == 2.0 * 96 * 24 + 24, "NLinear flops %g", kdts_linear_flops(&c));
    c = mkcfg(1, 1, 96, 2, 24, 16, 25, 0, 0);
    KT_CHECK(kdts_linear_param_count(&c) == 2 * 193 * 384, "DLinear dist params %lu",
             (unsigned long)kdts_linear_param_count(&c));
    KT_CHECK(kdts_linear_flops(&c) == 4.0 * 192 * 384 + 384 + (2.0 * 25 + 3 * 192 - 4) + 192 + 384 + 384, "DLinear flops %g",
             kdts_linear_flops(&c));

    /* init: nn.Linear bounds, determinism */
    c = mkcfg(1, 0, 12, 3, 5, 0, 5, 0, 0);
    KT_CHECK(kdts_linear_init(&m, &c, 42, &e) == KDTS_OK, "init");
    {
        kdts_linear m2;
        float bound = 1.0f / sqrtf(36.0f), mx = 0.0f;
        double mean = 0.0;
        ok = m.nparams == 2 * 37 * 5 && m.outputs == 5 && m.inputs == 36 && m.off_w == 0 && m.off_b == 180 &&
             m.off_w2 == 185 && m.off_b2 == 365 && m.scratch != NULL;
        KT_CHECK(ok, "DLinear layout: np %lu off %lu %lu %lu %lu", (unsigned long)m.nparams, (unsigned long)m.off_w,
                 (unsigned long)m.off_b, (unsigned long)m.off_w2, (unsigned long)m.off_b2);
        for (i = 0; i < m.nparams; ++i) {
            if (fabsf(m.params[i]) > mx) mx = fabsf(m.params[i]);
            mean += m.params[i];
        }
        mean /= m.nparams;
        KT_CHECK(mx <= bound && mx > 0.9f * bound, "init range %g vs bound %g", mx, bound);
        KT_CHECK(fabs(mean) < 0.2 * bound, "init mean %g", mean);
        KT_CHECK(kdts_linear_init(&m2, &c, 42, &e) == KDTS_OK, "init 2");
        KT_CHECK(memcmp(m.params, m2.params, m.nparams * sizeof(float)) == 0, "same seed, different weights");
        kdts_linear_reset(&m2, 43);
        KT_CHECK(memcmp(m.params, m2.params, m.nparams * sizeof(float)) != 0, "reset with another seed");
        kdts_linear_reset(&m2, 42);
        KT_CHECK(memcmp(m.params, m2.params, m.nparams * sizeof(float)) == 0, "reset with the same seed");
        for (i = 0, ok = 1; i < m.nparams; ++i)
            if (m.grads[i] != 0.0f) ok = 0;
        KT_CHECK(ok, "grads start at zero");
        kdts_linear_free(&m2);
        kdts_linear_free(&m2); /* twice is safe */
    }
    /* argument errors */
    {
        float x[36] = {0}, out[5];
        KT_CHECK(kdts_linear_forward(&m, x, 1, 11, out, &e) == KDTS_ERR_SHAPE && e.code == KDTS_ERR_SHAPE,
                 "forward with the wrong T");
        KT_CHECK(kdts_linear_forward(&m, NULL, 1, 12, out, &e) == KDTS_ERR_ARG, "forward with x NULL");
        KT_CHECK(kdts_linear_forward(&m, x, -1, 12, out, &e) == KDTS_ERR_ARG, "forward with B < 0");
        KT_CHECK(kdts_linear_forward(&m, x, 0, 12, NULL, &e) == KDTS_OK, "forward with B = 0");
        KT_CHECK(kdts_linear_backward(&m, x, 1, 13, out, NULL, &e) == KDTS_ERR_SHAPE, "backward with the wrong T");
        KT_CHECK(kdts_linear_backward(&m, x, 1, 12, NULL, NULL, NULL) == KDTS_ERR_ARG, "backward with dout NULL");
    }
    kdts_linear_free(&m);
    KT_CHECK(m.params == NULL && m.grads == NULL && m.scratch == NULL, "free clears");
    {
        kdts_linear z;
        memset(&z, 0, sizeof z);
        kdts_linear_free(&z);
        kdts_linear_free(NULL);
    }
}

/* ---------------------------------------------------- PyTorch vectors */

static double cmp_ref(const char *what, const float *got, const ref_tensor *want, size_t n, double tol)
{
    size_t i;
    double maxd = 0.0, scale = 0.0;
    if (!want || want->n != n) {
        KT_CHECK(0, "reference tensor %s missing or of the wrong size", what);
        return 1e30;
    }
    for (i = 0; i < n; ++i) {
        double d = fabs((double)got[i] - want->data[i]);
        if (!(d == d)) d = 1e30;
        if (d > maxd) maxd = d;
        if (fabs(want->data[i]) > scale) scale = fabs(want->data[i]);
    }
    if (scale == 0.0) scale = 1.0;
    printf("    %-20s n=%-4lu max|diff| %.2e  max|ref| %.2e  rel %.2e\n", what, (unsigned long)n, maxd, scale,
           maxd / scale);
    KT_CHECK(maxd <= tol * scale, "%s deviates from the reference: %g (relative %g > %g)", what, maxd, maxd / scale,
             tol);
    return maxd / scale;
}

static void to_float(float *dst, const ref_tensor *t, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) dst[i] = (float)t->data[i];
}

static const ref_tensor *rget(const ref_file *rf, const char *tag, const char *what)
{
    char nm[64];
    const ref_tensor *t;
    snprintf(nm, sizeof nm, "%s%s", tag, what);
    t = ref_get(rf, nm);
    KT_CHECK(t != NULL, "reference tensor %s missing", nm);
    return t;
}

static void test_torch_ref(const ref_file *rf)
{
    static const char *tags[] = {"nl_pt", "nl_ds", "dl_pt", "dl_ds", "nls_pt", "dl9s_pt"};
    const ref_tensor *sz = ref_get(rf, "sizes"), *xr = ref_get(rf, "x");
    int B, T, F, HZ, K, ti;
    float *x;
    double worst = 0.0, e1;
    KT_CHECK(sz && xr, "sizes / x missing");
    if (!sz || !xr) return;
    B = (int)sz->data[0];
    T = (int)sz->data[1];
    F = (int)sz->data[2];
    HZ = (int)sz->data[3];
    K = (int)sz->data[4];
    x = fnew(xr->n);
    to_float(x, xr, xr->n);
    printf("PyTorch reference (tests/ref/linear_ref.bin), forward and gradients:\n");
    for (ti = 0; ti < 6; ++ti) {
        const char *tag = tags[ti];
        char nm[64];
        const ref_tensor *cf = rget(rf, tag, "_cfg"), *par = rget(rf, tag, "_params"), *dout = rget(rf, tag, "_dout");
        kdts_linear m;
        kdts_linear_config c;
        kdts_error e;
        float *out, *g, *dx;
        int O;
        if (!cf || !par || !dout) continue;
        c = mkcfg((int)cf->data[0], (int)cf->data[1], T, F, HZ, K, (int)cf->data[2], (int)cf->data[3],
                  (int)cf->data[4]);
        O = (int)cf->data[5];
        if (kdts_linear_init(&m, &c, 1, &e) != KDTS_OK || m.nparams != par->n || m.outputs != O) {
            KT_CHECK(0, "%s: model does not match the reference layout", tag);
            continue;
        }
        printf("  %s (%s %s, kernel %d, subtract_last %d):\n", tag, c.kind ? "DLinear" : "NLinear",
               c.mode ? "dist" : "point", c.kernel, c.subtract_last);
        to_float(m.params, par, par->n);
        out = fnew((size_t)B * O);
        g = fnew((size_t)B * O);
        dx = fnew((size_t)B * T * F);
        to_float(g, dout, dout->n);
        KT_CHECK(kdts_linear_forward(&m, x, B, T, out, &e) == KDTS_OK, "%s forward", tag);
        /* float32 parameters, inputs and accumulation against float64 */
        snprintf(nm, sizeof nm, "%s_out", tag);
        e1 = cmp_ref(nm, out, rget(rf, tag, "_out"), (size_t)B * O, 2e-6);
        if (e1 > worst) worst = e1;
        kdts_linear_zero_grad(&m);
        KT_CHECK(kdts_linear_backward(&m, x, B, T, g, dx, &e) == KDTS_OK, "%s backward", tag);
        snprintf(nm, sizeof nm, "%s_dparams", tag);
        e1 = cmp_ref(nm, m.grads, rget(rf, tag, "_dparams"), m.nparams, 2e-6);
        if (e1 > worst) worst = e1;
        snprintf(nm, sizeof nm, "%s_dx", tag);
        e1 = cmp_ref(nm, dx, rget(rf, tag, "_dx"), (size_t)B * T * F, 2e-6);
        if (e1 > worst) worst = e1;
        free(out);
        free(g);
        free(dx);
        kdts_linear_free(&m);
    }
    printf("  worst relative deviation from PyTorch: %.2e\n", worst);
    free(x);
}

/* --------------------------------------------------- closed-form fits */

static void test_fit_ref(const ref_file *rf)
{
    static const char *tags[] = {"fit_nl_l0", "fit_nl_l3", "fit_dl_l3", "fit_dl_l01", "fit_nls_l05", "fit_rel_l0"};
    const ref_tensor *sz = ref_get(rf, "fit_sizes"), *xr = ref_get(rf, "fit_x"), *yr = ref_get(rf, "fit_y");
    const ref_tensor *xrel = ref_get(rf, "fit_relx"), *yrel = ref_get(rf, "fit_rely");
    int n, T, F, H, ti;
    float *x, *y, *xl, *yl, *y1;
    double worst = 0.0;
    KT_CHECK(sz && xr && yr && xrel && yrel, "fit reference tensors missing");
    if (!sz || !xr || !yr || !xrel || !yrel) return;
    n = (int)sz->data[0];
    T = (int)sz->data[1];
    F = (int)sz->data[2];
    H = (int)sz->data[3];
    x = fnew(xr->n);
    y = fnew(yr->n);
    xl = fnew(xrel->n);
    yl = fnew(yrel->n);
    y1 = fnew((size_t)n * H);
    to_float(x, xr, xr->n);
    to_float(y, yr, yr->n);
    to_float(xl, xrel, xrel->n);
    to_float(yl, yrel, yrel->n);
    printf("closed-form fit vs. numpy (lstsq / ridge in float64), n=%d T=%d F=%d h=%d:\n", n, T, F, H);
    for (ti = 0; ti < 6; ++ti) {
        const ref_tensor *cf = rget(rf, tags[ti], "_cfg"), *par = rget(rf, tags[ti], "_params");
        kdts_linear m;
        kdts_linear_config c;
        kdts_error e;
        kdts_result rc;
        int rel = ti == 5, i;
        float *px, *py;
        double lam, d;
        if (!cf || !par) continue;
        c = mkcfg((int)cf->data[0], 0, T, F, H, 0, (int)cf->data[1], (int)cf->data[2], (int)cf->data[3]);
        lam = cf->data[4];
        px = rel ? xl : x;
        py = rel ? yl : y;
        kdts_linear_init(&m, &c, 3, NULL);
        memset(&e, 0, sizeof e);
        rc = kdts_linear_fit(&m, px, py, n, T, lam, &e);
        KT_CHECK(rc == KDTS_OK, "%s: fit %d (%s)", tags[ti], (int)rc, e.message);
        printf("  %-12s %s lambda %-5g", tags[ti], c.kind ? "DLinear" : "NLinear", lam);
        d = cmp_ref("params", m.params, par, m.nparams, 1e-5);
        if (d > worst) worst = d;
        if (rel) {
            /* the always-zero last step has weight exactly 0 */
            int ok = 1, o;
            for (o = 0; o < H; ++o)
                for (i = T * F - F; i < T * F; ++i)
                    if (m.params[o * T * F + i] != 0.0f) ok = 0;
            KT_CHECK(ok, "constant inputs got a weight");
        }
        /* (n,O) targets give the same solution as the per-step layout */
        for (i = 0; i < n; ++i) memcpy(y1 + (size_t)i * H, py + ((size_t)i * T + T - 1) * H, (size_t)H * sizeof(float));
        {
            kdts_linear m1;
            kdts_linear_init(&m1, &c, 3, NULL);
            KT_CHECK(kdts_linear_fit(&m1, px, y1, n, 1, lam, NULL) == KDTS_OK, "fit with y_steps 1");
            KT_CHECK(memcmp(m1.params, m.params, m.nparams * sizeof(float)) == 0, "%s: y_steps 1 and T differ",
                     tags[ti]);
            kdts_linear_free(&m1);
        }
        kdts_linear_free(&m);
    }
    printf("  worst relative deviation from numpy: %.2e\n", worst);
    free(x);
    free(y);
    free(xl);
    free(yl);
    free(y1);
}

/* Windows of a smooth synthetic series with a daily-like season: x (n,T,F)
   (feature 0 the series, others noisy copies), y (n,T,H) per-step targets
   of feature 0 (the last step is what the fits use). rel: relative to the
   window's last values. */
static void make_data(int n, int T, int F, int H, int rel, unsigned long long seed, float *x, float *y)
{
    kdts_rng r;
    int len = n + T + H + 1, i, t, f, j;
    double *s = dnew((size_t)len * F), lvl = 0.0;
    kdts_rng_seed(&r, seed);
    for (i = 0; i < len; ++i) {
        lvl = 0.97 * lvl + 0.3 * kdts_rng_normal(&r);
        s[(size_t)i * F] = lvl + sin(6.283185307179586 * i / 11.0) + 0.2 * kdts_rng_normal(&r);
        for (f = 1; f < F; ++f) s[(size_t)i * F + f] = 0.5 * s[(size_t)i * F] + 0.5 * kdts_rng_normal(&r);
    }
    for (i = 0; i < n; ++i) {
        for (t = 0; t < T; ++t)
            for (f = 0; f < F; ++f) {
                double v = s[(size_t)(i + t) * F + f];
                if (rel) v -= s[(size_t)(i + T - 1) * F + f];
                x[((size_t)i * T + t) * F + f] = (float)v;
            }
        for (t = 0; t < T; ++t)
            for (j = 0; j < H; ++j) {
                double v = s[(size_t)(i + t + 1 + j) * F];
                if (rel) v -= s[(size_t)(i + T - 1) * F];
                y[((size_t)i * T + t) * H + j] = (float)v;
            }
    }
    free(s);
}

/* Ridge objective J = (1/n) sum |y - f(x)|^2 + lambda |W|^2 and its
   gradient (double) of model m at its float parameters; the targets are
   the last step of y (n,T,O). */
static double ridge_obj(const kdts_linear *m, const float *x, const float *y, int n, double lambda, double *grad)
{
    const kdts_linear_config *c = &m->cfg;
    int T = c->lookback, D = m->inputs, O = m->outputs, i, o;
    size_t k;
    double *p = dnew(m->nparams), *xd = dnew((size_t)D), *out = dnew((size_t)O), J = 0.0;
    for (k = 0; k < m->nparams; ++k) p[k] = m->params[k];
    if (grad) memset(grad, 0, m->nparams * sizeof(double));
    for (i = 0; i < n; ++i) {
        const float *yi = y + ((size_t)i * T + T - 1) * O;
        for (k = 0; k < (size_t)D; ++k) xd[k] = x[(size_t)i * D + k];
        dforward(c, p, xd, 1, out);
        for (o = 0; o < O; ++o) J += (out[o] - yi[o]) * (out[o] - yi[o]) / n;
        if (grad) {
            /* d out / d params by finite differences would be slow; the
               double model is linear in p, so differentiate it exactly by
               unit perturbations of the residual weights */
            double *G = dnew((size_t)O), *ob = dnew((size_t)O), *pp = p;
            for (o = 0; o < O; ++o) G[o] = 2.0 * (out[o] - yi[o]) / n;
            for (k = 0; k < m->nparams; ++k) {
                /* out is affine in p[k]: slope = out(p + e_k) - out(p) */
                double keep = pp[k], s = 0.0;
                pp[k] = keep + 1.0;
                dforward(c, pp, xd, 1, ob);
                pp[k] = keep;
                for (o = 0; o < O; ++o) s += G[o] * (ob[o] - out[o]);
                grad[k] += s;
            }
            free(G);
            free(ob);
        }
    }
    /* penalty on the weights (not the biases) */
    {
        size_t nw = (size_t)D * O;
        for (k = 0; k < nw; ++k) {
            J += lambda * p[m->off_w + k] * p[m->off_w + k];
            if (grad) grad[m->off_w + k] += 2.0 * lambda * p[m->off_w + k];
            if (c->kind == KDTS_LINEAR_DLINEAR) {
                J += lambda * p[m->off_w2 + k] * p[m->off_w2 + k];
                if (grad) grad[m->off_w2 + k] += 2.0 * lambda * p[m->off_w2 + k];
            }
        }
    }
    free(p);
    free(xd);
    free(out);
    return J;
}

/* The closed form minimizes the ridge objective: its gradient there is ~0
   (relative to the gradient at the initial weights). */
static void test_fit_optimality(void)
{
    enum { N = 150, T = 9, F = 2, H = 3 };
    static float x[N * T * F], y[N * T * H];
    struct {
        const char *name;
        int kind, kernel, sub, rel;
        double lambda;
    } cs[] = {
        {"NLinear lambda 0", 0, 0, 0, 0, 0.0},
        {"NLinear lambda 0.05", 0, 0, 0, 0, 0.05},
        {"NLinear relative lambda 0", 0, 0, 0, 1, 0.0},
        {"NLinear subtract_last 0.01", 0, 0, 1, 0, 0.01},
        {"DLinear k=5 lambda 0.05", 1, 5, 0, 0, 0.05},
        {"DLinear k=3 sub lambda 1e-3", 1, 3, 1, 0, 1e-3},
        {"DLinear k=11 lambda 2", 1, 11, 0, 1, 2.0},
    };
    size_t i;
    printf("closed-form fit: gradient of the ridge objective at the solution:\n");
    for (i = 0; i < sizeof cs / sizeof cs[0]; ++i) {
        kdts_linear m;
        kdts_linear_config c = mkcfg(cs[i].kind, 0, T, F, H, 0, cs[i].kernel, cs[i].sub, 1);
        double *g0, *g1, n0 = 0.0, n1 = 0.0, J0, J1, Jp;
        size_t k;
        kdts_error e;
        kdts_result rc;
        make_data(N, T, F, H, cs[i].rel, 100 + i, x, y);
        kdts_linear_init(&m, &c, 5, NULL);
        g0 = dnew(m.nparams);
        g1 = dnew(m.nparams);
        J0 = ridge_obj(&m, x, y, N, cs[i].lambda, g0);
        rc = kdts_linear_fit(&m, x, y, N, T, cs[i].lambda, &e);
        KT_CHECK(rc == KDTS_OK, "%s: fit %d (%s)", cs[i].name, (int)rc, e.message);
        J1 = ridge_obj(&m, x, y, N, cs[i].lambda, g1);
        for (k = 0; k < m.nparams; ++k) {
            n0 += g0[k] * g0[k];
            n1 += g1[k] * g1[k];
        }
        n0 = sqrt(n0);
        n1 = sqrt(n1);
        /* a small step along -gradient must not decrease J noticeably */
        {
            kdts_linear mp = m;
            float *keep = fnew(m.nparams);
            memcpy(keep, m.params, m.nparams * sizeof(float));
            for (k = 0; k < m.nparams; ++k) m.params[k] = (float)(m.params[k] - 1e-3 * g1[k] / (n1 > 0 ? n1 : 1));
            Jp = ridge_obj(&mp, x, y, N, cs[i].lambda, NULL);
            memcpy(m.params, keep, m.nparams * sizeof(float));
            free(keep);
        }
        printf("  %-30s J %.6f -> %.6f  |grad| %.2e -> %.2e (ratio %.1e)  J after a 1e-3 step %+.1e\n", cs[i].name, J0,
               J1, n0, n1, n1 / n0, Jp - J1);
        KT_CHECK(n1 < 1e-5 * n0, "%s: gradient at the solution %g (at init %g)", cs[i].name, n1, n0);
        KT_CHECK(Jp >= J1 - 1e-9 * J1, "%s: a step from the solution lowers J by %g", cs[i].name, J1 - Jp);
        free(g0);
        free(g1);
        kdts_linear_free(&m);
    }
}

/* Adam on the same objective converges to the closed form. */
static void test_adam_converges(void)
{
    enum { N = 256, T = 8, F = 1, H = 2 };
    static float x[N * T * F], y[N * T * H];
    float *tgt = fnew(N * H), *out = fnew(N * H), *dout = fnew(N * H);
    int kind;
    kdts_rng r;
    printf("Adam vs. the closed form (full batch, MSE loss through kdts_loss_eval):\n");
    /* well-conditioned windows (independent normal values) and targets
       linear in them plus noise, so that Adam gets close in 3000 steps */
    kdts_rng_seed(&r, 77);
    {
        int i, t, j;
        float w[H][T * F];
        for (j = 0; j < H; ++j)
            for (t = 0; t < T * F; ++t) w[j][t] = 0.4f * frand(&r);
        for (i = 0; i < N * T * F; ++i) x[i] = kdts_rng_normal(&r);
        for (i = 0; i < N; ++i)
            for (t = 0; t < T; ++t)
                for (j = 0; j < H; ++j) {
                    float v = 0.3f + 0.2f * kdts_rng_normal(&r);
                    int q;
                    for (q = 0; q < T * F; ++q) v += w[j][q] * x[(size_t)i * T * F + q];
                    y[((size_t)i * T + t) * H + j] = t == T - 1 ? v : kdts_rng_normal(&r);
                }
    }
    for (kind = 0; kind < 2; ++kind) {
        kdts_linear m, mc;
        kdts_linear_config c = mkcfg(kind, 0, T, F, H, 0, 3, 0, 0);
        kdts_adam a;
        kdts_adam_config ac;
        kdts_loss_config lc;
        kdts_loss_value lv;
        double lambda = kind ? 0.02 : 0.0, Jc, Ja, dmax = 0.0, wmax = 0.0;
        int step, i, o, D = T * F;
        size_t k;
        memset(&ac, 0, sizeof ac);
        memset(&lc, 0, sizeof lc);
        lc.mode = KDTS_MODE_POINT;
        lc.horizon = H;
        for (i = 0; i < N; ++i) memcpy(tgt + i * H, y + ((size_t)i * T + T - 1) * H, H * sizeof(float));
        kdts_linear_init(&mc, &c, 1, NULL);
        KT_CHECK(kdts_linear_fit(&mc, x, y, N, T, lambda, NULL) == KDTS_OK, "closed form");
        kdts_linear_init(&m, &c, 11, NULL);
        ac.lr = 0.02f;
        memset(&a, 0, sizeof a); /* a failed init leaves it untouched */
        KT_CHECK(kdts_adam_init(&a, &ac, m.nparams, NULL) == KDTS_OK, "adam init");
        for (step = 0; step < 3000; ++step) {
            /* L_hard = mean over windows and outputs = J / O without the
               penalty; the penalty's gradient 2 lambda W / O added here */
            a.cfg.lr = (float)(0.02 * pow(1e-3, step / 3000.0));
            kdts_linear_forward(&m, x, N, T, out, NULL);
            kdts_loss_eval(&lc, 1.0f, 0.0f, 0.0f, out, tgt, NULL, NULL, N, 1, &lv, dout, NULL);
            kdts_linear_zero_grad(&m);
            kdts_linear_backward(&m, x, N, T, dout, NULL, NULL);
            if (lambda > 0.0)
                for (o = 0; o < H; ++o)
                    for (i = 0; i < D; ++i) {
                        size_t w1 = m.off_w + (size_t)o * D + i, w2 = m.off_w2 + (size_t)o * D + i;
                        m.grads[w1] += (float)(2.0 * lambda * m.params[w1] / H);
                        m.grads[w2] += (float)(2.0 * lambda * m.params[w2] / H);
                    }
            kdts_adam_step(&a, m.params, m.grads);
        }
        Jc = ridge_obj(&mc, x, y, N, lambda, NULL);
        Ja = ridge_obj(&m, x, y, N, lambda, NULL);
        for (k = 0; k < m.nparams; ++k) {
            int isb = (k >= m.off_b && k < m.off_b + (size_t)H) || (kind && k >= m.off_b2);
            double pa = m.params[k], pc = mc.params[k];
            if (isb) continue;
            if (fabs(pa - pc) > dmax) dmax = fabs(pa - pc);
            if (fabs(pc) > wmax) wmax = fabs(pc);
        }
        /* biases: DLinear's two act only through their sum */
        for (o = 0; o < H; ++o) {
            double ba = m.params[m.off_b + o] + (kind ? m.params[m.off_b2 + o] : 0.0f);
            double bc = mc.params[mc.off_b + o] + (kind ? mc.params[mc.off_b2 + o] : 0.0f);
            if (fabs(ba - bc) > dmax) dmax = fabs(ba - bc);
        }
        printf("  %s lambda %g: objective Adam %.7f vs closed form %.7f (rel %+.1e), max|param diff| %.1e (max|w| %.2f)\n",
               kind ? "DLinear" : "NLinear", lambda, Ja, Jc, (Ja - Jc) / Jc, dmax, wmax);
        KT_CHECK(Ja >= Jc * (1 - 1e-6), "Adam beat the closed form: %g < %g", Ja, Jc);
        KT_CHECK(Ja <= Jc * (1 + 1e-5), "Adam did not reach the closed form: %g vs %g", Ja, Jc);
        KT_CHECK(dmax < 1e-2 * (wmax > 1 ? wmax : 1), "Adam's parameters differ from the closed form by %g", dmax);
        kdts_adam_free(&a);
        kdts_linear_free(&m);
        kdts_linear_free(&mc);
    }
    free(tgt);
    free(out);
    free(dout);
}

/* One set of statistics for many lambdas, both kinds, any kernel; the
   validation search; errors. */
static void test_gram(void)
{
    enum { N = 300, NV = 120, T = 24, F = 1, H = 4 };
    static float x[N * T * F], y[N * T * H], xv[NV * T * F], yv[NV * T * H], out[NV * H], out2[NV * H];
    kdts_linear_config cn = mkcfg(0, 0, T, F, H, 0, 0, 0, 0), cd = mkcfg(1, 0, T, F, H, 0, 7, 0, 0);
    kdts_linear_gram g, g2;
    kdts_linear mn, md, m2;
    kdts_error e;
    kdts_result rc;
    double val[16], best = -5.0;
    int i, k, ok;
    make_data(N, T, F, H, 1, 5, x, y);
    make_data(NV, T, F, H, 1, 6, xv, yv);
    KT_CHECK(kdts_linear_gram_init(&g, &cn, x, y, N, T, &e) == KDTS_OK, "gram: %s", e.message);
    KT_CHECK(g.d == T * F && g.O == H && g.n == N, "gram sizes");
    kdts_linear_init(&mn, &cn, 1, NULL);
    kdts_linear_init(&md, &cd, 1, NULL);
    kdts_linear_init(&m2, &cd, 1, NULL);
    /* same statistics, fresh fit: identical parameters */
    for (k = 0; k < 2; ++k) {
        double lam = k ? 0.3 : 1e-3;
        KT_CHECK(kdts_linear_gram_solve(&g, &md, lam, &e) == KDTS_OK, "DLinear from NLinear statistics: %s", e.message);
        KT_CHECK(kdts_linear_fit(&m2, x, y, N, T, lam, NULL) == KDTS_OK, "DLinear fit");
        KT_CHECK(memcmp(md.params, m2.params, md.nparams * sizeof(float)) == 0,
                 "solve from shared statistics differs from kdts_linear_fit");
    }
    /* DLinear at lambda 0 = NLinear at lambda 0 (W_t = W_s = W) */
    KT_CHECK(kdts_linear_gram_solve(&g, &mn, 0.0, &e) == KDTS_OK, "NLinear lambda 0: %s", e.message);
    KT_CHECK(kdts_linear_gram_solve(&g, &md, 0.0, &e) == KDTS_OK, "DLinear lambda 0: %s", e.message);
    kdts_linear_forward(&mn, xv, NV, T, out, NULL);
    kdts_linear_forward(&md, xv, NV, T, out2, NULL);
    {
        double d = 0.0, s = 0.0;
        for (i = 0; i < NV * H; ++i) {
            if (fabs(out[i] - out2[i]) > d) d = fabs(out[i] - out2[i]);
            if (fabs(out[i]) > s) s = fabs(out[i]);
        }
        KT_CHECK(d < 1e-5 * (s > 1 ? s : 1), "DLinear at lambda 0 forecasts differ from NLinear by %g", d);
        for (i = 0, ok = 1; i < T * F * H; ++i)
            if (md.params[md.off_w + i] != md.params[md.off_w2 + i]) ok = 0;
        KT_CHECK(ok, "DLinear at lambda 0: W_t != W_s");
    }
    /* a larger lambda shrinks the weights */
    {
        double n1 = 0.0, n2 = 0.0;
        kdts_linear_gram_solve(&g, &mn, 1e-3, NULL);
        for (i = 0; i < T * F * H; ++i) n1 += mn.params[i] * mn.params[i];
        kdts_linear_gram_solve(&g, &mn, 1.0, NULL);
        for (i = 0; i < T * F * H; ++i) n2 += mn.params[i] * mn.params[i];
        KT_CHECK(n2 < n1, "lambda 1 does not shrink the weights (%g vs %g)", n2, n1);
    }
    /* validation search over a given list: val_mse recomputed by hand */
    {
        double lams[5] = {0.0, 1e-4, 1e-2, 1.0, 100.0}, mine[5];
        int bi = 0;
        rc = kdts_linear_fit_select(&md, &g, xv, yv, NV, T, lams, 5, val, &best, &e);
        KT_CHECK(rc == KDTS_OK, "select: %s", e.message);
        for (k = 0; k < 5; ++k) {
            double se = 0.0;
            kdts_linear_gram_solve(&g, &m2, lams[k], NULL);
            kdts_linear_forward(&m2, xv, NV, T, out, NULL);
            for (i = 0; i < NV; ++i) {
                int o;
                for (o = 0; o < H; ++o) {
                    double d = (double)out[i * H + o] - (double)yv[((size_t)i * T + T - 1) * H + o];
                    se += d * d;
                }
            }
            mine[k] = se / (NV * H);
            if (mine[k] < mine[bi]) bi = k;
            KT_CHECK(fabs(mine[k] - val[k]) <= 1e-9 * mine[k], "val_mse[%d] %g vs %g", k, val[k], mine[k]);
        }
        printf("validation search (DLinear k=7): MSE by lambda %.5f %.5f %.5f %.5f %.5f -> lambda %g\n", val[0], val[1],
               val[2], val[3], val[4], best);
        KT_CHECK(best == lams[bi], "chose lambda %g, the lowest MSE is at %g", best, lams[bi]);
        kdts_linear_gram_solve(&g, &m2, best, NULL);
        KT_CHECK(memcmp(md.params, m2.params, md.nparams * sizeof(float)) == 0,
                 "the model is not left solved with the chosen lambda");
        KT_CHECK(val[4] > val[bi], "lambda 100 not worse than the best");
    }
    /* the default grid */
    for (k = 0; k < 16; ++k) val[k] = -7.0;
    rc = kdts_linear_fit_select(&mn, &g, xv, yv, NV, T, NULL, 0, val, &best, &e);
    KT_CHECK(rc == KDTS_OK, "select with the default grid: %s", e.message);
    for (k = 0, ok = 1; k < 16; ++k)
        if (!(val[k] > 0.0)) ok = 0;
    KT_CHECK(ok, "default grid: some val_mse not written");
    KT_CHECK(best == 0.0 || (best >= 0.99e-5 && best <= 100.01), "default grid lambda %g", best);

    /* errors */
    {
        kdts_linear_config bad = mkcfg(0, 0, T + 1, F, H, 0, 0, 0, 0), cdist = mkcfg(0, 1, T, F, H, 8, 0, 0, 0);
        kdts_linear mb, mdist;
        float *keep = fnew(mn.nparams);
        kdts_linear_init(&mb, &bad, 1, NULL);
        kdts_linear_init(&mdist, &cdist, 1, NULL);
        KT_CHECK(kdts_linear_gram_solve(&g, &mb, 0.1, &e) == KDTS_ERR_SHAPE, "solve for another T");
        KT_CHECK(kdts_linear_gram_solve(&g, &mdist, 0.1, &e) == KDTS_ERR_SHAPE, "solve for a dist model");
        KT_CHECK(kdts_linear_gram_solve(&g, &mn, -1.0, &e) == KDTS_ERR_ARG, "negative lambda");
        KT_CHECK(kdts_linear_gram_solve(&g, &mn, sqrt(-1.0), &e) == KDTS_ERR_ARG, "NaN lambda");
        KT_CHECK(kdts_linear_gram_init(&g2, &cdist, x, y, N, T, &e) == KDTS_ERR_ARG, "statistics in dist mode");
        KT_CHECK(kdts_linear_gram_init(&g2, &cn, x, y, 1, T, &e) == KDTS_ERR_ARG, "statistics of one window");
        KT_CHECK(kdts_linear_gram_init(&g2, &cn, x, y, N, 0, &e) == KDTS_ERR_ARG, "y_steps 0");
        KT_CHECK(kdts_linear_fit(&mdist, x, y, N, T, 0.1, &e) == KDTS_ERR_ARG, "closed form in dist mode");
        memset(&g2, 0x5a, sizeof g2);
        x[17] = sqrtf(-1.0f);
        KT_CHECK(kdts_linear_gram_init(&g2, &cn, x, y, N, T, &e) == KDTS_ERR_NONFINITE, "NaN input");
        x[17] = 0.5f;
        y[(size_t)(N - 1) * T * H + (T - 1) * H] = 1.0f / 0.0f;
        KT_CHECK(kdts_linear_gram_init(&g2, &cn, x, y, N, T, &e) == KDTS_ERR_NONFINITE, "Inf target");
        {
            unsigned char pat[sizeof g2];
            memset(pat, 0x5a, sizeof pat);
            KT_CHECK(memcmp(&g2, pat, sizeof g2) == 0, "failed gram_init touched *g");
        }
        /* fewer windows than inputs: singular at lambda 0, fine at lambda > 0 */
        kdts_linear_gram_solve(&g, &mn, 0.5, NULL);
        memcpy(keep, mn.params, mn.nparams * sizeof(float));
        KT_CHECK(kdts_linear_gram_init(&g2, &cn, x, y, 10, T, &e) == KDTS_OK, "statistics of 10 windows");
        rc = kdts_linear_gram_solve(&g2, &mn, 0.0, &e);
        KT_CHECK(rc == KDTS_ERR_DATA && e.code == KDTS_ERR_DATA, "10 windows, 24 inputs, lambda 0: %d", (int)rc);
        KT_CHECK(memcmp(keep, mn.params, mn.nparams * sizeof(float)) == 0, "a failed solve touched the parameters");
        KT_CHECK(kdts_linear_gram_solve(&g2, &mn, 0.1, &e) == KDTS_OK, "10 windows, lambda 0.1");
        {
            double lams[2] = {0.0, 0.1};
            rc = kdts_linear_fit_select(&mn, &g2, xv, yv, NV, T, lams, 2, val, &best, &e);
            KT_CHECK(rc == KDTS_OK && val[0] == -1.0 && val[1] > 0 && best == 0.1,
                     "select skips the singular lambda: %d %g %g", (int)rc, val[0], best);
            rc = kdts_linear_fit_select(&mn, &g2, xv, yv, NV, T, lams, 1, val, &best, &e);
            KT_CHECK(rc == KDTS_ERR_DATA, "select with no solvable lambda: %d", (int)rc);
        }
        kdts_linear_gram_free(&g2);
        kdts_linear_gram_free(&g2);
        free(keep);
        kdts_linear_free(&mb);
        kdts_linear_free(&mdist);
    }
    kdts_linear_gram_free(&g);
    kdts_linear_free(&mn);
    kdts_linear_free(&md);
    kdts_linear_free(&m2);
}

/* ---------------------------------------------------- seasonal period */

static int detect(const float *x, long n, int lo, int hi, float *s)
{
    int p = -1;
    kdts_error e;
    kdts_result rc = kdts_season_detect(x, n, lo, hi, &p, s, &e);
    KT_CHECK(rc == KDTS_OK, "season_detect %d (%s)", (int)rc, e.message);
    return p;
}

static void test_season_synthetic(void)
{
    enum { N = 2000 };
    static float x[N];
    static float prof[7] = {0.3f, 1.1f, -0.4f, 0.8f, -1.2f, 0.1f, -0.7f};
    kdts_rng r;
    int i, p, seed, bad;
    float s;
    double lvl;
    printf("seasonal period, synthetic series:\n");
    kdts_rng_seed(&r, 1);
    for (i = 0; i < N; ++i) x[i] = (float)(sin(6.283185307179586 * i / 17.0) + 0.002 * i + 0.3 * kdts_rng_normal(&r));
    p = detect(x, N, 2, 200, &s);
    printf("  sine 17 + trend + noise        -> %d (r %.3f)\n", p, (double)s);
    KT_CHECK(p == 17, "sine of period 17: %d", p);
    lvl = 0.0;
    for (i = 0; i < N; ++i) {
        lvl += 0.05 * kdts_rng_normal(&r);
        x[i] = (float)(lvl + prof[i % 7] + 0.3 * kdts_rng_normal(&r));
    }
    p = detect(x, N, 2, 100, &s);
    printf("  weekly profile + random walk    -> %d (r %.3f)\n", p, (double)s);
    KT_CHECK(p == 7, "weekly profile: %d", p);
    for (i = 0; i < N; ++i)
        x[i] = (float)(sin(6.283185307179586 * i / 12.0) + 0.5 * sin(6.283185307179586 * i / 60.0) +
                       0.2 * kdts_rng_normal(&r));
    p = detect(x, N, 2, 200, &s);
    printf("  12 strong + 60 weak            -> %d (r %.3f)\n", p, (double)s);
    KT_CHECK(p == 12, "two seasons: %d", p);
    for (i = 0; i < 500; ++i) x[i] = (float)sin(6.283185307179586 * i / 10.0);
    p = detect(x, 500, 2, 200, &s);
    printf("  pure sine 10 (harmonics nearly as strong) -> %d (r %.3f)\n", p, (double)s);
    KT_CHECK(p == 10, "pure sine of period 10: %d", p);
    /* the true period below the range: its strongest multiple in range */
    for (i = 0; i < N; ++i) x[i] = (float)(sin(6.283185307179586 * i / 24.0) + 0.3 * kdts_rng_normal(&r));
    p = detect(x, N, 30, 100, &s);
    printf("  sine 24 searched in 30..100    -> %d\n", p);
    KT_CHECK(p == 48, "sine 24 in 30..100: %d", p);
    /* no season: white noise, random walks, AR(1), a line, a constant */
    bad = 0;
    for (seed = 0; seed < 20; ++seed) {
        kdts_rng_seed(&r, 1000 + seed);
        for (i = 0; i < N; ++i) x[i] = kdts_rng_normal(&r);
        p = detect(x, N, 2, 300, &s);
        if (p != 0) bad++;
        lvl = 0.0;
        for (i = 0; i < N; ++i) x[i] = (float)(lvl += kdts_rng_normal(&r));
        p = detect(x, N, 2, 300, &s);
        if (p != 0) bad++;
        lvl = 0.0;
        for (i = 0; i < N; ++i) x[i] = (float)(lvl = 0.8 * lvl + kdts_rng_normal(&r));
        p = detect(x, N, 2, 300, &s);
        if (p != 0) bad++;
    }
    printf("  60 noise / random-walk / AR(1) series of %d values: %d with a period\n", N, bad);
    KT_CHECK(bad == 0, "%d of 60 series without a season got a period", bad);
    /* short series: the significance bound, not the 0.1 floor, decides */
    bad = 0;
    for (seed = 0; seed < 40; ++seed) {
        kdts_rng_seed(&r, 2000 + seed);
        for (i = 0; i < 150; ++i) x[i] = kdts_rng_normal(&r);
        p = detect(x, 150, 2, 40, &s);
        if (p != 0) bad++;
    }
    printf("  40 white-noise series of 150 values: %d with a period\n", bad);
    KT_CHECK(bad == 0, "%d of 40 short noise series got a period", bad);
    for (i = 0; i < 150; ++i) x[i] = (float)(prof[i % 7] + 0.3 * kdts_rng_normal(&r));
    p = detect(x, 150, 2, 40, &s);
    printf("  weekly profile, 150 values     -> %d (r %.3f)\n", p, (double)s);
    KT_CHECK(p == 7, "short weekly series: %d", p);
    for (i = 0; i < 100; ++i) x[i] = 3.0f + 0.5f * i;
    p = detect(x, 100, 2, 40, &s);
    KT_CHECK(p == 0 && s == 0.0f, "a straight line: %d", p);
    for (i = 0; i < 100; ++i) x[i] = 2.0f;
    p = detect(x, 100, 2, 40, &s);
    KT_CHECK(p == 0, "a constant: %d", p);
    /* errors */
    {
        kdts_error e;
        int q = 5;
        KT_CHECK(kdts_season_detect(x, 100, 2, 50, &q, NULL, &e) == KDTS_ERR_ARG, "max_period > (n-2)/2");
        KT_CHECK(kdts_season_detect(x, 100, 1, 20, &q, NULL, &e) == KDTS_ERR_ARG, "min_period 1");
        KT_CHECK(kdts_season_detect(x, 100, 20, 10, &q, NULL, &e) == KDTS_ERR_ARG, "min > max");
        KT_CHECK(kdts_season_detect(NULL, 100, 2, 10, &q, NULL, &e) == KDTS_ERR_ARG, "NULL series");
        KT_CHECK(q == 5, "a failed detection wrote the period");
        x[40] = sqrtf(-1.0f);
        KT_CHECK(kdts_season_detect(x, 100, 2, 10, &q, NULL, &e) == KDTS_ERR_NONFINITE && e.line == 41, "NaN");
        KT_CHECK(kdts_season_detect(x, 100, 2, 49, &q, NULL, NULL) == KDTS_ERR_NONFINITE, "err NULL");
    }
}

static void test_season_files(void)
{
    struct {
        const char *path, *col;
        int lo, hi, want;
        long rows;
    } fs[] = {
        {"data/ETTh1.csv", "OT", 2, 400, 24, 0},
        {"data/ETTh1.csv", "OT", 2, 400, 24, 8640},
        {"data/ETTh2.csv", "OT", 2, 400, 24, 8640},
        {"data/example_wp_log_peyton_manning.csv", "y", 2, 60, 7, 0},
        {"data/example_air_passengers.csv", "y", 2, 36, 12, 0},
    };
    size_t i;
    printf("seasonal period, bundled data:\n");
    for (i = 0; i < sizeof fs / sizeof fs[0]; ++i) {
        kdts_table t;
        kdts_csv_config cc = kdts_csv_config_default();
        kdts_error e;
        const char *cols[1];
        int p = -1;
        float s = 0.0f;
        long n;
        memset(&t, 0, sizeof t); /* a failed read leaves it untouched */
        cols[0] = fs[i].col;
        cc.columns = cols;
        cc.n_columns = 1;
        cc.missing = KDTS_MISSING_INTERPOLATE;
        if (kdts_csv_read_file(&t, fs[i].path, &cc, &e) != KDTS_OK) {
            KT_CHECK(0, "cannot read %s: %s", fs[i].path, e.message);
            continue;
        }
        n = fs[i].rows && fs[i].rows < t.rows ? fs[i].rows : t.rows;
        KT_CHECK(kdts_season_detect(t.col[0], n, fs[i].lo, fs[i].hi, &p, &s, &e) == KDTS_OK, "%s: %s", fs[i].path,
                 e.message);
        printf("  %-40s %-3s %5ld rows, lags %d..%-3d -> %d (r %.3f)\n", fs[i].path, fs[i].col, n, fs[i].lo, fs[i].hi,
               p, (double)s);
        KT_CHECK(p == fs[i].want, "%s: period %d, expected %d", fs[i].path, p, fs[i].want);
        kdts_table_free(&t);
    }
}

int main(void)
{
    ref_file rf = ref_load("tests/ref/linear_ref.bin");
    printf("kdts %s, SIMD path %s\n", KDTS_VERSION_STRING, kdts_simd_name());
    test_config();
    test_gradients();
    KT_CHECK(rf.ok, "cannot read tests/ref/linear_ref.bin: %s", rf.ok ? "" : rf.err);
    if (rf.ok) {
        test_torch_ref(&rf);
        test_fit_ref(&rf);
    }
    ref_free(&rf);
    test_fit_optimality();
    test_adam_converges();
    test_gram();
    test_season_synthetic();
    test_season_files();
    return kt_done();
}
