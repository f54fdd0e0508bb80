/* test_cli - end-to-end test of the kdts tool (build/kdts, built by `make`
   before the tests run): train -> distill -> eval -> predict -> info ->
   export-c on data/ETTh1.csv with small sizes, then the exported header is
   compiled (C99 and C++11, warnings as errors) into a program that checks
   its forecast equals the model file's, bit for bit, and equals `kdts
   predict`. Bad flags, files and data must give non-zero exits and a
   one-line message, and leave no file behind. Compiler: $CC or cc. */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define DIR "build/cli_test"
#define TOOL "build/kdts"
#define SMALL " --lookback 24 --horizon 4 --epochs 1 --max-rows 1500 --quiet"

static char g_out[1 << 16];

/* Run a shell command; stdout+stderr into g_out; returns the exit status. */
static int run(const char *cmd)
{
    char full[4096];
    FILE *p;
    size_t n;
    int st;
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    p = popen(full, "r");
    if (!p) return -1;
    n = fread(g_out, 1, sizeof g_out - 1, p);
    g_out[n] = 0;
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static int one_line(void)
{
    size_t n = strlen(g_out);
    return n > 0 && strchr(g_out, '\n') == g_out + n - 1 && strstr(g_out, "kdts: error:") == g_out;
}

static void expect_fail(const char *cmd, int code, const char *needle)
{
    int rc = run(cmd);
    KT_CHECK(rc == code && one_line() && strstr(g_out, needle), "`%s` -> exit %d, want %d with '%s': %s", cmd, rc,
             code, needle, g_out);
}

int main(void)
{
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    const char *cxx = getenv("CXX") && *getenv("CXX") ? getenv("CXX") : "c++";
    char cmd[2048], last_line[512];
    int rc;
    rc = run("rm -rf " DIR " && mkdir -p " DIR);
    KT_CHECK(rc == 0, "work dir");
    KT_CHECK(exists(TOOL), "%s is built (make builds tools before tests)", TOOL);

    /* help */
    KT_CHECK(run(TOOL " --help") == 0 && strstr(g_out, "distill") && strstr(g_out, "export-c"), "kdts --help");
    KT_CHECK(run(TOOL " train --help") == 0 && strstr(g_out, "--patience") && strstr(g_out, "--window-norm"), "train --help");
    KT_CHECK(run(TOOL " distill --help") == 0 && strstr(g_out, "--alpha-warmup"), "distill --help");

    /* train a teacher, distill a student (two teachers: an ensemble) */
    rc = run(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/teacher.kdts --hidden 8 --layers 2" SMALL);
    KT_CHECK(rc == 0 && exists(DIR "/teacher.kdts"), "train: %d %s", rc, g_out);
    rc = run(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/teacher2.kdts --hidden 8 --layers 1 --seed 2" SMALL);
    KT_CHECK(rc == 0, "train second teacher: %s", g_out);
    rc = run(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/progress.kdts --hidden 4 --epochs 2"
                  " --lookback 24 --horizon 4 --max-rows 1500");
    KT_CHECK(rc == 0 && strstr(g_out, "epoch 1/2") && strstr(g_out, "epoch 2/2") && strstr(g_out, "ETA") &&
             strstr(g_out, "val "), "progress lines: %s", g_out);
    rc = run(TOOL " distill --csv data/ETTh1.csv --target OT --teacher " DIR "/teacher.kdts --teacher " DIR
                  "/teacher2.kdts --out " DIR "/student.kdts --hidden 8 --layers 1 --alpha 0.5 --beta 0.1"
                  " --temperature 2 --alpha-warmup 1 --epochs 1 --max-rows 1500 --quiet");
    KT_CHECK(rc == 0 && exists(DIR "/student.kdts"), "distill: %d %s", rc, g_out);
    rc = run(TOOL " train --csv data/ETTh1.csv --target OT --features HUFL,OT --mode dist --bins 16 --out " DIR
                  "/dist.kdts --hidden 8 --layers 1" SMALL);
    KT_CHECK(rc == 0, "train dist mode with two features: %s", g_out);

    /* eval, predict, info */
    rc = run(TOOL " eval --model " DIR "/student.kdts --csv data/ETTh1.csv --max-rows 1500");
    KT_CHECK(rc == 0 && strstr(g_out, "persistence") && strstr(g_out, "MAPE") && strstr(g_out, "R2") &&
             strstr(g_out, "original units"), "eval: %s", g_out);
    rc = run(TOOL " info --model " DIR "/student.kdts");
    KT_CHECK(rc == 0 && strstr(g_out, "FLOPs") && strstr(g_out, "2 teacher(s)") && strstr(g_out, "teacher.kdts"),
             "info: %s", g_out);
    rc = run(TOOL " predict --model " DIR "/dist.kdts --csv data/ETTh1.csv --max-rows 1500 --last 2");
    KT_CHECK(rc == 0 && strstr(g_out, "OT_t+1_lo") && strstr(g_out, "\n1499,"), "predict dist: %s", g_out);
    rc = run(TOOL " predict --model " DIR "/student.kdts --csv data/ETTh1.csv --max-rows 1500 --last 3");
    {
        int lines = 0;
        char *p, *q;
        for (p = g_out; *p; ++p) lines += *p == '\n';
        KT_CHECK(rc == 0 && lines == 4 && !strncmp(g_out, "row,OT_t+1,OT_t+2,OT_t+3,OT_t+4\n", 32), "predict: %s", g_out);
        q = strstr(g_out, "\n1499,");
        last_line[0] = 0;
        if (q) {
            snprintf(last_line, sizeof last_line, "%s", q + 1);
            if ((p = strchr(last_line, '\n'))) *p = 0;
        }
        KT_CHECK(last_line[0], "last forecast row 1499");
    }

    /* export-c, then compile the header with the library and compare */
    rc = run(TOOL " export-c --model " DIR "/student.kdts --name cli_student --out " DIR "/cli_student.h");
    KT_CHECK(rc == 0 && exists(DIR "/cli_student.h"), "export-c: %s", g_out);
    {
        FILE *f = fopen(DIR "/check_export.c", "w");
        if (f) {
            fputs("#define KDTS_IMPLEMENTATION\n#include \"kdts.h\"\n#include \"cli_student.h\"\n#include <stdio.h>\n#include <string.h>\n"
                  "int main(void) {\n"
                  "  kdts_table t; kdts_csv_config cc = kdts_csv_config_default(); kdts_model m; kdts_infer a, b;\n"
                  "  const char *col = \"OT\"; float fa[4], fb[4]; int j;\n"
                  "  cc.columns = &col; cc.n_columns = 1;\n"
                  "  if (kdts_csv_read_file(&t, \"data/ETTh1.csv\", &cc, NULL) || kdts_model_load_file(&m, \"" DIR "/student.kdts\", NULL)) return 2;\n"
                  "  if (kdts_infer_create(&a, &cli_student_model, 0, NULL) || kdts_infer_create(&b, &m, 0, NULL)) return 3;\n"
                  "  if (kdts_infer_window(&a, t.col[0] + 1500 - 24, 24, fa, NULL, NULL, 0, NULL)) return 4;\n"
                  "  if (kdts_infer_window(&b, t.col[0] + 1500 - 24, 24, fb, NULL, NULL, 0, NULL)) return 5;\n"
                  "  printf(\"1499\"); for (j = 0; j < 4; ++j) printf(\",%.6g\", fa[j]); printf(\"\\n\");\n"
                  "  printf(memcmp(fa, fb, sizeof fa) ? \"DIFF\\n\" : \"SAME\\n\");\n"
                  "  kdts_infer_free(&a); kdts_infer_free(&b); kdts_model_free(&m); kdts_table_free(&t); return 0; }\n", f);
            fclose(f);
        }
    }
    snprintf(cmd, sizeof cmd, "%s -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -I. -I" DIR " -o " DIR
             "/check_export " DIR "/check_export.c -lm", cc);
    rc = run(cmd);
    KT_CHECK(rc == 0, "the exported header compiles warning-free as C99: %s", g_out);
    snprintf(cmd, sizeof cmd, "%s -std=c++11 -O0 -Wall -Wextra -Wpedantic -Werror -I. -I" DIR " -x c++ -c " DIR
             "/check_export.c -o " DIR "/check_export_cpp.o", cxx);
    rc = run(cmd);
    KT_CHECK(rc == 0, "the exported header compiles warning-free as C++11: %s", g_out);
    rc = run(DIR "/check_export");
    {
        char want[600];
        snprintf(want, sizeof want, "%s\nSAME\n", last_line);
        KT_CHECK(rc == 0 && !strcmp(g_out, want), "exported model == model file == kdts predict:\n%s---\n%s", g_out, want);
    }

    /* inspect */
    rc = run(TOOL " inspect --csv data/ETTh1.csv --target OT");
    KT_CHECK(rc == 0 && strstr(g_out, "17420 data rows") && strstr(g_out, "OT") && strstr(g_out, "missing 0"),
             "inspect: %s", g_out);
    {
        FILE *f = fopen(DIR "/bad.csv", "w");
        if (f) {
            fputs("date,a,OT\n1,2,3\n2,5,x7\n", f);
            fclose(f);
        }
    }
    expect_fail(TOOL " inspect --csv " DIR "/bad.csv", 1, "line 3, column 3");
    expect_fail(TOOL " inspect --csv " DIR "/none.csv", 1, "none.csv");

    /* bad flags, files and data: non-zero, one line, nothing written */
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --bogus 3", 2, "unknown flag '--bogus'");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT", 2, "--out is required");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --hidden -4", 2, "--hidden");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --mode fuzzy", 2, "--mode");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --split 0.9,0.9,0.9", 2, "--split");
    expect_fail(TOOL " frobnicate", 2, "unknown command");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target NOPE --out " DIR "/teacher.kdts" SMALL, 1, "NOPE");
    expect_fail(TOOL " train --csv " DIR "/bad.csv --target OT --out " DIR "/teacher.kdts" SMALL, 1, "line 3");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --lookback 2000 --max-rows 1500 --quiet", 1, "window");
    KT_CHECK(!exists(DIR "/x.kdts"), "no model written by failed runs");
    {
        FILE *f = fopen(DIR "/junk.kdts", "w");
        if (f) {
            fputs("this is not a model\n", f);
            fclose(f);
        }
    }
    expect_fail(TOOL " eval --model " DIR "/junk.kdts --csv data/ETTh1.csv", 1, "not a kdts model");
    expect_fail(TOOL " eval --model " DIR "/missing.kdts --csv data/ETTh1.csv", 1, "cannot open");
    expect_fail(TOOL " predict --model " DIR "/student.kdts --csv data/ETTh2.csv --max-rows 10", 1, "fewer than");
    expect_fail(TOOL " export-c --model " DIR "/student.kdts --name 9lives --out " DIR "/y.h", 1, "identifier");
    expect_fail(TOOL " distill --csv data/ETTh1.csv --teacher " DIR "/junk.kdts --out " DIR "/x.kdts", 1, "not a kdts model");
    KT_CHECK(!exists(DIR "/y.h") && !exists(DIR "/x.kdts"), "nothing half-written");
    /* the teacher file overwritten by nothing: still loads after the failed runs */
    rc = run(TOOL " info --model " DIR "/teacher.kdts");
    KT_CHECK(rc == 0 && strstr(g_out, "2 layer(s) x 8 units"), "teacher intact after failed overwrite attempts: %s", g_out);
    rc = run("ls " DIR " | grep -c tmp");
    KT_CHECK(!strncmp(g_out, "0", 1), "no temporary files left: %s", g_out);
    /* the microcontroller demo: the exported student in its static work buffer */
    KT_CHECK(exists("build/mcu_export_demo"), "build/mcu_export_demo is built (make builds examples before tests)");
    rc = run("build/mcu_export_demo");
    KT_CHECK(rc == 0 && strstr(g_out, "bytes of working memory"), "mcu_export_demo: %d %s", rc, g_out);
    return kt_done();
}
