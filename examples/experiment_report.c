/* experiment_report.c - the experiment's report: aggregation over seeds,
   paired differences with a significance test, the Markdown tables and
   claims (results.md), results.csv / grid.csv and the summary on stdout. */
#include "experiment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if !defined(_WIN32)
#include <sys/utsname.h>
#endif

/* ---- aggregation ------------------------------------------------------------ */

typedef struct agg {
    run_kind kind;
    int layers, hidden, mode, n, hard_last;
    double mse_n[2], mae_n[2], mse_o[2], mae_o[2], val[2]; /* mean, std */
    double params, flops, lat_us, train_s;
    double alpha, beta, temp;
    char arch[80];
} agg;

static int same_key(const run_rec *a, const char *series, run_kind kind, int hidden, int mode, int table)
{
    return !strcmp(a->series, series) && a->kind == kind && (hidden < 0 || a->hidden == hidden) &&
           (mode < 0 || a->mode == mode) && (table < 0 || a->table == table);
}

/* The runs of (series, kind[, hidden, mode]) of the main table; n = 0 if none. */
static agg aggregate(const experiment *e, const char *series, run_kind kind, int hidden, int mode)
{
    agg a;
    double v[5][MAX_SEEDS * 4];
    int i, n = 0;
    memset(&a, 0, sizeof a);
    for (i = 0; i < e->nruns; ++i) {
        const run_rec *r = &e->runs[i];
        if (!same_key(r, series, kind, hidden, mode, TAB_MAIN) || n >= MAX_SEEDS * 4) continue;
        if (n == 0) {
            a.kind = r->kind;
            a.layers = r->layers;
            a.hidden = r->hidden;
            a.mode = r->mode;
            a.hard_last = r->hard_last;
            a.params = r->params;
            a.flops = r->flops;
            a.alpha = r->alpha;
            a.beta = r->beta;
            a.temp = r->temp;
            ex_copy(a.arch, sizeof a.arch, r->arch);
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
    a.mse_n[0] = ex_mean(v[0], n), a.mse_n[1] = ex_std(v[0], n);
    a.mae_n[0] = ex_mean(v[1], n), a.mae_n[1] = ex_std(v[1], n);
    a.mse_o[0] = ex_mean(v[2], n), a.mse_o[1] = ex_std(v[2], n);
    a.mae_o[0] = ex_mean(v[3], n), a.mae_o[1] = ex_std(v[3], n);
    a.val[0] = ex_mean(v[4], n), a.val[1] = ex_std(v[4], n);
    a.lat_us /= n;
    a.train_s /= n;
    return a;
}

double kind_mean_mse(const experiment *e, const char *series, run_kind kind)
{
    return aggregate(e, series, kind, -1, -1).mse_n[0];
}

/* ---- paired differences -------------------------------------------------------- */

/* Paired difference A - B of test MSE (normalized) over matching seeds,
   with a one-sided paired t-test at the 5% level: `shown` is -1 when A is
   lower beyond noise, +1 when higher beyond noise, 0 otherwise (including
   fewer than 3 pairs). */
typedef struct paired {
    int n, wins, shown;
    double mean, sd, rel, t;
} paired;

/* One-sided 95% critical values of Student's t for 1..30 degrees of freedom. */
static const double T95[31] = {0,     6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812,
                               1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725,
                               1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697};

static paired pair_diff(const experiment *e, const char *series, run_kind ka, int mode_a, run_kind kb, int mode_b,
                        int hidden)
{
    paired p;
    double d[MAX_SEEDS * 4], rs = 0;
    int i, j;
    memset(&p, 0, sizeof p);
    memset(d, 0, sizeof d);
    for (i = 0; i < e->nruns; ++i) {
        const run_rec *a = &e->runs[i];
        if (!same_key(a, series, ka, hidden, mode_a, TAB_MAIN)) continue;
        for (j = 0; j < e->nruns; ++j) {
            const run_rec *b = &e->runs[j];
            if (same_key(b, series, kb, hidden, mode_b, TAB_MAIN) && b->seed == a->seed && p.n < MAX_SEEDS * 4) {
                d[p.n++] = a->mse_n - b->mse_n;
                rs += b->mse_n;
                if (a->mse_n < b->mse_n) p.wins++;
                break;
            }
        }
    }
    p.mean = ex_mean(d, p.n);
    p.sd = ex_std(d, p.n);
    p.rel = p.n && rs > 0 ? 100.0 * p.mean / (rs / p.n) : 0.0;
    if (p.n >= 3) {
        double crit = T95[p.n - 1 < 30 ? p.n - 1 : 30];
        p.t = p.sd > 0 ? p.mean / (p.sd / sqrt((double)p.n)) : (p.mean < 0 ? -1e300 : p.mean > 0 ? 1e300 : 0);
        p.shown = p.t < -crit ? -1 : p.t > crit ? 1 : 0;
    }
    return p;
}

sweep_stat sweep_stats(const experiment *e, const char *series, int h, unsigned long long seed0, int nseeds)
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
        if (x->kind == RUN_RAW && st.nraw < MAX_SEEDS) {
            int y;
            a1[st.nraw++] = x->mse_n;
            st.params = x->params;
            st.flops = x->flops;
            for (y = 0; y < e->nruns; ++y) {
                const run_rec *z = &e->runs[y];
                if (!strcmp(z->series, series) && z->kind == RUN_KD && z->hidden == h && z->mode == KDTS_MODE_POINT &&
                    z->seed == x->seed && st.npair < MAX_SEEDS) {
                    dsum[st.npair++] = z->mse_n - x->mse_n;
                    if (z->mse_n < x->mse_n) st.wins++;
                    break;
                }
            }
        }
        if (x->kind == RUN_KD && st.nkd < MAX_SEEDS) a2[st.nkd++] = x->mse_n;
    }
    st.raw[0] = ex_mean(a1, st.nraw), st.raw[1] = ex_std(a1, st.nraw);
    st.kd[0] = ex_mean(a2, st.nkd), st.kd[1] = ex_std(a2, st.nkd);
    st.diff[0] = ex_mean(dsum, st.npair), st.diff[1] = ex_std(dsum, st.npair);
    return st;
}

