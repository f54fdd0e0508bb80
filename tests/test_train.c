/* test_train.c - the training loop in parts (kdts_trainer_*), its hooks
   (per-step callback, gradient hook, data-parallel shards, precomputed soft
   targets, partial batches), and the message builder every error message
   goes through. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>

enum { N = 45, T = 9, HZ = 3 };

static float g_x[N * T], g_y[N * T * HZ];

/* windows of a noisy sine: x (N,T,1), y (N,T,HZ) */
static void make_data(kdts_dataset *d)
{
    kdts_rng r;
    int i, t, j;
    kdts_rng_seed(&r, 3);
    for (i = 0; i < N; ++i)
        for (t = 0; t < T; ++t) {
            g_x[i * T + t] = sinf(0.3f * (float)(i + t)) + 0.05f * kdts_rng_normal(&r);
            for (j = 0; j < HZ; ++j) g_y[(i * T + t) * HZ + j] = sinf(0.3f * (float)(i + t + 1 + j));
        }
    d->x = g_x;
    d->y = g_y;
    d->n = N;
    d->T = T;
    d->F = 1;
    d->h = HZ;
}

static void new_model(kdts_lstm *m, int hidden, int layers, unsigned long long seed)
{
    kdts_lstm_config c;
    memset(&c, 0, sizeof c);
    c.hidden = hidden;
    c.layers = layers;
    c.horizon = HZ;
    KT_CHECK(kdts_lstm_init(m, &c, seed, NULL) == KDTS_OK, "init");
}

/* The trainer and kdts_soft_targets take kdts_net: views of the LSTMs. */
static kdts_net *kt_net(kdts_net *v, kdts_lstm *m)
{
    kdts_net_view_lstm(v, m);
    return v;
}
typedef struct kt_one {
    kdts_net v;
    const kdts_net *p;
} kt_one;
static const kdts_net *const *kt_net1(kt_one *o, const kdts_lstm *m)
{
    kdts_net_view_lstm(&o->v, m);
    o->p = &o->v;
    return &o->p;
}

static void base_cfg(kdts_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 3;
    c->batch = 8;
    c->seed = 7;
    c->adam.lr = 5e-3f;
}

/* kdts_train and the parts run by hand give the same weights. */
static void test_parts(const kdts_dataset *d)
{
    kdts_net bv;
    kdts_lstm a, b;
    kdts_train_config c;
    kdts_train_report ra, rb;
    kdts_trainer tr;
    kdts_epoch_info info;
    kdts_error e;
    int epochs = 0, ok = 1;
    new_model(&a, 6, 2, 5);
    new_model(&b, 6, 2, 5);
    base_cfg(&c);
    KT_CHECK(kdts_train(&a, &c, d, d, NULL, 0, &ra, &e) == KDTS_OK, "kdts_train: %s", e.message);
    KT_CHECK(kdts_trainer_init(&tr, kt_net(&bv, &b), &c, d, d, &e) == KDTS_OK, "trainer init: %s", e.message);
    KT_CHECK(tr.batches == N / 8, "batches per epoch %d (the partial batch waits)", tr.batches);
    while (!kdts_trainer_done(&tr)) {
        ok &= kdts_trainer_epoch(&tr, &info, &e) == KDTS_OK;
        ok &= kdts_trainer_validate(&tr, &info, &e) == KDTS_OK;
        ok &= info.epoch == epochs + 1 && info.batch == N / 8 && info.val_mse >= 0;
        epochs++;
    }
    kdts_trainer_finish(&tr, &rb);
    kdts_trainer_free(&tr);
    KT_CHECK(ok && epochs == 3, "parts ran %d epochs", epochs);
    KT_CHECK(!memcmp(a.params, b.params, a.nparams * sizeof(float)), "parts give kdts_train's weights");
    KT_CHECK(ra.best_epoch == rb.best_epoch && ra.best_val_mse == rb.best_val_mse && ra.steps == 3 * (N / 8) &&
                 rb.steps == ra.steps,
             "reports agree (best epoch %d/%d, steps %lld/%lld)", ra.best_epoch, rb.best_epoch, ra.steps, rb.steps);
    KT_CHECK(ra.seconds >= 0 && ra.seconds < 3600, "wall-clock seconds %g", ra.seconds);
    kdts_lstm_free(&a);
    kdts_lstm_free(&b);
}

