/* test_experiment.c - runs examples/distill_experiment.c in --quick mode and
   checks what it writes: the files exist and parse, every number in
   results.csv is finite, the persistence and seasonal-naive rows match an
   independent calculation made here, the saved models open with `kdts info`
   and give the reported test error through `kdts eval`, and a second run
   with the same seed gives the same numbers. With --techniques and
   --multivariate (quick form): the training plan of every run follows the
   budget rule of `kdts train` (recomputed here; with --epochs given, no
   minimum), every technique row is there, the combination is the one the
   validation numbers select, and the multivariate teacher's verdict. Run from the repo root after
   `make` (make test builds it). */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXE "build/distill_experiment"
#define OUT "results-quick"
#define OUT2 "results-quick/rerun"

/* The --quick settings (see distill_experiment --help). */
#define Q_ROWS 2000
#define Q_LOOKBACK 24
#define Q_HORIZON 6
#define Q_STRIDE 2
#define Q_BATCH 32
#define Q_EPOCHS 2
#define Q_PATIENCE 3
#define Q_MIN_STEPS 60
#define FLAGS " --techniques --multivariate"

#define MAX_ROWS 512
#define MAX_COLS 32

typedef struct csv_doc {
    int rows, cols;
    char head[MAX_COLS][48];
    char cell[MAX_ROWS][MAX_COLS][48];
} csv_doc;

/* A small CSV reader for the files the experiment writes (no quoting). */
static int read_csv(const char *path, csv_doc *d)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int r = -1;
    memset(d, 0, sizeof *d);
    if (!f) return 0;
    while (fgets(line, sizeof line, f) && r < MAX_ROWS) {
        char *p = line, *tok;
        int c = 0;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        while ((tok = p) != NULL && c < MAX_COLS) {
            char *comma = strchr(p, ',');
            if (comma) *comma = 0;
            if (r < 0) snprintf(d->head[c], sizeof d->head[c], "%.*s", (int)sizeof d->head[c] - 1, tok);
            else snprintf(d->cell[r][c], sizeof d->cell[r][c], "%.*s", (int)sizeof d->cell[r][c] - 1, tok);
            c++;
            p = comma ? comma + 1 : NULL;
            if (!p) break;
        }
        if (r < 0) d->cols = c;
        else if (c != d->cols) {
            fclose(f);
            return -1 - r; /* short or long row */
        }
        r++;
    }
    fclose(f);
    d->rows = r < 0 ? 0 : r;
    return 1;
}

static int col_of(const csv_doc *d, const char *name)
{
    int c;
    for (c = 0; c < d->cols; ++c)
        if (!strcmp(d->head[c], name)) return c;
    return -1;
}

static int parse_num(const char *s, double *v)
{
    char *end;
    if (!*s) return 0;
    *v = strtod(s, &end);
    return *end == 0;
}

static int starts_with_svg(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[8] = {0};
    size_t n;
    int ok;
    if (!f) return 0;
    n = fread(buf, 1, 4, f);
    ok = n == 4 && !memcmp(buf, "<svg", 4);
    fseek(f, 0, SEEK_END);
    ok = ok && ftell(f) > 500;
    fclose(f);
    return ok;
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "r");
    long n;
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

/* Persistence MSE computed here, independently of the experiment's code:
   z-score (population std) of OT fit on the training rows, ratio split
   0.6/0.2/0.2 of the first Q_ROWS rows, every window of the test split. */
