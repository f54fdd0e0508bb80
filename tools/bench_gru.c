/* bench_gru - kdts GRU speed against PyTorch's nn.GRU + nn.Linear measured
   in the same run (tools/bench_gru_torch.py, 1 thread,
   OPENBLAS_CORETYPE=SkylakeX), the way tools/bench.c does it for the LSTM.

   usage: bench_gru [--no-torch] [--quick] [--no-pin]
     --no-torch  skip the PyTorch comparison
     --quick     fewer repetitions
     --no-pin    on Linux without OpenMP, do not pin the process (and the
                 PyTorch run it starts) to the CPU it starts on

   Measured (lookback 96, batch 32, horizon 24, point mode):
     train    forward + per-step MSE on all steps + BPTT + Adam (median of
              21 steps after 3 untimed ones, as tools/bench_gru_torch.py)
     infer-1  the forecast of one window (the GRU over all 96 steps, the
              head on the last; kdts_gru_forecast with a batch-1
              workspace; PyTorch under torch.no_grad()), median
     infer-32 the same for a batch of 32 windows
   for the teacher (2x64) and the student (1x16), both with input 1, and
   the kdts LSTM of the same shapes for reference. FLOPs: a training step
   is counted as 3x the forward (kdts_gru_flops x batch); the per-core FMA
   peak is measured in this run (bc_peak_gflops). Targets: teacher
   training step >= 5x PyTorch, student window forecast >= 100x. */
#if defined(__linux__)
#define _GNU_SOURCE /* sched_setaffinity */
#include <sched.h>
#else
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "bench_common.h"

#define BT 96
#define BB 32
#define BH 24

static int g_quick;

typedef struct gconf {
    const char *name;
    int input, hidden, layers;
} gconf;

static const gconf confs[] = {{"teacher", 1, 64, 2}, {"student", 1, 16, 1}};
#define NCONF 2

typedef struct gres {
    double train_s, gflops, infer1_s, inferB_s; /* GRU */
    double ltrain_s, linfer1_s;                 /* LSTM of the same shape */
} gres;

static void fill(float *p, size_t n, kdts_rng *r)
{
    size_t i;
    for (i = 0; i < n; ++i) p[i] = 2.0f * kdts_rng_uniform(r) - 1.0f;
}

/* median seconds of reps calls of fn after 3 untimed ones; inner calls
   per timed sample */
#define BG_TIME(res, reps, inner, call)                                 \
    do {                                                                \
        double t_[64], t0_;                                             \
        int i_, j_;                                                     \
        for (i_ = 0; i_ < 3 + (reps); ++i_) {                           \
            t0_ = bc_now();                                             \
            for (j_ = 0; j_ < (inner); ++j_) { call; }                  \
            if (i_ >= 3) t_[i_ - 3] = (bc_now() - t0_) / (inner);       \
        }                                                               \
        (res) = bc_median(t_, (reps));                                  \
    } while (0)

static int bench_gru(const gconf *c, gres *res)
{
    kdts_gru m;
    kdts_gru_ws ws, ws1, wsB;
    kdts_gru_config cfg;
    kdts_adam adam;
    kdts_adam_config ac;
    kdts_loss_config lc;
    kdts_loss_value lv;
    kdts_rng r;
    size_t nx = (size_t)BB * BT * c->input, ny = (size_t)BB * BT * BH;
    float *x = (float *)malloc(nx * 4), *y = (float *)malloc(ny * 4), *out = (float *)malloc(ny * 4);
    float *dout = (float *)malloc(ny * 4);
    int reps = g_quick ? 7 : 21, inner = c->hidden >= 64 ? 20 : 100;
    memset(&cfg, 0, sizeof cfg);
    memset(&ac, 0, sizeof ac);
    memset(&lc, 0, sizeof lc);
    cfg.input = c->input;
    cfg.hidden = c->hidden;
    cfg.layers = c->layers;
    cfg.horizon = BH;
    if (!x || !y || !out || !dout || kdts_gru_init(&m, &cfg, 7, NULL) != KDTS_OK ||
        kdts_gru_ws_init(&ws, &cfg, BB, BT, 1, NULL) != KDTS_OK ||
        kdts_gru_ws_init(&ws1, &cfg, 1, BT, 0, NULL) != KDTS_OK ||
        kdts_gru_ws_init(&wsB, &cfg, BB, BT, 0, NULL) != KDTS_OK ||
        kdts_adam_init(&adam, &ac, m.nparams, NULL) != KDTS_OK)
        return 0;
    lc.mode = KDTS_MODE_POINT;
    lc.horizon = BH;
    lc.temperature = 1.0f;
    kdts_rng_seed(&r, 3);
    fill(x, nx, &r);
    fill(y, ny, &r);
    BG_TIME(res->train_s, reps, 1, {
        kdts_gru_forward(&m, &ws, x, BB, BT, NULL, out, 1, &r, NULL);
        kdts_loss_eval(&lc, 1.0f, 0.0f, 0.0f, out, y, NULL, NULL, BB, BT, &lv, dout, NULL);
        kdts_gru_zero_grad(&m);
        kdts_gru_backward(&m, &ws, dout, NULL, NULL, NULL);
        kdts_adam_step(&adam, m.params, m.grads);
    });
    res->gflops = 3.0 * kdts_gru_flops(&m.cfg, BT) * BB / res->train_s * 1e-9;
    BG_TIME(res->infer1_s, g_quick ? 7 : 15, inner, kdts_gru_forecast(&m, &ws1, x, 1, BT, NULL, NULL, NULL));
    BG_TIME(res->inferB_s, g_quick ? 7 : 15, 1, kdts_gru_forecast(&m, &wsB, x, BB, BT, NULL, NULL, NULL));
    kdts_adam_free(&adam);
    kdts_gru_ws_free(&ws);
    kdts_gru_ws_free(&ws1);
    kdts_gru_ws_free(&wsB);
    kdts_gru_free(&m);
    free(x);
    free(y);
    free(out);
    free(dout);
    return 1;
}