/* keep_partial: the leftover windows make a last, smaller batch. */
static void test_partial(const kdts_dataset *d)
{
    kdts_lstm a, b;
    kdts_train_config c;
    kdts_train_report ra, rb;
    new_model(&a, 4, 1, 9);
    new_model(&b, 4, 1, 9);
    base_cfg(&c);
    c.epochs = 2;
    KT_CHECK(kdts_train(&a, &c, d, NULL, NULL, 0, &ra, NULL) == KDTS_OK, "train, partial dropped");
    c.keep_partial = 1;
    KT_CHECK(kdts_train(&b, &c, d, NULL, NULL, 0, &rb, NULL) == KDTS_OK, "train, partial kept");
    KT_CHECK(ra.steps == 2 * (N / 8) && rb.steps == 2 * ((N + 7) / 8), "steps %lld and %lld", ra.steps, rb.steps);
    KT_CHECK(memcmp(a.params, b.params, a.nparams * sizeof(float)) != 0, "the partial batch changes the weights");
    c.keep_partial = 2;
    KT_CHECK(kdts_train(&b, &c, d, NULL, NULL, 0, NULL, NULL) == KDTS_ERR_ARG, "keep_partial 2 rejected");
    kdts_lstm_free(&a);
    kdts_lstm_free(&b);
}

typedef struct stopper {
    int after, calls;
} stopper;

static int stop_after(const kdts_epoch_info *in, void *user)
{
    stopper *s = (stopper *)user;
    s->calls++;
    return in->step >= s->after;
}

/* on_batch stops in the middle of an epoch; the weights there are
   validated and the best so far kept. */
static void test_stop(const kdts_dataset *d)
{
    kdts_lstm a;
    kdts_train_config c;
    kdts_train_report rep;
    stopper s;
    double v;
    new_model(&a, 5, 1, 13);
    base_cfg(&c);
    c.epochs = 50;
    s.after = 8;
    s.calls = 0;
    c.on_batch = stop_after;
    c.user = &s;
    KT_CHECK(kdts_train(&a, &c, d, d, NULL, 0, &rep, NULL) == KDTS_OK, "train with a stop");
    KT_CHECK(rep.stopped == 1 && rep.steps == 8 && s.calls == 8, "stopped after %lld steps (%d calls)", rep.steps,
             s.calls);
    KT_CHECK(rep.epochs_run == 2 && rep.best_epoch >= 1, "epochs run %d (the second cut short), best %d",
             rep.epochs_run, rep.best_epoch);
    kdts_eval_mse(&a, d, &v, NULL, NULL);
    KT_CHECK(fabs(v - rep.best_val_mse) <= 1e-6 * (1 + v), "kept weights give the best validation MSE (%g, %g)", v,
             rep.best_val_mse);
    kdts_lstm_free(&a);
}

typedef struct grab {
    float *g;
    size_t n;
    int calls;
} grab;

static kdts_result grab_grad(float *grads, size_t n, kdts_result local, void *user)
{
    grab *q = (grab *)user;
    if (q->calls++ == 0) memcpy(q->g, grads, n * sizeof(float));
    q->n = n;
    return local;
}

