/* bench - kdts speed: LSTM training steps, inference latency, GEMM on the
   products the LSTM issues, peak memory of training, and (when PyTorch
   imports with /usr/bin/python3) the same configurations in PyTorch.

   usage: bench [--no-torch] [--train-only] [--quick] [--no-pin]
     --no-torch    skip the PyTorch comparison (tools/bench_torch.py)
     --train-only  only the training-step lines (and, built with OpenMP and
                   run with more than one thread, the 1-thread/n-thread
                   comparison: `make bench-omp`)
     --quick       fewer repetitions
     --no-pin      on Linux without OpenMP, do not pin the process (and so
                   the PyTorch run it starts) to the CPU it starts on. The
                   cores of a shared virtual machine can differ in speed
                   for stretches of time; pinned, both sides of each ratio
                   run on the same one.

   FLOP counts: a forward pass is kdts_lstm_flops(cfg, T) per window; a
   training step (forward + backward through time) is counted as 3x the
   forward FLOPs (the backward pass does two products per forward product);
   the loss and Adam are not counted but are inside the measured time.
   Inference (infer-1: one window, infer-32: a batch of 32) is the forecast
   of each window: the LSTM over all steps and the head on the last one
   (kdts_lstm_forecast; tools/bench_torch.py does the same).
   Peak: the per-core FMA peak is measured in this run by a loop of
   independent vector FMAs of the ISA kdts was compiled for. */
#if defined(__linux__)
#define _GNU_SOURCE /* sched_setaffinity */
#include <sched.h>
#else
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/resource.h>

/* Counting allocator: kdts allocates only through these. */
static size_t bm_cur, bm_peak;
static void *bm_malloc(size_t n)
{
    unsigned char *p = (unsigned char *)malloc(n + 16);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    bm_cur += n;
    if (bm_cur > bm_peak) bm_peak = bm_cur;
    return p + 16;
}
static void bm_free(void *q)
{
    size_t n;
    unsigned char *p;
    if (!q) return;
    p = (unsigned char *)q - 16;
    memcpy(&n, p, sizeof n);
    bm_cur -= n;
    free(p);
}
static void *bm_realloc(void *q, size_t n)
{
    void *r = bm_malloc(n);
    size_t old;
    if (!r) return NULL;
    if (q) {
        memcpy(&old, (unsigned char *)q - 16, sizeof old);
        memcpy(r, q, old < n ? old : n);
        bm_free(q);
    }
    return r;
}
#define KDTS_MALLOC(sz) bm_malloc(sz)
#define KDTS_REALLOC(p, sz) bm_realloc((p), (sz))
#define KDTS_FREE(p) bm_free(p)
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "bench_common.h"
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

static int g_quick;

/* ---- per-core FMA peak ----------------------------------------------- */
static double peak_gflops(const char **isa)
{
#if defined(__AVX512F__) && !defined(KDTS_NO_SIMD) && !defined(KDTS_NO_AVX512)
    double best = 0.0;
    int r;
    *isa = "AVX-512 FMA";
    for (r = 0; r < 5; ++r) {
        /* distinct starting values and an empty asm that "modifies" every
           accumulator: the compiler can neither merge nor drop chains */
        __m512 a0 = _mm512_set1_ps(0.10f), a1 = _mm512_set1_ps(0.11f), a2 = _mm512_set1_ps(0.12f);
        __m512 a3 = _mm512_set1_ps(0.13f), a4 = _mm512_set1_ps(0.14f), a5 = _mm512_set1_ps(0.15f);
        __m512 a6 = _mm512_set1_ps(0.16f), a7 = _mm512_set1_ps(0.17f), a8 = _mm512_set1_ps(0.18f);
        __m512 a9 = _mm512_set1_ps(0.19f), a10 = _mm512_set1_ps(0.20f), a11 = _mm512_set1_ps(0.21f);
        __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
        long i, n = 20000000;
        double t0 = bc_now(), t;
        float s[16];
        for (i = 0; i < n; ++i) {
            a0 = _mm512_fmadd_ps(a0, x, y); a1 = _mm512_fmadd_ps(a1, x, y); a2 = _mm512_fmadd_ps(a2, x, y);
            a3 = _mm512_fmadd_ps(a3, x, y); a4 = _mm512_fmadd_ps(a4, x, y); a5 = _mm512_fmadd_ps(a5, x, y);
            a6 = _mm512_fmadd_ps(a6, x, y); a7 = _mm512_fmadd_ps(a7, x, y); a8 = _mm512_fmadd_ps(a8, x, y);
            a9 = _mm512_fmadd_ps(a9, x, y); a10 = _mm512_fmadd_ps(a10, x, y); a11 = _mm512_fmadd_ps(a11, x, y);
            __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6),
                             "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
        }
        t = bc_now() - t0;
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
        double t0 = bc_now(), t;
        float s[8];
        for (i = 0; i < n; ++i) {
            a0 = _mm256_fmadd_ps(a0, x, y); a1 = _mm256_fmadd_ps(a1, x, y); a2 = _mm256_fmadd_ps(a2, x, y);
            a3 = _mm256_fmadd_ps(a3, x, y); a4 = _mm256_fmadd_ps(a4, x, y); a5 = _mm256_fmadd_ps(a5, x, y);
            a6 = _mm256_fmadd_ps(a6, x, y); a7 = _mm256_fmadd_ps(a7, x, y); a8 = _mm256_fmadd_ps(a8, x, y);
            a9 = _mm256_fmadd_ps(a9, x, y); a10 = _mm256_fmadd_ps(a10, x, y); a11 = _mm256_fmadd_ps(a11, x, y);
            __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6),
                             "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
        }
        t = bc_now() - t0;
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