/* ---- formatting ------------------------------------------------------------------ */

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

/* The order of the main table's rows. */
static const run_kind MAIN_ORDER[] = {RUN_PERSISTENCE, RUN_SEASONAL,      RUN_NLINEAR,        RUN_DLINEAR,
                                      RUN_TEACHER,      RUN_TEACHER_ENSEMBLE, RUN_TEACHER_MV,
                                      RUN_TEACHER_DIST, RUN_MID,          RUN_RAW,            RUN_RAW_LAST,
                                      RUN_KD,           RUN_KD_ALPHA_ONLY, RUN_KD_BETA_ONLY,  RUN_RAW_DIST,
                                      RUN_KD_DIST,      RUN_KD_ENSEMBLE,  RUN_KD_INCREMENTAL, RUN_KD_PROGRESSIVE};
#define N_MAIN_ORDER ((int)(sizeof MAIN_ORDER / sizeof MAIN_ORDER[0]))

/* The main table of one series in Markdown. */
static void write_main_table(FILE *f, const experiment *e, const char *series)
{
    int i;
    fprintf(f, "| model | size | mode | α / β / T | n | test MSE (norm.) | test MAE (norm.) | test MSE (orig.) | "
               "test MAE (orig.) | val MSE | params | FLOPs/forecast | latency µs | train s |\n");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (i = 0; i < N_MAIN_ORDER; ++i) {
        run_kind k = MAIN_ORDER[i];
        const run_kind_info *ki = &RUN_INFO[k];
        agg a = aggregate(e, series, k, -1, -1);
        char c1[48], c2[48], c3[48], c4[48], c5[48], fl[32], size[96], w[48], lat[32], mode[48], label[256];
        int baseline = k == RUN_PERSISTENCE || k == RUN_SEASONAL || k == RUN_NLINEAR || k == RUN_DLINEAR;
        if (!a.n) continue;
        fmt_pm(c1, sizeof c1, a.mse_n, a.n, 4);
        fmt_pm(c2, sizeof c2, a.mae_n, a.n, 4);
        fmt_pm(c3, sizeof c3, a.mse_o, a.n, 3);
        fmt_pm(c4, sizeof c4, a.mae_o, a.n, 3);
        fmt_pm(c5, sizeof c5, a.val, a.n, 4);
        fmt_flops(fl, sizeof fl, a.flops);
        if (baseline) snprintf(size, sizeof size, "-");
        else if (k == RUN_TEACHER_ENSEMBLE) snprintf(size, sizeof size, "%d×(%dx%d)", e->o.teachers, a.layers, a.hidden);
        else if (a.arch[0]) snprintf(size, sizeof size, "%s", a.arch);
        else snprintf(size, sizeof size, "%dx%d", a.layers, a.hidden);
        if (ki->soft != SOFT_NONE) {
            if (a.mode == KDTS_MODE_DIST) snprintf(w, sizeof w, "%.2g / %.2g / %.2g", a.alpha, a.beta, a.temp);
            else snprintf(w, sizeof w, "%.2g / %.2g / -", a.alpha, a.beta);
        } else {
            snprintf(w, sizeof w, "-");
        }
        if (baseline) snprintf(lat, sizeof lat, "-");
        else snprintf(lat, sizeof lat, "%.1f", a.lat_us);
        snprintf(mode, sizeof mode, "%s", baseline ? "-"
                                          : a.mode == KDTS_MODE_DIST ? (a.hard_last ? "dist (hard: last step)" : "dist")
                                                                     : (a.hard_last ? "point (hard: last step)" : "point"));
        if (k == RUN_SEASONAL) snprintf(size, sizeof size, "period %d", a.hidden);
        if (k == RUN_NLINEAR || k == RUN_DLINEAR) snprintf(w, sizeof w, "λ %.2g", a.alpha);
        if (k == RUN_TEACHER_MV) {
            agg u = aggregate(e, series, RUN_TEACHER, -1, KDTS_MODE_POINT);
            snprintf(label, sizeof label, "%s (every column an input); beats the univariate teacher on validation: "
                     "%s (val %.5f vs. %.5f)", ki->label, u.n && a.val[0] < u.val[0] ? "**yes**" : "no", a.val[0],
                     u.val[0]);
        } else {
            snprintf(label, sizeof label, "%s", ki->label);
        }
        fprintf(f, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %.0f | %s | %s | %.1f |\n", label, size,
                mode, w, a.n, c1, c2, c3, c4, c5, a.params, fl, lat, a.train_s);
    }
}

typedef struct pair_spec {
    run_kind a, b;
    int mode_a, mode_b; /* -1: any */
    const char *label;
} pair_spec;

static const pair_spec PAIRS[] = {
    {RUN_KD, RUN_RAW, KDTS_MODE_POINT, KDTS_MODE_POINT, "KD (point) − raw (point)"},
    {RUN_KD, RUN_RAW_LAST, KDTS_MODE_POINT, KDTS_MODE_POINT, "KD (point) − raw with last-step hard loss (control)"},
    {RUN_KD_ALPHA_ONLY, RUN_RAW, KDTS_MODE_POINT, KDTS_MODE_POINT, "KD alpha only − raw"},
    {RUN_KD_BETA_ONLY, RUN_RAW, KDTS_MODE_POINT, KDTS_MODE_POINT, "KD beta only − raw"},
    {RUN_KD_DIST, RUN_RAW_DIST, KDTS_MODE_DIST, KDTS_MODE_DIST, "KD (dist) − raw (dist)"},
    {RUN_KD_DIST, RUN_RAW, -1, KDTS_MODE_POINT, "KD (dist) − raw (point)"},
    {RUN_KD_ENSEMBLE, RUN_RAW, KDTS_MODE_POINT, KDTS_MODE_POINT, "KD ensemble − raw"},
    {RUN_KD_INCREMENTAL, RUN_RAW, KDTS_MODE_POINT, KDTS_MODE_POINT, "KD incremental − raw"},
    {RUN_KD_PROGRESSIVE, RUN_RAW, KDTS_MODE_POINT, KDTS_MODE_POINT, "KD progressive − raw"},
};
#define N_PAIRS ((int)(sizeof PAIRS / sizeof PAIRS[0]))

