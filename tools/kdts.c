/* kdts - the command-line tool: train a teacher, distill a student, evaluate,
   predict, inspect data, show and export models, measure latency.

   usage: kdts <command> [flags]      (kdts --help, kdts <command> --help)

   Exit status: 0 success, 1 bad file or bad data (one-line error on
   stderr), 2 bad flag or usage. Model and header files are written
   atomically (temporary file + rename), so a failure never leaves a
   half-written file behind. */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#define EXIT_DATA 1
#define EXIT_USAGE 2
#define MAXF KDTS_MAX_COLUMNS
#define MAX_TEACHERS 8

/* ---- errors and flags --------------------------------------------------- */

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("kdts: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

static void die_err(const kdts_error *e, kdts_result r, const char *what)
{
    if (e->message[0]) die(EXIT_DATA, "%s: %s", what, e->message);
    die(EXIT_DATA, "%s: %s", what, kdts_result_str(r));
}

typedef struct flag {
    const char *name;   /* without the dashes */
    const char *help;
    const char *value;  /* current value (default), NULL = unset */
    int is_bool;
    const char *multi[MAX_TEACHERS]; /* repeated values (--teacher) */
    int nmulti, repeat;
} flag;

typedef struct cmd {
    const char *name, *summary, *usage;
    flag *flags;
    int nflags;
} cmd;

static void print_help(const cmd *c)
{
    int i;
    printf("usage: kdts %s %s\n\n%s\n\nflags:\n", c->name, c->usage, c->summary);
    for (i = 0; i < c->nflags; ++i) {
        const flag *f = &c->flags[i];
        printf("  --%-14s %s", f->name, f->help);
        if (f->value && !f->is_bool) printf(" [%s]", f->value);
        printf("\n");
    }
    printf("  --%-14s this help\n", "help");
}

/* Names of the flags given on the command line. */
static const char *g_set[64];
static int g_nset;

static int was_set(const char *name)
{
    int i;
    for (i = 0; i < g_nset; ++i)
        if (!strcmp(g_set[i], name)) return 1;
    return 0;
}

static void parse_flags(const cmd *c, int argc, char **argv)
{
    int i, j;
    for (i = 0; i < argc; ++i) {
        const char *a = argv[i], *eq, *val = NULL;
        size_t n;
        flag *f = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(c);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) die(EXIT_USAGE, "%s: unexpected argument '%s' (see kdts %s --help)", c->name, a, c->name);
        a += 2;
        eq = strchr(a, '=');
        n = eq ? (size_t)(eq - a) : strlen(a);
        for (j = 0; j < c->nflags; ++j)
            if (strlen(c->flags[j].name) == n && !strncmp(c->flags[j].name, a, n)) f = &c->flags[j];
        if (!f) die(EXIT_USAGE, "%s: unknown flag '--%.*s' (see kdts %s --help)", c->name, (int)n, a, c->name);
        if (g_nset < 64) g_set[g_nset++] = f->name;
        if (f->is_bool) {
            if (eq) die(EXIT_USAGE, "%s: --%s takes no value", c->name, f->name);
            f->value = "1";
            continue;
        }
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else die(EXIT_USAGE, "%s: --%s needs a value", c->name, f->name);
        if (f->repeat) {
            if (f->nmulti >= MAX_TEACHERS) die(EXIT_USAGE, "%s: at most %d --%s", c->name, MAX_TEACHERS, f->name);
            f->multi[f->nmulti++] = val;
        }
        f->value = val;
    }
}

static flag *F(const cmd *c, const char *name)
{
    int j;
    for (j = 0; j < c->nflags; ++j)
        if (!strcmp(c->flags[j].name, name)) return &c->flags[j];
    die(EXIT_USAGE, "internal: no flag %s", name);
    return NULL;
}
static const char *fstr(const cmd *c, const char *name) { return F(c, name)->value; }
static const char *freq(const cmd *c, const char *name)
{
    const char *v = fstr(c, name);
    if (!v || !*v) die(EXIT_USAGE, "%s: --%s is required (see kdts %s --help)", c->name, name, c->name);
    return v;
}
static long fint(const cmd *c, const char *name, long lo, long hi)
{
    const char *v = fstr(c, name);
    char *end;
    long x;
    if (!v) return 0;
    x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi)
        die(EXIT_USAGE, "%s: --%s expects an integer in %ld..%ld, got '%s'", c->name, name, lo, hi, v);
    return x;
}
static double fnum(const cmd *c, const char *name, double lo, double hi)
{
    const char *v = fstr(c, name);
    char *end;
    double x;
    if (!v) return 0;
    x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        die(EXIT_USAGE, "%s: --%s expects a number in [%g, %g], got '%s'", c->name, name, lo, hi, v);
    return x;
}
static int fbool(const cmd *c, const char *name) { return fstr(c, name) != NULL; }