/* ---- LSTM configurations --------------------------------------------- */
typedef struct bconf {
    const char *name;
    int input, hidden, layers;
} bconf;

static const bconf confs[] = {
    {"teacher", 1, 64, 2},
    {"student", 1, 16, 1},
    {"large", 7, 128, 2},
};
#define NCONF 3
#define BT 96
#define BB 32
#define BH 24

typedef struct bres {
    double train_s, gflops, infer1_s, inferB_s;
} bres;

static void fill(float *p, size_t n, kdts_rng *r)
{
    size_t i;
    for (i = 0; i < n; ++i) p[i] = 2.0f * kdts_rng_uniform(r) - 1.0f;
}

/* A model, its workspaces, Adam and one batch of data for timing. */
typedef struct bctx {
    kdts_lstm m;
    kdts_lstm_ws ws, ws1, wsB;
    kdts_adam adam;
    kdts_loss_config lc;
    kdts_rng r;
    float *x, *y, *out, *dout;
} bctx;

static int ctx_init(bctx *k, const bconf *c)
{
    kdts_lstm_config cfg;
    kdts_adam_config ac;
    size_t nx = (size_t)BB * BT * c->input, ny = (size_t)BB * BT * BH;
    memset(k, 0, sizeof *k);
    memset(&cfg, 0, sizeof cfg);
    memset(&ac, 0, sizeof ac);
    cfg.input = c->input;
    cfg.hidden = c->hidden;
    cfg.layers = c->layers;
    cfg.horizon = BH;
    if (kdts_lstm_init(&k->m, &cfg, 7, NULL) != KDTS_OK) return 0;
    if (kdts_lstm_ws_init(&k->ws, &cfg, BB, BT, 1, NULL) != KDTS_OK) return 0;
    if (kdts_lstm_ws_init(&k->ws1, &cfg, 1, BT, 0, NULL) != KDTS_OK) return 0;
    if (kdts_lstm_ws_init(&k->wsB, &cfg, BB, BT, 0, NULL) != KDTS_OK) return 0;
    if (kdts_adam_init(&k->adam, &ac, k->m.nparams, NULL) != KDTS_OK) return 0;
    kdts_loss_config_from_model(&k->lc, &k->m);
    k->x = (float *)malloc(nx * 4);
    k->y = (float *)malloc(ny * 4);
    k->out = (float *)malloc(ny * 4);
    k->dout = (float *)malloc(ny * 4);
    if (!k->x || !k->y || !k->out || !k->dout) return 0;
    kdts_rng_seed(&k->r, 3);
    fill(k->x, nx, &k->r);
    fill(k->y, ny, &k->r);
    return 1;
}

static void ctx_free(bctx *k)
{
    free(k->x);
    free(k->y);
    free(k->out);
    free(k->dout);
    kdts_adam_free(&k->adam);
    kdts_lstm_ws_free(&k->ws);
    kdts_lstm_ws_free(&k->ws1);
    kdts_lstm_ws_free(&k->wsB);
    kdts_lstm_free(&k->m);
}

