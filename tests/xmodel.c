/* xmodel.c - model files across architectures (make test-cross-models).
     xmodel write DIR   trains nothing: builds two small models (point and
                        distribution mode, 2 features, a z-score scaler,
                        per-window normalization) from fixed seeds, saves them
                        as DIR/point.kdts and DIR/dist.kdts, and writes their
                        forecasts on fixed windows to DIR/NAME.txt (%.9g).
     xmodel check DIR   loads DIR/NAME.kdts (written on another machine, e.g.
                        x86-64 little-endian vs s390x big-endian), predicts
                        the same windows and compares with DIR/NAME.txt; also
                        checks that a local save is byte-identical to the file.
   Prints "N passed, M failed"; exit status 1 on any failure. */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "kt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define XM_T 12
#define XM_F 2
#define XM_N 5

static void xm_windows(float *x)
{
    int i;
    for (i = 0; i < XM_N * XM_T * XM_F; ++i) x[i] = 20.0f + 5.0f * (float)sin(0.37 * i) + 0.01f * (float)i;
}

/* Build model `which` (0 point, 1 dist) in *m. */
static int xm_build(kdts_model *m, int which)
{
    kdts_lstm net;
    kdts_lstm_config c;
    kdts_model_desc d;
    kdts_scaler s;
    static const char *const names[XM_F] = {"load", "temperature"};
    int tgt = 1, f, r;
    memset(&c, 0, sizeof c);
    c.input = XM_F;
    c.hidden = which ? 5 : 7;
    c.layers = which ? 1 : 2;
    c.horizon = 3;
    if (which) { c.mode = KDTS_MODE_DIST; c.bins = 16; c.bin_lo = -3.0f; c.bin_hi = 3.0f; }
    if (kdts_lstm_init(&net, &c, 1234 + which, NULL) != KDTS_OK) return 0;
    memset(&s, 0, sizeof s);
    s.cols = XM_F;
    s.kind = KDTS_SCALER_ZSCORE;
    for (f = 0; f < KDTS_MAX_COLUMNS; ++f) {
        s.offset[f] = f < XM_F ? 20.0f + (float)f : 0.0f;
        s.scale[f] = f < XM_F ? 3.5f - (float)f : 1.0f;
        s.clip_lo[f] = -FLT_MAX;
        s.clip_hi[f] = FLT_MAX;
    }
    memset(&d, 0, sizeof d);
    d.lookback = XM_T;
    d.horizon = 3;
    d.n_features = XM_F;
    d.feature_names = names;
    d.n_targets = 1;
    d.target_index = &tgt;
    d.window_norm = which ? KDTS_WNORM_MEANSTD : KDTS_WNORM_LAST;
    d.scaler = &s;
    r = kdts_model_create(m, &net, &d, NULL) == KDTS_OK;
    kdts_lstm_free(&net);
    return r;
}

static int xm_forecast(const kdts_model *m, float *fc /* XM_N*3 */, float *lo, float *hi)
{
    kdts_infer inf;
    float x[XM_N * XM_T * XM_F];
    int ok;
    xm_windows(x);
    if (kdts_infer_create(&inf, m, 0, NULL) != KDTS_OK) return 0;
    ok = kdts_infer_batch(&inf, x, XM_N, XM_T, fc, m->arch.mode == KDTS_MODE_DIST ? lo : NULL,
                          m->arch.mode == KDTS_MODE_DIST ? hi : NULL, 0.8f, NULL) == KDTS_OK;
    kdts_infer_free(&inf);
    return ok;
}

static const char *xm_name[2] = {"point", "dist"};

