/* test_attn.c - the causal self-attention model (>>attn): gradients of every
   parameter and of the input against central finite differences of an
   independent double-precision implementation written here; forward and
   every gradient against PyTorch (tests/ref/attn_ref.bin, written by
   tools/gen_torch_ref_attn.py); batch against single windows; forecast
   against forward; window and streaming inference (key/value cache)
   against the batched forward; SIMD element-wise kernels against their
   scalar versions; OpenMP thread counts; argument errors.

   The finite differences are taken of the double model (eps 1e-6, so they
   are accurate to ~1e-9) at the float model's parameters: the check
   measures the float analytic gradients themselves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* every allocation kdts makes is counted: none inside forward, backward,
   forecast or inference */
static long g_allocs;
static void *t_malloc(size_t n)
{
    g_allocs++;
    return malloc(n);
}
static void *t_realloc(void *p, size_t n)
{
    g_allocs++;
    return realloc(p, n);
}
#define KDTS_MALLOC(sz) t_malloc(sz)
#define KDTS_REALLOC(p, sz) t_realloc((p), (sz))
#define KDTS_FREE(p) free(p)
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include "ref_read.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- parameter groups ---------------------------------------------------- */

typedef struct grp {
    char name[40];
    size_t off, n;
    int kind; /* 0 matrix (fan-in in fan), 1 bias, 2 LN gain, 3 LN bias, 4 position bias */
    int fan;
} grp;

static int groups(const kdts_attn *m, grp *g)
{
    const kdts_attn_config *c = &m->cfg;
    size_t d = (size_t)c->d_model, ff = (size_t)c->ff;
    int n = 0, l;
#define G(nm, o, cnt, k, f)                                       \
    do {                                                          \
        sprintf(g[n].name, "%s", nm);                             \
        g[n].off = (o); g[n].n = (cnt); g[n].kind = (k); g[n].fan = (f); \
        n++;                                                      \
    } while (0)
    G("W_in", m->off_in_w, d * c->input, 0, c->input);
    G("b_in", m->off_in_b, d, 1, 0);
    for (l = 0; l < c->blocks; ++l) {
        const kdts_attn_block_offsets *o = &m->blk[l];
        char nm[40];
#define GB(s, f, cnt, k, fan) do { sprintf(nm, "blk%d.%s", l, s); G(nm, o->f, cnt, k, fan); } while (0)
        GB("W_qkv", qkv_w, 3 * d * d, 0, (int)d);
        GB("b_qkv", qkv_b, 3 * d, 1, 0);
        GB("W_o", o_w, d * d, 0, (int)d);
        GB("b_o", o_b, d, 1, 0);
        GB("W_1", ff1_w, ff * d, 0, (int)d);
        GB("b_1", ff1_b, ff, 1, 0);
        GB("W_2", ff2_w, d * ff, 0, (int)ff);
        GB("b_2", ff2_b, d, 1, 0);
        GB("ln1_g", ln1_g, d, 2, 0);
        GB("ln1_b", ln1_b, d, 3, 0);
        GB("ln2_g", ln2_g, d, 2, 0);
        GB("ln2_b", ln2_b, d, 3, 0);
        GB("pos", pos, (size_t)c->heads * c->max_steps, 4, 0);
#undef GB
    }
    if (c->final_norm) {
        G("lnf_g", m->off_lnf_g, d, 2, 0);
        G("lnf_b", m->off_lnf_b, d, 3, 0);
    }
    G("W_head", m->off_head_w, (size_t)m->outputs * d, 0, (int)d);
    G("b_head", m->off_head_b, (size_t)m->outputs, 1, 0);
#undef G
    return n;
}

static double urand(kdts_rng *r, double lo, double hi) { return lo + (hi - lo) * kdts_rng_uniform(r); }

/* generic random parameters (init has zero biases and unit gains) */
static void randomize(kdts_attn *m, kdts_rng *r)
{
    grp g[80];
    int n = groups(m, g), i;
    size_t k;
    for (i = 0; i < n; ++i)
        for (k = 0; k < g[i].n; ++k) {
            double v;
            switch (g[i].kind) {
            case 0: v = urand(r, -1, 1) * 1.3 / sqrt((double)g[i].fan); break;
            case 1: case 3: v = urand(r, -0.3, 0.3); break;
            case 2: v = urand(r, 0.6, 1.4); break;
            default: v = urand(r, -1.0, 0.3); break;
            }
            m->params[g[i].off + k] = (float)v;
        }
}

/* ---- the double-precision reference model -------------------------------- */

static void dln(double *y, const double *x, int d, const double *g, const double *b)
{
    double mu = 0, var = 0;
    int i;
    for (i = 0; i < d; ++i) mu += x[i];
    mu /= d;
    for (i = 0; i < d; ++i) var += (x[i] - mu) * (x[i] - mu);
    var /= d;
    for (i = 0; i < d; ++i) y[i] = (x[i] - mu) / sqrt(var + 1e-5) * g[i] + b[i];
}

static double dact(double u, int act) { return act == KDTS_ATTN_GELU ? 0.5 * u * erfc(-u / sqrt(2.0)) : (u > 0 ? u : 0); }

/* y (n) = b + W x, W (n,k) */
static void dlin(double *y, const double *W, const double *b, const double *x, int n, int k)
{
    int i, j;
    for (i = 0; i < n; ++i) {
        double s = b[i];
        for (j = 0; j < k; ++j) s += W[(size_t)i * k + j] * x[j];
        y[i] = s;
    }
}