/* Two shards' gradients add up to the whole batch's gradient. */
static void test_shards(const kdts_dataset *d)
{
    kdts_lstm m;
    kdts_train_config c;
    grab full, s0, s1;
    size_t i, P;
    double worst = 0, scale = 0;
    int k;
    grab *gs[3];
    gs[0] = &full;
    gs[1] = &s0;
    gs[2] = &s1;
    new_model(&m, 6, 2, 17);
    P = m.nparams;
    for (k = 0; k < 3; ++k) {
        float *w0 = (float *)malloc(P * sizeof(float));
        memcpy(w0, m.params, P * sizeof(float));
        gs[k]->g = (float *)calloc(P, sizeof(float));
        gs[k]->calls = 0;
        base_cfg(&c);
        c.epochs = 1;
        c.batch = 13;
        c.on_grad = grab_grad;
        c.user = gs[k];
        c.shard_count = k == 0 ? 1 : 2;
        c.shard_index = k == 2 ? 1 : 0;
        KT_CHECK(kdts_train(&m, &c, d, NULL, NULL, 0, NULL, NULL) == KDTS_OK, "shard run %d", k);
        KT_CHECK(gs[k]->calls == N / 13 && gs[k]->n == P, "hook calls %d", gs[k]->calls);
        memcpy(m.params, w0, P * sizeof(float));
        free(w0);
    }
    for (i = 0; i < P; ++i) {
        double dlt = fabs((double)s0.g[i] + s1.g[i] - full.g[i]);
        if (dlt > worst) worst = dlt;
        if (fabs(full.g[i]) > scale) scale = fabs(full.g[i]);
    }
    printf("shards: |g0 + g1 - g| max %.3g (max |g| %.3g)\n", worst, scale);
    KT_CHECK(worst <= 1e-5 * scale && scale > 0, "shard gradients sum to the batch gradient (%g of %g)", worst,
             scale);
    base_cfg(&c);
    c.shard_count = 2;
    c.shard_index = 2;
    KT_CHECK(kdts_train(&m, &c, d, NULL, NULL, 0, NULL, NULL) == KDTS_ERR_ARG, "shard index out of range");
    for (k = 0; k < 3; ++k) free(gs[k]->g);
    kdts_lstm_free(&m);
}

/* With dropout and shares of different sizes (a batch of 13 on 2
   processes: 7 and 6 rows) every process keeps the same shuffle: the
   window order after each epoch is the same for both shares. */
static void test_shard_dropout_order(const kdts_dataset *d)
{
    kdts_lstm m[2];
    kdts_net v[2];
    kdts_trainer tr[2];
    kdts_train_config c;
    kdts_lstm_config lc;
    int k, e, same = 1, differs_one = 0;
    for (k = 0; k < 2; ++k) {
        memset(&lc, 0, sizeof lc);
        lc.hidden = 5;
        lc.layers = 2;
        lc.horizon = HZ;
        lc.dropout = 0.3f;
        KT_CHECK(kdts_lstm_init(&m[k], &lc, 23, NULL) == KDTS_OK, "init");
        base_cfg(&c);
        c.batch = 13;
        c.shard_count = 2;
        c.shard_index = k;
        KT_CHECK(kdts_trainer_init(&tr[k], kt_net(&v[k], &m[k]), &c, d, NULL, NULL) == KDTS_OK, "trainer %d", k);
    }
    for (e = 0; e < 3; ++e) {
        int first[N];
        for (k = 0; k < 2; ++k) KT_CHECK(kdts_trainer_epoch(&tr[k], NULL, NULL) == KDTS_OK, "epoch %d share %d", e, k);
        memcpy(first, tr[0].idx, sizeof first);
        if (memcmp(tr[0].idx, tr[1].idx, sizeof first)) same = 0;
        if (e == 0) {
            /* the order is shuffled at all (the check can see a difference) */
            for (k = 0; k < N; ++k) differs_one |= first[k] != k;
        }
    }
    KT_CHECK(differs_one, "the windows are shuffled");
    KT_CHECK(same, "both shares see the same window order after 3 epochs with dropout");
    for (k = 0; k < 2; ++k) {
        kdts_trainer_free(&tr[k]);
        kdts_lstm_free(&m[k]);
    }
}

static kdts_result veto(float *grads, size_t n, kdts_result local, void *user)
{
    (void)grads;
    (void)n;
    (void)user;
    return local == KDTS_OK ? KDTS_ERR_IO : local;
}

