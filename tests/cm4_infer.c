/* cm4_infer.c - inference-only kdts on a Cortex-M4F (make test-cortex-m).
   Built with arm-none-eabi-gcc + newlib-nano: KDTS_NO_STDIO, the student's
   weights as const arrays in flash (build-cm4/cm4_student.h from
   kdts_model_export_c), all working memory in one static buffer, and an
   allocator that always fails, so any heap use would show up as an error
   and malloc is never linked in. The firmware reads a window from `adc`,
   forecasts, and leaves the result in `forecast_out`. */
#define KDTS_NO_STDIO
#define KDTS_MALLOC(sz) ((void)(sz), (void *)0)
#define KDTS_REALLOC(p, sz) ((void)(p), (void)(sz), (void *)0)
#define KDTS_FREE(p) ((void)(p))
#define KDTS_ASSERT(x) ((void)0)
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include "cm4_student.h"

#define CM_T 48
#define CM_H 4

volatile float adc[CM_T];         /* stands in for a sensor ring buffer */
volatile float forecast_out[CM_H];
volatile int status_out;

static float work[2048] __attribute__((aligned(64))); /* 8 KiB: kdts_infer_size() is checked below */

int main(void);
int main(void)
{
    kdts_infer inf;
    float x[CM_T], fc[CM_H];
    int i;
    if (kdts_infer_size(&student_model, 0) > sizeof work) {
        status_out = -100;
        return 1;
    }
    status_out = kdts_infer_init(&inf, &student_model, 0, work, sizeof work, NULL);
    if (status_out != KDTS_OK) return 1;
    for (;;) {
        for (i = 0; i < CM_T; ++i) x[i] = adc[i];
        status_out = kdts_infer_window(&inf, x, CM_T, fc, NULL, NULL, 0.0f, NULL);
        for (i = 0; i < CM_H; ++i) forecast_out[i] = fc[i];
    }
}
