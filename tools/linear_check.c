/* linear_check.c - closed-form NLinear and DLinear on the ETT protocol.

   For each CSV given (default data/ETTh1.csv data/ETTh2.csv): target OT as
   the only input, rows 8640/2880/2880 train/validation/test, z-score fit on
   the training rows, lookback 96, horizon 24, windows relative to their
   last value (KDTS_WNORM_LAST). The ridge statistics of the training
   windows are built once (timed), lambda is chosen on the validation
   windows from the default grid (kdts_linear_fit_select), and the test MSE
   and MAE (normalized units) of the chosen model are printed with the
   persistence forecast for scale. The test windows lie inside the test
   rows (kdts_windows_make on the test range: 2761 windows); "reaching
   back" adds the benchmark convention where the first windows' inputs
   reach T rows back into the validation rows, so every test row is a
   target (2857 windows). Also the seasonal period of the training
   rows of OT (kdts_season_detect).

       build/linear_check [--lookback T] [--horizon H] [--features all]
                          [--reps N] [file.csv ...]

   --features all uses every numeric column as input (target still OT). */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check(kdts_result r, const kdts_error *e, const char *what)
{
    if (r != KDTS_OK) {
        fprintf(stderr, "linear_check: %s: %s (%s)\n", what, kdts_result_str(r), e->message);
        exit(1);
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* test MSE / MAE of m on windows w (last step) */
static void eval(const kdts_linear *m, const kdts_windows *w, double *mse, double *mae)
{
    long n;
    int O = m->outputs, o;
    float *out = (float *)malloc((size_t)O * sizeof(float));
    double se = 0.0, ae = 0.0;
    for (n = 0; n < w->n; ++n) {
        const float *y = w->y + ((size_t)n * w->T + (size_t)(w->T - 1)) * (size_t)O;
        kdts_linear_forward(m, w->x + (size_t)n * w->T * w->F, 1, w->T, out, NULL);
        for (o = 0; o < O; ++o) {
            double e = (double)out[o] - y[o];
            se += e * e;
            ae += e < 0 ? -e : e;
        }
    }
    *mse = se / ((double)w->n * O);
    *mae = ae / ((double)w->n * O);
    free(out);
}

int main(int argc, char **argv)
{
    const char *def[2] = {"data/ETTh1.csv", "data/ETTh2.csv"};
    const char **files = def;
    int nfiles = 2, T = 96, H = 24, all = 0, reps = 5, i, fi;
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--lookback") && i + 1 < argc) T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--horizon") && i + 1 < argc) H = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--features") && i + 1 < argc) all = !strcmp(argv[++i], "all");
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [--lookback 96] [--horizon 24] [--features all] [--reps 5] [file.csv ...]\n",
                    argv[0]);
            return 2;
        } else break;
    }
    if (i < argc) {
        files = (const char **)(argv + i);
        nfiles = argc - i;
    }
    if (reps < 1) reps = 1;
    printf("simd %s, lookback %d, horizon %d, inputs %s\n", kdts_simd_name(), T, H, all ? "all columns" : "OT");
    for (fi = 0; fi < nfiles; ++fi) {
        kdts_error e;
        kdts_table tab;
        kdts_csv_config cc = kdts_csv_config_default();
        kdts_scaler_config scc = kdts_scaler_config_default();
        kdts_window_config wc = kdts_window_config_default();
        kdts_scaler sc;
        kdts_split sp;
        kdts_windows tr, va, te, te2;
        kdts_linear_gram g;
        const char *ot[1] = {"OT"};
        int feat[KDTS_MAX_COLUMNS], tgt[1], F, k, kind, period = 0;
        float strength = 0.0f;
        double tg[64], tfit[64], ts[64], tsel[64];

        memset(&e, 0, sizeof e);
        if (!all) {
            cc.columns = ot;
            cc.n_columns = 1;
        }
        check(kdts_csv_read_file(&tab, files[fi], &cc, &e), &e, files[fi]);
        check(kdts_split_rows(&sp, tab.rows, 8640, 2880, 2880, &e), &e, "split");
        scc.kind = KDTS_SCALER_ZSCORE;
        check(kdts_scaler_fit_table(&sc, &scc, &tab, sp.train.begin, sp.train.end, &e), &e, "scaler");
        kdts_scaler_apply_table(&sc, &tab);
        tgt[0] = kdts_table_find(&tab, "OT");
        F = all ? tab.cols : 1;
        for (k = 0; k < F; ++k) feat[k] = all ? k : tgt[0];
        wc.lookback = T;
        wc.horizon = H;
        wc.features = feat;
        wc.n_features = F;
        wc.targets = tgt;
        wc.n_targets = 1;
        wc.norm = KDTS_WNORM_LAST;
        check(kdts_windows_make(&tr, &tab, sp.train.begin, sp.train.end, &wc, &e), &e, "train windows");
        check(kdts_windows_make(&va, &tab, sp.val.begin, sp.val.end, &wc, &e), &e, "val windows");
        check(kdts_windows_make(&te, &tab, sp.test.begin, sp.test.end, &wc, &e), &e, "test windows");
        check(kdts_windows_make(&te2, &tab, sp.test.begin - T, sp.test.end, &wc, &e), &e, "test windows (back)");
        check(kdts_season_detect(tab.col[tgt[0]] + sp.train.begin, sp.train.end - sp.train.begin, 2, 400, &period,
                                 &strength, &e),
              &e, "season");
        printf("\n%s: %ld/%ld/%ld windows (train/val/test), F = %d; seasonal period of the training OT: %d "
               "(r = %.3f)\n",
               files[fi], tr.n, va.n, te.n, F, period, (double)strength);
        {
            /* persistence: 0 in relative units */
            double se = 0.0, ae = 0.0;
            long n;
            int o;
            for (n = 0; n < te.n; ++n)
                for (o = 0; o < H; ++o) {
                    double y = te.y[((size_t)n * T + (size_t)(T - 1)) * H + o];
                    se += y * y;
                    ae += y < 0 ? -y : y;
                }
            printf("  persistence          test MSE %.5f  MAE %.5f\n", se / (te.n * H), ae / (te.n * H));
        }
        for (kind = 0; kind < 2; ++kind) {
            kdts_linear m;
            kdts_linear_config lc;
            double val[16], best = 0.0, mse, mae, lam0mse, lam0mae, mse2, mae2;
            int r;
            memset(&lc, 0, sizeof lc);
            lc.input = F;
            lc.lookback = T;
            lc.horizon = H;
            lc.kind = kind ? KDTS_LINEAR_DLINEAR : KDTS_LINEAR_NLINEAR;
            check(kdts_linear_init(&m, &lc, 1, &e), &e, "init");
            for (r = 0; r < reps; ++r) {
                double t0 = now(), t1, t2, t3;
                check(kdts_linear_gram_init(&g, &m.cfg, tr.x, tr.y, tr.n, T, &e), &e, "gram");
                t1 = now();
                check(kdts_linear_gram_solve(&g, &m, 1e-2, &e), &e, "solve");
                t2 = now();
                check(kdts_linear_fit_select(&m, &g, va.x, va.y, va.n, T, NULL, 0, val, &best, &e), &e, "select");
                t3 = now();
                tg[r] = t1 - t0;
                ts[r] = t2 - t1;
                tsel[r] = t3 - t2;
                tfit[r] = t2 - t0;
                if (r + 1 < reps) kdts_linear_gram_free(&g);
            }
            eval(&m, &te, &mse, &mae);
            eval(&m, &te2, &mse2, &mae2);
            /* also lambda 0 (plain least squares) */
            {
                kdts_linear m0;
                kdts_result rr;
                check(kdts_linear_init(&m0, &lc, 1, &e), &e, "init");
                rr = kdts_linear_gram_solve(&g, &m0, 0.0, &e);
                if (rr == KDTS_OK) eval(&m0, &te, &lam0mse, &lam0mae);
                else lam0mse = lam0mae = -1.0;
                kdts_linear_free(&m0);
            }
            qsort(tg, (size_t)reps, sizeof *tg, cmp_d);
            qsort(ts, (size_t)reps, sizeof *ts, cmp_d);
            qsort(tsel, (size_t)reps, sizeof *tsel, cmp_d);
            qsort(tfit, (size_t)reps, sizeof *tfit, cmp_d);
            printf("  %s  lambda %-8g test MSE %.5f  MAE %.5f   (lambda 0: MSE %.5f; reaching back: MSE %.5f "
                   "MAE %.5f)\n",
                   kind ? "DLinear (k=25)" : "NLinear       ", best, mse, mae, lam0mse, mse2, mae2);
            printf("      fit (statistics + one solve) median %.1f ms [min %.1f, max %.1f] of %d; statistics %.1f ms, "
                   "solve %.2f ms, lambda search (16 solves + validation) %.1f ms\n",
                   1e3 * tfit[reps / 2], 1e3 * tfit[0], 1e3 * tfit[reps - 1], reps, 1e3 * tg[reps / 2],
                   1e3 * ts[reps / 2], 1e3 * tsel[reps / 2]);
            printf("      validation MSE by lambda:");
            for (k = 0; k < 16; ++k) printf(" %s%.5f", k % 8 ? "" : "\n       ", val[k]);
            printf("\n");
            kdts_linear_gram_free(&g);
            kdts_linear_free(&m);
        }
        kdts_windows_free(&tr);
        kdts_windows_free(&va);
        kdts_windows_free(&te);
        kdts_windows_free(&te2);
        kdts_table_free(&tab);
    }
    return 0;
}
