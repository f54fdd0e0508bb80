/* test_safe - issue 18: safe output paths, compilable exports, bounded
   readers, errors before the work. The library's save path (what is
   refused, symbolic links, file mode, hard links, stale temporary files,
   kdts_path_check_save, kdts_path_same), export-c, the model-file loader
   and the CSV reader on hostile input (with a counting allocator for the
   memory bounds), model validation, non-finite forecasts; and the tool
   (build/kdts, built by `make` before the tests) on the same cases.
   Everything is written under build/safe_test (created here); device
   nodes only where mknod works (root), else a printed note that is not
   counted. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdlib.h>

/* counting allocator: live and peak bytes of everything kdts allocates */
static size_t g_live, g_peak;
static void *ts_malloc(size_t n)
{
    size_t *p = (size_t *)malloc(n + 16);
    if (!p) return NULL;
    p[0] = n;
    g_live += n;
    if (g_live > g_peak) g_peak = g_live;
    return (char *)p + 16;
}
static void ts_free(void *q)
{
    size_t *p;
    if (!q) return;
    p = (size_t *)((char *)q - 16);
    g_live -= p[0];
    free(p);
}
static void *ts_realloc(void *q, size_t n)
{
    size_t *p, old;
    if (!q) return ts_malloc(n);
    p = (size_t *)((char *)q - 16);
    old = p[0];
    p = (size_t *)realloc(p, n + 16);
    if (!p) return NULL;
    p[0] = n;
    g_live = g_live - old + n;
    if (g_live > g_peak) g_peak = g_live;
    return (char *)p + 16;
}
#define KDTS_MALLOC(sz) ts_malloc(sz)
#define KDTS_REALLOC(p, sz) ts_realloc((p), (sz))
#define KDTS_FREE(p) ts_free(p)
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>

#define DIR "build/safe_test"
#define TOOL "build/kdts"

#include "kt_shell.h"

static long file_size(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 ? (long)s.st_size : -1;
}

/* A small LSTM model (2 features, target the second). */
static int make_model(kdts_model *m, unsigned long long seed)
{
    kdts_net_config c;
    kdts_net net;
    kdts_model_desc d;
    static const char *const names[2] = {"a", "b"};
    int tgt = 1, r;
    memset(&c, 0, sizeof c);
    c.kind = KDTS_KIND_LSTM;
    c.input = 2;
    c.hidden = 3;
    c.layers = 1;
    c.horizon = 2;
    if (kdts_net_init(&net, &c, seed, NULL) != KDTS_OK) return 0;
    memset(&d, 0, sizeof d);
    d.lookback = 4;
    d.horizon = 2;
    d.n_features = 2;
    d.feature_names = names;
    d.n_targets = 1;
    d.target_index = &tgt;
    r = kdts_model_create_net(m, &net, &d, NULL) == KDTS_OK;
    kdts_net_free(&net);
    return r;
}

/* Is `path` a valid model whose first weight equals m's? */
static int holds(const char *path, const kdts_model *m)
{
    kdts_model l;
    int ok;
    if (kdts_model_load_file(&l, path, NULL) != KDTS_OK) return 0;
    ok = l.nparams == m->nparams && !memcmp(l.params, m->params, m->nparams * sizeof(float));
    kdts_model_free(&l);
    return ok;
}

static int count_tmp(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -a %s | grep -c 'kdts-tmp' || true", dir);
    run(cmd);
    return atoi(g_out);
}

