/* test_net.c - the model-kind abstraction (kdts_net) over every kind:
   weights, forward and backward equal to each kind's own functions,
   finite-difference gradients of every parameter and input (the skip map
   included), model files (version 2 round trip per kind, a version-1 file
   that still loads, an unknown kind refused), deployment inference and
   streaming against the network's forecast, distillation from every kind
   into every kind, soft targets of a window model, and the closed-form
   starts of the linear kind and of the skip map. */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NCASE = 9 };

/* The architectures tested: every kind, both linear models, the skip map on
   a recurrent and on the attention kind, and distribution mode. */
static kdts_net_config make_case(int i, int F, int V, int T)
{
    kdts_net_config c;
    memset(&c, 0, sizeof c);
    c.input = F;
    c.horizon = V;
    switch (i) {
    case 0: c.kind = KDTS_KIND_LSTM, c.hidden = 6, c.layers = 2; break;
    case 1: c.kind = KDTS_KIND_GRU, c.hidden = 5, c.layers = 2; break;
    case 2: c.kind = KDTS_KIND_ATTN, c.d_model = 8, c.heads = 2, c.blocks = 2, c.ff = 12, c.max_steps = 16; break;
    case 3: c.kind = KDTS_KIND_LINEAR, c.lookback = T; break;
    case 4: c.kind = KDTS_KIND_LINEAR, c.linear = KDTS_LINEAR_DLINEAR, c.kernel = 3, c.lookback = T; break;
    case 5: c.kind = KDTS_KIND_LSTM, c.hidden = 4, c.skip = 1, c.lookback = T; break;
    case 6: c.kind = KDTS_KIND_ATTN, c.d_model = 4, c.skip = 1, c.lookback = T, c.max_steps = 16; break;
    case 7: c.kind = KDTS_KIND_GRU, c.hidden = 4, c.mode = KDTS_MODE_DIST, c.bins = 5; break;
    default: c.kind = KDTS_KIND_LINEAR, c.lookback = T, c.mode = KDTS_MODE_DIST, c.bins = 4; break;
    }
    return c;
}

static void fill(float *v, size_t n, kdts_rng *r, float s)
{
    size_t i;
    for (i = 0; i < n; ++i) v[i] = s * kdts_rng_normal(r);
}

/* Weights, forward and backward of the net are those of the kind's own
   functions, bit for bit (the net is a dispatch, not a re-implementation). */
