/* distill_experiment.c - the full teacher-student experiment of kdts on real data.

   What it does (defaults, i.e. `make experiment`):
     - reads data/ETTh1.csv (hourly, 17420 rows), target column OT (univariate
       input), chronological splits 12/4/4 months = 8640/2880/2880 rows;
     - z-score scaler fit on the training rows only; windows of 96 steps,
       24-step direct multi-step forecast at every step (per-step targets),
       each window normalized relative to its last observed value;
     - trains a stacked LSTM teacher (2x64, point mode), a second teacher for
       the ensemble, a distribution-mode teacher (K bins), and small 1x8
       students: raw (hard labels only) and distilled, in point and
       distribution mode, plus the remedies of the source document (teacher
       ensemble, incremental alpha warm-up, progressive teacher -> 1x24 -> 1x8);
     - picks alpha/beta (and T for distribution mode) by a small grid on the
       VALIDATION split (never the test split);
     - evaluates on the test split against persistence (last value) and
       writes results.md, results.csv, grid.csv and SVG pictures.

   --quick runs a tiny version in a few seconds (used by tests/test_experiment.c);
   --full runs every bundled series that is long enough, 5 seeds, a student-size
   sweep and the loss-term ablation. Run with --help for every flag.

   Build: make (this file defines KDTS_IMPLEMENTATION itself). */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#define KDTS_IMPLEMENTATION
#include "kdts.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(_WIN32)
#include <direct.h>
#define ex_mkdir(p) _mkdir(p)
#else
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#define ex_mkdir(p) mkdir(p, 0755)
#endif

/* mkdir -p: create every missing folder of path (errors show up later, when
   a file cannot be written). */
static void make_dirs(const char *path)
{
    char buf[1024];
    size_t i, n = strlen(path);
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, path, n);
    buf[n] = 0;
    for (i = 1; i < n; ++i)
        if (buf[i] == '/' || buf[i] == '\\') {
            char ch = buf[i];
            buf[i] = 0;
            ex_mkdir(buf);
            buf[i] = ch;
        }
    ex_mkdir(buf);
}

/* ------------------------------------------------------------------------ */
/* small utilities                                                          */
/* ------------------------------------------------------------------------ */

static double now_seconds(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "distill_experiment: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* Copy a string, truncating to cap-1 characters. */
static void scopy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory (%lu bytes)", (unsigned long)n);
    return p;
}

static void check(kdts_result r, const kdts_error *err, const char *what)
{
    if (r != KDTS_OK) die("%s: %s (%s)", what, err && err->message[0] ? err->message : "", kdts_result_str(r));
}

/* Parse "a,b,c" into at most cap doubles; returns the count. */
static int parse_list(const char *s, double *v, int cap)
{
    int n = 0;
    while (s && *s && n < cap) {
        char *end;
        double x = strtod(s, &end);
        if (end == s) die("cannot parse number list '%s'", s);
        v[n++] = x;
        s = end;
        while (*s == ',' || *s == ' ') ++s;
    }
    return n;
}

static double mean_of(const double *v, int n)
{
    double s = 0.0;
    int i;
    for (i = 0; i < n; ++i) s += v[i];
    return n ? s / n : 0.0;
}

/* Sample standard deviation (n-1); 0 for a single value. */
static double std_of(const double *v, int n)
{
    double m = mean_of(v, n), s = 0.0;
    int i;
    if (n < 2) return 0.0;
    for (i = 0; i < n; ++i) s += (v[i] - m) * (v[i] - m);
    return sqrt(s / (n - 1));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------------ */
/* options                                                                  */
/* ------------------------------------------------------------------------ */

#define MAX_LIST 16
#define MAX_SEEDS 32
#define MAX_TEACHERS 8

typedef struct options {
    const char *csv, *target, *features, *out, *split, *data_dir;
    long max_rows;
    int lookback, horizon, stride;
    int t_hidden, t_layers, s_hidden, m_hidden;
    int epochs, s_epochs, batch, patience, warmup, bins;
    float lr, coverage;
    int seeds, teachers;
    unsigned long long seed;
    float alpha, beta, temp;
    int alpha_set, beta_set, temp_set;
    double grid_alpha[MAX_LIST], grid_beta[MAX_LIST], grid_temp[MAX_LIST], sweep[MAX_LIST];
    int n_grid_alpha, n_grid_beta, n_grid_temp, n_sweep;
    int full, quick, no_dist, no_remedies, ablation, slice_windows, dist_hard_all, sweep_set, temp_grid_set;
} options;

static void defaults(options *o)
{
    memset(o, 0, sizeof *o);
    o->csv = "data/ETTh1.csv";
    o->target = "OT";
    o->features = NULL;
    o->out = "results";
    o->split = "auto";
    o->data_dir = "data";
    o->lookback = 96;
    o->horizon = 24;
    o->stride = 3;
    o->t_hidden = 64;
    o->t_layers = 2;
    o->s_hidden = 8;
    o->m_hidden = 24;
    o->epochs = 6;
    o->s_epochs = 6;
    o->batch = 64;
    o->patience = 0;
    o->warmup = 3;
    o->bins = 16;
    o->lr = 1e-3f;
    o->coverage = 0.8f;
    o->seeds = 3;
    o->teachers = 2;
    o->seed = 1;
    o->alpha = 0.5f;
    o->beta = 0.5f;
    o->temp = 2.0f;
    o->n_grid_alpha = parse_list("0.3,0.7,1.0", o->grid_alpha, MAX_LIST);
    o->n_grid_beta = parse_list("0,0.5", o->grid_beta, MAX_LIST);
    o->n_grid_temp = parse_list("2", o->grid_temp, MAX_LIST);
    o->n_sweep = parse_list("4,8,16", o->sweep, MAX_LIST);
    o->slice_windows = 10;
}

static void usage(void)
{
    options d;
    defaults(&d);
    printf("usage: distill_experiment [options]\n"
           "Replicates the teacher-student distillation experiment and writes tables and\n"
           "SVG pictures to the output folder. Defaults in brackets.\n\n"
           "data\n"
           "  --csv PATH          CSV file [%s]\n"
           "  --target NAME       column to forecast [%s]\n"
           "  --features A,B,..   input columns [the target only]; the target may be one of them\n"
           "  --split S           auto | rows:TRAIN,VAL,TEST | ratio:TRAIN,VAL,TEST [%s]\n"
           "                      auto = rows:8640,2880,2880 (ETT 12/4/4 months) when the file\n"
           "                      has >= 14400 rows, else ratio:0.6,0.2,0.2\n"
           "  --max-rows N        use only the first N rows [all]\n"
           "  --lookback T        input steps per window [%d]\n"
           "  --horizon H         values forecast per step [%d]\n"
           "  --stride S          rows between training windows (val/test use 1) [%d]\n"
           "models\n"
           "  --teacher LxH       teacher layers x hidden [%dx%d]\n"
           "  --student H         student hidden units (1 layer) [%d]\n"
           "  --mid H             mid-size student of progressive distillation [%d]\n"
           "  --bins K            bins of distribution mode [%d]\n"
           "  --teachers N        point teachers trained (the ensemble averages them) [%d]\n"
           "training\n"
           "  --epochs N          teacher epochs [%d]\n"
           "  --student-epochs N  epochs of every student, raw and distilled alike [%d]\n"
           "  --batch N           mini-batch [%d]\n"
           "  --lr X              Adam learning rate [%g]\n"
           "  --patience N        early stopping patience, 0 = run all epochs; the best\n"
           "                      validation weights are always kept [%d]\n"
           "  --warmup N          epochs of alpha warm-up of the incremental student [%d]\n"
           "  --seeds N           student seeds [%d]\n"
           "  --seed N            first seed [%llu]\n"
           "distillation weights (given = no grid for that weight)\n"
           "  --alpha X           weight of L_soft, (1-alpha) on L_hard [grid]\n"
           "  --beta X            weight of L_seq [grid]\n"
           "  --temperature X     distribution-mode temperature [grid]\n"
           "  --grid-alpha LIST   [0.3,0.7,1.0]   --grid-beta LIST [0,0.5]\n"
           "  --grid-temp LIST    [2] (one value: T given, not searched); --full: [1,2,4]\n"
           "                      (every grid: validation split only, first seed)\n"
           "experiment\n"
           "  --sweep LIST        student sizes of the size sweep, first seed [4,8,16];\n"
           "                      --full: [4,8,16,32] on every seed\n"
           "  --no-dist           skip the distribution-mode models\n"
           "  --dist-hard-all     distribution-mode students: hard loss on every step (default:\n"
           "                      the last step only, for time; the dist teacher uses every step)\n"
           "  --no-remedies       skip ensemble / incremental / progressive\n"
           "  --ablation          add alpha-only and beta-only students\n"
           "  --out DIR           output folder [%s]\n"
           "  --quick             tiny run in seconds: first 2000 rows of the CSV, ratio\n"
           "                      split 0.6/0.2/0.2, lookback 24, horizon 6, stride 2,\n"
           "                      teacher 2x16, student 4, mid 8, 8 bins, 2 epochs, 1 seed\n"
           "  --full              every bundled series long enough (ETTh1, ETTh2, Peyton\n"
           "                      Manning), 5 seeds, size sweep on all seeds, ablation\n"
           "  --data-dir DIR      where --full finds the bundled files [%s]\n"
           "  --help              this text\n",
           d.csv, d.target, d.split, d.lookback, d.horizon, d.stride, d.t_layers, d.t_hidden, d.s_hidden,
           d.m_hidden, d.bins, d.teachers, d.epochs, d.s_epochs, d.batch, (double)d.lr, d.patience, d.warmup,
           d.seeds, d.seed, d.out, d.data_dir);
}

static void parse_args(options *o, int argc, char **argv)
{
    /* the options that only store their value */
    struct { const char *name; int *p; } flags[] = {
        {"--quick", &o->quick}, {"--full", &o->full}, {"--no-dist", &o->no_dist},
        {"--no-remedies", &o->no_remedies}, {"--dist-hard-all", &o->dist_hard_all}, {"--ablation", &o->ablation}};
    struct { const char *name; const char **p; } strs[] = {
        {"--csv", &o->csv}, {"--target", &o->target}, {"--features", &o->features},
        {"--split", &o->split}, {"--out", &o->out}, {"--data-dir", &o->data_dir}};
    struct { const char *name; int *p; } ints[] = {
        {"--lookback", &o->lookback}, {"--horizon", &o->horizon}, {"--stride", &o->stride},
        {"--student", &o->s_hidden}, {"--mid", &o->m_hidden}, {"--bins", &o->bins},
        {"--teachers", &o->teachers}, {"--epochs", &o->epochs}, {"--student-epochs", &o->s_epochs},
        {"--batch", &o->batch}, {"--patience", &o->patience}, {"--warmup", &o->warmup},
        {"--seeds", &o->seeds}};
    struct { const char *name; float *p; int *set; } floats[] = {
        {"--lr", &o->lr, NULL}, {"--alpha", &o->alpha, &o->alpha_set}, {"--beta", &o->beta, &o->beta_set},
        {"--temperature", &o->temp, &o->temp_set}};
    struct { const char *name; double *v; int *n, *set; } lists[] = {
        {"--grid-alpha", o->grid_alpha, &o->n_grid_alpha, NULL}, {"--grid-beta", o->grid_beta, &o->n_grid_beta, NULL},
        {"--grid-temp", o->grid_temp, &o->n_grid_temp, &o->temp_grid_set},
        {"--sweep", o->sweep, &o->n_sweep, &o->sweep_set}};
#define NELEM(t) (int)(sizeof t / sizeof t[0])
    int i, k;
    for (i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int done = 0;
#define NEEDV()                                                   \
    do {                                                          \
        if (!v) die("option %s needs a value (see --help)", a);   \
        ++i;                                                      \
        done = 1;                                                 \
    } while (0)
        for (k = 0; k < NELEM(flags) && !done; ++k)
            if (!strcmp(a, flags[k].name)) *flags[k].p = done = 1;
        for (k = 0; k < NELEM(strs) && !done; ++k)
            if (!strcmp(a, strs[k].name)) { NEEDV(); *strs[k].p = v; }
        for (k = 0; k < NELEM(ints) && !done; ++k)
            if (!strcmp(a, ints[k].name)) { NEEDV(); *ints[k].p = atoi(v); }
        for (k = 0; k < NELEM(floats) && !done; ++k)
            if (!strcmp(a, floats[k].name)) {
                NEEDV();
                *floats[k].p = (float)atof(v);
                if (floats[k].set) *floats[k].set = 1;
            }
        for (k = 0; k < NELEM(lists) && !done; ++k)
            if (!strcmp(a, lists[k].name)) {
                NEEDV();
                *lists[k].n = parse_list(v, lists[k].v, MAX_LIST);
                if (lists[k].set) *lists[k].set = 1;
            }
        if (done) continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--max-rows")) {
            NEEDV(); o->max_rows = atol(v);
        } else if (!strcmp(a, "--teacher")) {
            NEEDV();
            if (sscanf(v, "%dx%d", &o->t_layers, &o->t_hidden) != 2) die("--teacher wants LxH, e.g. 2x64");
        } else if (!strcmp(a, "--seed")) {
            NEEDV(); o->seed = strtoull(v, NULL, 10);
        } else {
            die("unknown option '%s' (see --help)", a);
        }
#undef NEEDV
    }
#undef NELEM
    if (o->quick) { /* tiny sizes; explicit flags after --quick are not re-applied */
        o->max_rows = 2000;
        o->split = "ratio:0.6,0.2,0.2";
        o->lookback = 24;
        o->horizon = 6;
        o->stride = 2;
        o->t_hidden = 16;
        o->t_layers = 2;
        o->s_hidden = 4;
        o->m_hidden = 8;
        o->bins = 8;
        o->epochs = 2;
        o->s_epochs = 2;
        o->seeds = 1;
        o->teachers = 2;
        o->n_grid_alpha = parse_list("0.5,1.0", o->grid_alpha, MAX_LIST);
        o->n_grid_beta = parse_list("0,0.5", o->grid_beta, MAX_LIST);
        o->n_grid_temp = parse_list("2", o->grid_temp, MAX_LIST);
        o->n_sweep = parse_list("2,4", o->sweep, MAX_LIST);
        o->slice_windows = 8;
    }
    if (o->full) {
        if (o->seeds < 5) o->seeds = 5;
        o->ablation = 1;
        if (!o->sweep_set) o->n_sweep = parse_list("4,8,16,32", o->sweep, MAX_LIST);
        if (!o->temp_grid_set) o->n_grid_temp = parse_list("1,2,4", o->grid_temp, MAX_LIST);
    }
    if (o->seeds < 1 || o->seeds > MAX_SEEDS) die("--seeds must be 1..%d", MAX_SEEDS);
    if (o->teachers < 1 || o->teachers > MAX_TEACHERS) die("--teachers must be 1..%d", MAX_TEACHERS);
    if (o->lookback < 1 || o->horizon < 1 || o->stride < 1 || o->batch < 1 || o->epochs < 1 || o->s_epochs < 1)
        die("lookback, horizon, stride, batch and epochs must be >= 1");
    if (o->t_hidden < 1 || o->t_layers < 1 || o->t_layers > KDTS_MAX_LAYERS || o->s_hidden < 1 || o->m_hidden < 1 ||
        o->bins < 2)
        die("bad model sizes");
    if (!(o->alpha >= 0 && o->alpha <= 1) || !(o->beta >= 0) || !(o->temp > 0)) die("bad alpha, beta or temperature");
}

