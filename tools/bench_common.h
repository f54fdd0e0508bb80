/* bench_common.h - timing helpers and the LSTM-shaped GEMM list shared by
   tools/bench.c and tools/bench_blas.c (include after kdts.h). */
#ifndef KDTS_BENCH_COMMON_H
#define KDTS_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double bc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The OpenBLAS kernel set for the PyTorch reference runs: SkylakeX
   (AVX-512) where the CPU has AVX-512F, Haswell (AVX2 + FMA) where it has
   only AVX2 (SkylakeX kernels stop there with an illegal instruction); an
   OPENBLAS_CORETYPE already in the environment (letters and digits) is kept;
   "" leaves OpenBLAS to choose. bc_torch_env: the same as an assignment
   that starts a shell command ("OPENBLAS_CORETYPE=SkylakeX ", or ""). */
static KDTS__UNUSED const char *bc_torch_coretype(void)
{
    const char *e = getenv("OPENBLAS_CORETYPE");
    size_t i;
    if (e && *e && strlen(e) < 32) {
        for (i = 0; e[i]; ++i)
            if (!((e[i] >= 'A' && e[i] <= 'Z') || (e[i] >= 'a' && e[i] <= 'z') || (e[i] >= '0' && e[i] <= '9'))) break;
        if (!e[i]) return e;
    }
#if defined(__GNUC__) && !defined(__TINYC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
    return "";
}

static KDTS__UNUSED const char *bc_torch_env(void)
{
    static char env[64];
    const char *c = bc_torch_coretype();
    if (!*c) return "";
    sprintf(env, "OPENBLAS_CORETYPE=%s ", c);
    return env;
}

/* "OPENBLAS_CORETYPE=X" for the benchmarks' headings */
static KDTS__UNUSED const char *bc_torch_label(void)
{
    static char lab[64];
    const char *c = bc_torch_coretype();
    if (!*c) return "OpenBLAS's own kernel choice";
    sprintf(lab, "OPENBLAS_CORETYPE=%s", c);
    return lab;
}

static int bc_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bc_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bc_cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One GEMM product as the LSTM issues it: C (M,N) = op(A) op(B) (+ C). */
typedef struct bc_shape {
    const char *what;
    int ta, tb, M, N, K;
    float beta;
} bc_shape;

/* The products one training step issues for the teacher (2x64, input 1),
   the large case (input 7, 2x128) and the student (1x16, input 1); batch
   32, lookback 96, horizon 24. TB = 3072 rows of time x batch; R = the
   rows of one block of the backward (kdts__bwd_block steps x 32), over
   which the weight and input gradients are taken. At each step the
   forward multiplies x_t and h_{t-1} by packed W_ih^T and W_hh^T (one
   shape when the input is as wide as H; an input up to 8 wide goes by a
   direct loop, not a GEMM). */
#define BC_NSHAPES 19
static bc_shape bc_shapes[BC_NSHAPES];

