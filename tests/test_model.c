/* test_model - model files, the inference API and its allocation freedom.
   KDTS_MALLOC counts calls in this file so the tests can prove that
   inference allocates nothing after setup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static long g_allocs;
static void *count_malloc(size_t n) { g_allocs++; return malloc(n); }
static void *count_realloc(void *p, size_t n) { g_allocs++; return realloc(p, n); }
#define KDTS_MALLOC(sz) count_malloc(sz)
#define KDTS_REALLOC(p, sz) count_realloc((p), (sz))
#define KDTS_FREE(p) free(p)
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <math.h>

/* An independent CRC-32 (bitwise), to check the documented format. */
static unsigned long crc32_ref(const unsigned char *p, size_t n)
{
    unsigned long c = 0xFFFFFFFFUL;
    size_t i;
    int k;
    for (i = 0; i < n; ++i) {
        c ^= p[i];
        for (k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320UL & (0UL - (c & 1)));
    }
    return c ^ 0xFFFFFFFFUL;
}
static unsigned long rd32(const unsigned char *b) { return b[0] | (b[1] << 8) | ((unsigned long)b[2] << 16) | ((unsigned long)b[3] << 24); }
static void wr32(unsigned char *b, unsigned long v) { b[0] = v & 255; b[1] = (v >> 8) & 255; b[2] = (v >> 16) & 255; b[3] = (v >> 24) & 255; }
static void fix_crc(unsigned char *b, size_t len) { wr32(b + len - 4, crc32_ref(b, len - 4)); }

/* A small model: F features, target = feature `tgt`, z-score-like scaler. */
static void make_model(kdts_model *m, int F, int H, int L, int horizon, int mode, int wnorm, unsigned long long seed)
{
    kdts_lstm net;
    kdts_lstm_config c;
    kdts_model_desc d;
    kdts_scaler s;
    kdts_model_meta meta;
    const char *names[3] = {"HUFL", "load \"x\"", "OT"};
    int tgt = F - 1, f, r;
    memset(&c, 0, sizeof c);
    c.input = F;
    c.hidden = H;
    c.layers = L;
    c.horizon = horizon;
    c.mode = mode ? KDTS_MODE_DIST : KDTS_MODE_POINT;
    c.bins = mode ? 16 : 0;
    r = kdts_lstm_init(&net, &c, seed, NULL);
    KT_CHECK(r == KDTS_OK, "lstm init %d", r);
    memset(&s, 0, sizeof s);
    s.cols = F;
    s.kind = KDTS_SCALER_ZSCORE;
    for (f = 0; f < KDTS_MAX_COLUMNS; ++f) {
        s.offset[f] = 10.0f + f;
        s.scale[f] = 2.0f + 0.5f * f;
        s.clip_lo[f] = -FLT_MAX;
        s.clip_hi[f] = FLT_MAX;
    }
    memset(&meta, 0, sizeof meta);
    meta.seed = seed;
    meta.epochs = 7;
    meta.alpha = 0.25f;
    meta.temperature = 2.0f;
    meta.n_teachers = 2;
    strcpy(meta.teacher, "a.kdts; b.kdts");
    strcpy(meta.source, "ETTh1.csv");
    memset(&d, 0, sizeof d);
    d.lookback = 12;
    d.horizon = horizon;
    d.n_features = F;
    d.feature_names = names + (3 - F);
    d.n_targets = 1;
    d.target_index = &tgt;
    d.window_norm = wnorm;
    d.scaler = &s;
    d.meta = &meta;
    r = kdts_model_create(m, &net, &d, NULL);
    KT_CHECK(r == KDTS_OK, "model create %d", r);
    kdts_lstm_free(&net);
}

static void fill_window(float *x, int n, unsigned long long seed)
{
    kdts_rng r;
    int i;
    kdts_rng_seed(&r, seed);
    for (i = 0; i < n; ++i) x[i] = 10.0f + 3.0f * kdts_rng_normal(&r);
}