/* ------------------------------------------------------------------------ */
/* records                                                                  */
/* ------------------------------------------------------------------------ */

enum { TAB_MAIN = 0, TAB_SWEEP = 1 };

typedef struct run_rec {
    char series[48], model[48];
    int seed, layers, hidden, mode, bins, table, hard_last;
    double alpha, beta, temp;
    double mse_n, mae_n, mse_o, mae_o, val_mse;
    double params, flops, lat_us, train_s;
    int epochs_run, best_epoch;
} run_rec;

typedef struct grid_rec {
    char series[48];
    int mode;
    double alpha, beta, temp, val_mse;
    int chosen;
} grid_rec;

#define MAX_EPOCHS 512
typedef struct curve {
    char series[48], label[64];
    int n;
    double loss[MAX_EPOCHS], val[MAX_EPOCHS];
} curve;

/* One series' settings. */
typedef struct series_spec {
    char name[48];
    char path[512];
    const char *target, *features, *split;
    long max_rows;
    int lookback, horizon, stride, epochs, s_epochs;
} series_spec;

/* Data of one series after preprocessing. */
typedef struct series_data {
    kdts_table tab;
    long rows;
    kdts_scaler sc;
    int tcol, F;
    int feat[KDTS_MAX_COLUMNS];
    kdts_split sp;
    kdts_windows tr, va, te;
    kdts_dataset dtr, dva, dte;
    float bin_lo, bin_hi;
    char split_desc[128];
} series_data;

/* What the forecast picture needs: a slice of the test split in original units. */
typedef struct slice_pic {
    int n;                 /* steps shown = windows * horizon */
    double *actual, *teacher, *raw, *kd, *dist, *dist_lo, *dist_hi;
    int have_dist;
} slice_pic;

typedef struct experiment {
    options o;
    int argc;
    char **argv;
    run_rec *runs;
    int nruns, capruns;
    grid_rec *grid;
    int ngrid, capgrid;
    curve *curves;
    int ncurves, capcurves;
    char notes[4096];
    double t_start;
} experiment;

/* Make room for element n of the growable array arr (elements of sz bytes,
   capacity *cap, first capacity first) and zero it; returns the array. */
static void *grow_zeroed(void *arr, int n, int *cap, int first, size_t sz)
{
    if (n == *cap) {
        *cap = *cap ? 2 * *cap : first;
        arr = realloc(arr, (size_t)*cap * sz);
        if (!arr) die("out of memory");
    }
    memset((char *)arr + (size_t)n * sz, 0, sz);
    return arr;
}

static run_rec *add_run(experiment *e)
{
    e->runs = (run_rec *)grow_zeroed(e->runs, e->nruns, &e->capruns, 64, sizeof(run_rec));
    return &e->runs[e->nruns++];
}

static grid_rec *add_grid(experiment *e)
{
    e->grid = (grid_rec *)grow_zeroed(e->grid, e->ngrid, &e->capgrid, 32, sizeof(grid_rec));
    return &e->grid[e->ngrid++];
}

static curve *add_curve(experiment *e, const char *series, const char *label)
{
    curve *c;
    e->curves = (curve *)grow_zeroed(e->curves, e->ncurves, &e->capcurves, 16, sizeof(curve));
    c = &e->curves[e->ncurves++];
    scopy(c->series, sizeof c->series, series);
    scopy(c->label, sizeof c->label, label);
    return c;
}

static void note(experiment *e, const char *fmt, ...)
{
    size_t len = strlen(e->notes);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->notes + len, sizeof e->notes - len, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* data                                                                     */
/* ------------------------------------------------------------------------ */

/* Split "a,b,c" into names stored in buf (NUL-separated); returns count. */
static int split_names(const char *s, char *buf, size_t cap, const char **names, int max)
{
    int n = 0;
    size_t len;
    if (!s) return 0;
    len = strlen(s);
    if (len + 1 > cap) die("column list too long");
    memcpy(buf, s, len + 1);
    while (*buf && n < max) {
        char *end = strchr(buf, ',');
        if (end) *end = 0;
        names[n++] = buf;
        if (!end) break;
        buf = end + 1;
    }
    return n;
}

static void load_series(series_data *d, const series_spec *ss, int batch_hint)
{
    kdts_error err;
    kdts_csv_config cc = kdts_csv_config_default();
    kdts_scaler_config scc = kdts_scaler_config_default();
    kdts_window_config wc = kdts_window_config_default();
    const char *names[KDTS_MAX_COLUMNS];
    char namebuf[4096];
    int nf = 0, n, i, have_target = 0, tgt[1];
    long k, cnt;
    (void)batch_hint;

    memset(d, 0, sizeof *d);
    nf = split_names(ss->features, namebuf, sizeof namebuf, names, KDTS_MAX_COLUMNS - 1);
    for (i = 0; i < nf; ++i)
        if (!strcmp(names[i], ss->target)) have_target = 1;
    n = nf;
    if (!have_target) names[n++] = ss->target;
    cc.columns = names;
    cc.n_columns = n;
    cc.missing = KDTS_MISSING_INTERPOLATE; /* gaps are filled, never dropped */
    memset(&err, 0, sizeof err);
    check(kdts_csv_read_file(&d->tab, ss->path, &cc, &err), &err, "reading the CSV");
    d->rows = d->tab.rows;
    if (ss->max_rows > 0 && ss->max_rows < d->rows) d->rows = ss->max_rows;
    d->tcol = kdts_table_find(&d->tab, ss->target);
    if (d->tcol < 0) die("target column %s not found", ss->target);
    if (nf == 0) {
        d->F = 1;
        d->feat[0] = d->tcol;
    } else {
        d->F = nf;
        for (i = 0; i < nf; ++i) d->feat[i] = kdts_table_find(&d->tab, names[i]);
    }
    /* split */
    if (!strcmp(ss->split, "auto")) {
        if (d->rows >= 14400)
            check(kdts_split_rows(&d->sp, d->rows, 8640, 2880, 2880, &err), &err, "split");
        else
            check(kdts_split_ratio(&d->sp, d->rows, 0.6, 0.2, 0.2, &err), &err, "split");
    } else if (!strncmp(ss->split, "rows:", 5)) {
        double v[3];
        if (parse_list(ss->split + 5, v, 3) != 3) die("--split rows:TRAIN,VAL,TEST");
        check(kdts_split_rows(&d->sp, d->rows, (long)v[0], (long)v[1], (long)v[2], &err), &err, "split");
    } else if (!strncmp(ss->split, "ratio:", 6)) {
        double v[3];
        if (parse_list(ss->split + 6, v, 3) != 3) die("--split ratio:TRAIN,VAL,TEST");
        check(kdts_split_ratio(&d->sp, d->rows, v[0], v[1], v[2], &err), &err, "split");
    } else {
        die("--split must be auto, rows:... or ratio:...");
    }
    snprintf(d->split_desc, sizeof d->split_desc, "rows [0,%ld) train, [%ld,%ld) validation, [%ld,%ld) test",
             d->sp.train.end, d->sp.val.begin, d->sp.val.end, d->sp.test.begin, d->sp.test.end);
    /* z-score fit on the training rows only, applied to all rows */
    scc.kind = KDTS_SCALER_ZSCORE;
    check(kdts_scaler_fit_table(&d->sc, &scc, &d->tab, d->sp.train.begin, d->sp.train.end, &err), &err, "scaler");
    kdts_scaler_apply_table(&d->sc, &d->tab);
    /* windows, normalized relative to the last observed value */
    tgt[0] = d->tcol;
    wc.lookback = ss->lookback;
    wc.horizon = ss->horizon;
    wc.features = d->feat;
    wc.n_features = d->F;
    wc.targets = tgt;
    wc.n_targets = 1;
    wc.norm = KDTS_WNORM_LAST;
    wc.stride = ss->stride;
    check(kdts_windows_make(&d->tr, &d->tab, d->sp.train.begin, d->sp.train.end, &wc, &err), &err,
          "training windows");
    wc.stride = 1;
    check(kdts_windows_make(&d->va, &d->tab, d->sp.val.begin, d->sp.val.end, &wc, &err), &err,
          "validation windows (split too short for lookback + horizon?)");
    check(kdts_windows_make(&d->te, &d->tab, d->sp.test.begin, d->sp.test.end, &wc, &err), &err,
          "test windows (split too short for lookback + horizon?)");
    d->dtr.x = d->tr.x; d->dtr.y = d->tr.y; d->dtr.n = (int)d->tr.n;
    d->dva.x = d->va.x; d->dva.y = d->va.y; d->dva.n = (int)d->va.n;
    d->dte.x = d->te.x; d->dte.y = d->te.y; d->dte.n = (int)d->te.n;
    d->dtr.T = d->dva.T = d->dte.T = ss->lookback;
    d->dtr.F = d->dva.F = d->dte.F = d->F;
    d->dtr.h = d->dva.h = d->dte.h = ss->horizon;
    /* bin range of distribution mode: the 1% and 99% quantiles of the training
       targets (all steps) widened by 10% of their distance; rarer values fall in
       the edge bins. Min-max would spend most bins on rare jumps. */
    {
        long m = 0, step;
        double *v;
        float lo, hi, pad;
        cnt = d->tr.n * ss->lookback * ss->horizon;
        step = cnt > 400000 ? cnt / 400000 : 1;
        v = (double *)xmalloc((size_t)(cnt / step + 1) * sizeof(double));
        for (k = 0; k < cnt; k += step) v[m++] = d->tr.y[k];
        qsort(v, (size_t)m, sizeof(double), cmp_double);
        lo = (float)v[(long)(0.01 * (m - 1))];
        hi = (float)v[(long)(0.99 * (m - 1))];
        free(v);
        pad = 0.1f * (hi - lo) + 1e-3f;
        d->bin_lo = lo - pad;
        d->bin_hi = hi + pad;
    }
}

static void free_series(series_data *d)
{
    kdts_windows_free(&d->tr);
    kdts_windows_free(&d->va);
    kdts_windows_free(&d->te);
    kdts_table_free(&d->tab);
}

/* Error metrics of window-space forecasts fc (n,h) on windows w:
   normalized units = the z-scored target, original units = the CSV's. */
static void metrics(const series_data *d, const kdts_windows *w, const float *fc, double *mse_n, double *mae_n,
                    double *mse_o, double *mae_o)
{
    long n, j;
    int T = w->T, H = w->H, F = w->F;
    double se = 0, ae = 0, seo = 0, aeo = 0;
    for (n = 0; n < w->n; ++n) {
        double off = w->norm_offset ? w->norm_offset[n * (F + 1) + F] : 0.0;
        double scl = w->norm_scale ? w->norm_scale[n * (F + 1) + F] : 1.0;
        for (j = 0; j < H; ++j) {
            double p = fc[n * H + j] * scl + off;
            double y = w->y[((size_t)n * T + T - 1) * H + j] * scl + off;
            double po = kdts_scaler_invert_value(&d->sc, d->tcol, (float)p);
            double yo = kdts_scaler_invert_value(&d->sc, d->tcol, (float)y);
            se += (p - y) * (p - y);
            ae += fabs(p - y);
            seo += (po - yo) * (po - yo);
            aeo += fabs(po - yo);
        }
    }
    n = w->n * H;
    if (mse_n) *mse_n = se / n;
    if (mae_n) *mae_n = ae / n;
    if (mse_o) *mse_o = seo / n;
    if (mae_o) *mae_o = aeo / n;
}

/* Persistence: every future value equals the last observed one. */
static void persistence_fc(const series_data *d, const kdts_windows *w, float *fc)
{
    long n;
    int j, F = w->F;
    for (n = 0; n < w->n; ++n) {
        float last = d->tab.col[d->tcol][w->start[n] + w->T - 1];
        float off = w->norm_offset ? w->norm_offset[n * (F + 1) + F] : 0.0f;
        float scl = w->norm_scale ? w->norm_scale[n * (F + 1) + F] : 1.0f;
        for (j = 0; j < w->H; ++j) fc[n * w->H + j] = (last - off) / scl;
    }
}

/* ------------------------------------------------------------------------ */
/* training                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct progress {
    const char *series, *label;
    unsigned long long seed;
    curve *cv;
    double t0;
} progress;

static int on_epoch(const kdts_epoch_info *in, void *user)
{
    progress *p = (progress *)user;
    fprintf(stderr, "  [%s] %-26s seed %-3llu epoch %2d/%-2d loss %.5f (hard %.5f soft %.5f seq %.5f) val %.5f best %.5f@%d  %.1fs\n",
            p->series, p->label, p->seed, in->epoch, in->epochs, in->loss, in->hard, in->soft, in->seq, in->val_mse,
            in->best_val_mse, in->best_epoch, now_seconds() - p->t0);
    if (p->cv && p->cv->n < MAX_EPOCHS) {
        p->cv->loss[p->cv->n] = in->loss;
        p->cv->val[p->cv->n] = in->val_mse;
        p->cv->n++;
    }
    return 0;
}

typedef struct model_spec {
    const char *name;
    int layers, hidden;
    kdts_mode mode;
    const kdts_lstm *const *teachers;
    int nteachers;
    float alpha, beta, temp;
    int warmup, epochs;
    int hard_last;           /* hard loss on the last step only */
} model_spec;

