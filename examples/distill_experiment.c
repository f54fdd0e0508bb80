/* distill_experiment.c - the full teacher-student experiment of kdts on real data.

   What it does (defaults, i.e. `make experiment`):
     - reads data/ETTh1.csv (hourly, 17420 rows), target OT (univariate input),
       chronological splits 12/4/4 months = 8640/2880/2880 rows, z-score
       scaler fit on the training rows, windows of 96 steps relative to their
       last observed value, a 24-step forecast at every step: all of it the
       library's task layer (kdts_task_open);
     - trains a stacked LSTM teacher (2x64, point mode) and small 1x8
       students: raw (hard labels only), the control (hard loss on the last
       step only) and distilled, plus the remedies of the source document
       (incremental alpha warm-up, progressive teacher -> 1x24 -> 1x8); with
       --dist (on in --full and --quick) a distribution-mode teacher and
       students, with --teachers 2 (--full, --quick) the teacher ensemble;
     - every teacher on the training budget of `kdts train`: at least
       KDTS_MIN_STEPS_DEFAULT optimizer steps unless --epochs is given
       (kdts_train_min_steps), batch 32, patience 3; every student, raw and
       distilled alike, on the budget of `kdts distill`: Adam lr
       KDTS_STUDENT_LR, at least KDTS_STUDENT_MIN_STEPS steps
       (kdts_student_min_steps), no early stop (the best validation weights
       kept); each run prints its plan;
     - --techniques: KD plus each distillation option of kdts_train_config
       alone and the combination chosen on validation; --multivariate: a
       teacher on every ETT column (target OT);
     - picks alpha/beta (and T for distribution mode) by a small grid on the
       VALIDATION split (never the test split);
     - evaluates every model on the test split through the deployment path
       (kdts_model + kdts_infer), against persistence and seasonal naive,
       saves every reported model under OUT/models/, and writes results.md,
       results.csv, grid.csv and SVG pictures.

   The runs of a series are planned first, as a list of (run_kind, seed,
   size) items: run_kind keys the table RUN_INFO below, which says what each
   kind trains and from which teacher. The report (experiment_report.c) and
   the pictures (experiment_svg.c) read the records the runs leave.

   --quick runs a tiny version in a few seconds (used by tests/test_experiment.c);
   --full runs every bundled series that is long enough, 5 seeds, a student-size
   sweep, the loss-term ablation, the techniques and (ETT) the multivariate
   teacher. Run with --help for every flag. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#define KDTS_IMPLEMENTATION
#include "experiment.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(_WIN32)
#include <direct.h>
#define ex_mkdir(p) _mkdir(p)
#else
#include <sys/stat.h>
#include <sys/types.h>
#define ex_mkdir(p) mkdir(p, 0755)
#endif

/* ---- the kinds of run ----------------------------------------------------------- */

const run_kind_info RUN_INFO[RUN_KINDS] = {
    /* id, label, size, dist, soft, weights, hard_last, warmup */
    {"persistence", "persistence (last value)", SIZE_NONE, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"seasonal-naive", "seasonal naive (value one season earlier)", SIZE_NONE, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"nlinear", "NLinear (closed-form ridge on the window)", SIZE_NONE, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"dlinear", "DLinear (closed-form ridge, trend + remainder)", SIZE_NONE, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"teacher", "teacher", SIZE_TEACHER, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"teacher-ensemble", "teacher ensemble (avg. forecast)", SIZE_NONE, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"teacher-dist", "teacher (dist)", SIZE_TEACHER, 1, SOFT_NONE, W_NONE, 0, 0, 0},
    {"mid-KD", "mid student, KD (for progressive)", SIZE_MID, 0, SOFT_TEACHER, W_CHOSEN, 0, 0, 0},
    {"student-raw", "student raw", SIZE_STUDENT, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"student-raw-last", "student raw, hard loss on last step only (control)", SIZE_STUDENT, 0, SOFT_NONE, W_NONE, 1,
     0, 0},
    {"student-KD", "**student KD**", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0, 0},
    {"student-KD-alpha-only", "student KD, alpha only (beta = 0)", SIZE_STUDENT, 0, SOFT_TEACHER, W_ALPHA_ONLY, 0, 0, 0},
    {"student-KD-beta-only", "student KD, beta only (alpha = 0)", SIZE_STUDENT, 0, SOFT_TEACHER, W_BETA_ONLY, 0, 0, 0},
    {"student-raw-dist", "student raw (dist)", SIZE_STUDENT, 1, SOFT_NONE, W_NONE, 2, 0, 0},
    {"student-KD-dist", "student KD (dist)", SIZE_STUDENT, 1, SOFT_DIST, W_CHOSEN, 2, 0, 0},
    {"student-KD-ensemble", "student KD from ensemble", SIZE_STUDENT, 0, SOFT_ENSEMBLE, W_CHOSEN, 0, 0, 0},
    {"student-KD-incremental", "student KD incremental (alpha warm-up)", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 1,
     0},
    {"student-KD-progressive", "student KD progressive (teacher→mid→student)", SIZE_STUDENT, 0, SOFT_MID, W_CHOSEN,
     0, 0, 0},
    {"grid", "validation grid point", SIZE_STUDENT, 0, SOFT_TEACHER, W_GRID, 0, 0, 0},
    {"grid-dist", "validation grid point (dist)", SIZE_STUDENT, 1, SOFT_DIST, W_GRID, 2, 0, 0},
    {"mx-teacher", "teacher", SIZE_TEACHER, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"mx-raw", "student raw", SIZE_STUDENT, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"mx-KD", "student KD", SIZE_STUDENT, 0, SOFT_MX, W_CHOSEN, 0, 0, 0},
    {"teacher-multivariate", "teacher, multivariate", SIZE_TEACHER, 0, SOFT_NONE, W_NONE, 0, 0, 0},
    {"KD-horizon-weight", "KD + horizon weight (later steps up)", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0,
     TECH_HW},
    {"KD-every-step", "KD + soft targets on every step", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0, TECH_SEQ},
    {"KD-multi-scale", "KD + multi-scale matching", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0, TECH_MS},
    {"KD-multi-scale-all", "KD + multi-scale matching on every step", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0,
     TECH_MS | TECH_AUX},
    {"KD-freq", "KD + frequency matching", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0, TECH_FREQ},
    {"KD-extra-jitter", "KD + extra windows, jittered", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0, TECH_JIT},
    {"KD-extra-scale", "KD + extra windows, scaled", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0, TECH_AMP},
    {"KD-extra-mixup", "KD + extra windows, mixed up", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0, TECH_MIX},
    {"KD-combination", "KD + the techniques that helped on validation", SIZE_STUDENT, 0, SOFT_TEACHER, W_CHOSEN, 0, 0,
     -1 /* chosen when it runs */},
};

void tech_describe(int bits, char *buf, size_t cap)
{
    static const struct { int bit; const char *what; } T[] = {
        {TECH_HW, "horizon_weight 1"}, {TECH_SEQ, "beta (0.5 if 0) with step_weight 1"},
        {TECH_MS, "ms_weight 1 (scales 1, 2, 4, 8)"}, {TECH_AUX, "aux_steps 1"}, {TECH_FREQ, "freq_weight 1 (T 1)"},
        {TECH_JIT, "jitter 0.1"}, {TECH_AMP, "scale 0.1"}, {TECH_MIX, "mixup 0.5"}};
    size_t n = 0;
    int i;
    buf[0] = 0;
    if (bits & (TECH_JIT | TECH_AMP | TECH_MIX)) n += (size_t)snprintf(buf, cap, "1 extra window per window: ");
    for (i = 0; i < (int)(sizeof T / sizeof T[0]) && n < cap; ++i)
        if (bits & T[i].bit) n += (size_t)snprintf(buf + n, cap - n, "%s%s", n && buf[n - 1] != ' ' ? ", " : "", T[i].what);
    if (!bits) snprintf(buf, cap, "none");
}

/* --matrix: the model kinds crossed. Teachers carry the linear skip map
   (started at the closed-form NLinear fit); the recurrent and attention
   students too; every student is at least 20x cheaper per forecast than
   every teacher (the report prints the ratios). */
typedef struct mx_arch {
    const char *id;
    kdts_kind kind;
    int hidden, layers, d_model, heads, blocks, ff, skip;
} mx_arch;
static const mx_arch MX_TEACHERS[] = {
    {"lstm", KDTS_KIND_LSTM, 64, 2, 0, 0, 0, 0, 1},
    {"gru", KDTS_KIND_GRU, 64, 2, 0, 0, 0, 0, 1},
    {"attn", KDTS_KIND_ATTN, 0, 0, 64, 4, 2, 256, 1},
};
static const mx_arch MX_STUDENTS[] = {
    {"lstm", KDTS_KIND_LSTM, 8, 1, 0, 0, 0, 0, 1},
    {"gru", KDTS_KIND_GRU, 8, 1, 0, 0, 0, 0, 1},
    {"attn", KDTS_KIND_ATTN, 0, 0, 8, 1, 1, 32, 1},
    {"linear", KDTS_KIND_LINEAR, 0, 0, 0, 0, 0, 0, 0},
};
#define MX_NT (int)(sizeof MX_TEACHERS / sizeof MX_TEACHERS[0])
#define MX_NS (int)(sizeof MX_STUDENTS / sizeof MX_STUDENTS[0])

/* ---- small utilities ---------------------------------------------------------- */

static double now_seconds(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#else
    return (double)time(NULL);
#endif
}

void ex_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "distill_experiment: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

void ex_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

void *ex_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) ex_die("out of memory (%lu bytes)", (unsigned long)n);
    return p;
}

double ex_mean(const double *v, int n)
{
    double s = 0.0;
    int i;
    for (i = 0; i < n; ++i) s += v[i];
    return n ? s / n : 0.0;
}

double ex_std(const double *v, int n)
{
    double m = ex_mean(v, n), s = 0.0;
    int i;
    if (n < 2) return 0.0;
    for (i = 0; i < n; ++i) s += (v[i] - m) * (v[i] - m);
    return sqrt(s / (n - 1));
}

static void check(kdts_result r, const kdts_error *err, const char *what)
{
    if (r != KDTS_OK) ex_die("%s: %s", what, err && err->message[0] ? err->message : kdts_result_str(r));
}

