/* fuzz_main.c - a plain main for the kdts libFuzzer targets, so that any
   compiler can replay a corpus (under ASan/UBSan or valgrind): every file
   named on the command line is read and passed to LLVMFuzzerTestOneInput
   once. `make fuzz-replay` runs it over tests/corpus/NAME/ for every
   tests/fuzz_NAME.c: inputs that once crashed stay there as regressions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int i, n = 0;
    for (i = 1; i < argc; ++i) {
        FILE *f = fopen(argv[i], "rb");
        unsigned char *buf;
        long len;
        if (!f) {
            fprintf(stderr, "fuzz_main: cannot open %s\n", argv[i]);
            return 1;
        }
        if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
            fclose(f);
            fprintf(stderr, "fuzz_main: cannot size %s\n", argv[i]);
            return 1;
        }
        /* exact-size heap copy: ASan sees any read past the end */
        buf = (unsigned char *)malloc(len ? (size_t)len : 1);
        if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
            fclose(f);
            free(buf);
            fprintf(stderr, "fuzz_main: cannot read %s\n", argv[i]);
            return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)len);
        free(buf);
        ++n;
    }
    printf("fuzz_main: %d input(s) replayed\n", n);
    return 0;
}
