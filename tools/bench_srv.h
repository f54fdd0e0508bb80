/* bench_srv.h - a PyTorch benchmark script run as a server on two pipes,
   so that kdts and PyTorch can be timed in alternating groups (the host's
   speed may drift between two sequential runs). Shared by tools/bench_gru.c
   and tools/bench_attn.c; POSIX (fork, pipe); include after bench_common.h.

   Protocol: the script, started with --serve, prints "ready"; then for each
   request line "KEY NAME N WARM" it runs WARM untimed and N timed calls and
   answers with one line of numbers (N wall seconds, and for a script that
   also reports them, N processor seconds after those); "quit" ends it. */
#ifndef KDTS_BENCH_SRV_H
#define KDTS_BENCH_SRV_H

#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

typedef struct bc_srv {
    FILE *to, *from;
    pid_t pid;
} bc_srv;

/* Start "python3 SCRIPT_AND_ARGS --serve" (1 thread, bc_torch_env's
   OpenBLAS kernels) and wait for "ready"; 0 on failure. */
static int bc_srv_start(bc_srv *s, const char *script_and_args)
{
    int in[2], out[2];
    char line[64], cmd[512];
    memset(s, 0, sizeof *s);
    if (strlen(script_and_args) > 400) return 0;
    sprintf(cmd, "%sOMP_NUM_THREADS=1 exec /usr/bin/python3 %s --serve", bc_torch_env(), script_and_args);
    if (pipe(in) != 0) return 0;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return 0;
    }
    s->pid = fork();
    if (s->pid < 0) return 0;
    if (s->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->to = fdopen(in[1], "w");
    s->from = fdopen(out[0], "r");
    if (!s->to || !s->from || !fgets(line, sizeof line, s->from) || strncmp(line, "ready", 5) != 0) return 0;
    return 1;
}

/* n timed calls of KEY on NAME after warm untimed ones; reads nread numbers
   of the answer into t (n, or 2n for wall and processor times); 0 on
   failure. */
static int bc_srv_times(bc_srv *s, const char *key, const char *name, int n, int warm, double *t, int nread)
{
    static char line[8192];
    char *p, *e;
    int i;
    fprintf(s->to, "%s %s %d %d\n", key, name, n, warm);
    fflush(s->to);
    if (!fgets(line, sizeof line, s->from)) return 0;
    for (i = 0, p = line; i < nread; ++i, p = e) {
        t[i] = strtod(p, &e);
        if (e == p) return 0;
    }
    return 1;
}

static void bc_srv_stop(bc_srv *s)
{
    if (s->to) {
        fprintf(s->to, "quit\n");
        fclose(s->to);
    }
    if (s->from) fclose(s->from);
    if (s->pid > 0) waitpid(s->pid, NULL, 0);
    memset(s, 0, sizeof *s);
}

#endif