static const char *verdict(const paired *p)
{
    if (p->n < 3) return "too few seeds for the test";
    return p->shown < 0 ? "lower (significant)" : p->shown > 0 ? "higher (significant)" : "not shown";
}

static void write_pair_table(FILE *f, const experiment *e, const char *series, int hidden)
{
    int i;
    fprintf(f, "| comparison (same seeds, epochs, lr, early stopping; only the loss differs) | n | KD − raw test MSE "
               "(norm.), mean ± std | relative | seeds where KD won | paired t-test (one-sided, 5%%) |\n"
               "|---|---|---|---|---|---|\n");
    for (i = 0; i < N_PAIRS; ++i) {
        const pair_spec *ps = &PAIRS[i];
        paired p = pair_diff(e, series, ps->a, ps->mode_a, ps->b, ps->mode_b, hidden);
        if (!p.n) continue;
        fprintf(f, "| %s | %d | %+.5f ± %.5f | %+.2f%% | %d of %d | %s |\n", ps->label, p.n, p.mean, p.sd, p.rel, p.wins,
                p.n, verdict(&p));
    }
}

/* ---- the techniques (--techniques) ------------------------------------------------------ */

/* Gap closed (raw - x) / (raw - teacher) in percent into buf; "n/a" when
   the teacher is not better than the raw student. */
static void fmt_gap(char *buf, size_t cap, double raw, double teacher, double x)
{
    if (raw - teacher > 0) snprintf(buf, cap, "%+.0f%%", 100.0 * (raw - x) / (raw - teacher));
    else snprintf(buf, cap, "n/a (teacher not better than raw)");
}

/* The technique rows with runs, plain KD first, the combination last. */
static int tech_rows(const experiment *e, const char *series, int hidden, run_kind *rows)
{
    int n = 0, k;
    rows[n++] = RUN_KD;
    for (k = TECH_FIRST; k <= TECH_LAST; ++k)
        if (aggregate(e, series, (run_kind)k, hidden, KDTS_MODE_POINT).n) rows[n++] = (run_kind)k;
    if (aggregate(e, series, RUN_KD_COMBO, hidden, KDTS_MODE_POINT).n) rows[n++] = RUN_KD_COMBO;
    return n;
}

/* The row chosen on validation: the lowest mean val MSE among plain KD,
   each technique and the combination. */
static run_kind tech_chosen(const experiment *e, const char *series, int hidden)
{
    run_kind rows[RUN_KINDS], best = RUN_KD;
    int n = tech_rows(e, series, hidden, rows), i;
    double bv = 0;
    for (i = 0; i < n; ++i) {
        agg a = aggregate(e, series, rows[i], hidden, KDTS_MODE_POINT);
        if (a.n && (i == 0 || a.val[0] < bv)) bv = a.val[0], best = rows[i];
    }
    return best;
}

static void write_tech_table(FILE *f, const experiment *e, const series_out *s, int hidden)
{
    agg te = aggregate(e, s->name, RUN_TEACHER, -1, KDTS_MODE_POINT);
    agg raw = aggregate(e, s->name, RUN_RAW, hidden, KDTS_MODE_POINT);
    agg ctl = aggregate(e, s->name, RUN_RAW_LAST, hidden, KDTS_MODE_POINT);
    run_kind rows[RUN_KINDS], chosen;
    int n, i;
    char c1[64], g[64], what[256];
    if (!aggregate(e, s->name, TECH_FIRST, hidden, KDTS_MODE_POINT).n || !raw.n || !te.n) return;
    n = tech_rows(e, s->name, hidden, rows);
    chosen = tech_chosen(e, s->name, hidden);
    fprintf(f, "| model | settings | n | test MSE (norm.) | val MSE | gap closed | seeds won vs. raw | seeds won vs. "
               "control |\n|---|---|---|---|---|---|---|---|\n");
    fmt_pm(c1, sizeof c1, te.mse_n, te.n, 4);
    fprintf(f, "| teacher | %s | %d | %s | %.5f | - | - | - |\n", te.arch, te.n, c1, te.val[0]);
    fmt_pm(c1, sizeof c1, raw.mse_n, raw.n, 4);
    fprintf(f, "| student raw | hard labels | %d | %s | %.5f | 0%% | - | - |\n", raw.n, c1, raw.val[0]);
    if (ctl.n) {
        paired pr = pair_diff(e, s->name, RUN_RAW_LAST, KDTS_MODE_POINT, RUN_RAW, KDTS_MODE_POINT, hidden);
        fmt_pm(c1, sizeof c1, ctl.mse_n, ctl.n, 4);
        fmt_gap(g, sizeof g, raw.mse_n[0], te.mse_n[0], ctl.mse_n[0]);
        fprintf(f, "| control | hard loss on the last step only | %d | %s | %.5f | %s | %d of %d | - |\n", ctl.n, c1,
                ctl.val[0], g, pr.wins, pr.n);
    }
    for (i = 0; i < n; ++i) {
        agg a = aggregate(e, s->name, rows[i], hidden, KDTS_MODE_POINT);
        paired pr = pair_diff(e, s->name, rows[i], KDTS_MODE_POINT, RUN_RAW, KDTS_MODE_POINT, hidden);
        paired pc = pair_diff(e, s->name, rows[i], KDTS_MODE_POINT, RUN_RAW_LAST, KDTS_MODE_POINT, hidden);
        char wc[32];
        if (rows[i] == RUN_KD) snprintf(what, sizeof what, "α %.2g, β %.2g", s->chosen_alpha, s->chosen_beta);
        else tech_describe(rows[i] == RUN_KD_COMBO ? s->combo : RUN_INFO[rows[i]].tech, what, sizeof what);
        fmt_pm(c1, sizeof c1, a.mse_n, a.n, 4);
        fmt_gap(g, sizeof g, raw.mse_n[0], te.mse_n[0], a.mse_n[0]);
        if (pc.n) snprintf(wc, sizeof wc, "%d of %d", pc.wins, pc.n);
        else snprintf(wc, sizeof wc, "-");
        fprintf(f, "| %s%s%s | %s | %d | %s | %.5f | %s | %d of %d | %s |\n", rows[i] == chosen ? "**" : "",
                rows[i] == RUN_KD ? "student KD" : RUN_INFO[rows[i]].label, rows[i] == chosen ? "** (chosen)" : "",
                what, a.n, c1, a.val[0], g, pr.wins, pr.n, wc);
    }
    fprintf(f, "\nGap closed = (raw − row) / (raw − teacher) of the mean test MSE. Every technique row is the KD "
               "student (α, β as chosen) with one option of `kdts_train_config` added; the combination takes every "
               "option whose mean validation MSE over the seeds is below plain KD's (%s); the row chosen (bold) has "
               "the lowest mean validation MSE. Validation only: the test split chooses nothing.\n",
            s->combo ? "here: the settings listed" : "here: none, so the combination is plain KD");
}

