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
# Time (2 cores): run as `make -j2 KT_JOBS=2 ...` (what .ci/run does): the
# sub-makes share the two job slots for the builds, and tests/run.sh runs two
# test programs at a time (KT_JOBS; each program's output is kept and printed
# whole, in order). Compiling the header into every program is most of the
# time of every configuration except valgrind and qemu. The OpenMP runs use
# KT_JOBS=1 (each program already uses both cores).
#
# KDTS_TEST_SMALL=1, set only for valgrind and the qemu runs (=2 on s390x; where the
# test programs run 20-100x slower), reduces repeats, never a code path:
#   test_core  gemm: 2 of the 5 alpha/beta pairs for each shape and transpose
#              pair (each shape still meets all five over its 4 transposes);
#              batch vs. windows backward: 4 of the 8 (batch, input, hidden)
#              shapes, every pair of values once (B 48 with hidden 40 and
#              128: both several-block backwards); the learning and
#              distillation checks with half the epochs
#   test_gru   gradient check: about 30 elements per tensor (odd step, every
#              gate) in all six cases; otherwise the first two check all
# KDTS_TEST_SMALL=2, set only for s390x (no SIMD path: the scalar code runs
# about 200x slower under qemu than natively; test_core took 12 minutes
# there, most of the CI's qemu time) does the same and in test_core also
#              batch vs. windows backward: 2 of the 8 shapes (each value
#              of batch, input and hidden once); the learning and
#              distillation trainings NOT run (the same scalar code runs
#              them natively in test-paths' scalar build; aarch64 and
#              armhf run them under qemu)
# Each prints a "KDTS_TEST_SMALL:" line. All other programs, and every
# program in the other configurations (-O0, -O3, sanitizers, scalar, SSE2,
# AVX2, OpenMP, tcc), run at full size. Every program runs in every
# configuration except test_cli and test_experiment (HOST_TESTS below: they
# run the host's build/ tool and experiment, so only in `make test`, with
# clang -O3 and with tcc).
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
# test_cli and test_experiment run the tool and the experiment of build/
# (the -O2 native build of `make test`), not the configuration's: where $$CC
# is the default compiler they would run the same programs again, so they
# run only in `make test` and where $$CC differs (clang -O3, tcc), which
# also compiles the exported models with that compiler.
HOST_TESTS := test_cli test_experiment
test-run: $(RUN_BIN)
	@if [ -n "$(TEST_SKIP)" ]; then echo "test-run: NOT run here: $(TEST_SKIP)"; fi
	KT_RUN='$(KT_RUN)' KDTS_EXPECT_SIMD='$(EXPECT_SIMD)' sh tests/run.sh $(RUN_BIN)

KT_JOBS ?= 1
export KT_JOBS

# One step after the other, also under -j2 (the steps share fixed scratch
# paths such as build/cli_test and results-quick).
HARDENING_STEPS := test-paths test-compilers test-std test-asan test-valgrind test-cross fuzz
# test_safe (and, where they run, test_cli and test_experiment) run the tool
# and the experiment of build/: each step builds them first (nothing to do
# after `make test`), so every step also runs on its own.
HOST_BIN := $(EX_BIN) $(TOOL_BIN)

test-hardening:
	@set -e; for s in $(HARDENING_STEPS); do $(MAKE) --no-print-directory $$s; done

# ---- sanitizers -----------------------------------------------------------
test-asan: $(HOST_BIN)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 OPT=-O1 TEST_SKIP="$(HOST_TESTS)" test
	$(MAKE) --no-print-directory fuzz-replay

# Every fuzz target linked with a plain main (tests/fuzz_main.c) under
# ASan+UBSan and run once over every file of its corpus: the regression
# test for anything the fuzzer ever found.
FUZZ_SRC := $(wildcard tests/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz_%.c,%,$(filter-out tests/fuzz_main.c,$(FUZZ_SRC)))
build-asan/replay_%: tests/fuzz_%.c tests/fuzz_main.c kdts.h
	@mkdir -p build-asan
	$(CC) -std=c99 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer -I. -Itests -o $@ tests/fuzz_$*.c tests/fuzz_main.c -lm