static void test_same_as_kind(void)
{
    const int F = 2, V = 3, T = 7, B = 3;
    int i;
    for (i = 0; i < NCASE; ++i) {
        kdts_net_config c = make_case(i, F, V, T);
        kdts_net net;
        kdts_net_ws ws;
        kdts_rng r;
        kdts_error e;
        float x[3 * 7 * 2], *out, *out2, *dout, *dx, *dx2, *g2;
        int S, O, ok;
        size_t np, kp;
        char desc[96];
        if (c.skip) continue; /* a kind plus a map: not one kind's function */
        KT_CHECK(kdts_net_init(&net, &c, 77, &e) == KDTS_OK, "case %d init: %s", i, e.message);
        kdts_net_describe(&net.cfg, desc, sizeof desc);
        S = kdts_net_steps(&net.cfg, T);
        O = net.outputs;
        np = net.nparams;
        kdts_rng_seed(&r, 3 + (unsigned)i);
        fill(x, sizeof x / sizeof x[0], &r, 1.0f);
        out = (float *)malloc(sizeof(float) * (size_t)B * S * O);
        out2 = (float *)malloc(sizeof(float) * (size_t)B * S * O);
        dout = (float *)malloc(sizeof(float) * (size_t)B * S * O);
        dx = (float *)calloc((size_t)B * T * F, sizeof(float));
        dx2 = (float *)calloc((size_t)B * T * F, sizeof(float));
        g2 = (float *)malloc(sizeof(float) * np);
        fill(dout, (size_t)B * S * O, &r, 1.0f);
        KT_CHECK(kdts_net_ws_init(&ws, &net.cfg, B, T, 1, &e) == KDTS_OK, "%s ws: %s", desc, e.message);
        KT_CHECK(kdts_net_forward(&net, &ws, x, B, T, out, 1, NULL, &e) == KDTS_OK, "%s forward: %s", desc, e.message);
        kdts_net_zero_grad(&net);
        KT_CHECK(kdts_net_backward(&net, &ws, dout, dx, &e) == KDTS_OK, "%s backward: %s", desc, e.message);
        ok = 1;
        switch (c.kind) {
        case KDTS_KIND_LSTM: {
            kdts_lstm m;
            kdts_lstm_ws w;
            kp = kdts_lstm_param_count(&net.k.lstm.cfg);
            ok = kdts_lstm_init(&m, &net.k.lstm.cfg, 77, &e) == KDTS_OK && kdts_lstm_ws_init(&w, &m.cfg, B, T, 1, &e) == KDTS_OK;
            KT_CHECK(ok && kp == np && !memcmp(m.params, net.params, np * sizeof(float)), "%s: init as kdts_lstm_init", desc);
            ok = ok && kdts_lstm_forward(&m, &w, x, B, T, NULL, NULL, out2, 1, NULL, &e) == KDTS_OK;
            kdts_lstm_zero_grad(&m);
            ok = ok && kdts_lstm_backward(&m, &w, dout, dx2, NULL, NULL, &e) == KDTS_OK;
            memcpy(g2, m.grads, np * sizeof(float));
            kdts_lstm_ws_free(&w);
            kdts_lstm_free(&m);
            break;
        }
        case KDTS_KIND_GRU: {
            kdts_gru m;
            kdts_gru_ws w;
            kp = kdts_gru_param_count(&net.k.gru.cfg);
            ok = kdts_gru_init(&m, &net.k.gru.cfg, 77, &e) == KDTS_OK && kdts_gru_ws_init(&w, &m.cfg, B, T, 1, &e) == KDTS_OK;
            KT_CHECK(ok && kp == np && !memcmp(m.params, net.params, np * sizeof(float)), "%s: init as kdts_gru_init", desc);
            ok = ok && kdts_gru_forward(&m, &w, x, B, T, NULL, out2, 1, NULL, &e) == KDTS_OK;
            kdts_gru_zero_grad(&m);
            ok = ok && kdts_gru_backward(&m, &w, dout, dx2, NULL, &e) == KDTS_OK;
            memcpy(g2, m.grads, np * sizeof(float));
            kdts_gru_ws_free(&w);
            kdts_gru_free(&m);
            break;
        }
        case KDTS_KIND_ATTN: {
            kdts_attn m;
            kdts_attn_ws w;
            kp = kdts_attn_param_count(&net.k.attn.cfg);
            ok = kdts_attn_init(&m, &net.k.attn.cfg, 77, &e) == KDTS_OK && kdts_attn_ws_init(&w, &m.cfg, B, T, 1, &e) == KDTS_OK;
            KT_CHECK(ok && kp == np && !memcmp(m.params, net.params, np * sizeof(float)), "%s: init as kdts_attn_init", desc);
            ok = ok && kdts_attn_forward(&m, &w, x, B, T, out2, 1, NULL, &e) == KDTS_OK;
            kdts_attn_zero_grad(&m);
            ok = ok && kdts_attn_backward(&m, &w, dout, dx2, &e) == KDTS_OK;
            memcpy(g2, m.grads, np * sizeof(float));
            kdts_attn_ws_free(&w);
            kdts_attn_free(&m);
            break;
        }
        default: {
            kdts_linear m;
            kp = kdts_linear_param_count(&net.k.linear.cfg);
            ok = kdts_linear_init(&m, &net.k.linear.cfg, 77, &e) == KDTS_OK;
            KT_CHECK(ok && kp == np && !memcmp(m.params, net.params, np * sizeof(float)), "%s: init as kdts_linear_init", desc);
            ok = ok && kdts_linear_forward(&m, x, B, T, out2, &e) == KDTS_OK;
            kdts_linear_zero_grad(&m);
            ok = ok && kdts_linear_backward(&m, x, B, T, dout, dx2, &e) == KDTS_OK;
            memcpy(g2, m.grads, np * sizeof(float));
            kdts_linear_free(&m);
            break;
        }
        }
        KT_CHECK(ok, "%s: the kind's own functions ran: %s", desc, e.message);
        KT_CHECK(!memcmp(out, out2, sizeof(float) * (size_t)B * S * O), "%s: forward bit for bit", desc);
        KT_CHECK(!memcmp(net.grads, g2, np * sizeof(float)), "%s: parameter gradients bit for bit", desc);
        KT_CHECK(!memcmp(dx, dx2, sizeof(float) * (size_t)B * T * F), "%s: input gradients bit for bit", desc);
        free(out), free(out2), free(dout), free(dx), free(dx2), free(g2);
        kdts_net_ws_free(&ws);
        kdts_net_free(&net);
    }
}

