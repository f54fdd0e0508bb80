/* test_model_nostdio - the model and inference API in a KDTS_NO_STDIO build:
   memory-buffer save/load and allocation-free inference still work, and
   error messages are the same formatted text as with stdio (no raw
   format strings). */
#define KDTS_NO_STDIO
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <stdlib.h>
#include <string.h>

/* A message of a KDTS_NO_STDIO build: formatted (no '%'), with `part`. */
static void check_msg(const kdts_error *e, kdts_result got, kdts_result want, const char *part)
{
    KT_CHECK(got == want && e->code == want, "result %d, want %d", (int)got, (int)want);
    KT_CHECK(!strchr(e->message, '%') && strstr(e->message, part), "message '%s' (want '%s', no '%%')", e->message,
             part);
}

static void test_messages(kdts_infer *inf, const kdts_model *m)
{
    kdts_error e;
    kdts_lstm_config c;
    kdts_lstm net;
    kdts_lstm_ws ws;
    kdts_adam a;
    kdts_adam_config ac;
    kdts_table t;
    kdts_csv_config cc;
    float x[24] = {0}, fc[3], A[4] = {0};
    static const char csv[] = "a,b\n1,2\n3,x\n";
    int i;
    memset(&c, 0, sizeof c);
    c.hidden = 70000;
    check_msg(&e, kdts_lstm_config_check(&c, &e), KDTS_ERR_ARG, "hidden size 70000 out of range 1..65536");
    c.hidden = 4;
    c.dropout = 1.5f;
    check_msg(&e, kdts_lstm_config_check(&c, &e), KDTS_ERR_ARG, "dropout");
    c.dropout = 0;
    KT_CHECK(kdts_lstm_init(&net, &c, 1, NULL) == KDTS_OK, "init");
    KT_CHECK(kdts_lstm_ws_init(&ws, &c, 2, 5, 0, NULL) == KDTS_OK, "ws");
    check_msg(&e, kdts_lstm_forward(&net, &ws, x, 3, 5, NULL, NULL, NULL, 0, NULL, &e), KDTS_ERR_SHAPE,
              "3 windows of 5 steps do not fit a workspace of 2 x 5");
    kdts_lstm_ws_free(&ws);
    kdts_lstm_free(&net);
    check_msg(&e, kdts_gemm(0, 0, 2, 2, 2, 1.0f, A, 1, A, 2, 0.0f, A, 2, &e), KDTS_ERR_ARG, "lda 1");
    memset(&ac, 0, sizeof ac);
    ac.lr = -1.0f;
    check_msg(&e, kdts_adam_init(&a, &ac, 4, &e), KDTS_ERR_ARG, "lr -1");
    for (i = 0; i < 24; ++i) x[i] = 0.5f;
    x[7] = 0.0f / 0.0f;
    check_msg(&e, kdts_infer_window(inf, x, 24, fc, NULL, NULL, 0, &e), KDTS_ERR_NONFINITE, "step 8");
    check_msg(&e, kdts_infer_window(inf, x, 99, fc, NULL, NULL, 0, &e), KDTS_ERR_ARG, "99 steps");
    check_msg(&e, kdts_infer_stream_mode(inf, 7, &e), KDTS_ERR_ARG, "stream mode 7");
    (void)m;
    cc = kdts_csv_config_default();
    check_msg(&e, kdts_csv_read_mem(&t, csv, sizeof csv - 1, &cc, &e), KDTS_ERR_PARSE, "line 3");
}

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
    KT_CHECK(kdts_infer_window(&inf, x, 24, fa, NULL, NULL, 0, NULL) == KDTS_OK, "window");
    KT_CHECK(kdts_infer_init(&inf, &l, 0, work, sizeof work, NULL) == KDTS_OK, "infer init loaded");
    KT_CHECK(kdts_infer_window(&inf, x, 24, fb, NULL, NULL, 0, NULL) == KDTS_OK, "window loaded");
    KT_CHECK(!memcmp(fa, fb, sizeof fa), "bit-identical after a memory round trip");
    test_messages(&inf, &m);
    mem[len / 2] ^= 0x10;
    kdts_model_free(&l);
    KT_CHECK(kdts_model_load_mem(&l, mem, len, NULL) == KDTS_ERR_FORMAT, "corrupt buffer rejected");
    kdts_model_free(&m);
    kdts_lstm_free(&net);
    return kt_done();
}
