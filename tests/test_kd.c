/* test_kd.c - the distillation options of the loss and the trainer
   (issue 16): horizon- and step-weighted soft targets, multi-scale and
   frequency-domain matching, teacher-labelled extra windows, precomputed
   soft targets reused. Every loss option is checked against an independent
   double implementation of its definition (values) and against central
   finite differences of that implementation (gradients); options at zero
   weight leave the loss and the training bit for bit unchanged. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define PI2 6.283185307179586476925

/* ---- the reference loss, in double, from the definitions --------------- */

typedef struct ref_parts {
    double hard, soft, seq, ms, freq, total;
} ref_parts;

static double hweight(const kdts_loss_config *lc, int j, int H)
{
    double s = 0.0;
    int q;
    if (!(lc->horizon_weight > 0.0f)) return 1.0;
    for (q = 0; q < H; ++q) s += pow(q + 1.0, lc->horizon_weight);
    return pow(j + 1.0, lc->horizon_weight) / (s / H);
}

static double sweight(const kdts_loss_config *lc, int t, int t0, int T)
{
    double s = 0.0;
    int q;
    if (!(lc->step_weight > 0.0f)) return 1.0;
    for (q = t0; q < T; ++q) s += pow(q - t0 + 1.0, lc->step_weight);
    return pow(t - t0 + 1.0, lc->step_weight) / (s / (T - t0));
}

/* magnitudes of the DFT of x (H), f = 0 .. H/2, straight from the sum */
static void ref_mag(const double *x, int H, double *m)
{
    int f, j;
    for (f = 0; f <= H / 2; ++f) {
        double re = 0.0, im = 0.0;
        for (j = 0; j < H; ++j) {
            re += x[j] * cos(PI2 * f * j / H);
            im -= x[j] * sin(PI2 * f * j / H);
        }
        m[f] = sqrt((re * re + im * im) / H + 1e-12);
    }
}

static double ref_loss(const kdts_loss_config *lc, double wh, double ws, double wq, const double *out,
                       const double *y, const double *tv, int B, int T, ref_parts *pp)
{
    int h = lc->horizon, ns = lc->targets > 0 ? lc->targets : 1, H = h / ns, b, t, i, k, p, u, f;
    int th0 = lc->hard_last_only ? T - 1 : 0, tq0 = lc->seq_from > 0 && lc->seq_from < T ? lc->seq_from : 0;
    int ta0 = lc->aux_steps ? tq0 : T - 1, scales = lc->ms_scales > 0 ? lc->ms_scales : 3;
    double tau = lc->freq_temperature > 0.0f ? lc->freq_temperature : 1.0;
    ref_parts r;
    memset(&r, 0, sizeof r);
    for (b = 0; b < B; ++b)
        for (t = 0; t < T; ++t)
            for (i = 0; i < h; ++i) {
                size_t q = ((size_t)b * T + t) * h + i;
                double e = out[q] - (y ? y[q] : 0.0), d = out[q] - (tv ? tv[q] : 0.0);
                if (t >= th0) r.hard += e * e / ((double)B * (T - th0) * h);
                if (t == T - 1) r.soft += hweight(lc, i % H, H) * d * d / ((double)B * h);
                if (t >= tq0) r.seq += sweight(lc, t, tq0, T) * hweight(lc, i % H, H) * d * d / ((double)B * (T - tq0) * h);
            }
    if (lc->ms_weight > 0.0f) {
        int nsc = 0, s;
        for (s = 1; nsc <= scales && s <= H; s *= 2) nsc++;
        for (s = 1, p = 0; p < nsc; ++p, s *= 2) {
            int P = H / s, w;
            double sum = 0.0;
            for (b = 0; b < B; ++b)
                for (t = ta0; t < T; ++t)
                    for (k = 0; k < ns; ++k)
                        for (w = 0; w < P; ++w) {
                            double as = 0.0, at = 0.0;
                            for (u = 0; u < s; ++u) {
                                size_t q = ((size_t)b * T + t) * h + (size_t)k * H + (size_t)w * s + u;
                                as += out[q] / s;
                                at += tv[q] / s;
                            }
                            sum += (as - at) * (as - at);
                        }
            r.ms += sum / ((double)B * (T - ta0) * ns * P) / nsc;
        }
    }
    if (lc->freq_weight > 0.0f) {
        double ms[64], mt[64];
        for (b = 0; b < B; ++b)
            for (t = ta0; t < T; ++t)
                for (k = 0; k < ns; ++k) {
                    size_t q = ((size_t)b * T + t) * h + (size_t)k * H;
                    double zs = 0.0, zt = 0.0, kl = 0.0;
                    ref_mag(out + q, H, ms);
                    ref_mag(tv + q, H, mt);
                    for (f = 0; f <= H / 2; ++f) {
                        zs += exp(ms[f] / tau);
                        zt += exp(mt[f] / tau);
                    }
                    for (f = 0; f <= H / 2; ++f) {
                        double pt = exp(mt[f] / tau) / zt, ps = exp(ms[f] / tau) / zs;
                        kl += pt * log(pt / ps);
                    }
                    r.freq += tau * tau * kl / ((double)B * (T - ta0) * ns);
                }
    }
    r.total = wh * r.hard + ws * r.soft + wq * r.seq + lc->ms_weight * r.ms + lc->freq_weight * r.freq;
    if (pp) *pp = r;
    return r.total;
}

/* ---- point-mode checks: values and gradients against the reference ------ */

enum { B = 2, TT = 3, MAXN = 2 * 3 * 2 * 13 };

static void fill(kdts_rng *r, float *v, int n, float scale)
{
    int i;
    for (i = 0; i < n; ++i) v[i] = scale * kdts_rng_normal(r);
}

static double reldiff(double a, double b) { return fabs(a - b) / (fabs(b) > 1e-12 ? fabs(b) : 1e-12); }

/* lc: loss settings with horizon h; compares kdts_loss_eval with the
   reference (each part) and its gradient with central differences. */