static void model_config(kdts_lstm_config *mc, const series_data *d, const series_spec *ss, const options *o,
                         int layers, int hidden, kdts_mode mode)
{
    memset(mc, 0, sizeof *mc);
    mc->input = d->F;
    mc->hidden = hidden;
    mc->layers = layers;
    mc->horizon = ss->horizon;
    mc->mode = mode;
    if (mode == KDTS_MODE_DIST) {
        mc->bins = o->bins;
        mc->bin_lo = d->bin_lo;
        mc->bin_hi = d->bin_hi;
    }
}

/* Evaluate m on windows w: metrics in both units. fc has room for (w->n, h). */
static void eval_model(const series_data *d, const kdts_lstm *m, const kdts_windows *w, float *fc, double *mse_n,
                       double *mae_n, double *mse_o, double *mae_o)
{
    kdts_error err;
    check(kdts_predict(m, w->x, (int)w->n, w->T, fc, &err), &err, "predict");
    metrics(d, w, fc, mse_n, mae_n, mse_o, mae_o);
}

/* Initialize and train one model; fill rec (when not NULL) with every
   column, test metrics included only when with_test is set. Returns the
   validation MSE in normalized units. */
static double train_model(experiment *e, const series_data *d, const series_spec *ss, kdts_lstm *m,
                          const model_spec *ms, unsigned long long seed, curve *cv, run_rec *rec, int with_test)
{
    const options *o = &e->o;
    kdts_lstm_config mc;
    kdts_train_config tc;
    kdts_train_report rep;
    kdts_error err;
    progress pg;
    double t0, secs, vm, va, vo, vao, tm = 0, ta = 0, to = 0, tao = 0;
    float *fc;
    char label[64];

    model_config(&mc, d, ss, o, ms->layers, ms->hidden, ms->mode);
    memset(&err, 0, sizeof err);
    check(kdts_lstm_init(m, &mc, seed * 7919ULL + 17ULL, &err), &err, "model init");
    memset(&tc, 0, sizeof tc);
    tc.epochs = ms->epochs;
    tc.batch = o->batch;
    tc.adam.lr = o->lr;
    tc.seed = seed;
    tc.patience = o->patience;
    tc.alpha = ms->alpha;
    tc.beta = ms->beta;
    tc.temperature = ms->temp;
    tc.alpha_warmup = ms->warmup;
    tc.hard_last_only = ms->hard_last;
    tc.on_epoch = on_epoch;
    tc.user = &pg;
    snprintf(label, sizeof label, "%s %dx%d%s", ms->name, ms->layers, ms->hidden,
             ms->mode == KDTS_MODE_DIST ? " dist" : "");
    pg.series = ss->name;
    pg.label = label;
    pg.seed = seed;
    pg.cv = cv;
    t0 = pg.t0 = now_seconds();
    check(kdts_train(m, &tc, &d->dtr, &d->dva, ms->teachers, ms->nteachers, &rep, &err), &err, "training");
    secs = now_seconds() - t0;
    fc = (float *)xmalloc((size_t)(d->va.n > d->te.n ? d->va.n : d->te.n) * ss->horizon * sizeof(float));
    eval_model(d, m, &d->va, fc, &vm, &va, &vo, &vao);
    if (with_test) eval_model(d, m, &d->te, fc, &tm, &ta, &to, &tao);
    free(fc);
    if (rec) {
        scopy(rec->series, sizeof rec->series, ss->name);
        scopy(rec->model, sizeof rec->model, ms->name);
        rec->seed = (int)seed;
        rec->layers = ms->layers;
        rec->hidden = ms->hidden;
        rec->mode = ms->mode;
        rec->bins = ms->mode == KDTS_MODE_DIST ? o->bins : 0;
        rec->hard_last = ms->hard_last;
        rec->alpha = ms->nteachers ? ms->alpha : 0.0;
        rec->beta = ms->nteachers ? ms->beta : 0.0;
        rec->temp = ms->nteachers && ms->mode == KDTS_MODE_DIST ? ms->temp : 1.0;
        rec->mse_n = tm;
        rec->mae_n = ta;
        rec->mse_o = to;
        rec->mae_o = tao;
        rec->val_mse = vm;
        rec->params = (double)m->nparams;
        rec->flops = kdts_lstm_forecast_flops(&m->cfg, ss->lookback);
        rec->train_s = secs;
        rec->epochs_run = rep.epochs_run;
        rec->best_epoch = rep.best_epoch;
    }
    fprintf(stderr, "  [%s] %-26s seed %-3llu done: val %.5f%s", ss->name, label, seed, vm, with_test ? "" : "\n");
    if (with_test) fprintf(stderr, " test %.5f  (%.1fs)\n", tm, secs);
    return vm;
}

/* Median wall time of one forecast (batch 1, pre-allocated workspace). */
static double measure_latency_us(const series_data *d, const series_spec *ss, const options *o, int layers,
                                 int hidden, kdts_mode mode)
{
    kdts_lstm_config mc;
    kdts_lstm m;
    kdts_lstm_ws ws;
    kdts_error err;
    double times[301], t0, est;
    float fc[4096];
    int r, reps, inner = 1, i;
    const float *x = d->te.x;
    model_config(&mc, d, ss, o, layers, hidden, mode);
    check(kdts_lstm_init(&m, &mc, 1, &err), &err, "latency model");
    check(kdts_lstm_ws_init(&ws, &m.cfg, 1, ss->lookback, 0, &err), &err, "latency workspace");
    /* warm-up and inner repetition count so one sample lasts >= ~20 us */
    t0 = now_seconds();
    for (i = 0; i < 5; ++i) kdts_lstm_forecast(&m, &ws, x, 1, ss->lookback, NULL, NULL, NULL, NULL);
    est = (now_seconds() - t0) / 5;
    if (est < 20e-6) inner = (int)(20e-6 / (est > 1e-9 ? est : 1e-9)) + 1;
    reps = est * inner * 301 > 1.0 ? 61 : 301;
    for (r = 0; r < reps; ++r) {
        t0 = now_seconds();
        for (i = 0; i < inner; ++i) {
            kdts_lstm_forecast(&m, &ws, x, 1, ss->lookback, NULL, NULL, NULL, NULL);
            if (mode == KDTS_MODE_DIST)
                kdts_dist_expect(fc, ws.out, (size_t)ss->horizon, o->bins,
                                 m.cfg.bin_lo, m.cfg.bin_hi);
        }
        times[r] = (now_seconds() - t0) / inner;
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    kdts_lstm_ws_free(&ws);
    kdts_lstm_free(&m);
    return times[reps / 2] * 1e6;
}

static double measure_persistence_latency_us(const series_data *d, int H)
{
    double times[301], t0;
    float fc[4096];
    volatile float sink = 0;
    int r, i, j, inner = 1000;
    for (r = 0; r < 301; ++r) {
        t0 = now_seconds();
        for (i = 0; i < inner; ++i) {
            float last = d->te.x[(size_t)(d->te.T - 1) * d->te.F + (i & 1)];
            for (j = 0; j < H; ++j) fc[j] = last;
            sink += fc[H - 1];
        }
        times[r] = (now_seconds() - t0) / inner;
    }
    (void)sink;
    qsort(times, 301, sizeof(double), cmp_double);
    return times[150] * 1e6;
}

/* Forecasts in original units for windows 0, h, 2h, ... (a contiguous slice). */
static void slice_forecast(const series_data *d, const series_spec *ss, const kdts_lstm *m, int nwin, double *vals,
                           double *lo, double *hi, float coverage)
{
    kdts_lstm_ws ws;
    kdts_error err;
    int k, j, H = ss->horizon, T = ss->lookback, F = d->F;
    check(kdts_lstm_ws_init(&ws, &m->cfg, 1, T, 0, &err), &err, "slice workspace");
    for (k = 0; k < nwin; ++k) {
        long n = (long)k * H;
        const float *o;
        double off = d->te.norm_offset[n * (F + 1) + F], scl = d->te.norm_scale[n * (F + 1) + F];
        check(kdts_lstm_forecast(m, &ws, d->te.x + (size_t)n * T * F, 1, T, NULL, NULL, NULL, NULL), NULL,
              "slice forecast");
        o = ws.out;
        for (j = 0; j < H; ++j) {
            float v, l = 0, h = 0;
            if (m->cfg.mode == KDTS_MODE_DIST) {
                kdts_dist_expect(&v, o + (size_t)j * m->cfg.bins, 1, m->cfg.bins, m->cfg.bin_lo, m->cfg.bin_hi);
                kdts_dist_interval(o + (size_t)j * m->cfg.bins, m->cfg.bins, m->cfg.bin_lo, m->cfg.bin_hi, coverage,
                                   &l, &h);
            } else {
                v = o[j];
            }
            vals[k * H + j] = kdts_scaler_invert_value(&d->sc, d->tcol, (float)(v * scl + off));
            if (lo) lo[k * H + j] = kdts_scaler_invert_value(&d->sc, d->tcol, (float)(l * scl + off));
            if (hi) hi[k * H + j] = kdts_scaler_invert_value(&d->sc, d->tcol, (float)(h * scl + off));
        }
    }
    kdts_lstm_ws_free(&ws);
}

/* ------------------------------------------------------------------------ */
/* SVG plotting (no dependency)                                             */
/* ------------------------------------------------------------------------ */

typedef struct plot_line {
    const char *label, *color;
    int n;
    const double *x, *y;
    int dash;                /* 0 solid, 1 dashed, 2 dotted                  */
    int markers;
    const double *lo, *hi;   /* shaded band (optional)                       */
    int hline;               /* 1: horizontal line at y[0] across the panel */
} plot_line;

typedef struct plot_panel {
    double px, py, pw, ph;   /* plot area                                    */
    const char *title, *xlabel, *ylabel;
    const char *const *xcat; /* categorical x labels at x = 0..nxcat-1       */
    int nxcat;
    int integer_x;           /* integer ticks on x                           */
} plot_panel;

static void svg_text(FILE *f, double x, double y, const char *anchor, int size, const char *extra, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" %s>", x, y, anchor, size,
            extra ? extra : "");
    for (; *s; ++s) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
    fputs("</text>\n", f);
}

static FILE *svg_open(const char *path, int w, int h)
{
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\">\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            w, h, w, h, w, h);
    return f;
}

static double nice_step(double range, int target)
{
    double raw = range / (target > 0 ? target : 5), p = pow(10.0, floor(log10(raw))), m = raw / p;
    if (m < 1.5) return p;
    if (m < 3.5) return 2 * p;
    if (m < 7.5) return 5 * p;
    return 10 * p;
}

static void fmt_tick(char *buf, size_t cap, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    if (fabs(v) < step * 1e-6) v = 0.0;
    if (fabs(v) >= 1e5 || (fabs(v) > 0 && fabs(v) < 1e-4)) snprintf(buf, cap, "%.2g", v);
    else snprintf(buf, cap, "%.*f", dec, v);
}

static const char *dash_attr(int dash)
{
    return dash == 1 ? " stroke-dasharray=\"7,4\"" : dash == 2 ? " stroke-dasharray=\"2,3\"" : "";
}