/* out (B,T,O) for x (B,T,F); dropout scales from ws when ws != NULL */
static void dforward(const kdts_attn *m, const double *p, const double *x, int B, int T, const kdts_attn_ws *ws,
                     double *out)
{
    const kdts_attn_config *c = &m->cfg;
    int d = c->d_model, F = c->input, ff = c->ff, nh = c->heads, dh = d / nh, O = m->outputs, S = c->max_steps;
    int b, t, i, j, k, l, L = c->blocks;
    double *h = (double *)malloc(sizeof(double) * T * d), *a = (double *)malloc(sizeof(double) * T * d);
    double *qkv = (double *)malloc(sizeof(double) * T * 3 * d), *o = (double *)malloc(sizeof(double) * T * d);
    double *u = (double *)malloc(sizeof(double) * ff), *y = (double *)malloc(sizeof(double) * d);
    double *s = (double *)malloc(sizeof(double) * T);
    for (b = 0; b < B; ++b) {
        for (t = 0; t < T; ++t) dlin(h + t * d, p + m->off_in_w, p + m->off_in_b, x + ((size_t)b * T + t) * F, d, F);
        for (l = 0; l < L; ++l) {
            const kdts_attn_block_offsets *ob = &m->blk[l];
            for (t = 0; t < T; ++t) {
                dln(a + t * d, h + t * d, d, p + ob->ln1_g, p + ob->ln1_b);
                dlin(qkv + t * 3 * d, p + ob->qkv_w, p + ob->qkv_b, a + t * d, 3 * d, d);
            }
            for (j = 0; j < nh; ++j)
                for (i = 0; i < T; ++i) {
                    double mx = -1e300, se = 0;
                    for (t = 0; t <= i; ++t) {
                        double q = 0;
                        for (k = 0; k < dh; ++k) q += qkv[i * 3 * d + j * dh + k] * qkv[t * 3 * d + d + j * dh + k];
                        s[t] = q / sqrt((double)dh) + p[ob->pos + (size_t)j * S + (i - t)];
                        if (s[t] > mx) mx = s[t];
                    }
                    for (t = 0; t <= i; ++t) se += (s[t] = exp(s[t] - mx));
                    for (t = 0; t <= i; ++t) {
                        s[t] /= se;
                        if (ws && ws->dropout_active) s[t] *= ws->mp[l][(((size_t)b * nh + j) * T + i) * T + t];
                    }
                    for (k = 0; k < dh; ++k) {
                        double acc = 0;
                        for (t = 0; t <= i; ++t) acc += s[t] * qkv[t * 3 * d + 2 * d + j * dh + k];
                        o[i * d + j * dh + k] = acc;
                    }
                }
            for (t = 0; t < T; ++t) {
                size_t r = ((size_t)b * T + t) * d;
                dlin(y, p + ob->o_w, p + ob->o_b, o + t * d, d, d);
                for (i = 0; i < d; ++i) h[t * d + i] += y[i] * (ws && ws->dropout_active ? ws->m1[l][r + i] : 1.0);
                dln(a + t * d, h + t * d, d, p + ob->ln2_g, p + ob->ln2_b);
                dlin(u, p + ob->ff1_w, p + ob->ff1_b, a + t * d, ff, d);
                for (i = 0; i < ff; ++i)
                    u[i] = dact(u[i], c->activation) *
                           (ws && ws->dropout_active ? ws->ma[l][((size_t)b * T + t) * ff + i] : 1.0);
                dlin(y, p + ob->ff2_w, p + ob->ff2_b, u, d, ff);
                for (i = 0; i < d; ++i) h[t * d + i] += y[i] * (ws && ws->dropout_active ? ws->m2[l][r + i] : 1.0);
            }
        }
        for (t = 0; t < T; ++t) {
            const double *top = h + t * d;
            if (c->final_norm) {
                dln(a + t * d, h + t * d, d, p + m->off_lnf_g, p + m->off_lnf_b);
                top = a + t * d;
            }
            dlin(out + ((size_t)b * T + t) * O, p + m->off_head_w, p + m->off_head_b, top, O, d);
        }
    }
    free(h), free(a), free(qkv), free(o), free(u), free(y), free(s);
}

static double dloss(const kdts_attn *m, const double *p, const double *x, int B, int T, const kdts_attn_ws *ws,
                    const double *w, double *out)
{
    size_t n = (size_t)B * T * m->outputs, i;
    double L = 0;
    dforward(m, p, x, B, T, ws, out);
    for (i = 0; i < n; ++i) L += w[i] * out[i];
    return L;
}

/* ---- helpers ------------------------------------------------------------- */

static float frand(kdts_rng *r) { return 2.0f * kdts_rng_uniform(r) - 1.0f; }

static double max_abs_f(const float *a, size_t n)
{
    double mx = 0;
    size_t i;
    for (i = 0; i < n; ++i) mx = fabs(a[i]) > mx ? fabs(a[i]) : mx;
    return mx;
}

/* max |a - b| / (max |b| + tiny) */
static double rel_err_fd(const float *a, const double *b, size_t n)
{
    double mx = 0, e = 0;
    size_t i;
    for (i = 0; i < n; ++i) {
        mx = fabs(b[i]) > mx ? fabs(b[i]) : mx;
        e = fabs(a[i] - b[i]) > e ? fabs(a[i] - b[i]) : e;
    }
    return e / (mx + 1e-12);
}

static double rel_err_ff(const float *a, const float *b, size_t n)
{
    double mx = 0, e = 0;
    size_t i;
    for (i = 0; i < n; ++i) {
        mx = fabs(b[i]) > mx ? fabs(b[i]) : mx;
        e = fabs((double)a[i] - b[i]) > e ? fabs((double)a[i] - b[i]) : e;
    }
    return e / (mx + 1e-12);
}

static kdts_attn_config mkcfg(int F, int d, int nh, int ff, int L, int act, int fn, int S, int mode, int hz, int K,
                              float drop)
{
    kdts_attn_config c;
    memset(&c, 0, sizeof c);
    c.input = F;
    c.d_model = d;
    c.heads = nh;
    c.ff = ff;
    c.blocks = L;
    c.activation = (kdts_attn_act)act;
    c.final_norm = fn;
    c.max_steps = S;
    c.mode = mode ? KDTS_MODE_DIST : KDTS_MODE_POINT;
    c.horizon = hz;
    c.bins = K;
    c.dropout = drop;
    return c;
}

