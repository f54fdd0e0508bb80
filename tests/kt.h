/* kt.h - the tiny test harness used by every kdts test program.
   KT_CHECK(cond, fmt, ...) counts a pass or prints the failure with its
   place; kt_done() prints "N passed, M failed" and returns the exit code. */
#ifndef KT_H
#define KT_H
#include <stdio.h>
#include <stdlib.h>

static int kt_pass, kt_fail;

/* KDTS_TEST_SMALL=1 (set by tests/hardening.mk for valgrind and qemu): the
   programs that read it repeat fewer reference comparisons; every code path
   still runs. They print a line saying what was reduced. */
static inline int kt_small(void)
{
    const char *s = getenv("KDTS_TEST_SMALL");
    return s && *s && !(s[0] == '0' && !s[1]);
}

/* KDTS_TEST_SMALL=2 (set by tests/hardening.mk for s390x under qemu only,
   where the scalar path runs about 200x slower than natively): the few
   programs that read it leave out their longest parts, which the same
   scalar code runs natively in test-paths; each prints a line saying what
   was NOT run. */
static inline int kt_tiny(void)
{
    const char *s = getenv("KDTS_TEST_SMALL");
    return s && atoi(s) >= 2;
}

#define KT_CHECK(cond, ...)                                              \
    do {                                                                 \
        if (cond) {                                                      \
            kt_pass++;                                                   \
        } else {                                                         \
            kt_fail++;                                                   \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                  \
            printf(__VA_ARGS__);                                         \
            printf("\n");                                                \
            fflush(stdout);                                              \
        }                                                                \
    } while (0)

static int kt_done(void)
{
    printf("%d passed, %d failed\n", kt_pass, kt_fail);
    return kt_fail ? 1 : 0;
}
#endif