fuzz-replay: $(addprefix build-asan/replay_,$(FUZZ_NAMES))
	@set -e; for n in $(FUZZ_NAMES); do \
	  echo "== replay_$$n: tests/corpus/$$n/"; \
	  ASAN_OPTIONS=detect_leaks=1 ./build-asan/replay_$$n tests/corpus/$$n/*; \
	done

# ---- valgrind -----------------------------------------------------------
# valgrind 3.19 cannot decode AVX-512 (SIGILL on the first EVEX instruction),
# so this build uses the AVX2+FMA path.
VALGRIND ?= valgrind -q --error-exitcode=1 --leak-check=full \
  --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible
test-valgrind: $(HOST_BIN)
	KDTS_TEST_SMALL=1 $(MAKE) --no-print-directory BUILD=build-valgrind OPT=-O1 ARCH="-mavx2 -mfma" \
	  KT_RUN="$(VALGRIND)" TEST_SKIP="$(HOST_TESTS)" test-run

# ---- compilers and standards ----------------------------------------------
test-compilers: $(HOST_BIN)
	@set -e; for c in gcc:g++ clang:clang++; do for o in -O0 -O3; do \
	  cc=$${c%%:*}; cxx=$${c#*:}; echo "==== $$cc $$o"; \
	  skip="$(HOST_TESTS)"; if [ "$$cc$$o" = clang-O3 ]; then skip=; fi; \
	  $(MAKE) --no-print-directory CC=$$cc CXX=$$cxx OPT=$$o WERROR=1 BUILD=build-$$cc$$o TEST_SKIP="$$skip" test; \
	done; done

test-std: $(HOST_BIN)
	$(MAKE) --no-print-directory CC=gcc CXX=g++ BUILD=build-std-gcc test-compile
	$(MAKE) --no-print-directory CC=clang CXX=clang++ BUILD=build-std-clang test-compile
	$(MAKE) --no-print-directory CC=tcc CSTD= ARCH= WARN="-Wall -Werror" OPT= \
	  BUILD=build-tcc EXPECT_SIMD=scalar test-run

# ---- SIMD paths -----------------------------------------------------------
test-paths: $(HOST_BIN)
	$(MAKE) --no-print-directory NO_SIMD=1 BUILD=build-scalar EXPECT_SIMD=scalar TEST_SKIP="$(HOST_TESTS)" test-run
	$(MAKE) --no-print-directory ARCH="-msse2 -mno-avx" BUILD=build-sse2 EXPECT_SIMD=sse2 TEST_SKIP="$(HOST_TESTS)" test-run
	$(MAKE) --no-print-directory ARCH="-mavx2 -mfma -mno-avx512f" BUILD=build-avx2 EXPECT_SIMD=avx2 TEST_SKIP="$(HOST_TESTS)" test-run
	@# AVX-512: the flags of `make test` (-O2 -march=native), so the programs
	@# of build/ are reused when `make test` built them (no second build)
	@if grep -qw avx512f /proc/cpuinfo; then \
	  $(MAKE) --no-print-directory BUILD=build EXPECT_SIMD=avx512 TEST_SKIP="$(HOST_TESTS)" test-run; \
	else echo "test-paths: this CPU has no AVX-512: that path was NOT run"; fi
	OMP_NUM_THREADS=2 $(MAKE) --no-print-directory KT_JOBS=1 OPENMP=1 BUILD=build-omp TEST_SKIP="$(HOST_TESTS)" test-run
	OMP_NUM_THREADS=3 KT_JOBS=1 KT_RUN= sh tests/run.sh build-omp/test_core build-omp/test_gradcheck build-omp/test_gru

# ---- other architectures under qemu-user ---------------------------------
CROSS_STEPS := test-cross-aarch64 test-cross-s390x test-cross-armhf test-cross-models test-cortex-m
test-cross: $(HOST_BIN)
	@set -e; for s in $(CROSS_STEPS); do echo "==== $$s"; $(MAKE) --no-print-directory $$s; done

test-cross-aarch64:
	KDTS_TEST_SMALL=1 $(MAKE) --no-print-directory CC=aarch64-linux-gnu-gcc ARCH= BUILD=build-aarch64 \
	  EXPECT_SIMD=neon KT_RUN="qemu-aarch64 -L /usr/aarch64-linux-gnu" TEST_SKIP="$(HOST_TESTS)" test-run
test-cross-s390x:
	KDTS_TEST_SMALL=2 $(MAKE) --no-print-directory CC=s390x-linux-gnu-gcc ARCH= BUILD=build-s390x \
	  EXPECT_SIMD=scalar KT_RUN="qemu-s390x -L /usr/s390x-linux-gnu" TEST_SKIP="$(HOST_TESTS)" test-run
test-cross-armhf:
	KDTS_TEST_SMALL=1 $(MAKE) --no-print-directory CC=arm-linux-gnueabihf-gcc ARCH="-mfpu=neon" BUILD=build-armhf \
	  EXPECT_SIMD=neon KT_RUN="qemu-arm -L /usr/arm-linux-gnueabihf" TEST_SKIP="$(HOST_TESTS)" test-run

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
# The targets are built (make -j2: two at once), then fuzzed at the same time
# (each libFuzzer process uses one core); each log is in build-fuzz/.
build-fuzz/fuzz_%: tests/fuzz_%.c kdts.h
	@mkdir -p build-fuzz
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -I. -Itests -o $@ $< -lm

fuzz: $(addprefix build-fuzz/fuzz_,$(FUZZ_NAMES))
	@rm -f build-fuzz/status_*
	@for n in $(FUZZ_NAMES); do mkdir -p build-fuzz/work_$$n; done
	@for n in $(FUZZ_NAMES); do \
	  echo "==== fuzz_$$n ($(FUZZ_SECONDS) s)"; \
	  ( if ./build-fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	      -print_final_stats=1 -artifact_prefix=build-fuzz/crash_$$n- \
	      build-fuzz/work_$$n tests/corpus/$$n >build-fuzz/log_$$n 2>&1; then st=0; else st=$$?; fi; \
	    echo $$st >build-fuzz/status_$$n ) & \
	done; wait
	@fail=0; for n in $(FUZZ_NAMES); do \
	  st=$$(cat build-fuzz/status_$$n); echo "== fuzz_$$n: exit $$st"; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY' build-fuzz/log_$$n || true; \
	  if [ "$$st" != 0 ]; then tail -n 60 build-fuzz/log_$$n; echo "fuzz_$$n FAILED: see build-fuzz/"; fail=1; fi; \
	done; exit $$fail