/* ---- finite-difference gradient check ------------------------------------ */

static void test_gradcheck(const char *tag, kdts_attn_config cfg, int B, int T)
{
    kdts_attn m;
    kdts_attn_ws ws;
    kdts_rng r, dr;
    grp g[80];
    int ng, i;
    size_t np, nx, no, k;
    float *x, *dout, *dx;
    double *p, *xd, *w, *out, *fd, *fdx, worst = 0, e, eout;
    const char *worst_name = "";
    KT_CHECK(kdts_attn_init(&m, &cfg, 11, NULL) == KDTS_OK, "%s: init", tag);
    KT_CHECK(kdts_attn_ws_init(&ws, &cfg, B, T, 1, NULL) == KDTS_OK, "%s: ws", tag);
    kdts_rng_seed(&r, 5);
    randomize(&m, &r);
    np = m.nparams;
    nx = (size_t)B * T * cfg.input;
    no = (size_t)B * T * m.outputs;
    x = (float *)malloc(nx * 4);
    dx = (float *)malloc(nx * 4);
    dout = (float *)malloc(no * 4);
    p = (double *)malloc(np * 8);
    xd = (double *)malloc(nx * 8);
    w = (double *)malloc(no * 8);
    out = (double *)malloc(no * 8);
    fd = (double *)malloc(np * 8);
    fdx = (double *)malloc(nx * 8);
    for (k = 0; k < nx; ++k) xd[k] = x[k] = frand(&r) * 1.5f;
    for (k = 0; k < no; ++k) w[k] = dout[k] = frand(&r);
    for (k = 0; k < np; ++k) p[k] = m.params[k];
    kdts_rng_seed(&dr, 99);
    KT_CHECK(kdts_attn_forward(&m, &ws, x, B, T, NULL, 1, &dr, NULL) == KDTS_OK, "%s: forward", tag);
    kdts_attn_zero_grad(&m);
    KT_CHECK(kdts_attn_backward(&m, &ws, dout, dx, NULL) == KDTS_OK, "%s: backward", tag);
    /* forward against the double model */
    dforward(&m, p, xd, B, T, &ws, out);
    eout = rel_err_fd(ws.out, out, no);
    KT_CHECK(eout < 2e-6, "%s: forward differs from the double model by %g (relative to max)", tag, eout);
    for (k = 0; k < np; ++k) {
        double v = p[k], lp, lm;
        p[k] = v + 1e-6;
        lp = dloss(&m, p, xd, B, T, &ws, w, out);
        p[k] = v - 1e-6;
        lm = dloss(&m, p, xd, B, T, &ws, w, out);
        p[k] = v;
        fd[k] = (lp - lm) / 2e-6;
    }
    for (k = 0; k < nx; ++k) {
        double v = xd[k], lp, lm;
        xd[k] = v + 1e-6;
        lp = dloss(&m, p, xd, B, T, &ws, w, out);
        xd[k] = v - 1e-6;
        lm = dloss(&m, p, xd, B, T, &ws, w, out);
        xd[k] = v;
        fdx[k] = (lp - lm) / 2e-6;
    }
    ng = groups(&m, g);
    for (i = 0; i < ng; ++i) {
        e = rel_err_fd(m.grads + g[i].off, fd + g[i].off, g[i].n);
        KT_CHECK(e < 1e-4, "%s: gradient of %s off by %g (relative to its max %g)", tag, g[i].name, e,
                 max_abs_f(m.grads + g[i].off, g[i].n));
        if (e > worst) worst = e, worst_name = g[i].name;
        if (g[i].kind == 4) {
            /* distances >= T are never used: exactly zero gradient */
            int j, t, bad = 0;
            for (j = 0; j < cfg.heads; ++j)
                for (t = T; t < cfg.max_steps; ++t) bad |= m.grads[g[i].off + (size_t)j * cfg.max_steps + t] != 0.0f;
            KT_CHECK(!bad, "%s: %s has gradient at unused distances", tag, g[i].name);
        }
    }
    e = rel_err_fd(dx, fdx, nx);
    KT_CHECK(e < 1e-4, "%s: dx off by %g", tag, e);
    if (e > worst) worst = e, worst_name = "dx";
    printf("gradcheck %-28s %5lu params + %3lu inputs: forward %.1e, worst gradient %.1e (%s)\n", tag,
           (unsigned long)np, (unsigned long)nx, eout, worst, worst_name);
    free(x), free(dx), free(dout), free(p), free(xd), free(w), free(out), free(fd), free(fdx);
    kdts_attn_ws_free(&ws);
    kdts_attn_free(&m);
}

/* ---- PyTorch reference ---------------------------------------------------- */

static kdts_attn_config ref_cfg(const ref_tensor *c, int *T, int *B)
{
    const double *v = c->data;
    *T = (int)v[8];
    *B = (int)v[9];
    return mkcfg((int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], (int)v[5], (int)v[6], (int)v[7], (int)v[10],
                 (int)v[11], (int)v[12], 0.0f);
}

static void ld(float *dst, const ref_tensor *t, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) dst[i] = (float)t->data[i];
}