/* The hook's status stops training (another process failed). */
static void test_hook_stop(const kdts_dataset *d)
{
    kdts_lstm m;
    kdts_train_config c;
    kdts_error e;
    float *w0;
    new_model(&m, 4, 1, 19);
    w0 = (float *)malloc(m.nparams * sizeof(float));
    memcpy(w0, m.params, m.nparams * sizeof(float));
    base_cfg(&c);
    c.on_grad = veto;
    memset(&e, 0, sizeof e);
    KT_CHECK(kdts_train(&m, &c, d, NULL, NULL, 0, NULL, &e) == KDTS_ERR_IO && strstr(e.message, "hook"),
             "hook status stops training: %s", e.message);
    KT_CHECK(!memcmp(w0, m.params, m.nparams * sizeof(float)), "no update after the hook's veto");
    free(w0);
    kdts_lstm_free(&m);
}

/* Soft targets computed once and passed in give the same student as
   teachers passed to the trainer. */
static void test_soft_targets(const kdts_dataset *d)
{
    kdts_lstm teacher, a, b;
    const kdts_lstm *tp[1];
    kdts_net bv;
    kt_one tv_net;
    kdts_train_config c;
    kdts_trainer tr;
    kdts_error e;
    float *tv = (float *)malloc(sizeof(float) * N * T * HZ);
    new_model(&teacher, 8, 1, 23);
    base_cfg(&c);
    kdts_train(&teacher, &c, d, NULL, NULL, 0, NULL, NULL);
    tp[0] = &teacher;
    new_model(&a, 3, 1, 29);
    new_model(&b, 3, 1, 29);
    c.alpha = 0.7f;
    c.beta = 0.5f;
    KT_CHECK(kdts_train(&a, &c, d, NULL, tp, 1, NULL, &e) == KDTS_OK, "distill: %s", e.message);
    KT_CHECK(kdts_soft_targets(kt_net1(&tv_net, tp[0]), 1, d->x, d->n, d->T, 1.0f, tv, NULL, NULL, &e) == KDTS_OK, "soft targets: %s",
             e.message);
    KT_CHECK(kdts_trainer_init(&tr, kt_net(&bv, &b), &c, d, NULL, &e) == KDTS_OK, "init");
    KT_CHECK(kdts_trainer_soft_targets(&tr, tv, NULL, &e) == KDTS_OK, "borrow targets");
    while (!kdts_trainer_done(&tr)) {
        kdts_trainer_epoch(&tr, NULL, NULL);
        kdts_trainer_validate(&tr, NULL, NULL);
    }
    kdts_trainer_finish(&tr, NULL);
    kdts_trainer_free(&tr);
    KT_CHECK(!memcmp(a.params, b.params, a.nparams * sizeof(float)), "precomputed targets = teachers");
    KT_CHECK(kdts_soft_targets(kt_net1(&tv_net, tp[0]), 0, d->x, d->n, d->T, 1.0f, tv, NULL, NULL, &e) == KDTS_ERR_ARG, "no teachers");
    free(tv);
    kdts_lstm_free(&teacher);
    kdts_lstm_free(&a);
    kdts_lstm_free(&b);
}

/* Data-parallel validation (on_sum): each share's squared errors and
   window count, added by the hook, give the one-process validation MSE;
   shares that do not cover every window are an error. */
static double g_other[2];
static kdts_result keep_sums(double *v, int n, kdts_result local, void *user)
{
    (void)user;
    if (n == 2) memcpy(g_other, v, sizeof g_other); /* no other process: the shares are not added */
    return local;
}
static kdts_result add_other(double *v, int n, kdts_result local, void *user)
{
    int k;
    (void)user;
    for (k = 0; k < n && k < 2; ++k) v[k] += g_other[k];
    return local;
}

