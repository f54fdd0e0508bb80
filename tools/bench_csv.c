/* bench_csv - CSV reading speed: kdts against pandas.read_csv.

   usage: bench_csv [--rows N] [--out PATH] [--in PATH] [--no-python]
     --rows N     rows to generate (default 10000000)
     --out PATH   where to write the generated file (default /tmp/kdts_bench_csv.csv);
                  an existing file with the right row count is reused
     --in PATH    time an existing CSV file instead (numeric columns detected)
     --no-python  skip the pandas comparison
   The generated file has a date column and 3 numeric columns. Each reader is
   timed 3 times on the same file; the median is reported in MB/s. The pandas
   side runs tools/bench_csv.py with /usr/bin/python3 when pandas imports. */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long count_rows(const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[1 << 16];
    size_t n, i;
    long lines = 0;
    if (!f) return -1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (i = 0; i < n; ++i) lines += buf[i] == '\n';
    fclose(f);
    return lines - 1;
}

static int generate(const char *path, long rows)
{
    FILE *f = fopen(path, "wb");
    kdts_rng r;
    long i;
    double a = 20.0, b = -3.5, c = 1000.0;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 2000, mo = 0, d = 0, h = 0;
    if (!f) return 0;
    kdts_rng_seed(&r, 42);
    fputs("date,load,temp,price\n", f);
    for (i = 0; i < rows; ++i) {
        a += kdts_rng_normal(&r) * 0.1;
        b += kdts_rng_normal(&r) * 0.01;
        c += kdts_rng_normal(&r);
        fprintf(f, "%04d-%02d-%02d %02d:00:00,%.3f,%.4f,%.2f\n", y, mo + 1, d + 1, h, a, b, c);
        if (++h == 24) {
            h = 0;
            if (++d == mdays[mo]) {
                d = 0;
                if (++mo == 12) { mo = 0; ++y; }
            }
        }
    }
    return fclose(f) == 0;
}

int main(int argc, char **argv)
{
    long rows = 10000000;
    const char *out = "/tmp/kdts_bench_csv.csv", *in = NULL, *path;
    int py = 1, i;
    double t[3], kdts_s, mb, py_s = -1.0, py_num_s = -1.0;
    FILE *f;
    long size;
    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc) rows = atol(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--in") && i + 1 < argc) in = argv[++i];
        else if (!strcmp(argv[i], "--no-python")) py = 0;
        else {
            fprintf(stderr, "usage: %s [--rows N (10000000)] [--out PATH (/tmp/kdts_bench_csv.csv)] "
                            "[--in PATH] [--no-python]\n", argv[0]);
            return 2;
        }
    }
    path = in ? in : out;
    if (!in && count_rows(out) != rows) {
        printf("generating %ld rows into %s ...\n", rows, out);
        fflush(stdout);
        if (!generate(out, rows)) { fprintf(stderr, "cannot write %s\n", out); return 1; }
    }
    f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); return 1; }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    mb = (double)size / 1e6;
    for (i = 0; i < 3; ++i) {
        kdts_table tab;
        kdts_error err;
        kdts_result rc;
        double t0 = now_s();
        rc = kdts_csv_read_file(&tab, path, NULL, &err);
        t[i] = now_s() - t0;
        if (rc) { fprintf(stderr, "kdts: %s\n", err.message); return 1; }
        if (i == 0) printf("kdts read %ld rows x %d numeric columns\n", tab.rows, tab.cols);
        kdts_table_free(&tab);
    }
    qsort(t, 3, sizeof t[0], cmp_d);
    kdts_s = t[1];
    if (py && system("/usr/bin/python3 -c 'import pandas' >/dev/null 2>&1") == 0) {
        char cmd[4096];
        FILE *p;
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tools/bench_csv.py '%s'", path);
        p = popen(cmd, "r");
        if (p) {
            char line[256];
            while (fgets(line, sizeof line, p)) {
                double v;
                if (sscanf(line, "pandas_all %lf", &v) == 1) py_s = v;
                if (sscanf(line, "pandas_numeric %lf", &v) == 1) py_num_s = v;
            }
            pclose(p);
        }
    }
    printf("file: %s (%.1f MB)\n", path, mb);
    printf("kdts   kdts_csv_read_file          : %8.3f s  %8.1f MB/s (median of 3)\n", kdts_s, mb / kdts_s);
    if (py_s > 0)
        printf("pandas read_csv (all columns)      : %8.3f s  %8.1f MB/s (median of 3)  kdts/pandas = %.2fx\n",
               py_s, mb / py_s, py_s / kdts_s);
    if (py_num_s > 0)
        printf("pandas read_csv (usecols=numeric)  : %8.3f s  %8.1f MB/s (median of 3)  kdts/pandas = %.2fx\n",
               py_num_s, mb / py_num_s, py_num_s / kdts_s);
    if (py_s <= 0 && py_num_s <= 0) printf("pandas: not available (skipped)\n");
    return 0;
}