static void test_torch(const ref_file *rf, const char *nm)
{
    char key[32];
    const ref_tensor *tc, *tp, *tx, *to, *td, *tg, *tdx;
    kdts_attn_config cfg;
    kdts_attn m;
    kdts_attn_ws ws, wsi;
    grp g[80];
    int T, B, ng, i, b, j;
    size_t no, nx;
    float *x, *dout, *dx, *fc;
    double e, worst = 0, eo, ef;
    const char *wn = "";
#define GET(var, suffix) sprintf(key, "%s_%s", nm, suffix), var = ref_get(rf, key)
    GET(tc, "conf");
    GET(tp, "params");
    GET(tx, "x");
    GET(to, "out");
    GET(td, "dout");
    GET(tg, "dparams");
    GET(tdx, "dx");
#undef GET
    KT_CHECK(tc && tp && tx && to && td && tg && tdx, "ref %s: tensors missing", nm);
    if (!(tc && tp && tx && to && td && tg && tdx)) return;
    cfg = ref_cfg(tc, &T, &B);
    KT_CHECK(kdts_attn_init(&m, &cfg, 1, NULL) == KDTS_OK, "ref %s: init", nm);
    KT_CHECK(m.nparams == tp->n && kdts_attn_param_count(&cfg) == tp->n, "ref %s: %lu parameters, reference %lu", nm,
             (unsigned long)m.nparams, (unsigned long)tp->n);
    if (m.nparams != tp->n) return;
    KT_CHECK(kdts_attn_ws_init(&ws, &cfg, B, T, 1, NULL) == KDTS_OK, "ref %s: ws", nm);
    KT_CHECK(kdts_attn_ws_init(&wsi, &cfg, B, T, 0, NULL) == KDTS_OK, "ref %s: inference ws", nm);
    no = (size_t)B * T * m.outputs;
    nx = (size_t)B * T * cfg.input;
    x = (float *)malloc(nx * 4);
    dx = (float *)malloc(nx * 4);
    dout = (float *)malloc(no * 4);
    fc = (float *)malloc((size_t)B * m.outputs * 4);
    ld(m.params, tp, m.nparams);
    ld(x, tx, nx);
    ld(dout, td, no);
    KT_CHECK(kdts_attn_forward(&m, &ws, x, B, T, NULL, 1, NULL, NULL) == KDTS_OK, "ref %s: forward", nm);
    eo = rel_err_fd(ws.out, to->data, no);
    KT_CHECK(eo < 2e-6, "ref %s: forward off by %g", nm, eo);
    kdts_attn_zero_grad(&m);
    KT_CHECK(kdts_attn_backward(&m, &ws, dout, dx, NULL) == KDTS_OK, "ref %s: backward", nm);
    ng = groups(&m, g);
    for (i = 0; i < ng; ++i) {
        e = rel_err_fd(m.grads + g[i].off, tg->data + g[i].off, g[i].n);
        KT_CHECK(e < 2e-5, "ref %s: gradient of %s off by %g", nm, g[i].name, e);
        if (e > worst) worst = e, wn = g[i].name;
    }
    e = rel_err_fd(dx, tdx->data, nx);
    KT_CHECK(e < 2e-5, "ref %s: dx off by %g", nm, e);
    if (e > worst) worst = e, wn = "dx";
    /* the inference workspace and the forecast give the same outputs */
    KT_CHECK(kdts_attn_forward(&m, &wsi, x, B, T, NULL, 0, NULL, NULL) == KDTS_OK, "ref %s: inference", nm);
    e = rel_err_fd(wsi.out, to->data, no);
    KT_CHECK(e < 2e-6, "ref %s: inference forward off by %g", nm, e);
    KT_CHECK(kdts_attn_forecast(&m, &wsi, x, B, T, fc, NULL) == KDTS_OK, "ref %s: forecast", nm);
    ef = 0;
    for (b = 0; b < B; ++b) {
        double mx = 0, er = 0;
        for (j = 0; j < m.outputs; ++j) {
            double rv = to->data[((size_t)b * T + T - 1) * m.outputs + j];
            mx = fabs(rv) > mx ? fabs(rv) : mx;
            er = fabs(fc[(size_t)b * m.outputs + j] - rv) > er ? fabs(fc[(size_t)b * m.outputs + j] - rv) : er;
        }
        ef = er / mx > ef ? er / mx : ef;
    }
    KT_CHECK(ef < 2e-6, "ref %s: forecast off by %g", nm, ef);
    printf("torch ref %s (%d blocks, %s, %s, T %d): forward %.1e, forecast %.1e, worst gradient %.1e (%s)\n", nm,
           cfg.blocks, cfg.activation ? "relu" : "gelu", cfg.mode ? "dist" : "point", T, eo, ef, worst, wn);
    free(x), free(dx), free(dout), free(fc);
    kdts_attn_ws_free(&ws);
    kdts_attn_ws_free(&wsi);
    kdts_attn_free(&m);
}

/* ---- batch, forecast, inference state ------------------------------------ */

static void test_batch(void)
{
    kdts_attn_config cfg = mkcfg(2, 20, 2, 17, 2, KDTS_ATTN_GELU, 1, 24, 0, 3, 0, 0.0f);
    kdts_attn m, m1;
    kdts_attn_ws ws, ws1;
    kdts_rng r;
    enum { B = 5, T = 19 };
    int O, b;
    size_t nx, no, k;
    float *x, *out, *o1, *dout, *dx, *dx1, *gsum;
    double eo = 0, eg, edx = 0;
    long allocs;
    KT_CHECK(kdts_attn_init(&m, &cfg, 3, NULL) == KDTS_OK && kdts_attn_init(&m1, &cfg, 3, NULL) == KDTS_OK, "init");
    kdts_rng_seed(&r, 8);
    randomize(&m, &r);
    memcpy(m1.params, m.params, m.nparams * 4);
    KT_CHECK(kdts_attn_ws_init(&ws, &cfg, B, T, 1, NULL) == KDTS_OK && kdts_attn_ws_init(&ws1, &cfg, 1, T, 1, NULL) == KDTS_OK,
             "ws");
    O = m.outputs;
    nx = (size_t)B * T * cfg.input;
    no = (size_t)B * T * O;
    x = (float *)malloc(nx * 4);
    dx = (float *)malloc(nx * 4);
    dx1 = (float *)malloc(nx * 4);
    out = (float *)malloc(no * 4);
    o1 = (float *)malloc(no * 4);
    dout = (float *)malloc(no * 4);
    gsum = (float *)calloc(m.nparams, 4);
    for (k = 0; k < nx; ++k) x[k] = frand(&r);
    for (k = 0; k < no; ++k) dout[k] = frand(&r);
    allocs = g_allocs;
    kdts_attn_forward(&m, &ws, x, B, T, out, 1, NULL, NULL);
    kdts_attn_zero_grad(&m);
    kdts_attn_backward(&m, &ws, dout, dx, NULL);
    kdts_attn_forecast(&m, &ws, x, B, T, NULL, NULL);
    KT_CHECK(g_allocs == allocs, "forward, backward or forecast allocated (%ld)", g_allocs - allocs);
    for (b = 0; b < B; ++b) {
        size_t so = (size_t)T * O, sx = (size_t)T * cfg.input;
        kdts_attn_forward(&m1, &ws1, x + b * sx, 1, T, o1 + b * so, 1, NULL, NULL);
        kdts_attn_zero_grad(&m1);
        kdts_attn_backward(&m1, &ws1, dout + b * so, dx1 + b * sx, NULL);
        for (k = 0; k < m.nparams; ++k) gsum[k] += m1.grads[k];
    }
    eo = rel_err_ff(o1, out, no);
    eg = rel_err_ff(gsum, m.grads, m.nparams);
    edx = rel_err_ff(dx1, dx, nx);
    printf("batch of %d vs one window at a time: outputs %.1e, parameter gradients %.1e, dx %.1e\n", B, eo, eg, edx);
    KT_CHECK(eo < 1e-6, "batch outputs differ from single windows by %g", eo);
    KT_CHECK(eg < 1e-5, "batch gradients differ from the sum over single windows by %g", eg);
    KT_CHECK(edx < 1e-6, "batch dx differs from single windows by %g", edx);
    free(x), free(dx), free(dx1), free(out), free(o1), free(dout), free(gsum);
    kdts_attn_ws_free(&ws);
    kdts_attn_ws_free(&ws1);
    kdts_attn_free(&m);
    kdts_attn_free(&m1);
}

