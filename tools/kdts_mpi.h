/* kdts_mpi.h - the MPI layer of build/kdts-mpi (tools/kdts.c compiled with
   -DKDTS_MPI by `make MPI=1`; kdts.h itself knows nothing of MPI).

   train and distill run data-parallel: every rank loads the same data,
   starts from rank 0's weights and shuffles with the same seed; each rank
   computes the gradient of its share of every global batch
   (kdts_train_config.shard_index/shard_count), the on_grad hook sums the
   shares with MPI_Allreduce, and every rank takes the same clipped Adam
   step, validates the same weights and takes the same early-stopping
   decisions. Rank 0 writes the model (atomically, as kdts does) and prints
   the progress; the other ranks' stdout and stderr go to /dev/null
   (KDTS_MPI_VERBOSE=1 keeps them).

   train --ensemble: each rank trains a teacher of its own (seed + rank, no
   gradient exchange) and writes --out with %d replaced by rank + 1.
   distill: teacher k's soft targets are computed on rank k % N and
   broadcast; every rank averages them in teacher order, as one process
   does.

   Failures. Outside training every collective status exchange is the
   same small MPI_Allreduce (par_exchange); while training every exchange
   starts with the step exchange, one MPI_Allreduce of the gradient with
   flags behind it (par_step_exchange). So a rank that fails anywhere (a
   bad flag, a file it cannot read or write, a library error) meets the
   other ranks at their next exchange - the setup checkpoint, the next
   step's gradient hook, the epoch's end, the final checkpoint - and all
   ranks stop there; rank 0 prints the failing rank's message once, and
   all exit with its status.
   A non-finite loss or gradient on any rank stops every rank at the same
   step through the library's own path (KDTS_ERR_NONFINITE): rank 0 writes
   the last good weights, as kdts does. At each epoch's end a checksum of
   the weights is compared across ranks (they must be equal bit for bit).

   KDTS_MPI_FAULT=nan:R:S (tests only): rank R's gradient at step S
   (1-based) is made non-finite; fail:R:S: rank R fails there as on a
   library error (it stops, the others learn it at that step). */
#ifndef KDTS_MPI_LAYER_H
#define KDTS_MPI_LAYER_H
#include <mpi.h>
#include <limits.h>
#include <fcntl.h>

static int g_rank, g_size = 1, g_ensemble, g_mpi_up, g_training;
static int g_agreed_stop;            /* the interrupt flag of the last exchange */
static const kdts_net *g_net;        /* the weights checked at each epoch's end */
static long long g_step;             /* gradient hook calls */
static int g_fault_rank = -1, g_fault_fail;
static long long g_fault_step = -1;
static float *g_buf;                 /* gradient + the step's flags */
static double *g_sums;               /* the ranks' validation sums */


static int par_end(int code);
static void par_atexit(void) { par_end(0); }

static void par_init(int *argc, char ***argv)
{
    const char *f = getenv("KDTS_MPI_FAULT");
    MPI_Init(argc, argv);
    g_mpi_up = 1;
    atexit(par_atexit); /* exit() after --help or a checked write */
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (g_rank != 0 && !(getenv("KDTS_MPI_VERBOSE") && atoi(getenv("KDTS_MPI_VERBOSE")))) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
    }
    if (f && (!strncmp(f, "nan:", 4) || !strncmp(f, "fail:", 5))) {
        char *end;
        g_fault_fail = f[0] == 'f';
        g_fault_rank = (int)strtol(strchr(f, ':') + 1, &end, 10);
        if (*end == ':') g_fault_step = strtoll(end + 1, NULL, 10);
    }
}

static int par_end(int code)
{
    if (g_mpi_up) MPI_Finalize();
    g_mpi_up = 0;
    free(g_buf);
    free(g_sums);
    g_buf = NULL;
    g_sums = NULL;
    return code;
}

