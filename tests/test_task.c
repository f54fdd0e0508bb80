/* test_task.c - the task layer: settings and their defaults, split rules,
   building a task from CSV text, a table or a file, windows and scaler
   against the lower-level functions, the bin rules, warnings (outliers,
   timestamps), refusals with what would fit, baselines, scores, forecasts
   through the batch path and the deployment path, models that record the
   data settings and rebuild the same data, and dates. */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

/* An hourly CSV of `rows` rows: date, a (a daily sine), b (noise), y (a
   lagged mix), with optional text. Caller frees. */
static char *make_csv(int rows, size_t *len, int spike_row)
{
    size_t cap = (size_t)rows * 80 + 100, n = 0;
    char *s = (char *)malloc(cap);
    kdts_rng r;
    int i;
    kdts_rng_seed(&r, 5);
    n += (size_t)snprintf(s + n, cap - n, "date,a,b,y\n");
    for (i = 0; i < rows; ++i) {
        long long t = 1467331200LL + 3600LL * i; /* 2016-07-01 00:00 */
        long long day = t / 86400;
        int h = (int)(t % 86400 / 3600);
        double a = sin(2 * 3.14159265358979 * i / 24.0), b = kdts_rng_normal(&r);
        double y = 10 + 3 * a + 0.5 * b + (i == spike_row ? 1e6 : 0);
        /* day number -> date (2016-07-01 is day 16983) */
        int doy = (int)(day - 16983), mon = 7, d;
        static const int dim[] = {31, 31, 30, 31, 30, 31};
        while (mon - 7 < 6 && doy >= dim[mon - 7]) doy -= dim[mon - 7], mon++;
        d = doy + 1;
        n += (size_t)snprintf(s + n, cap - n, "2016-%02d-%02d %02d:00:00,%.6f,%.6f,%.6f\n", mon, d, h, a, b, y);
    }
    *len = n;
    return s;
}

static void base(kdts_task_config *c, const char **tgt)
{
    memset(c, 0, sizeof *c);
    *tgt = "y";
    c->targets = tgt;
    c->n_targets = 1;
    c->lookback = 12;
    c->horizon = 3;
}

static void test_config(void)
{
    kdts_task_config c;
    kdts_error e;
    const char *tgt = "y";
    memset(&c, 0, sizeof c);
    KT_CHECK(kdts_task_config_check(&c, &e) == KDTS_ERR_ARG && strstr(e.message, "target"), "no target: %s", e.message);
    c.targets = &tgt;
    c.n_targets = 1;
    KT_CHECK(kdts_task_config_check(&c, &e) == KDTS_OK, "defaults");
    KT_CHECK(c.lookback == 96 && c.horizon == 24 && c.stride == 1 && c.bins == 32 && c.split == KDTS_SPLIT_AUTO &&
                 c.scaling == KDTS_SCALING_ZSCORE && c.relative == KDTS_RELATIVE_LAST && c.missing == KDTS_MISSING_ERROR,
             "default values");
    c.lookback = 100000;
    KT_CHECK(kdts_task_config_check(&c, &e) == KDTS_ERR_ARG && strstr(e.message, "lookback 100000 out of range 1..65536"),
             "lookback limit: %s", e.message);
    c.lookback = 5;
    c.split = KDTS_SPLIT_RATIO;
    c.split_sizes[0] = 0.7;
    c.split_sizes[1] = 0.4;
    KT_CHECK(kdts_task_config_check(&c, &e) == KDTS_ERR_ARG && strstr(e.message, "sum"), "ratios over 1: %s", e.message);
}