static unsigned char *save(const kdts_model *m, size_t *len)
{
    unsigned char *b;
    size_t n = 0;
    KT_CHECK(kdts_model_save_mem(m, NULL, 0, &n, NULL) == KDTS_OK && n > 28, "size query");
    b = (unsigned char *)malloc(n);
    KT_CHECK(kdts_model_save_mem(m, b, n - 1, len, NULL) == KDTS_ERR_ARG, "too small buffer rejected");
    KT_CHECK(kdts_model_save_mem(m, b, n, len, NULL) == KDTS_OK && *len == n, "save_mem");
    return b;
}

/* forecasts of one window through a fresh kdts_infer */
static void forecast(const kdts_model *m, const float *x, int T, float *fc, float *lo, float *hi)
{
    kdts_infer inf;
    KT_CHECK(kdts_infer_create(&inf, m, T, NULL) == KDTS_OK, "infer create");
    KT_CHECK(kdts_infer_window(&inf, x, T, fc, lo, hi, 0.8f, NULL) == KDTS_OK, "infer window");
    kdts_infer_free(&inf);
}

static void test_roundtrip(int mode)
{
    kdts_model m, l;
    unsigned char *b;
    size_t len;
    float x[12 * 2], fa[8], fb[8], la[8], lb[8], ha[8], hb[8];
    kdts_error e;
    const char *path = "build/test_model_rt.kdts";
    int i;
    make_model(&m, 2, 8, 2, 4, mode, KDTS_WNORM_LAST, 11);
    b = save(&m, &len);
    /* documented header: magic, LE version, payload size, CRC */
    KT_CHECK(!memcmp(b, "KDTSMODL", 8), "magic");
    KT_CHECK(rd32(b + 8) == KDTS_MODEL_FORMAT_VERSION && rd32(b + 12) == 0, "version %d, flags 0", KDTS_MODEL_FORMAT_VERSION);
    KT_CHECK(rd32(b + 16) == len - 28 && rd32(b + 20) == 0, "payload size");
    KT_CHECK(rd32(b + len - 4) == crc32_ref(b, len - 4), "CRC-32 matches an independent implementation");
    KT_CHECK(!memcmp(b + 24, "ARCH", 4), "first section ARCH");
    /* the last nparams*4 bytes before the CRC are the weights, LE IEEE bits */
    {
        const unsigned char *w = b + len - 4 - 4 * m.nparams;
        int ok = 1;
        for (i = 0; i < (int)m.nparams; ++i) {
            unsigned long u = rd32(w + 4 * i);
            float v;
            unsigned int ui = (unsigned int)u;
            memcpy(&v, &ui, 4);
            ok &= !memcmp(&v, &m.params[i], 4);
        }
        KT_CHECK(ok, "weights stored as little-endian IEEE-754 bits");
    }
    memset(&e, 0, sizeof e);
    KT_CHECK(kdts_model_load_mem(&l, b, len, &e) == KDTS_OK, "load_mem: %s", e.message);
    KT_CHECK(l.nparams == m.nparams && !memcmp(l.params, m.params, m.nparams * 4), "weights identical");
    KT_CHECK(l.lookback == 12 && l.horizon == 4 && l.n_features == 2 && l.target_index[0] == 1, "data fields");
    KT_CHECK(!strcmp(kdts_model_feature_name(&l, 0), "load \"x\"") && !strcmp(kdts_model_feature_name(&l, 1), "OT"), "names");
    KT_CHECK(l.scaler.offset[1] == m.scaler.offset[1] && l.scaler.scale[0] == m.scaler.scale[0] && l.scaler.kind == 1, "scaler");
    KT_CHECK(l.meta.seed == 11 && l.meta.epochs == 7 && l.meta.alpha == 0.25f && !strcmp(l.meta.teacher, "a.kdts; b.kdts"), "meta");
    KT_CHECK(l.arch.mode == m.arch.mode && l.arch.bins == m.arch.bins && l.window_norm == KDTS_WNORM_LAST, "arch");
    fill_window(x, 24, 5);
    forecast(&m, x, 12, fa, mode ? la : NULL, mode ? ha : NULL);
    forecast(&l, x, 12, fb, mode ? lb : NULL, mode ? hb : NULL);
    KT_CHECK(!memcmp(fa, fb, sizeof(float) * 4), "loaded model predicts bit for bit (mode %d)", mode);
    if (mode) {
        KT_CHECK(!memcmp(la, lb, 16) && !memcmp(ha, hb, 16), "intervals bit for bit");
        for (i = 0; i < 4; ++i) KT_CHECK(la[i] <= fa[i] && fa[i] <= ha[i], "interval holds the forecast %d", i);
    }
    kdts_model_free(&l);
    /* file round trip, overwriting an existing file */
    KT_CHECK(kdts_model_save_file(&m, path, &e) == KDTS_OK, "save_file: %s", e.message);
    KT_CHECK(kdts_model_save_file(&m, path, &e) == KDTS_OK, "save_file over an existing file");
    KT_CHECK(kdts_model_load_file(&l, path, &e) == KDTS_OK, "load_file: %s", e.message);
    forecast(&l, x, 12, fb, NULL, NULL);
    KT_CHECK(!memcmp(fa, fb, sizeof(float) * 4), "file round trip bit for bit");
    kdts_model_free(&l);
    {
        FILE *f = fopen(path, "rb");
        size_t n = 0;
        unsigned char *c = (unsigned char *)malloc(len + 16);
        if (f) { n = fread(c, 1, len + 16, f); fclose(f); }
        KT_CHECK(n == len && !memcmp(c, b, len), "file bytes equal the memory image");
        free(c);
    }
    /* a failing save leaves the old file alone */
    {
        kdts_model bad = m;
        bad.nparams = 3;
        KT_CHECK(kdts_model_save_file(&bad, path, &e) == KDTS_ERR_ARG, "invalid model not saved");
        KT_CHECK(kdts_model_load_file(&l, path, &e) == KDTS_OK, "previous file intact");
        kdts_model_free(&l);
        KT_CHECK(kdts_model_save_file(&m, "build/no/such/dir/x.kdts", &e) == KDTS_ERR_IO, "missing folder: IO error");
        KT_CHECK(kdts_model_load_file(&l, "build/no/such.kdts", &e) == KDTS_ERR_IO, "missing file: IO error");
    }
    remove(path);
    free(b);
    kdts_model_free(&m);
}