/* Verdicts on the claims of the source document for one series. A claim
   about a difference holds only when the paired t-test shows it. */
static void write_claims(FILE *f, const experiment *e, const char *series, int hidden)
{
    agg pe = aggregate(e, series, RUN_PERSISTENCE, -1, -1);
    agg sn = aggregate(e, series, RUN_SEASONAL, -1, -1);
    agg nl = aggregate(e, series, RUN_NLINEAR, -1, -1), dl = aggregate(e, series, RUN_DLINEAR, -1, -1);
    agg te = aggregate(e, series, RUN_TEACHER, -1, KDTS_MODE_POINT);
    agg raw = aggregate(e, series, RUN_RAW, hidden, KDTS_MODE_POINT);
    agg kd = aggregate(e, series, RUN_KD, hidden, KDTS_MODE_POINT);
    paired p = pair_diff(e, series, RUN_KD, KDTS_MODE_POINT, RUN_RAW, KDTS_MODE_POINT, hidden);
    paired c = pair_diff(e, series, RUN_KD, KDTS_MODE_POINT, RUN_RAW_LAST, KDTS_MODE_POINT, hidden);
    double keep_raw, keep_kd, best_base = pe.mse_n[0];
    const char *v, *best_name = "persistence";
    if (!te.n || !raw.n || !kd.n) return;
    if (sn.n && sn.mse_n[0] < best_base) best_base = sn.mse_n[0], best_name = "seasonal naive";
    if (nl.n && nl.mse_n[0] < best_base) best_base = nl.mse_n[0], best_name = "NLinear";
    if (dl.n && dl.mse_n[0] < best_base) best_base = dl.mse_n[0], best_name = "DLinear";
    /* 1. more accurate than raw */
    if (p.n < 3) v = "not shown (fewer than 3 seeds)";
    else if (p.shown < 0 && (!c.n || c.shown < 0)) v = "holds";
    else if (p.shown < 0) v = "mixed (KD beats the raw student beyond noise, the control below not)";
    else if (p.shown > 0) v = "does not hold (KD is worse beyond noise)";
    else v = "not shown (the difference is within the seed noise)";
    fprintf(f, "- **Distilled student more accurate than the raw one: %s.** KD − raw test MSE = %+.5f ± %.5f "
               "(%+.2f%%), KD won on %d of %d seeds (raw %.4f ± %.4f, KD %.4f ± %.4f); paired t = %.2f.\n",
            v, p.mean, p.sd, p.rel, p.wins, p.n, raw.mse_n[0], raw.mse_n[1], kd.mse_n[0], kd.mse_n[1], p.t);
    if (c.n) {
        agg rl = aggregate(e, series, RUN_RAW_LAST, hidden, KDTS_MODE_POINT);
        fprintf(f, "  Control: a raw student trained with the hard loss on the last step only scores %.4f ± %.4f; "
                   "KD − this control = %+.5f ± %.5f (%+.2f%%), KD won on %d of %d seeds (%s).\n",
                rl.mse_n[0], rl.mse_n[1], c.mean, c.sd, c.rel, c.wins, c.n, verdict(&c));
    }
    /* 2. close to the teacher: share of the teacher's gain over the best baseline kept */
    if (best_base > te.mse_n[0]) {
        keep_raw = 100.0 * (best_base - raw.mse_n[0]) / (best_base - te.mse_n[0]);
        keep_kd = 100.0 * (best_base - kd.mse_n[0]) / (best_base - te.mse_n[0]);
        v = keep_kd >= 75 ? "holds" : keep_kd >= 25 ? "mixed" : "does not hold";
        fprintf(f, "- **Close to the teacher: %s.** Teacher %.4f, KD student %.4f (%+.1f%% vs. teacher), best baseline "
                   "(%s) %.4f: the KD student keeps %.0f%% of the teacher's gain over it (raw student: %.0f%%).\n",
                v, te.mse_n[0], kd.mse_n[0], 100.0 * (kd.mse_n[0] - te.mse_n[0]) / te.mse_n[0], best_name, best_base,
                keep_kd, keep_raw);
    } else {
        fprintf(f, "- **Close to the teacher: not measurable.** The teacher (%.4f) does not beat the best baseline, "
                   "%s (%.4f), here: it is not a useful teacher with these settings.\n",
                te.mse_n[0], best_name, best_base);
    }
    /* 3. cheaper */
    {
        double fr = te.flops / kd.flops, pr = te.params / kd.params, lr = kd.lat_us > 0 ? te.lat_us / kd.lat_us : 0;
        v = fr >= 10 && lr >= 3 ? "holds" : fr >= 10 || lr >= 3 ? "mixed" : "does not hold";
        fprintf(f, "- **Much cheaper to run: %s.** %.0fx fewer FLOPs per forecast (%.0f vs. %.0f), %.0fx fewer "
                   "parameters (%.0f vs. %.0f), %.1fx lower measured latency (%.1f µs vs. %.1f µs per forecast, "
                   "kdts_infer_window).\n",
                v, fr, kd.flops, te.flops, pr, kd.params, te.params, lr, kd.lat_us, te.lat_us);
    }
}