/* One training step: forward + per-step MSE + backward + Adam; seconds. */
static double ctx_step(bctx *k)
{
    kdts_loss_value lv;
    double t0 = bc_now();
    kdts_lstm_forward(&k->m, &k->ws, k->x, BB, BT, NULL, NULL, k->out, 1, &k->r, NULL);
    kdts_loss_eval(&k->lc, 1.0f, 0.0f, 0.0f, k->out, k->y, NULL, NULL, BB, BT, &lv, k->dout, NULL);
    kdts_lstm_zero_grad(&k->m);
    kdts_lstm_backward(&k->m, &k->ws, k->dout, NULL, NULL, NULL, NULL);
    kdts_adam_step(&k->adam, k->m.params, k->m.grads);
    return bc_now() - t0;
}

#ifdef _OPENMP
/* Training steps with 1 thread and with n threads, alternating in groups
   of 7 timed steps (so both see the same machine over the run, each group
   after 3 untimed steps), for the teacher and the large case: medians and
   the speed-up. */
static void bench_threads(int n)
{
    static const int which[] = {0, 2};
    size_t q;
    printf("\nOpenMP: training step with 1 and %d threads, alternating in groups of 7 (median of %d each)\n", n,
           g_quick ? 7 : 21);
    printf("(speed-up: against the 1-thread steps; vs fastest: against the fastest of the 1-thread steps run on\n"
           "each thread of the team in turn, the last column; unequal cores bound the speed-up)\n");
    printf("%-8s %-14s %10s %10s %9s %10s   %s\n", "model", "shape", "1 thr ms", "n thr ms", "speed-up",
           "vs fastest", "1 thr ms on each team thread");
    for (q = 0; q < sizeof which / sizeof which[0]; ++q) {
        const bconf *c = &confs[which[q]];
        bctx k;
        double t1[64], tn[64], tp[7], per[16], m1, mn, fast;
        char shape[32];
        int i, nper, reps = g_quick ? 7 : 21;
        if (!ctx_init(&k, c)) {
            printf("%s: setup failed\n", c->name);
            return;
        }
        for (i = 0; i < reps; i += 7) {
            /* 7 steps with one thread, then 7 with n, each after 3 untimed
               steps (the batch's data back in the caches the mode uses) */
            int j;
            omp_set_num_threads(1);
            for (j = -3; j < 7; ++j) {
                double a = ctx_step(&k);
                if (j >= 0) t1[i + j] = a;
            }
            omp_set_num_threads(n);
            for (j = -3; j < 7; ++j) {
                double b = ctx_step(&k);
                if (j >= 0) tn[i + j] = b;
            }
        }
        m1 = bc_median(t1, reps);
        mn = bc_median(tn, reps);
        /* the one-thread step on each thread of the team in turn (the
           others wait): unequal cores (a busy host) bound the speed-up */
        nper = n < 16 ? n : 16;
#pragma omp parallel num_threads(nper)
        {
            int me = omp_get_thread_num(), w, j;
#pragma omp single
            nper = omp_get_num_threads(); /* the team may be smaller */
            for (w = 0; w < nper; ++w) {
#pragma omp barrier
                if (me == w) {
                    for (j = -3; j < 7; ++j) {
                        double a = ctx_step(&k);
                        if (j >= 0) tp[j] = a;
                    }
                    per[w] = bc_median(tp, 7);
                }
            }
        }
        for (i = 1, fast = per[0]; i < nper; ++i)
            if (per[i] < fast) fast = per[i];
        sprintf(shape, "in %d, %dx%d", c->input, c->layers, c->hidden);
        printf("%-8s %-14s %10.3f %10.3f %8.2fx %9.2fx   ", c->name, shape, m1 * 1e3, mn * 1e3, m1 / mn, fast / mn);
        for (i = 0; i < nper; ++i) printf("%s%.3f", i ? " / " : "", per[i] * 1e3);
        printf("\n");
        ctx_free(&k);
    }
}
#endif

static int bench_conf(const bconf *c, bres *res, int train_only)
{
    bctx k;
    double t[64], t0;
    int i, reps, warm = 3;
    if (!ctx_init(&k, c)) return 0;
    reps = g_quick ? 7 : 21;
    for (i = 0; i < warm + reps; ++i) {
        double s = ctx_step(&k);
        if (i >= warm) t[i - warm] = s;
    }
    res->train_s = bc_median(t, reps);
    res->gflops = 3.0 * kdts_lstm_flops(&k.m.cfg, BT) * BB / res->train_s * 1e-9;
    if (!train_only) {
        /* one window, pre-allocated batch-1 workspace */
        int inner = c->hidden >= 64 ? 20 : 100, j;
        reps = g_quick ? 7 : 15;
        for (i = 0; i < warm + reps; ++i) {
            t0 = bc_now();
            for (j = 0; j < inner; ++j) kdts_lstm_forecast(&k.m, &k.ws1, k.x, 1, BT, NULL, NULL, NULL, NULL);
            if (i >= warm) t[i - warm] = (bc_now() - t0) / inner;
        }
        res->infer1_s = bc_median(t, reps);
        for (i = 0; i < warm + reps; ++i) {
            t0 = bc_now();
            kdts_lstm_forecast(&k.m, &k.wsB, k.x, BB, BT, NULL, NULL, NULL, NULL);
            if (i >= warm) t[i - warm] = bc_now() - t0;
        }
        res->inferB_s = bc_median(t, reps);
    }
    ctx_free(&k);
    return 1;
}

