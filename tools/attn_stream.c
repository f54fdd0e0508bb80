/* attn_stream - how far the key/value-cache stream of an attention model
   drifts from window inference on a real series.

   usage: attn_stream [--csv PATH] [--column NAME] [--epochs N] [--d D]
                      [--blocks L] [--heads H] [--lookback T] [--seed S]

   Data: data/ETTh1.csv, column OT, split 8640/2880/2880 rows (train/val/
   test), z-scored with the training rows' mean and std. A model (default
   d_model 32, 4 heads, ff 2d, GELU, final norm, lookback 96, horizon 24)
   is trained on the training windows for a few epochs (Adam 1e-3, batch
   32, per-step MSE); then, for the trained model, the same model freshly
   initialized, and a one-block model trained the same way, the test rows
   are fed one by one from a reset to the stream (kdts__attn_inf_step, a
   cache of `lookback` steps) and, at every step, the window forecast of the
   last `lookback` observations (kdts__attn_inf_window) is computed too.

   Printed per model: the largest difference over the first `lookback`
   observations (the stream's exact range); over the later steps the mean
   and largest |stream - window| in normalized units, their RMS relative to
   the RMS of the window forecasts, and the MSE of both against the true
   next 24 values, over the steps where those are known. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#define KDTS_IMPLEMENTATION
#include "kdts.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct opts {
    const char *csv, *column;
    int epochs, d, blocks, heads, T, H;
    unsigned long long seed;
} opts;

/* Train m on the windows w (x (N,T,1), y (N,T,H)); returns the last
   epoch's mean loss. */
static double train(kdts_attn *m, const kdts_windows *w, int epochs, unsigned long long seed)
{
    enum { BB = 32 };
    kdts_attn_ws ws;
    kdts_adam adam;
    kdts_adam_config ac;
    kdts_loss_config lc;
    kdts_loss_value lv;
    kdts_rng r;
    int *idx, e, b, i, n = (int)w->n, T = w->T, H = w->H;
    float *x, *y, *out, *dout;
    double sum = 0.0;
    size_t sx = (size_t)T, sy = (size_t)T * H;
    memset(&ac, 0, sizeof ac);
    memset(&lc, 0, sizeof lc);
    memset(&adam, 0, sizeof adam); /* gcc -O3 with KDTS_STATIC: maybe-uninitialized */
    ac.lr = 1e-3f;
    lc.mode = KDTS_MODE_POINT;
    lc.horizon = H;
    lc.temperature = 1.0f;
    if (kdts_attn_ws_init(&ws, &m->cfg, BB, T, 1, NULL) != KDTS_OK || kdts_adam_init(&adam, &ac, m->nparams, NULL) != KDTS_OK)
        return -1.0;
    idx = (int *)malloc(sizeof(int) * (size_t)n);
    x = (float *)malloc(sizeof(float) * BB * sx);
    y = (float *)malloc(sizeof(float) * BB * sy);
    out = (float *)malloc(sizeof(float) * BB * sy);
    dout = (float *)malloc(sizeof(float) * BB * sy);
    kdts_rng_seed(&r, seed);
    for (e = 0; e < epochs; ++e) {
        double t0 = now();
        int nb = 0;
        sum = 0.0;
        kdts_window_shuffle(idx, n, seed + (unsigned long long)e);
        for (b = 0; b + BB <= n; b += BB) {
            for (i = 0; i < BB; ++i) {
                memcpy(x + i * sx, w->x + (size_t)idx[b + i] * sx, sx * sizeof(float));
                memcpy(y + i * sy, w->y + (size_t)idx[b + i] * sy, sy * sizeof(float));
            }
            kdts_attn_forward(m, &ws, x, BB, T, out, 1, &r, NULL);
            kdts_loss_eval(&lc, 1.0f, 0.0f, 0.0f, out, y, NULL, NULL, BB, T, &lv, dout, NULL);
            kdts_attn_zero_grad(m);
            kdts_attn_backward(m, &ws, dout, NULL, NULL);
            kdts_adam_step(&adam, m->params, m->grads);
            sum += lv.total;
            nb++;
        }
        sum /= nb;
        printf("    epoch %d: training loss %.4f (%.1f s)\n", e + 1, sum, now() - t0);
        fflush(stdout);
    }
    free(idx), free(x), free(y), free(out), free(dout);
    kdts_adam_free(&adam);
    kdts_attn_ws_free(&ws);
    return sum;
}