/* ---- files ------------------------------------------------------------------------- */

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

static FILE *open_out(const char *dir, const char *name)
{
    char path[1024];
    FILE *f;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) ex_die("output path too long: %s", dir);
    f = fopen(path, "w");
    if (!f) ex_die("cannot write %s", path);
    return f;
}

static void close_out(FILE *f, const char *name)
{
    if (ferror(f) | fclose(f)) ex_die("writing %s failed", name);
}

void write_csv(const experiment *e, const char *dir)
{
    FILE *f = open_out(dir, "results.csv");
    int i;
    fprintf(f, "series,model,seed,layers,hidden,mode,bins,hard_last_only,alpha,beta,T,test_mse_norm,test_mae_norm,"
               "test_mse_orig,test_mae_orig,val_mse_norm,params,flops,latency_us,train_seconds,epochs_run,best_epoch,"
               "table,arch,teacher_kind,student_kind,epochs_planned,patience_planned,steps,techniques\n");
    for (i = 0; i < e->nruns; ++i) {
        const run_rec *r = &e->runs[i];
        fprintf(f, "%s,%s,%d,%d,%d,%s,%d,%d,%.6g,%.6g,%.6g,%.9g,%.9g,%.9g,%.9g,%.9g,%.0f,%.0f,%.4g,%.4g,%d,%d,%s,%s,%d,%d,"
                   "%d,%d,%lld,%d\n",
                r->series, RUN_INFO[r->kind].id, r->seed, r->layers, r->hidden,
                r->mode == KDTS_MODE_DIST ? "dist" : "point", r->bins, r->hard_last, r->alpha, r->beta, r->temp,
                r->mse_n, r->mae_n, r->mse_o, r->mae_o, r->val_mse, r->params, r->flops, r->lat_us, r->train_s,
                r->epochs_run, r->best_epoch, r->table == TAB_SWEEP ? "sweep" : r->table == TAB_MATRIX ? "matrix" : "main",
                r->arch, r->tk, r->sk, r->epochs_plan, r->patience_plan, r->steps, r->tech);
    }
    close_out(f, "results.csv");
    f = open_out(dir, "grid.csv");
    fprintf(f, "series,mode,alpha,beta,T,val_mse_norm,chosen\n");
    for (i = 0; i < e->ngrid; ++i) {
        const grid_rec *g = &e->grid[i];
        fprintf(f, "%s,%s,%.6g,%.6g,%.6g,%.9g,%d\n", g->series, g->mode == KDTS_MODE_DIST ? "dist" : "point", g->alpha,
                g->beta, g->temp, g->val_mse, g->chosen);
    }
    close_out(f, "grid.csv");
}

