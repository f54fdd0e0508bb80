# hardening.mk - the heavy robustness and portability checks (issue 7).
# Included by the Makefile; run by .ci/run, never by `make test`. Each build
# goes to its own directory, so they do not disturb build/.
#
#   make test-asan       every test (and the fuzz corpora) under ASan+UBSan
#   make test-valgrind   every test under valgrind memcheck, full leak check
#   make test-compilers  gcc and clang at -O0 and -O3, warnings as errors
#   make test-std        the header as C99 -pedantic / C++ with gcc and clang;
#                        every test built and run with tcc (scalar path)
#   make test-paths      scalar, SSE2, AVX2 and AVX-512 builds of every test,
#                        and an OpenMP build run with 2 threads (its
#                        LSTM and GRU tests also with 3: uneven shares,
#                        more threads than cores)
#   make test-cross      aarch64 (NEON), s390x (big-endian), armhf (32-bit,
#                        NEON) under qemu-user; model files exchanged between
#                        x86-64 and s390x; Cortex-M4 inference-only link
#   make fuzz            every tests/fuzz_NAME.c under libFuzzer for
#                        FUZZ_SECONDS, seeded from tests/corpus/NAME/
#   make test-hardening  all of the above
#
# Tools (Debian 12): valgrind clang libclang-rt-14-dev tcc qemu-user
# gcc-{aarch64-linux-gnu,s390x-linux-gnu,arm-linux-gnueabihf} with their
# libc6-dev-*-cross, gcc-arm-none-eabi libnewlib-arm-none-eabi.

# Command prefix for every test program (emulator, valgrind); see tests/run.sh.
KT_RUN ?=
# When set, test_platform checks kdts_simd_name() against it.
EXPECT_SIMD ?=
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60

ifeq ($(WERROR),1)
ALL_CFLAGS += -Werror
endif

.PHONY: test-run test-asan test-valgrind test-compilers test-std test-paths \
        test-cross test-cross-aarch64 test-cross-s390x test-cross-armhf \
        test-cross-models test-cortex-m fuzz fuzz-replay test-hardening

# Build the test programs only (no examples/tools) and run them, except the
# names in TEST_SKIP (e.g. test_cli on a foreign architecture: it runs the
# host's build/kdts and compiles and runs a program with $$CC).
TEST_SKIP ?=
RUN_BIN = $(filter-out $(addprefix $(BUILD)/,$(TEST_SKIP)),$(TEST_BIN))
test-run: $(RUN_BIN)
	@if [ -n "$(TEST_SKIP)" ]; then echo "test-run: NOT run here: $(TEST_SKIP)"; fi
	KT_RUN='$(KT_RUN)' KDTS_EXPECT_SIMD='$(EXPECT_SIMD)' sh tests/run.sh $(RUN_BIN)

test-hardening: test-paths test-compilers test-std test-asan test-valgrind test-cross fuzz

# ---- sanitizers -----------------------------------------------------------
test-asan:
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 OPT=-O1 test
	$(MAKE) --no-print-directory fuzz-replay

