/* bench_attn - speed of the causal self-attention model (>>attn) against
   PyTorch in the same run: training step and inference.

   usage: bench_attn [--no-torch] [--quick] [--no-pin] [--relu]

   Model: input 1, d_model 64, 2 blocks, 4 heads, ff 128, GELU (--relu:
   ReLU), final LayerNorm, lookback T 96, batch 32, horizon 24, point mode,
   per-step MSE on all steps. PyTorch (tools/bench_attn_torch.py, 1 thread,
   OPENBLAS_CORETYPE SkylakeX, Haswell on a CPU without AVX-512): nn.Linear + per block
   nn.TransformerEncoderLayer(norm_first, batch_first, dropout 0) with the
   position bias as a float causal mask + nn.LayerNorm + nn.Linear head,
   float32, Adam.

   Lines:
     train      one optimizer step of kdts_trainer_epoch on a batch of 32
                windows: forward + loss + backward + Adam, as kdts_train runs
                it (a chunk of windows at a time through forward, loss and
                backward: kdts_train_config.whole_batch) (median of 21)
     train, whole batch   the same step with whole_batch = 1: the forward of
                all 32 windows, then their loss, then their backward
     infer-1    forecast of one window: kdts_attn_forecast (batch path) and
                window inference on the inference state (kdts__attn_inf_window,
                the path kdts_infer uses; matrix-vector products)
     infer-32   forecast of 32 windows (kdts_attn_forecast)
     stream     one observation through the key/value cache
                (kdts__attn_inf_step, cache of 96 steps)
   Every line gives the median wall time and, since the machine may be
   shared, the median process CPU time of the same repetitions (PyTorch:
   time.process_time). The ratios come from a second phase in which kdts
   and PyTorch (tools/bench_attn_torch.py --serve, tools/bench_srv.h) run
   in alternating groups (7, --quick 3: 3 training steps, 9 x 20 one-window
   and 3 batch forecasts per side per group), so that a drift of the host's
   speed moves both sides alike; its medians are printed beside them.
   FLOPs: kdts_attn_flops per window; a training step counts 3x the
   forward (as tools/bench.c); inference kdts_attn_forecast_flops. The
   per-core peak is measured in this run by a loop of independent vector
   FMAs of the ISA kdts was compiled for, timed in CPU time like the rates
   it is compared with. On Linux without OpenMP the
   process (and the PyTorch run it starts) is pinned to the CPU it starts
   on (--no-pin: not). */
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
#include <time.h>
#include "bench_common.h"
#include "bench_srv.h"
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

static int g_quick;