/* ---- 1, 4, 5: what a save refuses, links, mode, stale temporary files ---- */
static void test_save_targets(void)
{
    kdts_model m, m2;
    kdts_error e;
    struct stat st, st2;
    kdts_result r;
    KT_CHECK(make_model(&m, 1) && make_model(&m2, 2), "models");
    /* a folder at the path: refused, the folder stays */
    run("mkdir -p " DIR "/adir");
    memset(&e, 0, sizeof e);
    r = kdts_model_save_file(&m, DIR "/adir", &e);
    KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "a folder") && stat(DIR "/adir", &st) == 0 && S_ISDIR(st.st_mode),
             "save onto a folder refused, folder kept: %d %s", r, e.message);
    /* a FIFO: refused, still a FIFO */
    KT_CHECK(mkfifo(DIR "/fifo", 0600) == 0, "mkfifo");
    r = kdts_model_save_file(&m, DIR "/fifo", &e);
    KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "FIFO") && stat(DIR "/fifo", &st) == 0 && S_ISFIFO(st.st_mode),
             "save onto a FIFO refused: %d %s", r, e.message);
    /* a device node in the test folder (root only) */
    if (run("mknod " DIR "/null c 1 3") == 0) {
        r = kdts_model_save_file(&m, DIR "/null", &e);
        KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "device") && stat(DIR "/null", &st) == 0 && S_ISCHR(st.st_mode),
                 "save onto a device refused, node kept: %d %s", r, e.message);
    } else {
        printf("device node: mknod not permitted here: that check was NOT run\n");
    }
    /* a socket (made by python3's socket module when it is there) */
    if (run("python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('" DIR "/sock')\"") == 0 &&
        stat(DIR "/sock", &st) == 0) {
        r = kdts_model_save_file(&m, DIR "/sock", &e);
        KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "socket") && stat(DIR "/sock", &st) == 0 && !S_ISREG(st.st_mode),
                 "save onto a socket refused, socket kept: %d %s", r, e.message);
    } else {
        printf("socket: could not make one (python3): that check was NOT run\n");
    }
    /* a symbolic link is followed: the file it names is replaced, the link kept */
    KT_CHECK(kdts_model_save_file(&m, DIR "/target.kdts", NULL) == KDTS_OK, "save");
    chmod(DIR "/target.kdts", 0640);
    symlink("target.kdts", DIR "/link.kdts");
    r = kdts_model_save_file(&m2, DIR "/link.kdts", &e);
    KT_CHECK(r == KDTS_OK && lstat(DIR "/link.kdts", &st) == 0 && S_ISLNK(st.st_mode) && holds(DIR "/target.kdts", &m2),
             "symlink followed, link kept, target replaced: %d %s", r, e.message);
    /* the mode of the replaced file is kept */
    KT_CHECK(stat(DIR "/target.kdts", &st) == 0 && (st.st_mode & 0777) == 0640, "mode 0640 kept: %o",
             (unsigned)(st.st_mode & 0777));
    chmod(DIR "/target.kdts", 0600);
    kdts_model_save_file(&m, DIR "/target.kdts", NULL);
    KT_CHECK(stat(DIR "/target.kdts", &st) == 0 && (st.st_mode & 0777) == 0600 && holds(DIR "/target.kdts", &m),
             "mode 0600 kept: %o", (unsigned)(st.st_mode & 0777));
    /* a dangling link: the file it names is created */
    symlink("made.kdts", DIR "/dangling.kdts");
    KT_CHECK(kdts_model_save_file(&m, DIR "/dangling.kdts", NULL) == KDTS_OK && holds(DIR "/made.kdts", &m) &&
                 lstat(DIR "/dangling.kdts", &st) == 0 && S_ISLNK(st.st_mode),
             "dangling link: its target created");
    /* hard links (documented): the saved name gets a new inode, the other
       name keeps the old content */
    kdts_model_save_file(&m, DIR "/hard1.kdts", NULL);
    link(DIR "/hard1.kdts", DIR "/hard2.kdts");
    stat(DIR "/hard1.kdts", &st);
    KT_CHECK(kdts_model_save_file(&m2, DIR "/hard1.kdts", NULL) == KDTS_OK && stat(DIR "/hard1.kdts", &st2) == 0 &&
                 st2.st_ino != st.st_ino && holds(DIR "/hard1.kdts", &m2) && holds(DIR "/hard2.kdts", &m),
             "hard link: new inode for the saved name, the other name keeps the old model");
    /* stale temporary files of killed saves to the same file are removed;
       other names, folders and other files' temporaries are not */
    write_bytes(DIR "/s.kdts.kdts-tmp.999999-0", "junk", 4);
    write_bytes(DIR "/s.kdts.kdts-tmp.999999-0x", "junk", 4);
    write_bytes(DIR "/other.kdts.kdts-tmp.999999-0", "junk", 4);
    run("mkdir -p " DIR "/s.kdts.kdts-tmp.888888-0");
    KT_CHECK(kdts_model_save_file(&m, DIR "/s.kdts", NULL) == KDTS_OK && holds(DIR "/s.kdts", &m), "save s.kdts");
    KT_CHECK(!exists(DIR "/s.kdts.kdts-tmp.999999-0") && exists(DIR "/s.kdts.kdts-tmp.999999-0x") &&
                 exists(DIR "/other.kdts.kdts-tmp.999999-0") && exists(DIR "/s.kdts.kdts-tmp.888888-0"),
             "only the stale temporary files of this file removed");
    run("rm -rf " DIR "/s.kdts.kdts-tmp.* " DIR "/other.kdts.kdts-tmp.*");
    /* a save killed (SIGKILL) after writing part of its temporary file: the
       child says so through a pipe and waits; the parent kills it (a kill
       from outside, so that a memory checker running the child does not
       take the still-allocated save for a leak) */
    {
        int fd[2], status = 0;
        char c = 0;
        pid_t pid;
        KT_CHECK(pipe(fd) == 0, "pipe");
        pid = fork();
        if (pid == 0) {
            kdts__save sv;
            FILE *f;
            close(fd[0]);
            if (kdts__save_prepare(&sv, DIR "/k.kdts", NULL) == KDTS_OK && (f = kdts__save_open(&sv, NULL)) != NULL) {
                fputs("partial model", f);
                fflush(f);
                if (write(fd[1], "w", 1) == 1)
                    for (;;) pause();
            }
            _exit(3);
        }
        close(fd[1]);
        if (pid > 0 && read(fd[0], &c, 1) == 1) kill(pid, SIGKILL);
        close(fd[0]);
        waitpid(pid, &status, 0);
        KT_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && count_tmp(DIR) == 1 && !exists(DIR "/k.kdts"),
                 "a killed save leaves its temporary file and no k.kdts (%d temporaries)", count_tmp(DIR));
        KT_CHECK(kdts_model_save_file(&m, DIR "/k.kdts", NULL) == KDTS_OK && holds(DIR "/k.kdts", &m), "the next save");
        KT_CHECK(count_tmp(DIR) == 0, "the next save to the same file removed the killed one's temporary file");
    }
    KT_CHECK(count_tmp(DIR) == 0, "no temporary file left behind: %s", g_out);
    kdts_model_free(&m);
    kdts_model_free(&m2);
}