/* L = sum(out .* R) in double over a forward (train = 1, no dropout). */
static double net_loss(const kdts_net *net, kdts_net_ws *ws, const float *x, int B, int T, const float *R, float *out)
{
    int S = kdts_net_steps(&net->cfg, T), i;
    double L = 0;
    kdts_net_forward(net, ws, x, B, T, out, 1, NULL, NULL);
    for (i = 0; i < B * S * net->outputs; ++i) L += (double)out[i] * R[i];
    return L;
}

/* Central differences on a sample of parameters (every one for small
   models; the skip map always included) and on every input value. */
static void test_gradcheck(void)
{
    const int F = 2, V = 2, T = 6, B = 2;
    int i;
    for (i = 0; i < NCASE; ++i) {
        kdts_net_config c = make_case(i, F, V, T);
        kdts_net net;
        kdts_net_ws ws;
        kdts_rng r;
        kdts_error e;
        float x[2 * 6 * 2], dx[2 * 6 * 2], *out, *R, *g;
        size_t np, p, step;
        int S, bad = 0, checked = 0, skipbad = 0, skipchecked = 0, q;
        double worst = 0;
        char desc[96];
        KT_CHECK(kdts_net_init(&net, &c, 5, &e) == KDTS_OK, "case %d init: %s", i, e.message);
        kdts_net_describe(&net.cfg, desc, sizeof desc);
        kdts_rng_seed(&r, 11 + (unsigned)i);
        np = net.nparams;
        /* non-zero skip map and larger weights so every path carries signal */
        fill(net.params + net.off_skip, np - net.off_skip, &r, 0.2f);
        S = kdts_net_steps(&net.cfg, T);
        fill(x, sizeof x / sizeof x[0], &r, 1.0f);
        out = (float *)malloc(sizeof(float) * (size_t)B * S * net.outputs);
        R = (float *)malloc(sizeof(float) * (size_t)B * S * net.outputs);
        g = (float *)malloc(sizeof(float) * np);
        fill(R, (size_t)B * S * net.outputs, &r, 1.0f);
        kdts_net_ws_init(&ws, &net.cfg, B, T, 1, &e);
        net_loss(&net, &ws, x, B, T, R, out);
        kdts_net_zero_grad(&net);
        kdts_net_backward(&net, &ws, R, dx, &e);
        memcpy(g, net.grads, np * sizeof(float));
        step = np > 600 ? np / 300 : 1;
        for (p = 0; p < np; p += (p >= net.off_skip ? 1 : step)) {
            float keep = net.params[p];
            float h = 1e-2f * (fabsf(keep) > 1 ? fabsf(keep) : 1.0f);
            double lp, lm, fd, err;
            net.params[p] = keep + h;
            lp = net_loss(&net, &ws, x, B, T, R, out);
            net.params[p] = keep - h;
            lm = net_loss(&net, &ws, x, B, T, R, out);
            net.params[p] = keep;
            fd = (lp - lm) / (2.0 * h);
            err = fabs(fd - g[p]) / (fabs(fd) + fabs(g[p]) + 1e-2);
            if (err > worst) worst = err;
            checked++;
            if (err > 2e-2) bad++;
            if (p >= net.off_skip) skipchecked++, skipbad += err > 2e-2;
        }
        KT_CHECK(bad == 0, "%s: %d of %d parameter gradients off (worst relative %.3g)", desc, bad, checked, worst);
        KT_CHECK(!net.cfg.skip || (skipchecked == (int)(np - net.off_skip) && skipbad == 0),
                 "%s: skip map gradients %d/%d off", desc, skipbad, skipchecked);
        bad = 0;
        for (q = 0; q < B * T * F; ++q) {
            float keep = x[q];
            double lp, lm, fd;
            x[q] = keep + 1e-2f;
            lp = net_loss(&net, &ws, x, B, T, R, out);
            x[q] = keep - 1e-2f;
            lm = net_loss(&net, &ws, x, B, T, R, out);
            x[q] = keep;
            fd = (lp - lm) / 2e-2;
            if (fabs(fd - dx[q]) / (fabs(fd) + fabs(dx[q]) + 1e-2) > 2e-2) bad++;
        }
        KT_CHECK(bad == 0, "%s: %d of %d input gradients off", desc, bad, B * T * F);
        free(out), free(R), free(g);
        kdts_net_ws_free(&ws);
        kdts_net_free(&net);
    }
}