/* Axes, ticks, grid, lines and band of one panel. */
static void svg_panel(FILE *f, const plot_panel *p, const plot_line *L, int nl)
{
    double xmin = DBL_MAX, xmax = -DBL_MAX, ymin = DBL_MAX, ymax = -DBL_MAX, xs, ys, v, step;
    int i, k;
    char buf[64];
    for (i = 0; i < nl; ++i) {
        for (k = 0; k < L[i].n; ++k) {
            if (!L[i].hline) {
                if (L[i].x[k] < xmin) xmin = L[i].x[k];
                if (L[i].x[k] > xmax) xmax = L[i].x[k];
            }
            if (isfinite(L[i].y[k])) {
                if (L[i].y[k] < ymin) ymin = L[i].y[k];
                if (L[i].y[k] > ymax) ymax = L[i].y[k];
            }
            if (L[i].lo && isfinite(L[i].lo[k]) && L[i].lo[k] < ymin) ymin = L[i].lo[k];
            if (L[i].hi && isfinite(L[i].hi[k]) && L[i].hi[k] > ymax) ymax = L[i].hi[k];
        }
    }
    if (p->xcat) {
        xmin = -0.3;
        xmax = p->nxcat - 1 + 0.3;
    }
    if (!(xmax > xmin)) { xmin -= 1; xmax += 1; }
    if (!(ymax > ymin)) { ymin -= 1; ymax += 1; }
    {
        double pad = 0.06 * (ymax - ymin);
        ymin -= pad;
        ymax += pad;
    }
    xs = p->pw / (xmax - xmin);
    ys = p->ph / (ymax - ymin);
#define SX(vx) (p->px + ((vx) - xmin) * xs)
#define SY(vy) (p->py + p->ph - ((vy) - ymin) * ys)
    /* frame, grid and ticks */
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n", p->px,
            p->py, p->pw, p->ph);
    step = nice_step(ymax - ymin, 6);
    for (v = ceil(ymin / step) * step; v <= ymax + 1e-12; v += step) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", p->px, SY(v),
                p->px + p->pw, SY(v));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", p->px - 5, SY(v), p->px,
                SY(v));
        fmt_tick(buf, sizeof buf, v, step);
        svg_text(f, p->px - 8, SY(v) + 4, "end", 12, NULL, buf);
    }
    if (p->xcat) {
        for (k = 0; k < p->nxcat; ++k) {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", SX(k),
                    p->py + p->ph, SX(k), p->py + p->ph + 5);
            svg_text(f, SX(k), p->py + p->ph + 20, "middle", 12, NULL, p->xcat[k]);
        }
    } else {
        step = nice_step(xmax - xmin, 8);
        if (p->integer_x && step < 1) step = 1;
        for (v = ceil(xmin / step) * step; v <= xmax + 1e-12; v += step) {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", SX(v), p->py, SX(v),
                    p->py + p->ph);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", SX(v),
                    p->py + p->ph, SX(v), p->py + p->ph + 5);
            fmt_tick(buf, sizeof buf, v, step);
            svg_text(f, SX(v), p->py + p->ph + 20, "middle", 12, NULL, buf);
        }
    }
    if (p->title) svg_text(f, p->px + p->pw / 2, p->py - 10, "middle", 15, "font-weight=\"bold\"", p->title);
    if (p->xlabel) svg_text(f, p->px + p->pw / 2, p->py + p->ph + 42, "middle", 13, NULL, p->xlabel);
    if (p->ylabel) {
        char tr[128];
        snprintf(tr, sizeof tr, "transform=\"rotate(-90 %.1f %.1f)\"", p->px - 58, p->py + p->ph / 2);
        svg_text(f, p->px - 58, p->py + p->ph / 2, "middle", 13, tr, p->ylabel);
    }
    /* bands first, then lines */
    for (i = 0; i < nl; ++i) {
        if (!L[i].lo || !L[i].hi || L[i].n < 2) continue;
        fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.22\" stroke=\"none\" points=\"", L[i].color);
        for (k = 0; k < L[i].n; ++k) fprintf(f, "%.1f,%.1f ", SX(L[i].x[k]), SY(L[i].hi[k]));
        for (k = L[i].n - 1; k >= 0; --k) fprintf(f, "%.1f,%.1f ", SX(L[i].x[k]), SY(L[i].lo[k]));
        fprintf(f, "\"/>\n");
    }
    for (i = 0; i < nl; ++i) {
        if (L[i].hline) {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                    p->px, SY(L[i].y[0]), p->px + p->pw, SY(L[i].y[0]), L[i].color, dash_attr(L[i].dash));
            continue;
        }
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"%s points=\"",
                L[i].color, dash_attr(L[i].dash));
        for (k = 0; k < L[i].n; ++k)
            if (isfinite(L[i].y[k])) fprintf(f, "%.1f,%.1f ", SX(L[i].x[k]), SY(L[i].y[k]));
        fprintf(f, "\"/>\n");
        if (L[i].markers)
            for (k = 0; k < L[i].n; ++k)
                if (isfinite(L[i].y[k]))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", SX(L[i].x[k]),
                            SY(L[i].y[k]), L[i].color);
    }
#undef SX
#undef SY
}

/* Legend box at (x, y): one row per line. */
static void svg_legend(FILE *f, double x, double y, const plot_line *L, int nl)
{
    int i;
    for (i = 0; i < nl; ++i) {
        double yy = y + 22 * i;
        if (L[i].lo && L[i].hi)
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"28\" height=\"12\" fill=\"%s\" fill-opacity=\"0.22\"/>\n", x,
                    yy - 6, L[i].color);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"%s/>\n", x,
                yy, x + 28, yy, L[i].color, dash_attr(L[i].dash));
        if (L[i].markers) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x + 14, yy, L[i].color);
        svg_text(f, x + 36, yy + 4, "start", 13, NULL, L[i].label);
    }
}

/* Line l: label, color and the n points (x, y); everything else off. */
static plot_line *set_line(plot_line *l, const char *label, const char *color, int n, const double *x, const double *y)
{
    memset(l, 0, sizeof *l);
    l->label = label;
    l->color = color;
    l->n = n;
    l->x = x;
    l->y = y;
    return l;
}

/* A w x h picture with its title centered on top. */
static FILE *svg_begin(const char *path, int w, int h, const char *title)
{
    FILE *f = svg_open(path, w, h);
    svg_text(f, w / 2, 24, "middle", 17, "font-weight=\"bold\"", title);
    return f;
}

/* A panel with its plot area at (px, py), pw x ph; everything else off. */
static void panel_at(plot_panel *p, double px, double py, double pw, double ph)
{
    memset(p, 0, sizeof *p);
    p->px = px;
    p->py = py;
    p->pw = pw;
    p->ph = ph;
}

/* The legend at (x, 80), then close the picture. */
static void svg_end(FILE *f, double legend_x, const plot_line *L, int nl)
{
    svg_legend(f, legend_x, 80, L, nl);
    fprintf(f, "</svg>\n");
    fclose(f);
}