/* ---- 2, 6: checks before the work, no truncation ------------------------- */
static void test_path_checks(void)
{
    kdts_error e;
    kdts_result r;
    char longname[600], path[6000];
    size_t n;
    memset(&e, 0, sizeof e);
    r = kdts_path_check_save(DIR "/nofolder/m.kdts", &e);
    KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "does not exist"), "missing folder: %d %s", r, e.message);
    r = kdts_path_check_save(DIR "/adir", &e);
    KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "a folder"), "folder: %d %s", r, e.message);
    r = kdts_path_check_save(DIR "/adir/", &e);
    KT_CHECK(r != KDTS_OK, "a path ending in / refused: %s", e.message);
    r = kdts_path_check_save("", &e);
    KT_CHECK(r == KDTS_ERR_ARG, "empty path refused");
    memset(longname, 'x', 240);
    longname[240] = 0;
    snprintf(path, sizeof path, DIR "/%s", longname);
    r = kdts_path_check_save(path, &e);
    KT_CHECK(r == KDTS_ERR_ARG && strstr(e.message, "too long"), "a 240-byte name leaves no room for the temporary name: %s",
             e.message);
    memset(longname, 'y', 200);
    longname[200] = 0;
    snprintf(path, sizeof path, DIR "/%s", longname);
    KT_CHECK(kdts_path_check_save(path, &e) == KDTS_OK && !exists(path), "a 200-byte name is fine and nothing is created: %s",
             e.message);
    /* a long path is refused whole, never cut */
    n = (size_t)snprintf(path, sizeof path, "%s", DIR);
    while (n < 5000) n += (size_t)snprintf(path + n, sizeof path - n, "/.");
    snprintf(path + n, sizeof path - n, "/m.kdts");
    r = kdts_path_check_save(path, &e);
    KT_CHECK(r == KDTS_ERR_ARG && strstr(e.message, "too long"), "5000-byte path refused: %s", e.message);
    /* a path longer than 1024 bytes that is valid is written exactly there */
    n = (size_t)snprintf(path, sizeof path, "%s", DIR);
    while (n < 1100) n += (size_t)snprintf(path + n, sizeof path - n, "/.");
    snprintf(path + n, sizeof path - n, "/exact.h");
    {
        kdts_model m;
        make_model(&m, 3);
        r = kdts_model_export_c(&m, "exact", path, &e);
        KT_CHECK(r == KDTS_OK && exists(DIR "/exact.h"), "export-c to a 1100-byte path: %d %s", r, e.message);
        kdts_model_free(&m);
    }
    if (geteuid() != 0) {
        run("mkdir -p " DIR "/ro && chmod 0555 " DIR "/ro");
        r = kdts_path_check_save(DIR "/ro/m.kdts", &e);
        KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "not writable"), "read-only folder: %s", e.message);
        run("chmod 0755 " DIR "/ro");
    } else {
        printf("read-only folder: running as root (access() allows everything): that check was NOT run\n");
    }
    /* same file by device and inode */
    write_bytes(DIR "/in.csv", "y\n1\n", 4);
    symlink("in.csv", DIR "/in_link.csv");
    KT_CHECK(kdts_path_same(DIR "/in.csv", DIR "/in_link.csv") == 1, "same file through a link");
    KT_CHECK(kdts_path_same(DIR "/in.csv", DIR "/./in.csv") == 1, "same file by another spelling");
    KT_CHECK(kdts_path_same(DIR "/in.csv", DIR "/target.kdts") == 0, "different files");
    KT_CHECK(kdts_path_same(DIR "/in.csv", DIR "/none.csv") == 0, "a missing file is not the same");
}

/* ---- 7: export-c compiles for every loadable model ------------------------ */
static void test_export(void)
{
    kdts_model m;
    kdts_error e;
    kdts_result r;
    char name[80], cmd[1024];
    /* $CC may be a cross compiler (test-cross): the program it builds runs
       under the same emulator as this test (KT_RUN, see tests/run.sh) */
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    FILE *f;
    memset(&e, 0, sizeof e);
    KT_CHECK(make_model(&m, 4), "model");
    m.meta.best_val_mse = INFINITY;
    m.meta.final_loss = NAN;
    m.meta.seconds = -INFINITY;
    m.meta.lr = -INFINITY;
    strcpy(m.meta.source, "we\"ird\\name\n\x01");
    r = kdts_model_export_c(&m, "nf", DIR "/nf.h", &e);
    KT_CHECK(r == KDTS_OK, "export with non-finite metadata: %s", e.message);
    run("grep -c 'INFINITY' " DIR "/nf.h");
    KT_CHECK(atoi(g_out) >= 1, "non-finite values written as INFINITY: %s", g_out);
    run("grep -c 'inff\\|nanf' " DIR "/nf.h");
    KT_CHECK(atoi(g_out) == 0, "no inff/nanf: %s", g_out);
    f = fopen(DIR "/nf_main.c", "w");
    if (f) {
        fprintf(f, "#define KDTS_IMPLEMENTATION\n#include \"kdts.h\"\n#include \"nf.h\"\n#include <stdio.h>\n"
                   "int main(void) { printf(\"%%d %%d\\n\", kdts_model_check(&nf_model, NULL), (int)(nf_model.meta.best_val_mse > 1e38f)); return 0; }\n");
        fclose(f);
    }
    snprintf(cmd, sizeof cmd, "%s -std=c99 -Wall -Wextra -Werror -I. -I" DIR " -o " DIR "/nf_main " DIR "/nf_main.c -lm && %s ./" DIR "/nf_main",
             cc, getenv("KT_RUN") ? getenv("KT_RUN") : "");
    /* tcc's math.h gives INFINITY and NAN as expressions tcc does not
       accept in a static initializer: there this compile is not run (said,
       not counted) */
    if (strstr(cc, "tcc"))
        printf("tcc: INFINITY/NAN are no constant expressions there: the non-finite export compile was NOT run\n");
    else
        KT_CHECK(run(cmd) == 0 && !strcmp(g_out, "0 1\n"), "the exported header compiles (-Werror) and loads: %s", g_out);
    /* NAME: at most 64 characters, a C identifier */
    memset(name, 'n', 64);
    name[64] = 0;
    KT_CHECK(kdts_model_export_c(&m, name, DIR "/n64.h", &e) == KDTS_OK, "64-character NAME: %s", e.message);
    name[64] = 'n';
    name[65] = 0;
    KT_CHECK(kdts_model_export_c(&m, name, DIR "/n65.h", &e) == KDTS_ERR_ARG && !exists(DIR "/n65.h"),
             "65-character NAME refused");
    KT_CHECK(kdts_model_export_c(&m, "a-b", DIR "/ab.h", &e) == KDTS_ERR_ARG, "NAME with '-' refused");
    KT_CHECK(kdts_model_export_c(&m, "9a", DIR "/9a.h", &e) == KDTS_ERR_ARG, "NAME starting with a digit refused");
    r = kdts_model_export_c(&m, "x", DIR "/adir", &e);
    KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "a folder"), "export onto a folder refused: %s", e.message);
    kdts_model_free(&m);
}