/* CPU time of the process (all its threads). */
static double bc_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_gflops(const char **isa)
{
#if defined(__AVX512F__) && !defined(KDTS_NO_SIMD) && !defined(KDTS_NO_AVX512)
    double best = 0.0;
    int r;
    *isa = "AVX-512 FMA";
    for (r = 0; r < 5; ++r) {
        __m512 a0 = _mm512_set1_ps(0.10f), a1 = _mm512_set1_ps(0.11f), a2 = _mm512_set1_ps(0.12f);
        __m512 a3 = _mm512_set1_ps(0.13f), a4 = _mm512_set1_ps(0.14f), a5 = _mm512_set1_ps(0.15f);
        __m512 a6 = _mm512_set1_ps(0.16f), a7 = _mm512_set1_ps(0.17f), a8 = _mm512_set1_ps(0.18f);
        __m512 a9 = _mm512_set1_ps(0.19f), a10 = _mm512_set1_ps(0.20f), a11 = _mm512_set1_ps(0.21f);
        __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
        long i, n = 20000000;
        double t0 = bc_cpu(), t;
        float s[16];
        for (i = 0; i < n; ++i) {
            a0 = _mm512_fmadd_ps(a0, x, y); a1 = _mm512_fmadd_ps(a1, x, y); a2 = _mm512_fmadd_ps(a2, x, y);
            a3 = _mm512_fmadd_ps(a3, x, y); a4 = _mm512_fmadd_ps(a4, x, y); a5 = _mm512_fmadd_ps(a5, x, y);
            a6 = _mm512_fmadd_ps(a6, x, y); a7 = _mm512_fmadd_ps(a7, x, y); a8 = _mm512_fmadd_ps(a8, x, y);
            a9 = _mm512_fmadd_ps(a9, x, y); a10 = _mm512_fmadd_ps(a10, x, y); a11 = _mm512_fmadd_ps(a11, x, y);
            __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6),
                             "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
        }
        t = bc_cpu() - t0;
        a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
        a0 = _mm512_add_ps(a0, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
        _mm512_storeu_ps(s, a0);
        if (s[0] == 12345.0f) printf(" ");
        if (12.0 * 32.0 * n / t * 1e-9 > best) best = 12.0 * 32.0 * n / t * 1e-9;
        if (g_quick) break;
    }
    return best;
#elif defined(__AVX2__) && defined(__FMA__) && !defined(KDTS_NO_SIMD) && !defined(KDTS_NO_AVX2)
    double best = 0.0;
    int r;
    *isa = "AVX2 FMA";
    for (r = 0; r < 5; ++r) {
        __m256 a0 = _mm256_set1_ps(0.10f), a1 = _mm256_set1_ps(0.11f), a2 = _mm256_set1_ps(0.12f);
        __m256 a3 = _mm256_set1_ps(0.13f), a4 = _mm256_set1_ps(0.14f), a5 = _mm256_set1_ps(0.15f);
        __m256 a6 = _mm256_set1_ps(0.16f), a7 = _mm256_set1_ps(0.17f), a8 = _mm256_set1_ps(0.18f);
        __m256 a9 = _mm256_set1_ps(0.19f), a10 = _mm256_set1_ps(0.20f), a11 = _mm256_set1_ps(0.21f);
        __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
        long i, n = 20000000;
        double t0 = bc_cpu(), t;
        float s[8];
        for (i = 0; i < n; ++i) {
            a0 = _mm256_fmadd_ps(a0, x, y); a1 = _mm256_fmadd_ps(a1, x, y); a2 = _mm256_fmadd_ps(a2, x, y);
            a3 = _mm256_fmadd_ps(a3, x, y); a4 = _mm256_fmadd_ps(a4, x, y); a5 = _mm256_fmadd_ps(a5, x, y);
            a6 = _mm256_fmadd_ps(a6, x, y); a7 = _mm256_fmadd_ps(a7, x, y); a8 = _mm256_fmadd_ps(a8, x, y);
            a9 = _mm256_fmadd_ps(a9, x, y); a10 = _mm256_fmadd_ps(a10, x, y); a11 = _mm256_fmadd_ps(a11, x, y);
            __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6),
                             "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
        }
        t = bc_cpu() - t0;
        a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
        a0 = _mm256_add_ps(a0, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
        _mm256_storeu_ps(s, a0);
        if (s[0] == 12345.0f) printf(" ");
        if (12.0 * 16.0 * n / t * 1e-9 > best) best = 12.0 * 16.0 * n / t * 1e-9;
        if (g_quick) break;
    }
    return best;
#else
    *isa = "n/a";
    return 0.0;
#endif
}

#define BD 64
#define BL 2
#define BNH 4
#define BFF 128
#define BT 96
#define BB 32
#define BH 24

int main(int argc, char **argv)
{
    int i, j, no_torch = 0, no_pin = 0, relu = 0, pinned = -1, reps, warm = 3;
    const char *isa = "n/a";
    double peak, train_s[2], f1_s[2], w1_s[2], fB_s[2], st_s[2], fl, ffl;
    const kdts_attn *m; /* the first trainer's model: the inference lines run on its trained weights */
    kdts_attn_ws ws1, wsB;
    kdts__attn_inf st;
    kdts_rng r;
    kdts_net tn[2];
    kdts_net_config tnc;
    kdts_train_config tc;
    kdts_trainer tr[2];
    kdts_dataset td;
    double trw_s[2];
    float *x, *y, *mem, fc[BH * BB];
    size_t nx = (size_t)BB * BT, ny = (size_t)BB * BT * BH, q, nf;
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--no-torch")) no_torch = 1;
        else if (!strcmp(argv[i], "--quick")) g_quick = 1;
        else if (!strcmp(argv[i], "--no-pin")) no_pin = 1;
        else if (!strcmp(argv[i], "--relu")) relu = 1;
        else {
            fprintf(stderr, "usage: bench_attn [--no-torch] [--quick] [--no-pin] [--relu]\n");
            return 2;
        }
    }
