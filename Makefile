# kdts - plain make, no configure step.
#   make              build examples and tools
#   make test         build and run every test (last line: "N passed, M failed")
#   make experiment   run the teacher-student experiment on the bundled data
#   make bench        speed benchmarks (ratios against PyTorch when available)
#   make bench-blas   kdts_gemm against OpenBLAS sgemm (needs libopenblas-dev)
#   make bench-omp    training with 2 OpenMP threads against 1
#   make clean
#   make test-asan | test-valgrind | test-compilers | test-std | test-paths |
#        test-cross | fuzz | test-hardening   (heavy checks: tests/hardening.mk)
# Switches: NO_SIMD=1 (scalar path), OPENMP=1, SANITIZE=1 (ASan+UBSan),
#           ARCH=... (default -march=native), OPT=... (default -O2)

CC      ?= cc
CXX     ?= c++
OPT     ?= -O2
ARCH    ?= -march=native
WARN    := -Wall -Wextra -Wpedantic
CSTD    ?= -std=c99
CFLAGS  ?= $(OPT) -g
LDLIBS  := -lm
BUILD   ?= build

# large-file interfaces on 32-bit targets (see kdts.h, CONFIGURATION)
ALL_CFLAGS := $(CSTD) $(CFLAGS) $(ARCH) $(WARN) -D_FILE_OFFSET_BITS=64 -I. -Itests
ifeq ($(NO_SIMD),1)
ALL_CFLAGS += -DKDTS_NO_SIMD
endif
ifeq ($(OPENMP),1)
ALL_CFLAGS += -fopenmp
LDLIBS += -fopenmp
endif
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDLIBS += -fsanitize=address,undefined
endif

TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(patsubst tests/%.c,$(BUILD)/%,$(TEST_SRC))
EX_SRC    := $(filter-out examples/experiment_%.c,$(wildcard examples/*.c))
EX_BIN    := $(patsubst examples/%.c,$(BUILD)/%,$(EX_SRC))
TOOL_SRC  := $(filter-out tools/bench_blas.c,$(wildcard tools/*.c))
TOOL_BIN  := $(patsubst tools/%.c,$(BUILD)/%,$(TOOL_SRC))

.PHONY: all test test-compile bench bench-blas bench-omp experiment clean bench-csv fuzz-csv test-mpi bench-mpi

all: $(EX_BIN) $(TOOL_BIN)

$(BUILD):
	mkdir -p $(BUILD)

# The test programs use the library with KDTS_STATIC: the compiler drops
# what a test does not call, which halves the build of the smaller ones
# (the extern build is the tools', the examples' and test-compile's).
$(BUILD)/%: tests/%.c kdts.h tests/kt.h tests/kt_shell.h tests/ref_read.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -DKDTS_STATIC -o $@ $< $(LDLIBS)

$(BUILD)/%: examples/%.c kdts.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/%: tools/%.c kdts.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

# The benchmarks and checks of tools/ use KDTS_STATIC too (a third of the
# build time of the extern one); build/kdts is built as a user builds it.
TOOL_STATIC := $(filter-out $(BUILD)/kdts,$(TOOL_BIN))
$(TOOL_STATIC): ALL_CFLAGS += -DKDTS_STATIC

# the exported model the MCU demo compiles in
$(BUILD)/mcu_export_demo: examples/etth1_student.h

# the experiment: three files by job (plan and runs, report, pictures)
EXPERIMENT_SRC := examples/distill_experiment.c examples/experiment_report.c examples/experiment_svg.c
$(BUILD)/distill_experiment: $(EXPERIMENT_SRC) examples/experiment.h kdts.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $(EXPERIMENT_SRC) $(LDLIBS)

# The header alone, as C99 and as C++, warning-free, with and without SIMD.
test-compile: | $(BUILD)
	$(CC) -std=c99 -Wall -Wextra -Wpedantic -Werror $(ARCH) -I. -c tests/compile_c.c -o $(BUILD)/compile_c.o
	$(CC) -std=c99 -Wall -Wextra -Wpedantic -Werror -DKDTS_NO_SIMD -DKDTS_NO_STDIO -I. -c tests/compile_c.c -o $(BUILD)/compile_c_nosimd.o
	$(CXX) -std=c++11 -Wall -Wextra -Wpedantic -Werror $(ARCH) -I. -c tests/compile_cpp.cpp -o $(BUILD)/compile_cpp.o

# TEST_SKIP: test names not run (empty for `make test`; the hardening
# configurations use it, see tests/hardening.mk)
TEST_SKIP ?=
RUN_BIN = $(filter-out $(addprefix $(BUILD)/,$(TEST_SKIP)),$(TEST_BIN))
test: test-compile $(TEST_BIN) $(EX_BIN) $(TOOL_BIN)
	@if [ -n "$(TEST_SKIP)" ]; then echo "test: NOT run here: $(TEST_SKIP)"; fi
	sh tests/run.sh $(RUN_BIN)

# CSV parse throughput against pandas read_csv (same generated file, one run).
# LSTM training/inference, GEMM and memory; runs tools/bench_torch.py itself
# when /usr/bin/python3 imports torch (OPENBLAS_CORETYPE SkylakeX, or Haswell without AVX-512).
# Then the GRU and the attention model against nn.GRU / nn.TransformerEncoderLayer
# (same CPU, same run), and the closed-form linear fit on ETTh1/ETTh2 (timed).
bench: $(BUILD)/bench $(BUILD)/bench_gru $(BUILD)/bench_attn $(BUILD)/linear_check
	./$(BUILD)/bench
	./$(BUILD)/bench_gru
	./$(BUILD)/bench_attn
	./$(BUILD)/linear_check

$(BUILD)/bench $(BUILD)/bench_gru $(BUILD)/bench_attn: tools/bench_common.h tools/bench_srv.h
$(BUILD)/bench_blas: tools/bench_blas.c tools/bench_common.h kdts.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lopenblas $(LDLIBS)

# Training with 2 OpenMP threads against 1 in one run (alternating groups of steps).
bench-omp:
	$(MAKE) --no-print-directory OPENMP=1 BUILD=build-omp build-omp/bench
	OMP_NUM_THREADS=2 ./build-omp/bench --no-torch --train-only

bench-blas: $(BUILD)/bench_blas
	OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE:-$$(grep -q avx512f /proc/cpuinfo 2>/dev/null && echo SkylakeX || echo Haswell)} \
	  OPENBLAS_NUM_THREADS=1 ./$(BUILD)/bench_blas

bench-csv: $(BUILD)/bench_csv
	./$(BUILD)/bench_csv

# The teacher-student experiment on data/ETTh1.csv (a few minutes): tables,
# results.csv and SVG pictures in results/. Flags: build/distill_experiment --help
experiment: $(BUILD)/distill_experiment
	./$(BUILD)/distill_experiment --out results

# libFuzzer target for the CSV reader (needs clang), bounded time.
FUZZ_SECONDS ?= 60
fuzz-csv: | $(BUILD)
	mkdir -p $(BUILD)/fuzz_work_csv
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz_csv.c -lm -o $(BUILD)/fuzz_csv
	./$(BUILD)/fuzz_csv -max_total_time=$(FUZZ_SECONDS) -timeout=5 $(BUILD)/fuzz_work_csv tests/corpus/csv

# Data-parallel training on MPI (tools/kdts_mpi.h; needs mpicc: Debian's
# openmpi-bin and libopenmpi-dev): build/kdts-mpi, its tests and benchmark.
#   make MPI=1        also builds build/kdts-mpi
#   make test-mpi     2 ranks against 1 (weights, ensembles, failures)
#   make bench-mpi    teacher training on ETTh1, 2 ranks against 1
MPICC   ?= mpicc
MPIRUN  ?= mpirun
ifeq ($(MPI),1)
all: $(BUILD)/kdts-mpi
endif
$(BUILD)/kdts-mpi: tools/kdts.c tools/kdts_mpi.h kdts.h | $(BUILD)
	$(MPICC) $(ALL_CFLAGS) -DKDTS_MPI -o $@ tools/kdts.c $(LDLIBS)
$(BUILD)/mpi_compare: tests/mpi_compare.c kdts.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)
test-mpi: $(BUILD)/kdts-mpi $(BUILD)/kdts $(BUILD)/mpi_compare
	MPIRUN="$(MPIRUN)" BUILD=$(BUILD) sh tests/mpi.sh
bench-mpi: $(BUILD)/kdts-mpi $(BUILD)/kdts
	MPIRUN="$(MPIRUN)" BUILD=$(BUILD) sh tools/bench_mpi.sh

# Sanitizers, valgrind, compilers, SIMD paths, cross/qemu, Cortex-M, fuzzing:
# see tests/hardening.mk (run by .ci/run; not part of `make test`).
include tests/hardening.mk

clean:
	rm -rf $(BUILD) results-quick build-*
