/* test_model_nostdio - the model and inference API in a KDTS_NO_STDIO build:
   memory-buffer save/load and allocation-free inference still work. */
#define KDTS_NO_STDIO
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <stdlib.h>
#include <string.h>

int main(void)
{
    kdts_lstm net;
    kdts_lstm_config c;
    kdts_model_desc d;
    kdts_model m, l;
    kdts_infer inf;
    static unsigned char mem[1 << 14], work[1 << 14];
    size_t len = 0;
    float x[24], fa[3], fb[3];
    int i;
    memset(&c, 0, sizeof c);
    c.hidden = 6;
    c.horizon = 3;
    KT_CHECK(kdts_lstm_init(&net, &c, 4, NULL) == KDTS_OK, "init");
    memset(&d, 0, sizeof d);
    d.lookback = 24;
    d.horizon = 3;
    d.n_features = 1;
    KT_CHECK(kdts_model_create(&m, &net, &d, NULL) == KDTS_OK, "create");
    KT_CHECK(!strcmp(kdts_model_feature_name(&m, 0), "x0"), "default name x0");
    KT_CHECK(kdts_model_save_mem(&m, mem, sizeof mem, &len, NULL) == KDTS_OK, "save_mem");
    KT_CHECK(kdts_model_load_mem(&l, mem, len, NULL) == KDTS_OK, "load_mem");
    for (i = 0; i < 24; ++i) x[i] = (float)i * 0.1f;
    KT_CHECK(kdts_infer_init(&inf, &m, 0, work, sizeof work, NULL) == KDTS_OK, "infer init");
    KT_CHECK(kdts_infer_window(&inf, x, 24, fa, NULL, NULL, 0) == KDTS_OK, "window");
    KT_CHECK(kdts_infer_init(&inf, &l, 0, work, sizeof work, NULL) == KDTS_OK, "infer init loaded");
    KT_CHECK(kdts_infer_window(&inf, x, 24, fb, NULL, NULL, 0) == KDTS_OK, "window loaded");
    KT_CHECK(!memcmp(fa, fb, sizeof fa), "bit-identical after a memory round trip");
    mem[len / 2] ^= 0x10;
    kdts_model_free(&l);
    KT_CHECK(kdts_model_load_mem(&l, mem, len, NULL) == KDTS_ERR_FORMAT, "corrupt buffer rejected");
    kdts_model_free(&m);
    kdts_lstm_free(&net);
    return kt_done();
}
