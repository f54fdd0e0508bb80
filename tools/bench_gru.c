/* bench_gru - kdts GRU speed against PyTorch's nn.GRU + nn.Linear measured
   in the same run (tools/bench_gru_torch.py, 1 thread,
   OPENBLAS_CORETYPE SkylakeX, Haswell without AVX-512), the way tools/bench.c does it for the LSTM:
   pinned to one CPU, warm-up calls, medians.

   usage: bench_gru [--sequential] [--no-torch] [--quick] [--no-pin]
     --sequential  every kdts measurement first, then PyTorch's (as
                   tools/bench.c). Default: PyTorch runs as a server
                   process on the same CPU and the two sides alternate in
                   groups (kdts, PyTorch, kdts, ...; each group after
                   untimed calls), so on a shared machine both see the
                   same load over the run; each side's median is over all
                   its groups
     --no-torch    skip the PyTorch comparison
     --quick       fewer repetitions
     --no-pin      on Linux without OpenMP, do not pin the process (and the
                   PyTorch process it starts) to the CPU it starts on

   Measured (lookback 96, batch 32, horizon 24, point mode):
     train    forward + per-step MSE on all steps + BPTT + Adam: median of
              21 steps (3 groups of 7 after 3 untimed steps each when
              alternating; 3 untimed then 21 when sequential)
     infer-1  the forecast of one window (the GRU over all 96 steps, the
              head on the last; kdts_gru_forecast with a batch-1
              workspace; PyTorch under torch.no_grad()), median
     infer-32 the same for a batch of 32 windows
   for the teacher (2x64) and the student (1x16), both with input 1, and
   the kdts LSTM of the same shapes for reference (kdts only, sequential).
   FLOPs: a training step is counted as 3x the forward (kdts_gru_flops x
   batch); the per-core FMA peak is measured in this run (bc_peak_gflops).
   Targets: teacher training step >= 5x PyTorch, student window forecast
   >= 100x. */
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
#include "bench_srv.h"

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

static void fill(float *p, size_t n, kdts_rng *r)
{
    size_t i;
    for (i = 0; i < n; ++i) p[i] = 2.0f * kdts_rng_uniform(r) - 1.0f;
}

/* ---- the kdts side ------------------------------------------------------ */

/* A GRU (and an LSTM of the same shape), their workspaces, Adam and one
   batch of data. */
typedef struct gctx {
    kdts_gru m;
    kdts_gru_ws ws, ws1, wsB;
    kdts_adam adam;
    kdts_lstm lm;
    kdts_lstm_ws lws, lws1;
    kdts_adam ladam;
    kdts_loss_config lc;
    kdts_rng r;
    float *x, *y, *out, *dout;
    int inner; /* window forecasts per timed sample */
} gctx;

