/* test_cli - end-to-end test of the kdts tool (build/kdts, built by `make`
   before the tests run) and of the example programs a user runs first:
   train -> distill -> eval -> predict -> info -> export-c on data/ETTh1.csv
   with small sizes; the exported header compiled (C99 and C++11, warnings
   as errors) into a program whose forecast must equal the model file's and
   `kdts predict`'s; every `build/kdts` command of README.md run exactly as
   written (in a scratch folder); build/quickstart; and the rough edges a
   new user hit: recorded data settings, timestamps, short series, output
   paths checked before training, Ctrl-C, write errors, odd column names,
   headerless files, messages. Bad input gives a non-zero exit and one line.
   Compiler: $CC or cc. */
#define _POSIX_C_SOURCE 200809L
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR "build/cli_test"
#define TOOL "build/kdts"
#define SMALL " --lookback 24 --horizon 4 --epochs 1 --max-rows 1500 --quiet"

#include "kt_shell.h"

static int count(const char *hay, const char *needle)
{
    int n = 0;
    const char *p = hay;
    while ((p = strstr(p, needle)) != NULL) n++, p += strlen(needle);
    return n;
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

/* The commands of README.md's ```sh blocks that start with build/kdts or
   build/quickstart, run exactly as written from a scratch folder that sees
   build/ and data/ (so nothing is written into the checkout). */
static void test_readme(void)
{
    FILE *f = fopen("README.md", "r");
    char line[2048], cmd[4096 + 64], joined[4096];
    int in_sh = 0, ran = 0, rc;
    joined[0] = 0;
    KT_CHECK(f != NULL, "README.md readable");
    if (!f) return;
    run("rm -rf " DIR "/readme && mkdir -p " DIR "/readme && ln -sn \"$(pwd)/build\" " DIR
        "/readme/build && ln -sn \"$(pwd)/data\" " DIR "/readme/data");
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!strncmp(line, "```", 3)) {
            in_sh = !in_sh && !strcmp(line, "```sh");
            continue;
        }
        if (!in_sh) continue;
        if (joined[0] || !strncmp(line, "build/kdts ", 11) || !strncmp(line, "build/quickstart", 16)) {
            char *hash = strstr(line, "  #");
            int cont;
            if (hash) *hash = 0;
            n = strlen(line);
            while (n && line[n - 1] == ' ') line[--n] = 0;
            cont = n && line[n - 1] == '\\';
            if (cont) line[--n] = 0;
            strncat(joined, line, sizeof joined - strlen(joined) - 2);
            if (cont) continue;
            snprintf(cmd, sizeof cmd, "cd " DIR "/readme && %s", joined);
            rc = run(cmd);
            KT_CHECK(rc == 0, "README command `%s` -> exit %d: %.400s", joined, rc, g_out);
            ran++;
            joined[0] = 0;
        }
    }
    fclose(f);
    KT_CHECK(ran >= 10, "README commands run: %d", ran);
    printf("README: %d commands run as written\n", ran);
}

static void test_quickstart(void)
{
    int rc = run("r=$(pwd) && mkdir -p " DIR "/qs && cd " DIR "/qs && ln -sfn \"$r/data\" data && \"$r/build/quickstart\"");
    KT_CHECK(rc == 0 && strstr(g_out, "student") && strstr(g_out, "OT"), "quickstart: %d %.600s", rc, g_out);
    KT_CHECK(exists(DIR "/qs/student.kdts"), "quickstart saved its student");
    rc = run(TOOL " info --model " DIR "/qs/student.kdts");
    KT_CHECK(rc == 0 && strstr(g_out, "kind         LSTM 1x8,"), "the quickstart's model opens: %s", g_out);
}

/* Ctrl-C during training: the best weights so far are saved, exit 130. */
static void test_interrupt(void)
{
    int rc = run("rm -f " DIR "/int.kdts " DIR "/int.log; (" TOOL " train --csv data/ETTh1.csv --target OT --out " DIR
                 "/int.kdts --hidden 4 --layers 1 --lookback 24 --horizon 4 --max-rows 1500 --epochs 100000"
                 " --patience 0 > " DIR "/int.log 2>&1 & pid=$!; i=0; until grep -q 'epoch 2/' " DIR
                 "/int.log; do sleep 0.1; i=$((i+1)); [ $i -gt 3000 ] && break; done; kill -INT $pid; wait $pid;"
                 " echo \"rc=$?\"; cat " DIR "/int.log)");
    KT_CHECK(rc == 0 && strstr(g_out, "rc=130") && strstr(g_out, "interrupted") && strstr(g_out, "int.kdts"),
             "Ctrl-C: %.600s", g_out);
    rc = run(TOOL " info --model " DIR "/int.kdts");
    KT_CHECK(rc == 0 && strstr(g_out, "best validation MSE"), "the interrupted run's model loads: %s", g_out);
}

