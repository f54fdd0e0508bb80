/* test_hostile.c - hostile and degenerate input: every case ends in a clear
   error code or a documented result, never a crash, a leak or a silent
   wrong answer.
     - NaN/Inf during kdts_train (NaN in the data, an absurd learning rate):
       KDTS_ERR_NONFINITE naming epoch and batch, weights finite and equal
       to the last good ones;
     - constant (zero-variance) series through scalers, windows, training;
     - series shorter than lookback + horizon: KDTS_ERR_DATA;
     - zero, negative and absurd sizes (byte counts overflowing size_t);
     - truncated / lying model files;
     - out of memory: the allocator below fails at the Nth call, for every N
       over every allocation of each API; KDTS_ERR_NOMEM and nothing leaks.
   All library allocations go through the counting allocator defined here,
   which also refuses any single request above KT_ALLOC_CAP (so absurd sizes
   fail cleanly under ASan and valgrind too). A failed realloc that only
   shrinks a block may be ignored by the library (KDTS_OK is accepted then). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include <limits.h>

static long ha_calls;       /* malloc/realloc calls so far               */
static long ha_fail_at;     /* fail the call with this number (0 = never) */
static long ha_live;        /* blocks allocated and not yet freed         */
static int ha_failed;       /* an injected failure happened               */
static int ha_failed_shrink; /* ... and it was a realloc to a smaller size */
#define KT_ALLOC_CAP ((size_t)1 << 30)
#define HA_HDR 16           /* keeps malloc's 16-byte alignment; holds the size */