#if defined(__linux__) && !defined(_OPENMP)
    if (!no_pin) {
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
    x = (float *)malloc(nx * 4);
    y = (float *)malloc(ny * 4);
    if (!x || !y) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    kdts_rng_seed(&r, 3);
    for (q = 0; q < nx; ++q) x[q] = 2.0f * kdts_rng_uniform(&r) - 1.0f;
    for (q = 0; q < ny; ++q) y[q] = 2.0f * kdts_rng_uniform(&r) - 1.0f;
    /* the model through the trainer: a data set of the batch's 32 windows,
       one step per epoch, epochs without end; [1] whole batch */
    memset(&tnc, 0, sizeof tnc);
    memset(&tc, 0, sizeof tc);
    tnc.kind = KDTS_KIND_ATTN;
    tnc.horizon = BH;
    tnc.d_model = BD;
    tnc.heads = BNH;
    tnc.ff = BFF;
    tnc.blocks = BL;
    tnc.activation = relu ? KDTS_ATTN_RELU : KDTS_ATTN_GELU;
    tnc.final_norm = 1;
    tnc.max_steps = BT;
    td.x = x;
    td.y = y;
    td.n = BB;
    td.T = BT;
    td.F = 1;
    td.h = BH;
    tc.epochs = 1 << 30;
    tc.batch = BB;
    tc.seed = 1;
    for (i = 0; i < 2; ++i) {
        tc.whole_batch = i;
        if (kdts_net_init(&tn[i], &tnc, 7, NULL) != KDTS_OK ||
            kdts_trainer_init(&tr[i], &tn[i], &tc, &td, NULL, NULL) != KDTS_OK) {
            fprintf(stderr, "trainer setup failed\n");
            return 1;
        }
    }
    m = &tn[0].k.attn;
    nf = kdts__attn_inf_floats(&m->cfg, BT, BT);
    mem = kdts__falloc(nf);
    if (!mem || kdts_attn_ws_init(&ws1, &m->cfg, 1, BT, 0, NULL) != KDTS_OK ||
        kdts_attn_ws_init(&wsB, &m->cfg, BB, BT, 0, NULL) != KDTS_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }

    peak = peak_gflops(&isa);
    fl = kdts_attn_flops(&m->cfg, BT);
    ffl = kdts_attn_forecast_flops(&m->cfg, BT);
    printf("kdts %s bench_attn, SIMD path %s", KDTS_VERSION_STRING, kdts_simd_name());
#ifdef _OPENMP
    printf(", OpenMP %d threads", omp_get_max_threads());
#else
    printf(", 1 thread");
#endif
    if (pinned >= 0) printf(" pinned to CPU %d (PyTorch too)", pinned);
    if (peak > 0) printf("; measured per-core peak (%s loop, CPU time) %.1f GFLOP/s\n", isa, peak);
    else printf("; FMA peak n/a\n");
    printf("model: input 1, d_model %d, %d blocks, %d heads, ff %d, %s, final norm, lookback %d, batch %d, horizon %d"
           " (%lu parameters)\nFLOPs: forward %.1f M per window, forecast %.1f M; training step = 3 x forward x batch\n\n",
           BD, BL, BNH, BFF, relu ? "ReLU" : "GELU", BT, BB, BH, (unsigned long)m->nparams, fl * 1e-6, ffl * 1e-6);

#define BTIME(res, nreps, ninner, body)                                                       \
    do {                                                                                       \
        double tw_[64], tc_[64];                                                               \
        for (i = 0; i < warm + (nreps); ++i) {                                                 \
            double w0_ = bc_now(), c0_ = bc_cpu();                                             \
            for (j = 0; j < (ninner); ++j) {                                                   \
                body;                                                                          \
            }                                                                                  \
            if (i >= warm) {                                                                   \
                tw_[i - warm] = (bc_now() - w0_) / (ninner);                                   \
                tc_[i - warm] = (bc_cpu() - c0_) / (ninner);                                   \
            }                                                                                  \
        }                                                                                      \
        (res)[0] = bc_median(tw_, (nreps));                                                    \
        (res)[1] = bc_median(tc_, (nreps));                                                    \
    } while (0)
    reps = g_quick ? 7 : 21;
    BTIME(train_s, reps, 1, kdts_trainer_epoch(&tr[0], NULL, NULL));
    BTIME(trw_s, reps, 1, kdts_trainer_epoch(&tr[1], NULL, NULL));
    /* inference state for the trained weights */
    if (kdts__attn_inf_init(&st, &m->cfg, m->params, BT, BT, mem, nf, NULL) != KDTS_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    reps = g_quick ? 7 : 15;
    BTIME(f1_s, reps, 20, kdts_attn_forecast(m, &ws1, x, 1, BT, fc, NULL));
    BTIME(w1_s, reps, 20, kdts__attn_inf_window(&st, x, BT, fc));
    BTIME(fB_s, reps, 1, kdts_attn_forecast(m, &wsB, x, BB, BT, fc, NULL));
    kdts__attn_inf_reset(&st);
    for (j = 0; j < BT; ++j) kdts__attn_inf_step(&st, x + j, fc); /* cache full */
    BTIME(st_s, reps, 200, kdts__attn_inf_step(&st, x + (j % BT), fc));
#undef BTIME

    printf("%-34s %10s %10s %9s %8s\n", "kdts", "wall ms", "CPU ms", "GFLOP/s", "of peak");
#define BLINE(name, sec, flops)                                                                  \
    do {                                                                                         \
        printf("%-34s %10.4f %10.4f %9.1f ", name, (sec)[0] * 1e3, (sec)[1] * 1e3,             \
               (flops) / (sec)[1] * 1e-9);                                                      \
        if (peak > 0) printf("%7.1f%%\n", 100.0 * (flops) / (sec)[1] * 1e-9 / peak);            \
        else printf("%8s\n", "n/a");                                                             \
    } while (0)
    BLINE("train step (B 32)", train_s, 3.0 * fl * BB);
    BLINE("train step, whole batch", trw_s, 3.0 * fl * BB);
    BLINE("infer-1 kdts_attn_forecast", f1_s, ffl);
    BLINE("infer-1 window, inference state", w1_s, ffl);
    BLINE("infer-32 kdts_attn_forecast", fB_s, ffl * BB);
    printf("%-34s %10.4f %10.4f   (cache of %d steps, per observation)\n", "stream step, inference state",
           st_s[0] * 1e3, st_s[1] * 1e3, BT);
    printf("(GFLOP/s and share of peak from the CPU time)\n");
    fflush(stdout);
    if (!no_torch && system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0) {
        /* kdts and PyTorch in alternating groups: per group a few kdts
           calls, then as many PyTorch calls; medians over all groups */
        static const char *keys[3] = {"train", "infer1", "inferB"};
        static const char *names[3] = {"train step (B 32)", "infer-1", "infer-32"};
        const int groups = g_quick ? 3 : 7, per[3] = {3, 9, 3};
        char args[160];
        bc_srv srv;
        double kw[3][64], kc[3][64], tw[3][64], tcp[3][64], tv[128], km[3][2], tm[3][2];
        int g, q, ok;
        sprintf(args, "tools/bench_attn_torch.py %d %d %d %d %s 1 %d %d %d", BD, BL, BNH, BFF, relu ? "relu" : "gelu",
                BT, BB, BH);
        ok = bc_srv_start(&srv, args);
        for (g = 0; ok && g < groups; ++g) {
            for (q = 0; ok && q < 3; ++q) {
                for (j = 0; j < per[q]; ++j) {
                    int n = g * per[q] + j, inner = q == 1 ? 20 : 1, u;
                    double w0 = bc_now(), c0 = bc_cpu();
                    for (u = 0; u < inner; ++u) {
                        if (q == 0) {
                            kdts_trainer_epoch(&tr[0], NULL, NULL);
                        } else {
                            kdts_attn_forecast(m, q == 1 ? &ws1 : &wsB, x, q == 1 ? 1 : BB, BT, fc, NULL);
                        }
                    }
                    kw[q][n] = (bc_now() - w0) / inner;
                    kc[q][n] = (bc_cpu() - c0) / inner;
                }
                ok = bc_srv_times(&srv, keys[q], "attn", per[q], g == 0 ? 3 : 1, tv, 2 * per[q]);
                for (j = 0; ok && j < per[q]; ++j) {
                    tw[q][g * per[q] + j] = tv[j];
                    tcp[q][g * per[q] + j] = tv[per[q] + j];
                }
            }
        }
        bc_srv_stop(&srv);
        if (ok) {
            for (q = 0; q < 3; ++q) {
                km[q][0] = bc_median(kw[q], groups * per[q]);
                km[q][1] = bc_median(kc[q], groups * per[q]);
                tm[q][0] = bc_median(tw[q], groups * per[q]);
                tm[q][1] = bc_median(tcp[q], groups * per[q]);
            }
            printf("\nPyTorch nn.TransformerEncoderLayer (1 thread, float32, Adam; %s) and kdts in %d alternating "
                   "groups\n(medians of %d, %d and %d calls each; kdts infer-1: kdts_attn_forecast): speed-up (wall; CPU)\n",
                   bc_torch_label(), groups, groups * per[0], groups * per[1], groups * per[2]);
            printf("%-20s %12s %12s %12s %12s\n", "", "PyTorch wall", "CPU ms", "kdts wall", "CPU ms");
            for (q = 0; q < 3; ++q)
                printf("%-20s %12.4f %12.4f %12.4f %12.4f   kdts %.2fx; %.2fx\n", names[q], tm[q][0] * 1e3,
                       tm[q][1] * 1e3, km[q][0] * 1e3, km[q][1] * 1e3, tm[q][0] / km[q][0], tm[q][1] / km[q][1]);
            printf("target: training step >= 3x PyTorch: %.2fx (wall) %s\n", tm[0][0] / km[0][0],
                   tm[0][0] / km[0][0] >= 3.0 ? "met" : "NOT met");
        } else {
            printf("\nPyTorch: tools/bench_attn_torch.py --serve failed; no ratios\n");
        }
    } else if (!no_torch) {
        printf("\nPyTorch: not available (/usr/bin/python3 -c 'import torch' failed); no ratios\n");
    }
    for (i = 0; i < 2; ++i) {
        kdts_trainer_free(&tr[i]);
        kdts_net_free(&tn[i]);
    }
    kdts__free_aligned(mem);
    free(x), free(y);
    kdts_attn_ws_free(&ws1), kdts_attn_ws_free(&wsB);
    return 0;
}
