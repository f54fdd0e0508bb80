/* mpi_compare - the weights of two model files side by side (tests/mpi.sh):
       mpi_compare A.kdts B.kdts TOL
   prints "max |a - b| D (max |a| M, N parameters)" and exits 0 when both
   files hold the same architecture and D <= TOL, else 1. TOL 0 asks for
   the same bits. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

int main(int argc, char **argv)
{
    kdts_model a, b;
    kdts_error e;
    size_t i;
    double d = 0, big = 0, tol;
    if (argc != 4) {
        fprintf(stderr, "usage: mpi_compare A.kdts B.kdts TOL\n");
        return 2;
    }
    tol = atof(argv[3]);
    memset(&e, 0, sizeof e);
    if (kdts_model_load_file(&a, argv[1], &e) != KDTS_OK || kdts_model_load_file(&b, argv[2], &e) != KDTS_OK) {
        fprintf(stderr, "mpi_compare: %s\n", e.message);
        return 1;
    }
    if (a.nparams != b.nparams || memcmp(&a.arch, &b.arch, sizeof a.arch)) {
        printf("different architectures (%lu and %lu parameters)\n", (unsigned long)a.nparams,
               (unsigned long)b.nparams);
        return 1;
    }
    for (i = 0; i < a.nparams; ++i) {
        double x = fabs((double)a.params[i] - (double)b.params[i]);
        if (!(x <= d)) d = x; /* a NaN on either side stays */
        if (fabs(a.params[i]) > big) big = fabs(a.params[i]);
    }
    printf("max |a - b| %.3g (max |a| %.3g, %lu parameters)\n", d, big, (unsigned long)a.nparams);
    kdts_model_free(&a);
    kdts_model_free(&b);
    return d <= tol ? 0 : 1;
}
