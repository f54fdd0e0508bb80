/* cm4_gen.c - host helper of `make test-cortex-m`: builds a small student
   (1 feature, 1x16 LSTM, horizon 4, lookback 48; weights from a fixed seed,
   no training needed for a link test) and exports it with
   kdts_model_export_c as the C header named on the command line. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    kdts_lstm net;
    kdts_lstm_config c;
    kdts_model_desc d;
    kdts_model m;
    kdts_error e;
    if (argc != 2) {
        fprintf(stderr, "usage: cm4_gen OUT.h\n");
        return 2;
    }
    memset(&c, 0, sizeof c);
    c.hidden = 16;
    c.horizon = 4;
    memset(&d, 0, sizeof d);
    d.lookback = 48;
    d.horizon = 4;
    d.n_features = 1;
    d.window_norm = KDTS_WNORM_LAST;
    if (kdts_lstm_init(&net, &c, 2024, &e) != KDTS_OK || kdts_model_create(&m, &net, &d, &e) != KDTS_OK ||
        kdts_model_export_c(&m, "student", argv[1], &e) != KDTS_OK) {
        fprintf(stderr, "cm4_gen: %s\n", e.message);
        return 1;
    }
    printf("cm4_gen: %s: %lu parameters (%lu bytes of weights), kdts_infer_size %lu bytes\n", argv[1],
           (unsigned long)m.nparams, (unsigned long)kdts_model_weight_bytes(&m),
           (unsigned long)kdts_infer_size(&m, 0));
    kdts_model_free(&m);
    kdts_lstm_free(&net);
    return 0;
}