static void check_point(const char *name, const kdts_loss_config *lc, float wh, float ws, float wq)
{
    int h = lc->horizon, n = B * TT * h, i;
    float out[MAXN], y[MAXN], tv[MAXN], dout[MAXN];
    double od[MAXN], yd[MAXN], td[MAXN], gmax = 0.0, emax = 0.0;
    kdts_loss_value lv;
    ref_parts rp;
    kdts_rng r;
    kdts_error e;
    kdts_result res;
    kdts_rng_seed(&r, 11);
    fill(&r, out, n, 1.0f);
    fill(&r, y, n, 1.0f);
    fill(&r, tv, n, 1.0f);
    for (i = 0; i < n; ++i) {
        od[i] = out[i];
        yd[i] = y[i];
        td[i] = tv[i];
    }
    res = kdts_loss_eval(lc, wh, ws, wq, out, y, tv, NULL, B, TT, &lv, dout, &e);
    KT_CHECK(res == KDTS_OK, "%s: loss failed: %s", name, e.message);
    ref_loss(lc, wh, ws, wq, od, yd, td, B, TT, &rp);
    /* the library leaves a term without weight uncomputed (0) */
    if (wh == 0.0f) rp.hard = 0.0;
    if (ws == 0.0f) rp.soft = 0.0;
    if (wq == 0.0f) rp.seq = 0.0;
    KT_CHECK(reldiff(lv.total, rp.total) < 1e-6 && reldiff(lv.hard + 1, rp.hard + 1) < 1e-6 &&
                 reldiff(lv.soft + 1, rp.soft + 1) < 1e-6 && reldiff(lv.seq + 1, rp.seq + 1) < 1e-6 &&
                 reldiff(lv.ms + 1, rp.ms + 1) < 1e-6 && reldiff(lv.freq + 1, rp.freq + 1) < 1e-6,
             "%s: value %.9g (hard %g soft %g seq %g ms %g freq %g) vs reference %.9g (%g %g %g %g %g)", name,
             lv.total, lv.hard, lv.soft, lv.seq, lv.ms, lv.freq, rp.total, rp.hard, rp.soft, rp.seq, rp.ms, rp.freq);
    for (i = 0; i < n; ++i) {
        double s = od[i], eps = 1e-5, lp, lm, g;
        od[i] = s + eps;
        lp = ref_loss(lc, wh, ws, wq, od, yd, td, B, TT, NULL);
        od[i] = s - eps;
        lm = ref_loss(lc, wh, ws, wq, od, yd, td, B, TT, NULL);
        od[i] = s;
        g = (lp - lm) / (2 * eps);
        if (fabs(g) > gmax) gmax = fabs(g);
        if (fabs(g - dout[i]) > emax) emax = fabs(g - dout[i]);
    }
    printf("%-34s loss %.6f  |dout - fd| max %.2e (max |g| %.3g)\n", name, lv.total, emax, gmax);
    KT_CHECK(gmax > 0.0 && emax <= 1e-5 * gmax + 1e-7, "%s: gradient error %.3g of %.3g", name, emax, gmax);
}

static kdts_loss_config point_cfg(int targets, int H)
{
    kdts_loss_config lc;
    memset(&lc, 0, sizeof lc);
    lc.mode = KDTS_MODE_POINT;
    lc.horizon = targets * H;
    lc.targets = targets;
    lc.temperature = 1.0f;
    lc.label_sigma = 1.0f;
    return lc;
}

static void test_point_options(void)
{
    kdts_loss_config lc;
    lc = point_cfg(1, 8);
    check_point("defaults (old loss)", &lc, 0.4f, 0.6f, 0.3f);
    lc.hard_last_only = 1;
    lc.seq_from = 1;
    check_point("defaults, hard last, seq from 1", &lc, 0.4f, 0.6f, 0.3f);
    lc = point_cfg(2, 8);
    lc.horizon_weight = 1.0f;
    check_point("horizon ramp, 2 series", &lc, 0.5f, 0.5f, 0.2f);
    lc.horizon_weight = 2.5f;
    lc.step_weight = 1.5f;
    lc.seq_from = 1;
    check_point("horizon^2.5, step^1.5, seq from 1", &lc, 0.5f, 0.5f, 0.7f);
    lc = point_cfg(1, 8);
    lc.step_weight = 1.0f;
    check_point("step ramp only", &lc, 0.0f, 0.0f, 1.0f);
    lc = point_cfg(2, 8);
    lc.ms_weight = 0.7f;
    check_point("multi-scale 1,2,4,8", &lc, 0.5f, 0.5f, 0.0f);
    lc = point_cfg(1, 12);
    lc.ms_weight = 1.3f;
    lc.aux_steps = 1;
    lc.ms_scales = 2;
    check_point("multi-scale 1,2,4 H 12 every step", &lc, 0.0f, 0.0f, 0.0f);
    lc = point_cfg(1, 13);
    lc.ms_weight = 1.0f;
    check_point("multi-scale H 13 (remainders)", &lc, 0.0f, 0.0f, 0.0f);
    lc = point_cfg(2, 8);
    lc.freq_weight = 0.9f;
    check_point("frequency T 1", &lc, 0.5f, 0.5f, 0.0f);
    lc = point_cfg(1, 7);
    lc.freq_weight = 2.0f;
    lc.freq_temperature = 0.5f;
    lc.aux_steps = 1;
    lc.seq_from = 1;
    check_point("frequency H 7, T 0.5, every step", &lc, 0.0f, 0.0f, 0.0f);
    lc = point_cfg(2, 12);
    lc.horizon_weight = 1.0f;
    lc.step_weight = 0.5f;
    lc.ms_weight = 0.5f;
    lc.freq_weight = 0.5f;
    lc.freq_temperature = 2.0f;
    lc.aux_steps = 1;
    check_point("everything together", &lc, 0.3f, 0.4f, 0.3f);
}

/* options with no weight (or weight 0) change nothing, bit for bit */
static void test_zero_is_old(void)
{
    float out[MAXN], y[MAXN], tv[MAXN], d0[MAXN], d1[MAXN];
    int modes, n = B * TT * 16;
    kdts_rng r;
    kdts_rng_seed(&r, 5);
    fill(&r, out, n, 1.0f);
    fill(&r, y, n, 1.0f);
    fill(&r, tv, n, 1.0f);
    for (modes = 0; modes < 2; ++modes) {
        kdts_loss_config a = point_cfg(1, 16), b2;
        kdts_loss_value la, lb;
        a.targets = 0;
        a.seq_from = modes;
        b2 = a;
        b2.targets = 2;
        b2.ms_scales = 5;
        b2.freq_temperature = 3.0f;
        b2.aux_steps = 1;
        KT_CHECK(kdts_loss_eval(&a, 0.3f, 0.7f, 0.2f, out, y, tv, NULL, B, TT, &la, d0, NULL) == KDTS_OK &&
                     kdts_loss_eval(&b2, 0.3f, 0.7f, 0.2f, out, y, tv, NULL, B, TT, &lb, d1, NULL) == KDTS_OK,
                 "zero options: loss failed");
        KT_CHECK(memcmp(&la.total, &lb.total, sizeof la.total) == 0 && memcmp(d0, d1, sizeof(float) * n) == 0 &&
                     lb.ms == 0.0 && lb.freq == 0.0,
                 "options without weight change the loss (seq_from %d): %.17g vs %.17g", modes, la.total, lb.total);
    }
}

/* dist mode: horizon and step weights, against central differences of the
   library's own loss (float softmax: a looser bound) and against the
   unweighted loss on the same data (weights only move the mean) */