/* The status exchange. Fields (all reduced with MAX): the failure code
   (exit status) of any rank, minus the lowest failing rank, a rank that
   did not fail, an interrupt, a weight checksum and its complement (the
   same everywhere iff max == own for both). */
enum { PX_CODE, PX_FROM, PX_OK, PX_STOP, PX_SUM, PX_N = PX_SUM + 4 };

static void par_exchange(int v[PX_N], int code, const char *msg)
{
    char buf[1024];
    int own[PX_N], root;
    memcpy(own, v, sizeof own);
    own[PX_CODE] = code;
    own[PX_FROM] = code ? -g_rank : INT_MIN;
    own[PX_OK] = !code;
    MPI_Allreduce(own, v, PX_N, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (v[PX_CODE] == 0) return;
    /* a rank failed: its message to everyone, printed once, all stop */
    root = -v[PX_FROM];
    memset(buf, 0, sizeof buf);
    if (g_rank == root && msg) snprintf(buf, sizeof buf, "%s", msg);
    MPI_Bcast(buf, (int)sizeof buf, MPI_CHAR, root, MPI_COMM_WORLD);
    if (g_rank == 0) {
        if (v[PX_OK]) fprintf(stderr, "kdts: error (rank %d of %d): %s\n", root, g_size, buf);
        else fprintf(stderr, "kdts: error: %s\n", buf);
        fflush(stderr);
    }
    exit(par_end(v[PX_CODE]));
}

/* The step exchange while training: one MPI_Allreduce (sum) of the
   gradient and PS_N flags behind it - the ranks with a non-finite
   gradient and the sum of their rank + 1, a hard failure, an interrupt.
   A hard failure is followed by par_exchange, which stops every rank. */
enum { PS_NAN, PS_NAN_RANK, PS_HARD, PS_STOP, PS_N };

static void par_step_exchange(float *g, size_t n, int nan, int hard, int stop, float f[PS_N])
{
    size_t m = n + PS_N, done = 0;
    float *b = g_buf;
    if (g) memcpy(b, g, n * sizeof(float));
    else memset(b, 0, n * sizeof(float));
    b[n + PS_NAN] = (float)(nan != 0);
    b[n + PS_NAN_RANK] = nan ? (float)(g_rank + 1) : 0.0f;
    b[n + PS_HARD] = (float)(hard != 0);
    b[n + PS_STOP] = (float)(stop != 0);
    while (done < m) {
        int k = m - done > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)(m - done);
        MPI_Allreduce(MPI_IN_PLACE, b + done, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        done += (size_t)k;
    }
    memcpy(f, b + n, PS_N * sizeof(float));
    if (f[PS_HARD] > 0.0f && !hard) {
        int v[PX_N] = {0};
        par_exchange(v, 0, NULL); /* the failing rank's message; exits */
    }
}

/* die(): this rank failed; the others learn it at their next exchange. */
static void par_die(int code, const char *msg)
{
    int v[PX_N] = {0};
    if (g_training) {
        float f[PS_N];
        par_step_exchange(NULL, g_net->nparams, 0, 1, 0, f);
    }
    par_exchange(v, code ? code : 1, msg);
}

/* Training starts (1) or has ended (0) on every rank: while it runs, every
   exchange starts with a step exchange. KDTS_MPI_CPU=1: rank 0 prints
   each rank's processor time in training (make bench-mpi). */
static void par_phase(int training)
{
    static double c0;
    static int started;
    double c = (double)clock() / CLOCKS_PER_SEC;
    g_training = training && g_net && g_size > 1 && !g_ensemble;
    if (training) {
        c0 = c;
        started = 1;
    } else if (started && !g_ensemble && getenv("KDTS_MPI_CPU")) {
        double *all = (double *)malloc((size_t)g_size * sizeof(double));
        int k;
        c -= c0;
        if (!all) return;
        MPI_Gather(&c, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        if (g_rank == 0) {
            fprintf(stderr, "kdts-mpi: processor seconds in training per rank:");
            for (k = 0; k < g_size; ++k) fprintf(stderr, " %.3f", all[k]);
            fputc('\n', stderr);
        }
        free(all);
    }
}

/* A checkpoint: returns when no rank failed. */
static void par_check(void)
{
    int v[PX_N] = {0};
    par_exchange(v, 0, NULL);
}

static void par_bcast_floats(float *p, size_t n, int root)
{
    while (n > 0) {
        int k = n > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)n;
        MPI_Bcast(p, k, MPI_FLOAT, root, MPI_COMM_WORLD);
        p += k;
        n -= (size_t)k;
    }
}

/* --ensemble (train only): one model per rank. */
#define PAR_TRAIN_FLAGS , {"ensemble", "MPI: one model per rank (seed + rank), --out with %d = rank + 1", NULL, 1, {0}, 0, 0, 0}

/* The output path of this rank and whether it writes one. */
static const char *par_output(const cmd *c, const char *out)
{
    static char path[4200];
    const char *p = strstr(out, "%d");
    g_ensemble = !strcmp(c->name, "train") && fbool(c, "ensemble");
    if (!g_ensemble) return out;
    if (!p || strchr(p + 2, '%') || strchr(out, '%') != p)
        die(EXIT_USAGE, "train --ensemble: --out must hold one %%d (replaced by rank + 1), e.g. teacher-%%d.kdts");
    if (strlen(out) > 4000) die(EXIT_USAGE, "train: the output path is too long");
    snprintf(path, sizeof path, "%.*s%d%s", (int)(p - out), out, g_rank + 1, p + 2);
    return path;
}

static int par_writes(void) { return g_ensemble || g_rank == 0; }

static unsigned long long par_checksum(const float *p, size_t n)
{
    unsigned long long h = 1469598103934665603ULL;
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n * sizeof(float); ++i) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static void par_put_checksum(int v[PX_N], const kdts_net *net)
{
    unsigned long long h = net ? par_checksum(net->params, net->nparams) : 0;
    unsigned int lo = (unsigned int)(h & 0xffffffffu), hi = (unsigned int)(h >> 32);
    v[PX_SUM] = (int)lo;
    v[PX_SUM + 1] = (int)~lo;
    v[PX_SUM + 2] = (int)hi;
    v[PX_SUM + 3] = (int)~hi;
}

/* The gradient hook: status first (any failure stops every rank at this
   step), then the sum of the shares. */
static kdts_result par_on_grad(float *g, size_t n, kdts_result local, void *user)
{
    float f[PS_N];
    (void)user;
    g_step++;
    if (g_rank == g_fault_rank && g_step == g_fault_step && g_fault_fail) {
        char msg[100];
        snprintf(msg, sizeof msg, "training: an injected failure at step %lld", g_step);
        par_die(EXIT_DATA, msg);
    }
    if (g_rank == g_fault_rank && g_step == g_fault_step) {
        g[0] = NAN;
        local = KDTS_ERR_NONFINITE;
    }
    if (local != KDTS_OK && local != KDTS_ERR_NONFINITE) return local; /* not reached: the library passes these two */
    par_step_exchange(g, n, local == KDTS_ERR_NONFINITE, 0, g_interrupted != 0, f);
    g_agreed_stop = f[PS_STOP] > 0.0f;
    if (f[PS_NAN] > 0.0f) {
        if (g_rank == 0 && f[PS_NAN] == 1.0f)
            fprintf(stderr, "kdts: rank %d of %d had a non-finite loss or gradient at step %lld: every rank stops\n",
                    (int)f[PS_NAN_RANK] - 1, g_size, g_step);
        else if (g_rank == 0)
            fprintf(stderr, "kdts: %d of %d ranks had a non-finite loss or gradient at step %lld: every rank stops\n",
                    (int)f[PS_NAN], g_size, g_step);
        return KDTS_ERR_NONFINITE;
    }
    memcpy(g, g_buf, n * sizeof(float));
    return KDTS_OK;
}

/* Validation shares: the squared errors summed in rank order (the same
   bits everywhere). */
static kdts_result par_on_sum(double *v, int n, kdts_result local, void *user)
{
    float f[PS_N];
    int k, j;
    (void)user;
    if (local != KDTS_OK || n > 2) {
        char msg[160];
        snprintf(msg, sizeof msg, "validation failed: %s", n > 2 ? "more sums than the layer gathers" : kdts_result_str(local));
        par_die(EXIT_DATA, msg);
    }
    par_step_exchange(NULL, g_net->nparams, 0, 0, 0, f); /* meets a failed rank */
    MPI_Allgather(v, n, MPI_DOUBLE, g_sums, n, MPI_DOUBLE, MPI_COMM_WORLD);
    for (j = 0; j < n; ++j) {
        v[j] = 0.0;
        for (k = 0; k < g_size; ++k) v[j] += g_sums[(size_t)k * n + j];
    }
    return KDTS_OK;
}

/* Data-parallel settings and rank 0's starting weights on every rank. */
static void par_train_setup(kdts_train_config *tc, kdts_net *net)
{
    par_check(); /* every rank has its data, model and output path */
    if (g_ensemble) {
        tc->seed += (unsigned long long)g_rank;
        return; /* the seed also made this rank's starting weights */
    }
    par_bcast_floats(net->params, net->nparams, 0);
    g_net = net;
    g_buf = (float *)malloc((net->nparams + PS_N) * sizeof(float));
    g_sums = (double *)malloc((size_t)g_size * 2 * sizeof(double));
    if (!g_buf || !g_sums) par_die(EXIT_DATA, "out of memory for the gradient exchange");
    if (g_size > 1) {
        tc->shard_count = g_size;
        tc->shard_index = g_rank;
        tc->on_grad = par_on_grad;
        tc->on_sum = par_on_sum;
    }
}

/* The seed of the starting weights (--ensemble: seed + rank). */
static unsigned long long par_seed(unsigned long long seed)
{
    return g_ensemble ? seed + (unsigned long long)g_rank : seed;
}

/* After a step: stop when any rank was interrupted (agreed in the hook). */
static int par_batch_stop(void) { return g_ensemble || g_size == 1 || !g_net ? g_interrupted != 0 : g_agreed_stop; }

/* After an epoch: the ranks' share losses averaged (equal shares), the
   weights checked to be the same everywhere, the interrupt agreed. */
static int par_epoch(kdts_epoch_info *in)
{
    int v[PX_N] = {0}, own[PX_N] = {0}, k;
    double l[4], s[4];
    float f[PS_N];
    if (g_ensemble || g_size == 1 || !g_net) return g_interrupted != 0;
    par_step_exchange(NULL, g_net->nparams, 0, 0, g_interrupted != 0, f); /* meets a failed rank */
    v[PX_STOP] = f[PS_STOP] > 0.0f;
    par_put_checksum(v, g_net);
    memcpy(own, v, sizeof own);
    par_exchange(v, 0, NULL);
    for (k = PX_SUM; k < PX_N; ++k)
        if (v[k] != own[k]) {
            char msg[160];
            snprintf(msg, sizeof msg, "the ranks' weights differ after epoch %d (a rank computed differently: the "
                     "same binary and CPU kind on every node?)", in->epoch);
            par_die(EXIT_DATA, msg); /* every rank sees the mismatch */
        }
    l[0] = in->loss;
    l[1] = in->hard;
    l[2] = in->soft;
    l[3] = in->seq;
    MPI_Allreduce(l, s, 4, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    in->loss = s[0] / g_size;
    in->hard = s[1] / g_size;
    in->soft = s[2] / g_size;
    in->seq = s[3] / g_size;
    return v[PX_STOP];
}

/* distill: the soft targets of teacher k on rank k % N, shared, averaged
   in teacher order (the bits of one process's kdts_soft_targets). Sets
   tc->soft_values/soft_probs/soft_last_only; the caller passes no
   teachers to the trainer then. *keep receives the buffers to free. */
static kdts_result par_soft_targets(const kdts_task *task, const kdts_net *student, const kdts_net *const *te, int nt,
                                    kdts_train_config *tc, float **keep_v, float **keep_p, kdts_error *e)
{
    const kdts_dataset *d = &task->data[KDTS_PART_TRAIN];
    int n = d->n, T = d->T, h = te[0]->cfg.horizon, K = student->cfg.bins, k, any_last = 0, w, j;
    int probs = student->cfg.mode == KDTS_MODE_DIST && tc->alpha > 0.0f;
    size_t nv = (size_t)n * T * h, np = probs ? (size_t)n * h * K : 0, i;
    float *v = (float *)malloc(nv * (size_t)nt * sizeof(float)), *p = probs ? (float *)malloc(np * (size_t)nt * sizeof(float)) : NULL;
    float *tv = (float *)calloc(nv, sizeof(float)), *tp = probs ? (float *)calloc(np, sizeof(float)) : NULL;
    int last[MAX_TEACHERS];
    char msg[600];
    kdts_result r = KDTS_OK;
    msg[0] = 0;
    if (!v || !tv || (probs && (!p || !tp))) {
        r = KDTS_ERR_NOMEM;
        snprintf(msg, sizeof msg, "out of memory for the teachers' soft targets");
    }
    for (k = 0; k < nt && r == KDTS_OK; ++k) {
        const kdts_net *q = te[k];
        if (q->cfg.input != d->F || q->cfg.horizon != h) {
            r = KDTS_ERR_SHAPE;
            snprintf(msg, sizeof msg, "teacher %d does not take the student's inputs and horizon", k + 1);
        } else if (probs && (q->cfg.mode != KDTS_MODE_DIST || q->cfg.bins != K || q->cfg.bin_lo != student->cfg.bin_lo ||
                             q->cfg.bin_hi != student->cfg.bin_hi)) {
            r = KDTS_ERR_ARG;
            snprintf(msg, sizeof msg, "teacher %d: a distribution-mode soft loss needs teachers with the same bins", k + 1);
        } else if (k % g_size == g_rank) {
            r = kdts_soft_targets(&te[k], 1, d->x, n, T, tc->temperature, v + nv * (size_t)k,
                                  probs ? p + np * (size_t)k : NULL, &last[k], e);
            if (r != KDTS_OK) snprintf(msg, sizeof msg, "teacher %d: %s", k + 1, e->message);
        }
    }
    if (r != KDTS_OK) {
        free(v);
        free(p);
        free(tv);
        free(tp);
        par_die(EXIT_DATA, msg);
    }
    par_check();
    for (k = 0; k < nt; ++k) {
        par_bcast_floats(v + nv * (size_t)k, nv, k % g_size);
        if (probs) par_bcast_floats(p + np * (size_t)k, np, k % g_size);
        MPI_Bcast(&last[k], 1, MPI_INT, k % g_size, MPI_COMM_WORLD);
    }
    for (k = 0; k < nt; ++k) {
        const float *vk = v + nv * (size_t)k;
        if (last[k] == 0) {
            for (i = 0; i < nv; ++i) tv[i] += vk[i] / (float)nt;
        } else {
            any_last = 1;
            for (w = 0; w < n; ++w)
                for (j = 0; j < h; ++j) tv[((size_t)w * T + T - 1) * h + j] += vk[((size_t)w * T + T - 1) * h + j] / (float)nt;
        }
        for (i = 0; i < np; ++i) tp[i] += p[np * (size_t)k + i] / (float)nt;
    }
    if (any_last)
        for (w = 0; w < n; ++w) memset(tv + (size_t)w * T * h, 0, (size_t)(T - 1) * h * sizeof(float));
    free(v);
    free(p);
    tc->soft_values = tv;
    tc->soft_probs = tp;
    tc->soft_last_only = any_last;
    *keep_v = tv;
    *keep_p = tp;
    return KDTS_OK;
}

#endif
