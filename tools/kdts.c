/* kdts - the command-line tool: train a teacher, distill a student, evaluate,
   predict, inspect data, show and export models, measure latency.

   usage: kdts <command> [flags]      (kdts --help, kdts <command> --help)

   Every data rule (columns, missing values, split, scaler, windows, bins,
   metrics, baselines, timestamps) is the library's task layer (>>task in
   kdts.h); this file holds flags, messages, progress and files.

   Exit status: 0 success, 1 bad file or bad data (one-line error on
   stderr), 2 bad flag or usage, 130 interrupted (the best weights so far
   are saved). Model and header files are written atomically (temporary
   file + rename); output paths are checked before any training.

   Compiled with -DKDTS_MPI (make MPI=1) this file is build/kdts-mpi, train
   and distill data-parallel on MPI: the par_* calls below are the layer in
   tools/kdts_mpi.h, and do nothing in the one-process tool. */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <signal.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/ioctl.h>

#define EXIT_DATA 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130
#define MAXF KDTS_MAX_COLUMNS
#define MAX_TEACHERS 8

/* ---- messages ------------------------------------------------------------ */

#ifdef KDTS_MPI
static void par_die(int code, const char *msg);
#else
#define par_die(code, msg) ((void)0)
#endif

/* One message line on stderr, control bytes (from file names, column
   names, paths) shown as \xNN so they never reach the terminal raw. */
static void say(const char *prefix, const char *fmt, va_list ap)
{
    char buf[8192];
    const unsigned char *p;
    vsnprintf(buf, sizeof buf, fmt, ap);
    fputs(prefix, stderr);
    for (p = (const unsigned char *)buf; *p; ++p) {
        if (*p < 32 || *p == 127) fprintf(stderr, "\\x%02x", *p);
        else fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

static void sayf(const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(prefix, fmt, ap);
    va_end(ap);
}

static void die(int code, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    par_die(code, msg); /* MPI: every rank stops, rank 0 prints it */
    sayf("kdts: error: ", "%s", msg);
    exit(code);
}

static void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("kdts: warning: ", fmt, ap);
    va_end(ap);
}

/* The library's message is complete (it names the file, line and column). */
static void die_err(const kdts_error *e, kdts_result r, const char *what)
{
    if (what && e->message[0]) die(EXIT_DATA, "%s: %s", what, e->message);
    if (e->message[0]) die(EXIT_DATA, "%s", e->message);
    die(EXIT_DATA, "%s: %s", what ? what : "kdts", kdts_result_str(r));
}

/* A column name for the terminal: control bytes and backslashes escaped. */
static const char *shown(const char *s)
{
    static char buf[4][300];
    static int k;
    char *o = buf[k = (k + 1) % 4];
    size_t n = 0;
    for (; *s && n < sizeof buf[0] - 5; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c < 32 || c == 127 || c == '\\') n += (size_t)snprintf(o + n, 5, "\\x%02x", c);
        else o[n++] = (char)c;
    }
    o[n] = 0;
    return o;
}

/* stdout with every write checked: a failed write or flush ends the
   program with a message (output to a full disk or a closed pipe). */
static void out_check(void)
{
    if (ferror(stdout) || fflush(stdout) != 0) {
        fprintf(stderr, "kdts: error: writing the output failed: %s\n", strerror(errno ? errno : EIO));
        exit(EXIT_DATA);
    }
}

static void outf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vprintf(fmt, ap) < 0) out_check();
    va_end(ap);
}

/* One CSV field on stdout, quoted as RFC 4180 asks (and, on a terminal,
   control bytes escaped). */
static void out_csv_field(const char *s)
{
    int quote = 0, tty = isatty(1);
    const char *p;
    for (p = s; *p; ++p)
        if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') quote = 1;
    if (quote) putchar('"');
    for (p = s; *p; ++p) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') fputs("\"\"", stdout);
        else if (tty && (c < 32 || c == 127)) printf("\\x%02x", c);
        else putchar(c);
    }
    if (quote) putchar('"');
    if (ferror(stdout)) out_check();
}

/* ---- flags ----------------------------------------------------------------- */

typedef struct flag {
    const char *name;  /* without the dashes */
    const char *help;
    const char *value; /* current value (the default until given), NULL = unset */
    int is_bool;
    const char *multi[MAX_TEACHERS]; /* repeated values (--teacher) */
    int nmulti, repeat, given;
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
        printf("  --%-15s %s", f->name, f->help);
        if (f->value && !f->is_bool) printf(" [%s]", f->value);
        printf("\n");
    }
    printf("  --%-15s this help\n", "help");
    out_check();
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
        if (strncmp(a, "--", 2) != 0)
            die(EXIT_USAGE, "%s: unexpected argument '%s' (see kdts %s --help)", c->name, shown(a), c->name);
        a += 2;
        eq = strchr(a, '=');
        n = eq ? (size_t)(eq - a) : strlen(a);
        for (j = 0; j < c->nflags; ++j)
            if (strlen(c->flags[j].name) == n && !strncmp(c->flags[j].name, a, n)) f = &c->flags[j];
        if (!f) die(EXIT_USAGE, "%s: unknown flag '--%.*s' (see kdts %s --help)", c->name, (int)n, a, c->name);
        f->given = 1;
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
    return NULL;
}
static const char *fstr(const cmd *c, const char *name)
{
    flag *f = F(c, name);
    return f ? f->value : NULL;
}
static int given(const cmd *c, const char *name)
{
    flag *f = F(c, name);
    return f && f->given;
}
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
    errno = 0;
    x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        die(EXIT_USAGE, "%s: --%s expects an integer in %ld..%ld, got '%s'", c->name, name, lo, hi, shown(v));
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
        die(EXIT_USAGE, "%s: --%s expects a number in [%g, %g], got '%s'", c->name, name, lo, hi, shown(v));
    return x;
}
static int fbool(const cmd *c, const char *name) { return fstr(c, name) != NULL; }

/* One of the words in `words` ("a|b|c"); returns its position. */
static int fchoice(const cmd *c, const char *name, const char *words)
{
    const char *v = fstr(c, name), *w = words;
    int k = 0;
    size_t n = v ? strlen(v) : 0;
    while (v && *w) {
        const char *e = strchr(w, '|');
        size_t len = e ? (size_t)(e - w) : strlen(w);
        if (len == n && !strncmp(w, v, n)) return k;
        k++;
        if (!e) break;
        w = e + 1;
    }
    die(EXIT_USAGE, "%s: --%s must be one of %s, got '%s'", c->name, name, words, v ? shown(v) : "");
    return 0;
}

/* Split "a,b,c" into at most max parts (pointers into s, which is changed). */
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

/* "#N" (N a 1-based field number) -> N-1; anything else -> -1. A column
   whose name itself starts with '#' is chosen with --target-field. */
static int hash_field(const cmd *c, const char *flagname, const char *s)
{
    char *end;
    long x;
    if (s[0] != '#') return -1;
    x = strtol(s + 1, &end, 10);
    if (end == s + 1 || *end || x < 1 || x > 100000)
        die(EXIT_USAGE, "%s: --%s: '%s' is not a field number like #3 (use --%s-field for names starting with #)",
            c->name, flagname, shown(s), !strcmp(flagname, "target") ? "target" : "feature");
    return (int)x - 1;
}

/* Move the "#N" entries of names[0..*n) to fields (after *nf entries). */
static void names_to_fields(const cmd *c, const char *flagname, char **names, int *n, int *fields, int *nf)
{
    int i, k = 0;
    for (i = 0; i < *n; ++i) {
        int x = hash_field(c, flagname, names[i]);
        if (x < 0) names[k++] = names[i];
        else if (*nf >= MAXF) die(EXIT_USAGE, "%s: more than %d columns in --%s (KDTS_MAX_COLUMNS)", c->name, MAXF, flagname);
        else fields[(*nf)++] = x;
    }
    *n = k;
}