static void test_dist_weights(void)
{
    enum { K = 6, H = 4, O = H * K };
    float z[B * TT * O], y[B * TT * H], tv[B * TT * H], tp[B * H * K], dz[B * TT * O];
    kdts_loss_config lc;
    kdts_loss_value lv, l0;
    double emax = 0.0, gmax = 0.0;
    int i, j, k;
    kdts_rng r;
    kdts_rng_seed(&r, 9);
    fill(&r, z, B * TT * O, 1.0f);
    fill(&r, y, B * TT * H, 1.0f);
    fill(&r, tv, B * TT * H, 1.0f);
    for (i = 0; i < B * H; ++i) {
        float s = 0.0f;
        for (k = 0; k < K; ++k) s += tp[i * K + k] = kdts_rng_uniform(&r) + 0.1f;
        for (k = 0; k < K; ++k) tp[i * K + k] /= s;
    }
    memset(&lc, 0, sizeof lc);
    lc.mode = KDTS_MODE_DIST;
    lc.horizon = H;
    lc.bins = K;
    lc.bin_lo = -3.0f;
    lc.bin_hi = 3.0f;
    lc.temperature = 2.0f;
    lc.label_sigma = 1.0f;
    KT_CHECK(kdts_loss_eval(&lc, 0.3f, 0.5f, 0.4f, z, y, tv, tp, B, TT, &l0, NULL, NULL) == KDTS_OK, "dist loss");
    lc.horizon_weight = 1.0f;
    lc.step_weight = 2.0f;
    KT_CHECK(kdts_loss_eval(&lc, 0.3f, 0.5f, 0.4f, z, y, tv, tp, B, TT, &lv, dz, NULL) == KDTS_OK, "dist loss weighted");
    KT_CHECK(lv.hard == l0.hard && lv.soft != l0.soft && lv.seq != l0.seq,
             "dist weights: hard %g/%g soft %g/%g seq %g/%g", lv.hard, l0.hard, lv.soft, l0.soft, lv.seq, l0.seq);
    {
        /* the weighted soft term from the unweighted per-position terms */
        double want = 0.0, wj[H], s = 0.0;
        for (j = 0; j < H; ++j) s += j + 1.0;
        for (j = 0; j < H; ++j) wj[j] = (j + 1.0) / (s / H);
        for (j = 0; j < H; ++j) {
            /* KL at position j alone: one-position loss with w_soft 1 */
            double kl = 0.0, lse = -1e300, mx = -1e300;
            int b;
            for (b = 0; b < B; ++b) {
                const float *zz = z + ((size_t)(b * TT + TT - 1) * H + j) * K;
                const float *pt = tp + ((size_t)b * H + j) * K;
                mx = -1e300;
                for (k = 0; k < K; ++k) mx = zz[k] / 2.0 > mx ? zz[k] / 2.0 : mx;
                lse = 0.0;
                for (k = 0; k < K; ++k) lse += exp(zz[k] / 2.0 - mx);
                lse = log(lse) + mx;
                for (k = 0; k < K; ++k) kl += pt[k] * (log(pt[k]) - (zz[k] / 2.0 - lse));
            }
            want += wj[j] * 4.0 * kl / (B * H);
        }
        KT_CHECK(reldiff(lv.soft, want) < 1e-5, "dist weighted soft %.9g vs %.9g", lv.soft, want);
    }
    for (i = 0; i < B * TT * O; ++i) {
        float s = z[i], zp, zm;
        kdts_loss_value a, b2;
        double g;
        zp = s + 1e-2f;
        zm = s - 1e-2f;
        z[i] = zp;
        kdts_loss_eval(&lc, 0.3f, 0.5f, 0.4f, z, y, tv, tp, B, TT, &a, NULL, NULL);
        z[i] = zm;
        kdts_loss_eval(&lc, 0.3f, 0.5f, 0.4f, z, y, tv, tp, B, TT, &b2, NULL, NULL);
        z[i] = s;
        g = (a.total - b2.total) / ((double)zp - zm);
        if (fabs(g) > gmax) gmax = fabs(g);
        if (fabs(g - dz[i]) > emax) emax = fabs(g - dz[i]);
    }
    printf("%-34s |dz - fd| max %.2e (max |g| %.3g)\n", "dist horizon+step weights", emax, gmax);
    KT_CHECK(gmax > 0.0 && emax < 2e-3 * gmax, "dist weighted gradient error %.3g of %.3g", emax, gmax);
}

static void test_option_errors(void)
{
    float v[64] = {0};
    kdts_loss_config lc = point_cfg(1, 8), bad;
    kdts_error e;
    bad = lc;
    bad.targets = 3; /* 3 does not divide 8 */
    KT_CHECK(kdts_loss_eval(&bad, 1, 0, 0, v, v, v, NULL, 1, 1, NULL, NULL, &e) == KDTS_ERR_ARG, "targets 3 of 8");
    bad = lc;
    bad.ms_weight = -1.0f;
    KT_CHECK(kdts_loss_eval(&bad, 1, 0, 0, v, v, v, NULL, 1, 1, NULL, NULL, &e) == KDTS_ERR_ARG, "negative ms");
    bad = lc;
    bad.horizon_weight = -0.5f;
    KT_CHECK(kdts_loss_eval(&bad, 1, 0, 0, v, v, v, NULL, 1, 1, NULL, NULL, &e) == KDTS_ERR_ARG, "negative hw");
    bad = lc;
    bad.freq_weight = 1.0f;
    KT_CHECK(kdts_loss_eval(&bad, 1, 0, 0, v, v, NULL, NULL, 1, 1, NULL, NULL, &e) == KDTS_ERR_ARG,
             "freq without teacher values");
    bad = lc;
    bad.aux_steps = 2;
    KT_CHECK(kdts_loss_eval(&bad, 1, 0, 0, v, v, v, NULL, 1, 1, NULL, NULL, &e) == KDTS_ERR_ARG, "aux_steps 2");
    bad = lc;
    bad.mode = KDTS_MODE_DIST;
    bad.bins = 2;
    bad.horizon = 4;
    bad.bin_lo = -1;
    bad.bin_hi = 1;
    bad.ms_weight = 1.0f;
    KT_CHECK(kdts_loss_eval(&bad, 1, 0, 0, v, v, v, v, 1, 1, NULL, NULL, &e) == KDTS_ERR_ARG, "ms in dist mode");
    KT_CHECK(kdts_loss_eval(&lc, 1, 0, 0, v, v, v, NULL, 1, 1, NULL, NULL, &e) == KDTS_OK, "good settings");
}

/* ---- the trainer: options, extra windows, soft targets reused ---------- */

enum { NW = 40, TW = 10, HW = 8 };
static float g_x[NW * TW], g_y[NW * TW * HW];

/* windows of a noisy two-tone series: x (NW,TW,1), y (NW,TW,HW) */
static void make_data(kdts_dataset *d)
{
    kdts_rng r;
    int i, t, j;
    kdts_rng_seed(&r, 3);
    for (i = 0; i < NW; ++i)
        for (t = 0; t < TW; ++t) {
            float u = (float)(i + t);
            g_x[i * TW + t] = sinf(0.3f * u) + 0.4f * sinf(1.1f * u) + 0.05f * kdts_rng_normal(&r);
            for (j = 0; j < HW; ++j) {
                float v = (float)(i + t + 1 + j);
                g_y[(i * TW + t) * HW + j] = sinf(0.3f * v) + 0.4f * sinf(1.1f * v);
            }
        }
    d->x = g_x;
    d->y = g_y;
    d->n = NW;
    d->T = TW;
    d->F = 1;
    d->h = HW;
}

/* A net of the kind for windows of TW steps and HW outputs: width hidden
   units (or d_model), depth layers or blocks and heads (0: the defaults),
   a final norm on attention of more than one block. */
static void make_net(kdts_net *m, kdts_kind kind, int width, int depth, int heads, unsigned long long seed)
{
    kdts_net_config c;
    kdts_error e;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.horizon = HW;
    c.hidden = width;
    c.d_model = width;
    c.layers = depth;
    c.blocks = depth;
    c.heads = heads;
    c.final_norm = kind == KDTS_KIND_ATTN && depth > 1;
    c.lookback = TW;
    KT_CHECK(kdts_net_init(m, &c, seed, &e) == KDTS_OK, "net init: %s", e.message);
}