/* Window and streaming inference (kdts__attn_inf_*) against the batched
   forward, for a model of `blocks` blocks. */
static void test_inference(int blocks, int act)
{
    kdts_attn_config cfg = mkcfg(3, 24, 3, 19, blocks, act, blocks > 1, 40, 1, 2, 6, 0.0f);
    kdts_attn m;
    kdts_attn_ws ws;
    kdts__attn_inf st;
    kdts_rng r;
    enum { LB = 11, N = 37, MAXW = 30 };
    int O, n, t, bitwise = 1;
    size_t nf;
    float *mem, *series, *fw, *fs, *ff;
    double e_win = 0, e_first = 0, e_after = 0, mag = 0;
    long allocs;
    kdts_error err;
    KT_CHECK(kdts_attn_init(&m, &cfg, 4, NULL) == KDTS_OK, "init");
    kdts_rng_seed(&r, 21);
    randomize(&m, &r);
    O = m.outputs;
    KT_CHECK(kdts_attn_ws_init(&ws, &cfg, 1, MAXW, 0, NULL) == KDTS_OK, "ws");
    nf = kdts__attn_inf_floats(&m.cfg, LB, MAXW);
    mem = (float *)malloc(nf * 4);
    series = (float *)malloc((size_t)N * cfg.input * 4);
    fw = (float *)malloc((size_t)O * 4);
    fs = (float *)malloc((size_t)O * 4);
    ff = (float *)malloc((size_t)O * 4);
    for (t = 0; t < N * cfg.input; ++t) series[t] = frand(&r) * 1.2f;
    KT_CHECK(kdts__attn_inf_init(&st, &m.cfg, m.params, LB, MAXW, mem, nf - 1, &err) == KDTS_ERR_ARG,
             "inference state: one float short accepted");
    KT_CHECK(kdts__attn_inf_init(&st, &m.cfg, m.params, 41, 41, mem, nf, &err) == KDTS_ERR_ARG,
             "inference state: lookback beyond max_steps accepted");
    KT_CHECK(kdts__attn_inf_init(&st, &m.cfg, m.params, LB, MAXW, mem, nf, &err) == KDTS_OK, "inference state: %s",
             err.message);
    allocs = g_allocs;
    /* window inference against kdts_attn_forecast, windows of 1..MAXW */
    for (n = 1; n <= MAXW; n += 7) {
        kdts__attn_inf_window(&st, series, n, fw);
        kdts_attn_forecast(&m, &ws, series, 1, n, ff, NULL);
        e_win = fmax(e_win, rel_err_ff(fw, ff, (size_t)O));
    }
    KT_CHECK(e_win < 2e-6, "window inference differs from kdts_attn_forecast by %g", e_win);
    /* the stream: the first LB observations equal window inference on the
       observations so far bit for bit; later (a sliding window of LB) */
    kdts__attn_inf_reset(&st);
    for (n = 1; n <= N; ++n) {
        kdts__attn_inf_step(&st, series + (size_t)(n - 1) * cfg.input, fs);
        if (n <= LB) {
            kdts__attn_inf_window(&st, series, n, fw);
            bitwise &= memcmp(fs, fw, (size_t)O * 4) == 0;
            kdts_attn_forecast(&m, &ws, series, 1, n, ff, NULL);
            e_first = fmax(e_first, rel_err_ff(fs, ff, (size_t)O));
        } else {
            kdts__attn_inf_window(&st, series + (size_t)(n - LB) * cfg.input, LB, fw);
            e_after = fmax(e_after, rel_err_ff(fs, fw, (size_t)O));
            mag = fmax(mag, max_abs_f(fw, (size_t)O));
        }
    }
    KT_CHECK(bitwise, "%d blocks: stream differs from window inference within the first %d observations", blocks, LB);
    KT_CHECK(e_first < 2e-6, "stream vs kdts_attn_forecast (first %d): %g", LB, e_first);
    if (blocks == 1) KT_CHECK(e_after < 2e-6, "one block: stream after the lookback differs from the window by %g", e_after);
    else KT_CHECK(e_after > 1e-4 && e_after < 10.0, "%d blocks: stream after the lookback deviates by %g", blocks, e_after);
    /* a reset gives the same stream again */
    kdts__attn_inf_reset(&st);
    for (n = 1; n <= N; ++n) kdts__attn_inf_step(&st, series + (size_t)(n - 1) * cfg.input, fw);
    KT_CHECK(memcmp(fw, fs, (size_t)O * 4) == 0, "the stream is not reproducible after a reset");
    KT_CHECK(g_allocs == allocs, "inference allocated (%ld)", g_allocs - allocs);
    printf("inference, %d block(s): window vs forecast %.1e; stream first %d: bitwise %s (vs forecast %.1e); "
           "after: %.1e of max %.2f (%s)\n",
           blocks, e_win, LB, bitwise ? "equal" : "DIFFERENT", e_first, e_after, mag,
           blocks == 1 ? "exact: one block" : "approximate: deeper keys computed on arrival");
    free(mem), free(series), free(fw), free(fs), free(ff);
    kdts_attn_ws_free(&ws);
    kdts_attn_free(&m);
}