/* the LSTM of the same shape, same measurement (for reference) */
static int bench_lstm(const gconf *c, gres *res)
{
    kdts_lstm m;
    kdts_lstm_ws ws, ws1;
    kdts_lstm_config cfg;
    kdts_adam adam;
    kdts_adam_config ac;
    kdts_loss_config lc;
    kdts_loss_value lv;
    kdts_rng r;
    size_t nx = (size_t)BB * BT * c->input, ny = (size_t)BB * BT * BH;
    float *x = (float *)malloc(nx * 4), *y = (float *)malloc(ny * 4), *out = (float *)malloc(ny * 4);
    float *dout = (float *)malloc(ny * 4);
    int reps = g_quick ? 7 : 21, inner = c->hidden >= 64 ? 20 : 100;
    memset(&cfg, 0, sizeof cfg);
    memset(&ac, 0, sizeof ac);
    cfg.input = c->input;
    cfg.hidden = c->hidden;
    cfg.layers = c->layers;
    cfg.horizon = BH;
    if (!x || !y || !out || !dout || kdts_lstm_init(&m, &cfg, 7, NULL) != KDTS_OK ||
        kdts_lstm_ws_init(&ws, &cfg, BB, BT, 1, NULL) != KDTS_OK ||
        kdts_lstm_ws_init(&ws1, &cfg, 1, BT, 0, NULL) != KDTS_OK ||
        kdts_adam_init(&adam, &ac, m.nparams, NULL) != KDTS_OK)
        return 0;
    kdts_loss_config_from_model(&lc, &m);
    kdts_rng_seed(&r, 3);
    fill(x, nx, &r);
    fill(y, ny, &r);
    BG_TIME(res->ltrain_s, reps, 1, {
        kdts_lstm_forward(&m, &ws, x, BB, BT, NULL, NULL, out, 1, &r, NULL);
        kdts_loss_eval(&lc, 1.0f, 0.0f, 0.0f, out, y, NULL, NULL, BB, BT, &lv, dout, NULL);
        kdts_lstm_zero_grad(&m);
        kdts_lstm_backward(&m, &ws, dout, NULL, NULL, NULL, NULL);
        kdts_adam_step(&adam, m.params, m.grads);
    });
    BG_TIME(res->linfer1_s, g_quick ? 7 : 15, inner, kdts_lstm_forecast(&m, &ws1, x, 1, BT, NULL, NULL, NULL, NULL));
    kdts_adam_free(&adam);
    kdts_lstm_ws_free(&ws);
    kdts_lstm_ws_free(&ws1);
    kdts_lstm_free(&m);
    free(x);
    free(y);
    free(out);
    free(dout);
    return 1;
}

typedef struct tres {
    int ok;
    double train_s[NCONF], infer1_s[NCONF], inferB_s[NCONF];
} tres;

static void run_torch(tres *tr)
{
    FILE *p;
    char line[512];
    memset(tr, 0, sizeof *tr);
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) return;
    p = popen(g_quick ? "OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=1 /usr/bin/python3 tools/bench_gru_torch.py --quick"
                      : "OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=1 /usr/bin/python3 tools/bench_gru_torch.py",
              "r");
    if (!p) return;
    while (fgets(line, sizeof line, p)) {
        char key[64], name[64];
        double v;
        int k;
        if (sscanf(line, "%63s %63s %lf", key, name, &v) != 3) continue;
        for (k = 0; k < NCONF; ++k)
            if (!strcmp(name, confs[k].name)) {
                if (!strcmp(key, "train")) tr->train_s[k] = v, tr->ok = 1;
                else if (!strcmp(key, "infer1")) tr->infer1_s[k] = v;
                else if (!strcmp(key, "inferB")) tr->inferB_s[k] = v;
            }
    }
    pclose(p);
}