/* Stream the series s (n values, normalized) through m and compare with
   window inference at every step. */
static void compare(const char *name, const kdts_attn *m, const float *s, long n, int T, int H)
{
    kdts__attn_inf st;
    size_t nf = kdts__attn_inf_floats(&m->cfg, T, T);
    float *mem = (float *)malloc(nf * sizeof(float)), *fs = (float *)malloc((size_t)H * 4), *fw = (float *)malloc((size_t)H * 4);
    double first = 0.0, sad = 0.0, mad = 0.0, sd2 = 0.0, sw2 = 0.0, es = 0.0, ew = 0.0;
    long t, cnt = 0, cnt_e = 0;
    int j;
    memset(&st, 0, sizeof st);
    if (!mem || kdts__attn_inf_init(&st, &m->cfg, m->params, T, T, mem, nf, NULL) != KDTS_OK) {
        printf("%s: inference state failed\n", name);
        return;
    }
    for (t = 0; t < n; ++t) {
        long k = t + 1 < T ? t + 1 : T; /* observations in the window */
        kdts__attn_inf_step(&st, s + t, fs);
        kdts__attn_inf_window(&st, s + t + 1 - k, (int)k, fw);
        for (j = 0; j < H; ++j) {
            double dv = fabs((double)fs[j] - fw[j]);
            if (t < T) {
                first = dv > first ? dv : first;
                continue;
            }
            sad += dv;
            mad = dv > mad ? dv : mad;
            sd2 += dv * dv;
            sw2 += (double)fw[j] * fw[j];
            cnt++;
            if (t + 1 + j < n) {
                double y = s[t + 1 + j];
                es += (fs[j] - y) * (fs[j] - y);
                ew += (fw[j] - y) * (fw[j] - y);
                cnt_e++;
            }
        }
    }
    printf("%-24s first %d steps: max |stream - window| %.2g\n", name, T, first);
    printf("%-24s later %ld steps: mean %.3g, max %.3g, RMS %.3g = %.3g%% of the forecasts' RMS %.4f;\n", "",
           cnt / H, sad / cnt, mad, sqrt(sd2 / cnt), 100.0 * sqrt(sd2 / sw2), sqrt(sw2 / cnt));
    printf("%-24s MSE vs truth: stream %.6f, window %.6f, difference %.2g (normalized units, %ld values)\n", "",
           es / cnt_e, ew / cnt_e, (es - ew) / cnt_e, cnt_e);
    fflush(stdout);
    free(mem), free(fs), free(fw);
}

