/* experiment.h - what the three files of the distillation experiment share:
     distill_experiment.c  options, the plan of runs (a table keyed by
                           run_kind), running them on the task layer, main;
     experiment_report.c   aggregation, results.md / results.csv / grid.csv,
                           the claims and the summary on stdout;
     experiment_svg.c      the SVG pictures (learning curves, forecast vs.
                           actual, accuracy vs. student size).
   kdts.h's implementation is in distill_experiment.c. */
#ifndef EXPERIMENT_H
#define EXPERIMENT_H

#include "kdts.h"
#include <stdio.h>

#define MAX_LIST 16
#define MAX_SEEDS 32
#define MAX_TEACHERS 8
#define MAX_EPOCHS 512
#define MAX_SERIES 4

/* ---- the kinds of run (rows of the tables) ------------------------------- */

typedef enum run_kind {
    RUN_PERSISTENCE,      /* baseline: the last value                        */
    RUN_SEASONAL,         /* baseline: the value one season earlier          */
    RUN_NLINEAR,          /* baseline: closed-form NLinear (ridge, lambda on
                             validation)                                     */
    RUN_DLINEAR,          /* baseline: closed-form DLinear                   */
    RUN_TEACHER,          /* the point teachers (several seeds)             */
    RUN_TEACHER_ENSEMBLE, /* their averaged forecast (not trained)           */
    RUN_TEACHER_DIST,     /* the distribution-mode teacher                   */
    RUN_MID,              /* the mid-size student of progressive distillation */
    RUN_RAW,              /* student on hard labels                          */
    RUN_RAW_LAST,         /* control: hard loss on the last step only        */
    RUN_KD,               /* student distilled from teacher 1                */
    RUN_KD_ALPHA_ONLY,    /* ablation: beta = 0                              */
    RUN_KD_BETA_ONLY,     /* ablation: alpha = 0                             */
    RUN_RAW_DIST,         /* distribution-mode student on hard labels        */
    RUN_KD_DIST,          /* distribution-mode student from the dist teacher */
    RUN_KD_ENSEMBLE,      /* student distilled from the teachers' average    */
    RUN_KD_INCREMENTAL,   /* alpha warm-up                                   */
    RUN_KD_PROGRESSIVE,   /* teacher -> mid -> student                       */
    RUN_GRID,             /* a point of the alpha x beta grid (validation)   */
    RUN_GRID_DIST,        /* a point of the temperature grid (validation)    */
    RUN_MX_TEACHER,       /* --matrix: a teacher of one kind                 */
    RUN_MX_RAW,           /* --matrix: a student of one kind, hard labels    */
    RUN_MX_KD,            /* --matrix: that student distilled from a teacher */
    RUN_TEACHER_MV,       /* --multivariate: the teacher on every column    */
    RUN_KD_T_HW,          /* --techniques: KD + one option of kdts_train_config */
    RUN_KD_T_SEQ,
    RUN_KD_T_MS,
    RUN_KD_T_MSALL,
    RUN_KD_T_FREQ,
    RUN_KD_T_JIT,
    RUN_KD_T_AMP,
    RUN_KD_T_MIX,
    RUN_KD_COMBO,         /* the techniques that helped on validation, together */
    RUN_KINDS
} run_kind;

/* Which network size a kind trains. */
enum { SIZE_NONE, SIZE_TEACHER, SIZE_STUDENT, SIZE_MID };
/* Where its soft targets come from. */
enum { SOFT_NONE, SOFT_TEACHER, SOFT_ENSEMBLE, SOFT_DIST, SOFT_MID, SOFT_MX /* + teacher kind index */ };
/* Which distillation weights it uses. */
enum { W_NONE, W_CHOSEN, W_ALPHA_ONLY, W_BETA_ONLY, W_GRID };

typedef struct run_kind_info {
    const char *id;    /* results.csv "model" column, model file names    */
    const char *label; /* row of the main table                          */
    int size, dist, soft, weights;
    int hard_last;     /* 1: hard loss on the last step only; 2: the dist
                          students' rule (last step unless --dist-hard-all) */
    int warmup;        /* 1: alpha warm-up of --warmup epochs            */
    int tech;          /* --techniques: TECH_* bits on top of KD         */
} run_kind_info;

/* The distillation techniques of --techniques (options of kdts_train_config). */
enum {
    TECH_HW = 1,     /* horizon_weight 1: later horizon steps weighted up     */
    TECH_SEQ = 2,    /* soft targets on every step: beta (0.5 if the chosen is 0),
                        step_weight 1                                          */
    TECH_MS = 4,     /* ms_weight 1: the forecast and its 2-, 4-, 8-step means */
    TECH_AUX = 8,    /* aux_steps 1: L_ms / L_freq on every step              */
    TECH_FREQ = 16,  /* freq_weight 1: DFT magnitudes, KL teacher || student  */
    TECH_JIT = 32,   /* one teacher-labelled extra window per window, jitter 0.1 */
    TECH_AMP = 64,   /* ... scaled by 1 +- 0.1                                */
    TECH_MIX = 128   /* ... mixed up with another window (lambda <= 0.5)      */
};
#define TECH_FIRST RUN_KD_T_HW
#define TECH_LAST RUN_KD_T_MIX