static unsigned char *save_mem(const kdts_model *m, size_t *len)
{
    unsigned char *buf;
    kdts_error e;
    if (kdts_model_save_mem(m, NULL, 0, len, &e) != KDTS_OK) return NULL;
    buf = (unsigned char *)malloc(*len);
    if (kdts_model_save_mem(m, buf, *len, len, &e) != KDTS_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void put_le32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v & 255), p[1] = (unsigned char)(v >> 8 & 255);
    p[2] = (unsigned char)(v >> 16 & 255), p[3] = (unsigned char)(v >> 24 & 255);
}

/* Model files of every kind: the round trip keeps kind, settings and
   weights; inference on raw windows equals the network's forecast; the
   stream over the first T observations equals the window; an unknown kind
   in an otherwise valid file is refused. */
static void test_models(void)
{
    const int F = 2, T = 8, H = 3;
    int i;
    for (i = 0; i < NCASE; ++i) {
        kdts_net_config c = make_case(i, F, H, T);
        kdts_net net, view;
        kdts_net_ws ws;
        kdts_model m, m2;
        kdts_model_desc d;
        kdts_infer inf;
        kdts_rng r;
        kdts_error e;
        float x[8 * 2], fc[3 * 5], fw[3], fs[3], *o;
        unsigned char *buf;
        size_t len = 0;
        int t, j, dist = c.mode == KDTS_MODE_DIST;
        double worst = 0, worst_s = 0;
        char desc[96];
        KT_CHECK(kdts_net_init(&net, &c, 21, &e) == KDTS_OK, "case %d init: %s", i, e.message);
        kdts_net_describe(&net.cfg, desc, sizeof desc);
        kdts_rng_seed(&r, 40 + (unsigned)i);
        fill(net.params + net.off_skip, net.nparams - net.off_skip, &r, 0.1f);
        memset(&d, 0, sizeof d);
        d.lookback = T;
        d.horizon = H;
        d.n_features = F;
        d.window_norm = KDTS_WNORM_NONE;
        KT_CHECK(kdts_model_create_net(&m, &net, &d, &e) == KDTS_OK, "%s create: %s", desc, e.message);
        buf = save_mem(&m, &len);
        KT_CHECK(buf != NULL, "%s saved", desc);
        if (!buf) continue;
        KT_CHECK(buf[8] == KDTS_MODEL_FORMAT_VERSION && KDTS_MODEL_FORMAT_VERSION == 2, "%s: version 2 file", desc);
        KT_CHECK(kdts_model_load_mem(&m2, buf, len, &e) == KDTS_OK, "%s load: %s", desc, e.message);
        KT_CHECK(kdts_model_net(&m2, &view, &e) == KDTS_OK, "%s view: %s", desc, e.message);
        KT_CHECK(!memcmp(&view.cfg, &net.cfg, sizeof net.cfg), "%s: configuration kept", desc);
        KT_CHECK(view.nparams == net.nparams && !memcmp(view.params, net.params, net.nparams * sizeof(float)),
                 "%s: weights kept", desc);
        /* deployment inference against the network's forecast */
        kdts_net_ws_init(&ws, &net.cfg, 1, T, 0, &e);
        fill(x, (size_t)T * F, &r, 1.0f);
        o = (float *)malloc(sizeof(float) * (size_t)net.outputs);
        KT_CHECK(kdts_net_forecast(&net, &ws, x, 1, T, o, &e) == KDTS_OK, "%s forecast: %s", desc, e.message);
        KT_CHECK(kdts_infer_create(&inf, &m2, 0, &e) == KDTS_OK, "%s infer: %s", desc, e.message);
        KT_CHECK(kdts_infer_window(&inf, x, T, fw, NULL, NULL, 0, &e) == KDTS_OK, "%s window: %s", desc, e.message);
        if (!dist) {
            for (j = 0; j < H; ++j) {
                double dd = fabs(fw[j] - o[j]) / (fabs(o[j]) + 0.1);
                if (dd > worst) worst = dd;
            }
            KT_CHECK(worst < 1e-4, "%s: kdts_infer_window = kdts_net_forecast (worst relative %.3g)", desc, worst);
        } else {
            /* the bin expectation of each value, from the head's logits */
            int K = net.cfg.bins, k;
            for (j = 0; j < H; ++j) {
                double mx = -1e30, s = 0, ev = 0, w = (net.cfg.bin_hi - net.cfg.bin_lo) / K;
                for (k = 0; k < K; ++k) mx = o[j * K + k] > mx ? o[j * K + k] : mx;
                for (k = 0; k < K; ++k) {
                    double p = exp(o[j * K + k] - mx);
                    s += p;
                    ev += p * (net.cfg.bin_lo + (k + 0.5) * w);
                }
                ev /= s;
                if (fabs(fw[j] - ev) / (fabs(ev) + 0.1) > worst) worst = fabs(fw[j] - ev) / (fabs(ev) + 0.1);
            }
            KT_CHECK(worst < 1e-4, "%s: dist forecast = expectation of the net's bins (worst %.3g)", desc, worst);
        }
        /* the stream after T observations equals the window */
        KT_CHECK(kdts_infer_stream_mode(&inf, KDTS_STREAM_AUTO, &e) == KDTS_OK, "%s stream mode: %s", desc, e.message);
        for (t = 0; t < T; ++t) kdts_infer_step(&inf, x + t * F, fs, NULL, NULL, 0, &e);
        for (j = 0; j < H; ++j) {
            double dd = fabs(fs[j] - fw[j]) / (fabs(fw[j]) + 0.1);
            if (dd > worst_s) worst_s = dd;
        }
        KT_CHECK(worst_s < 1e-5, "%s: stream (%s) after T steps = window (worst relative %.3g)", desc,
                 inf.stream_mode == KDTS_STREAM_STATEFUL ? "stateful" : "window", worst_s);
        KT_CHECK((inf.stream_mode == KDTS_STREAM_STATEFUL) == (c.kind != KDTS_KIND_LINEAR && !c.skip),
                 "%s: automatic stream mode %d", desc, inf.stream_mode);
        (void)fc;
        kdts_infer_free(&inf);
        kdts_model_free(&m2);
        /* an unknown kind (first i32 of ARCH, right after the header and
           the section's tag and length) with a valid CRC: refused */
        if (i == 0) {
            unsigned char *p = (unsigned char *)malloc(len);
            kdts_result rr;
            memcpy(p, buf, len);
            KT_CHECK(!memcmp(p + 24, "ARCH", 4), "ARCH first");
            put_le32(p + 36, 9);
            put_le32(p + len - 4, kdts__crc32(0, p, len - 4));
            rr = kdts_model_load_mem(&m2, p, len, &e);
            KT_CHECK(rr == KDTS_ERR_FORMAT && strstr(e.message, "kind"), "unknown kind refused: %d %s", (int)rr,
                     e.message);
            put_le32(p + 36, (unsigned long)-1);
            put_le32(p + len - 4, kdts__crc32(0, p, len - 4));
            rr = kdts_model_load_mem(&m2, p, len, &e);
            KT_CHECK(rr == KDTS_ERR_FORMAT, "negative kind refused: %d %s", (int)rr, e.message);
            free(p);
        }
        free(buf);
        free(o);
        kdts_net_ws_free(&ws);
        kdts_model_free(&m);
        kdts_net_free(&net);
    }
}