static int ctx_init(gctx *k, const gconf *c)
{
    kdts_gru_config cfg;
    kdts_lstm_config lcfg;
    kdts_adam_config ac;
    size_t nx = (size_t)BB * BT * c->input, ny = (size_t)BB * BT * BH;
    memset(k, 0, sizeof *k);
    memset(&cfg, 0, sizeof cfg);
    memset(&lcfg, 0, sizeof lcfg);
    memset(&ac, 0, sizeof ac);
    cfg.input = lcfg.input = c->input;
    cfg.hidden = lcfg.hidden = c->hidden;
    cfg.layers = lcfg.layers = c->layers;
    cfg.horizon = lcfg.horizon = BH;
    if (kdts_gru_init(&k->m, &cfg, 7, NULL) != KDTS_OK || kdts_gru_ws_init(&k->ws, &cfg, BB, BT, 1, NULL) != KDTS_OK ||
        kdts_gru_ws_init(&k->ws1, &cfg, 1, BT, 0, NULL) != KDTS_OK ||
        kdts_gru_ws_init(&k->wsB, &cfg, BB, BT, 0, NULL) != KDTS_OK ||
        kdts_adam_init(&k->adam, &ac, k->m.nparams, NULL) != KDTS_OK)
        return 0;
    if (kdts_lstm_init(&k->lm, &lcfg, 7, NULL) != KDTS_OK ||
        kdts_lstm_ws_init(&k->lws, &lcfg, BB, BT, 1, NULL) != KDTS_OK ||
        kdts_lstm_ws_init(&k->lws1, &lcfg, 1, BT, 0, NULL) != KDTS_OK ||
        kdts_adam_init(&k->ladam, &ac, k->lm.nparams, NULL) != KDTS_OK)
        return 0;
    kdts_loss_config_from_model(&k->lc, &k->lm); /* point mode, horizon 24, every step */
    k->x = (float *)malloc(nx * 4);
    k->y = (float *)malloc(ny * 4);
    k->out = (float *)malloc(ny * 4);
    k->dout = (float *)malloc(ny * 4);
    if (!k->x || !k->y || !k->out || !k->dout) return 0;
    kdts_rng_seed(&k->r, 3);
    fill(k->x, nx, &k->r);
    fill(k->y, ny, &k->r);
    k->inner = c->hidden >= 64 ? 20 : 100;
    return 1;
}

static void ctx_free(gctx *k)
{
    free(k->x);
    free(k->y);
    free(k->out);
    free(k->dout);
    kdts_adam_free(&k->adam);
    kdts_adam_free(&k->ladam);
    kdts_gru_ws_free(&k->ws);
    kdts_gru_ws_free(&k->ws1);
    kdts_gru_ws_free(&k->wsB);
    kdts_lstm_ws_free(&k->lws);
    kdts_lstm_ws_free(&k->lws1);
    kdts_gru_free(&k->m);
    kdts_lstm_free(&k->lm);
}

/* What is timed: 0 train, 1 infer-1 (one window, per forecast), 2
   infer-32; 3, 4: the LSTM's train and infer-1. Seconds of one call. */
static double ctx_call(gctx *k, int what)
{
    kdts_loss_value lv;
    double t0 = bc_now();
    int j;
    switch (what) {
    case 0:
        kdts_gru_forward(&k->m, &k->ws, k->x, BB, BT, NULL, k->out, 1, &k->r, NULL);
        kdts_loss_eval(&k->lc, 1.0f, 0.0f, 0.0f, k->out, k->y, NULL, NULL, BB, BT, &lv, k->dout, NULL);
        kdts_gru_zero_grad(&k->m);
        kdts_gru_backward(&k->m, &k->ws, k->dout, NULL, NULL, NULL);
        kdts_adam_step(&k->adam, k->m.params, k->m.grads);
        break;
    case 1:
        for (j = 0; j < k->inner; ++j) kdts_gru_forecast(&k->m, &k->ws1, k->x, 1, BT, NULL, NULL, NULL);
        return (bc_now() - t0) / k->inner;
    case 2:
        kdts_gru_forecast(&k->m, &k->wsB, k->x, BB, BT, NULL, NULL, NULL);
        break;
    case 3:
        kdts_lstm_forward(&k->lm, &k->lws, k->x, BB, BT, NULL, NULL, k->out, 1, &k->r, NULL);
        kdts_loss_eval(&k->lc, 1.0f, 0.0f, 0.0f, k->out, k->y, NULL, NULL, BB, BT, &lv, k->dout, NULL);
        kdts_lstm_zero_grad(&k->lm);
        kdts_lstm_backward(&k->lm, &k->lws, k->dout, NULL, NULL, NULL, NULL);
        kdts_adam_step(&k->ladam, k->lm.params, k->lm.grads);
        break;
    default:
        for (j = 0; j < k->inner; ++j) kdts_lstm_forecast(&k->lm, &k->lws1, k->x, 1, BT, NULL, NULL, NULL, NULL);
        return (bc_now() - t0) / k->inner;
    }
    return bc_now() - t0;
}