static void *ha_malloc(size_t n)
{
    unsigned char *p;
    ++ha_calls;
    if ((ha_fail_at && ha_calls == ha_fail_at) || n > KT_ALLOC_CAP) {
        if (n <= KT_ALLOC_CAP) ha_failed = 1;
        return NULL;
    }
    p = (unsigned char *)malloc(n + HA_HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    ++ha_live;
    return p + HA_HDR;
}
static void *ha_realloc(void *q, size_t n)
{
    unsigned char *p, *b;
    size_t old;
    if (!q) return ha_malloc(n);
    b = (unsigned char *)q - HA_HDR;
    memcpy(&old, b, sizeof old);
    ++ha_calls;
    if ((ha_fail_at && ha_calls == ha_fail_at) || n > KT_ALLOC_CAP) {
        if (n <= KT_ALLOC_CAP) {
            ha_failed = 1;
            ha_failed_shrink = n <= old;
        }
        return NULL;
    }
    p = (unsigned char *)realloc(b, n + HA_HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    return p + HA_HDR;
}
static void ha_free(void *p)
{
    if (p) {
        --ha_live;
        free((unsigned char *)p - HA_HDR);
    }
}

#define KDTS_MALLOC(sz) ha_malloc(sz)
#define KDTS_REALLOC(p, sz) ha_realloc((p), (sz))
#define KDTS_FREE(p) ha_free(p)
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"

static float frand(kdts_rng *r) { return 2.0f * kdts_rng_uniform(r) - 1.0f; }

static int all_finite(const float *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i)
        if (!(p[i] == p[i]) || p[i] - p[i] != 0.0f) return 0;
    return 1;
}

/* Windows of a noisy sine: x (n,T,1), y (n,T,1) next value. */
/* An in-memory table over caller arrays: ncols columns of rows values. */
static void mem_table(kdts_table *t, float **cols, char **names, long rows, int ncols)
{
    memset(t, 0, sizeof *t);
    t->rows = rows;
    t->cols = ncols;
    t->col = cols;
    t->name = names;
}

static void make_sine(float *x, float *y, int n, int T, unsigned long long seed)
{
    kdts_rng r;
    int i, t;
    kdts_rng_seed(&r, seed);
    for (i = 0; i < n; ++i)
        for (t = 0; t < T; ++t) {
            x[i * T + t] = (float)sin(0.3 * (i + t)) + 0.05f * frand(&r);
            y[i * T + t] = (float)sin(0.3 * (i + t + 1));
        }
}

/* ---------------------------------------------------- non-finite training */
typedef struct snap {
    float w[4096];
    int saved[64];
    float *hist; /* (epochs+1, nparams): weights before epoch 1, after each epoch */
    size_t np;
} snap;

static int snap_epoch(const kdts_epoch_info *info, void *user)
{
    (void)info;
    (void)user;
    return 0;
}

static void test_nonfinite_training(void)
{
    enum { N = 16, T = 6 };
    float x[N * T], y[N * T];
    kdts_lstm m;
    kdts_lstm_config c;
    kdts_train_config tc;
    kdts_dataset d;
    kdts_train_report rep;
    kdts_error e;
    float *w0;
    kdts_result r;
    int ep;

    memset(&c, 0, sizeof c);
    c.hidden = 8;
    KT_CHECK(kdts_lstm_init(&m, &c, 3, NULL) == KDTS_OK, "init");
    w0 = (float *)malloc(m.nparams * sizeof(float));
    memcpy(w0, m.params, m.nparams * sizeof(float));

    /* 1. a NaN in one training window: one batch per epoch, so the first
       batch fails and the weights must be exactly the initial ones */
    make_sine(x, y, N, T, 1);
    x[5 * T + 2] = NAN;
    d.x = x; d.y = y; d.n = N; d.T = T; d.F = 1; d.h = 1;
    memset(&tc, 0, sizeof tc);
    tc.epochs = 3;
    tc.batch = N;
    tc.seed = 1;
    memset(&e, 0, sizeof e);
    memset(&rep, 0, sizeof rep);
    r = kdts_train(&m, &tc, &d, NULL, NULL, 0, &rep, &e);
    KT_CHECK(r == KDTS_ERR_NONFINITE || r == KDTS_ERR_DATA,
             "NaN in the training inputs: %s (want NONFINITE or a DATA refusal)", kdts_result_str(r));
    if (r == KDTS_ERR_NONFINITE) {
        KT_CHECK(rep.bad_epoch == 1 && rep.bad_batch == 1, "bad epoch/batch %d/%d, want 1/1", rep.bad_epoch,
                 rep.bad_batch);
        KT_CHECK(strstr(e.message, "epoch 1") && strstr(e.message, "batch 1"),
                 "message names epoch and batch: '%s'", e.message);
    }
    KT_CHECK(e.code == r, "err->code %d matches the result %d", (int)e.code, (int)r);
    KT_CHECK(all_finite(m.params, m.nparams), "weights finite after a NaN input");
    KT_CHECK(!memcmp(m.params, w0, m.nparams * sizeof(float)), "weights are the last good (initial) ones");

    /* NaN in a target only */
    make_sine(x, y, N, T, 1);
    y[7 * T + T - 1] = INFINITY;
    memset(&e, 0, sizeof e);
    r = kdts_train(&m, &tc, &d, NULL, NULL, 0, &rep, &e);
    KT_CHECK(r == KDTS_ERR_NONFINITE || r == KDTS_ERR_DATA, "Inf in the targets: %s", kdts_result_str(r));
    KT_CHECK(!memcmp(m.params, w0, m.nparams * sizeof(float)), "weights untouched after an Inf target");

    /* 2. an absurd learning rate: whatever epoch diverges, the weights kept
       must be finite and equal to those after the previous epoch (one
       batch per epoch makes "last good" = "after the previous epoch") */
    make_sine(x, y, N, T, 1);
    for (ep = 0; ep < 2; ++ep) {
        static const float lrs[2] = {1e30f, 3e38f};
        float *prev = (float *)malloc(m.nparams * sizeof(float));
        int e_run;
        memcpy(m.params, w0, m.nparams * sizeof(float));
        memset(&tc, 0, sizeof tc);
        tc.epochs = 1;
        tc.batch = N;
        tc.seed = 2;
        tc.adam.lr = lrs[ep];
        for (e_run = 1; e_run <= 30; ++e_run) {
            memcpy(prev, m.params, m.nparams * sizeof(float));
            memset(&e, 0, sizeof e);
            memset(&rep, 0, sizeof rep);
            tc.seed = 2 + (unsigned long long)e_run;
            r = kdts_train(&m, &tc, &d, NULL, NULL, 0, &rep, &e);
            if (r != KDTS_OK) break;
            if (!all_finite(m.params, m.nparams)) break;
        }
        printf("lr %g: %s after %d one-step run(s)%s%s\n", (double)lrs[ep], kdts_result_str(r), e_run,
               r ? ": " : "", r ? e.message : "");
        KT_CHECK(r == KDTS_OK || r == KDTS_ERR_NONFINITE, "lr %g: %s", (double)lrs[ep], kdts_result_str(r));
        KT_CHECK(all_finite(m.params, m.nparams), "lr %g: a training step produced non-finite weights (run %d, %s)",
                 (double)lrs[ep], e_run, kdts_result_str(r));
        if (r == KDTS_ERR_NONFINITE)
            KT_CHECK(!memcmp(prev, m.params, m.nparams * sizeof(float)),
                     "lr %g: the weights kept are not the last good ones", (double)lrs[ep]);
        free(prev);
    }
    {
        /* many steps in one call with a huge learning rate */
        memcpy(m.params, w0, m.nparams * sizeof(float));
        memset(&tc, 0, sizeof tc);
        tc.epochs = 20;
        tc.batch = 4;
        tc.seed = 9;
        tc.adam.lr = 1e37f;
        tc.on_epoch = snap_epoch;
        memset(&e, 0, sizeof e);
        memset(&rep, 0, sizeof rep);
        r = kdts_train(&m, &tc, &d, NULL, NULL, 0, &rep, &e);
        KT_CHECK(r == KDTS_OK || r == KDTS_ERR_NONFINITE, "lr 1e37, 20 epochs: %s", kdts_result_str(r));
        KT_CHECK(all_finite(m.params, m.nparams), "lr 1e37: weights finite at the end (%s, epoch %d batch %d)",
                 kdts_result_str(r), rep.bad_epoch, rep.bad_batch);
        if (r == KDTS_ERR_NONFINITE)
            KT_CHECK(rep.bad_epoch >= 1 && rep.bad_batch >= 1 && strstr(e.message, "epoch"),
                     "lr 1e37: epoch/batch reported (%d/%d '%s')", rep.bad_epoch, rep.bad_batch, e.message);
    }
    free(w0);
    kdts_lstm_free(&m);
}

/* ------------------------------------------------ constant (zero variance) */
static void test_constant_series(void)
{
    enum { ROWS = 200 };
    float col[ROWS], *cols[1];
    kdts_table t;
    kdts_scaler s;
    kdts_scaler_config sc;
    kdts_window_config wc;
    kdts_windows w;
    kdts_lstm m;
    kdts_lstm_config c;
    kdts_train_config tc;
    kdts_dataset d;
    kdts_error e;
    int i, kind, norm;
    char *names[1];
    names[0] = (char *)"flat";
    for (i = 0; i < ROWS; ++i) col[i] = 42.5f;
    memset(&s, 0, sizeof s);
    for (kind = 0; kind < 3; ++kind) {
        float v[ROWS];
        memset(&sc, 0, sizeof sc);
        sc.kind = kind;
        memcpy(v, col, sizeof v);
        KT_CHECK(kdts_scaler_fit_column(&s, &sc, 0, v, ROWS, &e) == KDTS_OK, "fit kind %d on a constant", kind);
        kdts_scaler_apply_column(&s, 0, v, ROWS);
        KT_CHECK(all_finite(v, ROWS), "scaler kind %d: constant column stays finite", kind);
        kdts_scaler_invert_column(&s, 0, v, ROWS);
        KT_CHECK(fabsf(v[0] - 42.5f) < 1e-4f && fabsf(v[ROWS - 1] - 42.5f) < 1e-4f,
                 "scaler kind %d: round trip of a constant gives %g", kind, (double)v[0]);
    }
    for (kind = 1; kind <= 2; ++kind) {
        float v[ROWS];
        memset(&sc, 0, sizeof sc);
        sc.clip = kind;
        memcpy(v, col, sizeof v);
        KT_CHECK(kdts_scaler_fit_column(&s, &sc, 0, v, ROWS, &e) == KDTS_OK, "fit clip %d on a constant", kind);
        kdts_scaler_apply_column(&s, 0, v, ROWS);
        KT_CHECK(all_finite(v, ROWS), "clip %d: constant column stays finite", kind);
    }
    /* windows with every per-window normalization, then training on them */
    cols[0] = col;
    mem_table(&t, cols, names, ROWS, 1);
    for (norm = 0; norm < 3; ++norm) {
        memset(&wc, 0, sizeof wc);
        wc.lookback = 12;
        wc.horizon = 2;
        wc.norm = norm;
        KT_CHECK(kdts_windows_make(&w, &t, 0, ROWS, &wc, &e) == KDTS_OK, "windows norm %d on a constant: %s", norm,
                 e.message);
        if (w.n > 0) {
            KT_CHECK(all_finite(w.x, (size_t)w.n * w.T * w.F) && all_finite(w.y, (size_t)w.n * w.T * w.K * w.H),
                     "norm %d: windows of a constant are finite", norm);
            memset(&c, 0, sizeof c);
            c.hidden = 4;
            c.horizon = 2;
            KT_CHECK(kdts_lstm_init(&m, &c, 5, NULL) == KDTS_OK, "init");
            d.x = w.x; d.y = w.y; d.n = (int)w.n; d.T = w.T; d.F = w.F; d.h = w.K * w.H;
            memset(&tc, 0, sizeof tc);
            tc.epochs = 2;
            tc.batch = 16;
            KT_CHECK(kdts_train(&m, &tc, &d, &d, NULL, 0, NULL, &e) == KDTS_OK, "norm %d: training on a constant: %s",
                     norm, e.message);
            KT_CHECK(all_finite(m.params, m.nparams), "norm %d: weights finite after training on a constant", norm);
            kdts_lstm_free(&m);
            kdts_windows_free(&w);
        }
    }
    {
        float x[24], off[1], sc1[1];
        for (i = 0; i < 24; ++i) x[i] = -7.0f;
        kdts_window_normalize(x, 24, 1, KDTS_WNORM_MEANSTD, 0.0f, off, sc1);
        KT_CHECK(all_finite(x, 24) && sc1[0] > 0.0f, "MEANSTD of a constant window: scale %g", (double)sc1[0]);
    }
}

/* ----------------------------------------------------------- short series */
static void test_short_series(void)
{
    float col[10], *cols[1];
    char *names[1];
    kdts_table t;
    kdts_window_config wc;
    kdts_windows w;
    kdts_error e;
    long nw = -1;
    size_t bytes = 0;
    int i;
    kdts_result r;
    for (i = 0; i < 10; ++i) col[i] = (float)i;
    names[0] = (char *)"v";
    cols[0] = col;
    mem_table(&t, cols, names, 10, 1);
    memset(&wc, 0, sizeof wc);
    wc.lookback = 8;
    wc.horizon = 3; /* 11 rows needed, 10 given */
    memset(&e, 0, sizeof e);
    r = kdts_windows_size(&t, 0, 10, &wc, &nw, &bytes, &e);
    KT_CHECK(r == KDTS_ERR_DATA, "10 rows, lookback 8 + horizon 3: size gives %s", kdts_result_str(r));
    KT_CHECK(e.code == KDTS_ERR_DATA && e.message[0], "with a message: '%s'", e.message);
    memset(&w, 0x5A, sizeof w);
    r = kdts_windows_make(&w, &t, 0, 10, &wc, &e);
    KT_CHECK(r == KDTS_ERR_DATA, "make gives %s", kdts_result_str(r));
    KT_CHECK(kdts_window_count(0, 10, 8, 3, 1) == 0, "count 0");
    KT_CHECK(kdts_window_count(0, 11, 8, 3, 1) == 1, "exactly lookback + horizon rows: one window");
    wc.horizon = 2;
    KT_CHECK(kdts_windows_make(&w, &t, 0, 10, &wc, &e) == KDTS_OK && w.n == 1, "10 rows, 8 + 2: one window");
    kdts_windows_free(&w);
    /* empty and reversed ranges */
    wc.horizon = 1;
    r = kdts_windows_make(&w, &t, 5, 5, &wc, &e);
    KT_CHECK(r == KDTS_ERR_DATA || r == KDTS_ERR_ARG, "empty range: %s", kdts_result_str(r));
    r = kdts_windows_make(&w, &t, 8, 2, &wc, &e);
    KT_CHECK(r == KDTS_ERR_DATA || r == KDTS_ERR_ARG, "reversed range: %s", kdts_result_str(r));
    r = kdts_windows_make(&w, &t, 0, 1000, &wc, &e);
    KT_CHECK(r == KDTS_ERR_ARG || r == KDTS_ERR_DATA, "range past the table: %s", kdts_result_str(r));
    r = kdts_windows_make(&w, &t, -3, 10, &wc, &e);
    KT_CHECK(r == KDTS_ERR_ARG || r == KDTS_ERR_DATA, "negative range start: %s", kdts_result_str(r));
}

/* ----------------------------------------------------------- absurd sizes */
static void test_absurd_sizes(void)
{
    kdts_lstm_config c;
    kdts_lstm m;
    kdts_lstm_ws ws;
    kdts_adam a;
    kdts_error e;
    kdts_result r;
    float A[4] = {1, 2, 3, 4}, C[4];
    long live0 = ha_live;
    static const int bad_hidden[] = {0, -1, -1000000, INT_MIN, KDTS_MAX_DIM + 1, INT_MAX};
    size_t i;

    for (i = 0; i < sizeof bad_hidden / sizeof bad_hidden[0]; ++i) {
        memset(&c, 0, sizeof c);
        c.hidden = bad_hidden[i];
        memset(&e, 0, sizeof e);
        r = kdts_lstm_init(&m, &c, 1, &e);
        KT_CHECK(r == KDTS_ERR_ARG, "hidden %d: %s", bad_hidden[i], kdts_result_str(r));
        KT_CHECK(e.message[0] != 0, "hidden %d has a message", bad_hidden[i]);
        KT_CHECK(kdts_lstm_param_count(&c) == 0, "param_count of hidden %d is 0", bad_hidden[i]);
    }
    memset(&c, 0, sizeof c);
    c.hidden = 4;
    c.layers = KDTS_MAX_LAYERS + 1;
    KT_CHECK(kdts_lstm_init(&m, &c, 1, NULL) == KDTS_ERR_ARG, "too many layers");
    c.layers = -2;
    KT_CHECK(kdts_lstm_init(&m, &c, 1, NULL) == KDTS_ERR_ARG, "negative layers");
    c.layers = 1;
    c.input = -5;
    KT_CHECK(kdts_lstm_init(&m, &c, 1, NULL) == KDTS_ERR_ARG, "negative input");
    c.input = 1;
    c.dropout = NAN;
    KT_CHECK(kdts_lstm_init(&m, &c, 1, NULL) == KDTS_ERR_ARG, "NaN dropout");
    c.dropout = 1.0f;
    KT_CHECK(kdts_lstm_init(&m, &c, 1, NULL) == KDTS_ERR_ARG, "dropout 1");
    c.dropout = 0.0f;
    c.mode = KDTS_MODE_DIST;
    c.bins = 1;
    KT_CHECK(kdts_lstm_init(&m, &c, 1, NULL) == KDTS_ERR_ARG, "1 bin");
    c.bins = 8;
    c.bin_lo = 1.0f;
    c.bin_hi = -1.0f;
    KT_CHECK(kdts_lstm_init(&m, &c, 1, NULL) == KDTS_ERR_ARG, "reversed bin range");
    c.bin_lo = -INFINITY;
    c.bin_hi = 1.0f;
    KT_CHECK(kdts_lstm_init(&m, &c, 1, NULL) == KDTS_ERR_ARG, "infinite bin range");

    /* the largest legal sizes: ~ (4H)(I+H) floats per layer overflow a
       32-bit size_t and exceed any real memory on 64 bits */
    memset(&c, 0, sizeof c);
    c.input = KDTS_MAX_DIM;
    c.hidden = KDTS_MAX_DIM;
    c.layers = KDTS_MAX_LAYERS;
    c.horizon = KDTS_MAX_DIM;
    memset(&e, 0, sizeof e);
    r = kdts_lstm_init(&m, &c, 1, &e);
    KT_CHECK(r == KDTS_ERR_NOMEM, "maximal architecture: %s (%s)", kdts_result_str(r), e.message);

    /* workspace with absurd batch and step counts */
    memset(&c, 0, sizeof c);
    c.hidden = 16;
    r = kdts_lstm_ws_init(&ws, &c, INT_MAX, INT_MAX, 1, &e);
    KT_CHECK(r == KDTS_ERR_NOMEM || r == KDTS_ERR_ARG, "ws INT_MAX x INT_MAX: %s", kdts_result_str(r));
    r = kdts_lstm_ws_init(&ws, &c, 0, 10, 0, &e);
    KT_CHECK(r == KDTS_ERR_ARG, "ws batch 0: %s", kdts_result_str(r));
    r = kdts_lstm_ws_init(&ws, &c, 4, 0, 0, &e);
    KT_CHECK(r == KDTS_ERR_ARG, "ws lookback 0: %s", kdts_result_str(r));
    r = kdts_lstm_ws_init(&ws, &c, -4, 10, 0, &e);
    KT_CHECK(r == KDTS_ERR_ARG, "ws negative batch: %s", kdts_result_str(r));
    r = kdts_lstm_ws_init(&ws, &c, 1 << 20, 1 << 20, 1, &e);
    KT_CHECK(r == KDTS_ERR_NOMEM || r == KDTS_ERR_ARG, "ws 2^20 x 2^20: %s", kdts_result_str(r));

    /* forward beyond the workspace, T = 0 */
    KT_CHECK(kdts_lstm_init(&m, &c, 1, NULL) == KDTS_OK, "init small");
    KT_CHECK(kdts_lstm_ws_init(&ws, &c, 2, 3, 0, NULL) == KDTS_OK, "ws small");
    {
        float x[16] = {0}, out[64];
        KT_CHECK(kdts_lstm_forward(&m, &ws, x, 3, 3, NULL, NULL, out, 0, NULL, NULL) == KDTS_ERR_SHAPE, "B > max_batch");
        KT_CHECK(kdts_lstm_forward(&m, &ws, x, 2, 4, NULL, NULL, out, 0, NULL, NULL) == KDTS_ERR_SHAPE, "T > max_steps");
        r = kdts_lstm_forward(&m, &ws, x, 2, 0, NULL, NULL, out, 0, NULL, NULL);
        KT_CHECK(r == KDTS_ERR_SHAPE || r == KDTS_ERR_ARG, "T = 0: %s", kdts_result_str(r));
        r = kdts_lstm_forward(&m, &ws, x, -1, 2, NULL, NULL, out, 0, NULL, NULL);
        KT_CHECK(r == KDTS_ERR_SHAPE || r == KDTS_ERR_ARG, "B = -1: %s", kdts_result_str(r));
        r = kdts_predict(&m, x, 0, 3, out, &e);
        KT_CHECK(r == KDTS_ERR_ARG, "predict 0 windows: %s", kdts_result_str(r));
        r = kdts_predict(&m, x, INT_MAX, INT_MAX, out, &e);
        KT_CHECK(r == KDTS_ERR_NOMEM || r == KDTS_ERR_ARG, "predict INT_MAX windows of INT_MAX steps: %s",
                 kdts_result_str(r));
    }
    {
        kdts_train_config tc;
        kdts_dataset d;
        float x[8] = {0}, y[8] = {0};
        memset(&tc, 0, sizeof tc);
        d.x = x; d.y = y; d.n = 0; d.T = 4; d.F = 1; d.h = 1;
        r = kdts_train(&m, &tc, &d, NULL, NULL, 0, NULL, &e);
        KT_CHECK(r == KDTS_ERR_ARG || r == KDTS_ERR_DATA || r == KDTS_ERR_SHAPE, "train on 0 windows: %s",
                 kdts_result_str(r));
        d.n = 2;
        d.F = 3;
        r = kdts_train(&m, &tc, &d, NULL, NULL, 0, NULL, &e);
        KT_CHECK(r == KDTS_ERR_SHAPE || r == KDTS_ERR_ARG, "train with the wrong feature count: %s",
                 kdts_result_str(r));
        d.F = 1;
        d.y = NULL;
        r = kdts_train(&m, &tc, &d, NULL, NULL, 0, NULL, &e);
        KT_CHECK(r == KDTS_ERR_ARG || r == KDTS_ERR_SHAPE, "train without targets: %s", kdts_result_str(r));
        d.y = y;
        tc.epochs = -1;
        KT_CHECK(kdts_train(&m, &tc, &d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_ARG, "negative epochs");
        tc.epochs = 1;
        tc.alpha = NAN;
        KT_CHECK(kdts_train(&m, &tc, &d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_ARG, "NaN alpha");
        tc.alpha = 0.0f;
        tc.temperature = -1.0f;
        KT_CHECK(kdts_train(&m, &tc, &d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_ARG, "negative temperature");
    }
    kdts_lstm_ws_free(&ws);
    kdts_lstm_free(&m);

    /* GEMM with negative sizes or short leading dimensions */
    KT_CHECK(kdts_gemm(0, 0, -1, 2, 2, 1.0f, A, 2, A, 2, 0.0f, C, 2, NULL) == KDTS_ERR_ARG, "gemm M = -1");
    KT_CHECK(kdts_gemm(0, 0, 2, 2, 2, 1.0f, A, 1, A, 2, 0.0f, C, 2, NULL) == KDTS_ERR_ARG, "gemm lda < K");
    KT_CHECK(kdts_gemm(0, 0, 2, 2, 2, 1.0f, A, 2, A, 2, 0.0f, C, 1, NULL) == KDTS_ERR_ARG, "gemm ldc < N");

    /* Adam over more parameters than memory */
    r = kdts_adam_init(&a, NULL, (size_t)-1 / 2, &e);
    KT_CHECK(r == KDTS_ERR_NOMEM, "adam with SIZE_MAX/2 parameters: %s", kdts_result_str(r));

    /* window sizes */
    KT_CHECK(kdts_window_count(0, 100, 0, 1, 1) == 0, "window count lookback 0");
    KT_CHECK(kdts_window_count(0, 100, 5, -1, 1) == 0, "window count horizon -1");
    KT_CHECK(kdts_window_count(0, 100, 5, 1, 0) == 0 || kdts_window_count(0, 100, 5, 1, 0) == 95,
             "window count stride 0 (0 or the default stride 1)");
    KT_CHECK(kdts_window_count(0, LONG_MAX, INT_MAX, INT_MAX, 1) >= 0, "window count near LONG_MAX");
    {
        float col[50], *cols[1];
        char *names[1];
        kdts_table t;
        kdts_window_config wc;
        kdts_windows w;
        long nw;
        size_t bytes;
        int k;
        for (k = 0; k < 50; ++k) col[k] = (float)k;
        names[0] = (char *)"v";
        cols[0] = col;
        mem_table(&t, cols, names, 50, 1);
        memset(&wc, 0, sizeof wc);
        wc.lookback = 0;
        KT_CHECK(kdts_windows_make(&w, &t, 0, 50, &wc, &e) == KDTS_ERR_ARG, "windows lookback 0");
        wc.lookback = -3;
        KT_CHECK(kdts_windows_make(&w, &t, 0, 50, &wc, &e) == KDTS_ERR_ARG, "windows lookback -3");
        wc.lookback = 4;
        wc.horizon = -1;
        KT_CHECK(kdts_windows_make(&w, &t, 0, 50, &wc, &e) == KDTS_ERR_ARG, "windows horizon -1");
        wc.horizon = 1;
        wc.stride = -2;
        KT_CHECK(kdts_windows_make(&w, &t, 0, 50, &wc, &e) == KDTS_ERR_ARG, "windows stride -2");
        wc.stride = 1;
        wc.lookback = INT_MAX;
        r = kdts_windows_size(&t, 0, 50, &wc, &nw, &bytes, &e);
        KT_CHECK(r == KDTS_ERR_DATA || r == KDTS_ERR_ARG, "lookback INT_MAX: %s", kdts_result_str(r));
        {
            /* a huge (hand-made) table: the byte count overflows */
            kdts_table big = t;
            big.rows = LONG_MAX;
            wc.lookback = 1 << 20;
            wc.horizon = 1 << 20;
            r = kdts_windows_size(&big, 0, LONG_MAX, &wc, &nw, &bytes, &e);
            KT_CHECK(r == KDTS_ERR_NOMEM || r == KDTS_ERR_ARG, "windows over LONG_MAX rows: %s",
                     kdts_result_str(r));
        }
        {
            int bad_feature = 3;
            wc.lookback = 4;
            wc.horizon = 1;
            wc.features = &bad_feature;
            wc.n_features = 1;
            KT_CHECK(kdts_windows_make(&w, &t, 0, 50, &wc, &e) == KDTS_ERR_ARG, "feature column out of range");
        }
    }
    KT_CHECK(ha_live == live0, "no block left behind by the refusals (%ld outstanding)", ha_live - live0);
}

/* --------------------------------------------------- lying model files */
static unsigned long crc32_of(const unsigned char *p, size_t n)
{
    unsigned long c = 0xFFFFFFFFUL;
    size_t i;
    int k;
    for (i = 0; i < n; ++i) {
        c ^= p[i];
        for (k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320UL & (0UL - (c & 1UL)));
    }
    return c ^ 0xFFFFFFFFUL;
}
static void put_u32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)((v >> 8) & 0xFF);
    p[2] = (unsigned char)((v >> 16) & 0xFF);
    p[3] = (unsigned char)((v >> 24) & 0xFF);
}
static void put_u64(unsigned char *p, unsigned long long v)
{
    int i;
    for (i = 0; i < 8; ++i) p[i] = (unsigned char)((v >> (8 * i)) & 0xFF);
}
static unsigned long long get_u64(const unsigned char *p)
{
    unsigned long long v = 0;
    int i;
    for (i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
static void fix_crc(unsigned char *buf, size_t n) { put_u32(buf + n - 4, crc32_of(buf, n - 4)); }

/* Offset of the section with this tag (payload starts at 24), or 0. */
static size_t find_section(const unsigned char *buf, size_t n, const char *tag)
{
    size_t off = 24;
    while (off + 12 <= n - 4) {
        unsigned long long len = get_u64(buf + off + 4);
        if (!memcmp(buf + off, tag, 4)) return off;
        if (len > n) return 0;
        off += 12 + (size_t)len;
    }
    return 0;
}

static int make_model_bytes(unsigned char **out, size_t *n, int dist)
{
    kdts_lstm net;
    kdts_lstm_config c;
    kdts_model_desc d;
    kdts_model m;
    int ok;
    memset(&c, 0, sizeof c);
    c.input = 2;
    c.hidden = 6;
    c.horizon = 2;
    if (dist) {
        c.mode = KDTS_MODE_DIST;
        c.bins = 8;
    }
    if (kdts_lstm_init(&net, &c, 11, NULL) != KDTS_OK) return 0;
    memset(&d, 0, sizeof d);
    d.lookback = 10;
    d.horizon = 2;
    d.n_features = 2;
    ok = kdts_model_create(&m, &net, &d, NULL) == KDTS_OK;
    kdts_lstm_free(&net);
    if (!ok) return 0;
    *n = 0;
    kdts_model_save_mem(&m, NULL, 0, n, NULL);
    *out = (unsigned char *)malloc(*n);
    ok = *out && kdts_model_save_mem(&m, *out, *n, n, NULL) == KDTS_OK;
    kdts_model_free(&m);
    return ok;
}

static void test_bad_model_files(void)
{
    unsigned char *good = NULL, *b;
    size_t n = 0, cut, off;
    kdts_model l;
    kdts_error e;
    kdts_result r;
    long live0 = ha_live;
    int fails = 0;
    if (!make_model_bytes(&good, &n, 0)) {
        KT_CHECK(0, "could not make a model file");
        free(good);
        return;
    }
    b = (unsigned char *)malloc(n + 64);
    KT_CHECK(kdts_model_load_mem(&l, good, n, NULL) == KDTS_OK, "the good file loads");
    kdts_model_free(&l);

    /* every truncation, into an exact-size heap copy (ASan sees overreads) */
    for (cut = 0; cut < n; ++cut) {
        unsigned char *t = (unsigned char *)malloc(cut ? cut : 1);
        memcpy(t, good, cut);
        r = kdts_model_load_mem(&l, t, cut, &e);
        if (r != KDTS_ERR_FORMAT) fails++;
        free(t);
    }
    KT_CHECK(fails == 0, "%d of %lu truncations not reported as KDTS_ERR_FORMAT", fails, (unsigned long)n);

    /* the header promises more payload than there is (CRC consistent with
       the bytes present, so only the size check can catch it) */
    memcpy(b, good, n);
    put_u64(b + 16, get_u64(good + 16) + 1000);
    fix_crc(b, n);
    KT_CHECK(kdts_model_load_mem(&l, b, n, &e) == KDTS_ERR_FORMAT, "payload size larger than the file");
    put_u64(b + 16, ~0ULL);
    KT_CHECK(kdts_model_load_mem(&l, b, n, &e) == KDTS_ERR_FORMAT, "payload size 2^64-1");
    put_u64(b + 16, ~0ULL - 27);
    KT_CHECK(kdts_model_load_mem(&l, b, n, &e) == KDTS_ERR_FORMAT, "payload size wrapping 28 + P to 0");

    /* a section length larger than the payload, with a valid CRC */
    memcpy(b, good, n);
    off = find_section(b, n, "WGTS");
    KT_CHECK(off != 0, "WGTS section found");
    if (off) {
        static const unsigned long long lens[] = {1ULL << 40, ~0ULL, ~0ULL - 11, 0};
        int i;
        for (i = 0; i < 4; ++i) {
            memcpy(b, good, n);
            put_u64(b + off + 4, lens[i]);
            fix_crc(b, n);
            r = kdts_model_load_mem(&l, b, n, &e);
            KT_CHECK(r == KDTS_ERR_FORMAT || r == KDTS_ERR_ARG, "WGTS length %llu: %s", lens[i], kdts_result_str(r));
            if (r == KDTS_OK) kdts_model_free(&l);
        }
    }
    /* nparams in ARCH larger than WGTS (CRC fixed) */
    off = find_section(good, n, "ARCH");
    KT_CHECK(off != 0, "ARCH section found");
    if (off) {
        static const unsigned long long nps[] = {1ULL << 62, 0, 123456789ULL};
        int i;
        for (i = 0; i < 3; ++i) {
            memcpy(b, good, n);
            put_u64(b + off + 12 + 9 * 4, nps[i]);
            fix_crc(b, n);
            r = kdts_model_load_mem(&l, b, n, &e);
            KT_CHECK(r == KDTS_ERR_FORMAT || r == KDTS_ERR_ARG, "ARCH nparams %llu: %s", nps[i], kdts_result_str(r));
            if (r == KDTS_OK) kdts_model_free(&l);
        }
        /* hidden size absurd, CRC fixed */
        memcpy(b, good, n);
        put_u32(b + off + 12 + 4, 0x7FFFFFFFUL);
        fix_crc(b, n);
        r = kdts_model_load_mem(&l, b, n, &e);
        KT_CHECK(r == KDTS_ERR_FORMAT || r == KDTS_ERR_ARG, "ARCH hidden 2^31-1: %s", kdts_result_str(r));
        if (r == KDTS_OK) kdts_model_free(&l);
        memcpy(b, good, n);
        put_u32(b + off + 12 + 4, 0xFFFFFFFFUL);
        fix_crc(b, n);
        r = kdts_model_load_mem(&l, b, n, &e);
        KT_CHECK(r == KDTS_ERR_FORMAT || r == KDTS_ERR_ARG, "ARCH hidden -1: %s", kdts_result_str(r));
        if (r == KDTS_OK) kdts_model_free(&l);
    }
    /* a name length running past its section (DATA), CRC fixed */
    off = find_section(good, n, "DATA");
    KT_CHECK(off != 0, "DATA section found");
    if (off) {
        /* DATA: 5 i32, f32, target_index[n_targets = 1], then str: u16 len */
        size_t s = off + 12 + 6 * 4 + 4;
        memcpy(b, good, n);
        b[s] = 0xFF;
        b[s + 1] = 0xFF;
        fix_crc(b, n);
        r = kdts_model_load_mem(&l, b, n, &e);
        KT_CHECK(r == KDTS_ERR_FORMAT || r == KDTS_ERR_ARG, "name length 65535: %s", kdts_result_str(r));
        if (r == KDTS_OK) kdts_model_free(&l);
        /* n_features absurd */
        memcpy(b, good, n);
        put_u32(b + off + 12 + 8, 0x40000000UL);
        fix_crc(b, n);
        r = kdts_model_load_mem(&l, b, n, &e);
        KT_CHECK(r == KDTS_ERR_FORMAT || r == KDTS_ERR_ARG, "n_features 2^30: %s", kdts_result_str(r));
        if (r == KDTS_OK) kdts_model_free(&l);
        /* n_targets negative */
        memcpy(b, good, n);
        put_u32(b + off + 12 + 12, 0xFFFFFFF0UL);
        fix_crc(b, n);
        r = kdts_model_load_mem(&l, b, n, &e);
        KT_CHECK(r == KDTS_ERR_FORMAT || r == KDTS_ERR_ARG, "n_targets -16: %s", kdts_result_str(r));
        if (r == KDTS_OK) kdts_model_free(&l);
    }
    /* every single byte flipped, CRC fixed afterwards: never a crash, and a
       model that loads passes kdts_model_check */
    {
        size_t i;
        int bad = 0, loaded = 0;
        for (i = 0; i + 4 < n; ++i) {
            memcpy(b, good, n);
            b[i] ^= 0xA5;
            fix_crc(b, n);
            r = kdts_model_load_mem(&l, b, n, &e);
            if (r == KDTS_OK) {
                loaded++;
                if (kdts_model_check(&l, NULL) != KDTS_OK) bad++;
                kdts_model_free(&l);
            } else if (r >= 0 || e.message[0] == 0) {
                bad++;
            }
        }
        KT_CHECK(bad == 0, "byte flips: %d loaded models fail kdts_model_check or errors lack a message", bad);
        printf("model file byte flips with a fixed CRC: %d of %lu still load (values/names/metadata)\n", loaded,
               (unsigned long)(n - 4));
    }
    /* a non-finite weight (CRC fixed): loads or refuses, but never predicts NaN silently */
    off = find_section(good, n, "WGTS");
    if (off) {
        memcpy(b, good, n);
        put_u32(b + off + 12, 0x7FC00000UL); /* NaN */
        fix_crc(b, n);
        r = kdts_model_load_mem(&l, b, n, &e);
        KT_CHECK(r == KDTS_ERR_NONFINITE || r == KDTS_ERR_FORMAT || r == KDTS_ERR_ARG || r == KDTS_OK,
                 "NaN weight: %s", kdts_result_str(r));
        if (r == KDTS_OK) {
            kdts_infer inf;
            float x[20], fc[2];
            int i;
            for (i = 0; i < 20; ++i) x[i] = (float)i;
            if (kdts_infer_create(&inf, &l, 0, NULL) == KDTS_OK) {
                r = kdts_infer_window(&inf, x, 10, fc, NULL, NULL, 0.0f, NULL);
                KT_CHECK(r == KDTS_ERR_NONFINITE || (r == KDTS_OK && all_finite(fc, 2)),
                         "a NaN weight gives NaN forecasts reported as %s", kdts_result_str(r));
                kdts_infer_free(&inf);
            }
            kdts_model_free(&l);
        }
    }
    free(b);
    free(good);
    KT_CHECK(ha_live == live0, "no block left behind by the bad files (%ld outstanding)", ha_live - live0);
}

/* --------------------------------------------------------- out of memory */
typedef kdts_result (*oom_fn)(void *ctx);

/* Run fn with the Nth allocation failing, N = 1, 2, ... until a run
   succeeds without an injected failure. Every failing run must return
   KDTS_ERR_NOMEM and leave no block behind (fn cleans up what it made on
   success itself). */
static void oom_loop(const char *name, oom_fn fn, void *ctx)
{
    long n, live0 = ha_live;
    int wrong = 0, leaks = 0;
    kdts_result r = KDTS_OK;
    for (n = 1; n < 100000; ++n) {
        ha_calls = 0;
        ha_failed = 0;
        ha_failed_shrink = 0;
        ha_fail_at = n;
        r = fn(ctx);
        ha_fail_at = 0;
        if (ha_live != live0) {
            if (leaks++ < 3) printf("%s: failing allocation %ld leaks %ld block(s)\n", name, n, ha_live - live0);
            ha_live = live0; /* keep counting the next ones separately */
        }
        if (!ha_failed) break;
        /* a failed shrinking realloc may be ignored (the block stays valid) */
        if (r != KDTS_ERR_NOMEM && !(r == KDTS_OK && ha_failed_shrink)) {
            if (wrong++ < 3) printf("%s: failing allocation %ld gave %s\n", name, n, kdts_result_str(r));
        }
    }
    printf("%s: %ld allocation(s), each failed in turn\n", name, n - 1);
    KT_CHECK(r == KDTS_OK, "%s: the run without failures gave %s", name, kdts_result_str(r));
    KT_CHECK(n > 1, "%s allocates (otherwise this check tests nothing)", name);
    KT_CHECK(wrong == 0, "%s: %d failing allocation(s) not reported as KDTS_ERR_NOMEM", name, wrong);
    KT_CHECK(leaks == 0, "%s: %d failing allocation(s) leaked", name, leaks);
}

static kdts_result oom_lstm_init(void *ctx)
{
    kdts_lstm m;
    kdts_lstm_config c;
    kdts_result r;
    (void)ctx;
    memset(&c, 0, sizeof c);
    c.input = 3;
    c.hidden = 8;
    c.layers = 2;
    c.horizon = 2;
    r = kdts_lstm_init(&m, &c, 1, NULL);
    if (r == KDTS_OK) kdts_lstm_free(&m);
    return r;
}

static kdts_result oom_ws_init(void *ctx)
{
    kdts_lstm_ws ws;
    kdts_lstm_config c;
    kdts_result r;
    int train = *(int *)ctx;
    memset(&ws, 0, sizeof ws);
    memset(&c, 0, sizeof c);
    c.input = 2;
    c.hidden = 8;
    c.layers = 3;
    c.horizon = 2;
    c.dropout = 0.2f;
    r = kdts_lstm_ws_init(&ws, &c, 5, 7, train, NULL);
    if (r == KDTS_OK) kdts_lstm_ws_free(&ws);
    return r;
}

typedef struct train_ctx {
    kdts_lstm *student;
    const kdts_lstm *teacher;
    const float *w0;
    kdts_dataset d;
} train_ctx;

static kdts_result oom_train(void *ctx)
{
    train_ctx *t = (train_ctx *)ctx;
    kdts_train_config tc;
    const kdts_lstm *teachers[1];
    kdts_result r;
    teachers[0] = t->teacher;
    memcpy(t->student->params, t->w0, t->student->nparams * sizeof(float));
    memset(&tc, 0, sizeof tc);
    tc.epochs = 2;
    tc.batch = 8;
    tc.alpha = 0.5f;
    tc.beta = 0.1f;
    r = kdts_train(t->student, &tc, &t->d, &t->d, teachers, t->teacher ? 1 : 0, NULL, NULL);
    return r;
}

static kdts_result oom_predict(void *ctx)
{
    train_ctx *t = (train_ctx *)ctx;
    float fc[64 * 2];
    return kdts_predict(t->student, t->d.x, t->d.n, t->d.T, fc, NULL);
}

static kdts_result oom_gemm(void *ctx)
{
    static float A[300 * 300], B[300 * 300], C[300 * 300];
    (void)ctx;
    return kdts_gemm(0, 1, 300, 300, 300, 1.0f, A, 300, B, 300, 0.0f, C, 300, NULL);
}

static kdts_result oom_adam(void *ctx)
{
    kdts_adam a;
    kdts_result r;
    (void)ctx;
    memset(&a, 0, sizeof a);
    r = kdts_adam_init(&a, NULL, 1000, NULL);
    if (r == KDTS_OK) kdts_adam_free(&a);
    return r;
}

typedef struct csv_ctx {
    const char *text;
    int policy, keep_text, chunk;
} csv_ctx;

typedef struct chunk_src {
    const char *p;
    size_t len, pos, chunk;
} chunk_src;
static size_t chunk_read(void *user, void *buf, size_t cap)
{
    chunk_src *s = (chunk_src *)user;
    size_t n = s->len - s->pos;
    if (n > s->chunk) n = s->chunk;
    if (n > cap) n = cap;
    memcpy(buf, s->p + s->pos, n);
    s->pos += n;
    return n;
}

static kdts_result oom_csv(void *ctx)
{
    csv_ctx *c = (csv_ctx *)ctx;
    kdts_csv_config cfg = kdts_csv_config_default();
    kdts_table t;
    kdts_result r;
    cfg.missing = c->policy;
    cfg.keep_text = c->keep_text;
    if (c->chunk) {
        chunk_src s;
        s.p = c->text;
        s.len = strlen(c->text);
        s.pos = 0;
        s.chunk = (size_t)c->chunk;
        r = kdts_csv_read_cb(&t, chunk_read, &s, &cfg, NULL);
    } else {
        r = kdts_csv_read_mem(&t, c->text, strlen(c->text), &cfg, NULL);
    }
    if (r == KDTS_OK) kdts_table_free(&t);
    return r;
}

static kdts_result oom_windows(void *ctx)
{
    static float a[80], b[80];
    float *cols[2];
    char *names[2];
    kdts_table t;
    kdts_window_config wc;
    kdts_windows w;
    kdts_result r;
    int i, tg = 0;
    (void)ctx;
    for (i = 0; i < 80; ++i) {
        a[i] = (float)i;
        b[i] = (float)(i % 7);
    }
    cols[0] = a;
    cols[1] = b;
    names[0] = (char *)"a";
    names[1] = (char *)"b";
    mem_table(&t, cols, names, 80, 2);
    memset(&wc, 0, sizeof wc);
    wc.lookback = 9;
    wc.horizon = 3;
    wc.norm = KDTS_WNORM_MEANSTD;
    wc.targets = &tg;
    wc.n_targets = 1;
    r = kdts_windows_make(&w, &t, 0, 80, &wc, NULL);
    if (r == KDTS_OK) kdts_windows_free(&w);
    return r;
}

static kdts_result oom_scaler_quantile(void *ctx)
{
    float x[100];
    kdts_scaler s;
    kdts_scaler_config c;
    int i;
    (void)ctx;
    memset(&s, 0, sizeof s);
    for (i = 0; i < 100; ++i) x[i] = (float)((i * 37) % 100);
    memset(&c, 0, sizeof c);
    c.clip = KDTS_CLIP_QUANTILE;
    c.clip_q = 0.05f;
    return kdts_scaler_fit_column(&s, &c, 0, x, 100, NULL);
}

typedef struct model_ctx {
    const unsigned char *bytes;
    size_t n;
    const kdts_lstm *net;
} model_ctx;

static kdts_result oom_model_load(void *ctx)
{
    model_ctx *c = (model_ctx *)ctx;
    kdts_model l;
    kdts_result r = kdts_model_load_mem(&l, c->bytes, c->n, NULL);
    if (r == KDTS_OK) kdts_model_free(&l);
    return r;
}

static kdts_result oom_model_create_infer(void *ctx)
{
    model_ctx *c = (model_ctx *)ctx;
    kdts_model m;
    kdts_model_desc d;
    kdts_infer inf;
    kdts_result r;
    memset(&d, 0, sizeof d);
    d.lookback = 10;
    d.horizon = 2;
    d.n_features = 2;
    r = kdts_model_create(&m, c->net, &d, NULL);
    if (r != KDTS_OK) return r;
    r = kdts_infer_create(&inf, &m, 0, NULL);
    if (r == KDTS_OK) kdts_infer_free(&inf);
    kdts_model_free(&m);
    return r;
}

static void test_out_of_memory(void)
{
    int train = 0;
    kdts_lstm student, teacher;
    kdts_lstm_config c;
    train_ctx tctx;
    float *x, *y, *w0;
    csv_ctx cc;
    static const char *csv =
        "date,load,temp,note\n"
        "2024-01-01,1.5,20,a\n"
        "2024-01-02,,21,\"b,c\"\n"
        "2024-01-03,2.5,NA,d\n"
        "2024-01-04,3.0,23.5,e\n"
        "2024-01-05,3.5,24,f\n";
    oom_loop("kdts_lstm_init", oom_lstm_init, NULL);
    oom_loop("kdts_lstm_ws_init (inference)", oom_ws_init, &train);
    train = 1;
    oom_loop("kdts_lstm_ws_init (training)", oom_ws_init, &train);
    oom_loop("kdts_gemm", oom_gemm, NULL);
    oom_loop("kdts_adam_init", oom_adam, NULL);

    memset(&c, 0, sizeof c);
    c.hidden = 6;
    c.horizon = 2;
    KT_CHECK(kdts_lstm_init(&student, &c, 1, NULL) == KDTS_OK, "student");
    c.hidden = 10;
    KT_CHECK(kdts_lstm_init(&teacher, &c, 2, NULL) == KDTS_OK, "teacher");
    x = (float *)malloc(24 * 5 * sizeof(float));
    y = (float *)malloc(24 * 5 * 2 * sizeof(float));
    w0 = (float *)malloc(student.nparams * sizeof(float));
    {
        int i;
        kdts_rng r;
        kdts_rng_seed(&r, 4);
        for (i = 0; i < 24 * 5; ++i) x[i] = frand(&r);
        for (i = 0; i < 24 * 5 * 2; ++i) y[i] = frand(&r);
    }
    memcpy(w0, student.params, student.nparams * sizeof(float));
    tctx.student = &student;
    tctx.teacher = NULL;
    tctx.w0 = w0;
    tctx.d.x = x;
    tctx.d.y = y;
    tctx.d.n = 24;
    tctx.d.T = 5;
    tctx.d.F = 1;
    tctx.d.h = 2;
    oom_loop("kdts_train", oom_train, &tctx);
    tctx.teacher = &teacher;
    oom_loop("kdts_train (teacher, validation)", oom_train, &tctx);
    oom_loop("kdts_predict", oom_predict, &tctx);

    cc.text = csv;
    cc.policy = KDTS_MISSING_INTERPOLATE;
    cc.keep_text = 1;
    cc.chunk = 0;
    oom_loop("kdts_csv_read_mem", oom_csv, &cc);
    cc.policy = KDTS_MISSING_FFILL;
    cc.chunk = 3;
    oom_loop("kdts_csv_read_cb (3-byte chunks)", oom_csv, &cc);
    oom_loop("kdts_windows_make", oom_windows, NULL);
    oom_loop("kdts_scaler_fit_column (quantile clip)", oom_scaler_quantile, NULL);
    {
        model_ctx mc;
        unsigned char *bytes = NULL;
        size_t n = 0;
        kdts_lstm net;
        memset(&c, 0, sizeof c);
        c.input = 2;
        c.hidden = 6;
        c.horizon = 2;
        KT_CHECK(kdts_lstm_init(&net, &c, 11, NULL) == KDTS_OK, "net");
        if (make_model_bytes(&bytes, &n, 1)) {
            mc.bytes = bytes;
            mc.n = n;
            mc.net = &net;
            oom_loop("kdts_model_load_mem", oom_model_load, &mc);
            oom_loop("kdts_model_create + kdts_infer_create", oom_model_create_infer, &mc);
        } else {
            KT_CHECK(0, "model bytes");
        }
        free(bytes);
        kdts_lstm_free(&net);
    }
    free(x);
    free(y);
    free(w0);
    kdts_lstm_free(&student);
    kdts_lstm_free(&teacher);
}

int main(void)
{
    printf("kdts %s, SIMD path: %s\n", KDTS_VERSION_STRING, kdts_simd_name());
    test_nonfinite_training();
    test_constant_series();
    test_short_series();
    test_absurd_sizes();
    test_bad_model_files();
    test_out_of_memory();
    KT_CHECK(ha_live == 0, "every library allocation was freed (%ld outstanding)", ha_live);
    return kt_done();
}