void write_report(const experiment *e, const series_out *so, int nseries, double total_s)
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
    fprintf(f, "\n- mode: %s; %d seed%s (%llu..%llu); wall time %.1f s\n",
            o->full ? "--full" : o->quick ? "--quick" : "default", o->seeds, o->seeds > 1 ? "s" : "", o->seed,
            o->seed + o->seeds - 1, total_s);
    fprintf(f, "\nAll errors are on the test split unless marked val; *normalized* = units of the z-scored target "
               "(scaler fit on the training rows), *original* = the CSV's units. Mean ± sample std over seeds. "
               "Test errors come from the deployment path: each trained model is packed with its data settings "
               "(`kdts_task_model`), saved under `models/` (open any with `kdts info` / `kdts eval`), and run by "
               "`kdts_infer` on the raw test windows. Latency = median wall time of one forecast through "
               "`kdts_infer_window` (one window, single thread, memory set up beforehand); FLOPs per forecast from "
               "`kdts_lstm_forecast_flops` (the LSTM over every step, the head on the last). Training time = wall "
               "seconds of training (the CPU may be shared: times are indicative). Every KD student of a row uses "
               "the same seeds, epochs, learning rate and early-stopping rule as the raw student: only the loss "
               "differs. The KD (point) students learn from teacher #1; the ensemble student from the average of "
               "all point teachers; the dist student from the distribution-mode teacher (soft loss T²·KL on its bin "
               "probabilities, plus β·L_seq on its expected values). Soft targets are computed once per teacher "
               "and shared by the students. Differences are judged by a one-sided paired t-test over the seeds at "
               "the 5%% level: \"not shown\" when the difference is within the seed noise.\n");
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
            /* what to pick, by validation MSE (never the test split): the
               lowest, and the cheapest within 1% of it */
            int bi = -1, ci = -1;
            double bv = 0, cf = 0;
            agg b, c;
            for (i = 0; i < N_MAIN_ORDER; ++i) {
                agg a = aggregate(e, s->name, MAIN_ORDER[i], -1, -1);
                if (a.n && (bi < 0 || a.val[0] < bv)) bi = i, bv = a.val[0];
            }
            for (i = 0; bi >= 0 && i < N_MAIN_ORDER; ++i) {
                agg a = aggregate(e, s->name, MAIN_ORDER[i], -1, -1);
                if (a.n && a.val[0] <= bv * 1.01 && (ci < 0 || a.flops < cf)) ci = i, cf = a.flops;
            }
            if (bi >= 0 && ci >= 0) {
                b = aggregate(e, s->name, MAIN_ORDER[bi], -1, -1);
                c = aggregate(e, s->name, MAIN_ORDER[ci], -1, -1);
                fprintf(f, "\nWhich to pick (by validation MSE): for accuracy, %s%s%s (val %.5f, test %.5f); for "
                           "cost, the cheapest within 1%% of that on validation: %s%s%s (val %.5f, test %.5f, %.0f "
                           "FLOPs per forecast).\n",
                        RUN_INFO[MAIN_ORDER[bi]].label, b.arch[0] ? ", " : "", b.arch, b.val[0], b.mse_n[0],
                        RUN_INFO[MAIN_ORDER[ci]].label, c.arch[0] ? ", " : "", c.arch, c.val[0], c.mse_n[0], c.flops);
            }
        }
        {
            agg te = aggregate(e, s->name, RUN_TEACHER, -1, 0), st = aggregate(e, s->name, RUN_KD, hidden, 0);
            agg td = aggregate(e, s->name, RUN_TEACHER_DIST, -1, 1), sd = aggregate(e, s->name, RUN_KD_DIST, hidden, 1);
            if (te.n && st.n)
                fprintf(f, "\nFLOPs ratio teacher / student (point): %.1fx; parameters %.1fx.", te.flops / st.flops,
                        te.params / st.params);
            if (td.n && sd.n)
                fprintf(f, " Distribution mode (%d bins): %.1fx FLOPs, %.1fx parameters.", o->bins,
                        td.flops / sd.flops, td.params / sd.params);
            fprintf(f, "\n");
        }
        fprintf(f, "\n### Paired differences, student size 1x%d\n\n", hidden);
        write_pair_table(f, e, s->name, hidden);
        if (aggregate(e, s->name, TECH_FIRST, hidden, KDTS_MODE_POINT).n) {
            fprintf(f, "\n### Distillation techniques, student 1x%d (point mode, %d seeds)\n\n", hidden, o->seeds);
            write_tech_table(f, e, s, hidden);
        }
        fprintf(f, "\n### Choice of α, β, T (validation split only, seed %llu, student 1x%d)\n\n", o->seed, hidden);
        {
            int r;
            for (r = 0; r < e->nruns; ++r)
                if (same_key(&e->runs[r], s->name, RUN_RAW, hidden, 0, TAB_MAIN) && e->runs[r].seed == (int)o->seed)
                    fprintf(f, "Reference: raw student (α = 0, β = 0), same seed: val MSE %.5f.\n\n", e->runs[r].val_mse);
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
                   "(forecast vs. actual on the first windows of the test split, original units), "
                   "[%s_size.svg](%s_size.svg) (test MSE vs. student size). Time for this series: %.1f s.\n",
                s->name, s->name, s->name, s->name, s->name, s->name, s->seconds);
    }
    if (nseries > 1) {
        int wins_series = 0, nser = 0;
        fprintf(f, "\n## Across series: is distillation more stable?\n\n");
        fprintf(f, "| series | KD − raw (norm. MSE) | relative | seeds KD won | paired t-test | std over seeds raw | "
                   "std over seeds KD | KD dist − raw dist | seeds won |\n|---|---|---|---|---|---|---|---|---|\n");
        for (j = 0; j < nseries; ++j) {
            paired p = pair_diff(e, so[j].name, RUN_KD, 0, RUN_RAW, 0, o->s_hidden);
            paired pd = pair_diff(e, so[j].name, RUN_KD_DIST, 1, RUN_RAW_DIST, 1, o->s_hidden);
            agg raw = aggregate(e, so[j].name, RUN_RAW, o->s_hidden, 0);
            agg kd = aggregate(e, so[j].name, RUN_KD, o->s_hidden, 0);
            if (!p.n) continue;
            nser++;
            if (p.mean < 0) wins_series++;
            fprintf(f, "| %s | %+.5f ± %.5f | %+.2f%% | %d of %d | %s | %.5f | %.5f | %+.5f ± %.5f | %d of %d |\n",
                    so[j].name, p.mean, p.sd, p.rel, p.wins, p.n, verdict(&p), raw.mse_n[1], kd.mse_n[1], pd.mean,
                    pd.sd, pd.wins, pd.n);
        }
        fprintf(f, "\nKD (point) has the lower mean test MSE on %d of %d series.\n", wins_series, nser);
        if (aggregate(e, so[0].name, TECH_FIRST, o->s_hidden, KDTS_MODE_POINT).n) {
            fprintf(f, "\n## Across series: the distillation recipe chosen on validation\n\n| series | teacher | raw | "
                       "control | KD | chosen on validation | its test MSE | gap closed | seeds won vs. raw | vs. "
                       "control |\n|---|---|---|---|---|---|---|---|---|---|\n");
            for (j = 0; j < nseries; ++j) {
                int h = o->s_hidden;
                run_kind c = tech_chosen(e, so[j].name, h);
                agg te = aggregate(e, so[j].name, RUN_TEACHER, -1, 0), raw = aggregate(e, so[j].name, RUN_RAW, h, 0);
                agg ctl = aggregate(e, so[j].name, RUN_RAW_LAST, h, 0), kd = aggregate(e, so[j].name, RUN_KD, h, 0);
                agg ch = aggregate(e, so[j].name, c, h, 0);
                paired pr = pair_diff(e, so[j].name, c, 0, RUN_RAW, 0, h), pc = pair_diff(e, so[j].name, c, 0, RUN_RAW_LAST, 0, h);
                char g[64], r1[48], r2[48], r3[48];
                if (!ch.n || !raw.n) continue;
                fmt_gap(g, sizeof g, raw.mse_n[0], te.mse_n[0], ch.mse_n[0]);
                fmt_pm(r1, sizeof r1, raw.mse_n, raw.n, 4);
                fmt_pm(r2, sizeof r2, ctl.mse_n, ctl.n, 4);
                fmt_pm(r3, sizeof r3, ch.mse_n, ch.n, 4);
                fprintf(f, "| %s | %.4f | %s | %s | %.4f | %s | %s | %s | %d of %d | %d of %d |\n", so[j].name,
                        te.mse_n[0], r1, r2, kd.mse_n[0], c == RUN_KD ? "plain KD" : RUN_INFO[c].label, r3, g, pr.wins,
                        pr.n, pc.wins, pc.n);
            }
        }
    }
    fprintf(f, "\nFiles: results.csv (one row per trained model and seed, with its table), grid.csv (validation "
               "grid), models/ (every reported model), SVG pictures.\n");
    close_out(f, "results.md");
}