/* n timed calls after warm untimed ones, into t */
static void ctx_times(gctx *k, int what, int n, int warm, double *t)
{
    int i;
    for (i = 0; i < warm; ++i) ctx_call(k, what);
    for (i = 0; i < n; ++i) t[i] = ctx_call(k, what);
}

/* ---- the PyTorch side --------------------------------------------------- */


/* The sequential way (tools/bench.c): the PyTorch script's own medians. */
static int torch_sequential(double res[NCONF][3])
{
    char line[512], cmd[160];
    FILE *p;
    int ok = 0;
    sprintf(cmd, "%sOMP_NUM_THREADS=1 /usr/bin/python3 tools/bench_gru_torch.py%s", bc_torch_env(),
            g_quick ? " --quick" : "");
    p = popen(cmd, "r");
    if (!p) return 0;
    while (fgets(line, sizeof line, p)) {
        char key[64], name[64];
        double v;
        int k;
        if (sscanf(line, "%63s %63s %lf", key, name, &v) != 3) continue;
        for (k = 0; k < NCONF; ++k)
            if (!strcmp(name, confs[k].name)) {
                if (!strcmp(key, "train")) res[k][0] = v, ok = 1;
                else if (!strcmp(key, "infer1")) res[k][1] = v;
                else if (!strcmp(key, "inferB")) res[k][2] = v;
            }
    }
    pclose(p);
    return ok;
}