static int independent_persistence(double *mse_norm, double *mse_orig)
{
    kdts_table t;
    kdts_error err;
    kdts_csv_config cc = kdts_csv_config_default();
    const char *cols[1] = {"OT"};
    long ntr, nva, nte, tb, te, s, i;
    double mean = 0, var = 0, sd, se = 0, seo = 0;
    long cnt = 0;
    const float *x;
    cc.columns = cols;
    cc.n_columns = 1;
    if (kdts_csv_read_file(&t, "data/ETTh1.csv", &cc, &err) != KDTS_OK) return 0;
    if (t.rows < Q_ROWS) {
        kdts_table_free(&t);
        return 0;
    }
    x = t.col[0];
    ntr = (long)(Q_ROWS * 0.6);
    nva = (long)(Q_ROWS * 0.2);
    nte = (long)(Q_ROWS * 0.2);
    for (i = 0; i < ntr; ++i) mean += x[i];
    mean /= ntr;
    for (i = 0; i < ntr; ++i) var += (x[i] - mean) * (x[i] - mean);
    sd = sqrt(var / ntr);
    tb = ntr + nva;
    te = tb + nte;
    for (s = tb; s + Q_LOOKBACK + Q_HORIZON <= te; ++s) {
        double last = x[s + Q_LOOKBACK - 1];
        int j;
        for (j = 0; j < Q_HORIZON; ++j) {
            double y = x[s + Q_LOOKBACK + j], eo = y - last, en = eo / sd;
            se += en * en;
            seo += eo * eo;
            cnt++;
        }
    }
    kdts_table_free(&t);
    *mse_norm = se / cnt;
    *mse_orig = seo / cnt;
    return cnt > 0;
}

/* Seasonal naive (period 24) MSE, normalized, computed here. */
static int independent_seasonal(double *mse_norm)
{
    kdts_table t;
    kdts_csv_config cc = kdts_csv_config_default();
    const char *cols[1] = {"OT"};
    long ntr, tb, te, s, i, cnt = 0;
    double mean = 0, var = 0, sd, se = 0;
    const float *x;
    cc.columns = cols;
    cc.n_columns = 1;
    if (kdts_csv_read_file(&t, "data/ETTh1.csv", &cc, NULL) != KDTS_OK) return 0;
    x = t.col[0];
    ntr = (long)(Q_ROWS * 0.6);
    for (i = 0; i < ntr; ++i) mean += x[i];
    mean /= ntr;
    for (i = 0; i < ntr; ++i) var += (x[i] - mean) * (x[i] - mean);
    sd = sqrt(var / ntr);
    tb = ntr + (long)(Q_ROWS * 0.2);
    te = tb + (long)(Q_ROWS * 0.2);
    for (s = tb; s + Q_LOOKBACK + Q_HORIZON <= te; ++s) {
        int j;
        for (j = 0; j < Q_HORIZON; ++j) {
            double y = x[s + Q_LOOKBACK + j], p = x[s + Q_LOOKBACK + j - 24], en = (p - y) / sd;
            se += en * en;
            cnt++;
        }
    }
    kdts_table_free(&t);
    *mse_norm = se / cnt;
    return cnt > 0;
}