static void test_split_parse(void)
{
    kdts_task_config c;
    kdts_error e;
    memset(&c, 0, sizeof c);
    KT_CHECK(kdts_split_parse(&c, "auto", &e) == KDTS_OK && c.split == KDTS_SPLIT_AUTO, "auto");
    KT_CHECK(kdts_split_parse(&c, "0.6,0.2,0.2", &e) == KDTS_OK && c.split == KDTS_SPLIT_RATIO &&
                 c.split_sizes[1] > 0.199 && c.split_sizes[1] < 0.201,
             "ratios");
    KT_CHECK(kdts_split_parse(&c, "8640,2880,2880", &e) == KDTS_OK && c.split == KDTS_SPLIT_ROWS &&
                 c.split_sizes[0] == 8640 && c.split_sizes[2] == 2880,
             "rows");
    KT_CHECK(kdts_split_parse(&c, "1000,200,0", &e) == KDTS_OK && c.split == KDTS_SPLIT_ROWS && c.split_sizes[2] == 0,
             "rows with a zero part");
    KT_CHECK(kdts_split_parse(&c, "16777217,1,1", &e) == KDTS_OK && c.split_sizes[0] == 16777217.0, "exact big rows");
    KT_CHECK(kdts_split_parse(&c, "1,0,0", &e) == KDTS_OK && c.split == KDTS_SPLIT_RATIO, "1,0,0 = all rows as ratio");
    KT_CHECK(kdts_split_parse(&c, "rows:1,0,0", &e) == KDTS_OK && c.split == KDTS_SPLIT_ROWS, "rows: prefix");
    KT_CHECK(kdts_split_parse(&c, "ratio:0.5,0.25,0.25", &e) == KDTS_OK && c.split == KDTS_SPLIT_RATIO, "ratio: prefix");
    KT_CHECK(kdts_split_parse(&c, "0.6,0.2", &e) == KDTS_ERR_ARG, "two numbers");
    KT_CHECK(kdts_split_parse(&c, "60,0.2,20", &e) == KDTS_ERR_ARG && strstr(e.message, "ratios"), "mixed: %s", e.message);
    KT_CHECK(kdts_split_parse(&c, "ratio:2,1,1", &e) == KDTS_ERR_ARG, "ratio prefix with counts");
}