/* ---- element-wise kernels: SIMD lanes against the scalar code ------------ */

static void test_kernels(void)
{
    enum { N = 203, D = 37 };
    float u[N], g[N], gs[N], du[N], dus[N], one[N], y[D * 3], st[6], p[N], s[N], bias[N];
    double eg = 0, egd = 0, es = 0, el = 0, esm = 0;
    kdts_rng r;
    int i, act, j, n;
    kdts_rng_seed(&r, 2);
    for (i = 0; i < N; ++i) {
        u[i] = (float)(-9.0 + 18.0 * i / (N - 1)) + 0.01f * frand(&r);
        one[i] = 1.0f;
    }
    u[N / 2] = 0.0f;
    for (act = 0; act < 2; ++act) {
        kdts__attn_act_fwd(g, u, N, act, NULL);
        kdts__attn_act_bwd(du, one, u, N, act, NULL);
        for (i = 0; i < N; ++i) {
            /* the scalar tail path on one value at a time */
            kdts__attn_act_fwd(gs + i, u + i, 1, act, NULL);
            kdts__attn_act_bwd(dus + i, one + i, u + i, 1, act, NULL);
            if (act == KDTS_ATTN_GELU) {
                double x = u[i], gd = 0.5 * x * erfc(-x / sqrt(2.0));
                double dd = 0.5 * erfc(-x / sqrt(2.0)) + x * exp(-0.5 * x * x) / sqrt(2 * 3.14159265358979);
                eg = fmax(eg, fabs(g[i] - gd) / fmax(fabs(gd), 1e-3)); /* relative above 1e-3 */
                egd = fmax(egd, fabs(du[i] - dd));
            }
            es = fmax(es, fabs(g[i] - gs[i]) / fmax(fabs(gs[i]), 1e-3) + fabs(du[i] - dus[i]));
        }
    }
    KT_CHECK(eg < 3e-6, "GELU relative error %g against erfc", eg);
    KT_CHECK(egd < 1e-6, "GELU derivative error %g", egd);
    KT_CHECK(es < 1e-6, "vector and scalar activation paths differ by %g", es);
    /* LayerNorm rows of 37 (vector part and scalar tail) against double */
    for (j = 0; j < 3 * D; ++j) y[j] = frand(&r) * 3.0f + 2.0f;
    {
        float gn[D], bn[D], out[3 * D];
        double dy[D], dg[D], db[D], xx[D];
        for (j = 0; j < D; ++j) gn[j] = 0.5f + kdts_rng_uniform(&r), bn[j] = frand(&r), dg[j] = gn[j], db[j] = bn[j];
        kdts__ln_fwd(out, D, st, y, D, 3, D, gn, bn);
        for (i = 0; i < 3; ++i) {
            for (j = 0; j < D; ++j) xx[j] = y[i * D + j];
            dln(dy, xx, D, dg, db);
            for (j = 0; j < D; ++j) el = fmax(el, fabs(out[i * D + j] - dy[j]));
        }
    }
    KT_CHECK(el < 2e-6, "LayerNorm off by %g", el);
    /* causal softmax rows of every length against double */
    for (n = 1; n <= 40; ++n) {
        double mx = -1e300, se = 0;
        for (i = 0; i < n; ++i) s[i] = frand(&r) * 4, bias[i] = frand(&r);
        kdts__attn_softmax_row(p, s, bias, n, 45 > N ? N : 45);
        for (i = 0; i < n; ++i) mx = fmax(mx, (double)s[i] + bias[i]);
        for (i = 0; i < n; ++i) se += exp((double)s[i] + bias[i] - mx);
        for (i = 0; i < n; ++i) esm = fmax(esm, fabs(p[i] - exp((double)s[i] + bias[i] - mx) / se));
        for (i = n; i < 45; ++i) esm = fmax(esm, fabs(p[i]));
    }
    KT_CHECK(esm < 1e-6, "softmax off by %g", esm);
    printf("kernels (%s): GELU %.1e rel, GELU' %.1e, vector vs scalar %.1e, LayerNorm %.1e, softmax %.1e\n",
           kdts_simd_name(), eg, egd, es, el, esm);
}

/* ---- config, init, errors ------------------------------------------------ */