static void test_val_shards(const kdts_dataset *d)
{
    kdts_lstm m;
    kdts_net v;
    kdts_trainer tr;
    kdts_train_config c;
    kdts_dataset val = *d;
    kdts_error e;
    double full, shared;
    val.n = N - 6; /* 39 windows: shares of 20 and 19 */
    new_model(&m, 5, 1, 37);
    base_cfg(&c);
    KT_CHECK(kdts_trainer_init(&tr, kt_net(&v, &m), &c, d, &val, NULL) == KDTS_OK, "trainer");
    KT_CHECK(kdts_trainer_validate(&tr, NULL, NULL) == KDTS_OK, "one-process validation");
    full = tr.last_val;
    kdts_trainer_free(&tr);
    c.shard_count = 2;
    c.shard_index = 1;
    c.on_sum = keep_sums;
    memset(&e, 0, sizeof e);
    KT_CHECK(kdts_trainer_init(&tr, kt_net(&v, &m), &c, d, &val, NULL) == KDTS_OK, "trainer, share 1");
    KT_CHECK(kdts_trainer_validate(&tr, NULL, &e) == KDTS_ERR_ARG && strstr(e.message, "19 of 39"),
             "one share alone is refused: %s", e.message);
    kdts_trainer_free(&tr);
    c.shard_index = 0;
    c.on_sum = add_other;
    KT_CHECK(kdts_trainer_init(&tr, kt_net(&v, &m), &c, d, &val, NULL) == KDTS_OK, "trainer, share 0");
    KT_CHECK(kdts_trainer_validate(&tr, NULL, NULL) == KDTS_OK, "share 0 with share 1's sums");
    shared = tr.last_val;
    kdts_trainer_free(&tr);
    printf("validation shares: MSE %.17g, one process %.17g\n", shared, full);
    KT_CHECK(full > 0 && fabs(shared - full) <= 1e-12 * full, "shared validation MSE %.17g = %.17g", shared, full);
    kdts_lstm_free(&m);
}

/* A validation MSE beyond float range is an error, not a success. */
static void test_val_overflow(const kdts_dataset *d)
{
    kdts_lstm m;
    kdts_train_config c;
    kdts_dataset v = *d;
    kdts_error e;
    float *y = (float *)malloc(sizeof(float) * N * T * HZ);
    memcpy(y, d->y, sizeof(float) * N * T * HZ);
    y[(T - 1) * HZ] = 1e30f; /* one target value of the first window's forecast */
    v.y = y;
    new_model(&m, 4, 1, 31);
    base_cfg(&c);
    memset(&e, 0, sizeof e);
    KT_CHECK(kdts_train(&m, &c, d, &v, NULL, 0, NULL, &e) == KDTS_ERR_NONFINITE && strstr(e.message, "validation"),
             "extreme validation value: %s", e.message);
    free(y);
    kdts_lstm_free(&m);
}

typedef struct lrlog {
    double lr[64];
    long long n;
} lrlog;

static int log_lr(const kdts_epoch_info *in, void *user)
{
    lrlog *l = (lrlog *)user;
    if (l->n < 64) l->lr[l->n] = in->lr;
    l->n++;
    return 0;
}

/* A step budget and the learning-rate schedules. */
/* The budget rules of `kdts train` and `kdts distill`: a given min_steps
   as it is, none when the epochs are given, else the default. */
static void test_budget_rules(void)
{
    KT_CHECK(kdts_train_min_steps(0, -1) == KDTS_MIN_STEPS_DEFAULT && kdts_train_min_steps(1, -1) == 0 &&
                 kdts_train_min_steps(1, 500) == 500 && kdts_train_min_steps(0, 0) == 0,
             "kdts_train_min_steps");
    KT_CHECK(kdts_student_min_steps(0, -1) == KDTS_STUDENT_MIN_STEPS && kdts_student_min_steps(1, -1) == 0 &&
                 kdts_student_min_steps(1, 500) == 500 && kdts_student_min_steps(0, 7) == 7,
             "kdts_student_min_steps");
    KT_CHECK(KDTS_STUDENT_MIN_STEPS > KDTS_MIN_STEPS_DEFAULT && KDTS_STUDENT_LR > 0 && KDTS_STUDENT_ALPHA >= 0 &&
                 KDTS_STUDENT_ALPHA <= 1 && KDTS_STUDENT_BETA >= 0,
             "the student defaults are a valid config");
}