/* Patch section `tag` of a saved model at byte `off` of its contents with
   the 32-bit value v, then repair the CRC. */
static int patch_model(unsigned char *b, size_t n, const char *tag, size_t off, unsigned long v)
{
    size_t pos = 24;
    int i;
    while (pos + 12 <= n - 4) {
        unsigned long long len = 0;
        for (i = 7; i >= 0; --i) len = (len << 8) | b[pos + 4 + i];
        if (!memcmp(b + pos, tag, 4)) {
            unsigned long crc;
            for (i = 0; i < 4; ++i) b[pos + 12 + off + i] = (unsigned char)(v >> (8 * i));
            crc = kdts__crc32(0, b, n - 4);
            for (i = 0; i < 4; ++i) b[n - 4 + i] = (unsigned char)(crc >> (8 * i));
            return 1;
        }
        pos += 12 + (size_t)len;
    }
    return 0;
}

/* ---- 10, 11: the model loader and model validation ------------------------ */
static void test_model_files(void)
{
    kdts_model m, l;
    kdts_error e;
    kdts_result r;
    unsigned char *b;
    size_t n = 0, peak;
    FILE *f;
    int i;
    memset(&e, 0, sizeof e);
    make_model(&m, 5);
    kdts_model_save_mem(&m, NULL, 0, &n, NULL);
    b = (unsigned char *)malloc(n);
    kdts_model_save_mem(&m, b, n, &n, NULL);
    /* scaler kind and clip are validated */
    KT_CHECK(patch_model(b, n, "SCAL", 4, 7), "patch SCAL kind");
    r = kdts_model_load_mem(&l, b, n, &e);
    KT_CHECK(r == KDTS_ERR_FORMAT && strstr(e.message, "scaler kind"), "unknown scaler kind refused: %d %s", r, e.message);
    kdts_model_save_mem(&m, b, n, &n, NULL);
    KT_CHECK(patch_model(b, n, "SCAL", 8, 9), "patch SCAL clip");
    r = kdts_model_load_mem(&l, b, n, &e);
    KT_CHECK(r == KDTS_ERR_FORMAT && strstr(e.message, "clipping"), "unknown scaler clip refused: %d %s", r, e.message);
    kdts_model_save_mem(&m, b, n, &n, NULL);
    KT_CHECK(patch_model(b, n, "DATA", 20, 0x7fc00000UL), "patch DATA norm_eps to NaN");
    r = kdts_model_load_mem(&l, b, n, &e);
    KT_CHECK(r == KDTS_ERR_FORMAT && strstr(e.message, "epsilon") && !strstr(e.message, "normalization 1"),
             "NaN norm_eps: a message that says so: %s", e.message);
    /* the loader reads the header first: /dev/zero, a folder, a lying size */
    if (exists("/dev/zero")) {
        g_peak = g_live;
        r = kdts_model_load_file(&l, "/dev/zero", &e);
        KT_CHECK(r == KDTS_ERR_FORMAT && strstr(e.message, "bad magic") && g_peak - g_live < 4096,
                 "/dev/zero as a model: refused at the magic, %lu bytes allocated: %s", (unsigned long)(g_peak - g_live),
                 e.message);
    } else {
        printf("/dev/zero missing: that check was NOT run\n");
    }
    r = kdts_model_load_file(&l, DIR, &e);
    KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "folder"), "a folder as a model: %s", e.message);
    kdts_model_save_mem(&m, b, n, &n, NULL);
    for (i = 0; i < 8; ++i) b[16 + i] = i == 5 ? 1 : 0; /* declares 1 TB */
    write_bytes(DIR "/lying.kdts", b, n);
    g_peak = g_live;
    r = kdts_model_load_file(&l, DIR "/lying.kdts", &e);
    peak = g_peak - g_live;
    KT_CHECK(r == KDTS_ERR_FORMAT && peak < 4 * n + 65536 * 2, "a header declaring 1 TB: format error after %lu bytes: %s",
             (unsigned long)peak, e.message);
    kdts_model_save_mem(&m, b, n, &n, NULL);
    f = fopen(DIR "/padded.kdts", "wb");
    if (f) {
        fwrite(b, 1, n, f);
        fwrite(b, 1, n, f);
        fclose(f);
    }
    r = kdts_model_load_file(&l, DIR "/padded.kdts", &e);
    KT_CHECK(r == KDTS_ERR_FORMAT && strstr(e.message, "padded"), "bytes after the declared size: %s", e.message);
    write_bytes(DIR "/ok.kdts", b, n);
    KT_CHECK(kdts_model_load_file(&l, DIR "/ok.kdts", &e) == KDTS_OK, "the same bytes alone load: %s", e.message);
    kdts_model_free(&l);
    free(b);
    kdts_model_free(&m);
    /* the fuzz corpus of the CRC-repairing target: valid files of several kinds */
    {
        static const char *const files[] = {"lstm_2x3", "gru_dist", "attn_4", "dlinear", "lstm_skip"};
        int kinds = 0;
        char path[256];
        for (i = 0; i < 5; ++i) {
            snprintf(path, sizeof path, "tests/corpus/model_crc/%s.kdts", files[i]);
            r = kdts_model_load_file(&l, path, &e);
            KT_CHECK(r == KDTS_OK, "corpus file %s loads: %s", path, e.message);
            if (r == KDTS_OK) {
                kinds |= 1 << l.arch.kind;
                kdts_model_free(&l);
            }
        }
        KT_CHECK(kinds == 15, "the corpus holds all four kinds (%d)", kinds);
    }
}