/* mkdir -p (errors show up later, when a file cannot be written). */
static void make_dirs(const char *path)
{
    char buf[1024];
    size_t i, n = strlen(path);
    if (n >= sizeof buf) ex_die("path too long: %s", path);
    memcpy(buf, path, n + 1);
    for (i = 1; i < n; ++i)
        if (buf[i] == '/' || buf[i] == '\\') {
            char ch = buf[i];
            buf[i] = 0;
            ex_mkdir(buf);
            buf[i] = ch;
        }
    ex_mkdir(buf);
}

/* Parse "a,b,c" into at most cap doubles; returns the count. */
static int parse_list(const char *s, double *v, int cap)
{
    int n = 0;
    while (s && *s && n < cap) {
        char *end;
        double x = strtod(s, &end);
        if (end == s) ex_die("cannot parse number list '%s'", s);
        v[n++] = x;
        s = end;
        while (*s == ',' || *s == ' ') ++s;
    }
    return n;
}

/* ---- options ----------------------------------------------------------------------- */

static void defaults(options *o)
{
    memset(o, 0, sizeof *o);
    o->csv = "data/ETTh1.csv";
    o->target = "OT";
    o->out = "results";
    o->split = "auto";
    o->data_dir = "data";
    o->lookback = 96;
    o->horizon = 24;
    o->stride = 3;
    o->season = 0;
    o->t_hidden = 64;
    o->t_layers = 2;
    o->s_hidden = 8;
    o->m_hidden = 24;
    o->epochs = 6;
    o->s_epochs = 6;
    o->batch = 32;
    o->warmup = 3;
    o->patience = 3;
    o->bins = 16;
    o->lr = 1e-3f;
    o->coverage = 0.8f;
    o->seeds = 3;
    o->teachers = 1;
    o->seed = 1;
    o->alpha = 0.5f;
    o->beta = 0.5f;
    o->temp = 2.0f;
    o->n_grid_alpha = parse_list("0,0.3,0.7,1.0", o->grid_alpha, MAX_LIST);
    o->n_grid_beta = parse_list("0,1", o->grid_beta, MAX_LIST);
    o->n_grid_temp = parse_list("2", o->grid_temp, MAX_LIST);
    o->n_sweep = parse_list("4,8,16", o->sweep, MAX_LIST);
    o->slice_windows = 10;
    o->min_steps = -1;
    o->s_lr = KDTS_STUDENT_LR;
    o->s_patience = 0;
    o->s_min_steps = -1;
    o->mv_features = "HUFL,HULL,MUFL,MULL,LUFL,LULL";
}

static void usage(void)
{
    options d;
    defaults(&d);
    printf("usage: distill_experiment [options]\n"
           "Replicates the teacher-student distillation experiment and writes tables, SVG\n"
           "pictures and every reported model to the output folder. Defaults in brackets.\n\n"
           "data (the library's task layer: split, scaler and windows as in `kdts train`)\n"
           "  --csv PATH          CSV file [%s]\n"
           "  --target NAME       column to forecast [%s]\n"
           "  --features A,B,..   more input columns [none: the target only]\n"
           "  --split S           auto | 0.6,0.2,0.2 (ratios) | 8640,2880,2880 (rows) [%s]\n"
           "                      auto = 8640,2880,2880 (ETT 12/4/4 months) when the file\n"
           "                      has >= 14400 rows, else 0.6,0.2,0.2\n"
           "  --max-rows N        use only the first N rows [all]\n"
           "  --lookback T        input steps per window [%d]\n"
           "  --horizon H         values forecast per step [%d]\n"
           "  --stride S          rows between training windows (val/test use 1) [%d]\n"
           "  --season P          period of the seasonal-naive baseline in rows, 0 = detected\n"
           "                      on the training rows, -1 = none [%d]\n"
           "models\n"
           "  --teacher LxH       teacher layers x hidden [%dx%d]\n"
           "  --student H         student hidden units (1 layer) [%d]\n"
           "  --mid H             mid-size student of progressive distillation [%d]\n"
           "  --bins K            bins of distribution mode [%d]\n"
           "  --teachers N        point teachers trained (the ensemble averages them) [%d;\n"
           "                      --full and --quick: 2]\n"
           "training\n"
           "  --epochs N          teacher epochs [%d]\n"
           "  --student-epochs N  epochs of every student, raw and distilled alike [%d]\n"
           "  --min-steps N       at least N optimizer steps per teacher run: epochs and\n"
           "                      patience are raised by one factor\n"
           "                      (kdts_train_config.min_steps), the rule of `kdts train`: %d\n"
           "                      unless --epochs or --student-epochs is given (then none);\n"
           "                      every run prints its plan\n"
           "  --student-min-steps N  the same for every student, the rule of `kdts distill`:\n"
           "                      %d unless --epochs or --student-epochs is given\n"
           "  --batch N           mini-batch (as `kdts train`) [%d]\n"
           "  --lr X              teachers' Adam learning rate (as `kdts train`) [%g]\n"
           "  --student-lr X      students' Adam learning rate (as `kdts distill`) [%g]\n"
           "  --patience N        teachers' early stopping patience (as `kdts train`), 0 = run\n"
           "                      all epochs; the best validation weights are always kept [%d]\n"
           "  --student-patience N  the students' (as `kdts distill`) [%d]\n"
           "  --warmup N          epochs of alpha warm-up of the incremental student [%d]\n"
           "  --seeds N           student seeds [%d]\n"
           "  --seed N            first seed [%llu]\n"
           "distillation weights (given = no grid for that weight)\n"
           "  --alpha X           weight of L_soft, (1-alpha) on L_hard [grid]\n"
           "  --beta X            weight of L_seq [grid]\n"
           "  --temperature X     distribution-mode temperature [grid]\n"
           "  --grid-alpha LIST   [0,0.3,0.7,1.0]   --grid-beta LIST [0,1]\n"
           "                      (alpha 0 with beta 0, the raw student, is left out)\n"
           "  --grid-temp LIST    [2] (one value: T given, not searched); --full: [1,2,4]\n"
           "                      (every grid: validation split only, first seed)\n",
           d.csv, d.target, d.split, d.lookback, d.horizon, d.stride, d.season, d.t_layers, d.t_hidden, d.s_hidden,
           d.m_hidden, d.bins, d.teachers, d.epochs, d.s_epochs, KDTS_MIN_STEPS_DEFAULT, KDTS_STUDENT_MIN_STEPS, d.batch, (double)d.lr, (double)d.s_lr,
           d.patience, d.s_patience, d.warmup,
           d.seeds, d.seed);
    printf("experiment\n"
           "  --sweep LIST        student sizes of the size sweep, first seed [4,8,16];\n"
           "                      --full: [4,8,16,32] on every seed\n"
           "  --dist              add the distribution-mode models (--full and --quick: on;\n"
           "                      README: point mode is the recommendation)\n"
           "  --no-dist           skip the distribution-mode models\n"
           "  --dist-hard-all     distribution-mode students: hard loss on every step (default:\n"
           "                      the last step only, for time; the dist teacher uses every step)\n"
           "  --no-remedies       skip ensemble / incremental / progressive\n"
           "  --ablation          add alpha-only and beta-only students\n"
           "  --no-models         do not save the models (OUT/models/)\n"
           "  --techniques        per-technique rows: KD plus each distillation option of\n"
           "                      kdts_train_config alone (horizon weight, soft targets on\n"
           "                      every step, multi-scale, multi-scale on every step,\n"
           "                      frequency, extra windows jittered / scaled / mixed up),\n"
           "                      every seed, and their combination chosen on validation\n"
           "                      (--full: on)\n"
           "  --multivariate      add a teacher on every column: --mv-features as inputs\n"
           "                      besides the target (--full: on for the ETT series)\n"
           "  --mv-features LIST  [%s]\n"
           "  --no-skip           point models without the linear skip map (by default, as in\n"
           "                      `kdts train`, each carries one, started at the closed-form\n"
           "                      NLinear fit; the dist models never do)\n"
           "  --matrix            the cross-family matrix instead of the main tables: teachers\n"
           "                      LSTM 2x64, GRU 2x64, attention d64 (2 blocks, 4 heads);\n"
           "                      students LSTM 1x8, GRU 1x8, attention d8 (1 block) and\n"
           "                      NLinear, raw and distilled from each teacher (alpha 1,\n"
           "                      beta 0 unless given), every seed; OUT/matrix.md and\n"
           "                      OUT/<series>_matrix.svg\n"
           "  --matrix-skip       the same with a linear skip map in every recurrent and\n"
           "                      attention model (started at the closed-form NLinear fit)\n"
           "  --out DIR           output folder [%s]\n"
           "  --quick             tiny run in seconds: first 2000 rows of the CSV, split\n"
           "                      0.6,0.2,0.2, lookback 24, horizon 6, stride 2, season 24,\n"
           "                      teacher 2x16, student 4, mid 8, 8 bins, 2 epochs, 1 seed\n"
           "  --full              every bundled series long enough (ETTh1, ETTh2, Peyton\n"
           "                      Manning), 5 seeds, size sweep on all seeds, ablation\n"
           "  --data-dir DIR      where --full finds the bundled files [%s]\n"
           "  --help              this text\n",
           d.mv_features, d.out, d.data_dir);
}