static void new_net(kdts_net *m, kdts_kind kind, int width, unsigned long long seed)
{
    make_net(m, kind, width, 0, 0, seed);
}

static void base_cfg(kdts_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 3;
    c->batch = 8;
    c->seed = 7;
    c->adam.lr = 0.01f;
    c->alpha = 0.6f;
    c->beta = 0.3f;
}

static kdts_net g_teacher;

static const kdts_net *const *teacher1(void)
{
    static const kdts_net *p[1];
    p[0] = &g_teacher;
    return p;
}

static int same_params(const kdts_net *a, const kdts_net *b)
{
    return a->nparams == b->nparams && !memcmp(a->params, b->params, a->nparams * sizeof(float));
}

/* settings that have no weight (or no extra windows) leave training bit
   for bit unchanged */
static void test_train_defaults(const kdts_dataset *d)
{
    kdts_net a, b;
    kdts_train_config c;
    kdts_error e;
    new_net(&a, KDTS_KIND_LSTM, 4, 31);
    new_net(&b, KDTS_KIND_LSTM, 4, 31);
    base_cfg(&c);
    KT_CHECK(kdts_net_train(&a, &c, d, NULL, teacher1(), 1, NULL, &e) == KDTS_OK, "train a: %s", e.message);
    c.ms_scales = 4;
    c.freq_temperature = 2.0f;
    c.aux_steps = 1;
    c.targets = 2;
    c.extra_jitter = 0.3f;
    c.extra_scale = 0.2f;
    c.extra_mixup = 0.5f;
    KT_CHECK(kdts_net_train(&b, &c, d, NULL, teacher1(), 1, NULL, &e) == KDTS_OK, "train b: %s", e.message);
    KT_CHECK(same_params(&a, &b), "options without weight or extra windows change training");
    kdts_net_free(&a);
    kdts_net_free(&b);
}

/* every option on, for every model kind: trains, stays finite, and the
   student ends closer to the teacher than it started */
static double teacher_gap(const kdts_net *m, const kdts_dataset *d)
{
    float *fs = (float *)malloc(sizeof(float) * NW * HW), *ft = (float *)malloc(sizeof(float) * NW * HW);
    double s = 0.0;
    int i;
    kdts_net_predict(m, d->x, NW, TW, fs, NULL);
    kdts_net_predict(&g_teacher, d->x, NW, TW, ft, NULL);
    for (i = 0; i < NW * HW; ++i) s += ((double)fs[i] - ft[i]) * ((double)fs[i] - ft[i]);
    free(fs);
    free(ft);
    return s / (NW * HW);
}

static void test_all_kinds(const kdts_dataset *d)
{
    static const kdts_kind kinds[] = {KDTS_KIND_LSTM, KDTS_KIND_GRU, KDTS_KIND_ATTN, KDTS_KIND_LINEAR};
    int k;
    for (k = 0; k < 4; ++k) {
        kdts_net m;
        kdts_train_config c;
        kdts_train_report rep;
        kdts_error e;
        double g0, g1;
        new_net(&m, kinds[k], 8, 41);
        g0 = teacher_gap(&m, d);
        base_cfg(&c);
        c.epochs = 6;
        c.alpha = 0.8f;
        c.horizon_weight = 1.0f;
        c.step_weight = 1.0f;
        c.ms_weight = 0.5f;
        c.freq_weight = 0.5f;
        c.aux_steps = 1;
        c.extra_per_window = 2;
        c.extra_jitter = 0.1f;
        c.extra_scale = 0.2f;
        c.extra_mixup = 0.3f;
        KT_CHECK(kdts_net_train(&m, &c, d, NULL, teacher1(), 1, &rep, &e) == KDTS_OK, "%s with every option: %s",
                 kdts_kind_name(kinds[k]), e.message);
        g1 = teacher_gap(&m, d);
        printf("%-6s every option: steps %lld, loss %.4f, mse to teacher %.4f -> %.4f\n", kdts_kind_name(kinds[k]),
               rep.steps, rep.final_loss, g0, g1);
        KT_CHECK(rep.steps == 6LL * (3 * NW / 8) && g1 < g0, "%s: %lld steps, gap %g -> %g",
                 kdts_kind_name(kinds[k]), rep.steps, g0, g1);
        kdts_net_free(&m);
    }
}

/* the extra windows' inputs: deterministic, each transform as documented */
static void test_extra_windows(const kdts_dataset *d)
{
    kdts_train_config c;
    float *x = (float *)malloc(sizeof(float) * 3 * NW * TW), *x2 = (float *)malloc(sizeof(float) * 3 * NW * TW);
    double m = 0.0, v = 0.0;
    int i, w, t, ok = 1, varied = 0;
    base_cfg(&c);
    c.extra_per_window = 3;
    c.extra_jitter = 0.5f;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_OK && kdts_extra_windows(&c, d, x, NULL) == KDTS_OK &&
                 kdts_extra_windows(&c, d, x2, NULL) == KDTS_OK && !memcmp(x, x2, sizeof(float) * 3 * NW * TW),
             "extra windows are a function of the settings");
    for (w = 0; w < NW; ++w)
        for (i = 0; i < 3; ++i)
            for (t = 0; t < TW; ++t) {
                double e = (double)x[(w * 3 + i) * TW + t] - d->x[w * TW + t];
                m += e;
                v += e * e;
            }
    m /= 3 * NW * TW;
    v = sqrt(v / (3 * NW * TW) - m * m);
    printf("jitter 0.5: noise mean %.3f, sd %.3f over %d values\n", m, v, 3 * NW * TW);
    KT_CHECK(fabs(m) < 0.1 && fabs(v - 0.5) < 0.05, "jitter noise mean %g sd %g", m, v);
    c.extra_jitter = 0.0f;
    c.extra_scale = 0.25f;
    kdts_extra_windows(&c, d, x, NULL);
    for (w = 0; w < NW; ++w)
        for (i = 0; i < 3; ++i) {
            const float *o = x + (w * 3 + i) * TW, *a = d->x + w * TW;
            double f = (double)o[0] / a[0];
            if (!(f >= 0.75 - 1e-6 && f <= 1.25 + 1e-6)) ok = 0;
            for (t = 1; t < TW; ++t)
                if (fabs(o[t] - f * a[t]) > 1e-5 * (1 + fabs(a[t]))) ok = 0;
            if (fabs(f - 1.0) > 0.01) varied++;
        }
    KT_CHECK(ok && varied > NW, "scaled windows: one factor per window in [0.75, 1.25] (%d varied)", varied);
    c.extra_scale = 0.0f;
    c.extra_mixup = 0.4f;
    kdts_extra_windows(&c, d, x, NULL);
    ok = 1;
    for (w = 0; w < NW * 3; ++w) {
        /* some training window x' and l in [0, 0.4] give x = (1-l) a + l x' */
        const float *o = x + w * TW, *a = d->x + (w / 3) * TW;
        int found = 0, q;
        for (q = 0; q < NW && !found; ++q) {
            const float *b = d->x + q * TW;
            double l = fabs(b[0] - a[0]) > 1e-3 ? ((double)o[0] - a[0]) / (b[0] - a[0]) : 0.0;
            int all = l >= -1e-4 && l <= 0.4 + 1e-4;
            for (t = 0; t < TW && all; ++t) all = fabs((1 - l) * a[t] + l * b[t] - o[t]) < 1e-4;
            found = all;
        }
        if (!found) ok = 0;
    }
    KT_CHECK(ok, "mixed-up windows are (1-l) x + l x' with l in [0, 0.4]");
    c.extra_mixup = 0.0f;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "extra windows without a transform");
    c.extra_scale = 1.0f;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "extra_scale 1");
    c.extra_scale = 0.1f;
    c.extra_per_window = -1;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "extra_per_window -1");
    free(x);
    free(x2);
}

