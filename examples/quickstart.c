/* quickstart.c - the whole journey in one page: CSV -> teacher -> student ->
   save -> load -> forecast in original units.  Build: make; run from the
   repository root: build/quickstart [file.csv [target]] */
#define KDTS_IMPLEMENTATION
#include "kdts.h"
#include <stdio.h>

static int fail(const kdts_error *e) { fprintf(stderr, "quickstart: %s\n", e->message); return 1; }

int main(int argc, char **argv)
{
    const char *csv = argc > 1 ? argv[1] : "data/ETTh1.csv", *target = argc > 2 ? argv[2] : "OT";
    kdts_task task;                 /* the data: split, scaler, windows      */
    kdts_task_config data = {0};    /* zero = defaults: lookback 96, horizon 24, z-score, 12/4/4 months */
    kdts_net_config arch = {0};     /* zero kind = LSTM; also GRU, ATTN, LINEAR */
    kdts_train_config train = {0};  /* zero = defaults: 10 epochs, batch 32, Adam lr 1e-3 */
    kdts_net teacher, student;
    const kdts_net *teachers[1];
    kdts_model model, loaded;
    kdts_infer inf;
    kdts_error err;
    float x[96], forecast[24];
    int j;

    data.targets = &target;
    data.n_targets = 1;
    if (kdts_task_open(&task, &data, csv, &err)) return fail(&err);

    arch.hidden = 32, arch.layers = 2;                    /* the teacher */
    kdts_task_net_config(&task, &arch);                   /* inputs and horizon from the data */
    train.epochs = 3, train.patience = 2;
    if (kdts_net_init(&teacher, &arch, 1, &err) || kdts_task_fit(&task, &teacher, &train, NULL, 0, NULL, &err))
        return fail(&err);

    arch.hidden = 8, arch.layers = 1;                     /* the student learns from the teacher */
    train.alpha = 0.5f, train.beta = 0.1f;
    teachers[0] = &teacher;
    if (kdts_net_init(&student, &arch, 2, &err) || kdts_task_fit(&task, &student, &train, teachers, 1, NULL, &err))
        return fail(&err);

    /* a model file carries the weights and every data setting */
    if (kdts_task_model(&task, &student, NULL, &model, &err) || kdts_model_save_file(&model, "student.kdts", &err) ||
        kdts_model_load_file(&loaded, "student.kdts", &err))
        return fail(&err);

    /* forecast from the last 96 rows, raw values in, original units out */
    if (kdts_infer_create(&inf, &loaded, 0, &err) || kdts_task_input(&task, task.rows - 1, x, &err) ||
        kdts_infer_window(&inf, x, 96, forecast, NULL, NULL, 0, &err))
        return fail(&err);
    printf("student.kdts (%lu parameters, teacher %lu): next %d values of %s:\n", (unsigned long)student.nparams,
           (unsigned long)teacher.nparams, loaded.horizon, target);
    for (j = 0; j < loaded.horizon; ++j) printf("%s%.3f", j ? " " : "  ", forecast[j]);
    printf("\n");

    kdts_infer_free(&inf);
    kdts_model_free(&loaded), kdts_model_free(&model);
    kdts_net_free(&student), kdts_net_free(&teacher);
    kdts_task_free(&task);
    return 0;
}