int main(int argc, char **argv)
{
    opts o;
    kdts_csv_config cc;
    kdts_table tab;
    kdts_split sp;
    kdts_scaler sc;
    kdts_scaler_config scc;
    kdts_window_config wc;
    kdts_windows win;
    kdts_error err;
    kdts_attn_config cfg;
    kdts_attn m, m0, m1;
    const char *cols[1];
    const float *test;
    long ntest;
    int i;
    memset(&o, 0, sizeof o);
    memset(&sc, 0, sizeof sc); /* gcc -O2 with KDTS_STATIC: maybe-uninitialized */
    o.csv = "data/ETTh1.csv";
    o.column = "OT";
    o.epochs = 2;
    o.d = 32;
    o.blocks = 2;
    o.heads = 4;
    o.T = 96;
    o.H = 24;
    o.seed = 1;
    for (i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto usage;
        if (!strcmp(a, "--csv")) o.csv = v;
        else if (!strcmp(a, "--column")) o.column = v;
        else if (!strcmp(a, "--epochs")) o.epochs = atoi(v);
        else if (!strcmp(a, "--d")) o.d = atoi(v);
        else if (!strcmp(a, "--blocks")) o.blocks = atoi(v);
        else if (!strcmp(a, "--heads")) o.heads = atoi(v);
        else if (!strcmp(a, "--lookback")) o.T = atoi(v);
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
        else goto usage;
    }
    memset(&cc, 0, sizeof cc);
    cols[0] = o.column;
    cc.columns = cols;
    cc.n_columns = 1;
    if (kdts_csv_read_file(&tab, o.csv, &cc, &err) != KDTS_OK ||
        kdts_split_rows(&sp, tab.rows, 8640, 2880, 2880, &err) != KDTS_OK) {
        fprintf(stderr, "attn_stream: %s\n", err.message);
        return 1;
    }
    memset(&scc, 0, sizeof scc);
    scc.kind = KDTS_SCALER_ZSCORE;
    if (kdts_scaler_fit_table(&sc, &scc, &tab, sp.train.begin, sp.train.end, &err) != KDTS_OK) {
        fprintf(stderr, "attn_stream: %s\n", err.message);
        return 1;
    }
    kdts_scaler_apply_table(&sc, &tab);
    wc = kdts_window_config_default();
    wc.lookback = o.T;
    wc.horizon = o.H;
    if (kdts_windows_make(&win, &tab, sp.train.begin, sp.train.end, &wc, &err) != KDTS_OK) {
        fprintf(stderr, "attn_stream: %s\n", err.message);
        return 1;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.d_model = o.d;
    cfg.heads = o.heads;
    cfg.ff = 2 * o.d;
    cfg.blocks = o.blocks;
    cfg.final_norm = 1;
    cfg.max_steps = o.T;
    cfg.horizon = o.H;
    if (kdts_attn_init(&m, &cfg, o.seed, &err) != KDTS_OK || kdts_attn_init(&m0, &cfg, o.seed, &err) != KDTS_OK) {
        fprintf(stderr, "attn_stream: %s\n", err.message);
        return 1;
    }
    cfg.blocks = 1;
    if (kdts_attn_init(&m1, &cfg, o.seed, &err) != KDTS_OK) {
        fprintf(stderr, "attn_stream: %s\n", err.message);
        return 1;
    }
    test = tab.col[0] + sp.test.begin;
    ntest = sp.test.end - sp.test.begin;
    printf("%s column %s, z-scored on the %ld training rows; %ld training windows; test rows %ld..%ld\n", o.csv,
           o.column, sp.train.end - sp.train.begin, win.n, sp.test.begin, sp.test.end);
    printf("model: d_model %d, %d heads, ff %d, GELU, final norm, lookback %d, horizon %d\n", o.d, o.heads, 2 * o.d,
           o.T, o.H);
    printf("training %d blocks (%lu parameters), %d epochs:\n", o.blocks, (unsigned long)m.nparams, o.epochs);
    train(&m, &win, o.epochs, o.seed);
    printf("training 1 block (%lu parameters), %d epochs:\n", (unsigned long)m1.nparams, o.epochs);
    train(&m1, &win, o.epochs, o.seed);
    printf("\nstream (key/value cache of %d steps) vs window inference over the %ld test rows:\n", o.T, ntest);
    {
        char nm[64];
        sprintf(nm, "%d blocks, trained", o.blocks);
        compare(nm, &m, test, ntest, o.T, o.H);
        sprintf(nm, "%d blocks, untrained", o.blocks);
        compare(nm, &m0, test, ntest, o.T, o.H);
        compare("1 block, trained", &m1, test, ntest, o.T, o.H);
    }
    kdts_attn_free(&m);
    kdts_attn_free(&m0);
    kdts_attn_free(&m1);
    kdts_windows_free(&win);
    kdts_table_free(&tab);
    return 0;
usage:
    fprintf(stderr, "usage: attn_stream [--csv PATH] [--column NAME] [--epochs N] [--d D] [--blocks L] [--heads H] "
                    "[--lookback T] [--seed S]\n");
    return 2;
}