/* A version-1 file (written by the first format: an LSTM without a kind
   field) still loads, as an LSTM, and infers. */
static void test_v1(void)
{
    kdts_model m;
    kdts_net view;
    kdts_infer inf;
    kdts_error e;
    float x[64 * 8], fc[64];
    int i;
    FILE *f = fopen("tests/data/model_v1_point_2x7.kdts", "rb");
    unsigned char head[12];
    kdts_result r;
    KT_CHECK(f && fread(head, 1, 12, f) == 12 && head[8] == 1, "the kept file is version 1");
    if (f) fclose(f);
    memset(&e, 0, sizeof e);
    r = kdts_model_load_file(&m, "tests/data/model_v1_point_2x7.kdts", &e);
    KT_CHECK(r == KDTS_OK, "v1 loads: %s", e.message);
    if (r != KDTS_OK) return;
    KT_CHECK(kdts_model_net(&m, &view, &e) == KDTS_OK && view.cfg.kind == KDTS_KIND_LSTM && view.cfg.hidden == 7 &&
                 view.cfg.layers == 2,
             "v1 is an LSTM 2x7");
    KT_CHECK(kdts_infer_create(&inf, &m, 0, &e) == KDTS_OK, "v1 infer: %s", e.message);
    for (i = 0; i < m.lookback * m.n_features && i < 64 * 8; ++i) x[i] = (float)sin(0.3 * i);
    KT_CHECK(m.lookback * m.n_features <= 64 * 8 &&
                 kdts_infer_window(&inf, x, m.lookback, fc, NULL, NULL, 0, &e) == KDTS_OK && isfinite(fc[0]),
             "v1 forecasts: %s", e.message);
    kdts_infer_free(&inf);
    kdts_model_free(&m);
}

