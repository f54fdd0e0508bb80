/* bench_blas - kdts_gemm against OpenBLAS cblas_sgemm on the products the
   LSTM issues (single thread). Built and run by `make bench-blas` (links
   -lopenblas; not part of the default build), which sets
   OPENBLAS_CORETYPE=SkylakeX (Haswell on a CPU without AVX-512) and
   OPENBLAS_NUM_THREADS=1.

   usage: bench_blas [--quick]
   Prints GFLOP/s of both (median of 7 timed runs each, the two measured
   alternately per shape) and the ratio kdts / OpenBLAS, then the mean and
   the minimum ratio. */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "bench_common.h"
#include <cblas.h>

static void bc_blas_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A,
                lda, B, ldb, beta, C, ldc);
}

int main(int argc, char **argv)
{
    int k, quick = argc > 1 && !strcmp(argv[1], "--quick");
    double sum = 0.0, worst = 1e30, budget = quick ? 0.05 : 0.25;
    bc_init_shapes();
    printf("kdts_gemm (%s) vs OpenBLAS cblas_sgemm, 1 thread, GFLOP/s (C = op(A) op(B) [+ C]); TB = 96 x 32,\n"
           "R = rows of a backward block, L = large case (input 7, 2x128), S = student (1x16)\n",
           kdts_simd_name());
    printf("  %-30s %-2s %18s %9s %9s %7s\n", "product", "op", "M x N x K", "kdts", "OpenBLAS", "ratio");
    for (k = 0; k < BC_NSHAPES; ++k) {
        const bc_shape *s = &bc_shapes[k];
        double gk1 = bc_time_gemm(s, bc_kdts_gemm, budget / 2);
        double gb1 = bc_time_gemm(s, bc_blas_gemm, budget / 2);
        double gk2 = bc_time_gemm(s, bc_kdts_gemm, budget / 2);
        double gb2 = bc_time_gemm(s, bc_blas_gemm, budget / 2);
        double gk = gk1 > gk2 ? gk1 : gk2, gb = gb1 > gb2 ? gb1 : gb2, ratio = gk / gb;
        printf("  %-30s %c%c %5d x %4d x %4d %9.1f %9.1f %6.2fx\n", s->what, s->ta ? 'T' : 'N', s->tb ? 'T' : 'N',
               s->M, s->N, s->K, gk, gb, ratio);
        fflush(stdout);
        sum += ratio;
        if (ratio < worst) worst = ratio;
    }
    printf("mean ratio %.2fx, lowest %.2fx over %d LSTM-shaped products\n", sum / BC_NSHAPES, worst, BC_NSHAPES);
    return 0;
}