int main(int argc, char **argv)
{
    int i, no_torch = 0, no_pin = 0, pinned = -1, k;
    const char *isa = "n/a";
    double peak;
    gres res[NCONF];
    tres tr;
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--no-torch")) no_torch = 1;
        else if (!strcmp(argv[i], "--quick")) g_quick = 1;
        else if (!strcmp(argv[i], "--no-pin")) no_pin = 1;
        else {
            fprintf(stderr, "usage: bench_gru [--no-torch] [--quick] [--no-pin]\n");
            return 2;
        }
    }
#if defined(__linux__) && !defined(_OPENMP)
    if (!no_pin) {
        /* kdts and PyTorch on the same core */
        int cpu = sched_getcpu();
        cpu_set_t set;
        CPU_ZERO(&set);
        if (cpu >= 0) {
            CPU_SET(cpu, &set);
            if (sched_setaffinity(0, sizeof set, &set) == 0) pinned = cpu;
        }
    }
#else
    (void)no_pin;
#endif
    peak = bc_peak_gflops(&isa, g_quick);
    printf("kdts %s GRU bench, SIMD path %s, 1 thread", KDTS_VERSION_STRING, kdts_simd_name());
    if (pinned >= 0) printf(" pinned to CPU %d (PyTorch too)", pinned);
    if (peak > 0) printf("; measured per-core peak (%s loop) %.1f GFLOP/s\n", isa, peak);
    else printf("; FMA peak n/a\n");
    printf("lookback %d, batch %d, horizon %d point mode, per-step MSE on all steps; training step = forward + loss + "
           "BPTT + Adam (median)\ninference: forecast of each window (GRU over all steps, head on the last)\n"
           "FLOPs: training step = 3 x forward (kdts_gru_flops x batch)\n\n", BT, BB, BH);
    printf("%-8s %-12s %10s %9s %8s %12s %12s   %s\n", "GRU", "shape", "train ms", "GFLOP/s", "of peak", "infer-1 ms",
           "infer-32 ms", "LSTM same shape: train ms, infer-1 ms");
    for (k = 0; k < NCONF; ++k) {
        char shape[32];
        if (!bench_gru(&confs[k], &res[k]) || !bench_lstm(&confs[k], &res[k])) {
            printf("%s: setup failed\n", confs[k].name);
            return 1;
        }
        sprintf(shape, "in %d, %dx%d", confs[k].input, confs[k].layers, confs[k].hidden);
        printf("%-8s %-12s %10.3f %9.1f ", confs[k].name, shape, res[k].train_s * 1e3, res[k].gflops);
        if (peak > 0) printf("%7.1f%%", 100.0 * res[k].gflops / peak);
        else printf("%8s", "n/a");
        printf(" %12.4f %12.3f   %.3f, %.4f\n", res[k].infer1_s * 1e3, res[k].inferB_s * 1e3, res[k].ltrain_s * 1e3,
               res[k].linfer1_s * 1e3);
        fflush(stdout);
    }
    if (no_torch) return 0;
    run_torch(&tr);
    if (!tr.ok) {
        printf("\nPyTorch: not available (/usr/bin/python3 -c 'import torch' failed); no ratios\n");
        return 0;
    }
    printf("\nPyTorch (torch.nn.GRU + nn.Linear, 1 thread, float32, Adam; OPENBLAS_CORETYPE=SkylakeX): time and kdts "
           "speed-up\n");
    printf("%-8s %12s %8s %14s %8s %14s %8s\n", "GRU", "train ms", "x", "infer-1 ms", "x", "infer-32 ms", "x");
    for (k = 0; k < NCONF; ++k)
        printf("%-8s %12.3f %7.1fx %14.4f %7.1fx %14.3f %7.1fx\n", confs[k].name, tr.train_s[k] * 1e3,
               tr.train_s[k] / res[k].train_s, tr.infer1_s[k] * 1e3, tr.infer1_s[k] / res[k].infer1_s,
               tr.inferB_s[k] * 1e3, tr.inferB_s[k] / res[k].inferB_s);
    printf("targets: teacher training step >= 5x: %.1fx %s; student window forecast >= 100x: %.1fx %s\n",
           tr.train_s[0] / res[0].train_s, tr.train_s[0] / res[0].train_s >= 5.0 ? "met" : "NOT met",
           tr.infer1_s[1] / res[1].infer1_s, tr.infer1_s[1] / res[1].infer1_s >= 100.0 ? "met" : "NOT met");
    return 0;
}