/* A seasonal series with a second feature: y = 5 + 2 sin(2 pi i / 12) +
   0.6 a(i-1) + noise. */
static char *series_csv(int rows, size_t *len)
{
    size_t cap = (size_t)rows * 40 + 16, n = 0;
    char *s = (char *)malloc(cap);
    kdts_rng r;
    double prev_a = 0;
    int i;
    kdts_rng_seed(&r, 9);
    n += (size_t)snprintf(s + n, cap - n, "a,y\n");
    for (i = 0; i < rows; ++i) {
        double a = kdts_rng_normal(&r);
        double y = 5 + 2 * sin(2 * 3.14159265358979 * i / 12.0) + 0.6 * prev_a + 0.2 * kdts_rng_normal(&r);
        n += (size_t)snprintf(s + n, cap - n, "%.5f,%.5f\n", a, y);
        prev_a = a;
    }
    *len = n;
    return s;
}

static int open_task(kdts_task *t, int relative)
{
    kdts_task_config c;
    kdts_error e;
    const char *tgt = "y";
    size_t len;
    char *csv = series_csv(700, &len);
    int ok;
    memset(&c, 0, sizeof c);
    c.targets = &tgt;
    c.n_targets = 1;
    c.lookback = 16;
    c.horizon = 4;
    c.relative = relative;
    ok = kdts_task_open_mem(t, &c, csv, len, "series", &e) == KDTS_OK;
    KT_CHECK(ok, "task: %s", e.message);
    free(csv);
    return ok;
}

static kdts_net_config small_kind(const kdts_task *t, int kind, int big)
{
    kdts_net_config c;
    memset(&c, 0, sizeof c);
    c.kind = (kdts_kind)kind;
    if (kind == KDTS_KIND_LSTM || kind == KDTS_KIND_GRU) c.hidden = big ? 12 : 4;
    if (kind == KDTS_KIND_ATTN) c.d_model = big ? 8 : 4, c.heads = big ? 2 : 1;
    kdts_task_net_config(t, &c);
    return c;
}

/* Every kind teaches every kind (the loss sees forecasts only): each
   distilled student trains, scores finitely, and differs from the same
   student trained without the teacher; a window model's soft targets cover
   the last step only, and the trainer given them precomputed gives the
   same student as the trainer given the teacher. */