static void test_budget(const kdts_dataset *d)
{
    kdts_lstm m;
    kdts_train_config c;
    kdts_train_report rep;
    lrlog l;
    int i, ok = 1;
    new_model(&m, 4, 1, 37);
    base_cfg(&c);
    c.steps = 13; /* 5 steps per epoch: 3 epochs, the last cut to 3 steps */
    c.epochs = 99;
    memset(&l, 0, sizeof l);
    c.on_batch = log_lr;
    c.user = &l;
    KT_CHECK(kdts_train(&m, &c, d, d, NULL, 0, &rep, NULL) == KDTS_OK, "budget run");
    KT_CHECK(rep.steps == 13 && rep.epochs_run == 3 && l.n == 13, "13 steps in 3 epochs (%lld, %d)", rep.steps,
             rep.epochs_run);
    for (i = 0; i < 13; ++i) ok &= fabs(l.lr[i] - 5e-3) < 1e-9;
    KT_CHECK(ok, "constant learning rate");
    /* warm-up 4 steps, then cosine to 10% over the 20 planned steps */
    c.steps = 20;
    c.warmup_steps = 4;
    c.schedule = KDTS_LR_COSINE;
    c.lr_min = 0.1f;
    memset(&l, 0, sizeof l);
    KT_CHECK(kdts_train(&m, &c, d, NULL, NULL, 0, &rep, NULL) == KDTS_OK && l.n == 20, "schedule run");
    ok = 1;
    for (i = 0; i < 20; ++i) {
        double want = i < 4 ? 5e-3 * (i + 1) / 4.0
                            : 5e-4 + (5e-3 - 5e-4) * 0.5 * (1 + cos(3.14159265358979 * (i - 4) / 16.0));
        if (fabs(l.lr[i] - want) > 1e-6 * want) {
            ok = 0;
            printf("step %d: lr %g, want %g\n", i, l.lr[i], want);
        }
    }
    KT_CHECK(ok && fabs(l.lr[19] - (5e-4 + 4.5e-3 * 0.5 * (1 + cos(3.14159265358979 * 15 / 16.0)))) < 1e-8,
             "warm-up then cosine");
    /* a minimum of steps: 2 epochs of 5 steps fall short of 23, so epochs
       and patience are raised by ceil(23 / 10) = 3 */
    c.steps = 0;
    c.warmup_steps = 0;
    c.schedule = KDTS_LR_CONSTANT;
    c.lr_min = 0;
    c.epochs = 2;
    c.patience = 0;
    c.min_steps = 23;
    memset(&l, 0, sizeof l);
    KT_CHECK(kdts_train(&m, &c, d, NULL, NULL, 0, &rep, NULL) == KDTS_OK && rep.steps == 30 && rep.epochs == 6 &&
                 rep.epochs_run == 6 && l.n == 30,
             "min_steps: 6 epochs, 30 steps (%d, %lld)", rep.epochs, rep.steps);
    c.patience = 2;
    KT_CHECK(kdts_train(&m, &c, d, d, NULL, 0, &rep, NULL) == KDTS_OK && rep.patience == 6 && rep.epochs == 6,
             "min_steps scales patience too (%d)", rep.patience);
    c.min_steps = 7; /* already met: nothing changes */
    KT_CHECK(kdts_train(&m, &c, d, d, NULL, 0, &rep, NULL) == KDTS_OK && rep.patience == 2 && rep.epochs == 2,
             "min_steps already met (%d epochs)", rep.epochs);
    c.min_steps = -1;
    KT_CHECK(kdts_train(&m, &c, d, NULL, NULL, 0, NULL, NULL) == KDTS_ERR_ARG, "negative min_steps");
    c.min_steps = 0;
    c.lr_min = 2;
    c.schedule = KDTS_LR_COSINE;
    KT_CHECK(kdts_train(&m, &c, d, NULL, NULL, 0, NULL, NULL) == KDTS_ERR_ARG, "lr_min out of range");
    c.lr_min = 0;
    c.schedule = 7;
    KT_CHECK(kdts_train(&m, &c, d, NULL, NULL, 0, NULL, NULL) == KDTS_ERR_ARG, "unknown schedule");
    kdts_lstm_free(&m);
}