void print_summary(const experiment *e, const series_out *so, int nseries)
{
    int j;
    for (j = 0; j < nseries; ++j) {
        printf("\n== %s (α = %.2g, β = %.2g, T = %.2g)\n\n", so[j].name, so[j].chosen_alpha, so[j].chosen_beta,
               so[j].chosen_temp);
        write_main_table(stdout, e, so[j].name);
        printf("\n");
        write_pair_table(stdout, e, so[j].name, e->o.s_hidden);
        printf("\n");
        if (aggregate(e, so[j].name, TECH_FIRST, e->o.s_hidden, KDTS_MODE_POINT).n) {
            write_tech_table(stdout, e, &so[j], e->o.s_hidden);
            printf("\n");
        }
        write_claims(stdout, e, so[j].name, e->o.s_hidden);
    }
}

/* ---- the cross-family matrix (--matrix) ------------------------------------------------ */

/* Mean and std of test and val MSE over the seeds of one matrix cell
   (kind, tk, sk), with the cell's cost; per-seed test MSE into seeds[] by
   seed order. */
typedef struct mx_cell {
    int n;
    double mse[2], val[2], params, flops, lat_us;
    double by_seed[MAX_SEEDS];
    int seed[MAX_SEEDS];
    char arch[80];
} mx_cell;

static mx_cell mx_get(const experiment *e, const char *series, run_kind kind, int tk, int sk)
{
    mx_cell c;
    double v[MAX_SEEDS], w[MAX_SEEDS];
    int i;
    memset(&c, 0, sizeof c);
    for (i = 0; i < e->nruns && c.n < MAX_SEEDS; ++i) {
        const run_rec *r = &e->runs[i];
        if (strcmp(r->series, series) || r->kind != kind || r->table != TAB_MATRIX) continue;
        if ((kind != RUN_MX_RAW && r->tk != tk) || (kind != RUN_MX_TEACHER && r->sk != sk)) continue;
        v[c.n] = r->mse_n, w[c.n] = r->val_mse;
        c.by_seed[c.n] = r->mse_n, c.seed[c.n] = r->seed;
        c.params = r->params, c.flops = r->flops;
        c.lat_us += r->lat_us;
        ex_copy(c.arch, sizeof c.arch, r->arch);
        c.n++;
    }
    if (c.n) {
        c.mse[0] = ex_mean(v, c.n), c.mse[1] = ex_std(v, c.n);
        c.val[0] = ex_mean(w, c.n), c.val[1] = ex_std(w, c.n);
        c.lat_us /= c.n;
    }
    return c;
}

static double mx_baseline(const experiment *e, const char *series, run_kind kind)
{
    int i;
    for (i = 0; i < e->nruns; ++i)
        if (!strcmp(e->runs[i].series, series) && e->runs[i].kind == kind) return e->runs[i].mse_n;
    return 0;
}