/* ---- 10: huge weights give an error, not inf ------------------------------ */
static void test_nonfinite_forecast(void)
{
    kdts_net_config c;
    kdts_net net;
    kdts_model m;
    kdts_model_desc d;
    kdts_infer inf;
    kdts_error e;
    float x[4] = {10, 20, 30, 40}, fc[1];
    size_t i;
    kdts_result r;
    memset(&c, 0, sizeof c);
    memset(&e, 0, sizeof e);
    c.kind = KDTS_KIND_LINEAR;
    c.input = 1;
    c.horizon = 1;
    c.lookback = 4;
    KT_CHECK(kdts_net_init(&net, &c, 1, &e) == KDTS_OK, "linear net: %s", e.message);
    for (i = 0; i < net.nparams; ++i) net.params[i] = 3e38f;
    memset(&d, 0, sizeof d);
    d.lookback = 4;
    d.horizon = 1;
    d.n_features = 1;
    KT_CHECK(kdts_model_create_net(&m, &net, &d, &e) == KDTS_OK, "model: %s", e.message);
    KT_CHECK(kdts_infer_create(&inf, &m, 0, &e) == KDTS_OK, "infer");
    r = kdts_infer_window(&inf, x, 4, fc, NULL, NULL, 0, &e);
    KT_CHECK(r == KDTS_ERR_NONFINITE && strstr(e.message, "not finite"), "huge weights: KDTS_ERR_NONFINITE: %d %s", r,
             e.message);
    kdts_infer_free(&inf);
    kdts_model_free(&m);
    kdts_net_free(&net);
}

/* ---- 9, 10, 11, 13: the CSV reader on hostile input ------------------------ */
typedef struct src {
    const char *head;  /* bytes first */
    size_t head_len, pos;
    char fill;         /* then this byte forever (or 0: a pattern "1,") */
    int pattern;
    size_t given, limit;
} src;

static size_t src_read(void *user, void *buf, size_t cap)
{
    src *s = (src *)user;
    char *o = (char *)buf;
    size_t n = 0;
    if (s->given >= s->limit) return 0;
    while (n < cap && s->pos < s->head_len) o[n++] = s->head[s->pos++];
    while (n < cap) {
        o[n] = s->pattern ? (char)((s->given + n) % 2 ? ',' : '1') : s->fill;
        n++;
    }
    s->given += n;
    return n;
}

static kdts_result read_src(src *s, kdts_error *e, kdts_csv_config *cfg)
{
    kdts_table t;
    kdts_result r;
    s->pos = 0;
    s->given = 0;
    r = kdts_csv_read_cb(&t, src_read, s, cfg, e);
    if (r == KDTS_OK) kdts_table_free(&t);
    return r;
}