static void test_config(void)
{
    kdts_attn_config c;
    kdts_attn m;
    kdts_attn_ws ws;
    kdts_error err;
    size_t n, d = 16, ff = 64, F = 1;
    float x[8 * 3] = {0}, dout[64 * 8];
    int j, t, ok;
    memset(&c, 0, sizeof c);
    KT_CHECK(kdts_attn_config_check(&c, &err) == KDTS_ERR_ARG, "d_model 0 accepted");
    c.d_model = 16;
    KT_CHECK(kdts_attn_config_check(&c, &err) == KDTS_OK, "defaults rejected: %s", err.message);
    KT_CHECK(c.input == 1 && c.heads == 1 && c.ff == 64 && c.blocks == 1 && c.max_steps == 256 && c.horizon == 1,
             "defaults %d %d %d %d %d %d", c.input, c.heads, c.ff, c.blocks, c.max_steps, c.horizon);
    n = d * F + d + (3 * d * d + 3 * d + d * d + d + ff * d + ff + d * ff + d + 4 * d + 256) + d + 1;
    KT_CHECK(kdts_attn_param_count(&c) == n, "param count %lu, expected %lu", (unsigned long)kdts_attn_param_count(&c),
             (unsigned long)n);
    c.heads = 3;
    KT_CHECK(kdts_attn_config_check(&c, &err) == KDTS_ERR_ARG && strstr(err.message, "heads"), "16 %% 3 accepted");
    c.heads = 4;
    c.blocks = 5;
    KT_CHECK(kdts_attn_config_check(&c, &err) == KDTS_ERR_ARG, "5 blocks accepted");
    c.blocks = 2;
    c.activation = (kdts_attn_act)2;
    KT_CHECK(kdts_attn_config_check(&c, &err) == KDTS_ERR_ARG, "activation 2 accepted");
    c.activation = KDTS_ATTN_RELU;
    c.dropout = 1.0f;
    KT_CHECK(kdts_attn_config_check(&c, &err) == KDTS_ERR_ARG, "dropout 1 accepted");
    c.dropout = 0.0f;
    c.final_norm = 2;
    KT_CHECK(kdts_attn_config_check(&c, &err) == KDTS_ERR_ARG, "final_norm 2 accepted");
    c.final_norm = 1;
    c.mode = KDTS_MODE_DIST;
    KT_CHECK(kdts_attn_config_check(&c, &err) == KDTS_OK && c.bins == 32 && c.bin_lo == -4.0f, "dist defaults");
    KT_CHECK(kdts_attn_param_count(NULL) == 0, "NULL config counted");
    KT_CHECK(kdts_attn_forecast_flops(&c, 96) < kdts_attn_flops(&c, 96) && kdts_attn_flops(&c, 96) > 0,
             "forecast FLOPs %g not below forward %g", kdts_attn_forecast_flops(&c, 96), kdts_attn_flops(&c, 96));
    /* init: PyTorch-like values, reproducible */
    c = mkcfg(3, 8, 2, 12, 2, 0, 1, 6, 0, 2, 0, 0.0f);
    KT_CHECK(kdts_attn_init(&m, &c, 42, NULL) == KDTS_OK, "init");
    ok = 1;
    for (j = 0; j < 8; ++j)
        ok &= m.params[m.blk[1].ln1_g + j] == 1.0f && m.params[m.blk[1].ln2_b + j] == 0.0f &&
              m.params[m.blk[0].o_b + j] == 0.0f && m.params[m.off_lnf_g + j] == 1.0f;
    for (j = 0; j < 24; ++j) ok &= m.params[m.blk[0].qkv_b + j] == 0.0f;
    for (j = 0; j < 8 * 24; ++j) ok &= fabsf(m.params[m.blk[0].qkv_w + j]) <= sqrtf(6.0f / 32.0f);
    for (j = 0; j < 2; ++j)
        for (t = 0; t < 6; ++t) ok &= fabsf(m.params[m.blk[0].pos + j * 6 + t] + t * powf(2.0f, -4.0f * (j + 1))) < 1e-6f;
    KT_CHECK(ok, "init values not as documented");
    {
        kdts_attn m2;
        kdts_attn_init(&m2, &c, 42, NULL);
        KT_CHECK(memcmp(m.params, m2.params, m.nparams * 4) == 0, "same seed, different weights");
        kdts_attn_reset(&m2, 43);
        KT_CHECK(memcmp(m.params, m2.params, m.nparams * 4) != 0, "reset to another seed changed nothing");
        kdts_attn_free(&m2);
    }
    /* errors */
    KT_CHECK(kdts_attn_ws_init(&ws, &c, 4, 7, 1, &err) == KDTS_ERR_ARG, "steps beyond max_steps accepted");
    KT_CHECK(kdts_attn_ws_init(&ws, &c, 4, 6, 0, NULL) == KDTS_OK, "ws");
    KT_CHECK(kdts_attn_forward(&m, &ws, x, 4, 6, NULL, 1, NULL, &err) == KDTS_ERR_ARG, "train on inference ws");
    KT_CHECK(kdts_attn_forward(&m, &ws, x, 5, 6, NULL, 0, NULL, &err) == KDTS_ERR_SHAPE, "batch too large");
    KT_CHECK(kdts_attn_forward(&m, &ws, x, 1, 7, NULL, 0, NULL, &err) == KDTS_ERR_SHAPE, "steps too many");
    KT_CHECK(kdts_attn_forward(&m, &ws, x, 1, 6, NULL, 0, NULL, &err) == KDTS_OK, "forward");
    KT_CHECK(kdts_attn_backward(&m, &ws, dout, NULL, &err) == KDTS_ERR_ARG, "backward after inference");
    kdts_attn_ws_free(&ws);
    {
        kdts_attn_config c2 = c;
        c2.ff = 13;
        KT_CHECK(kdts_attn_ws_init(&ws, &c2, 1, 6, 1, NULL) == KDTS_OK, "ws");
        KT_CHECK(kdts_attn_forward(&m, &ws, x, 1, 6, NULL, 1, NULL, &err) == KDTS_ERR_SHAPE, "other architecture");
        kdts_attn_ws_free(&ws);
        c2 = c;
        m.cfg.dropout = 0.2f;
        KT_CHECK(kdts_attn_ws_init(&ws, &c2, 1, 6, 1, NULL) == KDTS_OK, "ws");
        KT_CHECK(kdts_attn_forward(&m, &ws, x, 1, 6, NULL, 1, NULL, &err) == KDTS_ERR_ARG,
                 "dropout with a workspace made without it");
        kdts_attn_ws_free(&ws);
        c2.dropout = 0.2f;
        KT_CHECK(kdts_attn_ws_init(&ws, &c2, 1, 6, 1, NULL) == KDTS_OK, "ws");
        KT_CHECK(kdts_attn_forward(&m, &ws, x, 1, 6, NULL, 1, NULL, &err) == KDTS_ERR_ARG, "dropout without an rng");
        kdts_attn_ws_free(&ws);
        m.cfg.dropout = 0.0f;
    }
    kdts_attn_free(&m);
    kdts_attn_free(&m);
}

