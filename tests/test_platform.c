/* test_platform.c - properties that must hold on every platform and build:
   the SIMD path is the one the build asked for (KDTS_EXPECT_SIMD, set by the
   hardening targets: make test-paths / test-cross), the random streams, the
   initial weights and the model-file bytes are bit-identical to the values
   recorded on x86-64 (so a seed means the same thing on ARM, big-endian
   s390x, 32-bit, any compiler and any SIMD path), and basic type
   assumptions of the header hold. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a over 32-bit words taken least significant byte first: the same
   value on little- and big-endian hosts. */
static unsigned long fnv_words(const float *p, size_t n)
{
    unsigned long h = 2166136261UL;
    size_t i;
    int b;
    for (i = 0; i < n; ++i) {
        unsigned long w;
        unsigned int u;
        memcpy(&u, &p[i], 4);
        w = u;
        for (b = 0; b < 4; ++b) {
            h ^= (w >> (8 * b)) & 0xFFUL;
            h = (h * 16777619UL) & 0xFFFFFFFFUL;
        }
    }
    return h;
}

static unsigned long fnv_bytes(const unsigned char *p, size_t n)
{
    unsigned long h = 2166136261UL;
    size_t i;
    for (i = 0; i < n; ++i) {
        h ^= p[i];
        h = (h * 16777619UL) & 0xFFFFFFFFUL;
    }
    return h;
}

static void test_simd_name(void)
{
    const char *want = getenv("KDTS_EXPECT_SIMD");
    const char *got = kdts_simd_name();
    static const char *const known[] = {"avx512", "avx2", "sse2", "neon", "scalar"};
    int i, ok = 0;
    for (i = 0; i < 5; ++i) ok |= !strcmp(got, known[i]);
    KT_CHECK(ok, "kdts_simd_name() = '%s' is not a documented value", got);
    printf("SIMD path: %s%s%s\n", got, want && *want ? ", expected " : "", want && *want ? want : "");
    if (want && *want) KT_CHECK(!strcmp(got, want), "SIMD path is '%s', the build asked for '%s'", got, want);
}

static void test_types(void)
{
    unsigned long long big = 0xFFFFFFFFFFFFFFFFULL;
    float f = 1.0f;
    unsigned int u;
    KT_CHECK(sizeof(float) == 4, "float is %d bytes", (int)sizeof(float));
    memcpy(&u, &f, 4);
    KT_CHECK(u == 0x3F800000u, "float is not IEEE-754 binary32 (1.0f = 0x%08x)", u);
    KT_CHECK(big >> 63 == 1ULL, "unsigned long long has fewer than 64 bits");
    KT_CHECK(sizeof(size_t) >= 4, "size_t is %d bytes", (int)sizeof(size_t));
}

/* Known answers recorded on x86-64 (gcc, AVX-512). */
static void test_known_answers(void)
{
    static const unsigned long long want[4] = {0xb058533f2de1e247ULL, 0xb9ce3f9922d00c78ULL,
                                               0xe388dbc5079ed02bULL, 0xf13f58b2dfa8a228ULL};
    kdts_rng r;
    kdts_lstm m;
    kdts_lstm_config c;
    int i;
    kdts_rng_seed(&r, 42);
    for (i = 0; i < 4; ++i) {
        unsigned long long v = kdts_rng_next(&r);
        KT_CHECK(v == want[i], "rng seed 42 output %d: 0x%016llx, want 0x%016llx", i, v, want[i]);
    }
    memset(&c, 0, sizeof c);
    c.input = 3;
    c.hidden = 5;
    c.layers = 2;
    c.horizon = 2;
    KT_CHECK(kdts_lstm_init(&m, &c, 7, NULL) == KDTS_OK, "lstm init");
    if (m.params) {
        unsigned long h = fnv_words(m.params, m.nparams);
        KT_CHECK(m.nparams == 452, "nparams %lu", (unsigned long)m.nparams);
        KT_CHECK(h == 0xd4672b2eUL, "initial weights for seed 7 differ from x86-64 (hash 0x%08lx)", h);
    }
    {
        /* the model file of that network: a host-independent byte format */
        kdts_model md;
        kdts_model_desc d;
        size_t n = 0;
        unsigned char *buf;
        memset(&d, 0, sizeof d);
        d.lookback = 8;
        d.horizon = 2;
        d.n_features = 3;
        KT_CHECK(kdts_model_create(&md, &m, &d, NULL) == KDTS_OK, "model create");
        KT_CHECK(kdts_model_save_mem(&md, NULL, 0, &n, NULL) == KDTS_OK && n > 28, "size query");
        buf = (unsigned char *)malloc(n);
        if (buf && kdts_model_save_mem(&md, buf, n, &n, NULL) == KDTS_OK) {
            /* WGTS is the last section: the weights as little-endian IEEE
               bit patterns, then the CRC */
            size_t off = n - 4 - 4 * m.nparams, i, bad = 0;
            KT_CHECK(!memcmp(buf, "KDTSMODL", 8) && buf[8] == KDTS_MODEL_FORMAT_VERSION && buf[9] == 0, "magic / little-endian version");
            for (i = 0; i < m.nparams; ++i) {
                const unsigned char *q = buf + off + 4 * i;
                unsigned int u, w = (unsigned int)q[0] | (unsigned int)q[1] << 8 | (unsigned int)q[2] << 16 |
                                    (unsigned int)q[3] << 24;
                memcpy(&u, &m.params[i], 4);
                bad += u != w;
            }
            KT_CHECK(bad == 0, "%lu weights not stored as little-endian bit patterns", (unsigned long)bad);
            printf("model file: %lu bytes, hash 0x%08lx\n", (unsigned long)n, fnv_bytes(buf, n));
        } else {
            KT_CHECK(0, "save_mem");
        }
        free(buf);
        kdts_model_free(&md);
    }
    kdts_lstm_free(&m);
}

int main(void)
{
    printf("kdts %s on %d-bit size_t\n", KDTS_VERSION_STRING, (int)(8 * sizeof(size_t)));
    test_simd_name();
    test_types();
    test_known_answers();
    return kt_done();
}
