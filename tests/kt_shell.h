/* kt_shell.h - shell helpers for the tests that run the tool (test_cli,
   test_safe): run a command and keep its output, test for a file, write a
   file. POSIX (popen, stat); include after the program's
   _POSIX_C_SOURCE definition. */
#ifndef KT_SHELL_H
#define KT_SHELL_H
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* The output (stdout and stderr) of the last run(), NUL-terminated;
   longer output is cut at the buffer's size. */
static char g_out[1 << 18];

/* Run a shell command, its stdout and stderr into g_out; returns its exit
   status, or -1 if it could not be started or did not exit normally. */
static inline int run(const char *cmd)
{
    char full[16384];
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

/* Does anything (file, folder, node) exist at path (links followed)? */
static inline int exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0;
}

/* Write n bytes to path (created or truncated); silent on failure, the
   checks that follow see the result. */
static inline void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* Write a NUL-terminated text to path. */
static inline void write_file(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }
#endif