static void test_csv(void)
{
    kdts_table t;
    kdts_csv_config cc = kdts_csv_config_default();
    kdts_error e;
    kdts_result r;
    src s;
    const char *names[1];
    memset(&e, 0, sizeof e);
    memset(&s, 0, sizeof s);
    s.limit = (size_t)1 << 30; /* "forever": a failure shows as reading 1 GB */
    /* /dev/zero-like input: refused in the first chunk */
    s.fill = 0;
    g_peak = g_live;
    r = read_src(&s, &e, NULL);
    KT_CHECK(r == KDTS_ERR_PARSE && strstr(e.message, "NUL") && s.given <= ((size_t)1 << 18) &&
                 g_peak - g_live < ((size_t)1 << 20),
             "endless NUL bytes: refused after %lu bytes read, %lu allocated: %s", (unsigned long)s.given,
             (unsigned long)(g_peak - g_live), e.message);
    /* a header line without end: bounded by KDTS_CSV_MAX_HEADER */
    s.fill = 'a';
    r = read_src(&s, &e, NULL);
    KT_CHECK(r == KDTS_ERR_PARSE && strstr(e.message, "header line longer") &&
                 s.given <= (size_t)KDTS_CSV_MAX_HEADER + ((size_t)1 << 19),
             "endless header: refused after %lu bytes: %s", (unsigned long)s.given, e.message);
    /* the first data row is checked for its field count while streaming */
    s.head = "a,b\n";
    s.head_len = 4;
    s.pattern = 1;
    g_peak = g_live;
    r = read_src(&s, &e, NULL);
    KT_CHECK(r == KDTS_ERR_PARSE && strstr(e.message, "too many fields") && s.given <= ((size_t)1 << 18) &&
                 g_peak - g_live < ((size_t)1 << 20),
             "endless first row: refused at field 3 after %lu bytes, %lu allocated: %s", (unsigned long)s.given,
             (unsigned long)(g_peak - g_live), e.message);
    /* one endless field: bounded by KDTS_CSV_MAX_FIELD */
    s.head = "a,b\n1,";
    s.head_len = 6;
    s.pattern = 0;
    s.fill = '7';
    r = read_src(&s, &e, NULL);
    KT_CHECK(r == KDTS_ERR_PARSE && strstr(e.message, "field longer") &&
                 s.given <= (size_t)KDTS_CSV_MAX_FIELD + ((size_t)1 << 19),
             "endless field: refused after %lu bytes: %s", (unsigned long)s.given, e.message);
    /* UTF-16 (both byte orders) */
    r = kdts_csv_read_mem(&t, "\xff\xfe" "a\0,\0b\0\n\0" "1\0,\0" "2\0\n\0", 18, NULL, &e);
    KT_CHECK(r == KDTS_ERR_PARSE && strstr(e.message, "UTF-16 is not supported; convert to UTF-8"), "UTF-16 LE: %s",
             e.message);
    r = kdts_csv_read_mem(&t, "\xfe\xff" "\0a\0,\0b\0\n", 10, NULL, &e);
    KT_CHECK(r == KDTS_ERR_PARSE && strstr(e.message, "UTF-16"), "UTF-16 BE: %s", e.message);
    /* NUL inside a header name */
    r = kdts_csv_read_mem(&t, "a\0x,b\n1,2\n", 10, NULL, &e);
    KT_CHECK(r == KDTS_ERR_PARSE && strstr(e.message, "NUL byte in the header"), "NUL in a name: %s", e.message);
    /* duplicate names: fine until one is chosen by name */
    r = kdts_csv_read_mem(&t, "a,a,b\n1,2,3\n", 12, NULL, &e);
    KT_CHECK(r == KDTS_OK && t.cols == 3, "duplicate names kept when not chosen");
    if (r == KDTS_OK) kdts_table_free(&t);
    names[0] = "a";
    cc.columns = names;
    cc.n_columns = 1;
    r = kdts_csv_read_mem(&t, "a,a,b\n1,2,3\n", 12, &cc, &e);
    KT_CHECK(r == KDTS_ERR_ARG && strstr(e.message, "more than once") && strstr(e.message, "fields 1 and 2"),
             "a duplicate name chosen: %s", e.message);
    /* a folder as the file */
    r = kdts_csv_read_file(&t, DIR, NULL, &e);
    KT_CHECK(r == KDTS_ERR_IO && strstr(e.message, "is a folder") && !strstr(e.message, "read error"), "folder as CSV: %s",
             e.message);
    /* memory of many text columns: a small multiple of the file */
    {
        size_t cap = 20000 * 8 + 64, n = 0, i;
        char *text = (char *)malloc(cap);
        kdts_csv_config kc = kdts_csv_config_default();
        kc.keep_text = 1;
        for (i = 0; i < 20000; ++i) n += (size_t)snprintf(text + n, cap - n, "%sc%lu", i ? "," : "", (unsigned long)i % 100);
        text[n++] = '\n';
        for (i = 0; i < 20000; ++i) n += (size_t)snprintf(text + n, cap - n, "%sx", i ? "," : "");
        text[n++] = '\n';
        g_peak = g_live;
        r = kdts_csv_read_mem(&t, text, n, &kc, &e);
        KT_CHECK(r == KDTS_OK && t.text_cols == 20000, "20000 text columns read: %s", e.message);
        KT_CHECK(g_peak - g_live < 40 * n + ((size_t)1 << 20) && g_peak - g_live < 20000 * (size_t)1024,
                 "20000 text columns of a %lu-byte file: %lu bytes at the peak (under 1 KB per column)", (unsigned long)n,
                 (unsigned long)(g_peak - g_live));
        if (r == KDTS_OK) kdts_table_free(&t);
        free(text);
    }
}

/* ---- 12: split counts ----------------------------------------------------- */
static void test_split(void)
{
    kdts_task_config tc;
    kdts_error e;
    memset(&tc, 0, sizeof tc);
    KT_CHECK(kdts_split_parse(&tc, "1000,200,0", &e) == KDTS_OK && tc.split == KDTS_SPLIT_ROWS &&
                 tc.split_sizes[0] == 1000 && tc.split_sizes[2] == 0,
             "--split 1000,200,0 is row counts: %s", e.message);
    KT_CHECK(kdts_split_parse(&tc, "0.7,0.2,0.1", &e) == KDTS_OK && tc.split == KDTS_SPLIT_RATIO, "ratios stay ratios");
}

/* ---- 10: outliers in the training split ----------------------------------- */
static void test_outlier(void)
{
    char *text = (char *)malloc(16 * 1024);
    size_t n = 0;
    int i, found = 0;
    kdts_task task;
    kdts_task_config tc;
    kdts_error e;
    const char *target = "y";
    n += (size_t)sprintf(text, "y\n");
    for (i = 0; i < 600; ++i) n += (size_t)sprintf(text + n, "%s\n", i == 100 ? "1e30" : i % 3 ? "0.5" : "-0.25");
    memset(&tc, 0, sizeof tc);
    tc.targets = &target;
    tc.n_targets = 1;
    tc.lookback = 8;
    tc.horizon = 2;
    KT_CHECK(kdts_task_open_mem(&task, &tc, text, n, "out.csv", &e) == KDTS_OK, "task: %s", e.message);
    for (i = 0; i < task.nwarn; ++i) found |= strstr(task.warnings[i], "row 101:") != NULL;
    KT_CHECK(found, "a 1e30 training value gives a one-line warning naming its row: %s", task.nwarn ? task.warnings[0] : "");
    kdts_task_free(&task);
    free(text);
}