static void test_cross_kind(void)
{
    kdts_task t;
    kdts_net teach[4];
    kdts_train_config tc;
    kdts_error e;
    int a, b;
    if (!open_task(&t, KDTS_RELATIVE_LAST)) return;
    memset(&tc, 0, sizeof tc);
    tc.epochs = 2;
    tc.batch = 32;
    tc.seed = 3;
    for (a = 0; a < 4; ++a) {
        kdts_net_config c = small_kind(&t, a, 1);
        kdts_train_report rep;
        KT_CHECK(kdts_net_init(&teach[a], &c, 100 + (unsigned)a, &e) == KDTS_OK, "teacher %d: %s", a, e.message);
        KT_CHECK(kdts_task_fit(&t, &teach[a], &tc, NULL, 0, &rep, &e) == KDTS_OK && isfinite(rep.best_val_mse),
                 "teacher %s trains: %s", kdts_kind_name((kdts_kind)a), e.message);
    }
    for (a = 0; a < 4; ++a)
        for (b = 0; b < 4; ++b) {
            kdts_net_config c = small_kind(&t, b, 0);
            kdts_net kd, raw;
            kdts_train_report rk, rr;
            const kdts_net *tp = &teach[a];
            kdts_train_config kc = tc;
            size_t p, diff = 0;
            kc.alpha = 0.7f;
            kc.beta = 0.1f;
            kdts_net_init(&kd, &c, 7, &e);
            kdts_net_init(&raw, &c, 7, &e);
            KT_CHECK(kdts_task_fit(&t, &kd, &kc, &tp, 1, &rk, &e) == KDTS_OK && isfinite(rk.best_val_mse),
                     "%s -> %s distils: %s", kdts_kind_name((kdts_kind)a), kdts_kind_name((kdts_kind)b), e.message);
            kdts_task_fit(&t, &raw, &kc, NULL, 0, &rr, &e);
            for (p = 0; p < kd.nparams; ++p) diff += kd.params[p] != raw.params[p];
            KT_CHECK(diff > kd.nparams / 2, "%s -> %s: the teacher changes the student (%zu of %zu weights differ)",
                     kdts_kind_name((kdts_kind)a), kdts_kind_name((kdts_kind)b), diff, kd.nparams);
            kdts_net_free(&kd);
            kdts_net_free(&raw);
        }
    /* soft targets of a linear teacher: the last step only; precomputed =
       the teacher path */
    {
        const kdts_dataset *d = &t.data[KDTS_PART_TRAIN];
        const kdts_net *tp = &teach[KDTS_KIND_LINEAR];
        size_t n = (size_t)d->n * d->T * teach[KDTS_KIND_LINEAR].outputs;
        float *tv = (float *)calloc(n, sizeof(float));
        int seq_from = -1;
        kdts_net_config c = small_kind(&t, KDTS_KIND_GRU, 0);
        kdts_net s1, s2;
        kdts_train_config kc = tc;
        kdts_train_report r1, r2;
        const kdts_dataset *val = &t.data[KDTS_PART_VAL];
        KT_CHECK(kdts_soft_targets(&tp, 1, d->x, d->n, d->T, 1.0f, tv, NULL, &seq_from, &e) == KDTS_OK,
                 "soft targets: %s", e.message);
        KT_CHECK(seq_from == d->T - 1, "a window teacher gives the last step only (seq_from %d, T %d)", seq_from, d->T);
        kc.alpha = 0.7f;
        kdts_net_init(&s1, &c, 8, &e);
        kdts_net_init(&s2, &c, 8, &e);
        kdts_net_train(&s1, &kc, d, val, &tp, 1, &r1, &e);
        kc.soft_values = tv;
        kc.soft_last_only = 1;
        KT_CHECK(kdts_net_train(&s2, &kc, d, val, NULL, 0, &r2, &e) == KDTS_OK, "precomputed: %s", e.message);
        KT_CHECK(!memcmp(s1.params, s2.params, s1.nparams * sizeof(float)) && r1.best_val_mse == r2.best_val_mse,
                 "precomputed soft targets = teacher in the loop (val %.6g vs %.6g)", r1.best_val_mse, r2.best_val_mse);
        kdts_net_free(&s1);
        kdts_net_free(&s2);
        free(tv);
    }
    for (a = 0; a < 4; ++a) kdts_net_free(&teach[a]);
    kdts_task_free(&t);
}

/* The skip map folded from the closed-form NLinear fit, with the network's
   head at zero, forecasts exactly the NLinear baseline, on windows relative
   to their last value and on absolute windows (where the fit subtracts the
   last value inside the model); a skip model trained by kdts_task_fit is
   never worse on validation than that start; a linear-kind net starts at
   its own closed-form fit. */
