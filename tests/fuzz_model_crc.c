/* fuzz_model_crc.c - libFuzzer target for the model-file section parsers.
   Mutated model files nearly always fail the CRC check (fuzz_model.c), so
   the fuzzer rarely gets past it. This target repairs each input first:
   the magic, the payload size (file size - 28) and the CRC-32 are written
   back, then the input goes through the same checks as fuzz_model.c
   (load, kdts_model_check, inference, save/load round trip). Only the
   version word and the sections are left as the fuzzer made them.
   Seeds: tests/corpus/model_crc/ (valid version-2 files of several kinds),
   written by build/kdts train --csv data/example_air_passengers.csv
   --target y --lookback 12 --horizon 3 --epochs 1 with --arch lstm
   --hidden 3 --layers 2; --arch gru --hidden 3 --layers 1 --mode dist
   --bins 4; --arch attn --hidden 4 --layers 1; --arch linear --linear
   dlinear --kernel 5; --arch lstm --hidden 2 --layers 1 --skip.
   `make fuzz` runs every tests/fuzz_*.c, this one included;
   `make fuzz-replay` replays its corpus. */
#define LLVMFuzzerTestOneInput kdts_fuzz_model_checks
#include "fuzz_model.c"
#undef LLVMFuzzerTestOneInput

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *b;
    unsigned long long payload;
    unsigned long crc;
    int i;
    if (size < 28) return kdts_fuzz_model_checks(data, size);
    b = (unsigned char *)malloc(size);
    if (!b) return 0;
    memcpy(b, data, size);
    memcpy(b, "KDTSMODL", 8);
    payload = (unsigned long long)(size - 28);
    for (i = 0; i < 8; ++i) b[16 + i] = (unsigned char)(payload >> (8 * i));
    crc = kdts__crc32(0, b, size - 4);
    for (i = 0; i < 4; ++i) b[size - 4 + i] = (unsigned char)(crc >> (8 * i));
    kdts_fuzz_model_checks(b, size);
    free(b);
    return 0;
}