/* Task windows, scaler and datasets against the lower-level functions. */
static void test_build(void)
{
    kdts_task task;
    kdts_task_config c;
    kdts_error e;
    const char *tgt;
    size_t len;
    char *csv = make_csv(400, &len, -1);
    kdts_table t;
    kdts_csv_config cc = kdts_csv_config_default();
    kdts_scaler sc;
    kdts_scaler_config scc;
    kdts_windows w;
    kdts_window_config wc = kdts_window_config_default();
    int tcol = 0;
    base(&c, &tgt);
    c.stride = 2;
    KT_CHECK(kdts_task_open_mem(&task, &c, csv, len, "hourly.csv", &e) == KDTS_OK, "open: %s", e.message);
    KT_CHECK(task.F == 1 && task.K == 1 && task.rows == 400 && !strcmp(task.source, "hourly.csv"), "shape");
    KT_CHECK(task.split.train.end == 240 && task.split.val.end == 320 && task.split.test.end == 400, "auto split 0.6/0.2/0.2");
    KT_CHECK(task.win[0].n == kdts_window_count(0, 240, 12, 3, 2) && task.win[1].n == kdts_window_count(240, 320, 12, 3, 1) &&
                 task.win[2].n == kdts_window_count(320, 400, 12, 3, 1),
             "window counts %ld %ld %ld", task.win[0].n, task.win[1].n, task.win[2].n);
    KT_CHECK(task.data[0].n == task.win[0].n && task.data[0].T == 12 && task.data[0].F == 1 && task.data[0].h == 3,
             "dataset view");
    /* the same by hand */
    cc.columns = &tgt;
    cc.n_columns = 1;
    KT_CHECK(kdts_csv_read_mem(&t, csv, len, &cc, &e) == KDTS_OK, "read");
    memset(&scc, 0, sizeof scc);
    scc.kind = KDTS_SCALER_ZSCORE;
    memset(&sc, 0, sizeof sc);
    kdts_scaler_fit_column(&sc, &scc, 0, t.col[0], 240, NULL);
    KT_CHECK(sc.offset[0] == task.scaler.offset[0] && sc.scale[0] == task.scaler.scale[0], "scaler fit on train rows");
    kdts_scaler_apply_column(&sc, 0, t.col[0], t.rows);
    wc.lookback = 12;
    wc.horizon = 3;
    wc.targets = &tcol;
    wc.n_targets = 1;
    wc.norm = KDTS_WNORM_LAST;
    wc.stride = 1;
    KT_CHECK(kdts_windows_make(&w, &t, 320, 400, &wc, &e) == KDTS_OK, "windows");
    KT_CHECK(w.n == task.win[2].n && !memcmp(w.x, task.win[2].x, (size_t)w.n * 12 * sizeof(float)) &&
                 !memcmp(w.y, task.win[2].y, (size_t)w.n * 12 * 3 * sizeof(float)),
             "test windows identical");
    /* quantile bin rule over the training targets */
    KT_CHECK(task.bin_lo < task.bin_hi && task.bin_lo > -10 && task.bin_hi < 10, "bins [%g, %g]", (double)task.bin_lo,
             (double)task.bin_hi);
    /* timestamps: hourly, regular */
    KT_CHECK(task.times.t && task.times.step == 3600 && task.times.regular && task.times.first_bad < 0 &&
                 task.times.precision == 2 && !strcmp(task.settings.time_column, "date"),
             "hourly times (step %lld)", task.times.step);
    {
        char b[64];
        KT_CHECK(kdts_task_time(&task, 23, 0, b, sizeof b) && !strcmp(b, "2016-07-01 23:00:00"), "time %s", b);
        KT_CHECK(kdts_task_time(&task, 23, 1, b, sizeof b) && !strcmp(b, "2016-07-02 00:00:00"), "time +1 %s", b);
        KT_CHECK(kdts_task_time(&task, 0, -1, b, sizeof b) && !strcmp(b, "2016-06-30 23:00:00"), "time -1 %s", b);
    }
    KT_CHECK(task.nwarn == 0, "no warnings (%d: %s)", task.nwarn, task.nwarn ? task.warnings[0] : "");
    KT_CHECK(task.season == 24 && task.settings.season == 24 && task.season_strength > 0.1,
             "the daily season detected on the training rows (%d, r %g)", task.season, (double)task.season_strength);
    kdts_windows_free(&w);
    kdts_table_free(&t);
    /* the same task from a table */
    {
        kdts_task t2;
        kdts_table all;
        kdts_csv_config ac = kdts_csv_config_default();
        ac.keep_text = 1;
        KT_CHECK(kdts_csv_read_mem(&all, csv, len, &ac, &e) == KDTS_OK, "read all");
        KT_CHECK(kdts_task_open_table(&t2, &c, &all, "tab", &e) == KDTS_OK, "open table: %s", e.message);
        KT_CHECK(t2.win[0].n == task.win[0].n && !memcmp(t2.win[0].y, task.win[0].y, (size_t)task.win[0].n * 36 * 4) &&
                     t2.times.step == 3600,
                 "table task = text task");
        kdts_task_free(&t2);
        kdts_table_free(&all);
    }
    kdts_task_free(&task);
    /* multivariate: features first, then the target */
    {
        const char *feats[2] = {"a", "b"};
        base(&c, &tgt);
        c.features = feats;
        c.n_features = 2;
        KT_CHECK(kdts_task_open_mem(&task, &c, csv, len, NULL, &e) == KDTS_OK, "open multi: %s", e.message);
        KT_CHECK(task.F == 3 && task.target[0] == 2 && !strcmp(task.table.name[2], "y"), "input order a, b, y");
        kdts_task_free(&task);
        feats[1] = "y";
        KT_CHECK(kdts_task_open_mem(&task, &c, csv, len, NULL, &e) == KDTS_OK && task.F == 2 && task.target[0] == 1,
                 "target among the features: %s", e.message);
        kdts_task_free(&task);
    }
    free(csv);
}