static void parse_args(options *o, int argc, char **argv)
{
    struct { const char *name; int *p; } flags[] = {
        {"--quick", &o->quick}, {"--full", &o->full}, {"--no-dist", &o->no_dist}, {"--dist", &o->dist}, {"--no-remedies", &o->no_remedies},
        {"--dist-hard-all", &o->dist_hard_all}, {"--ablation", &o->ablation}, {"--no-models", &o->no_models},
        {"--matrix", &o->matrix}, {"--matrix-skip", &o->matrix_skip}, {"--no-skip", &o->no_skip},
        {"--techniques", &o->techniques}, {"--multivariate", &o->multivariate}};
    struct { const char *name; const char **p; } strs[] = {
        {"--csv", &o->csv}, {"--target", &o->target}, {"--features", &o->features},
        {"--split", &o->split}, {"--out", &o->out}, {"--data-dir", &o->data_dir}, {"--mv-features", &o->mv_features}};
    struct { const char *name; int *p; } ints[] = {
        {"--lookback", &o->lookback}, {"--horizon", &o->horizon}, {"--stride", &o->stride},
        {"--season", &o->season}, {"--student", &o->s_hidden}, {"--mid", &o->m_hidden}, {"--bins", &o->bins},
        {"--teachers", &o->teachers}, {"--epochs", &o->epochs}, {"--student-epochs", &o->s_epochs},
        {"--batch", &o->batch}, {"--patience", &o->patience}, {"--student-patience", &o->s_patience},
        {"--warmup", &o->warmup},
        {"--seeds", &o->seeds}};
    struct { const char *name; float *p; int *set; } floats[] = {
        {"--lr", &o->lr, NULL}, {"--student-lr", &o->s_lr, NULL}, {"--alpha", &o->alpha, &o->alpha_set}, {"--beta", &o->beta, &o->beta_set},
        {"--temperature", &o->temp, &o->temp_set}};
    struct { const char *name; double *v; int *n, *set; } lists[] = {
        {"--grid-alpha", o->grid_alpha, &o->n_grid_alpha, NULL}, {"--grid-beta", o->grid_beta, &o->n_grid_beta, NULL},
        {"--grid-temp", o->grid_temp, &o->n_grid_temp, &o->temp_grid_set},
        {"--sweep", o->sweep, &o->n_sweep, &o->sweep_set}};
#define NELEM(t) (int)(sizeof t / sizeof t[0])
    int i, k, teachers_set = 0;
    for (i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int done = 0;
        if (!strcmp(a, "--epochs") || !strcmp(a, "--student-epochs")) o->epochs_set = 1;
        if (!strcmp(a, "--teachers")) teachers_set = 1;
#define NEEDV()                                                   \
    do {                                                          \
        if (!v) ex_die("option %s needs a value (see --help)", a); \
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
            NEEDV();
            o->max_rows = atol(v);
        } else if (!strcmp(a, "--teacher")) {
            NEEDV();
            if (sscanf(v, "%dx%d", &o->t_layers, &o->t_hidden) != 2) ex_die("--teacher wants LxH, e.g. 2x64");
        } else if (!strcmp(a, "--min-steps")) {
            NEEDV();
            o->min_steps = strtoll(v, NULL, 10);
            if (o->min_steps < 0) ex_die("--min-steps must be >= 0");
        } else if (!strcmp(a, "--student-min-steps")) {
            NEEDV();
            o->s_min_steps = strtoll(v, NULL, 10);
            if (o->s_min_steps < 0) ex_die("--student-min-steps must be >= 0");
        } else if (!strcmp(a, "--seed")) {
            NEEDV();
            o->seed = strtoull(v, NULL, 10);
        } else {
            ex_die("unknown option '%s' (see --help)", a);
        }
#undef NEEDV
    }
#undef NELEM
    if (o->quick) { /* tiny sizes; explicit flags after --quick are not re-applied */
        o->max_rows = 2000;
        o->split = "0.6,0.2,0.2";
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
        if (o->min_steps < 0 && !o->epochs_set) o->min_steps = 60; /* the budget rule in small */
        if (o->s_min_steps < 0 && !o->epochs_set) o->s_min_steps = 60;
    }
    if (o->full) {
        if (o->seeds < 5) o->seeds = 5;
        o->ablation = 1;
        if (!o->sweep_set) o->n_sweep = parse_list("4,8,16,32", o->sweep, MAX_LIST);
        if (!o->temp_grid_set) o->n_grid_temp = parse_list("1,2,4", o->grid_temp, MAX_LIST);
        o->techniques = 1;
        if (!teachers_set) o->teachers = 2;
    }
    /* the default run: one teacher, point mode (time) */
    if (!o->full && !o->quick && !o->dist) o->no_dist = 1;
    /* the training budget: the tool's rule */
    o->budget_steps = kdts_train_min_steps(o->epochs_set, o->min_steps);
    o->s_budget_steps = kdts_student_min_steps(o->epochs_set, o->s_min_steps);
    if (!(o->s_lr > 0) || o->s_patience < 0) ex_die("--student-lr must be > 0 and --student-patience >= 0");
    if (o->matrix_skip) o->matrix = 1;
    if (o->seeds < 1 || o->seeds > MAX_SEEDS) ex_die("--seeds must be 1..%d", MAX_SEEDS);
    if (o->teachers < 1 || o->teachers > MAX_TEACHERS) ex_die("--teachers must be 1..%d", MAX_TEACHERS);
    if (o->lookback < 1 || o->horizon < 1 || o->stride < 1 || o->batch < 1 || o->epochs < 1 || o->s_epochs < 1)
        ex_die("lookback, horizon, stride, batch and epochs must be >= 1");
    if (o->t_hidden < 1 || o->t_layers < 1 || o->t_layers > KDTS_MAX_LAYERS || o->s_hidden < 1 || o->m_hidden < 1 ||
        o->bins < 2 || o->season < -1)
        ex_die("bad model sizes");
    if (!(o->alpha >= 0 && o->alpha <= 1) || !(o->beta >= 0) || !(o->temp > 0)) ex_die("bad alpha, beta or temperature");
}

/* ---- records -------------------------------------------------------------------------- */