static KDTS__UNUSED void bc_init_shapes(void)
{
    int R = kdts__bwd_block(32, 64, 96) * 32, RL = kdts__bwd_block(32, 128, 96) * 32;
    int RS = kdts__bwd_block(32, 16, 96) * 32, k = 0;
#define BC_SH(w, a, b, m, n, kk, be)                                                          \
    do {                                                                                      \
        bc_shape s_;                                                                          \
        s_.what = (w); s_.ta = (a); s_.tb = (b); s_.M = (m); s_.N = (n); s_.K = (kk); s_.beta = (be); \
        bc_shapes[k++] = s_;                                                                  \
    } while (0)
    BC_SH("fwd step x,h    (B x 4H x H)", 0, 1, 32, 256, 64, 1.0f);
    BC_SH("fwd head        (TB x O x H)", 0, 1, 3072, 24, 64, 1.0f);
    BC_SH("bwd recurrent   (B x H x 4H)", 0, 0, 32, 64, 256, 1.0f);
    BC_SH("bwd dW_hh,dW_ih (4H x H x R)", 1, 0, 256, 64, R, 1.0f);
    BC_SH("bwd dX          (R x H x 4H)", 0, 0, R, 64, 256, 0.0f);
    BC_SH("bwd head dW     (O x H x TB)", 1, 0, 24, 64, 3072, 1.0f);
    BC_SH("bwd head dH     (TB x H x O)", 0, 0, 3072, 64, 24, 0.0f);
    BC_SH("L fwd step x,h  (B x 4H x H)", 0, 1, 32, 512, 128, 1.0f);
    BC_SH("L fwd head      (TB x O x H)", 0, 1, 3072, 24, 128, 1.0f);
    BC_SH("L bwd recurrent (B x H x 4H)", 0, 0, 32, 128, 512, 1.0f);
    BC_SH("L bwd dW        (4H x H x R)", 1, 0, 512, 128, RL, 1.0f);
    BC_SH("L bwd dX        (R x H x 4H)", 0, 0, RL, 128, 512, 0.0f);
    BC_SH("L bwd dW_ih in7 (4H x F x R)", 1, 0, 512, 7, RL, 1.0f);
    BC_SH("S fwd step h    (B x 4H x H)", 0, 1, 32, 64, 16, 1.0f);
    BC_SH("S fwd head      (TB x O x H)", 0, 1, 3072, 24, 16, 1.0f);
    BC_SH("S bwd recurrent (B x H x 4H)", 0, 0, 32, 16, 64, 1.0f);
    BC_SH("S bwd dW_hh     (4H x H x R)", 1, 0, 64, 16, RS, 1.0f);
    BC_SH("S bwd head dW   (O x H x TB)", 1, 0, 24, 16, 3072, 1.0f);
    BC_SH("S bwd head dH   (TB x H x O)", 0, 0, 3072, 16, 24, 0.0f);
#undef BC_SH
    (void)k;
}

typedef void (*bc_gemm_fn)(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                           int ldb, float beta, float *C, int ldc);

/* Median GFLOP/s of fn on shape s: ~reps_s seconds split in 7 timed runs. */
static KDTS__UNUSED double bc_time_gemm(const bc_shape *s, bc_gemm_fn fn, double budget_s)
{
    int M = s->M, N = s->N, K = s->K, lda = s->ta ? M : K, ldb = s->tb ? K : N, i, r, reps;
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N, q;
    float *A = (float *)malloc(na * 4), *B = (float *)malloc(nb * 4), *C = (float *)malloc(nc * 4);
    double t[7], t0, one, flops = 2.0 * M * N * K;
    for (q = 0; q < na; ++q) A[q] = (float)((q * 7 % 13) - 6) * 0.05f;
    for (q = 0; q < nb; ++q) B[q] = (float)((q * 5 % 11) - 5) * 0.05f;
    for (q = 0; q < nc; ++q) C[q] = 0.0f;
    fn(s->ta, s->tb, M, N, K, A, lda, B, ldb, s->beta, C, N); /* warm up */
    t0 = bc_now();
    fn(s->ta, s->tb, M, N, K, A, lda, B, ldb, s->beta, C, N);
    one = bc_now() - t0;
    reps = (int)(budget_s / 7.0 / (one > 1e-7 ? one : 1e-7));
    if (reps < 1) reps = 1;
    if (reps > 100000) reps = 100000;
    for (r = 0; r < 7; ++r) {
        t0 = bc_now();
        for (i = 0; i < reps; ++i) fn(s->ta, s->tb, M, N, K, A, lda, B, ldb, s->beta, C, N);
        t[r] = (bc_now() - t0) / reps;
    }
    free(A);
    free(B);
    free(C);
    return flops / bc_median(t, 7) * 1e-9;
}

static KDTS__UNUSED void bc_kdts_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
    kdts_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc, NULL);
}