/* Refusals and warnings a user meets. */
static void test_refusals(void)
{
    kdts_task task;
    kdts_task_config c;
    kdts_error e;
    const char *tgt, *two[2] = {"y", "y"};
    size_t len;
    char *csv = make_csv(60, &len, -1);
    base(&c, &tgt);
    c.lookback = 24;
    c.horizon = 6; /* val/test parts of 12 rows */
    KT_CHECK(kdts_task_open_mem(&task, &c, csv, len, "short.csv", &e) == KDTS_ERR_DATA &&
                 strstr(e.message, "validation part has 12 rows") && strstr(e.message, "lookback <= 6") && strstr(e.message, "lookback 8 with horizon 4"),
             "short validation part: %s", e.message);
    c.split = KDTS_SPLIT_ROWS;
    c.split_sizes[0] = 60;
    c.split_sizes[1] = 0;
    c.split_sizes[2] = 0;
    KT_CHECK(kdts_task_open_mem(&task, &c, csv, len, "short.csv", &e) == KDTS_OK && task.win[1].n == 0 &&
                 task.data[1].n == 0,
             "no validation part when asked for none: %s", e.message);
    kdts_task_free(&task);
    c.split = KDTS_SPLIT_AUTO;
    c.lookback = 4;
    c.horizon = 2;
    c.targets = two;
    c.n_targets = 2;
    KT_CHECK(kdts_task_open_mem(&task, &c, csv, len, "x", &e) == KDTS_ERR_ARG && strstr(e.message, "twice"),
             "target twice: %s", e.message);
    c.n_targets = 1;
    tgt = "nope";
    c.targets = &tgt;
    KT_CHECK(kdts_task_open_mem(&task, &c, csv, len, "x", &e) == KDTS_ERR_NOTFOUND, "unknown column");
    free(csv);
    /* a file without a header line */
    {
        static const char nohead[] = "1.5,2\n3,4\n5,6\n7,8\n9,10\n11,12\n13,14\n15,16\n17,18\n19,20\n";
        kdts_table t;
        kdts_csv_config cc = kdts_csv_config_default();
        int col = 1;
        KT_CHECK(kdts_csv_read_mem(&t, nohead, sizeof nohead - 1, &cc, NULL) == KDTS_OK, "read");
        memset(&c, 0, sizeof c);
        c.target_columns = &col;
        c.n_target_columns = 1;
        c.lookback = 1;
        c.horizon = 1;
        KT_CHECK(kdts_task_open_table(&task, &c, &t, "nohead.csv", &e) == KDTS_ERR_DATA && strstr(e.message, "header"),
                 "all-numeric first line: %s", e.message);
        kdts_table_free(&t);
    }
    /* an outlier in the training rows */
    csv = make_csv(300, &len, 40);
    base(&c, &tgt);
    KT_CHECK(kdts_task_open_mem(&task, &c, csv, len, "spike.csv", &e) == KDTS_OK, "open");
    KT_CHECK(task.nwarn == 1 && strstr(task.warnings[0], "row 41") && strstr(task.warnings[0], "column y"),
             "outlier warning: %s", task.nwarn ? task.warnings[0] : "(none)");
    kdts_task_free(&task);
    free(csv);
    /* dates: backwards, gaps, monthly */
    {
        static const char back[] = "t,y\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n2020-01-04,4\n2020-01-05,5\n"
                                   "2020-01-06,6\n2020-01-07,7\n2020-01-08,8\n2020-01-09,9\n2020-01-10,10\n";
        static const char gaps[] = "t,y\n2020-01-01,1\n2020-01-02,2\n2020-01-05,3\n2020-01-06,4\n2020-01-07,5\n"
                                   "2020-01-08,6\n2020-01-09,7\n2020-01-10,8\n2020-01-11,9\n2020-01-12,10\n";
        static const char months[] = "ds,y\n2019-11,1\n2019-12,2\n2020-01,3\n2020-02,4\n2020-03,5\n2020-04,6\n"
                                     "2020-05,7\n2020-06,8\n2020-07,9\n2020-08,10\n";
        char b[32];
        base(&c, &tgt);
        c.lookback = 1;
        c.horizon = 1;
        KT_CHECK(kdts_task_open_mem(&task, &c, back, sizeof back - 1, "back", &e) == KDTS_OK && task.times.first_bad == 2 &&
                     task.nwarn == 1 && strstr(task.warnings[0], "backwards"),
                 "dates repeat: %s", task.nwarn ? task.warnings[0] : e.message);
        kdts_task_free(&task);
        KT_CHECK(kdts_task_open_mem(&task, &c, gaps, sizeof gaps - 1, "gaps", &e) == KDTS_OK && !task.times.regular &&
                     task.times.step == 86400 && task.times.gaps == 1 && task.nwarn == 1 &&
                     strstr(task.warnings[0], "irregular"),
                 "gaps: %s", task.nwarn ? task.warnings[0] : e.message);
        KT_CHECK(kdts_task_time(&task, 9, 2, b, sizeof b) && !strcmp(b, "2020-01-14"), "daily +2: %s", b);
        kdts_task_free(&task);
        KT_CHECK(kdts_task_open_mem(&task, &c, months, sizeof months - 1, "m", &e) == KDTS_OK && task.times.months == 1 &&
                     task.nwarn == 0,
                 "monthly: %s", e.message);
        KT_CHECK(kdts_task_time(&task, 9, 5, b, sizeof b) && !strcmp(b, "2021-01"), "monthly +5: %s", b);
        KT_CHECK(kdts_task_time(&task, 0, 1, b, sizeof b) && !strcmp(b, "2019-12"), "monthly +1: %s", b);
        kdts_task_free(&task);
    }
}

