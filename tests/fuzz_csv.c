/* fuzz_csv.c - libFuzzer target for the kdts CSV memory reader.
   build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz_csv.c -lm -o build/fuzz_csv
   run:   ./build/fuzz_csv -max_total_time=60 tests/corpus/csv
   The first byte picks the options (delimiter, missing policy, text columns,
   column choice, chunked reading); the rest is the CSV text. Each successful
   read is also pushed through the scaler and window code. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include <stdint.h>
#include <string.h>

typedef struct fz_src { const uint8_t *p; size_t len, pos, chunk; } fz_src;
static size_t fz_read(void *user, void *buf, size_t cap)
{
    fz_src *s = (fz_src *)user;
    size_t n = s->len - s->pos;
    if (n > s->chunk) n = s->chunk;
    if (n > cap) n = cap;
    memcpy(buf, s->p + s->pos, n);
    s->pos += n;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kdts_csv_config c = kdts_csv_config_default();
    kdts_table t;
    kdts_error e;
    kdts_result r;
    static const char delims[4] = {0, ',', ';', '\t'};
    static const char *names[2] = {"a", "b"};
    int idx[2] = {0, 1};
    uint8_t op;
    if (size < 1) return 0;
    op = data[0];
    c.delimiter = delims[op & 3];
    c.missing = (op >> 2) % 3;
    c.keep_text = (op >> 4) & 1;
    if ((op >> 5) & 1) { c.columns = names; c.n_columns = 1 + ((op >> 7) & 1); }
    else if ((op >> 7) & 1) { c.column_indices = idx; c.n_column_indices = 2; }
    if ((op >> 6) & 1) {
        fz_src s;
        s.p = data + 1; s.len = size - 1; s.pos = 0; s.chunk = 1 + (op & 7);
        r = kdts_csv_read_cb(&t, fz_read, &s, &c, &e);
    } else {
        r = kdts_csv_read_mem(&t, data + 1, size - 1, &c, &e);
    }
    if (r == KDTS_OK) {
        long k;
        int i;
        for (i = 0; i < t.text_cols; ++i)
            for (k = 0; k < t.rows; ++k) (void)strlen(kdts_table_text(&t, i, k));
        if (t.cols > 0 && t.cols <= KDTS_MAX_COLUMNS) {
            kdts_scaler sc;
            kdts_windows w;
            kdts_window_config wc = kdts_window_config_default();
            wc.lookback = 2;
            wc.norm = op % 3;
            if (kdts_scaler_fit_table(&sc, NULL, &t, 0, t.rows, &e) == KDTS_OK) kdts_scaler_apply_table(&sc, &t);
            if (kdts_windows_make(&w, &t, 0, t.rows, &wc, &e) == KDTS_OK) kdts_windows_free(&w);
        }
        kdts_table_free(&t);
    } else {
        /* the message is always NUL-terminated */
        (void)strlen(e.message);
    }
    return 0;
}