typedef struct grab {
    float *g;
    int calls;
} grab;
static kdts_result grab_first(float *grads, size_t n, kdts_result local, void *user)
{
    grab *q = (grab *)user;
    if (q->calls++ == 0) memcpy(q->g, grads, n * sizeof(float));
    return local;
}
static int stop_now(const kdts_epoch_info *in, void *user)
{
    (void)in;
    (void)user;
    return 1;
}

/* Extra windows are soft-only rows of the pool: with alpha 1 (no hard
   loss anywhere) the first step's gradient equals that of a plain dataset
   of the real and the extra windows with their soft targets, whose extra
   rows carry NaN labels (never read). The teachers' labels of the extra
   windows are the soft targets of kdts_extra_windows' inputs, computed
   once: precomputed ones give the same student bit for bit. */
static void test_extra_training(const kdts_dataset *d)
{
    enum { E = 2, NA = NW * (1 + E) };
    kdts_train_config c;
    kdts_net a, b, s1, s2;
    kdts_dataset all = *d;
    kdts_error e;
    grab ga, gb;
    float *xa = (float *)malloc(sizeof(float) * NA * TW), *ya = (float *)malloc(sizeof(float) * NA * TW * HW);
    float *tva = (float *)malloc(sizeof(float) * NA * TW * HW);
    double worst = 0.0, scale = 0.0;
    size_t i;
    base_cfg(&c);
    c.alpha = 1.0f;
    c.beta = 0.4f;
    c.horizon_weight = 1.0f;
    c.extra_per_window = E;
    c.extra_jitter = 0.2f;
    c.extra_mixup = 0.3f;
    c.on_grad = grab_first;
    c.on_batch = stop_now;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_OK, "config");
    memcpy(xa, d->x, sizeof(float) * NW * TW);
    kdts_extra_windows(&c, d, xa + NW * TW, NULL);
    memcpy(ya, d->y, sizeof(float) * NW * TW * HW);
    for (i = (size_t)NW * TW * HW; i < (size_t)NA * TW * HW; ++i) ya[i] = NAN;
    KT_CHECK(kdts_soft_targets(teacher1(), 1, xa, NA, TW, 1.0f, tva, NULL, NULL, &e) == KDTS_OK, "soft: %s",
             e.message);
    all.x = xa;
    all.y = ya;
    all.n = NA;
    new_net(&a, KDTS_KIND_GRU, 5, 43);
    new_net(&b, KDTS_KIND_GRU, 5, 43);
    ga.g = (float *)calloc(a.nparams, sizeof(float));
    gb.g = (float *)calloc(a.nparams, sizeof(float));
    ga.calls = gb.calls = 0;
    c.user = &ga;
    KT_CHECK(kdts_net_train(&a, &c, d, NULL, teacher1(), 1, NULL, &e) == KDTS_OK, "extra run: %s", e.message);
    c.user = &gb;
    c.extra_per_window = 0;
    c.soft_values = tva;
    KT_CHECK(kdts_net_train(&b, &c, &all, NULL, NULL, 0, NULL, &e) == KDTS_OK, "plain run: %s", e.message);
    for (i = 0; i < a.nparams; ++i) {
        double dl = fabs((double)ga.g[i] - gb.g[i]);
        if (dl > worst) worst = dl;
        if (fabs(gb.g[i]) > scale) scale = fabs(gb.g[i]);
    }
    printf("extra rows vs a plain soft-only dataset: first gradient |dg| max %.2e (max |g| %.3g)\n", worst, scale);
    KT_CHECK(ga.calls == 1 && gb.calls == 1 && scale > 0 && worst <= 1e-5 * scale,
             "extra rows' gradient %g of %g (calls %d %d)", worst, scale, ga.calls, gb.calls);
    /* precomputed soft targets for the real and the extra windows */
    base_cfg(&c);
    c.alpha = 0.5f;
    c.ms_weight = 0.3f;
    c.extra_per_window = E;
    c.extra_jitter = 0.2f;
    c.extra_mixup = 0.3f;
    new_net(&s1, KDTS_KIND_LSTM, 4, 47);
    new_net(&s2, KDTS_KIND_LSTM, 4, 47);
    KT_CHECK(kdts_net_train(&s1, &c, d, NULL, teacher1(), 1, NULL, &e) == KDTS_OK, "teachers: %s", e.message);
    c.soft_values = tva;
    KT_CHECK(kdts_net_train(&s2, &c, d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_ARG, "extra soft targets missing");
    c.extra_soft_values = tva + NW * TW * HW;
    KT_CHECK(kdts_net_train(&s2, &c, d, NULL, NULL, 0, NULL, &e) == KDTS_OK, "precomputed: %s", e.message);
    KT_CHECK(same_params(&s1, &s2), "precomputed soft targets (real and extra windows) = teachers");
    c.soft_values = NULL;
    c.extra_soft_values = NULL;
    KT_CHECK(kdts_net_train(&s2, &c, d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_ARG, "extra windows without teachers");
    kdts_net_free(&a);
    kdts_net_free(&b);
    kdts_net_free(&s1);
    kdts_net_free(&s2);
    free(ga.g);
    free(gb.g);
    free(xa);
    free(ya);
    free(tva);
}

/* extra_refresh: epoch e trains on draw e of the extra windows, labelled
   by the teachers then; precomputed targets cannot be refreshed */
static void test_extra_refresh(const kdts_dataset *d)
{
    kdts_train_config c;
    kdts_net m;
    kdts_trainer tr;
    kdts_error e;
    size_t nx, nv;
    float *x0, *xw, *lab;
    base_cfg(&c);
    c.extra_per_window = 2;
    c.extra_jitter = 0.2f;
    c.extra_refresh = 1;
    new_net(&m, KDTS_KIND_LSTM, 4, 59);
    KT_CHECK(kdts_trainer_init(&tr, &m, &c, d, NULL, &e) == KDTS_OK &&
                 kdts_trainer_teachers(&tr, teacher1(), 1, &e) == KDTS_OK, "refresh init: %s", e.message);
    nx = (size_t)tr.ne * TW;
    nv = (size_t)tr.ne * TW * HW;
    x0 = (float *)malloc(nx * sizeof(float));
    xw = (float *)malloc(nx * sizeof(float));
    lab = (float *)malloc(nv * sizeof(float));
    kdts_extra_windows(&tr.cfg, d, x0, NULL);
    KT_CHECK(tr.ne == 2 * NW && !memcmp(x0, tr.ex, nx * sizeof(float)), "epoch 1 trains on draw 0");
    KT_CHECK(kdts_trainer_epoch(&tr, NULL, &e) == KDTS_OK, "epoch 1: %s", e.message);
    KT_CHECK(!memcmp(x0, tr.ex, nx * sizeof(float)), "draw 0 kept through epoch 1");
    KT_CHECK(kdts_trainer_epoch(&tr, NULL, &e) == KDTS_OK, "epoch 2: %s", e.message);
    kdts_extra_windows_draw(&tr.cfg, d, 1, xw, NULL);
    kdts_soft_targets(teacher1(), 1, xw, tr.ne, TW, 1.0f, lab, NULL, NULL, NULL);
    KT_CHECK(memcmp(x0, xw, nx * sizeof(float)) && !memcmp(xw, tr.ex, nx * sizeof(float)) &&
                 !memcmp(lab, tr.etv, nv * sizeof(float)),
             "epoch 2 trains on draw 1 with the teacher's labels of it");
    kdts_trainer_free(&tr);
    c.soft_values = lab; /* any values: refused before use */
    c.extra_soft_values = lab;
    KT_CHECK(kdts_net_train(&m, &c, d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_ARG, "refresh of precomputed targets");
    c.extra_refresh = 2;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "extra_refresh 2");
    free(x0);
    free(xw);
    free(lab);
    kdts_net_free(&m);
}

static void test_train_errors(const kdts_dataset *d)
{
    kdts_net m, md;
    kdts_net_config dc;
    kdts_train_config c;
    kdts_trainer tr;
    new_net(&m, KDTS_KIND_LSTM, 3, 53);
    base_cfg(&c);
    c.targets = 3; /* does not divide 8 */
    KT_CHECK(kdts_trainer_init(&tr, &m, &c, d, NULL, NULL) == KDTS_ERR_ARG, "targets 3 of 8");
    kdts_trainer_free(&tr);
    base_cfg(&c);
    c.horizon_weight = -1.0f;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "negative horizon weight");
    base_cfg(&c);
    c.freq_temperature = -1.0f;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "negative freq temperature");
    base_cfg(&c);
    c.aux_steps = 3;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "aux_steps 3");
    memset(&dc, 0, sizeof dc);
    dc.hidden = 3;
    dc.horizon = HW;
    dc.mode = KDTS_MODE_DIST;
    dc.bins = 4;
    KT_CHECK(kdts_net_init(&md, &dc, 1, NULL) == KDTS_OK, "dist net");
    base_cfg(&c);
    c.freq_weight = 1.0f;
    KT_CHECK(kdts_trainer_init(&tr, &md, &c, d, NULL, NULL) == KDTS_ERR_ARG, "frequency term in dist mode");
    kdts_trainer_free(&tr);
    kdts_net_free(&m);
    kdts_net_free(&md);
}