static void test_corruption(void)
{
    kdts_model m, l;
    unsigned char *b, *c;
    size_t len, i;
    int k, all_ok = 1, crash_free = 1;
    long before;
    kdts_error e;
    make_model(&m, 2, 6, 1, 3, 1, KDTS_WNORM_NONE, 3);
    b = save(&m, &len);
    c = (unsigned char *)malloc(len);
    /* truncation at every 1/16th */
    for (k = 0; k < 16; ++k) {
        size_t n = len * k / 16;
        kdts_result r;
        memcpy(c, b, n);
        before = g_allocs;
        r = kdts_model_load_mem(&l, c, n, &e);
        all_ok &= r == KDTS_ERR_FORMAT;
        KT_CHECK(r == KDTS_ERR_FORMAT && g_allocs == before, "truncated at %lu/%lu: %d", (unsigned long)n, (unsigned long)len, r);
    }
    KT_CHECK(kdts_model_load_mem(&l, b, len - 1, &e) == KDTS_ERR_FORMAT, "one byte short");
    /* flipped bytes across the whole file */
    for (i = 0; i < len; i += 1 + len / 97) {
        kdts_result r;
        memcpy(c, b, len);
        c[i] ^= (unsigned char)(1u << (i % 8));
        r = kdts_model_load_mem(&l, c, len, &e);
        if (r == KDTS_OK) { crash_free = 0; kdts_model_free(&l); }
        if (r != KDTS_ERR_FORMAT && r != KDTS_ERR_VERSION) all_ok = 0;
    }
    KT_CHECK(crash_free && all_ok, "every flipped byte rejected");
    /* wrong magic, wrong version (with a valid CRC) */
    memcpy(c, b, len);
    c[0] = 'X';
    KT_CHECK(kdts_model_load_mem(&l, c, len, &e) == KDTS_ERR_FORMAT && strstr(e.message, "magic"), "bad magic: %s", e.message);
    memcpy(c, b, len);
    wr32(c + 8, KDTS_MODEL_FORMAT_VERSION + 1);
    fix_crc(c, len);
    KT_CHECK(kdts_model_load_mem(&l, c, len, &e) == KDTS_ERR_VERSION, "a newer version rejected: %s", e.message);
    /* a header promising more payload than there is */
    memcpy(c, b, len);
    wr32(c + 16, (unsigned long)(len * 4));
    fix_crc(c, len);
    before = g_allocs;
    KT_CHECK(kdts_model_load_mem(&l, c, len, &e) == KDTS_ERR_FORMAT && g_allocs == before, "oversized payload: %s", e.message);
    /* valid CRC but an architecture that promises a huge weight block */
    memcpy(c, b, len);
    wr32(c + 24 + 12 + 4, 60000); /* ARCH hidden */
    fix_crc(c, len);
    before = g_allocs;
    KT_CHECK(kdts_model_load_mem(&l, c, len, &e) == KDTS_ERR_FORMAT && g_allocs == before,
             "huge architecture rejected before allocation: %s", e.message);
    /* a section length running past the end */
    memcpy(c, b, len);
    wr32(c + 24 + 4, 0xFFFFFFF0UL);
    fix_crc(c, len);
    KT_CHECK(kdts_model_load_mem(&l, c, len, &e) == KDTS_ERR_FORMAT, "section overrun: %s", e.message);
    /* a foreign file */
    {
        const char *csv = "date,OT\n2016-07-01,1.5\n2016-07-02,2.5\n2016-07-03,3.5\n";
        KT_CHECK(kdts_model_load_mem(&l, csv, strlen(csv), &e) == KDTS_ERR_FORMAT, "CSV is not a model");
        KT_CHECK(kdts_model_load_mem(&l, "", 0, &e) == KDTS_ERR_FORMAT, "empty buffer");
    }
    free(c);
    free(b);
    kdts_model_free(&m);
}