static const char *COLORS[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

/* Learning curves: training loss and validation MSE per epoch. */
static void plot_learning(experiment *e, const char *series, const char *path)
{
    plot_line L[16];
    double *xs[16], *nanv[16];
    int nl = 0, i, k;
    plot_panel p1, p2;
    memset(nanv, 0, sizeof nanv);
    memset(L, 0, sizeof L);
    FILE *f;
    char title[128];
    for (i = 0; i < e->ncurves && nl < 8; ++i) {
        curve *c = &e->curves[i];
        if (strcmp(c->series, series) || c->n < 1) continue;
        xs[nl] = (double *)xmalloc((size_t)c->n * sizeof(double));
        for (k = 0; k < c->n; ++k) xs[nl][k] = k + 1;
        set_line(&L[nl], c->label, COLORS[nl % 8], c->n, xs[nl], c->loss);
        if (strstr(c->label, "dist")) { /* cross-entropy: another scale, shown in the val panel only */
            nanv[nl] = (double *)xmalloc((size_t)c->n * sizeof(double));
            for (k = 0; k < c->n; ++k) nanv[nl][k] = NAN;
            L[nl].y = nanv[nl];
        }
        L[nl].markers = 1;
        L[nl].dash = strstr(c->label, "teacher") ? 1 : 0;
        nl++;
    }
    snprintf(title, sizeof title, "%s: learning curves (seed %llu)", series, e->o.seed);
    f = svg_begin(path, 1180, 470, title);
    panel_at(&p1, 85, 60, 360, 330);
    p1.title = "training loss (point models; KD: total incl. soft/seq)";
    p1.xlabel = "epoch";
    p1.ylabel = "mean training loss";
    p1.integer_x = 1;
    svg_panel(f, &p1, L, nl);
    for (i = 0; i < nl; ++i) {
        for (k = 0; k < e->ncurves; ++k)
            if (!strcmp(e->curves[k].series, series) && !strcmp(e->curves[k].label, L[i].label)) L[i].y = e->curves[k].val;
    }
    p2 = p1;
    p2.px = 560;
    p2.title = "validation MSE (normalized units)";
    p2.ylabel = "validation MSE";
    svg_panel(f, &p2, L, nl);
    svg_end(f, 940, L, nl);
    for (i = 0; i < nl; ++i) {
        free(xs[i]);
        free(nanv[i]);
    }
}

static void plot_forecast(const series_spec *ss, const slice_pic *sp, const char *path, const options *o)
{
    plot_line L[6];
    double *x = (double *)xmalloc((size_t)sp->n * sizeof(double));
    int nl = 0, k;
    plot_panel p;
    FILE *f;
    char title[160], ylab[96], xlab[96], band[96];
    for (k = 0; k < sp->n; ++k) x[k] = k + 1;
    set_line(&L[nl++], "actual", "#000000", sp->n, x, sp->actual);
    set_line(&L[nl++], "teacher", COLORS[0], sp->n, x, sp->teacher)->dash = 1;
    set_line(&L[nl++], "student raw", COLORS[1], sp->n, x, sp->raw);
    set_line(&L[nl++], "student KD", COLORS[2], sp->n, x, sp->kd);
    if (sp->have_dist) {
        snprintf(band, sizeof band, "student KD dist + %d%% interval", (int)(o->coverage * 100 + 0.5));
        set_line(&L[nl], band, COLORS[4], sp->n, x, sp->dist);
        L[nl].lo = sp->dist_lo;
        L[nl].hi = sp->dist_hi;
        nl++;
    }
    snprintf(title, sizeof title, "%s: %d-step forecasts from consecutive origins on the start of the test split",
             ss->name, ss->horizon);
    f = svg_begin(path, 1180, 480, title);
    panel_at(&p, 90, 55, 780, 350);
    snprintf(ylab, sizeof ylab, "%s (original units)", ss->target);
    snprintf(xlab, sizeof xlab, "step into the test split (new forecast origin every %d steps)", ss->horizon);
    p.xlabel = xlab;
    p.ylabel = ylab;
    p.integer_x = 1;
    svg_panel(f, &p, L, nl);
    svg_end(f, 900, L, nl);
    free(x);
}

static void plot_size(const char *series, const double *sizes, int ns, const double *raw, const double *kd,
                      const double *raw_sd, const double *kd_sd, double teacher, double persist, const char *path,
                      int nseeds)
{
    plot_line L[4];
    double x[MAX_LIST], th[1], pe[1];
    char lab[MAX_LIST][16], title[160];
    const char *cat[MAX_LIST];
    double rlo[MAX_LIST], rhi[MAX_LIST], klo[MAX_LIST], khi[MAX_LIST];
    int k, nl = 0;
    plot_panel p;
    FILE *f;
    for (k = 0; k < ns; ++k) {
        x[k] = k;
        snprintf(lab[k], sizeof lab[k], "%d", (int)sizes[k]);
        cat[k] = lab[k];
        rlo[k] = raw[k] - raw_sd[k];
        rhi[k] = raw[k] + raw_sd[k];
        klo[k] = kd[k] - kd_sd[k];
        khi[k] = kd[k] + kd_sd[k];
    }
    th[0] = teacher;
    pe[0] = persist;
    set_line(&L[nl], "student raw", COLORS[1], ns, x, raw)->markers = 1;
    if (nseeds > 1) { L[nl].lo = rlo; L[nl].hi = rhi; }
    nl++;
    set_line(&L[nl], "student KD", COLORS[2], ns, x, kd)->markers = 1;
    if (nseeds > 1) { L[nl].lo = klo; L[nl].hi = khi; }
    nl++;
    set_line(&L[nl], "teacher", COLORS[0], 1, x, th)->hline = 1;
    L[nl++].dash = 1;
    set_line(&L[nl], "persistence", "#555555", 1, x, pe)->hline = 1;
    L[nl++].dash = 2;
    snprintf(title, sizeof title, "%s: test MSE vs. student size (%d seed%s%s)", series, nseeds, nseeds > 1 ? "s" : "",
             nseeds > 1 ? ", band = +-1 std" : "");
    f = svg_begin(path, 960, 470, title);
    panel_at(&p, 95, 55, 600, 340);
    p.xcat = cat;
    p.nxcat = ns;
    p.xlabel = "student hidden units (1-layer LSTM)";
    p.ylabel = "test MSE (normalized units)";
    svg_panel(f, &p, L, nl);
    svg_end(f, 725, L, nl);
}

/* ------------------------------------------------------------------------ */
/* aggregation and reports                                                  */
/* ------------------------------------------------------------------------ */

typedef struct agg {
    char model[48];
    int layers, hidden, mode, n;
    double mse_n[2], mae_n[2], mse_o[2], mae_o[2], val[2]; /* mean, std */
    double params, flops, lat_us, train_s;
    double alpha, beta, temp;
} agg;

static int same_key(const run_rec *a, const char *series, const char *model, int hidden, int mode)
{
    return !strcmp(a->series, series) && !strcmp(a->model, model) && (hidden < 0 || a->hidden == hidden) &&
           (mode < 0 || a->mode == mode);
}

/* Aggregate the runs of (series, model[, hidden, mode]); n = 0 if none. */
static agg aggregate(const experiment *e, const char *series, const char *model, int hidden, int mode)
{
    agg a;
    double v[5][MAX_SEEDS * 4];
    int i, n = 0;
    memset(&a, 0, sizeof a);
    for (i = 0; i < e->nruns; ++i) {
        const run_rec *r = &e->runs[i];
        if (!same_key(r, series, model, hidden, mode) || n >= MAX_SEEDS * 4) continue;
        if (n == 0) {
            scopy(a.model, sizeof a.model, r->model);
            a.layers = r->layers;
            a.hidden = r->hidden;
            a.mode = r->mode;
            a.params = r->params;
            a.flops = r->flops;
            a.alpha = r->alpha;
            a.beta = r->beta;
            a.temp = r->temp;
        }
        v[0][n] = r->mse_n;
        v[1][n] = r->mae_n;
        v[2][n] = r->mse_o;
        v[3][n] = r->mae_o;
        v[4][n] = r->val_mse;
        a.lat_us += r->lat_us;
        a.train_s += r->train_s;
        n++;
    }
    a.n = n;
    if (!n) return a;
    a.mse_n[0] = mean_of(v[0], n); a.mse_n[1] = std_of(v[0], n);
    a.mae_n[0] = mean_of(v[1], n); a.mae_n[1] = std_of(v[1], n);
    a.mse_o[0] = mean_of(v[2], n); a.mse_o[1] = std_of(v[2], n);
    a.mae_o[0] = mean_of(v[3], n); a.mae_o[1] = std_of(v[3], n);
    a.val[0] = mean_of(v[4], n); a.val[1] = std_of(v[4], n);
    a.lat_us /= n;
    a.train_s /= n;
    return a;
}

/* Paired difference KD - raw of test MSE (normalized) over matching seeds. */
typedef struct paired {
    int n, wins;
    double mean, sd, rel;
} paired;

/* Pairs the runs of model kd (mode kd_mode, -1 = any) with the runs of model
   raw (mode raw_mode) of the same seed, both of student size hidden. */
static paired pair_diff(const experiment *e, const char *series, const char *kd, int kd_mode, const char *raw,
                        int raw_mode, int hidden)
{
    paired p;
    double d[MAX_SEEDS * 4], rs = 0;
    int i, j;
    memset(&p, 0, sizeof p);
    for (i = 0; i < e->nruns; ++i) {
        const run_rec *a = &e->runs[i];
        if (!same_key(a, series, kd, hidden, kd_mode)) continue;
        for (j = 0; j < e->nruns; ++j) {
            const run_rec *b = &e->runs[j];
            if (same_key(b, series, raw, hidden, raw_mode) && b->seed == a->seed && p.n < MAX_SEEDS * 4) {
                d[p.n++] = a->mse_n - b->mse_n;
                rs += b->mse_n;
                if (a->mse_n < b->mse_n) p.wins++;
                break;
            }
        }
    }
    p.mean = mean_of(d, p.n);
    p.sd = std_of(d, p.n);
    p.rel = p.n && rs > 0 ? 100.0 * p.mean / (rs / p.n) : 0.0;
    return p;
}

/* The point students of size h of the size sweep, seeds [seed0, seed0 + nseeds):
   test MSE (normalized) of the raw and the KD students (mean, std), the paired
   KD - raw differences and the raw student's size. */
typedef struct sweep_stat {
    double raw[2], kd[2], diff[2], params, flops;
    int nraw, nkd, npair, wins;
} sweep_stat;

static sweep_stat sweep_stats(const experiment *e, const char *series, int h, unsigned long long seed0, int nseeds)
{
    sweep_stat st;
    double a1[MAX_SEEDS], a2[MAX_SEEDS], dsum[MAX_SEEDS];
    int r;
    memset(&st, 0, sizeof st);
    for (r = 0; r < e->nruns; ++r) {
        const run_rec *x = &e->runs[r];
        if (strcmp(x->series, series) || x->hidden != h || x->mode != KDTS_MODE_POINT || x->seed < (int)seed0 ||
            x->seed >= (int)(seed0 + nseeds))
            continue;
        if (!strcmp(x->model, "student-raw") && st.nraw < MAX_SEEDS) {
            int y;
            a1[st.nraw++] = x->mse_n;
            st.params = x->params;
            st.flops = x->flops;
            for (y = 0; y < e->nruns; ++y) {
                const run_rec *z = &e->runs[y];
                if (!strcmp(z->series, series) && !strcmp(z->model, "student-KD") && z->hidden == h &&
                    z->mode == KDTS_MODE_POINT && z->seed == x->seed && st.npair < MAX_SEEDS) {
                    dsum[st.npair++] = z->mse_n - x->mse_n;
                    if (z->mse_n < x->mse_n) st.wins++;
                    break;
                }
            }
        }
        if (!strcmp(x->model, "student-KD") && st.nkd < MAX_SEEDS) a2[st.nkd++] = x->mse_n;
    }
    st.raw[0] = mean_of(a1, st.nraw); st.raw[1] = std_of(a1, st.nraw);
    st.kd[0] = mean_of(a2, st.nkd); st.kd[1] = std_of(a2, st.nkd);
    st.diff[0] = mean_of(dsum, st.npair); st.diff[1] = std_of(dsum, st.npair);
    return st;
}

static void fmt_flops(char *buf, size_t cap, double f)
{
    if (f >= 1e9) snprintf(buf, cap, "%.2f G", f / 1e9);
    else if (f >= 1e6) snprintf(buf, cap, "%.2f M", f / 1e6);
    else if (f >= 1e3) snprintf(buf, cap, "%.1f k", f / 1e3);
    else snprintf(buf, cap, "%.0f", f);
}

static void fmt_pm(char *buf, size_t cap, const double *ms, int n, int dec)
{
    if (n > 1) snprintf(buf, cap, "%.*f ± %.*f", dec, ms[0], dec, ms[1]);
    else snprintf(buf, cap, "%.*f", dec, ms[0]);
}

static const char *model_desc(const char *model)
{
    if (!strcmp(model, "persistence")) return "persistence (last value)";
    if (!strcmp(model, "teacher")) return "teacher";
    if (!strcmp(model, "teacher-ensemble")) return "teacher ensemble (avg. forecast)";
    if (!strcmp(model, "teacher-dist")) return "teacher (dist)";
    if (!strcmp(model, "mid-KD")) return "mid student, KD (for progressive)";
    if (!strcmp(model, "student-raw")) return "student raw";
    if (!strcmp(model, "student-raw-last")) return "student raw, hard loss on last step only (control)";
    if (!strcmp(model, "student-KD")) return "**student KD**";
    if (!strcmp(model, "student-raw-dist")) return "student raw (dist)";
    if (!strcmp(model, "student-KD-dist")) return "student KD (dist)";
    if (!strcmp(model, "student-KD-ensemble")) return "student KD from ensemble";
    if (!strcmp(model, "student-KD-incremental")) return "student KD incremental (alpha warm-up)";
    if (!strcmp(model, "student-KD-progressive")) return "student KD progressive (teacher→mid→student)";
    if (!strcmp(model, "student-KD-alpha-only")) return "student KD, alpha only (beta = 0)";
    if (!strcmp(model, "student-KD-beta-only")) return "student KD, beta only (alpha = 0)";
    return model;
}

static const char *MAIN_ORDER[] = {"persistence",
                                   "teacher",
                                   "teacher-ensemble",
                                   "teacher-dist",
                                   "mid-KD",
                                   "student-raw",
                                   "student-raw-last",
                                   "student-KD",
                                   "student-KD-alpha-only",
                                   "student-KD-beta-only",
                                   "student-raw-dist",
                                   "student-KD-dist",
                                   "student-KD-ensemble",
                                   "student-KD-incremental",
                                   "student-KD-progressive"};
#define N_MAIN_ORDER ((int)(sizeof MAIN_ORDER / sizeof MAIN_ORDER[0]))

/* The main table of one series in Markdown. */
static void write_main_table(FILE *f, const experiment *e, const char *series)
{
    int i;
    fprintf(f, "| model | size | mode | α / β / T | n | test MSE (norm.) | test MAE (norm.) | test MSE (orig.) | "
               "test MAE (orig.) | val MSE | params | FLOPs/forecast | latency µs | train s |\n");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (i = 0; i < N_MAIN_ORDER; ++i) {
        int r, found = 0;
        for (r = 0; r < e->nruns && !found; ++r) {
            const run_rec *rr = &e->runs[r];
            agg a;
            char c1[48], c2[48], c3[48], c4[48], c5[48], fl[32], size[32], w[48];
            if (rr->table != TAB_MAIN || strcmp(rr->series, series) || strcmp(rr->model, MAIN_ORDER[i])) continue;
            found = 1;
            a = aggregate(e, series, rr->model, rr->hidden, rr->mode);
            fmt_pm(c1, sizeof c1, a.mse_n, a.n, 4);
            fmt_pm(c2, sizeof c2, a.mae_n, a.n, 4);
            fmt_pm(c3, sizeof c3, a.mse_o, a.n, 3);
            fmt_pm(c4, sizeof c4, a.mae_o, a.n, 3);
            fmt_pm(c5, sizeof c5, a.val, a.n, 4);
            fmt_flops(fl, sizeof fl, a.flops);
            if (!strcmp(rr->model, "persistence")) snprintf(size, sizeof size, "-");
            else if (!strcmp(rr->model, "teacher-ensemble")) snprintf(size, sizeof size, "%d×(%dx%d)", e->o.teachers, a.layers, a.hidden);
            else snprintf(size, sizeof size, "%dx%d", a.layers, a.hidden);
            if (strstr(rr->model, "KD")) {
                if (a.mode == KDTS_MODE_DIST) snprintf(w, sizeof w, "%.2g / %.2g / %.2g", a.alpha, a.beta, a.temp);
                else snprintf(w, sizeof w, "%.2g / %.2g / -", a.alpha, a.beta);
            } else {
                snprintf(w, sizeof w, "-");
            }
            fprintf(f, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %.0f | %s | %.1f | %.1f |\n",
                    model_desc(rr->model), size,
                    rr->model[0] == 'p' ? "-"
                    : a.mode == KDTS_MODE_DIST ? (rr->hard_last ? "dist (hard: last step)" : "dist")
                                               : (rr->hard_last ? "point (hard: last step)" : "point"),
                    w, a.n, c1, c2, c3, c4, c5, a.params, fl, a.lat_us, a.train_s);
        }
    }
}

typedef struct pair_spec {
    const char *kd, *raw, *label;
    int kd_mode, raw_mode; /* kd_mode -1: any (the cross-mode pair) */
} pair_spec;

static const pair_spec PAIRS[] = {
    {"student-KD", "student-raw", "KD (point) − raw (point)", KDTS_MODE_POINT, KDTS_MODE_POINT},
    {"student-KD", "student-raw-last", "KD (point) − raw with last-step hard loss (control)", KDTS_MODE_POINT,
     KDTS_MODE_POINT},
    {"student-KD-alpha-only", "student-raw", "KD alpha only − raw", KDTS_MODE_POINT, KDTS_MODE_POINT},
    {"student-KD-beta-only", "student-raw", "KD beta only − raw", KDTS_MODE_POINT, KDTS_MODE_POINT},
    {"student-KD-dist", "student-raw-dist", "KD (dist) − raw (dist)", KDTS_MODE_DIST, KDTS_MODE_DIST},
    {"student-KD-dist", "student-raw", "KD (dist) − raw (point)", -1, KDTS_MODE_POINT},
    {"student-KD-ensemble", "student-raw", "KD ensemble − raw", KDTS_MODE_POINT, KDTS_MODE_POINT},
    {"student-KD-incremental", "student-raw", "KD incremental − raw", KDTS_MODE_POINT, KDTS_MODE_POINT},
    {"student-KD-progressive", "student-raw", "KD progressive − raw", KDTS_MODE_POINT, KDTS_MODE_POINT},
};
#define N_PAIRS ((int)(sizeof PAIRS / sizeof PAIRS[0]))

static void write_pair_table(FILE *f, const experiment *e, const char *series, int hidden)
{
    int i;
    fprintf(f, "| comparison (same seeds, epochs, lr, early stopping; only the loss differs) | n | KD − raw test MSE "
               "(norm.), mean ± std | relative | seeds where KD won |\n|---|---|---|---|---|\n");
    for (i = 0; i < N_PAIRS; ++i) {
        const pair_spec *ps = &PAIRS[i];
        paired p = pair_diff(e, series, ps->kd, ps->kd_mode, ps->raw, ps->raw_mode, hidden);
        if (!p.n) continue;
        fprintf(f, "| %s | %d | %+.5f ± %.5f | %+.2f%% | %d of %d |\n", ps->label, p.n, p.mean, p.sd, p.rel, p.wins, p.n);
    }
}

/* Verdicts on the claims of the source document for one series. */
static void write_claims(FILE *f, const experiment *e, const char *series, int hidden)
{
    agg pe = aggregate(e, series, "persistence", -1, -1);
    agg te = aggregate(e, series, "teacher", -1, KDTS_MODE_POINT);
    agg raw = aggregate(e, series, "student-raw", hidden, KDTS_MODE_POINT);
    agg kd = aggregate(e, series, "student-KD", hidden, KDTS_MODE_POINT);
    paired p = pair_diff(e, series, "student-KD", KDTS_MODE_POINT, "student-raw", KDTS_MODE_POINT, hidden);
    paired c = pair_diff(e, series, "student-KD", KDTS_MODE_POINT, "student-raw-last", KDTS_MODE_POINT, hidden);
    double keep_raw, keep_kd;
    const char *v;
    if (!te.n || !raw.n || !kd.n) return;
    /* 1. more accurate than raw */
    {
        int beats_raw = p.mean < 0 && 2 * p.wins > p.n;
        int beats_control = !c.n || (c.mean < 0 && 2 * c.wins > c.n);
        if (beats_raw && beats_control) v = "holds";
        else if (p.mean >= 0 && 2 * p.wins <= p.n) v = "does not hold";
        else if (beats_raw) v = "mixed (KD beats the raw student, but not the control below)";
        else v = "mixed";
    }
    fprintf(f, "- **Distilled student more accurate than the raw one: %s.** KD − raw test MSE = %+.5f ± %.5f "
               "(%+.2f%%), KD won on %d of %d seeds (raw %.4f ± %.4f, KD %.4f ± %.4f).\n",
            v, p.mean, p.sd, p.rel, p.wins, p.n, raw.mse_n[0], raw.mse_n[1], kd.mse_n[0], kd.mse_n[1]);
    {
        agg rl = aggregate(e, series, "student-raw-last", hidden, KDTS_MODE_POINT);
        if (c.n)
            fprintf(f, "  Control: a raw student trained with the hard loss on the last step only scores %.4f ± %.4f; "
                       "KD − this control = %+.5f ± %.5f (%+.2f%%), KD won on %d of %d seeds.\n",
                    rl.mse_n[0], rl.mse_n[1], c.mean, c.sd, c.rel, c.wins, c.n);
    }
    /* 2. close to the teacher: share of the teacher's gain over persistence kept */
    if (pe.mse_n[0] > te.mse_n[0]) {
        keep_raw = 100.0 * (pe.mse_n[0] - raw.mse_n[0]) / (pe.mse_n[0] - te.mse_n[0]);
        keep_kd = 100.0 * (pe.mse_n[0] - kd.mse_n[0]) / (pe.mse_n[0] - te.mse_n[0]);
        v = keep_kd >= 75 ? "holds" : keep_kd >= 25 ? "mixed" : "does not hold";
        fprintf(f, "- **Close to the teacher: %s.** Teacher %.4f, KD student %.4f (%+.1f%% vs. teacher), persistence "
                   "%.4f: the KD student keeps %.0f%% of the teacher's gain over persistence (raw student: %.0f%%).\n",
                v, te.mse_n[0], kd.mse_n[0], 100.0 * (kd.mse_n[0] - te.mse_n[0]) / te.mse_n[0], pe.mse_n[0], keep_kd,
                keep_raw);
    } else {
        fprintf(f, "- **Close to the teacher: not measurable.** The teacher (%.4f) does not beat persistence "
                   "(%.4f) here.\n",
                te.mse_n[0], pe.mse_n[0]);
    }
    /* 3. cheaper */
    {
        double fr = te.flops / kd.flops, pr = te.params / kd.params, lr = kd.lat_us > 0 ? te.lat_us / kd.lat_us : 0;
        v = fr >= 10 && lr >= 3 ? "holds" : fr >= 10 || lr >= 3 ? "mixed" : "does not hold";
        fprintf(f, "- **Much cheaper to run: %s.** %.0fx fewer FLOPs per forecast (%.0f vs. %.0f), %.0fx fewer "
                   "parameters (%.0f vs. %.0f), %.1fx lower measured latency (%.1f µs vs. %.1f µs per forecast).\n",
                v, fr, kd.flops, te.flops, pr, kd.params, te.params, lr, kd.lat_us, te.lat_us);
    }
}

static void machine_info(char *mach, size_t mcap, char *cpu, size_t ccap)
{
    FILE *f;
    snprintf(mach, mcap, "unknown");
    snprintf(cpu, ccap, "unknown");
#if !defined(_WIN32)
    {
        struct utsname u;
        if (uname(&u) == 0) snprintf(mach, mcap, "%s %s", u.sysname, u.machine);
    }
#endif
    f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        int ncpu = 0;
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                char *c = strchr(line, ':');
                if (c && ncpu == 0) {
                    size_t n;
                    c++;
                    while (*c == ' ') c++;
                    n = strlen(c);
                    while (n && (c[n - 1] == '\n' || c[n - 1] == ' ')) c[--n] = 0;
                    snprintf(cpu, ccap, "%s", c);
                }
                ncpu++;
            }
        }
        fclose(f);
        if (ncpu > 0) {
            size_t n = strlen(cpu);
            snprintf(cpu + n, ccap - n, " (%d logical CPUs)", ncpu);
        }
    }
}

