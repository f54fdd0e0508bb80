/* experiment_svg.c - the experiment's pictures as SVG files, drawn with
   fprintf (no dependency): learning curves, forecast vs. actual on a slice
   of the test split, test MSE vs. student size. */
#include "experiment.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct plot_line {
    const char *label, *color;
    int n;
    const double *x, *y;
    int dash;                /* 0 solid, 1 dashed, 2 dotted                  */
    int markers;
    const double *lo, *hi;   /* shaded band (optional)                       */
    int hline;               /* 1: horizontal line at y[0] across the panel */
    int scatter;             /* 1: markers only, no line                     */
    const char *const *plabels; /* scatter: a small label per point (or NULL) */
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
    if (!f) ex_die("cannot write %s", path);
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
        if (!L[i].scatter) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"%s points=\"",
                    L[i].color, dash_attr(L[i].dash));
            for (k = 0; k < L[i].n; ++k)
                if (isfinite(L[i].y[k])) fprintf(f, "%.1f,%.1f ", SX(L[i].x[k]), SY(L[i].y[k]));
            fprintf(f, "\"/>\n");
        }
        if (L[i].plabels)
            for (k = 0; k < L[i].n; ++k)
                if (isfinite(L[i].y[k]) && L[i].plabels[k])
                    svg_text(f, SX(L[i].x[k]) + 6, SY(L[i].y[k]) - 5, "start", 9, NULL, L[i].plabels[k]);
        if (L[i].markers || L[i].scatter)
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
        if (!L[i].scatter)
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"%s/>\n",
                    x, yy, x + 28, yy, L[i].color, dash_attr(L[i].dash));
        if (L[i].markers || L[i].scatter) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x + 14, yy, L[i].color);
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
void plot_learning(const experiment *e, const char *series, const char *path)
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
        const curve *c = &e->curves[i];
        if (strcmp(c->series, series) || c->n < 1) continue;
        xs[nl] = (double *)ex_malloc((size_t)c->n * sizeof(double));
        for (k = 0; k < c->n; ++k) xs[nl][k] = k + 1;
        set_line(&L[nl], c->label, COLORS[nl % 8], c->n, xs[nl], c->loss);
        if (strstr(c->label, "dist")) { /* cross-entropy: another scale, shown in the val panel only */
            nanv[nl] = (double *)ex_malloc((size_t)c->n * sizeof(double));
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

void plot_forecast(const series_out *ss, const slice_pic *sp, const char *path, double coverage)
{
    plot_line L[6];
    double *x = (double *)ex_malloc((size_t)sp->n * sizeof(double));
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
        snprintf(band, sizeof band, "student KD dist + %d%% interval", (int)(coverage * 100 + 0.5));
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

void plot_size(const char *series, const double *sizes, int ns, const double *raw, const double *kd,
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

/* Test MSE against cost, two panels: FLOPs per forecast (log10 x) and
   latency in µs (log10 x); teachers, raw and KD students as three marker
   sets, every point labelled; the best linear baseline as a dashed line. */
void plot_cost(const char *series, int n, const char *const *labels, const double *flops, const double *lat_us,
               const double *mse, const int *group, double best_baseline, const char *baseline_name, const char *path)
{
    static const char *const gname[3] = {"teacher", "student raw", "student KD"};
    double gx[2][3][64], gy[3][64], bl[1], x0[1] = {0};
    const char *gl[3][64];
    int gn[3] = {0, 0, 0}, i, g, k, nl;
    char title[160], bname[80];
    FILE *f;
    for (i = 0; i < n && i < 64; ++i) {
        g = group[i] < 0 || group[i] > 2 ? 2 : group[i];
        gx[0][g][gn[g]] = log10(flops[i] > 1 ? flops[i] : 1);
        gx[1][g][gn[g]] = log10(lat_us[i] > 1e-3 ? lat_us[i] : 1e-3);
        gl[g][gn[g]] = labels[i];
        gy[g][gn[g]++] = mse[i];
    }
    bl[0] = best_baseline;
    snprintf(title, sizeof title, "%s: test MSE against cost (teacher kind x student kind)", series);
    snprintf(bname, sizeof bname, "%s (closed form)", baseline_name);
    f = svg_begin(path, 1320, 560, title);
    for (k = 0; k < 2; ++k) {
        plot_line L[4];
        plot_panel p;
        nl = 0;
        for (g = 0; g < 3; ++g) {
            if (!gn[g]) continue;
            set_line(&L[nl], gname[g], COLORS[g], gn[g], gx[k][g], gy[g])->scatter = 1;
            L[nl++].plabels = gl[g];
        }
        set_line(&L[nl], bname, "#555555", 1, x0, bl)->hline = 1;
        L[nl++].dash = 1;
        panel_at(&p, 95 + k * 560, 55, 480, 400);
        p.xlabel = k ? "log10 latency per forecast (µs, one thread)" : "log10 FLOPs per forecast";
        p.ylabel = "test MSE (normalized units)";
        svg_panel(f, &p, L, nl);
        if (k == 1) svg_end(f, 1150, L, nl);
    }
}