/* The data settings travel with the model. */
static void test_recorded(void)
{
    int rc;
    char csv[1 << 14];
    size_t n = 0;
    int i;
    /* a series with missing values and dates */
    n += (size_t)snprintf(csv + n, sizeof csv - n, "when,y\n");
    for (i = 0; i < 300; ++i)
        n += (size_t)snprintf(csv + n, sizeof csv - n, "2020-01-%02d %02d:00,%s\n", 1 + i / 24, i % 24,
                              i % 37 == 5 ? "" : (i % 2 ? "1.5" : "2.25"));
    write_file(DIR "/gaps.csv", csv);
    expect_fail(TOOL " train --csv " DIR "/gaps.csv --target y --out " DIR "/g.kdts --lookback 12 --horizon 3 --quiet", 1,
                "missing");
    rc = run(TOOL " train --csv " DIR "/gaps.csv --target y --out " DIR "/g.kdts --lookback 12 --horizon 3 --hidden 4"
                  " --layers 1 --epochs 1 --missing interpolate --split 180,60,60 --quiet");
    KT_CHECK(rc == 0, "train with --missing interpolate: %s", g_out);
    rc = run(TOOL " eval --model " DIR "/g.kdts --csv " DIR "/gaps.csv");
    KT_CHECK(rc == 0 && strstr(g_out, "test rows 241..300"), "eval uses the recorded missing policy and split: %s", g_out);
    expect_fail(TOOL " eval --model " DIR "/g.kdts --csv " DIR "/gaps.csv --missing error", 2, "drop --missing");
    expect_fail(TOOL " eval --model " DIR "/g.kdts --csv " DIR "/gaps.csv --split 0.6,0.2,0.2", 2, "drop --split");
    rc = run(TOOL " eval --model " DIR "/g.kdts --csv " DIR "/gaps.csv --split 180,60,60");
    KT_CHECK(rc == 0, "the same --split as recorded is fine: %s", g_out);
    rc = run(TOOL " predict --model " DIR "/g.kdts --csv " DIR "/gaps.csv --last 1");
    KT_CHECK(rc == 0 && !strncmp(g_out, "origin,time,step,y\n2020-01-13 11:00,2020-01-13 12:00,1,", 55) &&
                 strstr(g_out, "2020-01-13 14:00,3,"),
             "predict prints the origin and target times: %s", g_out);
    rc = run(TOOL " info --model " DIR "/g.kdts");
    KT_CHECK(rc == 0 && strstr(g_out, "missing interpolate") && strstr(g_out, "train 1..180") && strstr(g_out, "when"),
             "info shows the data settings: %s", g_out);
    /* dates that repeat: a warning */
    write_file(DIR "/rep.csv", "t,y\n2020-01-01,1\n2020-01-01,2\n2020-01-02,3\n2020-01-03,4\n2020-01-04,5\n"
                               "2020-01-05,6\n2020-01-06,7\n2020-01-07,8\n2020-01-08,9\n2020-01-09,8\n2020-01-10,7\n");
    rc = run(TOOL " train --csv " DIR "/rep.csv --target y --out " DIR "/r.kdts --lookback 2 --horizon 1 --hidden 2"
                  " --layers 1 --epochs 1 --split 1,0,0 --quiet");
    KT_CHECK(rc == 0 && strstr(g_out, "backwards or repeat") && strstr(g_out, "no validation part"),
             "repeated dates and no validation part warned: %s", g_out);
}

/* Short series: say what would fit instead. */
static void test_short(void)
{
    expect_fail(TOOL " train --csv data/example_air_passengers.csv --target y --out " DIR "/ap.kdts", 1,
                "lookback 19 with horizon 9");
    KT_CHECK(run(TOOL " train --csv data/example_air_passengers.csv --target y --out " DIR "/ap.kdts --lookback 19"
                      " --horizon 9 --hidden 4 --layers 1 --epochs 1 --quiet") == 0,
             "the suggestion works: %s", g_out);
}