int main(void)
{
    static csv_doc res, grid, res2;
    int rc, r, c, bad = 0, persist_row = -1, models = 0;
    int c_model, c_mse, c_mseo, c_seed, c_series, c_mode, c_table, seasonal_row = -1, kd_row = -1;
    double ind_n = 0, ind_o = 0;
    const char *svgs[3] = {OUT "/ETTh1_learning.svg", OUT "/ETTh1_forecast.svg", OUT "/ETTh1_size.svg"};

    rc = system(EXE " --quick" FLAGS " --out " OUT " > " OUT ".log 2>&1");
    KT_CHECK(rc == 0, "%s --quick failed (status %d); see %s.log", EXE, rc, OUT);
    remove(OUT ".log");

    KT_CHECK(file_size(OUT "/results.md") > 1000, "results.md missing or short");
    for (r = 0; r < 3; ++r) KT_CHECK(starts_with_svg(svgs[r]), "%s missing or not an SVG", svgs[r]);

    rc = read_csv(OUT "/results.csv", &res);
    KT_CHECK(rc == 1, "results.csv unreadable or ragged (%d)", rc);
    KT_CHECK(res.rows >= 10, "results.csv has %d rows", res.rows);
    c_series = col_of(&res, "series");
    c_model = col_of(&res, "model");
    c_mode = col_of(&res, "mode");
    c_seed = col_of(&res, "seed");
    c_mse = col_of(&res, "test_mse_norm");
    c_mseo = col_of(&res, "test_mse_orig");
    c_table = col_of(&res, "table");
    KT_CHECK(c_series == 0 && c_model == 1 && c_mode > 1 && c_seed > 1 && c_mse > 1 && c_mseo > 1,
             "results.csv header lacks expected columns");
    KT_CHECK(col_of(&res, "val_mse_norm") > 0 && col_of(&res, "params") > 0 && col_of(&res, "flops") > 0 &&
                 col_of(&res, "latency_us") > 0 && col_of(&res, "train_seconds") > 0 && col_of(&res, "alpha") > 0 &&
                 col_of(&res, "beta") > 0 && col_of(&res, "T") > 0 && col_of(&res, "test_mae_norm") > 0 &&
                 col_of(&res, "test_mae_orig") > 0 && col_of(&res, "hidden") > 0,
             "results.csv header lacks expected columns");
    if (c_mse < 0 || c_mseo < 0 || c_model < 0) return kt_done();
    for (r = 0; r < res.rows; ++r) {
        for (c = 0; c < res.cols; ++c) {
            double v;
            if (c == c_series || c == c_model || c == c_mode || c == c_table || !strcmp(res.head[c], "arch")) continue;
            if (!parse_num(res.cell[r][c], &v) || !isfinite(v)) {
                if (bad++ < 5) printf("results.csv row %d column %s: '%s' is not a finite number\n", r + 2, res.head[c],
                                      res.cell[r][c]);
            }
        }
        if (!strcmp(res.cell[r][c_model], "persistence")) persist_row = r;
        if (!strcmp(res.cell[r][c_model], "seasonal-naive")) seasonal_row = r;
        if (!strcmp(res.cell[r][c_model], "student-KD") && kd_row < 0) kd_row = r;
        if (!strcmp(res.cell[r][c_model], "teacher") || !strcmp(res.cell[r][c_model], "student-raw") ||
            !strcmp(res.cell[r][c_model], "student-KD") || !strcmp(res.cell[r][c_model], "student-KD-dist"))
            models++;
    }
    KT_CHECK(bad == 0, "%d non-finite or unparsable numbers in results.csv", bad);
    KT_CHECK(models >= 4, "teacher / student rows missing (%d found)", models);
    KT_CHECK(persist_row >= 0, "no persistence row");

    KT_CHECK(independent_persistence(&ind_n, &ind_o), "independent persistence calculation failed");
    if (persist_row >= 0) {
        double got_n = atof(res.cell[persist_row][c_mse]), got_o = atof(res.cell[persist_row][c_mseo]);
        KT_CHECK(fabs(got_n - ind_n) <= 1e-6 * fabs(ind_n), "persistence MSE (normalized) %.9g, independent %.9g",
                 got_n, ind_n);
        KT_CHECK(fabs(got_o - ind_o) <= 1e-5 * fabs(ind_o), "persistence MSE (original) %.9g, independent %.9g",
                 got_o, ind_o);
        KT_CHECK(ind_n > 0.01 && ind_n < 10, "implausible persistence MSE %g", ind_n);
    }

    KT_CHECK(seasonal_row >= 0, "no seasonal-naive row");
    KT_CHECK(c_table > 0 && kd_row >= 0 && !strcmp(res.cell[kd_row][c_table], "main"), "table column");
    if (seasonal_row >= 0) {
        double sn = 0;
        KT_CHECK(independent_seasonal(&sn), "independent seasonal calculation");
        KT_CHECK(fabs(atof(res.cell[seasonal_row][c_mse]) - sn) <= 1e-6 * sn, "seasonal naive MSE %s, independent %.9g",
                 res.cell[seasonal_row][c_mse], sn);
    }
    /* every reported model is saved; one opens and evaluates to the reported number */
    if (kd_row >= 0) {
        char cmd[512], line[512];
        FILE *p;
        double got = -1;
        snprintf(cmd, sizeof cmd, "build/kdts eval --model " OUT "/models/ETTh1/student-KD-seed%s.kdts --csv "
                                  "data/ETTh1.csv 2>&1", res.cell[kd_row][c_seed]);
        p = popen(cmd, "r");
        while (p && fgets(line, sizeof line, p))
            if (sscanf(line, "model %lf", &got) == 1) break;
        if (p) pclose(p);
        KT_CHECK(got > 0 && fabs(got - atof(res.cell[kd_row][c_mse])) <= 2e-5 * got + 1e-5,
                 "kdts eval of the saved KD student gives %g, results.csv %s", got, res.cell[kd_row][c_mse]);
    }

    rc = read_csv(OUT "/grid.csv", &grid);
    KT_CHECK(rc == 1 && grid.rows >= 2, "grid.csv unreadable or empty");
    {
        int cv = col_of(&grid, "val_mse_norm"), ch = col_of(&grid, "chosen"), chosen = 0;
        KT_CHECK(cv > 0 && ch > 0, "grid.csv header");
        for (r = 0; cv > 0 && ch > 0 && r < grid.rows; ++r) {
            double v;
            KT_CHECK(parse_num(grid.cell[r][cv], &v) && isfinite(v) && v > 0, "grid val MSE '%s'", grid.cell[r][cv]);
            chosen += atoi(grid.cell[r][ch]);
        }
        KT_CHECK(chosen >= 1, "no grid point marked as chosen");
    }

    /* the training budget (the rules of `kdts train` for the teachers and
       of `kdts distill` for the students, both at min_steps Q_MIN_STEPS in
       --quick): computed here from the --quick shapes: training windows of
       the first 60% of Q_ROWS rows every Q_STRIDE rows, Q_BATCH per step,
       epochs (and a teacher's patience) raised by ceil(min_steps / planned
       steps); students without early stop (patience 0); a pool doubled by
       one extra window per window */
    {
        long nwin = (long)(Q_ROWS * 0.6 - Q_LOOKBACK - Q_HORIZON) / Q_STRIDE + 1;
        int c_ep = col_of(&res, "epochs_planned"), c_pa = col_of(&res, "patience_planned"), c_st = col_of(&res, "steps");
        int c_er = col_of(&res, "epochs_run"), c_te = col_of(&res, "techniques"), checked = 0, wrong = 0;
        KT_CHECK(c_ep > 0 && c_pa > 0 && c_st > 0 && c_er > 0 && c_te > 0, "results.csv lacks the plan columns");
        for (r = 0; c_ep > 0 && c_pa > 0 && c_st > 0 && c_er > 0 && c_te > 0 && r < res.rows; ++r) {
            const char *m = res.cell[r][c_model];
            int extra = atoi(res.cell[r][c_te]) & (32 | 64 | 128);
            long batches = nwin * (extra ? 2 : 1) / Q_BATCH, planned = (long)Q_EPOCHS * batches;
            long f = planned < Q_MIN_STEPS ? (Q_MIN_STEPS + planned - 1) / planned : 1;
            long pa = strncmp(m, "teacher", 7) ? 0 : Q_PATIENCE * f;
            if (!strcmp(res.cell[r][c_table], "main") && (!strncmp(m, "student-", 8) || !strcmp(m, "teacher") ||
                                                         !strncmp(m, "KD-", 3) || !strcmp(m, "teacher-multivariate"))) {
                checked++;
                if (atol(res.cell[r][c_ep]) != Q_EPOCHS * f || atol(res.cell[r][c_pa]) != pa ||
                    (atoi(res.cell[r][c_er]) == Q_EPOCHS * f && atol(res.cell[r][c_st]) != Q_EPOCHS * f * batches)) {
                    if (wrong++ < 3)
                        printf("%s: planned %s epochs, patience %s, %s steps; want %ld, %ld, %ld\n", m,
                               res.cell[r][c_ep], res.cell[r][c_pa], res.cell[r][c_st], Q_EPOCHS * f, pa,
                               Q_EPOCHS * f * batches);
                }
            }
        }
        KT_CHECK(checked >= 10 && wrong == 0, "training plan: %d of %d rows differ from the rule", wrong, checked);
    }

    /* --techniques: every technique row, with its settings; the combination
       is the union of the techniques whose validation MSE is below plain
       KD's (recomputed here from results.csv: one seed) */
    {
        static const char *const tech[8] = {"KD-horizon-weight", "KD-every-step", "KD-multi-scale", "KD-multi-scale-all",
                                            "KD-freq", "KD-extra-jitter", "KD-extra-scale", "KD-extra-mixup"};
        static const int bits[8] = {1, 2, 4, 4 | 8, 16, 32, 64, 128};
        int c_te = col_of(&res, "techniques"), c_val = col_of(&res, "val_mse_norm"), found = 0, t, want = 0, got = -1;
        double kd_val = -1;
        for (r = 0; c_te > 0 && r < res.rows; ++r)
            if (!strcmp(res.cell[r][c_model], "student-KD") && !strcmp(res.cell[r][c_table], "main"))
                kd_val = atof(res.cell[r][c_val]);
        for (t = 0; c_te > 0 && t < 8; ++t)
            for (r = 0; r < res.rows; ++r)
                if (!strcmp(res.cell[r][c_model], tech[t])) {
                    found += atoi(res.cell[r][c_te]) == bits[t];
                    if (atof(res.cell[r][c_val]) < kd_val) want |= bits[t];
                    break;
                }
        for (r = 0; c_te > 0 && r < res.rows; ++r)
            if (!strcmp(res.cell[r][c_model], "KD-combination")) got = atoi(res.cell[r][c_te]);
        KT_CHECK(found == 8, "technique rows with their settings: %d of 8", found);
        KT_CHECK(kd_val > 0 && got == want, "the combination has techniques %d, validation says %d", got, want);
    }

    /* --multivariate: the teacher on every column, and the table's verdict
       against the univariate teachers on validation */
    {
        int c_val = col_of(&res, "val_mse_norm"), nt = 0, mv = -1;
        double tv = 0;
        char text[65536];
        FILE *f = fopen(OUT "/results.md", "r");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f) fclose(f);
        text[n] = 0;
        for (r = 0; r < res.rows; ++r) {
            if (!strcmp(res.cell[r][c_model], "teacher")) tv += atof(res.cell[r][c_val]), nt++;
            if (!strcmp(res.cell[r][c_model], "teacher-multivariate")) mv = r;
        }
        KT_CHECK(mv >= 0 && nt > 0, "multivariate teacher row");
        if (mv >= 0 && nt > 0) {
            const char *verdict = atof(res.cell[mv][c_val]) < tv / nt ? "univariate teacher on validation: **yes**"
                                                                       : "univariate teacher on validation: no";
            KT_CHECK(strstr(text, verdict) != NULL, "results.md lacks '%s'", verdict);
        }
        KT_CHECK(strstr(text, "### Distillation techniques") != NULL, "results.md lacks the techniques table");
    }

    /* --epochs given: no minimum of steps, the epochs as asked */
    {
        static csv_doc ep;
        int c_ep, bad_ep = 0, n_ep = 0;
        rc = system(EXE " --quick --no-dist --no-remedies --epochs 2 --student-epochs 2 --no-models --out " OUT
                        "/epochs > /dev/null 2>&1");
        KT_CHECK(rc == 0, "--quick --epochs 2 failed (%d)", rc);
        rc = read_csv(OUT "/epochs/results.csv", &ep);
        c_ep = col_of(&ep, "epochs_planned");
        for (r = 0; rc == 1 && c_ep > 0 && r < ep.rows; ++r) {
            const char *m = ep.cell[r][col_of(&ep, "model")];
            if (strcmp(m, "teacher") && strncmp(m, "student-", 8)) continue;
            n_ep++;
            bad_ep += atoi(ep.cell[r][c_ep]) != 2;
        }
        KT_CHECK(n_ep >= 4 && bad_ep == 0, "--epochs 2: %d of %d runs planned otherwise", bad_ep, n_ep);
    }

    /* --matrix: every teacher kind x student kind, raw and KD, finite;
       the picture; every model loadable */
    {
        static csv_doc mx;
        int c_t, c_arch, c_file, n_teacher = 0, n_raw = 0, n_kd = 0, fin = 1, loaded = 0;
        rc = system(EXE " --quick --matrix --out " OUT "/matrix > /dev/null 2>&1");
        KT_CHECK(rc == 0, "--quick --matrix failed (%d)", rc);
        KT_CHECK(file_size(OUT "/matrix/matrix.md") > 1000, "matrix.md missing or short");
        KT_CHECK(starts_with_svg(OUT "/matrix/ETTh1_matrix.svg"), "matrix SVG missing");
        rc = read_csv(OUT "/matrix/results.csv", &mx);
        KT_CHECK(rc == 1, "matrix results.csv unreadable (%d)", rc);
        c_t = col_of(&mx, "table"), c_arch = col_of(&mx, "arch"), c_file = col_of(&mx, "test_mse_norm");
        for (r = 0; rc == 1 && c_t >= 0 && c_arch >= 0 && c_file >= 0 && r < mx.rows; ++r) {
            const char *m = mx.cell[r][col_of(&mx, "model")];
            if (strcmp(mx.cell[r][c_t], "matrix")) continue;
            n_teacher += !strcmp(m, "mx-teacher");
            n_raw += !strcmp(m, "mx-raw");
            n_kd += !strcmp(m, "mx-KD");
            fin &= isfinite(atof(mx.cell[r][c_file])) && atof(mx.cell[r][c_file]) > 0;
        }
        KT_CHECK(n_teacher == 3 && n_raw == 4 && n_kd == 4 * 3,
                 "matrix rows: %d teachers, %d raw, %d KD (want 3, 4, 12)", n_teacher, n_raw, n_kd);
        KT_CHECK(fin, "every matrix test MSE finite and positive");
        {
            static const char *const files[] = {"mx-teacher-attn-seed101", "mx-raw-linear-seed1",
                                                "mx-KD-gru-from-lstm-seed1", "mx-KD-attn-from-gru-seed1"};
            for (r = 0; r < 4; ++r) {
                char path[256];
                kdts_model m;
                memset(&m, 0, sizeof m); /* a failed load leaves it untouched */
                snprintf(path, sizeof path, OUT "/matrix/models/ETTh1/%s.kdts", files[r]);
                if (kdts_model_load_file(&m, path, NULL) == KDTS_OK) loaded++, kdts_model_free(&m);
                else printf("cannot load %s\n", path);
            }
            KT_CHECK(loaded == 4, "matrix models load (%d of 4)", loaded);
        }
        (void)c_file;
    }

    /* the same seed gives the same numbers (time columns excepted) */
    rc = system(EXE " --quick" FLAGS " --out " OUT2 " > /dev/null 2>&1");
    KT_CHECK(rc == 0, "second --quick run failed (%d)", rc);
    rc = read_csv(OUT2 "/results.csv", &res2);
    KT_CHECK(rc == 1 && res2.rows == res.rows, "rerun: %d rows vs %d", res2.rows, res.rows);
    if (rc == 1 && res2.rows == res.rows) {
        int diff = 0;
        for (r = 0; r < res.rows; ++r)
            for (c = 0; c < res.cols; ++c) {
                if (!strcmp(res.head[c], "latency_us") || !strcmp(res.head[c], "train_seconds")) continue;
                if (strcmp(res.cell[r][c], res2.cell[r][c]) && diff++ < 5)
                    printf("rerun differs at row %d column %s: %s vs %s\n", r + 2, res.head[c], res.cell[r][c],
                           res2.cell[r][c]);
            }
        KT_CHECK(diff == 0, "%d values differ between two runs with the same seed", diff);
    }
    return kt_done();
}
