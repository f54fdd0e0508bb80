/* fuzz_model.c - libFuzzer target for the kdts model-file loader
   (kdts_model_load_mem). Seeds: tests/corpus/model/ (valid point and dist models written
   by `tests/xmodel.c write`). `make fuzz` runs it for FUZZ_SECONDS; `make
   fuzz-replay` (part of make test-asan) replays the corpus with plain main.
   A model that loads must pass kdts_model_check, give finite-or-refused
   forecasts through the inference API, and survive a save/load round trip
   that reproduces its weights exactly. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kdts_model m, l;
    kdts_error e;
    kdts_infer inf;
    size_t n = 0;
    unsigned char *buf;
    memset(&e, 0, sizeof e);
    if (kdts_model_load_mem(&m, data, size, &e) != KDTS_OK) {
        if (!memchr(e.message, 0, sizeof e.message)) abort(); /* unterminated message */
        return 0;
    }
    if (kdts_model_check(&m, NULL) != KDTS_OK) abort();
    if (m.lookback >= 1 && m.lookback <= 512 && m.n_features <= KDTS_MAX_COLUMNS &&
        kdts_model_weight_bytes(&m) <= ((size_t)1 << 24) &&
        kdts_infer_create(&inf, &m, 0, NULL) == KDTS_OK) {
        size_t nx = (size_t)m.lookback * (size_t)m.n_features, no = (size_t)m.n_targets * (size_t)m.horizon, i;
        float *x = (float *)malloc(nx * sizeof(float) + 1), *fc = (float *)malloc(no * sizeof(float) + 1);
        float *lo = (float *)malloc(no * sizeof(float) + 1), *hi = (float *)malloc(no * sizeof(float) + 1);
        if (x && fc && lo && hi) {
            int dist = m.arch.mode == KDTS_MODE_DIST;
            for (i = 0; i < nx; ++i) x[i] = (float)(i % 7) - 3.0f;
            (void)kdts_infer_window(&inf, x, m.lookback, fc, dist ? lo : NULL, dist ? hi : NULL, 0.8f, NULL);
            for (i = 0; i < (size_t)m.lookback + 2; ++i)
                (void)kdts_infer_step(&inf, x + (i % (size_t)m.lookback) * (size_t)m.n_features, fc, NULL, NULL, 0.0f, NULL);
        }
        free(x);
        free(fc);
        free(lo);
        free(hi);
        kdts_infer_free(&inf);
    }
    if (kdts_model_save_mem(&m, NULL, 0, &n, NULL) != KDTS_OK) abort();
    buf = (unsigned char *)malloc(n ? n : 1);
    if (!buf) abort();
    if (kdts_model_save_mem(&m, buf, n, &n, NULL) != KDTS_OK) abort();
    if (kdts_model_load_mem(&l, buf, n, NULL) != KDTS_OK) abort();
    if (l.nparams != m.nparams || memcmp(l.params, m.params, m.nparams * sizeof(float))) abort();
    kdts_model_free(&l);
    free(buf);
    kdts_model_free(&m);
    return 0;
}