int main(int argc, char **argv)
{
    int which, write;
    char path[1024];
    if (argc != 3 || (strcmp(argv[1], "write") && strcmp(argv[1], "check"))) {
        fprintf(stderr, "usage: xmodel write|check DIR\n");
        return 2;
    }
    write = !strcmp(argv[1], "write");
    printf("xmodel %s %s: SIMD path %s, %s-endian\n", argv[1], argv[2], kdts_simd_name(),
           *(const unsigned char *)&(const unsigned int){1u} ? "little" : "big");
    for (which = 0; which < 2; ++which) {
        kdts_model m;
        float fc[XM_N * 3], lo[XM_N * 3], hi[XM_N * 3];
        int i;
        KT_CHECK(xm_build(&m, which), "%s: build", xm_name[which]);
        if (write) {
            FILE *f;
            KT_CHECK(xm_forecast(&m, fc, lo, hi), "%s: forecast", xm_name[which]);
            snprintf(path, sizeof path, "%s/%s.kdts", argv[2], xm_name[which]);
            KT_CHECK(kdts_model_save_file(&m, path, NULL) == KDTS_OK, "save %s", path);
            snprintf(path, sizeof path, "%s/%s.txt", argv[2], xm_name[which]);
            f = fopen(path, "w");
            KT_CHECK(f != NULL, "open %s", path);
            if (f) {
                for (i = 0; i < XM_N * 3; ++i)
                    fprintf(f, "%.9g %.9g %.9g\n", fc[i], which ? lo[i] : 0.0f, which ? hi[i] : 0.0f);
                fclose(f);
            }
        } else {
            kdts_model l;
            kdts_error e;
            FILE *f;
            unsigned char *a = NULL, *b = NULL;
            size_t na = 0, nb = 0;
            double worst = 0.0;
            snprintf(path, sizeof path, "%s/%s.kdts", argv[2], xm_name[which]);
            memset(&e, 0, sizeof e);
            if (kdts_model_load_file(&l, path, &e) != KDTS_OK) {
                KT_CHECK(0, "load %s: %s", path, e.message);
                kdts_model_free(&m);
                continue;
            }
            KT_CHECK(xm_forecast(&l, fc, lo, hi), "%s: forecast of the loaded model", xm_name[which]);
            snprintf(path, sizeof path, "%s/%s.txt", argv[2], xm_name[which]);
            f = fopen(path, "r");
            KT_CHECK(f != NULL, "open %s", path);
            for (i = 0; f && i < XM_N * 3; ++i) {
                double v[3], got[3];
                int k;
                if (fscanf(f, "%lf %lf %lf", &v[0], &v[1], &v[2]) != 3) { worst = 1e30; break; }
                got[0] = fc[i]; got[1] = which ? lo[i] : 0.0; got[2] = which ? hi[i] : 0.0;
                for (k = 0; k < 3; ++k) {
                    double d = fabs(got[k] - v[k]) / (1.0 + fabs(v[k]));
                    if (!(d == d)) d = 1e30;
                    if (d > worst) worst = d;
                }
            }
            if (f) fclose(f);
            KT_CHECK(worst < 1e-4, "%s: forecasts differ from the writer's by %g (relative)", xm_name[which], worst);
            printf("%s: worst relative forecast difference %.3g\n", xm_name[which], worst);
            /* the file format is host independent: saving the same model here
               gives the same bytes (the weights come from the portable RNG) */
            kdts_model_save_mem(&m, NULL, 0, &na, NULL);
            kdts_model_save_mem(&l, NULL, 0, &nb, NULL);
            a = (unsigned char *)malloc(na ? na : 1);
            b = (unsigned char *)malloc(nb ? nb : 1);
            KT_CHECK(a && b && na == nb, "%s: local and foreign model sizes %lu vs %lu", xm_name[which],
                     (unsigned long)na, (unsigned long)nb);
            if (a && b && na == nb) {
                kdts_model_save_mem(&m, a, na, &na, NULL);
                kdts_model_save_mem(&l, b, nb, &nb, NULL);
                KT_CHECK(!memcmp(a, b, na), "%s: re-saved foreign model differs from the local one", xm_name[which]);
            }
            free(a);
            free(b);
            kdts_model_free(&l);
        }
        kdts_model_free(&m);
    }
    return kt_done();
}