/* ---- hidden-state hints ------------------------------------------------- */

#ifndef KD_EPS
#define KD_EPS 1e-3f
#endif
static void hint_net(kdts_net *m, kdts_kind kind, int width, int depth, unsigned long long seed)
{
    make_net(m, kind, width, depth, width % 2 ? 1 : 2, seed);
}

/* kdts_hint_loss's gradients w.r.t. the student's parameters and the
   projection against central differences of its own value (the float
   forward, the loss summed in double: differences good to ~1e-4 of the
   largest gradient at eps 1e-2); teachers of another kind give the
   states. */
static void hint_gradcheck(kdts_kind sk, int sdepth, kdts_kind tk, int steps)
{
    enum { BB = 3 };
    kdts_net s, te;
    kdts_net_ws ws;
    kdts_error e;
    kdts_rng r;
    int Hs, Ht, T = TW, i, np, nchk, stride;
    float *hv, *proj, *dproj, *g;
    double L, gmax = 0.0, emax = 0.0, pmax = 0.0, pemax = 0.0, w = 0.7;
    hint_net(&s, sk, 4, sdepth, 61);
    hint_net(&te, tk, 6, 1, 62);
    Hs = kdts_net_hint_width(&s);
    Ht = kdts_net_hint_width(&te);
    np = Ht * Hs + Ht;
    hv = (float *)malloc(sizeof(float) * BB * TW * Ht);
    proj = (float *)malloc(sizeof(float) * np);
    dproj = (float *)malloc(sizeof(float) * np);
    g = (float *)malloc(sizeof(float) * s.nparams);
    KT_CHECK(kdts_hint_targets(&te, g_x, BB, T, steps, hv, &e) == KDTS_OK, "hint targets: %s", e.message);
    kdts_rng_seed(&r, 63);
    fill(&r, proj, np, 0.5f);
    KT_CHECK(kdts_net_ws_init(&ws, &s.cfg, BB, T, 1, &e) == KDTS_OK, "ws: %s", e.message);
    kdts_net_zero_grad(&s);
    KT_CHECK(kdts_hint_loss(&s, &ws, g_x, BB, T, steps, hv, Ht, proj, (float)w, NULL, &L, dproj, &e) == KDTS_OK,
             "hint loss: %s", e.message);
    memcpy(g, s.grads, sizeof(float) * s.nparams);
    /* every parameter (a spread of them under KDTS_TEST_SMALL) */
    nchk = kt_small() ? 24 : (int)s.nparams;
    stride = (int)s.nparams / nchk > 1 ? (int)s.nparams / nchk : 1;
    for (i = 0; i < (int)s.nparams; i += stride) {
        float v = s.params[i], eps = KD_EPS;
        double lp, lm, fd;
        s.params[i] = v + eps;
        kdts_hint_loss(&s, &ws, g_x, BB, T, steps, hv, Ht, proj, 1.0f, NULL, &lp, NULL, NULL);
        s.params[i] = v - eps;
        kdts_hint_loss(&s, &ws, g_x, BB, T, steps, hv, Ht, proj, 1.0f, NULL, &lm, NULL, NULL);
        s.params[i] = v;
        fd = w * (lp - lm) / (2.0 * eps);
        if (fabs(fd) > gmax) gmax = fabs(fd);
        if (fabs(fd - g[i]) > emax) emax = fabs(fd - g[i]);
    }
    for (i = 0; i < np; ++i) {
        float v = proj[i], eps = 1e-2f;
        double lp, lm, fd;
        proj[i] = v + eps;
        kdts_hint_loss(&s, &ws, g_x, BB, T, steps, hv, Ht, proj, 1.0f, NULL, &lp, NULL, NULL);
        proj[i] = v - eps;
        kdts_hint_loss(&s, &ws, g_x, BB, T, steps, hv, Ht, proj, 1.0f, NULL, &lm, NULL, NULL);
        proj[i] = v;
        fd = w * (lp - lm) / (2.0 * eps);
        if (fabs(fd) > pmax) pmax = fabs(fd);
        if (fabs(fd - dproj[i]) > pemax) pemax = fabs(fd - dproj[i]);
    }
    printf("hint %s %dx%d <- %s %d, steps %d: L %.4f, student |g - fd| %.2e (max %.3g), P %.2e (max %.3g)\n",
           kdts_kind_name(sk), sdepth, Hs, kdts_kind_name(tk), Ht, steps ? steps : T, L, emax, gmax, pemax, pmax);
    KT_CHECK(gmax > 0.0 && emax <= 2e-3 * gmax, "hint gradient of the %s student: %g of %g", kdts_kind_name(sk), emax,
             gmax);
    KT_CHECK(pmax > 0.0 && pemax <= 2e-3 * pmax, "hint gradient of P (%s student): %g of %g", kdts_kind_name(sk), pemax,
             pmax);
    kdts_net_ws_free(&ws);
    kdts_net_free(&s);
    kdts_net_free(&te);
    free(hv);
    free(proj);
    free(dproj);
    free(g);
}