/* Per-core FMA peak in GFLOP/s, measured by a loop of 12 independent vector
   FMA chains of the ISA kdts was compiled for (best of 5 runs, 1 when
   quick); *isa names it. 0 when the build has no FMA vectors. The same
   loop as tools/bench.c's. */
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
static KDTS__UNUSED double bc_peak_gflops(const char **isa, int quick)
{
#if defined(__AVX512F__) && !defined(KDTS_NO_SIMD) && !defined(KDTS_NO_AVX512)
#define BC_PV __m512
#define BC_PSET _mm512_set1_ps
#define BC_PFMA _mm512_fmadd_ps
#define BC_PADD _mm512_add_ps
#define BC_PST _mm512_storeu_ps
#define BC_PLANES 16
#define BC_PCON "+v"
    *isa = "AVX-512 FMA";
#elif defined(__AVX2__) && defined(__FMA__) && !defined(KDTS_NO_SIMD) && !defined(KDTS_NO_AVX2)
#define BC_PV __m256
#define BC_PSET _mm256_set1_ps
#define BC_PFMA _mm256_fmadd_ps
#define BC_PADD _mm256_add_ps
#define BC_PST _mm256_storeu_ps
#define BC_PLANES 8
#define BC_PCON "+x"
    *isa = "AVX2 FMA";
#endif
#ifdef BC_PV
    double best = 0.0;
    int r;
    for (r = 0; r < 5; ++r) {
        /* distinct starting values and an empty asm that "modifies" every
           accumulator: the compiler can neither merge nor drop chains */
        BC_PV a0 = BC_PSET(0.10f), a1 = BC_PSET(0.11f), a2 = BC_PSET(0.12f), a3 = BC_PSET(0.13f);
        BC_PV a4 = BC_PSET(0.14f), a5 = BC_PSET(0.15f), a6 = BC_PSET(0.16f), a7 = BC_PSET(0.17f);
        BC_PV a8 = BC_PSET(0.18f), a9 = BC_PSET(0.19f), a10 = BC_PSET(0.20f), a11 = BC_PSET(0.21f);
        BC_PV x = BC_PSET(0.999999f), y = BC_PSET(1e-7f);
        long i, n = 20000000;
        double t0 = bc_now(), t;
        float s[BC_PLANES];
        for (i = 0; i < n; ++i) {
            a0 = BC_PFMA(a0, x, y); a1 = BC_PFMA(a1, x, y); a2 = BC_PFMA(a2, x, y);
            a3 = BC_PFMA(a3, x, y); a4 = BC_PFMA(a4, x, y); a5 = BC_PFMA(a5, x, y);
            a6 = BC_PFMA(a6, x, y); a7 = BC_PFMA(a7, x, y); a8 = BC_PFMA(a8, x, y);
            a9 = BC_PFMA(a9, x, y); a10 = BC_PFMA(a10, x, y); a11 = BC_PFMA(a11, x, y);
            __asm__ volatile("" : BC_PCON(a0), BC_PCON(a1), BC_PCON(a2), BC_PCON(a3), BC_PCON(a4), BC_PCON(a5),
                             BC_PCON(a6), BC_PCON(a7), BC_PCON(a8), BC_PCON(a9), BC_PCON(a10), BC_PCON(a11));
        }
        t = bc_now() - t0;
        a0 = BC_PADD(BC_PADD(BC_PADD(a0, a1), BC_PADD(a2, a3)), BC_PADD(BC_PADD(a4, a5), BC_PADD(a6, a7)));
        a0 = BC_PADD(a0, BC_PADD(BC_PADD(a8, a9), BC_PADD(a10, a11)));
        BC_PST(s, a0);
        if (s[0] == 12345.0f) printf(" ");
        if (12.0 * 2.0 * BC_PLANES * n / t * 1e-9 > best) best = 12.0 * 2.0 * BC_PLANES * n / t * 1e-9;
        if (quick) break;
    }
    return best;
#undef BC_PV
#undef BC_PSET
#undef BC_PFMA
#undef BC_PADD
#undef BC_PST
#undef BC_PLANES
#undef BC_PCON
#else
    (void)quick;
    *isa = "n/a";
    return 0.0;
#endif
}

#endif