static float maxdiff(const float *a, const float *b, int n)
{
    float d = 0;
    int i;
    for (i = 0; i < n; ++i) d = fabsf(a[i] - b[i]) > d ? fabsf(a[i] - b[i]) : d;
    return d;
}

/* The stateful stream after T observations from a reset runs the same
   kernels in the same order as the window API (the window normalization
   NONE computes (x - 0) * 1 = x exactly), so they agree bit for bit; the
   1e-5 bound only allows for a compiler that contracts differently. */
static void test_stream(void)
{
    kdts_model m, w;
    kdts_infer inf;
    static unsigned char buf[1 << 16];
    float x[40 * 2], fs[4], fw[4];
    int t, ok = 1;
    long before;
    size_t need;
    make_model(&m, 2, 8, 2, 4, 0, KDTS_WNORM_NONE, 21);
    need = kdts_infer_size(&m, 40);
    KT_CHECK(need > 0 && need <= sizeof buf, "infer size %lu", (unsigned long)need);
    KT_CHECK(kdts_infer_init(&inf, &m, 40, buf, need - 1, NULL) == KDTS_ERR_ARG, "small buffer rejected");
    before = g_allocs;
    KT_CHECK(kdts_infer_init(&inf, &m, 40, buf + 4, need, NULL) == KDTS_OK, "the size query covers any 4-byte alignment");
    KT_CHECK(kdts_infer_init(&inf, &m, 40, buf + 4, sizeof buf - 4, NULL) == KDTS_OK, "init in caller memory");
    KT_CHECK(inf.stream_mode == KDTS_STREAM_STATEFUL, "auto = stateful without window norm");
    fill_window(x, 80, 9);
    for (t = 0; t < 12; ++t) KT_CHECK(kdts_infer_step(&inf, x + 2 * t, fs, NULL, NULL, 0, NULL) == KDTS_OK, "step");
    KT_CHECK(kdts_infer_window(&inf, x, 12, fw, NULL, NULL, 0, NULL) == KDTS_OK, "window");
    KT_CHECK(maxdiff(fs, fw, 4) <= 1e-5f, "stateful step == window after T steps (diff %g)", maxdiff(fs, fw, 4));
    /* every prefix length, continuing the same stream */
    for (t = 12; t < 40; ++t) {
        kdts_infer_step(&inf, x + 2 * t, fs, NULL, NULL, 0, NULL);
        kdts_infer_window(&inf, x, t + 1, fw, NULL, NULL, 0, NULL);
        ok &= maxdiff(fs, fw, 4) <= 1e-5f;
    }
    KT_CHECK(ok, "stateful step == window over the whole history for 13..40 steps");
    /* batch equals single windows */
    {
        float fb[3 * 4], f1[4];
        int i;
        KT_CHECK(kdts_infer_batch(&inf, x, 3, 12, fb, NULL, NULL, 0, NULL) == KDTS_OK, "batch");
        for (i = 0; i < 3; ++i) {
            kdts_infer_window(&inf, x + i * 24, 12, f1, NULL, NULL, 0, NULL);
            KT_CHECK(!memcmp(f1, fb + 4 * i, 16), "batch window %d identical", i);
        }
    }
    KT_CHECK(g_allocs == before, "no allocation in init/step/window/batch (%ld)", g_allocs - before);
    /* agrees with the core's GEMM forward on the normalized inputs */
    {
        kdts_lstm v;
        float xn[12 * 2], core[4];
        int i;
        for (i = 0; i < 24; ++i) xn[i] = kdts_scaler_apply_value(&m.scaler, i % 2, x[i]);
        KT_CHECK(kdts_model_lstm(&m, &v, NULL) == KDTS_OK, "lstm view");
        KT_CHECK(kdts_predict(&v, xn, 1, 12, core, NULL) == KDTS_OK, "kdts_predict");
        for (i = 0; i < 4; ++i) core[i] = kdts_scaler_invert_value(&m.scaler, 1, core[i]);
        kdts_infer_window(&inf, x, 12, fw, NULL, NULL, 0, NULL);
        KT_CHECK(maxdiff(core, fw, 4) <= 1e-4f * 3.0f, "inference == kdts_predict (diff %g)", maxdiff(core, fw, 4));
    }
    /* window-norm model: WINDOW streaming reproduces the window API exactly */
    make_model(&w, 2, 8, 1, 4, 1, KDTS_WNORM_LAST, 22);
    need = kdts_infer_size(&w, 0);
    KT_CHECK(kdts_infer_init(&inf, &w, 0, buf, sizeof buf, NULL) == KDTS_OK && need <= sizeof buf, "init dist");
    KT_CHECK(inf.stream_mode == KDTS_STREAM_WINDOW, "auto = window with window norm");
    KT_CHECK(kdts_infer_stream_mode(&inf, KDTS_STREAM_STATEFUL, NULL) == KDTS_ERR_ARG, "stateful refused with window norm");
    before = g_allocs;
    ok = 1;
    for (t = 0; t < 40; ++t) {
        float lo[4], hi[4], lw[4], hw[4];
        int n = t + 1 < 12 ? t + 1 : 12;
        kdts_infer_step(&inf, x + 2 * t, fs, lo, hi, 0.9f, NULL);
        kdts_infer_window(&inf, x + 2 * (t + 1 - n), n, fw, lw, hw, 0.9f, NULL);
        ok &= !memcmp(fs, fw, 16) && !memcmp(lo, lw, 16) && !memcmp(hi, hw, 16);
    }
    KT_CHECK(ok, "WINDOW stream == window API on the last lookback observations");
    KT_CHECK(g_allocs == before, "no allocation in dist-mode inference with intervals");
    {
        float lo[4];
        KT_CHECK(kdts_infer_window(&inf, x, 0, fw, NULL, NULL, 0, NULL) == KDTS_ERR_ARG, "T = 0 rejected");
        KT_CHECK(kdts_infer_window(&inf, x, 13, fw, NULL, NULL, 0, NULL) == KDTS_ERR_ARG, "T > max_steps rejected");
        x[3] = (float)NAN;
        KT_CHECK(kdts_infer_window(&inf, x, 12, fw, NULL, NULL, 0, NULL) == KDTS_ERR_NONFINITE, "NaN input rejected");
        kdts_infer_reset(&inf);
        KT_CHECK(kdts_infer_window(&inf, x + 4, 12, fw, lo, NULL, 0.8f, NULL) == KDTS_ERR_ARG, "low without high rejected");
    }
    kdts_model_free(&w);
    /* point model: intervals are an argument error */
    KT_CHECK(kdts_infer_init(&inf, &m, 0, buf, sizeof buf, NULL) == KDTS_OK, "re-init");
    {
        float lo[4], hi[4];
        KT_CHECK(kdts_infer_window(&inf, x + 8, 12, fw, lo, hi, 0.8f, NULL) == KDTS_ERR_ARG, "interval of a point model");
    }
    kdts_model_free(&m);
}