static void test_starts(void)
{
    int rel;
    for (rel = 0; rel < 2; ++rel) {
        kdts_task t;
        kdts_net net;
        kdts_net_config c;
        kdts_linear_config lc;
        kdts_linear lm;
        kdts_error e;
        kdts_scores s0, s1;
        kdts_train_config tc;
        kdts_train_report rep;
        float *fb, *fn;
        size_t hw, hb;
        int width, j;
        long n;
        double worst = 0;
        const int relative = rel ? KDTS_RELATIVE_LAST : KDTS_RELATIVE_NONE;
        if (!open_task(&t, relative)) return;
        n = t.win[KDTS_PART_VAL].n;
        fb = (float *)malloc(sizeof(float) * (size_t)n * 4);
        fn = (float *)malloc(sizeof(float) * (size_t)n * 4);
        c = small_kind(&t, KDTS_KIND_LSTM, 0);
        c.skip = 1;
        kdts_task_net_config(&t, &c);
        kdts_net_init(&net, &c, 1, &e);
        memset(&lc, 0, sizeof lc);
        lc.input = c.input, lc.lookback = c.lookback, lc.horizon = c.horizon;
        if (!rel) lc.subtract_last = 1, lc.target_rev = t.F - 1 - t.target[0];
        KT_CHECK(kdts__task_fit_linear_cfg(&t, &lc, &lm, NULL, &e) == KDTS_OK, "fit: %s", e.message);
        kdts__linear_fold(&lm, net.params + net.off_skip);
        kdts_net_head(&net, &hw, &hb, &width);
        memset(net.params + hw, 0, sizeof(float) * (size_t)net.outputs * width);
        memset(net.params + hb, 0, sizeof(float) * (size_t)net.outputs);
        KT_CHECK(kdts_task_baseline(&t, KDTS_PART_VAL, KDTS_BASELINE_NLINEAR, fb, &e) == KDTS_OK, "baseline: %s",
                 e.message);
        KT_CHECK(kdts_task_forecast(&t, KDTS_PART_VAL, &net, fn, NULL, NULL, 0, &e) == KDTS_OK, "forecast: %s",
                 e.message);
        for (j = 0; j < n * 4; ++j) {
            double dd = fabs(fb[j] - fn[j]) / (fabs(fb[j]) + 1e-2);
            if (dd > worst) worst = dd;
        }
        KT_CHECK(worst < 1e-4, "relative %d: folded skip start = NLinear baseline (worst relative %.3g)", relative, worst);
        kdts_task_score(&t, KDTS_PART_VAL, fb, NULL, NULL, 0, &s0, NULL, &e);
        memset(&tc, 0, sizeof tc);
        tc.epochs = 3;
        tc.seed = 2;
        tc.adam.lr = 0.05f; /* large: training may well make it worse */
        kdts_net_reset(&net, 1);
        KT_CHECK(kdts_task_fit(&t, &net, &tc, NULL, 0, &rep, &e) == KDTS_OK, "skip fit: %s", e.message);
        kdts_task_forecast(&t, KDTS_PART_VAL, &net, fn, NULL, NULL, 0, &e);
        kdts_task_score(&t, KDTS_PART_VAL, fn, NULL, NULL, 0, &s1, NULL, &e);
        KT_CHECK(s1.mse <= s0.mse * (1 + 1e-5), "relative %d: trained skip model val %.6g <= its linear start %.6g",
                 relative, s1.mse, s0.mse);
        kdts_net_free(&net);
        kdts_linear_free(&lm);
        /* the linear kind's start is the closed-form fit of its own
           configuration */
        c = small_kind(&t, KDTS_KIND_LINEAR, 0);
        kdts_net_init(&net, &c, 1, &e);
        kdts__net_to_linear(&net.cfg, &lc);
        KT_CHECK(kdts__task_fit_linear_cfg(&t, &lc, &lm, NULL, &e) == KDTS_OK, "fit: %s", e.message);
        memcpy(net.params, lm.params, net.nparams * sizeof(float));
        kdts_linear_free(&lm);
        kdts_task_forecast(&t, KDTS_PART_VAL, &net, fn, NULL, NULL, 0, &e);
        kdts_task_score(&t, KDTS_PART_VAL, fn, NULL, NULL, 0, &s0, NULL, &e);
        kdts_net_reset(&net, 1);
        KT_CHECK(kdts_task_fit(&t, &net, &tc, NULL, 0, &rep, &e) == KDTS_OK, "linear fit: %s", e.message);
        kdts_task_forecast(&t, KDTS_PART_VAL, &net, fn, NULL, NULL, 0, &e);
        kdts_task_score(&t, KDTS_PART_VAL, fn, NULL, NULL, 0, &s1, NULL, &e);
        KT_CHECK(s1.mse <= s0.mse * (1 + 1e-5), "relative %d: trained linear kind val %.6g <= closed form %.6g",
                 relative, s1.mse, s0.mse);
        kdts_net_free(&net);
        free(fb), free(fn);
        kdts_task_free(&t);
    }
}

int main(void)
{
    test_same_as_kind();
    test_gradcheck();
    test_models();
    test_v1();
    test_cross_kind();
    test_starts();
    return kt_done();
}