extern const run_kind_info RUN_INFO[RUN_KINDS];

/* ---- options --------------------------------------------------------------- */

typedef struct options {
    const char *csv, *target, *features, *out, *split, *data_dir;
    long max_rows;
    int lookback, horizon, stride, season;
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
    int no_models, matrix, matrix_skip, no_skip;
    long long min_steps;    /* --min-steps, -1 = not given                  */
    long long budget_steps; /* the rule's min_steps (kdts_train_min_steps)   */
    float s_lr;             /* students' Adam lr [KDTS_STUDENT_LR]           */
    int s_patience;         /* students' patience [0: every epoch, best kept] */
    long long s_min_steps;  /* --student-min-steps, -1 = not given           */
    long long s_budget_steps; /* the students' (kdts_student_min_steps)      */
    int epochs_set;         /* --epochs or --student-epochs given            */
    int techniques, multivariate, dist;
    const char *mv_features;
} options;

/* ---- records ----------------------------------------------------------------- */

enum { TAB_MAIN = 0, TAB_SWEEP = 1, TAB_MATRIX = 2 };

typedef struct run_rec {
    char series[48];
    run_kind kind;
    int seed, layers, hidden, mode, bins, table, hard_last;
    double alpha, beta, temp;
    double mse_n, mae_n, mse_o, mae_o, val_mse;
    double params, flops, lat_us, train_s;
    int epochs_run, best_epoch;
    int epochs_plan, patience_plan; /* as planned (kdts_train_report)     */
    long long steps;                /* optimizer steps taken             */
    int tech;                       /* TECH_* bits (--techniques)        */
    char model_file[768]; /* the saved model ("" for baselines) */
    char arch[80];        /* kdts_net_describe of the model ("" for baselines) */
    int tk, sk;           /* --matrix: teacher and student kind index (-1: none) */
} run_rec;

typedef struct grid_rec {
    char series[48];
    int mode;
    double alpha, beta, temp, val_mse;
    int chosen;
} grid_rec;

typedef struct curve {
    char series[48], label[64];
    int n;
    double loss[MAX_EPOCHS], val[MAX_EPOCHS];
} curve;

/* What the forecast picture needs: a slice of the test split in original units. */
typedef struct slice_pic {
    int n; /* steps shown = windows * horizon */
    double *actual, *teacher, *raw, *kd, *dist, *dist_lo, *dist_hi;
    int have_dist;
} slice_pic;

/* One series' settings and, after the run, its summary. */
typedef struct series_out {
    char name[48], path[512], target[64], split[160], setup[2560];
    const char *features, *split_rule;
    long max_rows;
    int lookback, horizon, stride, epochs, s_epochs, season;
    double sweep_sizes[MAX_LIST];
    int nsweep;
    double chosen_alpha, chosen_beta, chosen_temp;
    int combo;        /* TECH_* bits of the combination chosen on validation */
    int mv;           /* the multivariate teacher runs on this series      */
    char mv_features[256];
    int grid_alpha, grid_beta, grid_temp;
    double seconds;
    long ntrain, nval, ntest;
} series_out;

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

/* ---- shared helpers (distill_experiment.c) ------------------------------------ */

void ex_die(const char *fmt, ...);
void *ex_malloc(size_t n);
void ex_copy(char *dst, size_t cap, const char *src);
double ex_mean(const double *v, int n);
double ex_std(const double *v, int n); /* sample std (n-1); 0 for n < 2 */
/* The settings of TECH_* bits in words ("none" for 0). */
void tech_describe(int bits, char *buf, size_t cap);

/* ---- report (experiment_report.c) -------------------------------------------- */

void write_csv(const experiment *e, const char *dir);
void write_report(const experiment *e, const series_out *so, int nseries, double total_s);
/* --matrix: matrix.md (teacher kind x student kind) and matrix_<series>.svg. */
void write_matrix(const experiment *e, const series_out *so, int nseries, double total_s);
void print_summary(const experiment *e, const series_out *so, int nseries);
/* Mean test MSE (normalized) and its std of the sweep runs of size h. */
typedef struct sweep_stat {
    double raw[2], kd[2], diff[2], params, flops;
    int nraw, nkd, npair, wins;
} sweep_stat;
sweep_stat sweep_stats(const experiment *e, const char *series, int h, unsigned long long seed0, int nseeds);
/* Mean test MSE (normalized) of the runs of a kind (any size), 0 if none. */
double kind_mean_mse(const experiment *e, const char *series, run_kind kind);

/* ---- pictures (experiment_svg.c) ------------------------------------------------ */

void plot_learning(const experiment *e, const char *series, const char *path);
void plot_forecast(const series_out *s, const slice_pic *sp, const char *path, double coverage);
/* Accuracy against cost: test MSE against FLOPs per forecast (log scale)
   and against measured latency, one marker per model, labelled. */
void plot_cost(const char *series, int n, const char *const *labels, const double *flops, const double *lat_us,
               const double *mse, const int *group, double best_baseline, const char *baseline_name, const char *path);
void plot_size(const char *series, const double *sizes, int ns, const double *raw, const double *kd,
               const double *raw_sd, const double *kd_sd, double teacher, double persist, const char *path,
               int nseeds);

#endif