/* ---- memory of training the teacher on ETTh1-sized data -------------- */
static long rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void bench_memory(void)
{
    kdts_lstm_config cfg;
    kdts_lstm m;
    kdts_train_config tc;
    kdts_dataset d;
    kdts_train_report rep;
    int n = 8500, T = BT, h = BH, i, t, j, H = 64, L = 2, F = 1;
    float *x, *y, *s;
    size_t before, expect_f, act_f, nrows = (size_t)n + T + h;
    long rss0;
    double t0;
    memset(&cfg, 0, sizeof cfg);
    memset(&tc, 0, sizeof tc);
    cfg.input = F;
    cfg.hidden = H;
    cfg.layers = L;
    cfg.horizon = h;
    s = (float *)malloc(nrows * 4);
    x = (float *)malloc((size_t)n * T * F * 4);
    y = (float *)malloc((size_t)n * T * h * 4);
    for (i = 0; i < (int)nrows; ++i) s[i] = (float)sin(i * 0.2618) + 0.1f * (float)sin(i * 0.031);
    for (i = 0; i < n; ++i)
        for (t = 0; t < T; ++t) {
            x[((size_t)i * T + t) * F] = s[i + t];
            for (j = 0; j < h; ++j) y[((size_t)i * T + t) * h + j] = s[i + t + 1 + j];
        }
    rss0 = rss_kb();
    before = bm_cur;
    bm_peak = bm_cur;
    kdts_lstm_init(&m, &cfg, 1, NULL);
    d.x = x;
    d.y = y;
    d.n = n;
    d.T = T;
    d.F = F;
    d.h = h;
    tc.epochs = 1;
    tc.batch = BB;
    t0 = bc_now();
    kdts_train(&m, &tc, &d, NULL, NULL, 0, &rep, NULL);
    t0 = bc_now() - t0;
    /* params + grads + Adam m and v, and what one batch's forward keeps for
       backward: per layer gates (T,B,4H), c and h (T+1,B,H), tanh(c) (T,B,H);
       the layer-0 input (T,B,F) and the head outputs (T,B,O) */
    act_f = (size_t)L * ((size_t)T * BB * 4 * H + 2 * (size_t)(T + 1) * BB * H + (size_t)T * BB * H) +
            (size_t)T * BB * F + (size_t)T * BB * h;
    expect_f = 4 * m.nparams + act_f;
    printf("\nmemory: training the teacher (2x64) on ETTh1-sized data: %d windows x %d steps, batch %d, 1 epoch "
           "(%.1f s)\n", n, T, BB, t0);
    printf("  params+grads+Adam m,v   %9.2f MB  (%lu parameters x 4 buffers)\n", 4.0 * 4 * m.nparams / 1e6,
           (unsigned long)m.nparams);
    printf("  activations, one batch  %9.2f MB\n", 4.0 * act_f / 1e6);
    printf("  sum                     %9.2f MB\n", 4.0 * expect_f / 1e6);
    printf("  measured peak (KDTS_MALLOC bytes live) %9.2f MB  = %.2fx the sum\n", (bm_peak - before) / 1e6,
           (double)(bm_peak - before) / (4.0 * expect_f));
    printf("  measured ru_maxrss growth              %9.2f MB  (dataset %.1f MB allocated before, not counted)\n",
           (rss_kb() - rss0) / 1e3, ((double)n * T * (F + h) * 4) / 1e6);
    kdts_lstm_free(&m);
    free(s);
    free(x);
    free(y);
}