/* The message builder against the C library's snprintf. */
static void test_messages(void)
{
    static const double vals[] = {0, 1, -1, 0.5, 1e-5, 1.5e-5, 123456, 1234567, 1e-4, 1.234e-5, 2.5, 3.14159265,
                                  1e30, 99999.95, 9.9999996, 0.1, 1e100, 5e-324, 1.0 / 3, 65536, 1e-3, 1e15,
                                  123.456, -0.0, 1e-300, 2.0 / 3e7};
    static const char *fmts[] = {"%g", "%.3g", "%.9g", "%e", "%.2e", "%.1g", "%10.3g|", "%-10.3g|", "%.6g"};
    static const char *ffmts[] = {"%f", "%.2f", "%.0f", "%.1f", "%.5f"};
    char want[256];
    kdts__msg m;
    kdts_error e;
    size_t i, k;
    int bad = 0;
#define KT_FMT(...)                                                                   \
    do {                                                                              \
        kdts__msg_init(&m);                                                           \
        kdts__msg_fmt(&m, __VA_ARGS__);                                               \
        snprintf(want, sizeof want, __VA_ARGS__);                                     \
        if (strcmp(want, m.buf)) {                                                    \
            bad++;                                                                    \
            printf("message builder: '%s' where printf gives '%s'\n", m.buf, want);  \
        }                                                                             \
    } while (0)
    for (i = 0; i < sizeof vals / sizeof vals[0]; ++i) {
        for (k = 0; k < sizeof fmts / sizeof fmts[0]; ++k) KT_FMT(fmts[k], vals[i]);
        if (fabs(vals[i]) < 1e17)
            for (k = 0; k < sizeof ffmts / sizeof ffmts[0]; ++k) KT_FMT(ffmts[k], vals[i]);
    }
    KT_FMT("%d %i %u %ld %lu %lld %llu %x", -5, 7, 9u, -123456789L, 123456789UL, -1234567890123LL,
           18446744073709551615ULL, 255u);
    KT_FMT("%5d|%-5d|%05d|%+d|% d|%*d|%-*d|", 42, 42, -42, 42, 42, 6, 7, 6, 7);
    KT_FMT("%s|%10s|%-10s|%.2s|%.*s", "abc", "abc", "abc", "abc", 1, "xyz");
    KT_FMT("%c%%%zu", 'x', (size_t)77);
    KT_CHECK(bad == 0, "%d formats differ from printf", bad);
    /* long output is cut, NUL-terminated */
    kdts__msg_init(&m);
    for (i = 0; i < 100; ++i) kdts__msg_fmt(&m, "%s", "abcdefgh");
    KT_CHECK(m.n == sizeof m.buf - 1 && m.buf[m.n] == 0, "cut at %lu", (unsigned long)m.n);
    /* a library message, as the user sees it */
    {
        kdts_lstm_config c;
        memset(&c, 0, sizeof c);
        c.hidden = -3;
        KT_CHECK(kdts_lstm_config_check(&c, &e) == KDTS_ERR_ARG && !strcmp(e.message, "hidden size -3 out of range 1..65536"),
                 "message '%s'", e.message);
    }
}

/* An attention model trains a chunk of windows at a time through forward,
   loss and backward (kdts__train_part_windows): the weights are those of
   whole-batch steps, bit for bit, with the loss terms that depend on the
   batch size (hard, soft, sequence, multi-scale, frequency), the skip map,
   shards and dropout (its scales drawn for the whole batch); extra windows
   and hints take the whole batch (and every step does with OpenMP). */