static void test_time_parse(void)
{
    long long t;
    int p;
    KT_CHECK(kdts_time_parse("1970-01-01", 10, &t, &p) && t == 0 && p == 0, "epoch");
    KT_CHECK(kdts_time_parse("2016-07-01 01:00:00", 19, &t, &p) && t == 1467334800LL && p == 2, "ETT date");
    KT_CHECK(kdts_time_parse("2016-07-01T01:30Z", 17, &t, &p) && t == 1467336600LL && p == 1, "T and Z");
    KT_CHECK(kdts_time_parse("2000-02-29", 10, &t, NULL) && t == 951782400LL, "leap day");
    KT_CHECK(!kdts_time_parse("1900-02-29", 10, &t, NULL), "not a leap year");
    KT_CHECK(kdts_time_parse("1949-01", 7, &t, &p) && p == 3, "year-month");
    KT_CHECK(kdts_time_parse("1949/01/31", 10, &t, &p), "slashes");
    KT_CHECK(!kdts_time_parse("12.5", 4, &t, &p) && !kdts_time_parse("2020-13-01", 10, &t, &p) &&
                 !kdts_time_parse("2020-01-01 25:00", 16, &t, &p) && !kdts_time_parse("2020-01-01x", 11, &t, &p),
             "not dates");
    KT_CHECK(kdts_time_parse("1969-12-31 23:59:59", 19, &t, NULL) && t == -1, "before 1970");
}