static void *grow_zeroed(void *arr, int n, int *cap, int first, size_t sz)
{
    if (n == *cap) {
        *cap = *cap ? 2 * *cap : first;
        arr = realloc(arr, (size_t)*cap * sz);
        if (!arr) ex_die("out of memory");
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
    ex_copy(c->series, sizeof c->series, series);
    ex_copy(c->label, sizeof c->label, label);
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

/* ---- the plan --------------------------------------------------------------------------- */

typedef struct plan_item {
    run_kind kind;
    int series;                 /* index into the series list             */
    unsigned long long seed;
    int hidden;                 /* student size (SIZE_STUDENT kinds)      */
    int table;                  /* TAB_MAIN or TAB_SWEEP                  */
    double ga, gb, gt;          /* grid point                             */
    int grid_last;              /* the last point of its grid: choose     */
    int first;                  /* first seed: learning curve and slice   */
    int teacher;                /* which teacher (RUN_TEACHER)            */
    int tk, sk;                 /* --matrix: teacher / student kind index  */
    double cost;                /* estimated work, for the ETA            */
} plan_item;

typedef struct plan {
    plan_item *it;
    int n, cap;
} plan;

static plan_item *plan_add(plan *p, run_kind kind, int series, unsigned long long seed, int hidden, int table)
{
    plan_item *it;
    p->it = (plan_item *)grow_zeroed(p->it, p->n, &p->cap, 64, sizeof(plan_item));
    it = &p->it[p->n++];
    it->kind = kind;
    it->series = series;
    it->seed = seed;
    it->hidden = hidden;
    it->table = table;
    return it;
}

/* The soft targets of one teacher source, computed once per series. */
typedef struct soft_cache {
    int source;
    float temp;
    float *tv, *tp;
    int last_only; /* the teachers give the last step only */
} soft_cache;

#define MAX_SOFT 8

/* What a series keeps while its plan runs. */
typedef struct series_state {
    series_out *so;
    kdts_task task, task_mv; /* task_mv: --multivariate (every column an input) */
    int have_task_mv, combo_done;
    kdts_net teachers[MAX_TEACHERS], tdist, mid, mxt[8];
    int have_mxt[8];
    kdts_model tmodels[MAX_TEACHERS];
    int nteachers, have_tdist, have_mid;
    soft_cache soft[MAX_SOFT];
    int nsoft;
    double grid_best;
    int grid_best_i;
    float alpha, beta, temp;
    slice_pic sp;
    int nslice;
    struct { char arch[80]; double us; } lat[32];
    int nlat;
    int first_run;
} series_state;

/* Build the series list (one, or the bundled ones with --full). */
static int make_series(experiment *e, series_out *so)
{
    const options *o = &e->o;
    int ns = 0, i;
    memset(so, 0, sizeof(series_out) * MAX_SERIES);
    if (o->full) {
        static const char *names[3] = {"ETTh1", "ETTh2", "PeytonManning"};
        static const char *files[3] = {"ETTh1.csv", "ETTh2.csv", "example_wp_log_peyton_manning.csv"};
        for (i = 0; i < 3; ++i) {
            series_out *s = &so[ns++];
            ex_copy(s->name, sizeof s->name, names[i]);
            if ((size_t)snprintf(s->path, sizeof s->path, "%s/%s", o->data_dir, files[i]) >= sizeof s->path)
                ex_die("--data-dir too long");
            ex_copy(s->target, sizeof s->target, i < 2 ? "OT" : "y");
            s->split_rule = i < 2 ? "8640,2880,2880" : "0.6,0.2,0.2";
            s->lookback = i < 2 ? o->lookback : 56;
            s->horizon = i < 2 ? o->horizon : 7;
            s->stride = i < 2 ? o->stride : 1;
            s->season = 0; /* detected: 24 (hourly ETT), 7 (daily page views) */
            s->epochs = i < 2 ? o->epochs : 3 * o->epochs;
            s->s_epochs = i < 2 ? o->s_epochs : 3 * o->s_epochs;
            s->mv = i < 2; /* the ETT series have the seven columns */
            ex_copy(s->mv_features, sizeof s->mv_features, o->mv_features);
        }
        note(e, "- example_air_passengers.csv is not used: 144 monthly rows leave about 29 rows per validation "
                "and test split, too few for windows of useful lookback plus horizon.\n"
                "- Peyton Manning (daily log page views, 2905 rows): split 0.6/0.2/0.2, lookback 56 days "
                "(8 weeks), horizon 7 days, season 7, training stride 1, 3x the epochs (the series has ~1/5 of "
                "ETTh1's training windows).\n");
    } else {
        series_out *s = &so[ns++];
        const char *base = strrchr(o->csv, '/');
        char *dot;
        base = base ? base + 1 : o->csv;
        ex_copy(s->name, sizeof s->name, base);
        dot = strrchr(s->name, '.');
        if (dot) *dot = 0;
        ex_copy(s->path, sizeof s->path, o->csv);
        ex_copy(s->target, sizeof s->target, o->target);
        s->features = o->features;
        s->split_rule = o->split;
        s->max_rows = o->max_rows;
        s->lookback = o->lookback;
        s->horizon = o->horizon;
        s->stride = o->stride;
        s->season = o->season;
        s->epochs = o->epochs;
        s->s_epochs = o->s_epochs;
        s->mv = o->multivariate;
        ex_copy(s->mv_features, sizeof s->mv_features, o->mv_features);
    }
    return ns;
}

/* The data of a series: the library's task layer; features (may be NULL)
   the input columns besides the target. */
static void open_task(kdts_task *task, const series_out *s, const options *o, const char *features)
{
    kdts_task_config tc;
    kdts_error err;
    const char *tgt = s->target, *feats[KDTS_MAX_COLUMNS];
    char fbuf[4096];
    int nf = 0;
    memset(&tc, 0, sizeof tc);
    tc.targets = &tgt;
    tc.n_targets = 1;
    if (features) {
        char *p = fbuf;
        if (strlen(features) >= sizeof fbuf) ex_die("--features too long");
        strcpy(fbuf, features);
        while (p && *p && nf < KDTS_MAX_COLUMNS) {
            char *q = strchr(p, ',');
            if (q) *q = 0;
            feats[nf++] = p;
            p = q ? q + 1 : NULL;
        }
        tc.features = feats;
        tc.n_features = nf;
    }
    tc.missing = KDTS_MISSING_INTERPOLATE; /* gaps are filled, never dropped */
    tc.max_rows = s->max_rows;
    if (kdts_split_parse(&tc, s->split_rule, &err) != KDTS_OK) ex_die("--split: %s", err.message);
    tc.lookback = s->lookback;
    tc.horizon = s->horizon;
    tc.stride = s->stride;
    tc.bins = o->bins;
    tc.season = s->season;
    tc.source_name = NULL;
    check(kdts_task_open(task, &tc, s->path, &err), &err, s->path);
}

static void open_series(series_state *st, const options *o)
{
    series_out *s = st->so;
    open_task(&st->task, s, o, s->features);
    if (s->mv) {
        open_task(&st->task_mv, s, o, s->mv_features);
        st->have_task_mv = 1;
        if (st->task_mv.win[KDTS_PART_TEST].n != st->task.win[KDTS_PART_TEST].n ||
            st->task_mv.win[KDTS_PART_VAL].n != st->task.win[KDTS_PART_VAL].n)
            ex_die("%s: the multivariate task has other windows", s->name);
    }
    {
        const kdts_task *t = &st->task;
        int i;
        for (i = 0; i < t->nwarn; ++i) fprintf(stderr, "[%s] warning: %s\n", s->name, t->warnings[i]);
        snprintf(s->split, sizeof s->split, "rows [0,%ld) train, [%ld,%ld) validation, [%ld,%ld) test",
                 t->split.train.end, t->split.val.begin, t->split.val.end, t->split.test.begin, t->split.test.end);
        s->ntrain = t->win[KDTS_PART_TRAIN].n;
        s->nval = t->win[KDTS_PART_VAL].n;
        s->ntest = t->win[KDTS_PART_TEST].n;
        if (s->nval < 1 || s->ntest < 1) ex_die("%s: the validation and test parts need windows", s->name);
    }
}

static void net_config(kdts_net_config *c, const series_state *st, const options *o, const plan_item *it)
{
    const run_kind_info *ki = &RUN_INFO[it->kind];
    memset(c, 0, sizeof *c);
    if (it->kind == RUN_MX_TEACHER || it->kind == RUN_MX_RAW || it->kind == RUN_MX_KD) {
        const mx_arch *a = it->kind == RUN_MX_TEACHER ? &MX_TEACHERS[it->tk] : &MX_STUDENTS[it->sk];
        c->kind = a->kind;
        c->hidden = a->hidden, c->layers = a->layers;
        c->d_model = a->d_model, c->heads = a->heads, c->blocks = a->blocks, c->ff = a->ff;
        c->skip = a->skip && o->matrix_skip;
        kdts_task_net_config(&st->task, c);
        return;
    }
    c->layers = ki->size == SIZE_TEACHER ? o->t_layers : 1;
    c->hidden = ki->size == SIZE_TEACHER ? o->t_hidden : ki->size == SIZE_MID ? o->m_hidden : it->hidden;
    c->mode = ki->dist ? KDTS_MODE_DIST : KDTS_MODE_POINT;
    if (ki->dist) c->bins = o->bins;
    c->skip = !ki->dist && !o->no_skip; /* as the tool: point models carry the skip map */
    kdts_task_net_config(it->kind == RUN_TEACHER_MV ? &st->task_mv : &st->task, c);
}

/* The plan of one series, in the order the runs depend on each other. */
static void plan_series(plan *p, const experiment *e, int si, series_state *st)
{
    const options *o = &e->o;
    series_out *so = st->so;
    unsigned long long seed0 = o->seed;
    int have_dist = !o->no_dist, k, s, q, first = p->n;
    plan_add(p, RUN_PERSISTENCE, si, 0, 0, TAB_MAIN);
    if (st->task.season > 0) plan_add(p, RUN_SEASONAL, si, 0, 0, TAB_MAIN);
    plan_add(p, RUN_NLINEAR, si, 0, 0, TAB_MAIN);
    plan_add(p, RUN_DLINEAR, si, 0, 0, TAB_MAIN);
    if (o->matrix) {
        /* teacher kind x student kind: raw and KD on every seed */
        int t, u;
        st->alpha = o->alpha_set ? o->alpha : 1.0f;
        st->beta = o->beta_set ? o->beta : 0.0f;
        so->chosen_alpha = st->alpha, so->chosen_beta = st->beta;
        for (t = 0; t < MX_NT; ++t) plan_add(p, RUN_MX_TEACHER, si, seed0 + 100, 0, TAB_MATRIX)->tk = t;
        for (s = 0; s < o->seeds; ++s)
            for (u = 0; u < MX_NS; ++u) {
                unsigned long long seed = seed0 + (unsigned long long)s;
                plan_item *it = plan_add(p, RUN_MX_RAW, si, seed, 0, TAB_MATRIX);
                it->sk = u, it->tk = -1;
                for (t = 0; t < MX_NT; ++t) {
                    it = plan_add(p, RUN_MX_KD, si, seed, 0, TAB_MATRIX);
                    it->sk = u, it->tk = t;
                }
            }
        goto costs;
    }
    for (k = 0; k < o->teachers; ++k) {
        plan_item *it = plan_add(p, RUN_TEACHER, si, seed0 + 100 + (unsigned long long)k, 0, TAB_MAIN);
        it->teacher = k;
        it->first = k == 0;
    }
    if (o->teachers > 1) plan_add(p, RUN_TEACHER_ENSEMBLE, si, seed0 + 100, 0, TAB_MAIN);
    if (so->mv) plan_add(p, RUN_TEACHER_MV, si, seed0 + 100, 0, TAB_MAIN);
    if (have_dist) plan_add(p, RUN_TEACHER_DIST, si, seed0 + 100, 0, TAB_MAIN)->first = 1;
    /* grids on the validation split, first seed: alpha x beta (point), then T (dist) */
    so->grid_alpha = !o->alpha_set;
    so->grid_beta = !o->beta_set;
    so->grid_temp = !o->temp_set && have_dist && o->n_grid_temp > 1;
    st->alpha = o->alpha;
    st->beta = o->beta;
    st->temp = !o->temp_set && o->n_grid_temp == 1 ? (float)o->grid_temp[0] : o->temp;
    if (so->grid_alpha || so->grid_beta) {
        int na = so->grid_alpha ? o->n_grid_alpha : 1, nb = so->grid_beta ? o->n_grid_beta : 1, ia, ib;
        plan_item *it = NULL;
        for (ia = 0; ia < na; ++ia)
            for (ib = 0; ib < nb; ++ib) {
                double ga = so->grid_alpha ? o->grid_alpha[ia] : o->alpha;
                double gb = so->grid_beta ? o->grid_beta[ib] : o->beta;
                if (ga == 0 && gb == 0) continue; /* no teacher in the loss: the raw student */
                it = plan_add(p, RUN_GRID, si, seed0, o->s_hidden, TAB_MAIN);
                it->ga = ga;
                it->gb = gb;
                it->gt = 1;
            }
        if (!it) ex_die("the alpha x beta grid has only alpha 0 with beta 0 (no teacher in the loss)");
        it->grid_last = 1;
    }
    if (so->grid_temp) {
        plan_item *it = NULL;
        for (k = 0; k < o->n_grid_temp; ++k) {
            it = plan_add(p, RUN_GRID_DIST, si, seed0, o->s_hidden, TAB_MAIN);
            it->gt = o->grid_temp[k];
        }
        it->grid_last = 1;
    }
    if (!o->no_remedies) plan_add(p, RUN_MID, si, seed0 + 200, o->m_hidden, TAB_MAIN);
    for (s = 0; s < o->seeds; ++s) {
        unsigned long long seed = seed0 + (unsigned long long)s;
        plan_add(p, RUN_RAW, si, seed, o->s_hidden, TAB_MAIN)->first = s == 0;
        plan_add(p, RUN_RAW_LAST, si, seed, o->s_hidden, TAB_MAIN);
        plan_add(p, RUN_KD, si, seed, o->s_hidden, TAB_MAIN)->first = s == 0;
        if (o->ablation) {
            plan_add(p, RUN_KD_ALPHA_ONLY, si, seed, o->s_hidden, TAB_MAIN);
            plan_add(p, RUN_KD_BETA_ONLY, si, seed, o->s_hidden, TAB_MAIN);
        }
        if (have_dist) {
            plan_add(p, RUN_RAW_DIST, si, seed, o->s_hidden, TAB_MAIN);
            plan_add(p, RUN_KD_DIST, si, seed, o->s_hidden, TAB_MAIN)->first = s == 0;
        }
        if (!o->no_remedies) {
            if (o->teachers > 1) plan_add(p, RUN_KD_ENSEMBLE, si, seed, o->s_hidden, TAB_MAIN);
            plan_add(p, RUN_KD_INCREMENTAL, si, seed, o->s_hidden, TAB_MAIN)->first = s == 0;
            plan_add(p, RUN_KD_PROGRESSIVE, si, seed, o->s_hidden, TAB_MAIN);
        }
    }
    /* --techniques: KD plus each option alone on every seed, then the
       combination of those that helped on validation */
    if (o->techniques) {
        for (s = 0; s < o->seeds; ++s)
            for (k = TECH_FIRST; k <= TECH_LAST; ++k)
                plan_add(p, (run_kind)k, si, seed0 + (unsigned long long)s, o->s_hidden, TAB_MAIN);
        for (s = 0; s < o->seeds; ++s) plan_add(p, RUN_KD_COMBO, si, seed0 + (unsigned long long)s, o->s_hidden, TAB_MAIN);
    }
    /* student-size sweep: raw vs KD (point); first seed (all with --full) */
    {
        int sweep_seeds = o->full ? o->seeds : 1;
        for (q = 0; q < o->n_sweep; ++q) {
            int h = (int)o->sweep[q];
            so->sweep_sizes[q] = h;
            for (s = 0; s < sweep_seeds; ++s) {
                unsigned long long seed = seed0 + (unsigned long long)s;
                if (h == o->s_hidden && s < o->seeds) continue; /* the main runs are these */
                plan_add(p, RUN_RAW, si, seed, h, TAB_SWEEP);
                plan_add(p, RUN_KD, si, seed, h, TAB_SWEEP);
            }
        }
        so->nsweep = o->n_sweep;
    }
    /* estimated work: training FLOPs of each run */
costs:
    for (k = first; k < p->n; ++k) {
        plan_item *it = &p->it[k];
        const run_kind_info *ki = &RUN_INFO[it->kind];
        kdts_net_config c;
        int epochs = ki->size == SIZE_TEACHER ? so->epochs : so->s_epochs;
        if (ki->size == SIZE_NONE) {
            it->cost = 0;
            continue;
        }
        net_config(&c, st, o, it);
        it->cost = 3.0 * kdts_net_flops(&c, so->lookback) * (double)so->ntrain * epochs;
        {
            long long b = ki->size == SIZE_TEACHER ? o->budget_steps : o->s_budget_steps;
            if (b > 0 && (double)b * o->batch > (double)so->ntrain * epochs)
                it->cost *= (double)b * o->batch / ((double)so->ntrain * epochs);
        }
        if (ki->tech > 0 && (ki->tech & (TECH_JIT | TECH_AMP | TECH_MIX))) it->cost *= 2;
    }
}

/* ---- running one item -------------------------------------------------------------------- */

typedef struct progress {
    const char *series, *label;
    unsigned long long seed;
    curve *cv;
    double t0;
    int run, runs;
    double done_cost, total_cost, t_start, cur_cost; /* cur_cost: the running item's */
} progress;

static void fmt_time(char *b, size_t cap, double s)
{
    if (s >= 3600) snprintf(b, cap, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60) snprintf(b, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else snprintf(b, cap, "%.0fs", s);
}

static int on_epoch(const kdts_epoch_info *in, void *user)
{
    progress *p = (progress *)user;
    double el = now_seconds() - p->t_start, done = p->done_cost + p->cur_cost * in->epoch / in->epochs;
    double frac = p->total_cost > 0 ? done / p->total_cost : 0;
    char eta[32];
    if (frac > 0.01) fmt_time(eta, sizeof eta, el / frac * (1 - frac));
    else snprintf(eta, sizeof eta, "?");
    fprintf(stderr, "  [%s] run %d of %d  %-26s seed %-3llu epoch %2d/%-2d loss %.5f val %.5f best %.5f@%d  "
                    "%.1fs  ETA %s\n",
            p->series, p->run, p->runs, p->label, p->seed, in->epoch, in->epochs, in->loss, in->val_mse,
            in->best_val_mse, in->best_epoch, now_seconds() - p->t0, eta);
    if (p->cv && p->cv->n < MAX_EPOCHS) {
        p->cv->loss[p->cv->n] = in->loss;
        p->cv->val[p->cv->n] = in->val_mse;
        p->cv->n++;
    }
    return 0;
}

/* The soft targets of a source (computed on first use). */
static const soft_cache *get_soft(series_state *st, int source, int probs, float temp)
{
    const kdts_task *t = &st->task;
    const kdts_dataset *d = &t->data[KDTS_PART_TRAIN];
    const kdts_net *tp[MAX_TEACHERS];
    soft_cache *c;
    kdts_error err;
    int i, nt = 1, seq_from = 0;
    if (!probs) temp = 0;
    for (i = 0; i < st->nsoft; ++i)
        if (st->soft[i].source == source && st->soft[i].temp == temp && (!probs || st->soft[i].tp)) return &st->soft[i];
    if (st->nsoft == MAX_SOFT) ex_die("too many soft-target sources");
    c = &st->soft[st->nsoft++];
    c->source = source;
    c->temp = temp;
    if (source == SOFT_ENSEMBLE) {
        nt = st->nteachers;
        for (i = 0; i < nt; ++i) tp[i] = &st->teachers[i];
    } else if (source >= SOFT_MX) {
        if (!st->have_mxt[source - SOFT_MX]) ex_die("matrix teacher %d not trained", source - SOFT_MX);
        tp[0] = &st->mxt[source - SOFT_MX];
    } else {
        tp[0] = source == SOFT_TEACHER ? &st->teachers[0] : source == SOFT_DIST ? &st->tdist : &st->mid;
    }
    c->tv = (float *)ex_malloc(sizeof(float) * (size_t)d->n * d->T * d->h);
    c->tp = probs ? (float *)ex_malloc(sizeof(float) * (size_t)d->n * d->h * tp[0]->cfg.bins) : NULL;
    check(kdts_soft_targets(tp, nt, d->x, d->n, d->T, probs ? temp : 1.0f, c->tv, c->tp, &seq_from, &err), &err,
          "soft targets");
    c->last_only = seq_from > 0;
    return c;
}

static double latency_us(series_state *st, const kdts_task *task, const kdts_model *m)
{
    kdts_infer inf;
    kdts_error err;
    double times[301], t0, est;
    float *x, *fc;
    int r, reps, inner = 1, i, T = m->lookback;
    char arch[80];
    kdts_net_describe(&m->arch, arch, sizeof arch);
    for (i = 0; task == &st->task && i < st->nlat; ++i)
        if (!strcmp(st->lat[i].arch, arch)) return st->lat[i].us;
    x = (float *)ex_malloc(sizeof(float) * (size_t)T * m->n_features);
    fc = (float *)ex_malloc(sizeof(float) * (size_t)m->arch.horizon);
    check(kdts_task_input(task, task->split.test.begin + T - 1, x, &err), &err, "latency input");
    check(kdts_infer_create(&inf, m, T, &err), &err, "latency");
    t0 = now_seconds();
    for (i = 0; i < 5; ++i) kdts_infer_window(&inf, x, T, fc, NULL, NULL, 0, NULL);
    est = (now_seconds() - t0) / 5;
    if (est < 20e-6) inner = (int)(20e-6 / (est > 1e-9 ? est : 1e-9)) + 1;
    reps = est * inner * 301 > 1.0 ? 61 : 301;
    for (r = 0; r < reps; ++r) {
        t0 = now_seconds();
        for (i = 0; i < inner; ++i) kdts_infer_window(&inf, x, T, fc, NULL, NULL, 0, NULL);
        times[r] = (now_seconds() - t0) / inner;
    }
    {
        int a, b;
        for (a = 1; a < reps; ++a) /* insertion sort: at most 301 values */
            for (b = a; b > 0 && times[b - 1] > times[b]; --b) {
                double tmp = times[b];
                times[b] = times[b - 1];
                times[b - 1] = tmp;
            }
    }
    kdts_infer_free(&inf);
    free(x);
    free(fc);
    if (task == &st->task && st->nlat < 32) {
        ex_copy(st->lat[st->nlat].arch, sizeof st->lat[st->nlat].arch, arch);
        st->lat[st->nlat++].us = times[reps / 2] * 1e6;
    }
    return times[reps / 2] * 1e6;
}

/* The forecast picture's slice: windows 0, h, 2h, ... of the test split. */
static void keep_slice(series_state *st, double *dst, double *lo, double *hi, const float *fc, const float *flo,
                       const float *fhi)
{
    int k, j, H = st->so->horizon;
    for (k = 0; k < st->nslice; ++k)
        for (j = 0; j < H; ++j) {
            size_t q = (size_t)k * H * H + j;
            dst[k * H + j] = fc[q];
            if (lo) lo[k * H + j] = flo[q];
            if (hi) hi[k * H + j] = fhi[q];
        }
}

static double score_mse(const kdts_task *task, kdts_part part, const float *fc, kdts_scores *s)
{
    kdts_error err;
    check(kdts_task_score(task, part, fc, NULL, NULL, 0, s, NULL, &err), &err, "score");
    return s->mse;
}

/* The settings of TECH_* bits in a training configuration. */
static void apply_tech(kdts_train_config *tc, int bits)
{
    if (bits & TECH_HW) tc->horizon_weight = 1.0f;
    if (bits & TECH_SEQ) {
        tc->step_weight = 1.0f;
        if (tc->beta == 0.0f) tc->beta = 0.5f;
    }
    if (bits & TECH_MS) tc->ms_weight = 1.0f;
    if (bits & TECH_AUX) tc->aux_steps = 1;
    if (bits & TECH_FREQ) tc->freq_weight = 1.0f;
    if (bits & (TECH_JIT | TECH_AMP | TECH_MIX)) tc->extra_per_window = 1;
    if (bits & TECH_JIT) tc->extra_jitter = 0.1f;
    if (bits & TECH_AMP) tc->extra_scale = 0.1f;
    if (bits & TECH_MIX) tc->extra_mixup = 0.5f;
}

/* Mean validation MSE of the main-table runs of a kind on a series (n: how many). */
static double mean_val(const experiment *e, const char *series, run_kind kind, int *n)
{
    double sum = 0;
    int i;
    *n = 0;
    for (i = 0; i < e->nruns; ++i)
        if (!strcmp(e->runs[i].series, series) && e->runs[i].kind == kind && e->runs[i].table == TAB_MAIN)
            sum += e->runs[i].val_mse, ++*n;
    return *n ? sum / *n : 0;
}

/* The combination: every technique whose mean validation MSE over the
   seeds is below plain KD's (validation only, never the test split). */
static int choose_combo(experiment *e, series_state *st)
{
    int k, n, bits = 0;
    double base = mean_val(e, st->so->name, RUN_KD, &n);
    if (!n) return 0;
    for (k = TECH_FIRST; k <= TECH_LAST; ++k) {
        int m;
        double v = mean_val(e, st->so->name, (run_kind)k, &m);
        if (m && v < base) bits |= RUN_INFO[k].tech;
    }
    return bits;
}

/* Run one plan item. */
static void run_item(experiment *e, series_state *st, const plan_item *it, progress *pg)
{
    const options *o = &e->o;
    const run_kind_info *ki = &RUN_INFO[it->kind];
    series_out *so = st->so;
    kdts_task *task = it->kind == RUN_TEACHER_MV ? &st->task_mv : &st->task;
    int tech = ki->tech;
    float *ex_tv = NULL;
    long nv = task->win[KDTS_PART_VAL].n, nt = task->win[KDTS_PART_TEST].n, nmax = nv > nt ? nv : nt;
    int H = so->horizon, dist = ki->dist, is_grid = it->kind == RUN_GRID || it->kind == RUN_GRID_DIST;
    float *fc = (float *)ex_malloc(sizeof(float) * (size_t)nmax * H), *lo = NULL, *hi = NULL;
    kdts_scores sv, stt;
    kdts_error err;
    run_rec *rec = NULL;
    char label[128];
    memset(&err, 0, sizeof err);
    if (it->kind == RUN_KD_COMBO) {
        int k, src = -1;
        if (!st->combo_done) {
            so->combo = choose_combo(e, st);
            st->combo_done = 1;
            tech_describe(so->combo, label, sizeof label);
            fprintf(stderr, "[%s] the combination chosen on validation: %s\n", so->name, label);
        }
        tech = so->combo;
        /* the same settings as a row already run: its runs are this row's */
        if (!tech) src = RUN_KD;
        for (k = TECH_FIRST; k <= TECH_LAST; ++k)
            if (tech && RUN_INFO[k].tech == tech) src = k;
        if (src >= 0) {
            for (k = 0; k < e->nruns; ++k)
                if (e->runs[k].kind == (run_kind)src && e->runs[k].seed == (int)it->seed &&
                    e->runs[k].table == TAB_MAIN && !strcmp(e->runs[k].series, so->name)) {
                    run_rec copy = e->runs[k];
                    copy.kind = RUN_KD_COMBO;
                    copy.tech = tech;
                    *add_run(e) = copy;
                    break;
                }
            free(fc);
            return;
        }
    }
    if (!is_grid) {
        rec = add_run(e);
        ex_copy(rec->series, sizeof rec->series, so->name);
        rec->kind = it->kind;
        rec->seed = (int)it->seed;
        rec->table = it->table;
        rec->temp = 1;
        rec->tech = tech;
        rec->tk = it->kind == RUN_MX_TEACHER || it->kind == RUN_MX_KD ? it->tk : -1;
        rec->sk = it->kind == RUN_MX_RAW || it->kind == RUN_MX_KD ? it->sk : -1;
    }
    if (it->kind == RUN_PERSISTENCE || it->kind == RUN_SEASONAL || it->kind == RUN_NLINEAR || it->kind == RUN_DLINEAR) {
        kdts_baseline b = it->kind == RUN_PERSISTENCE ? KDTS_BASELINE_PERSISTENCE
                          : it->kind == RUN_SEASONAL  ? KDTS_BASELINE_SEASONAL
                          : it->kind == RUN_NLINEAR   ? KDTS_BASELINE_NLINEAR
                                                      : KDTS_BASELINE_DLINEAR;
        if (it->kind == RUN_NLINEAR || it->kind == RUN_DLINEAR) {
            kdts_linear lm;
            double lam = 0;
            double t0 = now_seconds();
            check(kdts_task_fit_linear(task, it->kind == RUN_NLINEAR ? KDTS_LINEAR_NLINEAR : KDTS_LINEAR_DLINEAR, &lm,
                                       &lam, &err),
                  &err, "linear fit");
            rec->train_s = now_seconds() - t0;
            rec->params = (double)lm.nparams;
            rec->flops = kdts_linear_flops(&lm.cfg);
            rec->alpha = lam; /* the ridge lambda chosen on validation (results.csv column alpha) */
            kdts_linear_free(&lm);
        }
        check(kdts_task_baseline(task, KDTS_PART_TEST, b, fc, &err), &err, "baseline");
        score_mse(task, KDTS_PART_TEST, fc, &stt);
        check(kdts_task_baseline(task, KDTS_PART_VAL, b, fc, &err), &err, "baseline");
        rec->val_mse = score_mse(task, KDTS_PART_VAL, fc, &sv);
        rec->mse_n = stt.mse, rec->mae_n = stt.mae, rec->mse_o = stt.mse_orig, rec->mae_o = stt.mae_orig;
        if (it->kind == RUN_SEASONAL) rec->hidden = task->season;
        fprintf(stderr, "[%s] %s: test MSE %.5f (normalized), val %.5f\n", so->name, ki->id, rec->mse_n, rec->val_mse);
        free(fc);
        return;
    }
    if (it->kind == RUN_TEACHER_ENSEMBLE) {
        float *acc = (float *)ex_malloc(sizeof(float) * (size_t)nmax * H);
        int p, k;
        for (p = 0; p < 2; ++p) {
            kdts_part part = p ? KDTS_PART_VAL : KDTS_PART_TEST;
            long n = task->win[part].n, q;
            memset(acc, 0, sizeof(float) * (size_t)n * H);
            for (k = 0; k < st->nteachers; ++k) {
                check(kdts_task_forecast_model(task, part, &st->tmodels[k], fc, NULL, NULL, 0, &err), &err, "ensemble");
                for (q = 0; q < n * H; ++q) acc[q] += fc[q] / (float)st->nteachers;
            }
            if (p) rec->val_mse = score_mse(task, part, acc, &sv);
            else score_mse(task, part, acc, &stt);
        }
        rec->mse_n = stt.mse, rec->mae_n = stt.mae, rec->mse_o = stt.mse_orig, rec->mae_o = stt.mae_orig;
        rec->layers = o->t_layers;
        rec->hidden = o->t_hidden;
        for (k = 0; k < e->nruns; ++k) {
            const run_rec *r = &e->runs[k];
            if (r->kind == RUN_TEACHER && !strcmp(r->series, so->name)) {
                rec->params += r->params;
                rec->flops += r->flops;
                rec->train_s += r->train_s;
                rec->lat_us += r->lat_us;
            }
        }
        free(acc);
        free(fc);
        return;
    }
    /* a trained model */
    {
        kdts_net_config mc;
        kdts_net net, *keep = NULL;
        kdts_train_config tc;
        kdts_train_report rep;
        float alpha = 0, beta = 0, temp = 1;
        int soft = ki->soft != SOFT_NONE, epochs = ki->size == SIZE_TEACHER ? so->epochs : so->s_epochs;
        double t0;
        net_config(&mc, st, o, it);
        if (it->kind == RUN_TEACHER) keep = &st->teachers[it->teacher];
        else if (it->kind == RUN_TEACHER_DIST) keep = &st->tdist;
        else if (it->kind == RUN_MID) keep = &st->mid;
        else if (it->kind == RUN_MX_TEACHER) keep = &st->mxt[it->tk];
        else keep = &net;
        check(kdts_net_init(keep, &mc, it->seed * 7919ULL + 17ULL, &err), &err, "model init");
        if (ki->weights == W_CHOSEN) alpha = st->alpha, beta = st->beta, temp = st->temp;
        else if (ki->weights == W_ALPHA_ONLY) alpha = st->alpha > 0 ? st->alpha : 0.5f, beta = 0, temp = st->temp;
        else if (ki->weights == W_BETA_ONLY) alpha = 0, beta = st->beta > 0 ? st->beta : 0.5f, temp = st->temp;
        else if (it->kind == RUN_GRID) alpha = (float)it->ga, beta = (float)it->gb, temp = (float)it->gt;
        else if (it->kind == RUN_GRID_DIST) alpha = st->alpha, beta = st->beta, temp = (float)it->gt;
        memset(&tc, 0, sizeof tc);
        tc.epochs = epochs;
        tc.batch = o->batch;
        /* teachers on the budget of `kdts train`, students (raw and KD alike) on that of `kdts distill` */
        tc.adam.lr = ki->size == SIZE_TEACHER ? o->lr : o->s_lr;
        tc.seed = it->seed;
        tc.patience = ki->size == SIZE_TEACHER ? o->patience : o->s_patience;
        tc.alpha = alpha;
        tc.beta = beta;
        tc.temperature = temp;
        tc.alpha_warmup = ki->warmup ? o->warmup : 0;
        tc.hard_last_only = ki->hard_last == 1 || (ki->hard_last == 2 && !o->dist_hard_all);
        tc.min_steps = ki->size == SIZE_TEACHER ? o->budget_steps : o->s_budget_steps; /* the tool's rules */
        if (soft) {
            int probs = dist && alpha > 0.0f;
            const soft_cache *sc = get_soft(st, ki->soft == SOFT_MX ? SOFT_MX + it->tk : ki->soft, probs, temp);
            tc.soft_values = sc->tv;
            tc.soft_probs = sc->tp;
            tc.soft_last_only = sc->last_only;
            if (tech > 0) apply_tech(&tc, tech);
            beta = tc.beta;
            if (tc.extra_per_window > 0) {
                /* the extra windows the trainer will draw, labelled once by teacher #1 */
                const kdts_dataset *d = &task->data[KDTS_PART_TRAIN];
                const kdts_net *tp[1];
                kdts_train_config cc = tc;
                size_t ne = (size_t)d->n * (size_t)tc.extra_per_window;
                float *ex_x = (float *)ex_malloc(sizeof(float) * ne * (size_t)d->T * (size_t)d->F);
                int sf = 0;
                tp[0] = &st->teachers[0];
                ex_tv = (float *)ex_malloc(sizeof(float) * ne * (size_t)d->T * (size_t)d->h);
                check(kdts_train_config_check(&cc, &err), &err, "extra windows");
                check(kdts_extra_windows(&cc, d, ex_x, &err), &err, "extra windows");
                check(kdts_soft_targets(tp, 1, ex_x, (int)ne, d->T, 1.0f, ex_tv, NULL, &sf, &err), &err,
                      "extra windows' soft targets");
                free(ex_x);
                tc.extra_soft_values = ex_tv;
            }
        }
        {
            char d[64];
            kdts_net_describe(&mc, d, sizeof d);
            if (it->kind == RUN_MX_KD) snprintf(label, sizeof label, "KD %s <- %s", d, MX_TEACHERS[it->tk].id);
            else snprintf(label, sizeof label, "%s %s", it->kind == RUN_MX_RAW ? "raw" : ki->id, d);
        }
        pg->series = so->name;
        pg->label = label;
        pg->seed = it->seed;
        pg->cv = NULL;
        if (it->first && it->table == TAB_MAIN && !is_grid) {
            const char *cl = it->kind == RUN_TEACHER ? "teacher" : it->kind == RUN_TEACHER_DIST ? "teacher (dist)"
                             : it->kind == RUN_RAW ? "student raw" : it->kind == RUN_KD ? "student KD"
                             : it->kind == RUN_KD_INCREMENTAL ? "student KD incremental" : NULL;
            if (cl) pg->cv = add_curve(e, so->name, cl);
        }
        tc.on_epoch = on_epoch;
        tc.user = pg;
        t0 = pg->t0 = now_seconds();
        check(kdts_task_fit(task, keep, &tc, NULL, 0, &rep, &err), &err, "training");
        free(ex_tv);
        ex_tv = NULL;
        /* the plan the budget rule made (kdts_train_report) */
        fprintf(stderr, "  [%s] %s seed %llu: planned %d epochs, patience %d (asked %d, %d", so->name, label, it->seed,
                rep.epochs, rep.patience, epochs, (int)tc.patience);
        if (rep.epochs > epochs)
            fprintf(stderr, "; raised x%d to reach min_steps %lld", rep.epochs / epochs, (long long)tc.min_steps);
        fprintf(stderr, "); ran %d epochs, %lld optimizer steps, best epoch %d\n", rep.epochs_run, rep.steps,
                rep.best_epoch);
        /* validation: the batch path */
        if (dist && !is_grid && it->first && it->kind == RUN_KD_DIST) {
            lo = (float *)ex_malloc(sizeof(float) * (size_t)nmax * H);
            hi = (float *)ex_malloc(sizeof(float) * (size_t)nmax * H);
        }
        check(kdts_task_forecast(task, KDTS_PART_VAL, keep, fc, NULL, NULL, 0, &err), &err, "validation forecast");
        score_mse(task, KDTS_PART_VAL, fc, &sv);
        if (is_grid) {
            grid_rec *g = add_grid(e);
            ex_copy(g->series, sizeof g->series, so->name);
            g->mode = mc.mode;
            g->alpha = alpha;
            g->beta = beta;
            g->temp = it->kind == RUN_GRID_DIST ? temp : 1;
            g->val_mse = sv.mse;
            if (sv.mse < st->grid_best) st->grid_best = sv.mse, st->grid_best_i = e->ngrid - 1;
            fprintf(stderr, "  [%s] %s alpha %.2g beta %.2g T %.2g: val %.5f\n", so->name, ki->id, alpha, beta, temp,
                    sv.mse);
            if (it->grid_last) {
                grid_rec *b = &e->grid[st->grid_best_i];
                b->chosen = 1;
                if (it->kind == RUN_GRID) st->alpha = (float)b->alpha, st->beta = (float)b->beta;
                else st->temp = (float)b->temp;
                fprintf(stderr, "[%s] chosen alpha %.2f beta %.2f T %.2g (val MSE %.5f)\n", so->name,
                        (double)st->alpha, (double)st->beta, (double)st->temp, st->grid_best);
                st->grid_best = DBL_MAX;
            }
        } else {
            /* test: the deployment path, through a saved model */
            kdts_model model;
            kdts_model_meta meta;
            memset(&meta, 0, sizeof meta);
            kdts_model_meta_from_training(&meta, &tc, &rep, !soft ? 0 : ki->soft == SOFT_ENSEMBLE ? st->nteachers : 1);
            if (soft && ki->soft == SOFT_MX) {
                kdts_net_describe(&st->mxt[it->tk].cfg, meta.teacher, sizeof meta.teacher);
            } else if (soft) {
                snprintf(meta.teacher, sizeof meta.teacher, "%s", ki->soft == SOFT_TEACHER ? "teacher #1"
                                                                  : ki->soft == SOFT_ENSEMBLE ? "teacher ensemble"
                                                                  : ki->soft == SOFT_DIST ? "dist teacher" : "mid student");
            }
            check(kdts_task_model(task, keep, &meta, &model, &err), &err, "model");
            if (dist && lo) {
                check(kdts_task_forecast_model(task, KDTS_PART_TEST, &model, fc, lo, hi, o->coverage, &err), &err,
                      "test forecast");
            } else {
                check(kdts_task_forecast_model(task, KDTS_PART_TEST, &model, fc, NULL, NULL, 0, &err), &err,
                      "test forecast");
            }
            score_mse(task, KDTS_PART_TEST, fc, &stt);
            rec->layers = mc.layers;
            rec->hidden = mc.hidden;
            rec->mode = mc.mode;
            rec->bins = dist ? o->bins : 0;
            rec->hard_last = tc.hard_last_only;
            rec->alpha = soft ? alpha : 0.0;
            rec->beta = soft ? beta : 0.0;
            rec->temp = soft && dist ? temp : 1.0;
            rec->mse_n = stt.mse, rec->mae_n = stt.mae, rec->mse_o = stt.mse_orig, rec->mae_o = stt.mae_orig;
            rec->val_mse = sv.mse;
            rec->params = (double)keep->nparams;
            kdts_net_describe(&keep->cfg, rec->arch, sizeof rec->arch);
            rec->flops = kdts_net_forecast_flops(&keep->cfg, so->lookback);
            rec->train_s = now_seconds() - t0;
            rec->epochs_run = rep.epochs_run;
            rec->best_epoch = rep.best_epoch;
            rec->epochs_plan = rep.epochs;
            rec->patience_plan = rep.patience;
            rec->steps = rep.steps;
            rec->lat_us = latency_us(st, task, &model);
            if (!o->no_models) {
                char dir[600];
                snprintf(dir, sizeof dir, "%s/models/%s", o->out, so->name);
                make_dirs(dir);
                if (it->table == TAB_MATRIX)
                    snprintf(rec->model_file, sizeof rec->model_file, "%s/%s-%s%s%s-seed%llu.kdts", dir, ki->id,
                             it->kind == RUN_MX_TEACHER ? MX_TEACHERS[it->tk].id : MX_STUDENTS[it->sk].id,
                             it->kind == RUN_MX_KD ? "-from-" : "", it->kind == RUN_MX_KD ? MX_TEACHERS[it->tk].id : "",
                             it->seed);
                else if (it->table == TAB_SWEEP || it->kind == RUN_MID)
                    snprintf(rec->model_file, sizeof rec->model_file, "%s/%s-1x%d-seed%llu.kdts", dir, ki->id,
                             mc.hidden, it->seed);
                else
                    snprintf(rec->model_file, sizeof rec->model_file, "%s/%s-seed%llu.kdts", dir, ki->id, it->seed);
                check(kdts_model_save_file(&model, rec->model_file, &err), &err, "save");
            }
            /* the forecast picture */
            if (it->first && it->table == TAB_MAIN) {
                if (it->kind == RUN_TEACHER) keep_slice(st, st->sp.teacher, NULL, NULL, fc, NULL, NULL);
                if (it->kind == RUN_RAW) keep_slice(st, st->sp.raw, NULL, NULL, fc, NULL, NULL);
                if (it->kind == RUN_KD) keep_slice(st, st->sp.kd, NULL, NULL, fc, NULL, NULL);
                if (it->kind == RUN_KD_DIST && lo) {
                    keep_slice(st, st->sp.dist, st->sp.dist_lo, st->sp.dist_hi, fc, lo, hi);
                    st->sp.have_dist = 1;
                }
            }
            if (it->kind == RUN_TEACHER) st->tmodels[it->teacher] = model;
            else kdts_model_free(&model);
            fprintf(stderr, "  [%s] %-26s seed %-3llu done: val %.5f test %.5f  (%.1fs)\n", so->name, label, it->seed,
                    sv.mse, stt.mse, rec->train_s);
        }
        if (keep == &net) kdts_net_free(&net);
        if (it->kind == RUN_TEACHER) st->nteachers = it->teacher + 1;
        if (it->kind == RUN_TEACHER_DIST) st->have_tdist = 1;
        if (it->kind == RUN_MID) st->have_mid = 1;
        if (it->kind == RUN_MX_TEACHER) st->have_mxt[it->tk] = 1;
    }
    free(lo);
    free(hi);
    free(fc);
}

/* ---- one series: set up, then its items ---------------------------------------------------- */

static void series_begin(series_state *st, const options *o)
{
    series_out *so = st->so;
    const kdts_task *t = &st->task;
    int k, j, H = so->horizon;
    long n;
    st->grid_best = DBL_MAX;
    st->nslice = o->slice_windows;
    while (st->nslice > 1 && (long)st->nslice * H > t->win[KDTS_PART_TEST].n) st->nslice--;
    memset(&st->sp, 0, sizeof st->sp);
    st->sp.n = st->nslice * H;
    st->sp.actual = (double *)ex_malloc((size_t)st->sp.n * sizeof(double));
    st->sp.teacher = (double *)ex_malloc((size_t)st->sp.n * sizeof(double));
    st->sp.raw = (double *)ex_malloc((size_t)st->sp.n * sizeof(double));
    st->sp.kd = (double *)ex_malloc((size_t)st->sp.n * sizeof(double));
    st->sp.dist = (double *)ex_malloc((size_t)st->sp.n * sizeof(double));
    st->sp.dist_lo = (double *)ex_malloc((size_t)st->sp.n * sizeof(double));
    st->sp.dist_hi = (double *)ex_malloc((size_t)st->sp.n * sizeof(double));
    for (k = 0; k < st->nslice; ++k)
        for (j = 0; j < H; ++j) {
            n = (long)k * H;
            st->sp.actual[k * H + j] = t->table.col[t->target[0]][t->win[KDTS_PART_TEST].start[n] + so->lookback + j];
        }
}

static void series_end(experiment *e, series_state *st)
{
    const options *o = &e->o;
    series_out *so = st->so;
    char path[1024];
    int k, q, sweep_seeds = o->full ? o->seeds : 1;
    double raw[MAX_LIST], kd[MAX_LIST], rsd[MAX_LIST], ksd[MAX_LIST];
    const kdts_task *t = &st->task;
    so->chosen_alpha = st->alpha;
    so->chosen_beta = st->beta;
    so->chosen_temp = st->temp;
    for (k = 0; k < 8; ++k)
        if (st->have_mxt[k]) kdts_net_free(&st->mxt[k]), st->have_mxt[k] = 0;
    if (o->matrix) {
        snprintf(so->setup, sizeof so->setup,
                 "target %s, inputs: %s; %s; z-score fit on the training rows; windows of %d steps relative to their "
                 "last value, %d-step forecast; training windows every %d rows (%ld), validation %ld, test %ld; "
                 "teachers %d epochs (seed %llu), Adam lr %g, patience %d; students %d epochs, Adam lr %g, patience "
                 "%d; batch %d, best validation weights",
                 so->target, so->features ? so->features : so->target, so->split, so->lookback, so->horizon,
                 so->stride, so->ntrain, so->nval, so->ntest, so->epochs, o->seed + 100, (double)o->lr, o->patience,
                 so->s_epochs, (double)o->s_lr, o->s_patience, o->batch);
        goto release;
    }
    for (q = 0; q < so->nsweep; ++q) {
        sweep_stat s = sweep_stats(e, so->name, (int)so->sweep_sizes[q], o->seed, sweep_seeds);
        raw[q] = s.raw[0];
        rsd[q] = s.raw[1];
        kd[q] = s.kd[0];
        ksd[q] = s.kd[1];
    }
    snprintf(path, sizeof path, "%s/%s_size.svg", o->out, so->name);
    plot_size(so->name, so->sweep_sizes, so->nsweep, raw, kd, rsd, ksd, kind_mean_mse(e, so->name, RUN_TEACHER),
              kind_mean_mse(e, so->name, RUN_PERSISTENCE), path, sweep_seeds);
    snprintf(path, sizeof path, "%s/%s_learning.svg", o->out, so->name);
    plot_learning(e, so->name, path);
    snprintf(path, sizeof path, "%s/%s_forecast.svg", o->out, so->name);
    plot_forecast(so, &st->sp, path, o->coverage);
    snprintf(so->setup, sizeof so->setup,
             "target %s, inputs: %s; %s; z-score fit on the training rows; windows of %d steps normalized relative "
             "to their last observed value; %d-step direct forecast at every step (hard loss on every step); "
             "training windows every %d rows (%ld), validation %ld and test %ld windows (every row); seasonal "
             "naive with period %d (%s); NLinear and DLinear fit in closed form on the training windows with the "
             "ridge lambda chosen on the validation windows; %s; teacher %dx%d, %d epochs, Adam lr %g, patience %d; students 1x%d, %d epochs; "
             "mid 1x%d; students (raw and KD alike) Adam lr %g, patience %d; batch %d; best-validation weights; "
             "distribution mode: %d bins over [%.3f, %.3f] "
             "(1%%-99%% quantiles of the training targets, widened 10%%), dist teacher with the hard loss on every "
             "step, dist students on the %s",
             so->target, so->features ? so->features : so->target, so->split, so->lookback, so->horizon, so->stride,
             so->ntrain, so->nval, so->ntest, t->season, so->season > 0 ? "given" : "detected on the training rows",
             o->no_skip ? "point models without a skip map (--no-skip)"
                        : "every point model (LSTM) carries a linear skip map started at the closed-form NLinear fit, "
                          "its network head at zero, the start validated too (so the best weights kept are never worse "
                          "on validation than the linear start)",
             o->t_layers, o->t_hidden, so->epochs, (double)o->lr, o->patience, o->s_hidden, so->s_epochs,
             o->m_hidden, (double)o->s_lr, o->s_patience, o->batch, o->bins, (double)t->bin_lo,
             (double)t->bin_hi, o->dist_hard_all ? "every step" : "last step only");
    {
        /* the training budget and the plan it made (first teacher, first raw student) */
        const run_rec *rt = NULL, *rs = NULL;
        size_t n = strlen(so->setup);
        for (k = 0; k < e->nruns; ++k) {
            const run_rec *r = &e->runs[k];
            if (strcmp(r->series, so->name) || r->table != TAB_MAIN) continue;
            if (!rt && r->kind == RUN_TEACHER) rt = r;
            if (!rs && r->kind == RUN_RAW) rs = r;
        }
        if (o->budget_steps > 0 || o->s_budget_steps > 0)
            n += (size_t)snprintf(so->setup + n, sizeof so->setup - n,
                                  "; training budget: at least %lld optimizer steps per teacher run (the rule of "
                                  "`kdts train`, kdts_train_min_steps) and %lld per student run (the rule of `kdts "
                                  "distill`, kdts_student_min_steps), epochs and patience raised by one factor",
                                  o->budget_steps, o->s_budget_steps);
        else
            n += (size_t)snprintf(so->setup + n, sizeof so->setup - n,
                                  "; training budget: the epochs as given (no minimum of steps: --epochs given)");
        if (rt && n < sizeof so->setup)
            n += (size_t)snprintf(so->setup + n, sizeof so->setup - n,
                                  "; teacher planned %d epochs (asked %d), patience %d, ran %d epochs / %lld steps",
                                  rt->epochs_plan, so->epochs, rt->patience_plan, rt->epochs_run, rt->steps);
        if (rs && n < sizeof so->setup)
            n += (size_t)snprintf(so->setup + n, sizeof so->setup - n,
                                  "; students planned %d epochs (asked %d), patience %d (raw student seed %d: ran %d "
                                  "epochs / %lld steps)",
                                  rs->epochs_plan, so->s_epochs, rs->patience_plan, rs->seed, rs->epochs_run, rs->steps);
        if (so->mv && n < sizeof so->setup)
            snprintf(so->setup + n, sizeof so->setup - n,
                     "; multivariate teacher: inputs %s and the target, each column z-scored on the training rows "
                     "and relative to its last value, the skip map over every input",
                     so->mv_features);
    }
    {
        static const run_kind base[4] = {RUN_PERSISTENCE, RUN_SEASONAL, RUN_NLINEAR, RUN_DLINEAR};
        double te = kind_mean_mse(e, so->name, RUN_TEACHER), best = 0;
        int b, bi = 0;
        for (b = 0; b < 4; ++b) {
            double v = kind_mean_mse(e, so->name, base[b]);
            if (v > 0 && (best == 0 || v < best)) best = v, bi = b;
        }
        if (te >= best)
            note(e, "- %s: the teacher (%.4f) does not beat the best baseline, %s (%.4f): it is not a useful "
                    "teacher with these settings.\n",
                 so->name, te, RUN_INFO[base[bi]].label, best);
    }
release:
    for (k = 0; k < st->nteachers; ++k) {
        kdts_net_free(&st->teachers[k]);
        kdts_model_free(&st->tmodels[k]);
    }
    if (st->have_tdist) kdts_net_free(&st->tdist);
    if (st->have_mid) kdts_net_free(&st->mid);
    for (k = 0; k < st->nsoft; ++k) {
        free(st->soft[k].tv);
        free(st->soft[k].tp);
    }
    free(st->sp.actual);
    free(st->sp.teacher);
    free(st->sp.raw);
    free(st->sp.kd);
    free(st->sp.dist);
    free(st->sp.dist_lo);
    free(st->sp.dist_hi);
    kdts_task_free(&st->task);
    if (st->have_task_mv) kdts_task_free(&st->task_mv), st->have_task_mv = 0;
}

int main(int argc, char **argv)
{
    static experiment e;
    static series_out outs[MAX_SERIES];
    static series_state states[MAX_SERIES];
    plan p;
    progress pg;
    int ns, i;
    double t0 = now_seconds(), t_series = t0;
    memset(&e, 0, sizeof e);
    memset(&p, 0, sizeof p);
    memset(&pg, 0, sizeof pg);
    defaults(&e.o);
    parse_args(&e.o, argc, argv);
    e.argc = argc;
    e.argv = argv;
    make_dirs(e.o.out);
    ns = make_series(&e, outs);
    fprintf(stderr, "distill_experiment: SIMD %s, output %s/\n", kdts_simd_name(), e.o.out);
    if (e.o.budget_steps > 0 || e.o.s_budget_steps > 0)
        fprintf(stderr, "distill_experiment: training budget: at least %lld optimizer steps per teacher run (the rule "
                        "of `kdts train`) and %lld per student run (`kdts distill`), epochs and patience raised by "
                        "one factor where %d / %d epochs fall short\n",
                e.o.budget_steps, e.o.s_budget_steps, e.o.epochs, e.o.s_epochs);
    else
        fprintf(stderr, "distill_experiment: training budget: %d / %d epochs as given (no minimum of steps)\n",
                e.o.epochs, e.o.s_epochs);
    for (i = 0; i < ns; ++i) {
        states[i].so = &outs[i];
        open_series(&states[i], &e.o);
        fprintf(stderr, "[%s] %ld rows; %s; windows train %ld (stride %d), val %ld, test %ld; bins [%.3f, %.3f]\n",
                outs[i].name, states[i].task.rows, outs[i].split, outs[i].ntrain, outs[i].stride, outs[i].nval,
                outs[i].ntest, (double)states[i].task.bin_lo, (double)states[i].task.bin_hi);
        plan_series(&p, &e, i, &states[i]);
    }
    for (i = 0; i < p.n; ++i) {
        pg.total_cost += p.it[i].cost;
        pg.runs += p.it[i].cost > 0;
    }
    pg.t_start = t0;
    fprintf(stderr, "distill_experiment: %d training runs planned\n", pg.runs);
    for (i = 0; i < p.n; ++i) {
        plan_item *it = &p.it[i];
        series_state *st = &states[it->series];
        if (i == 0 || p.it[i - 1].series != it->series) {
            series_begin(st, &e.o);
            t_series = now_seconds();
        }
        if (it->cost > 0) pg.run++;
        pg.cur_cost = it->cost;
        run_item(&e, st, it, &pg);
        pg.done_cost += it->cost;
        if (i == p.n - 1 || p.it[i + 1].series != it->series) {
            st->so->seconds = now_seconds() - t_series;
            series_end(&e, st);
            fprintf(stderr, "[%s] done in %.1f s\n", st->so->name, st->so->seconds);
        }
    }
    write_csv(&e, e.o.out);
    if (e.o.matrix) {
        write_matrix(&e, outs, ns, now_seconds() - t0);
        printf("\nwrote %s/matrix.md, results.csv, models/ and SVG pictures in %.1f s\n", e.o.out, now_seconds() - t0);
    } else {
        write_report(&e, outs, ns, now_seconds() - t0);
        print_summary(&e, outs, ns);
        printf("\nwrote %s/results.md, results.csv, grid.csv, models/ and SVG pictures in %.1f s\n", e.o.out,
               now_seconds() - t0);
    }
    free(p.it);
    free(e.runs);
    free(e.grid);
    free(e.curves);
    return 0;
}