/* dropout: the share of dropped values, and that a training forward without
   dropout is the inference forward */
static void test_dropout(void)
{
    kdts_attn_config c = mkcfg(1, 16, 2, 32, 2, 0, 0, 20, 0, 1, 0, 0.25f);
    kdts_attn m;
    kdts_attn_ws ws;
    kdts_rng r;
    enum { B = 8, T = 20 };
    float x[B * T];
    size_t n = (size_t)B * T * 16, z = 0, k, na = 0, za = 0;
    int i, j, l;
    KT_CHECK(kdts_attn_init(&m, &c, 1, NULL) == KDTS_OK && kdts_attn_ws_init(&ws, &c, B, T, 1, NULL) == KDTS_OK, "init");
    kdts_rng_seed(&r, 1);
    for (k = 0; k < B * T; ++k) x[k] = frand(&r);
    KT_CHECK(kdts_attn_forward(&m, &ws, x, B, T, NULL, 1, &r, NULL) == KDTS_OK, "forward");
    for (l = 0; l < 2; ++l) {
        for (k = 0; k < n; ++k) z += (ws.m1[l][k] == 0.0f) + (ws.m2[l][k] == 0.0f);
        for (k = 0; k < (size_t)B * 2; ++k)
            for (i = 0; i < T; ++i)
                for (j = 0; j <= i; ++j) na++, za += ws.mp[l][(k * T + i) * T + j] == 0.0f;
    }
    KT_CHECK(fabs((double)z / (4.0 * n) - 0.25) < 0.02, "dropped share %g, expected 0.25", (double)z / (4.0 * n));
    KT_CHECK(fabs((double)za / na - 0.25) < 0.03, "dropped share of attention %g", (double)za / na);
    kdts_attn_ws_free(&ws);
    kdts_attn_free(&m);
}

#ifdef _OPENMP
/* forward, forecast and backward with 1, 2 and 3 threads: bit for bit */
static void test_threads(void)
{
    kdts_attn_config c = mkcfg(2, 32, 4, 48, 2, 0, 1, 33, 0, 5, 0, 0.1f);
    kdts_attn m;
    kdts_attn_ws ws;
    kdts_rng r, dr;
    enum { B = 6, T = 33 };
    int nt, same = 1, save = omp_get_max_threads();
    size_t nx = (size_t)B * T * 2, no = (size_t)B * T * 5, k;
    float *x = (float *)malloc(nx * 4), *dout = (float *)malloc(no * 4), *o[3], *g[3], *fc[3];
    omp_set_num_threads(3);
    kdts_attn_init(&m, &c, 9, NULL);
    kdts_attn_ws_init(&ws, &c, B, T, 1, NULL);
    kdts_rng_seed(&r, 4);
    for (k = 0; k < nx; ++k) x[k] = frand(&r);
    for (k = 0; k < no; ++k) dout[k] = frand(&r);
    for (nt = 1; nt <= 3; ++nt) {
        omp_set_num_threads(nt);
        o[nt - 1] = (float *)malloc(no * 4);
        g[nt - 1] = (float *)malloc(m.nparams * 4);
        fc[nt - 1] = (float *)malloc((size_t)B * 5 * 4);
        kdts_rng_seed(&dr, 7);
        kdts_attn_forward(&m, &ws, x, B, T, o[nt - 1], 1, &dr, NULL);
        kdts_attn_zero_grad(&m);
        kdts_attn_backward(&m, &ws, dout, NULL, NULL);
        memcpy(g[nt - 1], m.grads, m.nparams * 4);
        kdts_attn_forecast(&m, &ws, x, B, T, fc[nt - 1], NULL);
    }
    for (nt = 1; nt < 3; ++nt)
        same &= !memcmp(o[0], o[nt], no * 4) && !memcmp(g[0], g[nt], m.nparams * 4) &&
                !memcmp(fc[0], fc[nt], (size_t)B * 5 * 4);
    KT_CHECK(same, "results depend on the thread count");
    printf("OpenMP: forward, backward, forecast with 1, 2, 3 threads: %s\n", same ? "bitwise equal" : "DIFFERENT");
    for (nt = 0; nt < 3; ++nt) free(o[nt]), free(g[nt]), free(fc[nt]);
    free(x), free(dout);
    omp_set_num_threads(save);
    kdts_attn_ws_free(&ws);
    kdts_attn_free(&m);
}
#endif

int main(void)
{
    ref_file rf;
    test_config();
    test_kernels();
    /* 2 blocks, GELU, dist head, final norm; 1 block, ReLU, point, T > one
       row block of the attention; dropout with its masks in the double
       model (d 20: a full vector and a tail on AVX-512) */
    test_gradcheck("2 blk gelu dist norm T7", mkcfg(3, 12, 2, 10, 2, KDTS_ATTN_GELU, 1, 9, 1, 2, 5, 0.0f), 2, 7);
    test_gradcheck("1 blk relu point T18", mkcfg(3, 12, 2, 7, 1, KDTS_ATTN_RELU, 0, 18, 0, 3, 0, 0.0f), 2, 18);
    test_gradcheck("1 blk gelu point dropout", mkcfg(2, 20, 2, 9, 1, KDTS_ATTN_GELU, 1, 6, 0, 1, 0, 0.3f), 1, 5);
    rf = ref_load("tests/ref/attn_ref.bin");
    KT_CHECK(rf.ok, "%s", rf.err);
    if (rf.ok) {
        test_torch(&rf, "a");
        test_torch(&rf, "b");
        test_torch(&rf, "c");
    }
    ref_free(&rf);
    test_batch();
    test_inference(1, KDTS_ATTN_RELU);
    test_inference(2, KDTS_ATTN_GELU);
    test_dropout();
#ifdef _OPENMP
    test_threads();
#endif
    return kt_done();
}