/* Output paths are checked before any training. */
static void test_outputs(void)
{
    run("mkdir -p " DIR "/adir && cp data/example_air_passengers.csv " DIR "/in.csv && ln -sf in.csv " DIR "/link.csv");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/nofolder/m.kdts" SMALL, 1, "does not exist");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/adir" SMALL, 1, "a folder");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out /dev/null" SMALL, 1, "character device");
    expect_fail(TOOL " train --csv " DIR "/in.csv --target y --out " DIR "/link.csv --lookback 4 --horizon 2", 2,
                "is the input");
    expect_fail(TOOL " export-c --model " DIR "/teacher.kdts --name t --out " DIR "/teacher.kdts", 2, "is the input");
    expect_fail(TOOL " distill --csv data/ETTh1.csv --teacher " DIR "/teacher.kdts --out " DIR "/teacher.kdts", 2,
                "is the input");
    KT_CHECK(exists(DIR "/in.csv") && exists(DIR "/adir") && run(TOOL " info --model " DIR "/teacher.kdts") == 0,
             "inputs intact");
    {
        char longname[400], cmd[1024];
        memset(longname, 'x', 250);
        longname[250] = 0;
        snprintf(cmd, sizeof cmd, TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/%s.kdts" SMALL, longname);
        expect_fail(cmd, 2, "too long");
    }
}

/* Write errors on stdout are errors. */
static void test_write_errors(void)
{
    if (!exists("/dev/full")) {
        printf("write errors: /dev/full missing: not run\n");
        return;
    }
    KT_CHECK(run("(" TOOL " info --model " DIR "/teacher.kdts > /dev/full)") == 1 &&
                 strstr(g_out, "writing the output failed"),
             "info > /dev/full: %s", g_out);
    KT_CHECK(run("(" TOOL " eval --model " DIR "/teacher.kdts --csv data/ETTh1.csv > /dev/full)") == 1 &&
                 strstr(g_out, "writing the output failed"),
             "eval > /dev/full: %s", g_out);
    KT_CHECK(run("(" TOOL " inspect --csv data/ETTh1.csv > /dev/full)") == 1 && strstr(g_out, "writing the output failed"),
             "inspect > /dev/full: %s", g_out);
    KT_CHECK(run("(" TOOL " predict --model " DIR "/teacher.kdts --csv data/ETTh1.csv --last 5 > /dev/full)") == 1 &&
                 strstr(g_out, "writing the output failed"),
             "predict > /dev/full: %s", g_out);
}

/* Column names that a flag cannot hold, or that break CSV output. */
static void test_names(void)
{
    char csv[8192];
    size_t n = 0;
    int i, rc;
    n += (size_t)snprintf(csv + n, sizeof csv - n, "\"a,b\",\"say \"\"hi\"\"\"\n");
    for (i = 0; i < 120; ++i) n += (size_t)snprintf(csv + n, sizeof csv - n, "%d,%d\n", i % 7, (i * 3) % 11);
    write_file(DIR "/names.csv", csv);
    rc = run(TOOL " train --csv " DIR "/names.csv --target-field 2 --feature-fields 1 --out " DIR
                  "/names.kdts --lookback 6 --horizon 2 --hidden 3 --layers 1 --epochs 1 --quiet");
    KT_CHECK(rc == 0, "targets by field number: %s", g_out);
    rc = run(TOOL " predict --model " DIR "/names.kdts --csv " DIR "/names.csv --last 1");
    KT_CHECK(rc == 0 && !strncmp(g_out, "origin_row,row,step,\"say \"\"hi\"\"\"\n120,121,1,", 42),
             "CSV output quotes names (RFC 4180): %s", g_out);
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT,OT --out " DIR "/x.kdts" SMALL, 2, "twice");
    write_file(DIR "/nohead.csv", "1.5,2\n3,4\n5,6\n7,8\n9,10\n11,12\n13,14\n15,16\n17,18\n19,20\n");
    expect_fail(TOOL " train --csv " DIR "/nohead.csv --target-field 2 --out " DIR "/x.kdts --lookback 1 --horizon 1",
                1, "needs a header line");
}

/* Every model kind through the tool: train with --arch and its size flags,
   `info` names the kind, a student of another kind distilled from it, and
   export-c of each compiled into a program whose forecast equals the model
   file's. Flags of another kind are refused. */
