/* mcu_export_demo - run an exported kdts model the way a board without a
   file system would: the weights are `static const` arrays in
   examples/etth1_student.h (flash), the working memory is a static buffer,
   kdts is built with KDTS_NO_STDIO, and nothing is allocated.

   The header was made by the kdts tool from a 1x8 student distilled on
   ETTh1 (target OT, lookback 24, horizon 4):
     build/kdts train   --csv data/ETTh1.csv --target OT --out teacher.kdts \
                        --lookback 24 --horizon 4 --hidden 16 --layers 2 --epochs 3 --max-rows 3000
     build/kdts distill --csv data/ETTh1.csv --teacher teacher.kdts --out student.kdts \
                        --hidden 8 --layers 1 --epochs 3 --max-rows 3000
     build/kdts export-c --model student.kdts --name etth1_student --out examples/etth1_student.h

   usage: mcu_export_demo        (no arguments; prints the forecasts) */
#define KDTS_NO_STDIO
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "etth1_student.h"
#include <stdio.h> /* only for showing the results on a PC */

/* 24 hourly oil temperatures (OT, ETTh1 data rows 2975..2998, 0-based) in original units;
   `build/kdts predict --model student.kdts --csv data/ETTh1.csv --max-rows 3000 --last 2`
   prints the same forecast for row 2998 */
static const float window[24] = {
    11.748f, 11.607f, 11.256f, 11.326f, 11.396f, 10.904f, 11.185f, 11.959f,
    11.678f, 11.467f, 11.678f, 13.085f, 14.351f, 13.507f, 15.476f, 17.024f,
    16.180f, 17.868f, 18.572f, 15.547f, 15.125f, 15.406f, 13.788f, 15.054f};

/* Working memory, checked against kdts_infer_size below: about 2 KB for this
   model in a build without vectors (a microcontroller); more where the
   packed weights are padded to whole vectors (3.4 KB with AVX-512). */
static unsigned char work[4096];

int main(void)
{
    kdts_infer inf;
    float fc[4];
    int t, j;
    const kdts_model *m = &etth1_student_model;
    size_t need = kdts_infer_size(m, 0);
    if (need == 0 || need > sizeof work) {
        printf("the work buffer needs %lu bytes\n", (unsigned long)need);
        return 1;
    }
    if (kdts_infer_init(&inf, m, 0, work, sizeof work, NULL) != KDTS_OK) return 1;
    printf("model: %dx%d LSTM, %lu const parameters, lookback %d, horizon %d, %lu bytes of working memory\n",
           m->arch.layers, m->arch.hidden, (unsigned long)m->nparams, m->lookback, m->horizon,
           (unsigned long)need);
    /* one window */
    if (kdts_infer_window(&inf, window, 24, fc, NULL, NULL, 0, NULL) != KDTS_OK) return 1;
    printf("window forecast of %s:", kdts_model_feature_name(m, m->target_index[0]));
    for (j = 0; j < 4; ++j) printf(" %.3f", fc[j]);
    printf("\n");
    /* streaming: one observation at a time, as a sensor would deliver them */
    for (t = 0; t < 24; ++t)
        if (kdts_infer_step(&inf, &window[t], fc, NULL, NULL, 0, NULL) != KDTS_OK) return 1;
    printf("stream forecast after 24 steps:");
    for (j = 0; j < 4; ++j) printf(" %.3f", fc[j]);
    printf("\n");
    return 0;
}