/* A model in const memory (what an exported header declares). */
static const float k_params[] = {
    0.1f, -0.2f, 0.3f, 0.05f,       /* W_ih (4H x 1), H = 1 */
    0.4f, 0.1f, -0.3f, 0.2f,        /* W_hh (4H x 1) */
    0.01f, 0.02f, 0.03f, 0.04f,     /* b_ih */
    0.0f, 0.0f, 0.0f, 0.0f,         /* b_hh */
    1.5f, -0.5f,                    /* head W (2 x 1) */
    0.1f, 0.2f                      /* head b */
};
static const char k_names[] = "OT\0";

static void test_const_model(void)
{
    static kdts_model cm; /* filled once below, then only read */
    kdts_model l;
    kdts_infer inf;
    unsigned char buf[4096];
    float x[4] = {1, 2, 3, 4}, fa[2], fb[2];
    unsigned char *b;
    size_t len;
    int f;
    memset(&cm, 0, sizeof cm);
    cm.arch.input = 1;
    cm.arch.hidden = 1;
    cm.arch.layers = 1;
    cm.arch.horizon = 2;
    cm.nparams = sizeof k_params / sizeof k_params[0];
    cm.params = k_params;
    cm.lookback = 4;
    cm.horizon = 2;
    cm.n_features = 1;
    cm.n_targets = 1;
    cm.scaler.cols = 1;
    for (f = 0; f < KDTS_MAX_COLUMNS; ++f) {
        cm.scaler.scale[f] = 1;
        cm.scaler.clip_lo[f] = -FLT_MAX;
        cm.scaler.clip_hi[f] = FLT_MAX;
    }
    cm.names = k_names;
    cm.names_len = 3;
    KT_CHECK(kdts_model_check(&cm, NULL) == KDTS_OK, "hand-made const model valid");
    KT_CHECK(kdts_infer_init(&inf, &cm, 0, buf, sizeof buf, NULL) == KDTS_OK, "infer on const weights");
    KT_CHECK(kdts_infer_window(&inf, x, 4, fa, NULL, NULL, 0, NULL) == KDTS_OK, "forecast");
    b = save(&cm, &len);
    KT_CHECK(kdts_model_load_mem(&l, b, len, NULL) == KDTS_OK, "const model saved and loaded");
    kdts_infer_init(&inf, &l, 0, buf, sizeof buf, NULL);
    kdts_infer_window(&inf, x, 4, fb, NULL, NULL, 0, NULL);
    KT_CHECK(!memcmp(fa, fb, 8), "same forecasts");
    /* hand check of one step: x = 1, h0 = c0 = 0 */
    {
        float xin = 1.0f, i = 1 / (1 + expf(-(0.1f * xin + 0.01f))), g = tanhf(0.3f * xin + 0.03f);
        float o = 1 / (1 + expf(-(0.05f * xin + 0.04f))), c = i * g, h = o * tanhf(c);
        float f1[2];
        kdts_infer_window(&inf, x, 1, f1, NULL, NULL, 0, NULL);
        KT_CHECK(fabsf(f1[0] - (1.5f * h + 0.1f)) < 1e-6f && fabsf(f1[1] - (-0.5f * h + 0.2f)) < 1e-6f,
                 "one LSTM step by hand: %g vs %g", f1[0], 1.5f * h + 0.1f);
    }
    kdts_model_free(&l);
    free(b);
}

int main(void)
{
    test_roundtrip(0);
    test_roundtrip(1);
    test_corruption();
    test_stream();
    test_const_model();
    return kt_done();
}