/* ---- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const char *keys[3] = {"train", "infer1", "inferB"};
    int i, k, q, g, no_torch = 0, no_pin = 0, seq = 0, pinned = -1, torch_ok = 0;
    const char *isa = "n/a";
    double peak, kd[NCONF][5], th[NCONF][3];
    bc_srv srv;
    gctx ctx[NCONF];
    /* per measurement (train, infer-1, infer-32): timed calls per group
       for kdts and for PyTorch, untimed calls before each group */
    int groups, per[3] = {7, 5, 5}, warm[3] = {3, 2, 2}, tper[3] = {7, 10, 5};
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--no-torch")) no_torch = 1;
        else if (!strcmp(argv[i], "--quick")) g_quick = 1;
        else if (!strcmp(argv[i], "--no-pin")) no_pin = 1;
        else if (!strcmp(argv[i], "--sequential")) seq = 1;
        else {
            fprintf(stderr, "usage: bench_gru [--sequential] [--no-torch] [--quick] [--no-pin]\n");
            return 2;
        }
    }
    groups = g_quick ? 1 : 3;
    if (seq) {
        /* one group of all the calls (tools/bench.c) */
        for (q = 0; q < 3; ++q) per[q] *= groups;
        groups = 1;
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
    if (!no_torch && system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("PyTorch: not available (/usr/bin/python3 -c 'import torch' failed); no ratios\n");
        no_torch = 1;
    }
    if (!no_torch && !seq && !bc_srv_start(&srv, "tools/bench_gru_torch.py")) {
        printf("PyTorch: tools/bench_gru_torch.py --serve did not start; no ratios\n");
        no_torch = 1;
    }
    peak = bc_peak_gflops(&isa, g_quick);
    printf("kdts %s GRU bench, SIMD path %s, 1 thread", KDTS_VERSION_STRING, kdts_simd_name());
    if (pinned >= 0) printf(" pinned to CPU %d (PyTorch too)", pinned);
    if (peak > 0) printf("; measured per-core peak (%s loop) %.1f GFLOP/s\n", isa, peak);
    else printf("; FMA peak n/a\n");
    printf("lookback %d, batch %d, horizon %d point mode, per-step MSE on all steps; training step = forward + loss + "
           "BPTT + Adam\ninference: forecast of each window (GRU over all steps, head on the last)\n"
           "FLOPs: training step = 3 x forward (kdts_gru_flops x batch); medians; %s\n\n", BT, BB, BH,
           no_torch ? "kdts only"
           : seq    ? "kdts first, then PyTorch (sequential)"
                    : "kdts and PyTorch alternating in groups on the same CPU");
    for (k = 0; k < NCONF; ++k)
        if (!ctx_init(&ctx[k], &confs[k])) {
            printf("%s: setup failed\n", confs[k].name);
            return 1;
        }
    for (k = 0; k < NCONF; ++k) {
        for (q = 0; q < 3; ++q) {
            double tk[64], tt[64];
            int nk = 0, nt = 0;
            for (g = 0; g < groups; ++g) {
                ctx_times(&ctx[k], q, per[q], warm[q], tk + nk);
                nk += per[q];
                if (!no_torch && !seq) {
                    if (!bc_srv_times(&srv, keys[q], confs[k].name, tper[q], warm[q], tt + nt, tper[q])) {
                        printf("PyTorch server failed; no ratios\n");
                        bc_srv_stop(&srv);
                        no_torch = 1;
                    } else {
                        nt += tper[q];
                    }
                }
            }
            kd[k][q] = bc_median(tk, nk);
            if (nt) th[k][q] = bc_median(tt, nt);
        }
        /* the LSTM of the same shape, kdts only */
        for (q = 3; q < 5; ++q) {
            double tk[64];
            ctx_times(&ctx[k], q, groups * per[q - 3], warm[q - 3], tk);
            kd[k][q] = bc_median(tk, groups * per[q - 3]);
        }
    }
    if (!no_torch && !seq) bc_srv_stop(&srv);
    if (!no_torch && seq) torch_ok = torch_sequential(th);
    else torch_ok = !no_torch;
    printf("%-8s %-12s %10s %9s %8s %12s %12s   %s\n", "GRU", "shape", "train ms", "GFLOP/s", "of peak", "infer-1 ms",
           "infer-32 ms", "LSTM same shape: train ms, infer-1 ms");
    for (k = 0; k < NCONF; ++k) {
        char shape[32];
        double gf = 3.0 * kdts_gru_flops(&ctx[k].m.cfg, BT) * BB / kd[k][0] * 1e-9;
        sprintf(shape, "in %d, %dx%d", confs[k].input, confs[k].layers, confs[k].hidden);
        printf("%-8s %-12s %10.3f %9.1f ", confs[k].name, shape, kd[k][0] * 1e3, gf);
        if (peak > 0) printf("%7.1f%%", 100.0 * gf / peak);
        else printf("%8s", "n/a");
        printf(" %12.4f %12.3f   %.3f, %.4f\n", kd[k][1] * 1e3, kd[k][2] * 1e3, kd[k][3] * 1e3, kd[k][4] * 1e3);
    }
    for (k = 0; k < NCONF; ++k) ctx_free(&ctx[k]);
    if (!torch_ok) return 0;
    printf("\nPyTorch (torch.nn.GRU + nn.Linear, 1 thread, float32, Adam; %s): time and kdts speed-up\n",
           bc_torch_label());
    printf("%-8s %12s %8s %14s %8s %14s %8s\n", "GRU", "train ms", "x", "infer-1 ms", "x", "infer-32 ms", "x");
    for (k = 0; k < NCONF; ++k)
        printf("%-8s %12.3f %7.1fx %14.4f %7.1fx %14.3f %7.1fx\n", confs[k].name, th[k][0] * 1e3, th[k][0] / kd[k][0],
               th[k][1] * 1e3, th[k][1] / kd[k][1], th[k][2] * 1e3, th[k][2] / kd[k][2]);
    printf("targets: teacher training step >= 5x: %.2fx %s; student window forecast >= 100x: %.1fx %s\n",
           th[0][0] / kd[0][0], th[0][0] / kd[0][0] >= 5.0 ? "met" : "NOT met", th[1][1] / kd[1][1],
           th[1][1] / kd[1][1] >= 100.0 ? "met" : "NOT met");
    return 0;
}