/* ---- PyTorch ----------------------------------------------------------- */
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
    sprintf(line, "%sOMP_NUM_THREADS=1 /usr/bin/python3 tools/bench_torch.py", bc_torch_env());
    p = popen(line, "r");
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
    int i, no_torch = 0, train_only = 0, no_pin = 0, pinned = -1, k;
    const char *isa = "n/a";
    double peak;
    bres res[NCONF];
    tres tr;
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--no-torch")) no_torch = 1;
        else if (!strcmp(argv[i], "--train-only")) train_only = 1;
        else if (!strcmp(argv[i], "--quick")) g_quick = 1;
        else if (!strcmp(argv[i], "--no-pin")) no_pin = 1;
        else {
            fprintf(stderr, "usage: bench [--no-torch] [--train-only] [--quick] [--no-pin]\n");
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
    peak = peak_gflops(&isa);
    printf("kdts %s bench, SIMD path %s", KDTS_VERSION_STRING, kdts_simd_name());
#ifdef _OPENMP
    printf(", OpenMP %d threads", omp_get_max_threads());
#else
    printf(", 1 thread");
#endif
    if (pinned >= 0) printf(" pinned to CPU %d (PyTorch too)", pinned);
    if (peak > 0) printf("; measured per-core peak (%s loop) %.1f GFLOP/s\n", isa, peak);
    else printf("; FMA peak n/a\n");
    printf("lookback %d, batch %d, horizon %d point mode, per-step MSE on all steps; training step = forward + "
           "loss + BPTT + Adam (median)\ninference: forecast of each window (LSTM over all steps, head on the last)\n"
           "FLOPs: training step = 3 x forward (kdts_lstm_flops x batch)\n\n",
           BT, BB, BH);
    printf("%-8s %-14s %10s %9s %8s %12s %12s\n", "model", "shape", "train ms", "GFLOP/s", "of peak", "infer-1 ms",
           "infer-32 ms");
    for (k = 0; k < NCONF; ++k) {
        char shape[32];
        memset(&res[k], 0, sizeof res[k]);
        if (!bench_conf(&confs[k], &res[k], train_only)) {
            printf("%s: setup failed\n", confs[k].name);
            return 1;
        }
        sprintf(shape, "in %d, %dx%d", confs[k].input, confs[k].layers, confs[k].hidden);
        printf("%-8s %-14s %10.3f %9.1f ", confs[k].name, shape, res[k].train_s * 1e3, res[k].gflops);
        if (peak > 0) printf("%7.1f%%", 100.0 * res[k].gflops / peak);
        else printf("%8s", "n/a");
        if (!train_only) printf(" %12.4f %12.3f", res[k].infer1_s * 1e3, res[k].inferB_s * 1e3);
        printf("\n");
        fflush(stdout);
    }
#ifdef _OPENMP
    if (omp_get_max_threads() > 1) bench_threads(omp_get_max_threads());
#endif
    if (train_only) return 0;
    bc_init_shapes();
    printf("\nGEMM (kdts_gemm, C = op(A) op(B) [+ C], the products a training step issues; TB = 96 x 32; "
           "R = rows of a backward block; L = large case, S = student)\n");
    for (k = 0; k < BC_NSHAPES; ++k) {
        const bc_shape *s = &bc_shapes[k];
        double g = bc_time_gemm(s, bc_kdts_gemm, g_quick ? 0.05 : 0.2);
        printf("  %-30s %c%c %5d x %4d x %4d  %7.1f GFLOP/s", s->what, s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->M,
               s->N, s->K, g);
        if (peak > 0) printf("  %5.1f%% of peak", 100.0 * g / peak);
        printf("\n");
        fflush(stdout);
    }
    bench_memory();
    if (no_torch) return 0;
    run_torch(&tr);
    if (!tr.ok) {
        printf("\nPyTorch: not available (/usr/bin/python3 -c 'import torch' failed); no ratios\n");
        return 0;
    }
    printf("\nPyTorch (torch.nn.LSTM + nn.Linear, 1 thread, float32, Adam; %s): time and kdts speed-up\n",
           bc_torch_label());
    printf("%-8s %12s %8s %14s %8s %14s %8s\n", "model", "train ms", "x", "infer-1 ms", "x", "infer-32 ms", "x");
    for (k = 0; k < NCONF; ++k) {
        printf("%-8s %12.3f %7.1fx %14.4f %7.1fx %14.3f %7.1fx\n", confs[k].name, tr.train_s[k] * 1e3,
               tr.train_s[k] / res[k].train_s, tr.infer1_s[k] * 1e3, tr.infer1_s[k] / res[k].infer1_s,
               tr.inferB_s[k] * 1e3, tr.inferB_s[k] / res[k].inferB_s);
    }
    return 0;
}