static void test_kinds(const char *cc)
{
    static const char *const arch[][2] = {
        {"gru", "--arch gru --hidden 6 --layers 2"},
        {"attn", "--arch attn --hidden 8 --layers 2 --heads 2 --ff 16"},
        {"nlin", "--arch linear"},
        {"dlin", "--arch linear --linear dlinear --kernel 5"},
        {"lskip", "--arch lstm --hidden 4 --skip"},
        {"askip", "--arch attn --hidden 4 --skip"},
    };
    static const char *const kind[] = {"GRU 2x6", "attention d8 2 blocks 2 heads ff 16", "NLinear", "DLinear k5",
                                       "LSTM 2x4 + skip", "attention d4 2 blocks 1 head ff 16 + skip"};
    char cmd[4096];
    int i, rc;
    for (i = 0; i < (int)(sizeof arch / sizeof arch[0]); ++i) {
        snprintf(cmd, sizeof cmd, TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/k_%s.kdts %s" SMALL,
                 arch[i][0], arch[i][1]);
        rc = run(cmd);
        KT_CHECK(rc == 0, "train %s: %s", arch[i][1], g_out);
        snprintf(cmd, sizeof cmd, TOOL " info --model " DIR "/k_%s.kdts", arch[i][0]);
        rc = run(cmd);
        KT_CHECK(rc == 0 && strstr(g_out, kind[i]), "info of %s names '%s': %s", arch[i][1], kind[i], g_out);
        /* a student of another kind: GRU students of the others, an
           attention student of the GRU */
        snprintf(cmd, sizeof cmd,
                 TOOL " distill --csv data/ETTh1.csv --teacher " DIR "/k_%s.kdts --out " DIR "/ks_%s.kdts %s"
                      " --epochs 1 --quiet",
                 arch[i][0], arch[i][0], i == 0 ? "--arch attn --hidden 4" : "--arch gru --hidden 3");
        rc = run(cmd);
        KT_CHECK(rc == 0, "distill from %s: %s", arch[i][1], g_out);
        snprintf(cmd, sizeof cmd, TOOL " export-c --model " DIR "/k_%s.kdts --name k_%s --out " DIR "/k_%s.h",
                 arch[i][0], arch[i][0], arch[i][0]);
        rc = run(cmd);
        KT_CHECK(rc == 0, "export-c %s: %s", arch[i][1], g_out);
        snprintf(cmd, sizeof cmd,
                 "printf '%%s\\n' '#define KDTS_IMPLEMENTATION' '#include \"kdts.h\"' '#include \"k_%s.h\"' "
                 "'#include <string.h>' 'int main(void) {' "
                 "'  kdts_model m; kdts_infer a, b; float x[24], fa[4], fb[4]; int j;' "
                 "'  for (j = 0; j < 24; ++j) x[j] = 10.0f + (float)(j %% 7);' "
                 "'  if (kdts_model_load_file(&m, \"" DIR "/k_%s.kdts\", NULL)) return 2;' "
                 "'  if (kdts_infer_create(&a, &k_%s_model, 0, NULL) || kdts_infer_create(&b, &m, 0, NULL)) return 3;' "
                 "'  if (kdts_infer_window(&a, x, 24, fa, NULL, NULL, 0, NULL)) return 4;' "
                 "'  if (kdts_infer_window(&b, x, 24, fb, NULL, NULL, 0, NULL)) return 5;' "
                 "'  kdts_infer_free(&a); kdts_infer_free(&b); kdts_model_free(&m);' "
                 "'  return memcmp(fa, fb, sizeof fa) ? 6 : 0; }' > " DIR "/k_%s.c && "
                 "%s -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -I. -I" DIR " -o " DIR "/k_%s " DIR "/k_%s.c -lm && "
                 DIR "/k_%s",
                 arch[i][0], arch[i][0], arch[i][0], arch[i][0], cc, arch[i][0], arch[i][0], arch[i][0]);
        rc = run(cmd);
        KT_CHECK(rc == 0, "exported %s compiles and forecasts as its model file (exit %d): %s", arch[i][1], rc, g_out);
    }
    /* hidden-state hints: an LSTM student of the GRU teacher; a linear
       teacher or student has no hidden state; a negative weight */
    rc = run(TOOL " distill --csv data/ETTh1.csv --teacher " DIR "/k_gru.kdts --out " DIR "/kh.kdts --hidden 3"
                  " --hint-weight 0.5 --hint-steps 4 --epochs 1 --quiet");
    KT_CHECK(rc == 0 && exists(DIR "/kh.kdts"), "distill --hint-weight: %s", g_out);
    expect_fail(TOOL " distill --csv data/ETTh1.csv --teacher " DIR "/k_nlin.kdts --out " DIR "/kx.kdts --hidden 3"
                     " --hint-weight 1 --epochs 1 --quiet",
                2, "no hidden state");
    expect_fail(TOOL " distill --csv data/ETTh1.csv --teacher " DIR "/k_gru.kdts --out " DIR "/kx.kdts --arch linear"
                     " --hint-weight 1 --epochs 1 --quiet",
                2, "no hidden state");
    expect_fail(TOOL " distill --csv data/ETTh1.csv --teacher " DIR "/k_gru.kdts --out " DIR "/kx.kdts --hint-weight -1",
                2, "--hint-weight");
    /* the tool's defaults on a short series (144 monthly rows): the skip
       map and the step minimum give a model that beats seasonal naive and
       the closed-form linear fits on the test rows */
    rc = run(TOOL " train --csv data/example_air_passengers.csv --target y --lookback 12 --horizon 3 --quiet --out " DIR
                  "/air.kdts && " TOOL " eval --model " DIR "/air.kdts --csv data/example_air_passengers.csv");
    {
        double mm = 0, sn = 0, nl = 0, dl = 0;
        const char *p;
        if ((p = strstr(g_out, "\nmodel ")) != NULL) mm = atof(p + 7);
        if ((p = strstr(g_out, "\nseasonal naive (12) ")) != NULL) sn = atof(p + 22);
        if ((p = strstr(g_out, "\nNLinear (ridge) ")) != NULL) nl = atof(p + 17);
        if ((p = strstr(g_out, "\nDLinear (ridge) ")) != NULL) dl = atof(p + 17);
        KT_CHECK(rc == 0 && mm > 0 && sn > 0 && nl > 0 && dl > 0 && mm < sn && mm < nl && mm < dl &&
                     !strstr(g_out, "WARNING"),
                 "defaults on air passengers: model %.5f, seasonal %.5f, NLinear %.5f, DLinear %.5f: %s", mm, sn, nl, dl,
                 g_out);
    }
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --arch gru --heads 2", 2, "--heads");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --arch linear --hidden 8", 2,
                "--hidden");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --arch cnn", 2, "cnn");
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

    /* help: the library's defaults; distill lists only what it takes */
    KT_CHECK(run(TOOL " --help") == 0 && strstr(g_out, "distill") && strstr(g_out, "export-c"), "kdts --help");
    KT_CHECK(run(TOOL " train --help") == 0 && strstr(g_out, "--patience") && strstr(g_out, "--window-norm") &&
                 strstr(g_out, "input steps per window [96]") && strstr(g_out, "training epochs [10]"),
             "train --help: %s", g_out);
    rc = run(TOOL " distill --help");
    KT_CHECK(rc == 0 && strstr(g_out, "--alpha-warmup") && !strstr(g_out, "--lookback") && !strstr(g_out, "--horizon") &&
                 !strstr(g_out, "--features") && !strstr(g_out, "--window-norm") && !strstr(g_out, "--split "),
             "distill --help lists only the flags it takes: %s", g_out);
    expect_fail(TOOL " distill --csv data/ETTh1.csv --teacher x.kdts --out y.kdts --lookback 24", 2, "unknown flag");

    /* train a teacher, distill a student (two teachers: an ensemble) */
    rc = run(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/teacher.kdts --hidden 8 --layers 2" SMALL);
    KT_CHECK(rc == 0 && exists(DIR "/teacher.kdts"), "train: %d %s", rc, g_out);
    rc = run(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/teacher2.kdts --hidden 8 --layers 1 --seed 2" SMALL);
    KT_CHECK(rc == 0, "train second teacher: %s", g_out);
    rc = run(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/progress.kdts --hidden 4 --epochs 2"
                  " --lookback 24 --horizon 4 --max-rows 1500");
    KT_CHECK(rc == 0 && strstr(g_out, "epoch 1/2") && strstr(g_out, "epoch 2/2") && strstr(g_out, "ETA") &&
                 strstr(g_out, "val "),
             "progress lines: %s", g_out);
    rc = run(TOOL " distill --csv data/ETTh1.csv --target OT --teacher " DIR "/teacher.kdts --teacher " DIR
                  "/teacher2.kdts --out " DIR "/student.kdts --hidden 8 --layers 1 --alpha 0.5 --beta 0.1"
                  " --temperature 2 --alpha-warmup 1 --epochs 1 --quiet");
    KT_CHECK(rc == 0 && exists(DIR "/student.kdts"), "distill (the teacher's data settings, no data flags): %d %s", rc,
             g_out);
    rc = run(TOOL " train --csv data/ETTh1.csv --target OT --features HUFL,OT --mode dist --bins 16 --out " DIR
                  "/dist.kdts --hidden 8 --layers 1" SMALL);
    KT_CHECK(rc == 0, "train dist mode with two features: %s", g_out);
    /* progress on a narrow terminal: every redraw fits */
    rc = run("COLUMNS=50 script -qfec '" TOOL " distill --csv data/ETTh1.csv --teacher " DIR "/teacher.kdts --out " DIR
             "/s50.kdts --hidden 4 --epochs 2' /dev/null");
    {
        char *p = g_out, seg[512];
        int worst = 0;
        while (*p) {
            size_t n = strcspn(p, "\r\n"), k;
            int len = 0;
            snprintf(seg, sizeof seg, "%.*s", (int)(n < 511 ? n : 511), p);
            for (k = 0; seg[k]; ++k) {
                if (seg[k] == '\033') k += 2; /* ESC [ K */
                else len++;
            }
            if (len > worst && !strstr(seg, "distilling") && !strstr(seg, "wrote")) worst = len;
            p += n + (p[n] ? 1 : 0);
        }
        KT_CHECK(rc == 0 && worst > 10 && worst < 50, "progress fits a 50-column terminal (widest %d): %.300s", worst,
                 g_out);
    }
    /* a student's defaults (kdts.h KDTS_STUDENT_*): lr, no early stop, alpha 0, beta 1 */
    rc = run(TOOL " info --model " DIR "/s50.kdts");
    KT_CHECK(rc == 0 && strstr(g_out, "lr 0.003, patience 0,") && strstr(g_out, "alpha 0, beta 1,"),
             "distill's defaults in the student's record: %s", g_out);

    /* eval, predict, info */
    rc = run(TOOL " eval --model " DIR "/student.kdts --csv data/ETTh1.csv");
    KT_CHECK(rc == 0 && strstr(g_out, "persistence") && count(g_out, "MAPE") == 1 && strstr(g_out, "R2") &&
                 strstr(g_out, "original units") && strstr(g_out, "test rows 1201..1500") &&
                 strstr(g_out, "by step ahead") && strstr(g_out, "  4 ") && strstr(g_out, "baseline"),
             "eval: %s", g_out);
    {
        char *p = g_out;
        int wide = 0;
        while (*p) {
            size_t len = strcspn(p, "\n");
            if (len > 80) wide++;
            p += len + (p[len] ? 1 : 0);
        }
        KT_CHECK(wide == 0, "eval lines fit 80 columns (%d wider)", wide);
    }
    rc = run(TOOL " eval --model " DIR "/dist.kdts --csv data/ETTh1.csv --season 24");
    KT_CHECK(rc == 0 && strstr(g_out, "coverage") && strstr(g_out, "pinball") && strstr(g_out, "seasonal naive (24)"),
             "eval of a dist model: %s", g_out);
    rc = run(TOOL " info --model " DIR "/student.kdts");
    KT_CHECK(rc == 0 && strstr(g_out, "FLOPs") && strstr(g_out, "2 teacher(s)") && strstr(g_out, "teacher.kdts") &&
                 strstr(g_out, "kind         LSTM"),
             "info: %s", g_out);
    rc = run(TOOL " predict --model " DIR "/dist.kdts --csv data/ETTh1.csv --last 2");
    KT_CHECK(rc == 0 && strstr(g_out, "OT_lo") && strstr(g_out, "\n2016-09-01 11:00:00,2016-09-01 15:00:00,4,"),
             "predict dist: %.300s", g_out);
    rc = run(TOOL " predict --model " DIR "/student.kdts --csv data/ETTh1.csv --last 1");
    {
        int lines = 0;
        char *p, *q;
        for (p = g_out; *p; ++p) lines += *p == '\n';
        KT_CHECK(rc == 0 && lines == 5 && !strncmp(g_out, "origin,time,step,OT\n2016-09-01 11:00:00,2016-09-01 12:00:00,1,", 62),
                 "predict: %s", g_out);
        /* the 4 forecasts of the last origin, for the export check below */
        last_line[0] = 0;
        strcat(last_line, "1499");
        for (p = g_out; (p = strstr(p, "\n2016-09-01 11:00:00,")) != NULL; ++p) {
            char ln[256], v[64];
            snprintf(ln, sizeof ln, "%.*s", (int)strcspn(p + 1, "\n"), p + 1);
            q = strrchr(ln, ',');
            if (q) {
                snprintf(v, sizeof v, "%s", q);
                strcat(last_line, v);
            }
        }
        KT_CHECK(count(last_line, ",") == 4, "four forecasts of the last row: %s", last_line);
    }

    /* export-c, then compile the header with the library and compare */
    rc = run(TOOL " export-c --model " DIR "/student.kdts --name cli_student --out " DIR "/cli_student.h");
    KT_CHECK(rc == 0 && exists(DIR "/cli_student.h"), "export-c: %s", g_out);
    write_file(DIR "/check_export.c",
               "#define KDTS_IMPLEMENTATION\n#include \"kdts.h\"\n#include \"cli_student.h\"\n#include <stdio.h>\n"
               "#include <string.h>\n"
               "int main(void) {\n"
               "  kdts_table t; kdts_csv_config cc = kdts_csv_config_default(); kdts_model m; kdts_infer a, b;\n"
               "  const char *col = \"OT\"; float fa[4], fb[4]; int j;\n"
               "  cc.columns = &col; cc.n_columns = 1;\n"
               "  if (kdts_csv_read_file(&t, \"data/ETTh1.csv\", &cc, NULL) || kdts_model_load_file(&m, \"" DIR
               "/student.kdts\", NULL)) return 2;\n"
               "  if (kdts_infer_create(&a, &cli_student_model, 0, NULL) || kdts_infer_create(&b, &m, 0, NULL)) return 3;\n"
               "  if (kdts_infer_window(&a, t.col[0] + 1500 - 24, 24, fa, NULL, NULL, 0, NULL)) return 4;\n"
               "  if (kdts_infer_window(&b, t.col[0] + 1500 - 24, 24, fb, NULL, NULL, 0, NULL)) return 5;\n"
               "  printf(\"1499\"); for (j = 0; j < 4; ++j) printf(\",%.6g\", fa[j]); printf(\"\\n\");\n"
               "  printf(memcmp(fa, fb, sizeof fa) ? \"DIFF\\n\" : \"SAME\\n\");\n"
               "  kdts_infer_free(&a); kdts_infer_free(&b); kdts_model_free(&m); kdts_table_free(&t); return 0; }\n");
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

    test_kinds(cc);

    /* inspect */
    rc = run(TOOL " inspect --csv data/ETTh1.csv --target OT");
    KT_CHECK(rc == 0 && strstr(g_out, "17420 data rows") && strstr(g_out, "OT") && strstr(g_out, "missing 0") &&
                 strstr(g_out, "(dates)"),
             "inspect: %s", g_out);
    write_file(DIR "/bad.csv", "date,a,OT\n1,2,3\n2,5,x7\n");
    expect_fail(TOOL " inspect --csv " DIR "/bad.csv", 1, "line 3, column 3");
    KT_CHECK(count(g_out, "line 3") == 1, "the position once: %s", g_out);
    expect_fail(TOOL " inspect --csv " DIR "/none.csv", 1, "none.csv");
    KT_CHECK(count(g_out, "none.csv") == 1, "the path once: %s", g_out);
    write_file(DIR "/miss.csv", "a,b\n1,2\n,4\n5,6\n");
    rc = run(TOOL " inspect --csv " DIR "/miss.csv");
    KT_CHECK(rc == 0 && strstr(g_out, "missing 1") && strstr(g_out, "--missing interpolate"),
             "inspect reports missing values and what train does: %s", g_out);
    expect_fail(TOOL " inspect --csv data/ETTh1.csv --target date", 1, "text column");
    expect_fail(TOOL " inspect --csv data/ETTh1.csv --target NOPE", 1, "not a column");

    /* bad flags, files and data: non-zero, one line, nothing written */
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --bogus 3", 2, "unknown flag '--bogus'");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT", 2, "--out is required");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --hidden -4", 2, "--hidden");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --mode fuzzy", 2, "--mode");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --split 0.9,0.9,0.9", 2, "--split");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --lookback 100000", 2, "1..65536");
    expect_fail(TOOL " frobnicate", 2, "unknown command");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target NOPE --out " DIR "/teacher.kdts" SMALL, 1, "NOPE");
    expect_fail(TOOL " train --csv " DIR "/bad.csv --target OT --out " DIR "/teacher.kdts" SMALL, 1, "line 3");
    expect_fail(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/x.kdts --lookback 2000 --max-rows 1500 --quiet",
                1, "lookback <= ");
    KT_CHECK(run(TOOL " train --csv data/ETTh1.csv --target OT --out " DIR "/rows.kdts --split 1000,200,0 --hidden 2"
                      " --layers 1 --lookback 24 --horizon 4 --max-rows 1500 --epochs 1 --quiet") == 0,
             "--split 1000,200,0 is a row split: %s", g_out);
    KT_CHECK(!exists(DIR "/x.kdts"), "no model written by failed runs");
    write_file(DIR "/junk.kdts", "this is not a model\n");
    expect_fail(TOOL " eval --model " DIR "/junk.kdts --csv data/ETTh1.csv", 1, "not a kdts model");
    expect_fail(TOOL " eval --model " DIR "/missing.kdts --csv data/ETTh1.csv", 1, "cannot open");
    KT_CHECK(count(g_out, "missing.kdts") == 1, "the path once: %s", g_out);
    write_file(DIR "/tiny.csv", "date,OT\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n2020-01-04,4\n2020-01-05,5\n");
    expect_fail(TOOL " predict --model " DIR "/student.kdts --csv " DIR "/tiny.csv", 1, "fewer than the lookback 24");
    expect_fail(TOOL " export-c --model " DIR "/student.kdts --name 9lives --out " DIR "/y.h", 1, "identifier");
    expect_fail(TOOL " distill --csv data/ETTh1.csv --teacher " DIR "/junk.kdts --out " DIR "/x.kdts", 1, "not a kdts model");
    KT_CHECK(!exists(DIR "/y.h") && !exists(DIR "/x.kdts"), "nothing half-written");
    /* a validation MSE beyond float range (one 1e30 in the validation rows):
       no success; the weights so far are saved, said clearly, exit 1 */
    {
        char csv[1 << 13];
        size_t n = 0;
        int i;
        n += (size_t)snprintf(csv + n, sizeof csv - n, "y\n");
        for (i = 0; i < 200; ++i) n += (size_t)snprintf(csv + n, sizeof csv - n, "%s\n", i == 150 ? "1e30" : i % 2 ? "1" : "2");
        write_file(DIR "/huge.csv", csv);
        rc = run(TOOL " train --csv " DIR "/huge.csv --target y --out " DIR "/huge.kdts --lookback 4 --horizon 2 --hidden 2"
                      " --layers 1 --epochs 2 --quiet --no-skip");
        KT_CHECK(rc == 1 && strstr(g_out, "validation") && strstr(g_out, "huge.kdts") && exists(DIR "/huge.kdts"),
                 "an extreme validation value is an error, the weights so far saved: %d %s", rc, g_out);
        /* with the skip map the start is validated: the same error before
           any step, the starting weights saved and said */
        rc = run(TOOL " train --csv " DIR "/huge.csv --target y --out " DIR "/huge2.kdts --lookback 4 --horizon 2 --hidden 2"
                      " --layers 1 --epochs 2 --quiet");
        KT_CHECK(rc == 1 && strstr(g_out, "after epoch 0") && strstr(g_out, "huge2.kdts") && exists(DIR "/huge2.kdts"),
                 "an extreme validation value at the start: an error, the start saved: %d %s", rc, g_out);
    }
    /* the teacher file overwritten by nothing: still loads after the failed runs */
    rc = run(TOOL " info --model " DIR "/teacher.kdts");
    KT_CHECK(rc == 0 && strstr(g_out, "kind         LSTM 2x8 + skip,"), "teacher intact after failed overwrite attempts: %s", g_out);
    rc = run("ls " DIR " | grep -c tmp");
    KT_CHECK(!strncmp(g_out, "0", 1), "no temporary files left: %s", g_out);

    test_recorded();
    test_short();
    test_outputs();
    test_write_errors();
    test_names();
    test_interrupt();

    /* the microcontroller demo: the exported student in its static work buffer */
    KT_CHECK(exists("build/mcu_export_demo"), "build/mcu_export_demo is built (make builds examples before tests)");
    rc = run("build/mcu_export_demo");
    KT_CHECK(rc == 0 && strstr(g_out, "bytes of working memory"), "mcu_export_demo: %d %s", rc, g_out);
    test_quickstart();
    test_readme();
    return kt_done();
}