/* Forecasts, baselines and scores. */
static void test_forecast_score(void)
{
    kdts_task task;
    kdts_task_config c;
    kdts_error e;
    const char *tgt;
    size_t len;
    char *csv = make_csv(500, &len, -1);
    kdts_net net;
    kdts_net_config lc;
    kdts_train_config tc;
    kdts_model m, l;
    kdts_scores s, sp;
    unsigned char *buf;
    size_t blen = 0;
    float *fa, *fb, *pe, *se;
    double step[3], worst = 0, manual = 0;
    long n, i;
    int j;
    base(&c, &tgt);
    c.season = 24;
    KT_CHECK(kdts_task_open_mem(&task, &c, csv, len, "h.csv", &e) == KDTS_OK, "open");
    memset(&lc, 0, sizeof lc);
    lc.hidden = 8;
    kdts_task_net_config(&task, &lc);
    KT_CHECK(lc.input == 1 && lc.horizon == 3, "net config from the task");
    kdts_net_init(&net, &lc, 3, NULL);
    memset(&tc, 0, sizeof tc);
    tc.epochs = 8;
    tc.adam.lr = 1e-2f;
    KT_CHECK(kdts_task_fit(&task, &net, &tc, NULL, 0, NULL, &e) == KDTS_OK, "fit: %s", e.message);
    n = task.win[KDTS_PART_TEST].n;
    fa = (float *)malloc(sizeof(float) * n * 3);
    fb = (float *)malloc(sizeof(float) * n * 3);
    pe = (float *)malloc(sizeof(float) * n * 3);
    se = (float *)malloc(sizeof(float) * n * 3);
    KT_CHECK(kdts_task_forecast(&task, KDTS_PART_TEST, &net, fa, NULL, NULL, 0, &e) == KDTS_OK, "forecast");
    KT_CHECK(kdts_task_model(&task, &net, NULL, &m, &e) == KDTS_OK, "model: %s", e.message);
    KT_CHECK(m.data.recorded && m.data.rows == 500 && m.data.test_begin == 400 && !strcmp(m.data.time_column, "date"),
             "model records the data settings");
    KT_CHECK(kdts_task_forecast_model(&task, KDTS_PART_TEST, &m, fb, NULL, NULL, 0, &e) == KDTS_OK, "forecast model: %s",
             e.message);
    for (i = 0; i < n * 3; ++i)
        if (fabs(fa[i] - fb[i]) > worst) worst = fabs(fa[i] - fb[i]);
    KT_CHECK(worst < 1e-4, "batch path and deployment path agree (%g)", worst);
    /* baselines */
    KT_CHECK(kdts_task_baseline(&task, KDTS_PART_TEST, KDTS_BASELINE_PERSISTENCE, pe, &e) == KDTS_OK, "persistence");
    KT_CHECK(kdts_task_baseline(&task, KDTS_PART_TEST, KDTS_BASELINE_SEASONAL, se, &e) == KDTS_OK, "seasonal");
    {
        long st = task.win[2].start[5];
        const float *y = task.table.col[0];
        KT_CHECK(pe[5 * 3 + 2] == y[st + 11] && se[5 * 3 + 0] == y[st + 12 - 24] && se[5 * 3 + 2] == y[st + 14 - 24],
                 "baseline values");
    }
    /* scores against a hand computation */
    KT_CHECK(kdts_task_score(&task, KDTS_PART_TEST, pe, NULL, NULL, 0, &sp, step, &e) == KDTS_OK, "score");
    for (i = 0; i < n; ++i)
        for (j = 0; j < 3; ++j) {
            double y = task.table.col[0][task.win[2].start[i] + 12 + j], d = (pe[i * 3 + j] - y) / task.scaler.scale[0];
            manual += d * d;
        }
    manual /= n * 3;
    KT_CHECK(fabs(sp.mse - manual) < 1e-9 * manual && sp.windows == n && sp.coverage == -1 &&
                 fabs(sp.mse_orig - manual * task.scaler.scale[0] * task.scaler.scale[0]) < 1e-6 * sp.mse_orig,
             "persistence MSE %g vs %g", sp.mse, manual);
    KT_CHECK(step[0] < step[2] && fabs((step[0] + step[1] + step[2]) / 3 - sp.mse) < 1e-9, "per-step errors %g %g %g",
             step[0], step[1], step[2]);
    KT_CHECK(kdts_task_score(&task, KDTS_PART_TEST, fa, NULL, NULL, 0, &s, NULL, &e) == KDTS_OK && s.mse < sp.mse,
             "the trained net (%g) beats persistence (%g) on a sine", s.mse, sp.mse);
    /* the closed-form linear baselines: a sine is what they fit best */
    {
        kdts_scores sl, sd;
        kdts_linear lm;
        double lam = -1;
        KT_CHECK(kdts_task_baseline(&task, KDTS_PART_TEST, KDTS_BASELINE_NLINEAR, se, &e) == KDTS_OK &&
                     kdts_task_score(&task, KDTS_PART_TEST, se, NULL, NULL, 0, &sl, NULL, &e) == KDTS_OK,
                 "NLinear baseline: %s", e.message);
        KT_CHECK(kdts_task_baseline(&task, KDTS_PART_TEST, KDTS_BASELINE_DLINEAR, se, &e) == KDTS_OK &&
                     kdts_task_score(&task, KDTS_PART_TEST, se, NULL, NULL, 0, &sd, NULL, &e) == KDTS_OK,
                 "DLinear baseline: %s", e.message);
        printf("baselines on the noisy daily sine: persistence %.4f, NLinear %.4f, DLinear %.4f, LSTM %.4f\n", sp.mse,
               sl.mse, sd.mse, s.mse);
        KT_CHECK(sl.mse < 0.5 * sp.mse && sd.mse < 0.5 * sp.mse, "linear fits beat persistence on a sine");
        KT_CHECK(kdts_task_fit_linear(&task, KDTS_LINEAR_NLINEAR, &lm, &lam, &e) == KDTS_OK && lam >= 0 &&
                     lm.cfg.lookback == 12 && lm.cfg.horizon == 3,
                 "the linear model itself, lambda %g", lam);
        kdts_linear_free(&lm);
    }
    /* intervals: lo = hi = truth gives coverage 1 and pinball 0 */
    for (i = 0; i < n; ++i)
        for (j = 0; j < 3; ++j) fb[i * 3 + j] = task.table.col[0][task.win[2].start[i] + 12 + j];
    KT_CHECK(kdts_task_score(&task, KDTS_PART_TEST, fa, fb, fb, 0.8f, &s, NULL, &e) == KDTS_OK && s.coverage == 1.0 &&
                 s.pinball == 0.0,
             "coverage %g pinball %g", s.coverage, s.pinball);
    /* the model file keeps the settings; a task rebuilt from model + file has the same windows */
    kdts_model_save_mem(&m, NULL, 0, &blen, NULL);
    buf = (unsigned char *)malloc(blen);
    KT_CHECK(kdts_model_save_mem(&m, buf, blen, &blen, &e) == KDTS_OK && kdts_model_load_mem(&l, buf, blen, &e) == KDTS_OK,
             "round trip: %s", e.message);
    KT_CHECK(!memcmp(&l.data, &m.data, sizeof m.data), "settings survive the file");
    {
        char path[] = "/tmp/kdts_task_XXXXXX";
        int fd = mkstemp(path);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        kdts_task t2;
        if (f) {
            fwrite(csv, 1, len, f);
            fclose(f);
        }
        KT_CHECK(f && kdts_task_open_model(&t2, &l, path, NULL, &e) == KDTS_OK, "open from model: %s", e.message);
        KT_CHECK(t2.win[2].n == n && !memcmp(t2.win[2].x, task.win[2].x, (size_t)n * 12 * 4), "same test windows");
        KT_CHECK(t2.scaler.cols == 1 && t2.scaler.offset[0] == task.scaler.offset[0] &&
                     t2.scaler.scale[0] == task.scaler.scale[0] && t2.scaler.kind == task.scaler.kind,
                 "same scaler");
        KT_CHECK(t2.season == 24 && t2.nwarn == 0 && !t2.split_differs, "season %d, %d warnings (%s)", t2.season, t2.nwarn,
                 t2.nwarn ? t2.warnings[0] : "");
        kdts_task_free(&t2);
        /* a shorter file: a warning, the split recomputed */
        f = fopen(path, "w");
        if (f) {
            const char *cut = csv;
            int lines = 0;
            while (lines < 461 && (cut = strchr(cut, '\n')) != NULL) cut++, lines++;
            fwrite(csv, 1, (size_t)(cut - csv), f);
            fclose(f);
        }
        KT_CHECK(kdts_task_open_model(&t2, &l, path, NULL, &e) == KDTS_OK && t2.split_differs && t2.rows == 460 &&
                     t2.split.test.end == 460,
                 "fewer rows: the split recomputed (%s)", e.message);
        kdts_task_free(&t2);
        remove(path);
    }
    free(buf);
    free(fa);
    free(fb);
    free(pe);
    free(se);
    kdts_model_free(&l);
    kdts_model_free(&m);
    kdts_net_free(&net);
    kdts_task_free(&task);
    free(csv);
}

int main(void)
{
    test_config();
    test_split_parse();
    test_build();
    test_refusals();
    test_time_parse();
    test_forecast_score();
    return kt_done();
}