/* Open the file dir/name for writing (exits when it cannot). */
static FILE *open_out(const char *dir, const char *name)
{
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    return f;
}

static void write_csv(const experiment *e, const char *dir)
{
    FILE *f = open_out(dir, "results.csv");
    int i;
    fprintf(f, "series,model,seed,layers,hidden,mode,bins,hard_last_only,alpha,beta,T,test_mse_norm,test_mae_norm,test_mse_orig,"
               "test_mae_orig,val_mse_norm,params,flops,latency_us,train_seconds,epochs_run,best_epoch\n");
    for (i = 0; i < e->nruns; ++i) {
        const run_rec *r = &e->runs[i];
        fprintf(f, "%s,%s,%d,%d,%d,%s,%d,%d,%.6g,%.6g,%.6g,%.9g,%.9g,%.9g,%.9g,%.9g,%.0f,%.0f,%.4g,%.4g,%d,%d\n", r->series,
                r->model, r->seed, r->layers, r->hidden, r->mode == KDTS_MODE_DIST ? "dist" : "point", r->bins, r->hard_last,
                r->alpha, r->beta, r->temp, r->mse_n, r->mae_n, r->mse_o, r->mae_o, r->val_mse, r->params, r->flops,
                r->lat_us, r->train_s, r->epochs_run, r->best_epoch);
    }
    fclose(f);
    f = open_out(dir, "grid.csv");
    fprintf(f, "series,mode,alpha,beta,T,val_mse_norm,chosen\n");
    for (i = 0; i < e->ngrid; ++i) {
        const grid_rec *g = &e->grid[i];
        fprintf(f, "%s,%s,%.6g,%.6g,%.6g,%.9g,%d\n", g->series, g->mode == KDTS_MODE_DIST ? "dist" : "point", g->alpha,
                g->beta, g->temp, g->val_mse, g->chosen);
    }
    fclose(f);
}

/* ------------------------------------------------------------------------ */
/* one series                                                               */
/* ------------------------------------------------------------------------ */

typedef struct series_out {
    char name[48], target[64], split[128], setup[1024];
    double sweep_sizes[MAX_LIST];
    int nsweep;
    double chosen_alpha, chosen_beta, chosen_temp;
    int grid_alpha, grid_beta, grid_temp;
    double seconds;
    long ntrain, nval, ntest;
} series_out;

/* Train one model of the tables (test metrics included, row of table `table`,
   learning curve in cv when not NULL). The model stays in *keep when keep is not
   NULL (the caller frees it), else it is freed. */
static void train_run(experiment *e, const series_data *d, const series_spec *ss, const model_spec *ms,
                      unsigned long long seed, curve *cv, int table, kdts_lstm *keep)
{
    kdts_lstm local, *m = keep ? keep : &local;
    run_rec *rec = add_run(e);
    train_model(e, d, ss, m, ms, seed, cv, rec, 1);
    rec->table = table;
    if (!keep) kdts_lstm_free(m);
}

/* base as a distilled student named name of the given teachers and weights. */
static model_spec kd_spec(const model_spec *base, const char *name, const kdts_lstm *const *teachers, int nteachers,
                          float alpha, float beta)
{
    model_spec v = *base;
    v.name = name;
    v.teachers = teachers;
    v.nteachers = nteachers;
    v.alpha = alpha;
    v.beta = beta;
    return v;
}

/* One point of the validation grid: train gs on the first seed, record its
   validation MSE with the given weights and track the best point. */
static void grid_point(experiment *e, const series_data *d, const series_spec *ss, const model_spec *gs,
                       unsigned long long seed, double alpha, double beta, double temp, double *best, int *gbest)
{
    kdts_lstm m;
    grid_rec *g;
    double vm = train_model(e, d, ss, &m, gs, seed, NULL, NULL, 0);
    kdts_lstm_free(&m);
    g = add_grid(e);
    scopy(g->series, sizeof g->series, ss->name);
    g->mode = gs->mode;
    g->alpha = alpha;
    g->beta = beta;
    g->temp = temp;
    g->val_mse = vm;
    if (vm < *best) {
        *best = vm;
        *gbest = e->ngrid - 1;
    }
}

/* Average forecast (w->n, h) of the nt teachers on windows w into acc; fc is scratch of the same size. */
static void ensemble_fc(const kdts_lstm *const *tp, int nt, const kdts_windows *w, int h, float *fc, float *acc)
{
    size_t nn = (size_t)w->n * h, q;
    int k;
    memset(acc, 0, nn * sizeof(float));
    for (k = 0; k < nt; ++k) {
        kdts_error err;
        check(kdts_predict(tp[k], w->x, (int)w->n, w->T, fc, &err), &err, "ensemble");
        for (q = 0; q < nn; ++q) acc[q] += fc[q] / (float)nt;
    }
}