/* Split "a,b,c" into at most max parts (pointers into a copy). */
static int split_list(char *s, char **out, int max)
{
    int n = 0;
    char *p = s;
    while (p && *p) {
        char *q = strchr(p, ',');
        if (q) *q = 0;
        if (n >= max) return -1;
        out[n++] = p;
        p = q ? q + 1 : NULL;
    }
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* ---- data --------------------------------------------------------------- */

typedef struct data {
    kdts_table t;          /* the kept columns, in model feature order      */
    long rows;
    int F, K;
    int target[MAXF];      /* feature index of each target                  */
    char *names[MAXF];
    float *X;              /* (rows,F) raw values, row-major                 */
    kdts_split split;
} data;

/* Read a CSV file; a reader error ends the program with file position. */
static void read_csv(kdts_table *t, const char *path, const kdts_csv_config *cc)
{
    kdts_error e;
    kdts_result r;
    memset(&e, 0, sizeof e);
    r = kdts_csv_read_file(t, path, cc, &e);
    if (r != KDTS_OK) {
        if (e.line) die(EXIT_DATA, "%s (line %ld, column %ld)", e.message, e.line, e.column);
        die_err(&e, r, path);
    }
}

/* Load a model file; an error ends the program, naming what (model, teacher). */
static void load_model(kdts_model *m, const char *path, const char *what)
{
    kdts_error e;
    kdts_result r;
    memset(&e, 0, sizeof e);
    r = kdts_model_load_file(m, path, &e);
    if (r != KDTS_OK) die_err(&e, r, what);
}

static int missing_policy(const cmd *c)
{
    const char *m = fstr(c, "missing");
    if (!m || !strcmp(m, "error")) return KDTS_MISSING_ERROR;
    if (!strcmp(m, "interpolate")) return KDTS_MISSING_INTERPOLATE;
    if (!strcmp(m, "ffill")) return KDTS_MISSING_FFILL;
    die(EXIT_USAGE, "%s: --missing must be error, interpolate or ffill", c->name);
    return 0;
}

/* Read the CSV keeping `names` (features; targets must be among them). */
static void load_data(data *d, const cmd *c, const char *path, char **names, int nf, char **targets, int nk)
{
    kdts_csv_config cc = kdts_csv_config_default();
    long maxrows = fint(c, "max-rows", 0, 2000000000L), i;
    int f, k;
    memset(d, 0, sizeof *d);
    cc.columns = (const char *const *)names;
    cc.n_columns = nf;
    cc.missing = missing_policy(c);
    read_csv(&d->t, path, &cc);
    d->F = nf;
    d->K = nk;
    for (f = 0; f < nf; ++f) d->names[f] = names[f];
    for (k = 0; k < nk; ++k) {
        d->target[k] = -1;
        for (f = 0; f < nf; ++f)
            if (!strcmp(names[f], targets[k])) d->target[k] = f;
        if (d->target[k] < 0) die(EXIT_USAGE, "target '%s' is not among the features", targets[k]);
    }
    d->rows = d->t.rows;
    if (maxrows > 0 && maxrows < d->rows) d->rows = maxrows;
    d->X = (float *)malloc((size_t)d->rows * nf * sizeof(float));
    if (!d->X) die(EXIT_DATA, "out of memory");
    for (i = 0; i < d->rows; ++i)
        for (f = 0; f < nf; ++f) d->X[(size_t)i * nf + f] = d->t.col[f][i];
}

static void free_data(data *d)
{
    kdts_table_free(&d->t);
    free(d->X);
}

/* --split: "0.6,0.2,0.2" ratios or "8640,2880,2880" rows; default ETT
   months for >= 14400 rows, else 0.6/0.2/0.2. */
static void make_split(data *d, const cmd *c)
{
    const char *s = fstr(c, "split");
    kdts_error e;
    kdts_result r = KDTS_OK; /* every path sets it or exits */
    memset(&e, 0, sizeof e);
    if (!s || !strcmp(s, "auto")) {
        if (d->rows >= 14400) r = kdts_split_rows(&d->split, d->rows, 8640, 2880, 2880, &e);
        else r = kdts_split_ratio(&d->split, d->rows, 0.6, 0.2, 0.2, &e);
    } else {
        double v[3];
        char *end;
        const char *p = s;
        int i, frac = 0;
        for (i = 0; i < 3; ++i) {
            v[i] = strtod(p, &end);
            if (end == p || (i < 2 && *end != ',') || (i == 2 && *end) || v[i] < 0)
                die(EXIT_USAGE, "%s: --split expects three numbers like 0.6,0.2,0.2 or 8640,2880,2880", c->name);
            if (v[i] != floor(v[i]) || v[i] < 1.0) frac = 1;
            p = end + 1;
        }
        if (frac && v[0] + v[1] + v[2] <= 1.0 + 1e-9) r = kdts_split_ratio(&d->split, d->rows, v[0], v[1], v[2], &e);
        else if (!frac) r = kdts_split_rows(&d->split, d->rows, (long)v[0], (long)v[1], (long)v[2], &e);
        else die(EXIT_USAGE, "%s: --split ratios must sum to at most 1, or be whole row counts", c->name);
    }
    if (r != KDTS_OK) die(EXIT_DATA, "split of %ld rows: %s", d->rows, e.message);
}

static kdts_range pick_range(const data *d, const cmd *c, const char *dflt)
{
    const char *s = fstr(c, "split-part");
    kdts_range all;
    if (!s) s = dflt;
    all.begin = 0;
    all.end = d->rows;
    if (!strcmp(s, "train")) return d->split.train;
    if (!strcmp(s, "val")) return d->split.val;
    if (!strcmp(s, "test")) return d->split.test;
    if (!strcmp(s, "all")) return all;
    die(EXIT_USAGE, "%s: --split-part must be train, val, test or all", c->name);
    return all;
}

/* ---- training ----------------------------------------------------------- */

typedef struct progress {
    int tty, quiet;
    double t0;
} progress;

static int on_epoch(const kdts_epoch_info *in, void *user)
{
    progress *p = (progress *)user;
    char line[256];
    double eta = in->epoch > 0 ? in->seconds / in->epoch * (in->epochs - in->epoch) : 0;
    int n;
    if (p->quiet) return 0;
    n = snprintf(line, sizeof line, "epoch %d/%d  loss %.5f (hard %.5f soft %.5f seq %.5f)", in->epoch, in->epochs,
                 in->loss, in->hard, in->soft, in->seq);
    if (in->val_mse >= 0 && n > 0 && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - n, "  val %.5f (best %.5f @%d)", in->val_mse, in->best_val_mse,
                      in->best_epoch);
    if (n > 0 && n < (int)sizeof line)
        snprintf(line + n, sizeof line - n, "  %.1fs  ETA %.0fs", in->seconds, eta);
    if (p->tty) fprintf(stderr, "\r%s\033[K", line);
    else fprintf(stderr, "%s\n", line);
    fflush(stderr);
    return 0;
}

static int parse_wnorm(const cmd *c)
{
    const char *s = fstr(c, "window-norm");
    if (!strcmp(s, "last")) return KDTS_WNORM_LAST;
    if (!strcmp(s, "mean")) return KDTS_WNORM_MEANSTD;
    if (!strcmp(s, "none")) return KDTS_WNORM_NONE;
    die(EXIT_USAGE, "%s: --window-norm must be last, mean or none", c->name);
    return 0;
}

/* Windows of one split on the scaled data (scaled columns in `cols`). */
static void build_windows(kdts_windows *w, const data *d, float **cols, kdts_range rg, int T, int H, int wnorm,
                          int stride, const char *what)
{
    kdts_table view;
    kdts_window_config wc = kdts_window_config_default();
    kdts_error e;
    kdts_result r;
    memset(&view, 0, sizeof view);
    memset(&e, 0, sizeof e);
    view.rows = d->rows;
    view.cols = d->F;
    view.col = cols;
    wc.lookback = T;
    wc.horizon = H;
    wc.stride = stride;
    wc.targets = d->target;
    wc.n_targets = d->K;
    wc.norm = wnorm;
    r = kdts_windows_make(w, &view, rg.begin, rg.end, &wc, &e);
    if (r != KDTS_OK)
        die(EXIT_DATA, "%s split (rows %ld..%ld) gives no %d+%d-row windows: %s", what, rg.begin, rg.end, T, H,
            e.message);
}

static const char *train_flags_help =
    "Normalization: z-score fitted on the training split, then (by default) each\n"
    "window relative to its last observed value (--window-norm). Split: 8640/2880/2880\n"
    "rows (12/4/4 months of hourly data) when the file has >= 14400 rows, else\n"
    "0.6/0.2/0.2. Early stopping on the validation split keeps the best weights.";

#define COMMON_TRAIN_FLAGS(hidden, layers)                                                              \
    {"csv", "CSV file", NULL, 0, {0}, 0, 0},                                                            \
    {"target", "target column(s), comma-separated", NULL, 0, {0}, 0, 0},                                \
    {"features", "input columns, comma-separated (targets are added) [target only]", NULL, 0, {0}, 0, 0}, \
    {"out", "model file to write", NULL, 0, {0}, 0, 0},                                                 \
    {"lookback", "input steps per window", "96", 0, {0}, 0, 0},                                         \
    {"horizon", "steps forecast", "24", 0, {0}, 0, 0},                                                  \
    {"hidden", "LSTM units per layer", hidden, 0, {0}, 0, 0},                                           \
    {"layers", "stacked LSTM layers", layers, 0, {0}, 0, 0},                                            \
    {"epochs", "training epochs", "10", 0, {0}, 0, 0},                                                  \
    {"batch", "mini-batch size", "32", 0, {0}, 0, 0},                                                   \
    {"lr", "Adam learning rate", "0.001", 0, {0}, 0, 0},                                                \
    {"clip", "gradient-norm clip (0 = off)", "1", 0, {0}, 0, 0},                                        \
    {"seed", "random seed", "1", 0, {0}, 0, 0},                                                         \
    {"split", "train,val,test as ratios or rows", "auto", 0, {0}, 0, 0},                                \
    {"mode", "point or dist", "point", 0, {0}, 0, 0},                                                   \
    {"bins", "bins per value in dist mode", "32", 0, {0}, 0, 0},                                        \
    {"dropout", "dropout on layer outputs", "0", 0, {0}, 0, 0},                                         \
    {"patience", "early-stopping patience in epochs (0 = off)", "3", 0, {0}, 0, 0},                     \
    {"window-norm", "last, mean or none", "last", 0, {0}, 0, 0},                                        \
    {"stride", "rows between training windows", "1", 0, {0}, 0, 0},                                     \
    {"max-rows", "use only the first N rows (0 = all)", "0", 0, {0}, 0, 0},                             \
    {"missing", "error, interpolate or ffill", "error", 0, {0}, 0, 0},                                  \
    {"quiet", "no progress output", NULL, 1, {0}, 0, 0}

typedef struct teachers {
    kdts_model m[MAX_TEACHERS];
    kdts_lstm view[MAX_TEACHERS];
    int n;
} teachers;

static int run_training(const cmd *c, int distill)
{
    const char *csv = freq(c, "csv"), *out = freq(c, "out");
    char *featbuf = NULL, *tgtbuf = NULL, *feats[MAXF], *tgts[MAXF];
    int nf = 0, nk = 0, f, k, T, H, wnorm;
    data d;
    teachers te;
    kdts_scaler sc;
    kdts_scaler_config scfg = kdts_scaler_config_default();
    float *scaled[MAXF];
    kdts_windows wtr, wva;
    kdts_lstm_config lc;
    kdts_lstm net;
    kdts_train_config tc;
    kdts_train_report rep;
    kdts_dataset dtr, dva;
    kdts_error e;
    kdts_result r;
    kdts_model model;
    kdts_model_desc desc;
    kdts_model_meta meta;
    progress pg;
    const kdts_lstm *tv[MAX_TEACHERS];
    const char *mode = fstr(c, "mode");
    double t0;
    memset(&e, 0, sizeof e);
    memset(&te, 0, sizeof te);
    memset(&meta, 0, sizeof meta);
    T = (int)fint(c, "lookback", 1, 100000);
    H = (int)fint(c, "horizon", 1, 100000);
    wnorm = parse_wnorm(c);
    if (strcmp(mode, "point") && strcmp(mode, "dist")) die(EXIT_USAGE, "%s: --mode must be point or dist", c->name);
    if (distill) {
        flag *tf = F(c, "teacher");
        int i;
        if (tf->nmulti == 0) die(EXIT_USAGE, "distill: at least one --teacher is required");
        for (i = 0; i < tf->nmulti; ++i) {
            load_model(&te.m[i], tf->multi[i], "teacher");
            if (kdts_model_lstm(&te.m[i], &te.view[i], &e) != KDTS_OK) die_err(&e, KDTS_ERR_ARG, "teacher");
            tv[i] = &te.view[i];
            te.n++;
            if (i > 0) {
                const kdts_model *a = &te.m[0], *b = &te.m[i];
                if (a->n_features != b->n_features || a->n_targets != b->n_targets || a->horizon != b->horizon ||
                    a->lookback != b->lookback || a->window_norm != b->window_norm ||
                    memcmp(a->names, b->names, a->names_len < b->names_len ? a->names_len : b->names_len) ||
                    memcmp(a->scaler.offset, b->scaler.offset, sizeof(float) * a->n_features) ||
                    memcmp(a->scaler.scale, b->scaler.scale, sizeof(float) * a->n_features))
                    die(EXIT_DATA, "teacher %s was trained on other data settings than %s", tf->multi[i], tf->multi[0]);
            }
        }
        /* the student sees the data exactly as the teachers did */
        for (f = 0; f < te.m[0].n_features; ++f) feats[nf++] = (char *)kdts_model_feature_name(&te.m[0], f);
        for (k = 0; k < te.m[0].n_targets; ++k) tgts[nk++] = feats[te.m[0].target_index[k]];
        if (fstr(c, "target")) {
            char *tb = strdup(fstr(c, "target")), *list[MAXF];
            int n = split_list(tb, list, MAXF);
            if (n != nk) die(EXIT_USAGE, "distill: --target does not match the teacher's targets");
            for (k = 0; k < n; ++k)
                if (strcmp(list[k], tgts[k])) die(EXIT_USAGE, "distill: teacher predicts '%s', not '%s'", tgts[k], list[k]);
            free(tb);
        }
        if ((was_set("lookback") && T != te.m[0].lookback) || (was_set("horizon") && H != te.m[0].horizon) ||
            (was_set("window-norm") && wnorm != te.m[0].window_norm) || was_set("features"))
            die(EXIT_USAGE, "distill: lookback, horizon, features and window norm come from the teacher "
                            "(lookback %d, horizon %d)", te.m[0].lookback, te.m[0].horizon);
        T = te.m[0].lookback;
        H = te.m[0].horizon;
        wnorm = te.m[0].window_norm;
    } else {
        tgtbuf = strdup(freq(c, "target"));
        nk = split_list(tgtbuf, tgts, MAXF);
        if (nk < 1) die(EXIT_USAGE, "train: --target is empty");
        if (fstr(c, "features")) {
            featbuf = strdup(fstr(c, "features"));
            nf = split_list(featbuf, feats, MAXF);
            if (nf < 0) die(EXIT_USAGE, "train: too many features (at most %d)", MAXF);
        }
        for (k = 0; k < nk; ++k) {
            int found = 0;
            for (f = 0; f < nf; ++f) found |= !strcmp(feats[f], tgts[k]);
            if (!found) {
                if (nf >= MAXF) die(EXIT_USAGE, "train: too many features");
                feats[nf++] = tgts[k];
            }
        }
    }
    load_data(&d, c, csv, feats, nf, tgts, nk);
    make_split(&d, c);
    /* scaler: z-score on the training rows, model feature order */
    memset(&sc, 0, sizeof sc);
    scfg.kind = KDTS_SCALER_ZSCORE;
    if (distill) {
        sc = te.m[0].scaler;
    } else {
        for (f = 0; f < nf; ++f) {
            r = kdts_scaler_fit_column(&sc, &scfg, f, d.X ? d.t.col[f] + d.split.train.begin : NULL,
                                       d.split.train.end - d.split.train.begin, &e);
            if (r != KDTS_OK) die_err(&e, r, "scaler");
        }
    }
    for (f = 0; f < nf; ++f) {
        scaled[f] = (float *)malloc((size_t)d.rows * sizeof(float));
        if (!scaled[f]) die(EXIT_DATA, "out of memory");
        memcpy(scaled[f], d.t.col[f], (size_t)d.rows * sizeof(float));
        kdts_scaler_apply_column(&sc, f, scaled[f], d.rows);
    }
    build_windows(&wtr, &d, scaled, d.split.train, T, H, wnorm, (int)fint(c, "stride", 1, 100000), "train");
    memset(&wva, 0, sizeof wva);
    if (d.split.val.end - d.split.val.begin >= T + H)
        build_windows(&wva, &d, scaled, d.split.val, T, H, wnorm, 1, "validation");
    if (wtr.n > 2000000000L) die(EXIT_DATA, "too many windows");
    dtr.x = wtr.x;
    dtr.y = wtr.y;
    dtr.n = (int)wtr.n;
    dtr.T = T;
    dtr.F = nf;
    dtr.h = nk * H;
    dva = dtr;
    dva.x = wva.x;
    dva.y = wva.y;
    dva.n = (int)wva.n;
    /* network */
    memset(&lc, 0, sizeof lc);
    lc.input = nf;
    lc.hidden = (int)fint(c, "hidden", 1, 65536);
    lc.layers = (int)fint(c, "layers", 1, KDTS_MAX_LAYERS);
    lc.horizon = nk * H;
    lc.dropout = (float)fnum(c, "dropout", 0, 0.95);
    if (!strcmp(mode, "dist")) {
        /* bins over the training targets' range (normalized), 5% margin */
        double lo = 1e30, hi = -1e30, m;
        size_t i, n = (size_t)wtr.n * T * nk * H;
        lc.mode = KDTS_MODE_DIST;
        lc.bins = (int)fint(c, "bins", 2, 4096);
        for (i = 0; i < n; ++i) {
            if (wtr.y[i] < lo) lo = wtr.y[i];
            if (wtr.y[i] > hi) hi = wtr.y[i];
        }
        if (!(hi > lo)) hi = lo + 1;
        m = 0.05 * (hi - lo);
        lc.bin_lo = (float)(lo - m);
        lc.bin_hi = (float)(hi + m);
        if (distill && te.m[0].arch.mode == KDTS_MODE_DIST && te.m[0].arch.bins == lc.bins) {
            lc.bin_lo = te.m[0].arch.bin_lo; /* same bins as the teacher for L_soft */
            lc.bin_hi = te.m[0].arch.bin_hi;
        }
    }
    r = kdts_lstm_init(&net, &lc, (unsigned long long)fint(c, "seed", 0, 2000000000L), &e);
    if (r != KDTS_OK) die_err(&e, r, "model");
    memset(&tc, 0, sizeof tc);
    tc.epochs = (int)fint(c, "epochs", 1, 1000000);
    tc.batch = (int)fint(c, "batch", 1, 1000000);
    tc.adam.lr = (float)fnum(c, "lr", 1e-9, 10);
    tc.adam.clip_norm = (float)fnum(c, "clip", 0, 1e9);
    tc.seed = (unsigned long long)fint(c, "seed", 0, 2000000000L);
    tc.patience = (int)fint(c, "patience", 0, 1000000);
    if (distill) {
        tc.alpha = (float)fnum(c, "alpha", 0, 1);
        tc.beta = (float)fnum(c, "beta", 0, 1e6);
        tc.temperature = (float)fnum(c, "temperature", 1e-3, 1e3);
        tc.alpha_warmup = (int)fint(c, "alpha-warmup", 0, 1000000);
    }
    pg.tty = isatty(2);
    pg.quiet = fbool(c, "quiet");
    pg.t0 = now_s();
    tc.on_epoch = on_epoch;
    tc.user = &pg;
    t0 = now_s();
    if (!pg.quiet)
        fprintf(stderr, "%s %dx%d %s on %s: %d train / %d val windows of %d steps, %d feature(s), horizon %d\n",
                distill ? "distilling" : "training", lc.layers, lc.hidden, mode, base_name(csv), dtr.n, dva.n, T, nf, H);
    r = kdts_train(&net, &tc, &dtr, dva.n > 0 ? &dva : NULL, distill ? tv : NULL, distill ? te.n : 0, &rep, &e);
    if (pg.tty && !pg.quiet) fputc('\n', stderr);
    if (r != KDTS_OK) die_err(&e, r, "training failed (nothing written)");
    /* metadata */
    meta.seed = tc.seed;
    meta.epochs = tc.epochs;
    meta.epochs_run = rep.epochs_run;
    meta.best_epoch = rep.best_epoch;
    meta.batch = tc.batch;
    meta.patience = tc.patience;
    meta.lr = tc.adam.lr;
    meta.final_loss = (float)rep.final_loss;
    meta.best_val_mse = dva.n > 0 ? (float)rep.best_val_mse : -1.0f;
    meta.seconds = now_s() - t0;
    meta.rows_train = d.split.train.end - d.split.train.begin;
    meta.rows_val = d.split.val.end - d.split.val.begin;
    meta.rows_test = d.split.test.end - d.split.test.begin;
    snprintf(meta.source, sizeof meta.source, "%s", base_name(csv));
    if (distill) {
        int i, n = 0;
        meta.n_teachers = te.n;
        meta.alpha = tc.alpha;
        meta.beta = tc.beta;
        meta.temperature = tc.temperature;
        meta.alpha_warmup = tc.alpha_warmup;
        for (i = 0; i < te.n; ++i) {
            meta.teacher_params += te.m[i].nparams;
            if (n < (int)sizeof meta.teacher)
                n += snprintf(meta.teacher + n, sizeof meta.teacher - n, "%s%s (%dx%d %s)", i ? "; " : "",
                              base_name(F(c, "teacher")->multi[i]), te.m[i].arch.layers, te.m[i].arch.hidden,
                              te.m[i].arch.mode == KDTS_MODE_DIST ? "dist" : "point");
        }
    }
    memset(&desc, 0, sizeof desc);
    desc.lookback = T;
    desc.horizon = H;
    desc.n_features = nf;
    desc.feature_names = (const char *const *)feats;
    desc.n_targets = nk;
    desc.target_index = d.target;
    desc.window_norm = wnorm;
    desc.scaler = &sc;
    desc.meta = &meta;
    r = kdts_model_create(&model, &net, &desc, &e);
    if (r != KDTS_OK) die_err(&e, r, "model");
    r = kdts_model_save_file(&model, out, &e);
    if (r != KDTS_OK) die_err(&e, r, "save");
    if (!pg.quiet)
        fprintf(stderr, "wrote %s: %lu parameters, best validation MSE %.5f at epoch %d, %.1f s\n", out,
                (unsigned long)model.nparams, meta.best_val_mse, rep.best_epoch, meta.seconds);
    kdts_model_free(&model);
    kdts_lstm_free(&net);
    kdts_windows_free(&wtr);
    kdts_windows_free(&wva);
    for (f = 0; f < nf; ++f) free(scaled[f]);
    {
        int i;
        for (i = 0; i < te.n; ++i) kdts_model_free(&te.m[i]);
    }
    free_data(&d);
    free(featbuf);
    free(tgtbuf);
    return 0;
}

static flag train_flags[] = {COMMON_TRAIN_FLAGS("64", "2")};
static flag distill_flags[] = {
    COMMON_TRAIN_FLAGS("16", "1"),
    {"teacher", "teacher model (repeat for an ensemble)", NULL, 0, {0}, 0, 1},
    {"alpha", "weight of the soft loss", "0.5", 0, {0}, 0, 0},
    {"beta", "weight of the sequence loss", "0.1", 0, {0}, 0, 0},
    {"temperature", "softmax temperature (dist mode)", "2", 0, {0}, 0, 0},
    {"alpha-warmup", "epochs over which alpha rises from 0", "0", 0, {0}, 0, 0},
};

/* ---- loading a model and its data --------------------------------------- */

/* Load --model and its --csv data (the model's columns, split as in training). */
static void load_model_data(data *d, kdts_model *m, const cmd *c)
{
    char *feats[MAXF], *tgts[MAXF];
    int f, k;
    load_model(m, freq(c, "model"), "model");
    for (f = 0; f < m->n_features; ++f) feats[f] = (char *)kdts_model_feature_name(m, f);
    for (k = 0; k < m->n_targets; ++k) tgts[k] = feats[m->target_index[k]];
    load_data(d, c, freq(c, "csv"), feats, m->n_features, tgts, m->n_targets);
    make_split(d, c);
}

static void infer_open(kdts_infer *inf, const kdts_model *m)
{
    kdts_error e;
    memset(&e, 0, sizeof e);
    if (kdts_infer_create(inf, m, 0, &e) != KDTS_OK) die_err(&e, KDTS_ERR_ARG, "inference");
}

/* Free what load_model_data and infer_open made. */
static void free_model_data(kdts_infer *inf, data *d, kdts_model *m)
{
    kdts_infer_free(inf);
    free_data(d);
    kdts_model_free(m);
}

/* ---- eval --------------------------------------------------------------- */

typedef struct acc {
    double se, ae, ape, sy, syy;
    long n, nape;
} acc;

static void acc_add(acc *a, double pred, double truth)
{
    double e = pred - truth;
    a->se += e * e;
    a->ae += fabs(e);
    if (fabs(truth) > 1e-8) {
        a->ape += fabs(e / truth);
        a->nape++;
    }
    a->sy += truth;
    a->syy += truth * truth;
    a->n++;
}

static void acc_print(const char *label, const acc *a)
{
    double mse = a->se / a->n, sst = a->syy - a->sy * a->sy / a->n;
    printf("  %-22s MSE %10.5f  MAE %9.5f  RMSE %9.5f  MAPE %8.2f%%  R2 %8.4f\n", label, mse, a->ae / a->n, sqrt(mse),
           a->nape ? 100.0 * a->ape / a->nape : 0.0, sst > 0 ? 1.0 - a->se / sst : 0.0);
}

static flag eval_flags[] = {
    {"model", "model file", NULL, 0, {0}, 0, 0},
    {"csv", "CSV file", NULL, 0, {0}, 0, 0},
    {"split", "train,val,test as ratios or rows (as in training)", "auto", 0, {0}, 0, 0},
    {"split-part", "which part: train, val, test or all", "test", 0, {0}, 0, 0},
    {"max-rows", "use only the first N rows (0 = all)", "0", 0, {0}, 0, 0},
    {"missing", "error, interpolate or ffill", "error", 0, {0}, 0, 0},
};

static int cmd_eval(const cmd *c)
{
    kdts_model m;
    data d;
    kdts_infer inf;
    kdts_range rg;
    long s, nw;
    int T, H, K, k, j;
    float *fc;
    acc mo, mn, po, pn;
    load_model_data(&d, &m, c);
    rg = pick_range(&d, c, fstr(c, "split-part"));
    T = m.lookback;
    H = m.horizon;
    K = m.n_targets;
    nw = rg.end - rg.begin - T - H + 1;
    if (nw < 1) die(EXIT_DATA, "the %s rows %ld..%ld hold no window of %d+%d rows", fstr(c, "split-part"), rg.begin, rg.end, T, H);
    infer_open(&inf, &m);
    fc = (float *)malloc((size_t)K * H * sizeof(float));
    memset(&mo, 0, sizeof mo);
    mn = po = pn = mo;
    for (s = rg.begin; s < rg.begin + nw; ++s) {
        const float *x = d.X + (size_t)s * d.F;
        kdts_result r = kdts_infer_window(&inf, x, T, fc, NULL, NULL, 0, NULL);
        if (r != KDTS_OK) die(EXIT_DATA, "inference failed at row %ld: %s", s, kdts_result_str(r));
        for (k = 0; k < K; ++k) {
            int f = m.target_index[k];
            float last = x[(size_t)(T - 1) * d.F + f];
            for (j = 0; j < H; ++j) {
                float y = d.X[(size_t)(s + T + j) * d.F + f], p = fc[k * H + j];
                acc_add(&mo, p, y);
                acc_add(&po, last, y);
                acc_add(&mn, kdts_scaler_apply_value(&m.scaler, f, p), kdts_scaler_apply_value(&m.scaler, f, y));
                acc_add(&pn, kdts_scaler_apply_value(&m.scaler, f, last), kdts_scaler_apply_value(&m.scaler, f, y));
            }
        }
    }
    printf("model %s: %dx%d %s, lookback %d, horizon %d\n", base_name(freq(c, "model")), m.arch.layers, m.arch.hidden,
           m.arch.mode == KDTS_MODE_DIST ? "dist" : "point", T, H);
    printf("data %s, %s rows %ld..%ld: %ld windows x %d targets x %d steps\n", base_name(freq(c, "csv")),
           fstr(c, "split-part"), rg.begin, rg.end, nw, K, H);
    printf("normalized units (z-score of the training split):\n");
    acc_print("model", &mn);
    acc_print("persistence (last value)", &pn);
    printf("original units:\n");
    acc_print("model", &mo);
    acc_print("persistence (last value)", &po);
    free(fc);
    free_model_data(&inf, &d, &m);
    return 0;
}

/* ---- predict ------------------------------------------------------------ */

static flag predict_flags[] = {
    {"model", "model file", NULL, 0, {0}, 0, 0},
    {"csv", "CSV file", NULL, 0, {0}, 0, 0},
    {"last", "only the last N forecasts (0 = every window)", "0", 0, {0}, 0, 0},
    {"coverage", "prediction interval coverage (dist mode)", "0.8", 0, {0}, 0, 0},
    {"split", "train,val,test as ratios or rows", "auto", 0, {0}, 0, 0},
    {"split-part", "rows to forecast from: train, val, test or all", "all", 0, {0}, 0, 0},
    {"max-rows", "use only the first N rows (0 = all)", "0", 0, {0}, 0, 0},
    {"missing", "error, interpolate or ffill", "error", 0, {0}, 0, 0},
};

static int cmd_predict(const cmd *c)
{
    kdts_model m;
    data d;
    kdts_infer inf;
    kdts_range rg;
    long e0, e1, last = fint(c, "last", 0, 2000000000L), row;
    int T, H, K, k, j, dist;
    float cov = (float)fnum(c, "coverage", 0, 1);
    float *fc, *lo, *hi, *all;
    size_t V, i;
    load_model_data(&d, &m, c);
    rg = pick_range(&d, c, "all");
    T = m.lookback;
    H = m.horizon;
    K = m.n_targets;
    V = (size_t)K * H;
    dist = m.arch.mode == KDTS_MODE_DIST;
    /* a forecast from every row e whose window rows e-T+1..e lie in the range */
    e0 = rg.begin + T - 1;
    e1 = rg.end - 1;
    if (e1 < e0) die(EXIT_DATA, "fewer than %d rows to forecast from", T);
    if (last > 0 && e1 - last + 1 > e0) e0 = e1 - last + 1;
    infer_open(&inf, &m);
    all = (float *)malloc((size_t)(e1 - e0 + 1) * V * 3 * sizeof(float));
    if (!all) die(EXIT_DATA, "out of memory");
    for (row = e0; row <= e1; ++row) {
        kdts_result r;
        fc = all + (size_t)(row - e0) * V * 3;
        lo = fc + V;
        hi = lo + V;
        r = kdts_infer_window(&inf, d.X + (size_t)(row - T + 1) * d.F, T, fc, dist ? lo : NULL, dist ? hi : NULL, cov, NULL);
        if (r != KDTS_OK) die(EXIT_DATA, "inference failed at row %ld: %s", row, kdts_result_str(r));
    }
    /* everything computed: print */
    printf("row");
    for (k = 0; k < K; ++k) {
        const char *nm = kdts_model_feature_name(&m, m.target_index[k]);
        for (j = 0; j < H; ++j) {
            printf(",%s_t+%d", nm, j + 1);
            if (dist) printf(",%s_t+%d_lo,%s_t+%d_hi", nm, j + 1, nm, j + 1);
        }
    }
    printf("\n");
    for (row = e0; row <= e1; ++row) {
        fc = all + (size_t)(row - e0) * V * 3;
        printf("%ld", row);
        for (i = 0; i < V; ++i) {
            printf(",%.6g", fc[i]);
            if (dist) printf(",%.6g,%.6g", fc[V + i], fc[2 * V + i]);
        }
        printf("\n");
    }
    free(all);
    free_model_data(&inf, &d, &m);
    return fflush(stdout) == 0 ? 0 : EXIT_DATA;
}

/* ---- info and bench ----------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median latency of one window forecast through the inference API (s). */
static double bench_latency(const kdts_model *m, int runs)
{
    kdts_infer inf;
    double *t = (double *)malloc((size_t)runs * sizeof(double)), med;
    float *x = (float *)malloc((size_t)m->lookback * m->n_features * sizeof(float));
    float fc[4096];
    int i, n = m->lookback * m->n_features, reps = 1;
    kdts_rng rng;
    if (!t || !x || (size_t)m->arch.horizon > sizeof fc / sizeof fc[0]) die(EXIT_DATA, "bench: too large");
    kdts_rng_seed(&rng, 7);
    for (i = 0; i < n; ++i) x[i] = m->scaler.offset[i % m->n_features] + kdts_rng_normal(&rng) * m->scaler.scale[i % m->n_features];
    infer_open(&inf, m);
    /* repeat a run until it lasts >= 20 us for a stable clock reading */
    for (;;) {
        double t0 = now_s(), dt;
        for (i = 0; i < reps; ++i) kdts_infer_window(&inf, x, m->lookback, fc, NULL, NULL, 0, NULL);
        dt = now_s() - t0;
        if (dt > 2e-5 || reps > 1000000) break;
        reps *= 2;
    }
    for (i = 0; i < runs; ++i) {
        double t0 = now_s();
        int j;
        for (j = 0; j < reps; ++j) kdts_infer_window(&inf, x, m->lookback, fc, NULL, NULL, 0, NULL);
        t[i] = (now_s() - t0) / reps;
    }
    qsort(t, (size_t)runs, sizeof(double), cmp_d);
    med = t[runs / 2];
    kdts_infer_free(&inf);
    free(t);
    free(x);
    return med;
}

static void print_info(const kdts_model *m, const char *path)
{
    const kdts_lstm_config *a = &m->arch;
    const kdts_model_meta *mt = &m->meta;
    size_t fbytes = 0;
    int f, k;
    kdts_model_save_mem(m, NULL, 0, &fbytes, NULL);
    printf("model        %s\n", path);
    printf("architecture LSTM %d layer(s) x %d units, input %d, head %d outputs (%s", a->layers, a->hidden, a->input,
           kdts__outputs(a), a->mode == KDTS_MODE_DIST ? "dist" : "point");
    if (a->mode == KDTS_MODE_DIST) printf(", %d bins over [%g, %g]", a->bins, a->bin_lo, a->bin_hi);
    printf(")\n");
    printf("parameters   %lu (%lu bytes of weights, %lu bytes on disk)\n", (unsigned long)m->nparams,
           (unsigned long)kdts_model_weight_bytes(m), (unsigned long)fbytes);
    printf("FLOPs        %.0f per forecast (lookback %d)\n", kdts_lstm_forecast_flops(a, m->lookback), m->lookback);
    printf("features    ");
    for (f = 0; f < m->n_features; ++f)
        printf(" %s (mean %g, std %g)", kdts_model_feature_name(m, f), m->scaler.offset[f], m->scaler.scale[f]);
    printf("\ntargets     ");
    for (k = 0; k < m->n_targets; ++k) printf(" %s", kdts_model_feature_name(m, m->target_index[k]));
    printf(", horizon %d, lookback %d, window norm %s\n", m->horizon, m->lookback,
           m->window_norm == KDTS_WNORM_LAST ? "last" : m->window_norm == KDTS_WNORM_MEANSTD ? "mean" : "none");
    printf("training     seed %llu, %d/%d epochs (best %d), batch %d, lr %g, patience %d, dropout %g, %.1f s\n",
           mt->seed, mt->epochs_run, mt->epochs, mt->best_epoch, mt->batch, mt->lr, mt->patience, a->dropout, mt->seconds);
    printf("             final loss %.6g, best validation MSE %.6g, rows train/val/test %lld/%lld/%lld, data %s\n",
           mt->final_loss, mt->best_val_mse, mt->rows_train, mt->rows_val, mt->rows_test, mt->source[0] ? mt->source : "-");
    if (mt->n_teachers)
        printf("distillation %d teacher(s), %llu parameters: %s; alpha %g, beta %g, T %g, alpha warm-up %d\n",
               mt->n_teachers, mt->teacher_params, mt->teacher, mt->alpha, mt->beta, mt->temperature, mt->alpha_warmup);
    else
        printf("distillation none (hard labels)\n");
}

static flag info_flags[] = {
    {"model", "model file", NULL, 0, {0}, 0, 0},
    {"bench", "also measure the single-window latency", NULL, 1, {0}, 0, 0},
};

static int cmd_info(const cmd *c)
{
    kdts_model m;
    load_model(&m, freq(c, "model"), "model");
    print_info(&m, freq(c, "model"));
    if (fbool(c, "bench")) printf("latency      %.2f us per forecast (median, kdts_infer_window)\n", 1e6 * bench_latency(&m, 51));
    kdts_model_free(&m);
    return 0;
}

static flag bench_flags[] = {
    {"model", "model file (else a random model of the sizes below)", NULL, 0, {0}, 0, 0},
    {"hidden", "units per layer", "64", 0, {0}, 0, 0},
    {"layers", "layers", "2", 0, {0}, 0, 0},
    {"input", "features", "1", 0, {0}, 0, 0},
    {"lookback", "window steps", "96", 0, {0}, 0, 0},
    {"horizon", "steps forecast", "24", 0, {0}, 0, 0},
    {"runs", "timed runs (median reported)", "101", 0, {0}, 0, 0},
};

static int cmd_bench(const cmd *c)
{
    kdts_model m;
    kdts_lstm net;
    kdts_error e;
    int runs = (int)fint(c, "runs", 1, 100000);
    size_t bytes = 0;
    memset(&e, 0, sizeof e);
    if (fstr(c, "model")) {
        load_model(&m, fstr(c, "model"), "model");
    } else {
        kdts_lstm_config lc;
        kdts_model_desc d;
        memset(&lc, 0, sizeof lc);
        lc.input = (int)fint(c, "input", 1, MAXF);
        lc.hidden = (int)fint(c, "hidden", 1, 65536);
        lc.layers = (int)fint(c, "layers", 1, KDTS_MAX_LAYERS);
        lc.horizon = (int)fint(c, "horizon", 1, 4096);
        if (kdts_lstm_init(&net, &lc, 1, &e) != KDTS_OK) die_err(&e, KDTS_ERR_ARG, "model");
        memset(&d, 0, sizeof d);
        d.lookback = (int)fint(c, "lookback", 1, 100000);
        d.horizon = lc.horizon;
        d.n_features = lc.input;
        if (kdts_model_create(&m, &net, &d, &e) != KDTS_OK) die_err(&e, KDTS_ERR_ARG, "model");
        kdts_lstm_free(&net);
    }
    kdts_model_save_mem(&m, NULL, 0, &bytes, NULL);
    printf("%dx%d LSTM, input %d, horizon %d, lookback %d, %s: %lu parameters, file %lu bytes, %.0f FLOPs, "
           "%.2f us per forecast (median of %d, %s)\n",
           m.arch.layers, m.arch.hidden, m.arch.input, m.arch.horizon, m.lookback,
           m.arch.mode == KDTS_MODE_DIST ? "dist" : "point", (unsigned long)m.nparams, (unsigned long)bytes,
           kdts_lstm_forecast_flops(&m.arch, m.lookback), 1e6 * bench_latency(&m, runs), runs, kdts_simd_name());
    kdts_model_free(&m);
    return 0;
}

/* ---- inspect ------------------------------------------------------------ */

static flag inspect_flags[] = {
    {"csv", "CSV file", NULL, 0, {0}, 0, 0},
    {"target", "check that this column exists and is numeric", NULL, 0, {0}, 0, 0},
    {"missing", "error, interpolate or ffill (how the reader would fill)", "interpolate", 0, {0}, 0, 0},
};

static int cmd_inspect(const cmd *c)
{
    const char *path = freq(c, "csv");
    kdts_csv_config cc = kdts_csv_config_default();
    kdts_table t;
    int k;
    cc.missing = missing_policy(c);
    cc.keep_text = 1;
    read_csv(&t, path, &cc);
    printf("file       %s\n", path);
    printf("delimiter  %s\n", t.delimiter == '\t' ? "tab" : t.delimiter == ';' ? "';'" : "','");
    printf("rows       %ld data rows, %d fields per row\n", t.rows, t.file_columns);
    printf("columns    %d numeric, %d text\n", t.cols, t.text_cols);
    for (k = 0; k < t.text_cols; ++k)
        printf("  text     %-16s first %s, last %s\n", t.text_name[k], kdts_table_text(&t, k, 0),
               kdts_table_text(&t, k, t.rows - 1));
    for (k = 0; k < t.cols; ++k) {
        double mn = 1e300, mx = -1e300, s = 0;
        long i;
        for (i = 0; i < t.rows; ++i) {
            double v = t.col[k][i];
            if (v < mn) mn = v;
            if (v > mx) mx = v;
            s += v;
        }
        printf("  numeric  %-16s field %d, missing %ld, min %g, mean %g, max %g\n", t.name[k], t.file_column[k] + 1,
               t.missing[k], mn, s / t.rows, mx);
    }
    if (fstr(c, "target") && kdts_table_find(&t, fstr(c, "target")) < 0) {
        kdts_table_free(&t);
        die(EXIT_DATA, "%s: target column '%s' is not a numeric column", path, fstr(c, "target"));
    }
    kdts_table_free(&t);
    return 0;
}

/* ---- export-c ----------------------------------------------------------- */

static flag export_flags[] = {
    {"model", "model file", NULL, 0, {0}, 0, 0},
    {"name", "C identifier prefix of the arrays", NULL, 0, {0}, 0, 0},
    {"out", "header to write [NAME.h]", NULL, 0, {0}, 0, 0},
};

static int cmd_export(const cmd *c)
{
    kdts_model m;
    kdts_error e;
    kdts_result r;
    const char *name = freq(c, "name");
    char path[1024];
    memset(&e, 0, sizeof e);
    if (fstr(c, "out")) snprintf(path, sizeof path, "%s", fstr(c, "out"));
    else snprintf(path, sizeof path, "%s.h", name);
    load_model(&m, freq(c, "model"), "model");
    r = kdts_model_export_c(&m, name, path, &e);
    if (r != KDTS_OK) die_err(&e, r, "export");
    fprintf(stderr, "wrote %s (%lu parameters)\n", path, (unsigned long)m.nparams);
    kdts_model_free(&m);
    return 0;
}

/* ---- main --------------------------------------------------------------- */

#define NF(a) (int)(sizeof(a) / sizeof((a)[0]))

int main(int argc, char **argv)
{
    cmd cmds[] = {
        {"train", NULL, "--csv F --target COL --out teacher.kdts [flags]", train_flags, NF(train_flags)},
        {"distill",
         "Train a small student on the soft targets of one or more teachers (ensemble:\n"
         "averaged), loss alpha*L_soft + (1-alpha)*L_hard + beta*L_seq. The data settings\n"
         "(features, targets, lookback, horizon, scaler, window norm) come from the teachers.",
         "--csv F --teacher T.kdts [--teacher T2.kdts ...] --out student.kdts [flags]", distill_flags,
         NF(distill_flags)},
        {"eval",
         "MSE, MAE, RMSE, MAPE and R2 of the model's forecasts on one split, in normalized\n"
         "and original units, with the persistence baseline (last value repeated).",
         "--model M.kdts --csv F [--split-part test]", eval_flags, NF(eval_flags)},
        {"predict", "Forecasts as CSV on stdout: one line per window end row (original units).",
         "--model M.kdts --csv F [--last N]", predict_flags, NF(predict_flags)},
        {"info", "Architecture, parameters, FLOPs per forecast, bytes and training metadata.",
         "--model M.kdts [--bench]", info_flags, NF(info_flags)},
        {"inspect",
         "What the CSV reader sees: delimiter, columns, rows, missing values, min/mean/max,\n"
         "or the reader's error with file, line and column.",
         "--csv F [--target COL]", inspect_flags, NF(inspect_flags)},
        {"export-c", "Write the model as a C header of static const arrays and a const kdts_model.",
         "--model M.kdts --name NAME [--out F.h]", export_flags, NF(export_flags)},
        {"bench", "Median single-window latency through kdts_infer_window.",
         "[--model M.kdts | --hidden H --layers L --lookback T --horizon h]", bench_flags, NF(bench_flags)},
    };
    int i, n = NF(cmds);
    cmds[0].summary = train_flags_help;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        printf("kdts %s - knowledge distillation for time-series forecasting\n\nusage: kdts <command> [flags]\n\n",
               KDTS_VERSION_STRING);
        for (i = 0; i < n; ++i) printf("  %-9s %s\n", cmds[i].name, cmds[i].usage);
        printf("\nkdts <command> --help describes a command. Exit status: 0 ok, 1 bad file or data, 2 bad usage.\n");
        return argc < 2 ? EXIT_USAGE : 0;
    }
    for (i = 0; i < n; ++i) {
        if (strcmp(argv[1], cmds[i].name)) continue;
        parse_flags(&cmds[i], argc - 2, argv + 2);
        switch (i) {
        case 0: return run_training(&cmds[i], 0);
        case 1: return run_training(&cmds[i], 1);
        case 2: return cmd_eval(&cmds[i]);
        case 3: return cmd_predict(&cmds[i]);
        case 4: return cmd_info(&cmds[i]);
        case 5: return cmd_inspect(&cmds[i]);
        case 6: return cmd_export(&cmds[i]);
        default: return cmd_bench(&cmds[i]);
        }
    }
    die(EXIT_USAGE, "unknown command '%s' (see kdts --help)", argv[1]);
    return EXIT_USAGE;
}