static void test_hint_gradients(void)
{
    kdts_dataset d;
    make_data(&d); /* the windows g_x */
    hint_gradcheck(KDTS_KIND_LSTM, 2, KDTS_KIND_ATTN, 0);
    hint_gradcheck(KDTS_KIND_GRU, 2, KDTS_KIND_LSTM, 3);
    hint_gradcheck(KDTS_KIND_ATTN, 2, KDTS_KIND_GRU, 0);
    hint_gradcheck(KDTS_KIND_ATTN, 1, KDTS_KIND_LSTM, 1);
}

/* the trainer's first full-batch gradient with hints = the one without
   them plus kdts_hint_loss's, at the trainer's starting projection */
static void test_hint_trainer(const kdts_dataset *d)
{
    static const kdts_kind kinds[] = {KDTS_KIND_LSTM, KDTS_KIND_GRU, KDTS_KIND_ATTN};
    int k;
    for (k = 0; k < 3; ++k) {
        kdts_train_config c;
        kdts_trainer tr;
        kdts_net a, b, te;
        kdts_net_ws ws;
        kdts_error e;
        grab ga, gb;
        int Ht, Hs, np;
        float *hv, *proj, *dproj;
        double L, worst = 0.0, scale = 0.0;
        size_t i;
        hint_net(&te, kinds[(k + 1) % 3], 6, 1, 70);
        base_cfg(&c);
        c.batch = NW;
        c.hint_weight = 0.5f;
        c.hint_steps = 4;
        c.on_grad = grab_first;
        c.on_batch = stop_now;
        hint_net(&a, kinds[k], 5, 1, 71);
        hint_net(&b, kinds[k], 5, 1, 71);
        Hs = kdts_net_hint_width(&a);
        Ht = kdts_net_hint_width(&te);
        np = Ht * Hs + Ht;
        hv = (float *)malloc(sizeof(float) * NW * 4 * Ht);
        proj = (float *)malloc(sizeof(float) * np);
        dproj = (float *)malloc(sizeof(float) * np);
        {
            const kdts_net *tp[1];
            tp[0] = &te;
            KT_CHECK(kdts_trainer_init(&tr, &a, &c, d, NULL, &e) == KDTS_OK &&
                         kdts_trainer_teachers(&tr, tp, 1, &e) == KDTS_OK,
                     "hint trainer: %s", e.message);
            KT_CHECK(tr.hint_ht == Ht && tr.hint_hs == Hs && tr.hint_steps == 4, "hint shapes");
            memcpy(proj, tr.hint_proj, sizeof(float) * np);
            kdts_trainer_free(&tr);
            ga.g = (float *)calloc(a.nparams, sizeof(float));
            gb.g = (float *)calloc(a.nparams, sizeof(float));
            ga.calls = gb.calls = 0;
            c.user = &ga;
            KT_CHECK(kdts_net_train(&a, &c, d, NULL, tp, 1, NULL, &e) == KDTS_OK, "hint run: %s", e.message);
            c.user = &gb;
            c.hint_weight = 0.0f;
            KT_CHECK(kdts_net_train(&b, &c, d, NULL, tp, 1, NULL, &e) == KDTS_OK, "plain run: %s", e.message);
        }
        KT_CHECK(kdts_hint_targets(&te, d->x, NW, TW, 4, hv, &e) == KDTS_OK, "hint targets: %s", e.message);
        /* b holds the weights after its step; the gradient is of the start */
        kdts_net_free(&b);
        hint_net(&b, kinds[k], 5, 1, 71);
        kdts_net_ws_init(&ws, &b.cfg, NW, TW, 1, NULL);
        kdts_net_zero_grad(&b);
        KT_CHECK(kdts_hint_loss(&b, &ws, d->x, NW, TW, 4, hv, Ht, proj, 0.5f, NULL, &L, dproj, &e) == KDTS_OK,
                 "hint loss: %s", e.message);
        for (i = 0; i < a.nparams; ++i) {
            double want = (double)gb.g[i] + b.grads[i], dl = fabs((double)ga.g[i] - want);
            if (dl > worst) worst = dl;
            if (fabs(want) > scale) scale = fabs(want);
        }
        printf("%-6s trainer with hints = without + kdts_hint_loss: |dg| max %.2e (max |g| %.3g)\n",
               kdts_kind_name(kinds[k]), worst, scale);
        KT_CHECK(ga.calls == 1 && gb.calls == 1 && scale > 0 && worst <= 1e-5 * scale,
                 "%s: trainer hint gradient off by %g of %g", kdts_kind_name(kinds[k]), worst, scale);
        kdts_net_ws_free(&ws);
        kdts_net_free(&a);
        kdts_net_free(&b);
        kdts_net_free(&te);
        free(ga.g);
        free(gb.g);
        free(hv);
        free(proj);
        free(dproj);
    }
}

static int record_hint(const kdts_epoch_info *in, void *user)
{
    double *h = (double *)user;
    if (in->epoch == 1) h[0] = in->hint;
    h[1] = in->hint;
    return 0;
}

/* training with hints: the hint term falls, hint_weight 0 (whatever the
   other hint settings) is training bit for bit as before, precomputed
   states give the same student as the teachers, extra windows carry
   states too, and the saved model holds the student's weights only */