static void test_attn_parts(const kdts_dataset *d)
{
    static const char *what[5] = {"hard loss", "KD: soft + seq + multi-scale + frequency", "skip map",
                                  "shard 1 of 2", "dropout"};
    float *tv = (float *)malloc(sizeof(float) * N * T * HZ);
    int v, k;
    for (k = 0; k < N * T * HZ; ++k) tv[k] = 0.9f * d->y[k];
    for (v = 0; v < 5; ++v) {
        kdts_net a[2];
        kdts_net_config nc;
        kdts_train_config c;
        kdts_train_report rep[2];
        kdts_error e;
        int w, parts = 0;
        memset(&nc, 0, sizeof nc);
        nc.kind = KDTS_KIND_ATTN;
        nc.horizon = HZ;
        nc.d_model = 8;
        nc.heads = 2;
        nc.blocks = 2;
        nc.final_norm = 1;
        nc.max_steps = T;
        nc.lookback = T;
        nc.skip = v == 2;
        nc.dropout = v == 4 ? 0.1f : 0.0f;
        base_cfg(&c);
        c.batch = 40; /* 17 windows of 9 steps per chunk: parts of 17, 17, 6 */
        c.epochs = 2;
        if (v == 1) {
            c.alpha = 0.6f;
            c.beta = 0.4f;
            c.ms_weight = 0.3f;
            c.freq_weight = 0.2f;
            c.soft_values = tv;
        }
        if (v == 3) {
            c.shard_index = 1;
            c.shard_count = 2;
        }
        for (w = 0; w < 2; ++w) {
            kdts_trainer tr;
            KT_CHECK(kdts_net_init(&a[w], &nc, 41, &e) == KDTS_OK, "attention init: %s", e.message);
            c.whole_batch = w;
            KT_CHECK(kdts_trainer_init(&tr, &a[w], &c, d, d, &e) == KDTS_OK, "trainer init: %s", e.message);
            if (w == 0) parts = kdts__train_part_windows(&tr, v == 3 ? 20 : 40, v == 3 ? 20 : 40);
            while (!kdts_trainer_done(&tr)) {
                KT_CHECK(kdts_trainer_epoch(&tr, NULL, &e) == KDTS_OK, "epoch: %s", e.message);
                kdts_trainer_validate(&tr, NULL, NULL);
            }
            kdts_trainer_finish(&tr, &rep[w]);
            kdts_trainer_free(&tr);
        }
#ifdef _OPENMP
        KT_CHECK(parts == 0, "%s: %d windows per part with OpenMP", what[v], parts);
#else
        KT_CHECK(parts == 17, "%s: %d windows per part", what[v], parts);
#endif
        KT_CHECK(a[0].nparams == a[1].nparams && !memcmp(a[0].params, a[1].params, a[0].nparams * sizeof(float)),
                 "%s: parts and whole batch give different weights", what[v]);
        KT_CHECK(rep[0].best_val_mse == rep[1].best_val_mse && rep[0].steps == rep[1].steps && rep[0].steps == 2,
                 "%s: reports differ (val %g / %g, steps %lld / %lld)", what[v], rep[0].best_val_mse,
                 rep[1].best_val_mse, rep[0].steps, rep[1].steps);
        kdts_net_free(&a[0]);
        kdts_net_free(&a[1]);
    }
    free(tv);
}

int main(void)
{
    kdts_dataset d;
    make_data(&d);
    test_parts(&d);
    test_partial(&d);
    test_stop(&d);
    test_shards(&d);
    test_shard_dropout_order(&d);
    test_hook_stop(&d);
    test_soft_targets(&d);
    test_val_overflow(&d);
    test_val_shards(&d);
    test_budget(&d);
    test_budget_rules();
    test_attn_parts(&d);
    test_messages();
    return kt_done();
}