static void run_series(experiment *e, const series_spec *ss, series_out *so)
{
    const options *o = &e->o;
    series_data d;
    kdts_lstm teachers[MAX_TEACHERS], tdist, mid, m;
    const kdts_lstm *tp[MAX_TEACHERS], *dist_t[1], *mid_t[1];
    model_spec ms;
    run_rec *rec;
    float *fc;
    double t_series = now_seconds(), best;
    int i, k, s, have_dist = !o->no_dist, nseeds = o->seeds;
    float alpha = o->alpha, beta = o->beta, temp = o->temp;
    slice_pic sp;
    int nslice, first_run = e->nruns;
    char path[1024];
    unsigned long long seed0 = o->seed;

    dist_t[0] = &tdist;
    mid_t[0] = &mid;
    memset(so, 0, sizeof *so);
    scopy(so->name, sizeof so->name, ss->name);
    scopy(so->target, sizeof so->target, ss->target);
    fprintf(stderr, "[%s] loading %s (target %s)\n", ss->name, ss->path, ss->target);
    load_series(&d, ss, o->batch);
    scopy(so->split, sizeof so->split, d.split_desc);
    so->ntrain = d.tr.n;
    so->nval = d.va.n;
    so->ntest = d.te.n;
    fprintf(stderr, "[%s] %ld rows used; %s; windows train %ld (stride %d), val %ld, test %ld; bins [%.3f, %.3f]\n",
            ss->name, d.rows, d.split_desc, d.tr.n, ss->stride, d.va.n, d.te.n, (double)d.bin_lo, (double)d.bin_hi);
    fc = (float *)xmalloc((size_t)(d.va.n > d.te.n ? d.va.n : d.te.n) * ss->horizon * sizeof(float));

    /* persistence */
    rec = add_run(e);
    scopy(rec->series, sizeof rec->series, ss->name);
    snprintf(rec->model, sizeof rec->model, "persistence");
    rec->seed = 0;
    rec->temp = 1;
    persistence_fc(&d, &d.te, fc);
    metrics(&d, &d.te, fc, &rec->mse_n, &rec->mae_n, &rec->mse_o, &rec->mae_o);
    persistence_fc(&d, &d.va, fc);
    metrics(&d, &d.va, fc, &rec->val_mse, NULL, NULL, NULL);
    rec->lat_us = measure_persistence_latency_us(&d, ss->horizon);
    fprintf(stderr, "[%s] persistence: test MSE %.5f (normalized), val %.5f\n", ss->name, rec->mse_n, rec->val_mse);

    /* teachers */
    memset(&ms, 0, sizeof ms);
    ms.name = "teacher";
    ms.layers = o->t_layers;
    ms.hidden = o->t_hidden;
    ms.mode = KDTS_MODE_POINT;
    ms.epochs = ss->epochs;
    for (k = 0; k < o->teachers; ++k) {
        curve *cv = k == 0 ? add_curve(e, ss->name, "teacher") : NULL;
        train_run(e, &d, ss, &ms, seed0 + 100 + k, cv, TAB_MAIN, &teachers[k]);
        tp[k] = &teachers[k];
    }
    if (o->teachers > 1) { /* the ensemble's own forecast: average of the teachers */
        float *acc = (float *)xmalloc((size_t)(d.va.n > d.te.n ? d.va.n : d.te.n) * ss->horizon * sizeof(float));
        double tsum = 0, psum = 0, fsum = 0;
        rec = add_run(e);
        ensemble_fc(tp, o->teachers, &d.te, ss->horizon, fc, acc);
        metrics(&d, &d.te, acc, &rec->mse_n, &rec->mae_n, &rec->mse_o, &rec->mae_o);
        ensemble_fc(tp, o->teachers, &d.va, ss->horizon, fc, acc);
        metrics(&d, &d.va, acc, &rec->val_mse, NULL, NULL, NULL);
        free(acc);
        for (i = first_run; i < e->nruns; ++i)
            if (!strcmp(e->runs[i].model, "teacher")) {
                tsum += e->runs[i].train_s;
                psum += e->runs[i].params;
                fsum += e->runs[i].flops;
            }
        scopy(rec->series, sizeof rec->series, ss->name);
        snprintf(rec->model, sizeof rec->model, "teacher-ensemble");
        rec->seed = (int)(seed0 + 100);
        rec->layers = o->t_layers;
        rec->hidden = o->t_hidden;
        rec->temp = 1;
        rec->params = psum;
        rec->flops = fsum;
        rec->train_s = tsum;
    }
    if (have_dist) {
        ms.name = "teacher-dist";
        ms.mode = KDTS_MODE_DIST; /* hard loss on every step, like the point teacher */
        train_run(e, &d, ss, &ms, seed0 + 100, add_curve(e, ss->name, "teacher (dist)"), TAB_MAIN, &tdist);
    }
    {
        agg pe = aggregate(e, ss->name, "persistence", -1, -1), te = aggregate(e, ss->name, "teacher", -1, 0);
        fprintf(stderr, "[%s] teacher test MSE %.5f vs persistence %.5f: %s\n", ss->name, te.mse_n[0], pe.mse_n[0],
                te.mse_n[0] < pe.mse_n[0] ? "teacher beats persistence" : "WARNING: teacher does NOT beat persistence");
        if (te.mse_n[0] >= pe.mse_n[0])
            note(e, "- %s: the teacher (%.4f) does not beat persistence (%.4f) with these settings.\n", ss->name,
                 te.mse_n[0], pe.mse_n[0]);
    }

    /* raw student, seed 1 first (it is also the grid's reference) */
    memset(&ms, 0, sizeof ms);
    ms.name = "student-raw";
    ms.layers = 1;
    ms.hidden = o->s_hidden;
    ms.mode = KDTS_MODE_POINT;
    ms.epochs = ss->s_epochs;

    /* grid on the validation split, first seed: alpha x beta (point), then T (dist) */
    so->grid_alpha = !o->alpha_set;
    so->grid_beta = !o->beta_set;
    so->grid_temp = !o->temp_set && have_dist && o->n_grid_temp > 1;
    if (!o->temp_set && o->n_grid_temp == 1) temp = (float)o->grid_temp[0];
    if (so->grid_alpha || so->grid_beta) {
        double ga[MAX_LIST], gb[MAX_LIST];
        int na = o->n_grid_alpha, nb = o->n_grid_beta, ia, ib, gbest = -1;
        memcpy(ga, o->grid_alpha, sizeof ga);
        memcpy(gb, o->grid_beta, sizeof gb);
        if (!so->grid_alpha) { ga[0] = alpha; na = 1; }
        if (!so->grid_beta) { gb[0] = beta; nb = 1; }
        best = DBL_MAX;
        fprintf(stderr, "[%s] grid over alpha x beta on the validation split (seed %llu)\n", ss->name, seed0);
        for (ia = 0; ia < na; ++ia)
            for (ib = 0; ib < nb; ++ib) {
                model_spec gs = kd_spec(&ms, "grid", tp, 1, (float)ga[ia], (float)gb[ib]);
                grid_point(e, &d, ss, &gs, seed0, ga[ia], gb[ib], 1, &best, &gbest);
            }
        e->grid[gbest].chosen = 1;
        alpha = (float)e->grid[gbest].alpha;
        beta = (float)e->grid[gbest].beta;
        fprintf(stderr, "[%s] chosen alpha %.2f beta %.2f (val MSE %.5f)\n", ss->name, (double)alpha, (double)beta, best);
    }
    if (so->grid_temp) {
        int it, gbest = -1;
        best = DBL_MAX;
        for (it = 0; it < o->n_grid_temp; ++it) {
            model_spec gs = kd_spec(&ms, "grid", dist_t, 1, alpha, beta);
            gs.mode = KDTS_MODE_DIST;
            gs.hard_last = !o->dist_hard_all;
            gs.temp = (float)o->grid_temp[it];
            grid_point(e, &d, ss, &gs, seed0, alpha, beta, o->grid_temp[it], &best, &gbest);
        }
        e->grid[gbest].chosen = 1;
        temp = (float)e->grid[gbest].temp;
        fprintf(stderr, "[%s] chosen T %.2g (val MSE %.5f)\n", ss->name, (double)temp, best);
    }
    so->chosen_alpha = alpha;
    so->chosen_beta = beta;
    so->chosen_temp = temp;

    /* mid-size student for progressive distillation (trained once, like the teacher) */
    if (!o->no_remedies) {
        model_spec mm = kd_spec(&ms, "mid-KD", tp, 1, alpha, beta);
        mm.hidden = o->m_hidden;
        train_run(e, &d, ss, &mm, seed0 + 200, NULL, TAB_MAIN, &mid);
    }

    /* the students, every seed */
    nslice = o->slice_windows;
    while (nslice > 1 && (long)nslice * ss->horizon > d.te.n) nslice--;
    memset(&sp, 0, sizeof sp);
    sp.n = nslice * ss->horizon;
    sp.actual = (double *)xmalloc((size_t)sp.n * sizeof(double));
    sp.teacher = (double *)xmalloc((size_t)sp.n * sizeof(double));
    sp.raw = (double *)xmalloc((size_t)sp.n * sizeof(double));
    sp.kd = (double *)xmalloc((size_t)sp.n * sizeof(double));
    sp.dist = (double *)xmalloc((size_t)sp.n * sizeof(double));
    sp.dist_lo = (double *)xmalloc((size_t)sp.n * sizeof(double));
    sp.dist_hi = (double *)xmalloc((size_t)sp.n * sizeof(double));
    for (k = 0; k < nslice; ++k) {
        int j;
        for (j = 0; j < ss->horizon; ++j) {
            long n = (long)k * ss->horizon;
            double off = d.te.norm_offset[n * (d.F + 1) + d.F];
            double z = d.te.y[((size_t)n * ss->lookback + ss->lookback - 1) * ss->horizon + j] + off;
            sp.actual[k * ss->horizon + j] = kdts_scaler_invert_value(&d.sc, d.tcol, (float)z);
        }
    }
    slice_forecast(&d, ss, &teachers[0], nslice, sp.teacher, NULL, NULL, o->coverage);

    for (s = 0; s < nseeds; ++s) {
        unsigned long long seed = seed0 + (unsigned long long)s;
        model_spec v;
        int first = s == 0;
        /* raw, point */
        train_run(e, &d, ss, &ms, seed, first ? add_curve(e, ss->name, "student raw") : NULL, TAB_MAIN,
                  first ? &m : NULL);
        if (first) {
            slice_forecast(&d, ss, &m, nslice, sp.raw, NULL, NULL, o->coverage);
            kdts_lstm_free(&m);
        }
        /* control: raw, hard loss on the last step only (what alpha = 1 keeps of the
           hard targets' positions: tells the teacher's share of a KD gain apart) */
        v = ms;
        v.name = "student-raw-last";
        v.hard_last = 1;
        train_run(e, &d, ss, &v, seed, NULL, TAB_MAIN, NULL);
        /* KD, point */
        v = kd_spec(&ms, "student-KD", tp, 1, alpha, beta);
        train_run(e, &d, ss, &v, seed, first ? add_curve(e, ss->name, "student KD") : NULL, TAB_MAIN,
                  first ? &m : NULL);
        if (first) {
            slice_forecast(&d, ss, &m, nslice, sp.kd, NULL, NULL, o->coverage);
            kdts_lstm_free(&m);
        }
        if (o->ablation) {
            v.name = "student-KD-alpha-only";
            v.alpha = alpha > 0 ? alpha : 0.5f;
            v.beta = 0;
            train_run(e, &d, ss, &v, seed, NULL, TAB_MAIN, NULL);
            v.name = "student-KD-beta-only";
            v.alpha = 0;
            v.beta = beta > 0 ? beta : 0.5f;
            train_run(e, &d, ss, &v, seed, NULL, TAB_MAIN, NULL);
        }
        if (have_dist) {
            v = ms;
            v.name = "student-raw-dist";
            v.mode = KDTS_MODE_DIST;
            v.hard_last = !o->dist_hard_all;
            train_run(e, &d, ss, &v, seed, NULL, TAB_MAIN, NULL);
            v = kd_spec(&v, "student-KD-dist", dist_t, 1, alpha, beta);
            v.temp = temp;
            train_run(e, &d, ss, &v, seed, NULL, TAB_MAIN, first ? &m : NULL);
            if (first) {
                slice_forecast(&d, ss, &m, nslice, sp.dist, sp.dist_lo, sp.dist_hi, o->coverage);
                sp.have_dist = 1;
                kdts_lstm_free(&m);
            }
        }
        if (!o->no_remedies) {
            if (o->teachers > 1) {
                v = kd_spec(&ms, "student-KD-ensemble", tp, o->teachers, alpha, beta);
                train_run(e, &d, ss, &v, seed, NULL, TAB_MAIN, NULL);
            }
            v = kd_spec(&ms, "student-KD-incremental", tp, 1, alpha, beta);
            v.warmup = o->warmup;
            train_run(e, &d, ss, &v, seed, first ? add_curve(e, ss->name, "student KD incremental") : NULL, TAB_MAIN,
                      NULL);
            v = kd_spec(&ms, "student-KD-progressive", mid_t, 1, alpha, beta);
            train_run(e, &d, ss, &v, seed, NULL, TAB_MAIN, NULL);
        }
    }

    /* student-size sweep: raw vs KD (point); seed 1 only in the default run, all seeds with --full */
    {
        int ns = o->n_sweep, q, sweep_seeds = o->full ? nseeds : 1;
        double raw[MAX_LIST], kd[MAX_LIST], rsd[MAX_LIST], ksd[MAX_LIST];
        agg pe = aggregate(e, ss->name, "persistence", -1, -1), te = aggregate(e, ss->name, "teacher", -1, 0);
        for (q = 0; q < ns; ++q) {
            int h = (int)o->sweep[q];
            so->sweep_sizes[q] = h;
            for (s = 0; s < sweep_seeds; ++s) {
                unsigned long long seed = seed0 + (unsigned long long)s;
                model_spec v = ms;
                if (h == o->s_hidden && s < nseeds) continue; /* the main runs are these */
                v.hidden = h;
                train_run(e, &d, ss, &v, seed, NULL, TAB_SWEEP, NULL);
                v = kd_spec(&v, "student-KD", tp, 1, alpha, beta);
                train_run(e, &d, ss, &v, seed, NULL, TAB_SWEEP, NULL);
            }
        }
        so->nsweep = ns;
        /* mean over the sweep seeds (main runs included for the main size) */
        for (q = 0; q < ns; ++q) {
            sweep_stat st = sweep_stats(e, ss->name, (int)o->sweep[q], seed0, sweep_seeds);
            raw[q] = st.raw[0];
            rsd[q] = st.raw[1];
            kd[q] = st.kd[0];
            ksd[q] = st.kd[1];
        }
        snprintf(path, sizeof path, "%s/%s_size.svg", o->out, ss->name);
        plot_size(ss->name, o->sweep, ns, raw, kd, rsd, ksd, te.mse_n[0], pe.mse_n[0], path, sweep_seeds);
    }

    /* latency per architecture (measured after training, batch 1, median) */
    fprintf(stderr, "[%s] measuring latency per forecast\n", ss->name);
    for (i = first_run; i < e->nruns; ++i) {
        run_rec *r = &e->runs[i];
        int j, found = -1;
        if (!strcmp(r->model, "persistence") || !strcmp(r->model, "teacher-ensemble")) continue;
        for (j = first_run; j < i; ++j) {
            const run_rec *q = &e->runs[j];
            if (q->layers == r->layers && q->hidden == r->hidden && q->mode == r->mode &&
                strcmp(q->model, "persistence") && strcmp(q->model, "teacher-ensemble")) {
                found = j;
                break;
            }
        }
        r->lat_us = found >= 0 ? e->runs[found].lat_us
                               : measure_latency_us(&d, ss, o, r->layers, r->hidden, (kdts_mode)r->mode);
    }
    for (i = first_run; i < e->nruns; ++i)
        if (!strcmp(e->runs[i].model, "teacher-ensemble")) {
            int j;
            for (j = first_run; j < e->nruns; ++j)
                if (!strcmp(e->runs[j].model, "teacher")) {
                    e->runs[i].lat_us = o->teachers * e->runs[j].lat_us;
                    break;
                }
        }

    /* pictures */
    snprintf(path, sizeof path, "%s/%s_learning.svg", o->out, ss->name);
    plot_learning(e, ss->name, path);
    snprintf(path, sizeof path, "%s/%s_forecast.svg", o->out, ss->name);
    plot_forecast(ss, &sp, path, o);

    snprintf(so->setup, sizeof so->setup,
             "target %s, inputs: %s; %s; z-score fit on the training rows; windows of %d steps normalized relative "
             "to their last observed value; %d-step direct forecast at every step (hard loss on every step); "
             "training windows every %d rows (%ld), validation %ld and test %ld windows (every row); teacher %dx%d, "
             "%d epochs; students 1x%d, %d epochs; mid 1x%d; batch %d, Adam lr %g, best-validation weights "
             "(patience %d); distribution mode: %d bins over [%.3f, %.3f] (1%%-99%% quantiles of the training "
             "targets, widened 10%%), dist teacher with the hard loss on every step, dist students on the %s",
             ss->target, ss->features ? ss->features : ss->target, d.split_desc, ss->lookback, ss->horizon, ss->stride,
             d.tr.n, d.va.n, d.te.n, o->t_layers, o->t_hidden, ss->epochs, o->s_hidden, ss->s_epochs, o->m_hidden,
             o->batch, (double)o->lr, o->patience, o->bins, (double)d.bin_lo, (double)d.bin_hi,
             o->dist_hard_all ? "every step" : "last step only");

    for (k = 0; k < o->teachers; ++k) kdts_lstm_free(&teachers[k]);
    if (have_dist) kdts_lstm_free(&tdist);
    if (!o->no_remedies) kdts_lstm_free(&mid);
    free(sp.actual); free(sp.teacher); free(sp.raw); free(sp.kd); free(sp.dist); free(sp.dist_lo); free(sp.dist_hi);
    free(fc);
    free_series(&d);
    so->seconds = now_seconds() - t_series;
    fprintf(stderr, "[%s] done in %.1f s\n", ss->name, so->seconds);
}