# Every fuzz target linked with a plain main (tests/fuzz_main.c) under
# ASan+UBSan and run once over every file of its corpus: the regression
# test for anything the fuzzer ever found.
FUZZ_SRC := $(wildcard tests/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz_%.c,%,$(filter-out tests/fuzz_main.c,$(FUZZ_SRC)))
fuzz-replay:
	@mkdir -p build-asan
	@set -e; for n in $(FUZZ_NAMES); do \
	  $(CC) -std=c99 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer -I. -Itests -o build-asan/replay_$$n tests/fuzz_$$n.c tests/fuzz_main.c -lm; \
	  ASAN_OPTIONS=detect_leaks=1 ./build-asan/replay_$$n tests/corpus/$$n/*; \
	done

# ---- valgrind -----------------------------------------------------------
# valgrind 3.19 cannot decode AVX-512 (SIGILL on the first EVEX instruction),
# so this build uses the AVX2+FMA path.
VALGRIND ?= valgrind -q --error-exitcode=1 --leak-check=full \
  --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible
# test_cli and test_experiment run the tool and the example from build/.
test-valgrind: $(EX_BIN) $(TOOL_BIN)
	$(MAKE) --no-print-directory BUILD=build-valgrind OPT=-O1 ARCH="-mavx2 -mfma" \
	  KT_RUN="$(VALGRIND)" test-run

# ---- compilers and standards ----------------------------------------------
test-compilers:
	@set -e; for c in gcc:g++ clang:clang++; do for o in -O0 -O3; do \
	  cc=$${c%%:*}; cxx=$${c#*:}; echo "==== $$cc $$o"; \
	  $(MAKE) --no-print-directory CC=$$cc CXX=$$cxx OPT=$$o WERROR=1 BUILD=build-$$cc$$o test; \
	done; done

test-std:
	$(MAKE) --no-print-directory CC=gcc CXX=g++ BUILD=build-std-gcc test-compile
	$(MAKE) --no-print-directory CC=clang CXX=clang++ BUILD=build-std-clang test-compile
	$(MAKE) --no-print-directory CC=tcc CSTD= ARCH= WARN="-Wall -Werror" OPT= \
	  BUILD=build-tcc EXPECT_SIMD=scalar test-run

# ---- SIMD paths -----------------------------------------------------------
test-paths:
	$(MAKE) --no-print-directory NO_SIMD=1 BUILD=build-scalar EXPECT_SIMD=scalar test-run
	$(MAKE) --no-print-directory ARCH="-msse2 -mno-avx" BUILD=build-sse2 EXPECT_SIMD=sse2 test-run
	$(MAKE) --no-print-directory ARCH="-mavx2 -mfma -mno-avx512f" BUILD=build-avx2 EXPECT_SIMD=avx2 test-run
	@if grep -qw avx512f /proc/cpuinfo; then \
	  $(MAKE) --no-print-directory ARCH=-march=native BUILD=build-avx512 EXPECT_SIMD=avx512 test-run; \
	else echo "test-paths: this CPU has no AVX-512: that path was NOT run"; fi
	OMP_NUM_THREADS=2 $(MAKE) --no-print-directory OPENMP=1 BUILD=build-omp test-run
	OMP_NUM_THREADS=3 KT_RUN= sh tests/run.sh build-omp/test_core build-omp/test_gradcheck build-omp/test_gru

# ---- other architectures under qemu-user ---------------------------------
test-cross: test-cross-aarch64 test-cross-s390x test-cross-armhf test-cross-models test-cortex-m

test-cross-aarch64:
	$(MAKE) --no-print-directory CC=aarch64-linux-gnu-gcc ARCH= BUILD=build-aarch64 \
	  EXPECT_SIMD=neon KT_RUN="qemu-aarch64 -L /usr/aarch64-linux-gnu" TEST_SKIP=test_cli test-run
test-cross-s390x:
	$(MAKE) --no-print-directory CC=s390x-linux-gnu-gcc ARCH= BUILD=build-s390x \
	  EXPECT_SIMD=scalar KT_RUN="qemu-s390x -L /usr/s390x-linux-gnu" TEST_SKIP=test_cli test-run
test-cross-armhf:
	$(MAKE) --no-print-directory CC=arm-linux-gnueabihf-gcc ARCH="-mfpu=neon" BUILD=build-armhf \
	  EXPECT_SIMD=neon KT_RUN="qemu-arm -L /usr/arm-linux-gnueabihf" TEST_SKIP=test_cli test-run

# A model file written on x86-64 must load on big-endian s390x and give the
# same forecasts (and the reverse): tests/xmodel.c write DIR / check DIR.
test-cross-models:
	@mkdir -p build-xmodel/x86 build-xmodel/s390x
	$(CC) -std=c99 -O2 -g $(ARCH) $(WARN) -I. -o build-xmodel/xmodel-x86 tests/xmodel.c -lm
	s390x-linux-gnu-gcc -std=c99 -O2 -g $(WARN) -I. -o build-xmodel/xmodel-s390x tests/xmodel.c -lm
	./build-xmodel/xmodel-x86 write build-xmodel/x86
	qemu-s390x -L /usr/s390x-linux-gnu build-xmodel/xmodel-s390x write build-xmodel/s390x
	qemu-s390x -L /usr/s390x-linux-gnu build-xmodel/xmodel-s390x check build-xmodel/x86
	./build-xmodel/xmodel-x86 check build-xmodel/s390x

# Cortex-M4F, inference only: a student exported with kdts_model_export_c
# (by tests/cm4_gen.c on the host), KDTS_NO_STDIO, all working memory in a
# static buffer, linked against newlib-nano. Prints flash/RAM use.
CM_CC ?= arm-none-eabi-gcc
CM_FLAGS ?= -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os \
  -ffunction-sections -fdata-sections
test-cortex-m:
	@mkdir -p build-cm4
	$(CC) -std=c99 -O2 $(WARN) -I. -o build-cm4/cm4_gen tests/cm4_gen.c -lm
	./build-cm4/cm4_gen build-cm4/cm4_student.h
	$(CM_CC) -std=c99 $(WARN) -Werror $(CM_FLAGS) -I. -Ibuild-cm4 -o build-cm4/cm4_infer.elf \
	  tests/cm4_infer.c --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections -lm
	arm-none-eabi-size build-cm4/cm4_infer.elf

# ---- libFuzzer ------------------------------------------------------------
fuzz:
	@mkdir -p build-fuzz
	@set -e; for n in $(FUZZ_NAMES); do \
	  echo "==== fuzz_$$n ($(FUZZ_SECONDS) s)"; \
	  $(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -I. -Itests -o build-fuzz/fuzz_$$n tests/fuzz_$$n.c -lm; \
	  mkdir -p build-fuzz/work_$$n; \
	  if ./build-fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=build-fuzz/crash_$$n- \
	    build-fuzz/work_$$n tests/corpus/$$n >build-fuzz/log_$$n 2>&1; then st=0; else st=$$?; fi; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY' build-fuzz/log_$$n || true; \
	  if [ $$st -ne 0 ]; then tail -n 60 build-fuzz/log_$$n; echo "fuzz_$$n FAILED: see build-fuzz/"; exit 1; fi; \
	done