static void test_hint_training(const kdts_dataset *d)
{
    kdts_train_config c;
    kdts_net a, b, s1, s2;
    kdts_model mo, back;
    kdts_model_desc desc;
    kdts_error e;
    double hh[2] = {-1, -1};
    float *tv, *hv, *xe, *etv, *ehv;
    size_t n1 = 0, n2 = 0;
    unsigned char *buf;
    int Ht = kdts_net_hint_width(&g_teacher), E = 1;
    /* off = bit for bit */
    new_net(&a, KDTS_KIND_LSTM, 4, 81);
    new_net(&b, KDTS_KIND_LSTM, 4, 81);
    base_cfg(&c);
    KT_CHECK(kdts_net_train(&a, &c, d, NULL, teacher1(), 1, NULL, &e) == KDTS_OK, "train a: %s", e.message);
    c.hint_steps = 3;
    c.hint_width = 5;
    KT_CHECK(kdts_net_train(&b, &c, d, NULL, teacher1(), 1, NULL, &e) == KDTS_OK, "train b: %s", e.message);
    KT_CHECK(same_params(&a, &b), "hint settings without hint_weight change training");
    /* on: trains, the term falls, the student differs */
    kdts_net_reset(&b, 81);
    base_cfg(&c);
    c.epochs = 8;
    c.hint_weight = 1.0f;
    c.on_epoch = record_hint;
    c.user = hh;
    KT_CHECK(kdts_net_train(&b, &c, d, NULL, teacher1(), 1, NULL, &e) == KDTS_OK, "hint training: %s", e.message);
    printf("hint training (lstm 4 <- lstm %d): L_hint epoch 1 %.4f -> epoch 8 %.4f\n", Ht, hh[0], hh[1]);
    KT_CHECK(hh[0] > 0.0 && hh[1] < 0.8 * hh[0], "hint term %g -> %g", hh[0], hh[1]);
    KT_CHECK(!same_params(&a, &b), "hints change training");
    /* the model file: the student's weights, nothing of P */
    memset(&desc, 0, sizeof desc);
    desc.lookback = TW;
    desc.horizon = HW;
    desc.n_features = 1;
    KT_CHECK(kdts_model_create_net(&mo, &b, &desc, &e) == KDTS_OK, "model: %s", e.message);
    kdts_model_save_mem(&mo, NULL, 0, &n1, NULL);
    kdts_model_free(&mo);
    KT_CHECK(kdts_model_create_net(&mo, &a, &desc, &e) == KDTS_OK, "model: %s", e.message);
    kdts_model_save_mem(&mo, NULL, 0, &n2, NULL);
    kdts_model_free(&mo);
    KT_CHECK(n1 > 0 && n1 == n2, "model file with hints %lu bytes, without %lu", (unsigned long)n1, (unsigned long)n2);
    KT_CHECK(kdts_model_create_net(&mo, &b, &desc, &e) == KDTS_OK, "model: %s", e.message);
    buf = (unsigned char *)malloc(n1);
    KT_CHECK(kdts_model_save_mem(&mo, buf, n1, &n2, &e) == KDTS_OK &&
                 kdts_model_load_mem(&back, buf, n2, &e) == KDTS_OK,
             "save/load: %s", e.message);
    KT_CHECK(back.nparams == kdts_net_param_count(&b.cfg) && back.nparams == b.nparams &&
                 !memcmp(back.params, b.params, b.nparams * sizeof(float)),
             "the loaded model holds the student's %lu weights only", (unsigned long)b.nparams);
    kdts_model_free(&mo);
    kdts_model_free(&back);
    free(buf);
    /* precomputed states (and extra windows') = the teachers' */
    base_cfg(&c);
    c.hint_weight = 0.3f;
    c.hint_steps = 5;
    c.extra_per_window = E;
    c.extra_jitter = 0.2f;
    new_net(&s1, KDTS_KIND_GRU, 4, 83);
    new_net(&s2, KDTS_KIND_GRU, 4, 83);
    KT_CHECK(kdts_net_train(&s1, &c, d, NULL, teacher1(), 1, NULL, &e) == KDTS_OK, "hints + extra: %s", e.message);
    tv = (float *)malloc(sizeof(float) * NW * TW * HW);
    hv = (float *)malloc(sizeof(float) * NW * 5 * Ht);
    xe = (float *)malloc(sizeof(float) * NW * E * TW);
    etv = (float *)malloc(sizeof(float) * NW * E * TW * HW);
    ehv = (float *)malloc(sizeof(float) * NW * E * 5 * Ht);
    kdts_soft_targets(teacher1(), 1, d->x, NW, TW, 1.0f, tv, NULL, NULL, NULL);
    kdts_extra_windows(&c, d, xe, NULL);
    kdts_soft_targets(teacher1(), 1, xe, NW * E, TW, 1.0f, etv, NULL, NULL, NULL);
    KT_CHECK(kdts_hint_targets(&g_teacher, d->x, NW, TW, 5, hv, &e) == KDTS_OK &&
                 kdts_hint_targets(&g_teacher, xe, NW * E, TW, 5, ehv, &e) == KDTS_OK,
             "hint targets: %s", e.message);
    c.soft_values = tv;
    c.extra_soft_values = etv;
    KT_CHECK(kdts_net_train(&s2, &c, d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_ARG, "precomputed without states");
    c.hint_values = hv;
    c.hint_width = Ht;
    KT_CHECK(kdts_net_train(&s2, &c, d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_ARG, "no extra windows' states");
    c.extra_hint_values = ehv;
    KT_CHECK(kdts_net_train(&s2, &c, d, NULL, NULL, 0, NULL, &e) == KDTS_OK, "precomputed states: %s", e.message);
    KT_CHECK(same_params(&s1, &s2), "precomputed states (real and extra windows) = the teacher's");
    kdts_net_free(&a);
    kdts_net_free(&b);
    kdts_net_free(&s1);
    kdts_net_free(&s2);
    free(tv);
    free(hv);
    free(xe);
    free(etv);
    free(ehv);
}

static void test_hint_errors(const kdts_dataset *d)
{
    kdts_train_config c;
    kdts_trainer tr;
    kdts_net m, lin;
    kdts_error e;
    const kdts_net *tp[1];
    float v[4] = {0, 0, 0, 0};
    new_net(&m, KDTS_KIND_LSTM, 3, 91);
    new_net(&lin, KDTS_KIND_LINEAR, 3, 92);
    base_cfg(&c);
    c.hint_weight = -1.0f;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "negative hint weight");
    c.hint_weight = NAN;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "NaN hint weight");
    c.hint_weight = INFINITY;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "infinite hint weight");
    base_cfg(&c);
    c.hint_steps = -2;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "negative hint steps");
    base_cfg(&c);
    c.hint_width = -1;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "negative hint width");
    base_cfg(&c);
    c.hint_weight = 1.0f;
    c.shard_count = 2;
    KT_CHECK(kdts_train_config_check(&c, NULL) == KDTS_ERR_ARG, "hints with shards");
    base_cfg(&c);
    c.hint_weight = 1.0f;
    c.hint_steps = TW + 1;
    KT_CHECK(kdts_trainer_init(&tr, &m, &c, d, NULL, NULL) == KDTS_ERR_ARG, "more hint steps than steps");
    kdts_trainer_free(&tr);
    c.hint_steps = 0;
    KT_CHECK(kdts_net_train(&lin, &c, d, NULL, teacher1(), 1, NULL, &e) == KDTS_ERR_ARG &&
                 strstr(e.message, "hidden state"),
             "a linear student with hints: %s", e.message);
    tp[0] = &lin;
    KT_CHECK(kdts_net_train(&m, &c, d, NULL, tp, 1, NULL, &e) == KDTS_ERR_ARG && strstr(e.message, "hidden state"),
             "a linear teacher with hints: %s", e.message);
    KT_CHECK(kdts_net_train(&m, &c, d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_ARG, "hints without teachers");
    KT_CHECK(kdts_hint_targets(&lin, d->x, NW, TW, 0, v, NULL) == KDTS_ERR_ARG, "hint targets of a linear model");
    KT_CHECK(kdts_hint_targets(&m, d->x, NW, TW, TW + 1, v, NULL) == KDTS_ERR_ARG, "hint targets of too many steps");
    kdts_net_free(&m);
    kdts_net_free(&lin);
}

static void test_trainer(void)
{
    kdts_dataset d;
    kdts_train_config c;
    make_data(&d);
    new_net(&g_teacher, KDTS_KIND_LSTM, 12, 3);
    base_cfg(&c);
    c.epochs = 8;
    KT_CHECK(kdts_net_train(&g_teacher, &c, &d, NULL, NULL, 0, NULL, NULL) == KDTS_OK, "teacher");
    test_train_defaults(&d);
    test_all_kinds(&d);
    test_extra_windows(&d);
    test_extra_training(&d);
    test_extra_refresh(&d);
    test_train_errors(&d);
    test_hint_trainer(&d);
    test_hint_training(&d);
    test_hint_errors(&d);
    kdts_net_free(&g_teacher);
}

int main(void)
{
    test_point_options();
    test_zero_is_old();
    test_dist_weights();
    test_option_errors();
    test_hint_gradients();
    test_trainer();
    return kt_done();
}