/* ---- the tool -------------------------------------------------------------- */
static void expect_tool(const char *cmd, int code, const char *needle)
{
    int rc = run(cmd);
    size_t n = strlen(g_out);
    int one = n > 0 && strchr(g_out, '\n') == g_out + n - 1;
    KT_CHECK(rc == code && one && strstr(g_out, needle), "`%.300s` -> exit %d, want %d with '%s' on one line: %.600s", cmd,
             rc, code, needle, g_out);
}

#define SMALL " --lookback 8 --horizon 2 --hidden 3 --layers 1 --epochs 1 --quiet"

static void test_tool(void)
{
    char cmd[8192], csv[1 << 15];
    size_t n = 0;
    int i, rc;
    long before;
    if (!exists(TOOL)) {
        printf("%s is not built: the tool checks were NOT run (make builds it before the tests)\n", TOOL);
        return;
    }
    n += (size_t)snprintf(csv, sizeof csv, "t,\"na,me\",\"q\"\"x\",\"e\x1b[31m\",y\n");
    for (i = 0; i < 300; ++i)
        n += (size_t)snprintf(csv + n, sizeof csv - n, "%d,%d,%d,%d,%g\n", i, i % 5, i % 7, i % 3, sin(0.3 * i));
    write_bytes(DIR "/t.csv", csv, n);
    /* 3: output = input (by inode), before any work */
    before = file_size(DIR "/t.csv");
    symlink("t.csv", DIR "/t_link.csv");
    expect_tool(TOOL " train --csv " DIR "/t.csv --target y --out " DIR "/t_link.csv" SMALL, 2, "is the input");
    KT_CHECK(file_size(DIR "/t.csv") == before, "the CSV is intact");
    rc = run(TOOL " train --csv " DIR "/t.csv --target y --out " DIR "/m.kdts" SMALL);
    KT_CHECK(rc == 0, "train: %s", g_out);
    before = file_size(DIR "/m.kdts");
    expect_tool(TOOL " export-c --model " DIR "/m.kdts --name m --out " DIR "/./m.kdts", 2, "is the input");
    expect_tool(TOOL " distill --csv " DIR "/t.csv --teacher " DIR "/m.kdts --out " DIR "/m.kdts --hidden 2 --epochs 1", 2, "is the input");
    KT_CHECK(file_size(DIR "/m.kdts") == before, "the model is intact");
    {
        kdts_model l;
        KT_CHECK(kdts_model_load_file(&l, DIR "/m.kdts", NULL) == KDTS_OK, "the model still loads");
        kdts_model_free(&l);
    }
    /* 1, 6: what is at --out, checked before training */
    expect_tool(TOOL " train --csv " DIR "/t.csv --target y --out " DIR "/fifo" SMALL, 1, "FIFO");
    expect_tool(TOOL " train --csv " DIR "/t.csv --target y --out " DIR "/adir" SMALL, 1, "a folder");
    expect_tool(TOOL " train --csv " DIR "/t.csv --target y --out " DIR "/nofolder/m.kdts" SMALL, 1, "does not exist");
    /* 2: export-c --out of any length: refused whole or written exactly */
    n = (size_t)snprintf(cmd, sizeof cmd, TOOL " export-c --model " DIR "/m.kdts --name m --out " DIR);
    while (n < 5200) n += (size_t)snprintf(cmd + n, sizeof cmd - n, "/.");
    snprintf(cmd + n, sizeof cmd - n, "/m.h");
    expect_tool(cmd, 2, "too long");
    KT_CHECK(!exists(DIR "/m.h"), "nothing written for a refused path");
    /* 8: stdout write errors */
    if (exists("/dev/full")) {
        expect_tool("(" TOOL " info --model " DIR "/m.kdts > /dev/full)", 1, "writing the output failed");
        expect_tool("(" TOOL " inspect --csv " DIR "/t.csv > /dev/full)", 1, "writing the output failed");
        expect_tool("(" TOOL " eval --model " DIR "/m.kdts --csv " DIR "/t.csv > /dev/full)", 1, "writing the output failed");
        expect_tool("(" TOOL " predict --model " DIR "/m.kdts --csv " DIR "/t.csv --last 2 > /dev/full)", 1,
                    "writing the output failed");
    } else {
        printf("/dev/full missing: the write-error checks were NOT run\n");
    }
    /* 9: names: by field number, quoted CSV output, escaped on the terminal */
    rc = run(TOOL " train --csv " DIR "/t.csv --target '#3,#2' --out " DIR "/names.kdts" SMALL);
    KT_CHECK(rc == 0, "--target '#3,#2': %s", g_out);
    rc = run(TOOL " predict --model " DIR "/names.kdts --csv " DIR "/t.csv --last 1");
    KT_CHECK(rc == 0 && !strncmp(g_out, "origin_row,row,step,\"q\"\"x\",\"na,me\"\n", 35), "predict quotes names: %.200s",
             g_out);
    rc = run(TOOL " inspect --csv " DIR "/t.csv");
    KT_CHECK(rc == 0 && !strchr(g_out, 0x1b) && strstr(g_out, "e\\x1b[31m"), "inspect escapes control bytes: %.400s", g_out);
    expect_tool(TOOL " train --csv " DIR "/t.csv --target '#x' --out " DIR "/x.kdts" SMALL, 2, "field number");
    expect_tool(TOOL " train --csv " DIR "/t.csv --target 'e\x1b[31m,x\ny' --out " DIR "/x.kdts" SMALL, 1, "\\x1b[31m");
    KT_CHECK(!strchr(g_out, 0x1b), "error messages escape control bytes: %s", g_out);
    expect_tool(TOOL " train --csv " DIR "/t.csv --target y,y --out " DIR "/x.kdts" SMALL, 2, "twice");
    /* 10, 13: messages */
    write_bytes(DIR "/dup.csv", "y,y,z\n1,2,3\n", 12);
    expect_tool(TOOL " train --csv " DIR "/dup.csv --target y --out " DIR "/x.kdts" SMALL, 1, "more than once");
    write_bytes(DIR "/u16.csv", "\xff\xfey\0\n\0" "1\0\n\0", 10);
    expect_tool(TOOL " inspect --csv " DIR "/u16.csv", 1, "UTF-16 is not supported; convert to UTF-8");
    expect_tool(TOOL " inspect --csv " DIR, 1, "is a folder, not a CSV file");
    expect_tool(TOOL " info --model " DIR, 1, "is a folder, not a model file");
    if (exists("/dev/zero")) {
        expect_tool(TOOL " inspect --csv /dev/zero", 1, "NUL byte");
        expect_tool(TOOL " info --model /dev/zero", 1, "bad magic");
    }
    expect_tool(TOOL " train --csv " DIR "/t.csv --target nosuch --out " DIR "/x.kdts" SMALL, 1, "not found");
    run(TOOL " train --csv " DIR "/t.csv --target nosuch --out " DIR "/x.kdts" SMALL);
    {
        const char *p = strstr(g_out, DIR "/t.csv");
        KT_CHECK(p && !strstr(p + 1, DIR "/t.csv") && !strstr(g_out, "(line"), "the path once, no repeated position: %s",
                 g_out);
    }
    {
        char t65[1024];
        size_t k = 0;
        for (i = 0; i < 65; ++i) k += (size_t)snprintf(t65 + k, sizeof t65 - k, "%sc%d", i ? "," : "", i);
        snprintf(cmd, sizeof cmd, TOOL " train --csv " DIR "/t.csv --target %s --out " DIR "/x.kdts" SMALL, t65);
        expect_tool(cmd, 2, "more than 64 targets");
    }
    /* 6: a name a model cannot store is refused before training */
    {
        char nm[400];
        memset(nm, 'n', 300);
        nm[300] = 0;
        n = (size_t)snprintf(csv, sizeof csv, "%s,y\n", nm);
        for (i = 0; i < 100; ++i) n += (size_t)snprintf(csv + n, sizeof csv - n, "%d,%d\n", i % 4, i % 7);
        write_bytes(DIR "/longname.csv", csv, n);
        expect_tool(TOOL " train --csv " DIR "/longname.csv --target y --features '#1' --out " DIR "/ln.kdts --epochs 100000"
                    " --lookback 4 --horizon 1 --hidden 2 --layers 1", 1, "at most 255 bytes");
        KT_CHECK(!strstr(g_out, "epoch"), "refused before the first epoch: %s", g_out);
    }
    /* 12 */
    expect_tool(TOOL " train --csv " DIR "/t.csv --target y --lookback 100000 --out " DIR "/x.kdts --quiet", 2, "1..65536");
    rc = run(TOOL " train --csv " DIR "/t.csv --target y --split 200,60,0 --out " DIR "/split.kdts" SMALL);
    KT_CHECK(rc == 0, "--split 200,60,0 accepted as row counts: %s", g_out);
    /* 7: a non-finite validation score is not a success */
    n = (size_t)snprintf(csv, sizeof csv, "y\n");
    for (i = 0; i < 300; ++i) n += (size_t)snprintf(csv + n, sizeof csv - n, "%s\n", i == 200 ? "1e30" : i % 2 ? "0.5" : "-0.5");
    write_bytes(DIR "/valout.csv", csv, n);
    rc = run(TOOL " train --csv " DIR "/valout.csv --target y --out " DIR "/vo.kdts --lookback 8 --horizon 2 --hidden 3 --layers 1 --epochs 1 --no-skip");
    KT_CHECK(rc == 1 && strstr(g_out, "validation") && !strstr(g_out, "best validation MSE inf"),
             "1e30 in the validation rows: exit 1, said clearly: %s", g_out);
    KT_CHECK(strstr(g_out, "wrote the last good weights") && strstr(g_out, DIR "/vo.kdts") && exists(DIR "/vo.kdts"),
             "the last good weights are saved and the message says where: %s", g_out);
    /* export-c of a trained model compiles */
    rc = run(TOOL " export-c --model " DIR "/m.kdts --name tm --out " DIR "/tm.h");
    KT_CHECK(rc == 0 && exists(DIR "/tm.h"), "export-c: %s", g_out);
}

int main(void)
{
    run("rm -rf " DIR " && mkdir -p " DIR);
    test_save_targets();
    test_path_checks();
    test_export();
    test_model_files();
    test_nonfinite_forecast();
    test_csv();
    test_split();
    test_outlier();
    test_tool();
    run("chmod -R u+w " DIR " 2>/dev/null; rm -f " DIR "/fifo " DIR "/null");
    return kt_done();
}