void write_matrix(const experiment *e, const series_out *so, int nseries, double total_s)
{
    const options *o = &e->o;
    char mach[256], cpu[256], date[64];
    time_t tt = time(NULL);
    FILE *f;
    int i, j, t, s, nt = 0, ns = 0;
    machine_info(mach, sizeof mach, cpu, sizeof cpu);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&tt));
    for (i = 0; i < e->nruns; ++i) {
        if (e->runs[i].table != TAB_MATRIX) continue;
        if (e->runs[i].tk + 1 > nt) nt = e->runs[i].tk + 1;
        if (e->runs[i].sk + 1 > ns) ns = e->runs[i].sk + 1;
    }
    f = open_out(o->out, "matrix.md");
    fprintf(f, "# kdts cross-family distillation matrix\n\n");
    fprintf(f, "- date: %s\n- machine: %s, %s\n- SIMD path: %s\n- command:", date, mach, cpu, kdts_simd_name());
    for (i = 0; i < e->argc; ++i) fprintf(f, " %s", e->argv[i]);
    fprintf(f, "\n- %d seed%s (%llu..%llu); wall time %.1f s\n", o->seeds, o->seeds > 1 ? "s" : "", o->seed,
            o->seed + o->seeds - 1, total_s);
    fprintf(f, "\nTest MSE in normalized units (mean ± std over the student seeds; teachers: one seed). Every "
               "student of a row has the same seeds, epochs and learning rate raw and distilled: only the loss "
               "differs (KD: α·L_soft + (1−α)·L_hard + β·L_seq with the teacher's forecasts as soft targets, "
               "computed once). %s The linear student starts at its closed-form fit; the best validation weights "
               "are kept (the start included). FLOPs per forecast from `kdts_net_forecast_flops`; latency = median of "
               "`kdts_infer_window` on one window, one thread. \"KD − raw\" is paired over seeds; a difference "
               "inside the seed spread is \"not shown\".\n",
            o->matrix_skip ? "Recurrent and attention models carry a linear skip map started at the closed-form "
                             "NLinear fit (`--matrix-skip`)."
                           : "No skip maps (`--matrix-skip` adds them).");
    for (j = 0; j < nseries; ++j) {
        const char *sn = so[j].name;
        double pers = mx_baseline(e, sn, RUN_PERSISTENCE), seas = mx_baseline(e, sn, RUN_SEASONAL);
        double nlin = mx_baseline(e, sn, RUN_NLINEAR), dlin = mx_baseline(e, sn, RUN_DLINEAR);
        double best = nlin < dlin ? nlin : dlin;
        const char *bestname = nlin < dlin ? "NLinear" : "DLinear";
        const char *labels[64];
        char lbuf[64][200];
        double fl[64], lat[64], mse[64];
        int grp[64], np = 0;
        char tarch[8][80];
        for (t = 0; t < nt && t < 8; ++t) {
            mx_cell c = mx_get(e, sn, RUN_MX_TEACHER, t, -1);
            ex_copy(tarch[t], sizeof tarch[t], c.n ? c.arch : "-");
        }
        if (nt > 8) nt = 8;
        fprintf(f, "\n## %s\n\nSetup: %s. KD weights α = %.2g, β = %.2g.\n\n", sn, so[j].setup[0] ? so[j].setup : "-",
                so[j].chosen_alpha, so[j].chosen_beta);
        fprintf(f, "Baselines (test MSE): persistence %.5f, seasonal naive %.5f, NLinear %.5f, DLinear %.5f.\n\n", pers,
                seas, nlin, dlin);
        fprintf(f, "### Teachers\n\n| teacher | params | FLOPs/forecast | latency | val MSE | test MSE | vs %s |\n"
                   "|---|---|---|---|---|---|---|\n", bestname);
        for (t = 0; t < nt; ++t) {
            mx_cell c = mx_get(e, sn, RUN_MX_TEACHER, t, -1);
            char fls[32];
            if (!c.n) continue;
            fmt_flops(fls, sizeof fls, c.flops);
            fprintf(f, "| %s | %.0f | %s | %.1f µs | %.5f | %.5f | %+.1f%% |\n", c.arch, c.params, fls, c.lat_us,
                    c.val[0], c.mse[0], best > 0 ? 100.0 * (c.mse[0] - best) / best : 0.0);
            if (np < 64) {
                snprintf(lbuf[np], sizeof lbuf[np], "T %s", c.arch);
                labels[np] = lbuf[np], fl[np] = c.flops, lat[np] = c.lat_us, mse[np] = c.mse[0], grp[np++] = 0;
            }
        }
        fprintf(f, "\n### Students: raw and distilled from each teacher (test MSE)\n\n| student | params | FLOPs/forecast "
                   "| latency | raw |");
        for (t = 0; t < nt; ++t) fprintf(f, " KD ← %s |", tarch[t]);
        fprintf(f, "\n|---|---|---|---|---|");
        for (t = 0; t < nt; ++t) fprintf(f, "---|");
        fprintf(f, "\n");
        for (s = 0; s < ns; ++s) {
            mx_cell r = mx_get(e, sn, RUN_MX_RAW, -1, s);
            char fls[32], b[64];
            if (!r.n) continue;
            fmt_flops(fls, sizeof fls, r.flops);
            fmt_pm(b, sizeof b, r.mse, r.n, 5);
            fprintf(f, "| %s | %.0f | %s | %.1f µs | %s |", r.arch, r.params, fls, r.lat_us, b);
            if (np < 64) {
                snprintf(lbuf[np], sizeof lbuf[np], "raw %s", r.arch);
                labels[np] = lbuf[np], fl[np] = r.flops, lat[np] = r.lat_us, mse[np] = r.mse[0], grp[np++] = 1;
            }
            for (t = 0; t < nt; ++t) {
                mx_cell k = mx_get(e, sn, RUN_MX_KD, t, s);
                double d[MAX_SEEDS], dm, dsd, tcrit;
                int q, n = k.n < r.n ? k.n : r.n, wins = 0;
                if (!k.n) {
                    fprintf(f, " - |");
                    continue;
                }
                for (q = 0; q < n; ++q) d[q] = k.by_seed[q] - r.by_seed[q], wins += d[q] < 0;
                dm = ex_mean(d, n), dsd = ex_std(d, n);
                /* one-sided paired t at 5% (t quantiles for n-1 = 1..4; 1.645 beyond) */
                tcrit = n == 2 ? 6.314 : n == 3 ? 2.920 : n == 4 ? 2.353 : n == 5 ? 2.132 : 1.645;
                fmt_pm(b, sizeof b, k.mse, k.n, 5);
                fprintf(f, " %s (%+.1f%%, %d/%d won%s) |", b, r.mse[0] > 0 ? 100.0 * dm / r.mse[0] : 0.0, wins, n,
                        n < 2 ? "" : dsd > 0 && dm / (dsd / sqrt((double)n)) < -tcrit ? ", shown" : ", not shown");
                if (np < 64) {
                    snprintf(lbuf[np], sizeof lbuf[np], "KD %.79s <- %.79s", k.arch, tarch[t]);
                    labels[np] = lbuf[np], fl[np] = k.flops, lat[np] = k.lat_us, mse[np] = k.mse[0], grp[np++] = 2;
                }
            }
            fprintf(f, "\n");
        }
        {
            double lo = 0, hi = 0;
            for (t = 0; t < nt; ++t) {
                mx_cell tc = mx_get(e, sn, RUN_MX_TEACHER, t, -1);
                for (s = 0; s < ns; ++s) {
                    mx_cell r = mx_get(e, sn, RUN_MX_RAW, -1, s);
                    double q = tc.n && r.n && r.flops > 0 ? tc.flops / r.flops : 0;
                    if (q > 0 && (lo == 0 || q < lo)) lo = q;
                    if (q > hi) hi = q;
                }
            }
            fprintf(f, "\nFLOPs per forecast, teacher / student: %.0fx to %.0fx over the pairs%s.\n", lo, hi,
                    lo >= 20 ? " (every student at least 20x cheaper than every teacher)" : " (NOT every pair 20x)");
        }
        {
            /* what a user should pick */
            double bm = 1e30, bs = 1e30;
            const char *bma = "-", *bsa = "-";
            static char bsl[96];
            for (i = 0; i < np; ++i) {
                if (mse[i] < bm) bm = mse[i], bma = labels[i];
                if (grp[i] > 0 && mse[i] < bs) bs = mse[i], bsa = labels[i];
            }
            ex_copy(bsl, sizeof bsl, bsa);
            fprintf(f, "\nMost accurate: %s (%.5f, %+.1f%% against %s %.5f). Best student: %s (%.5f, %+.1f%% against "
                       "%s).\n",
                    bma, bm, best > 0 ? 100 * (bm - best) / best : 0.0, bestname, best, bsl, bs,
                    best > 0 ? 100 * (bs - best) / best : 0.0, bestname);
        }
        {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s_matrix.svg", o->out, sn);
            plot_cost(sn, np, labels, fl, lat, mse, grp, best, bestname, path);
            fprintf(f, "\nPicture: [%s_matrix.svg](%s_matrix.svg) (test MSE against FLOPs and latency).\n", sn, sn);
        }
    }
    close_out(f, "matrix.md");
}