/* ------------------------------------------------------------------------ */
/* report                                                                   */
/* ------------------------------------------------------------------------ */

static void write_report(const experiment *e, const series_out *so, int nseries, double total_s)
{
    const options *o = &e->o;
    char mach[256], cpu[256], date[64];
    time_t tt = time(NULL);
    FILE *f;
    int i, j, q;
    machine_info(mach, sizeof mach, cpu, sizeof cpu);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&tt));
    f = open_out(o->out, "results.md");
    fprintf(f, "# kdts distillation experiment\n\n");
    fprintf(f, "- date: %s\n- machine: %s, %s\n- SIMD path: %s\n- command:", date, mach, cpu, kdts_simd_name());
    for (i = 0; i < e->argc; ++i) fprintf(f, " %s", e->argv[i]);
    fprintf(f, "\n- mode: %s; %d seed%s (%llu..%llu); wall time %.1f s\n", o->full ? "--full" : o->quick ? "--quick" : "default",
            o->seeds, o->seeds > 1 ? "s" : "", o->seed, o->seed + o->seeds - 1, total_s);
    fprintf(f, "\nAll errors are on the test split unless marked val; *normalized* = units of the z-scored target "
               "(scaler fit on the training rows), *original* = the CSV's units. Mean ± sample std over seeds. "
               "Latency = median wall time of one forecast (`kdts_lstm_forecast`: one window, batch 1, pre-allocated "
               "workspace, single thread); FLOPs per forecast from `kdts_lstm_forecast_flops` (the LSTM over every "
               "step, the head on the last). Training time = "
               "wall seconds of `kdts_train` (the CPU may be shared: times are indicative). Every KD student of a "
               "row uses the same seeds, epochs, learning rate and early-stopping rule as the raw student: only "
               "the loss differs. The KD (point) students learn from teacher #1; the ensemble student from the "
               "average of all point teachers; the dist student from the distribution-mode teacher (soft loss "
               "T²·KL on its bin probabilities, plus β·L_seq on its expected values).\n");
    if (e->notes[0]) fprintf(f, "\nNotes:\n\n%s", e->notes);
    for (j = 0; j < nseries; ++j) {
        const series_out *s = &so[j];
        int hidden = o->s_hidden;
        fprintf(f, "\n## %s\n\nSetup: %s.\n\n", s->name, s->setup);
        fprintf(f, "Distillation weights: α = %.2g, β = %.2g%s, T = %.2g%s.\n\n", s->chosen_alpha, s->chosen_beta,
                s->grid_alpha || s->grid_beta ? " (chosen by the validation grid below)" : " (given)", s->chosen_temp,
                s->grid_temp ? " (validation grid)" : o->no_dist ? " (unused)" : " (given)");
        write_main_table(f, e, s->name);
        {
            agg te = aggregate(e, s->name, "teacher", -1, 0), st = aggregate(e, s->name, "student-KD", hidden, 0);
            agg td = aggregate(e, s->name, "teacher-dist", -1, 1), sd = aggregate(e, s->name, "student-KD-dist", hidden, 1);
            if (te.n && st.n)
                fprintf(f, "\nFLOPs ratio teacher / student (point): %.1fx; parameters %.1fx.", te.flops / st.flops,
                        te.params / st.params);
            if (td.n && sd.n)
                fprintf(f, " Distribution mode (%d bins): %.1fx FLOPs, %.1fx parameters.", o->bins, td.flops / sd.flops,
                        td.params / sd.params);
            fprintf(f, "\n");
        }
        fprintf(f, "\n### Paired differences, student size 1x%d\n\n", hidden);
        write_pair_table(f, e, s->name, hidden);
        /* grid */
        fprintf(f, "\n### Choice of α, β, T (validation split only, seed %llu, student 1x%d)\n\n", o->seed, hidden);
        {
            agg raw1;
            int r;
            raw1.n = 0;
            for (r = 0; r < e->nruns; ++r)
                if (same_key(&e->runs[r], s->name, "student-raw", hidden, 0) && e->runs[r].seed == (int)o->seed)
                    fprintf(f, "Reference: raw student (α = 0, β = 0), same seed: val MSE %.5f.\n\n", e->runs[r].val_mse);
            (void)raw1;
        }
        fprintf(f, "| mode | α | β | T | val MSE (norm.) | chosen |\n|---|---|---|---|---|---|\n");
        for (i = 0; i < e->ngrid; ++i) {
            const grid_rec *g = &e->grid[i];
            char tb[32];
            if (strcmp(g->series, s->name)) continue;
            if (g->mode) snprintf(tb, sizeof tb, "%.2g", g->temp);
            else snprintf(tb, sizeof tb, "-");
            fprintf(f, "| %s | %.2g | %.2g | %s | %.5f | %s |\n", g->mode ? "dist" : "point", g->alpha, g->beta, tb,
                    g->val_mse, g->chosen ? "**yes**" : "");
        }
        /* sweep */
        fprintf(f, "\n### Student size sweep (point mode, %s)\n\n", o->full ? "all seeds" : "first seed");
        fprintf(f, "| student | params | FLOPs/forecast | raw test MSE | KD test MSE | KD − raw | seeds KD won |\n"
                   "|---|---|---|---|---|---|---|\n");
        for (q = 0; q < s->nsweep; ++q) {
            int h = (int)s->sweep_sizes[q];
            sweep_stat st = sweep_stats(e, s->name, h, o->seed, o->full ? o->seeds : 1);
            char fls[32], r1[48], r2[48], dd[64];
            fmt_pm(r1, sizeof r1, st.raw, st.nraw, 4);
            fmt_pm(r2, sizeof r2, st.kd, st.nkd, 4);
            if (st.npair > 1) snprintf(dd, sizeof dd, "%+.5f ± %.5f", st.diff[0], st.diff[1]);
            else snprintf(dd, sizeof dd, "%+.5f", st.diff[0]);
            fmt_flops(fls, sizeof fls, st.flops);
            fprintf(f, "| 1x%d | %.0f | %s | %s | %s | %s | %d of %d |\n", h, st.params, fls, r1, r2, dd, st.wins,
                    st.npair);
        }
        fprintf(f, "\n### Claims of the source document (%s)\n\n", s->name);
        write_claims(f, e, s->name, hidden);
        fprintf(f, "\nPictures: [%s_learning.svg](%s_learning.svg) (learning curves), [%s_forecast.svg](%s_forecast.svg) "
                   "(forecast vs. actual on the first %s of the test split, original units), "
                   "[%s_size.svg](%s_size.svg) (test MSE vs. student size). Time for this series: %.1f s.\n",
                s->name, s->name, s->name, s->name, "windows", s->name, s->name, s->seconds);
    }
    /* stability across series */
    if (nseries > 1) {
        int wins_series = 0, nser = 0;
        fprintf(f, "\n## Across series: is distillation more stable?\n\n");
        fprintf(f, "| series | KD − raw (norm. MSE) | relative | seeds KD won | std over seeds raw | std over seeds KD "
                   "| KD dist − raw dist | seeds won |\n|---|---|---|---|---|---|---|---|\n");
        for (j = 0; j < nseries; ++j) {
            paired p = pair_diff(e, so[j].name, "student-KD", 0, "student-raw", 0, o->s_hidden);
            paired pd = pair_diff(e, so[j].name, "student-KD-dist", 1, "student-raw-dist", 1, o->s_hidden);
            agg raw = aggregate(e, so[j].name, "student-raw", o->s_hidden, 0);
            agg kd = aggregate(e, so[j].name, "student-KD", o->s_hidden, 0);
            if (!p.n) continue;
            nser++;
            if (p.mean < 0) wins_series++;
            fprintf(f, "| %s | %+.5f ± %.5f | %+.2f%% | %d of %d | %.5f | %.5f | %+.5f ± %.5f | %d of %d |\n", so[j].name,
                    p.mean, p.sd, p.rel, p.wins, p.n, raw.mse_n[1], kd.mse_n[1], pd.mean, pd.sd, pd.wins, pd.n);
        }
        fprintf(f, "\nKD (point) has the lower mean test MSE on %d of %d series.\n", wins_series, nser);
    }
    fprintf(f, "\nFiles: results.csv (one row per trained model and seed), grid.csv (validation grid), SVG pictures.\n");
    fclose(f);
}

/* Print the main table(s) to stdout. */
static void print_summary(const experiment *e, const series_out *so, int nseries)
{
    int j;
    for (j = 0; j < nseries; ++j) {
        printf("\n== %s (α = %.2g, β = %.2g, T = %.2g)\n\n", so[j].name, so[j].chosen_alpha, so[j].chosen_beta,
               so[j].chosen_temp);
        write_main_table(stdout, e, so[j].name);
        printf("\n");
        write_pair_table(stdout, e, so[j].name, e->o.s_hidden);
        printf("\n");
        write_claims(stdout, e, so[j].name, e->o.s_hidden);
    }
}

int main(int argc, char **argv)
{
    experiment e;
    series_spec specs[4];
    series_out outs[4];
    int ns = 0, i;
    double t0 = now_seconds();
    memset(&e, 0, sizeof e);
    defaults(&e.o);
    parse_args(&e.o, argc, argv);
    e.argc = argc;
    e.argv = argv;
    make_dirs(e.o.out);
    memset(specs, 0, sizeof specs);
    if (e.o.full) {
        const char *names[3] = {"ETTh1", "ETTh2", "PeytonManning"};
        const char *files[3] = {"ETTh1.csv", "ETTh2.csv", "example_wp_log_peyton_manning.csv"};
        for (i = 0; i < 3; ++i) {
            series_spec *s = &specs[ns++];
            scopy(s->name, sizeof s->name, names[i]);
            snprintf(s->path, sizeof s->path, "%s/%s", e.o.data_dir, files[i]);
            s->target = i < 2 ? "OT" : "y";
            s->features = NULL;
            s->split = i < 2 ? "rows:8640,2880,2880" : "ratio:0.6,0.2,0.2";
            s->lookback = i < 2 ? e.o.lookback : 56;
            s->horizon = i < 2 ? e.o.horizon : 7;
            s->stride = i < 2 ? e.o.stride : 1;
            s->epochs = i < 2 ? e.o.epochs : 3 * e.o.epochs;
            s->s_epochs = i < 2 ? e.o.s_epochs : 3 * e.o.s_epochs;
        }
        note(&e, "- example_air_passengers.csv is not used: 144 monthly rows leave about 29 rows per validation "
                 "and test split, too few for windows of useful lookback plus horizon.\n"
                 "- Peyton Manning (daily log page views, 2905 rows): ratio split 0.6/0.2/0.2, lookback 56 days "
                 "(8 weeks), horizon 7 days, training stride 1, 3x the epochs (the series has ~1/5 of ETTh1's "
                 "training windows).\n");
    } else {
        series_spec *s = &specs[ns++];
        const char *base = strrchr(e.o.csv, '/');
        char *dot;
        base = base ? base + 1 : e.o.csv;
        scopy(s->name, sizeof s->name, base);
        dot = strrchr(s->name, '.');
        if (dot) *dot = 0;
        scopy(s->path, sizeof s->path, e.o.csv);
        s->target = e.o.target;
        s->features = e.o.features;
        s->split = e.o.split;
        s->max_rows = e.o.max_rows;
        s->lookback = e.o.lookback;
        s->horizon = e.o.horizon;
        s->stride = e.o.stride;
        s->epochs = e.o.epochs;
        s->s_epochs = e.o.s_epochs;
    }
    fprintf(stderr, "distill_experiment: SIMD %s, output %s/\n", kdts_simd_name(), e.o.out);
    for (i = 0; i < ns; ++i) run_series(&e, &specs[i], &outs[i]);
    write_csv(&e, e.o.out);
    write_report(&e, outs, ns, now_seconds() - t0);
    print_summary(&e, outs, ns);
    printf("\nwrote %s/results.md, results.csv, grid.csv and SVG pictures in %.1f s\n", e.o.out, now_seconds() - t0);
    free(e.runs);
    free(e.grid);
    free(e.curves);
    return 0;
}