/* "3,5" -> 0-based field numbers. */
static int field_list(const cmd *c, const char *name, int *out)
{
    char buf[1024], *parts[MAXF];
    int n, i;
    const char *v = fstr(c, name);
    if (!v) return 0;
    if (strlen(v) >= sizeof buf) die(EXIT_USAGE, "%s: --%s is too long", c->name, name);
    strcpy(buf, v);
    n = split_list(buf, parts, MAXF);
    if (n < 1) die(EXIT_USAGE, "%s: --%s is empty", c->name, name);
    for (i = 0; i < n; ++i) {
        char *end;
        long x = strtol(parts[i], &end, 10);
        if (end == parts[i] || *end || x < 1 || x > 100000)
            die(EXIT_USAGE, "%s: --%s expects 1-based field numbers like 2,5, got '%s'", c->name, name, shown(v));
        out[i] = (int)x - 1;
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

/* ---- files ------------------------------------------------------------------ */

/* Is `out` a place a file may be written to, and not one of the inputs?
   Checked before any work (kdts_path_check_save: folder, names, what is
   there now; kdts_path_same: device and inode, links followed). */
static void check_output(const char *what, const char *out, const char *const *inputs, int ninputs)
{
    kdts_error e;
    kdts_result r;
    int i;
    memset(&e, 0, sizeof e);
    r = kdts_path_check_save(out, &e);
    if (r != KDTS_OK) die(r == KDTS_ERR_ARG ? EXIT_USAGE : EXIT_DATA, "%s: %s", what, e.message);
    for (i = 0; i < ninputs; ++i)
        if (inputs[i] && kdts_path_same(out, inputs[i]))
            die(EXIT_USAGE, "%s: the output %s is the input %s: choose another --out", what, shown(out), shown(inputs[i]));
}

static void load_model(kdts_model *m, const char *path)
{
    kdts_error e;
    kdts_result r;
    memset(&e, 0, sizeof e);
    r = kdts_model_load_file(m, path, &e);
    if (r != KDTS_OK) die_err(&e, r, NULL);
}

static void save_model(const kdts_model *m, const char *path)
{
    kdts_error e;
    kdts_result r;
    memset(&e, 0, sizeof e);
    r = kdts_model_save_file(m, path, &e);
    if (r != KDTS_OK) die_err(&e, r, NULL);
}

static void print_warnings(const kdts_task *t)
{
    int i;
    for (i = 0; i < t->nwarn; ++i) warn("%s: %s", t->source, t->warnings[i]);
}

/* ---- the data flags ------------------------------------------------------ */

static const char *MISSING_WORDS = "error|interpolate|ffill";
static const char *WNORM_WORDS = "last|mean|none";
static const char *SCALE_WORDS = "zscore|minmax|none";

/* Defaults of the library, as text for --help. */
static char d_lookback[16], d_horizon[16], d_stride[16], d_bins[16], d_epochs[16], d_batch[16], d_lr[16];
static char d_slr[16], d_salpha[16], d_sbeta[16]; /* a student's (kdts distill) */

static void library_defaults(void)
{
    kdts_task_config tc;
    kdts_train_config rc;
    const char *t = "y";
    memset(&tc, 0, sizeof tc);
    tc.targets = &t;
    tc.n_targets = 1;
    memset(&rc, 0, sizeof rc);
    kdts_task_config_check(&tc, NULL);
    kdts_train_config_check(&rc, NULL);
    snprintf(d_lookback, sizeof d_lookback, "%d", tc.lookback);
    snprintf(d_horizon, sizeof d_horizon, "%d", tc.horizon);
    snprintf(d_stride, sizeof d_stride, "%d", tc.stride);
    snprintf(d_bins, sizeof d_bins, "%d", tc.bins);
    snprintf(d_epochs, sizeof d_epochs, "%d", rc.epochs);
    snprintf(d_batch, sizeof d_batch, "%d", rc.batch);
    {
        kdts_adam a;
        kdts_adam_init(&a, &rc.adam, 1, NULL);
        snprintf(d_lr, sizeof d_lr, "%g", (double)a.cfg.lr);
        kdts_adam_free(&a);
    }
    snprintf(d_slr, sizeof d_slr, "%g", (double)KDTS_STUDENT_LR);
    snprintf(d_salpha, sizeof d_salpha, "%g", (double)KDTS_STUDENT_ALPHA);
    snprintf(d_sbeta, sizeof d_sbeta, "%g", (double)KDTS_STUDENT_BETA);
}

/* The task of `train`: every data flag into a kdts_task_config. */
static void open_train_task(kdts_task *task, const cmd *c, char **names_buf, char **tgt_buf)
{
    kdts_task_config tc;
    kdts_error e;
    kdts_result r;
    static char *tg[MAXF], *ft[MAXF];
    static int tf[MAXF], ff[MAXF];
    int nk = 0, nf = 0, i, j;
    memset(&tc, 0, sizeof tc);
    memset(&e, 0, sizeof e);
    if (fstr(c, "target")) {
        *tgt_buf = strdup(fstr(c, "target"));
        nk = split_list(*tgt_buf, tg, MAXF);
        if (nk < 0) die(EXIT_USAGE, "train: more than %d targets (KDTS_MAX_COLUMNS)", MAXF);
        if (nk == 0) die(EXIT_USAGE, "train: --target is empty (give column names, or #N for field N)");
        for (i = 0; i < nk; ++i)
            for (j = 0; j < i; ++j)
                if (!strcmp(tg[i], tg[j])) die(EXIT_USAGE, "train: --target names %s twice", shown(tg[i]));
    }
    tc.n_target_columns = field_list(c, "target-field", tf);
    names_to_fields(c, "target", tg, &nk, tf, &tc.n_target_columns);
    if (nk + tc.n_target_columns == 0) die(EXIT_USAGE, "train: --target (or --target-field) is required");
    tc.targets = (const char *const *)tg;
    tc.n_targets = nk;
    tc.target_columns = tf;
    if (fstr(c, "features")) {
        *names_buf = strdup(fstr(c, "features"));
        nf = split_list(*names_buf, ft, MAXF);
        if (nf < 0) die(EXIT_USAGE, "train: more than %d features (KDTS_MAX_COLUMNS)", MAXF);
    }
    tc.features = (const char *const *)ft;
    tc.n_features = nf;
    tc.n_feature_columns = field_list(c, "feature-fields", ff);
    names_to_fields(c, "features", ft, &nf, ff, &tc.n_feature_columns);
    tc.n_features = nf;
    tc.feature_columns = ff;
    tc.missing = fchoice(c, "missing", MISSING_WORDS);
    tc.max_rows = fint(c, "max-rows", 0, 2000000000L);
    if (kdts_split_parse(&tc, fstr(c, "split"), &e) != KDTS_OK) die(EXIT_USAGE, "train: --split: %s", e.message);
    tc.scaling = fchoice(c, "scale", SCALE_WORDS);
    tc.lookback = (int)fint(c, "lookback", 1, KDTS_MAX_DIM);
    tc.horizon = (int)fint(c, "horizon", 1, KDTS_MAX_DIM);
    tc.stride = (int)fint(c, "stride", 1, KDTS_MAX_DIM);
    tc.relative = fchoice(c, "window-norm", WNORM_WORDS);
    tc.bins = (int)fint(c, "bins", 2, 4096);
    tc.season = (int)fint(c, "season", 0, KDTS_MAX_DIM);
    if (fstr(c, "time-column")) tc.time_column = fstr(c, "time-column");
    r = kdts_task_config_check(&tc, &e);
    if (r != KDTS_OK) die(EXIT_USAGE, "train: %s%s", strncmp(e.message, "split", 5) ? "" : "--", e.message);
    r = kdts_task_open(task, &tc, freq(c, "csv"), &e);
    if (r != KDTS_OK) die_err(&e, r, NULL);
}

/* The data of a model: the model's recorded settings; a data flag given
   with another value than the model's is an error (the same value is
   fine). Models without recorded settings take the flags. */
static void open_model_task(kdts_task *task, const cmd *c, const kdts_model *m, const char *csv, int allow_short)
{
    kdts_task_config over;
    kdts_error e;
    kdts_result r;
    const kdts_data_settings *s = &m->data;
    kdts_model tmp;
    memset(&e, 0, sizeof e);
    tmp = *m;
    if (s->recorded) {
        if (given(c, "missing") && fchoice(c, "missing", MISSING_WORDS) != s->missing)
            die(EXIT_USAGE, "%s: the model was trained with --missing %s; drop --missing", c->name,
                s->missing == 0 ? "error" : s->missing == 1 ? "interpolate" : "ffill");
        if (given(c, "max-rows") && fint(c, "max-rows", 0, 2000000000L) != s->max_rows)
            die(EXIT_USAGE, "%s: the model was trained on --max-rows %lld; drop --max-rows", c->name, s->max_rows);
        if (given(c, "split")) {
            kdts_task_config t;
            memset(&t, 0, sizeof t);
            if (kdts_split_parse(&t, fstr(c, "split"), &e) != KDTS_OK) die(EXIT_USAGE, "%s: --split: %s", c->name, e.message);
            if (t.split != s->split || (t.split && memcmp(t.split_sizes, s->split_sizes, sizeof t.split_sizes)))
                die(EXIT_USAGE, "%s: the model records its split (train rows %lld..%lld, validation %lld..%lld, test "
                                "%lld..%lld); drop --split",
                    c->name, s->train_begin + 1, s->train_end, s->val_begin + 1, s->val_end, s->test_begin + 1,
                    s->test_end);
        }
    } else {
        /* a model without recorded settings: the flags (or the defaults) */
        kdts_task_config t;
        memset(&t, 0, sizeof t);
        if (fstr(c, "split") && kdts_split_parse(&t, fstr(c, "split"), &e) != KDTS_OK)
            die(EXIT_USAGE, "%s: --split: %s", c->name, e.message);
        tmp.data.recorded = 1;
        tmp.data.missing = fstr(c, "missing") ? fchoice(c, "missing", MISSING_WORDS) : 0;
        tmp.data.split = t.split;
        memcpy(tmp.data.split_sizes, t.split_sizes, sizeof t.split_sizes);
        tmp.data.max_rows = fint(c, "max-rows", 0, 2000000000L);
        tmp.data.stride = 1;
        tmp.data.bins = tmp.arch.mode == KDTS_MODE_DIST ? tmp.arch.bins : 32;
        warn("%s: the model does not record how its data was read; using the flags (or defaults) for missing "
             "values, split and rows",
             c->name);
    }
    memset(&over, 0, sizeof over);
    over.allow_short = allow_short;
    if (F(c, "season") && fstr(c, "season")) over.season = (int)fint(c, "season", 0, KDTS_MAX_DIM);
    r = kdts_task_open_model(task, &tmp, csv, &over, &e);
    if (r != KDTS_OK) die_err(&e, r, NULL);
}

static kdts_part pick_part(const cmd *c, const char *dflt, int *all)
{
    const char *s = fstr(c, "split-part");
    *all = 0;
    if (!s) s = dflt;
    if (!strcmp(s, "train")) return KDTS_PART_TRAIN;
    if (!strcmp(s, "val")) return KDTS_PART_VAL;
    if (!strcmp(s, "test")) return KDTS_PART_TEST;
    if (!strcmp(s, "all")) {
        *all = 1;
        return KDTS_PART_TEST;
    }
    die(EXIT_USAGE, "%s: --split-part must be train, val, test or all", c->name);
    return KDTS_PART_TEST;
}

/* ---- training -------------------------------------------------------------- */

static volatile sig_atomic_t g_interrupted;

#ifdef KDTS_MPI
#include "kdts_mpi.h"
#else
/* one process: the parallel layer is empty */
#define PAR_TRAIN_FLAGS
#define par_init(argc, argv) ((void)0)
#define par_end(code) (code)
#define par_check() ((void)0)
#define par_output(c, out) (out)
#define par_writes() 1
#define par_seed(seed) (seed)
#define par_train_setup(tc, net) ((void)0)
#define par_phase(training) ((void)0)
#define par_batch_stop() (g_interrupted != 0)
#define par_epoch(in) (g_interrupted != 0)
#endif

static void on_sigint(int sig)
{
    (void)sig;
    g_interrupted = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the program at once */
}

typedef struct progress {
    int tty, quiet, width;
    double t0, last_draw;
} progress;

static int term_width(void)
{
    struct winsize ws;
    const char *cols = getenv("COLUMNS");
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
    if (cols && atoi(cols) > 20) return atoi(cols);
    return 80;
}

/* One progress line: the parts that fit the terminal, most important first. */
static void draw(progress *p, const kdts_epoch_info *in, int done)
{
    char parts[5][96], line[512];
    int n = 0, i, len = 0;
    double elapsed = now_s() - p->t0, frac, eta;
    frac = ((double)(in->epoch - 1) + (in->batches ? (double)in->batch / in->batches : 1.0)) / in->epochs;
    eta = frac > 0 ? elapsed / frac * (1.0 - frac) : 0;
    snprintf(parts[n++], sizeof parts[0], "epoch %d/%d", in->epoch, in->epochs);
    if (!done) snprintf(parts[n - 1] + strlen(parts[n - 1]), sizeof parts[0] - strlen(parts[n - 1]), " (%d%%)",
                        in->batches ? 100 * in->batch / in->batches : 0);
    snprintf(parts[n++], sizeof parts[0], "loss %.5f", in->loss);
    if (done && in->val_mse >= 0)
        snprintf(parts[n++], sizeof parts[0], "val %.5f (best %.5f @%d)", in->val_mse, in->best_val_mse, in->best_epoch);
    snprintf(parts[n++], sizeof parts[0], "%.0fs ETA %.0fs", elapsed, eta);
    if (in->soft > 0 || in->seq > 0)
        snprintf(parts[n++], sizeof parts[0], "hard %.4f soft %.4f seq %.4f", in->hard, in->soft, in->seq);
    if (in->hint > 0 && n > 0)
        snprintf(parts[n - 1] + strlen(parts[n - 1]), sizeof parts[0] - strlen(parts[n - 1]), " hint %.4f", in->hint);
    line[0] = 0;
    for (i = 0; i < n; ++i) {
        int l = (int)strlen(parts[i]) + (i ? 2 : 0);
        if (p->tty && len + l > p->width - 1) continue;
        len += snprintf(line + len, sizeof line - (size_t)len, "%s%s", i ? "  " : "", parts[i]);
    }
    if (p->tty) fprintf(stderr, "\r%s\033[K", line);
    else fprintf(stderr, "%s\n", line);
    if (p->tty && done) fputc('\n', stderr);
    fflush(stderr);
}

static int on_epoch(const kdts_epoch_info *info, void *user)
{
    progress *p = (progress *)user;
    kdts_epoch_info in = *info;
    int stop = par_epoch(&in); /* MPI: losses over the ranks, stop agreed */
    if (!p->quiet) draw(p, &in, 1);
    return stop;
}

static int on_batch(const kdts_epoch_info *in, void *user)
{
    progress *p = (progress *)user;
    if (!p->quiet && p->tty && now_s() - p->last_draw > 0.5) {
        p->last_draw = now_s();
        draw(p, in, 0);
    }
    return par_batch_stop();
}

#define DATA_FLAGS                                                                                              \
    {"csv", "CSV file", NULL, 0, {0}, 0, 0, 0},                                                                 \
    {"target", "column(s) to forecast, comma-separated; #N = field N (1-based)", NULL, 0, {0}, 0, 0, 0},        \
    {"target-field", "...or by 1-based field number(s), e.g. 8", NULL, 0, {0}, 0, 0, 0},                        \
    {"features", "more input columns, comma-separated, #N = field N (targets are inputs too)", NULL, 0, {0}, 0, 0, 0}, \
    {"feature-fields", "...or by 1-based field number(s)", NULL, 0, {0}, 0, 0, 0},                              \
    {"missing", "missing values: error, interpolate or ffill", "error", 0, {0}, 0, 0, 0},                      \
    {"max-rows", "use only the first N rows (0 = all)", "0", 0, {0}, 0, 0, 0},                                  \
    {"split", "train,val,test: ratios (0.6,0.2,0.2), rows (8640,2880,2880) or auto", "auto", 0, {0}, 0, 0, 0}, \
    {"scale", "scaling fit on the training rows: zscore, minmax or none", "zscore", 0, {0}, 0, 0, 0},           \
    {"lookback", "input steps per window", d_lookback, 0, {0}, 0, 0, 0},                                        \
    {"horizon", "steps forecast", d_horizon, 0, {0}, 0, 0, 0},                                                  \
    {"stride", "rows between training windows", d_stride, 0, {0}, 0, 0, 0},                                     \
    {"window-norm", "each window relative to: last (value), mean (and spread) or none", "last", 0, {0}, 0, 0, 0}, \
    {"season", "period in rows of the seasonal-naive baseline (0 = none)", "0", 0, {0}, 0, 0, 0},               \
    {"time-column", "date/time column for timestamps [detected]", NULL, 0, {0}, 0, 0, 0}

/* The architecture flags of train, distill and bench (see arch_config). */
#define ARCH_FLAGS(hidden, layers)                                                                        \
    {"arch", "model kind: lstm, gru, attn (causal self-attention) or linear", "lstm", 0, {0}, 0, 0, 0},   \
    {"hidden", "units per layer (lstm, gru) or token width (attn)", hidden, 0, {0}, 0, 0, 0},            \
    {"layers", "stacked layers (lstm, gru) or encoder blocks (attn)", layers, 0, {0}, 0, 0, 0},           \
    {"heads", "attn: attention heads (0 = hidden/16, at least 1, dividing hidden)", "0", 0, {0}, 0, 0, 0}, \
    {"ff", "attn: feed-forward width (0 = 4 x hidden)", "0", 0, {0}, 0, 0, 0},                           \
    {"linear", "linear: nlinear or dlinear (trend + seasonal maps)", "nlinear", 0, {0}, 0, 0, 0},        \
    {"kernel", "linear dlinear: moving-average length", "25", 0, {0}, 0, 0, 0},                          \
    {"skip", "lstm, gru, attn: add a linear map of the window, started at the closed-form NLinear fit (the default in point mode)", NULL, 1, {0}, 0, 0, 0}, \
    {"no-skip", "lstm, gru, attn: no linear map: the network alone", NULL, 1, {0}, 0, 0, 0}

#define KDTS__TOOL_STR2(x) #x
#define KDTS__TOOL_STR(x) KDTS__TOOL_STR2(x) /* a macro's value as a string literal */
#define NET_FLAGS(hidden, layers, lr, patience, min_steps)                                                \
    {"out", "model file to write", NULL, 0, {0}, 0, 0, 0},                                                \
    ARCH_FLAGS(hidden, layers),                                                                           \
    {"mode", "point or dist", "point", 0, {0}, 0, 0, 0},                                                  \
    {"bins", "bins per value in dist mode", d_bins, 0, {0}, 0, 0, 0},                                     \
    {"dropout", "dropout on layer outputs", "0", 0, {0}, 0, 0, 0},                                        \
    {"epochs", "training epochs", d_epochs, 0, {0}, 0, 0, 0},                                             \
    {"steps", "optimizer-step budget instead of --epochs (0 = epochs)", "0", 0, {0}, 0, 0, 0},            \
    {"min-steps", "at least this many optimizer steps unless --epochs is given: epochs and patience scaled up on short series", min_steps, 0, {0}, 0, 0, 0}, \
    {"schedule", "learning rate: constant or cosine (decay after the warm-up)", "constant", 0, {0}, 0, 0, 0}, \
    {"warmup", "steps of linear learning-rate warm-up", "0", 0, {0}, 0, 0, 0},                             \
    {"lr-min", "cosine: final learning rate as a fraction of --lr", "0", 0, {0}, 0, 0, 0},                 \
    {"batch", "mini-batch size", d_batch, 0, {0}, 0, 0, 0},                                               \
    {"lr", "Adam learning rate", lr, 0, {0}, 0, 0, 0},                                                    \
    {"clip", "gradient-norm clip (0 = off)", "1", 0, {0}, 0, 0, 0},                                       \
    {"patience", "early-stopping patience in epochs (0 = off: every epoch runs, the best kept)", patience, 0, {0}, 0, 0, 0}, \
    {"seed", "random seed", "1", 0, {0}, 0, 0, 0},                                                        \
    {"no-partial", "write nothing when training is interrupted or fails", NULL, 1, {0}, 0, 0, 0},         \
    {"quiet", "no progress output", NULL, 1, {0}, 0, 0, 0}

static flag train_flags[] = {DATA_FLAGS, NET_FLAGS("64", "2", d_lr, "3", KDTS__TOOL_STR(KDTS_MIN_STEPS_DEFAULT))
                                 PAR_TRAIN_FLAGS};

/* The architecture of the ARCH_FLAGS (input, horizon and lookback come from
   the data). Flags of another kind are refused when given. */
static void arch_config(const cmd *c, kdts_net_config *nc)
{
    static const char *const own[] = {"hidden", "layers", "heads", "ff", "linear", "kernel", "skip", "no-skip"};
    /* which kinds use each flag: bits lstm 1, gru 2, attn 4, linear 8 */
    static const int users[] = {7, 7, 4, 4, 8, 8, 7, 7};
    int kind = fchoice(c, "arch", "lstm|gru|attn|linear"), i;
    for (i = 0; i < (int)(sizeof own / sizeof *own); ++i)
        if (given(c, own[i]) && !(users[i] & (1 << kind)))
            die(EXIT_USAGE, "%s: --%s does not apply to --arch %s", c->name, own[i], fstr(c, "arch"));
    memset(nc, 0, sizeof *nc);
    nc->kind = (kdts_kind)kind;
    if (kind == KDTS_KIND_LINEAR) {
        nc->linear = fchoice(c, "linear", "nlinear|dlinear");
        nc->kernel = (int)fint(c, "kernel", 1, KDTS_MAX_DIM);
        return;
    }
    if (kind == KDTS_KIND_ATTN) {
        int d = (int)fint(c, "hidden", 1, KDTS_MAX_DIM), h = (int)fint(c, "heads", 0, KDTS_MAX_DIM);
        if (h == 0)
            for (h = d / 16 > 1 ? d / 16 : 1; d % h; --h) {
            }
        if (d % h) die(EXIT_USAGE, "%s: --heads %d does not divide --hidden %d", c->name, h, d);
        nc->d_model = d;
        nc->heads = h;
        nc->ff = (int)fint(c, "ff", 0, KDTS_MAX_DIM);
        nc->blocks = (int)fint(c, "layers", 1, 4);
    } else {
        nc->hidden = (int)fint(c, "hidden", 1, KDTS_MAX_DIM);
        nc->layers = (int)fint(c, "layers", 1, KDTS_MAX_LAYERS);
    }
    if (fbool(c, "skip") && fbool(c, "no-skip")) die(EXIT_USAGE, "%s: --skip and --no-skip together", c->name);
    /* the skip map is the default in point mode: the model then starts at
       the linear fit and keeps it unless the network improves validation */
    nc->skip = fbool(c, "skip") || (!fbool(c, "no-skip") && fchoice(c, "mode", "point|dist") == KDTS_MODE_POINT);
}
static flag distill_flags[] = {
    {"csv", "CSV file (the teachers' data settings are used)", NULL, 0, {0}, 0, 0, 0},
    {"teacher", "teacher model (repeat for an ensemble)", NULL, 0, {0}, 0, 1, 0},
    {"target", "check: the teachers' target(s)", NULL, 0, {0}, 0, 0, 0},
    NET_FLAGS("16", "1", d_slr, "0", KDTS__TOOL_STR(KDTS_STUDENT_MIN_STEPS)),
    {"alpha", "weight of the soft loss (the teacher's last-step forecast); 1 - alpha on the hard loss", d_salpha, 0, {0}, 0, 0, 0},
    {"beta", "weight of the sequence loss (the teacher's forecast at every window step)", d_sbeta, 0, {0}, 0, 0, 0},
    {"temperature", "softmax temperature (dist mode)", "2", 0, {0}, 0, 0, 0},
    {"alpha-warmup", "epochs over which alpha rises from 0", "0", 0, {0}, 0, 0, 0},
    {"ahead-weight", "soft, sequence loss: horizon step j weighs (j+1)^W", "0", 0, {0}, 0, 0, 0},
    {"step-weight", "sequence loss: window step t weighs (t+1)^W", "0", 0, {0}, 0, 0, 0},
    {"ms-weight", "match the forecast and its 2-, 4-, 8-step averages", "0", 0, {0}, 0, 0, 0},
    {"ms-scales", "multi-scale: scales 1, 2, ..., 2^N", "3", 0, {0}, 0, 0, 0},
    {"freq-weight", "match DFT-magnitude softmaxes (KL teacher || student)", "0", 0, {0}, 0, 0, 0},
    {"freq-temp", "frequency matching: softmax temperature", "1", 0, {0}, 0, 0, 0},
    {"aux-steps", "multi-scale, frequency terms on: last step or all", "last", 0, {0}, 0, 0, 0},
    {"extra", "teacher-labelled extra windows per training window", "0", 0, {0}, 0, 0, 0},
    {"jitter", "extra windows: Gaussian noise of this sigma", "0", 0, {0}, 0, 0, 0},
    {"amp", "extra windows: amplitude times 1 +- up to this", "0", 0, {0}, 0, 0, 0},
    {"mixup", "extra windows: up to this share of another window", "0", 0, {0}, 0, 0, 0},
    {"extra-refresh", "extra windows: new ones every epoch, labelled then", NULL, 1, {0}, 0, 0, 0},
    {"hint-weight", "match the first teacher's hidden states (learned projection)", "0", 0, {0}, 0, 0, 0},
    {"hint-steps", "hints: the last N window steps (0 = all)", "0", 0, {0}, 0, 0, 0},
};

typedef struct teachers {
    kdts_model m[MAX_TEACHERS];
    kdts_net view[MAX_TEACHERS];
    const kdts_net *ptr[MAX_TEACHERS];
    int n;
} teachers;

/* The teachers of `distill`: loaded, checked for the same data settings. */
static void load_teachers(teachers *te, const cmd *c)
{
    flag *tf = F(c, "teacher");
    kdts_error e;
    int i;
    memset(te, 0, sizeof *te);
    if (tf->nmulti == 0) die(EXIT_USAGE, "distill: at least one --teacher is required");
    for (i = 0; i < tf->nmulti; ++i) {
        load_model(&te->m[i], tf->multi[i]);
        if (kdts_model_net(&te->m[i], &te->view[i], &e) != KDTS_OK) die_err(&e, KDTS_ERR_ARG, tf->multi[i]);
        te->ptr[i] = &te->view[i];
        te->n++;
        if (i > 0) {
            const kdts_model *a = &te->m[0], *b = &te->m[i];
            if (a->n_features != b->n_features || a->n_targets != b->n_targets || a->horizon != b->horizon ||
                a->lookback != b->lookback || a->window_norm != b->window_norm || a->names_len != b->names_len ||
                memcmp(a->names, b->names, a->names_len) ||
                memcmp(a->scaler.offset, b->scaler.offset, sizeof(float) * a->n_features) ||
                memcmp(a->scaler.scale, b->scaler.scale, sizeof(float) * a->n_features))
                die(EXIT_DATA, "teacher %s was trained on other data settings than %s", shown(tf->multi[i]),
                    shown(tf->multi[0]));
        }
    }
    if (fstr(c, "target")) {
        char *tb = strdup(fstr(c, "target")), *list[MAXF];
        int n = split_list(tb, list, MAXF), k;
        if (n != te->m[0].n_targets) die(EXIT_USAGE, "distill: --target does not match the teacher's targets");
        for (k = 0; k < n; ++k) {
            const char *want = kdts_model_feature_name(&te->m[0], te->m[0].target_index[k]);
            if (strcmp(list[k], want)) die(EXIT_USAGE, "distill: the teacher predicts %s, not %s", shown(want), shown(list[k]));
        }
        free(tb);
    }
}

static int run_training(const cmd *c, int distill)
{
    const char *csv = freq(c, "csv"), *out = freq(c, "out"), *inputs[MAX_TEACHERS + 1];
    char *fbuf = NULL, *tbuf = NULL;
    kdts_task task;
    teachers te;
    kdts_net_config lc;
    kdts_net net;
    kdts_train_config tc;
    kdts_train_report rep;
    kdts_error e;
    kdts_result r;
    kdts_model model;
    kdts_model_meta meta;
    progress pg;
    int i, ninputs = 0, mode = fchoice(c, "mode", "point|dist"), numeric = 0, nteach;
    float *soft_v = NULL, *soft_p = NULL; /* MPI distill: the shared soft targets */
    memset(&e, 0, sizeof e);
    memset(&meta, 0, sizeof meta);
    memset(&te, 0, sizeof te);
    /* everything that can be checked, before any work */
    inputs[ninputs++] = csv;
    if (distill)
        for (i = 0; i < F(c, "teacher")->nmulti; ++i) inputs[ninputs++] = F(c, "teacher")->multi[i];
    out = par_output(c, out); /* MPI --ensemble: this rank's file */
    if (par_writes()) check_output(c->name, out, inputs, ninputs);
    arch_config(c, &lc);
    if (lc.kind == KDTS_KIND_LINEAR && given(c, "dropout"))
        die(EXIT_USAGE, "%s: --dropout does not apply to --arch linear", c->name);
    lc.dropout = (float)fnum(c, "dropout", 0, 0.95);
    lc.mode = mode ? KDTS_MODE_DIST : KDTS_MODE_POINT;
    lc.bins = (int)fint(c, "bins", 2, 4096);
    memset(&tc, 0, sizeof tc);
    tc.epochs = (int)fint(c, "epochs", 1, 1000000);
    tc.batch = (int)fint(c, "batch", 1, 1000000);
    tc.adam.lr = (float)fnum(c, "lr", 1e-9, 10);
    tc.adam.clip_norm = (float)fnum(c, "clip", 0, 1e9);
    tc.seed = (unsigned long long)fint(c, "seed", 0, 2000000000L);
    tc.patience = (int)fint(c, "patience", 0, 1000000);
    tc.steps = fint(c, "steps", 0, 2000000000L);
    /* an explicit --epochs is taken as given unless --min-steps is too (the rule the experiment shares) */
    {
        long long ms = given(c, "min-steps") ? fint(c, "min-steps", 0, 2000000000L) : -1;
        /* a student's budget is longer (kdts_student_min_steps) */
        tc.min_steps = distill ? kdts_student_min_steps(given(c, "epochs"), ms) : kdts_train_min_steps(given(c, "epochs"), ms);
    }
    tc.schedule = fchoice(c, "schedule", "constant|cosine");
    tc.warmup_steps = fint(c, "warmup", 0, 2000000000L);
    tc.lr_min = (float)fnum(c, "lr-min", 0, 1);
    if (distill) {
        tc.alpha = (float)fnum(c, "alpha", 0, 1);
        tc.beta = (float)fnum(c, "beta", 0, 1e6);
        tc.temperature = (float)fnum(c, "temperature", 1e-3, 1e3);
        tc.alpha_warmup = (int)fint(c, "alpha-warmup", 0, 1000000);
        tc.horizon_weight = (float)fnum(c, "ahead-weight", 0, 64);
        tc.step_weight = (float)fnum(c, "step-weight", 0, 64);
        tc.ms_weight = (float)fnum(c, "ms-weight", 0, 1e6);
        tc.ms_scales = (int)fint(c, "ms-scales", 0, 30);
        tc.freq_weight = (float)fnum(c, "freq-weight", 0, 1e6);
        tc.freq_temperature = (float)fnum(c, "freq-temp", 1e-3, 1e3);
        tc.aux_steps = fchoice(c, "aux-steps", "last|all");
        tc.extra_per_window = (int)fint(c, "extra", 0, 1000);
        tc.extra_jitter = (float)fnum(c, "jitter", 0, 1e3);
        tc.extra_scale = (float)fnum(c, "amp", 0, 0.99);
        tc.extra_mixup = (float)fnum(c, "mixup", 0, 1);
        tc.extra_refresh = fbool(c, "extra-refresh");
        tc.hint_weight = (float)fnum(c, "hint-weight", 0, 1e6);
        tc.hint_steps = (int)fint(c, "hint-steps", 0, KDTS_MAX_DIM);
        if (tc.hint_weight > 0.0f && lc.kind == KDTS_KIND_LINEAR)
            die(EXIT_USAGE, "%s: --hint-weight needs a recurrent or attention student (--arch linear has no hidden "
                "state)", c->name);
    }
    if (kdts_train_config_check(&tc, &e) != KDTS_OK) die(EXIT_USAGE, "%s: %s", c->name, e.message);
    /* the data */
    if (distill) {
        load_teachers(&te, c);
        if (tc.hint_weight > 0.0f && te.m[0].arch.kind == KDTS_KIND_LINEAR)
            die(EXIT_USAGE, "%s: --hint-weight needs a recurrent or attention first teacher (%s is linear: no hidden "
                "state)", c->name, base_name(F(c, "teacher")->multi[0]));
        open_model_task(&task, c, &te.m[0], csv, 0);
        if (lc.mode == KDTS_MODE_DIST && te.m[0].arch.mode == KDTS_MODE_DIST && !given(c, "bins"))
            lc.bins = te.m[0].arch.bins;
    } else {
        open_train_task(&task, c, &fbuf, &tbuf);
    }
    print_warnings(&task);
    nteach = distill ? te.n : 0;
    for (i = 0; i < task.table.cols; ++i) /* a model stores names of limited length: say so now, not after training */
        if (strlen(task.table.name[i]) > KDTS_MODEL_NAME_MAX)
            die(EXIT_DATA, "%s: field %d's name is %lu bytes long; a model stores names of at most %d bytes: rename the column",
                task.source, task.table.file_column[i] + 1, (unsigned long)strlen(task.table.name[i]), KDTS_MODEL_NAME_MAX);
    if (task.data[KDTS_PART_VAL].n == 0)
        warn("%s: no validation part: no early stopping, the last epoch's weights are kept", task.source);
    kdts_task_net_config(&task, &lc);
    if (distill && lc.mode == KDTS_MODE_DIST && te.m[0].arch.mode == KDTS_MODE_DIST && te.m[0].arch.bins == lc.bins) {
        lc.bin_lo = te.m[0].arch.bin_lo; /* the teacher's bins, for the soft loss */
        lc.bin_hi = te.m[0].arch.bin_hi;
    }
    r = kdts_net_init(&net, &lc, par_seed(tc.seed), &e);
    if (r != KDTS_OK) die_err(&e, r, c->name);
    par_train_setup(&tc, &net); /* MPI: all ranks ready, rank 0's weights, shards */
#ifdef KDTS_MPI
    if (distill) { /* one teacher per rank, soft targets shared */
        par_soft_targets(&task, &net, te.ptr, te.n, &tc, &soft_v, &soft_p, &e);
        nteach = 0;
    }
#endif
    /* progress and Ctrl-C */
    memset(&pg, 0, sizeof pg);
    pg.tty = isatty(2);
    pg.quiet = fbool(c, "quiet");
    pg.width = term_width();
    pg.t0 = now_s();
    tc.on_epoch = on_epoch;
    tc.on_batch = on_batch;
    tc.user = &pg;
    signal(SIGINT, on_sigint);
    if (!pg.quiet) {
        char desc[96];
        fprintf(stderr, "%s %s (%lu parameters) on %s: %d train / %d val windows of %d steps, %d input(s), %d target(s) x %d\n",
                distill ? "distilling" : "training", kdts_net_describe(&net.cfg, desc, sizeof desc),
                (unsigned long)net.nparams, shown(task.source), task.data[0].n, task.data[1].n, task.cfg.lookback, task.F,
                task.K, task.cfg.horizon);
    }
    par_phase(1); /* MPI: every rank trains */
    r = kdts_task_fit(&task, &net, &tc, nteach ? te.ptr : NULL, nteach, &rep, &e);
    par_phase(0);
    signal(SIGINT, SIG_DFL);
    numeric = r == KDTS_ERR_NONFINITE;
    if (pg.tty && !pg.quiet && (g_interrupted || r != KDTS_OK)) fputc('\n', stderr);
    if (r != KDTS_OK && r != KDTS_ERR_NONFINITE) die_err(&e, r, "training failed (nothing written)");
    if (r == KDTS_ERR_NONFINITE && (fbool(c, "no-partial") || (rep.steps == 0 && rep.epochs_run == 0)))
        die(EXIT_DATA, "training stopped: %s; nothing written", e.message);
    /* metadata and the model */
    kdts_model_meta_from_training(&meta, &tc, &rep, distill ? te.n : 0);
    if (distill) {
        int n = 0;
        for (i = 0; i < te.n; ++i) {
            char desc[96];
            meta.teacher_params += te.m[i].nparams;
            if (n < (int)sizeof meta.teacher)
                n += snprintf(meta.teacher + n, sizeof meta.teacher - (size_t)n, "%s%s (%s)", i ? "; " : "",
                              base_name(F(c, "teacher")->multi[i]), kdts_net_describe(&te.m[i].arch, desc, sizeof desc));
        }
    }
    r = kdts_task_model(&task, &net, &meta, &model, &e);
    if (r != KDTS_OK) die_err(&e, r, c->name);
    if (g_interrupted && fbool(c, "no-partial")) die(EXIT_INTERRUPTED, "interrupted; nothing written (--no-partial)");
    if (par_writes()) save_model(&model, out);
    par_check(); /* MPI: the model is written (or every rank stops) */
    if (!par_writes()) {
        /* MPI: rank 0 reports */
    } else if (g_interrupted) {
        fprintf(stderr, "kdts: interrupted at epoch %d: wrote the %s weights so far to %s\n", rep.epochs_run,
                rep.best_val_mse >= 0 ? "best validated" : "last", shown(out));
    } else if (numeric) {
        fprintf(stderr, "kdts: error: training stopped at epoch %d: %s; wrote the %s weights so far to %s\n",
                rep.epochs_run ? rep.epochs_run : 1, e.message, rep.best_val_mse >= 0 ? "best validated" : "last good",
                shown(out));
    } else if (!pg.quiet) {
        if (rep.best_val_mse >= 0)
            fprintf(stderr, "wrote %s: %lu parameters, best validation MSE %.5f at epoch %d of %d, %.1f s\n", shown(out),
                    (unsigned long)model.nparams, rep.best_val_mse, rep.best_epoch, rep.epochs_run, rep.seconds);
        else
            fprintf(stderr, "wrote %s: %lu parameters, %d epochs (no validation part), %.1f s\n", shown(out),
                    (unsigned long)model.nparams, rep.epochs_run, rep.seconds);
    }
    kdts_model_free(&model);
    kdts_net_free(&net);
    for (i = 0; i < te.n; ++i) kdts_model_free(&te.m[i]);
    kdts_task_free(&task);
    free(fbuf);
    free(tbuf);
    free(soft_v);
    free(soft_p);
    return g_interrupted ? EXIT_INTERRUPTED : numeric ? EXIT_DATA : 0;
}

/* ---- eval ------------------------------------------------------------------ */

static flag eval_flags[] = {
    {"model", "model file", NULL, 0, {0}, 0, 0, 0},
    {"csv", "CSV file", NULL, 0, {0}, 0, 0, 0},
    {"split-part", "which part: train, val or test", "test", 0, {0}, 0, 0, 0},
    {"coverage", "prediction interval coverage (dist mode)", "0.8", 0, {0}, 0, 0, 0},
    {"season", "period of the seasonal-naive baseline [the model's]", NULL, 0, {0}, 0, 0, 0},
    {"missing", "only for models that do not record it", NULL, 0, {0}, 0, 0, 0},
    {"split", "only for models that do not record it", NULL, 0, {0}, 0, 0, 0},
    {"max-rows", "only for models that do not record it", NULL, 0, {0}, 0, 0, 0},
};

/* One row of eval's table (at most 80 columns). */
static void score_row(const char *label, const kdts_scores *s)
{
    char mape[32];
    if (s->mape >= 0) snprintf(mape, sizeof mape, "%7.2f%%", s->mape);
    else snprintf(mape, sizeof mape, "%8s", "-");
    outf("%-25s %8.5f %8.5f %9.4g %9.4g %s %7.4f\n", label, s->mse, s->mae, s->mse_orig, s->mae_orig, mape, s->r2);
}

static const char *part_name(kdts_part p) { return p == KDTS_PART_TRAIN ? "train" : p == KDTS_PART_VAL ? "val" : "test"; }

static int cmd_eval(const cmd *c)
{
    kdts_model m;
    kdts_task task;
    kdts_error e;
    kdts_result r;
    kdts_scores sm, sb[4];
    const char *bname[4];
    int all, dist, nb = 0, b, best = -1, j, H;
    kdts_part part = pick_part(c, "test", &all);
    float cov = (float)fnum(c, "coverage", 0.01, 0.99), *fc, *lo = NULL, *hi = NULL, *bf;
    double *step;
    char seasonal[48];
    long n;
    if (all) die(EXIT_USAGE, "eval: --split-part must be train, val or test");
    memset(&e, 0, sizeof e);
    load_model(&m, freq(c, "model"));
    open_model_task(&task, c, &m, freq(c, "csv"), 1);
    print_warnings(&task);
    if (task.split_differs)
        warn("%s has %ld rows, the model's data had %lld: its split is recomputed on these rows", task.source, task.rows,
             m.data.rows);
    n = task.win[part].n;
    if (n < 1) die(EXIT_DATA, "the %s part of %s has no windows of %d+%d rows", part_name(part), task.source, m.lookback, m.horizon);
    H = task.cfg.horizon;
    dist = m.arch.mode == KDTS_MODE_DIST;
    fc = (float *)malloc(sizeof(float) * (size_t)n * task.K * H);
    bf = (float *)malloc(sizeof(float) * (size_t)n * task.K * H);
    step = (double *)malloc(sizeof(double) * (size_t)H);
    if (dist) {
        lo = (float *)malloc(sizeof(float) * (size_t)n * task.K * H);
        hi = (float *)malloc(sizeof(float) * (size_t)n * task.K * H);
    }
    if (!fc || !bf || !step || (dist && (!lo || !hi))) die(EXIT_DATA, "out of memory");
    r = kdts_task_forecast_model(&task, part, &m, fc, lo, hi, cov, &e);
    if (r == KDTS_OK) r = kdts_task_score(&task, part, fc, lo, hi, cov, &sm, step, &e);
    if (r != KDTS_OK) die_err(&e, r, "eval");
    /* baselines */
    bname[nb] = "persistence";
    if (kdts_task_baseline(&task, part, KDTS_BASELINE_PERSISTENCE, bf, &e) != KDTS_OK ||
        kdts_task_score(&task, part, bf, NULL, NULL, 0, &sb[nb++], NULL, &e) != KDTS_OK)
        die_err(&e, KDTS_ERR_DATA, "eval");
    if (task.season > 0) {
        snprintf(seasonal, sizeof seasonal, "seasonal naive (%d)", task.season);
        bname[nb] = seasonal;
        if (kdts_task_baseline(&task, part, KDTS_BASELINE_SEASONAL, bf, &e) != KDTS_OK ||
            kdts_task_score(&task, part, bf, NULL, NULL, 0, &sb[nb++], NULL, &e) != KDTS_OK)
            die_err(&e, KDTS_ERR_DATA, "eval");
    }
    if (task.data[KDTS_PART_TRAIN].n >= 2 && m.arch.mode == KDTS_MODE_POINT) {
        static const char *const lname[2] = {"NLinear (ridge)", "DLinear (ridge)"};
        int k;
        for (k = 0; k < 2; ++k) {
            bname[nb] = lname[k];
            if (kdts_task_baseline(&task, part, k ? KDTS_BASELINE_DLINEAR : KDTS_BASELINE_NLINEAR, bf, &e) != KDTS_OK ||
                kdts_task_score(&task, part, bf, NULL, NULL, 0, &sb[nb++], NULL, &e) != KDTS_OK)
                die_err(&e, KDTS_ERR_DATA, "eval");
        }
    }
    {
        char desc[96];
        outf("model %s: %s, lookback %d, horizon %d, %d target(s)\n", base_name(freq(c, "model")),
             kdts_net_describe(&m.arch, desc, sizeof desc), m.lookback, H, task.K);
    }
    {
        const kdts_range *rg = part == KDTS_PART_TRAIN ? &task.split.train : part == KDTS_PART_VAL ? &task.split.val
                                                                                                   : &task.split.test;
        outf("data %s, %s rows %ld..%ld: %ld windows x %d target(s) x %d steps\n\n", task.source, part_name(part),
             rg->begin + 1, rg->end, n, task.K, H);
    }
    outf("%-25s %17s %19s\n", "", "normalized", "original units");
    outf("%-25s %8s %8s %9s %9s %8s %7s\n", "", "MSE", "MAE", "MSE", "MAE", "MAPE", "R2");
    score_row("model", &sm);
    for (b = 0; b < nb; ++b) {
        score_row(bname[b], &sb[b]);
        if (best < 0 || sb[b].mse < sb[best].mse) best = b;
    }
    outf("normalized: units of the training split's scaled target. Linear: ridge fit on\n"
         "the training windows, lambda chosen on validation; season %s.\n\n",
         task.season > 0 ? (F(c, "season") && given(c, "season") ? "given" : "of the training rows") : "none");
    if (sm.mse < sb[best].mse)
        outf("the model beats the best baseline, %s, by %.1f%% (normalized MSE)\n", bname[best],
             100.0 * (sb[best].mse - sm.mse) / sb[best].mse);
    else
        outf("WARNING: the model does not beat the baseline %s\n(normalized MSE %.5f against %.5f)\n", bname[best],
             sm.mse, sb[best].mse);
    outf("\nnormalized MSE by step ahead:\n");
    for (j = 0; j < H; ++j) {
        outf("%s%3d %.5f", j % 6 ? "   " : "  ", j + 1, step[j]);
        if (j % 6 == 5 || j == H - 1) outf("\n");
    }
    if (dist)
        outf("\n%.0f%% intervals: coverage %.3f, mean pinball loss %.5f (normalized)\n", 100.0 * cov, sm.coverage,
             sm.pinball);
    out_check();
    free(fc);
    free(bf);
    free(step);
    free(lo);
    free(hi);
    kdts_task_free(&task);
    kdts_model_free(&m);
    return 0;
}

/* ---- predict ----------------------------------------------------------------- */

static flag predict_flags[] = {
    {"model", "model file", NULL, 0, {0}, 0, 0, 0},
    {"csv", "CSV file", NULL, 0, {0}, 0, 0, 0},
    {"last", "only the forecasts from the last N rows (0 = every row)", "0", 0, {0}, 0, 0, 0},
    {"coverage", "prediction interval coverage (dist mode)", "0.8", 0, {0}, 0, 0, 0},
    {"split-part", "rows to forecast from: train, val, test or all", "all", 0, {0}, 0, 0, 0},
    {"missing", "only for models that do not record it", NULL, 0, {0}, 0, 0, 0},
    {"split", "only for models that do not record it", NULL, 0, {0}, 0, 0, 0},
    {"max-rows", "only for models that do not record it", NULL, 0, {0}, 0, 0, 0},
};

static int cmd_predict(const cmd *c)
{
    kdts_model m;
    kdts_task task;
    kdts_infer inf;
    kdts_error e;
    kdts_range rg;
    long e0, e1, last = fint(c, "last", 0, 2000000000L), row;
    int T, H, K, k, j, dist, all, times;
    float cov = (float)fnum(c, "coverage", 0.01, 0.99);
    float *x, *fc, *lo, *hi;
    size_t V;
    kdts_part part = pick_part(c, "all", &all);
    memset(&e, 0, sizeof e);
    load_model(&m, freq(c, "model"));
    open_model_task(&task, c, &m, freq(c, "csv"), 1);
    print_warnings(&task);
    if (all) rg.begin = 0, rg.end = task.rows;
    else rg = part == KDTS_PART_TRAIN ? task.split.train : part == KDTS_PART_VAL ? task.split.val : task.split.test;
    T = m.lookback;
    H = m.horizon;
    K = m.n_targets;
    V = (size_t)K * H;
    dist = m.arch.mode == KDTS_MODE_DIST;
    times = task.times.t != NULL;
    /* a forecast from every row whose window of T rows lies in the range */
    e0 = rg.begin + T - 1;
    e1 = rg.end - 1;
    if (e1 < e0) die(EXIT_DATA, "%s: the %s rows (%ld) are fewer than the lookback %d", task.source, all ? "data" : part_name(part),
                     rg.end - rg.begin, T);
    if (last > 0 && e1 - last + 1 > e0) e0 = e1 - last + 1;
    if (kdts_infer_create(&inf, &m, 0, &e) != KDTS_OK) die_err(&e, KDTS_ERR_ARG, "inference");
    x = (float *)malloc(sizeof(float) * (size_t)T * task.F);
    fc = (float *)malloc(sizeof(float) * V * 3);
    if (!x || !fc) die(EXIT_DATA, "out of memory");
    lo = fc + V;
    hi = lo + V;
    /* header: one line per origin and step */
    outf(times ? "origin,time,step" : "origin_row,row,step");
    for (k = 0; k < K; ++k) {
        const char *nm = kdts_model_feature_name(&m, m.target_index[k]);
        char buf[300];
        putchar(',');
        out_csv_field(nm);
        if (dist) {
            snprintf(buf, sizeof buf, "%s_lo", nm);
            putchar(',');
            out_csv_field(buf);
            snprintf(buf, sizeof buf, "%s_hi", nm);
            putchar(',');
            out_csv_field(buf);
        }
    }
    outf("\n");
    for (row = e0; row <= e1; ++row) {
        kdts_result r = kdts_task_input(&task, row, x, &e);
        if (r == KDTS_OK) r = kdts_infer_window(&inf, x, T, fc, dist ? lo : NULL, dist ? hi : NULL, cov, &e);
        if (r != KDTS_OK) die(EXIT_DATA, "%s: forecast from row %ld: %s", task.source, row + 1, e.message);
        for (j = 0; j < H; ++j) {
            char a[64], b[64];
            if (times) {
                kdts_task_time(&task, row, 0, a, sizeof a);
                kdts_task_time(&task, row, j + 1, b, sizeof b);
                outf("%s,%s,%d", a, b, j + 1);
            } else {
                outf("%ld,%ld,%d", row + 1, row + 2 + j, j + 1);
            }
            for (k = 0; k < K; ++k) {
                outf(",%.6g", fc[k * H + j]);
                if (dist) outf(",%.6g,%.6g", lo[k * H + j], hi[k * H + j]);
            }
            outf("\n");
        }
    }
    out_check();
    free(x);
    free(fc);
    kdts_infer_free(&inf);
    kdts_task_free(&task);
    kdts_model_free(&m);
    return 0;
}

/* ---- info and bench ---------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median latency of one window forecast through the inference API (s). */
static double bench_latency(const kdts_model *m, int runs)
{
    kdts_infer inf;
    kdts_error e;
    double *t = (double *)malloc((size_t)runs * sizeof(double)), med;
    float *x = (float *)malloc((size_t)m->lookback * m->n_features * sizeof(float));
    float *fc = (float *)malloc(sizeof(float) * (size_t)m->arch.horizon);
    int i, n = m->lookback * m->n_features, reps = 1;
    kdts_rng rng;
    if (!t || !x || !fc) die(EXIT_DATA, "bench: out of memory");
    kdts_rng_seed(&rng, 7);
    for (i = 0; i < n; ++i)
        x[i] = m->scaler.offset[i % m->n_features] + kdts_rng_normal(&rng) * m->scaler.scale[i % m->n_features];
    if (kdts_infer_create(&inf, m, 0, &e) != KDTS_OK) die_err(&e, KDTS_ERR_ARG, "inference");
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
    free(fc);
    return med;
}

static void print_info(const kdts_model *m, const char *path)
{
    const kdts_net_config *a = &m->arch;
    const kdts_model_meta *mt = &m->meta;
    const kdts_data_settings *s = &m->data;
    size_t fbytes = 0;
    int f, k;
    char desc[96];
    kdts_net_config plain = *a;
    plain.mode = KDTS_MODE_POINT; /* the mode is printed below */
    kdts_model_save_mem(m, NULL, 0, &fbytes, NULL);
    outf("model        %s\n", shown(path));
    outf("kind         %s, input %d, %d outputs (%s", kdts_net_describe(&plain, desc, sizeof desc), a->input,
         a->mode == KDTS_MODE_DIST ? a->horizon * a->bins : a->horizon, a->mode == KDTS_MODE_DIST ? "dist" : "point");
    if (a->mode == KDTS_MODE_DIST) outf(", %d bins over [%g, %g]", a->bins, a->bin_lo, a->bin_hi);
    outf(")\n");
    outf("parameters   %lu (%lu bytes of weights, %lu bytes on disk)\n", (unsigned long)m->nparams,
         (unsigned long)kdts_model_weight_bytes(m), (unsigned long)fbytes);
    outf("FLOPs        %.0f per forecast (lookback %d)\n", kdts_net_forecast_flops(a, m->lookback), m->lookback);
    outf("inputs      ");
    for (f = 0; f < m->n_features; ++f)
        outf(" %s (offset %g, scale %g)", shown(kdts_model_feature_name(m, f)), m->scaler.offset[f], m->scaler.scale[f]);
    outf("\ntargets     ");
    for (k = 0; k < m->n_targets; ++k) outf(" %s", shown(kdts_model_feature_name(m, m->target_index[k])));
    outf(", horizon %d, lookback %d, window norm %s\n", m->horizon, m->lookback,
         m->window_norm == KDTS_WNORM_LAST ? "last" : m->window_norm == KDTS_WNORM_MEANSTD ? "mean" : "none");
    if (s->recorded)
        outf("data         %s: %lld rows (train %lld..%lld, val %lld..%lld, test %lld..%lld), missing %s, stride %d%s%s\n",
             mt->source[0] ? shown(mt->source) : "-", s->rows, s->train_begin + 1, s->train_end, s->val_begin + 1,
             s->val_end, s->test_begin + 1, s->test_end, s->missing == 0 ? "error" : s->missing == 1 ? "interpolate" : "ffill",
             s->stride, s->time_column[0] ? ", times from column " : "", s->time_column[0] ? shown(s->time_column) : "");
    else
        outf("data         %s (settings not recorded)\n", mt->source[0] ? shown(mt->source) : "-");
    outf("training     seed %llu, %d/%d epochs (best %d), batch %d, lr %g, patience %d, dropout %g, %.1f s\n", mt->seed,
         mt->epochs_run, mt->epochs, mt->best_epoch, mt->batch, mt->lr, mt->patience, a->dropout, mt->seconds);
    if (mt->best_val_mse >= 0) outf("             final loss %.6g, best validation MSE %.6g\n", mt->final_loss, mt->best_val_mse);
    else outf("             final loss %.6g, no validation\n", mt->final_loss);
    if (mt->n_teachers)
        outf("distillation %d teacher(s), %llu parameters: %s; alpha %g, beta %g, T %g, alpha warm-up %d\n", mt->n_teachers,
             mt->teacher_params, shown(mt->teacher), mt->alpha, mt->beta, mt->temperature, mt->alpha_warmup);
    else
        outf("distillation none (hard labels)\n");
}

static flag info_flags[] = {
    {"model", "model file", NULL, 0, {0}, 0, 0, 0},
    {"bench", "also measure the single-window latency", NULL, 1, {0}, 0, 0, 0},
};

static int cmd_info(const cmd *c)
{
    kdts_model m;
    load_model(&m, freq(c, "model"));
    print_info(&m, freq(c, "model"));
    if (fbool(c, "bench")) outf("latency      %.2f us per forecast (median, kdts_infer_window)\n", 1e6 * bench_latency(&m, 51));
    out_check();
    kdts_model_free(&m);
    return 0;
}

static flag bench_flags[] = {
    {"model", "model file (else a random model of the sizes below)", NULL, 0, {0}, 0, 0, 0},
    ARCH_FLAGS("64", "2"),
    {"input", "features", "1", 0, {0}, 0, 0, 0},
    {"lookback", "window steps", d_lookback, 0, {0}, 0, 0, 0},
    {"horizon", "steps forecast", d_horizon, 0, {0}, 0, 0, 0},
    {"runs", "timed runs (median reported)", "101", 0, {0}, 0, 0, 0},
};

static int cmd_bench(const cmd *c)
{
    kdts_model m;
    kdts_net net;
    kdts_error e;
    int runs = (int)fint(c, "runs", 1, 100000);
    size_t bytes = 0;
    char desc[96];
    memset(&e, 0, sizeof e);
    if (fstr(c, "model") && given(c, "model")) {
        load_model(&m, fstr(c, "model"));
    } else {
        kdts_net_config lc;
        kdts_model_desc d;
        arch_config(c, &lc);
        lc.input = (int)fint(c, "input", 1, MAXF);
        lc.horizon = (int)fint(c, "horizon", 1, 4096);
        lc.lookback = (int)fint(c, "lookback", 1, KDTS_MAX_DIM);
        if (lc.kind == KDTS_KIND_ATTN && lc.max_steps < lc.lookback) lc.max_steps = lc.lookback;
        if (kdts_net_init(&net, &lc, 1, &e) != KDTS_OK) die_err(&e, KDTS_ERR_ARG, "model");
        memset(&d, 0, sizeof d);
        d.lookback = lc.lookback;
        d.horizon = lc.horizon;
        d.n_features = lc.input;
        if (kdts_model_create_net(&m, &net, &d, &e) != KDTS_OK) die_err(&e, KDTS_ERR_ARG, "model");
        kdts_net_free(&net);
    }
    kdts_model_save_mem(&m, NULL, 0, &bytes, NULL);
    outf("%s, input %d, horizon %d, lookback %d, %s: %lu parameters, file %lu bytes, %.0f FLOPs, "
         "%.2f us per forecast (median of %d, %s)\n",
         kdts_net_describe(&m.arch, desc, sizeof desc), m.arch.input, m.arch.horizon, m.lookback,
         m.arch.mode == KDTS_MODE_DIST ? "dist" : "point", (unsigned long)m.nparams, (unsigned long)bytes,
         kdts_net_forecast_flops(&m.arch, m.lookback), 1e6 * bench_latency(&m, runs), runs, kdts_simd_name());
    out_check();
    kdts_model_free(&m);
    return 0;
}

/* ---- inspect -------------------------------------------------------------------- */

static flag inspect_flags[] = {
    {"csv", "CSV file", NULL, 0, {0}, 0, 0, 0},
    {"target", "check that this column exists and is numeric", NULL, 0, {0}, 0, 0, 0},
    {"missing", "how train would treat missing values: error, interpolate or ffill", "error", 0, {0}, 0, 0, 0},
};

static int cmd_inspect(const cmd *c)
{
    const char *path = freq(c, "csv");
    kdts_csv_config cc = kdts_csv_config_default();
    kdts_table t;
    kdts_error e;
    kdts_result r;
    long missing = 0;
    int k, policy = fchoice(c, "missing", MISSING_WORDS);
    memset(&e, 0, sizeof e);
    cc.missing = KDTS_MISSING_INTERPOLATE; /* read through gaps to count them */
    cc.keep_text = 1;
    r = kdts_csv_read_file(&t, path, &cc, &e);
    if (r != KDTS_OK) die_err(&e, r, NULL);
    if (fstr(c, "target") && fstr(c, "target")[0] == '#') {
        int x = hash_field(c, "target", fstr(c, "target")), num = 0;
        if (x >= t.file_columns)
            die(EXIT_DATA, "%s: field %d does not exist (the header has %d fields)", shown(path), x + 1, t.file_columns);
        for (k = 0; k < t.cols; ++k) num |= t.file_column[k] == x;
        if (!num) die(EXIT_DATA, "%s: field %d is a text column, not numeric", shown(path), x + 1);
    } else if (fstr(c, "target") && kdts_table_find(&t, fstr(c, "target")) < 0) {
        int text = 0;
        for (k = 0; k < t.text_cols; ++k) text |= !strcmp(t.text_name[k], fstr(c, "target"));
        die(EXIT_DATA, "%s: %s %s", shown(path), shown(fstr(c, "target")),
            text ? "is a text column, not numeric" : "is not a column of this file");
    }
    outf("file       %s\n", shown(path));
    outf("delimiter  %s\n", t.delimiter == '\t' ? "tab" : t.delimiter == ';' ? "';'" : "','");
    outf("rows       %ld data rows, %d fields per row\n", t.rows, t.file_columns);
    outf("columns    %d numeric, %d text\n", t.cols, t.text_cols);
    for (k = 0; k < t.text_cols; ++k) {
        const char *a = kdts_table_text(&t, k, 0), *b = kdts_table_text(&t, k, t.rows - 1);
        int dates = kdts_time_parse(a, strlen(a), NULL, NULL) && kdts_time_parse(b, strlen(b), NULL, NULL);
        outf("  text     %-16s first %s, last %s%s\n", shown(t.text_name[k]), shown(a), shown(b), dates ? " (dates)" : "");
    }
    for (k = 0; k < t.cols; ++k) {
        double mn = 1e300, mx = -1e300, s = 0;
        long i;
        for (i = 0; i < t.rows; ++i) {
            double v = t.col[k][i];
            if (v < mn) mn = v;
            if (v > mx) mx = v;
            s += v;
        }
        missing += t.missing[k];
        outf("  numeric  %-16s field %d, missing %ld, min %g, mean %g, max %g\n", shown(t.name[k]), t.file_column[k] + 1,
             t.missing[k], mn, s / t.rows, mx);
    }
    if (missing && policy == KDTS_MISSING_ERROR)
        outf("missing    %ld value(s): train stops on them unless given --missing interpolate or ffill\n", missing);
    out_check();
    kdts_table_free(&t);
    return 0;
}

/* ---- export-c ------------------------------------------------------------------ */

static flag export_flags[] = {
    {"model", "model file", NULL, 0, {0}, 0, 0, 0},
    {"name", "C identifier prefix of the arrays", NULL, 0, {0}, 0, 0, 0},
    {"out", "header to write [NAME.h]", NULL, 0, {0}, 0, 0, 0},
};

static int cmd_export(const cmd *c)
{
    kdts_model m;
    kdts_error e;
    kdts_result r;
    const char *name = freq(c, "name"), *model = freq(c, "model");
    char *path;
    size_t n = strlen(name) + 3;
    memset(&e, 0, sizeof e);
    path = (char *)malloc(n + (fstr(c, "out") ? strlen(fstr(c, "out")) : 0) + 1);
    if (!path) die(EXIT_DATA, "out of memory");
    if (fstr(c, "out")) strcpy(path, fstr(c, "out"));
    else sprintf(path, "%s.h", name);
    check_output("export-c", path, &model, 1);
    load_model(&m, model);
    r = kdts_model_export_c(&m, name, path, &e);
    if (r != KDTS_OK) die_err(&e, r, NULL);
    fprintf(stderr, "wrote %s (%lu parameters)\n", shown(path), (unsigned long)m.nparams);
    kdts_model_free(&m);
    free(path);
    return 0;
}

/* ---- main ---------------------------------------------------------------------- */

#define NF(a) (int)(sizeof(a) / sizeof((a)[0]))

static int tool(int argc, char **argv)
{
    cmd cmds[] = {
        {"train",
         "Train a model (a teacher) on a CSV series. Scaler fit on the training split (z-score by default),\n"
         "each window relative to its last observed value, early stopping on the validation split with the\n"
         "best weights kept. --split auto: 8640/2880/2880 rows (ETT's 12/4/4 months of hourly data) when the\n"
         "file has >= 14400 rows, else 0.6/0.2/0.2. The model file records every data setting, so eval,\n"
         "predict, distill and export-c need only the model and the CSV. Ctrl-C stops and saves the best\n"
         "weights so far.",
         "--csv F --target COL --out teacher.kdts [flags]", train_flags, NF(train_flags)},
        {"distill",
         "Train a small student on the soft targets of one or more teachers (ensemble: averaged), loss\n"
         "alpha*L_soft + (1-alpha)*L_hard + beta*L_seq. The data settings (inputs, targets, lookback,\n"
         "horizon, split, scaler, window norm) are the teachers'. A student's defaults are not a\n"
         "teacher's: a higher learning rate, a longer budget and no early stop (the best validation\n"
         "weights are kept), and the loss on the true values and the teachers' forecasts at every\n"
         "window step (alpha 0, beta 1); the README's Results give the measurements behind them.",
         "--csv F --teacher T.kdts [--teacher T2.kdts ...] --out student.kdts [flags]", distill_flags,
         NF(distill_flags)},
        {"eval",
         "Errors of the model's forecasts on one part of the split the model records, in normalized and\n"
         "original units, by step ahead, with the persistence and seasonal-naive baselines (and, in dist\n"
         "mode, interval coverage and pinball loss).",
         "--model M.kdts --csv F [--split-part test]", eval_flags, NF(eval_flags)},
        {"predict",
         "Forecasts as CSV on stdout, original units: one line per forecast origin and step ahead, with\n"
         "the origin's and the target's timestamps when the CSV has a date/time column.",
         "--model M.kdts --csv F [--last N]", predict_flags, NF(predict_flags)},
        {"info", "Kind, architecture, parameters, FLOPs per forecast, bytes, data settings and training metadata.",
         "--model M.kdts [--bench]", info_flags, NF(info_flags)},
        {"inspect",
         "What the CSV reader sees: delimiter, columns, rows, dates, missing values, min/mean/max,\n"
         "or the reader's error with file, line and column.",
         "--csv F [--target COL]", inspect_flags, NF(inspect_flags)},
        {"export-c", "Write the model as a C header of static const arrays and a const kdts_model.",
         "--model M.kdts --name NAME [--out F.h]", export_flags, NF(export_flags)},
        {"bench", "Median single-window latency through kdts_infer_window.",
         "[--model M.kdts | --hidden H --layers L --lookback T --horizon h]", bench_flags, NF(bench_flags)},
    };
    int i, n = NF(cmds);
    library_defaults();
#ifdef KDTS_MPI
    n = 2; /* kdts-mpi: train and distill */
#endif
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        printf("kdts %s - knowledge distillation for time-series forecasting\n\nusage: kdts <command> [flags]\n\n",
               KDTS_VERSION_STRING);
        for (i = 0; i < n; ++i) printf("  %-9s %s\n", cmds[i].name, cmds[i].usage);
        printf("\nkdts <command> --help describes a command. Exit status: 0 ok, 1 bad file or data, 2 bad usage,\n"
               "130 interrupted.\n");
        out_check();
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
#ifdef KDTS_MPI
    for (i = n; i < NF(cmds); ++i)
        if (!strcmp(argv[1], cmds[i].name)) die(EXIT_USAGE, "kdts-mpi runs train and distill; use kdts %s", cmds[i].name);
#endif
    die(EXIT_USAGE, "unknown command '%s' (see kdts --help)", shown(argv[1]));
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    par_init(&argc, &argv);
    return par_end(tool(argc, argv));
}
