/* kdts.h - v0.1.0 - knowledge distillation for time-series forecasting - MIT

   kdts trains a large "teacher" on a time series and distills it into a
   small "student" with the combined loss

       L = alpha * L_soft + (1 - alpha) * L_hard + beta * L_seq

   and Adam. Teacher and student are each of any model kind (kdts_net:
   LSTM, GRU, causal self-attention, NLinear/DLinear; recurrent and
   attention models optionally with a linear skip map started at the
   closed-form linear fit). The student keeps most of the teacher's accuracy at a fraction
   of its cost; it can be saved, run step by step, or exported as C arrays
   for a microcontroller. No dependencies beyond libc and libm.

   DO THIS in exactly one C or C++ file:

       #define KDTS_IMPLEMENTATION
       #include "kdts.h"

   and include "kdts.h" without the define everywhere else. Compile with
   -O2 and the target's vector extension (e.g. -march=native) to get the
   SIMD kernels; link with -lm.

   USAGE (examples/quickstart.c is this, complete): a CSV file, a teacher,
   a student distilled from it, saved, loaded and run in original units.

       kdts_task task;                  // the data side of the job
       kdts_task_config data = {0};     // zero = defaults (lookback 96,
       const char *target = "OT";       //   horizon 24, z-score, 12/4/4 months)
       kdts_net_config arch = {0};      // zero kind = LSTM; GRU, ATTN, LINEAR
       kdts_train_config train = {0};   // zero = defaults (10 epochs, ...)
       kdts_net teacher, student;
       const kdts_net *teachers[1] = {&teacher};
       kdts_model model;
       kdts_infer inf;
       kdts_error err;                  // message, line, column
       float x[96], forecast[24];

       data.targets = &target; data.n_targets = 1;
       kdts_task_open(&task, &data, "data/ETTh1.csv", &err);
       arch.hidden = 32; arch.layers = 2;
       kdts_task_net_config(&task, &arch);          // inputs, horizon
       kdts_net_init(&teacher, &arch, 1, &err);
       kdts_task_fit(&task, &teacher, &train, NULL, 0, NULL, &err);
       arch.hidden = 8; arch.layers = 1;
       train.alpha = 0.5f; train.beta = 0.1f;       // distill
       kdts_net_init(&student, &arch, 2, &err);
       kdts_task_fit(&task, &student, &train, teachers, 1, NULL, &err);
       kdts_task_model(&task, &student, NULL, &model, &err);
       kdts_model_save_file(&model, "student.kdts", &err);   // + every data setting
       kdts_infer_create(&inf, &model, 0, &err);
       kdts_task_input(&task, task.rows - 1, x, &err);      // last 96 raw rows
       kdts_infer_window(&inf, x, 96, forecast, NULL, NULL, 0, &err);

   Every call returns KDTS_OK (0) or an error code with err filled. Below
   the task layer, the same steps exist on arrays: kdts_csv_read_*,
   kdts_scaler_*, kdts_windows_make, kdts_train (or kdts_trainer_* in
   parts), kdts_predict, kdts_model_create.

   The linear baseline on the same windows, fitted in closed form with the
   ridge parameter chosen on validation windows xv, yv (nv of them):

       kdts_linear lin;
       kdts_linear_config lc = {0};
       kdts_linear_gram g;
       double lambda;
       lc.lookback = T; lc.horizon = 24;   // lc.kind = KDTS_LINEAR_DLINEAR
       kdts_linear_init(&lin, &lc, 1, NULL);
       kdts_linear_gram_init(&g, &lin.cfg, x, y, n, T, NULL);
       kdts_linear_fit_select(&lin, &g, xv, yv, nv, T, NULL, 0, NULL, &lambda, NULL);
       kdts_linear_forward(&lin, x, 1, T, forecast, NULL);
       kdts_linear_gram_free(&g); kdts_linear_free(&lin);

   CONTENTS (grep for the tags)
       >>common   result codes, kdts_error, portable RNG
       >>matrix   kdts_gemm (cache-blocked, SIMD micro-kernels), vector kernels
       >>lstm     stacked LSTM with a per-step head: init, forward, backward
       >>gru      stacked GRU with a per-step head: init, forward, backward
       >>loss     hard / soft / sequence losses, distribution mode
       >>attn     causal self-attention forecaster: init, forward, backward,
                  window and streaming (key/value cache) inference
       >>adam     Adam / AdamW, gradient clipping
       >>linear   NLinear / DLinear window models, closed-form ridge fit,
                  seasonal-period detection
       >>net      one model type over every kind, the linear skip
       >>train    training loop (whole or in parts) with teachers, prediction
       >>data     CSV reader, missing values, scalers, windows, splits
       >>task     one forecasting job: data, split, scaler, windows, fit,
                  forecasts, baselines, scores, models with their settings
       >>model    model files, deployment inference, C export

   CONFIGURATION (define before including the implementation)
       KDTS_IMPLEMENTATION     emit the implementation (one file only)
       KDTS_STATIC             make every function static (private copy)
       KDTS_MALLOC(sz), KDTS_REALLOC(p,sz), KDTS_FREE(p)
                               the caller's allocator: define all or none
       KDTS_ASSERT(x)          assertion for programmer errors [assert]
       KDTS_NO_STDIO           no FILE or path functions; memory-buffer
                               versions stay (for boards without files)
       KDTS_NO_POSIX           saves with ISO C only (no fsync, file mode,
                               symbolic links or stale temporary cleanup)
       _FILE_OFFSET_BITS 64    large-file interfaces on 32-bit POSIX
                               systems; the implementation defines it when
                               it comes before every system header. Else
                               define it for the file that holds it (as
                               the Makefile does): without it, a folder on
                               a file system with 64-bit inode numbers or
                               directory offsets cannot be listed (saves
                               still work, stale temporaries stay) and
                               CSV files over 2 GiB cannot be opened.
       KDTS_NO_SIMD            plain C kernels only (the test reference)
       KDTS_NO_AVX512, KDTS_NO_AVX2, KDTS_NO_SSE2, KDTS_NO_NEON
                               turn off one instruction set
       KDTS_MAX_LAYERS [8], KDTS_MAX_DIM [65536]
                               limits that reject absurd sizes
       KDTS_GEMM_KC/MC/NC      GEMM cache-block sizes
       The SIMD path is chosen at compile time from the compiler's target
       macros (__AVX512F__, __AVX2__+__FMA__, __SSE2__, __ARM_NEON);
       kdts_simd_name() tells which one was built.

   CONVENTIONS
       Every function that can fail returns kdts_result (KDTS_OK = 0,
       errors negative; kdts_result_str() gives text) and takes an optional
       kdts_error* as its last parameter (NULL allowed) that receives the
       code, a message and, for text input, the line and column. Messages
       are built by the library's own formatter, identical with and without
       KDTS_NO_STDIO. The other functions cannot fail: they return void or
       a value, and the few queries that can be asked about an invalid
       object return a documented sentinel instead (0 from the size and
       count queries, -1 from kdts_table_find, NULL from the name lookups).
       On failure outputs are left untouched unless documented.
       The library never prints, never exits and has no global mutable
       state. Arrays are row-major, last index fastest; shape comments use
       B batch, T steps, F features, H hidden, O head outputs, h horizon,
       K bins, L layers. The LSTM follows PyTorch's nn.LSTM (gate order
       i, f, g, o) and the GRU nn.GRU (gate order r, z, n), so weights can
       be compared with and imported from them.

   LIMITATIONS
       Single precision. CPU only. The SIMD path is fixed at compile time
       (no run-time dispatch). Training needs the windows in memory.
*/
#ifndef KDTS_H_INCLUDED
#define KDTS_H_INCLUDED

#define KDTS_VERSION_MAJOR 0
#define KDTS_VERSION_MINOR 1
#define KDTS_VERSION_PATCH 0
#define KDTS_VERSION_STRING "0.1.0"
#define KDTS_VERSION_NUMBER (KDTS_VERSION_MAJOR * 10000 + KDTS_VERSION_MINOR * 100 + KDTS_VERSION_PATCH)

#include <stddef.h>

#ifndef KDTSDEF
#ifdef KDTS_STATIC
/* unused: a program that calls a part of the library compiles warning-free */
#if defined(__GNUC__) || defined(__clang__)
#define KDTSDEF static __attribute__((unused))
#else
#define KDTSDEF static
#endif
#else
#define KDTSDEF extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* >>common : results, errors, allocation hooks, RNG                        */
/* ======================================================================== */

/* Result codes. Every function that can fail returns one; KDTS_OK is 0 and
   every error is negative. kdts_result_str() gives static English text. */
typedef enum kdts_result {
    KDTS_OK = 0,
    KDTS_ERR_ARG = -1,        /* a bad argument (programmer error or bad size)  */
    KDTS_ERR_NOMEM = -2,      /* the allocator returned NULL / size overflow    */
    KDTS_ERR_PARSE = -3,      /* text that could not be parsed (CSV)            */
    KDTS_ERR_SHAPE = -4,      /* shapes that do not fit together               */
    KDTS_ERR_IO = -5,         /* a file could not be opened, read or written    */
    KDTS_ERR_NONFINITE = -6,  /* NaN or Inf in data, a loss or a gradient       */
    KDTS_ERR_VERSION = -7,    /* a model file of an unsupported version         */
    KDTS_ERR_FORMAT = -8,     /* a file that is not a kdts file, or corrupt     */
    KDTS_ERR_MISSING = -9,    /* missing values where the policy forbids them   */
    KDTS_ERR_NOTFOUND = -10,  /* a named column that does not exist             */
    KDTS_ERR_DATA = -11       /* data that cannot be used (too short, constant) */
} kdts_result;

/* Optional, caller-owned error detail. Every function that takes a
   `kdts_error *err` accepts NULL. On failure it receives the code, a short
   message and, for text input, the 1-based line and column (0 = unknown). */
typedef struct kdts_error {
    kdts_result code;
    long line;
    long column;
    char message[256];
} kdts_error;

/* Static English text for a result code. Never NULL. */
KDTSDEF const char *kdts_result_str(kdts_result r);

/* Version of the implementation compiled in (KDTS_VERSION_NUMBER). */
KDTSDEF int kdts_version_number(void);

/* Name of the SIMD path chosen at compile time: "avx512", "avx2",
   "sse2", "neon" or "scalar". */
KDTSDEF const char *kdts_simd_name(void);

/* Portable, explicitly seeded random number generator (splitmix64 seeding a
   xoshiro128+ style 64-bit state). The same seed gives the same stream on
   every platform and compiler. */
typedef struct kdts_rng {
    unsigned long long s[2];
} kdts_rng;

/* Seed a generator. Any seed (including 0) is valid. */
KDTSDEF void kdts_rng_seed(kdts_rng *r, unsigned long long seed);
/* Next 64 random bits. */
KDTSDEF unsigned long long kdts_rng_next(kdts_rng *r);
/* Uniform float in [0, 1) with 24 random bits. */
KDTSDEF float kdts_rng_uniform(kdts_rng *r);
/* Uniform integer in [0, n). n must be > 0. */
KDTSDEF unsigned long kdts_rng_below(kdts_rng *r, unsigned long n);
/* Standard normal sample (Box-Muller on two uniforms). */
KDTSDEF float kdts_rng_normal(kdts_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
KDTSDEF void kdts_rng_shuffle(kdts_rng *r, int *idx, int n);

/* ======================================================================== */
/* >>matrix : single-precision GEMM and element-wise kernels                */
/* ======================================================================== */

/* Transpose flags for kdts_gemm. */
#define KDTS_NOTRANS 0
#define KDTS_TRANS 1

/* C = alpha * op(A) * op(B) + beta * C, single precision, row-major.
   op(A) is M x K: A is M x K (lda >= K) when ta == KDTS_NOTRANS, or K x M
   (lda >= M) when ta == KDTS_TRANS; likewise op(B) is K x N. C is M x N with
   ldc >= N. beta == 0 never reads C (NaN in C is overwritten). Any of M, N,
   K may be 0. Cache-blocked, with the SIMD micro-kernel chosen at compile
   time (kdts_simd_name()). Packing memory comes from KDTS_MALLOC:
   KDTS_ERR_NOMEM if it fails (C untouched), KDTS_ERR_ARG on bad sizes. */
KDTSDEF kdts_result kdts_gemm(int ta, int tb, int M, int N, int K, float alpha,
                              const float *A, int lda, const float *B, int ldb,
                              float beta, float *C, int ldc, kdts_error *err);

/* The same product by a plain triple loop (double accumulation): the
   reference the fast path is tested against. Never allocates. */
KDTSDEF void kdts_gemm_ref(int ta, int tb, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb,
                           float beta, float *C, int ldc);

/* Element-wise kernels (vectorized; n may be any size, in place allowed). */
KDTSDEF void kdts_vec_sigmoid(float *y, const float *x, size_t n);   /* y = 1/(1+e^-x)     */
KDTSDEF void kdts_vec_tanh(float *y, const float *x, size_t n);      /* y = tanh(x)        */
KDTSDEF void kdts_vec_exp(float *y, const float *x, size_t n);       /* y = e^x            */
KDTSDEF void kdts_vec_dsigmoid(float *dx, const float *y, const float *dy, size_t n); /* dx = dy*y*(1-y) */
KDTSDEF void kdts_vec_dtanh(float *dx, const float *y, const float *dy, size_t n);    /* dx = dy*(1-y^2) */
KDTSDEF void kdts_vec_axpy(float *y, float a, const float *x, size_t n);              /* y += a*x       */
KDTSDEF float kdts_vec_dot(const float *x, const float *y, size_t n);                 /* sum x*y        */

/* ======================================================================== */
/* >>lstm : stacked LSTM with a per-step linear head                        */
/* ======================================================================== */

#ifndef KDTS_MAX_LAYERS
#define KDTS_MAX_LAYERS 8
#endif
#ifndef KDTS_MAX_DIM
#define KDTS_MAX_DIM 65536 /* limit on input, hidden, horizon, bins, steps */
#endif

/* Output mode of a model's head. */
typedef enum kdts_mode {
    KDTS_MODE_POINT = 0, /* the head outputs `horizon` values per step           */
    KDTS_MODE_DIST = 1   /* the head outputs `horizon` x `bins` logits per step   */
} kdts_mode;

/* Architecture. Zero-initialized fields take the defaults in brackets. */
typedef struct kdts_lstm_config {
    int input;     /* F: values per time step [1]                             */
    int hidden;    /* H: units per layer (required, >= 1)                     */
    int layers;    /* L: stacked layers [1], at most KDTS_MAX_LAYERS           */
    int horizon;   /* h: values forecast at each step [1]                     */
    kdts_mode mode;
    int bins;      /* K: bins per value in KDTS_MODE_DIST [32]                */
    float bin_lo;  /* range covered by the bins, in normalized units          */
    float bin_hi;  /* [-4, 4] when both are 0                                 */
    float dropout; /* inverted dropout on every layer's output while training */
} kdts_lstm_config;

/* A model: configuration, one contiguous parameter buffer and a gradient
   buffer of the same layout. Layout, for each layer l: W_ih (4H x I_l),
   W_hh (4H x H), b_ih (4H), b_hh (4H), gate order i, f, g, o (as PyTorch's
   nn.LSTM; I_0 = input, I_l = hidden); then the head W (O x H) and b (O),
   with O = horizon (point) or horizon*bins (dist; logits of value j are
   columns j*bins .. j*bins+bins-1). */
typedef struct kdts_lstm {
    kdts_lstm_config cfg; /* with defaults filled in                        */
    int outputs;          /* O                                              */
    size_t nparams;
    float *params;        /* (nparams) owned                                */
    float *grads;         /* (nparams) owned, same layout                   */
    size_t off_wih[KDTS_MAX_LAYERS], off_whh[KDTS_MAX_LAYERS];
    size_t off_bih[KDTS_MAX_LAYERS], off_bhh[KDTS_MAX_LAYERS];
    size_t off_head_w, off_head_b;
} kdts_lstm;

/* Fill the defaults of *cfg in place and validate it. KDTS_ERR_ARG names
   the bad field in err. */
KDTSDEF kdts_result kdts_lstm_config_check(kdts_lstm_config *cfg, kdts_error *err);

/* Number of parameters of an architecture (0 if invalid or overflowing). */
KDTSDEF size_t kdts_lstm_param_count(const kdts_lstm_config *cfg);

/* Floating-point operations of one forward pass over a window of T steps
   (multiply and add counted separately; nonlinearities as one each). */
KDTSDEF double kdts_lstm_flops(const kdts_lstm_config *cfg, int T);
/* The same for one forecast: the head on the last step only, as in
   kdts_lstm_forecast, kdts_predict and kdts_infer_window. */
KDTSDEF double kdts_lstm_forecast_flops(const kdts_lstm_config *cfg, int T);

/* Allocate a model and initialize it from `seed` the way PyTorch does
   (every LSTM weight and bias uniform in +-1/sqrt(H), head uniform in
   +-1/sqrt(H)), with the portable RNG: the same seed gives the same weights
   everywhere. Gradients start at zero. Free with kdts_lstm_free. */
KDTSDEF kdts_result kdts_lstm_init(kdts_lstm *m, const kdts_lstm_config *cfg,
                                   unsigned long long seed, kdts_error *err);
/* Re-draw the weights of an initialized model from `seed`. */
KDTSDEF void kdts_lstm_reset(kdts_lstm *m, unsigned long long seed);
/* Release a model's buffers (safe on a zeroed or freed model). */
KDTSDEF void kdts_lstm_free(kdts_lstm *m);
/* Set every gradient to zero. */
KDTSDEF void kdts_lstm_zero_grad(kdts_lstm *m);

/* Working memory for forward and backward with at most `max_batch` windows
   of at most `max_steps` steps. It holds what forward keeps for backward
   (gates, cell states, hidden states, dropout masks), packed weights and
   GEMM scratch; nothing is allocated inside forward or backward. One
   workspace serves one model architecture (any model of that shape). */
typedef struct kdts_lstm_ws {
    kdts_lstm_config cfg;
    int outputs, max_batch, max_steps, train;
    int B, T;             /* shape of the last forward                      */
    int part;             /* row blocks of the last forward: 1, or with
                             OpenMP one per thread (see below)              */
    float *mem;           /* one block, carved below                        */
    size_t mem_floats;
    /* The per-step arrays below are time-major, (T,B,...), when part is 1.
       With part > 1 the batch is split into part blocks of consecutive
       rows, and each array holds block after block, each block time-major:
       block k (rows b0 .. b0+nb-1, kdts__share(B, part, k, KDTS__MR)) starts
       at row b0*T (b0*(T+1) for c and h) and has nb rows per step, so a
       thread's rows are contiguous in memory. */
    float *xin;           /* (T,B,F) layer-0 input                          */
    float *gates[KDTS_MAX_LAYERS]; /* (T,B,4H) activated i,f,g,o            */
    float *c[KDTS_MAX_LAYERS];     /* (T+1,B,H) cell states, c0 first       */
    float *h[KDTS_MAX_LAYERS];     /* (T+1,B,H) hidden states, h0 first     */
    float *tc[KDTS_MAX_LAYERS];    /* (T,B,H) tanh(c_t)                     */
    float *drop[KDTS_MAX_LAYERS];  /* (T,B,H) dropped outputs (train+dropout) */
    float *mask[KDTS_MAX_LAYERS];  /* (T,B,H) dropout scale 0 or 1/(1-p)    */
    float *out;           /* (T,B,O) head output, time-major whatever part
                             is; (B,O) after kdts_lstm_forecast             */
    float *outb;          /* (T,B,O) head output in blocks (threads > 1)    */
    float *wpack_f[KDTS_MAX_LAYERS]; /* packed W_hh^T for forward           */
    float *wpack_x[KDTS_MAX_LAYERS]; /* packed W_ih^T for a batch forward
                                        (for kdts__proj_small when narrow)  */
    float *wpack_b[KDTS_MAX_LAYERS]; /* packed W_hh for backward (train)    */
    float *dG, *dA, *dB, *dh, *dc, *dout; /* backward scratch (train)       */
    size_t dg_floats;     /* dG: one block of steps' dz                     */
    float *tpriv;         /* per thread (threads > 1): private gradient
                             sums of the backward                           */
    size_t tpriv_floats;
    float *scratch;       /* GEMM packing scratch, one per thread           */
    int threads;          /* threads a forward or backward may use: 1, or
                             with OpenMP omp_get_max_threads() when the
                             workspace was made                              */
    float *bsum;          /* (4H) b_ih + b_hh of the layer being run        */
    int dropout_active;
    const float *dtop;    /* NULL, or (B,T,H) a gradient w.r.t. the head's
                             input (the top layer's output, dropped) that the next
                             backward adds to the head's (the trainer's
                             hidden-state hints); the caller sets and clears it */
} kdts_lstm_ws;

/* Allocate a workspace. train = 0 gives a smaller, forward-only one. */
KDTSDEF kdts_result kdts_lstm_ws_init(kdts_lstm_ws *ws, const kdts_lstm_config *cfg,
                                      int max_batch, int max_steps, int train,
                                      kdts_error *err);
KDTSDEF void kdts_lstm_ws_free(kdts_lstm_ws *ws);

/* Forward pass over B windows of T steps.
   x   (B,T,F) inputs, batch-major;  h0, c0 (L,B,H) initial state or NULL (zeros)
   out (B,T,O) head output at every step (may be NULL: read ws->out (T,B,O))
   train: 1 keeps what backward needs and applies dropout (drawn from rng,
   which may be NULL when cfg.dropout is 0); 0 is inference.
   KDTS_ERR_SHAPE if B or T exceed the workspace or the workspace was made
   for another architecture. */
KDTSDEF kdts_result kdts_lstm_forward(const kdts_lstm *m, kdts_lstm_ws *ws,
                                      const float *x, int B, int T,
                                      const float *h0, const float *c0,
                                      float *out, int train, kdts_rng *rng, kdts_error *err);

/* Inference forward that applies the head to the last step only: the
   forecast of each window. out (B,O) (may be NULL: read ws->out (B,O)).
   Same hidden states as kdts_lstm_forward with train = 0 (so
   kdts_lstm_final_state works after it); errors as kdts_lstm_forward. */
KDTSDEF kdts_result kdts_lstm_forecast(const kdts_lstm *m, kdts_lstm_ws *ws,
                                       const float *x, int B, int T,
                                       const float *h0, const float *c0, float *out,
                                       kdts_error *err);

/* Final hidden and cell states of the last forward, each (L,B,H); either
   pointer may be NULL. */
KDTSDEF void kdts_lstm_final_state(const kdts_lstm_ws *ws, float *hN, float *cN);

/* Full back-propagation through time of the last training forward.
   dout (B,T,O) gradient of the loss w.r.t. the head outputs.
   Adds the parameter gradients into m->grads (call kdts_lstm_zero_grad
   first); writes dx (B,T,F), dh0 and dc0 (L,B,H) when not NULL. */
KDTSDEF kdts_result kdts_lstm_backward(kdts_lstm *m, kdts_lstm_ws *ws,
                                       const float *dout, float *dx,
                                       float *dh0, float *dc0, kdts_error *err);

/* ======================================================================== */
/* >>gru : stacked GRU with a per-step linear head                          */
/* ======================================================================== */

/* Architecture of a GRU: the same fields, meanings and defaults as
   kdts_lstm_config (zero-initialized fields take the defaults). */
typedef struct kdts_gru_config {
    int input;     /* F: values per time step [1]                             */
    int hidden;    /* H: units per layer (required, >= 1)                     */
    int layers;    /* L: stacked layers [1], at most KDTS_MAX_LAYERS           */
    int horizon;   /* h: values forecast at each step [1]                     */
    kdts_mode mode;
    int bins;      /* K: bins per value in KDTS_MODE_DIST [32]                */
    float bin_lo;  /* range covered by the bins, in normalized units          */
    float bin_hi;  /* [-4, 4] when both are 0                                 */
    float dropout; /* inverted dropout on every layer's output while training */
} kdts_gru_config;

/* A GRU model: configuration, one contiguous parameter buffer and a
   gradient buffer of the same layout. Layout, for each layer l: W_ih
   (3H x I_l), W_hh (3H x H), b_ih (3H), b_hh (3H), gate order r, z, n (as
   PyTorch's nn.GRU: weight_ih_l{l}, weight_hh_l{l}, bias_ih_l{l},
   bias_hh_l{l}; I_0 = input, I_l = hidden); then the head W (O x H) and
   b (O), with O = horizon (point) or horizon*bins (dist) as for the LSTM.
   Each step of a layer, from its input x and the previous state h:
     r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
     z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
     n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
     h' = (1 - z) * n + z * h
   The layers are stacked (layer l's outputs are layer l+1's inputs) and
   the head is applied to the top layer's output at every step. */
typedef struct kdts_gru {
    kdts_gru_config cfg;  /* with defaults filled in                        */
    int outputs;          /* O                                              */
    size_t nparams;
    float *params;        /* (nparams) owned                                */
    float *grads;         /* (nparams) owned, same layout                   */
    size_t off_wih[KDTS_MAX_LAYERS], off_whh[KDTS_MAX_LAYERS];
    size_t off_bih[KDTS_MAX_LAYERS], off_bhh[KDTS_MAX_LAYERS];
    size_t off_head_w, off_head_b;
} kdts_gru;

/* Fill the defaults of *cfg in place and validate it (the rules of
   kdts_lstm_config_check). KDTS_ERR_ARG names the bad field in err. */
KDTSDEF kdts_result kdts_gru_config_check(kdts_gru_config *cfg, kdts_error *err);

/* Number of parameters of an architecture (0 if invalid or overflowing). */
KDTSDEF size_t kdts_gru_param_count(const kdts_gru_config *cfg);

/* Floating-point operations of one forward pass over a window of T steps
   (multiply and add counted separately; nonlinearities as one each): per
   layer and step 2*3H*(I+H) for the products, 6H for the biases, 9H for
   the cell; the head 2*H*O + O. */
KDTSDEF double kdts_gru_flops(const kdts_gru_config *cfg, int T);
/* The same for one forecast: the head on the last step only, as in
   kdts_gru_forecast. */
KDTSDEF double kdts_gru_forecast_flops(const kdts_gru_config *cfg, int T);

/* Allocate a model and initialize it from `seed` the way PyTorch does
   (every weight and bias, the head's too, uniform in +-1/sqrt(H)), with
   the portable RNG: the same seed gives the same weights everywhere.
   Gradients start at zero. Free with kdts_gru_free. KDTS_ERR_ARG (bad
   config), KDTS_ERR_NOMEM; *m untouched on failure. */
KDTSDEF kdts_result kdts_gru_init(kdts_gru *m, const kdts_gru_config *cfg,
                                  unsigned long long seed, kdts_error *err);
/* Re-draw the weights of an initialized model from `seed` (gradients zeroed). */
KDTSDEF void kdts_gru_reset(kdts_gru *m, unsigned long long seed);
/* Release a model's buffers (safe on a zeroed or freed model). */
KDTSDEF void kdts_gru_free(kdts_gru *m);
/* Set every gradient to zero. */
KDTSDEF void kdts_gru_zero_grad(kdts_gru *m);

/* Working memory for forward and backward with at most `max_batch`
   windows of at most `max_steps` steps: what forward keeps for backward
   (gates, hidden states, dropout masks), packed weights and GEMM scratch;
   nothing is allocated inside forward or backward. One workspace serves
   one architecture (any model of that shape). The per-step arrays are in
   the layout of kdts_lstm_ws: time-major (T,B,...) with one row block,
   else block after block, each time-major (block k: rows b0 .. b0+nb-1,
   starting at row b0*T, b0*(T+1) for h). */
typedef struct kdts_gru_ws {
    kdts_gru_config cfg;
    int outputs, max_batch, max_steps, train;
    int B, T;             /* shape of the last forward                      */
    int part;             /* row blocks of the last forward: 1, or with
                             OpenMP one per thread                          */
    float *mem;           /* one block, carved below                        */
    size_t mem_floats;
    float *xin;           /* (T,B,F) layer-0 input                          */
    float *gates[KDTS_MAX_LAYERS]; /* (T,B,4H): n, r, z and W_hn h + b_hn
                                      (before the forward's cell: the
                                      pre-activations in the same order)    */
    float *h[KDTS_MAX_LAYERS];     /* (T+1,B,H) hidden states, h0 first     */
    float *drop[KDTS_MAX_LAYERS];  /* (T,B,H) dropped outputs (train+dropout) */
    float *mask[KDTS_MAX_LAYERS];  /* (T,B,H) dropout scale 0 or 1/(1-p)    */
    float *out;           /* (T,B,O) head output, time-major whatever part
                             is; (B,O) after kdts_gru_forecast              */
    float *outb;          /* (T,B,O) head output in blocks (threads > 1)    */
    float *wpack_f[KDTS_MAX_LAYERS]; /* W_hh^T packed for the batch forward,
                                        or W_hh for the single-sequence step */
    float *wpack_x[KDTS_MAX_LAYERS]; /* W_ih^T (rows n, r, z) packed for a
                                        batch forward                       */
    float *wpack_b[KDTS_MAX_LAYERS]; /* W_hh packed for backward (train)    */
    float *wperm;         /* (4H,max(F,H)) W_ih rows reordered n, r, z, 0   */
    float *dG, *dA, *dB, *dh, *dout; /* backward scratch (train)            */
    size_t dg_floats;     /* dG: one block of steps' gradients (4H a row)   */
    float *tpriv;         /* per thread (threads > 1): private gradient
                             sums of the backward                           */
    size_t tpriv_floats;
    float *scratch;       /* GEMM packing scratch, one per thread           */
    int threads;          /* threads a forward or backward may use: 1, or
                             with OpenMP omp_get_max_threads() when the
                             workspace was made                              */
    float *bsum;          /* (4H) biases in gate-array order: b_in,
                             b_ir + b_hr, b_iz + b_hz, b_hn                 */
    int dropout_active;
    int trained;          /* the last forward was a training forward        */
    const float *dtop;    /* NULL, or (B,T,H) a gradient w.r.t. the head's
                             input (the top layer's output, dropped) that the next
                             backward adds to the head's (the trainer's
                             hidden-state hints); the caller sets and clears it */
} kdts_gru_ws;

/* Allocate a workspace. train = 0 gives a smaller, forward-only one.
   KDTS_ERR_ARG (bad config or sizes), KDTS_ERR_NOMEM. */
KDTSDEF kdts_result kdts_gru_ws_init(kdts_gru_ws *ws, const kdts_gru_config *cfg,
                                     int max_batch, int max_steps, int train,
                                     kdts_error *err);
KDTSDEF void kdts_gru_ws_free(kdts_gru_ws *ws);

/* Forward pass over B windows of T steps.
   x   (B,T,F) inputs, batch-major;  h0 (L,B,H) initial state or NULL (zeros)
   out (B,T,O) head output at every step (may be NULL: read ws->out (T,B,O))
   train: 1 keeps what backward needs and applies dropout (drawn from rng,
   which may be NULL when cfg.dropout is 0); 0 is inference.
   KDTS_ERR_SHAPE if B or T exceed the workspace or the workspace was made
   for another architecture; KDTS_ERR_ARG for train with a forward-only
   workspace or dropout without rng. */
KDTSDEF kdts_result kdts_gru_forward(const kdts_gru *m, kdts_gru_ws *ws,
                                     const float *x, int B, int T,
                                     const float *h0, float *out, int train,
                                     kdts_rng *rng, kdts_error *err);

/* Inference forward that applies the head to the last step only: the
   forecast of each window. out (B,O) (may be NULL: read ws->out (B,O)).
   Same hidden states as kdts_gru_forward with train = 0 (so
   kdts_gru_final_state works after it); errors as kdts_gru_forward. */
KDTSDEF kdts_result kdts_gru_forecast(const kdts_gru *m, kdts_gru_ws *ws,
                                      const float *x, int B, int T,
                                      const float *h0, float *out, kdts_error *err);

/* Final hidden states of the last forward (L,B,H). */
KDTSDEF void kdts_gru_final_state(const kdts_gru_ws *ws, float *hN);

/* Full back-propagation through time of the last training forward.
   dout (B,T,O) gradient of the loss w.r.t. the head outputs.
   Adds the parameter gradients into m->grads (call kdts_gru_zero_grad
   first); writes dx (B,T,F) and dh0 (L,B,H) when not NULL.
   KDTS_ERR_ARG if the last forward was not a training forward of this
   architecture. */
KDTSDEF kdts_result kdts_gru_backward(kdts_gru *m, kdts_gru_ws *ws,
                                      const float *dout, float *dx,
                                      float *dh0, kdts_error *err);

/* ======================================================================== */
/* >>loss : hard, soft and sequence losses, distribution mode               */
/* ======================================================================== */

/* What the loss functions need to know about the outputs. */
typedef struct kdts_loss_config {
    kdts_mode mode;
    int horizon;        /* h                                                  */
    int bins;           /* K (dist mode)                                      */
    float bin_lo, bin_hi;
    float temperature;  /* T of the soft loss in dist mode [1]                */
    float label_sigma;  /* dist hard target: Gaussian over bins with this
                           width in bins; 0 = one-hot bin of the true value   */
    int hard_last_only; /* 0: hard loss on every step; 1: last step only      */
    int seq_from;       /* first step of L_seq [0]; T-1 when the teachers
                           forecast the last step only (linear teachers)      */
    /* Distillation options (issue 16). Zero = off: the loss is then the
       one above, bit for bit. They see the forecasts only, so they apply
       to every model kind. */
    int targets;        /* series in the h values of a step, target-major:
                           series k, horizon position j (of H = h/targets)
                           at k*H + j; h must be a multiple [0 = 1]          */
    float horizon_weight; /* > 0: L_soft and L_seq weigh horizon position j
                           by (j+1)^horizon_weight / mean_j (j+1)^... (mean
                           weight 1; 1 = linear ramp, later steps up); needs
                           H <= 4096 [0 = uniform]                            */
    float step_weight;  /* > 0: L_seq weighs sequence step t by
                           (t-seq_from+1)^step_weight, normalized to mean 1
                           over its steps (later steps up) [0 = uniform]     */
    float ms_weight;    /* point mode: weight of the multi-scale term L_ms,
                           added to the total (needs tvals) [0 = off]        */
    int ms_scales;      /* L_ms scales 1, 2, 4 .. 2^ms_scales (scales longer
                           than H are left out) [0 = 3: 1, 2, 4, 8]          */
    float freq_weight;  /* point mode: weight of the spectral term L_freq,
                           added to the total (needs tvals; H <= 1024; a
                           plain DFT: O(H^2) per row and step) [0]           */
    float freq_temperature; /* softmax temperature of L_freq [0 = 1]          */
    int aux_steps;      /* L_ms and L_freq on: 0 the last step (the
                           forecast), 1 every step from seq_from [0]         */
} kdts_loss_config;

/* Copy the output description of a model into a loss configuration
   (temperature 1, label_sigma 1, hard loss on every step). */
KDTSDEF void kdts_loss_config_from_model(kdts_loss_config *lc, const kdts_lstm *m);
/* The same for a model of any kind (>>net). */
struct kdts_net;
KDTSDEF void kdts_loss_config_from_net(kdts_loss_config *lc, const struct kdts_net *m);

/* Unweighted values of the three terms and the weighted total. */
typedef struct kdts_loss_value {
    double total, hard, soft, seq;
    double ms, freq;    /* L_ms and L_freq (0 when off)                       */
} kdts_loss_value;

/* Evaluate total = w_hard*L_hard + w_soft*L_soft + w_seq*L_seq and, when
   dout is not NULL, write d(total)/d(out) into dout (B,T,O).
     out    (B,T,O)  student head outputs (values or logits)
     target (B,T,h)  true future values per step (for L_hard); may be NULL
                     only when w_hard == 0
     tvals  (B,T,h)  teacher per-step forecasts (expected values in dist
                     mode); may be NULL only when w_soft and w_seq are 0 in
                     point mode, w_seq is 0 in dist mode
     tprobs (B,h,K)  dist mode: teacher probabilities at the temperature for
                     the last step; may be NULL only when w_soft == 0
   Point:  L_hard = mean (out-target)^2 over the hard steps,
           L_soft = mean (out-tvals)^2 at the last step,
           L_seq  = mean (out-tvals)^2 over all steps.
   Dist:   p = softmax(z), forecast E = sum_k p_k centre_k;
           L_hard = mean cross-entropy of p against the (smoothed) bin of the
                    target, over the hard steps;
           L_soft = T^2 * mean KL(tprobs || softmax(z/T)) at the last step
                    (its gradient is T*(softmax(z/T) - tprobs));
           L_seq  = mean (E - tvals)^2 over all steps.
   With horizon_weight / step_weight the means of L_soft and L_seq are
   weighted means (weights of mean 1, so the scale stays). The point-mode
   terms of the options, each a mean over the rows (b, step, series):
     L_ms   = mean over the scales s of mean_p (A_s(out) - A_s(tvals))_p^2,
              A_s the averages of the H forecast values over consecutive
              non-overlapping runs of s steps (p = 0 .. H/s - 1; a
              remainder shorter than s is left out);
     L_freq = tau^2 KL(softmax(M(tvals)/tau) || softmax(M(out)/tau)),
              M_f(x) = sqrt(|X_f|^2 / H + 1e-12) the magnitudes of the DFT
              X_f = sum_j x_j exp(-2 pi i f j / H), f = 0 .. H/2 (about the
              orthonormal DFT's magnitudes), tau = freq_temperature;
   total += ms_weight * L_ms + freq_weight * L_freq.
   KDTS_ERR_ARG for a bad option (negative weight, H not dividing h, a
   point-mode term in dist mode). KDTS_ERR_NONFINITE if the result is not
   finite. */
KDTSDEF kdts_result kdts_loss_eval(const kdts_loss_config *lc, float w_hard, float w_soft,
                                   float w_seq, const float *out, const float *target,
                                   const float *tvals, const float *tprobs, int B, int T,
                                   kdts_loss_value *lv, float *dout, kdts_error *err);

/* The distillation loss alpha*L_soft + (1-alpha)*L_hard + beta*L_seq. */
KDTSDEF kdts_result kdts_distill_loss(const kdts_loss_config *lc, float alpha, float beta,
                                      const float *out, const float *target,
                                      const float *tvals, const float *tprobs, int B,
                                      int T, kdts_loss_value *lv, float *dout, kdts_error *err);

/* Centre of bin k of K over [lo, hi]. */
KDTSDEF float kdts_bin_centre(float lo, float hi, int K, int k);
/* probs (n,K) = softmax(logits / temperature) row by row. */
KDTSDEF void kdts_softmax_rows(float *probs, const float *logits, size_t n, int K,
                               float temperature);
/* Expected value of each of n rows of logits (n,K) at temperature 1. */
KDTSDEF void kdts_dist_expect(float *values, const float *logits, size_t n, int K,
                              float lo, float hi);
/* Central prediction interval of one distribution (K logits) with the given
   coverage (e.g. 0.8), by linear interpolation of the bin CDF. */
KDTSDEF void kdts_dist_interval(const float *logits, int K, float lo, float hi,
                                float coverage, float *low, float *high);

/* ======================================================================== */
/* >>attn : causal self-attention forecaster (pre-norm Transformer encoder) */
/* ======================================================================== */

/* The model, for each input window x (T,F) on its own:
     h = x W_in^T + b_in                                          (T,d)
     for each block: nn.TransformerEncoderLayer(d, heads, ff, dropout,
     activation, batch_first=True, norm_first=True) with a causal mask:
       a = LN1(h);  [q k v] = a W_qkv^T + b_qkv                  (T,3d)
       head j (dh = d/heads; its columns j*dh .. j*dh+dh-1 of q, k, v):
         S[i][t] = q_i . k_t / sqrt(dh) + pos[j][i-t]   for t <= i
         (keys after the query are masked), P = softmax over t of S,
         o_i = sum_t P[i][t] v_t; the heads' o side by side      (T,d)
       h = h + o W_o^T + b_o
       h = h + act(LN2(h) W_1^T + b_1) W_2^T + b_2
     with final_norm: h = LNf(h) (nn.TransformerEncoder's norm);
     out = h W^T + b at every step                               (T,O)
   LN is LayerNorm over d with eps 1e-5 and a gain and bias; act is the
   exact GELU x*Phi(x) (erf form, PyTorch's default 'gelu') or ReLU. The
   head is the LSTM's: O = horizon (point) or horizon*bins (dist, logits of
   value j in columns j*bins .. j*bins+bins-1).

   Positions: no additive encoding. Every block adds a learned relative
   position bias pos (heads, max_steps) to its attention scores, indexed by
   the distance i - t >= 0 between query and key. It starts as ALiBi's
   linear penalty, pos[j][delta] = -delta * 2^(-8(j+1)/heads), and is
   trained like every other weight. The scores depend on positions only
   through distances, so a key or value never depends on where the window
   starts: what lets the stream cache of the inference functions reuse
   them. In PyTorch terms it is the float attn_mask (B*heads, T, T) given
   to each layer: M[b*heads+j][i][t] = pos[j][i-t] for t <= i, -inf above.

   Dropout (training with cfg.dropout = p > 0): inverted dropout (keep with
   1-p, scale 1/(1-p)) where nn.TransformerEncoderLayer applies it: on the
   attention probabilities, on the attention part's output (after W_o),
   after the activation, and on the feed-forward part's output (after W_2).
   Block by block the scales are drawn from rng in this order: attention
   probabilities (window, head, query i, key t <= i), then the other three
   (row-major (B,T,d), (B,T,ff), (B,T,d)). */

/* Most blocks a model may stack. */
#define KDTS_ATTN_MAX_BLOCKS 4

/* Activation of the feed-forward part of every block. */
typedef enum kdts_attn_act {
    KDTS_ATTN_GELU = 0, /* x * Phi(x), Phi the standard normal CDF (erf form)  */
    KDTS_ATTN_RELU = 1  /* max(x, 0)                                            */
} kdts_attn_act;

/* Architecture. Zero-initialized fields take the defaults in brackets. */
typedef struct kdts_attn_config {
    int input;       /* F: values per time step [1]                           */
    int d_model;     /* d: token width (required, >= 1, a multiple of heads)  */
    int heads;       /* attention heads [1]; each is d/heads wide             */
    int ff;          /* width of the feed-forward layer [4*d_model]           */
    int blocks;      /* encoder blocks [1], 1..KDTS_ATTN_MAX_BLOCKS            */
    kdts_attn_act activation; /* [KDTS_ATTN_GELU]                             */
    int final_norm;  /* 1: a LayerNorm after the last block; 0: none [0]      */
    int max_steps;   /* longest window, and the length of each block's
                        position-bias table [256]                             */
    int horizon;     /* h: values forecast at each step [1]                   */
    kdts_mode mode;
    int bins;        /* K: bins per value in KDTS_MODE_DIST [32]              */
    float bin_lo;    /* range covered by the bins, in normalized units        */
    float bin_hi;    /* [-4, 4] when both are 0                               */
    float dropout;   /* inverted dropout while training (see above), [0, 1)   */
} kdts_attn_config;

/* Offsets of one block's parameters in kdts_attn.params. */
typedef struct kdts_attn_block_offsets {
    size_t qkv_w, qkv_b; /* (3d,d) rows q, k, v (in_proj_weight); (3d)        */
    size_t o_w, o_b;     /* (d,d), (d) out_proj                               */
    size_t ff1_w, ff1_b; /* (ff,d), (ff) linear1                              */
    size_t ff2_w, ff2_b; /* (d,ff), (d) linear2                               */
    size_t ln1_g, ln1_b; /* (d), (d) norm1 gain and bias                      */
    size_t ln2_g, ln2_b; /* (d), (d) norm2                                    */
    size_t pos;          /* (heads, max_steps) relative position bias         */
} kdts_attn_block_offsets;

/* A model: configuration, one contiguous parameter buffer and a gradient
   buffer of the same layout (so Adam, model files and C export see one
   flat array). Layout, in this order (row-major):
     W_in (d,F), b_in (d);
     for each block: W_qkv (3d,d), b_qkv (3d), W_o (d,d), b_o (d),
       W_1 (ff,d), b_1 (ff), W_2 (d,ff), b_2 (d), LN1 gain (d), LN1 bias
       (d), LN2 gain (d), LN2 bias (d) - the order of the state_dict of
       nn.TransformerEncoderLayer - then pos (heads, max_steps);
     with final_norm: gain (d), bias (d);
     the head W (O,d), b (O) last, as in kdts_lstm. */
typedef struct kdts_attn {
    kdts_attn_config cfg; /* with defaults filled in                        */
    int outputs;          /* O                                              */
    size_t nparams;
    float *params;        /* (nparams) owned                                */
    float *grads;         /* (nparams) owned, same layout                   */
    size_t off_in_w, off_in_b;
    kdts_attn_block_offsets blk[KDTS_ATTN_MAX_BLOCKS];
    size_t off_lnf_g, off_lnf_b; /* final_norm only (0 otherwise)           */
    size_t off_head_w, off_head_b;
} kdts_attn;

/* Fill the defaults of *cfg in place and validate it. KDTS_ERR_ARG names
   the bad field in err. */
KDTSDEF kdts_result kdts_attn_config_check(kdts_attn_config *cfg, kdts_error *err);

/* Number of parameters of an architecture (0 if invalid or overflowing). */
KDTSDEF size_t kdts_attn_param_count(const kdts_attn_config *cfg);

/* Floating-point operations of one forward pass over a window of T steps
   (multiply and add counted separately; the causal attention over the
   T(T+1)/2 query-key pairs; exp, erf and 1/sqrt as one each; LayerNorm 8
   per value, softmax 4 per score). */
KDTSDEF double kdts_attn_flops(const kdts_attn_config *cfg, int T);
/* The same for one forecast as kdts_attn_forecast computes it: the last
   block runs its query, attention and feed-forward part at the last step
   only, the head once. */
KDTSDEF double kdts_attn_forecast_flops(const kdts_attn_config *cfg, int T);

/* Allocate a model and initialize it from `seed` the way PyTorch initializes
   these modules, with the portable RNG (the same seed gives the same
   weights everywhere): Linear weights and biases uniform in +-1/sqrt(fan_in)
   (W_in, W_1, W_2, the head; W_o too, with b_o = 0), W_qkv Xavier-uniform in
   +-sqrt(6/(4d)) with b_qkv = 0, LayerNorm gains 1 and biases 0, pos the
   ALiBi penalty. (nn.TransformerEncoder copies one layer into every block;
   here each block is drawn on its own.) Gradients start at zero. Free with
   kdts_attn_free. Returns KDTS_OK, KDTS_ERR_ARG, KDTS_ERR_NOMEM. */
KDTSDEF kdts_result kdts_attn_init(kdts_attn *m, const kdts_attn_config *cfg,
                                   unsigned long long seed, kdts_error *err);
/* Re-draw the weights of an initialized model from `seed` (as init). */
KDTSDEF void kdts_attn_reset(kdts_attn *m, unsigned long long seed);
/* Release a model's buffers (safe on a zeroed or freed model). */
KDTSDEF void kdts_attn_free(kdts_attn *m);
/* Set every gradient to zero. */
KDTSDEF void kdts_attn_zero_grad(kdts_attn *m);

/* Working memory for forward and backward with at most `max_batch` windows
   of at most `max_steps` steps (<= cfg.max_steps). It holds what forward
   keeps for backward (the attention probabilities are not kept: the
   backward computes them again, exactly as the forward did), the
   backward's scratch and GEMM packing scratch; nothing is allocated inside
   forward or backward. One workspace serves one architecture (any model of
   that shape). All per-step arrays are batch-major, R = B*T rows of
   (B,T,...); an inference workspace (train = 0) has one buffer of each
   kind shared by all blocks. Forward and backward work through chunks of
   whole windows (about 160 rows); with OpenMP the chunks are shared
   between threads and the backward sums its gradients in 4 fixed groups
   of chunks, so no result depends on the number of threads. */
typedef struct kdts_attn_ws {
    kdts_attn_config cfg;
    int outputs, max_batch, max_steps, train;
    int B, T;             /* shape of the last forward                      */
    int state;            /* last forward: 0 none, 1 inference, 2 training,
                             3 forecast                                     */
    int dropout_active;
    int mw0;              /* the last forward's first window in the dropout
                             scales: 0, or where a part of a batch starts
                             (the scales were drawn for the whole batch)    */
    const float *dtop;    /* NULL, or (B,T,d) a gradient w.r.t. the head's
                             input (the last block's output, after the final
                             LayerNorm with final_norm) that the next
                             backward adds to the head's (the trainer's
                             hidden-state hints); the caller sets and clears it */
    int threads;          /* threads forward and backward may use: 1, or
                             with OpenMP omp_get_max_threads() when the
                             workspace was made                              */
    float *mem;           /* one block, carved below                        */
    size_t mem_floats;
    float *x;             /* (R,F) copy of the input (train)                */
    float *wx;            /* (F,d) W_in^T for a narrow input                */
    float *h[KDTS_ATTN_MAX_BLOCKS + 1]; /* (R,d) residual stream: h[0] the
                             embedding, h[l+1] block l's output             */
    float *hm[KDTS_ATTN_MAX_BLOCKS];  /* (R,d) after the attention part     */
    float *a[KDTS_ATTN_MAX_BLOCKS];   /* (R,d) LN1 output                   */
    float *c[KDTS_ATTN_MAX_BLOCKS];   /* (R,d) LN2 output                   */
    float *st1[KDTS_ATTN_MAX_BLOCKS]; /* (R,2) LN1 mean and 1/std per row   */
    float *st2[KDTS_ATTN_MAX_BLOCKS]; /* (R,2) LN2                          */
    float *qkv[KDTS_ATTN_MAX_BLOCKS]; /* (R,3d) q, k, v                     */
    float *att[KDTS_ATTN_MAX_BLOCKS]; /* (R,d) attention output, heads side
                                         by side                            */
    float *u[KDTS_ATTN_MAX_BLOCKS];   /* (R,ff) feed-forward pre-activation;
                                         after a forward on a training
                                         workspace the activation's
                                         derivative there               */
    float *g[KDTS_ATTN_MAX_BLOCKS];   /* (R,ff) activation (dropped)        */
    float *mp[KDTS_ATTN_MAX_BLOCKS];  /* (B,heads,T,T) dropout scales of P  */
    float *m1[KDTS_ATTN_MAX_BLOCKS];  /* (R,d) after W_o                    */
    float *ma[KDTS_ATTN_MAX_BLOCKS];  /* (R,ff) after the activation        */
    float *m2[KDTS_ATTN_MAX_BLOCKS];  /* (R,d) after W_2                    */
    float *hf, *stf;      /* (R,d), (R,2) final LayerNorm (final_norm)      */
    float *out;           /* (R,O) head output, (B,O) after a forecast      */
    float *rb;            /* (blocks, heads, max_steps) pos reversed for the
                             window length of the last forward              */
    float *eb;            /* (blocks, heads, max_steps + 32) pos by distance
                             with the ends the row blocks read (see
                             kdts__attn_softmax_blk)                        */
    float *cb;            /* per thread, for the rows of one chunk (C rows,
                             kdts__attn_crows): backward dL/dh (C,d), two
                             more (C,d), (C,ff), (C,3d), the dropout staging
                             (C,d) and the bias gradient (16, max_steps+32) */
    size_t cb_floats;
    float *gbuf;          /* OpenMP: gradient sums of the backward's fixed
                             groups of windows, gstride floats each         */
    size_t gstride;
    float *pk_qkv[KDTS_ATTN_MAX_BLOCKS], *pk_o[KDTS_ATTN_MAX_BLOCKS];
    float *pk_ff1[KDTS_ATTN_MAX_BLOCKS], *pk_ff2[KDTS_ATTN_MAX_BLOCKS];
    float *pk_head, *pk_in; /* W^T of the forward products packed for the
                             GEMM (W_in only when input > 8)                */
    float *thr;           /* per thread: Q^T, dO^T (dh,T), three (T,16)
                             (a row block's probabilities, dS, dropped
                             probabilities), the forecast's last-step rows  */
    size_t thr_floats;
    float *scratch;       /* GEMM packing scratch, one per thread           */
} kdts_attn_ws;

/* Allocate a workspace. train = 0 gives a smaller, inference-only one
   (forward with train = 0 and forecast). Returns KDTS_OK, KDTS_ERR_ARG,
   KDTS_ERR_NOMEM. */
KDTSDEF kdts_result kdts_attn_ws_init(kdts_attn_ws *ws, const kdts_attn_config *cfg,
                                      int max_batch, int max_steps, int train,
                                      kdts_error *err);
KDTSDEF void kdts_attn_ws_free(kdts_attn_ws *ws);

/* Forward pass over B windows of T steps.
   x   (B,T,F) inputs
   out (B,T,O) head output at every step (may be NULL: read ws->out)
   train: 1 keeps what backward needs and applies dropout (drawn from rng,
   which may be NULL when cfg.dropout is 0); 0 is inference.
   Returns KDTS_OK; KDTS_ERR_SHAPE if B or T exceed the workspace or the
   workspace was made for another architecture; KDTS_ERR_ARG for train with
   an inference workspace, a missing rng, or dropout with a workspace made
   without it. */
KDTSDEF kdts_result kdts_attn_forward(const kdts_attn *m, kdts_attn_ws *ws,
                                      const float *x, int B, int T, float *out,
                                      int train, kdts_rng *rng, kdts_error *err);

/* Inference forward that applies the head to the last step only: the
   forecast of each window. out (B,O) (may be NULL: read ws->out (B,O)).
   Equal to the last step of kdts_attn_forward with train = 0 (to float
   rounding; the last block runs its query, attention and feed-forward part
   at the last step only). Errors as kdts_attn_forward. */
KDTSDEF kdts_result kdts_attn_forecast(const kdts_attn *m, kdts_attn_ws *ws,
                                       const float *x, int B, int T, float *out,
                                       kdts_error *err);

/* Back-propagation through the last training forward.
   dout (B,T,O) gradient of the loss w.r.t. the head outputs.
   Adds the parameter gradients into m->grads (call kdts_attn_zero_grad
   first); writes dx (B,T,F) when not NULL. Returns KDTS_OK, or
   KDTS_ERR_ARG when the last forward on ws was not a training forward of
   this architecture. */
KDTSDEF kdts_result kdts_attn_backward(kdts_attn *m, kdts_attn_ws *ws,
                                       const float *dout, float *dx, kdts_error *err);

/* Internal: the state deployment inference keeps for an attention model
   (the functions kdts__attn_inf_* in the implementation; kdts_infer can
   embed it). It lives in caller memory: per block a key cache (heads, dh,
   cap) and a value cache (cap, d) for the stream and another pair for
   window inference, the weights transposed for matrix-vector products and
   a few vectors. Inputs are normalized values; outputs the head's O values. */
typedef struct kdts__attn_inf {
    kdts_attn net;         /* view: cfg, offsets, params = the model's (never
                              written), grads NULL                          */
    int cap[2];            /* cache length: [0] stream (lookback), [1] window */
    long long seen;        /* observations fed to the stream since reset    */
    float *wt;             /* W_in^T (F,d); per block W_qkv^T (d,3d), W_o^T
                              (d,d), W_1^T (d,ff), W_2^T (ff,d); head W^T (d,O) */
    float *kc[2], *vc[2];  /* per set: (L,heads,dh,cap) keys, (L,cap,d) values */
    float *zb[2];          /* per set: (L,heads,2cap) pos in ring order      */
    float *h, *a, *qkv, *o, *f, *sc, *out; /* (d) (d) (3d) (d) (ff) (cap) (O) */
} kdts__attn_inf;

/* ======================================================================== */
/* >>adam : Adam / AdamW with bias correction and gradient clipping         */
/* ======================================================================== */

typedef struct kdts_adam_config {
    float lr;           /* [1e-3]                                           */
    float beta1;        /* [0.9]                                            */
    float beta2;        /* [0.999]                                          */
    float eps;          /* [1e-8]                                           */
    float weight_decay; /* decoupled (AdamW) decay, 0 = plain Adam           */
    float clip_norm;    /* global gradient-norm clip, 0 = off                */
} kdts_adam_config;

typedef struct kdts_adam {
    kdts_adam_config cfg; /* with defaults filled in                        */
    size_t n;
    long step;            /* steps taken                                    */
    float *m, *v;         /* (n) moments, owned                             */
} kdts_adam;

/* Allocate the moment buffers for n parameters (zeroed). */
KDTSDEF kdts_result kdts_adam_init(kdts_adam *a, const kdts_adam_config *cfg, size_t n,
                                   kdts_error *err);
KDTSDEF void kdts_adam_free(kdts_adam *a);
/* One step: optional clipping of grads to cfg.clip_norm (grads is scaled in
   place), then params -= lr * mhat / (sqrt(vhat) + eps), with bias-corrected
   moments, and p -= lr*weight_decay*p before it (AdamW). Returns the global
   gradient norm before clipping. */
KDTSDEF double kdts_adam_step(kdts_adam *a, float *params, float *grads);
/* Global L2 norm of g (n); if max_norm > 0 and the norm exceeds it, scale g
   so its norm is max_norm. Returns the norm before scaling. */
KDTSDEF double kdts_clip_grad_norm(float *g, size_t n, float max_norm);

/* ======================================================================== */
/* >>linear : NLinear / DLinear window models, ridge fit, season detection  */
/* ======================================================================== */

/* A linear forecaster maps the whole input window straight to the forecast:
   the baseline every forecasting model is measured against, and a cheap
   teacher or student. It takes the windows the rest of kdts takes, x
   (B,T,F), and gives the forecast of each window, (B,O), with the outputs
   of the LSTM's head: O = horizon values in KDTS_MODE_POINT (in the order
   of kdts_windows.y[n][T-1][:]: target k, step j at k*H+j), or horizon x
   bins logits in KDTS_MODE_DIST (value j in columns j*bins ..
   j*bins+bins-1), so the losses apply unchanged with T = 1 (out (B,1,O),
   target the windows' last step y[:,T-1,:], (B,1,h)). A linear model has no
   per-step outputs: there is no L_seq of its own (with T = 1 the sequence
   term is the last-step soft term).

   How the window enters: x[b] is read as one vector of T*F values in its
   memory order, index t*F+f (feature fastest), and every output sees every
   feature at every step: W[o][t*F+f] weighs feature f at step t. With F = 1
   this is the univariate model of the literature; with F > 1 the features
   are mixed (the literature's multivariate variant instead applies one
   univariate map per channel; feed each channel as its own F = 1 window
   for that).

   NLinear: out = W z + b, z = x. The literature's NLinear subtracts the
   window's last value before the map and adds it back after; windows made
   with kdts_window_config.norm = KDTS_WNORM_LAST are already relative to
   their last value (inputs and targets), so the plain map on them IS that
   model. For windows that are not relative, set subtract_last: then
   z[t*F+f] = x[t][f] - x[T-1][f] inside the model and the last input value
   of the target feature is added to every output (point mode only).

   DLinear: the window (z, after subtract_last) is split per feature into a
   trend, the centred moving average of `kernel` steps with the window
   padded at both ends by repeating its first and last values,
       trend[t][f] = (1/kernel) sum_{j=-p..p} z[clamp(t+j, 0, T-1)][f],
       p = (kernel-1)/2,
   and the remainder z - trend; out = W_t trend + b_t + W_s (z - trend) +
   b_s. (Every DLinear is also an NLinear: out = (W_s + (W_t - W_s) A) z +
   b_t + b_s, with A the moving-average operator; the two differ in what
   training and the ridge penalty prefer, not in what they can express.) */
typedef enum kdts_linear_kind {
    KDTS_LINEAR_NLINEAR = 0, /* one map from the window (default)            */
    KDTS_LINEAR_DLINEAR = 1  /* trend + remainder, one map each, summed       */
} kdts_linear_kind;

/* Architecture. Zero-initialized fields take the defaults in brackets. */
typedef struct kdts_linear_config {
    int input;        /* F: values per time step [1]                          */
    int lookback;     /* T: steps per window (required, >= 1); the map is
                         made for this T                                      */
    int horizon;      /* h: values forecast per window [1] (as
                         kdts_lstm_config.horizon: targets x steps)           */
    kdts_mode mode;   /* KDTS_MODE_POINT or KDTS_MODE_DIST, as the LSTM       */
    int bins;         /* K: bins per value in KDTS_MODE_DIST [32]             */
    float bin_lo;     /* range covered by the bins, in normalized units       */
    float bin_hi;     /* [-4, 4] when both are 0                              */
    kdts_linear_kind kind;
    int kernel;       /* DLinear moving-average length, odd, >= 1 [25]        */
    int subtract_last;/* 1: subtract each feature's last input value inside
                         the model and add the target feature's last value
                         to every output (point mode only); 0: the window is
                         used as given (already relative: KDTS_WNORM_LAST)    */
    int target_rev;   /* with subtract_last: the input feature holding the
                         target, counted from the last one: 0 = feature F-1
                         (where kdts_windows_make puts the default target
                         when the features are all columns), 1 = F-2, ...
                         [0]. One target only; for several, make the windows
                         relative with KDTS_WNORM_LAST instead.               */
} kdts_linear_config;

/* A model: configuration, one contiguous parameter buffer and a gradient
   buffer of the same layout. Layout, with D = T*F (PyTorch nn.Linear
   weight and bias, row-major):
     NLinear: W (O x D), b (O)
     DLinear: W_t (O x D), b_t (O) on the trend, then W_s (O x D), b_s (O)
              on the remainder. */
typedef struct kdts_linear {
    kdts_linear_config cfg; /* with defaults filled in                      */
    int outputs;            /* O                                            */
    int inputs;             /* D = T*F values per window                    */
    size_t nparams;
    float *params;          /* (nparams) owned                              */
    float *grads;           /* (nparams) owned, same layout                 */
    size_t off_w, off_b;    /* NLinear map; DLinear trend map               */
    size_t off_w2, off_b2;  /* DLinear remainder map (0 for NLinear)        */
    float *scratch;         /* (D) owned by DLinear models: the backward's
                               input-gradient scratch (NULL for NLinear)    */
} kdts_linear;

/* Fill the defaults of *cfg in place and validate it (T*F at most
   16*KDTS_MAX_DIM). KDTS_ERR_ARG names the bad field in err. */
KDTSDEF kdts_result kdts_linear_config_check(kdts_linear_config *cfg, kdts_error *err);

/* Number of parameters of an architecture (0 if invalid or overflowing):
   (D+1)*O for NLinear, 2*(D+1)*O for DLinear. */
KDTSDEF size_t kdts_linear_param_count(const kdts_linear_config *cfg);

/* Floating-point operations of one forecast (one window; multiply and add
   counted separately): NLinear 2*D*O + O, plus D + O with subtract_last;
   DLinear adds the moving average as computed (running sums: F*kernel for
   the first window of each feature, one add and one subtract per further
   step, one multiply per value: F*kernel + 3*D - 2*F), the remainder (D),
   the second map (2*D*O + O) and the sum of the maps (O). The model has no
   per-step outputs, so this is also its per-window cost in training's
   forward. 0 for an invalid configuration. */
KDTSDEF double kdts_linear_flops(const kdts_linear_config *cfg);

/* Allocate a model and initialize it from `seed` the way PyTorch's
   nn.Linear does (every weight and bias uniform in +-1/sqrt(D)), with the
   portable RNG: the same seed gives the same weights everywhere. Gradients
   start at zero. Free with kdts_linear_free. On failure *m is untouched.
   KDTS_ERR_ARG (bad config), KDTS_ERR_NOMEM. */
KDTSDEF kdts_result kdts_linear_init(kdts_linear *m, const kdts_linear_config *cfg,
                                     unsigned long long seed, kdts_error *err);
/* Re-draw the weights of an initialized model from `seed` (grads zeroed). */
KDTSDEF void kdts_linear_reset(kdts_linear *m, unsigned long long seed);
/* Release a model's buffers (safe on a zeroed or freed model). */
KDTSDEF void kdts_linear_free(kdts_linear *m);
/* Set every gradient to zero. */
KDTSDEF void kdts_linear_zero_grad(kdts_linear *m);

/* Forecast of each of B windows: out (B,O) from x (B,T,F). T must be
   cfg.lookback. Never allocates, keeps nothing (no workspace: backward
   takes x again), touches only out; reentrant. Dist mode writes logits.
   KDTS_ERR_SHAPE (T != lookback), KDTS_ERR_ARG (NULL pointer, B < 0). */
KDTSDEF kdts_result kdts_linear_forward(const kdts_linear *m, const float *x, int B, int T,
                                        float *out, kdts_error *err);

/* Gradients of the B windows x (B,T,F) given dout (B,O) = dL/d(out):
   ADDS the parameter gradients into m->grads (call kdts_linear_zero_grad
   first) and, when dx is not NULL, WRITES dL/dx into dx (B,T,F). Needs no
   forward before it. Never allocates (a DLinear model uses m->scratch, so
   one model's backward must not run on two threads at once). Errors as
   kdts_linear_forward. */
KDTSDEF kdts_result kdts_linear_backward(kdts_linear *m, const float *x, int B, int T,
                                         const float *dout, float *dx, kdts_error *err);

/* ---- Closed-form fit (ridge least squares, point mode) ------------------ */

/* The sufficient statistics of a least-squares fit on n training windows,
   in double precision: means and centred second moments of the model's
   inputs z (the window, after subtract_last) and of the targets. Built
   once, they give the ridge solution for any lambda in O(D^3) without
   touching the data again, so choosing lambda on a validation split costs
   one pass over the training windows. The statistics depend on T, F,
   horizon, subtract_last and target_rev only: one set serves an NLinear
   and a DLinear model (any kernel) of that shape. Owned memory: free with
   kdts_linear_gram_free. */
typedef struct kdts_linear_gram {
    kdts_linear_config cfg; /* the configuration it was built for (checked) */
    int d, O;               /* D = T*F inputs, O = horizon outputs          */
    long n;                 /* windows                                      */
    double *xmean;          /* (D) mean input                               */
    double *ymean;          /* (O) mean target                              */
    double *sxx;            /* (D,D) (1/n) sum (z - zmean)(z - zmean)^T     */
    double *sxy;            /* (D,O) (1/n) sum (z - zmean)(y - ymean)^T     */
    double *syy;            /* (O) (1/n) sum (y - ymean)^2: the MSE of the
                               mean forecast                                */
} kdts_linear_gram;

/* Build the statistics of n >= 2 windows for models of configuration cfg
   (point mode). x (n,T,F) inputs; y (n,S,O) targets of which the last step
   is used: target of window i = y[i][S-1][:] (S = y_steps: 1 for (n,O)
   targets, T for kdts_dataset / kdts_windows.y, whose forecast target is
   y[i][T-1][:]). Two passes over the data (mean, then centred products),
   accumulated in double. On failure *g is untouched. KDTS_ERR_ARG (config,
   dist mode, n < 2, y_steps < 1), KDTS_ERR_NONFINITE (NaN/Inf in x or y),
   KDTS_ERR_NOMEM. */
KDTSDEF kdts_result kdts_linear_gram_init(kdts_linear_gram *g, const kdts_linear_config *cfg,
                                          const float *x, const float *y, long n, int y_steps,
                                          kdts_error *err);
KDTSDEF void kdts_linear_gram_free(kdts_linear_gram *g);

/* The ridge least-squares parameters of m from the statistics g:
     minimize (1/n) sum_i |y_i - f(x_i)|^2 + lambda * |W|^2
   over the weights and biases, the biases not penalized (so the solution
   is the centred one: b = ymean - W zmean). |W|^2 is the squared Frobenius
   norm of every weight (NLinear W; DLinear W_t and W_s). lambda is per
   window and per unit of input variance: with z-scored inputs the
   diagonal of sxx is about the inputs' variance, so lambda = 1e-2 weighs
   the penalty like one percent of it; lambda does not grow with n. Each
   output is its own ridge problem with the same lambda. Solved by the
   normal equations (sxx + lambda I) W^T = sxy with a Cholesky
   factorization in double: the normal equations are what makes every
   further lambda cost a D^3/3 factorization instead of a pass over the
   data (QR would redo O(n D^2) per lambda); they square the condition
   number, which double precision affords (a condition number of 1e5 in
   the windows leaves some 6 correct digits, as many as float parameters
   keep). Inputs whose centred variance is at most 1e-12 of the largest
   (constant over the training windows, such as the last step of windows
   relative to their last value, which is always 0) are left out and get
   weight 0. lambda = 0 is plain least squares; it needs the remaining
   inputs linearly independent (KDTS_ERR_DATA otherwise: use lambda > 0).
   DLinear: the ridge problem in the 2D regressors z = (trend, remainder)
   = M x, M = [A; I - A], solved without forming its 2D x 2D system: with
   Q = M^T M = L L^T (positive definite), the solution is W_t^T = A u,
   W_s^T = u - A u, u = L^-T v, (L^T sxx L + lambda I) v = L^T sxy, a D x D
   Cholesky per lambda (no data pass; exactly the 2D ridge solution). At
   lambda = 0 that problem is singular (the two maps are redundant), so
   lambda = 0 gives W_t = W_s = the NLinear least-squares W (the same
   forecasts). DLinear puts the whole bias in b_t (b_s = 0): only their
   sum acts. Cost: O(D^3) per call (kdts_linear_fit_select shares the
   lambda-independent part across its lambdas).
   m must be a point-mode model of the configuration g was built for
   (kind and kernel may differ): KDTS_ERR_SHAPE otherwise. Gradients are
   untouched. Allocates its solver memory (KDTS_ERR_NOMEM). On failure
   m->params are untouched. KDTS_ERR_ARG (lambda < 0 or not finite). */
KDTSDEF kdts_result kdts_linear_gram_solve(const kdts_linear_gram *g, kdts_linear *m,
                                           double lambda, kdts_error *err);

/* One-shot ridge fit: kdts_linear_gram_init + kdts_linear_gram_solve (see
   both for x, y, y_steps, lambda and the results). */
KDTSDEF kdts_result kdts_linear_fit(kdts_linear *m, const float *x, const float *y, long n,
                                    int y_steps, double lambda, kdts_error *err);

/* Choose lambda on a validation split: for each of the nl values of
   lambdas (NULL = the default grid: 0 and 10^(k/2) for k = -10 .. 4, i.e.
   1e-5 .. 100, nl ignored), solve from g into m, forecast the nv
   validation windows xv (nv,T,F) and take the MSE against yv (nv,S,O)
   (last step, as kdts_linear_gram_init); keep the lambda with the lowest
   MSE (the first on ties) and leave m solved with it. val_mse (nl values,
   or 16 for the default grid) receives every MSE (a lambda whose solve
   fails, e.g. 0 on singular inputs, gets -1 and is skipped) and may be
   NULL; *best_lambda (may be NULL) the chosen value. KDTS_ERR_DATA when no
   lambda could be solved; otherwise as kdts_linear_gram_solve. */
KDTSDEF kdts_result kdts_linear_fit_select(kdts_linear *m, const kdts_linear_gram *g,
                                           const float *xv, const float *yv, long nv,
                                           int y_steps, const double *lambdas, int nl,
                                           double *val_mse, double *best_lambda,
                                           kdts_error *err);

/* ---- Seasonal period -------------------------------------------------------- */

/* The dominant seasonal period of a series x (n), from the autocorrelation
   of its first differences d_t = x_{t+1} - x_t (differencing removes the
   trend and level shifts; a seasonal pattern of period P stays, as a
   positive autocorrelation at lag P). With r(k) the sample autocorrelation
   of d (biased estimator, mean removed), a lag P in [min_period,
   max_period] is a candidate when r is a local maximum there (r(P-1) <
   r(P) >= r(P+1)) and significant: r(P) > 0.1 and r(P) > 3 sqrt((1 + 2
   sum_{j<P} r(j)^2) / (n-1)) (three standard errors of Bartlett's formula
   for a series with no correlation beyond lag P-1; the 0.1 floor keeps
   the many lags of a long series from passing by chance). The candidate
   with the largest r wins, except that the smallest candidate P whose r
   is at least 0.8 of the winner's, whose multiple m*P (m = the winner's
   lag / P rounded, >= 2) lies within m steps of the winner's lag, and
   whose multiples 2P .. (m-1)P keep at least half of r(P) (within one
   step) is taken instead: harmonics 2P, 3P of a period, nearly as strong,
   do not win over P by noise, and a short lag that only looks like a
   peak (noise depressing lag 1 of a smooth season) does not take over. Finally the period moves to P-1 or P+1 (within
   the range) when that lag's multiples m*P' (m = 1 .. max_period/(P+1),
   the same count for the three) have the higher mean r: near a smooth
   peak r(P-1), r(P), r(P+1) differ by less than the noise, the run of
   multiples does not. *period receives the period, or 0 when no lag
   qualifies; *strength (may be NULL) r at the period (0 when none). The
   result is left untouched on failure.
   Needs 2 <= min_period <= max_period <= (n-2)/2 (two periods of
   differences): KDTS_ERR_ARG otherwise; KDTS_ERR_NONFINITE for NaN/Inf in
   x (err->line = 1-based index); KDTS_ERR_NOMEM. Cost O(n * max_period).
   Hourly ETTh1 / ETTh2 oil temperature give 24, daily log page views 7,
   monthly air passengers 12 (tests/test_linear.c). */
KDTSDEF kdts_result kdts_season_detect(const float *x, long n, int min_period, int max_period,
                                       int *period, float *strength, kdts_error *err);

/* ======================================================================== */
/* >>net : one model type over every kind (LSTM, GRU, attention, linear)    */
/* ======================================================================== */

/* A kdts_net is any of the model kinds behind one interface: training, the
   losses, model files, inference, streaming, C export and the task layer
   go through it, so every kind can be a teacher or a student of any other.
   Its parameters and gradients are each one contiguous buffer: the kind's
   layout (see kdts_lstm, kdts_gru, kdts_attn, kdts_linear), then, with
   cfg.skip, the skip map (see below).

   Output steps: the recurrent and attention kinds give a forecast at every
   input step, out (B,T,O); a linear model only for the whole window, out
   (B,1,O) (kdts_net_steps). The losses then run with T = 1 on the last
   step's targets.

   Linear skip (cfg.skip = 1, point mode, recurrent or attention kinds): a
   linear map of the whole window, W_s (O x T*F) and b_s (O), is added to
   the forecast of the last step: forecast = skip(window) + network(window).
   kdts_task_fit starts it at the closed-form ridge fit with the network's
   head at zero, so training begins at the linear model's forecasts and the
   network learns a correction (the best validated weights are kept, the
   start included). */

/* Model kinds. */
typedef enum kdts_kind {
    KDTS_KIND_LSTM = 0,   /* stacked LSTM (kdts_lstm), the default            */
    KDTS_KIND_GRU = 1,    /* stacked GRU (kdts_gru)                           */
    KDTS_KIND_ATTN = 2,   /* causal self-attention encoder (kdts_attn)        */
    KDTS_KIND_LINEAR = 3, /* NLinear / DLinear window model (kdts_linear)     */
    KDTS_KIND_COUNT
} kdts_kind;

/* Architecture of any kind. Zero-initialized fields take each kind's
   defaults; fields of other kinds are ignored (and stored as given). */
typedef struct kdts_net_config {
    kdts_kind kind;    /* [LSTM]                                              */
    int input;         /* F: values per time step [1]                         */
    int horizon;       /* values forecast per step (targets x steps) [1]     */
    kdts_mode mode;
    int bins;          /* K in KDTS_MODE_DIST [32]                            */
    float bin_lo, bin_hi; /* bin range, normalized units [-4, 4]              */
    float dropout;     /* LSTM, GRU, attention: inverted dropout [0]          */
    int hidden;        /* LSTM, GRU: units per layer (required)               */
    int layers;        /* LSTM, GRU: stacked layers [1]                       */
    int d_model;       /* attention: token width (required)                   */
    int heads;         /* attention: heads [1]                                */
    int ff;            /* attention: feed-forward width [4*d_model]           */
    int blocks;        /* attention: encoder blocks [1]                       */
    int activation;    /* attention: kdts_attn_act [GELU]                     */
    int final_norm;    /* attention: LayerNorm after the last block [0]       */
    int max_steps;     /* attention: longest window [256]                     */
    int lookback;      /* linear kind and skip: T of the window map
                          (required for them)                                 */
    int linear;        /* linear kind: kdts_linear_kind [NLINEAR]             */
    int kernel;        /* linear kind, DLinear: moving average [25]           */
    int subtract_last; /* linear kind: see kdts_linear_config [0]             */
    int target_rev;    /* linear kind: see kdts_linear_config [0]             */
    int skip;          /* 1: add a linear skip map of the window to the last
                          step's forecast (point mode; not the linear kind)   */
} kdts_net_config;

/* Short name of a kind: "lstm", "gru", "attn", "linear" ("?" if unknown). */
KDTSDEF const char *kdts_kind_name(kdts_kind kind);

/* One-line architecture of a configuration into buf[cap] (NUL-terminated,
   cut to fit): "LSTM 2x64", "GRU 1x16", "attention d64 2 blocks 4 heads ff
   256", "NLinear", "DLinear k25", with " + skip" for a linear skip map and
   " dist 32 bins" in distribution mode. Unset fields print as 0 (use a
   checked configuration). Returns buf. */
KDTSDEF char *kdts_net_describe(const kdts_net_config *cfg, char *buf, size_t cap);

typedef struct kdts_net {
    kdts_net_config cfg;   /* with defaults filled in                         */
    int outputs;           /* O = horizon, or horizon*bins in dist mode       */
    size_t nparams;        /* the kind's parameters, plus the skip map's      */
    size_t off_skip;       /* start of the skip map W_s (O x T*F), b_s (O);
                              nparams when there is none                      */
    float *params;         /* (nparams)                                       */
    float *grads;          /* (nparams) same layout                           */
    int owned;             /* 1: kdts_net_free releases the buffers           */
    union {
        kdts_lstm lstm;
        kdts_gru gru;
        kdts_attn attn;
        kdts_linear linear;
    } k;                   /* the kind's own view: its params and grads point
                              into the buffers above                          */
} kdts_net;

/* Fill the defaults of *cfg in place and validate it for its kind. */
KDTSDEF kdts_result kdts_net_config_check(kdts_net_config *cfg, kdts_error *err);

/* Parameters of an architecture, the skip map included (0 if invalid). */
KDTSDEF size_t kdts_net_param_count(const kdts_net_config *cfg);

/* FLOPs of one training forward over a window of T steps, and of one
   forecast (as kdts_net_forecast and kdts_infer_window compute it). */
KDTSDEF double kdts_net_flops(const kdts_net_config *cfg, int T);
KDTSDEF double kdts_net_forecast_flops(const kdts_net_config *cfg, int T);

/* Output steps of a forward over T input steps: T, or 1 for a linear model. */
KDTSDEF int kdts_net_steps(const kdts_net_config *cfg, int T);

/* Allocate and initialize a model from `seed` as its kind does (an LSTM
   gets exactly kdts_lstm_init's weights for the same seed); the skip map
   starts at zero. Free with kdts_net_free. On failure *net is zeroed. */
KDTSDEF kdts_result kdts_net_init(kdts_net *net, const kdts_net_config *cfg, unsigned long long seed,
                                  kdts_error *err);
/* Re-draw the weights from `seed` (the skip map to zero). */
KDTSDEF void kdts_net_reset(kdts_net *net, unsigned long long seed);
/* Release what the model owns and zero it (a view owns nothing). */
KDTSDEF void kdts_net_free(kdts_net *net);
/* Set every gradient to zero. */
KDTSDEF void kdts_net_zero_grad(kdts_net *net);

/* A non-owning view of an LSTM as a kdts_net (shares params and grads; a
   model without grads may be a teacher but not trained). */
KDTSDEF void kdts_net_view_lstm(kdts_net *net, const kdts_lstm *m);

/* The head's weights (O x width) and biases (O) inside params: *w, *b are
   offsets into params, *width the head's input width (hidden units, d_model,
   or T*F for the linear kind). */
KDTSDEF void kdts_net_head(const kdts_net *net, size_t *w, size_t *b, int *width);

/* Working memory of forward and backward (see each kind's workspace). */
typedef struct kdts_net_ws {
    kdts_kind kind;
    int B, T, train, max_batch, max_steps;
    float *x;              /* (max_batch,max_steps,F) the last forward's input
                              (linear kind and skip: backward reads it)       */
    float *out;            /* (max_batch,O) skip and forecast scratch         */
    union {
        kdts_lstm_ws lstm;
        kdts_gru_ws gru;
        kdts_attn_ws attn;
    } k;
} kdts_net_ws;

KDTSDEF kdts_result kdts_net_ws_init(kdts_net_ws *ws, const kdts_net_config *cfg, int max_batch, int max_steps,
                                     int train, kdts_error *err);
KDTSDEF void kdts_net_ws_free(kdts_net_ws *ws);

/* Forward over B windows x (B,T,F): out (B,S,O), S = kdts_net_steps (every
   step, or the window's forecast for the linear kind); train as for
   kdts_lstm_forward (rng for dropout). */
KDTSDEF kdts_result kdts_net_forward(const kdts_net *net, kdts_net_ws *ws, const float *x, int B, int T,
                                     float *out, int train, kdts_rng *rng, kdts_error *err);

/* The forecast of each window, out (B,O) (the head on the last step only
   where the kind allows). */
KDTSDEF kdts_result kdts_net_forecast(const kdts_net *net, kdts_net_ws *ws, const float *x, int B, int T,
                                      float *out, kdts_error *err);

/* Back-propagation of the last training forward: dout (B,S,O). Adds into
   net->grads; writes dx (B,T,F) when not NULL. */
KDTSDEF kdts_result kdts_net_backward(kdts_net *net, kdts_net_ws *ws, const float *dout, float *dx,
                                      kdts_error *err);

/* ======================================================================== */
/* >>train : training and prediction on arrays                              */
/* ======================================================================== */

/* Windows in memory: x (n,T,F) inputs and y (n,T,h) per-step targets,
   y[i][t][j] being the value j+1 steps after step t. The forecast of a
   window is its last step: y[i][T-1][.]. y may be NULL for prediction. */
typedef struct kdts_dataset {
    const float *x;
    const float *y;
    int n, T, F, h;
} kdts_dataset;

/* What the progress callbacks receive. */
typedef struct kdts_epoch_info {
    int epoch, epochs;       /* 1-based epoch (the one running or just done),
                                planned epochs                               */
    double loss, hard, soft, seq; /* mean training loss and its unweighted
                                terms over the batches of this epoch so far */
    double val_mse;          /* forecast MSE on the validation set after this
                                epoch (-1: none, or not yet: on_batch)      */
    double best_val_mse;     /* best so far (-1 = none yet)                  */
    int best_epoch;          /* epoch of the best weights (0 = none)         */
    double seconds;          /* wall-clock seconds since training started   */
    double alpha;            /* alpha used this epoch (warm-up)             */
    double hint;             /* mean unweighted hint term L_hint (0 = off)   */
    int batch, batches;      /* optimizer steps done in this epoch, of the
                                epoch's total                               */
    long long step;          /* optimizer steps since training started      */
    double lr;               /* learning rate of the last step              */
} kdts_epoch_info;

/* Progress callback (after every epoch, or after every optimizer step):
   return non-zero to stop training there. */
typedef int (*kdts_epoch_fn)(const kdts_epoch_info *info, void *user);

/* Gradient hook for data-parallel training (see kdts_train_config.on_grad).
   grads (n) is this process's contribution to the batch gradient, after
   backward and before clipping and Adam; `local` is KDTS_OK, or
   KDTS_ERR_NONFINITE when this process's loss or gradient is not finite
   (grads then hold garbage). The hook combines the contributions of all
   processes in place (e.g. an all-reduce sum) and returns the combined
   status: anything but KDTS_OK stops training with that code (every
   process must then return the same one, so that all stop at the same
   step). Data-parallel training over P processes (tools/kdts_mpi.h does
   this with MPI):
       static kdts_result sum(float *g, size_t n, kdts_result local, void *u)
       {   int bad = local != KDTS_OK;             // any process failed?
           allreduce_max(&bad, 1);                 // your transport
           if (bad) return KDTS_ERR_NONFINITE;     // all stop together
           allreduce_sum(g, n);                    // shares add up
           return KDTS_OK; }
       cfg.seed = same on every process;           // same shuffle
       cfg.shard_count = P; cfg.shard_index = rank;
       cfg.on_grad = sum;
       cfg.on_sum = sum_doubles;                   // optional: shares of
                                                   // the validation windows
       kdts_net_init(&net, &nc, cfg.seed, err);    // same start weights
       kdts_net_train(&net, &cfg, &train, &val, ...);
   Every process then holds the same weights after each step (the summed
   gradient, the same bits everywhere, is the gradient of the whole
   batch's mean loss; clipping and Adam run on it identically), validates
   them (the whole validation set, or with on_sum its share) and takes
   the same early-stopping decisions. Without
   dropout the weights equal a one-process run with the same batch up to
   the order of the gradient sums; with dropout each share draws its own
   masks (from seed, step and shard_index). */
typedef kdts_result (*kdts_grad_fn)(float *grads, size_t n, kdts_result local, void *user);

/* Sum hook for data-parallel validation (kdts_train_config.on_sum): v (n)
   holds this process's partial sums (local as for kdts_grad_fn); the hook
   replaces them by the sums over all processes - the same bits on every
   process, e.g. gathered and added in process order - and returns the
   combined status. */
typedef kdts_result (*kdts_sum_fn)(double *v, int n, kdts_result local, void *user);

/* Training settings. Zero-initialized fields take the defaults in
   brackets (filled in by kdts_train_config_check, the one place that
   knows them). */
/* Learning-rate schedules (kdts_train_config.schedule). */
typedef enum kdts_lr_schedule {
    KDTS_LR_CONSTANT = 0, /* default: adam.lr throughout (after any warm-up)   */
    KDTS_LR_COSINE = 1    /* after the warm-up, cosine decay from adam.lr to
                             adam.lr * lr_min over the remaining planned steps */
} kdts_lr_schedule;

typedef struct kdts_train_config {
    int epochs;           /* passes over the training windows [10]           */
    long long steps;      /* optimizer-step budget: > 0 replaces epochs by
                             ceil(steps / steps per epoch), and training
                             ends after `steps` steps (the last epoch cut
                             short), so a short series gets as many updates
                             as a long one [0 = epochs decide]               */
    long long min_steps;  /* with epochs deciding (steps 0): when epochs x
                             steps per epoch fall short of min_steps, epochs
                             and patience are raised by the same factor
                             (ceil(min_steps / planned steps)), so a short
                             series trains as long as a long one [0 = none] */
    int schedule;         /* kdts_lr_schedule [CONSTANT]                     */
    long long warmup_steps; /* linear learning-rate warm-up from lr/warmup to
                             lr over the first steps [0 = none]             */
    float lr_min;         /* COSINE: the final learning rate as a fraction of
                             adam.lr, in [0, 1] [0]                          */
    int batch;            /* windows per optimizer step [32]                */
    int keep_partial;     /* 0: each epoch ends at its last full batch (the
                             n % batch leftover windows - different ones each
                             epoch - wait for the next shuffle); 1: a last,
                             smaller batch takes them                        */
    kdts_adam_config adam;
    unsigned long long seed; /* shuffling and dropout                        */
    int patience;         /* early stopping on val_mse: stop after this many
                             epochs without improvement, 0 = never. With a
                             validation set the best weights are always kept
                             (restored at the end)                           */
    float alpha, beta;    /* distillation weights (used with soft targets)  */
    float temperature;    /* T of the dist-mode soft loss [1]               */
    float label_sigma;    /* dist mode hard-label smoothing in bins [1];
                             negative = one-hot                              */
    int alpha_warmup;     /* epochs over which alpha rises linearly from 0  */
    int hard_last_only;   /* hard loss on the last step only                */
    kdts_epoch_fn on_epoch;  /* after every epoch (may be NULL)             */
    kdts_epoch_fn on_batch;  /* after every optimizer step (may be NULL)    */
    kdts_grad_fn on_grad;    /* data-parallel gradient hook (may be NULL)   */
    kdts_sum_fn on_sum;      /* data-parallel validation: with shard_count > 1
                             each process validates its share of the
                             validation windows and on_sum adds the squared
                             errors (NULL: every process validates all)     */
    int shard_index, shard_count; /* data-parallel: this process trains rows
                             shard_index of shard_count equal shares of every
                             batch [0 of 1]; see kdts_trainer_init           */
    const float *soft_values; /* precomputed soft targets over the training
                             windows (n,T,h), e.g. from kdts_soft_targets,
                             used instead of teachers (kdts_train's teachers
                             must then be none); borrowed                    */
    const float *soft_probs;  /* and their last-step bin probabilities
                             (n,h,K) for a dist-mode soft loss (alpha > 0)   */
    int soft_last_only;   /* 1: soft_values hold the last step only (as
                             kdts_soft_targets says by its seq_from)         */
    int validate_start;   /* 1: validate the starting weights too, so the
                             best weights kept may be the initial ones
                             (best_epoch 0)                                   */
    /* Distillation options (issue 16), used with soft targets only; zero =
       off (training bit for bit as without them). The loss terms are the
       ones of kdts_loss_config (same names, see kdts_loss_eval).          */
    int targets;          /* series in the horizon values (the task's K;
                             kdts_task_fit fills it) [0 = 1]                */
    float horizon_weight; /* L_soft/L_seq weight exponent of the horizon
                             position: (j+1)^w, mean 1; 1 = linear ramp [0] */
    float step_weight;    /* L_seq weight exponent of the sequence step [0]  */
    float ms_weight;      /* point mode: multi-scale matching weight [0]    */
    int ms_scales;        /* scales 1 .. 2^ms_scales [0 = 3: 1, 2, 4, 8]     */
    float freq_weight;    /* point mode: DFT-magnitude KL weight [0]        */
    float freq_temperature; /* its softmax temperature [1]                   */
    int aux_steps;        /* 1: L_ms, L_freq on every step with teacher
                             values, 0: on the last step (the forecast) [0] */
    /* Teacher-labelled extra windows: inputs without a true label that the
       teachers label. extra_per_window of them per training window are
       drawn once (kdts_extra_windows, from seed) and labelled once with
       the real windows' soft targets; they join the shuffled pool as
       soft-only rows (hard loss weight 0 there; every row weighs the same
       in the batch mean), so an epoch has (1 + extra_per_window) * n rows.
       Each is a training window mixed up with another (extra_mixup), then
       scaled (extra_scale), then jittered (extra_jitter); at least one of
       the three must be set. Windows at other stride offsets are the task
       layer's (smaller stride). Needs soft targets (teachers).           */
    int extra_per_window; /* extra windows per training window [0 = none]   */
    float extra_jitter;   /* Gaussian noise of this sigma on every input [0] */
    float extra_scale;    /* the window times 1 + s*u, u uniform in [-1, 1],
                             s in [0, 1) [0]                                 */
    float extra_mixup;    /* (1-l) x + l x' with a random training window x',
                             l uniform in [0, extra_mixup], in [0, 1] [0]    */
    const float *extra_soft_values; /* with soft_values: the extra windows'
                             soft targets (n*extra_per_window,T,h), e.g.
                             kdts_soft_targets on kdts_extra_windows' inputs;
                             borrowed                                        */
    const float *extra_soft_probs;  /* and their probabilities (dist mode)  */
    int extra_refresh;    /* 1: new extra windows every epoch (epoch e's are
                             kdts_extra_windows' draw number e), labelled by
                             the teachers of kdts_trainer_teachers then (they
                             must outlive the trainer; their forward pass
                             allocates); 0: drawn and labelled once [0]     */
    /* Hidden-state hints (FitNets-style): the student's top hidden states
       h_s(t) (Hs wide: the head's input at step t, i.e. the top LSTM/GRU
       layer's output - after dropout while training - or the attention's
       last block output, after the final LayerNorm with final_norm) are
       mapped by a learned projection to the first teacher's h_t(t) (Ht
       wide, the same of the teacher, from its forward without dropout):
         total += hint_weight * L_hint,
         L_hint = mean over the rows b, the last hint_steps steps t and the
                  Ht units u of (P h_s(t) + p - h_t(t))_u^2
       (per element, so the scale does not grow with Ht; rows weigh as in
       the other terms, extra windows included). P (Ht x Hs) starts uniform
       in +-1/sqrt(Hs) (drawn from seed), p at the teacher states' mean;
       both are trained with the student by an Adam of the same settings
       and schedule (clipped on their own) and live in the trainer only:
       never in the model or its file. The teachers' states are computed
       once with the soft targets (kdts_hint_targets; n x hint_steps x Ht
       floats) or given (hint_values). Recurrent and attention students
       and teachers only (a linear model has no hidden state: KDTS_ERR_ARG);
       not with shard_count > 1.                                            */
    float hint_weight;    /* weight of L_hint [0 = off]                     */
    int hint_steps;       /* the last hint_steps steps of each window are
                             matched [0 = all T]                            */
    const float *hint_values; /* with soft_values: precomputed teacher states
                             (n,hint_steps,hint_width) of the training
                             windows (kdts_hint_targets); borrowed          */
    const float *extra_hint_values; /* and the extra windows' (ne,...)      */
    int hint_width;       /* Ht of hint_values                              */
    int whole_batch;      /* 1: every step runs forward, loss and backward
                             over the whole batch at once. By default an
                             attention model without hints or extra
                             windows (and without OpenMP) goes
                             through them one chunk of windows at a time,
                             which keeps each chunk's activations in the
                             cache: the same gradients, bit for bit, in
                             less time [0]                                 */
    void *user;           /* passed to the callbacks                        */
} kdts_train_config;

/* Fill the defaults of *cfg in place and validate it (KDTS_ERR_ARG names
   the bad field). */
KDTSDEF kdts_result kdts_train_config_check(kdts_train_config *cfg, kdts_error *err);

/* The inputs of the teacher-labelled extra windows of cfg (checked) for
   the training windows of `train`: x (n*extra_per_window,T,F), extra e of
   window w at row w*extra_per_window + e: the windows the trainer draws,
   so soft targets computed on them once (kdts_soft_targets) can be given
   as cfg.extra_soft_values. */
KDTSDEF kdts_result kdts_extra_windows(const kdts_train_config *cfg, const kdts_dataset *train, float *x,
                                       kdts_error *err);
/* Draw number `draw` of them (kdts_extra_windows is draw 0; with
   extra_refresh epoch e trains on draw e). */
KDTSDEF kdts_result kdts_extra_windows_draw(const kdts_train_config *cfg, const kdts_dataset *train, int draw,
                                            float *x, kdts_error *err);

/* The default training budget of the kdts tool and the experiment: at
   least KDTS_MIN_STEPS_DEFAULT optimizer steps (min_steps) unless the
   epochs are given. kdts_train_min_steps gives the min_steps of that rule:
   a given min_steps (>= 0) as it is, else 0 when the epochs are given, else
   the default. */
#define KDTS_MIN_STEPS_DEFAULT 2000
KDTSDEF long long kdts_train_min_steps(int epochs_given, long long min_steps_given);

/* The default budget and loss of a student (`kdts distill`; the
   experiment trains its raw and distilled students alike on this budget):
   Adam lr KDTS_STUDENT_LR, no early stop (patience 0: every planned epoch
   runs and the best validation weights are kept), at least
   KDTS_STUDENT_MIN_STEPS optimizer steps unless the epochs are given
   (kdts_student_min_steps: the rule of kdts_train_min_steps with this
   default), and the loss alpha = KDTS_STUDENT_ALPHA, beta =
   KDTS_STUDENT_BETA: the hard loss and the teacher's forecast on every
   window step. A small model trained on the teacher's budget (lr 1e-3,
   patience 3, 2000 steps) stops before it has learnt the teacher's
   forecasts; with the soft loss alone (alpha 1) it loses the hard loss on
   every step. The numbers behind these values: README, Results. */
#define KDTS_STUDENT_LR 3e-3f
#define KDTS_STUDENT_MIN_STEPS 8000
#define KDTS_STUDENT_ALPHA 0.0f
#define KDTS_STUDENT_BETA 1.0f
KDTSDEF long long kdts_student_min_steps(int epochs_given, long long min_steps_given);

/* Summary of a training run. */
typedef struct kdts_train_report {
    int epochs_run, best_epoch;
    int epochs, patience; /* as planned: the config's, raised by min_steps or
                             set by steps                                     */
    long long steps;      /* optimizer steps taken                          */
    double final_loss, best_val_mse, seconds; /* best_val_mse -1 = no
                             validation set; seconds: wall clock            */
    int bad_epoch, bad_batch; /* where a non-finite loss stopped training   */
    int stopped;          /* 1: a callback asked to stop                    */
} kdts_train_report;

/* Training in parts. kdts_train runs them in this order; a caller may run
   them itself (its own loop, progress, stopping rule):
       kdts_trainer tr;
       kdts_trainer_init(&tr, &model, &cfg, &train, &val, err);
       kdts_trainer_teachers(&tr, teachers, n, err);    // optional
       while (!kdts_trainer_done(&tr)) {
           kdts_trainer_epoch(&tr, &info, err);          // one pass
           kdts_trainer_validate(&tr, &info, err);       // + early stopping
       }
       kdts_trainer_finish(&tr, &report);                // best weights back
       kdts_trainer_free(&tr);
   Everything is allocated by kdts_trainer_init; nothing in the epochs
   (but the teachers' passes of cfg.extra_refresh).
   The trainer keeps pointers to the model, the datasets and any borrowed
   soft targets: they must outlive it. The fields are for reading. */
typedef struct kdts_trainer {
    kdts_net *m;
    kdts_train_config cfg;   /* defaults filled in                         */
    const kdts_dataset *train, *val;
    int n, T, F, h, K;       /* training windows, steps, features, horizon,
                                bins                                       */
    int S;                   /* output steps the model forecasts (T, or 1) */
    int seq_from;            /* first step with teacher values (0, or T-1
                                for teachers that forecast the window only) */
    int batch;               /* rows per batch (cfg.batch, at most n)      */
    int batches;             /* optimizer steps per epoch                  */
    int epoch;               /* epochs completed                           */
    long long step;          /* optimizer steps taken                      */
    long long planned;       /* optimizer steps planned (epochs x batches,
                                or cfg.steps)                              */
    float lr0;               /* the base learning rate (adam.lr)           */
    int use_probs;           /* dist-mode soft loss on teacher probabilities */
    const float *tv, *tp;    /* soft targets (n,T,h) and (n,h,K), or NULL  */
    double best_val, last_val; /* -1 = none yet                            */
    int best_epoch, since_best, stop;
    double alpha;            /* alpha of the current epoch                 */
    double t0;               /* wall clock at init                         */
    kdts_train_report rep;
    kdts_rng rng;
    kdts_net_ws ws, ws_eval;
    kdts_adam adam;
    int *idx;
    float *bx, *by, *btv, *btp, *dout, *out, *eout, *best, *evalbuf, *prev;
    float *own_tv, *own_tp;  /* soft targets computed by kdts_trainer_teachers */
    int ne;                  /* extra windows (cfg.extra_per_window * n); pool
                                rows n .. n+ne-1 of idx are extra window 0 .. */
    float *ex;               /* their inputs (ne,T,F)                      */
    const float *etv, *etp;  /* their soft targets (ne,T,h), (ne,h,K)      */
    float *own_etv, *own_etp;
    const kdts_net *const *teachers; /* extra_refresh: the teachers (borrowed) */
    int nteachers;
    /* hidden-state hints (cfg.hint_weight > 0) */
    int hint_hs, hint_ht, hint_steps; /* student width Hs, teacher width Ht,
                                steps matched (the last hint_steps)        */
    const float *hv, *ehv;   /* teacher states (n,hint_steps,Ht) and the
                                extra windows' (ne,hint_steps,Ht)          */
    float *own_hv, *own_ehv;
    float *hint_proj;        /* P (Ht x Hs) then p (Ht): trained, not saved */
    float *hint_grad, *hint_prev; /* its gradient and the weights before a step */
    kdts_adam hint_adam;
    float *bhv, *bhs, *bdtop; /* batch: teacher states, student states
                                (rows,T,Hs), dL/d(head input) (rows,T,Hs)  */
    float *hint_scr;         /* the hint term's scratch                    */
} kdts_trainer;

/* Set up training of m on `train` (val may be NULL): checks the settings
   and shapes, allocates every buffer, seeds the shuffle from cfg->seed.
   With shard_count > 1 each batch's rows are split into shard_count
   shares and this process runs share shard_index; its gradient is scaled
   by share/batch, so the sum over processes (cfg.on_grad) is the gradient
   of the whole batch's mean loss. Every process must use the same seed
   and data (same weights, same shuffle). On failure nothing is kept
   (kdts_trainer_free is still safe). */
KDTSDEF kdts_result kdts_trainer_init(kdts_trainer *t, kdts_net *m, const kdts_train_config *cfg,
                                      const kdts_dataset *train, const kdts_dataset *val,
                                      kdts_error *err);

/* Soft targets from frozen teachers, computed once here (the teachers'
   per-step forecasts over the training windows, averaged over the
   teachers; in dist mode with alpha > 0 also their last-step bin
   probabilities at cfg.temperature). Teachers take the student's inputs
   and horizon; a dist-mode soft loss needs dist-mode teachers with the
   student's bins (point teachers give L_seq only). */
KDTSDEF kdts_result kdts_trainer_teachers(kdts_trainer *t, const kdts_net *const *teachers, int nteachers,
                                          kdts_error *err);

/* Soft targets computed elsewhere (e.g. once with kdts_soft_targets and
   shared by several students): tvals (n,T,h) per-step teacher forecasts,
   tprobs (n,h,K) last-step probabilities (dist mode with alpha > 0, else
   NULL). Borrowed: they must outlive the trainer. */
KDTSDEF kdts_result kdts_trainer_soft_targets(kdts_trainer *t, const float *tvals, const float *tprobs,
                                              kdts_error *err);

/* The teachers' averaged soft targets over n windows x (n,T,F): tvals
   (n,T,h) always, tprobs (n,h,K) when not NULL (dist-mode teachers with
   K bins, at `temperature`). Teachers of any kind; when one forecasts the
   window only (the linear kind), the soft targets are the last step's
   (earlier steps hold 0) and *seq_from (may be NULL) is T-1, else 0: the
   sequence loss then runs on the last step only. */
KDTSDEF kdts_result kdts_soft_targets(const kdts_net *const *teachers, int nteachers, const float *x, int n,
                                      int T, float temperature, float *tvals, float *tprobs, int *seq_from,
                                      kdts_error *err);

/* Width of a model's top hidden state for hints (kdts_train_config
   .hint_weight): hidden units (LSTM, GRU) or d_model (attention); 0 for
   the linear kind, which has none. */
KDTSDEF int kdts_net_hint_width(const kdts_net *m);

/* A teacher's top hidden states over n windows x (n,T,F) for hints: hv
   (n,steps,Ht) the head's input at the last `steps` steps (0 = all T) of
   a forward without dropout, Ht = kdts_net_hint_width(teacher). Allocates
   a workspace. KDTS_ERR_ARG for a linear teacher. */
KDTSDEF kdts_result kdts_hint_targets(const kdts_net *teacher, const float *x, int n, int T, int steps, float *hv,
                                      kdts_error *err);

/* The hint term alone on one batch (what the trainer adds; for checks and
   own loops): a training forward of the student over x (B,T,F) (rng for
   dropout, may be NULL without), then *loss = L_hint of
   kdts_train_config with hv (B,steps,Ht) the teacher states and proj the
   projection: P (Ht x Hs, row-major) then p (Ht). When dproj is not NULL
   the gradient of weight * L_hint is added into student->grads (a backward
   with only the hint's dL/dh; zero them first) and written into dproj
   (Ht*Hs + Ht). Allocates its scratch. */
KDTSDEF kdts_result kdts_hint_loss(kdts_net *student, kdts_net_ws *ws, const float *x, int B, int T, int steps,
                                   const float *hv, int Ht, const float *proj, float weight, kdts_rng *rng,
                                   double *loss, float *dproj, kdts_error *err);

/* One pass over the shuffled training windows (cfg.on_batch after every
   step). info (may be NULL) receives the epoch's mean losses. On a
   non-finite loss, gradient or weight update training stops with
   KDTS_ERR_NONFINITE (err names the epoch and batch) and the model keeps
   the weights before that batch. */
KDTSDEF kdts_result kdts_trainer_epoch(kdts_trainer *t, kdts_epoch_info *info, kdts_error *err);

/* Validation MSE of the current weights (forecast, last step), the best
   weights kept, and the early-stopping count; info->val_mse and
   info->best_* are filled. Without a validation set it only records the
   epoch. A validation MSE that is not finite or does not fit a float is
   KDTS_ERR_NONFINITE. */
KDTSDEF kdts_result kdts_trainer_validate(kdts_trainer *t, kdts_epoch_info *info, kdts_error *err);

/* Non-zero once training should end: all epochs run, patience exhausted,
   or a callback asked to stop. */
KDTSDEF int kdts_trainer_done(const kdts_trainer *t);

/* Restore the best validated weights (when there is a validation set and
   a validation ran) and fill *rep (may be NULL). */
KDTSDEF void kdts_trainer_finish(kdts_trainer *t, kdts_train_report *rep);

/* Release the trainer's buffers (the model is not touched). */
KDTSDEF void kdts_trainer_free(kdts_trainer *t);

/* Train m on `train` for cfg.epochs epochs of shuffled mini-batches with
   Adam: the parts above in order, cfg.on_epoch after each epoch. With
   nteachers > 0 the frozen teachers' outputs (averaged) give the soft
   targets (or cfg.soft_values does, computed once elsewhere) and the loss
   is alpha*L_soft + (1-alpha)*L_hard + beta*L_seq; without them it is
   L_hard. val may be NULL. When a callback stops
   training in the middle of an epoch, the current weights are validated
   first, so the best weights so far are kept. On a non-finite loss or
   gradient training stops with KDTS_ERR_NONFINITE, err names the epoch
   and batch, and m keeps the last good weights (the best validated ones
   when there are some). rep may be NULL. */
KDTSDEF kdts_result kdts_train(kdts_lstm *m, const kdts_train_config *cfg,
                               const kdts_dataset *train, const kdts_dataset *val,
                               const kdts_lstm *const *teachers, int nteachers,
                               kdts_train_report *rep, kdts_error *err);

/* The same for a model of any kind, with teachers of any kind. */
KDTSDEF kdts_result kdts_net_train(kdts_net *m, const kdts_train_config *cfg, const kdts_dataset *train,
                                   const kdts_dataset *val, const kdts_net *const *teachers, int nteachers,
                                   kdts_train_report *rep, kdts_error *err);

/* Forecasts for n windows x (n,T,F): forecast (n,h) from the last step
   (expected value in dist mode). Allocates its own workspace. */
KDTSDEF kdts_result kdts_predict(const kdts_lstm *m, const float *x, int n, int T,
                                 float *forecast, kdts_error *err);

/* Per-step outputs for n windows: values (n,T,h) (expected values in dist
   mode) and, when probs is not NULL in dist mode, the last step's
   probabilities at `temperature` (n,h,K). */
KDTSDEF kdts_result kdts_predict_steps(const kdts_lstm *m, const float *x, int n, int T,
                                       float *values, float *probs, float temperature,
                                       kdts_error *err);

/* Mean squared error of the forecasts of m on d (last step, all h values). */
KDTSDEF kdts_result kdts_eval_mse(const kdts_lstm *m, const kdts_dataset *d, double *mse,
                                  double *mae, kdts_error *err);

/* The same three for a model of any kind. kdts_net_predict_steps writes
   values (n,S,h), S = kdts_net_steps (1 for the linear kind). */
KDTSDEF kdts_result kdts_net_predict(const kdts_net *m, const float *x, int n, int T, float *forecast,
                                     kdts_error *err);
KDTSDEF kdts_result kdts_net_predict_steps(const kdts_net *m, const float *x, int n, int T, float *values,
                                           float *probs, float temperature, kdts_error *err);
KDTSDEF kdts_result kdts_net_eval_mse(const kdts_net *m, const kdts_dataset *d, double *mse, double *mae,
                                      kdts_error *err);

/* ======================================================================== */
/* >>data : CSV reader, scalers, sliding windows, chronological splits      */
/* ======================================================================== */

/* Most columns a table may keep and a scaler may hold (numeric columns).
   Global option: define it identically everywhere kdts.h is included. */
#ifndef KDTS_MAX_COLUMNS
#define KDTS_MAX_COLUMNS 64
#endif

/* Longest field the CSV reader keeps (a header name, a number, a text
   value) and longest header line, in bytes: beyond them the input is
   refused (KDTS_ERR_PARSE), so memory stays bounded on input that is not
   CSV. Global options like KDTS_MAX_COLUMNS. */
#ifndef KDTS_CSV_MAX_FIELD
#define KDTS_CSV_MAX_FIELD (1L << 24)
#endif
#ifndef KDTS_CSV_MAX_HEADER
#define KDTS_CSV_MAX_HEADER (1L << 24)
#endif

/* ---- CSV ---------------------------------------------------------------- */

/* What to do with missing values (empty field, NA, NaN, null - any case).
   Missing values are always counted per column (kdts_table.missing). */
typedef enum kdts_missing_policy {
    KDTS_MISSING_ERROR = 0,       /* default: fail with KDTS_ERR_MISSING at the first one */
    KDTS_MISSING_INTERPOLATE = 1, /* linear interpolation between the neighbouring valid rows */
    KDTS_MISSING_FFILL = 2        /* forward fill: repeat the last valid value */
    /* For both filling policies, missing values before the first valid value
       of a column are back-filled with that first valid value (and, for
       INTERPOLATE, trailing ones are forward-filled with the last valid
       value). A column with no valid value at all gives KDTS_ERR_MISSING. */
} kdts_missing_policy;

/* CSV reader options. A zero-initialized struct is valid and means:
   detect the delimiter, keep every numeric column, error on missing values,
   ignore text columns.

   Column choice. `columns` (names, exact match; header names are trimmed of
   surrounding spaces) and `column_indices` (0-based field numbers) may be
   given together; the table keeps them in that order (names first). Asking
   for the same column twice is KDTS_ERR_ARG. With neither, a column is kept
   as numeric when its field in the FIRST data row is a number or a missing
   value marker; every other column (dates, text) is ignored, never parsed. */
typedef struct kdts_csv_config {
    char delimiter;              /* ',', ';' or '\t'; 0 = detect from the header line
                                    (the most frequent of the three outside quotes;
                                    ties prefer ',', then ';'; none found: ',')       */
    const char *const *columns;  /* [n_columns] column names to keep, or NULL        */
    int n_columns;
    const int *column_indices;   /* [n_column_indices] 0-based columns, or NULL       */
    int n_column_indices;
    int missing;                 /* kdts_missing_policy                               */
    int keep_text;               /* nonzero: carry every column NOT kept as numeric
                                    as text (see kdts_table_text)                     */
} kdts_csv_config;

/* A parsed CSV file. Numeric columns are column-major: col[c] points to
   `rows` contiguous floats. All memory belongs to the table and is released
   by kdts_table_free().
   A table may also be filled by hand as a view on caller arrays (set rows,
   cols and col, leave the rest zero) to use the scaler and window functions
   on data that did not come from a CSV file; never kdts_table_free() it. */
typedef struct kdts_table {
    long rows;             /* data rows (header and blank lines excluded)          */
    int cols;              /* numeric columns kept                                 */
    float **col;           /* [cols] -> (rows) values, missing values already filled */
    char **name;           /* [cols] column names (NUL-terminated)                 */
    long *missing;         /* [cols] missing values found before filling           */
    int *file_column;      /* [cols] 0-based field number in the file              */
    int text_cols;         /* text columns carried (cfg.keep_text)                 */
    char **text_name;      /* [text_cols]                                          */
    char **text_blob;      /* [text_cols] all values of a column, NUL-separated    */
    size_t **text_offset;  /* [text_cols] -> (rows) offsets into text_blob         */
    int file_columns;      /* fields in the header line                            */
    char delimiter;        /* delimiter used                                       */
} kdts_table;

/* Byte source for kdts_csv_read_cb: copy up to `cap` bytes into `buf` and
   return how many; return 0 at the end, (size_t)-1 on a read error. */
typedef size_t (*kdts_read_fn)(void *user, void *buf, size_t cap);

/* Defaults (all zero) as a value, for C++ callers. */
KDTSDEF kdts_csv_config kdts_csv_config_default(void);

/* Parse CSV text held in memory.
   out:  receives the table on success (left untouched on failure).
   data: `len` bytes of CSV text (no NUL needed; UTF-8 BOM skipped).
   cfg:  options, NULL = defaults. err: optional detail (NULL allowed).
   Accepts RFC 4180 quoting (delimiters, quotes, newlines inside quotes,
   "" for a quote), rows ended by \n, \r\n or a bare \r, no final newline,
   and skips blank lines (so in a one-column file a missing value must be
   written NA). Numbers: optional sign, digits with optional '.', optional
   exponent, surrounding spaces; locale-independent, correctly rounded for
   values of up to 15 significant digits and decimal exponents within +-22
   (nearly always for the rest).
   Errors carry err->line and err->column, both 1-based; the column is the
   field number (1 = first field); the line is where the field starts.
   Returns KDTS_OK, KDTS_ERR_PARSE (text in a numeric column, short or long
   row, unterminated quote), KDTS_ERR_NONFINITE (inf, -inf, a number out of
   float range), KDTS_ERR_MISSING (policy ERROR, or a column with no value),
   KDTS_ERR_DATA (empty file, header without data rows), KDTS_ERR_NOTFOUND
   (unknown column name or index; the message lists the columns),
   KDTS_ERR_ARG, KDTS_ERR_NOMEM.
   Memory: the kept columns plus the longest kept field; line length does
   not matter. Refused on the way, so that input which is not CSV costs
   bounded memory: a UTF-16 byte-order mark ("convert to UTF-8"), a NUL
   byte in the header line, a header line over KDTS_CSV_MAX_HEADER bytes,
   a kept field over KDTS_CSV_MAX_FIELD bytes, a row with more fields than
   the header (found at the first extra field, the first data row
   included). A name in cfg->columns that appears more than once in the
   header is KDTS_ERR_ARG (choose it by index). */
KDTSDEF kdts_result kdts_csv_read_mem(kdts_table *out, const void *data, size_t len,
                                      const kdts_csv_config *cfg, kdts_error *err);

/* Parse CSV text pulled from a callback in chunks (works without stdio).
   Same rules and results as kdts_csv_read_mem, plus KDTS_ERR_IO when `read`
   returns (size_t)-1. */
KDTSDEF kdts_result kdts_csv_read_cb(kdts_table *out, kdts_read_fn read, void *user,
                                     const kdts_csv_config *cfg, kdts_error *err);

#ifndef KDTS_NO_STDIO
/* Parse a CSV file, streamed in chunks (the file is never held whole).
   Same rules as kdts_csv_read_mem; messages start with the file name.
   Adds KDTS_ERR_IO (cannot open or read; a folder is named as such). */
KDTSDEF kdts_result kdts_csv_read_file(kdts_table *out, const char *path,
                                       const kdts_csv_config *cfg, kdts_error *err);
#endif

/* Release everything a table owns and zero it. NULL and zeroed tables are fine. */
KDTSDEF void kdts_table_free(kdts_table *t);

/* Index of the numeric column called `name` in t (exact match), or -1. */
KDTSDEF int kdts_table_find(const kdts_table *t, const char *name);

/* Text of carried text column k (0 <= k < text_cols) at row r, NUL-terminated,
   owned by the table. NULL when out of range. */
KDTSDEF const char *kdts_table_text(const kdts_table *t, int k, long r);

/* ---- Scalers ------------------------------------------------------------ */

typedef enum kdts_scaler_kind {
    KDTS_SCALER_MINMAX = 0, /* default: (x - min) / (max - min) -> [0, 1]   */
    KDTS_SCALER_ZSCORE = 1, /* (x - mean) / std (population std)          */
    KDTS_SCALER_NONE = 2    /* identity (clipping may still apply)          */
} kdts_scaler_kind;

typedef enum kdts_clip_kind {
    KDTS_CLIP_NONE = 0,     /* default: no outlier clipping                          */
    KDTS_CLIP_STD = 1,      /* clip to mean +- k*std of the training rows (k=clip_k) */
    KDTS_CLIP_QUANTILE = 2  /* clip to the q and 1-q quantiles of the training rows
                               (linear interpolation between order statistics)      */
} kdts_clip_kind;

/* Scaler options; zero-initialized = min-max, no clipping. */
typedef struct kdts_scaler_config {
    int kind;      /* kdts_scaler_kind */
    int clip;      /* kdts_clip_kind   */
    float clip_k;  /* KDTS_CLIP_STD: k, 0 = 4                         */
    float clip_q;  /* KDTS_CLIP_QUANTILE: q in (0, 0.5), 0 = 0.001    */
} kdts_scaler_config;

/* Per-column affine scaler with optional clipping. PLAIN DATA: no pointers,
   fixed size, so it can be copied and written to a model file as is.
   apply:  x' = (clamp(x, clip_lo, clip_hi) - offset) / scale
   invert: x  = x' * scale + offset   (clipping cannot be undone)
   A constant training column (range or std of 0) gets scale 1, so it maps
   to 0 and never produces NaN or Inf. Statistics are computed on the
   training values after clipping. Unused columns are the identity. */
typedef struct kdts_scaler {
    int cols;                          /* columns fitted (0..KDTS_MAX_COLUMNS) */
    int kind;                          /* kdts_scaler_kind of the last fit      */
    int clip;                          /* kdts_clip_kind of the last fit        */
    int reserved;
    float offset[KDTS_MAX_COLUMNS];
    float scale[KDTS_MAX_COLUMNS];
    float clip_lo[KDTS_MAX_COLUMNS];   /* -FLT_MAX when not clipping */
    float clip_hi[KDTS_MAX_COLUMNS];   /*  FLT_MAX when not clipping */
} kdts_scaler;

KDTSDEF kdts_scaler_config kdts_scaler_config_default(void);

/* Fit column c (0 <= c < KDTS_MAX_COLUMNS) of s on the n training values x
   (pass x + row_begin, row_end - row_begin). Columns below c not fitted yet
   become the identity; s->cols grows to c + 1. cfg NULL = defaults.
   Returns KDTS_OK, KDTS_ERR_ARG (c out of range, n < 1, bad clip_q),
   KDTS_ERR_NONFINITE (NaN/Inf among x; err->line = 1-based index in x),
   KDTS_ERR_NOMEM (quantile clipping sorts a copy). On failure s is untouched. */
KDTSDEF kdts_result kdts_scaler_fit_column(kdts_scaler *s, const kdts_scaler_config *cfg, int c,
                                           const float *x, long n, kdts_error *err);

/* Fit every numeric column of t on rows [row_begin, row_end) only (the
   training rows). Resets s first. Returns as kdts_scaler_fit_column, plus
   KDTS_ERR_ARG when t->cols > KDTS_MAX_COLUMNS or the range is bad. */
KDTSDEF kdts_result kdts_scaler_fit_table(kdts_scaler *s, const kdts_scaler_config *cfg,
                                          const kdts_table *t, long row_begin, long row_end,
                                          kdts_error *err);

/* In-place transform of n values of column c (clip, then scale), and back. */
KDTSDEF void kdts_scaler_apply_column(const kdts_scaler *s, int c, float *x, long n);
KDTSDEF void kdts_scaler_invert_column(const kdts_scaler *s, int c, float *x, long n);
/* Single values, e.g. a forecast of column c back in original units. */
KDTSDEF float kdts_scaler_apply_value(const kdts_scaler *s, int c, float x);
KDTSDEF float kdts_scaler_invert_value(const kdts_scaler *s, int c, float x);
/* Every numeric column of t (all rows), in place. Columns >= s->cols are left alone. */
KDTSDEF void kdts_scaler_apply_table(const kdts_scaler *s, kdts_table *t);
KDTSDEF void kdts_scaler_invert_table(const kdts_scaler *s, kdts_table *t);

/* ---- Windows and splits -------------------------------------------------- */

/* Per-window (instance) normalization, computed per column over the T input
   rows of each window and applied to that column's inputs and targets. */
typedef enum kdts_window_norm {
    KDTS_WNORM_NONE = 0,    /* default */
    KDTS_WNORM_LAST = 1,    /* v' = v - (last input value of the window); scale 1 */
    KDTS_WNORM_MEANSTD = 2  /* v' = (v - mean) / sqrt(var + eps) over the T inputs;
                               eps = norm_eps (0 = 1e-5), so a constant window has
                               scale sqrt(eps) and never divides by zero          */
} kdts_window_norm;

/* Window options. lookback is required; the rest defaults when zero. */
typedef struct kdts_window_config {
    int lookback;            /* T >= 1: input steps per window                      */
    int horizon;             /* h: values predicted after each step, 0 = 1          */
    int stride;              /* rows between window starts, 0 = 1                   */
    const int *features;     /* [n_features] table columns used as inputs; NULL = all */
    int n_features;
    const int *targets;      /* [n_targets] table columns to predict (may also be
                                features); NULL = the last table column             */
    int n_targets;
    int norm;                /* kdts_window_norm                                    */
    float norm_eps;          /* KDTS_WNORM_MEANSTD: 0 = 1e-5                         */
} kdts_window_config;

/* Windows cut from rows [row_begin, row_end) of a table. Layouts (row-major,
   last index fastest), with K = n_targets, H = horizon:
     x            (N, T, F)     x[n][t][f] = column features[f] at row start[n]+t
     y            (N, T, K*H)   y[n][t][k*H+j] = column targets[k] at row
                                start[n]+t+1+j: step t predicts the next H values,
                                the forecast of window n is y[n][T-1][:]
     start        (N)           first table row of each window
     norm_offset  (N, F+K)      per-window normalization (features, then targets);
     norm_scale   (N, F+K)      NULL with KDTS_WNORM_NONE. v = v' * scale + offset
   Every row a window reads (start .. start+T+H-1) lies inside the range, so a
   window never crosses a split boundary. */
typedef struct kdts_windows {
    long n;                  /* N */
    int T, F, K, H;
    float *x;
    float *y;
    long *start;
    float *norm_offset;
    float *norm_scale;
    void *owned;             /* memory to release with kdts_windows_free, or NULL */
} kdts_windows;

/* Row ranges [begin, end) of a chronological split. */
typedef struct kdts_range {
    long begin, end;
} kdts_range;

typedef struct kdts_split {
    kdts_range train, val, test;
} kdts_split;

KDTSDEF kdts_window_config kdts_window_config_default(void);

/* Number of windows of `lookback` + `horizon` rows, `stride` apart, that fit
   in [row_begin, row_end): 0 when the range is too short or arguments bad. */
KDTSDEF long kdts_window_count(long row_begin, long row_end, int lookback, int horizon, int stride);

/* Size query: *n_windows = N and *bytes = the buffer kdts_windows_init_in
   needs. Returns KDTS_OK, KDTS_ERR_ARG (bad config, column out of range),
   KDTS_ERR_DATA (no window fits), KDTS_ERR_NOMEM (size overflow). */
KDTSDEF kdts_result kdts_windows_size(const kdts_table *t, long row_begin, long row_end,
                                      const kdts_window_config *cfg, long *n_windows,
                                      size_t *bytes, kdts_error *err);

/* Build windows in caller memory (`buf`, `bytes` from kdts_windows_size,
   aligned to 8 bytes; `w` points into it and owns nothing). Returns as
   kdts_windows_size, plus KDTS_ERR_ARG when buf is too small or misaligned
   and KDTS_ERR_NONFINITE when a value read is NaN/Inf (err->line = row+1). */
KDTSDEF kdts_result kdts_windows_init_in(kdts_windows *w, void *buf, size_t bytes,
                                         const kdts_table *t, long row_begin, long row_end,
                                         const kdts_window_config *cfg, kdts_error *err);

/* Build windows in memory from KDTS_MALLOC; release with kdts_windows_free.
   On failure *w is left untouched. */
KDTSDEF kdts_result kdts_windows_make(kdts_windows *w, const kdts_table *t, long row_begin,
                                      long row_end, const kdts_window_config *cfg,
                                      kdts_error *err);

/* Release what kdts_windows_make allocated and zero w (no-op for init_in). */
KDTSDEF void kdts_windows_free(kdts_windows *w);

/* Undo per-window normalization of target k for window n on `count` values
   v (e.g. the forecast y[n][T-1][k*H..k*H+H)), in place. No-op without it. */
KDTSDEF void kdts_window_invert(const kdts_windows *w, long n, int k, float *v, long count);

/* Normalize one input window x (T, F) in place (inference time), writing the
   per-column offset[F] and scale[F]; invert a forecast of feature column f
   with v * scale[f] + offset[f]. mode KDTS_WNORM_NONE writes 0 and 1. */
KDTSDEF void kdts_window_normalize(float *x, int T, int F, int mode, float eps,
                                   float *offset, float *scale);

/* idx[i] = i for i < n, then a Fisher-Yates shuffle seeded by `seed`
   (kdts_rng): the same seed gives the same order everywhere. */
KDTSDEF void kdts_window_shuffle(int *idx, int n, unsigned long long seed);

/* Chronological split by ratios: train = floor(rows*train_ratio) rows first,
   then val = floor(rows*val_ratio), then test = floor(rows*test_ratio), or
   every remaining row when test_ratio <= 0. Rows after test are unused.
   Returns KDTS_OK or KDTS_ERR_ARG (negative ratios, sum > 1, empty train). */
KDTSDEF kdts_result kdts_split_ratio(kdts_split *s, long rows, double train_ratio,
                                     double val_ratio, double test_ratio, kdts_error *err);

/* Chronological split by row counts (the ETT convention is 8640/2880/2880,
   later rows unused). n_test < 0 = every remaining row.
   Returns KDTS_OK or KDTS_ERR_ARG (counts negative, n_train 0, or more
   rows asked than exist). */
KDTSDEF kdts_result kdts_split_rows(kdts_split *s, long rows, long n_train, long n_val,
                                    long n_test, kdts_error *err);

struct kdts_model;      /* >>model */
struct kdts_model_meta; /* >>model */

/* ======================================================================== */
/* >>task : one forecasting job: data, split, scaler, windows, fit, scores  */
/* ======================================================================== */

/* The task layer turns a CSV file (or bytes, or a table) into everything a
   forecasting job needs, by one set of rules: the kept columns, the
   chronological split, a scaler fit on the training rows, the windows and
   datasets of the three splits, the bin range of distribution mode, the
   timestamps. It trains a network on them (kdts_task_fit), scores
   forecasts with the baselines (kdts_task_forecast, kdts_task_baseline,
   kdts_task_score) and packs a trained network with every data setting
   into a kdts_model (kdts_task_model). A model records the settings, so
   kdts_task_open_model rebuilds the same data from the model and a CSV
   file alone.

       kdts_task task;
       kdts_task_config tc = {0};
       const char *target = "OT";
       tc.targets = &target; tc.n_targets = 1;      // the rest: defaults
       kdts_task_open(&task, &tc, "data/ETTh1.csv", &err);
       kdts_task_net_config(&task, &netcfg);          // input, horizon
       ...kdts_lstm_init, kdts_task_fit, kdts_task_model...
       kdts_task_free(&task);                                            */

/* How the rows are split into train / validation / test, in time order. */
typedef enum kdts_split_rule {
    KDTS_SPLIT_AUTO = 0,  /* ETT's 8640/2880/2880 rows (12/4/4 months of hourly
                             data) when there are >= 14400 rows, else the
                             ratios 0.6/0.2/0.2                               */
    KDTS_SPLIT_RATIO = 1, /* split_sizes are fractions of the rows           */
    KDTS_SPLIT_ROWS = 2   /* split_sizes are row counts; test < 0 = the rest */
} kdts_split_rule;

/* Scaling of every kept column, fit on the training rows only. */
typedef enum kdts_scaling {
    KDTS_SCALING_ZSCORE = 0, /* default: (x - mean) / std                    */
    KDTS_SCALING_MINMAX = 1, /* (x - min) / (max - min)                      */
    KDTS_SCALING_NONE = 2
} kdts_scaling;

/* Per-window normalization of the task's windows (kdts_window_norm). */
typedef enum kdts_relative {
    KDTS_RELATIVE_LAST = 0,    /* default: relative to the window's last value */
    KDTS_RELATIVE_MEANSTD = 1, /* the window's mean and spread                 */
    KDTS_RELATIVE_NONE = 2     /* the scaled values as they are                */
} kdts_relative;

/* Range covered by the bins of distribution mode (normalized units, from
   the training split's per-step targets). */
typedef enum kdts_bin_rule {
    KDTS_BINS_QUANTILE = 0, /* default: 1% .. 99% quantiles widened by 10% of
                               their distance (+1e-3); rarer values fall in
                               the edge bins. Min-max would spend most bins
                               on rare jumps.                               */
    KDTS_BINS_MINMAX = 1    /* min .. max widened by 5%                      */
} kdts_bin_rule;

/* The parts of a split. */
typedef enum kdts_part {
    KDTS_PART_TRAIN = 0,
    KDTS_PART_VAL = 1,
    KDTS_PART_TEST = 2
} kdts_part;

/* Baseline forecasters (kdts_task_baseline). */
typedef enum kdts_baseline {
    KDTS_BASELINE_PERSISTENCE = 0, /* every future value = the last observed */
    KDTS_BASELINE_SEASONAL = 1,    /* the value one season earlier (the period
                                      of kdts_task.season; rows before the
                                      window are read when the season is
                                      longer than the lookback)              */
    KDTS_BASELINE_NLINEAR = 2,     /* a linear map of the window (NLinear, see
                                      >>linear), ridge least squares on the
                                      training windows with lambda chosen on
                                      the validation windows                */
    KDTS_BASELINE_DLINEAR = 3      /* the same with DLinear's trend and
                                      remainder maps (moving average of 25)  */
} kdts_baseline;

/* The data settings of a task as plain data: what a model file records so
   that the same data can be rebuilt from a CSV file (kdts_task_open_model).
   `recorded` is 0 for models made without the task layer. */
typedef struct kdts_data_settings {
    int recorded;           /* 1 when the fields below are known            */
    int missing;            /* kdts_missing_policy used to read the file    */
    int split;              /* kdts_split_rule as given                     */
    int scaling;            /* kdts_scaling                                 */
    int relative;           /* kdts_relative                                */
    int stride;             /* rows between training windows                */
    int bins, bin_rule;     /* distribution mode: bins, kdts_bin_rule       */
    int season;             /* period of the seasonal baseline as resolved
                               (-1 = none)                                  */
    double split_sizes[3];  /* as given (KDTS_SPLIT_RATIO / _ROWS)          */
    long long max_rows;     /* rows read from the file (0 = all)            */
    long long rows;         /* rows the split was made of                   */
    long long train_begin, train_end, val_begin, val_end, test_begin, test_end;
    int scaler_clip;        /* kdts_clip_kind used                          */
    float clip_k, clip_q;
    char time_column[64];   /* name of the timestamp column ("" = none)     */
} kdts_data_settings;

/* A forecasting job's data side. Zero-initialized fields take the defaults
   in brackets, filled in by kdts_task_config_check (the one place that knows
   them). Pointers are read during kdts_task_open* only. */
typedef struct kdts_task_config {
    const char *const *targets;    /* [n_targets] names of the columns to
                                      forecast (exact header names)          */
    int n_targets;
    const int *target_columns;     /* [n_target_columns] or by 0-based field
                                      number (for names a flag cannot hold)  */
    int n_target_columns;
    const char *const *features;   /* [n_features] more input columns; the
                                      targets are always inputs too [none]   */
    int n_features;
    const int *feature_columns;    /* [n_feature_columns] more inputs by
                                      0-based field number                  */
    int n_feature_columns;
    const char *time_column;       /* timestamp column: NULL = the first text
                                      column whose every value is a date
                                      (YYYY-MM-DD[ hh:mm[:ss]], T allowed,
                                      or YYYY-MM); "" = none                */
    int missing;                   /* kdts_missing_policy [ERROR]            */
    long max_rows;                 /* use the first rows only [0 = all]      */
    int split;                     /* kdts_split_rule [AUTO]                 */
    double split_sizes[3];         /* train, validation, test                */
    int scaling;                   /* kdts_scaling [ZSCORE]                  */
    int clip;                      /* kdts_clip_kind of the scaler [NONE]    */
    float clip_k, clip_q;          /* see kdts_scaler_config                 */
    int lookback;                  /* input steps per window [96]            */
    int horizon;                   /* steps forecast per target [24]         */
    int stride;                    /* rows between training windows [1];
                                      validation and test windows: every row */
    int relative;                  /* kdts_relative [LAST]                   */
    float norm_eps;                /* KDTS_RELATIVE_MEANSTD epsilon [1e-5]   */
    int bins;                      /* bins of distribution mode [32]         */
    int bin_rule;                  /* kdts_bin_rule [QUANTILE]               */
    int season;                    /* period of the seasonal baseline in rows
                                      [0 = detected from the training rows of
                                      the first target (kdts_season_detect,
                                      periods 2 .. 400); -1 = none]          */
    const char *source_name;       /* data name recorded in models [the file
                                      name without its folder]               */
    int allow_short;               /* 1: a part too short for one window is
                                      kept without windows instead of
                                      refused (forecasting from a few recent
                                      rows); 0: refused, with what would fit */
} kdts_task_config;

/* Timestamps of a task's rows (when the file has a date/time column). */
typedef struct kdts_times {
    long long *t;          /* (rows) seconds since 1970-01-01 00:00 (UTC, no
                              time zones), NULL when there is no column     */
    long long step;        /* seconds between rows (median when irregular)  */
    int months;            /* > 0: rows are this many calendar months apart  */
    int regular;           /* 1 when every row is one step after the last   */
    int precision;         /* what the column shows: 0 date, 1 minutes,
                              2 seconds, 3 year-month                       */
    long first_bad;        /* first row (0-based) whose time does not come
                              after the previous row's, -1 = none           */
    long gaps;             /* rows more than one step after the previous   */
} kdts_times;

/* Most warnings a task keeps (kdts_task.warnings). */
#define KDTS_TASK_MAX_WARNINGS 8

/* A task: owns its table, scaled columns, windows and timestamps. The
   fields are for reading; free with kdts_task_free. */
typedef struct kdts_task {
    kdts_task_config cfg;         /* defaults filled in (pointers cleared)  */
    kdts_data_settings settings;  /* what a model records                   */
    kdts_table table;             /* kept columns in input order, raw values
                                     (missing values filled), all rows      */
    long rows;                    /* rows used (cfg.max_rows)               */
    int F, K;                     /* inputs, targets                        */
    int target[KDTS_MAX_COLUMNS]; /* input index of target k                */
    kdts_split split;
    kdts_scaler scaler;           /* fit on the training rows               */
    float *scaled[KDTS_MAX_COLUMNS]; /* (rows) scaled input columns         */
    kdts_windows win[3];          /* windows of each part (n 0 = none)      */
    kdts_dataset data[3];         /* the same as kdts_dataset views         */
    float bin_lo, bin_hi;         /* bin range for distribution mode        */
    int season;                   /* seasonal baseline period (0 = none)    */
    float season_strength;        /* autocorrelation at a detected period   */
    kdts_times times;
    char source[128];             /* data name                              */
    int split_differs;            /* kdts_task_open_model: the file has
                                     another number of rows than the model's
                                     (settings.rows): the split was
                                     recomputed on this file's rows          */
    int nwarn;
    char warnings[KDTS_TASK_MAX_WARNINGS][256]; /* things a user should know
                                     (outliers in the training rows,
                                     irregular or backward timestamps, a
                                     file that differs from the model's)    */
} kdts_task;

/* Error measures of forecasts on one part (kdts_task_score). */
typedef struct kdts_scores {
    long windows;          /* windows scored                                */
    int targets, horizon;
    double mse, mae;       /* normalized units: the training split's scaled
                              target (z-score units by default)             */
    double mse_orig, mae_orig, rmse_orig; /* original units                 */
    double mape;           /* original units, % over |y| > 1e-8 (-1: none)  */
    double r2;             /* 1 - SSE/SST, original units                   */
    double coverage;       /* share of true values inside [low, high]
                              (-1 without intervals)                        */
    double pinball;        /* mean pinball loss of low and high at their
                              quantiles, normalized units (-1 without)      */
} kdts_scores;

/* Fill the defaults of *cfg and validate it (KDTS_ERR_ARG names the field). */
KDTSDEF kdts_result kdts_task_config_check(kdts_task_config *cfg, kdts_error *err);

/* Parse a split rule as people write it: "auto", three ratios
   "0.6,0.2,0.2", three row counts "8640,2880,2880" (whole numbers: rows;
   else ratios), with an optional "ratio:" or "rows:" prefix to say which.
   Sets cfg->split and cfg->split_sizes. KDTS_ERR_ARG on anything else. */
KDTSDEF kdts_result kdts_split_parse(kdts_task_config *cfg, const char *text, kdts_error *err);

/* Build a task from bytes of CSV text (name: for messages and the
   recorded source). Reads the columns, splits, fits the scaler on the
   training rows, makes the windows of the three parts, the bin range and
   the timestamps. Refuses (KDTS_ERR_DATA, with what would fit) a
   validation or test part that has rows but too few for one window; a
   part of 0 rows simply has no windows. Returns the CSV reader's errors
   and KDTS_ERR_ARG / _NOTFOUND / _DATA / _NOMEM. *task is zeroed on
   failure (kdts_task_free is safe). */
KDTSDEF kdts_result kdts_task_open_mem(kdts_task *task, const kdts_task_config *cfg, const void *data,
                                       size_t len, const char *name, kdts_error *err);

/* The same from a table the caller read (copied; the caller keeps it). */
KDTSDEF kdts_result kdts_task_open_table(kdts_task *task, const kdts_task_config *cfg, const kdts_table *t,
                                         const char *name, kdts_error *err);

#ifndef KDTS_NO_STDIO
/* The same from a CSV file (streamed). */
KDTSDEF kdts_result kdts_task_open(kdts_task *task, const kdts_task_config *cfg, const char *path,
                                   kdts_error *err);

/* The data of a trained model from a CSV file: the model's columns (by
   name), its scaler (not refit), lookback, horizon, per-window
   normalization and recorded settings (missing values, split, stride,
   bins, season). `over` (may be NULL) adds what a model does not fix:
   allow_short, season (when > 0) and time_column. A file with another
   number of rows than the model was trained on sets task->split_differs
   (the split is recomputed on its rows); a column the file lacks is
   KDTS_ERR_NOTFOUND. */
KDTSDEF kdts_result kdts_task_open_model(kdts_task *task, const struct kdts_model *m, const char *path,
                                         const kdts_task_config *over, kdts_error *err);
#endif

/* Release everything a task owns and zero it. */
KDTSDEF void kdts_task_free(kdts_task *task);

/* Copy the task's shapes into a network configuration of any kind: input
   (F), horizon (K*horizon), lookback (the linear kind and the skip map),
   max_steps of an attention model (at least the lookback), and, when
   c->mode is KDTS_MODE_DIST, bins (if 0) and the bin range. The size
   fields (hidden, layers, d_model, ...) are the caller's. */
KDTSDEF void kdts_task_net_config(const kdts_task *task, kdts_net_config *c);

/* Train (or distill, with teachers of any kind) net on the task's training
   windows, validating on its validation windows when there are any
   (kdts_net_train). With net->cfg.skip the skip map starts at the
   closed-form NLinear fit (kdts_task_fit_linear), the network's head at
   zero, and the starting weights are validated too: the model kept is
   never worse on validation than its linear part. A linear-kind net in
   point mode likewise starts at the closed-form fit of its own
   configuration (NLinear or DLinear), validated, and Adam refines it. */
KDTSDEF kdts_result kdts_task_fit(const kdts_task *task, kdts_net *net, const kdts_train_config *cfg,
                                  const kdts_net *const *teachers, int nteachers, kdts_train_report *rep,
                                  kdts_error *err);

/* Forecasts of net for every window of a part, in original units:
   fc (n, K*horizon) target-major; in distribution mode also the central
   interval with `coverage` into lo, hi (n, K*horizon) when not NULL. */
KDTSDEF kdts_result kdts_task_forecast(const kdts_task *task, kdts_part part, const kdts_net *net, float *fc,
                                       float *lo, float *hi, float coverage, kdts_error *err);

/* The same through the deployment path: a kdts_model run by kdts_infer on
   the raw windows. */
KDTSDEF kdts_result kdts_task_forecast_model(const kdts_task *task, kdts_part part,
                                             const struct kdts_model *m, float *fc, float *lo, float *hi,
                                             float coverage, kdts_error *err);

/* The task's closed-form linear model: NLinear or DLinear (point mode, on
   the task's windows; the last value subtracted inside the model when the
   windows are not relative) fit by ridge least squares on the training
   windows, lambda chosen on the validation windows (the default grid of
   kdts_linear_fit_select; 1e-3 without validation windows). m is
   initialized here: free it with kdts_linear_free. *lambda (may be NULL)
   receives the chosen lambda. */
KDTSDEF kdts_result kdts_task_fit_linear(const kdts_task *task, kdts_linear_kind kind, kdts_linear *m,
                                         double *lambda, kdts_error *err);

/* A baseline's forecasts for every window of a part, original units
   (n, K*horizon). KDTS_ERR_ARG for the seasonal baseline without a season.
   The linear baselines are fit here (kdts_task_fit_linear) on every call. */
KDTSDEF kdts_result kdts_task_baseline(const kdts_task *task, kdts_part part, kdts_baseline kind, float *fc,
                                       kdts_error *err);

/* Score forecasts fc (n, K*horizon) in original units of every window of a
   part. lo/hi (may be NULL) are intervals of central coverage `coverage`.
   step_mse (horizon, may be NULL) receives the normalized MSE of each step
   ahead (1..horizon), averaged over targets. */
KDTSDEF kdts_result kdts_task_score(const kdts_task *task, kdts_part part, const float *fc, const float *lo,
                                    const float *hi, float coverage, kdts_scores *s, double *step_mse,
                                    kdts_error *err);

/* A deployable model of net with every data setting of the task (names,
   targets, scaler, lookback, horizon, normalization, split, ...). meta may
   be NULL; meta->source is filled from the task when empty. */
KDTSDEF kdts_result kdts_task_model(const kdts_task *task, const kdts_net *net,
                                    const struct kdts_model_meta *meta, struct kdts_model *out,
                                    kdts_error *err);

/* The raw input window (T, F) whose last row is `end` (0-based), in input
   order: what kdts_infer_window takes. KDTS_ERR_ARG when it does not fit. */
KDTSDEF kdts_result kdts_task_input(const kdts_task *task, long end, float *x, kdts_error *err);

/* Timestamp text of row r plus `ahead` steps (0 = the row itself) in the
   column's own precision, into buf[cap]. 0 when there are no timestamps. */
KDTSDEF int kdts_task_time(const kdts_task *task, long r, int ahead, char *buf, size_t cap);

/* Parse a date/time (YYYY-MM-DD, optional [ T]hh:mm[:ss[.fff]], optional Z;
   or YYYY-MM) into seconds since 1970-01-01 (no time zones). *precision
   (may be NULL): 0 date, 1 minutes, 2 seconds, 3 year-month. Returns 1 on
   success, 0 if the text is not such a date. */
KDTSDEF int kdts_time_parse(const char *s, size_t n, long long *seconds, int *precision);

/* ======================================================================== */
/* >>model : model files, deployment inference, export as C arrays          */
/* ======================================================================== */

/* A deployable model bundles the network with everything needed to turn raw
   observations into forecasts in original units: the column names, the
   fitted scaler, the per-window normalization and the training metadata.

   Data flow at inference (what kdts_infer_* do, exactly):
     1. raw observations x (T,F), columns in the model's feature order;
     2. z = kdts_scaler_apply_value(&m->scaler, f, x[t][f]) for every value;
     3. per-window normalization (m->window_norm, m->norm_eps) of the
        window z, column by column, as kdts_window_normalize: offset[f] and
        scale[f] (LAST: offset = z[T-1][f], scale 1; MEANSTD: mean and
        sqrt(var + eps); NONE: 0 and 1);
     4. the LSTM over the T steps from a zero state; the head output of the
        last step (the expected value over bin centres in dist mode) is the
        normalized forecast v'[k*horizon + j], j+1 steps ahead of target k;
     5. inversion: with f = m->target_index[k],
        v = kdts_scaler_invert_value(&m->scaler, f, v' * scale[f] + offset[f]).
   Prediction intervals (dist mode) are the central interval of the bin
   distribution (kdts_dist_interval) mapped through step 5 (monotone). */

/* Version of the binary model file format this implementation writes. It
   reads this version and version 1 (LSTM models before the model kinds;
   KDTS_ERR_VERSION otherwise). */
#define KDTS_MODEL_FORMAT_VERSION 2
/* Layout version of struct kdts_model as emitted by kdts_model_export_c;
   an exported header refuses to compile against another one. */
#define KDTS_MODEL_ABI 2
/* Longest column name stored in a model (bytes, without the NUL). */
#define KDTS_MODEL_NAME_MAX 255

/* Training metadata carried in a model file (informative only: never used
   for inference). Zero-initialized = unknown. */
typedef struct kdts_model_meta {
    unsigned long long seed;   /* training seed                                 */
    int epochs;                /* planned epochs                               */
    int epochs_run;            /* epochs actually run (early stopping)         */
    int best_epoch;            /* epoch whose weights were kept (0 = last)     */
    int batch;                 /* mini-batch size                              */
    int patience;              /* early-stopping patience (0 = off)            */
    int alpha_warmup;          /* epochs of linear alpha warm-up               */
    int n_teachers;            /* 0 = trained on hard labels only              */
    float lr;                  /* Adam learning rate                           */
    float final_loss;          /* mean training loss of the last epoch         */
    float best_val_mse;        /* best validation MSE (normalized), -1 = none  */
    float alpha, beta, temperature; /* distillation weights (with teachers)    */
    double seconds;            /* training wall time                           */
    unsigned long long teacher_params; /* parameters of all teachers together */
    long long rows_train, rows_val, rows_test; /* split sizes in rows          */
    char teacher[128];         /* teacher description, NUL-terminated          */
    char source[128];          /* training data (e.g. the CSV file name)       */
} kdts_model_meta;

/* The metadata of a training run: settings of cfg (defaults filled in) and
   results of rep; with nteachers > 0 also the distillation weights. The
   teacher description, teacher_params, the rows and the source are left
   as they are in *m. */
KDTSDEF void kdts_model_meta_from_training(kdts_model_meta *m, const kdts_train_config *cfg,
                                           const kdts_train_report *rep, int nteachers);

/* A model ready for deployment. Every field is public plain data, so a
   model can also be a `static const` object whose params and names point
   into const arrays (see kdts_model_export_c): nothing in the inference
   API writes to a model. Field order is part of KDTS_MODEL_ABI.
   Constraints (checked by kdts_model_check): arch valid; arch.input ==
   n_features; arch.horizon == n_targets * horizon; every target is one of
   the features (target_index[k] in [0, n_features)); scaler.cols ==
   n_features; nparams == kdts_lstm_param_count(&arch); names holds
   n_features NUL-terminated names back to back in names_len bytes. */
typedef struct kdts_model {
    kdts_net_config arch;      /* architecture of any kind, defaults filled in */
    size_t nparams;
    const float *params;       /* (nparams) in the kind's layout (kdts_net)   */
    int lookback;              /* T the model was trained with                 */
    int horizon;               /* steps forecast per target                    */
    int n_features;            /* F = arch.input (at most KDTS_MAX_COLUMNS)    */
    int n_targets;             /* K                                            */
    int target_index[KDTS_MAX_COLUMNS]; /* [K] feature column of each target  */
    int window_norm;           /* kdts_window_norm                             */
    float norm_eps;            /* KDTS_WNORM_MEANSTD epsilon (0 = 1e-5)        */
    kdts_scaler scaler;        /* fitted on the training rows; column f = feature f */
    const char *names;         /* F feature names, each NUL-terminated         */
    size_t names_len;          /* bytes in names                               */
    kdts_model_meta meta;
    kdts_data_settings data;   /* how the data was read, split and windowed
                                  (kdts_task_open_model); data.recorded 0 =
                                  unknown                                    */
    void *owned;               /* block to free (kdts_model_free), or NULL     */
} kdts_model;

/* What kdts_model_create needs besides the network. */
typedef struct kdts_model_desc {
    int lookback;              /* T (>= 1)                                     */
    int horizon;               /* steps per target (net horizon / n_targets)  */
    int n_features;
    const char *const *feature_names; /* [n_features]; NULL = "x0", "x1", ... */
    int n_targets;             /* 0 = 1                                        */
    const int *target_index;   /* [n_targets] feature columns; NULL = {F-1}    */
    int window_norm;           /* kdts_window_norm                             */
    float norm_eps;
    const kdts_scaler *scaler; /* NULL = identity for every feature            */
    const kdts_model_meta *meta; /* NULL = zeros                               */
    const kdts_data_settings *data; /* NULL = not recorded                    */
} kdts_model_desc;

/* Build a model owning a copy of net's weights and of the names.
   Returns KDTS_OK, KDTS_ERR_ARG (inconsistent description: see the
   constraints of kdts_model), KDTS_ERR_NOMEM. On failure *m is untouched.
   Free with kdts_model_free. */
KDTSDEF kdts_result kdts_model_create(kdts_model *m, const kdts_lstm *net,
                                      const kdts_model_desc *desc, kdts_error *err);
/* The same for a network of any kind. */
KDTSDEF kdts_result kdts_model_create_net(kdts_model *m, const kdts_net *net,
                                          const kdts_model_desc *desc, kdts_error *err);

/* Validate a model (loaded, created or hand-made/const). KDTS_ERR_ARG with
   the reason in err. */
KDTSDEF kdts_result kdts_model_check(const kdts_model *m, kdts_error *err);

/* Release what a model owns and zero it (no-op for const/hand-made models
   whose `owned` is NULL, except the zeroing of non-const objects). */
KDTSDEF void kdts_model_free(kdts_model *m);

/* A non-owning kdts_lstm view of the model's network (params shared, grads
   NULL) for kdts_predict, kdts_eval_mse or as a teacher in kdts_train.
   Never pass the view to anything that writes weights or gradients. */
KDTSDEF kdts_result kdts_model_lstm(const kdts_model *m, kdts_lstm *view, kdts_error *err);
/* A non-owning kdts_net view of the model's network of any kind (params
   shared, grads NULL): a teacher for kdts_net_train, or for kdts_net_predict
   and kdts_task_forecast. Nothing to free; never write through it. */
KDTSDEF kdts_result kdts_model_net(const kdts_model *m, kdts_net *view, kdts_error *err);

/* Name of feature f (NUL-terminated, owned by the model), or NULL. */
KDTSDEF const char *kdts_model_feature_name(const kdts_model *m, int f);

/* Bytes of the model's weights (nparams * 4). */
KDTSDEF size_t kdts_model_weight_bytes(const kdts_model *m);

/* ---- Model files ---------------------------------------------------------

   Binary format, version 2. Every integer is little-endian, written byte
   by byte (independent of the host); i32 is two's complement; f32 and f64
   are the IEEE-754 bit patterns as u32 / u64; str is a u16 byte count then
   the bytes (no NUL, at most KDTS_MODEL_NAME_MAX).

     offset  size  field
     0       8     magic "KDTSMODL"
     8       4     u32 format version (KDTS_MODEL_FORMAT_VERSION)
     12      4     u32 flags, 0 (reserved)
     16      8     u64 P: payload bytes
     24      P     payload: a sequence of sections
     24+P    4     u32 CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320,
                   initial value and final xor 0xFFFFFFFF) of bytes [0, 24+P)
   The file is exactly 28 + P bytes.

   Section: u32 tag (its four ASCII letters in file order), u64 length n,
   then n bytes. Sections are written in the order below; a reader accepts
   any order, skips unknown tags, and requires ARCH, DATA, SCAL and WGTS
   (TRAI and TASK optional). A section longer than its fields is fine (the
   extra bytes are ignored: room for additions within a version); a
   shorter one is a format error.
     ARCH  i32 kind, input, horizon, mode, bins; f32 bin_lo, bin_hi, dropout;
           i32 hidden, layers, d_model, heads, ff, blocks, activation,
           final_norm, max_steps, lookback, linear, kernel, subtract_last,
           target_rev, skip, 0 (reserved); u64 nparams (kdts_net_config;
           an unknown kind is a format error)
           Version 1 (read only): i32 input, hidden, layers, horizon, mode,
           bins; f32 bin_lo, bin_hi, dropout; u64 nparams: an LSTM
     DATA  i32 lookback, horizon, n_features, n_targets, window_norm;
           f32 norm_eps; i32 target_index[n_targets]; str name[n_features]
     SCAL  i32 cols (= n_features), kind, clip;
           then per column f32 offset, scale, clip_lo, clip_hi
     TRAI  u64 seed; i32 epochs, epochs_run, best_epoch, batch, patience,
           alpha_warmup, n_teachers; f32 lr, final_loss, best_val_mse,
           alpha, beta, temperature; f64 seconds; u64 teacher_params;
           i64 rows_train, rows_val, rows_test; str teacher; str source
     TASK  the data settings (kdts_data_settings): i32 missing, split,
           scaling, relative, stride, bins, bin_rule, season, scaler_clip,
           3 x 0; f64 split_sizes[3]; i64 max_rows, rows, train_begin,
           train_end, val_begin, val_end, test_begin, test_end; f32 clip_k,
           clip_q; str time_column
     WGTS  f32 params[nparams] in the kind's layout (see kdts_net)
   Loading checks the magic, the version, that the file size is 28 + P,
   the CRC, then every section and size before allocating anything. */

/* Serialize m into buf[cap]. With buf == NULL only *written receives the
   size needed (a size query). Returns KDTS_OK, KDTS_ERR_ARG (bad model, or
   cap too small: nothing is written then). Never allocates. */
KDTSDEF kdts_result kdts_model_save_mem(const kdts_model *m, void *buf, size_t cap,
                                        size_t *written, kdts_error *err);

/* Parse a model from `len` bytes. The model owns one allocated block
   (weights and names; free with kdts_model_free). Returns KDTS_OK,
   KDTS_ERR_FORMAT (not a kdts model, truncated, corrupt: CRC or section
   sizes), KDTS_ERR_VERSION (another format version), KDTS_ERR_ARG
   (inconsistent contents), KDTS_ERR_NOMEM. *m is untouched on failure. */
KDTSDEF kdts_result kdts_model_load_mem(kdts_model *m, const void *data, size_t len,
                                        kdts_error *err);

#ifndef KDTS_NO_STDIO
/* Save atomically. Every check of kdts_path_check_save first; then the
   file is written to "<file>.kdts-tmp.<pid>-<k>" in the same folder,
   flushed and synced (fsync), given the permission bits of the file it
   replaces, renamed over it, and the folder synced. A failure at any
   point removes the temporary file and leaves an existing file as it was.
   Temporary files of earlier saves to the same file that were killed are
   removed by the next save (regular files with exactly that name pattern
   and another process id; two processes saving to one file at the same
   time are not supported; on a 32-bit system, see _FILE_OFFSET_BITS
   under CONFIGURATION).
   A symbolic link at `path` is followed: the file it names is replaced
   and the link kept. A file with several hard links is replaced by a new
   file (a new inode) at this name only; the other names keep the old
   content. The owner is the saving user's. Links are resolved when the
   implementation sees POSIX.1-2001 declarations (the compiler's default
   mode, or _POSIX_C_SOURCE >= 200112L defined before any include, as
   tools/kdts.c does); under a strict -std=c99 a link at `path` is
   replaced by the file. (Without POSIX, or with KDTS_NO_POSIX: no fsync,
   no mode, no link resolution, and where rename cannot replace a file
   the old one is removed first.)
   KDTS_ERR_IO / KDTS_ERR_ARG with the path in the message. */
KDTSDEF kdts_result kdts_model_save_file(const kdts_model *m, const char *path,
                                         kdts_error *err);

/* Can a file be saved at `path` (by kdts_model_save_file or
   kdts_model_export_c)? Checks, without writing anything: symbolic links
   resolved (at most 32), the folder exists and is writable, the path
   and the file name leave room for the temporary name (file name at most
   the folder's NAME_MAX minus 35 bytes), and what exists at the path is a
   regular file (a folder, device, FIFO or socket is refused, and named).
   Call it before long work. KDTS_OK, KDTS_ERR_ARG (names), KDTS_ERR_IO. */
KDTSDEF kdts_result kdts_path_check_save(const char *path, kdts_error *err);

/* 1 when both paths exist and name the same file (same device and inode,
   links followed), else 0: to refuse an output that is one of the inputs.
   Without POSIX: 1 for equal strings naming an existing file. */
KDTSDEF int kdts_path_same(const char *a, const char *b);

/* Load a model file (see kdts_model_load_mem); messages start with the
   path. Adds KDTS_ERR_IO (cannot open or read). */
KDTSDEF kdts_result kdts_model_load_file(kdts_model *m, const char *path, kdts_error *err);

/* Write a self-contained C header for a board without a file system:
   `static const float NAME_params[]`, `static const char NAME_names[]` and
   `static const kdts_model NAME_model`, usable directly with kdts_infer_*.
   NAME must be a C identifier. Floats are written with 9 significant
   digits, which the compiler converts back to the identical bits;
   non-finite values as INFINITY / -INFINITY / NAN (math.h, included by the
   header). Written atomically like kdts_model_save_file. The header needs kdts.h (it
   includes "kdts.h" unless KDTS_H_INCLUDED is already defined) and a kdts
   with the same KDTS_MODEL_ABI and a KDTS_MAX_COLUMNS / KDTS_MAX_LAYERS at
   least as large as the model needs (checked with #error). */
KDTSDEF kdts_result kdts_model_export_c(const kdts_model *m, const char *name,
                                        const char *path, kdts_error *err);
#endif

/* ---- Inference -----------------------------------------------------------

   A kdts_infer runs one model in caller memory; after setup nothing is
   allocated (size query, then init into the caller's buffer):
       size_t n = kdts_infer_size(&model, 0);
       kdts_infer_init(&inf, &model, 0, buf, n, NULL);     // buf: n bytes
       kdts_infer_window(&inf, x, model.lookback, fc, NULL, NULL, 0, NULL);
   Several kdts_infer objects may share one (const) model. One kdts_infer
   is not safe to use from two threads at once.

   Every model kind runs here. Work per forecast: a recurrent model (LSTM,
   GRU) runs one step per input step over all layers and the head once, so
   a window of T steps costs T steps and a stateful stream step costs one;
   the attention model runs its blocks over the window, and a stateful
   stream step adds one token against a key/value cache of the lookback; a
   window map (the linear kind, a skip map) reads the whole window, so it
   streams in WINDOW mode. For the recurrent kinds kdts_infer_init keeps a
   transposed copy of the weights in the caller's buffer (one float per
   weight), so every matrix-vector product is a run of vectorized axpy
   updates over whole rows; the model itself (possibly const, in flash) is
   only read. */

/* Streaming modes of kdts_infer_step. */
typedef enum kdts_stream_mode {
    KDTS_STREAM_AUTO = 0,     /* STATEFUL for window_norm NONE and a model with a
                                 state (not a window map), else WINDOW      */
    KDTS_STREAM_STATEFUL = 1, /* the state is carried from step to step (LSTM
                                 h, c per layer, GRU h: O(1) per step; the
                                 attention model's key/value cache over the
                                 last max_steps tokens); the forecast
                                 conditions on every observation since reset
                                 (recurrent) or on the cached tokens
                                 (attention). Not for window maps            */
    KDTS_STREAM_WINDOW = 2    /* keep the last `lookback` raw observations in a
                                 ring and run the window API on them: O(T) per
                                 step, identical to kdts_infer_window          */
} kdts_stream_mode;

typedef struct kdts_infer {
    const kdts_model *model;
    int kind;                 /* kdts_kind of the model                       */
    int L, H, F, I0, O, out_values;   /* layers, hidden (recurrent kinds; 0
                                 otherwise), features, out size              */
    int max_steps;            /* longest window accepted                      */
    int stream_mode;          /* resolved kdts_stream_mode (STATEFUL/WINDOW)  */
    long long seen;           /* observations fed since the last reset        */
    int ring_pos;             /* next ring slot                               */
    float *h, *c;             /* (L,H) recurrent state                        */
    float *tmp;               /* (H)                                          */
    float *out;               /* (O) head output                              */
    float *xbuf;              /* (max_steps,F) normalized window              */
    float *ring;              /* (lookback,F) raw observations (WINDOW mode)  */
    float *xs;                /* (F) scaled step input                        */
    float *woff, *wscale;     /* (F) per-window normalization of the window   */
    float *wt;                /* LSTM: per layer W_ih (4H,I), W_hh (4H,H)
                                 packed for the fused step, b_ih+b_hh (4H);
                                 then head W^T (H,O). GRU: the same with 3
                                 gates. NULL otherwise                        */
    kdts__attn_inf attn;      /* attention: weights and key/value caches      */
    kdts_linear lin;          /* linear kind: a read-only view of the model   */
    const float *skip;        /* the skip map W_s, b_s in the model, or NULL  */
    void *owned;              /* block from kdts_infer_create, or NULL        */
} kdts_infer;

/* Bytes of caller memory kdts_infer_init needs for windows of up to
   max_steps steps (0 = the model's lookback). 0 if the model is invalid.
   Depends on the build: with SIMD the packed gate weights are padded to
   whole vectors (hidden sizes that are a multiple of 16 pad nothing). */
KDTSDEF size_t kdts_infer_size(const kdts_model *m, int max_steps);

/* Set up inference in caller memory buf[bytes] (aligned to at least 4
   bytes; 64 is best). The model must outlive the kdts_infer and is never
   written. Starts in KDTS_STREAM_AUTO with a zero state.
   Returns KDTS_OK, KDTS_ERR_ARG (invalid model, buffer too small). */
KDTSDEF kdts_result kdts_infer_init(kdts_infer *r, const kdts_model *m, int max_steps,
                                    void *buf, size_t bytes, kdts_error *err);

/* Convenience: the same with memory from KDTS_MALLOC; free with
   kdts_infer_free (no-op for kdts_infer_init objects). */
KDTSDEF kdts_result kdts_infer_create(kdts_infer *r, const kdts_model *m, int max_steps,
                                      kdts_error *err);
KDTSDEF void kdts_infer_free(kdts_infer *r);

/* Forecast from one window of raw observations.
   x        (T,F) raw values in original units, features in model order
   T        1..max_steps (normally the model's lookback)
   forecast (K*horizon) forecasts in original units, target-major
   low, high (K*horizon) central prediction interval with the given
            coverage (e.g. 0.8) in original units; dist mode only, NULL to
            skip (non-NULL with a point model is KDTS_ERR_ARG)
   Returns KDTS_OK, KDTS_ERR_ARG, KDTS_ERR_NONFINITE (NaN/Inf in x).
   Does not touch the stream state. Never allocates. */
KDTSDEF kdts_result kdts_infer_window(kdts_infer *r, const float *x, int T, float *forecast,
                                      float *low, float *high, float coverage, kdts_error *err);

/* Forecasts for n windows x (n,T,F) into forecast (n,K*horizon) and, in
   dist mode, low/high (n,K*horizon) (may be NULL). Same results as n calls
   of kdts_infer_window. Never allocates. */
KDTSDEF kdts_result kdts_infer_batch(kdts_infer *r, const float *x, int n, int T,
                                     float *forecast, float *low, float *high, float coverage,
                                     kdts_error *err);

/* Choose the streaming mode (resets the stream). KDTS_STREAM_STATEFUL with
   a model using per-window normalization is KDTS_ERR_ARG: its inputs are
   relative to the newest value, so no carried state can reproduce them. */
KDTSDEF kdts_result kdts_infer_stream_mode(kdts_infer *r, int mode, kdts_error *err);

/* Forget the stream: zero state, empty ring. */
KDTSDEF void kdts_infer_reset(kdts_infer *r);

/* Feed one raw observation obs (F) and get the forecast of the next
   K*horizon values (original units; low/high as in kdts_infer_window).
   STATEFUL: one recurrent step over all layers plus the head (O(1) per
   step), or one attention token against the cache.
   After the first T observations from a reset the forecast equals
   kdts_infer_window on those T observations (to float rounding: the same
   kernels run in the same order, so in practice bit for bit); later it
   conditions on everything since the reset, not only the last T.
   WINDOW: the window API on the last min(seen, lookback) observations.
   Returns as kdts_infer_window. Never allocates. */
KDTSDEF kdts_result kdts_infer_step(kdts_infer *r, const float *obs, float *forecast,
                                    float *low, float *high, float coverage, kdts_error *err);
#ifdef __cplusplus
}
#endif

#endif /* KDTS_H_INCLUDED */

/* ======================================================================== */
/*                            IMPLEMENTATION                                */
/* ======================================================================== */
#ifdef KDTS_IMPLEMENTATION
#ifndef KDTS__IMPLEMENTED
#define KDTS__IMPLEMENTED

/* Large-file interfaces on 32-bit systems (readdir on 64-bit inode
   numbers, files over 2 GiB); effective only before the first system
   header of the file, so the CONFIGURATION section asks for it too. */
#if !defined(_FILE_OFFSET_BITS) && !defined(KDTS_NO_STDIO)
#define _FILE_OFFSET_BITS 64
#endif

#include <string.h>
#include <math.h>
#include <float.h>
#include <limits.h>
#include <stdarg.h>
#include <time.h>
#ifndef KDTS_NO_STDIO
#include <stdio.h>
#endif
/* Safe saving uses POSIX where it exists (KDTS_NO_POSIX: plain C files). */
#if !defined(KDTS_NO_STDIO) && !defined(KDTS_NO_POSIX) && \
    (defined(__unix__) || defined(__unix) || (defined(__APPLE__) && defined(__MACH__)))
#define KDTS__POSIX 1
#include <errno.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
/* symbolic links (lstat, readlink) need POSIX.1-2001 declarations: the
   compiler's default mode or _POSIX_C_SOURCE >= 200112L */
#if (defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200112L) || defined(__APPLE__)
#define KDTS__POSIX_LINKS 1
#endif
#endif

#if defined(KDTS_MALLOC) || defined(KDTS_REALLOC) || defined(KDTS_FREE)
#if !defined(KDTS_MALLOC) || !defined(KDTS_REALLOC) || !defined(KDTS_FREE)
#error "kdts.h: define all of KDTS_MALLOC, KDTS_REALLOC and KDTS_FREE, or none"
#endif
#else
#include <stdlib.h>
#define KDTS_MALLOC(sz) malloc(sz)
#define KDTS_REALLOC(p, sz) realloc((p), (sz))
#define KDTS_FREE(p) free(p)
#endif

#ifndef KDTS_ASSERT
#include <assert.h>
#define KDTS_ASSERT(x) assert(x)
#endif

#if defined(__cplusplus)
#define KDTS__RESTRICT __restrict
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L
#define KDTS__RESTRICT restrict
#else
#define KDTS__RESTRICT
#endif

#if defined(__GNUC__) || defined(__clang__)
#define KDTS__UNUSED __attribute__((unused))
#else
#define KDTS__UNUSED
#endif

/* ---- ISA selection (compile time) ------------------------------------- */
#ifdef KDTS_NO_SIMD
#ifndef KDTS_NO_AVX512
#define KDTS_NO_AVX512
#endif
#ifndef KDTS_NO_AVX2
#define KDTS_NO_AVX2
#endif
#ifndef KDTS_NO_SSE2
#define KDTS_NO_SSE2
#endif
#ifndef KDTS_NO_NEON
#define KDTS_NO_NEON
#endif
#endif

#if defined(__AVX512F__) && !defined(KDTS_NO_AVX512)
#define KDTS__AVX512 1
#include <immintrin.h>
#elif defined(__AVX2__) && defined(__FMA__) && !defined(KDTS_NO_AVX2)
#define KDTS__AVX2 1
#include <immintrin.h>
#elif (defined(__SSE2__) || defined(_M_X64)) && !defined(KDTS_NO_SSE2)
#define KDTS__SSE2 1
#include <emmintrin.h>
#elif (defined(__ARM_NEON) || defined(__ARM_NEON__)) && !defined(KDTS_NO_NEON)
#define KDTS__NEON 1
#include <arm_neon.h>
#else
#define KDTS__SCALAR 1
#endif

/* ======================================================================== */
/* >>common                                                                 */
/* ======================================================================== */

KDTSDEF const char *kdts_result_str(kdts_result r)
{
    switch (r) {
    case KDTS_OK: return "ok";
    case KDTS_ERR_ARG: return "invalid argument";
    case KDTS_ERR_NOMEM: return "out of memory";
    case KDTS_ERR_PARSE: return "parse error";
    case KDTS_ERR_SHAPE: return "shape mismatch";
    case KDTS_ERR_IO: return "input/output error";
    case KDTS_ERR_NONFINITE: return "non-finite value (NaN or Inf)";
    case KDTS_ERR_VERSION: return "unsupported version";
    case KDTS_ERR_FORMAT: return "bad or corrupt file format";
    case KDTS_ERR_MISSING: return "missing values";
    case KDTS_ERR_NOTFOUND: return "not found";
    case KDTS_ERR_DATA: return "unusable data";
    }
    return "unknown error";
}

KDTSDEF int kdts_version_number(void) { return KDTS_VERSION_NUMBER; }

KDTSDEF const char *kdts_simd_name(void)
{
#if defined(KDTS__AVX512)
    return "avx512";
#elif defined(KDTS__AVX2)
    return "avx2";
#elif defined(KDTS__SSE2)
    return "sse2";
#elif defined(KDTS__NEON)
    return "neon";
#else
    return "scalar";
#endif
}

/* ---- messages: the one builder of every error message -------------------
   A small printf subset that needs no stdio (so KDTS_NO_STDIO builds get the
   same messages): flags - + space 0, width and precision (numbers or *),
   lengths h l ll z, conversions d i u x c s g f e %. Output is cut at the
   buffer's end, always NUL-terminated. */

typedef struct kdts__msg {
    char buf[256];
    size_t n;
} kdts__msg;

static void kdts__msg_init(kdts__msg *m)
{
    m->n = 0;
    m->buf[0] = 0;
}

static void kdts__msg_mem(kdts__msg *m, const char *s, size_t len)
{
    size_t i;
    for (i = 0; i < len && m->n + 1 < sizeof m->buf; ++i) m->buf[m->n++] = s[i];
    m->buf[m->n] = 0;
}

static void kdts__msg_str(kdts__msg *m, const char *s) { kdts__msg_mem(m, s, strlen(s)); }

/* s[0..len) padded to width (left-aligned when left), with pad characters. */
static void kdts__msg_pad(kdts__msg *m, const char *s, size_t len, int width, int left, char pad)
{
    int fill = width > (int)len ? width - (int)len : 0, i;
    if (!left && pad == '0' && len > 0 && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) {
        kdts__msg_mem(m, s, 1); /* the sign goes before the zeros */
        s++;
        len--;
    }
    if (!left)
        for (i = 0; i < fill; ++i) kdts__msg_mem(m, &pad, 1);
    kdts__msg_mem(m, s, len);
    if (left)
        for (i = 0; i < fill; ++i) kdts__msg_mem(m, " ", 1);
}

/* Digits of u in base 10 or 16 into the end of tmp[32]; returns the start. */
static char *kdts__msg_digits(char *end, unsigned long long u, int base)
{
    const char *dig = "0123456789abcdef";
    *--end = 0;
    do {
        *--end = dig[u % (unsigned)base];
        u /= (unsigned)base;
    } while (u);
    return end;
}

static void kdts__msg_long(kdts__msg *m, long v)
{
    char tmp[32], *s;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    s = kdts__msg_digits(tmp + sizeof tmp, u, 10);
    if (v < 0) *--s = '-';
    kdts__msg_str(m, s);
}

/* A double in %e, %f or %g style with `prec` digits (6 when < 0), into out
   (at least 64 bytes). The digits come from scaling by a power of ten in
   double precision, so a value within an ulp of a rounding half may differ
   from printf in its last digit; |v| >= 1e18 in %f style is written in %e
   style. */
static void kdts__msg_fmt_double(char *out, double v, int prec, char conv, const char *sign)
{
    char dig[24], *o = out;
    int e10 = 0, nd, i, neg = v < 0 || (v == 0 && 1.0 / v < 0);
    double a = neg ? -v : v;
    if (prec < 0) prec = 6;
    if (prec > 17) prec = 17;
    if (neg) *o++ = '-';
    else if (*sign) *o++ = *sign;
    if (a != a) { strcpy(o, "nan"); return; }
    if (a > DBL_MAX) { strcpy(o, "inf"); return; }
    if (conv == 'f' && a >= 1e18) conv = 'e';
    if (conv == 'g' && prec == 0) prec = 1;
    /* significant digits wanted; tiny values pre-scaled (no underflow) */
    {
        double sa = a;
        int shift = 0;
        if (a != 0 && a < 1e-290) {
            sa = a * 1e300;
            shift = -300;
        }
        if (a == 0) {
            e10 = 0;
        } else {
            e10 = (int)floor(log10(sa));
            if (sa / pow(10.0, e10) >= 10.0) e10++;
            if (sa / pow(10.0, e10) < 1.0) e10--;
        }
        nd = conv == 'e' ? prec + 1 : conv == 'g' ? prec : e10 + shift + 1 + prec;
        if (nd < 0) nd = 0;
        if (nd > 17) nd = 17;
        {
            /* the nd leading digits, rounded half to even; a carry adds a digit */
            double sc = a == 0 ? 0.0 : sa / pow(10.0, e10 - nd + 1);
            unsigned long long q = (unsigned long long)sc;
            double fr = sc - (double)q;
            char tmp[32], *p;
            if (fr > 0.5 || (fr == 0.5 && (q & 1u))) q++;
            p = kdts__msg_digits(tmp + sizeof tmp, q, 10);
            e10 += shift;
            if (q != 0 && (int)strlen(p) > (nd > 0 ? nd : 1)) {
                e10++;
                if (conv != 'f') p[strlen(p) - 1] = 0;
            }
            for (i = 0; i < (int)sizeof dig - 1 && p[i]; ++i) dig[i] = p[i];
            dig[i] = 0;
            nd = q == 0 ? 0 : i;
            if (q == 0 && conv != 'f') e10 = 0;
        }
    }
    if (conv == 'g' && nd > 0 && (e10 < -4 || e10 >= prec)) conv = 'E'; /* %g in exponent style */
    if (conv == 'f' || conv == 'g') {
        /* fixed: digit k of dig has weight 10^(e10-k) */
        int decimals = conv == 'f' ? prec : prec - 1 - e10, k;
        int first = e10 >= 0 ? e10 : 0;
        if (decimals < 0) decimals = 0;
        for (k = first; k >= 0; --k) {
            int idx = e10 - k;
            *o++ = idx >= 0 && idx < nd ? dig[idx] : '0';
        }
        if (decimals > 0) {
            char *dot = o;
            *o++ = '.';
            for (k = 1; k <= decimals; ++k) {
                int idx = e10 + k;
                *o++ = idx >= 0 && idx < nd ? dig[idx] : '0';
            }
            if (conv == 'g') { /* %g drops trailing zeros */
                while (o > dot + 1 && o[-1] == '0') o--;
                if (o == dot + 1) o = dot;
            }
        }
        *o = 0;
        return;
    }
    /* exponent style: d.ddd e+XX */
    {
        int k, ee = e10 < 0 ? -e10 : e10;
        char *dot;
        *o++ = nd > 0 ? dig[0] : '0';
        dot = o;
        if (conv == 'e' ? prec > 0 : nd > 1) {
            *o++ = '.';
            for (k = 1; k < (conv == 'e' ? prec + 1 : nd); ++k) *o++ = k < nd ? dig[k] : '0';
            if (conv == 'E') {
                while (o > dot + 1 && o[-1] == '0') o--;
                if (o == dot + 1) o = dot;
            }
        }
        *o++ = 'e';
        *o++ = e10 < 0 ? '-' : '+';
        if (ee < 10) *o++ = '0';
        {
            char tmp[16], *p = kdts__msg_digits(tmp + sizeof tmp, (unsigned long long)ee, 10);
            while (*p) *o++ = *p++;
        }
        *o = 0;
    }
}

static void kdts__msg_vfmt(kdts__msg *m, const char *f, va_list ap)
{
    while (*f) {
        int left = 0, width = 0, prec = -1, lng = 0;
        char pad = ' ', sign[2] = {0, 0}, num[80];
        const char *s;
        if (*f != '%') {
            const char *q = f;
            while (*q && *q != '%') q++;
            kdts__msg_mem(m, f, (size_t)(q - f));
            f = q;
            continue;
        }
        f++;
        for (;; f++) {
            if (*f == '-') left = 1;
            else if (*f == '0') pad = '0';
            else if (*f == '+') sign[0] = '+';
            else if (*f == ' ' && !sign[0]) sign[0] = ' ';
            else break;
        }
        if (*f == '*') {
            width = va_arg(ap, int);
            if (width < 0) { left = 1; width = -width; }
            f++;
        } else {
            while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
        }
        if (*f == '.') {
            f++;
            prec = 0;
            if (*f == '*') {
                prec = va_arg(ap, int);
                f++;
            } else {
                while (*f >= '0' && *f <= '9') prec = prec * 10 + (*f++ - '0');
            }
        }
        if (width > 200) width = 200;
        if (left) pad = ' ';
        while (*f == 'h') f++;
        if (*f == 'l') { lng = 1; f++; if (*f == 'l') { lng = 2; f++; } }
        else if (*f == 'z') { lng = 3; f++; }
        switch (*f) {
        case 'd': case 'i': {
            long long v = lng == 2 ? va_arg(ap, long long) : lng == 1 ? (long long)va_arg(ap, long)
                        : lng == 3 ? (long long)va_arg(ap, size_t) : (long long)va_arg(ap, int);
            char *p = kdts__msg_digits(num + sizeof num, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, 10);
            if (v < 0) *--p = '-';
            else if (sign[0]) *--p = sign[0];
            kdts__msg_pad(m, p, strlen(p), width, left, pad);
            break;
        }
        case 'u': case 'x': {
            unsigned long long v = lng == 2 ? va_arg(ap, unsigned long long)
                                 : lng == 1 ? (unsigned long long)va_arg(ap, unsigned long)
                                 : lng == 3 ? (unsigned long long)va_arg(ap, size_t)
                                            : (unsigned long long)va_arg(ap, unsigned int);
            char *p = kdts__msg_digits(num + sizeof num, v, *f == 'x' ? 16 : 10);
            kdts__msg_pad(m, p, strlen(p), width, left, pad);
            break;
        }
        case 'c':
            num[0] = (char)va_arg(ap, int);
            kdts__msg_pad(m, num, 1, width, left, ' ');
            break;
        case 's':
            s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            {
                size_t len = 0;
                while (s[len] && (prec < 0 || len < (size_t)prec)) len++;
                kdts__msg_pad(m, s, len, width, left, ' ');
            }
            break;
        case 'g': case 'f': case 'e':
            kdts__msg_fmt_double(num, va_arg(ap, double), prec, *f, sign);
            kdts__msg_pad(m, num, strlen(num), width, left, pad);
            break;
        case '%':
            kdts__msg_mem(m, "%", 1);
            break;
        default: /* unknown conversion: shown as is */
            kdts__msg_mem(m, "%", 1);
            if (*f) kdts__msg_mem(m, f, 1);
            break;
        }
        if (*f) f++;
    }
}

static KDTS__UNUSED void kdts__msg_fmt(kdts__msg *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kdts__msg_vfmt(m, fmt, ap);
    va_end(ap);
}

/* Fill *err (if given) with the code, position and formatted message, and
   return the code. */
static kdts_result kdts__fail(kdts_error *err, kdts_result code, long line, long col, const char *fmt, ...)
{
    if (err) {
        kdts__msg m;
        va_list ap;
        kdts__msg_init(&m);
        va_start(ap, fmt);
        kdts__msg_vfmt(&m, fmt, ap);
        va_end(ap);
        err->code = code;
        err->line = line;
        err->column = col;
        memcpy(err->message, m.buf, m.n + 1);
    }
    return code;
}

/* Overflow-checked size arithmetic: return 0 on overflow. */
static int kdts__mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a) return 0;
    *out = a * b;
    return 1;
}
static int kdts__add_ok(size_t a, size_t b, size_t *out)
{
    if (b > (size_t)-1 - a) return 0;
    *out = a + b;
    return 1;
}

/* 64-byte aligned allocation through KDTS_MALLOC; the original pointer is
   kept just before the returned block. */
static void *kdts__alloc_aligned(size_t bytes)
{
    size_t total;
    unsigned char *raw, *p;
    if (!kdts__add_ok(bytes, 64 + sizeof(void *), &total)) return NULL;
    raw = (unsigned char *)KDTS_MALLOC(total);
    if (!raw) return NULL;
    p = raw + sizeof(void *);
    p += (64 - ((size_t)p & 63)) & 63;
    memcpy(p - sizeof(void *), &raw, sizeof(void *));
    return p;
}
static void kdts__free_aligned(void *p)
{
    void *raw;
    if (!p) return;
    memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof(void *));
    KDTS_FREE(raw);
}
/* Aligned float array of n elements, NULL on overflow or out of memory. */
static float *kdts__falloc(size_t n)
{
    size_t b;
    if (!kdts__mul_ok(n, sizeof(float), &b)) return NULL;
    return (float *)kdts__alloc_aligned(b ? b : 4);
}

static int kdts__isfinite(float x) { return x == x && x - x == 0.0f; }

/* ---- RNG ---------------------------------------------------------------- */
static unsigned long long kdts__splitmix64(unsigned long long *x)
{
    unsigned long long z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

KDTSDEF void kdts_rng_seed(kdts_rng *r, unsigned long long seed)
{
    unsigned long long x = seed;
    r->s[0] = kdts__splitmix64(&x);
    r->s[1] = kdts__splitmix64(&x);
    if (!r->s[0] && !r->s[1]) r->s[1] = 1;
}

KDTSDEF unsigned long long kdts_rng_next(kdts_rng *r)
{
    /* xorshift128+ */
    unsigned long long s1 = r->s[0];
    const unsigned long long s0 = r->s[1];
    r->s[0] = s0;
    s1 ^= s1 << 23;
    r->s[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
    return r->s[1] + s0;
}

KDTSDEF float kdts_rng_uniform(kdts_rng *r)
{
    return (float)(kdts_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

KDTSDEF unsigned long kdts_rng_below(kdts_rng *r, unsigned long n)
{
    /* rejection sampling: unbiased and portable */
    unsigned long long lim, x;
    KDTS_ASSERT(n > 0);
    lim = (0xFFFFFFFFFFFFFFFFULL / n) * n;
    do { x = kdts_rng_next(r); } while (x >= lim);
    return (unsigned long)(x % n);
}

KDTSDEF float kdts_rng_normal(kdts_rng *r)
{
    double u1 = ((double)(kdts_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (double)(kdts_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

KDTSDEF void kdts_rng_shuffle(kdts_rng *r, int *idx, int n)
{
    int i;
    for (i = n - 1; i > 0; --i) {
        int j = (int)kdts_rng_below(r, (unsigned long)i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* ======================================================================== */
/* >>kernels : the only code that uses intrinsics                           */
/* ======================================================================== */

#ifdef _OPENMP
#include <omp.h>
#endif

/* Micro-tile shape per ISA: MR rows of op(A) x NR columns of op(B).
   KDTS__DIRECT_B: the kernel masks its loads and stores, so it reads op(B)
   in place when B is not transposed (no packing) and writes edge tiles of C
   directly. The other ISAs pack op(B) into zero-padded NR-column panels and
   go through an accumulator tile at the edges. op(A) is never packed: the
   kernel broadcasts its elements through a row stride and a k stride. */
#if defined(KDTS__AVX512)
#define KDTS__MR 8
#define KDTS__NR 32
#define KDTS__DIRECT_B 1
#elif defined(KDTS__AVX2)
#define KDTS__MR 6
#define KDTS__NR 16
#define KDTS__DIRECT_B 1
#elif defined(KDTS__SSE2)
#define KDTS__MR 4
#define KDTS__NR 8
#elif defined(KDTS__NEON)
#define KDTS__MR 8
#define KDTS__NR 8
#else
#define KDTS__MR 4
#define KDTS__NR 4
#endif
#ifndef KDTS__DIRECT_B
#define KDTS__DIRECT_B 0
#endif

/* Cache blocking: KC x NC panel of op(B) (L2), MC x KC block of op(A) (L2),
   one KC x NR micro-panel of op(B) in L1. */
#ifndef KDTS_GEMM_KC
#define KDTS_GEMM_KC 256
#endif
#ifndef KDTS_GEMM_MC
#define KDTS_GEMM_MC 96
#endif
#ifndef KDTS_GEMM_NC
#define KDTS_GEMM_NC 512
#endif
#define KDTS__NC_R (((KDTS_GEMM_NC + KDTS__NR - 1) / KDTS__NR) * KDTS__NR)
/* floats of packing scratch one GEMM call needs at most */
#define KDTS__GEMM_SCRATCH ((size_t)KDTS_GEMM_KC * KDTS__NC_R + 64)

#if defined(KDTS__AVX512)
/* C (mr x nr part of an 8 x 32 tile) = alpha * sum_k a_i[k] b[k][j] + beta*C.
   a_i[k] = a[i*rsa + k*csa]; b row k at b + k*ldbk, only nr columns read;
   beta == 0 does not read C. */
#define KDTS__K512_ROW(ai, c0, c1)                                            \
    av = _mm512_set1_ps((ai)[o]);                                             \
    c0 = _mm512_fmadd_ps(av, b0, c0);                                         \
    c1 = _mm512_fmadd_ps(av, b1, c1)
#define KDTS__K512_BODY                                                       \
    KDTS__K512_ROW(a0, c00, c01); KDTS__K512_ROW(a1, c10, c11);               \
    KDTS__K512_ROW(a2, c20, c21); KDTS__K512_ROW(a3, c30, c31);               \
    KDTS__K512_ROW(a4, c40, c41); KDTS__K512_ROW(a5, c50, c51);               \
    KDTS__K512_ROW(a6, c60, c61); KDTS__K512_ROW(a7, c70, c71)
/* Row i of the tile into C. With beta != 0, row i + 1 of C is loaded
   (into l0, l1) before row i is stored: a masked access covers a whole
   vector, so at the end of a row it overlaps the next row, and a load
   issued after an overlapping store would wait for that store. */
#define KDTS__K512_STORE(i, c0, c1)                                           \
    if ((i) < mr) {                                                           \
        float *cr = C + (size_t)(i) * ldc;                                    \
        __m512 v0 = _mm512_mul_ps(c0, va), v1 = _mm512_mul_ps(c1, va);        \
        if (beta != 0.0f) {                                                   \
            v0 = _mm512_fmadd_ps(vb, l0, v0);                                 \
            v1 = _mm512_fmadd_ps(vb, l1, v1);                                 \
            if ((i) + 1 < mr) {                                               \
                l0 = _mm512_maskz_loadu_ps(m0, cr + ldc);                     \
                l1 = _mm512_maskz_loadu_ps(m1, cr + ldc + 16);                \
            }                                                                 \
        }                                                                     \
        _mm512_mask_storeu_ps(cr, m0, v0);                                    \
        if (m1) _mm512_mask_storeu_ps(cr + 16, m1, v1);                       \
    }
static void kdts__kern(int kc, const float *a, size_t rsa, size_t csa, const float *b, size_t ldbk,
                       int mr, int nr, float alpha, float beta, float *C, int ldc)
{
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : (nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u) : (__mmask16)0);
    const float *a0 = a, *a1 = mr > 1 ? a + rsa : a, *a2 = mr > 2 ? a + 2 * rsa : a;
    const float *a3 = mr > 3 ? a + 3 * rsa : a, *a4 = mr > 4 ? a + 4 * rsa : a;
    const float *a5 = mr > 5 ? a + 5 * rsa : a, *a6 = mr > 6 ? a + 6 * rsa : a;
    const float *a7 = mr > 7 ? a + 7 * rsa : a;
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    __m512 av, b0, b1, va, vb, l0, l1;
    size_t o = 0;
    int k;
    if (mr == 1) {
        /* one row (a vector-matrix product, e.g. batch-1 inference): the
           two chains of that row alone, in the order of the other paths, so
           that a row's result does not depend on where it falls in the
           tiling */
        for (k = 0; k < kc; ++k, o += csa, b += ldbk) {
            av = _mm512_set1_ps(a0[o]);
            c00 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m0, b), c00);
            c01 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m1, b + 16), c01);
        }
    } else if (nr >= 32) {
        for (k = 0; k < kc; ++k, o += csa, b += ldbk) {
            b0 = _mm512_loadu_ps(b);
            b1 = _mm512_loadu_ps(b + 16);
            KDTS__K512_BODY;
        }
    } else if (nr > 16) {
        for (k = 0; k < kc; ++k, o += csa, b += ldbk) {
            b0 = _mm512_loadu_ps(b);
            b1 = _mm512_maskz_loadu_ps(m1, b + 16);
            KDTS__K512_BODY;
        }
    } else {
        b1 = _mm512_setzero_ps();
        for (k = 0; k < kc; ++k, o += csa, b += ldbk) {
            b0 = _mm512_maskz_loadu_ps(m0, b);
            av = _mm512_set1_ps(a0[o]); c00 = _mm512_fmadd_ps(av, b0, c00);
            av = _mm512_set1_ps(a1[o]); c10 = _mm512_fmadd_ps(av, b0, c10);
            av = _mm512_set1_ps(a2[o]); c20 = _mm512_fmadd_ps(av, b0, c20);
            av = _mm512_set1_ps(a3[o]); c30 = _mm512_fmadd_ps(av, b0, c30);
            av = _mm512_set1_ps(a4[o]); c40 = _mm512_fmadd_ps(av, b0, c40);
            av = _mm512_set1_ps(a5[o]); c50 = _mm512_fmadd_ps(av, b0, c50);
            av = _mm512_set1_ps(a6[o]); c60 = _mm512_fmadd_ps(av, b0, c60);
            av = _mm512_set1_ps(a7[o]); c70 = _mm512_fmadd_ps(av, b0, c70);
        }
        (void)b1;
    }
    va = _mm512_set1_ps(alpha);
    vb = _mm512_set1_ps(beta);
    l0 = l1 = _mm512_setzero_ps();
    if (beta != 0.0f) {
        l0 = _mm512_maskz_loadu_ps(m0, C);
        l1 = _mm512_maskz_loadu_ps(m1, C + 16);
    }
    KDTS__K512_STORE(0, c00, c01) KDTS__K512_STORE(1, c10, c11)
    KDTS__K512_STORE(2, c20, c21) KDTS__K512_STORE(3, c30, c31)
    KDTS__K512_STORE(4, c40, c41) KDTS__K512_STORE(5, c50, c51)
    KDTS__K512_STORE(6, c60, c61) KDTS__K512_STORE(7, c70, c71)
}
#undef KDTS__K512_ROW
#undef KDTS__K512_BODY
#undef KDTS__K512_STORE
#elif defined(KDTS__AVX2)
/* The AVX-512 kernel's contract on a 6 x 16 tile: op(B) read in place
   (row k at b + k*ldbk, only nr columns: masked loads when nr < 16), the
   tile written straight into C (masked stores when nr < 16). C = alpha*acc
   + beta*C is evaluated as the packed path's scalar store did (alpha*acc,
   then + beta*C), so results do not depend on which path ran. */
#define KDTS__K256_ROW(ai, c0, c1)                                            \
    av = _mm256_broadcast_ss((ai) + o);                                       \
    c0 = _mm256_fmadd_ps(av, b0, c0);                                         \
    c1 = _mm256_fmadd_ps(av, b1, c1)
#define KDTS__K256_BODY                                                       \
    KDTS__K256_ROW(a0, c00, c01); KDTS__K256_ROW(a1, c10, c11);               \
    KDTS__K256_ROW(a2, c20, c21); KDTS__K256_ROW(a3, c30, c31);               \
    KDTS__K256_ROW(a4, c40, c41); KDTS__K256_ROW(a5, c50, c51)
/* Row i of the tile into C; with beta != 0, row i + 1 of C is loaded before
   row i is stored (a masked access spans a whole vector and may overlap the
   next row: a load after an overlapping store would wait for it). */
#define KDTS__K256_STORE(i, c0, c1)                                           \
    if ((i) < mr) {                                                           \
        float *cr = C + (size_t)(i) * ldc;                                    \
        __m256 v0 = c0, v1 = c1;                                              \
        if (alpha != 1.0f) {                                                  \
            v0 = _mm256_mul_ps(va, v0);                                       \
            v1 = _mm256_mul_ps(va, v1);                                       \
        }                                                                     \
        if (beta != 0.0f) {                                                   \
            if (beta == 1.0f) {                                               \
                v0 = _mm256_add_ps(l0, v0);                                   \
                v1 = _mm256_add_ps(l1, v1);                                   \
            } else {                                                          \
                v0 = _mm256_add_ps(v0, _mm256_mul_ps(vb, l0));                \
                v1 = _mm256_add_ps(v1, _mm256_mul_ps(vb, l1));                \
            }                                                                 \
            if ((i) + 1 < mr) {                                               \
                if (full) {                                                   \
                    l0 = _mm256_loadu_ps(cr + ldc);                           \
                    l1 = _mm256_loadu_ps(cr + ldc + 8);                       \
                } else {                                                      \
                    l0 = _mm256_maskload_ps(cr + ldc, m0);                    \
                    l1 = _mm256_maskload_ps(cr + ldc + 8, m1);                \
                }                                                             \
            }                                                                 \
        }                                                                     \
        if (full) {                                                           \
            _mm256_storeu_ps(cr, v0);                                         \
            _mm256_storeu_ps(cr + 8, v1);                                     \
        } else {                                                              \
            _mm256_maskstore_ps(cr, m0, v0);                                  \
            if (nr > 8) _mm256_maskstore_ps(cr + 8, m1, v1);                  \
        }                                                                     \
    }
static void kdts__kern(int kc, const float *a, size_t rsa, size_t csa, const float *b, size_t ldbk,
                       int mr, int nr, float alpha, float beta, float *C, int ldc)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
    const int full = nr >= 16;
    const float *a0 = a, *a1 = mr > 1 ? a + rsa : a, *a2 = mr > 2 ? a + 2 * rsa : a;
    const float *a3 = mr > 3 ? a + 3 * rsa : a, *a4 = mr > 4 ? a + 4 * rsa : a;
    const float *a5 = mr > 5 ? a + 5 * rsa : a;
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    __m256 av, b0, b1, va, vb, l0, l1;
    size_t o = 0;
    int k;
    if (mr == 1) {
        /* one row (batch-1 inference): the two chains of that row alone, in
           the order of the other paths, so that a row's result does not
           depend on where it falls in the tiling */
        for (k = 0; k < kc; ++k, o += csa, b += ldbk) {
            av = _mm256_broadcast_ss(a0 + o);
            if (full) {
                c00 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b), c00);
                c01 = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + 8), c01);
            } else {
                c00 = _mm256_fmadd_ps(av, _mm256_maskload_ps(b, m0), c00);
                c01 = _mm256_fmadd_ps(av, _mm256_maskload_ps(b + 8, m1), c01);
            }
        }
    } else if (full) {
        for (k = 0; k < kc; ++k, o += csa, b += ldbk) {
            b0 = _mm256_loadu_ps(b);
            b1 = _mm256_loadu_ps(b + 8);
            KDTS__K256_BODY;
        }
    } else if (nr > 8) {
        for (k = 0; k < kc; ++k, o += csa, b += ldbk) {
            b0 = _mm256_loadu_ps(b);
            b1 = _mm256_maskload_ps(b + 8, m1);
            KDTS__K256_BODY;
        }
    } else {
        for (k = 0; k < kc; ++k, o += csa, b += ldbk) {
            b0 = _mm256_maskload_ps(b, m0);
            av = _mm256_broadcast_ss(a0 + o); c00 = _mm256_fmadd_ps(av, b0, c00);
            av = _mm256_broadcast_ss(a1 + o); c10 = _mm256_fmadd_ps(av, b0, c10);
            av = _mm256_broadcast_ss(a2 + o); c20 = _mm256_fmadd_ps(av, b0, c20);
            av = _mm256_broadcast_ss(a3 + o); c30 = _mm256_fmadd_ps(av, b0, c30);
            av = _mm256_broadcast_ss(a4 + o); c40 = _mm256_fmadd_ps(av, b0, c40);
            av = _mm256_broadcast_ss(a5 + o); c50 = _mm256_fmadd_ps(av, b0, c50);
        }
    }
    va = _mm256_set1_ps(alpha);
    vb = _mm256_set1_ps(beta);
    l0 = l1 = _mm256_setzero_ps();
    if (beta != 0.0f) {
        if (full) {
            l0 = _mm256_loadu_ps(C);
            l1 = _mm256_loadu_ps(C + 8);
        } else {
            l0 = _mm256_maskload_ps(C, m0);
            l1 = _mm256_maskload_ps(C + 8, m1);
        }
    }
    KDTS__K256_STORE(0, c00, c01) KDTS__K256_STORE(1, c10, c11)
    KDTS__K256_STORE(2, c20, c21) KDTS__K256_STORE(3, c30, c31)
    KDTS__K256_STORE(4, c40, c41) KDTS__K256_STORE(5, c50, c51)
}
#undef KDTS__K256_ROW
#undef KDTS__K256_BODY
#undef KDTS__K256_STORE
#else
/* acc (MR x NR, row-major, ld NR) = sum_k a_i[k] * b[k][j] with
   a_i[k] = ap[i][k*csa] and b a packed panel (row k at b + k*NR). */
static void kdts__ukernel(int kc, const float *const *ap, size_t csa, const float *KDTS__RESTRICT b,
                          float *KDTS__RESTRICT acc)
{
    size_t o = 0;
#if defined(KDTS__SSE2)
    const float *a0 = ap[0], *a1 = ap[1], *a2 = ap[2], *a3 = ap[3];
    __m128 c00 = _mm_setzero_ps(), c01 = _mm_setzero_ps();
    __m128 c10 = _mm_setzero_ps(), c11 = _mm_setzero_ps();
    __m128 c20 = _mm_setzero_ps(), c21 = _mm_setzero_ps();
    __m128 c30 = _mm_setzero_ps(), c31 = _mm_setzero_ps();
    int k;
    for (k = 0; k < kc; ++k, o += csa) {
        __m128 b0 = _mm_load_ps(b), b1 = _mm_load_ps(b + 4), av;
        av = _mm_set1_ps(a0[o]); c00 = _mm_add_ps(c00, _mm_mul_ps(av, b0)); c01 = _mm_add_ps(c01, _mm_mul_ps(av, b1));
        av = _mm_set1_ps(a1[o]); c10 = _mm_add_ps(c10, _mm_mul_ps(av, b0)); c11 = _mm_add_ps(c11, _mm_mul_ps(av, b1));
        av = _mm_set1_ps(a2[o]); c20 = _mm_add_ps(c20, _mm_mul_ps(av, b0)); c21 = _mm_add_ps(c21, _mm_mul_ps(av, b1));
        av = _mm_set1_ps(a3[o]); c30 = _mm_add_ps(c30, _mm_mul_ps(av, b0)); c31 = _mm_add_ps(c31, _mm_mul_ps(av, b1));
        b += 8;
    }
    _mm_store_ps(acc + 0, c00);  _mm_store_ps(acc + 4, c01);
    _mm_store_ps(acc + 8, c10);  _mm_store_ps(acc + 12, c11);
    _mm_store_ps(acc + 16, c20); _mm_store_ps(acc + 20, c21);
    _mm_store_ps(acc + 24, c30); _mm_store_ps(acc + 28, c31);
#elif defined(KDTS__NEON)
    float32x4_t c[8][2];
    int k, i;
    for (i = 0; i < 8; ++i) c[i][0] = c[i][1] = vdupq_n_f32(0.0f);
    for (k = 0; k < kc; ++k, o += csa) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        for (i = 0; i < 8; ++i) {
            float32x4_t av = vdupq_n_f32(ap[i][o]);
            c[i][0] = vmlaq_f32(c[i][0], av, b0);
            c[i][1] = vmlaq_f32(c[i][1], av, b1);
        }
        b += 8;
    }
    for (i = 0; i < 8; ++i) {
        vst1q_f32(acc + i * 8, c[i][0]);
        vst1q_f32(acc + i * 8 + 4, c[i][1]);
    }
#else
    float c[KDTS__MR * KDTS__NR];
    int k, i, j;
    for (i = 0; i < KDTS__MR * KDTS__NR; ++i) c[i] = 0.0f;
    for (k = 0; k < kc; ++k, o += csa) {
        for (i = 0; i < KDTS__MR; ++i) {
            float av = ap[i][o];
            for (j = 0; j < KDTS__NR; ++j) c[i * KDTS__NR + j] += av * b[j];
        }
        b += KDTS__NR;
    }
    for (i = 0; i < KDTS__MR * KDTS__NR; ++i) acc[i] = c[i];
#endif
}

/* Write an MR x NR accumulator tile into C: C = alpha*acc + beta*C over the
   valid mr x nr part; beta == 0 does not read C. */
static void kdts__store_tile(float *C, int ldc, const float *acc, int mr, int nr, float alpha, float beta)
{
    int i, j;
    for (i = 0; i < mr; ++i) {
        float *c = C + (size_t)i * ldc;
        const float *s = acc + i * KDTS__NR;
        if (beta == 0.0f) {
            if (alpha == 1.0f)
                for (j = 0; j < nr; ++j) c[j] = s[j];
            else
                for (j = 0; j < nr; ++j) c[j] = alpha * s[j];
        } else if (beta == 1.0f) {
            if (alpha == 1.0f)
                for (j = 0; j < nr; ++j) c[j] += s[j];
            else
                for (j = 0; j < nr; ++j) c[j] += alpha * s[j];
        } else {
            for (j = 0; j < nr; ++j) c[j] = alpha * s[j] + beta * c[j];
        }
    }
}

/* Same contract as the AVX-512 kernel; b is a packed, zero-padded panel
   (ldbk == NR). */
static void kdts__kern(int kc, const float *a, size_t rsa, size_t csa, const float *b, size_t ldbk,
                       int mr, int nr, float alpha, float beta, float *C, int ldc)
{
    float accb[KDTS__MR * KDTS__NR + 16];
    float *acc = (float *)(((size_t)accb + 63) & ~(size_t)63);
    const float *ap[KDTS__MR];
    int i;
    (void)ldbk;
    for (i = 0; i < KDTS__MR; ++i) ap[i] = i < mr ? a + (size_t)i * rsa : a;
    kdts__ukernel(kc, ap, csa, b, acc);
    kdts__store_tile(C, ldc, acc, mr, nr, alpha, beta);
}
#endif

/* Pack rows [p0, p0+kc) x cols [j0, j0+nc) of op(B) into NR-column panels:
   dst[panel][k][c], zero-padded to a multiple of NR columns. */
static void kdts__pack_b(float *KDTS__RESTRICT dst, int tb, const float *B, int ldb, int p0,
                         int kc, int j0, int nc)
{
    int jr, c, k;
    for (jr = 0; jr < nc; jr += KDTS__NR) {
        int nr = nc - jr < KDTS__NR ? nc - jr : KDTS__NR;
        if (!tb) {
            for (k = 0; k < kc; ++k) {
                const float *src = B + (size_t)(p0 + k) * ldb + j0 + jr;
                float *d = dst + k * KDTS__NR;
                for (c = 0; c < nr; ++c) d[c] = src[c];
                for (; c < KDTS__NR; ++c) d[c] = 0.0f;
            }
        } else {
            /* blocks of 8 columns: 8 source rows read in step, one
               NR-float destination row written per k */
            for (c = 0; c + 8 <= nr; c += 8) {
                const float *s0 = B + (size_t)(j0 + jr + c) * ldb + p0;
                size_t l = (size_t)ldb;
                float *d = dst + c;
                for (k = 0; k < kc; ++k, d += KDTS__NR) {
                    d[0] = s0[k];
                    d[1] = s0[l + k];
                    d[2] = s0[2 * l + k];
                    d[3] = s0[3 * l + k];
                    d[4] = s0[4 * l + k];
                    d[5] = s0[5 * l + k];
                    d[6] = s0[6 * l + k];
                    d[7] = s0[7 * l + k];
                }
            }
            for (; c < nr; ++c) {
                const float *src = B + (size_t)(j0 + jr + c) * ldb + p0;
                for (k = 0; k < kc; ++k) dst[k * KDTS__NR + c] = src[k];
            }
            for (; c < KDTS__NR; ++c)
                for (k = 0; k < kc; ++k) dst[k * KDTS__NR + c] = 0.0f;
        }
        dst += (size_t)kc * KDTS__NR;
    }
}

/* Floats needed to hold all of op(B) (K x N) packed for kdts__gemm_core. */
static size_t kdts__packed_b_size(int K, int N)
{
    return (size_t)K * (size_t)(((N + KDTS__NR - 1) / KDTS__NR) * KDTS__NR);
}

/* Pack the whole of op(B) once, in the block order kdts__gemm_core walks:
   for each NC block of columns, for each KC block of rows. */
static void kdts__pack_b_full(float *dst, int tb, const float *B, int ldb, int K, int N)
{
    int jc, pc;
    for (jc = 0; jc < N; jc += KDTS_GEMM_NC) {
        int nc = N - jc < KDTS_GEMM_NC ? N - jc : KDTS_GEMM_NC;
        int ncr = ((nc + KDTS__NR - 1) / KDTS__NR) * KDTS__NR;
        for (pc = 0; pc < K; pc += KDTS_GEMM_KC) {
            int kc = K - pc < KDTS_GEMM_KC ? K - pc : KDTS_GEMM_KC;
            kdts__pack_b(dst, tb, B, ldb, pc, kc, jc, nc);
            dst += (size_t)kc * ncr;
        }
    }
}

static void kdts__scale_c(int M, int N, float beta, float *C, int ldc)
{
    int i, j;
    for (i = 0; i < M; ++i) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            for (j = 0; j < N; ++j) c[j] = 0.0f;
        else if (beta != 1.0f)
            for (j = 0; j < N; ++j) c[j] *= beta;
    }
}

/* Whether kdts__gemm_core needs packing scratch for op(B). */
static int kdts__gemm_packs(int tb) { return tb || !KDTS__DIRECT_B; }

/* Floats of scratch kdts__gemm_core needs for a K x N op(B) (0 if none). */
static size_t kdts__gemm_scratch_size(int tb, int N, int K)
{
    int kc = K < KDTS_GEMM_KC ? K : KDTS_GEMM_KC, nc = N < KDTS_GEMM_NC ? N : KDTS_GEMM_NC;
    if (!kdts__gemm_packs(tb)) return 0;
    return kdts__packed_b_size(kc, nc) + 16;
}

#if KDTS__DIRECT_B
/* C = alpha A^T op(B) + beta C for a C narrower than one vector (N < 16):
   its rows would fill under half of the kernel's lanes. Computed
   transposed instead, C^T = op(B)^T A, where the long side M runs along
   the lanes and A (K x M, row-major) is the kernel's B read in place; 256
   columns of C^T at a time go through a buffer on the stack and are added
   into C transposed. */
static void kdts__gemm_skinny(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                              int tb, float beta, float *C, int ldc)
{
    float t[16 * 256];
    size_t rsb = tb ? (size_t)ldb : 1, csb = tb ? 1 : (size_t)ldb;
    int ic, jr, ir, m, n;
    for (ic = 0; ic < M; ic += 256) {
        int mc = M - ic < 256 ? M - ic : 256;
        for (jr = 0; jr < mc; jr += KDTS__NR) {
            int nr = mc - jr < KDTS__NR ? mc - jr : KDTS__NR;
            for (ir = 0; ir < N; ir += KDTS__MR) {
                int mr = N - ir < KDTS__MR ? N - ir : KDTS__MR;
                kdts__kern(K, B + (size_t)ir * rsb, rsb, csb, A + ic + jr, (size_t)lda, mr, nr, alpha, 0.0f,
                           t + (size_t)ir * mc + jr, mc);
            }
        }
        for (m = 0; m < mc; ++m) {
            float *c = C + (size_t)(ic + m) * ldc;
            if (beta == 0.0f)
                for (n = 0; n < N; ++n) c[n] = t[(size_t)n * mc + m];
            else
                for (n = 0; n < N; ++n) c[n] = t[(size_t)n * mc + m] + beta * c[n];
        }
    }
}
#endif

/* The blocked GEMM on one thread. scratch holds kdts__gemm_scratch_size
   floats (64-byte aligned) when op(B) is packed. bpacked, when not NULL, is
   op(B) packed by kdts__pack_b_full and B/ldb/tb are ignored. */
static void kdts__gemm_serial(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                            int lda, const float *B, int ldb, float beta, float *C, int ldc,
                            float *scratch, const float *bpacked)
{
    size_t rsa = ta ? 1 : (size_t)lda, csa = ta ? (size_t)lda : 1;
    int direct = !bpacked && !kdts__gemm_packs(tb);
    int jc, pc, ic, jr, ir;
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        kdts__scale_c(M, N, beta, C, ldc);
        return;
    }
#if KDTS__DIRECT_B
    if (ta && !bpacked && N < 16 && M >= 2 * KDTS__NR) {
        kdts__gemm_skinny(M, N, K, alpha, A, lda, B, ldb, tb, beta, C, ldc);
        return;
    }
#endif
    for (jc = 0; jc < N; jc += KDTS_GEMM_NC) {
        int nc = N - jc < KDTS_GEMM_NC ? N - jc : KDTS_GEMM_NC;
        int ncr = ((nc + KDTS__NR - 1) / KDTS__NR) * KDTS__NR;
        for (pc = 0; pc < K; pc += KDTS_GEMM_KC) {
            int kc = K - pc < KDTS_GEMM_KC ? K - pc : KDTS_GEMM_KC;
            float be = pc == 0 ? beta : 1.0f;
            const float *bpan;
            size_t ldbk, pstep;
            if (bpacked) {
                bpan = bpacked + (size_t)jc * K + (size_t)pc * ncr;
                ldbk = KDTS__NR;
                pstep = (size_t)kc;
            } else if (direct) {
                bpan = B + (size_t)pc * ldb + jc;
                ldbk = (size_t)ldb;
                pstep = 1;
            } else {
                kdts__pack_b(scratch, tb, B, ldb, pc, kc, jc, nc);
                bpan = scratch;
                ldbk = KDTS__NR;
                pstep = (size_t)kc;
            }
            for (ic = 0; ic < M; ic += KDTS_GEMM_MC) {
                int mc = M - ic < KDTS_GEMM_MC ? M - ic : KDTS_GEMM_MC;
                for (jr = 0; jr < nc; jr += KDTS__NR) {
                    int nr = nc - jr < KDTS__NR ? nc - jr : KDTS__NR;
                    const float *bb = bpan + (size_t)jr * pstep;
                    for (ir = 0; ir < mc; ir += KDTS__MR) {
                        int mr = mc - ir < KDTS__MR ? mc - ir : KDTS__MR;
                        kdts__kern(kc, A + (size_t)(ic + ir) * rsa + (size_t)pc * csa, rsa, csa, bb, ldbk, mr,
                                   nr, alpha, be, C + (size_t)(ic + ir) * ldc + jc + jr, ldc);
                    }
                }
            }
        }
    }
}

/* The GEMM: kdts__gemm_serial, or with OpenMP (products of >= 2^18
   multiply-adds, outside parallel regions) the rows of C split between the
   threads in multiples of MR, every thread running the serial code on its
   rows with a shared op(B): already direct or packed, or packed whole into
   scratch first when it fits in KDTS__GEMM_SCRATCH floats (else serial).
   Each element of C is computed exactly as in the serial code. */
static void kdts__gemm_core(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                            const float *B, int ldb, float beta, float *C, int ldc, float *scratch,
                            const float *bpacked)
{
#ifdef _OPENMP
    if ((double)M * N * K >= 262144.0 && M >= 2 * KDTS__MR && K > 0 && alpha != 0.0f &&
        omp_get_max_threads() > 1 && !omp_in_parallel()) {
        const float *bp = bpacked;
        int ok = 1;
        if (!bp && kdts__gemm_packs(tb)) {
            if (scratch && kdts__packed_b_size(K, N) <= KDTS__GEMM_SCRATCH) {
                kdts__pack_b_full(scratch, tb, B, ldb, K, N);
                bp = scratch;
            } else {
                ok = 0;
            }
        }
        if (ok) {
            size_t rsa = ta ? 1 : (size_t)lda;
#pragma omp parallel
            {
                int nt = omp_get_num_threads(), tid = omp_get_thread_num();
                int per = ((M + nt - 1) / nt + KDTS__MR - 1) / KDTS__MR * KDTS__MR;
                int m0 = tid * per, mn = M - m0 < per ? M - m0 : per;
                if (mn > 0)
                    kdts__gemm_serial(ta, tb, mn, N, K, alpha, A + (size_t)m0 * rsa, lda, B, ldb, beta,
                                      C + (size_t)m0 * ldc, ldc, NULL, bp);
            }
            return;
        }
    }
#endif
    kdts__gemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, scratch, bpacked);
}

static int kdts__gemm_args_ok(int ta, int tb, int M, int N, int K, int lda, int ldb, int ldc)
{
    if (M < 0 || N < 0 || K < 0) return 0;
    if (ldc < (N > 1 ? N : 1)) return 0;
    if (lda < ((ta ? M : K) > 1 ? (ta ? M : K) : 1)) return 0;
    if (ldb < ((tb ? K : N) > 1 ? (tb ? K : N) : 1)) return 0;
    return 1;
}

KDTSDEF kdts_result kdts_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                              int lda, const float *B, int ldb, float beta, float *C, int ldc,
                              kdts_error *err)
{
    float *scratch = NULL;
    size_t ns;
    if (!kdts__gemm_args_ok(ta, tb, M, N, K, lda, ldb, ldc))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "gemm: bad sizes or strides (M %d, N %d, K %d, lda %d, ldb %d, ldc %d, ta %d, tb %d)", M,
                          N, K, lda, ldb, ldc, ta, tb);
    if (M == 0 || N == 0) return KDTS_OK;
    if (K == 0 || alpha == 0.0f) {
        kdts__scale_c(M, N, beta, C, ldc);
        return KDTS_OK;
    }
    ns = kdts__gemm_scratch_size(tb, N, K);
#ifdef _OPENMP
    if (ns && kdts__packed_b_size(K, N) <= KDTS__GEMM_SCRATCH) ns = kdts__packed_b_size(K, N) + 16;
#endif
    if (ns) {
        scratch = kdts__falloc(ns);
        if (!scratch) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "gemm: out of memory for %lu floats of packing",
                                        (unsigned long)ns);
    }
    kdts__gemm_core(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, scratch, NULL);
    kdts__free_aligned(scratch);
    return KDTS_OK;
}

KDTSDEF void kdts_gemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                           int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    int i, j, k;
    for (i = 0; i < M; ++i) {
        for (j = 0; j < N; ++j) {
            double s = 0.0;
            float *c = C + (size_t)i * ldc + j;
            for (k = 0; k < K; ++k) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += (double)a * (double)b;
            }
            *c = beta == 0.0f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * *c);
        }
    }
}

/* ---- vector vocabulary for element-wise kernels ------------------------ */
#if defined(__GNUC__) || defined(__clang__)
#define KDTS__AINLINE __inline__ __attribute__((always_inline))
#else
#define KDTS__AINLINE
#endif
#if defined(KDTS__AVX512)
#define KDTS__VW 16
typedef __m512 kdts__v;
#define kdts__vld(p) _mm512_loadu_ps(p)
#define kdts__vst(p, v) _mm512_storeu_ps((p), (v))
#define kdts__vset(x) _mm512_set1_ps(x)
#define kdts__vadd(a, b) _mm512_add_ps(a, b)
#define kdts__vsub(a, b) _mm512_sub_ps(a, b)
#define kdts__vmul(a, b) _mm512_mul_ps(a, b)
#define kdts__vfma(a, b, c) _mm512_fmadd_ps(a, b, c)
#define kdts__vmin(a, b) _mm512_min_ps(a, b)
#define kdts__vmax(a, b) _mm512_max_ps(a, b)
/* a/b as a times 1/b: the 14-bit reciprocal estimate and one Newton step
   (relative error about 2^-23), cheaper than the divider */
static KDTS__AINLINE kdts__v kdts__vdiv(kdts__v a, kdts__v b)
{
    __m512 r = _mm512_rcp14_ps(b);
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(b, r, _mm512_set1_ps(2.0f)));
    return _mm512_mul_ps(a, r);
}
static KDTS__AINLINE kdts__v kdts__vpow2i(kdts__v n)
{
    __m512i i = _mm512_cvtps_epi32(n);
    i = _mm512_slli_epi32(_mm512_add_epi32(i, _mm512_set1_epi32(127)), 23);
    return _mm512_castsi512_ps(i);
}
#define kdts__vround(x) _mm512_roundscale_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#elif defined(KDTS__AVX2)
#define KDTS__VW 8
typedef __m256 kdts__v;
#define kdts__vld(p) _mm256_loadu_ps(p)
#define kdts__vst(p, v) _mm256_storeu_ps((p), (v))
#define kdts__vset(x) _mm256_set1_ps(x)
#define kdts__vadd(a, b) _mm256_add_ps(a, b)
#define kdts__vsub(a, b) _mm256_sub_ps(a, b)
#define kdts__vmul(a, b) _mm256_mul_ps(a, b)
#define kdts__vfma(a, b, c) _mm256_fmadd_ps(a, b, c)
#define kdts__vmin(a, b) _mm256_min_ps(a, b)
#define kdts__vmax(a, b) _mm256_max_ps(a, b)
#define kdts__vdiv(a, b) _mm256_div_ps(a, b)
static KDTS__AINLINE kdts__v kdts__vpow2i(kdts__v n)
{
    __m256i i = _mm256_cvtps_epi32(n);
    i = _mm256_slli_epi32(_mm256_add_epi32(i, _mm256_set1_epi32(127)), 23);
    return _mm256_castsi256_ps(i);
}
#define kdts__vround(x) _mm256_round_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#elif defined(KDTS__SSE2)
#define KDTS__VW 4
typedef __m128 kdts__v;
#define kdts__vld(p) _mm_loadu_ps(p)
#define kdts__vst(p, v) _mm_storeu_ps((p), (v))
#define kdts__vset(x) _mm_set1_ps(x)
#define kdts__vadd(a, b) _mm_add_ps(a, b)
#define kdts__vsub(a, b) _mm_sub_ps(a, b)
#define kdts__vmul(a, b) _mm_mul_ps(a, b)
#define kdts__vfma(a, b, c) _mm_add_ps(_mm_mul_ps(a, b), c)
#define kdts__vmin(a, b) _mm_min_ps(a, b)
#define kdts__vmax(a, b) _mm_max_ps(a, b)
#define kdts__vdiv(a, b) _mm_div_ps(a, b)
static KDTS__AINLINE kdts__v kdts__vpow2i(kdts__v n)
{
    __m128i i = _mm_cvtps_epi32(n);
    i = _mm_slli_epi32(_mm_add_epi32(i, _mm_set1_epi32(127)), 23);
    return _mm_castsi128_ps(i);
}
#define kdts__vround(x) _mm_cvtepi32_ps(_mm_cvtps_epi32(x))
#elif defined(KDTS__NEON)
#define KDTS__VW 4
typedef float32x4_t kdts__v;
#define kdts__vld(p) vld1q_f32(p)
#define kdts__vst(p, v) vst1q_f32((p), (v))
#define kdts__vset(x) vdupq_n_f32(x)
#define kdts__vadd(a, b) vaddq_f32(a, b)
#define kdts__vsub(a, b) vsubq_f32(a, b)
#define kdts__vmul(a, b) vmulq_f32(a, b)
#define kdts__vfma(a, b, c) vmlaq_f32(c, a, b)
#define kdts__vmin(a, b) vminq_f32(a, b)
#define kdts__vmax(a, b) vmaxq_f32(a, b)
static KDTS__AINLINE kdts__v kdts__vdiv(kdts__v a, kdts__v b)
{
#if defined(__aarch64__)
    return vdivq_f32(a, b);
#else
    float32x4_t r = vrecpeq_f32(b);
    r = vmulq_f32(r, vrecpsq_f32(b, r));
    r = vmulq_f32(r, vrecpsq_f32(b, r));
    r = vmulq_f32(r, vrecpsq_f32(b, r));
    return vmulq_f32(a, r);
#endif
}
static KDTS__AINLINE kdts__v kdts__vround(kdts__v x)
{
    /* round half away from zero: enough for range reduction */
    float32x4_t h = vbslq_f32(vcltq_f32(x, vdupq_n_f32(0.0f)), vdupq_n_f32(-0.5f), vdupq_n_f32(0.5f));
    return vcvtq_f32_s32(vcvtq_s32_f32(vaddq_f32(x, h)));
}
static KDTS__AINLINE kdts__v kdts__vpow2i(kdts__v n)
{
    int32x4_t i = vcvtq_s32_f32(n);
    i = vshlq_n_s32(vaddq_s32(i, vdupq_n_s32(127)), 23);
    return vreinterpretq_f32_s32(i);
}
#endif

#ifdef KDTS__VW
/* The first n lanes (0 < n <= KDTS__VW) of p, the others zero; and the
   store of the first n lanes of v. */
static KDTS__AINLINE kdts__v kdts__vldn(const float *p, int n)
{
    if (n >= KDTS__VW) return kdts__vld(p);
#if defined(KDTS__AVX512)
    return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), p);
#elif defined(KDTS__AVX2)
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
#else
    {
        float t[KDTS__VW];
        int i;
        for (i = 0; i < KDTS__VW; ++i) t[i] = i < n ? p[i] : 0.0f;
        return kdts__vld(t);
    }
#endif
}
static KDTS__AINLINE void kdts__vstn(float *p, kdts__v v, int n)
{
    if (n >= KDTS__VW) {
        kdts__vst(p, v);
        return;
    }
#if defined(KDTS__AVX512)
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v);
#elif defined(KDTS__AVX2)
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), v);
#else
    {
        float t[KDTS__VW];
        int i;
        kdts__vst(t, v);
        for (i = 0; i < n; ++i) p[i] = t[i];
    }
#endif
}

/* e^x for |x| <= 87: x = n*ln2 + r (|r| <= ln2/2), e^r by its degree-6
   Taylor polynomial evaluated as (1 + r) + r^2 (1/2 + r/6) + r^4 (1/24 +
   r/120 + r^2/720): the same terms as Horner's rule in half the dependent
   steps, which matters on the recurrence's critical path. */
static KDTS__AINLINE kdts__v kdts__vexp(kdts__v x)
{
    kdts__v n, r, r2, p01, p23, p46;
    x = kdts__vmin(kdts__vmax(x, kdts__vset(-87.0f)), kdts__vset(87.0f));
    n = kdts__vround(kdts__vmul(x, kdts__vset(1.44269504088896341f)));
    r = kdts__vfma(n, kdts__vset(-0.693359375f), x);
    r = kdts__vfma(n, kdts__vset(2.12194440e-4f), r);
    r2 = kdts__vmul(r, r);
    p01 = kdts__vadd(r, kdts__vset(1.0f));
    p23 = kdts__vfma(r, kdts__vset(1.0f / 6.0f), kdts__vset(0.5f));
    p46 = kdts__vfma(r, kdts__vset(1.0f / 120.0f), kdts__vset(1.0f / 24.0f));
    p46 = kdts__vfma(r2, kdts__vset(1.0f / 720.0f), p46);
    p01 = kdts__vfma(r2, p23, p01);
    return kdts__vmul(kdts__vfma(kdts__vmul(r2, r2), p46, p01), kdts__vpow2i(n));
}
static KDTS__AINLINE kdts__v kdts__vsigmoid(kdts__v x)
{
    kdts__v one = kdts__vset(1.0f);
    return kdts__vdiv(one, kdts__vadd(one, kdts__vexp(kdts__vsub(kdts__vset(0.0f), x))));
}
/* tanh(x) = 1 - 2/(e^{2x}+1); for tiny |x| this loses relative accuracy, so
   below 0.0625 use the odd series x - x^3/3 + 2x^5/15. */
static KDTS__AINLINE kdts__v kdts__vtanh(kdts__v x)
{
    kdts__v one = kdts__vset(1.0f);
    kdts__v e = kdts__vexp(kdts__vadd(x, x));
    kdts__v t = kdts__vsub(one, kdts__vdiv(kdts__vset(2.0f), kdts__vadd(e, one)));
    kdts__v x2 = kdts__vmul(x, x);
    kdts__v s = kdts__vmul(x, kdts__vfma(x2, kdts__vfma(x2, kdts__vset(2.0f / 15.0f), kdts__vset(-1.0f / 3.0f)), one));
#if defined(KDTS__AVX512)
    __mmask16 small = _mm512_cmp_ps_mask(x2, kdts__vset(0.00390625f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(small, t, s);
#elif defined(KDTS__AVX2)
    return _mm256_blendv_ps(t, s, _mm256_cmp_ps(x2, kdts__vset(0.00390625f), _CMP_LT_OQ));
#elif defined(KDTS__SSE2)
    __m128 m = _mm_cmplt_ps(x2, kdts__vset(0.00390625f));
    return _mm_or_ps(_mm_and_ps(m, s), _mm_andnot_ps(m, t));
#else
    return vbslq_f32(vcltq_f32(x2, vdupq_n_f32(0.00390625f)), s, t);
#endif
}
#endif

static float kdts__sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

KDTSDEF void kdts_vec_sigmoid(float *y, const float *x, size_t n)
{
    size_t i = 0;
#ifdef KDTS__VW
    for (; i + KDTS__VW <= n; i += KDTS__VW) kdts__vst(y + i, kdts__vsigmoid(kdts__vld(x + i)));
#endif
    for (; i < n; ++i) y[i] = kdts__sigmoidf(x[i]);
}

KDTSDEF void kdts_vec_tanh(float *y, const float *x, size_t n)
{
    size_t i = 0;
#ifdef KDTS__VW
    for (; i + KDTS__VW <= n; i += KDTS__VW) kdts__vst(y + i, kdts__vtanh(kdts__vld(x + i)));
#endif
    for (; i < n; ++i) y[i] = tanhf(x[i]);
}

KDTSDEF void kdts_vec_exp(float *y, const float *x, size_t n)
{
    size_t i = 0;
#ifdef KDTS__VW
    for (; i + KDTS__VW <= n; i += KDTS__VW) kdts__vst(y + i, kdts__vexp(kdts__vld(x + i)));
#endif
    for (; i < n; ++i) y[i] = expf(x[i] < -87.0f ? -87.0f : (x[i] > 87.0f ? 87.0f : x[i]));
}

KDTSDEF void kdts_vec_dsigmoid(float *dx, const float *y, const float *dy, size_t n)
{
    size_t i = 0;
#ifdef KDTS__VW
    kdts__v one = kdts__vset(1.0f);
    for (; i + KDTS__VW <= n; i += KDTS__VW) {
        kdts__v v = kdts__vld(y + i);
        kdts__vst(dx + i, kdts__vmul(kdts__vld(dy + i), kdts__vmul(v, kdts__vsub(one, v))));
    }
#endif
    for (; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

KDTSDEF void kdts_vec_dtanh(float *dx, const float *y, const float *dy, size_t n)
{
    size_t i = 0;
#ifdef KDTS__VW
    kdts__v one = kdts__vset(1.0f);
    for (; i + KDTS__VW <= n; i += KDTS__VW) {
        kdts__v v = kdts__vld(y + i);
        kdts__vst(dx + i, kdts__vmul(kdts__vld(dy + i), kdts__vsub(one, kdts__vmul(v, v))));
    }
#endif
    for (; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

KDTSDEF void kdts_vec_axpy(float *y, float a, const float *x, size_t n)
{
    size_t i = 0;
#ifdef KDTS__VW
    kdts__v va = kdts__vset(a);
    for (; i + KDTS__VW <= n; i += KDTS__VW)
        kdts__vst(y + i, kdts__vfma(va, kdts__vld(x + i), kdts__vld(y + i)));
#endif
    for (; i < n; ++i) y[i] += a * x[i];
}

KDTSDEF float kdts_vec_dot(const float *x, const float *y, size_t n)
{
    size_t i = 0;
    float s = 0.0f;
#ifdef KDTS__VW
    float tmp[KDTS__VW];
    int j;
    kdts__v acc = kdts__vset(0.0f);
    for (; i + KDTS__VW <= n; i += KDTS__VW) acc = kdts__vfma(kdts__vld(x + i), kdts__vld(y + i), acc);
    kdts__vst(tmp, acc);
    for (j = 0; j < KDTS__VW; ++j) s += tmp[j];
#endif
    for (; i < n; ++i) s += x[i] * y[i];
    return s;
}

#ifdef KDTS__VW
/* The cell on one vector of hidden units (the first n lanes, 0 < n <=
   KDTS__VW) from the four gates' pre-activations ai, af, ag, ao:
   c = f*cp + i*g, h = o*tanh(c), and when not NULL tanh(c) into tc and the
   activated gates into gates, gates + H, gates + 2H, gates + 3H. */
static KDTS__AINLINE void kdts__cell_vec(kdts__v ai, kdts__v af, kdts__v ag, kdts__v ao, const float *cp, float *c,
                                         float *tc, float *h, float *gates, int H, int n)
{
    kdts__v vi = kdts__vsigmoid(ai), vf = kdts__vsigmoid(af), vg = kdts__vtanh(ag), vo = kdts__vsigmoid(ao);
    kdts__v vc = kdts__vfma(vf, kdts__vldn(cp, n), kdts__vmul(vi, vg)), vt = kdts__vtanh(vc);
    if (gates) {
        kdts__vstn(gates, vi, n);
        kdts__vstn(gates + H, vf, n);
        kdts__vstn(gates + 2 * H, vg, n);
        kdts__vstn(gates + 3 * H, vo, n);
    }
    kdts__vstn(c, vc, n);
    if (tc) kdts__vstn(tc, vt, n);
    kdts__vstn(h, kdts__vmul(vo, vt), n);
}
#else
/* Without vectors, the same for one hidden unit; z: the four
   pre-activations. */
static void kdts__cell_one(const float *z, float cp, float *c, float *tc, float *h, float *gates, int H)
{
    float vi = kdts__sigmoidf(z[0]), vf = kdts__sigmoidf(z[1]), vg = tanhf(z[2]), vo = kdts__sigmoidf(z[3]);
    float vc = vf * cp + vi * vg, vt = tanhf(vc);
    if (gates) {
        gates[0] = vi;
        gates[H] = vf;
        gates[2 * H] = vg;
        gates[3 * H] = vo;
    }
    *c = vc;
    if (tc) *tc = vt;
    *h = vo * vt;
}
#endif

/* Fused LSTM cell for one step, n = B rows of 4H pre-activations g (in
   place, becomes the activated i,f,g,o), previous cell cp, new cell c,
   tanh(c) tc and hidden h (B,H each). bias (4H), when not NULL, is added
   to every row's pre-activations first.
     i = sigmoid(zi), f = sigmoid(zf), g = tanh(zg), o = sigmoid(zo)
     c = f*c_prev + i*g,  h = o*tanh(c) */
static void kdts__lstm_cell(float *gt, const float *bias, const float *cp, float *c, float *tc, float *h,
                            int B, int H)
{
    int b, j;
    for (b = 0; b < B; ++b) {
        float *z = gt + (size_t)b * 4 * H;
        size_t o = (size_t)b * H;
#ifdef KDTS__VW
        for (j = 0; j < H; j += KDTS__VW) {
            int n = H - j < KDTS__VW ? H - j : KDTS__VW;
            kdts__v ai = kdts__vldn(z + j, n), af = kdts__vldn(z + H + j, n);
            kdts__v ag = kdts__vldn(z + 2 * H + j, n), ao = kdts__vldn(z + 3 * H + j, n);
            if (bias) {
                ai = kdts__vadd(ai, kdts__vldn(bias + j, n));
                af = kdts__vadd(af, kdts__vldn(bias + H + j, n));
                ag = kdts__vadd(ag, kdts__vldn(bias + 2 * H + j, n));
                ao = kdts__vadd(ao, kdts__vldn(bias + 3 * H + j, n));
            }
            kdts__cell_vec(ai, af, ag, ao, cp + o + j, c + o + j, tc + o + j, h + o + j, z + j, H, n);
        }
#else
        for (j = 0; j < H; ++j) {
            float zz[4];
            int q;
            for (q = 0; q < 4; ++q) zz[q] = z[q * H + j] + (bias ? bias[q * H + j] : 0.0f);
            kdts__cell_one(zz, cp[o + j], c + o + j, tc + o + j, h + o + j, z + j, H);
        }
#endif
    }
}

/* Floats of a matrix of G gates (G*H rows, K columns) packed by
   kdts__pack_gates: H rounded up to whole vectors when there are vectors. */
static size_t kdts__gates_pack_floats(size_t H, size_t K, int G)
{
#ifdef KDTS__VW
    H = (H + KDTS__VW - 1) / KDTS__VW * KDTS__VW;
#endif
    return (size_t)G * H * K;
}

/* Pack a gate matrix W (G*H rows: G gates of H units each, in row order;
   K columns; row-major, like W_ih and W_hh) for a fused single-sequence
   step. With vectors: chunks of KDTS__VW units as (chunk, k, gate, lane),
   the last chunk padded with zeros, so one step streams the matrix once
   front to back; without: each unit as (unit, gate, k).
   kdts__gates_pack_floats(H, K, G) floats. */
static void kdts__pack_gates(float *KDTS__RESTRICT dst, const float *KDTS__RESTRICT W, int H, int K, int G)
{
    int j, k, q;
#ifdef KDTS__VW
    int l;
    for (j = 0; j < H; j += KDTS__VW, dst += (size_t)G * KDTS__VW * K)
        for (q = 0; q < G; ++q)
            for (l = 0; l < KDTS__VW; ++l) {
                /* row q*H + j + l of W, read in order, is lane l of gate q */
                const float *w = W + ((size_t)q * H + j + l) * K;
                float *d = dst + (size_t)q * KDTS__VW + l;
                if (j + l < H)
                    for (k = 0; k < K; ++k) d[(size_t)k * G * KDTS__VW] = w[k];
                else
                    for (k = 0; k < K; ++k) d[(size_t)k * G * KDTS__VW] = 0.0f;
            }
#else
    for (j = 0; j < H; ++j)
        for (q = 0; q < G; ++q)
            for (k = 0; k < K; ++k) *dst++ = W[((size_t)q * H + j) * K + k];
#endif
}

/* The LSTM's four gates i, f, g, o (for kdts__lstm_step1). */
static size_t kdts__step_pack_floats(size_t H, size_t K) { return kdts__gates_pack_floats(H, K, 4); }
static void kdts__pack_step(float *dst, const float *W, int H, int K) { kdts__pack_gates(dst, W, H, K, 4); }

#ifdef KDTS__VW
/* The four gates' pre-activations of one chunk of units (its first n,
   0 < n <= KDTS__VW): z (gate q's at z + q*H) + W_ih x + W_hh hp, wx and wh
   pointing at the chunk's packed rows. Even and odd k go to separate accumulators: two independent
   chains, half the dependent FMA latency. */
static KDTS__AINLINE void kdts__step1_z(const float *z, int n, const float *x, int I, const float *wx,
                                        const float *hp, int H, const float *wh, kdts__v *zi, kdts__v *zf,
                                        kdts__v *zg, kdts__v *zo)
{
    const int V = KDTS__VW;
    kdts__v ai = kdts__vldn(z, n), af = kdts__vldn(z + H, n), ag = kdts__vldn(z + 2 * H, n);
    kdts__v ao = kdts__vldn(z + 3 * H, n);
    kdts__v bi = kdts__vset(0.0f), bf = bi, bg = bi, bo = bi;
    const float *w = wx;
    int k;
    for (k = 0; k < I; ++k, w += 4 * V) {
        kdts__v s = kdts__vset(x[k]);
        ai = kdts__vfma(s, kdts__vld(w), ai);
        af = kdts__vfma(s, kdts__vld(w + V), af);
        ag = kdts__vfma(s, kdts__vld(w + 2 * V), ag);
        ao = kdts__vfma(s, kdts__vld(w + 3 * V), ao);
    }
    w = wh;
    for (k = 0; k + 2 <= H; k += 2, w += 8 * V) {
        kdts__v s0 = kdts__vset(hp[k]), s1 = kdts__vset(hp[k + 1]);
        ai = kdts__vfma(s0, kdts__vld(w), ai);
        af = kdts__vfma(s0, kdts__vld(w + V), af);
        ag = kdts__vfma(s0, kdts__vld(w + 2 * V), ag);
        ao = kdts__vfma(s0, kdts__vld(w + 3 * V), ao);
        bi = kdts__vfma(s1, kdts__vld(w + 4 * V), bi);
        bf = kdts__vfma(s1, kdts__vld(w + 5 * V), bf);
        bg = kdts__vfma(s1, kdts__vld(w + 6 * V), bg);
        bo = kdts__vfma(s1, kdts__vld(w + 7 * V), bo);
    }
    if (k < H) {
        kdts__v s0 = kdts__vset(hp[k]);
        ai = kdts__vfma(s0, kdts__vld(w), ai);
        af = kdts__vfma(s0, kdts__vld(w + V), af);
        ag = kdts__vfma(s0, kdts__vld(w + 2 * V), ag);
        ao = kdts__vfma(s0, kdts__vld(w + 3 * V), ao);
    }
    *zi = kdts__vadd(ai, bi);
    *zf = kdts__vadd(af, bf);
    *zg = kdts__vadd(ag, bg);
    *zo = kdts__vadd(ao, bo);
}
#endif

/* One LSTM step of a single sequence (B = 1) with the products and the cell
   fused per chunk of hidden units, so the pre-activations never leave
   registers:
     z = zin + W_ih x + W_hh hp      (4H: i, f, g, o)
   wx = W_ih (4H,I) and wh = W_hh (4H,H) packed by kdts__pack_step; zin holds
   the biases, or the whole input part G_t when I = 0. Then the cell as in
   kdts__lstm_cell; the activated gates (4H) and tanh(c) (H) are written
   when gates / tc are not NULL. c may be cp (updated in place); gates may be
   zin; h must not overlap hp. A last partial chunk of units uses partial
   loads and stores (its packed weights are zero-padded). rev != 0 runs the
   chunks last to first: alternating it from step to step makes a step
   start on the weights the previous one ended with, still in L1 when
   the matrix is larger than L1. */
static void kdts__lstm_step1(const float *zin, const float *x, int I, const float *wx, const float *hp,
                             const float *wh, const float *cp, float *c, float *tc, float *h, float *gates, int H,
                             int rev)
{
#ifdef KDTS__VW
    kdts__v zi, zf, zg, zo;
    int ci, nc = (H + KDTS__VW - 1) / KDTS__VW;
    for (ci = 0; ci < nc; ++ci) {
        int j = (rev ? nc - 1 - ci : ci) * KDTS__VW;
        int n = H - j < KDTS__VW ? H - j : KDTS__VW;
        kdts__step1_z(zin + j, n, x, I, wx + (size_t)j * 4 * I, hp, H, wh + (size_t)j * 4 * H, &zi, &zf, &zg, &zo);
        kdts__cell_vec(zi, zf, zg, zo, cp + j, c + j, tc ? tc + j : NULL, h + j, gates ? gates + j : NULL, H, n);
    }
#else
    {
        const float *tx = wx, *th = wh;
        int j, k;
        (void)rev;
        for (j = 0; j < H; ++j, tx += 4 * I, th += 4 * H) {
            float z[4];
            int q;
            for (q = 0; q < 4; ++q) {
                const float *a = tx + (size_t)q * I, *b = th + (size_t)q * H;
                float s = zin[q * H + j];
                for (k = 0; k < I; ++k) s += x[k] * a[k];
                for (k = 0; k < H; ++k) s += hp[k] * b[k];
                z[q] = s;
            }
            kdts__cell_one(z, cp[j], c + j, tc ? tc + j : NULL, h + j, gates ? gates + j : NULL, H);
        }
    }
#endif
}

/* Backward of the cell for one step. gt: activated gates (B,4H); cp: c_{t-1};
   tc: tanh(c_t); dh: total dL/dh_t (B,H); dc: in: dL/dc_t from step t+1,
   out: dL/dc_{t-1}; dz: out, gradient w.r.t. the pre-activations (B,4H).
     dc_t += dh*o*(1-tanh(c)^2)
     dzo = dh*tanh(c)*o*(1-o); dzi = dc_t*g*i*(1-i)
     dzf = dc_t*c_{t-1}*f*(1-f); dzg = dc_t*i*(1-g^2); dc_{t-1} = dc_t*f */
static void kdts__lstm_cell_back(const float *gt, const float *cp, const float *tc,
                                 const float *dh, float *dc, float *dz, int B, int H)
{
    int b, j;
    for (b = 0; b < B; ++b) {
        const float *gi = gt + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        float *zi = dz + (size_t)b * 4 * H, *zf = zi + H, *zg = zf + H, *zo = zg + H;
        const float *cpb = cp + (size_t)b * H, *tcb = tc + (size_t)b * H, *dhb = dh + (size_t)b * H;
        float *dcb = dc + (size_t)b * H;
        j = 0;
#ifdef KDTS__VW
        {
            kdts__v one = kdts__vset(1.0f);
            for (; j + KDTS__VW <= H; j += KDTS__VW) {
                kdts__v i = kdts__vld(gi + j), f = kdts__vld(gf + j), g = kdts__vld(gg + j);
                kdts__v o = kdts__vld(go + j), t = kdts__vld(tcb + j), d = kdts__vld(dhb + j);
                kdts__v dct = kdts__vfma(kdts__vmul(d, o), kdts__vsub(one, kdts__vmul(t, t)), kdts__vld(dcb + j));
                kdts__vst(zo + j, kdts__vmul(kdts__vmul(d, t), kdts__vmul(o, kdts__vsub(one, o))));
                kdts__vst(zi + j, kdts__vmul(kdts__vmul(dct, g), kdts__vmul(i, kdts__vsub(one, i))));
                kdts__vst(zf + j, kdts__vmul(kdts__vmul(dct, kdts__vld(cpb + j)), kdts__vmul(f, kdts__vsub(one, f))));
                kdts__vst(zg + j, kdts__vmul(kdts__vmul(dct, i), kdts__vsub(one, kdts__vmul(g, g))));
                kdts__vst(dcb + j, kdts__vmul(dct, f));
            }
        }
#endif
        for (; j < H; ++j) {
            float i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tcb[j], d = dhb[j];
            float dct = dcb[j] + d * o * (1.0f - t * t);
            zo[j] = d * t * o * (1.0f - o);
            zi[j] = dct * g * i * (1.0f - i);
            zf[j] = dct * cpb[j] * f * (1.0f - f);
            zg[j] = dct * i * (1.0f - g * g);
            dcb[j] = dct * f;
        }
    }
}

/* ======================================================================== */
/* >>lstm                                                                   */
/* ======================================================================== */

/* The defaults and field checks of kdts_lstm_config_check (shared by the
   GRU, whose config has the same fields); not the parameter count. */
static kdts_result kdts__arch_check(kdts_lstm_config *c, kdts_error *err)
{
    if (c->input == 0) c->input = 1;
    if (c->layers == 0) c->layers = 1;
    if (c->horizon == 0) c->horizon = 1;
    if (c->mode == KDTS_MODE_DIST && c->bins == 0) c->bins = 32;
    if (c->mode == KDTS_MODE_DIST && c->bin_lo == 0.0f && c->bin_hi == 0.0f) {
        c->bin_lo = -4.0f;
        c->bin_hi = 4.0f;
    }
    if (c->input < 1 || c->input > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "input width %d out of range 1..%d", c->input, KDTS_MAX_DIM);
    if (c->hidden < 1 || c->hidden > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "hidden size %d out of range 1..%d", c->hidden, KDTS_MAX_DIM);
    if (c->layers < 1 || c->layers > KDTS_MAX_LAYERS)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "layers %d out of range 1..%d", c->layers, KDTS_MAX_LAYERS);
    if (c->horizon < 1 || c->horizon > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "horizon %d out of range 1..%d", c->horizon, KDTS_MAX_DIM);
    if (c->mode != KDTS_MODE_POINT && c->mode != KDTS_MODE_DIST)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "unknown output mode %d", (int)c->mode);
    if (c->mode == KDTS_MODE_DIST) {
        if (c->bins < 2 || c->bins > 4096)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "bins %d out of range 2..4096", c->bins);
        if (!(c->bin_hi > c->bin_lo) || !kdts__isfinite(c->bin_lo) || !kdts__isfinite(c->bin_hi))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "bin range must satisfy lo < hi");
        if ((long)c->horizon * c->bins > KDTS_MAX_DIM)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "horizon x bins exceeds %d", KDTS_MAX_DIM);
    } else {
        c->bins = 0;
        c->bin_lo = c->bin_hi = 0.0f;
    }
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "dropout must be in [0, 1)");
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_lstm_config_check(kdts_lstm_config *c, kdts_error *err)
{
    kdts_result r = kdts__arch_check(c, err);
    if (r != KDTS_OK) return r;
    if (kdts_lstm_param_count(c) == 0)
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "parameter count overflows");
    return KDTS_OK;
}

static int kdts__outputs(const kdts_lstm_config *c)
{
    return c->mode == KDTS_MODE_DIST ? c->horizon * c->bins : c->horizon;
}

/* Parameter count of a stacked recurrent network with G gate blocks of H
   rows per layer (4 for the LSTM, 3 for the GRU) and the head, with
   overflow checks, on an already validated config; when off is not NULL
   it receives the offsets: per layer l W_ih, W_hh, b_ih, b_hh at
   off[4l .. 4l+3], then the head's W and b at off[4L], off[4L+1]. */
static size_t kdts__rnn_layout(const kdts_lstm_config *c, size_t G, size_t *off)
{
    size_t H = (size_t)c->hidden, total = 0, t, n;
    int l;
    for (l = 0; l < c->layers; ++l) {
        size_t I = l == 0 ? (size_t)c->input : H;
        if (off) off[4 * l] = total;
        if (!kdts__mul_ok(G * H, I, &n) || !kdts__add_ok(total, n, &total)) return 0;
        if (off) off[4 * l + 1] = total;
        if (!kdts__mul_ok(G * H, H, &n) || !kdts__add_ok(total, n, &total)) return 0;
        if (off) off[4 * l + 2] = total;
        total += G * H;
        if (off) off[4 * l + 3] = total;
        total += G * H;
    }
    if (off) off[4 * c->layers] = total;
    if (!kdts__mul_ok((size_t)kdts__outputs(c), H, &n) || !kdts__add_ok(total, n, &total)) return 0;
    if (off) off[4 * c->layers + 1] = total;
    if (!kdts__add_ok(total, (size_t)kdts__outputs(c), &total)) return 0;
    if (!kdts__mul_ok(total, 2 * sizeof(float), &t)) return 0;
    return total;
}

/* Parameter count with overflow checks on an already validated config. */
static size_t kdts__param_layout(const kdts_lstm_config *c, kdts_lstm *m)
{
    size_t off[4 * KDTS_MAX_LAYERS + 2], n = kdts__rnn_layout(c, 4, off);
    int l;
    if (m && n) {
        for (l = 0; l < c->layers; ++l) {
            m->off_wih[l] = off[4 * l];
            m->off_whh[l] = off[4 * l + 1];
            m->off_bih[l] = off[4 * l + 2];
            m->off_bhh[l] = off[4 * l + 3];
        }
        m->off_head_w = off[4 * c->layers];
        m->off_head_b = off[4 * c->layers + 1];
    }
    return n;
}

/* The defaults of kdts_lstm_config_check on a copy, for the counts: 0 if a
   field is out of range. */
static int kdts__arch_defaults(kdts_lstm_config *c)
{
    if (c->hidden < 1 || c->input < 0 || c->layers < 0 || c->horizon < 0) return 0;
    if (c->input == 0) c->input = 1;
    if (c->layers == 0) c->layers = 1;
    if (c->horizon == 0) c->horizon = 1;
    if (c->mode == KDTS_MODE_DIST && c->bins == 0) c->bins = 32;
    if (c->layers > KDTS_MAX_LAYERS || c->input > KDTS_MAX_DIM || c->hidden > KDTS_MAX_DIM ||
        c->horizon > KDTS_MAX_DIM || (c->mode == KDTS_MODE_DIST && (c->bins < 2 || c->bins > 4096)))
        return 0;
    return 1;
}

KDTSDEF size_t kdts_lstm_param_count(const kdts_lstm_config *cfg)
{
    kdts_lstm_config c;
    if (!cfg) return 0;
    c = *cfg;
    if (!kdts__arch_defaults(&c)) return 0;
    return kdts__param_layout(&c, NULL);
}

/* Forward FLOPs of a stacked recurrent network with G gate blocks per
   layer (products 2*G*H*(I+H), biases 2*G*H) and `cell` operations per
   hidden unit and step, plus the head at every step (head_steps = T) or
   at the last one (1). */
static double kdts__rnn_flops(const kdts_lstm_config *c, int T, double G, double cell, int head_steps)
{
    double H = c->hidden, f = 0.0;
    int l, L = c->layers ? c->layers : 1;
    int O = c->mode == KDTS_MODE_DIST ? (c->horizon ? c->horizon : 1) * (c->bins ? c->bins : 32)
                                      : (c->horizon ? c->horizon : 1);
    for (l = 0; l < L; ++l) {
        double I = l == 0 ? (c->input ? c->input : 1) : H;
        f += 2.0 * G * H * (I + H) + G * 2.0 * H /* biases */ + cell * H /* cell */;
    }
    return f * T + (double)head_steps * (2.0 * H * O + O);
}

KDTSDEF double kdts_lstm_flops(const kdts_lstm_config *c, int T) { return kdts__rnn_flops(c, T, 4.0, 10.0, T); }

KDTSDEF double kdts_lstm_forecast_flops(const kdts_lstm_config *c, int T)
{
    return T < 1 ? 0.0 : kdts__rnn_flops(c, T, 4.0, 10.0, 1);
}

/* p (n) uniform in +-1/sqrt(H) from seed (PyTorch's recurrent init). */
static void kdts__init_uniform(float *p, size_t n, int H, unsigned long long seed)
{
    kdts_rng r;
    size_t i;
    float k = 1.0f / sqrtf((float)H);
    kdts_rng_seed(&r, seed);
    for (i = 0; i < n; ++i) p[i] = (2.0f * kdts_rng_uniform(&r) - 1.0f) * k;
}

KDTSDEF void kdts_lstm_reset(kdts_lstm *m, unsigned long long seed)
{
    kdts__init_uniform(m->params, m->nparams, m->cfg.hidden, seed);
    kdts_lstm_zero_grad(m);
}

KDTSDEF kdts_result kdts_lstm_init(kdts_lstm *m, const kdts_lstm_config *cfg,
                                   unsigned long long seed, kdts_error *err)
{
    kdts_lstm t;
    kdts_result r;
    memset(&t, 0, sizeof t);
    t.cfg = *cfg;
    r = kdts_lstm_config_check(&t.cfg, err);
    if (r != KDTS_OK) return r;
    t.outputs = kdts__outputs(&t.cfg);
    t.nparams = kdts__param_layout(&t.cfg, &t);
    t.params = kdts__falloc(t.nparams);
    t.grads = kdts__falloc(t.nparams);
    if (!t.params || !t.grads) {
        kdts__free_aligned(t.params);
        kdts__free_aligned(t.grads);
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for %lu parameters",
                          (unsigned long)t.nparams);
    }
    *m = t;
    kdts_lstm_reset(m, seed);
    return KDTS_OK;
}

KDTSDEF void kdts_lstm_free(kdts_lstm *m)
{
    if (!m) return;
    kdts__free_aligned(m->params);
    kdts__free_aligned(m->grads);
    m->params = m->grads = NULL;
    m->nparams = 0;
}

KDTSDEF void kdts_lstm_zero_grad(kdts_lstm *m)
{
    if (m->grads) memset(m->grads, 0, m->nparams * sizeof(float));
}

/* ---- workspace ---------------------------------------------------------- */

/* Widest input whose product a single sequence (B = 1) fuses into each
   step, and that the forward computes by kdts__proj_small instead of a
   GEMM (a GEMM with K this small is mostly overhead). */
#define KDTS__FUSE_IN 8

/* Whether a layer's input of width I is narrow: its product computed by
   kdts__proj_small (or inside the single-sequence step), not a GEMM. */
static int kdts__narrow(int I, int H) { return I <= KDTS__FUSE_IN && (size_t)4 * H * (size_t)I <= KDTS__GEMM_SCRATCH; }

/* The backward runs through time in blocks of this many rows of dz (4H
   floats each) at most, and at least one step: small enough to stay in L2
   until the block's weight-gradient products have read it. */
#define KDTS__BWD_BLOCK_FLOATS 65536

/* Steps per block for a batch of B (at least 1, at most T). */
static int kdts__bwd_block(int B, int H, int T)
{
    size_t tb = KDTS__BWD_BLOCK_FLOATS / ((size_t)4 * H * B);
    if (tb < 1) tb = 1;
    return tb > (size_t)T ? T : (int)tb;
}

/* Floats of one thread's private gradient sums in a backward with R gate
   rows (4H for the LSTM, 3H for the GRU), layer input width I and O head
   outputs: dW_hh (R,H), dW_ih (R,I), the two biases (R each), the head's
   dW (O,H) and db (O). */
static size_t kdts__priv_floats(size_t R, size_t H, size_t I, size_t O) { return R * (H + I + 2) + O * (H + 1); }

/* In a workspace layout walk (locals base, off, ok): the next `count`
   floats, rounded to 16 (64 bytes), for ptr; only counted when base is
   NULL; ok = 0 on overflow. */
#define KDTS__CARVE(ptr, count)                                                     \
    do {                                                                            \
        size_t n_ = (count), r_;                                                    \
        if (n_ > ((size_t)-1) / 8) ok = 0;                                          \
        r_ = (n_ + 15) & ~(size_t)15;                                               \
        if (!kdts__add_ok(off, r_, &off)) ok = 0;                                   \
        if (base && ok) (ptr) = base + off - r_;                                    \
    } while (0)

/* Walk the workspace layout: with base == NULL only count floats. Every
   carved block is rounded to 16 floats (64 bytes). Returns 0 on overflow. */
static size_t kdts__ws_layout(kdts_lstm_ws *ws, float *base)
{
    const kdts_lstm_config *c = &ws->cfg;
    size_t B = (size_t)ws->max_batch, T = (size_t)ws->max_steps, H = (size_t)c->hidden;
    size_t F = (size_t)c->input, O = (size_t)ws->outputs, off = 0, TB;
    size_t maxI = F > H ? F : H;
    int l, ok = 1;
    if (!kdts__mul_ok(T, B, &TB)) return 0;
    if (TB > ((size_t)-1) / 64 / (maxI + 4 * H + O + 1)) return 0;
    KDTS__CARVE(ws->xin, TB * F);
    for (l = 0; l < c->layers; ++l) {
        KDTS__CARVE(ws->gates[l], TB * 4 * H);
        KDTS__CARVE(ws->c[l], (TB + B) * H);
        KDTS__CARVE(ws->h[l], (TB + B) * H);
        KDTS__CARVE(ws->tc[l], TB * H);
        if (ws->train && c->dropout > 0.0f) {
            KDTS__CARVE(ws->drop[l], TB * H);
            KDTS__CARVE(ws->mask[l], TB * H);
        }
        {
            /* W_hh packed for the batch GEMM, or for the single-sequence step */
            size_t pg = kdts__packed_b_size((int)H, (int)(4 * H)), ps = kdts__step_pack_floats(H, H);
            size_t I = l == 0 ? F : H;
            KDTS__CARVE(ws->wpack_f[l], pg > ps ? pg : ps);
            KDTS__CARVE(ws->wpack_x[l], kdts__narrow((int)I, (int)H) ? 4 * H * I
                                                                     : kdts__packed_b_size((int)I, (int)(4 * H)));
        }
        if (ws->train) KDTS__CARVE(ws->wpack_b[l], kdts__packed_b_size((int)(4 * H), (int)H));
    }
    KDTS__CARVE(ws->out, TB * O);
    if (ws->threads > 1) KDTS__CARVE(ws->outb, TB * O);
    if (ws->train) {
        /* dz of one block of steps (kdts__bwd_block) */
        size_t rb = KDTS__BWD_BLOCK_FLOATS / (4 * H), rows;
        rows = rb > B ? (rb < TB ? rb : TB) : B;
        ws->dg_floats = rows * 4 * H;
        KDTS__CARVE(ws->dG, ws->dg_floats);
        if (ws->threads > 1) {
            /* dW_hh, dW_ih, two bias sums, the head's dW and db */
            ws->tpriv_floats = (kdts__priv_floats(4 * H, H, maxI, O) + 15) & ~(size_t)15;
            KDTS__CARVE(ws->tpriv, ws->tpriv_floats * (size_t)ws->threads);
        }
        KDTS__CARVE(ws->dA, TB * maxI);
        KDTS__CARVE(ws->dB, TB * maxI);
        KDTS__CARVE(ws->dh, B * H);
        KDTS__CARVE(ws->dc, B * H);
        KDTS__CARVE(ws->dout, TB * O);
    }
    KDTS__CARVE(ws->scratch, KDTS__GEMM_SCRATCH * (size_t)ws->threads);
    KDTS__CARVE(ws->bsum, 4 * H);
    return ok ? off : 0;
}

KDTSDEF kdts_result kdts_lstm_ws_init(kdts_lstm_ws *ws, const kdts_lstm_config *cfg,
                                      int max_batch, int max_steps, int train, kdts_error *err)
{
    kdts_lstm_ws t;
    kdts_result r;
    size_t n;
    memset(&t, 0, sizeof t);
    t.cfg = *cfg;
    r = kdts_lstm_config_check(&t.cfg, err);
    if (r != KDTS_OK) return r;
    if (max_batch < 1 || max_steps < 1 || max_batch > KDTS_MAX_DIM * 16 || max_steps > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "workspace for batch %d x steps %d is out of range",
                          max_batch, max_steps);
    t.outputs = kdts__outputs(&t.cfg);
    t.max_batch = max_batch;
    t.max_steps = max_steps;
    t.train = train ? 1 : 0;
    t.threads = 1;
#ifdef _OPENMP
    t.threads = omp_get_max_threads() < 1 ? 1 : (omp_get_max_threads() > 64 ? 64 : omp_get_max_threads());
#endif
    n = kdts__ws_layout(&t, NULL);
    if (n == 0) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "workspace size overflows");
    t.mem = kdts__falloc(n);
    if (!t.mem)
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for a %lu-byte workspace",
                          (unsigned long)(n * sizeof(float)));
    t.mem_floats = n;
    kdts__ws_layout(&t, t.mem);
    *ws = t;
    return KDTS_OK;
}

KDTSDEF void kdts_lstm_ws_free(kdts_lstm_ws *ws)
{
    if (!ws) return;
    kdts__free_aligned(ws->mem);
    memset(ws, 0, sizeof *ws);
}

static int kdts__same_arch(const kdts_lstm_config *a, const kdts_lstm_config *b)
{
    return a->input == b->input && a->hidden == b->hidden && a->layers == b->layers &&
           a->horizon == b->horizon && a->mode == b->mode && a->bins == b->bins;
}

/* dst (T,B,F) = src (B,T,F) when bt == 1, or dst (B,T,F) = src (T,B,F)
   when bt == 0 (the same loop with the two layouts swapped). */
static void kdts__swap_bt(float *KDTS__RESTRICT dst, const float *KDTS__RESTRICT src, int B, int T, int F, int bt)
{
    int b, t, f;
    for (b = 0; b < B; ++b)
        for (t = 0; t < T; ++t) {
            size_t bm = ((size_t)b * T + t) * F, tm = ((size_t)t * B + b) * F;
            float *d = dst + (bt ? tm : bm);
            const float *s = src + (bt ? bm : tm);
            if (F == 1) d[0] = s[0];
            else for (f = 0; f < F; ++f) d[f] = s[f];
        }
}

/* dst (rows,n) = row in every row: the first copied, then the filled part
   doubled, so a few large copies instead of one per row. */
static void kdts__fill_rows(float *dst, const float *row, size_t n, size_t rows)
{
    size_t done = 1;
    if (rows == 0) return;
    memcpy(dst, row, n * sizeof(float));
    while (done < rows) {
        size_t k = rows - done < done ? rows - done : done;
        memcpy(dst + done * n, dst, k * n * sizeof(float));
        done += k;
    }
}

/* The share of n items (in multiples of q) of thread tid of nt: first
   *i0, count *cnt (possibly 0). */
static void kdts__share(int n, int nt, int tid, int q, int *i0, int *cnt)
{
    int per = ((n + nt - 1) / nt + q - 1) / q * q;
    *i0 = tid * per;
    *cnt = n - *i0 < per ? n - *i0 : per;
    if (*cnt < 0) *cnt = 0;
}

/* Row blocks for a batch of B in a workspace made for `threads` threads
   (kdts_lstm_ws.part, kdts_gru_ws.part): with OpenMP one per thread when
   the batch is large enough to split, else 1. */
static int kdts__parts(int threads, int B)
{
#ifdef _OPENMP
    int p = omp_get_max_threads();
    if (B < 2 * KDTS__MR || omp_in_parallel() || p < 2) return 1;
    if (p > threads) p = threads;
    return p < B / KDTS__MR ? p : B / KDTS__MR; /* blocks of KDTS__MR rows or more */
#else
    (void)threads;
    (void)B;
    return 1;
#endif
}

/* Block k of the part row blocks of a batch of B: first row *b0, rows *nb. */
static void kdts__block(int B, int part, int k, int *b0, int *nb) { kdts__share(B, part, k, KDTS__MR, b0, nb); }

/* kdts__swap_bt on each row block of the blocked layout: block k of the
   (B,T,F) array is the sub-batch of rows b0.., time-major at row b0*T of
   the other. */
static void kdts__swap_blocks(float *dst, const float *src, int B, int T, int F, int part, int bt)
{
    int k, b0, nb;
    for (k = 0; k < part; ++k) {
        kdts__block(B, part, k, &b0, &nb);
        if (nb > 0) kdts__swap_bt(dst + (size_t)b0 * T * F, src + (size_t)b0 * T * F, nb, T, F, bt);
    }
}

/* One team for the row blocks of a batch (part of them, at most part
   threads; one thread without OpenMP). The body sees tid_ and nt_, runs
   blocks tid_, tid_ + nt_, ... and may use KDTS__TEAM_BARRIER. */
#ifdef _OPENMP
#define KDTS__TEAM_BEGIN(part)                                    \
    {                                                             \
        int pth_ = (part);                                        \
        _Pragma("omp parallel num_threads(pth_) if (pth_ > 1)")   \
        {                                                         \
            int tid_ = omp_get_thread_num(), nt_ = omp_get_num_threads();
#define KDTS__TEAM_BARRIER _Pragma("omp barrier")
#define KDTS__TEAM_END \
        }              \
    }
#else
#define KDTS__TEAM_BEGIN(part) \
    {                          \
        int tid_ = 0, nt_ = 1;
#define KDTS__TEAM_BARRIER
#define KDTS__TEAM_END }
#endif

/* wt (I,n) = W^T for W (n,I): the packing kdts__proj_small reads. */
static void kdts__pack_small(float *KDTS__RESTRICT wt, const float *KDTS__RESTRICT W, int I, int n)
{
    int j, f;
    for (f = 0; f < I; ++f)
        for (j = 0; j < n; ++j) wt[(size_t)f * n + j] = W[(size_t)j * I + f];
}

/* G (rows,n) = bias + X W^T for a narrow X (rows,I), wt = W^T packed by
   kdts__pack_small: each row of G in registers. */
static void kdts__proj_small(float *KDTS__RESTRICT G, const float *KDTS__RESTRICT X, size_t rows, int I,
                             const float *KDTS__RESTRICT wt, const float *KDTS__RESTRICT bias, int n)
{
    size_t r;
    int j, f;
    for (r = 0; r < rows; ++r) {
        const float *x = X + r * I;
        float *g = G + r * n;
        j = 0;
#ifdef KDTS__VW
        for (; j + KDTS__VW <= n; j += KDTS__VW) {
            kdts__v a = kdts__vld(bias + j);
            for (f = 0; f < I; ++f) a = kdts__vfma(kdts__vset(x[f]), kdts__vld(wt + (size_t)f * n + j), a);
            kdts__vst(g + j, a);
        }
#endif
        for (; j < n; ++j) {
            float a = bias[j];
            for (f = 0; f < I; ++f) a += x[f] * wt[(size_t)f * n + j];
            g[j] = a;
        }
    }
}

/* For a univariate input x (rows) and dG (rows,n; rows ld apart), in one
   pass over dG: gw (n) += dG^T x and gb1 and, when not NULL, gb2 (n) +=
   the column sums of dG (a GEMM with N = 1 is mostly overhead). Even and odd rows go to separate
   accumulators (shorter chains). */
static void kdts__dgrad_univariate(float *gw, float *gb1, float *gb2, const float *dG, const float *x, size_t rows,
                                   int n, size_t ld)
{
    int j = 0;
    size_t r;
#ifdef KDTS__VW
    for (; j + KDTS__VW <= n; j += KDTS__VW) {
        kdts__v s0 = kdts__vset(0.0f), s1 = s0, w0 = s0, w1 = s0;
        for (r = 0; r + 2 <= rows; r += 2) {
            kdts__v d0 = kdts__vld(dG + r * ld + j), d1 = kdts__vld(dG + (r + 1) * ld + j);
            s0 = kdts__vadd(s0, d0);
            s1 = kdts__vadd(s1, d1);
            w0 = kdts__vfma(kdts__vset(x[r]), d0, w0);
            w1 = kdts__vfma(kdts__vset(x[r + 1]), d1, w1);
        }
        if (r < rows) {
            kdts__v d0 = kdts__vld(dG + r * ld + j);
            s0 = kdts__vadd(s0, d0);
            w0 = kdts__vfma(kdts__vset(x[r]), d0, w0);
        }
        s0 = kdts__vadd(s0, s1);
        kdts__vst(gb1 + j, kdts__vadd(kdts__vld(gb1 + j), s0));
        if (gb2) kdts__vst(gb2 + j, kdts__vadd(kdts__vld(gb2 + j), s0));
        kdts__vst(gw + j, kdts__vadd(kdts__vld(gw + j), kdts__vadd(w0, w1)));
    }
#endif
    for (; j < n; ++j) {
        float s = 0.0f, w = 0.0f;
        for (r = 0; r < rows; ++r) {
            float d = dG[r * ld + j];
            s += d;
            w += x[r] * d;
        }
        gb1[j] += s;
        if (gb2) gb2[j] += s;
        gw[j] += w;
    }
}

/* ---- forward ------------------------------------------------------------ */

/* The outputs of a layer (H wide) at step 0 of the row block (b0, nb) of
   a forward over T steps, in the blocked layout of the workspaces: with
   dropout the dropped outputs drop (blocks of T*nb rows), else the hidden
   states h (blocks of (T+1)*nb rows, the initial state first); its steps
   are nb rows apart. */
static const float *kdts__block_out(const float *h, const float *drop, int T, int H, int b0, int nb)
{
    if (drop) return drop + (size_t)b0 * T * H;
    return h + ((size_t)b0 * (T + 1) + (size_t)nb) * H;
}

/* The input of layer l (l == layers: the head's) at step 0 of the row
   block (b0, nb) of the last forward; its steps are nb rows apart. */
static const float *kdts__layer_input(const kdts_lstm_ws *ws, int l, int b0, int nb)
{
    if (l == 0) return ws->xin + (size_t)b0 * ws->T * ws->cfg.input;
    return kdts__block_out(ws->h[l - 1], ws->dropout_active ? ws->drop[l - 1] : NULL, ws->T, ws->cfg.hidden, b0, nb);
}

/* Inverted dropout on one layer's outputs: mask (T steps x B rows x H, in
   the blocked layout of P row blocks) gets 1/(1-p) with probability 1-p,
   else 0, drawn from rng in (t, b, unit) order whatever the blocks, so the
   masks do not depend on the number of threads. */
static void kdts__dropout_draw(float *mask, int B, int T, int H, int P, float p, kdts_rng *rng)
{
    float keep = 1.0f - p, scale = 1.0f / keep;
    int k, b0, nb, t, r;
    for (t = 0; t < T; ++t)
        for (k = 0; k < P; ++k) {
            float *mk;
            kdts__block(B, P, k, &b0, &nb);
            mk = mask + ((size_t)b0 * T + (size_t)t * nb) * H;
            for (r = 0; r < nb * H; ++r) mk[r] = kdts_rng_uniform(rng) < keep ? scale : 0.0f;
        }
}

/* The head of a forward over B rows of T steps in P row blocks: out = Top
   W^T + b at every step, or (last) at the last one; Top: the top layer's
   outputs h / drop as in kdts__block_out. Each thread on its row blocks:
   all their steps in one product (into outb with several blocks, then
   those rows into wsout (T,B,O); one block is already in that order), or
   the last step into wsout (B,O); then into out ((B,T,O) or (B,O)) when
   not NULL. One block: a team of one, so the product may still be split
   across threads by kdts__gemm_core. scratch: KDTS__GEMM_SCRATCH floats
   per thread. */
static void kdts__head_fwd(const float *hw, const float *hb, const float *h, const float *drop, int B, int T, int H,
                           int O, int P, int last, float *wsout, float *outb, float *out, float *scratch)
{
    KDTS__TEAM_BEGIN(P)
    {
        int k, b0, nb, t;
        float *scr = scratch + (size_t)tid_ * KDTS__GEMM_SCRATCH;
        for (k = tid_; k < P; k += nt_) {
            const float *top;
            float *ob;
            size_t rows;
            kdts__block(B, P, k, &b0, &nb);
            if (nb <= 0) continue;
            top = kdts__block_out(h, drop, T, H, b0, nb);
            if (last) top += (size_t)(T - 1) * nb * H;
            rows = last ? (size_t)nb : (size_t)T * nb;
            ob = last ? wsout + (size_t)b0 * O : (P > 1 ? outb : wsout) + (size_t)b0 * T * O;
            kdts__fill_rows(ob, hb, (size_t)O, rows);
            kdts__gemm_core(KDTS_NOTRANS, KDTS_TRANS, (int)rows, O, H, 1.0f, top, H, hw, H, 1.0f, ob, O, scr, NULL);
            if (last) {
                if (out) memcpy(out + (size_t)b0 * O, ob, (size_t)nb * O * sizeof(float));
                continue;
            }
            for (t = 0; P > 1 && t < T; ++t)
                memcpy(wsout + ((size_t)t * B + b0) * O, ob + (size_t)t * nb * O, (size_t)nb * O * sizeof(float));
            if (out) kdts__swap_bt(out + (size_t)b0 * T * O, ob, nb, T, O, 0);
        }
    }
    KDTS__TEAM_END
}

/* The forward pass; last != 0 applies the head to the last step only
   (ws->out then holds (B,O)). */
static kdts_result kdts__lstm_fwd(const kdts_lstm *m, kdts_lstm_ws *ws, const float *x, int B, int T,
                                  const float *h0, const float *c0, float *out, int train, kdts_rng *rng,
                                  int last, kdts_error *err)
{
    const kdts_lstm_config *c = &m->cfg;
    int H = c->hidden, F = c->input, O = m->outputs, L = c->layers;
    int l, P;
    const float *hw = m->params + m->off_head_w, *hb = m->params + m->off_head_b;
    if (!kdts__same_arch(c, &ws->cfg))
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "lstm: the workspace was made for another architecture");
    if (B < 1 || T < 1 || B > ws->max_batch || T > ws->max_steps)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0,
                          "lstm: %d windows of %d steps do not fit a workspace of %d x %d (or are < 1)", B, T,
                          ws->max_batch, ws->max_steps);
    if (!x) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "lstm: no input");
    if (train && !ws->train)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "lstm: a training forward needs a training workspace");
    if (train && c->dropout > 0.0f && ws->drop[0] != NULL && !rng)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "lstm: dropout needs a random number generator");
    ws->B = B;
    ws->T = T;
    ws->dropout_active = train && c->dropout > 0.0f && ws->drop[0] != NULL;
    ws->part = P = B == 1 ? 1 : kdts__parts(ws->threads, B);
    /* (B,T,F) -> (T,B,F), block by block */
    kdts__swap_blocks(ws->xin, x, B, T, F, P, 1);
    for (l = 0; l < L; ++l) {
        const float *wih = m->params + m->off_wih[l], *whh = m->params + m->off_whh[l];
        const float *bih = m->params + m->off_bih[l], *bhh = m->params + m->off_bhh[l];
        float *G = ws->gates[l], *hs = ws->h[l], *cs = ws->c[l];
        float *bs = ws->bsum;
        int I = l == 0 ? F : H, j, narrow = kdts__narrow(I, H);
        for (j = 0; j < 4 * H; ++j) bs[j] = bih[j] + bhh[j];
        if (ws->dropout_active) kdts__dropout_draw(ws->mask[l], B, T, H, P, c->dropout, rng);
        if (B == 1) {
            /* One sequence: each step fused, weights packed for it. The
               input part of the pre-activations (W_ih x_t + b_ih + b_hh):
               inside the step for a narrow input; else for all steps at
               once into G, by a direct loop or a GEMM. */
            const float *layer_in = kdts__layer_input(ws, l, 0, 1);
            float *wt = ws->wpack_f[l], *wx = ws->scratch;
            int t, fuse = narrow && kdts__step_pack_floats((size_t)H, (size_t)I) <= KDTS__GEMM_SCRATCH;
            if (h0) memcpy(hs, h0 + (size_t)l * H, (size_t)H * sizeof(float));
            else memset(hs, 0, (size_t)H * sizeof(float));
            if (c0) memcpy(cs, c0 + (size_t)l * H, (size_t)H * sizeof(float));
            else memset(cs, 0, (size_t)H * sizeof(float));
            if (fuse) {
                kdts__pack_step(wx, wih, H, I);
            } else if (narrow) {
                kdts__pack_small(ws->wpack_x[l], wih, I, 4 * H);
                kdts__proj_small(G, layer_in, (size_t)T, I, ws->wpack_x[l], bs, 4 * H);
            } else {
                kdts__fill_rows(G, bs, (size_t)4 * H, (size_t)T);
                kdts__gemm_core(KDTS_NOTRANS, KDTS_TRANS, T, 4 * H, I, 1.0f, layer_in, I, wih, I, 1.0f, G, 4 * H,
                                ws->scratch, NULL);
            }
            kdts__pack_step(wt, whh, H, H);
            for (t = 0; t < T; ++t) {
                float *gt = G + (size_t)t * 4 * H;
                kdts__lstm_step1(fuse ? bs : gt, layer_in + (size_t)t * I, fuse ? I : 0, wx, hs + (size_t)t * H, wt,
                                 cs + (size_t)t * H, cs + (size_t)(t + 1) * H, train ? ws->tc[l] + (size_t)t * H : NULL,
                                 hs + (size_t)(t + 1) * H, train ? gt : NULL, H, t & 1);
            }
            if (ws->dropout_active) {
                const float *mk = ws->mask[l];
                float *dr = ws->drop[l];
                size_t r;
                for (r = 0; r < (size_t)T * H; ++r) dr[r] = hs[H + r] * mk[r];
            }
            continue;
        }
        /* A batch: W_hh^T and W_ih^T packed once (a narrow W_ih transposed
           for kdts__proj_small), reused at every step. At each step the
           input part then the recurrent part into G_t, which stays in L1
           for the cell; the cell adds the biases when a GEMM did the input
           part. The rows of the batch are independent: with OpenMP each
           thread runs all T steps on its own block of rows, which it keeps
           in its core's caches (the blocked layout keeps it apart from the
           other threads' rows). */
        if (narrow) kdts__pack_small(ws->wpack_x[l], wih, I, 4 * H);
        else kdts__pack_b_full(ws->wpack_x[l], KDTS_TRANS, wih, I, I, 4 * H);
        kdts__pack_b_full(ws->wpack_f[l], KDTS_TRANS, whh, H, H, 4 * H);
        KDTS__TEAM_BEGIN(P)
        {
            int k, b0, nb, t;
            for (k = tid_; k < P; k += nt_) {
                size_t G4 = (size_t)4 * H, sh;
                const float *xk;
                float *gk, *hk, *ck, *tk;
                kdts__block(B, P, k, &b0, &nb);
                if (nb <= 0) continue;
                /* this block's rows of every array: nb per step */
                sh = (size_t)nb * H;
                xk = kdts__layer_input(ws, l, b0, nb);
                gk = G + (size_t)b0 * T * G4;
                hk = hs + (size_t)b0 * (T + 1) * H;
                ck = cs + (size_t)b0 * (T + 1) * H;
                tk = ws->tc[l] + (size_t)b0 * T * H;
                if (h0) memcpy(hk, h0 + ((size_t)l * B + b0) * H, sh * sizeof(float));
                else memset(hk, 0, sh * sizeof(float));
                if (c0) memcpy(ck, c0 + ((size_t)l * B + b0) * H, sh * sizeof(float));
                else memset(ck, 0, sh * sizeof(float));
                for (t = 0; t < T; ++t) {
                    float *gt = gk + (size_t)t * nb * G4;
                    const float *xt = xk + (size_t)t * nb * I;
                    /* z_t = b + x_t W_ih^T + h_{t-1} W_hh^T */
                    if (narrow)
                        kdts__proj_small(gt, xt, (size_t)nb, I, ws->wpack_x[l], bs, 4 * H);
                    else
                        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, nb, 4 * H, I, 1.0f, xt, I, NULL, 0, 0.0f, gt,
                                          4 * H, NULL, ws->wpack_x[l]);
                    kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, nb, 4 * H, H, 1.0f, hk + t * sh, H, NULL, 0, 1.0f,
                                      gt, 4 * H, NULL, ws->wpack_f[l]);
                    kdts__lstm_cell(gt, narrow ? NULL : bs, ck + t * sh, ck + (t + 1) * sh, tk + t * sh,
                                    hk + (t + 1) * sh, nb, H);
                }
                if (ws->dropout_active) {
                    const float *mk = ws->mask[l] + (size_t)b0 * T * H;
                    float *dr = ws->drop[l] + (size_t)b0 * T * H;
                    size_t r;
                    for (r = 0; r < (size_t)T * sh; ++r) dr[r] = hk[sh + r] * mk[r];
                }
            }
        }
        KDTS__TEAM_END
    }
    /* the head at every step, or at the last one */
    kdts__head_fwd(hw, hb, ws->h[L - 1], ws->dropout_active ? ws->drop[L - 1] : NULL, B, T, H, O, P, last, ws->out,
                   ws->outb, out, ws->scratch);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_lstm_forward(const kdts_lstm *m, kdts_lstm_ws *ws, const float *x, int B, int T,
                                      const float *h0, const float *c0, float *out, int train, kdts_rng *rng,
                                      kdts_error *err)
{
    return kdts__lstm_fwd(m, ws, x, B, T, h0, c0, out, train, rng, 0, err);
}

KDTSDEF kdts_result kdts_lstm_forecast(const kdts_lstm *m, kdts_lstm_ws *ws, const float *x, int B, int T,
                                       const float *h0, const float *c0, float *out, kdts_error *err)
{
    return kdts__lstm_fwd(m, ws, x, B, T, h0, c0, out, 0, NULL, 1, err);
}

KDTSDEF void kdts_lstm_final_state(const kdts_lstm_ws *ws, float *hN, float *cN)
{
    int l, k, b0, nb, B = ws->B, H = ws->cfg.hidden, T = ws->T;
    for (l = 0; l < ws->cfg.layers; ++l)
        for (k = 0; k < ws->part; ++k) {
            /* step T of each row block */
            size_t src, dst;
            kdts__block(B, ws->part, k, &b0, &nb);
            if (nb <= 0) continue;
            src = ((size_t)b0 * (T + 1) + (size_t)T * nb) * H;
            dst = ((size_t)l * B + b0) * H;
            if (hN) memcpy(hN + dst, ws->h[l] + src, (size_t)nb * H * sizeof(float));
            if (cN) memcpy(cN + dst, ws->c[l] + src, (size_t)nb * H * sizeof(float));
        }
}

/* s1[j] += sum_r X[r][j] and, when s2 is not NULL, s2[j] += the same sum,
   for X (rows, n; rows ld apart): column blocks summed in registers, X
   read once. */
static void kdts__colsum_add(float *s1, float *s2, const float *X, size_t rows, int n, size_t ld)
{
    int j0 = 0, j;
    size_t r;
#ifdef KDTS__VW
    for (; j0 + 4 * KDTS__VW <= n; j0 += 4 * KDTS__VW) {
        kdts__v a0 = kdts__vset(0.0f), a1 = a0, a2 = a0, a3 = a0;
        const float *x = X + j0;
        for (r = 0; r < rows; ++r, x += ld) {
            a0 = kdts__vadd(a0, kdts__vld(x));
            a1 = kdts__vadd(a1, kdts__vld(x + KDTS__VW));
            a2 = kdts__vadd(a2, kdts__vld(x + 2 * KDTS__VW));
            a3 = kdts__vadd(a3, kdts__vld(x + 3 * KDTS__VW));
        }
        kdts__vst(s1 + j0, kdts__vadd(kdts__vld(s1 + j0), a0));
        kdts__vst(s1 + j0 + KDTS__VW, kdts__vadd(kdts__vld(s1 + j0 + KDTS__VW), a1));
        kdts__vst(s1 + j0 + 2 * KDTS__VW, kdts__vadd(kdts__vld(s1 + j0 + 2 * KDTS__VW), a2));
        kdts__vst(s1 + j0 + 3 * KDTS__VW, kdts__vadd(kdts__vld(s1 + j0 + 3 * KDTS__VW), a3));
        if (s2) {
            kdts__vst(s2 + j0, kdts__vadd(kdts__vld(s2 + j0), a0));
            kdts__vst(s2 + j0 + KDTS__VW, kdts__vadd(kdts__vld(s2 + j0 + KDTS__VW), a1));
            kdts__vst(s2 + j0 + 2 * KDTS__VW, kdts__vadd(kdts__vld(s2 + j0 + 2 * KDTS__VW), a2));
            kdts__vst(s2 + j0 + 3 * KDTS__VW, kdts__vadd(kdts__vld(s2 + j0 + 3 * KDTS__VW), a3));
        }
    }
    for (; j0 + KDTS__VW <= n; j0 += KDTS__VW) {
        kdts__v a0 = kdts__vset(0.0f);
        const float *x = X + j0;
        for (r = 0; r < rows; ++r, x += ld) a0 = kdts__vadd(a0, kdts__vld(x));
        kdts__vst(s1 + j0, kdts__vadd(kdts__vld(s1 + j0), a0));
        if (s2) kdts__vst(s2 + j0, kdts__vadd(kdts__vld(s2 + j0), a0));
    }
#endif
    for (; j0 < n; j0 += 8) {
        float a[8];
        int w = n - j0 < 8 ? n - j0 : 8;
        const float *x = X + j0;
        for (j = 0; j < w; ++j) a[j] = 0.0f;
        for (r = 0; r < rows; ++r, x += ld)
            for (j = 0; j < w; ++j) a[j] += x[j];
        for (j = 0; j < w; ++j) {
            s1[j0 + j] += a[j];
            if (s2) s2[j0 + j] += a[j];
        }
    }
}

/* ---- backward ----------------------------------------------------------- */

/* The head's part of the backward for one row block: rows rows of dout
   dok (rows,O) and of the top layer's outputs top (rows,H): hdw (O,H) +=
   dok^T top, hdb (O) += the column sums of dok (one block: a team of one,
   so the product may still be split by kdts__gemm_core), and dL/dTop into
   dH (rows,H) = dok W. */
/* dH (T,nb,H) of the row block b0 .. b0+nb-1 (time-major) += its rows of
   dtop (B,T,H) (kdts_lstm_ws.dtop, kdts_gru_ws.dtop). */
static void kdts__add_dtop(float *dH, const float *dtop, int b0, int nb, int T, int H)
{
    int b, t, i;
    for (t = 0; t < T; ++t)
        for (b = 0; b < nb; ++b) {
            float *d = dH + ((size_t)t * nb + b) * H;
            const float *g = dtop + ((size_t)(b0 + b) * T + t) * H;
            for (i = 0; i < H; ++i) d[i] += g[i];
        }
}

static void kdts__head_back(const float *hw, float *hdw, float *hdb, const float *dok, const float *top, size_t rows,
                            int H, int O, float *dH, float *scr)
{
    kdts__gemm_core(KDTS_TRANS, KDTS_NOTRANS, O, H, (int)rows, 1.0f, dok, O, top, H, 1.0f, hdw, H, scr, NULL);
    kdts__colsum_add(hdb, NULL, dok, rows, O, (size_t)O);
    kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, (int)rows, H, O, 1.0f, dok, O, hw, H, 0.0f, dH, H, scr, NULL);
}

/* The team's private gradient sums (per thread, `stride` floats apart in
   tpriv, laid out as kdts__priv_floats says) added into the gradients,
   thread tid of nt its share of the R gate rows (and, with head, of the O
   head rows). Every thread of the team calls it after a barrier. */
static void kdts__priv_reduce(const float *tpriv, size_t stride, int nt, int tid, int R, int H, int I, int O, int head,
                              float *gwhh, float *gwih, float *gbih, float *gbhh, float *ghw, float *ghb)
{
    int p, j, m0, mn, o0, on;
    kdts__share(R, nt, tid, 16, &m0, &mn);
    kdts__share(O, nt, tid, 1, &o0, &on);
    for (p = 0; p < nt; ++p) {
        const float *q = tpriv + (size_t)p * stride;
        for (j = m0 * H; j < (m0 + mn) * H; ++j) gwhh[j] += q[j];
        q += (size_t)R * H;
        for (j = m0 * I; j < (m0 + mn) * I; ++j) gwih[j] += q[j];
        q += (size_t)R * I;
        for (j = m0; j < m0 + mn; ++j) {
            gbih[j] += q[j];
            gbhh[j] += q[R + j];
        }
        q += 2 * (size_t)R;
        if (head) {
            for (j = o0 * H; j < (o0 + on) * H; ++j) ghw[j] += q[j];
            q += (size_t)O * H;
            for (j = o0; j < o0 + on; ++j) ghb[j] += q[j];
        }
    }
}

KDTSDEF kdts_result kdts_lstm_backward(kdts_lstm *m, kdts_lstm_ws *ws, const float *dout,
                                       float *dx, float *dh0, float *dc0, kdts_error *err)
{
    const kdts_lstm_config *c = &m->cfg;
    int H = c->hidden, F = c->input, O = m->outputs, L = c->layers;
    int B = ws->B, T = ws->T, l, tb = kdts__bwd_block(B, H, T), P = ws->part;
    const float *hw = m->params + m->off_head_w;
    float *ghw = m->grads + m->off_head_w, *ghb = m->grads + m->off_head_b;
    float *dH = ws->dA, *dBelow = ws->dB;
    if (!ws->train || !kdts__same_arch(c, &ws->cfg) || B < 1 || !dout)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "lstm backward: needs a training forward of this architecture first, and dout");
    /* (B,T,O) -> (T,B,O), block by block */
    kdts__swap_blocks(ws->dout, dout, B, T, O, P, 1);
    for (l = L - 1; l >= 0; --l) {
        const float *wih = m->params + m->off_wih[l], *whh = m->params + m->off_whh[l];
        float *gwih = m->grads + m->off_wih[l], *gwhh = m->grads + m->off_whh[l];
        float *gbih = m->grads + m->off_bih[l], *gbhh = m->grads + m->off_bhh[l];
        int I = l == 0 ? F : H;
        int head = l == L - 1;
        kdts__pack_b_full(ws->wpack_b[l], KDTS_NOTRANS, whh, H, 4 * H, H);
        memset(ws->dc, 0, (size_t)B * H * sizeof(float));
        /* Blocks of tb steps, last to first: through time, then the
           products over the block's rows while its dz (in dG) is still in
           cache: the weight gradients, the bias gradients and the gradient
           w.r.t. this layer's input.
           With several row blocks (OpenMP) one team runs the whole layer,
           each thread on the row blocks the forward gave it (so they stay
           in its core's caches): their dL/dh from the head, the
           recurrence, the input gradient, and the weight and bias gradients
           summed over its rows into private sums, which the team adds into
           the gradients at the end, each thread a share of the gate rows. */
        KDTS__TEAM_BEGIN(P)
        {
            int k, b0, nb, t0, t1, t;
            size_t G4 = (size_t)4 * H;
            float *scr = ws->scratch + (size_t)tid_ * KDTS__GEMM_SCRATCH;
            float *pv = nt_ > 1 ? ws->tpriv + (size_t)tid_ * ws->tpriv_floats : NULL;
            /* where this thread's sums go: dW_hh, dW_ih, the two biases,
               the head's dW and db (private: 4H (H + I + 2) + O (H + 1)) */
            float *gw = gwhh, *gx = gwih, *g1 = gbih, *g2 = gbhh, *hdw = ghw, *hdb = ghb;
            if (pv) {
                gw = pv;
                gx = gw + G4 * H;
                g1 = gx + G4 * I;
                g2 = g1 + G4;
                hdw = g2 + G4;
                hdb = hdw + (size_t)O * H;
                memset(pv, 0, kdts__priv_floats(G4, (size_t)H, (size_t)I, (size_t)O) * sizeof(float));
            }
            for (k = tid_; k < P; k += nt_) {
                /* this block's rows of every array, nb per step */
                const float *xk, *gk, *ck, *tck, *hk, *dok;
                float *dHk, *dBk, *dGk;
                size_t sh;
                kdts__block(B, P, k, &b0, &nb);
                if (nb <= 0) continue;
                sh = (size_t)nb * H;
                xk = kdts__layer_input(ws, l, b0, nb);
                gk = ws->gates[l] + (size_t)b0 * T * G4;
                ck = ws->c[l] + (size_t)b0 * (T + 1) * H;
                hk = ws->h[l] + (size_t)b0 * (T + 1) * H;
                tck = ws->tc[l] + (size_t)b0 * T * H;
                dok = ws->dout + (size_t)b0 * T * O;
                dHk = dH + (size_t)b0 * T * H;
                dBk = dBelow + (size_t)b0 * T * I;
                dGk = ws->dG + (size_t)b0 * tb * G4;
                if (head) /* the head: its dW, db and dL/dh_top */
                    kdts__head_back(hw, hdw, hdb, dok, kdts__layer_input(ws, L, b0, nb), (size_t)T * nb, H, O, dHk,
                                    scr);
                if (head && ws->dtop) kdts__add_dtop(dHk, ws->dtop, b0, nb, T, H);
                if (ws->dropout_active) {
                    /* the dropout mask on what comes from above */
                    const float *mk = ws->mask[l] + (size_t)b0 * T * H;
                    size_t q;
                    for (q = 0; q < (size_t)T * sh; ++q) dHk[q] *= mk[q];
                }
                for (t1 = T; t1 > 0; t1 = t0) {
                    const float *dzo = dGk;
                    int rows;
                    t0 = t1 > tb ? t1 - tb : 0;
                    rows = (t1 - t0) * nb;
                    for (t = t1 - 1; t >= t0; --t) {
                        /* dH[t] holds the total dL/dh_t: from above, plus
                           from step t+1 (added by the product of the
                           previous iteration). dz of the block's steps,
                           step after step, in this row block's part of dG
                           (room for tb steps). */
                        float *dht = dHk + t * sh, *dz = dGk + (size_t)(t - t0) * nb * G4;
                        kdts__lstm_cell_back(gk + (size_t)t * nb * G4, ck + t * sh, tck + t * sh, dht,
                                             ws->dc + (size_t)b0 * H, dz, nb, H);
                        /* dL/dh_{t-1} += dz W_hh (into dH[t-1], or dh0 at t = 0) */
                        if (t > 0)
                            kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, nb, H, 4 * H, 1.0f, dz, 4 * H, NULL, 0, 1.0f,
                                              dht - sh, H, NULL, ws->wpack_b[l]);
                        else if (dh0)
                            kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, nb, H, 4 * H, 1.0f, dz, 4 * H, NULL, 0, 0.0f,
                                              ws->dh + (size_t)b0 * H, H, NULL, ws->wpack_b[l]);
                        /* gradient w.r.t. this layer's input, these rows */
                        if (l > 0 || dx)
                            kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, nb, I, 4 * H, 1.0f, dz, 4 * H, wih, I, 0.0f,
                                              dBk + (size_t)t * nb * I, I, scr, NULL);
                    }
                    /* the block's weight and bias gradients over its rows
                       (steps t0 .. t1-1, consecutive in every array):
                       dW_hh += dz^T h_{t-1}, dW_ih += dz^T x_t, both biases
                       += the column sums of dz (for a univariate input in
                       one pass) */
                    kdts__gemm_serial(KDTS_TRANS, KDTS_NOTRANS, 4 * H, H, rows, 1.0f, dzo, 4 * H, hk + t0 * sh, H,
                                      1.0f, gw, H, scr, NULL);
                    if (I == 1) {
                        kdts__dgrad_univariate(gx, g1, g2, dzo, xk + (size_t)t0 * nb, (size_t)rows, 4 * H, G4);
                    } else {
                        kdts__gemm_serial(KDTS_TRANS, KDTS_NOTRANS, 4 * H, I, rows, 1.0f, dzo, 4 * H,
                                          xk + (size_t)t0 * nb * I, I, 1.0f, gx, I, scr, NULL);
                        kdts__colsum_add(g1, g2, dzo, (size_t)rows, 4 * H, G4);
                    }
                }
            }
            if (pv) {
                /* the team's private sums into the gradients, each thread
                   its share of the gate rows (and of the head's rows) */
                KDTS__TEAM_BARRIER
                kdts__priv_reduce(ws->tpriv, ws->tpriv_floats, nt_, tid_, 4 * H, H, I, O, head, gwhh, gwih, gbih,
                                  gbhh, ghw, ghb);
            }
        }
        KDTS__TEAM_END
        if (dh0) memcpy(dh0 + (size_t)l * B * H, ws->dh, (size_t)B * H * sizeof(float));
        if (dc0) memcpy(dc0 + (size_t)l * B * H, ws->dc, (size_t)B * H * sizeof(float));
        if (l == 0) {
            if (dx) kdts__swap_blocks(dx, dBelow, B, T, F, P, 0);
        } else {
            float *tmp = dH;
            dH = dBelow;
            dBelow = tmp;
        }
    }
    return KDTS_OK;
}

/* ======================================================================== */
/* >>gru                                                                    */
/* ======================================================================== */

/* The gate arrays. Every step keeps a row of 4H floats per sequence
   (kdts_gru_ws.gates; the backward's dG has the same layout), in four
   blocks of H units:
     0  the candidate's input part  a_ni = W_in x + b_in   (after the cell: n)
     1  a_r = W_ir x + W_hr h + b_ir + b_hr                 (after: r)
     2  a_z = W_iz x + W_hz h + b_iz + b_hz                 (after: z)
     3  the candidate's hidden part a_nh = W_hn h + b_hn    (kept)
   so that the input product fills blocks 0..2 at once (W_ih with its rows
   reordered n, r, z: kdts_gru_ws.wperm) and the recurrent product blocks
   1..3 at once (W_hh as stored, r, z, n), each one GEMM. Then
     n = tanh(a_ni + r * a_nh),  h' = n + z * (h - n)   (= (1-z) n + z h). */

static void kdts__gru_to_lstm_cfg(kdts_lstm_config *d, const kdts_gru_config *s)
{
    d->input = s->input;
    d->hidden = s->hidden;
    d->layers = s->layers;
    d->horizon = s->horizon;
    d->mode = s->mode;
    d->bins = s->bins;
    d->bin_lo = s->bin_lo;
    d->bin_hi = s->bin_hi;
    d->dropout = s->dropout;
}

static void kdts__gru_from_lstm_cfg(kdts_gru_config *d, const kdts_lstm_config *s)
{
    d->input = s->input;
    d->hidden = s->hidden;
    d->layers = s->layers;
    d->horizon = s->horizon;
    d->mode = s->mode;
    d->bins = s->bins;
    d->bin_lo = s->bin_lo;
    d->bin_hi = s->bin_hi;
    d->dropout = s->dropout;
}

KDTSDEF size_t kdts_gru_param_count(const kdts_gru_config *cfg)
{
    kdts_lstm_config c;
    if (!cfg) return 0;
    kdts__gru_to_lstm_cfg(&c, cfg);
    if (!kdts__arch_defaults(&c)) return 0;
    return kdts__rnn_layout(&c, 3, NULL);
}

KDTSDEF kdts_result kdts_gru_config_check(kdts_gru_config *cfg, kdts_error *err)
{
    kdts_lstm_config c;
    kdts_result r;
    kdts__gru_to_lstm_cfg(&c, cfg);
    r = kdts__arch_check(&c, err);
    if (r != KDTS_OK) return r;
    kdts__gru_from_lstm_cfg(cfg, &c);
    if (kdts_gru_param_count(cfg) == 0)
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "parameter count overflows");
    return KDTS_OK;
}

/* Cell operations per unit: the sigmoids of r and z (2); n: a multiply,
   an add and the tanh (3); h' = (1 - z) n + z h as the formula reads: a
   subtract, two multiplies and an add (4; kdts computes n + z (h - n),
   one multiply fewer): 9 */
KDTSDEF double kdts_gru_flops(const kdts_gru_config *cfg, int T)
{
    kdts_lstm_config c;
    kdts__gru_to_lstm_cfg(&c, cfg);
    return kdts__rnn_flops(&c, T, 3.0, 9.0, T);
}

KDTSDEF double kdts_gru_forecast_flops(const kdts_gru_config *cfg, int T)
{
    kdts_lstm_config c;
    kdts__gru_to_lstm_cfg(&c, cfg);
    return T < 1 ? 0.0 : kdts__rnn_flops(&c, T, 3.0, 9.0, 1);
}

KDTSDEF void kdts_gru_zero_grad(kdts_gru *m)
{
    if (m->grads) memset(m->grads, 0, m->nparams * sizeof(float));
}

KDTSDEF void kdts_gru_reset(kdts_gru *m, unsigned long long seed)
{
    kdts__init_uniform(m->params, m->nparams, m->cfg.hidden, seed);
    kdts_gru_zero_grad(m);
}

KDTSDEF kdts_result kdts_gru_init(kdts_gru *m, const kdts_gru_config *cfg, unsigned long long seed,
                                  kdts_error *err)
{
    kdts_gru t;
    kdts_lstm_config lc;
    kdts_result r;
    size_t off[4 * KDTS_MAX_LAYERS + 2];
    int l;
    if (!m || !cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "gru: NULL model or config");
    memset(&t, 0, sizeof t);
    t.cfg = *cfg;
    r = kdts_gru_config_check(&t.cfg, err);
    if (r != KDTS_OK) return r;
    kdts__gru_to_lstm_cfg(&lc, &t.cfg);
    t.outputs = kdts__outputs(&lc);
    t.nparams = kdts__rnn_layout(&lc, 3, off);
    for (l = 0; l < t.cfg.layers; ++l) {
        t.off_wih[l] = off[4 * l];
        t.off_whh[l] = off[4 * l + 1];
        t.off_bih[l] = off[4 * l + 2];
        t.off_bhh[l] = off[4 * l + 3];
    }
    t.off_head_w = off[4 * t.cfg.layers];
    t.off_head_b = off[4 * t.cfg.layers + 1];
    t.params = kdts__falloc(t.nparams);
    t.grads = kdts__falloc(t.nparams);
    if (!t.params || !t.grads) {
        kdts__free_aligned(t.params);
        kdts__free_aligned(t.grads);
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for %lu parameters",
                          (unsigned long)t.nparams);
    }
    *m = t;
    kdts_gru_reset(m, seed);
    return KDTS_OK;
}

KDTSDEF void kdts_gru_free(kdts_gru *m)
{
    if (!m) return;
    kdts__free_aligned(m->params);
    kdts__free_aligned(m->grads);
    m->params = m->grads = NULL;
    m->nparams = 0;
}

/* ---- GRU cell kernels ----------------------------------------------------- */

#ifdef KDTS__VW
/* The cell on one vector of hidden units (the first n lanes, 0 < n <=
   KDTS__VW) from the pre-activations ani, ar, az, anh (blocks 0..3, biases
   included) and the previous state hp: h = n + z (hp - n); when gates is
   not NULL n, r, z and anh go to gates, gates + H, + 2H, + 3H. */
static KDTS__AINLINE void kdts__gru_vec(kdts__v ani, kdts__v ar, kdts__v az, kdts__v anh, const float *hp, float *h,
                                        float *gates, int H, int n)
{
    kdts__v vr = kdts__vsigmoid(ar), vz = kdts__vsigmoid(az);
    kdts__v vn = kdts__vtanh(kdts__vfma(vr, anh, ani));
    kdts__v vh = kdts__vfma(vz, kdts__vsub(kdts__vldn(hp, n), vn), vn);
    if (gates) {
        kdts__vstn(gates, vn, n);
        kdts__vstn(gates + H, vr, n);
        kdts__vstn(gates + 2 * H, vz, n);
        kdts__vstn(gates + 3 * H, anh, n);
    }
    kdts__vstn(h, vh, n);
}
#else
/* Without vectors, the same for one hidden unit; a: the four blocks'
   pre-activations. */
static void kdts__gru_one(const float *a, float hp, float *h, float *gates, int H)
{
    float vr = kdts__sigmoidf(a[1]), vz = kdts__sigmoidf(a[2]), vn = tanhf(a[0] + vr * a[3]);
    if (gates) {
        gates[0] = vn;
        gates[H] = vr;
        gates[2 * H] = vz;
        gates[3 * H] = a[3];
    }
    *h = vn + vz * (hp - vn);
}
#endif

/* Fused cell for one step of B rows: g (B,4H) pre-activations in the
   gate-array layout, in place (becomes n, r, z, a_nh); bias (3H: b_in,
   b_ir + b_hr, b_iz + b_hz), when not NULL, added to blocks 0..2 first;
   previous state hp and new state h (B,H each). */
static void kdts__gru_cell(float *gt, const float *bias, const float *hp, float *h, int B, int H)
{
    int b, j;
    for (b = 0; b < B; ++b) {
        float *g = gt + (size_t)b * 4 * H;
        size_t o = (size_t)b * H;
#ifdef KDTS__VW
        for (j = 0; j < H; j += KDTS__VW) {
            int n = H - j < KDTS__VW ? H - j : KDTS__VW;
            kdts__v ani = kdts__vldn(g + j, n), ar = kdts__vldn(g + H + j, n);
            kdts__v az = kdts__vldn(g + 2 * H + j, n), anh = kdts__vldn(g + 3 * H + j, n);
            if (bias) {
                ani = kdts__vadd(ani, kdts__vldn(bias + j, n));
                ar = kdts__vadd(ar, kdts__vldn(bias + H + j, n));
                az = kdts__vadd(az, kdts__vldn(bias + 2 * H + j, n));
            }
            kdts__gru_vec(ani, ar, az, anh, hp + o + j, h + o + j, g + j, H, n);
        }
#else
        for (j = 0; j < H; ++j) {
            float a[4];
            int q;
            for (q = 0; q < 4; ++q) a[q] = g[q * H + j] + (bias && q < 3 ? bias[q * H + j] : 0.0f);
            kdts__gru_one(a, hp[o + j], h + o + j, g + j, H);
        }
#endif
    }
}

/* Backward of the cell for one step of B rows. gt: n, r, z, a_nh (B,4H);
   hp: h_{t-1} (B,H); dh: the total dL/dh_t (B,H); dz: out (B,4H), the
   gradient w.r.t. the four blocks' pre-activations; dprev (B,H), when not
   NULL: the direct part of dL/dh_{t-1}, added (add != 0) or stored.
     da_n  = dh (1 - z) (1 - n^2)      (block 0: d a_ni = d a_n)
     da_r  = da_n a_nh r (1 - r)        da_z = dh (hp - n) z (1 - z)
     da_nh = da_n r                     dL/dh_{t-1} (direct) = dh z */
static void kdts__gru_cell_back(const float *gt, const float *hp, const float *dh, float *dz, float *dprev, int add,
                                int B, int H)
{
    int b, j;
    for (b = 0; b < B; ++b) {
        const float *gn = gt + (size_t)b * 4 * H, *gr = gn + H, *gz = gr + H, *ga = gz + H;
        float *zn = dz + (size_t)b * 4 * H, *zr = zn + H, *zz = zr + H, *za = zz + H;
        const float *hpb = hp + (size_t)b * H, *dhb = dh + (size_t)b * H;
        float *dpb = dprev ? dprev + (size_t)b * H : NULL;
        j = 0;
#ifdef KDTS__VW
        {
            kdts__v one = kdts__vset(1.0f);
            for (; j + KDTS__VW <= H; j += KDTS__VW) {
                kdts__v n = kdts__vld(gn + j), r = kdts__vld(gr + j), z = kdts__vld(gz + j);
                kdts__v d = kdts__vld(dhb + j);
                kdts__v dan = kdts__vmul(kdts__vmul(d, kdts__vsub(one, z)), kdts__vsub(one, kdts__vmul(n, n)));
                kdts__vst(zn + j, dan);
                kdts__vst(za + j, kdts__vmul(dan, r));
                kdts__vst(zr + j, kdts__vmul(kdts__vmul(dan, kdts__vld(ga + j)), kdts__vmul(r, kdts__vsub(one, r))));
                kdts__vst(zz + j, kdts__vmul(kdts__vmul(d, kdts__vsub(kdts__vld(hpb + j), n)),
                                             kdts__vmul(z, kdts__vsub(one, z))));
                if (dpb) kdts__vst(dpb + j, add ? kdts__vfma(d, z, kdts__vld(dpb + j)) : kdts__vmul(d, z));
            }
        }
#endif
        for (; j < H; ++j) {
            float n = gn[j], r = gr[j], z = gz[j], d = dhb[j];
            float dan = d * (1.0f - z) * (1.0f - n * n);
            zn[j] = dan;
            za[j] = dan * r;
            zr[j] = dan * ga[j] * (r * (1.0f - r));
            zz[j] = d * (hpb[j] - n) * (z * (1.0f - z));
            if (dpb) dpb[j] = add ? dpb[j] + d * z : d * z;
        }
    }
}

#ifdef KDTS__VW
/* The four blocks' pre-activations of one chunk of units (its first n,
   0 < n <= KDTS__VW): z (block q at z + q*H) plus W_ih x into blocks
   1, 2, 0 and W_hh hp into blocks 1, 2, 3, wx and wh pointing at the
   chunk's rows packed by kdts__pack_gates (3 gates r, z, n). Even and odd
   k of the recurrent product go to separate accumulators. */
static KDTS__AINLINE void kdts__gru1_z(const float *z, int n, const float *x, int I, const float *wx,
                                       const float *hp, int H, const float *wh, kdts__v *ani, kdts__v *ar,
                                       kdts__v *az, kdts__v *anh)
{
    const int V = KDTS__VW;
    kdts__v an = kdts__vldn(z, n), r0 = kdts__vldn(z + H, n), z0 = kdts__vldn(z + 2 * H, n);
    kdts__v h0 = kdts__vldn(z + 3 * H, n);
    kdts__v r1 = kdts__vset(0.0f), z1 = r1, h1 = r1;
    const float *w = wx;
    int k;
    for (k = 0; k < I; ++k, w += 3 * V) {
        kdts__v s = kdts__vset(x[k]);
        r0 = kdts__vfma(s, kdts__vld(w), r0);
        z0 = kdts__vfma(s, kdts__vld(w + V), z0);
        an = kdts__vfma(s, kdts__vld(w + 2 * V), an);
    }
    w = wh;
    for (k = 0; k + 2 <= H; k += 2, w += 6 * V) {
        kdts__v s0 = kdts__vset(hp[k]), s1 = kdts__vset(hp[k + 1]);
        r0 = kdts__vfma(s0, kdts__vld(w), r0);
        z0 = kdts__vfma(s0, kdts__vld(w + V), z0);
        h0 = kdts__vfma(s0, kdts__vld(w + 2 * V), h0);
        r1 = kdts__vfma(s1, kdts__vld(w + 3 * V), r1);
        z1 = kdts__vfma(s1, kdts__vld(w + 4 * V), z1);
        h1 = kdts__vfma(s1, kdts__vld(w + 5 * V), h1);
    }
    if (k < H) {
        kdts__v s0 = kdts__vset(hp[k]);
        r0 = kdts__vfma(s0, kdts__vld(w), r0);
        z0 = kdts__vfma(s0, kdts__vld(w + V), z0);
        h0 = kdts__vfma(s0, kdts__vld(w + 2 * V), h0);
    }
    *ani = an;
    *ar = kdts__vadd(r0, r1);
    *az = kdts__vadd(z0, z1);
    *anh = kdts__vadd(h0, h1);
}
#endif

/* One GRU step of a single sequence (B = 1) with the products and the
   cell fused per chunk of hidden units (the pre-activations never leave
   registers): blocks = zin + W_ih x (0..2) + W_hh hp (1..3), zin (4H, the
   gate-array layout) holding the biases (kdts_gru_ws.bsum), or the whole
   input part with the biases when I = 0; wx = W_ih (3H,I) and wh = W_hh
   (3H,H) packed by kdts__pack_gates with 3 gates. Then the cell as
   kdts__gru_cell into h; n, r, z, a_nh (4H) into gates when not NULL
   (gates may be zin; h must not overlap hp). rev != 0 runs the chunks
   last to first (alternate it from step to step: a step then starts on
   the weights the previous one ended with). */
static void kdts__gru_step1(const float *zin, const float *x, int I, const float *wx, const float *hp,
                            const float *wh, float *h, float *gates, int H, int rev)
{
#ifdef KDTS__VW
    kdts__v ani, ar, az, anh;
    int ci, nc = (H + KDTS__VW - 1) / KDTS__VW;
    for (ci = 0; ci < nc; ++ci) {
        int j = (rev ? nc - 1 - ci : ci) * KDTS__VW;
        int n = H - j < KDTS__VW ? H - j : KDTS__VW;
        kdts__gru1_z(zin + j, n, x, I, wx + (size_t)j * 3 * I, hp, H, wh + (size_t)j * 3 * H, &ani, &ar, &az, &anh);
        kdts__gru_vec(ani, ar, az, anh, hp + j, h + j, gates ? gates + j : NULL, H, n);
    }
#else
    const float *tx = wx, *th = wh;
    int j, k;
    (void)rev;
    for (j = 0; j < H; ++j, tx += 3 * I, th += 3 * H) {
        float a[4];
        a[0] = zin[j];
        a[1] = zin[H + j];
        a[2] = zin[2 * H + j];
        a[3] = zin[3 * H + j];
        for (k = 0; k < I; ++k) {
            a[1] += x[k] * tx[k];
            a[2] += x[k] * tx[I + k];
            a[0] += x[k] * tx[2 * I + k];
        }
        for (k = 0; k < H; ++k) {
            a[1] += hp[k] * th[k];
            a[2] += hp[k] * th[H + k];
            a[3] += hp[k] * th[2 * H + k];
        }
        kdts__gru_one(a, hp[j], h + j, gates ? gates + j : NULL, H);
    }
#endif
}

/* wp (4H,I) = W_ih (3H,I: rows r, z, n) with its rows reordered n, r, z,
   then H rows of zeros (the gate-array order; the zero rows give block 3
   nothing in kdts__proj_small). */
static void kdts__gru_perm_ih(float *wp, const float *wih, int H, int I)
{
    size_t n = (size_t)H * I;
    memcpy(wp, wih + 2 * n, n * sizeof(float));
    memcpy(wp + n, wih, 2 * n * sizeof(float));
    memset(wp + 3 * n, 0, n * sizeof(float));
}

/* bs (4H) = the biases in gate-array order: b_in, b_ir + b_hr,
   b_iz + b_hz, b_hn. */
static void kdts__gru_bias(float *bs, const float *bih, const float *bhh, int H)
{
    int j;
    for (j = 0; j < H; ++j) {
        bs[j] = bih[2 * H + j];
        bs[H + j] = bih[j] + bhh[j];
        bs[2 * H + j] = bih[H + j] + bhh[H + j];
        bs[3 * H + j] = bhh[2 * H + j];
    }
}

/* ---- GRU workspace -------------------------------------------------------- */

static size_t kdts__gru_ws_layout(kdts_gru_ws *ws, float *base)
{
    const kdts_gru_config *c = &ws->cfg;
    size_t B = (size_t)ws->max_batch, T = (size_t)ws->max_steps, H = (size_t)c->hidden;
    size_t F = (size_t)c->input, O = (size_t)ws->outputs, off = 0, TB;
    size_t maxI = F > H ? F : H;
    int l, ok = 1;
    if (!kdts__mul_ok(T, B, &TB)) return 0;
    if (TB > ((size_t)-1) / 64 / (maxI + 4 * H + O + 1)) return 0;
    KDTS__CARVE(ws->xin, TB * F);
    for (l = 0; l < c->layers; ++l) {
        size_t I = l == 0 ? F : H;
        /* W_hh packed for the batch GEMM, or for the single-sequence step */
        size_t pg = kdts__packed_b_size((int)H, (int)(3 * H)), ps = kdts__gates_pack_floats(H, H, 3);
        KDTS__CARVE(ws->gates[l], TB * 4 * H);
        KDTS__CARVE(ws->h[l], (TB + B) * H);
        if (ws->train && c->dropout > 0.0f) {
            KDTS__CARVE(ws->drop[l], TB * H);
            KDTS__CARVE(ws->mask[l], TB * H);
        }
        KDTS__CARVE(ws->wpack_f[l], pg > ps ? pg : ps);
        KDTS__CARVE(ws->wpack_x[l], kdts__narrow((int)I, (int)H) ? 4 * H * I
                                                                 : kdts__packed_b_size((int)I, (int)(3 * H)));
        if (ws->train) KDTS__CARVE(ws->wpack_b[l], kdts__packed_b_size((int)(3 * H), (int)H));
    }
    KDTS__CARVE(ws->wperm, 4 * H * maxI);
    KDTS__CARVE(ws->out, TB * O);
    if (ws->threads > 1) KDTS__CARVE(ws->outb, TB * O);
    if (ws->train) {
        /* the gradients of one block of steps (kdts__bwd_block: 4H a row) */
        size_t rb = KDTS__BWD_BLOCK_FLOATS / (4 * H), rows;
        rows = rb > B ? (rb < TB ? rb : TB) : B;
        ws->dg_floats = rows * 4 * H;
        KDTS__CARVE(ws->dG, ws->dg_floats);
        if (ws->threads > 1) {
            ws->tpriv_floats = (kdts__priv_floats(3 * H, H, maxI, O) + 15) & ~(size_t)15;
            KDTS__CARVE(ws->tpriv, ws->tpriv_floats * (size_t)ws->threads);
        }
        KDTS__CARVE(ws->dA, TB * maxI);
        KDTS__CARVE(ws->dB, TB * maxI);
        KDTS__CARVE(ws->dh, B * H);
        KDTS__CARVE(ws->dout, TB * O);
    }
    KDTS__CARVE(ws->scratch, KDTS__GEMM_SCRATCH * (size_t)ws->threads);
    KDTS__CARVE(ws->bsum, 4 * H);
    return ok ? off : 0;
}

KDTSDEF kdts_result kdts_gru_ws_init(kdts_gru_ws *ws, const kdts_gru_config *cfg, int max_batch, int max_steps,
                                     int train, kdts_error *err)
{
    kdts_gru_ws t;
    kdts_lstm_config lc;
    kdts_result r;
    size_t n;
    if (!ws || !cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "gru: NULL workspace or config");
    memset(&t, 0, sizeof t);
    t.cfg = *cfg;
    r = kdts_gru_config_check(&t.cfg, err);
    if (r != KDTS_OK) return r;
    if (max_batch < 1 || max_steps < 1 || max_batch > KDTS_MAX_DIM * 16 || max_steps > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "workspace for batch %d x steps %d is out of range",
                          max_batch, max_steps);
    kdts__gru_to_lstm_cfg(&lc, &t.cfg);
    t.outputs = kdts__outputs(&lc);
    t.max_batch = max_batch;
    t.max_steps = max_steps;
    t.train = train ? 1 : 0;
    t.threads = 1;
#ifdef _OPENMP
    t.threads = omp_get_max_threads() < 1 ? 1 : (omp_get_max_threads() > 64 ? 64 : omp_get_max_threads());
#endif
    n = kdts__gru_ws_layout(&t, NULL);
    if (n == 0) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "workspace size overflows");
    t.mem = kdts__falloc(n);
    if (!t.mem)
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for a %lu-byte workspace",
                          (unsigned long)(n * sizeof(float)));
    t.mem_floats = n;
    kdts__gru_ws_layout(&t, t.mem);
    *ws = t;
    return KDTS_OK;
}

KDTSDEF void kdts_gru_ws_free(kdts_gru_ws *ws)
{
    if (!ws) return;
    kdts__free_aligned(ws->mem);
    memset(ws, 0, sizeof *ws);
}

static int kdts__gru_same_arch(const kdts_gru_config *a, const kdts_gru_config *b)
{
    return a->input == b->input && a->hidden == b->hidden && a->layers == b->layers &&
           a->horizon == b->horizon && a->mode == b->mode && a->bins == b->bins;
}

/* The input of layer l (l == layers: the head's) at step 0 of the row
   block (b0, nb) of the last forward; its steps are nb rows apart. */
static const float *kdts__gru_layer_input(const kdts_gru_ws *ws, int l, int b0, int nb)
{
    if (l == 0) return ws->xin + (size_t)b0 * ws->T * ws->cfg.input;
    return kdts__block_out(ws->h[l - 1], ws->dropout_active ? ws->drop[l - 1] : NULL, ws->T, ws->cfg.hidden, b0, nb);
}

/* ---- GRU forward ---------------------------------------------------------- */

/* The forward pass; last != 0 applies the head to the last step only
   (ws->out then holds (B,O)). */
static kdts_result kdts__gru_fwd(const kdts_gru *m, kdts_gru_ws *ws, const float *x, int B, int T, const float *h0,
                                 float *out, int train, kdts_rng *rng, int last, kdts_error *err)
{
    const kdts_gru_config *c;
    int H, F, O, L, l, P, dropout;
    const float *hw, *hb;
    if (!m || !ws || !x || !m->params)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "gru: NULL model, workspace or input");
    c = &m->cfg;
    H = c->hidden;
    F = c->input;
    O = m->outputs;
    L = c->layers;
    hw = m->params + m->off_head_w;
    hb = m->params + m->off_head_b;
    if (!ws->mem || !kdts__gru_same_arch(c, &ws->cfg))
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "gru: the workspace was made for another architecture");
    if (B < 1 || T < 1 || B > ws->max_batch || T > ws->max_steps)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0,
                          "gru: %d windows of %d steps do not fit a workspace of %d x %d (or are < 1)", B, T,
                          ws->max_batch, ws->max_steps);
    if (train && !ws->train)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "gru: a training forward needs a training workspace");
    dropout = train && c->dropout > 0.0f && ws->drop[0] != NULL;
    if (dropout && !rng) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "gru: dropout needs a random number generator");
    ws->B = B;
    ws->T = T;
    ws->dropout_active = dropout;
    ws->trained = train ? 1 : 0;
    ws->part = P = B == 1 ? 1 : kdts__parts(ws->threads, B);
    /* (B,T,F) -> (T,B,F), block by block */
    kdts__swap_blocks(ws->xin, x, B, T, F, P, 1);
    for (l = 0; l < L; ++l) {
        const float *wih = m->params + m->off_wih[l], *whh = m->params + m->off_whh[l];
        const float *bih = m->params + m->off_bih[l], *bhh = m->params + m->off_bhh[l];
        float *G = ws->gates[l], *hs = ws->h[l], *bs = ws->bsum;
        int I = l == 0 ? F : H, narrow = kdts__narrow(I, H);
        kdts__gru_bias(bs, bih, bhh, H);
        if (dropout) kdts__dropout_draw(ws->mask[l], B, T, H, P, c->dropout, rng);
        if (B == 1) {
            /* One sequence: each step fused, weights packed for it. The
               input part (blocks 0..2 with every bias): inside the step
               for a narrow input; else for all steps at once into G, by a
               direct loop or a GEMM. */
            const float *layer_in = kdts__gru_layer_input(ws, l, 0, 1);
            float *wt = ws->wpack_f[l], *wx = ws->scratch;
            int t, fuse = narrow && kdts__gates_pack_floats((size_t)H, (size_t)I, 3) <= KDTS__GEMM_SCRATCH;
            if (h0) memcpy(hs, h0 + (size_t)l * H, (size_t)H * sizeof(float));
            else memset(hs, 0, (size_t)H * sizeof(float));
            if (fuse) {
                kdts__pack_gates(wx, wih, H, I, 3);
            } else {
                kdts__gru_perm_ih(ws->wperm, wih, H, I);
                if (narrow) {
                    kdts__pack_small(ws->wpack_x[l], ws->wperm, I, 4 * H);
                    kdts__proj_small(G, layer_in, (size_t)T, I, ws->wpack_x[l], bs, 4 * H);
                } else {
                    kdts__fill_rows(G, bs, (size_t)4 * H, (size_t)T);
                    kdts__gemm_core(KDTS_NOTRANS, KDTS_TRANS, T, 3 * H, I, 1.0f, layer_in, I, ws->wperm, I, 1.0f, G,
                                    4 * H, ws->scratch, NULL);
                }
            }
            kdts__pack_gates(wt, whh, H, H, 3);
            for (t = 0; t < T; ++t) {
                float *gt = G + (size_t)t * 4 * H;
                kdts__gru_step1(fuse ? bs : gt, layer_in + (size_t)t * I, fuse ? I : 0, wx, hs + (size_t)t * H, wt,
                                hs + (size_t)(t + 1) * H, train ? gt : NULL, H, t & 1);
            }
            if (dropout) {
                const float *mk = ws->mask[l];
                float *dr = ws->drop[l];
                size_t r;
                for (r = 0; r < (size_t)T * H; ++r) dr[r] = hs[H + r] * mk[r];
            }
            continue;
        }
        /* A batch: W_ih^T (rows n, r, z; narrow: for kdts__proj_small, with
           the zero rows) and W_hh^T packed once, reused at every step: the
           input product into blocks 0..2 of G_t, then the recurrent one
           into blocks 1..3, then the cell while G_t is in L1 (adding the
           biases when a GEMM did the input part: block 3 then starts from
           b_hn). With OpenMP each thread runs all T steps on its own block
           of rows, as the LSTM. */
        kdts__gru_perm_ih(ws->wperm, wih, H, I);
        if (narrow) kdts__pack_small(ws->wpack_x[l], ws->wperm, I, 4 * H);
        else kdts__pack_b_full(ws->wpack_x[l], KDTS_TRANS, ws->wperm, I, I, 3 * H);
        kdts__pack_b_full(ws->wpack_f[l], KDTS_TRANS, whh, H, H, 3 * H);
        KDTS__TEAM_BEGIN(P)
        {
            int k, b0, nb, t, r;
            for (k = tid_; k < P; k += nt_) {
                size_t G4 = (size_t)4 * H, sh;
                const float *xk;
                float *gk, *hk;
                kdts__block(B, P, k, &b0, &nb);
                if (nb <= 0) continue;
                /* this block's rows of every array: nb per step */
                sh = (size_t)nb * H;
                xk = kdts__gru_layer_input(ws, l, b0, nb);
                gk = G + (size_t)b0 * T * G4;
                hk = hs + (size_t)b0 * (T + 1) * H;
                if (h0) memcpy(hk, h0 + ((size_t)l * B + b0) * H, sh * sizeof(float));
                else memset(hk, 0, sh * sizeof(float));
                for (t = 0; t < T; ++t) {
                    float *gt = gk + (size_t)t * nb * G4;
                    const float *xt = xk + (size_t)t * nb * I;
                    if (narrow) {
                        kdts__proj_small(gt, xt, (size_t)nb, I, ws->wpack_x[l], bs, 4 * H);
                    } else {
                        for (r = 0; r < nb; ++r) memcpy(gt + r * G4 + 3 * H, bs + 3 * H, (size_t)H * sizeof(float));
                        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, nb, 3 * H, I, 1.0f, xt, I, NULL, 0, 0.0f, gt,
                                          4 * H, NULL, ws->wpack_x[l]);
                    }
                    kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, nb, 3 * H, H, 1.0f, hk + t * sh, H, NULL, 0, 1.0f,
                                      gt + H, 4 * H, NULL, ws->wpack_f[l]);
                    kdts__gru_cell(gt, narrow ? NULL : bs, hk + t * sh, hk + (t + 1) * sh, nb, H);
                }
                if (dropout) {
                    const float *mk = ws->mask[l] + (size_t)b0 * T * H;
                    float *dr = ws->drop[l] + (size_t)b0 * T * H;
                    size_t q;
                    for (q = 0; q < (size_t)T * sh; ++q) dr[q] = hk[sh + q] * mk[q];
                }
            }
        }
        KDTS__TEAM_END
    }
    /* the head at every step, or at the last one */
    kdts__head_fwd(hw, hb, ws->h[L - 1], dropout ? ws->drop[L - 1] : NULL, B, T, H, O, P, last, ws->out, ws->outb,
                   out, ws->scratch);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_gru_forward(const kdts_gru *m, kdts_gru_ws *ws, const float *x, int B, int T,
                                     const float *h0, float *out, int train, kdts_rng *rng, kdts_error *err)
{
    return kdts__gru_fwd(m, ws, x, B, T, h0, out, train, rng, 0, err);
}

KDTSDEF kdts_result kdts_gru_forecast(const kdts_gru *m, kdts_gru_ws *ws, const float *x, int B, int T,
                                      const float *h0, float *out, kdts_error *err)
{
    return kdts__gru_fwd(m, ws, x, B, T, h0, out, 0, NULL, 1, err);
}

KDTSDEF void kdts_gru_final_state(const kdts_gru_ws *ws, float *hN)
{
    int l, k, b0, nb, B = ws->B, H = ws->cfg.hidden, T = ws->T;
    if (!hN) return;
    for (l = 0; l < ws->cfg.layers; ++l)
        for (k = 0; k < ws->part; ++k) {
            /* step T of each row block */
            kdts__block(B, ws->part, k, &b0, &nb);
            if (nb <= 0) continue;
            memcpy(hN + ((size_t)l * B + b0) * H, ws->h[l] + ((size_t)b0 * (T + 1) + (size_t)T * nb) * H,
                   (size_t)nb * H * sizeof(float));
        }
}

/* ---- GRU backward --------------------------------------------------------- */

KDTSDEF kdts_result kdts_gru_backward(kdts_gru *m, kdts_gru_ws *ws, const float *dout, float *dx, float *dh0,
                                      kdts_error *err)
{
    const kdts_gru_config *c;
    int H, F, O, L, B, T, l, tb, P;
    const float *hw;
    float *ghw, *ghb, *dH, *dBelow;
    if (!m || !ws || !dout || !m->grads)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "gru backward: NULL model, workspace or dout");
    c = &m->cfg;
    if (!ws->train || !ws->trained || !kdts__gru_same_arch(c, &ws->cfg) || ws->B < 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "gru backward: needs a training forward of this architecture "
                          "first (the last forward of the workspace)");
    H = c->hidden;
    F = c->input;
    O = m->outputs;
    L = c->layers;
    B = ws->B;
    T = ws->T;
    tb = kdts__bwd_block(B, H, T);
    P = ws->part;
    hw = m->params + m->off_head_w;
    ghw = m->grads + m->off_head_w;
    ghb = m->grads + m->off_head_b;
    dH = ws->dA;
    dBelow = ws->dB;
    /* (B,T,O) -> (T,B,O), block by block */
    kdts__swap_blocks(ws->dout, dout, B, T, O, P, 1);
    for (l = L - 1; l >= 0; --l) {
        const float *wih = m->params + m->off_wih[l], *whh = m->params + m->off_whh[l];
        float *gwih = m->grads + m->off_wih[l], *gwhh = m->grads + m->off_whh[l];
        float *gbih = m->grads + m->off_bih[l], *gbhh = m->grads + m->off_bhh[l];
        int I = l == 0 ? F : H;
        int head = l == L - 1;
        kdts__gru_perm_ih(ws->wperm, wih, H, I);
        kdts__pack_b_full(ws->wpack_b[l], KDTS_NOTRANS, whh, H, 3 * H, H);
        /* Blocks of tb steps, last to first: through time, then the
           products over the block's rows while its dz (in dG) is in cache.
           The recurrence reads blocks 1..3 of dz (with W_hh), the input
           gradient blocks 0..2 (with W_ih reordered n, r, z); the weight
           gradients: dW_hh (rows r, z, n) += dz[1..3]^T h_{t-1}; dW_ih rows
           r, z += dz[1..2]^T x and rows n += dz[0]^T x; db_hh += the column
           sums of dz[1..3], db_ih those of dz[1..2] and dz[0]. Row blocks
           and private sums with OpenMP as in kdts_lstm_backward. */
        KDTS__TEAM_BEGIN(P)
        {
            int k, b0, nb, t0, t1, t;
            size_t G4 = (size_t)4 * H, R = (size_t)3 * H;
            float *scr = ws->scratch + (size_t)tid_ * KDTS__GEMM_SCRATCH;
            float *pv = nt_ > 1 ? ws->tpriv + (size_t)tid_ * ws->tpriv_floats : NULL;
            float *gw = gwhh, *gx = gwih, *g1 = gbih, *g2 = gbhh, *hdw = ghw, *hdb = ghb;
            if (pv) {
                gw = pv;
                gx = gw + R * H;
                g1 = gx + R * I;
                g2 = g1 + R;
                hdw = g2 + R;
                hdb = hdw + (size_t)O * H;
                memset(pv, 0, kdts__priv_floats(R, (size_t)H, (size_t)I, (size_t)O) * sizeof(float));
            }
            for (k = tid_; k < P; k += nt_) {
                const float *xk, *gk, *hk, *dok;
                float *dHk, *dBk, *dGk;
                size_t sh;
                kdts__block(B, P, k, &b0, &nb);
                if (nb <= 0) continue;
                sh = (size_t)nb * H;
                xk = kdts__gru_layer_input(ws, l, b0, nb);
                gk = ws->gates[l] + (size_t)b0 * T * G4;
                hk = ws->h[l] + (size_t)b0 * (T + 1) * H;
                dok = ws->dout + (size_t)b0 * T * O;
                dHk = dH + (size_t)b0 * T * H;
                dBk = dBelow + (size_t)b0 * T * I;
                dGk = ws->dG + (size_t)b0 * tb * G4;
                if (head) /* the head: its dW, db and dL/dh_top */
                    kdts__head_back(hw, hdw, hdb, dok, kdts__gru_layer_input(ws, L, b0, nb), (size_t)T * nb, H, O,
                                    dHk, scr);
                if (head && ws->dtop) kdts__add_dtop(dHk, ws->dtop, b0, nb, T, H);
                if (ws->dropout_active) {
                    /* the dropout mask on what comes from above */
                    const float *mk = ws->mask[l] + (size_t)b0 * T * H;
                    size_t q;
                    for (q = 0; q < (size_t)T * sh; ++q) dHk[q] *= mk[q];
                }
                for (t1 = T; t1 > 0; t1 = t0) {
                    const float *dzo = dGk, *xb;
                    int rows;
                    t0 = t1 > tb ? t1 - tb : 0;
                    rows = (t1 - t0) * nb;
                    for (t = t1 - 1; t >= t0; --t) {
                        /* dH[t] holds the total dL/dh_t (from above, plus
                           from step t+1); the cell adds the direct part of
                           dL/dh_{t-1} into dH[t-1] (or stores it into dh
                           at t = 0, when dh0 is wanted), the product the
                           recurrent part */
                        float *dht = dHk + t * sh, *dz = dGk + (size_t)(t - t0) * nb * G4;
                        float *dprev = t > 0 ? dht - sh : (dh0 ? ws->dh + (size_t)b0 * H : NULL);
                        kdts__gru_cell_back(gk + (size_t)t * nb * G4, hk + t * sh, dht, dz, dprev, t > 0, nb, H);
                        if (dprev)
                            kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, nb, H, 3 * H, 1.0f, dz + H, 4 * H, NULL, 0,
                                              1.0f, dprev, H, NULL, ws->wpack_b[l]);
                        /* gradient w.r.t. this layer's input, these rows */
                        if (l > 0 || dx)
                            kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, nb, I, 3 * H, 1.0f, dz, 4 * H, ws->wperm, I,
                                              0.0f, dBk + (size_t)t * nb * I, I, scr, NULL);
                    }
                    /* the block's weight and bias gradients over its rows */
                    xb = xk + (size_t)t0 * nb * I;
                    kdts__gemm_serial(KDTS_TRANS, KDTS_NOTRANS, 3 * H, H, rows, 1.0f, dzo + H, 4 * H, hk + t0 * sh, H,
                                      1.0f, gw, H, scr, NULL);
                    if (I == 1) {
                        kdts__dgrad_univariate(gx, g1, g2, dzo + H, xb, (size_t)rows, 2 * H, G4);
                        kdts__dgrad_univariate(gx + 2 * H, g1 + 2 * H, NULL, dzo, xb, (size_t)rows, H, G4);
                    } else {
                        kdts__gemm_serial(KDTS_TRANS, KDTS_NOTRANS, 2 * H, I, rows, 1.0f, dzo + H, 4 * H, xb, I, 1.0f,
                                          gx, I, scr, NULL);
                        kdts__gemm_serial(KDTS_TRANS, KDTS_NOTRANS, H, I, rows, 1.0f, dzo, 4 * H, xb, I, 1.0f,
                                          gx + (size_t)2 * H * I, I, scr, NULL);
                        kdts__colsum_add(g1, g2, dzo + H, (size_t)rows, 2 * H, G4);
                        kdts__colsum_add(g1 + 2 * H, NULL, dzo, (size_t)rows, H, G4);
                    }
                    kdts__colsum_add(g2 + 2 * H, NULL, dzo + 3 * H, (size_t)rows, H, G4);
                }
            }
            if (pv) {
                /* the team's private sums into the gradients, each thread
                   its share of the gate rows (and of the head's rows) */
                KDTS__TEAM_BARRIER
                kdts__priv_reduce(ws->tpriv, ws->tpriv_floats, nt_, tid_, 3 * H, H, I, O, head, gwhh, gwih, gbih,
                                  gbhh, ghw, ghb);
            }
        }
        KDTS__TEAM_END
        if (dh0) memcpy(dh0 + (size_t)l * B * H, ws->dh, (size_t)B * H * sizeof(float));
        if (l == 0) {
            if (dx) kdts__swap_blocks(dx, dBelow, B, T, F, P, 0);
        } else {
            float *tmp = dH;
            dH = dBelow;
            dBelow = tmp;
        }
    }
    return KDTS_OK;
}

/* ---- GRU single-sequence inference pieces --------------------------------

   For a deployment runner (kdts_infer): the weights packed once for the
   fused step, then one step over all layers per observation from a state
   (L,H), so a window of T observations costs T steps and a stateful
   stream one step per observation. Packed layout: per layer W_ih (3H,I_l)
   and W_hh (3H,H) packed by kdts__pack_gates (3 gates) and the 4H biases
   in gate-array order (b_in, b_ir + b_hr, b_iz + b_hz, b_hn); then the
   head's W^T (H,O). Not called inside the library yet (KDTS__UNUSED). */

/* Offset of the head's W^T in the packed weights. */
static size_t kdts__gru_infer_head_off(int L, int H, int I0)
{
    size_t off = 0, I = (size_t)I0;
    int l;
    for (l = 0; l < L; ++l) {
        off += kdts__gates_pack_floats((size_t)H, I, 3) + kdts__gates_pack_floats((size_t)H, (size_t)H, 3) +
               4 * (size_t)H;
        I = (size_t)H;
    }
    return off;
}

/* Floats of the packed weights of a GRU with L layers of H units, input
   width I0 and O head outputs. */
static KDTS__UNUSED size_t kdts__gru_infer_floats(int L, int H, int I0, int O)
{
    return kdts__gru_infer_head_off(L, H, I0) + (size_t)H * (size_t)O;
}

/* Pack params (the kdts_gru layout) into wt (kdts__gru_infer_floats). */
static KDTS__UNUSED void kdts__gru_infer_pack(float *wt, const float *params, int L, int H, int I0, int O)
{
    const float *P = params;
    float *w = wt;
    size_t l, j, k, I = (size_t)I0, HH = (size_t)H;
    for (l = 0; l < (size_t)L; ++l) {
        const float *wih = P, *whh = wih + 3 * HH * I, *bih = whh + 3 * HH * HH, *bhh = bih + 3 * HH;
        kdts__pack_gates(w, wih, H, (int)I, 3);
        w += kdts__gates_pack_floats(HH, I, 3);
        kdts__pack_gates(w, whh, H, H, 3);
        w += kdts__gates_pack_floats(HH, HH, 3);
        kdts__gru_bias(w, bih, bhh, H);
        w += 4 * HH;
        P = bhh + 3 * HH;
        I = HH;
    }
    for (k = 0; k < HH; ++k)
        for (j = 0; j < (size_t)O; ++j) *w++ = P[j * HH + k];
}

/* One GRU step of every layer of one sequence: x (I0) the layer-0 input,
   hs (L,H) the state, updated in place; tmp (H) scratch; wt packed by
   kdts__gru_infer_pack; rev: alternate it from step to step (the same
   results either way, fewer L1 misses). */
static KDTS__UNUSED void kdts__gru_infer_step(const float *wt, int L, int H, int I0, const float *x, float *hs, float *tmp, int rev)
{
    const float *w = wt, *in = x;
    int l, I = I0;
    for (l = 0; l < L; ++l) {
        float *h = hs + (size_t)l * H;
        const float *wih = w, *whh = wih + kdts__gates_pack_floats((size_t)H, (size_t)I, 3);
        const float *b = whh + kdts__gates_pack_floats((size_t)H, (size_t)H, 3);
        w = b + (size_t)4 * H;
        /* the new h into tmp: the step reads the old h until its last chunk */
        kdts__gru_step1(b, in, I, wih, h, whh, tmp, NULL, H, rev);
        memcpy(h, tmp, (size_t)H * sizeof(float));
        in = h;
        I = H;
    }
}

/* The head on the top layer's state htop (H): out (O) = hb + W htop, with
   W^T from the packed weights and hb the head's bias (params +
   off_head_b). */
static KDTS__UNUSED void kdts__gru_infer_head(const float *wt, const float *hb, int L, int H, int I0, int O, const float *htop,
                                 float *out)
{
    const float *hwt = wt + kdts__gru_infer_head_off(L, H, I0);
    int k;
    memcpy(out, hb, (size_t)O * sizeof(float));
    for (k = 0; k < H; ++k) kdts_vec_axpy(out, htop[k], hwt + (size_t)k * O, (size_t)O);
}

/* ======================================================================== */
/* >>loss                                                                   */
/* ======================================================================== */

KDTSDEF void kdts_loss_config_from_model(kdts_loss_config *lc, const kdts_lstm *m)
{
    memset(lc, 0, sizeof *lc);
    lc->mode = m->cfg.mode;
    lc->horizon = m->cfg.horizon;
    lc->bins = m->cfg.bins;
    lc->bin_lo = m->cfg.bin_lo;
    lc->bin_hi = m->cfg.bin_hi;
    lc->temperature = 1.0f;
    lc->label_sigma = 1.0f;
}

KDTSDEF void kdts_loss_config_from_net(kdts_loss_config *lc, const struct kdts_net *m)
{
    memset(lc, 0, sizeof *lc);
    lc->mode = m->cfg.mode;
    lc->horizon = m->cfg.horizon;
    lc->bins = m->cfg.bins;
    lc->bin_lo = m->cfg.bin_lo;
    lc->bin_hi = m->cfg.bin_hi;
    lc->temperature = 1.0f;
    lc->label_sigma = 1.0f;
}

KDTSDEF float kdts_bin_centre(float lo, float hi, int K, int k)
{
    return lo + ((float)k + 0.5f) * (hi - lo) / (float)K;
}

/* log-softmax of z/temp into lp (K); returns nothing, stable. */
static void kdts__log_softmax(double *lp, const float *z, int K, double temp)
{
    double mx = -1e300, s = 0.0;
    int k;
    for (k = 0; k < K; ++k) {
        double v = z[k] / temp;
        if (v > mx) mx = v;
    }
    for (k = 0; k < K; ++k) s += exp(z[k] / temp - mx);
    s = log(s) + mx;
    for (k = 0; k < K; ++k) lp[k] = z[k] / temp - s;
}

/* log of sum_k exp(z_k / temp), stable. */
static double kdts__lse(const float *z, int K, double temp)
{
    double mx = -1e300, s = 0.0;
    int k;
    for (k = 0; k < K; ++k)
        if (z[k] / temp > mx) mx = z[k] / temp;
    for (k = 0; k < K; ++k) s += exp(z[k] / temp - mx);
    return log(s) + mx;
}

KDTSDEF void kdts_softmax_rows(float *probs, const float *logits, size_t n, int K, float temperature)
{
    size_t i;
    int k;
    double temp = temperature > 0.0f ? temperature : 1.0;
    for (i = 0; i < n; ++i) {
        const float *z = logits + i * K;
        double lse = kdts__lse(z, K, temp);
        for (k = 0; k < K; ++k) probs[i * K + k] = (float)exp(z[k] / temp - lse);
    }
}

KDTSDEF void kdts_dist_expect(float *values, const float *logits, size_t n, int K, float lo, float hi)
{
    size_t i;
    int k;
    for (i = 0; i < n; ++i) {
        const float *z = logits + i * K;
        double e = 0.0, lse = kdts__lse(z, K, 1.0);
        for (k = 0; k < K; ++k) e += exp(z[k] - lse) * kdts_bin_centre(lo, hi, K, k);
        values[i] = (float)e;
    }
}

KDTSDEF void kdts_dist_interval(const float *logits, int K, float lo, float hi, float coverage,
                                float *low, float *high)
{
    double qa, qb, cum = 0.0, w = ((double)hi - lo) / K, lse;
    int k, got_lo = 0;
    if (K < 1) return;
    if (!(coverage >= 0.0f)) coverage = 0.0f;
    if (coverage > 1.0f) coverage = 1.0f;
    qa = (1.0 - coverage) / 2.0;
    qb = 1.0 - qa;
    lse = kdts__lse(logits, K, 1.0);
    *low = lo;
    *high = hi;
    /* the CDF rises linearly inside each bin */
    for (k = 0; k < K; ++k) {
        double p = exp(logits[k] - lse), next = cum + p;
        if (!got_lo && next >= qa) {
            *low = (float)(lo + w * (k + (p > 0 ? (qa - cum) / p : 0.0)));
            got_lo = 1;
        }
        if (next >= qb) {
            *high = (float)(lo + w * (k + (p > 0 ? (qb - cum) / p : 1.0)));
            break;
        }
        cum = next;
    }
}

/* Float version for the training loss: q (K) over bin centres cen (K),
   computed relative to the nearest bin so it never underflows to zero. */
static void kdts__target_dist_f(float *q, const float *cen, float y, const kdts_loss_config *lc)
{
    int K = lc->bins, k;
    float w = (lc->bin_hi - lc->bin_lo) / (float)K, mx = -FLT_MAX, sum = 0.0f;
    if (lc->label_sigma > 0.0f) {
        float inv = 1.0f / (lc->label_sigma * w);
        for (k = 0; k < K; ++k) {
            float d = (cen[k] - y) * inv;
            q[k] = -0.5f * d * d;
            if (q[k] > mx) mx = q[k];
        }
        for (k = 0; k < K; ++k) q[k] -= mx;
        kdts_vec_exp(q, q, (size_t)K);
        for (k = 0; k < K; ++k) sum += q[k];
        for (k = 0; k < K; ++k) q[k] /= sum;
    } else {
        float pos = (y - lc->bin_lo) / w;
        int bin = pos < 0.0f ? 0 : (pos >= (float)K ? K - 1 : (int)pos);
        for (k = 0; k < K; ++k) q[k] = k == bin ? 1.0f : 0.0f;
    }
}

/* sum of (a-b)^2 over n values, in double (exact differences, four
   independent sums); when d is not NULL, d += c*(a-b) (vectorized). */
static double kdts__sqdiff_acc(const float *a, const float *b, size_t n, float c, float *d)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        double e0 = (double)a[i] - b[i], e1 = (double)a[i + 1] - b[i + 1];
        double e2 = (double)a[i + 2] - b[i + 2], e3 = (double)a[i + 3] - b[i + 3];
        s0 += e0 * e0;
        s1 += e1 * e1;
        s2 += e2 * e2;
        s3 += e3 * e3;
    }
    for (; i < n; ++i) {
        double e = (double)a[i] - b[i];
        s0 += e * e;
    }
    if (d) {
        i = 0;
#ifdef KDTS__VW
        {
            kdts__v vc = kdts__vset(c);
            for (; i + KDTS__VW <= n; i += KDTS__VW)
                kdts__vst(d + i, kdts__vfma(vc, kdts__vsub(kdts__vld(a + i), kdts__vld(b + i)), kdts__vld(d + i)));
        }
#endif
        for (; i < n; ++i) d[i] += c * (a[i] - b[i]);
    }
    return (s0 + s1) + (s2 + s3);
}

/* Horizon-position weights w[0..H) of lc->horizon_weight, mean 1. */
static void kdts__horizon_weights(float *w, int H, float gamma)
{
    double s = 0.0;
    int j;
    for (j = 0; j < H; ++j) s += pow((double)(j + 1), (double)gamma);
    for (j = 0; j < H; ++j) w[j] = (float)(pow((double)(j + 1), (double)gamma) * H / s);
}

/* Sequence-step weight of step t among t0 .. T-1 (mean 1), lc->step_weight. */
static double kdts__step_weight(int t, int t0, float delta, double norm)
{
    return delta > 0.0f ? pow((double)(t - t0 + 1), (double)delta) / norm : 1.0;
}

/* L_ms over the rows (b, t >= t0, series); adds wgt * dL_ms/dout to dout. */
static double kdts__loss_ms(const float *out, const float *tv, int B, int Bn, int T, int t0, int h, int H,
                            int scales, float wgt, float *dout)
{
    int nsc = 0, q, s, b, t, k, p, u, ns = h / H;
    double L = 0.0;
    for (q = 0, s = 1; q <= scales && s <= H; ++q, s *= 2) nsc++;
    for (q = 0, s = 1; q < nsc; ++q, s *= 2) {
        int P = H / s;
        double nq = (double)Bn * (T - t0) * ns * P, Lq = 0.0;
        for (b = 0; b < B; ++b)
            for (t = t0; t < T; ++t)
                for (k = 0; k < ns; ++k) {
                    size_t base = ((size_t)b * T + t) * h + (size_t)k * H;
                    for (p = 0; p < P; ++p) {
                        size_t i0 = base + (size_t)p * s;
                        double e = 0.0;
                        for (u = 0; u < s; ++u) e += (double)out[i0 + u] - tv[i0 + u];
                        e /= s;
                        Lq += e * e;
                        if (dout) {
                            float g = (float)(wgt * 2.0 * e / (s * nq * nsc));
                            for (u = 0; u < s; ++u) dout[i0 + u] += g;
                        }
                    }
                }
        L += Lq / nq;
    }
    return L / nsc;
}

/* DFT magnitudes m[0..nf) of x (H) (see L_freq), and re/im when not NULL. */
static void kdts__dft_mag(const float *x, int H, int nf, const double *cs, const double *sn, double *m, double *re,
                          double *im)
{
    int f, j, a;
    for (f = 0; f < nf; ++f) {
        double r = 0.0, i = 0.0;
        for (j = 0, a = 0; j < H; ++j) {
            r += x[j] * cs[a];
            i -= x[j] * sn[a];
            a += f;
            if (a >= H) a -= H;
        }
        m[f] = sqrt((r * r + i * i) / H + 1e-12);
        if (re) re[f] = r;
        if (im) im[f] = i;
    }
}

/* log-softmax of v/temp (n doubles) into lp. */
static void kdts__log_softmax_d(double *lp, const double *v, int n, double temp)
{
    double mx = -1e300, s = 0.0;
    int k;
    for (k = 0; k < n; ++k)
        if (v[k] / temp > mx) mx = v[k] / temp;
    for (k = 0; k < n; ++k) s += exp(v[k] / temp - mx);
    s = log(s) + mx;
    for (k = 0; k < n; ++k) lp[k] = v[k] / temp - s;
}

/* L_freq over the rows (b, t >= t0, series); adds wgt * dL_freq/dout. */
static double kdts__loss_freq(const float *out, const float *tv, int B, int Bn, int T, int t0, int h, int H,
                              double tau, float wgt, float *dout)
{
    double cs[1024], sn[1024], re[513], im[513], ms[513], mt[513], lp[513], lq[513], gm[513];
    int nf = H / 2 + 1, ns = h / H, b, t, k, f, j, a;
    double rows = (double)Bn * (T - t0) * ns, L = 0.0;
    for (j = 0; j < H; ++j) {
        cs[j] = cos(6.283185307179586476925 * j / H);
        sn[j] = sin(6.283185307179586476925 * j / H);
    }
    for (b = 0; b < B; ++b)
        for (t = t0; t < T; ++t)
            for (k = 0; k < ns; ++k) {
                size_t base = ((size_t)b * T + t) * h + (size_t)k * H;
                double kl = 0.0;
                kdts__dft_mag(out + base, H, nf, cs, sn, ms, re, im);
                kdts__dft_mag(tv + base, H, nf, cs, sn, mt, NULL, NULL);
                kdts__log_softmax_d(lp, ms, nf, tau);
                kdts__log_softmax_d(lq, mt, nf, tau);
                for (f = 0; f < nf; ++f) kl += exp(lq[f]) * (lq[f] - lp[f]);
                L += kl;
                if (!dout) continue;
                /* d(tau^2 KL)/dm_f = tau (p_f - q_f); dm_f/dx_j = (re cos - im sin) / (H m_f) */
                for (f = 0; f < nf; ++f) gm[f] = wgt * tau * (exp(lp[f]) - exp(lq[f])) / (rows * H * ms[f]);
                for (j = 0; j < H; ++j) {
                    double g = 0.0;
                    for (f = 0, a = 0; f < nf; ++f) {
                        g += gm[f] * (re[f] * cs[a] - im[f] * sn[a]);
                        a += j;
                        if (a >= H) a -= H;
                    }
                    dout[base + j] += (float)g;
                }
            }
    return tau * tau * L / rows;
}

/* The option fields of lc against the sizes: KDTS_OK or KDTS_ERR_ARG. */
static kdts_result kdts__loss_opts_check(const kdts_loss_config *lc, int h, int dist, kdts_error *err)
{
    int ns = lc->targets > 0 ? lc->targets : 1, H;
    if (lc->targets < 0 || h % ns)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: %d series do not divide %d values per step", ns, h);
    H = h / ns;
    if (!(lc->horizon_weight >= 0.0f && lc->horizon_weight <= 64.0f) || !(lc->step_weight >= 0.0f && lc->step_weight <= 64.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: horizon/step weight exponents must be in [0, 64]");
    if (lc->horizon_weight > 0.0f && H > 4096)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: horizon weights need a horizon <= 4096, not %d", H);
    if (!(lc->ms_weight >= 0.0f) || !kdts__isfinite(lc->ms_weight) || !(lc->freq_weight >= 0.0f) ||
        !kdts__isfinite(lc->freq_weight))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: multi-scale and frequency weights must be numbers >= 0");
    if (lc->ms_scales < 0 || lc->ms_scales > 30)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: %d multi-scale scales (0 .. 30)", lc->ms_scales);
    if (!(lc->freq_temperature >= 0.0f) || !kdts__isfinite(lc->freq_temperature))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: frequency temperature %g", (double)lc->freq_temperature);
    if (lc->aux_steps != 0 && lc->aux_steps != 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: aux_steps must be 0 or 1");
    if (dist && (lc->ms_weight > 0.0f || lc->freq_weight > 0.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: multi-scale and frequency terms are point-mode only");
    if (lc->freq_weight > 0.0f && H > 1024)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: the frequency term needs a horizon <= 1024, not %d", H);
    return KDTS_OK;
}

/* kdts_loss_eval on B rows of a batch of Bn >= B: every mean is taken over
   Bn rows, so the values and gradients of the parts of a batch add up to
   those of the batch (each gradient element is the one the whole batch
   gives, bit for bit). */
static kdts_result kdts__loss_eval_n(const kdts_loss_config *lc, float w_hard, float w_soft, float w_seq,
                                     const float *out, const float *target, const float *tvals, const float *tprobs,
                                     int B, int Bn, int T, kdts_loss_value *lv, float *dout, kdts_error *err)
{
    int h = lc->horizon, K = lc->bins, dist = lc->mode == KDTS_MODE_DIST;
    int O = dist ? h * K : h, b, t, j, k;
    int t_hard0 = lc->hard_last_only ? T - 1 : 0, t_seq0 = lc->seq_from > 0 && lc->seq_from < T ? lc->seq_from : 0;
    double n_hard = (double)Bn * (T - t_hard0) * h, n_soft = (double)Bn * h, n_seq = (double)Bn * (T - t_seq0) * h;
    double Lh = 0.0, Ls = 0.0, Lq = 0.0, Lms = 0.0, Lf = 0.0, tau = lc->temperature > 0.0f ? lc->temperature : 1.0;
    double snorm = 1.0;
    float pf[4096], qf[4096], cen[4096], wj[4096];
    int H = h, hw = lc->horizon_weight > 0.0f, sw = lc->step_weight > 0.0f;
    kdts_result r;
    if (B < 1 || Bn < B || T < 1 || h < 1 || (dist && (K < 2 || K > 4096)))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "loss: bad sizes (B %d, T %d, horizon %d, bins %d)", B, T, h, K);
    if ((r = kdts__loss_opts_check(lc, h, dist, err)) != KDTS_OK) return r;
    if (lc->targets > 1) H = h / lc->targets;
    if (hw) kdts__horizon_weights(wj, H, lc->horizon_weight);
    if (sw) {
        snorm = 0.0;
        for (t = t_seq0; t < T; ++t) snorm += pow((double)(t - t_seq0 + 1), (double)lc->step_weight);
        snorm /= T - t_seq0;
    }
    for (k = 0; dist && k < K; ++k) cen[k] = kdts_bin_centre(lc->bin_lo, lc->bin_hi, K, k);
    if (!out || (w_hard != 0.0f && !target) || (w_seq != 0.0f && !tvals) ||
        ((lc->ms_weight > 0.0f || lc->freq_weight > 0.0f) && !tvals) ||
        (w_soft != 0.0f && (dist ? !tprobs : !tvals)))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "loss: a term with a nonzero weight has no data (outputs, targets or teacher values)");
    if (dout) memset(dout, 0, (size_t)B * T * O * sizeof(float));
    if (!dist) {
        /* point mode: whole arrays at once (all are (B,T,h)) */
        size_t n = (size_t)B * T * h, last = (size_t)(T - 1) * h;
        if (w_hard != 0.0f) {
            float c = (float)(w_hard * 2.0 / n_hard);
            if (!lc->hard_last_only)
                Lh = kdts__sqdiff_acc(out, target, n, c, dout);
            else
                for (b = 0; b < B; ++b) {
                    size_t r0 = (size_t)b * T * h + last;
                    Lh += kdts__sqdiff_acc(out + r0, target + r0, (size_t)h, c, dout ? dout + r0 : NULL);
                }
        }
        if (w_seq != 0.0f && (hw || sw)) {
            /* weighted by horizon position and/or sequence step */
            double c = w_seq * 2.0 / n_seq;
            for (b = 0; b < B; ++b)
                for (t = t_seq0; t < T; ++t) {
                    size_t r0 = ((size_t)b * T + t) * h;
                    double wt = kdts__step_weight(t, t_seq0, lc->step_weight, snorm);
                    for (j = 0; j < h; ++j) {
                        double wgt = hw ? wt * wj[j % H] : wt, e = (double)out[r0 + j] - tvals[r0 + j];
                        Lq += wgt * e * e;
                        if (dout) dout[r0 + j] += (float)(c * wgt * e);
                    }
                }
        } else if (w_seq != 0.0f) {
            if (!t_seq0)
                Lq = kdts__sqdiff_acc(out, tvals, n, (float)(w_seq * 2.0 / n_seq), dout);
            else
                for (b = 0; b < B; ++b) {
                    size_t r0 = (size_t)b * T * h + (size_t)t_seq0 * h, len = (size_t)(T - t_seq0) * h;
                    Lq += kdts__sqdiff_acc(out + r0, tvals + r0, len, (float)(w_seq * 2.0 / n_seq),
                                           dout ? dout + r0 : NULL);
                }
        }
        if (w_soft != 0.0f && hw)
            for (b = 0; b < B; ++b) {
                size_t r0 = (size_t)b * T * h + last;
                double c = w_soft * 2.0 / n_soft;
                for (j = 0; j < h; ++j) {
                    double e = (double)out[r0 + j] - tvals[r0 + j];
                    Ls += wj[j % H] * e * e;
                    if (dout) dout[r0 + j] += (float)(c * wj[j % H] * e);
                }
            }
        else if (w_soft != 0.0f)
            for (b = 0; b < B; ++b) {
                size_t r0 = (size_t)b * T * h + last;
                Ls += kdts__sqdiff_acc(out + r0, tvals + r0, (size_t)h, (float)(w_soft * 2.0 / n_soft),
                                       dout ? dout + r0 : NULL);
            }
    } else {
        for (b = 0; b < B; ++b) {
            for (t = 0; t < T; ++t) {
                size_t row = (size_t)b * T + t;
                const float *o = out + row * O;
                float *d = dout ? dout + row * O : NULL;
                int hard = w_hard != 0.0f && t >= t_hard0, soft = w_soft != 0.0f && t == T - 1;
                for (j = 0; j < h; ++j) {
                    /* per-row softmax in float with the vectorized exp; the
                       sums that form the loss are kept in double */
                    const float *z = o + (size_t)j * K;
                    float *dz = d ? d + (size_t)j * K : NULL;
                    float mx = z[0], se = 0.0f, inv;
                    for (k = 1; k < K; ++k)
                        if (z[k] > mx) mx = z[k];
                    for (k = 0; k < K; ++k) pf[k] = z[k] - mx;
                    kdts_vec_exp(pf, pf, (size_t)K);
                    for (k = 0; k < K; ++k) se += pf[k];
                    inv = 1.0f / se;
                    for (k = 0; k < K; ++k) pf[k] *= inv;
                    if (w_seq != 0.0f && t >= t_seq0) {
                        float E = 0.0f, ge;
                        double wq = hw || sw ? kdts__step_weight(t, t_seq0, lc->step_weight, snorm) *
                                                   (hw ? wj[j % H] : 1.0f)
                                             : 1.0;
                        for (k = 0; k < K; ++k) E += pf[k] * cen[k];
                        ge = E - tvals[row * h + j];
                        Lq += hw || sw ? wq * ge * ge : (double)ge * ge;
                        if (dz) {
                            /* dE/dz_k = p_k (c_k - E) */
                            float gs = hw || sw ? (float)(w_seq * 2.0 * wq / n_seq * ge)
                                                : (float)(w_seq * 2.0 / n_seq) * ge;
                            for (k = 0; k < K; ++k) dz[k] += gs * pf[k] * (cen[k] - E);
                        }
                    }
                    if (hard) {
                        /* cross-entropy: -sum q_k log p_k = lse - sum q_k z_k */
                        float qz = 0.0f;
                        kdts__target_dist_f(qf, cen, target[row * h + j], lc);
                        for (k = 0; k < K; ++k) qz += qf[k] * z[k];
                        Lh += (double)logf(se) + mx - qz;
                        if (dz) {
                            float gh = (float)(w_hard / n_hard);
                            for (k = 0; k < K; ++k) dz[k] += gh * (pf[k] - qf[k]);
                        }
                    }
                    if (soft) {
                        const float *pt = tprobs + ((size_t)b * h + j) * K;
                        double kl = 0.0, lps[4096];
                        kdts__log_softmax(lps, z, K, tau);
                        for (k = 0; k < K; ++k)
                            if (pt[k] > 0.0f) kl += pt[k] * (log((double)pt[k]) - lps[k]);
                        double wk = hw ? wj[j % H] : 1.0;
                        Ls += hw ? wk * tau * tau * kl : tau * tau * kl;
                        if (dz)
                            for (k = 0; k < K; ++k)
                                dz[k] += hw ? (float)(wk * w_soft * tau * (exp(lps[k]) - pt[k]) / n_soft)
                                            : (float)(w_soft * tau * (exp(lps[k]) - pt[k]) / n_soft);
                    }
                }
            }
        }
    }
    Lh = n_hard > 0 ? Lh / n_hard : 0.0;
    Ls /= n_soft;
    Lq /= n_seq;
    if (lc->ms_weight > 0.0f || lc->freq_weight > 0.0f) {
        int t_aux0 = lc->aux_steps ? t_seq0 : T - 1;
        if (lc->ms_weight > 0.0f)
            Lms = kdts__loss_ms(out, tvals, B, Bn, T, t_aux0, h, H, lc->ms_scales > 0 ? lc->ms_scales : 3,
                                lc->ms_weight, dout);
        if (lc->freq_weight > 0.0f)
            Lf = kdts__loss_freq(out, tvals, B, Bn, T, t_aux0, h, H,
                                 lc->freq_temperature > 0.0f ? lc->freq_temperature : 1.0, lc->freq_weight, dout);
    }
    if (lv) {
        lv->hard = Lh;
        lv->soft = Ls;
        lv->seq = Lq;
        lv->ms = Lms;
        lv->freq = Lf;
        lv->total = w_hard * Lh + w_soft * Ls + w_seq * Lq;
        if (lc->ms_weight > 0.0f) lv->total += lc->ms_weight * Lms;
        if (lc->freq_weight > 0.0f) lv->total += lc->freq_weight * Lf;
    }
    if (!(fabs(w_hard * Lh + w_soft * Ls + w_seq * Lq + lc->ms_weight * Lms + lc->freq_weight * Lf) < 1e300))
        return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0, "loss is not finite (hard %g, soft %g, seq %g)", Lh, Ls, Lq);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_loss_eval(const kdts_loss_config *lc, float w_hard, float w_soft,
                                   float w_seq, const float *out, const float *target,
                                   const float *tvals, const float *tprobs, int B, int T,
                                   kdts_loss_value *lv, float *dout, kdts_error *err)
{
    return kdts__loss_eval_n(lc, w_hard, w_soft, w_seq, out, target, tvals, tprobs, B, B, T, lv, dout, err);
}

KDTSDEF kdts_result kdts_distill_loss(const kdts_loss_config *lc, float alpha, float beta,
                                      const float *out, const float *target, const float *tvals,
                                      const float *tprobs, int B, int T, kdts_loss_value *lv,
                                      float *dout, kdts_error *err)
{
    return kdts_loss_eval(lc, 1.0f - alpha, alpha, beta, out, target, tvals, tprobs, B, T, lv, dout, err);
}

/* ======================================================================== */
/* >>attn                                                                   */
/* ======================================================================== */

/* Query rows per block of the causal attention products: a block of rows
   i0 .. i1-1 multiplies keys 0 .. i1-1 only, so about RB/2 of every row's
   products fall above the diagonal instead of half the matrix. */
#define KDTS__ATT_RB 16
#define KDTS__LN_EPS 1e-5f

static void kdts__attn_defaults(kdts_attn_config *c)
{
    if (c->input == 0) c->input = 1;
    if (c->heads == 0) c->heads = 1;
    if (c->ff == 0 && c->d_model > 0 && c->d_model <= KDTS_MAX_DIM / 4) c->ff = 4 * c->d_model;
    if (c->blocks == 0) c->blocks = 1;
    if (c->max_steps == 0) c->max_steps = 256;
    if (c->horizon == 0) c->horizon = 1;
    if (c->mode == KDTS_MODE_DIST && c->bins == 0) c->bins = 32;
    if (c->mode == KDTS_MODE_DIST && c->bin_lo == 0.0f && c->bin_hi == 0.0f) {
        c->bin_lo = -4.0f;
        c->bin_hi = 4.0f;
    }
}

static int kdts__attn_outputs(const kdts_attn_config *c)
{
    return c->mode == KDTS_MODE_DIST ? c->horizon * c->bins : c->horizon;
}

/* *off = *total, then *total += a*b; 0 on overflow. */
static int kdts__attn_take(size_t *total, size_t a, size_t b, size_t *off)
{
    size_t n;
    if (off) *off = *total;
    return kdts__mul_ok(a, b, &n) && kdts__add_ok(*total, n, total);
}

/* Parameter offsets (into m when not NULL) and count of a config whose
   fields are in range; 0 on overflow. */
static size_t kdts__attn_layout(const kdts_attn_config *c, kdts_attn *m)
{
    size_t d = (size_t)c->d_model, F = (size_t)c->input, ff = (size_t)c->ff, t = 0, bytes;
    size_t O = (size_t)kdts__attn_outputs(c), dummy;
    int l, ok = 1;
#define KDTS__TAKE(field, a, b) ok = ok && kdts__attn_take(&t, (a), (b), m ? &(field) : &dummy)
    KDTS__TAKE(m->off_in_w, d, F);
    KDTS__TAKE(m->off_in_b, d, 1);
    for (l = 0; l < c->blocks; ++l) {
        KDTS__TAKE(m->blk[l].qkv_w, 3 * d, d);
        KDTS__TAKE(m->blk[l].qkv_b, 3 * d, 1);
        KDTS__TAKE(m->blk[l].o_w, d, d);
        KDTS__TAKE(m->blk[l].o_b, d, 1);
        KDTS__TAKE(m->blk[l].ff1_w, ff, d);
        KDTS__TAKE(m->blk[l].ff1_b, ff, 1);
        KDTS__TAKE(m->blk[l].ff2_w, d, ff);
        KDTS__TAKE(m->blk[l].ff2_b, d, 1);
        KDTS__TAKE(m->blk[l].ln1_g, d, 1);
        KDTS__TAKE(m->blk[l].ln1_b, d, 1);
        KDTS__TAKE(m->blk[l].ln2_g, d, 1);
        KDTS__TAKE(m->blk[l].ln2_b, d, 1);
        KDTS__TAKE(m->blk[l].pos, (size_t)c->heads, (size_t)c->max_steps);
    }
    if (c->final_norm) {
        KDTS__TAKE(m->off_lnf_g, d, 1);
        KDTS__TAKE(m->off_lnf_b, d, 1);
    } else if (m) {
        m->off_lnf_g = m->off_lnf_b = 0;
    }
    KDTS__TAKE(m->off_head_w, O, d);
    KDTS__TAKE(m->off_head_b, O, 1);
#undef KDTS__TAKE
    (void)dummy;
    if (!ok || !kdts__mul_ok(t, 2 * sizeof(float), &bytes)) return 0;
    return t;
}

/* Field checks of a config with defaults filled in. */
static kdts_result kdts__attn_validate(const kdts_attn_config *c, kdts_error *err)
{
    if (c->input < 1 || c->input > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "input width %d out of range 1..%d", c->input, KDTS_MAX_DIM);
    if (c->d_model < 1 || c->d_model > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "d_model %d out of range 1..%d", c->d_model, KDTS_MAX_DIM);
    if (c->heads < 1 || c->heads > c->d_model || c->d_model % c->heads != 0)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "d_model %d is not a multiple of heads %d", c->d_model, c->heads);
    if (c->ff < 1 || c->ff > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "ff %d out of range 1..%d", c->ff, KDTS_MAX_DIM);
    if (c->blocks < 1 || c->blocks > KDTS_ATTN_MAX_BLOCKS)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "blocks %d out of range 1..%d", c->blocks, KDTS_ATTN_MAX_BLOCKS);
    if (c->activation != KDTS_ATTN_GELU && c->activation != KDTS_ATTN_RELU)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "unknown activation %d", (int)c->activation);
    if (c->final_norm != 0 && c->final_norm != 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "final_norm must be 0 or 1");
    if (c->max_steps < 1 || c->max_steps > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "max_steps %d out of range 1..%d", c->max_steps, KDTS_MAX_DIM);
    if (c->horizon < 1 || c->horizon > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "horizon %d out of range 1..%d", c->horizon, KDTS_MAX_DIM);
    if (c->mode != KDTS_MODE_POINT && c->mode != KDTS_MODE_DIST)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "unknown output mode %d", (int)c->mode);
    if (c->mode == KDTS_MODE_DIST) {
        if (c->bins < 2 || c->bins > 4096)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "bins %d out of range 2..4096", c->bins);
        if (!(c->bin_hi > c->bin_lo) || !kdts__isfinite(c->bin_lo) || !kdts__isfinite(c->bin_hi))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "bin range must satisfy lo < hi");
        if ((long)c->horizon * c->bins > KDTS_MAX_DIM)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "horizon x bins exceeds %d", KDTS_MAX_DIM);
    }
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "dropout must be in [0, 1)");
    if (kdts__attn_layout(c, NULL) == 0)
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "parameter count overflows");
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_attn_config_check(kdts_attn_config *c, kdts_error *err)
{
    kdts_result r;
    if (!c) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_attn_config_check: NULL config");
    kdts__attn_defaults(c);
    r = kdts__attn_validate(c, err);
    if (r != KDTS_OK) return r;
    if (c->mode != KDTS_MODE_DIST) {
        c->bins = 0;
        c->bin_lo = c->bin_hi = 0.0f;
    }
    return KDTS_OK;
}

KDTSDEF size_t kdts_attn_param_count(const kdts_attn_config *cfg)
{
    kdts_attn_config c;
    if (!cfg) return 0;
    c = *cfg;
    if (kdts_attn_config_check(&c, NULL) != KDTS_OK) return 0;
    return kdts__attn_layout(&c, NULL);
}

/* FLOPs of a forward over T steps; last != 0: as kdts_attn_forecast. */
static double kdts__attn_flops(const kdts_attn_config *cfg, int Ti, int last)
{
    kdts_attn_config c = *cfg;
    double d, F, ff, nh, O, T = Ti, f, act, rows;
    int l;
    kdts__attn_defaults(&c);
    if (c.d_model < 1 || c.heads < 1 || c.ff < 1 || c.blocks < 1 || Ti < 1) return 0.0;
    d = c.d_model;
    F = c.input;
    ff = c.ff;
    nh = c.heads;
    O = kdts__attn_outputs(&c);
    act = c.activation == KDTS_ATTN_GELU ? 2.0 : 1.0;
    f = T * (2.0 * F * d + d);
    for (l = 0; l < c.blocks; ++l) {
        if (!last || l < c.blocks - 1) {
            double pairs = T * (T + 1.0) / 2.0;
            f += T * (8.0 * d + 6.0 * d * d + 3.0 * d);   /* LN1, q k v             */
            f += 2.0 * d * pairs * 2.0 + 5.0 * nh * pairs; /* QK^T, PV, bias+softmax */
            f += T * (2.0 * d * d + 2.0 * d + 8.0 * d);   /* W_o, residual, LN2     */
            f += T * (4.0 * d * ff + ff + act * ff + 2.0 * d); /* feed-forward      */
        } else {
            f += T * (8.0 * d + 4.0 * d * d + 2.0 * d);   /* LN1, k v at every step */
            f += 2.0 * d * d + d;                          /* q at the last step     */
            f += 4.0 * d * T + 5.0 * nh * T;               /* its attention          */
            f += 2.0 * d * d + 2.0 * d + 8.0 * d + 4.0 * d * ff + ff + act * ff + 2.0 * d;
        }
    }
    rows = last ? 1.0 : T;
    if (c.final_norm) f += rows * 8.0 * d;
    f += rows * (2.0 * d * O + O);
    return f;
}

KDTSDEF double kdts_attn_flops(const kdts_attn_config *cfg, int T) { return cfg ? kdts__attn_flops(cfg, T, 0) : 0.0; }

KDTSDEF double kdts_attn_forecast_flops(const kdts_attn_config *cfg, int T)
{
    return cfg ? kdts__attn_flops(cfg, T, 1) : 0.0;
}

static void kdts__attn_unif(float *p, size_t n, float bound, kdts_rng *r)
{
    size_t i;
    for (i = 0; i < n; ++i) p[i] = (2.0f * kdts_rng_uniform(r) - 1.0f) * bound;
}

static void kdts__attn_fill(float *p, size_t n, float v)
{
    size_t i;
    for (i = 0; i < n; ++i) p[i] = v;
}

KDTSDEF void kdts_attn_reset(kdts_attn *m, unsigned long long seed)
{
    const kdts_attn_config *c = &m->cfg;
    size_t d = (size_t)c->d_model, F = (size_t)c->input, ff = (size_t)c->ff, S = (size_t)c->max_steps;
    size_t O = (size_t)m->outputs, t;
    float *P = m->params, kd = 1.0f / sqrtf((float)d);
    kdts_rng r;
    int l, j;
    kdts_rng_seed(&r, seed);
    kdts__attn_unif(P + m->off_in_w, d * F, 1.0f / sqrtf((float)F), &r);
    kdts__attn_unif(P + m->off_in_b, d, 1.0f / sqrtf((float)F), &r);
    for (l = 0; l < c->blocks; ++l) {
        const kdts_attn_block_offsets *o = &m->blk[l];
        kdts__attn_unif(P + o->qkv_w, 3 * d * d, sqrtf(6.0f / (4.0f * (float)d)), &r);
        kdts__attn_fill(P + o->qkv_b, 3 * d, 0.0f);
        kdts__attn_unif(P + o->o_w, d * d, kd, &r);
        kdts__attn_fill(P + o->o_b, d, 0.0f);
        kdts__attn_unif(P + o->ff1_w, ff * d, kd, &r);
        kdts__attn_unif(P + o->ff1_b, ff, kd, &r);
        kdts__attn_unif(P + o->ff2_w, d * ff, 1.0f / sqrtf((float)ff), &r);
        kdts__attn_unif(P + o->ff2_b, d, 1.0f / sqrtf((float)ff), &r);
        kdts__attn_fill(P + o->ln1_g, d, 1.0f);
        kdts__attn_fill(P + o->ln1_b, d, 0.0f);
        kdts__attn_fill(P + o->ln2_g, d, 1.0f);
        kdts__attn_fill(P + o->ln2_b, d, 0.0f);
        for (j = 0; j < c->heads; ++j) {
            /* ALiBi: slope 2^(-8(j+1)/heads) per unit of distance */
            float slope = (float)pow(2.0, -8.0 * (j + 1) / c->heads);
            for (t = 0; t < S; ++t) P[o->pos + (size_t)j * S + t] = -slope * (float)t;
        }
    }
    if (c->final_norm) {
        kdts__attn_fill(P + m->off_lnf_g, d, 1.0f);
        kdts__attn_fill(P + m->off_lnf_b, d, 0.0f);
    }
    kdts__attn_unif(P + m->off_head_w, O * d, kd, &r);
    kdts__attn_unif(P + m->off_head_b, O, kd, &r);
    kdts_attn_zero_grad(m);
}

KDTSDEF kdts_result kdts_attn_init(kdts_attn *m, const kdts_attn_config *cfg, unsigned long long seed,
                                   kdts_error *err)
{
    kdts_attn t;
    kdts_result r;
    if (!m || !cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_attn_init: NULL argument");
    memset(&t, 0, sizeof t);
    t.cfg = *cfg;
    r = kdts_attn_config_check(&t.cfg, err);
    if (r != KDTS_OK) return r;
    t.outputs = kdts__attn_outputs(&t.cfg);
    t.nparams = kdts__attn_layout(&t.cfg, &t);
    t.params = kdts__falloc(t.nparams);
    t.grads = kdts__falloc(t.nparams);
    if (!t.params || !t.grads) {
        kdts__free_aligned(t.params);
        kdts__free_aligned(t.grads);
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for %lu parameters", (unsigned long)t.nparams);
    }
    *m = t;
    kdts_attn_reset(m, seed);
    return KDTS_OK;
}

KDTSDEF void kdts_attn_free(kdts_attn *m)
{
    if (!m) return;
    kdts__free_aligned(m->params);
    kdts__free_aligned(m->grads);
    m->params = m->grads = NULL;
    m->nparams = 0;
}

KDTSDEF void kdts_attn_zero_grad(kdts_attn *m)
{
    if (m && m->grads) memset(m->grads, 0, m->nparams * sizeof(float));
}

/* ---- element-wise kernels ----------------------------------------------- */

#ifdef KDTS__VW
/* Sum and maximum of the lanes, as a tree of independent steps. */
#define KDTS__MAX2(a, b) ((a) > (b) ? (a) : (b))
static KDTS__AINLINE float kdts__vhsum(kdts__v v)
{
    float t[KDTS__VW];
    kdts__vst(t, v);
#if KDTS__VW == 16
    {
        float a0 = (t[0] + t[8]) + (t[4] + t[12]), a1 = (t[1] + t[9]) + (t[5] + t[13]);
        float a2 = (t[2] + t[10]) + (t[6] + t[14]), a3 = (t[3] + t[11]) + (t[7] + t[15]);
        return (a0 + a2) + (a1 + a3);
    }
#elif KDTS__VW == 8
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
#else
    return (t[0] + t[2]) + (t[1] + t[3]);
#endif
}
static KDTS__AINLINE float kdts__vhmax(kdts__v v)
{
    float t[KDTS__VW], a0, a1;
    kdts__vst(t, v);
#if KDTS__VW == 16
    {
        float b0 = KDTS__MAX2(t[0], t[8]), b1 = KDTS__MAX2(t[1], t[9]), b2 = KDTS__MAX2(t[2], t[10]);
        float b3 = KDTS__MAX2(t[3], t[11]), b4 = KDTS__MAX2(t[4], t[12]), b5 = KDTS__MAX2(t[5], t[13]);
        float b6 = KDTS__MAX2(t[6], t[14]), b7 = KDTS__MAX2(t[7], t[15]);
        b0 = KDTS__MAX2(b0, b4), b1 = KDTS__MAX2(b1, b5), b2 = KDTS__MAX2(b2, b6), b3 = KDTS__MAX2(b3, b7);
        a0 = KDTS__MAX2(b0, b2), a1 = KDTS__MAX2(b1, b3);
    }
#elif KDTS__VW == 8
    {
        float b0 = KDTS__MAX2(t[0], t[4]), b1 = KDTS__MAX2(t[1], t[5]), b2 = KDTS__MAX2(t[2], t[6]);
        float b3 = KDTS__MAX2(t[3], t[7]);
        a0 = KDTS__MAX2(b0, b2), a1 = KDTS__MAX2(b1, b3);
    }
#else
    a0 = KDTS__MAX2(t[0], t[2]), a1 = KDTS__MAX2(t[1], t[3]);
#endif
    return KDTS__MAX2(a0, a1);
}
/* 1 for x > 0 (x >= 1e-38), 0 for x <= 0, with min and max only */
static KDTS__AINLINE kdts__v kdts__vstep(kdts__v x)
{
    return kdts__vmin(kdts__vmax(kdts__vmul(x, kdts__vset(1e38f)), kdts__vset(0.0f)), kdts__vset(1.0f));
}
#endif

/* The standard normal CDF Phi(x) = erfc(-x/sqrt(2))/2, through
   erfc(w) = t exp(-w^2 - 1.26551223 + t(1.00002368 + ...)), t = 1/(1 + w/2),
   w >= 0, a Chebyshev fit with relative error below 1.2e-7 everywhere:
   Phi = erfc(w)/2 for x < 0, 1 - erfc(w)/2 for x >= 0, w = |x|/sqrt(2).
   With pdf != NULL also the density phi(x) = e^(-x^2/2)/sqrt(2 pi). */
#define KDTS__ERFC_POLY(t)                                                                                  \
    (-1.26551223f +                                                                                         \
     (t) * (1.00002368f +                                                                                   \
            (t) * (0.37409196f +                                                                            \
                   (t) * (0.09678418f +                                                                     \
                          (t) * (-0.18628806f +                                                             \
                                 (t) * (0.27886807f +                                                       \
                                        (t) * (-1.13520398f +                                               \
                                               (t) * (1.48851587f + (t) * (-0.82215223f + (t) * 0.17087277f)))))))))
static float kdts__phi_cdf(float x, float *pdf)
{
    float w = fabsf(x) * 0.70710678f, t = 1.0f / (1.0f + 0.5f * w), e, a;
    if (pdf) {
        float e1 = expf(-w * w);
        *pdf = 0.39894228f * e1;
        e = t * e1 * expf(KDTS__ERFC_POLY(t));
    } else {
        e = t * expf(-w * w + KDTS__ERFC_POLY(t));
    }
    a = 0.5f * e;
    return x >= 0.0f ? 1.0f - a : a;
}
#ifdef KDTS__VW
static KDTS__AINLINE kdts__v kdts__vphi_cdf(kdts__v x, kdts__v *pdf)
{
    kdts__v one = kdts__vset(1.0f), w, t, p, e, a;
    w = kdts__vmul(kdts__vmax(x, kdts__vsub(kdts__vset(0.0f), x)), kdts__vset(0.70710678f));
    t = kdts__vdiv(one, kdts__vfma(w, kdts__vset(0.5f), one));
    p = kdts__vfma(t, kdts__vset(0.17087277f), kdts__vset(-0.82215223f));
    p = kdts__vfma(t, p, kdts__vset(1.48851587f));
    p = kdts__vfma(t, p, kdts__vset(-1.13520398f));
    p = kdts__vfma(t, p, kdts__vset(0.27886807f));
    p = kdts__vfma(t, p, kdts__vset(-0.18628806f));
    p = kdts__vfma(t, p, kdts__vset(0.09678418f));
    p = kdts__vfma(t, p, kdts__vset(0.37409196f));
    p = kdts__vfma(t, p, kdts__vset(1.00002368f));
    p = kdts__vfma(t, p, kdts__vset(-1.26551223f));
    if (pdf) {
        kdts__v e1 = kdts__vexp(kdts__vsub(kdts__vset(0.0f), kdts__vmul(w, w)));
        *pdf = kdts__vmul(e1, kdts__vset(0.39894228f));
        e = kdts__vmul(kdts__vmul(t, e1), kdts__vexp(p));
    } else {
        e = kdts__vmul(t, kdts__vexp(kdts__vsub(p, kdts__vmul(w, w))));
    }
    a = kdts__vmul(e, kdts__vset(0.5f));
    /* a + step(x) (1 - 2a): a for x < 0, 1 - a for x > 0 (a = 1/2 at 0) */
    return kdts__vfma(kdts__vstep(x), kdts__vsub(one, kdts__vadd(a, a)), a);
}
#endif

/* g = act(u) [* mask] over n values (g may be u). */
static void kdts__attn_act_fwd(float *g, const float *u, size_t n, int act, const float *mask)
{
    size_t i = 0;
#ifdef KDTS__VW
    for (; i + KDTS__VW <= n; i += KDTS__VW) {
        kdts__v x = kdts__vld(u + i), y;
        if (act == KDTS_ATTN_GELU) y = kdts__vmul(x, kdts__vphi_cdf(x, NULL));
        else y = kdts__vmax(x, kdts__vset(0.0f));
        if (mask) y = kdts__vmul(y, kdts__vld(mask + i));
        kdts__vst(g + i, y);
    }
#endif
    for (; i < n; ++i) {
        float x = u[i], y = act == KDTS_ATTN_GELU ? x * kdts__phi_cdf(x, NULL) : (x > 0.0f ? x : 0.0f);
        g[i] = mask ? y * mask[i] : y;
    }
}

/* Training: g = act(u) [* mask] as kdts__attn_act_fwd, and d = act'(u)
   (GELU' = Phi(x) + x phi(x), Phi as in the forward; ReLU' = 1 for x > 0,
   else 0), so the backward needs no second evaluation. d may be u. */
static void kdts__attn_act_fwd_d(float *g, float *d, const float *u, size_t n, int act, const float *mask)
{
    size_t i = 0;
#ifdef KDTS__VW
    for (; i + KDTS__VW <= n; i += KDTS__VW) {
        kdts__v x = kdts__vld(u + i), y, dv;
        if (act == KDTS_ATTN_GELU) {
            kdts__v cdf = kdts__vphi_cdf(x, NULL), w = kdts__vmul(x, kdts__vset(0.70710678f));
            kdts__v pdf = kdts__vmul(kdts__vexp(kdts__vsub(kdts__vset(0.0f), kdts__vmul(w, w))), kdts__vset(0.39894228f));
            y = kdts__vmul(x, cdf);
            dv = kdts__vfma(x, pdf, cdf);
        } else {
            y = kdts__vmax(x, kdts__vset(0.0f));
            dv = kdts__vstep(x);
        }
        if (mask) y = kdts__vmul(y, kdts__vld(mask + i));
        kdts__vst(g + i, y);
        kdts__vst(d + i, dv);
    }
#endif
    for (; i < n; ++i) {
        float x = u[i], y, dv;
        if (act == KDTS_ATTN_GELU) {
            float w = x * 0.70710678f, cdf = kdts__phi_cdf(x, NULL);
            y = x * cdf;
            dv = cdf + x * (0.39894228f * expf(-w * w));
        } else {
            y = x > 0.0f ? x : 0.0f;
            dv = x > 0.0f ? 1.0f : 0.0f;
        }
        g[i] = mask ? y * mask[i] : y;
        d[i] = dv;
    }
}

/* du = dg [* mask] * d for the derivative d of kdts__attn_act_fwd_d (du
   may be dg). */
static void kdts__attn_act_bwd_d(float *du, const float *dg, const float *d, size_t n, const float *mask)
{
    size_t i = 0;
#ifdef KDTS__VW
    for (; i + KDTS__VW <= n; i += KDTS__VW) {
        kdts__v dy = kdts__vld(dg + i);
        if (mask) dy = kdts__vmul(dy, kdts__vld(mask + i));
        kdts__vst(du + i, kdts__vmul(dy, kdts__vld(d + i)));
    }
#endif
    for (; i < n; ++i) du[i] = (mask ? dg[i] * mask[i] : dg[i]) * d[i];
}

/* du = dg [* mask] * act'(u) (du may be dg):
   GELU' = Phi(x) + x phi(x); ReLU' = 1 for x > 0, else 0. */
static KDTS__UNUSED void kdts__attn_act_bwd(float *du, const float *dg, const float *u, size_t n, int act, const float *mask)
{
    size_t i = 0;
#ifdef KDTS__VW
    for (; i + KDTS__VW <= n; i += KDTS__VW) {
        kdts__v x = kdts__vld(u + i), dy = kdts__vld(dg + i), dv;
        if (mask) dy = kdts__vmul(dy, kdts__vld(mask + i));
        if (act == KDTS_ATTN_GELU) {
            kdts__v pdf, cdf = kdts__vphi_cdf(x, &pdf);
            dv = kdts__vfma(x, pdf, cdf);
        } else {
            dv = kdts__vstep(x);
        }
        kdts__vst(du + i, kdts__vmul(dy, dv));
    }
#endif
    for (; i < n; ++i) {
        float x = u[i], dy = mask ? dg[i] * mask[i] : dg[i], dv;
        if (act == KDTS_ATTN_GELU) {
            float pdf, cdf = kdts__phi_cdf(x, &pdf);
            dv = cdf + x * pdf;
        } else {
            dv = x > 0.0f ? 1.0f : 0.0f;
        }
        du[i] = dy * dv;
    }
}

/* LayerNorm of rows x (rows, d; rows ldx apart) into y (ldy apart):
   y = (x - mean) * rs * gain + bias, rs = 1/sqrt(var + 1e-5) (population
   variance, two passes); st (rows,2) receives mean and rs when not NULL. */
static void kdts__ln_fwd(float *y, size_t ldy, float *st, const float *x, size_t ldx, size_t rows, int d,
                         const float *gain, const float *bias)
{
    size_t r;
    for (r = 0; r < rows; ++r) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy, s = 0.0f, q = 0.0f, mean, rs;
        int j = 0;
#ifdef KDTS__VW
        kdts__v vs = kdts__vset(0.0f), vq = vs, vm, vr;
        for (; j + KDTS__VW <= d; j += KDTS__VW) vs = kdts__vadd(vs, kdts__vld(xr + j));
        s = kdts__vhsum(vs);
#endif
        for (; j < d; ++j) s += xr[j];
        mean = s / (float)d;
        j = 0;
#ifdef KDTS__VW
        vm = kdts__vset(mean);
        for (; j + KDTS__VW <= d; j += KDTS__VW) {
            kdts__v e = kdts__vsub(kdts__vld(xr + j), vm);
            vq = kdts__vfma(e, e, vq);
        }
        q = kdts__vhsum(vq);
#endif
        for (; j < d; ++j) q += (xr[j] - mean) * (xr[j] - mean);
        rs = 1.0f / sqrtf(q / (float)d + KDTS__LN_EPS);
        j = 0;
#ifdef KDTS__VW
        vr = kdts__vset(rs);
        for (; j + KDTS__VW <= d; j += KDTS__VW) {
            kdts__v e = kdts__vmul(kdts__vsub(kdts__vld(xr + j), vm), vr);
            kdts__vst(yr + j, kdts__vfma(e, kdts__vld(gain + j), kdts__vld(bias + j)));
        }
#endif
        for (; j < d; ++j) yr[j] = (xr[j] - mean) * rs * gain[j] + bias[j];
        if (st) {
            st[2 * r] = mean;
            st[2 * r + 1] = rs;
        }
    }
}

/* Backward of kdts__ln_fwd (rows d apart): with xh = (x - mean) rs and
   e = dy * gain, dx = rs (e - mean(e) - xh mean(e xh)), written (acc == 0)
   or added (acc != 0) into dx; dgain += sum over rows of dy xh, dbias +=
   sum of dy. */
static void kdts__ln_bwd(float *dx, int acc, const float *dy, const float *x, const float *st, size_t rows, int d,
                         const float *gain, float *dgain, float *dbias)
{
    size_t r;
    float inv_d = 1.0f / (float)d;
    for (r = 0; r < rows; ++r) {
        const float *xr = x + r * d, *dr = dy + r * d;
        float *o = dx + r * d, mean = st[2 * r], rs = st[2 * r + 1], s1 = 0.0f, s2 = 0.0f, k1, k2;
        int j = 0;
#ifdef KDTS__VW
        kdts__v vm = kdts__vset(mean), vr = kdts__vset(rs), a1 = kdts__vset(0.0f), a2 = a1, c1, c2;
        for (; j + KDTS__VW <= d; j += KDTS__VW) {
            kdts__v xh = kdts__vmul(kdts__vsub(kdts__vld(xr + j), vm), vr), g = kdts__vld(dr + j);
            kdts__v e = kdts__vmul(g, kdts__vld(gain + j));
            a1 = kdts__vadd(a1, e);
            a2 = kdts__vfma(e, xh, a2);
            kdts__vst(dgain + j, kdts__vfma(g, xh, kdts__vld(dgain + j)));
            kdts__vst(dbias + j, kdts__vadd(g, kdts__vld(dbias + j)));
        }
        s1 = kdts__vhsum(a1);
        s2 = kdts__vhsum(a2);
#endif
        for (; j < d; ++j) {
            float xh = (xr[j] - mean) * rs, e = dr[j] * gain[j];
            s1 += e;
            s2 += e * xh;
            dgain[j] += dr[j] * xh;
            dbias[j] += dr[j];
        }
        k1 = s1 * inv_d;
        k2 = s2 * inv_d;
        j = 0;
#ifdef KDTS__VW
        c1 = kdts__vset(k1);
        c2 = kdts__vset(k2);
        for (; j + KDTS__VW <= d; j += KDTS__VW) {
            kdts__v xh = kdts__vmul(kdts__vsub(kdts__vld(xr + j), vm), vr);
            kdts__v e = kdts__vmul(kdts__vld(dr + j), kdts__vld(gain + j));
            kdts__v v = kdts__vmul(vr, kdts__vsub(kdts__vsub(e, c1), kdts__vmul(xh, c2)));
            if (acc) v = kdts__vadd(v, kdts__vld(o + j));
            kdts__vst(o + j, v);
        }
#endif
        for (; j < d; ++j) {
            float xh = (xr[j] - mean) * rs, e = dr[j] * gain[j], v = rs * (e - k1 - xh * k2);
            o[j] = acc ? o[j] + v : v;
        }
    }
}

/* dst[i] = a[i] + b[i] * m[i] over n values (dst may be a). */
static void kdts__attn_resid_drop(float *dst, const float *a, const float *b, const float *m, size_t n)
{
    size_t i = 0;
#ifdef KDTS__VW
    for (; i + KDTS__VW <= n; i += KDTS__VW)
        kdts__vst(dst + i, kdts__vfma(kdts__vld(b + i), kdts__vld(m + i), kdts__vld(a + i)));
#endif
    for (; i < n; ++i) dst[i] = a[i] + b[i] * m[i];
}

/* dst[i] = a[i] * m[i] over n values. */
static void kdts__attn_mul(float *dst, const float *a, const float *m, size_t n)
{
    size_t i = 0;
#ifdef KDTS__VW
    for (; i + KDTS__VW <= n; i += KDTS__VW) kdts__vst(dst + i, kdts__vmul(kdts__vld(a + i), kdts__vld(m + i)));
#endif
    for (; i < n; ++i) dst[i] = a[i] * m[i];
}

/* Inverted-dropout scales (0 or 1/keep) for n values, drawn in order. */
static void kdts__attn_draw(float *mask, size_t n, float keep, kdts_rng *rng)
{
    size_t i;
    float sc = 1.0f / keep;
    for (i = 0; i < n; ++i) mask[i] = kdts_rng_uniform(rng) < keep ? sc : 0.0f;
}

/* Y (rows,n; ldy) = X (rows,k; ldx) W^T + b, or with acc != 0
   Y += X W^T + b. W (n,k) is packed in scratch by the GEMM, or wp != NULL
   is W^T packed once by kdts__pack_b_full (W then unused). */
static void kdts__attn_lin(float *Y, size_t ldy, const float *X, size_t ldx, size_t rows, const float *W,
                           const float *wp, const float *b, int n, int k, int acc, float *scratch)
{
    size_t r;
    if (rows == 0) return;
    if (!acc && ldy == (size_t)n) {
        kdts__fill_rows(Y, b, (size_t)n, rows);
    } else {
        for (r = 0; r < rows; ++r) {
            float *y = Y + r * ldy;
            if (acc) kdts_vec_axpy(y, 1.0f, b, (size_t)n);
            else memcpy(y, b, (size_t)n * sizeof(float));
        }
    }
    if (wp)
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, (int)rows, n, k, 1.0f, X, (int)ldx, NULL, 0, 1.0f, Y, (int)ldy,
                          NULL, wp);
    else
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_TRANS, (int)rows, n, k, 1.0f, X, (int)ldx, W, k, 1.0f, Y, (int)ldy,
                          scratch, NULL);
}

/* dst (rows,n) = src (rows,n) + b in every row (dst may be src). */
static void kdts__attn_rows_add(float *dst, const float *src, const float *b, size_t rows, int n)
{
    size_t r;
    int j;
    for (r = 0; r < rows; ++r) {
        float *y = dst + r * n;
        const float *x = src + r * n;
        j = 0;
#ifdef KDTS__VW
        for (; j + KDTS__VW <= n; j += KDTS__VW) kdts__vst(y + j, kdts__vadd(kdts__vld(x + j), kdts__vld(b + j)));
#endif
        for (; j < n; ++j) y[j] = x[j] + b[j];
    }
}

/* dW (n,k) += dY^T X and db (n) += the column sums of dY, for dY (rows,n)
   and X (rows,k), rows contiguous. */
static void kdts__attn_lin_grad(float *dW, float *db, const float *dY, const float *X, size_t rows, int n, int k,
                                float *scratch)
{
    kdts__gemm_serial(KDTS_TRANS, KDTS_NOTRANS, n, k, (int)rows, 1.0f, dY, n, X, k, 1.0f, dW, k, scratch, NULL);
    kdts__colsum_add(db, NULL, dY, rows, n, (size_t)n);
}

/* dX (rows,k) = dY (rows,n) W for W (n,k). */
static void kdts__attn_lin_dx(float *dX, const float *dY, size_t rows, const float *W, int n, int k, float *scratch)
{
    kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, (int)rows, k, n, 1.0f, dY, n, W, k, 0.0f, dX, k, scratch, NULL);
}

/* ---- attention of one (window, head) ------------------------------------ */

/* Row of a causal softmax: p[t] = softmax over t < n of s[t] + bias[t],
   p[t] = 0 for n <= t < T (p may be s; T: the end of the columns the
   products read, so the zeros stop at the end of the row block). With vectors the last partial
   vector is handled by partial loads and stores. */
static void kdts__attn_softmax_row(float *p, const float *s, const float *bias, int n, int T)
{
    float mx = -FLT_MAX, sum = 0.0f, inv;
    int t = 0;
#ifdef KDTS__VW
    const int V = KDTS__VW;
    int nf = n / V * V, nt = n - nf;
    kdts__v vm = kdts__vset(-FLT_MAX), vs = kdts__vset(0.0f), vi;
    for (; t < nf; t += V) {
        kdts__v v = kdts__vadd(kdts__vld(s + t), kdts__vld(bias + t));
        kdts__vst(p + t, v);
        vm = kdts__vmax(vm, v);
    }
    if (nt) {
        /* the partial vector, its missing lanes -FLT_MAX for the maximum */
        float buf[KDTS__VW];
        kdts__v v = kdts__vadd(kdts__vldn(s + nf, nt), kdts__vldn(bias + nf, nt));
        kdts__vstn(p + nf, v, nt);
        kdts__vst(buf, vm);
        kdts__vstn(buf, kdts__vmax(vm, v), nt);
        vm = kdts__vld(buf);
    }
    mx = kdts__vhmax(vm);
    vm = kdts__vset(mx);
    for (t = 0; t < nf; t += V) {
        kdts__v e = kdts__vexp(kdts__vsub(kdts__vld(p + t), vm));
        kdts__vst(p + t, e);
        vs = kdts__vadd(vs, e);
    }
    if (nt) {
        kdts__vstn(p + nf, kdts__vexp(kdts__vsub(kdts__vldn(p + nf, nt), vm)), nt);
        vs = kdts__vadd(vs, kdts__vldn(p + nf, nt));
    }
    sum = kdts__vhsum(vs);
    inv = 1.0f / sum;
    vi = kdts__vset(inv);
    for (t = 0; t < nf; t += V) kdts__vst(p + t, kdts__vmul(kdts__vld(p + t), vi));
    if (nt) kdts__vstn(p + nf, kdts__vmul(kdts__vldn(p + nf, nt), vi), nt);
#else
    for (; t < n; ++t) {
        p[t] = s[t] + bias[t];
        mx = p[t] > mx ? p[t] : mx;
    }
    for (t = 0; t < n; ++t) {
        p[t] = expf(p[t] - mx);
        sum += p[t];
    }
    inv = 1.0f / sum;
    for (t = 0; t < n; ++t) p[t] *= inv;
#endif
    if (n < T) memset(p + n, 0, (size_t)(T - n) * sizeof(float));
}

/* dst (n, T) = the first n columns... : dst[k*T + i] = src[i*ld + k] for
   i < T, k < n (a (T,n) slice transposed). */
static void kdts__attn_transpose(float *KDTS__RESTRICT dst, const float *KDTS__RESTRICT src, size_t ld, int T, int n)
{
    int i, k;
    for (k = 0; k < n; ++k) {
        float *d = dst + (size_t)k * T;
        const float *q = src + k;
        for (i = 0; i < T; ++i) d[i] = q[(size_t)i * ld];
    }
}

/* The same into rows ldt >= T apart, zero from column T to ldt. */
static void kdts__attn_transpose_pad(float *KDTS__RESTRICT dst, const float *KDTS__RESTRICT src, size_t ld, int T,
                                     int n, int ldt)
{
    int i, k;
    for (k = 0; k < n; ++k) {
        float *d = dst + (size_t)k * ldt;
        const float *q = src + k;
        for (i = 0; i < T; ++i) d[i] = q[(size_t)i * ld];
        for (; i < ldt; ++i) d[i] = 0.0f;
    }
}

/* The attention of one (window, head) works through row blocks of
   KDTS__ATT_RB queries, transposed: block b holds queries i0 = b*RB ..
   i1-1 (nq = i1 - i0 of them) and keys 0 .. i1-1 as pt (i1, RB), pt[t][r]
   the entry of key t and query i0 + r, so every vector runs along queries
   and the softmax over the keys is a sum down the rows (lanes r >= nq of
   the last block are padding: zero queries, never read back). */

/* Columns of the padded transposes: T rounded up to whole row blocks. */
static int kdts__attn_tpad(int T) { return (T + KDTS__ATT_RB - 1) / KDTS__ATT_RB * KDTS__ATT_RB; }

/* Mask vectors: lanes r >= k of a block row are 1, the others 0, at
   kdts__attn_ones + RB - k. */
static const float kdts__attn_ones[2 * KDTS__ATT_RB] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

/* Softmax of row block i0 .. i1-1 in place. On entry pt (i1, RB) holds the
   scaled scores; eb the position bias by distance, eb[RB + m] = pos[m]
   for 0 <= m < T, -FLT_MAX for -RB <= m < 0 (keys after the query), 0 for
   T <= m < T + RB (padding lanes). On return pt[t][r] is the probability
   P[i0 + r][t], exactly 0 for t > i0 + r: per query the maximum of score
   + bias over its keys, e = exp(score + bias - max), P = e * (1 / sum e). */
static void kdts__attn_softmax_blk(float *pt, const float *eb, int i0, int i1)
{
    const float *e0 = eb + i0 + KDTS__ATT_RB; /* key t, lane r: e0[r - t] */
    int t;
#ifdef KDTS__VW
    int c, l;
    for (c = 0; c < KDTS__ATT_RB; c += KDTS__VW) {
        kdts__v vm = kdts__vset(-FLT_MAX), vs = kdts__vset(0.0f);
        float inv[KDTS__VW];
        for (t = 0; t < i1; ++t)
            vm = kdts__vmax(vm, kdts__vadd(kdts__vld(pt + (size_t)t * KDTS__ATT_RB + c), kdts__vld(e0 - t + c)));
        for (t = 0; t < i1; ++t) {
            float *p = pt + (size_t)t * KDTS__ATT_RB + c;
            kdts__v e = kdts__vexp(kdts__vsub(kdts__vadd(kdts__vld(p), kdts__vld(e0 - t + c)), vm));
            if (t > i0) e = kdts__vmul(e, kdts__vld(kdts__attn_ones + KDTS__ATT_RB - (t - i0) + c));
            kdts__vst(p, e);
            vs = kdts__vadd(vs, e);
        }
        kdts__vst(inv, vs);
        for (l = 0; l < KDTS__VW; ++l) inv[l] = 1.0f / inv[l];
        vs = kdts__vld(inv);
        for (t = 0; t < i1; ++t) {
            float *p = pt + (size_t)t * KDTS__ATT_RB + c;
            kdts__vst(p, kdts__vmul(kdts__vld(p), vs));
        }
    }
#else
    int r;
    for (r = 0; r < KDTS__ATT_RB; ++r) {
        int n = i0 + r + 1 < i1 ? i0 + r + 1 : i1; /* keys 0 .. n-1 */
        float mx = -FLT_MAX, sum = 0.0f, inv;
        for (t = 0; t < n; ++t) {
            float v = pt[(size_t)t * KDTS__ATT_RB + r] + e0[r - t];
            mx = v > mx ? v : mx;
        }
        for (t = 0; t < n; ++t) {
            float *p = pt + (size_t)t * KDTS__ATT_RB + r;
            *p = expf(*p + e0[r - t] - mx);
            sum += *p;
        }
        inv = 1.0f / sum;
        for (t = 0; t < n; ++t) pt[(size_t)t * KDTS__ATT_RB + r] *= inv;
        for (; t < i1; ++t) pt[(size_t)t * KDTS__ATT_RB + r] = 0.0f;
    }
#endif
}

/* Backward of kdts__attn_softmax_blk in place: dp (i1, RB) holds dL/dP
   (transposed as pt); on return dS = P (dP - sum over keys of P dP) per
   query, and each dS[t][r] is added into the bias gradient of distance
   m = i0 + r - t at gb[(t mod RB) * gs + RB + m] (RB rows of partial sums
   by key phase, so consecutive keys never update overlapping vectors). */
static void kdts__attn_softmax_back_blk(float *dp, const float *pt, int i0, int i1, float *gb, size_t gs)
{
    float *g0 = gb + i0 + KDTS__ATT_RB;
    int t;
#ifdef KDTS__VW
    int c;
    for (c = 0; c < KDTS__ATT_RB; c += KDTS__VW) {
        kdts__v vr = kdts__vset(0.0f);
        for (t = 0; t < i1; ++t)
            vr = kdts__vfma(kdts__vld(pt + (size_t)t * KDTS__ATT_RB + c), kdts__vld(dp + (size_t)t * KDTS__ATT_RB + c), vr);
        for (t = 0; t < i1; ++t) {
            float *d = dp + (size_t)t * KDTS__ATT_RB + c, *g = g0 + (size_t)(t % KDTS__ATT_RB) * gs - t + c;
            kdts__v ds = kdts__vmul(kdts__vld(pt + (size_t)t * KDTS__ATT_RB + c), kdts__vsub(kdts__vld(d), vr));
            kdts__vst(d, ds);
            kdts__vst(g, kdts__vadd(kdts__vld(g), ds));
        }
    }
#else
    int r;
    for (r = 0; r < KDTS__ATT_RB; ++r) {
        float s = 0.0f;
        for (t = 0; t < i1; ++t) s += pt[(size_t)t * KDTS__ATT_RB + r] * dp[(size_t)t * KDTS__ATT_RB + r];
        for (t = 0; t < i1; ++t) {
            float *d = dp + (size_t)t * KDTS__ATT_RB + r;
            *d = pt[(size_t)t * KDTS__ATT_RB + r] * (*d - s);
            g0[(size_t)(t % KDTS__ATT_RB) * gs + r - t] += *d;
        }
    }
#endif
}

/* g[m] += the sum of the RB partial-sum rows of kdts__attn_softmax_back_blk
   at distance m < T (rows gs apart, distance m at RB + m); the rows are
   cleared (all of them) for the next (window, head). */
static void kdts__attn_gb_sum(float *g, float *gb, size_t gs, int T)
{
    int m = 0, ph;
    float *g0 = gb + KDTS__ATT_RB;
#ifdef KDTS__VW
    for (; m + KDTS__VW <= T; m += KDTS__VW) {
        kdts__v s = kdts__vld(g0 + m);
        for (ph = 1; ph < KDTS__ATT_RB; ++ph) s = kdts__vadd(s, kdts__vld(g0 + (size_t)ph * gs + m));
        kdts__vst(g + m, kdts__vadd(kdts__vld(g + m), s));
    }
#endif
    for (; m < T; ++m) {
        float s = g0[m];
        for (ph = 1; ph < KDTS__ATT_RB; ++ph) s += g0[(size_t)ph * gs + m];
        g[m] += s;
    }
    memset(gb, 0, (size_t)KDTS__ATT_RB * gs * sizeof(float));
}

/* Dropout scales of row block i0 .. i1-1 on a transposed block: dst[t][r]
   = src[t][r] * mp[(i0 + r) T + t] for the nq real queries, 0 in the
   padding lanes (dst may be src). mp (T,T) as in the workspace. */
static void kdts__attn_drop_blk(float *dst, const float *src, const float *mp, int T, int i0, int i1)
{
    int t, r, nq = i1 - i0;
    for (t = 0; t < i1; ++t) {
        float *d = dst + (size_t)t * KDTS__ATT_RB;
        const float *s = src + (size_t)t * KDTS__ATT_RB;
        for (r = 0; r < nq; ++r) d[r] = s[r] * mp[(size_t)(i0 + r) * T + t];
        for (; r < KDTS__ATT_RB; ++r) d[r] = 0.0f;
    }
}

/* Causal attention of one (window, head) over T steps. q, k, v (T,dh)
   rows ld apart; o (T,dh) rows ldo apart. eb: the bias by distance (see
   kdts__attn_softmax_blk). pt (T, RB) one block's probabilities, qt (dh,
   tpad(T)) Q^T, pd (T, RB) the dropped block: scratch. mp (T,T): dropout
   scales or NULL. */
static void kdts__attn_head_fwd(const float *q, const float *k, const float *v, size_t ld, float *o, size_t ldo,
                                int T, int dh, float scale, const float *eb, float *pt, float *qt, const float *mp,
                                float *pd, float *scratch)
{
    int i0, i1, Tp = kdts__attn_tpad(T);
    kdts__attn_transpose_pad(qt, q, ld, T, dh, Tp);
    for (i0 = 0; i0 < T; i0 = i1) {
        const float *pv = pt;
        i1 = i0 + KDTS__ATT_RB < T ? i0 + KDTS__ATT_RB : T;
        /* S^T = scale K Q^T: keys 0..i1-1, the block's queries */
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, i1, KDTS__ATT_RB, dh, scale, k, (int)ld, qt + i0, Tp, 0.0f, pt,
                          KDTS__ATT_RB, scratch, NULL);
        kdts__attn_softmax_blk(pt, eb, i0, i1);
        if (mp) {
            kdts__attn_drop_blk(pd, pt, mp, T, i0, i1);
            pv = pd;
        }
        /* O = P V for the block's queries */
        kdts__gemm_serial(KDTS_TRANS, KDTS_NOTRANS, i1 - i0, dh, i1, 1.0f, pv, KDTS__ATT_RB, v, (int)ld, 0.0f,
                          o + (size_t)i0 * ldo, (int)ldo, scratch, NULL);
    }
}

/* Backward of kdts__attn_head_fwd. dO (T,dh) rows lddo apart; writes dq,
   dk, dv (T,dh) rows ldg apart; adds the bias gradient into gb (see
   kdts__attn_softmax_back_blk; RB rows gs apart). The probabilities are
   computed again block by block exactly as the forward computed them (the
   same code: the same values); mp as in the forward; pt, dp, pd (T, RB),
   qt and dot (dh, tpad(T)) scratch. The blocks run last to first: the
   last covers every key and writes dk, dv; the others add. */
static void kdts__attn_head_bwd(const float *q, const float *k, const float *v, size_t ld, const float *dO,
                                size_t lddo, float *dq, float *dk, float *dv, size_t ldg, int T, int dh, float scale,
                                const float *eb, float *pt, const float *mp, float *dp, float *pd, float *qt,
                                float *dot, float *gb, size_t gs, float *scratch)
{
    int i0, i1, Tp = kdts__attn_tpad(T);
    float beta = 0.0f;
    kdts__attn_transpose_pad(qt, q, ld, T, dh, Tp);
    kdts__attn_transpose_pad(dot, dO, lddo, T, dh, Tp);
    for (i0 = (T - 1) / KDTS__ATT_RB * KDTS__ATT_RB; i0 >= 0; i0 -= KDTS__ATT_RB) {
        const float *pv = pt;
        int nq;
        i1 = i0 + KDTS__ATT_RB < T ? i0 + KDTS__ATT_RB : T;
        nq = i1 - i0;
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, i1, KDTS__ATT_RB, dh, scale, k, (int)ld, qt + i0, Tp, 0.0f, pt,
                          KDTS__ATT_RB, scratch, NULL);
        kdts__attn_softmax_blk(pt, eb, i0, i1);
        /* dP'^T = V dO^T; dP = dP' * mask; then dS in place */
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, i1, KDTS__ATT_RB, dh, 1.0f, v, (int)ld, dot + i0, Tp, 0.0f, dp,
                          KDTS__ATT_RB, scratch, NULL);
        if (mp) {
            kdts__attn_drop_blk(pd, pt, mp, T, i0, i1);
            kdts__attn_drop_blk(dp, dp, mp, T, i0, i1);
            pv = pd;
        }
        kdts__attn_softmax_back_blk(dp, pt, i0, i1, gb, gs);
        /* dQ = scale dS K for the block's queries */
        kdts__gemm_serial(KDTS_TRANS, KDTS_NOTRANS, nq, dh, i1, scale, dp, KDTS__ATT_RB, k, (int)ld, 0.0f,
                          dq + (size_t)i0 * ldg, (int)ldg, scratch, NULL);
        /* keys 0..i1-1: dK (+)= scale dS^T Q, dV (+)= P'^T dO over the block's queries */
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, i1, dh, nq, scale, dp, KDTS__ATT_RB, q + (size_t)i0 * ld, (int)ld,
                          beta, dk, (int)ldg, scratch, NULL);
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, i1, dh, nq, 1.0f, pv, KDTS__ATT_RB, dO + (size_t)i0 * lddo,
                          (int)lddo, beta, dv, (int)ldg, scratch, NULL);
        beta = 1.0f;
    }
}

/* ---- workspace ---------------------------------------------------------- */

static size_t kdts__attn_r16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Forward and backward run chunk by chunk: a chunk is whole windows, about
   KDTS__ATT_CHUNK_ROWS rows, taken through every block (and the head)
   before the next, so its activations stay in L2 between the steps. With
   OpenMP the chunks are shared between threads; the backward sums its
   parameter gradients in KDTS__ATT_GROUPS fixed groups of chunks, added in
   order at the end, so no result depends on the thread count. */
#define KDTS__ATT_CHUNK_ROWS 160
#define KDTS__ATT_GROUPS 4

/* Windows per chunk for windows of T steps (at least 1, at most B). */
static int kdts__attn_wpc(int B, int T)
{
    int w = KDTS__ATT_CHUNK_ROWS / T;
    if (w < 1) w = 1;
    return w < B ? w : B;
}

/* Most rows of a chunk for batches up to B of windows up to T steps. */
static size_t kdts__attn_crows(int B, int T)
{
    size_t c = (size_t)(T > KDTS__ATT_CHUNK_ROWS ? T : KDTS__ATT_CHUNK_ROWS), bt = (size_t)B * T;
    return c < bt ? c : bt;
}

/* The chunk buffers of thread tid (see kdts_attn_ws.cb). */
static void kdts__attn_cbuf(const kdts_attn_ws *ws, int tid, float **dh, float **dd, float **dff, float **dqkv,
                            float **tmp, float **gb)
{
    const kdts_attn_config *c = &ws->cfg;
    size_t C = kdts__attn_crows(ws->max_batch, ws->max_steps), d = (size_t)c->d_model;
    float *b = ws->cb + (size_t)tid * ws->cb_floats;
    *dh = b;
    *dd = *dh + kdts__attn_r16(C * d);
    *tmp = *dd + kdts__attn_r16(C * d);
    *dff = *tmp + kdts__attn_r16(C * d);
    *dqkv = *dff + kdts__attn_r16(C * (size_t)c->ff);
    *gb = *dqkv + kdts__attn_r16(C * 3 * d);
}

/* The attention scratch of thread tid for windows of T steps (see
   kdts_attn_ws.thr). */
static void kdts__attn_tbuf(const kdts_attn_ws *ws, int tid, int T, float **kt, float **vt, float **P, float **dS,
                            float **pd, float **fq)
{
    size_t a = kdts__attn_r16((size_t)(ws->cfg.d_model / ws->cfg.heads) * (size_t)kdts__attn_tpad(T));
    size_t b = kdts__attn_r16((size_t)T * KDTS__ATT_RB);
    float *t = ws->thr + (size_t)tid * ws->thr_floats;
    *kt = t;
    *vt = t + a;
    *P = t + 2 * a;
    *dS = *P + b;
    *pd = *dS + b;
    *fq = *pd + b;
}

/* Threads for a workspace (1 without OpenMP). */
static int kdts__attn_threads(const kdts_attn_ws *ws)
{
#ifdef _OPENMP
    int p = omp_get_max_threads();
    if (omp_in_parallel() || p < 2) return 1;
    return p < ws->threads ? p : ws->threads;
#else
    (void)ws;
    return 1;
#endif
}

/* Walk the workspace layout: with base == NULL only count floats (0 on
   overflow). Inference workspaces share one buffer of each kind between
   the blocks and run the residual stream in place. */
static size_t kdts__attn_ws_layout(kdts_attn_ws *ws, float *base)
{
    const kdts_attn_config *c = &ws->cfg;
    size_t B = (size_t)ws->max_batch, T = (size_t)ws->max_steps, d = (size_t)c->d_model, F = (size_t)c->input;
    size_t ff = (size_t)c->ff, nh = (size_t)c->heads, dh = d / nh, O = (size_t)ws->outputs, off = 0, R, TT;
    size_t S = (size_t)c->max_steps, wmax = (ff > d ? ff : d), fqw = B < KDTS__ATT_CHUNK_ROWS ? B : KDTS__ATT_CHUNK_ROWS;
    int l, L = c->blocks, tr = ws->train, drop = tr && c->dropout > 0.0f, ok = 1;
#define KDTS__ACARVE(ptr, count)                                                    \
    do {                                                                            \
        size_t n_ = (count), r_;                                                    \
        if (n_ > ((size_t)-1) / 16) ok = 0;                                         \
        r_ = kdts__attn_r16(n_);                                                    \
        if (!kdts__add_ok(off, r_, &off)) ok = 0;                                   \
        if (base && ok) (ptr) = base + off - r_;                                    \
    } while (0)
    if (!kdts__mul_ok(B, T, &R) || !kdts__mul_ok(T, T, &TT)) return 0;
    /* every product below is at most R * 4 * 65536 or B*heads*T*T */
    if (R > ((size_t)-1) / 64 / (4 * wmax + F + O + 4) || TT > ((size_t)-1) / 64 / (B * nh + 1)) return 0;
    if (tr) KDTS__ACARVE(ws->x, R * F);
    KDTS__ACARVE(ws->wx, F * d);
    if (tr) {
        for (l = 0; l <= L; ++l) KDTS__ACARVE(ws->h[l], R * d);
        for (l = 0; l < L; ++l) {
            KDTS__ACARVE(ws->hm[l], R * d);
            KDTS__ACARVE(ws->a[l], R * d);
            KDTS__ACARVE(ws->c[l], R * d);
            KDTS__ACARVE(ws->st1[l], R * 2);
            KDTS__ACARVE(ws->st2[l], R * 2);
            KDTS__ACARVE(ws->qkv[l], R * 3 * d);
            KDTS__ACARVE(ws->att[l], R * d);
            KDTS__ACARVE(ws->u[l], R * ff);
            KDTS__ACARVE(ws->g[l], R * ff);
            if (drop) {
                KDTS__ACARVE(ws->mp[l], B * nh * TT);
                KDTS__ACARVE(ws->m1[l], R * d);
                KDTS__ACARVE(ws->ma[l], R * ff);
                KDTS__ACARVE(ws->m2[l], R * d);
            }
        }
        if (c->final_norm) {
            KDTS__ACARVE(ws->hf, R * d);
            KDTS__ACARVE(ws->stf, R * 2);
        }
#ifdef _OPENMP
        ws->gstride = kdts__attn_r16(kdts__attn_layout(c, NULL));
        KDTS__ACARVE(ws->gbuf, ws->gstride * KDTS__ATT_GROUPS);
#endif
    } else {
        KDTS__ACARVE(ws->h[0], R * d);
        KDTS__ACARVE(ws->a[0], R * d);
        KDTS__ACARVE(ws->qkv[0], R * 3 * d);
        KDTS__ACARVE(ws->att[0], R * d);
        KDTS__ACARVE(ws->u[0], R * ff);
        if (base && ok) {
            for (l = 1; l <= L; ++l) ws->h[l] = ws->h[0];
            for (l = 0; l < L; ++l) {
                ws->hm[l] = ws->h[0];
                ws->a[l] = ws->c[l] = ws->a[0];
                ws->qkv[l] = ws->qkv[0];
                ws->att[l] = ws->att[0];
                ws->u[l] = ws->g[l] = ws->u[0];
            }
            ws->hf = ws->a[0];
        }
    }
    KDTS__ACARVE(ws->out, R * O);
    KDTS__ACARVE(ws->rb, (size_t)L * nh * S);
    KDTS__ACARVE(ws->eb, (size_t)L * nh * (S + 2 * KDTS__ATT_RB));
    for (l = 0; l < L; ++l) {
        KDTS__ACARVE(ws->pk_qkv[l], kdts__packed_b_size((int)d, (int)(3 * d)));
        KDTS__ACARVE(ws->pk_o[l], kdts__packed_b_size((int)d, (int)d));
        KDTS__ACARVE(ws->pk_ff1[l], kdts__packed_b_size((int)d, (int)ff));
        KDTS__ACARVE(ws->pk_ff2[l], kdts__packed_b_size((int)ff, (int)d));
    }
    KDTS__ACARVE(ws->pk_head, kdts__packed_b_size((int)d, (int)O));
    if (F > KDTS__FUSE_IN) KDTS__ACARVE(ws->pk_in, kdts__packed_b_size((int)F, (int)d));
    /* per thread: Q^T (K^T in a forecast), dO^T, a row block's
       probabilities, dS and dropped P, forecast rows */
    ws->thr_floats = 2 * kdts__attn_r16(dh * (size_t)kdts__attn_tpad((int)T)) +
                     3 * kdts__attn_r16(T * KDTS__ATT_RB) + kdts__attn_r16(fqw * (6 * d + ff));
    KDTS__ACARVE(ws->thr, ws->thr_floats * (size_t)ws->threads);
    if (tr) {
        size_t C = kdts__attn_crows(ws->max_batch, ws->max_steps);
        ws->cb_floats = 3 * kdts__attn_r16(C * d) + kdts__attn_r16(C * ff) + kdts__attn_r16(C * 3 * d) +
                        kdts__attn_r16(KDTS__ATT_RB * (S + 2 * KDTS__ATT_RB));
        KDTS__ACARVE(ws->cb, ws->cb_floats * (size_t)ws->threads);
    }
    KDTS__ACARVE(ws->scratch, KDTS__GEMM_SCRATCH * (size_t)ws->threads);
#undef KDTS__ACARVE
    return ok ? off : 0;
}

KDTSDEF kdts_result kdts_attn_ws_init(kdts_attn_ws *ws, const kdts_attn_config *cfg, int max_batch, int max_steps,
                                      int train, kdts_error *err)
{
    kdts_attn_ws t;
    kdts_result r;
    size_t n;
    if (!ws || !cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_attn_ws_init: NULL argument");
    memset(&t, 0, sizeof t);
    t.cfg = *cfg;
    r = kdts_attn_config_check(&t.cfg, err);
    if (r != KDTS_OK) return r;
    if (max_batch < 1 || max_steps < 1 || max_batch > KDTS_MAX_DIM * 16 || max_steps > t.cfg.max_steps)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "workspace for batch %d x steps %d is out of range (model max_steps %d)", max_batch,
                          max_steps, t.cfg.max_steps);
    t.outputs = kdts__attn_outputs(&t.cfg);
    t.max_batch = max_batch;
    t.max_steps = max_steps;
    t.train = train ? 1 : 0;
    t.threads = 1;
#ifdef _OPENMP
    t.threads = omp_get_max_threads() < 1 ? 1 : (omp_get_max_threads() > 64 ? 64 : omp_get_max_threads());
#endif
    n = kdts__attn_ws_layout(&t, NULL);
    if (n == 0) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "workspace size overflows");
    t.mem = kdts__falloc(n);
    if (!t.mem)
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for a %lu-byte workspace",
                          (unsigned long)(n * sizeof(float)));
    t.mem_floats = n;
    kdts__attn_ws_layout(&t, t.mem);
    *ws = t;
    return KDTS_OK;
}

KDTSDEF void kdts_attn_ws_free(kdts_attn_ws *ws)
{
    if (!ws) return;
    kdts__free_aligned(ws->mem);
    memset(ws, 0, sizeof *ws);
}

static int kdts__attn_same_arch(const kdts_attn_config *a, const kdts_attn_config *b)
{
    return a->input == b->input && a->d_model == b->d_model && a->heads == b->heads && a->ff == b->ff &&
           a->blocks == b->blocks && a->activation == b->activation && a->final_norm == b->final_norm &&
           a->max_steps == b->max_steps && a->horizon == b->horizon && a->mode == b->mode && a->bins == b->bins;
}

/* ---- forward ------------------------------------------------------------ */

/* Block l over the windows w0 .. w0+nw-1 (rows r0 = w0*T, nw*T of them):
   h[l] -> h[l+1]. tid selects the thread's scratch. */
static void kdts__attn_block_rows(const kdts_attn *m, kdts_attn_ws *ws, int l, int w0, int nw, int T, int tid)
{
    const kdts_attn_config *c = &m->cfg;
    const kdts_attn_block_offsets *o = &m->blk[l];
    const float *P = m->params;
    int d = c->d_model, ff = c->ff, nh = c->heads, dh = d / nh, drop = ws->dropout_active, w, j;
    size_t r0 = (size_t)w0 * T, nr = (size_t)nw * T, TT = (size_t)T * T, S = (size_t)c->max_steps;
    size_t mr0 = r0 + (size_t)ws->mw0 * T; /* the chunk's rows in the dropout scales */
    float *kt, *vt, *Pb, *dS, *pd, *fq;
    float *hin = ws->h[l] + r0 * d, *hm = ws->hm[l] + r0 * d, *hout = ws->h[l + 1] + r0 * d;
    float *a = ws->a[l] + r0 * d, *qkv = ws->qkv[l] + r0 * 3 * d, *att = ws->att[l] + r0 * d;
    float *cc = ws->c[l] + r0 * d, *u = ws->u[l] + r0 * ff, *g = ws->g[l] + r0 * ff;
    float *sc = ws->scratch + (size_t)tid * KDTS__GEMM_SCRATCH;
    float scale = 1.0f / sqrtf((float)dh);
    kdts__attn_tbuf(ws, tid, T, &kt, &vt, &Pb, &dS, &pd, &fq);
    /* a = LN1(h); q k v = a W_qkv^T + b_qkv */
    kdts__ln_fwd(a, (size_t)d, ws->st1[l] ? ws->st1[l] + 2 * r0 : NULL, hin, (size_t)d, nr, d, P + o->ln1_g,
                 P + o->ln1_b);
    kdts__attn_lin(qkv, (size_t)3 * d, a, (size_t)d, nr, NULL, ws->pk_qkv[l], P + o->qkv_b, 3 * d, d, 0, sc);
    /* every (window, head) */
    for (w = w0; w < w0 + nw; ++w)
        for (j = 0; j < nh; ++j) {
            size_t bh = (size_t)(w + ws->mw0) * nh + j;
            const float *q = ws->qkv[l] + (size_t)w * T * 3 * d + (size_t)j * dh;
            kdts__attn_head_fwd(q, q + d, q + 2 * d, (size_t)3 * d, ws->att[l] + (size_t)w * T * d + (size_t)j * dh,
                                (size_t)d, T, dh, scale, ws->eb + ((size_t)l * nh + j) * (S + 2 * KDTS__ATT_RB),
                                Pb, kt, drop ? ws->mp[l] + bh * TT : NULL, pd, sc);
        }
    /* hm = h + drop(att W_o^T + b_o) */
    if (drop) {
        float *y, *t1, *t2, *t3, *t4, *t5;
        kdts__attn_cbuf(ws, tid, &t1, &t2, &t3, &t4, &y, &t5);
        kdts__attn_lin(y, (size_t)d, att, (size_t)d, nr, NULL, ws->pk_o[l], P + o->o_b, d, d, 0, sc);
        kdts__attn_resid_drop(hm, hin, y, ws->m1[l] + mr0 * d, nr * d);
    } else {
        kdts__attn_rows_add(hm, hin, P + o->o_b, nr, d);
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, (int)nr, d, d, 1.0f, att, d, NULL, 0, 1.0f, hm, d, NULL,
                          ws->pk_o[l]);
    }
    /* c = LN2(hm); g = drop(act(c W_1^T + b_1)) */
    kdts__ln_fwd(cc, (size_t)d, ws->st2[l] ? ws->st2[l] + 2 * r0 : NULL, hm, (size_t)d, nr, d, P + o->ln2_g,
                 P + o->ln2_b);
    kdts__attn_lin(u, (size_t)ff, cc, (size_t)d, nr, NULL, ws->pk_ff1[l], P + o->ff1_b, ff, d, 0, sc);
    if (ws->train) /* a training workspace keeps act'(u) in u for the backward */
        kdts__attn_act_fwd_d(g, u, u, nr * ff, c->activation, drop ? ws->ma[l] + mr0 * ff : NULL);
    else
        kdts__attn_act_fwd(g, u, nr * ff, c->activation, drop ? ws->ma[l] + mr0 * ff : NULL);
    /* h' = hm + drop(g W_2^T + b_2) */
    if (drop) {
        float *y, *t1, *t2, *t3, *t4, *t5;
        kdts__attn_cbuf(ws, tid, &t1, &t2, &t3, &t4, &y, &t5);
        kdts__attn_lin(y, (size_t)d, g, (size_t)ff, nr, NULL, ws->pk_ff2[l], P + o->ff2_b, d, ff, 0, sc);
        kdts__attn_resid_drop(hout, hm, y, ws->m2[l] + mr0 * d, nr * d);
    } else {
        kdts__attn_rows_add(hout, hm, P + o->ff2_b, nr, d);
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, (int)nr, d, ff, 1.0f, g, ff, NULL, 0, 1.0f, hout, d, NULL,
                          ws->pk_ff2[l]);
    }
}

/* The last block of a forecast for windows w0 .. w0+nw-1: keys and values
   at every step, the rest at the last step of each window only; then the
   final norm and the head into ws->out (B,O) rows w0... */
static void kdts__attn_last_rows(const kdts_attn *m, kdts_attn_ws *ws, int w0, int nw, int T, int tid)
{
    const kdts_attn_config *c = &m->cfg;
    int l = c->blocks - 1, d = c->d_model, ff = c->ff, nh = c->heads, dh = d / nh, O = m->outputs, w, j;
    const kdts_attn_block_offsets *o = &m->blk[l];
    const float *P = m->params;
    size_t r0 = (size_t)w0 * T, nr = (size_t)nw * T, S = (size_t)c->max_steps, Td = (size_t)T * d;
    float *hin = ws->h[l] + r0 * d, *a = ws->a[l] + r0 * d, *qkv = ws->qkv[l] + r0 * 3 * d;
    float *gs = ws->scratch + (size_t)tid * KDTS__GEMM_SCRATCH, *kt, *vt, *sc, *dS, *pd, *fq;
    float scale = 1.0f / sqrtf((float)dh), *fo, *fh, *fc, *fu, *top;
    kdts__attn_tbuf(ws, tid, T, &kt, &vt, &sc, &dS, &pd, &fq);
    fo = fq + (size_t)nw * d;
    fh = fo + (size_t)nw * d;
    fc = fh + (size_t)nw * d;
    fu = fc + (size_t)nw * d;
    top = fu + (size_t)nw * ff;
    kdts__ln_fwd(a, (size_t)d, NULL, hin, (size_t)d, nr, d, P + o->ln1_g, P + o->ln1_b);
    /* k, v at every step (rows d..3d-1 of W_qkv); q at the last steps */
    kdts__attn_lin(qkv + d, (size_t)3 * d, a, (size_t)d, nr, P + o->qkv_w + (size_t)d * d, NULL, P + o->qkv_b + d,
                   2 * d, d, 0, gs);
    kdts__attn_lin(fq, (size_t)d, a + (size_t)(T - 1) * d, Td, (size_t)nw, P + o->qkv_w, NULL, P + o->qkv_b, d, d,
                   0, gs);
    for (w = 0; w < nw; ++w)
        for (j = 0; j < nh; ++j) {
            const float *k = qkv + (size_t)w * T * 3 * d + d + (size_t)j * dh;
            kdts__attn_transpose(kt, k, (size_t)3 * d, T, dh);
            kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, 1, T, dh, scale, fq + (size_t)w * d + (size_t)j * dh, dh,
                              kt, T, 0.0f, sc, T, gs, NULL);
            kdts__attn_softmax_row(sc, sc, ws->rb + ((size_t)l * nh + j) * S, T, T);
            kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, 1, dh, T, 1.0f, sc, T, k + d, 3 * d, 0.0f,
                              fo + (size_t)w * d + (size_t)j * dh, dh, gs, NULL);
        }
    for (w = 0; w < nw; ++w) memcpy(fh + (size_t)w * d, hin + (size_t)w * Td + (size_t)(T - 1) * d, (size_t)d * sizeof(float));
    kdts__attn_lin(fh, (size_t)d, fo, (size_t)d, (size_t)nw, P + o->o_w, NULL, P + o->o_b, d, d, 1, gs);
    kdts__ln_fwd(fc, (size_t)d, NULL, fh, (size_t)d, (size_t)nw, d, P + o->ln2_g, P + o->ln2_b);
    kdts__attn_lin(fu, (size_t)ff, fc, (size_t)d, (size_t)nw, P + o->ff1_w, NULL, P + o->ff1_b, ff, d, 0, gs);
    kdts__attn_act_fwd(fu, fu, (size_t)nw * ff, c->activation, NULL);
    kdts__attn_lin(fh, (size_t)d, fu, (size_t)ff, (size_t)nw, P + o->ff2_w, NULL, P + o->ff2_b, d, ff, 1, gs);
    if (c->final_norm) kdts__ln_fwd(top, (size_t)d, NULL, fh, (size_t)d, (size_t)nw, d, P + m->off_lnf_g, P + m->off_lnf_b);
    else top = fh;
    kdts__attn_lin(ws->out + (size_t)w0 * O, (size_t)O, top, (size_t)d, (size_t)nw, P + m->off_head_w, NULL,
                   P + m->off_head_b, O, d, 0, gs);
}

/* Windows w0 .. w0+nw-1 of x through the whole network: the head at every
   step into ws->out, or with last != 0 the forecast. */
static void kdts__attn_fwd_rows(const kdts_attn *m, kdts_attn_ws *ws, const float *x, int w0, int nw, int T, int last,
                                int tid)
{
    const kdts_attn_config *c = &m->cfg;
    const float *P = m->params;
    int d = c->d_model, F = c->input, O = m->outputs, L = c->blocks, l;
    size_t r0 = (size_t)w0 * T, nr = (size_t)nw * T;
    float *sc = ws->scratch + (size_t)tid * KDTS__GEMM_SCRATCH, *h0 = ws->h[0] + r0 * d;
    const float *top;
    /* h = x W_in^T + b_in */
    if (F <= KDTS__FUSE_IN) kdts__proj_small(h0, x + r0 * F, nr, F, ws->wx, P + m->off_in_b, d);
    else kdts__attn_lin(h0, (size_t)d, x + r0 * F, (size_t)F, nr, NULL, ws->pk_in, P + m->off_in_b, d, F, 0, sc);
    for (l = 0; l < L; ++l) {
        if (last && l == L - 1) {
            kdts__attn_last_rows(m, ws, w0, nw, T, tid);
            return;
        }
        kdts__attn_block_rows(m, ws, l, w0, nw, T, tid);
    }
    top = ws->h[L] + r0 * d;
    if (c->final_norm) {
        kdts__ln_fwd(ws->hf + r0 * d, (size_t)d, ws->stf ? ws->stf + 2 * r0 : NULL, top, (size_t)d, nr, d,
                     P + m->off_lnf_g, P + m->off_lnf_b);
        top = ws->hf + r0 * d;
    }
    kdts__attn_lin(ws->out + r0 * O, (size_t)O, top, (size_t)d, nr, NULL, ws->pk_head, P + m->off_head_b, O, d, 0, sc);
}

/* The forward of kdts_attn_forward (last: kdts_attn_forecast) of B windows
   that are windows w0 .. w0+B-1 of a batch of Bt (kdts__train_parts; else
   w0 = 0, Bt = B). w0 == 0 packs the weights and position biases and
   draws the dropout scales of all Bt windows; a later part keeps them (the
   same parameters and T). */
static kdts_result kdts__attn_fwd(const kdts_attn *m, kdts_attn_ws *ws, const float *x, int B, int T, float *out,
                                  int train, kdts_rng *rng, int last, int w0, int Bt, kdts_error *err)
{
    int pack = w0 == 0;
    const kdts_attn_config *c;
    int d, F, O, L, nh, l, j, nw, nch, ch, nt;
    size_t R, S, t, TT;
    const float *src, *P;
    if (!m || !ws || !x || !m->params) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_attn_forward: NULL argument");
    c = &m->cfg;
    if (!kdts__attn_same_arch(c, &ws->cfg))
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "workspace made for another architecture");
    if (B < 1 || T < 1 || B > ws->max_batch || T > ws->max_steps)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "batch %d x steps %d does not fit the workspace (%d x %d)", B,
                          T, ws->max_batch, ws->max_steps);
    if (w0 < 0 || Bt > ws->max_batch || w0 + B > Bt)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "windows %d..%d of a batch of %d", w0, w0 + B - 1, Bt);
    if (train && !ws->train) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training forward with an inference workspace");
    if (train && c->dropout > 0.0f && (!rng || !ws->m1[0]))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          !rng ? "dropout needs an rng" : "dropout with a workspace made without dropout");
    d = c->d_model;
    F = c->input;
    O = m->outputs;
    L = c->blocks;
    nh = c->heads;
    S = (size_t)c->max_steps;
    R = (size_t)B * T;
    TT = (size_t)T * T;
    P = m->params;
    ws->B = B;
    ws->T = T;
    ws->state = 0;
    ws->dropout_active = train && c->dropout > 0.0f;
    ws->mw0 = w0;
    /* each block's bias reversed for this T, rb[t] = pos[T-1-t]; the
       weights packed for the forward products */
    for (l = 0; pack && l < L; ++l) {
        const kdts_attn_block_offsets *o = &m->blk[l];
        for (j = 0; j < nh; ++j) {
            float *e = ws->eb + ((size_t)l * nh + j) * (S + 2 * KDTS__ATT_RB);
            for (t = 0; t < (size_t)T; ++t) ws->rb[((size_t)l * nh + j) * S + t] = P[o->pos + (size_t)j * S + (size_t)T - 1 - t];
            for (t = 0; t < KDTS__ATT_RB; ++t) e[t] = -FLT_MAX, e[KDTS__ATT_RB + (size_t)T + t] = 0.0f;
            memcpy(e + KDTS__ATT_RB, P + o->pos + (size_t)j * S, (size_t)T * sizeof(float));
        }
        if (last && l == L - 1) break;
        kdts__pack_b_full(ws->pk_qkv[l], KDTS_TRANS, P + o->qkv_w, d, d, 3 * d);
        kdts__pack_b_full(ws->pk_o[l], KDTS_TRANS, P + o->o_w, d, d, d);
        kdts__pack_b_full(ws->pk_ff1[l], KDTS_TRANS, P + o->ff1_w, d, d, c->ff);
        kdts__pack_b_full(ws->pk_ff2[l], KDTS_TRANS, P + o->ff2_w, c->ff, c->ff, d);
    }
    if (pack && !last) kdts__pack_b_full(ws->pk_head, KDTS_TRANS, P + m->off_head_w, d, d, O);
    if (pack && F <= KDTS__FUSE_IN) kdts__pack_small(ws->wx, P + m->off_in_w, F, d);
    else if (pack) kdts__pack_b_full(ws->pk_in, KDTS_TRANS, P + m->off_in_w, F, F, d);
    if (ws->dropout_active && pack) {
        /* the scales, block by block in the documented order */
        float keep = 1.0f - c->dropout;
        size_t q, Rt = (size_t)Bt * T;
        int i, tt;
        for (l = 0; l < L; ++l) {
            for (q = 0; q < (size_t)Bt * nh; ++q)
                for (i = 0; i < T; ++i) {
                    float *row = ws->mp[l] + q * TT + (size_t)i * T;
                    kdts__attn_draw(row, (size_t)i + 1, keep, rng);
                    for (tt = i + 1; tt < T; ++tt) row[tt] = 0.0f;
                }
            kdts__attn_draw(ws->m1[l], Rt * d, keep, rng);
            kdts__attn_draw(ws->ma[l], Rt * c->ff, keep, rng);
            kdts__attn_draw(ws->m2[l], Rt * d, keep, rng);
        }
    }
    src = x;
    if (train) {
        memcpy(ws->x, x, R * F * sizeof(float));
        src = ws->x;
    }
    nw = kdts__attn_wpc(B, T);
    nch = (B + nw - 1) / nw;
    nt = kdts__attn_threads(ws);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && nch > 1)
#endif
    for (ch = 0; ch < nch; ++ch) {
        int tid = 0, w0 = ch * nw;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        kdts__attn_fwd_rows(m, ws, src, w0, B - w0 < nw ? B - w0 : nw, T, last, tid);
    }
    if (out) memcpy(out, ws->out, (last ? (size_t)B : R) * O * sizeof(float));
    ws->state = last ? 3 : (train ? 2 : 1);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_attn_forward(const kdts_attn *m, kdts_attn_ws *ws, const float *x, int B, int T, float *out,
                                      int train, kdts_rng *rng, kdts_error *err)
{
    return kdts__attn_fwd(m, ws, x, B, T, out, train, rng, 0, 0, B, err);
}

KDTSDEF kdts_result kdts_attn_forecast(const kdts_attn *m, kdts_attn_ws *ws, const float *x, int B, int T, float *out,
                                       kdts_error *err)
{
    return kdts__attn_fwd(m, ws, x, B, T, out, 0, NULL, 1, 0, B, err);
}

/* ---- backward ----------------------------------------------------------- */

/* Backward of block l for windows w0 .. w0+nw-1: the thread's chunk dL/dh holds dL/dh[l+1]
   on those rows and receives dL/dh[l]; parameter gradients added into G. */
static void kdts__attn_block_bwd_rows(const kdts_attn *m, kdts_attn_ws *ws, int l, int w0, int nw, int T, float *G,
                                      int tid)
{
    const kdts_attn_config *c = &m->cfg;
    const kdts_attn_block_offsets *o = &m->blk[l];
    const float *P = m->params, *dy;
    int d = c->d_model, ff = c->ff, nh = c->heads, dh = d / nh, drop = ws->dropout_active, w, j;
    size_t r0 = (size_t)w0 * T, nr = (size_t)nw * T, TT = (size_t)T * T, S = (size_t)c->max_steps;
    size_t mr0 = r0 + (size_t)ws->mw0 * T; /* the chunk's rows in the dropout scales */
    float *dH, *dd, *dff, *dqkv, *tmp, *gb, *kt, *vt, *Pb, *dS, *pd, *fq;
    float *sc = ws->scratch + (size_t)tid * KDTS__GEMM_SCRATCH;
    float scale = 1.0f / sqrtf((float)dh), *gp = G + o->pos;
    size_t gs = S + 2 * KDTS__ATT_RB;
    kdts__attn_cbuf(ws, tid, &dH, &dd, &dff, &dqkv, &tmp, &gb);
    kdts__attn_tbuf(ws, tid, T, &kt, &vt, &Pb, &dS, &pd, &fq);
    /* feed-forward part: h' = hm + drop(y), y = g W_2^T + b_2 */
    dy = dH;
    if (drop) {
        kdts__attn_mul(tmp, dH, ws->m2[l] + mr0 * d, nr * d);
        dy = tmp;
    }
    kdts__attn_lin_grad(G + o->ff2_w, G + o->ff2_b, dy, ws->g[l] + r0 * ff, nr, d, ff, sc);
    kdts__attn_lin_dx(dff, dy, nr, P + o->ff2_w, d, ff, sc);
    kdts__attn_act_bwd_d(dff, dff, ws->u[l] + r0 * ff, nr * ff, drop ? ws->ma[l] + mr0 * ff : NULL);
    kdts__attn_lin_grad(G + o->ff1_w, G + o->ff1_b, dff, ws->c[l] + r0 * d, nr, ff, d, sc);
    kdts__attn_lin_dx(dd, dff, nr, P + o->ff1_w, ff, d, sc);
    kdts__ln_bwd(dH, 1, dd, ws->hm[l] + r0 * d, ws->st2[l] + 2 * r0, nr, d, P + o->ln2_g, G + o->ln2_g, G + o->ln2_b);
    /* attention part: hm = h + drop(y), y = att W_o^T + b_o */
    dy = dH;
    if (drop) {
        kdts__attn_mul(tmp, dH, ws->m1[l] + mr0 * d, nr * d);
        dy = tmp;
    }
    kdts__attn_lin_grad(G + o->o_w, G + o->o_b, dy, ws->att[l] + r0 * d, nr, d, d, sc);
    kdts__attn_lin_dx(dd, dy, nr, P + o->o_w, d, d, sc);
    memset(gb, 0, (size_t)KDTS__ATT_RB * gs * sizeof(float));
    for (w = w0; w < w0 + nw; ++w)
        for (j = 0; j < nh; ++j) {
            size_t bh = (size_t)(w + ws->mw0) * nh + j, rw = (size_t)w * T, lw = (size_t)(w - w0) * T;
            const float *q = ws->qkv[l] + rw * 3 * d + (size_t)j * dh;
            float *dq = dqkv + lw * 3 * d + (size_t)j * dh;
            kdts__attn_head_bwd(q, q + d, q + 2 * d, (size_t)3 * d, dd + lw * d + (size_t)j * dh, (size_t)d, dq,
                                dq + d, dq + 2 * d, (size_t)3 * d, T, dh, scale, ws->eb + ((size_t)l * nh + j) * gs,
                                Pb, drop ? ws->mp[l] + bh * TT : NULL, dS, pd, kt, vt, gb, gs, sc);
            /* gb: RB rows of partial sums, distance m at RB + m; summed
               into the head's gradient and cleared for the next */
            kdts__attn_gb_sum(gp + (size_t)j * S, gb, gs, T);
        }
    kdts__attn_lin_grad(G + o->qkv_w, G + o->qkv_b, dqkv, ws->a[l] + r0 * d, nr, 3 * d, d, sc);
    kdts__attn_lin_dx(dd, dqkv, nr, P + o->qkv_w, 3 * d, d, sc);
    kdts__ln_bwd(dH, 1, dd, ws->h[l] + r0 * d, ws->st1[l] + 2 * r0, nr, d, P + o->ln1_g, G + o->ln1_g, G + o->ln1_b);
}

/* The whole backward of windows w0 .. w0+nw-1, gradients added into G. */
static void kdts__attn_bwd_rows(const kdts_attn *m, kdts_attn_ws *ws, const float *dout, float *dx, int w0, int nw,
                                int T, float *G, int tid)
{
    const kdts_attn_config *c = &m->cfg;
    const float *P = m->params, *top;
    int d = c->d_model, F = c->input, O = m->outputs, L = c->blocks, l;
    size_t r0 = (size_t)w0 * T, nr = (size_t)nw * T;
    float *sc = ws->scratch + (size_t)tid * KDTS__GEMM_SCRATCH, *dH, *dd, *t1, *t2, *t3, *t4;
    const float *dO = dout + r0 * O;
    kdts__attn_cbuf(ws, tid, &dH, &dd, &t1, &t2, &t3, &t4);
    /* the head: dW += dout^T top, db += column sums, dtop = dout W */
    top = (c->final_norm ? ws->hf : ws->h[L]) + r0 * d;
    kdts__attn_lin_grad(G + m->off_head_w, G + m->off_head_b, dO, top, nr, O, d, sc);
    kdts__attn_lin_dx(c->final_norm ? dd : dH, dO, nr, P + m->off_head_w, O, d, sc);
    if (ws->dtop) { /* a gradient w.r.t. the head's input from the caller (hints) */
        float *g = c->final_norm ? dd : dH;
        size_t q;
        for (q = 0; q < nr * d; ++q) g[q] += ws->dtop[r0 * d + q];
    }
    if (c->final_norm)
        kdts__ln_bwd(dH, 0, dd, ws->h[L] + r0 * d, ws->stf + 2 * r0, nr, d, P + m->off_lnf_g, G + m->off_lnf_g,
                     G + m->off_lnf_b);
    for (l = L - 1; l >= 0; --l) kdts__attn_block_bwd_rows(m, ws, l, w0, nw, T, G, tid);
    /* the embedding */
    kdts__attn_lin_grad(G + m->off_in_w, G + m->off_in_b, dH, ws->x + r0 * F, nr, d, F, sc);
    if (dx) kdts__attn_lin_dx(dx + r0 * F, dH, nr, P + m->off_in_w, d, F, sc);
}

KDTSDEF kdts_result kdts_attn_backward(kdts_attn *m, kdts_attn_ws *ws, const float *dout, float *dx, kdts_error *err)
{
    int B, T, nw, nch, ch;
    if (!m || !ws || !dout || !m->grads) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_attn_backward: NULL argument");
    if (!kdts__attn_same_arch(&m->cfg, &ws->cfg) || ws->state != 2)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_attn_backward needs a training forward of this architecture");
    B = ws->B;
    T = ws->T;
    nw = kdts__attn_wpc(B, T);
    nch = (B + nw - 1) / nw;
#ifdef _OPENMP
    if (ws->gbuf) {
        /* KDTS__ATT_GROUPS fixed groups of consecutive chunks, each summing
           into its own gradient buffer; then the groups in order */
        int ng = nch < KDTS__ATT_GROUPS ? nch : KDTS__ATT_GROUPS, g, nt = kdts__attn_threads(ws);
        long i, np = (long)m->nparams;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && ng > 1)
        for (g = 0; g < ng; ++g) {
            int c0 = g * nch / ng, c1 = (g + 1) * nch / ng, tid = omp_get_thread_num(), cc;
            float *Gg = ws->gbuf + (size_t)g * ws->gstride;
            memset(Gg, 0, (size_t)np * sizeof(float));
            for (cc = c0; cc < c1; ++cc) {
                int w0 = cc * nw;
                kdts__attn_bwd_rows(m, ws, dout, dx, w0, B - w0 < nw ? B - w0 : nw, T, Gg, tid);
            }
        }
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (i = 0; i < np; ++i) {
            float s = m->grads[i];
            int gg;
            for (gg = 0; gg < ng; ++gg) s += ws->gbuf[(size_t)gg * ws->gstride + (size_t)i];
            m->grads[i] = s;
        }
        return KDTS_OK;
    }
#endif
    for (ch = 0; ch < nch; ++ch) {
        int w0 = ch * nw;
        kdts__attn_bwd_rows(m, ws, dout, dx, w0, B - w0 < nw ? B - w0 : nw, T, m->grads, 0);
    }
    return KDTS_OK;
}

/* ---- deployment inference: window and stream ----------------------------

   Functions for kdts_infer (they work on normalized inputs and give the
   head's O outputs; scaling, window normalization and inversion stay with
   the caller). One sequence at a time, by matrix-vector products over
   weights transposed into the state, with a key/value cache per block:
   feeding observation number n (from 0) costs the projections of one step
   plus O(min(n+1, cap) * d) per block for its attention.

   kdts__attn_inf_window(x, T): the forecast of one window from scratch
   (its own cache, the stream is untouched): the observations one by one
   (the last block computes only keys and values before the last step).
   Equal to kdts_attn_forecast on the window to float rounding.

   kdts__attn_inf_step(x): the stream. Observation n attends to the cached
   keys and values of the last min(n+1, lookback) observations.
   - For n < lookback (the first lookback observations after a reset) the
     forecast is the window forecast of the n+1 observations so far: the
     same operations in the same order, bit for bit.
   - Later the cache holds the last lookback steps. The first block's keys
     and values depend only on their own observation (the position bias
     depends on distances only), so the first block - and a one-block model
     entirely - equals the window forecast of the last lookback
     observations. In a deeper block the keys and values of an older step
     were computed when it arrived, from lower-block outputs that saw the
     lookback observations before it, while the window recomputation sees
     only those inside the current window: the stream is then an
     approximation that looks further back (up to blocks*(lookback-1)
     observations). tools/attn_stream.c measures the difference. */

/* Floats of state memory for a checked config (0 on overflow). */
static size_t kdts__attn_inf_floats(const kdts_attn_config *c, int lookback, int max_steps)
{
    size_t d = (size_t)c->d_model, F = (size_t)c->input, ff = (size_t)c->ff, L = (size_t)c->blocks;
    size_t nh = (size_t)c->heads, O = (size_t)kdts__attn_outputs(c), n = 0, cap[2], s;
    cap[0] = (size_t)lookback;
    cap[1] = (size_t)(max_steps > lookback ? max_steps : lookback);
    n += kdts__attn_r16(F * d + L * (4 * d * d + 2 * d * ff) + d * O);
    for (s = 0; s < 2; ++s) n += 2 * kdts__attn_r16(L * cap[s] * d) + kdts__attn_r16(L * nh * 2 * cap[s]);
    n += 3 * kdts__attn_r16(d) + kdts__attn_r16(3 * d) + kdts__attn_r16(ff) + kdts__attn_r16(cap[1]) +
         kdts__attn_r16(O);
    return n;
}

/* Forget the stream (the next step is observation 0). */
static void kdts__attn_inf_reset(kdts__attn_inf *s) { s->seen = 0; }

/* Set up the state in caller memory mem[nfloats] (at least
   kdts__attn_inf_floats) for a stream over the last `lookback`
   observations and windows of up to max_steps (0 = lookback) steps, both
   at most cfg->max_steps. params: the model's (kdts_attn layout), read
   only and kept. Returns KDTS_OK or KDTS_ERR_ARG. */
static KDTS__UNUSED kdts_result kdts__attn_inf_init(kdts__attn_inf *s, const kdts_attn_config *cfg, const float *params,
                                       int lookback, int max_steps, float *mem, size_t nfloats, kdts_error *err)
{
    kdts__attn_inf t;
    kdts_attn_config c;
    kdts_result r;
    size_t d, F, ff, L, nh, dh, O, S, off = 0, i, k, cap, set, l, j, q;
    const float *P = params;
    float *w;
    if (!s || !cfg || !params || !mem) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "attention inference: NULL argument");
    c = *cfg;
    r = kdts_attn_config_check(&c, err);
    if (r != KDTS_OK) return r;
    if (max_steps == 0) max_steps = lookback;
    if (lookback < 1 || lookback > c.max_steps || max_steps < lookback || max_steps > c.max_steps)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "attention inference: lookback %d / max_steps %d out of range 1..%d",
                          lookback, max_steps, c.max_steps);
    if (nfloats < kdts__attn_inf_floats(&c, lookback, max_steps))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "attention inference: state memory too small");
    memset(&t, 0, sizeof t);
    t.net.cfg = c;
    t.net.outputs = kdts__attn_outputs(&c);
    t.net.nparams = kdts__attn_layout(&c, &t.net);
    t.net.params = (float *)params; /* a view: never written */
    t.net.grads = NULL;
    t.cap[0] = lookback;
    t.cap[1] = max_steps;
    d = (size_t)c.d_model;
    F = (size_t)c.input;
    ff = (size_t)c.ff;
    L = (size_t)c.blocks;
    nh = (size_t)c.heads;
    dh = d / nh;
    O = (size_t)t.net.outputs;
    S = (size_t)c.max_steps;
#define KDTS__ICARVE(p, n) (p) = mem + off, off += kdts__attn_r16(n)
    KDTS__ICARVE(t.wt, F * d + L * (4 * d * d + 2 * d * ff) + d * O);
    for (set = 0; set < 2; ++set) {
        cap = (size_t)t.cap[set];
        KDTS__ICARVE(t.kc[set], L * cap * d);
        KDTS__ICARVE(t.vc[set], L * cap * d);
        KDTS__ICARVE(t.zb[set], L * nh * 2 * cap);
    }
    KDTS__ICARVE(t.h, d);
    KDTS__ICARVE(t.a, d);
    KDTS__ICARVE(t.qkv, 3 * d);
    KDTS__ICARVE(t.o, d);
    KDTS__ICARVE(t.f, ff);
    KDTS__ICARVE(t.sc, (size_t)t.cap[1]);
    KDTS__ICARVE(t.out, O);
#undef KDTS__ICARVE
    /* weights transposed: wt[k][j] = W[j][k] */
    w = t.wt;
#define KDTS__TRANSP(Wsrc, rows, cols)                                              \
    do {                                                                            \
        for (i = 0; i < (rows); ++i)                                                \
            for (k = 0; k < (cols); ++k) w[k * (rows) + i] = (Wsrc)[i * (cols) + k]; \
        w += (rows) * (cols);                                                       \
    } while (0)
    KDTS__TRANSP(P + t.net.off_in_w, d, F);
    for (l = 0; l < L; ++l) {
        KDTS__TRANSP(P + t.net.blk[l].qkv_w, 3 * d, d);
        KDTS__TRANSP(P + t.net.blk[l].o_w, d, d);
        KDTS__TRANSP(P + t.net.blk[l].ff1_w, ff, d);
        KDTS__TRANSP(P + t.net.blk[l].ff2_w, d, ff);
    }
    KDTS__TRANSP(P + t.net.off_head_w, O, d);
#undef KDTS__TRANSP
    /* position bias in ring order: zb[m] = pos[(cap-1-m) mod cap], so slot
       s of a ring whose newest entry is slot p reads zb[s + cap-1-p] */
    for (set = 0; set < 2; ++set) {
        cap = (size_t)t.cap[set];
        for (l = 0; l < L; ++l)
            for (j = 0; j < nh; ++j) {
                float *z = t.zb[set] + (l * nh + j) * 2 * cap;
                const float *pb = P + t.net.blk[l].pos + j * S;
                for (q = 0; q < 2 * cap - 1; ++q) z[q] = pb[(2 * cap - 1 - q) % cap];
                z[2 * cap - 1] = 0.0f;
            }
    }
    (void)dh;
    *s = t;
    kdts__attn_inf_reset(s);
    return KDTS_OK;
}

/* y (n) = b + x (k) W^T with wt = W^T (k,n), or y += ... when acc. */
static void kdts__attn_matvec(float *y, const float *x, const float *wt, const float *b, int k, int n, int acc)
{
    int j = 0, i;
#ifdef KDTS__VW
    const int V = KDTS__VW;
    for (; j + 4 * V <= n; j += 4 * V) {
        kdts__v a0 = kdts__vld(b + j), a1 = kdts__vld(b + j + V), a2 = kdts__vld(b + j + 2 * V);
        kdts__v a3 = kdts__vld(b + j + 3 * V);
        const float *w = wt + j;
        if (acc) {
            a0 = kdts__vadd(a0, kdts__vld(y + j));
            a1 = kdts__vadd(a1, kdts__vld(y + j + V));
            a2 = kdts__vadd(a2, kdts__vld(y + j + 2 * V));
            a3 = kdts__vadd(a3, kdts__vld(y + j + 3 * V));
        }
        for (i = 0; i < k; ++i, w += n) {
            kdts__v s = kdts__vset(x[i]);
            a0 = kdts__vfma(s, kdts__vld(w), a0);
            a1 = kdts__vfma(s, kdts__vld(w + V), a1);
            a2 = kdts__vfma(s, kdts__vld(w + 2 * V), a2);
            a3 = kdts__vfma(s, kdts__vld(w + 3 * V), a3);
        }
        kdts__vst(y + j, a0);
        kdts__vst(y + j + V, a1);
        kdts__vst(y + j + 2 * V, a2);
        kdts__vst(y + j + 3 * V, a3);
    }
    for (; j < n; j += V) {
        int nn = n - j < V ? n - j : V;
        kdts__v a0 = kdts__vldn(b + j, nn), a1 = kdts__vset(0.0f);
        const float *w = wt + j;
        if (acc) a0 = kdts__vadd(a0, kdts__vldn(y + j, nn));
        for (i = 0; i + 1 < k; i += 2, w += 2 * (size_t)n) {
            a0 = kdts__vfma(kdts__vset(x[i]), kdts__vldn(w, nn), a0);
            a1 = kdts__vfma(kdts__vset(x[i + 1]), kdts__vldn(w + n, nn), a1);
        }
        if (i < k) a0 = kdts__vfma(kdts__vset(x[i]), kdts__vldn(w, nn), a0);
        kdts__vstn(y + j, kdts__vadd(a0, a1), nn);
    }
#else
    for (; j < n; ++j) {
        float s = b[j] + (acc ? y[j] : 0.0f);
        for (i = 0; i < k; ++i) s += x[i] * wt[(size_t)i * n + j];
        y[j] = s;
    }
#endif
}

/* Observation x (F) at position pos of cache set `set`. full == 0: stop
   the last block after its key and value (an earlier step of a window);
   otherwise write the head's output into s->out. */
static void kdts__attn_inf_pos(kdts__attn_inf *s, int set, const float *x, long long pos, int full)
{
    const kdts_attn *m = &s->net;
    const kdts_attn_config *c = &m->cfg;
    const float *P = m->params, *w = s->wt;
    int d = c->d_model, F = c->input, ff = c->ff, nh = c->heads, dh = d / nh, L = c->blocks, O = m->outputs;
    int cap = s->cap[set], p = (int)(pos % cap), n = pos + 1 < cap ? (int)pos + 1 : cap, l, j, i, t;
    float scale = 1.0f / sqrtf((float)dh);
    const float *wx = w;
    w += (size_t)F * d;
    kdts__attn_matvec(s->h, x, wx, P + m->off_in_b, F, d, 0);
    for (l = 0; l < L; ++l) {
        const kdts_attn_block_offsets *o = &m->blk[l];
        const float *wqkv = w, *wo = wqkv + (size_t)3 * d * d, *w1 = wo + (size_t)d * d, *w2 = w1 + (size_t)d * ff;
        float *kc = s->kc[set] + (size_t)l * cap * d, *vc = s->vc[set] + (size_t)l * cap * d;
        w = w2 + (size_t)ff * d;
        kdts__ln_fwd(s->a, (size_t)d, NULL, s->h, (size_t)d, 1, d, P + o->ln1_g, P + o->ln1_b);
        kdts__attn_matvec(s->qkv, s->a, wqkv, P + o->qkv_b, d, 3 * d, 0);
        /* keys (heads, dh, cap): row i = j*dh + k; values (cap, d) */
        for (i = 0; i < d; ++i) kc[(size_t)i * cap + p] = s->qkv[d + i];
        memcpy(vc + (size_t)p * d, s->qkv + 2 * d, (size_t)d * sizeof(float));
        if (l == L - 1 && !full) return;
        for (j = 0; j < nh; ++j) {
            const float *q = s->qkv + (size_t)j * dh, *kj = kc + (size_t)j * dh * cap;
            const float *zb = s->zb[set] + ((size_t)l * nh + j) * 2 * cap + (cap - 1 - p);
            float *oj = s->o + (size_t)j * dh, *sc = s->sc;
            int k;
            /* scores of slots 0..n-1 (the valid ones) */
            t = 0;
#ifdef KDTS__VW
            for (; t < n; t += KDTS__VW) {
                int nn = n - t < KDTS__VW ? n - t : KDTS__VW;
                kdts__v a0 = kdts__vset(0.0f), a1 = a0;
                for (k = 0; k + 1 < dh; k += 2) {
                    a0 = kdts__vfma(kdts__vset(q[k]), kdts__vldn(kj + (size_t)k * cap + t, nn), a0);
                    a1 = kdts__vfma(kdts__vset(q[k + 1]), kdts__vldn(kj + (size_t)(k + 1) * cap + t, nn), a1);
                }
                if (k < dh) a0 = kdts__vfma(kdts__vset(q[k]), kdts__vldn(kj + (size_t)k * cap + t, nn), a0);
                kdts__vstn(sc + t, kdts__vmul(kdts__vadd(a0, a1), kdts__vset(scale)), nn);
            }
#else
            for (; t < n; ++t) {
                float a = 0.0f;
                for (k = 0; k < dh; ++k) a += q[k] * kj[(size_t)k * cap + t];
                sc[t] = a * scale;
            }
#endif
            kdts__attn_softmax_row(sc, sc, zb, n, n);
            /* o_j = sum over slots of p v */
            k = 0;
#ifdef KDTS__VW
            for (; k < dh; k += KDTS__VW) {
                int nn = dh - k < KDTS__VW ? dh - k : KDTS__VW;
                kdts__v a0 = kdts__vset(0.0f), a1 = a0;
                const float *v = vc + (size_t)j * dh + k;
                for (t = 0; t + 1 < n; t += 2) {
                    a0 = kdts__vfma(kdts__vset(sc[t]), kdts__vldn(v + (size_t)t * d, nn), a0);
                    a1 = kdts__vfma(kdts__vset(sc[t + 1]), kdts__vldn(v + (size_t)(t + 1) * d, nn), a1);
                }
                if (t < n) a0 = kdts__vfma(kdts__vset(sc[t]), kdts__vldn(v + (size_t)t * d, nn), a0);
                kdts__vstn(oj + k, kdts__vadd(a0, a1), nn);
            }
#else
            for (; k < dh; ++k) {
                float a = 0.0f;
                for (t = 0; t < n; ++t) a += sc[t] * vc[(size_t)t * d + (size_t)j * dh + k];
                oj[k] = a;
            }
#endif
        }
        kdts__attn_matvec(s->h, s->o, wo, P + o->o_b, d, d, 1);
        kdts__ln_fwd(s->a, (size_t)d, NULL, s->h, (size_t)d, 1, d, P + o->ln2_g, P + o->ln2_b);
        kdts__attn_matvec(s->f, s->a, w1, P + o->ff1_b, d, ff, 0);
        kdts__attn_act_fwd(s->f, s->f, (size_t)ff, c->activation, NULL);
        kdts__attn_matvec(s->h, s->f, w2, P + o->ff2_b, ff, d, 1);
    }
    if (c->final_norm) {
        kdts__ln_fwd(s->a, (size_t)d, NULL, s->h, (size_t)d, 1, d, P + m->off_lnf_g, P + m->off_lnf_b);
        kdts__attn_matvec(s->out, s->a, w, P + m->off_head_b, d, O, 0);
    } else {
        kdts__attn_matvec(s->out, s->h, w, P + m->off_head_b, d, O, 0);
    }
}

/* Forecast of one window x (T,F) of normalized inputs, 1 <= T <= cap[1],
   into out (O) (may be s->out). Does not touch the stream. */
static KDTS__UNUSED void kdts__attn_inf_window(kdts__attn_inf *s, const float *x, int T, float *out)
{
    int t, F = s->net.cfg.input;
    for (t = 0; t < T; ++t) kdts__attn_inf_pos(s, 1, x + (size_t)t * F, t, t == T - 1);
    if (out != s->out) memcpy(out, s->out, (size_t)s->net.outputs * sizeof(float));
}

/* Feed the next observation x (F) of the stream; its forecast into out (O)
   (may be s->out). See above for how it relates to window inference. */
static KDTS__UNUSED void kdts__attn_inf_step(kdts__attn_inf *s, const float *x, float *out)
{
    kdts__attn_inf_pos(s, 0, x, s->seen, 1);
    s->seen++;
    if (out != s->out) memcpy(out, s->out, (size_t)s->net.outputs * sizeof(float));
}

/* ======================================================================== */
/* >>adam                                                                   */
/* ======================================================================== */

static void kdts__adam_defaults(kdts_adam_config *c)
{
    if (c->lr == 0.0f) c->lr = 1e-3f;
    if (c->beta1 == 0.0f) c->beta1 = 0.9f;
    if (c->beta2 == 0.0f) c->beta2 = 0.999f;
    if (c->eps == 0.0f) c->eps = 1e-8f;
}

KDTSDEF kdts_result kdts_adam_init(kdts_adam *a, const kdts_adam_config *cfg, size_t n,
                                   kdts_error *err)
{
    kdts_adam t;
    memset(&t, 0, sizeof t);
    if (cfg) t.cfg = *cfg;
    kdts__adam_defaults(&t.cfg);
    if (!(t.cfg.lr > 0.0f) || !(t.cfg.beta1 >= 0.0f && t.cfg.beta1 < 1.0f) ||
        !(t.cfg.beta2 >= 0.0f && t.cfg.beta2 < 1.0f) || !(t.cfg.eps > 0.0f) ||
        !(t.cfg.weight_decay >= 0.0f) || !(t.cfg.clip_norm >= 0.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "invalid Adam settings (lr %g, beta1 %g, beta2 %g)",
                          (double)t.cfg.lr, (double)t.cfg.beta1, (double)t.cfg.beta2);
    t.n = n;
    t.m = kdts__falloc(n);
    t.v = kdts__falloc(n);
    if (!t.m || !t.v) {
        kdts__free_aligned(t.m);
        kdts__free_aligned(t.v);
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for Adam state");
    }
    memset(t.m, 0, n * sizeof(float));
    memset(t.v, 0, n * sizeof(float));
    *a = t;
    return KDTS_OK;
}

KDTSDEF void kdts_adam_free(kdts_adam *a)
{
    if (!a) return;
    kdts__free_aligned(a->m);
    kdts__free_aligned(a->v);
    a->m = a->v = NULL;
}

KDTSDEF double kdts_clip_grad_norm(float *g, size_t n, float max_norm)
{
    double s = 0.0, norm;
    size_t i;
    for (i = 0; i < n; ++i) s += (double)g[i] * g[i];
    norm = sqrt(s);
    if (max_norm > 0.0f && norm > max_norm) {
        float k = (float)(max_norm / norm);
        for (i = 0; i < n; ++i) g[i] *= k;
    }
    return norm;
}

KDTSDEF double kdts_adam_step(kdts_adam *a, float *p, float *g)
{
    double norm = kdts_clip_grad_norm(g, a->n, a->cfg.clip_norm);
    float b1 = a->cfg.beta1, b2 = a->cfg.beta2, lr = a->cfg.lr, eps = a->cfg.eps;
    float decay = 1.0f - lr * a->cfg.weight_decay, step, bc2s;
    size_t i = 0, n = a->n;
    float *m = a->m, *v = a->v;
    a->step++;
    step = (float)(lr / (1.0 - pow((double)b1, (double)a->step)));
    bc2s = (float)sqrt(1.0 - pow((double)b2, (double)a->step));
#ifdef KDTS__VW
    {
        kdts__v vb1 = kdts__vset(b1), vb2 = kdts__vset(b2), vc1 = kdts__vset(1.0f - b1);
        kdts__v vc2 = kdts__vset(1.0f - b2), vstep = kdts__vset(step), vbc = kdts__vset(1.0f / bc2s);
        kdts__v veps = kdts__vset(eps), vdec = kdts__vset(decay);
        for (; i + KDTS__VW <= n; i += KDTS__VW) {
            kdts__v gv = kdts__vld(g + i);
            kdts__v mv = kdts__vfma(vb1, kdts__vld(m + i), kdts__vmul(vc1, gv));
            kdts__v vv = kdts__vfma(vb2, kdts__vld(v + i), kdts__vmul(vc2, kdts__vmul(gv, gv)));
            kdts__v den, pv;
#if defined(KDTS__AVX512)
            den = _mm512_sqrt_ps(vv);
#elif defined(KDTS__AVX2)
            den = _mm256_sqrt_ps(vv);
#elif defined(KDTS__SSE2)
            den = _mm_sqrt_ps(vv);
#else
            {
                float tmp[4];
                int q;
                vst1q_f32(tmp, vv);
                for (q = 0; q < 4; ++q) tmp[q] = sqrtf(tmp[q]);
                den = vld1q_f32(tmp);
            }
#endif
            den = kdts__vadd(kdts__vmul(den, vbc), veps);
            pv = kdts__vmul(kdts__vld(p + i), vdec);
            pv = kdts__vsub(pv, kdts__vdiv(kdts__vmul(vstep, mv), den));
            kdts__vst(m + i, mv);
            kdts__vst(v + i, vv);
            kdts__vst(p + i, pv);
        }
    }
#endif
    for (; i < n; ++i) {
        float gi = g[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] = p[i] * decay - step * m[i] / (sqrtf(v[i]) / bc2s + eps);
    }
    return norm;
}

/* ======================================================================== */
/* >>linear                                                                 */
/* ======================================================================== */

/* T*F limit: a window of more values is absurd for a linear map. */
#define KDTS__LIN_MAX_INPUTS ((long)KDTS_MAX_DIM * 16)

static void kdts__lin_defaults(kdts_linear_config *c)
{
    if (c->input == 0) c->input = 1;
    if (c->horizon == 0) c->horizon = 1;
    if (c->mode == KDTS_MODE_DIST && c->bins == 0) c->bins = 32;
    if (c->mode == KDTS_MODE_DIST && c->bin_lo == 0.0f && c->bin_hi == 0.0f) {
        c->bin_lo = -4.0f;
        c->bin_hi = 4.0f;
    }
    if (c->kind == KDTS_LINEAR_DLINEAR && c->kernel == 0) c->kernel = 25;
}

/* Validate a config whose defaults are filled; 0 or the failure. */
static kdts_result kdts__lin_validate(const kdts_linear_config *c, kdts_error *err)
{
    if (c->input < 1 || c->input > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "input width %d out of range 1..%d", c->input, KDTS_MAX_DIM);
    if (c->lookback < 1 || c->lookback > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "lookback %d out of range 1..%d", c->lookback, KDTS_MAX_DIM);
    if (c->input > KDTS__LIN_MAX_INPUTS / c->lookback) /* no overflow with a 32-bit long */
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "lookback %d x input %d exceeds %ld values", c->lookback, c->input,
                          KDTS__LIN_MAX_INPUTS);
    if (c->horizon < 1 || c->horizon > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "horizon %d out of range 1..%d", c->horizon, KDTS_MAX_DIM);
    if (c->mode != KDTS_MODE_POINT && c->mode != KDTS_MODE_DIST)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "unknown output mode %d", (int)c->mode);
    if (c->mode == KDTS_MODE_DIST) {
        if (c->bins < 2 || c->bins > 4096)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "bins %d out of range 2..4096", c->bins);
        if (!(c->bin_hi > c->bin_lo) || !kdts__isfinite(c->bin_lo) || !kdts__isfinite(c->bin_hi))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "bin range must satisfy lo < hi");
        if ((long)c->horizon * c->bins > KDTS_MAX_DIM)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "horizon x bins exceeds %d", KDTS_MAX_DIM);
        if (c->subtract_last)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                              "subtract_last needs point mode (make the windows relative with KDTS_WNORM_LAST)");
    }
    if (c->kind != KDTS_LINEAR_NLINEAR && c->kind != KDTS_LINEAR_DLINEAR)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "unknown linear model kind %d", (int)c->kind);
    if (c->kind == KDTS_LINEAR_DLINEAR && (c->kernel < 1 || c->kernel > KDTS_MAX_DIM || c->kernel % 2 == 0))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "moving-average kernel %d must be odd, 1..%d", c->kernel,
                          KDTS_MAX_DIM);
    if (c->subtract_last != 0 && c->subtract_last != 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "subtract_last must be 0 or 1");
    if (c->subtract_last && (c->target_rev < 0 || c->target_rev >= c->input))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "target_rev %d out of range 0..%d", c->target_rev, c->input - 1);
    return KDTS_OK;
}

static int kdts__lin_outputs(const kdts_linear_config *c)
{
    return c->mode == KDTS_MODE_DIST ? c->horizon * c->bins : c->horizon;
}

/* Parameter count of a validated config (0 on overflow). */
static size_t kdts__lin_count(const kdts_linear_config *c)
{
    size_t D = (size_t)c->lookback * (size_t)c->input, O = (size_t)kdts__lin_outputs(c), n, t;
    if (!kdts__mul_ok(D + 1, O, &n)) return 0;
    if (c->kind == KDTS_LINEAR_DLINEAR && !kdts__mul_ok(n, 2, &n)) return 0;
    if (!kdts__mul_ok(n, 2 * sizeof(float), &t)) return 0;
    return n;
}

KDTSDEF kdts_result kdts_linear_config_check(kdts_linear_config *cfg, kdts_error *err)
{
    kdts_result r;
    if (!cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "NULL config");
    kdts__lin_defaults(cfg);
    r = kdts__lin_validate(cfg, err);
    if (r != KDTS_OK) return r;
    if (kdts__lin_count(cfg) == 0) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "parameter count overflows");
    return KDTS_OK;
}

KDTSDEF size_t kdts_linear_param_count(const kdts_linear_config *cfg)
{
    kdts_linear_config c;
    if (!cfg) return 0;
    c = *cfg;
    kdts__lin_defaults(&c);
    if (kdts__lin_validate(&c, NULL) != KDTS_OK) return 0;
    return kdts__lin_count(&c);
}

KDTSDEF double kdts_linear_flops(const kdts_linear_config *cfg)
{
    kdts_linear_config c;
    double D, O, f;
    if (!cfg) return 0.0;
    c = *cfg;
    kdts__lin_defaults(&c);
    if (kdts__lin_validate(&c, NULL) != KDTS_OK) return 0.0;
    D = (double)c.lookback * c.input;
    O = kdts__lin_outputs(&c);
    f = 2.0 * D * O + O;
    if (c.subtract_last) f += D + O;
    if (c.kind == KDTS_LINEAR_DLINEAR)
        f += (double)c.input * c.kernel + 3.0 * D - 2.0 * c.input + D + 2.0 * D * O + O + O;
    return f;
}

KDTSDEF void kdts_linear_zero_grad(kdts_linear *m)
{
    if (m && m->grads) memset(m->grads, 0, m->nparams * sizeof(float));
}

KDTSDEF void kdts_linear_reset(kdts_linear *m, unsigned long long seed)
{
    kdts_rng r;
    size_t i;
    float k = 1.0f / sqrtf((float)m->inputs);
    kdts_rng_seed(&r, seed);
    for (i = 0; i < m->nparams; ++i) m->params[i] = (2.0f * kdts_rng_uniform(&r) - 1.0f) * k;
    kdts_linear_zero_grad(m);
}

KDTSDEF kdts_result kdts_linear_init(kdts_linear *m, const kdts_linear_config *cfg,
                                     unsigned long long seed, kdts_error *err)
{
    kdts_linear t;
    kdts_result r;
    size_t D, O;
    if (!m || !cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "NULL model or config");
    memset(&t, 0, sizeof t);
    t.cfg = *cfg;
    r = kdts_linear_config_check(&t.cfg, err);
    if (r != KDTS_OK) return r;
    t.outputs = kdts__lin_outputs(&t.cfg);
    t.inputs = t.cfg.lookback * t.cfg.input;
    D = (size_t)t.inputs;
    O = (size_t)t.outputs;
    t.nparams = kdts__lin_count(&t.cfg);
    t.off_w = 0;
    t.off_b = D * O;
    if (t.cfg.kind == KDTS_LINEAR_DLINEAR) {
        t.off_w2 = (D + 1) * O;
        t.off_b2 = t.off_w2 + D * O;
    }
    t.params = kdts__falloc(t.nparams);
    t.grads = kdts__falloc(t.nparams);
    if (t.cfg.kind == KDTS_LINEAR_DLINEAR) t.scratch = kdts__falloc(D);
    if (!t.params || !t.grads || (t.cfg.kind == KDTS_LINEAR_DLINEAR && !t.scratch)) {
        kdts__free_aligned(t.params);
        kdts__free_aligned(t.grads);
        kdts__free_aligned(t.scratch);
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for %lu parameters", (unsigned long)t.nparams);
    }
    *m = t;
    kdts_linear_reset(m, seed);
    return KDTS_OK;
}

KDTSDEF void kdts_linear_free(kdts_linear *m)
{
    if (!m) return;
    kdts__free_aligned(m->params);
    kdts__free_aligned(m->grads);
    kdts__free_aligned(m->scratch);
    m->params = m->grads = m->scratch = NULL;
    m->nparams = 0;
}

/* Values of the model's input vectors handled at a time on the stack. */
#define KDTS__LIN_CHUNK 512

/* The model's inputs for flat positions [c0, c0+len) of one window x
   (T,F): z (after subtract_last) into zc, and for DLinear the trend into
   tc and the remainder into rc (zc is then not written). */
static void kdts__lin_inputs(const kdts_linear_config *c, const float *x, int c0, int len, float *zc, float *tc,
                             float *rc)
{
    int T = c->lookback, F = c->input, i;
    const float *last = x + (size_t)(T - 1) * F;
    if (c->kind == KDTS_LINEAR_NLINEAR) {
        if (c->subtract_last)
            for (i = 0; i < len; ++i) zc[i] = x[c0 + i] - last[(c0 + i) % F];
        else
            memcpy(zc, x + c0, (size_t)len * sizeof(float));
        return;
    }
    {
        /* per feature, a running sum (in double) over the clamped window
           as t advances: one add and one subtract per value after the
           first of each feature in the chunk */
        int p = (c->kernel - 1) / 2, t0 = c0 / F, t1 = (c0 + len - 1) / F, f, j;
        double inv = 1.0 / (double)c->kernel;
        for (f = 0; f < F; ++f) {
            int ts = t0 * F + f < c0 ? t0 + 1 : t0, te = t1 * F + f >= c0 + len ? t1 - 1 : t1, t;
            double sum = 0.0, l = c->subtract_last ? (double)last[f] : 0.0;
            if (ts > te) continue;
            for (j = ts - p; j <= ts + p; ++j) sum += (double)x[(size_t)(j < 0 ? 0 : (j > T - 1 ? T - 1 : j)) * F + f];
            for (t = ts; t <= te; ++t) {
                int q = t * F + f - c0;
                if (t > ts) {
                    int ja = t + p, jr = t - 1 - p;
                    sum += (double)x[(size_t)(ja > T - 1 ? T - 1 : ja) * F + f];
                    sum -= (double)x[(size_t)(jr < 0 ? 0 : jr) * F + f];
                }
                /* trend of z = x - last is trend(x) - last (the padding
                   repeats the end values, so a constant passes through) */
                tc[q] = (float)(sum * inv - l);
                rc[q] = (float)((double)x[(size_t)t * F + f] - sum * inv);
            }
        }
    }
}

static kdts_result kdts__lin_args(const kdts_linear *m, const float *x, int B, int T, const void *p,
                                  kdts_error *err)
{
    if (!m || !m->params || (!x && B > 0) || (!p && B > 0) || B < 0)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "NULL model/pointer or negative batch");
    if (T != m->cfg.lookback)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "window of %d steps for a model of lookback %d", T,
                          m->cfg.lookback);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_linear_forward(const kdts_linear *m, const float *x, int B, int T, float *out,
                                        kdts_error *err)
{
    const kdts_linear_config *c;
    int D, O, b, o, c0;
    kdts_result r = kdts__lin_args(m, x, B, T, out, err);
    if (r != KDTS_OK) return r;
    c = &m->cfg;
    D = m->inputs;
    O = m->outputs;
    for (b = 0; b < B; ++b) {
        const float *xb = x + (size_t)b * D;
        float *ob = out + (size_t)b * O;
        const float *W = m->params + m->off_w, *bias = m->params + m->off_b;
        for (o = 0; o < O; ++o) ob[o] = bias[o];
        if (c->kind == KDTS_LINEAR_DLINEAR) {
            const float *b2 = m->params + m->off_b2;
            for (o = 0; o < O; ++o) ob[o] += b2[o];
        }
        if (c->kind == KDTS_LINEAR_NLINEAR && !c->subtract_last) {
            for (o = 0; o < O; ++o) ob[o] += kdts_vec_dot(W + (size_t)o * D, xb, (size_t)D);
        } else {
            float zc[KDTS__LIN_CHUNK], rc[KDTS__LIN_CHUNK];
            const float *W2 = m->params + m->off_w2;
            for (c0 = 0; c0 < D; c0 += KDTS__LIN_CHUNK) {
                int len = D - c0 < KDTS__LIN_CHUNK ? D - c0 : KDTS__LIN_CHUNK;
                kdts__lin_inputs(c, xb, c0, len, zc, zc, rc);
                for (o = 0; o < O; ++o) {
                    float s = kdts_vec_dot(W + (size_t)o * D + c0, zc, (size_t)len);
                    if (c->kind == KDTS_LINEAR_DLINEAR) s += kdts_vec_dot(W2 + (size_t)o * D + c0, rc, (size_t)len);
                    ob[o] += s;
                }
            }
        }
        if (c->subtract_last) {
            float l = xb[(size_t)(T - 1) * c->input + (c->input - 1 - c->target_rev)];
            for (o = 0; o < O; ++o) ob[o] += l;
        }
    }
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_linear_backward(kdts_linear *m, const float *x, int B, int T, const float *dout,
                                         float *dx, kdts_error *err)
{
    const kdts_linear_config *c;
    int D, O, F, b, o, c0;
    kdts_result r = kdts__lin_args(m, x, B, T, dout, err);
    if (r != KDTS_OK) return r;
    if (!m->grads) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model without gradients");
    c = &m->cfg;
    D = m->inputs;
    O = m->outputs;
    F = c->input;
    for (b = 0; b < B; ++b) {
        const float *xb = x + (size_t)b * D, *db = dout + (size_t)b * O;
        const float *W = m->params + m->off_w, *W2 = m->params + m->off_w2;
        float *gW = m->grads + m->off_w, *gb = m->grads + m->off_b;
        float *gW2 = m->grads + m->off_w2, *gb2 = m->grads + m->off_b2;
        /* d bias = dout */
        for (o = 0; o < O; ++o) gb[o] += db[o];
        if (c->kind == KDTS_LINEAR_DLINEAR)
            for (o = 0; o < O; ++o) gb2[o] += db[o];
        /* d W[o] += dout[o] * z (trend / remainder for DLinear) */
        if (c->kind == KDTS_LINEAR_NLINEAR && !c->subtract_last) {
            for (o = 0; o < O; ++o) kdts_vec_axpy(gW + (size_t)o * D, db[o], xb, (size_t)D);
        } else {
            float zc[KDTS__LIN_CHUNK], rc[KDTS__LIN_CHUNK];
            for (c0 = 0; c0 < D; c0 += KDTS__LIN_CHUNK) {
                int len = D - c0 < KDTS__LIN_CHUNK ? D - c0 : KDTS__LIN_CHUNK;
                kdts__lin_inputs(c, xb, c0, len, zc, zc, rc);
                for (o = 0; o < O; ++o) {
                    kdts_vec_axpy(gW + (size_t)o * D + c0, db[o], zc, (size_t)len);
                    if (c->kind == KDTS_LINEAR_DLINEAR) kdts_vec_axpy(gW2 + (size_t)o * D + c0, db[o], rc, (size_t)len);
                }
            }
        }
        if (dx) {
            float *dxb = dx + (size_t)b * D;
            memset(dxb, 0, (size_t)D * sizeof(float));
            if (c->kind == KDTS_LINEAR_NLINEAR) {
                /* dz = W^T dout */
                for (o = 0; o < O; ++o) kdts_vec_axpy(dxb, db[o], W + (size_t)o * D, (size_t)D);
            } else {
                /* dz = W_s^T dout + A^T (W_t - W_s)^T dout, g = (W_t - W_s)^T dout
                   in scratch. A^T g at step s sums g[t] over the steps whose
                   trend read x[s]: the window |t - s| <= p, plus at the
                   first step max(0, p - t) g[t] more for every t (the
                   repeated first value) and at the last step
                   max(0, t + p - (T-1)) g[t] more */
                float *g = m->scratch;
                double inv = 1.0 / (double)c->kernel;
                int p = (c->kernel - 1) / 2, t, f;
                memset(g, 0, (size_t)D * sizeof(float));
                for (o = 0; o < O; ++o) {
                    kdts_vec_axpy(dxb, db[o], W2 + (size_t)o * D, (size_t)D);
                    kdts_vec_axpy(g, db[o], W + (size_t)o * D, (size_t)D);
                    kdts_vec_axpy(g, -db[o], W2 + (size_t)o * D, (size_t)D);
                }
                for (f = 0; f < F; ++f) {
                    double win = 0.0, lo = 0.0, hi = 0.0;
                    for (t = 0; t < T && t <= p; ++t) win += (double)g[(size_t)t * F + f];
                    for (t = 0; t < T && t < p; ++t) lo += (double)(p - t) * g[(size_t)t * F + f];
                    for (t = T - 1; t >= 0 && t + p > T - 1; --t) hi += (double)(t + p - (T - 1)) * g[(size_t)t * F + f];
                    for (t = 0; t < T; ++t) {
                        double v = win;
                        if (t == 0) v += lo;
                        if (t == T - 1) v += hi;
                        dxb[(size_t)t * F + f] += (float)(v * inv);
                        /* slide the window [t-p, t+p] to [t+1-p, t+1+p] */
                        if (t + 1 + p <= T - 1) win += (double)g[(size_t)(t + 1 + p) * F + f];
                        if (t - p >= 0) win -= (double)g[(size_t)(t - p) * F + f];
                    }
                }
            }
            if (c->subtract_last) {
                /* z[t][f] = x[t][f] - x[T-1][f]; out += x[T-1][target] */
                float *lastrow = dxb + (size_t)(T - 1) * F, s = 0.0f;
                int t, f;
                for (f = 0; f < F; ++f) {
                    float cs = 0.0f;
                    for (t = 0; t < T; ++t) cs += dxb[(size_t)t * F + f];
                    lastrow[f] -= cs;
                }
                for (o = 0; o < O; ++o) s += db[o];
                lastrow[F - 1 - c->target_rev] += s;
            }
        }
    }
    return KDTS_OK;
}

/* ---- closed-form fit ---------------------------------------------------- */

static int kdts__lin_gram_cfg_ok(const kdts_linear_config *a, const kdts_linear_config *b)
{
    return a->input == b->input && a->lookback == b->lookback && a->horizon == b->horizon &&
           a->subtract_last == b->subtract_last && (!a->subtract_last || a->target_rev == b->target_rev);
}

/* z of window xw (T,F) into zd (D) in double, and its target y into yd (O). */
static void kdts__lin_zy(const kdts_linear_config *c, const float *xw, const float *yw, double *zd, double *yd)
{
    int T = c->lookback, F = c->input, O = c->horizon, D = T * F, i;
    const float *last = xw + (size_t)(T - 1) * F;
    double l = c->subtract_last ? (double)last[F - 1 - c->target_rev] : 0.0;
    for (i = 0; i < D; ++i) zd[i] = c->subtract_last ? (double)xw[i] - (double)last[i % F] : (double)xw[i];
    for (i = 0; i < O; ++i) yd[i] = (double)yw[i] - l;
}

KDTSDEF void kdts_linear_gram_free(kdts_linear_gram *g)
{
    if (!g) return;
    if (g->xmean) KDTS_FREE(g->xmean);
    memset(g, 0, sizeof *g);
}

/* Windows per block of the statistics pass. */
#define KDTS__LIN_NB 32

/* acc (4 x 4 tile, row stride lda) += sum over the nb rows w of
   za[w][0..3]^T zb[w][0..3] (row strides lza, lzb): one block's share of
   one tile of the second moments, fixed 4 x 4 so it stays in registers. */
static void kdts__lin_tile(double *KDTS__RESTRICT acc, size_t lda, const double *za, const double *zb, size_t lza,
                           size_t lzb, int nb)
{
    /* sixteen named accumulators: the rows i are kept in registers (and
       each row of four is one vector where the compiler vectorizes) */
    double s00 = 0.0, s01 = 0.0, s02 = 0.0, s03 = 0.0, s10 = 0.0, s11 = 0.0, s12 = 0.0, s13 = 0.0;
    double s20 = 0.0, s21 = 0.0, s22 = 0.0, s23 = 0.0, s30 = 0.0, s31 = 0.0, s32 = 0.0, s33 = 0.0;
    int w;
    for (w = 0; w < nb; ++w) {
        const double *pa = za + (size_t)w * lza, *pb = zb + (size_t)w * lzb;
        double a0 = pa[0], a1 = pa[1], a2 = pa[2], a3 = pa[3], b0 = pb[0], b1 = pb[1], b2 = pb[2], b3 = pb[3];
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
    }
    acc[0] += s00; acc[1] += s01; acc[2] += s02; acc[3] += s03;
    acc += lda;
    acc[0] += s10; acc[1] += s11; acc[2] += s12; acc[3] += s13;
    acc += lda;
    acc[0] += s20; acc[1] += s21; acc[2] += s22; acc[3] += s23;
    acc += lda;
    acc[0] += s30; acc[1] += s31; acc[2] += s32; acc[3] += s33;
}

KDTSDEF kdts_result kdts_linear_gram_init(kdts_linear_gram *g, const kdts_linear_config *cfg, const float *x,
                                          const float *y, long n, int y_steps, kdts_error *err)
{
    kdts_linear_gram t;
    kdts_result r;
    size_t D, O, D4, O4, total, bytes, sbytes, i, a, b;
    long w, w0;
    double *zd, *yd, *mem, *acc, *accy, *Zb, *Yb, inv;
    if (!g || !cfg || !x || !y) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "NULL argument");
    memset(&t, 0, sizeof t);
    t.cfg = *cfg;
    r = kdts_linear_config_check(&t.cfg, err);
    if (r != KDTS_OK) return r;
    if (t.cfg.mode != KDTS_MODE_POINT)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "the closed-form fit is for point mode only");
    if (n < 2 || y_steps < 1) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "need n >= 2 windows and y_steps >= 1");
    t.d = t.cfg.lookback * t.cfg.input;
    t.O = t.cfg.horizon;
    t.n = n;
    D = (size_t)t.d;
    O = (size_t)t.O;
    D4 = (D + 3) & ~(size_t)3;
    O4 = (O + 3) & ~(size_t)3;
    /* kept (one block): xmean D, ymean O, sxx D*D, sxy D*O, syy O;
       scratch (freed here): acc D4*D4, accy D4*O4, Zb NB*D4, Yb NB*O4 */
    if (!kdts__mul_ok(D, D + O, &total) || !kdts__add_ok(total, D + 2 * O, &total) ||
        !kdts__mul_ok(total, sizeof(double), &bytes) || !kdts__mul_ok(D4, D4 + O4, &sbytes) ||
        !kdts__add_ok(sbytes, (size_t)KDTS__LIN_NB * (D4 + O4), &sbytes) ||
        !kdts__mul_ok(sbytes, sizeof(double), &sbytes))
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "statistics size overflows");
    mem = (double *)KDTS_MALLOC(bytes);
    acc = mem ? (double *)KDTS_MALLOC(sbytes) : NULL;
    if (!mem || !acc) {
        if (mem) KDTS_FREE(mem);
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the %lu x %lu statistics", (unsigned long)D,
                          (unsigned long)D);
    }
    memset(mem, 0, bytes);
    memset(acc, 0, sbytes);
    t.xmean = mem;
    t.ymean = t.xmean + D;
    t.sxx = t.ymean + O;
    t.sxy = t.sxx + D * D;
    t.syy = t.sxy + D * O;
    accy = acc + D4 * D4;
    Zb = accy + D4 * O4;
    Yb = Zb + (size_t)KDTS__LIN_NB * D4;
    zd = Zb;
    yd = Yb;
    /* pass 1: means */
    for (w = 0; w < n; ++w) {
        const float *xw = x + (size_t)w * D, *yw = y + ((size_t)w * y_steps + (size_t)(y_steps - 1)) * O;
        kdts__lin_zy(&t.cfg, xw, yw, zd, yd);
        for (i = 0; i < D; ++i) t.xmean[i] += zd[i];
        for (i = 0; i < O; ++i) t.ymean[i] += yd[i];
    }
    for (i = 0; i < D; ++i) t.xmean[i] /= (double)n;
    for (i = 0; i < O; ++i) t.ymean[i] /= (double)n;
    for (i = 0; i < D + O; ++i)
        if (!(fabs(i < D ? t.xmean[i] : t.ymean[i - D]) < 1e300)) {
            KDTS_FREE(mem);
            KDTS_FREE(acc);
            return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0, "NaN or Inf in the training %s",
                              i < D ? "inputs" : "targets");
        }
    /* pass 2: centred products in blocks of NB windows (rows zero-padded
       to a multiple of 4 values), 4 x 4 tiles of the upper triangle */
    for (w0 = 0; w0 < n; w0 += KDTS__LIN_NB) {
        int nb = n - w0 < KDTS__LIN_NB ? (int)(n - w0) : KDTS__LIN_NB, k;
        for (k = 0; k < nb; ++k) {
            const float *xw = x + (size_t)(w0 + k) * D;
            const float *yw = y + ((size_t)(w0 + k) * y_steps + (size_t)(y_steps - 1)) * O;
            double *zr = Zb + (size_t)k * D4, *yr = Yb + (size_t)k * O4;
            kdts__lin_zy(&t.cfg, xw, yw, zr, yr);
            for (i = 0; i < D; ++i) zr[i] -= t.xmean[i];
            for (i = 0; i < O; ++i) {
                yr[i] -= t.ymean[i];
                t.syy[i] += yr[i] * yr[i];
            }
        }
        for (a = 0; a < D4; a += 4) {
            for (b = a; b < D4; b += 4) kdts__lin_tile(acc + a * D4 + b, D4, Zb + a, Zb + b, D4, D4, nb);
            for (b = 0; b < O4; b += 4) kdts__lin_tile(accy + a * O4 + b, O4, Zb + a, Yb + b, D4, O4, nb);
        }
    }
    inv = 1.0 / (double)n;
    for (a = 0; a < D; ++a) {
        for (b = a; b < D; ++b) t.sxx[a * D + b] = t.sxx[b * D + a] = acc[a * D4 + b] * inv;
        for (b = 0; b < O; ++b) t.sxy[a * O + b] = accy[a * O4 + b] * inv;
    }
    for (i = 0; i < O; ++i) t.syy[i] *= inv;
    KDTS_FREE(acc);
    *g = t;
    return KDTS_OK;
}

/* In place: the moving average (DLinear's trend operator A, edges padded by
   repeating the end values) of the vector v (D = T*F, index t*F+f) read
   with stride s, through tmp (T). A is applied per feature along t. */
static void kdts__lin_ma_d(double *v, size_t s, int T, int F, int kernel, double *tmp)
{
    int p = (kernel - 1) / 2, t, f, j;
    for (f = 0; f < F; ++f) {
        for (t = 0; t < T; ++t) {
            double acc = 0.0;
            for (j = t - p; j <= t + p; ++j) {
                int u = j < 0 ? 0 : (j > T - 1 ? T - 1 : j);
                acc += v[((size_t)u * F + f) * s];
            }
            tmp[t] = acc / kernel;
        }
        for (t = 0; t < T; ++t) v[((size_t)t * F + f) * s] = tmp[t];
    }
}

/* sum a[k] b[k] in double, four partial sums (a fixed order). */
static double kdts__dot_d(const double *a, const double *b, size_t n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; ++k) s0 += a[k] * b[k];
    return (s0 + s1) + (s2 + s3);
}

/* In place, the Cholesky factor L (lower triangle, row-major, stride N) of
   the symmetric S + lambda I (lower triangle read). Returns 0, or 1 when a
   pivot is not above 1e-13 of the largest diagonal element (not positive
   definite to working precision). */
static int kdts__chol(double *S, size_t N, double lambda)
{
    size_t i, j;
    double dmax = 0.0;
    for (i = 0; i < N; ++i)
        if (S[i * N + i] + lambda > dmax) dmax = S[i * N + i] + lambda;
    for (i = 0; i < N; ++i) {
        double *ri = S + i * N, s;
        for (j = 0; j < i; ++j) {
            const double *rj = S + j * N;
            ri[j] = (ri[j] - kdts__dot_d(ri, rj, j)) / rj[j];
        }
        s = ri[i] + lambda - kdts__dot_d(ri, ri, i);
        if (!(s > 1e-13 * dmax)) return 1;
        ri[i] = sqrt(s);
    }
    return 0;
}

/* R (N x O) := (L L^T)^-1 R for the factor L of kdts__chol. */
static void kdts__chol_solve(const double *L, double *R, size_t N, size_t O)
{
    size_t i, k, o;
    for (i = 0; i < N; ++i) {
        const double *li = L + i * N;
        double *yi = R + i * O;
        for (k = 0; k < i; ++k) {
            double l = li[k];
            const double *yk = R + k * O;
            if (l != 0.0)
                for (o = 0; o < O; ++o) yi[o] -= l * yk[o];
        }
        for (o = 0; o < O; ++o) yi[o] /= li[i];
    }
    for (i = N; i-- > 0;) {
        double *xi = R + i * O;
        for (k = i + 1; k < N; ++k) {
            double l = L[k * N + i];
            const double *xk = R + k * O;
            if (l != 0.0)
                for (o = 0; o < O; ++o) xi[o] -= l * xk[o];
        }
        for (o = 0; o < O; ++o) xi[o] /= L[i * N + i];
    }
}

/* What the ridge solves of one model shape share, so that fitting many
   lambdas repeats only a factorization.
   NLinear (and DLinear at lambda 0): the inputs with variance above 1e-12
   of the largest (idx[0..nk)), and per solve the nk x nk system
   (sxx + lambda I) W^T = sxy restricted to them.
   DLinear at lambda > 0: the regressors are z = M x, M = [A; I - A] (2D
   of them), and the ridge solution in z is w = (M S M^T + lambda I)^-1 M c
   (S = sxx, c = sxy) = M (S Q + lambda I)^-1 c with Q = M^T M = A^T A +
   (I - A)^T (I - A), positive definite (Mv = 0 needs Av = 0 and v = Av).
   With Q = L L^T and u = L^-T v that is the symmetric D x D system
   (L^T S L + lambda I) v = L^T c: L, P = L^T S L and L^T c are computed
   once, each lambda factors P + lambda I; then W_t^T = A u, W_s^T = u - A u.
   Half the size of the 2D system in (trend, remainder), so an eighth of
   its factorization. */
typedef struct kdts__lin_solver {
    size_t D, O, nk;
    int T, F, kernel, dl;
    double *mem;
    size_t *idx;          /* (nk) kept inputs (NLinear path)              */
    double *S, *R;        /* (D,D), (D,O) factor and right-hand side      */
    double *L, *P, *c;    /* DLinear: (D,D), (D,D), (D,O)                 */
    double *au;           /* DLinear: (D,O) A u                           */
    double *zt, *zs, *tmp; /* DLinear: mean trend and remainder (D), (T)  */
} kdts__lin_solver;

static void kdts__lin_solver_free(kdts__lin_solver *s)
{
    if (s->mem) KDTS_FREE(s->mem);
    s->mem = NULL;
}

static kdts_result kdts__lin_solver_init(kdts__lin_solver *s, const kdts_linear_gram *g, const kdts_linear *m,
                                         kdts_error *err)
{
    size_t D = (size_t)g->d, O = (size_t)g->O, i, j, k, nd, bytes;
    double vmax = 0.0;
    memset(s, 0, sizeof *s);
    if (!g->sxx || !m->params) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "NULL statistics or model");
    if (m->cfg.mode != KDTS_MODE_POINT || !kdts__lin_gram_cfg_ok(&g->cfg, &m->cfg))
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "the statistics were built for another shape or mode");
    s->D = D;
    s->O = O;
    s->T = g->cfg.lookback;
    s->F = g->cfg.input;
    s->kernel = m->cfg.kernel;
    s->dl = m->cfg.kind == KDTS_LINEAR_DLINEAR;
    /* S, R, idx (as doubles); DLinear adds L, P, c, au, zt, zs, tmp */
    if (!kdts__mul_ok(D, D + O + 1, &nd) ||
        (s->dl && !kdts__add_ok(nd, 2 * D * D + 2 * D * O + 2 * D + (size_t)s->T, &nd)) ||
        !kdts__mul_ok(nd, sizeof(double), &bytes))
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "solver size overflows");
    s->mem = (double *)KDTS_MALLOC(bytes);
    if (!s->mem)
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the %lu x %lu system", (unsigned long)D,
                          (unsigned long)D);
    s->S = s->mem;
    s->R = s->S + D * D;
    s->idx = (size_t *)(void *)(s->R + D * O);
    for (i = 0; i < D; ++i)
        if (g->sxx[i * D + i] > vmax) vmax = g->sxx[i * D + i];
    for (i = 0; i < D; ++i)
        if (vmax > 0.0 && g->sxx[i * D + i] > 1e-12 * vmax) s->idx[s->nk++] = i;
    if (s->dl) {
        double *A = s->S, *T1 = s->S; /* S serves as scratch while preparing */
        int T = s->T, F = s->F;
        s->L = (double *)(s->idx) + D;
        s->P = s->L + D * D;
        s->c = s->P + D * D;
        s->au = s->c + D * O;
        s->zt = s->au + D * O;
        s->zs = s->zt + D;
        s->tmp = s->zs + D;
        /* A: the moving average of every unit vector (column j = A e_j) */
        memset(A, 0, D * D * sizeof(double));
        for (j = 0; j < D; ++j) {
            A[j * D + j] = 1.0;
            kdts__lin_ma_d(A + j, D, T, F, s->kernel, s->tmp);
        }
        /* Q = 2 A^T A - A - A^T + I into L (A's rows are sparse) */
        memset(s->L, 0, D * D * sizeof(double));
        for (k = 0; k < D; ++k) {
            const double *ak = A + k * D;
            for (i = 0; i < D; ++i) {
                double a = ak[i];
                double *qi = s->L + i * D;
                if (a == 0.0) continue;
                for (j = 0; j < D; ++j) qi[j] += 2.0 * a * ak[j];
            }
        }
        for (i = 0; i < D; ++i) {
            for (j = 0; j < D; ++j) s->L[i * D + j] -= A[i * D + j] + A[j * D + i];
            s->L[i * D + i] += 1.0;
        }
        if (kdts__chol(s->L, D, 0.0)) {
            kdts__lin_solver_free(s);
            return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "moving-average operator not invertible");
        }
        for (i = 0; i < D; ++i)
            for (j = i + 1; j < D; ++j) s->L[i * D + j] = 0.0;
        /* mean trend and remainder */
        memcpy(s->zt, g->xmean, D * sizeof(double));
        kdts__lin_ma_d(s->zt, 1, T, F, s->kernel, s->tmp);
        for (i = 0; i < D; ++i) s->zs[i] = g->xmean[i] - s->zt[i];
        /* T1 = S L (S = sxx, full), then P = L^T T1 (lower triangle) */
        memset(T1, 0, D * D * sizeof(double));
        for (i = 0; i < D; ++i) {
            const double *si = g->sxx + i * D;
            double *ti = T1 + i * D;
            for (k = 0; k < D; ++k) {
                double v = si[k];
                const double *lk = s->L + k * D;
                for (j = 0; j <= k; ++j) ti[j] += v * lk[j];
            }
        }
        memset(s->P, 0, D * D * sizeof(double));
        for (k = 0; k < D; ++k) {
            const double *lk = s->L + k * D, *tk = T1 + k * D;
            for (i = 0; i <= k; ++i) {
                double l = lk[i];
                double *pi = s->P + i * D;
                if (l == 0.0) continue;
                for (j = 0; j <= i; ++j) pi[j] += l * tk[j];
            }
        }
        /* c = L^T sxy */
        memset(s->c, 0, D * O * sizeof(double));
        for (k = 0; k < D; ++k) {
            const double *lk = s->L + k * D, *yk = g->sxy + k * O;
            for (i = 0; i <= k; ++i) {
                double l = lk[i], *ci = s->c + i * O;
                size_t o;
                if (l == 0.0) continue;
                for (o = 0; o < O; ++o) ci[o] += l * yk[o];
            }
        }
    }
    return KDTS_OK;
}

/* Solve for one lambda into m (params untouched on failure). */
static kdts_result kdts__lin_solver_run(kdts__lin_solver *s, const kdts_linear_gram *g, kdts_linear *m, double lambda,
                                        kdts_error *err)
{
    size_t D = s->D, O = s->O, nk = s->nk, i, j, o;
    float *W = m->params + m->off_w, *b = m->params + m->off_b;
    if (!(lambda >= 0.0) || !(lambda < 1e300))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "lambda must be >= 0 and finite");
    if (!s->dl || lambda == 0.0) {
        /* the kept inputs' system; DLinear at lambda 0: W_t = W_s = W */
        for (i = 0; i < nk; ++i) {
            for (j = 0; j <= i; ++j) s->S[i * nk + j] = g->sxx[s->idx[i] * D + s->idx[j]];
            for (o = 0; o < O; ++o) s->R[i * O + o] = g->sxy[s->idx[i] * O + o];
        }
        if (nk == 0 || kdts__chol(s->S, nk, lambda))
            return kdts__fail(err, KDTS_ERR_DATA, 0, 0,
                              "the training inputs are linearly dependent: no least-squares solution at lambda %g "
                              "(use lambda > 0)",
                              lambda);
        kdts__chol_solve(s->S, s->R, nk, O);
        for (i = 0; i < nk * O; ++i)
            if (!(fabs(s->R[i]) < 1e30))
                return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0, "the solution is not finite (lambda %g)", lambda);
        for (o = 0; o < O; ++o) {
            double bs = g->ymean[o];
            float *wo = W + o * D;
            for (i = 0; i < D; ++i) wo[i] = 0.0f;
            for (i = 0; i < nk; ++i) {
                wo[s->idx[i]] = (float)s->R[i * O + o];
                bs -= s->R[i * O + o] * g->xmean[s->idx[i]];
            }
            b[o] = (float)bs;
        }
        if (s->dl) {
            float *W2 = m->params + m->off_w2, *b2 = m->params + m->off_b2;
            memcpy(W2, W, D * O * sizeof(float));
            for (o = 0; o < O; ++o) b2[o] = 0.0f;
        }
        return KDTS_OK;
    }
    /* DLinear, lambda > 0: (P + lambda I) v = c, u = L^-T v, W_t^T = A u,
       W_s^T = u - A u, b_t = ymean - W_t zt - W_s zs, b_s = 0 */
    {
        double *u = s->R, *au = s->au;
        float *W2 = m->params + m->off_w2, *b2 = m->params + m->off_b2;
        for (i = 0; i < D; ++i)
            for (j = 0; j <= i; ++j) s->S[i * D + j] = s->P[i * D + j];
        memcpy(u, s->c, D * O * sizeof(double));
        if (kdts__chol(s->S, D, lambda))
            return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "the ridge system is not positive definite at lambda %g",
                              lambda);
        kdts__chol_solve(s->S, u, D, O);
        for (i = D; i-- > 0;) {
            double *ui = u + i * O, d = s->L[i * D + i];
            for (j = i + 1; j < D; ++j) {
                double l = s->L[j * D + i];
                const double *uj = u + j * O;
                if (l != 0.0)
                    for (o = 0; o < O; ++o) ui[o] -= l * uj[o];
            }
            for (o = 0; o < O; ++o) ui[o] /= d;
        }
        memcpy(au, u, D * O * sizeof(double));
        for (o = 0; o < O; ++o) kdts__lin_ma_d(au + o, O, s->T, s->F, s->kernel, s->tmp);
        for (i = 0; i < D * O; ++i)
            if (!(fabs(u[i]) < 1e30) || !(fabs(au[i]) < 1e30))
                return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0, "the solution is not finite (lambda %g)", lambda);
        for (o = 0; o < O; ++o) {
            double bs = g->ymean[o];
            for (i = 0; i < D; ++i) {
                double wt = au[i * O + o], ws = u[i * O + o] - au[i * O + o];
                W[o * D + i] = (float)wt;
                W2[o * D + i] = (float)ws;
                bs -= wt * s->zt[i] + ws * s->zs[i];
            }
            b[o] = (float)bs;
            b2[o] = 0.0f;
        }
    }
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_linear_gram_solve(const kdts_linear_gram *g, kdts_linear *m, double lambda,
                                           kdts_error *err)
{
    kdts__lin_solver s;
    kdts_result r;
    if (!g || !m) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "NULL statistics or model");
    if (!(lambda >= 0.0) || !(lambda < 1e300))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "lambda must be >= 0 and finite");
    r = kdts__lin_solver_init(&s, g, m, err);
    if (r != KDTS_OK) return r;
    r = kdts__lin_solver_run(&s, g, m, lambda, err);
    kdts__lin_solver_free(&s);
    return r;
}

KDTSDEF kdts_result kdts_linear_fit(kdts_linear *m, const float *x, const float *y, long n, int y_steps,
                                    double lambda, kdts_error *err)
{
    kdts_linear_gram g;
    kdts_result r;
    if (!m) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "NULL model");
    memset(&g, 0, sizeof g);
    r = kdts_linear_gram_init(&g, &m->cfg, x, y, n, y_steps, err);
    if (r != KDTS_OK) return r;
    r = kdts_linear_gram_solve(&g, m, lambda, err);
    kdts_linear_gram_free(&g);
    return r;
}

/* Windows forecast at a time by the validation of kdts_linear_fit_select. */
#define KDTS__LIN_VAL_BATCH 64

KDTSDEF kdts_result kdts_linear_fit_select(kdts_linear *m, const kdts_linear_gram *g, const float *xv,
                                           const float *yv, long nv, int y_steps, const double *lambdas, int nl,
                                           double *val_mse, double *best_lambda, kdts_error *err)
{
    double grid[16], best = -1.0, bestl = 0.0;
    float *out;
    size_t O, D;
    int k, found = 0;
    kdts_result r;
    kdts__lin_solver s;
    if (!m || !g || !g->sxx || !xv || !yv) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "NULL argument");
    if (nv < 1 || y_steps < 1) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "need nv >= 1 and y_steps >= 1");
    if (!lambdas) {
        grid[0] = 0.0;
        for (k = 1; k < 16; ++k) grid[k] = pow(10.0, (k - 11) * 0.5);
        lambdas = grid;
        nl = 16;
    }
    if (nl < 1) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no lambda to try");
    for (k = 0; k < nl; ++k)
        if (!(lambdas[k] >= 0.0) || !(lambdas[k] < 1e300))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "lambda %d must be >= 0 and finite", k);
    r = kdts__lin_solver_init(&s, g, m, err);
    if (r != KDTS_OK) return r;
    O = (size_t)m->outputs;
    D = (size_t)m->inputs;
    out = kdts__falloc(O * KDTS__LIN_VAL_BATCH);
    if (!out) {
        kdts__lin_solver_free(&s);
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the validation forecasts");
    }
    for (k = 0; k < nl; ++k) {
        double se = 0.0, mse;
        long w0;
        if (kdts__lin_solver_run(&s, g, m, lambdas[k], NULL) != KDTS_OK) {
            if (val_mse) val_mse[k] = -1.0;
            continue;
        }
        for (w0 = 0; w0 < nv; w0 += KDTS__LIN_VAL_BATCH) {
            int nb = nv - w0 < KDTS__LIN_VAL_BATCH ? (int)(nv - w0) : KDTS__LIN_VAL_BATCH, b;
            size_t o;
            kdts_linear_forward(m, xv + (size_t)w0 * D, nb, m->cfg.lookback, out, NULL);
            for (b = 0; b < nb; ++b) {
                const float *yw = yv + ((size_t)(w0 + b) * y_steps + (size_t)(y_steps - 1)) * O;
                for (o = 0; o < O; ++o) {
                    double e = (double)out[(size_t)b * O + o] - (double)yw[o];
                    se += e * e;
                }
            }
        }
        mse = se / ((double)nv * (double)O);
        if (val_mse) val_mse[k] = mse;
        if (!(mse < 1e300)) continue;
        if (!found || mse < best) {
            best = mse;
            bestl = lambdas[k];
            found = 1;
        }
    }
    kdts__free_aligned(out);
    if (!found) {
        kdts__lin_solver_free(&s);
        return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "no lambda gave a solution");
    }
    r = kdts__lin_solver_run(&s, g, m, bestl, err);
    kdts__lin_solver_free(&s);
    if (r != KDTS_OK) return r;
    if (best_lambda) *best_lambda = bestl;
    return KDTS_OK;
}

/* ---- seasonal period ---------------------------------------------------- */

KDTSDEF kdts_result kdts_season_detect(const float *x, long n, int min_period, int max_period, int *period,
                                       float *strength, kdts_error *err)
{
    double *d, *r, mean = 0.0, den = 0.0, bsum, bestr = 0.0;
    unsigned char *cand;
    long m, t;
    int k, best = 0;
    if (!x || !period) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "NULL series or period");
    if (min_period < 2 || max_period < min_period || n < 6 || (long)max_period > (n - 2) / 2)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "periods must satisfy 2 <= min_period (%d) <= max_period (%d) <= (n-2)/2 = %ld", min_period,
                          max_period, n < 2 ? 0L : (n - 2) / 2);
    for (t = 0; t < n; ++t)
        if (!kdts__isfinite(x[t])) return kdts__fail(err, KDTS_ERR_NONFINITE, t + 1, 0, "NaN or Inf at index %ld", t);
    m = n - 1;
    d = (double *)KDTS_MALLOC(((size_t)m + 2 * (size_t)max_period + 4) * sizeof(double));
    if (!d) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for %ld differences", m);
    r = d + m;
    cand = (unsigned char *)(r + max_period + 2);
    for (t = 0; t < m; ++t) {
        d[t] = (double)x[t + 1] - (double)x[t];
        mean += d[t];
    }
    mean /= (double)m;
    for (t = 0; t < m; ++t) {
        d[t] -= mean;
        den += d[t] * d[t];
    }
    if (!(den > 0.0)) {
        /* a straight line: no season */
        KDTS_FREE(d);
        *period = 0;
        if (strength) *strength = 0.0f;
        return KDTS_OK;
    }
    for (k = 0; k <= max_period + 1; ++k) {
        double s = 0.0;
        for (t = 0; t + k < m; ++t) s += d[t] * d[t + k];
        r[k] = s / den;
    }
    /* candidates (marked in cand[k]); Bartlett's variance uses r(1..P-1) */
    bsum = 0.0;
    for (k = 1; k < min_period; ++k) bsum += r[k] * r[k];
    for (k = min_period; k <= max_period; ++k) {
        double se = sqrt((1.0 + 2.0 * bsum) / (double)m);
        cand[k] = r[k] > r[k - 1] && r[k] >= r[k + 1] && r[k] > 0.1 && r[k] > 3.0 * se;
        if (cand[k] && (!best || r[k] > bestr)) {
            best = k;
            bestr = r[k];
        }
        bsum += r[k] * r[k];
    }
    if (best) {
        /* the smallest candidate nearly as strong as the winner that the
           winner is a multiple of (within one step per multiple) is the
           period, the winner its harmonic */
        int win = best, q, bq, M;
        double bs = -2.0;
        for (k = min_period; k < win; ++k) {
            int mlt = (win + k / 2) / k;
            if (!cand[k] || r[k] < 0.8 * r[win] || mlt < 2) continue;
            if (win - mlt * k <= mlt && mlt * k - win <= mlt) {
                /* a true period repeats: its multiples below the winner
                   keep at least half its correlation (within one step) */
                int j, ok = 1;
                for (j = 2; j < mlt && ok; ++j) {
                    int l = j * k;
                    double rr = r[l];
                    if (r[l - 1] > rr) rr = r[l - 1];
                    if (r[l + 1] > rr) rr = r[l + 1];
                    ok = rr >= 0.5 * r[k];
                }
                if (!ok) continue;
                best = k;
                break;
            }
        }
        /* refine by one step: the lag whose multiples (up to max_period,
           the same count for the three) have the highest mean r */
        M = max_period / (best + 1);
        if (M < 1) M = 1;
        bq = best;
        for (q = best - 1; q <= best + 1; ++q) {
            double s = 0.0;
            int mm;
            if (q < min_period || q > max_period) continue;
            for (mm = 1; mm <= M; ++mm) s += r[mm * q];
            if (s > bs) {
                bs = s;
                bq = q;
            }
        }
        best = bq;
        bestr = r[best];
    }
    KDTS_FREE(d);
    *period = best;
    if (strength) *strength = (float)bestr;
    return KDTS_OK;
}

/* ======================================================================== */
/* >>net                                                                    */
/* ======================================================================== */

KDTSDEF const char *kdts_kind_name(kdts_kind kind)
{
    switch (kind) {
    case KDTS_KIND_LSTM: return "lstm";
    case KDTS_KIND_GRU: return "gru";
    case KDTS_KIND_ATTN: return "attn";
    case KDTS_KIND_LINEAR: return "linear";
    default: return "?";
    }
}

KDTSDEF char *kdts_net_describe(const kdts_net_config *c, char *buf, size_t cap)
{
    kdts__msg m;
    size_t n;
    kdts__msg_init(&m);
    switch (c->kind) {
    case KDTS_KIND_LSTM: kdts__msg_fmt(&m, "LSTM %dx%d", c->layers, c->hidden); break;
    case KDTS_KIND_GRU: kdts__msg_fmt(&m, "GRU %dx%d", c->layers, c->hidden); break;
    case KDTS_KIND_ATTN:
        kdts__msg_fmt(&m, "attention d%d %d block%s %d head%s ff %d%s", c->d_model, c->blocks, c->blocks == 1 ? "" : "s",
                      c->heads, c->heads == 1 ? "" : "s", c->ff, c->activation == KDTS_ATTN_RELU ? " relu" : "");
        break;
    case KDTS_KIND_LINEAR:
        if (c->linear == KDTS_LINEAR_DLINEAR) kdts__msg_fmt(&m, "DLinear k%d", c->kernel);
        else kdts__msg_str(&m, "NLinear");
        break;
    default: kdts__msg_fmt(&m, "kind %d", (int)c->kind); break;
    }
    if (c->skip) kdts__msg_str(&m, " + skip");
    if (c->mode == KDTS_MODE_DIST) kdts__msg_fmt(&m, " dist %d bins", c->bins);
    if (!buf || cap == 0) return buf;
    n = m.n < cap - 1 ? m.n : cap - 1;
    memcpy(buf, m.buf, n);
    buf[n] = 0;
    return buf;
}

/* The kind's own configuration, from the net's (and back, with the
   kind's defaults). */
/* LSTM and GRU configurations have the same fields. */
#define KDTS__RNN_FROM_NET(c, o)                                                                   \
    do {                                                                                           \
        memset((o), 0, sizeof *(o));                                                               \
        (o)->input = (c)->input;                                                                   \
        (o)->hidden = (c)->hidden;                                                                 \
        (o)->layers = (c)->layers;                                                                 \
        (o)->horizon = (c)->horizon;                                                               \
        (o)->mode = (c)->mode;                                                                     \
        (o)->bins = (c)->bins;                                                                     \
        (o)->bin_lo = (c)->bin_lo;                                                                 \
        (o)->bin_hi = (c)->bin_hi;                                                                 \
        (o)->dropout = (c)->dropout;                                                               \
    } while (0)

static void kdts__net_to_lstm(const kdts_net_config *c, kdts_lstm_config *o) { KDTS__RNN_FROM_NET(c, o); }

static void kdts__net_to_gru(const kdts_net_config *c, kdts_gru_config *o) { KDTS__RNN_FROM_NET(c, o); }

static void kdts__net_to_attn(const kdts_net_config *c, kdts_attn_config *o)
{
    memset(o, 0, sizeof *o);
    o->input = c->input;
    o->d_model = c->d_model;
    o->heads = c->heads;
    o->ff = c->ff;
    o->blocks = c->blocks;
    o->activation = (kdts_attn_act)c->activation;
    o->final_norm = c->final_norm;
    o->max_steps = c->max_steps;
    o->horizon = c->horizon;
    o->mode = c->mode;
    o->bins = c->bins;
    o->bin_lo = c->bin_lo;
    o->bin_hi = c->bin_hi;
    o->dropout = c->dropout;
}

static void kdts__net_to_linear(const kdts_net_config *c, kdts_linear_config *o)
{
    memset(o, 0, sizeof *o);
    o->input = c->input;
    o->lookback = c->lookback;
    o->horizon = c->horizon;
    o->mode = c->mode;
    o->bins = c->bins;
    o->bin_lo = c->bin_lo;
    o->bin_hi = c->bin_hi;
    o->kind = (kdts_linear_kind)c->linear;
    o->kernel = c->kernel;
    o->subtract_last = c->subtract_last;
    o->target_rev = c->target_rev;
}

/* The skip map's inputs (T*F) and outputs (O) of a checked config. */
static size_t kdts__net_skip_count(const kdts_net_config *c)
{
    size_t D = (size_t)c->lookback * (size_t)c->input, O = (size_t)c->horizon;
    if (!c->skip) return 0;
    return (D + 1) * O;
}

KDTSDEF kdts_result kdts_net_config_check(kdts_net_config *c, kdts_error *err)
{
    kdts_result r;
    if ((unsigned)c->kind >= (unsigned)KDTS_KIND_COUNT)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "unknown model kind %d", (int)c->kind);
    switch (c->kind) {
    case KDTS_KIND_LSTM: {
        kdts_lstm_config o;
        kdts__net_to_lstm(c, &o);
        if ((r = kdts_lstm_config_check(&o, err)) != KDTS_OK) return r;
        c->input = o.input, c->hidden = o.hidden, c->layers = o.layers, c->horizon = o.horizon;
        c->bins = o.bins, c->bin_lo = o.bin_lo, c->bin_hi = o.bin_hi;
        break;
    }
    case KDTS_KIND_GRU: {
        kdts_gru_config o;
        kdts__net_to_gru(c, &o);
        if ((r = kdts_gru_config_check(&o, err)) != KDTS_OK) return r;
        c->input = o.input, c->hidden = o.hidden, c->layers = o.layers, c->horizon = o.horizon;
        c->bins = o.bins, c->bin_lo = o.bin_lo, c->bin_hi = o.bin_hi;
        break;
    }
    case KDTS_KIND_ATTN: {
        kdts_attn_config o;
        kdts__net_to_attn(c, &o);
        if ((r = kdts_attn_config_check(&o, err)) != KDTS_OK) return r;
        c->input = o.input, c->d_model = o.d_model, c->heads = o.heads, c->ff = o.ff, c->blocks = o.blocks;
        c->activation = (int)o.activation, c->final_norm = o.final_norm, c->max_steps = o.max_steps;
        c->horizon = o.horizon, c->bins = o.bins, c->bin_lo = o.bin_lo, c->bin_hi = o.bin_hi;
        break;
    }
    default: {
        kdts_linear_config o;
        if (c->skip) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "a linear model has no linear skip");
        if (c->dropout != 0.0f) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "a linear model has no dropout");
        kdts__net_to_linear(c, &o);
        if ((r = kdts_linear_config_check(&o, err)) != KDTS_OK) return r;
        c->input = o.input, c->lookback = o.lookback, c->horizon = o.horizon;
        c->bins = o.bins, c->bin_lo = o.bin_lo, c->bin_hi = o.bin_hi;
        c->linear = (int)o.kind, c->kernel = o.kernel, c->subtract_last = o.subtract_last, c->target_rev = o.target_rev;
        break;
    }
    }
    if (c->skip != 0 && c->skip != 1) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "skip must be 0 or 1");
    if (c->skip) {
        if (c->mode != KDTS_MODE_POINT) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "the linear skip needs point mode");
        if (c->lookback < 1 || c->lookback > KDTS_MAX_DIM)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "the linear skip needs the lookback (1..%d), got %d",
                              KDTS_MAX_DIM, c->lookback);
        if ((double)c->lookback * c->input * c->horizon > 256.0 * KDTS_MAX_DIM * 64)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "the linear skip map is too large");
    }
    return KDTS_OK;
}

static size_t kdts__net_kind_count(const kdts_net_config *c)
{
    switch (c->kind) {
    case KDTS_KIND_LSTM: {
        kdts_lstm_config o;
        kdts__net_to_lstm(c, &o);
        return kdts_lstm_param_count(&o);
    }
    case KDTS_KIND_GRU: {
        kdts_gru_config o;
        kdts__net_to_gru(c, &o);
        return kdts_gru_param_count(&o);
    }
    case KDTS_KIND_ATTN: {
        kdts_attn_config o;
        kdts__net_to_attn(c, &o);
        return kdts_attn_param_count(&o);
    }
    case KDTS_KIND_LINEAR: {
        kdts_linear_config o;
        kdts__net_to_linear(c, &o);
        return kdts_linear_param_count(&o);
    }
    default: return 0;
    }
}

KDTSDEF size_t kdts_net_param_count(const kdts_net_config *cfg)
{
    kdts_net_config c;
    size_t n;
    if (!cfg) return 0;
    c = *cfg;
    if (kdts_net_config_check(&c, NULL) != KDTS_OK) return 0;
    n = kdts__net_kind_count(&c);
    return n ? n + kdts__net_skip_count(&c) : 0;
}

static double kdts__net_kind_flops(const kdts_net_config *cfg, int T, int forecast)
{
    kdts_net_config c = *cfg;
    if (kdts_net_config_check(&c, NULL) != KDTS_OK) return 0.0;
    switch (c.kind) {
    case KDTS_KIND_LSTM: {
        kdts_lstm_config o;
        kdts__net_to_lstm(&c, &o);
        return forecast ? kdts_lstm_forecast_flops(&o, T) : kdts_lstm_flops(&o, T);
    }
    case KDTS_KIND_GRU: {
        kdts_gru_config o;
        kdts__net_to_gru(&c, &o);
        return forecast ? kdts_gru_forecast_flops(&o, T) : kdts_gru_flops(&o, T);
    }
    case KDTS_KIND_ATTN: {
        kdts_attn_config o;
        kdts__net_to_attn(&c, &o);
        return forecast ? kdts_attn_forecast_flops(&o, T) : kdts_attn_flops(&o, T);
    }
    default: {
        kdts_linear_config o;
        kdts__net_to_linear(&c, &o);
        return kdts_linear_flops(&o);
    }
    }
}

KDTSDEF double kdts_net_flops(const kdts_net_config *cfg, int T)
{
    double f = cfg ? kdts__net_kind_flops(cfg, T, 0) : 0.0;
    if (f > 0 && cfg->skip) f += 2.0 * cfg->lookback * cfg->input * cfg->horizon + 2.0 * cfg->horizon;
    return f;
}

KDTSDEF double kdts_net_forecast_flops(const kdts_net_config *cfg, int T)
{
    double f = cfg ? kdts__net_kind_flops(cfg, T, 1) : 0.0;
    if (f > 0 && cfg->skip) f += 2.0 * cfg->lookback * cfg->input * cfg->horizon + 2.0 * cfg->horizon;
    return f;
}

KDTSDEF int kdts_net_steps(const kdts_net_config *cfg, int T) { return cfg->kind == KDTS_KIND_LINEAR ? 1 : T; }

/* Point the net at its kind's buffers (no skip) or move them into one
   buffer with the skip map after them. */
static kdts_result kdts__net_adopt(kdts_net *net, float **kp, float **kg, size_t nk, kdts_error *err)
{
    size_t ns = kdts__net_skip_count(&net->cfg);
    net->off_skip = nk;
    net->nparams = nk + ns;
    if (ns) {
        float *p = kdts__falloc(net->nparams), *g = kdts__falloc(net->nparams);
        if (!p || !g) {
            kdts__free_aligned(p);
            kdts__free_aligned(g);
            return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for %lu parameters",
                              (unsigned long)net->nparams);
        }
        memcpy(p, *kp, nk * sizeof(float));
        memset(p + nk, 0, ns * sizeof(float));
        memset(g, 0, net->nparams * sizeof(float));
        kdts__free_aligned(*kp);
        kdts__free_aligned(*kg);
        *kp = p;
        *kg = g;
    }
    net->params = *kp;
    net->grads = *kg;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_net_init(kdts_net *net, const kdts_net_config *cfg, unsigned long long seed,
                                  kdts_error *err)
{
    kdts_net t;
    kdts_result r;
    memset(net, 0, sizeof *net);
    if (!cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no model configuration");
    memset(&t, 0, sizeof t);
    t.cfg = *cfg;
    if ((r = kdts_net_config_check(&t.cfg, err)) != KDTS_OK) return r;
    t.owned = 1;
    switch (t.cfg.kind) {
    case KDTS_KIND_LSTM: {
        kdts_lstm_config o;
        kdts__net_to_lstm(&t.cfg, &o);
        if ((r = kdts_lstm_init(&t.k.lstm, &o, seed, err)) != KDTS_OK) return r;
        t.outputs = t.k.lstm.outputs;
        r = kdts__net_adopt(&t, &t.k.lstm.params, &t.k.lstm.grads, t.k.lstm.nparams, err);
        if (r != KDTS_OK) kdts_lstm_free(&t.k.lstm);
        break;
    }
    case KDTS_KIND_GRU: {
        kdts_gru_config o;
        kdts__net_to_gru(&t.cfg, &o);
        if ((r = kdts_gru_init(&t.k.gru, &o, seed, err)) != KDTS_OK) return r;
        t.outputs = t.k.gru.outputs;
        r = kdts__net_adopt(&t, &t.k.gru.params, &t.k.gru.grads, t.k.gru.nparams, err);
        if (r != KDTS_OK) kdts_gru_free(&t.k.gru);
        break;
    }
    case KDTS_KIND_ATTN: {
        kdts_attn_config o;
        kdts__net_to_attn(&t.cfg, &o);
        if ((r = kdts_attn_init(&t.k.attn, &o, seed, err)) != KDTS_OK) return r;
        t.outputs = t.k.attn.outputs;
        r = kdts__net_adopt(&t, &t.k.attn.params, &t.k.attn.grads, t.k.attn.nparams, err);
        if (r != KDTS_OK) kdts_attn_free(&t.k.attn);
        break;
    }
    default: {
        kdts_linear_config o;
        kdts__net_to_linear(&t.cfg, &o);
        if ((r = kdts_linear_init(&t.k.linear, &o, seed, err)) != KDTS_OK) return r;
        t.outputs = t.k.linear.outputs;
        r = kdts__net_adopt(&t, &t.k.linear.params, &t.k.linear.grads, t.k.linear.nparams, err);
        if (r != KDTS_OK) kdts_linear_free(&t.k.linear);
        break;
    }
    }
    if (r != KDTS_OK) return r;
    *net = t;
    return KDTS_OK;
}

KDTSDEF void kdts_net_reset(kdts_net *net, unsigned long long seed)
{
    switch (net->cfg.kind) {
    case KDTS_KIND_LSTM: kdts_lstm_reset(&net->k.lstm, seed); break;
    case KDTS_KIND_GRU: kdts_gru_reset(&net->k.gru, seed); break;
    case KDTS_KIND_ATTN: kdts_attn_reset(&net->k.attn, seed); break;
    default: kdts_linear_reset(&net->k.linear, seed); break;
    }
    if (net->nparams > net->off_skip)
        memset(net->params + net->off_skip, 0, (net->nparams - net->off_skip) * sizeof(float));
}

KDTSDEF void kdts_net_free(kdts_net *net)
{
    if (!net) return;
    if (net->owned) {
        switch (net->cfg.kind) {
        case KDTS_KIND_LSTM: kdts_lstm_free(&net->k.lstm); break;
        case KDTS_KIND_GRU: kdts_gru_free(&net->k.gru); break;
        case KDTS_KIND_ATTN: kdts_attn_free(&net->k.attn); break;
        default: kdts_linear_free(&net->k.linear); break;
        }
    }
    memset(net, 0, sizeof *net);
}

KDTSDEF void kdts_net_zero_grad(kdts_net *net)
{
    if (net->grads) memset(net->grads, 0, net->nparams * sizeof(float));
}

KDTSDEF void kdts_net_view_lstm(kdts_net *net, const kdts_lstm *m)
{
    memset(net, 0, sizeof *net);
    net->cfg.kind = KDTS_KIND_LSTM;
    net->cfg.input = m->cfg.input;
    net->cfg.hidden = m->cfg.hidden;
    net->cfg.layers = m->cfg.layers;
    net->cfg.horizon = m->cfg.horizon;
    net->cfg.mode = m->cfg.mode;
    net->cfg.bins = m->cfg.bins;
    net->cfg.bin_lo = m->cfg.bin_lo;
    net->cfg.bin_hi = m->cfg.bin_hi;
    net->cfg.dropout = m->cfg.dropout;
    net->outputs = m->outputs;
    net->nparams = net->off_skip = m->nparams;
    net->params = m->params;
    net->grads = m->grads;
    net->k.lstm = *m;
}

/* The kind's view of a checked config: offsets, outputs and counts, no
   memory (params and grads are set by kdts__net_point). */
static void kdts__net_layout(kdts_net *net)
{
    const kdts_net_config *c = &net->cfg;
    size_t nk = 0;
    memset(&net->k, 0, sizeof net->k);
    switch (c->kind) {
    case KDTS_KIND_LSTM: {
        kdts_lstm *v = &net->k.lstm;
        kdts__net_to_lstm(c, &v->cfg);
        kdts_lstm_config_check(&v->cfg, NULL);
        v->outputs = kdts__outputs(&v->cfg);
        nk = v->nparams = kdts__param_layout(&v->cfg, v);
        net->outputs = v->outputs;
        break;
    }
    case KDTS_KIND_GRU: {
        kdts_gru *v = &net->k.gru;
        kdts_lstm_config lc;
        size_t off[4 * KDTS_MAX_LAYERS + 2];
        int l;
        kdts__net_to_gru(c, &v->cfg);
        kdts_gru_config_check(&v->cfg, NULL);
        kdts__gru_to_lstm_cfg(&lc, &v->cfg);
        v->outputs = kdts__outputs(&lc);
        nk = v->nparams = kdts__rnn_layout(&lc, 3, off);
        for (l = 0; l < v->cfg.layers; ++l) {
            v->off_wih[l] = off[4 * l];
            v->off_whh[l] = off[4 * l + 1];
            v->off_bih[l] = off[4 * l + 2];
            v->off_bhh[l] = off[4 * l + 3];
        }
        v->off_head_w = off[4 * v->cfg.layers];
        v->off_head_b = off[4 * v->cfg.layers + 1];
        net->outputs = v->outputs;
        break;
    }
    case KDTS_KIND_ATTN: {
        kdts_attn *v = &net->k.attn;
        kdts__net_to_attn(c, &v->cfg);
        kdts_attn_config_check(&v->cfg, NULL);
        v->outputs = kdts__attn_outputs(&v->cfg);
        nk = v->nparams = kdts__attn_layout(&v->cfg, v);
        net->outputs = v->outputs;
        break;
    }
    default: {
        kdts_linear *v = &net->k.linear;
        size_t D, O;
        kdts__net_to_linear(c, &v->cfg);
        kdts_linear_config_check(&v->cfg, NULL);
        v->outputs = kdts__lin_outputs(&v->cfg);
        v->inputs = v->cfg.lookback * v->cfg.input;
        D = (size_t)v->inputs;
        O = (size_t)v->outputs;
        nk = v->nparams = kdts__lin_count(&v->cfg);
        v->off_w = 0;
        v->off_b = D * O;
        if (v->cfg.kind == KDTS_LINEAR_DLINEAR) {
            v->off_w2 = (D + 1) * O;
            v->off_b2 = v->off_w2 + D * O;
        }
        net->outputs = v->outputs;
        break;
    }
    }
    net->off_skip = nk;
    net->nparams = nk + kdts__net_skip_count(c);
}

/* Point the net and its kind's view at params / grads (grads may be NULL). */
static void kdts__net_point(kdts_net *net, float *params, float *grads)
{
    net->params = params;
    net->grads = grads;
    switch (net->cfg.kind) {
    case KDTS_KIND_LSTM: net->k.lstm.params = params, net->k.lstm.grads = grads; break;
    case KDTS_KIND_GRU: net->k.gru.params = params, net->k.gru.grads = grads; break;
    case KDTS_KIND_ATTN: net->k.attn.params = params, net->k.attn.grads = grads; break;
    default: net->k.linear.params = params, net->k.linear.grads = grads; break;
    }
}

/* Two checked configurations that describe the same model. */
static int kdts__same_net(const kdts_net_config *a, const kdts_net_config *b)
{
    if (a->kind != b->kind || a->input != b->input || a->horizon != b->horizon || a->mode != b->mode ||
        a->skip != b->skip)
        return 0;
    if (a->mode == KDTS_MODE_DIST && (a->bins != b->bins || a->bin_lo != b->bin_lo || a->bin_hi != b->bin_hi))
        return 0;
    if (a->skip && a->lookback != b->lookback) return 0;
    switch (a->kind) {
    case KDTS_KIND_LSTM:
    case KDTS_KIND_GRU: return a->hidden == b->hidden && a->layers == b->layers && a->dropout == b->dropout;
    case KDTS_KIND_ATTN:
        return a->d_model == b->d_model && a->heads == b->heads && a->ff == b->ff && a->blocks == b->blocks &&
               a->activation == b->activation && a->final_norm == b->final_norm && a->max_steps == b->max_steps &&
               a->dropout == b->dropout;
    default:
        return a->lookback == b->lookback && a->linear == b->linear && a->kernel == b->kernel &&
               a->subtract_last == b->subtract_last && a->target_rev == b->target_rev;
    }
}

KDTSDEF void kdts_net_head(const kdts_net *net, size_t *w, size_t *b, int *width)
{
    switch (net->cfg.kind) {
    case KDTS_KIND_LSTM:
        *w = net->k.lstm.off_head_w, *b = net->k.lstm.off_head_b, *width = net->cfg.hidden;
        break;
    case KDTS_KIND_GRU:
        *w = net->k.gru.off_head_w, *b = net->k.gru.off_head_b, *width = net->cfg.hidden;
        break;
    case KDTS_KIND_ATTN:
        *w = net->k.attn.off_head_w, *b = net->k.attn.off_head_b, *width = net->cfg.d_model;
        break;
    default:
        *w = net->k.linear.off_w, *b = net->k.linear.off_b, *width = net->k.linear.inputs;
        break;
    }
}

KDTSDEF void kdts_net_ws_free(kdts_net_ws *ws)
{
    if (!ws) return;
    switch (ws->kind) {
    case KDTS_KIND_LSTM: kdts_lstm_ws_free(&ws->k.lstm); break;
    case KDTS_KIND_GRU: kdts_gru_ws_free(&ws->k.gru); break;
    case KDTS_KIND_ATTN: kdts_attn_ws_free(&ws->k.attn); break;
    default: break;
    }
    kdts__free_aligned(ws->x);
    kdts__free_aligned(ws->out);
    memset(ws, 0, sizeof *ws);
}

KDTSDEF kdts_result kdts_net_ws_init(kdts_net_ws *ws, const kdts_net_config *cfg_in, int max_batch, int max_steps,
                                     int train, kdts_error *err)
{
    kdts_net_config c;
    kdts_result r = KDTS_OK;
    memset(ws, 0, sizeof *ws);
    if (!cfg_in) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no model configuration");
    c = *cfg_in;
    if ((r = kdts_net_config_check(&c, err)) != KDTS_OK) return r;
    if (max_batch < 1 || max_steps < 1 || max_batch > KDTS_MAX_DIM * 64 || max_steps > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "workspace for batch %d x steps %d is out of range", max_batch,
                          max_steps);
    ws->kind = c.kind;
    ws->train = train;
    ws->max_batch = max_batch;
    ws->max_steps = max_steps;
    switch (c.kind) {
    case KDTS_KIND_LSTM: {
        kdts_lstm_config o;
        kdts__net_to_lstm(&c, &o);
        r = kdts_lstm_ws_init(&ws->k.lstm, &o, max_batch, max_steps, train, err);
        break;
    }
    case KDTS_KIND_GRU: {
        kdts_gru_config o;
        kdts__net_to_gru(&c, &o);
        r = kdts_gru_ws_init(&ws->k.gru, &o, max_batch, max_steps, train, err);
        break;
    }
    case KDTS_KIND_ATTN: {
        kdts_attn_config o;
        kdts__net_to_attn(&c, &o);
        r = kdts_attn_ws_init(&ws->k.attn, &o, max_batch, max_steps, train, err);
        break;
    }
    default:
        if (max_steps != c.lookback)
            return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "a linear model takes windows of %d steps, not %d",
                              c.lookback, max_steps);
        break;
    }
    if (r != KDTS_OK) {
        memset(ws, 0, sizeof *ws);
        return r;
    }
    if (train && (c.kind == KDTS_KIND_LINEAR || c.skip)) {
        size_t n;
        if (!kdts__mul_ok((size_t)max_batch * (size_t)max_steps, (size_t)c.input, &n) ||
            !(ws->x = kdts__falloc(n))) {
            kdts_net_ws_free(ws);
            return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the workspace");
        }
    }
    if (c.skip || c.kind == KDTS_KIND_LINEAR) {
        ws->out = kdts__falloc((size_t)max_batch * (size_t)(c.mode == KDTS_MODE_DIST ? c.horizon * c.bins : c.horizon));
        if (!ws->out) {
            kdts_net_ws_free(ws);
            return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the workspace");
        }
    }
    return KDTS_OK;
}

/* The skip map on B windows x (B,T,F): add W_s x + b_s to out rows
   (stride = floats between two windows' forecast rows). */
static void kdts__net_skip_fwd(const kdts_net *net, const float *x, int B, float *out, size_t stride)
{
    size_t D = (size_t)net->cfg.lookback * net->cfg.input;
    int O = net->outputs, b, o;
    const float *W = net->params + net->off_skip, *bs = W + D * (size_t)O;
    for (b = 0; b < B; ++b) {
        float *y = out + (size_t)b * stride;
        const float *xb = x + (size_t)b * D;
        for (o = 0; o < O; ++o) y[o] += bs[o] + kdts_vec_dot(W + (size_t)o * D, xb, D);
    }
}

static void kdts__net_skip_bwd(kdts_net *net, const float *x, int B, const float *dout, size_t stride, float *dx)
{
    size_t D = (size_t)net->cfg.lookback * net->cfg.input;
    int O = net->outputs, b, o;
    const float *W = net->params + net->off_skip;
    float *gW = net->grads + net->off_skip, *gb = gW + D * (size_t)O;
    for (b = 0; b < B; ++b) {
        const float *d = dout + (size_t)b * stride, *xb = x + (size_t)b * D;
        for (o = 0; o < O; ++o) {
            if (d[o] == 0.0f) continue;
            gb[o] += d[o];
            kdts_vec_axpy(gW + (size_t)o * D, d[o], xb, D);
            if (dx) kdts_vec_axpy(dx + (size_t)b * D, d[o], W + (size_t)o * D, D);
        }
    }
}

static kdts_result kdts__net_shape(const kdts_net *net, const kdts_net_ws *ws, const float *x, int B, int T,
                                   kdts_error *err)
{
    if (!net || !ws || !net->params) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no model or workspace");
    if (ws->kind != net->cfg.kind)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "the workspace was made for a %s model, this one is %s",
                          kdts_kind_name(ws->kind), kdts_kind_name(net->cfg.kind));
    if (!x) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no input");
    if (B < 1 || T < 1 || B > ws->max_batch || T > ws->max_steps)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "%d windows of %d steps do not fit a workspace of %d x %d", B, T,
                          ws->max_batch, ws->max_steps);
    if ((net->cfg.kind == KDTS_KIND_LINEAR || net->cfg.skip) && T != net->cfg.lookback)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "this model takes windows of %d steps, not %d", net->cfg.lookback,
                          T);
    return KDTS_OK;
}

/* kdts_net_forward of B windows that are windows w0 .. w0+B-1 of a batch of
   Bt (an attention model's parts, kdts__attn_fwd; else w0 = 0, Bt = B). */
static kdts_result kdts__net_fwd(const kdts_net *net, kdts_net_ws *ws, const float *x, int B, int T, float *out,
                                 int train, kdts_rng *rng, int w0, int Bt, kdts_error *err)
{
    kdts_result r = kdts__net_shape(net, ws, x, B, T, err);
    int O;
    if (r != KDTS_OK) return r;
    if (!out) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no output buffer");
    if (train && !ws->train) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "a training forward needs a training workspace");
    O = net->outputs;
    switch (net->cfg.kind) {
    case KDTS_KIND_LSTM:
        r = kdts_lstm_forward(&net->k.lstm, &ws->k.lstm, x, B, T, NULL, NULL, out, train, rng, err);
        break;
    case KDTS_KIND_GRU: r = kdts_gru_forward(&net->k.gru, &ws->k.gru, x, B, T, NULL, out, train, rng, err); break;
    case KDTS_KIND_ATTN:
        r = kdts__attn_fwd(&net->k.attn, &ws->k.attn, x, B, T, out, train, rng, 0, w0, Bt, err);
        break;
    default: r = kdts_linear_forward(&net->k.linear, x, B, T, out, err); break;
    }
    if (r != KDTS_OK) return r;
    ws->B = B;
    ws->T = T;
    if (train && ws->x) memcpy(ws->x, x, (size_t)B * T * net->cfg.input * sizeof(float));
    if (net->cfg.skip) kdts__net_skip_fwd(net, x, B, out + (size_t)(T - 1) * O, (size_t)T * O);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_net_forward(const kdts_net *net, kdts_net_ws *ws, const float *x, int B, int T,
                                     float *out, int train, kdts_rng *rng, kdts_error *err)
{
    return kdts__net_fwd(net, ws, x, B, T, out, train, rng, 0, B, err);
}

KDTSDEF kdts_result kdts_net_forecast(const kdts_net *net, kdts_net_ws *ws, const float *x, int B, int T,
                                      float *out, kdts_error *err)
{
    kdts_result r = kdts__net_shape(net, ws, x, B, T, err);
    if (r != KDTS_OK) return r;
    if (!out) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no output buffer");
    switch (net->cfg.kind) {
    case KDTS_KIND_LSTM: r = kdts_lstm_forecast(&net->k.lstm, &ws->k.lstm, x, B, T, NULL, NULL, out, err); break;
    case KDTS_KIND_GRU: r = kdts_gru_forecast(&net->k.gru, &ws->k.gru, x, B, T, NULL, out, err); break;
    case KDTS_KIND_ATTN: r = kdts_attn_forecast(&net->k.attn, &ws->k.attn, x, B, T, out, err); break;
    default: r = kdts_linear_forward(&net->k.linear, x, B, T, out, err); break;
    }
    if (r != KDTS_OK) return r;
    if (net->cfg.skip) kdts__net_skip_fwd(net, x, B, out, (size_t)net->outputs);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_net_backward(kdts_net *net, kdts_net_ws *ws, const float *dout, float *dx, kdts_error *err)
{
    kdts_result r;
    int B = ws->B, T = ws->T, O = net->outputs;
    if (!net->grads) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "the model has no gradients (a view of a teacher?)");
    if (!ws->train || ws->kind != net->cfg.kind || B < 1 || !dout)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "backward needs a training forward of this model first, and dout");
    switch (net->cfg.kind) {
    case KDTS_KIND_LSTM: r = kdts_lstm_backward(&net->k.lstm, &ws->k.lstm, dout, dx, NULL, NULL, err); break;
    case KDTS_KIND_GRU: r = kdts_gru_backward(&net->k.gru, &ws->k.gru, dout, dx, NULL, err); break;
    case KDTS_KIND_ATTN: r = kdts_attn_backward(&net->k.attn, &ws->k.attn, dout, dx, err); break;
    default: r = kdts_linear_backward(&net->k.linear, ws->x, B, T, dout, dx, err); break;
    }
    if (r != KDTS_OK) return r;
    if (net->cfg.skip) kdts__net_skip_bwd(net, ws->x, B, dout + (size_t)(T - 1) * O, (size_t)T * O, dx);
    return KDTS_OK;
}

/* ======================================================================== */
/* >>train                                                                  */
/* ======================================================================== */

#define KDTS__PRED_BATCH 256

/* Forward in chunks over n windows (ws of any kind; out scratch
   (max_batch,S,O)): per-step values (n,S,h) (expected values in dist mode)
   and, when probs is not NULL, the last step's probabilities (n,h,K). */
static kdts_result kdts__net_predict_chunks(const kdts_net *m, kdts_net_ws *ws, float *obuf, const float *x, int n,
                                            int T, float *values, float *probs, float temperature, kdts_error *err)
{
    const kdts_net_config *c = &m->cfg;
    int F = c->input, O = m->outputs, h = c->horizon, K = c->bins, S = kdts_net_steps(c, T);
    int i0, b, t, j;
    for (i0 = 0; i0 < n; i0 += ws->max_batch) {
        int nb = n - i0 < ws->max_batch ? n - i0 : ws->max_batch;
        kdts_result r = kdts_net_forward(m, ws, x + (size_t)i0 * T * F, nb, T, obuf, 0, NULL, err);
        if (r != KDTS_OK) return r;
        for (b = 0; b < nb; ++b) {
            for (t = 0; t < S; ++t) {
                const float *o = obuf + ((size_t)b * S + t) * O;
                float *v = values + (((size_t)(i0 + b)) * S + t) * h;
                if (c->mode == KDTS_MODE_DIST) {
                    kdts_dist_expect(v, o, (size_t)h, K, c->bin_lo, c->bin_hi);
                    if (probs && t == S - 1)
                        kdts_softmax_rows(probs + (size_t)(i0 + b) * h * K, o, (size_t)h, K, temperature);
                } else {
                    for (j = 0; j < h; ++j) v[j] = o[j];
                }
            }
        }
    }
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_net_predict_steps(const kdts_net *m, const float *x, int n, int T, float *values,
                                           float *probs, float temperature, kdts_error *err)
{
    kdts_net_ws ws;
    kdts_result r;
    float *obuf;
    int nb = n < KDTS__PRED_BATCH ? n : KDTS__PRED_BATCH;
    if (!m || n < 1 || T < 1 || !x || !values) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no windows to predict");
    r = kdts_net_ws_init(&ws, &m->cfg, nb, T, 0, err);
    if (r != KDTS_OK) return r;
    obuf = kdts__falloc((size_t)nb * kdts_net_steps(&m->cfg, T) * m->outputs);
    if (!obuf) r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for predictions");
    else r = kdts__net_predict_chunks(m, &ws, obuf, x, n, T, values, probs, temperature, err);
    kdts__free_aligned(obuf);
    kdts_net_ws_free(&ws);
    return r;
}

KDTSDEF kdts_result kdts_predict_steps(const kdts_lstm *m, const float *x, int n, int T, float *values,
                                       float *probs, float temperature, kdts_error *err)
{
    kdts_net v;
    kdts_net_view_lstm(&v, m);
    return kdts_net_predict_steps(&v, x, n, T, values, probs, temperature, err);
}

/* forecast (n,h) of each window (expected values in dist mode), using a
   given workspace and its out scratch (max_batch,O) */
static kdts_result kdts__net_forecast_ws(const kdts_net *m, kdts_net_ws *ws, float *obuf, const float *x, int n,
                                         int T, float *forecast, kdts_error *err)
{
    const kdts_net_config *c = &m->cfg;
    int F = c->input, O = m->outputs, h = c->horizon, K = c->bins;
    int i0, b, j;
    for (i0 = 0; i0 < n; i0 += ws->max_batch) {
        int nb = n - i0 < ws->max_batch ? n - i0 : ws->max_batch;
        kdts_result r = kdts_net_forecast(m, ws, x + (size_t)i0 * T * F, nb, T, obuf, err);
        if (r != KDTS_OK) return r;
        for (b = 0; b < nb; ++b) {
            const float *o = obuf + (size_t)b * O;
            float *f = forecast + (size_t)(i0 + b) * h;
            if (c->mode == KDTS_MODE_DIST) kdts_dist_expect(f, o, (size_t)h, K, c->bin_lo, c->bin_hi);
            else for (j = 0; j < h; ++j) f[j] = o[j];
        }
    }
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_net_predict(const kdts_net *m, const float *x, int n, int T, float *forecast,
                                     kdts_error *err)
{
    kdts_net_ws ws;
    kdts_result r;
    float *obuf;
    int nb = n < KDTS__PRED_BATCH ? n : KDTS__PRED_BATCH;
    if (!m || n < 1 || T < 1 || !x || !forecast) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no windows to predict");
    r = kdts_net_ws_init(&ws, &m->cfg, nb, T, 0, err);
    if (r != KDTS_OK) return r;
    obuf = kdts__falloc((size_t)nb * m->outputs);
    if (!obuf) r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for predictions");
    else r = kdts__net_forecast_ws(m, &ws, obuf, x, n, T, forecast, err);
    kdts__free_aligned(obuf);
    kdts_net_ws_free(&ws);
    return r;
}

KDTSDEF kdts_result kdts_predict(const kdts_lstm *m, const float *x, int n, int T, float *forecast,
                                 kdts_error *err)
{
    kdts_net v;
    kdts_net_view_lstm(&v, m);
    return kdts_net_predict(&v, x, n, T, forecast, err);
}

/* MSE and MAE of the forecasts of m on d (last step) through ws; buf holds
   (d->n,h) forecasts, obuf (max_batch,O) scratch. */
static kdts_result kdts__net_eval_ws(const kdts_net *m, kdts_net_ws *ws, float *obuf, const kdts_dataset *d,
                                     float *buf, double *mse, double *mae, kdts_error *err)
{
    int h = d->h, i, j;
    double se = 0.0, ae = 0.0;
    kdts_result r = kdts__net_forecast_ws(m, ws, obuf, d->x, d->n, d->T, buf, err);
    if (r != KDTS_OK) return r;
    for (i = 0; i < d->n; ++i) {
        const float *y = d->y + ((size_t)i * d->T + d->T - 1) * h;
        for (j = 0; j < h; ++j) {
            double e = (double)buf[(size_t)i * h + j] - y[j];
            se += e * e;
            ae += fabs(e);
        }
    }
    if (mse) *mse = se / ((double)d->n * h);
    if (mae) *mae = ae / ((double)d->n * h);
    return KDTS_OK;
}

static kdts_result kdts__check_dataset(const kdts_net *m, const kdts_dataset *d, const char *what, int need_y,
                                       kdts_error *err)
{
    if (!d || !d->x || d->n < 1 || d->T < 1)
        return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "%s set has no windows", what);
    if (need_y && !d->y) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "%s set has no targets", what);
    if (d->F != m->cfg.input || d->h != m->cfg.horizon)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0,
                          "%s set has %d features and horizon %d; the model takes %d and %d", what, d->F,
                          d->h, m->cfg.input, m->cfg.horizon);
    if ((m->cfg.kind == KDTS_KIND_LINEAR || m->cfg.skip) && d->T != m->cfg.lookback)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "%s windows have %d steps; the model takes %d", what, d->T,
                          m->cfg.lookback);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_net_eval_mse(const kdts_net *m, const kdts_dataset *d, double *mse, double *mae,
                                      kdts_error *err)
{
    kdts_net_ws ws;
    kdts_result r = kdts__check_dataset(m, d, "evaluation", 1, err);
    float *buf, *obuf;
    int nb;
    if (r != KDTS_OK) return r;
    nb = d->n < KDTS__PRED_BATCH ? d->n : KDTS__PRED_BATCH;
    r = kdts_net_ws_init(&ws, &m->cfg, nb, d->T, 0, err);
    if (r != KDTS_OK) return r;
    buf = kdts__falloc((size_t)d->n * d->h);
    obuf = kdts__falloc((size_t)nb * m->outputs);
    if (!buf || !obuf) r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory");
    else r = kdts__net_eval_ws(m, &ws, obuf, d, buf, mse, mae, err);
    kdts__free_aligned(buf);
    kdts__free_aligned(obuf);
    kdts_net_ws_free(&ws);
    return r;
}

KDTSDEF kdts_result kdts_eval_mse(const kdts_lstm *m, const kdts_dataset *d, double *mse, double *mae,
                                  kdts_error *err)
{
    kdts_net v;
    kdts_net_view_lstm(&v, m);
    return kdts_net_eval_mse(&v, d, mse, mae, err);
}

/* Wall-clock seconds (training times and progress). Define KDTS_NOW_SECONDS()
   to supply another clock. */
#ifndef KDTS_NOW_SECONDS
#if defined(_OPENMP)
#define KDTS_NOW_SECONDS() omp_get_wtime()
#elif defined(CLOCK_MONOTONIC)
static double kdts__now_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return (double)time(NULL);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#define KDTS_NOW_SECONDS() kdts__now_seconds()
#elif defined(TIME_UTC)
static double kdts__now_seconds(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC) return (double)time(NULL);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#define KDTS_NOW_SECONDS() kdts__now_seconds()
#else
#define KDTS_NOW_SECONDS() ((double)time(NULL))
#endif
#endif

KDTSDEF kdts_result kdts_train_config_check(kdts_train_config *c, kdts_error *err)
{
    if (c->epochs == 0) c->epochs = 10;
    if (c->batch == 0) c->batch = 32;
    if (c->temperature == 0.0f) c->temperature = 1.0f;
    if (c->label_sigma == 0.0f) c->label_sigma = 1.0f;
    if (c->label_sigma < 0.0f) c->label_sigma = 0.0f;
    if (c->shard_count == 0) c->shard_count = 1;
    if (c->epochs < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: epochs %d < 0", c->epochs);
    if (c->batch < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: batch %d < 0", c->batch);
    if (c->patience < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: patience %d < 0", c->patience);
    if (c->alpha_warmup < 0)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: alpha warm-up %d < 0", c->alpha_warmup);
    if (!(c->alpha >= 0.0f && c->alpha <= 1.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: alpha %g is not in [0, 1]", (double)c->alpha);
    if (!(c->beta >= 0.0f) || !kdts__isfinite(c->beta))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: beta %g is not a number >= 0", (double)c->beta);
    if (!(c->temperature > 0.0f) || !kdts__isfinite(c->temperature))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: temperature %g is not > 0", (double)c->temperature);
    if (!kdts__isfinite(c->label_sigma))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: label sigma is not finite");
    if (c->keep_partial != 0 && c->keep_partial != 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: keep_partial must be 0 or 1");
    if (c->shard_count < 1 || c->shard_index < 0 || c->shard_index >= c->shard_count)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: shard %d of %d", c->shard_index, c->shard_count);
    if (c->steps < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: a step budget of %lld", c->steps);
    if (c->min_steps < 0 || c->min_steps > 2000000000LL)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: a minimum of %lld steps", c->min_steps);
    if (c->schedule != KDTS_LR_CONSTANT && c->schedule != KDTS_LR_COSINE)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: unknown learning-rate schedule %d", c->schedule);
    if (c->warmup_steps < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: warm-up of %lld steps", c->warmup_steps);
    if (!(c->lr_min >= 0.0f && c->lr_min <= 1.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: lr_min %g is not in [0, 1]", (double)c->lr_min);
    if (c->targets < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: %d targets", c->targets);
    if (!(c->horizon_weight >= 0.0f && c->horizon_weight <= 64.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: horizon_weight %g is not in [0, 64]",
                          (double)c->horizon_weight);
    if (!(c->step_weight >= 0.0f && c->step_weight <= 64.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: step_weight %g is not in [0, 64]", (double)c->step_weight);
    if (!(c->ms_weight >= 0.0f) || !kdts__isfinite(c->ms_weight))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: ms_weight %g is not a number >= 0", (double)c->ms_weight);
    if (c->ms_scales < 0 || c->ms_scales > 30)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: ms_scales %d is not in 0 .. 30", c->ms_scales);
    if (!(c->freq_weight >= 0.0f) || !kdts__isfinite(c->freq_weight))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: freq_weight %g is not a number >= 0",
                          (double)c->freq_weight);
    if (c->freq_temperature == 0.0f) c->freq_temperature = 1.0f;
    if (!(c->freq_temperature > 0.0f) || !kdts__isfinite(c->freq_temperature))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: freq_temperature %g is not > 0",
                          (double)c->freq_temperature);
    if (c->aux_steps != 0 && c->aux_steps != 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: aux_steps must be 0 or 1");
    if (c->extra_per_window < 0 || c->extra_per_window > 1000)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: %d extra windows per window (0 .. 1000)",
                          c->extra_per_window);
    if (!(c->extra_jitter >= 0.0f) || !kdts__isfinite(c->extra_jitter))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: extra_jitter %g is not a number >= 0",
                          (double)c->extra_jitter);
    if (!(c->extra_scale >= 0.0f && c->extra_scale < 1.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: extra_scale %g is not in [0, 1)", (double)c->extra_scale);
    if (!(c->extra_mixup >= 0.0f && c->extra_mixup <= 1.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: extra_mixup %g is not in [0, 1]", (double)c->extra_mixup);
    if (c->extra_refresh != 0 && c->extra_refresh != 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: extra_refresh must be 0 or 1");
    if (c->extra_per_window > 0 && c->extra_jitter == 0.0f && c->extra_scale == 0.0f && c->extra_mixup == 0.0f)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "training: extra windows need extra_jitter, extra_scale or extra_mixup (else they are copies)");
    if (!(c->hint_weight >= 0.0f) || !kdts__isfinite(c->hint_weight))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: hint_weight %g is not a number >= 0",
                          (double)c->hint_weight);
    if (c->hint_steps < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: hint_steps %d < 0", c->hint_steps);
    if (c->hint_width < 0 || c->hint_width > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: hint_width %d is out of range", c->hint_width);
    if (c->hint_weight > 0.0f && c->shard_count > 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: hints (hint_weight) do not support data-parallel shards");
    return KDTS_OK;
}

KDTSDEF long long kdts_train_min_steps(int epochs_given, long long min_steps_given)
{
    return min_steps_given >= 0 ? min_steps_given : epochs_given ? 0 : KDTS_MIN_STEPS_DEFAULT;
}

KDTSDEF long long kdts_student_min_steps(int epochs_given, long long min_steps_given)
{
    return min_steps_given >= 0 ? min_steps_given : epochs_given ? 0 : KDTS_STUDENT_MIN_STEPS;
}

KDTSDEF kdts_result kdts_extra_windows(const kdts_train_config *cfg, const kdts_dataset *train, float *x,
                                       kdts_error *err)
{
    return kdts_extra_windows_draw(cfg, train, 0, x, err);
}

KDTSDEF kdts_result kdts_extra_windows_draw(const kdts_train_config *cfg, const kdts_dataset *train, int draw,
                                            float *x, kdts_error *err)
{
    kdts_rng r;
    size_t len, i;
    int w, e, E;
    if (!cfg || !train || !train->x || !x || train->n < 1 || train->T < 1 || train->F < 1 || draw < 0)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "extra windows: no settings, windows or output");
    E = cfg->extra_per_window;
    len = (size_t)train->T * train->F;
    /* a stream of its own per draw */
    kdts_rng_seed(&r, (cfg->seed ^ 0x6b64747365787472ULL) + 0x9e3779b97f4a7c15ULL * (unsigned long long)draw);
    for (w = 0; w < train->n; ++w)
        for (e = 0; e < E; ++e) {
            float *o = x + ((size_t)w * E + e) * len;
            const float *a = train->x + (size_t)w * len;
            if (cfg->extra_mixup > 0.0f) {
                const float *b = train->x + (size_t)kdts_rng_below(&r, (unsigned long)train->n) * len;
                float l = cfg->extra_mixup * kdts_rng_uniform(&r);
                for (i = 0; i < len; ++i) o[i] = (1.0f - l) * a[i] + l * b[i];
            } else {
                memcpy(o, a, len * sizeof(float));
            }
            if (cfg->extra_scale > 0.0f) {
                float f = 1.0f + cfg->extra_scale * (2.0f * kdts_rng_uniform(&r) - 1.0f);
                for (i = 0; i < len; ++i) o[i] *= f;
            }
            if (cfg->extra_jitter > 0.0f)
                for (i = 0; i < len; ++i) o[i] += cfg->extra_jitter * kdts_rng_normal(&r);
        }
    return KDTS_OK;
}

/* ---- hidden-state hints ------------------------------------------------- */

KDTSDEF int kdts_net_hint_width(const kdts_net *m)
{
    if (!m) return 0;
    switch (m->cfg.kind) {
    case KDTS_KIND_LSTM:
    case KDTS_KIND_GRU: return m->cfg.hidden;
    case KDTS_KIND_ATTN: return m->cfg.d_model;
    default: return 0;
    }
}

/* hs (B,T,H) = the head's input of the last training forward on ws. */
static void kdts__net_top_read(const kdts_net *m, const kdts_net_ws *ws, float *hs)
{
    int B = ws->B, T = ws->T, H = kdts_net_hint_width(m), k, b0, nb, b, t;
    if (m->cfg.kind == KDTS_KIND_ATTN) {
        const kdts_attn_ws *a = &ws->k.attn;
        memcpy(hs, m->cfg.final_norm ? a->hf : a->h[m->cfg.blocks], (size_t)B * T * H * sizeof(float));
        return;
    }
    {
        int part = m->cfg.kind == KDTS_KIND_LSTM ? ws->k.lstm.part : ws->k.gru.part;
        for (k = 0; k < part; ++k) {
            const float *top;
            kdts__block(B, part, k, &b0, &nb);
            if (nb <= 0) continue;
            top = m->cfg.kind == KDTS_KIND_LSTM ? kdts__layer_input(&ws->k.lstm, m->cfg.layers, b0, nb)
                                                : kdts__gru_layer_input(&ws->k.gru, m->cfg.layers, b0, nb);
            for (t = 0; t < T; ++t)
                for (b = 0; b < nb; ++b)
                    memcpy(hs + ((size_t)(b0 + b) * T + t) * H, top + ((size_t)t * nb + b) * H, (size_t)H * sizeof(float));
        }
    }
}

/* The gradient w.r.t. the head's input the next backward on ws adds (NULL: none). */
static void kdts__net_set_dtop(kdts_net_ws *ws, const float *dtop)
{
    if (ws->kind == KDTS_KIND_LSTM) ws->k.lstm.dtop = dtop;
    else if (ws->kind == KDTS_KIND_GRU) ws->k.gru.dtop = dtop;
    else if (ws->kind == KDTS_KIND_ATTN) ws->k.attn.dtop = dtop;
}

#define KDTS__HINT_R16(n) (((size_t)(n) + 15) & ~(size_t)15)

/* Scratch of kdts__hint_eval for `rows` windows: the selected student
   states (rows*steps,Hs), the residuals (rows*steps,Ht), GEMM packing. */
static size_t kdts__hint_scratch_floats(int rows, int steps, int Hs, int Ht)
{
    return KDTS__HINT_R16((size_t)rows * steps * Hs) + KDTS__HINT_R16((size_t)rows * steps * Ht) + KDTS__GEMM_SCRATCH;
}

/* L_hint of B rows: hs (B,T,Hs) student states, hv (B,steps,Ht) teacher
   states of the last `steps` steps, proj = P (Ht x Hs) then p (Ht). With
   dtop (B,T,Hs) it receives d(weight*L)/dhs (0 at the other steps) and
   dproj (Ht*Hs + Ht) the gradient w.r.t. proj added. scratch: 64-byte
   aligned, kdts__hint_scratch_floats(B, steps, Hs, Ht). Returns L. */
static double kdts__hint_eval(int B, int T, int steps, int Hs, int Ht, const float *hs, const float *hv,
                              const float *proj, float weight, float *dtop, float *dproj, float *scratch)
{
    const float *p = proj + (size_t)Ht * Hs;
    size_t R = (size_t)B * steps, q;
    float *sel = scratch, *res = sel + KDTS__HINT_R16(R * Hs), *scr = res + KDTS__HINT_R16(R * Ht);
    double L = 0.0, N = (double)R * Ht;
    float gs = (float)(2.0 * weight / N);
    int b, u;
    for (b = 0; b < B; ++b) /* the matched steps, row after row */
        memcpy(sel + (size_t)b * steps * Hs, hs + ((size_t)b * T + T - steps) * Hs, (size_t)steps * Hs * sizeof(float));
    /* residuals r = sel P^T + p - hv */
    kdts__gemm_serial(KDTS_NOTRANS, KDTS_TRANS, (int)R, Ht, Hs, 1.0f, sel, Hs, proj, Hs, 0.0f, res, Ht, scr, NULL);
    for (q = 0; q < R; ++q) {
        float *r = res + q * Ht;
        const float *v = hv + q * Ht;
        for (u = 0; u < Ht; ++u) {
            r[u] += p[u] - v[u];
            L += (double)r[u] * r[u];
        }
    }
    if (dtop) {
        float *dp = dproj + (size_t)Ht * Hs;
        for (q = 0; q < R * Ht; ++q) res[q] *= gs; /* dL/dr */
        for (q = 0; q < R; ++q)
            for (u = 0; u < Ht; ++u) dp[u] += res[q * Ht + u];
        /* dP += G^T sel, then dL/dsel = G P into sel, spread into dtop */
        kdts__gemm_serial(KDTS_TRANS, KDTS_NOTRANS, Ht, Hs, (int)R, 1.0f, res, Ht, sel, Hs, 1.0f, dproj, Hs, scr, NULL);
        kdts__gemm_serial(KDTS_NOTRANS, KDTS_NOTRANS, (int)R, Hs, Ht, 1.0f, res, Ht, proj, Hs, 0.0f, sel, Hs, scr, NULL);
        memset(dtop, 0, (size_t)B * T * Hs * sizeof(float));
        for (b = 0; b < B; ++b)
            memcpy(dtop + ((size_t)b * T + T - steps) * Hs, sel + (size_t)b * steps * Hs, (size_t)steps * Hs * sizeof(float));
    }
    return L / N;
}

/* A teacher view without dropout (its training forward keeps the states). */
static void kdts__net_no_dropout(kdts_net *q, const kdts_net *m)
{
    *q = *m;
    q->cfg.dropout = 0.0f;
    if (m->cfg.kind == KDTS_KIND_LSTM) q->k.lstm.cfg.dropout = 0.0f;
    else if (m->cfg.kind == KDTS_KIND_GRU) q->k.gru.cfg.dropout = 0.0f;
    else if (m->cfg.kind == KDTS_KIND_ATTN) q->k.attn.cfg.dropout = 0.0f;
}

#define KDTS__HINT_CHUNK 32

KDTSDEF kdts_result kdts_hint_targets(const kdts_net *teacher, const float *x, int n, int T, int steps, float *hv,
                                      kdts_error *err)
{
    kdts_net q;
    kdts_net_ws ws;
    kdts_result r = KDTS_OK;
    float *out = NULL, *hs = NULL;
    int H, nb, i0, b;
    if (!teacher || !x || !hv || n < 1 || T < 1) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "hint targets: no teacher or windows");
    if (!(H = kdts_net_hint_width(teacher)))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "hints: a %s teacher has no hidden state (use a recurrent or "
                          "attention teacher, or hint_weight 0)", kdts_kind_name(teacher->cfg.kind));
    if (steps == 0) steps = T;
    if (steps < 0 || steps > T) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "hints: %d steps of %d", steps, T);
    kdts__net_no_dropout(&q, teacher);
    nb = n < KDTS__HINT_CHUNK ? n : KDTS__HINT_CHUNK;
    if ((r = kdts_net_ws_init(&ws, &q.cfg, nb, T, 1, err)) != KDTS_OK) return r;
    out = kdts__falloc((size_t)nb * T * q.outputs);
    hs = kdts__falloc((size_t)nb * T * H);
    if (!out || !hs) {
        r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the teacher's hidden states");
        goto done;
    }
    for (i0 = 0; i0 < n; i0 += nb) {
        int m = n - i0 < nb ? n - i0 : nb;
        r = kdts_net_forward(&q, &ws, x + (size_t)i0 * T * q.cfg.input, m, T, out, 1, NULL, err);
        if (r != KDTS_OK) goto done;
        kdts__net_top_read(&q, &ws, hs);
        for (b = 0; b < m; ++b)
            memcpy(hv + (size_t)(i0 + b) * steps * H, hs + ((size_t)b * T + T - steps) * H, (size_t)steps * H * sizeof(float));
    }
done:
    kdts__free_aligned(out);
    kdts__free_aligned(hs);
    kdts_net_ws_free(&ws);
    return r;
}

KDTSDEF kdts_result kdts_hint_loss(kdts_net *m, kdts_net_ws *ws, const float *x, int B, int T, int steps,
                                   const float *hv, int Ht, const float *proj, float weight, kdts_rng *rng,
                                   double *loss, float *dproj, kdts_error *err)
{
    kdts_result r;
    float *out = NULL, *hs = NULL, *dtop = NULL, *scr = NULL;
    double L;
    int Hs, S;
    if (!m || !ws || !x || !hv || !proj || !loss || B < 1 || T < 1 || Ht < 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "hint loss: NULL argument or empty batch");
    if (!(Hs = kdts_net_hint_width(m)))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "hints: a linear model has no hidden state");
    if (steps == 0) steps = T;
    if (steps < 0 || steps > T) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "hints: %d steps of %d", steps, T);
    S = kdts_net_steps(&m->cfg, T);
    out = kdts__falloc((size_t)B * S * m->outputs);
    hs = kdts__falloc((size_t)B * T * Hs);
    if (dproj) dtop = kdts__falloc((size_t)B * T * Hs);
    scr = kdts__falloc(kdts__hint_scratch_floats(B, steps, Hs, Ht));
    if (!out || !hs || (dproj && !dtop) || !scr) {
        r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the hint loss");
        goto done;
    }
    if ((r = kdts_net_forward(m, ws, x, B, T, out, 1, rng, err)) != KDTS_OK) goto done;
    kdts__net_top_read(m, ws, hs);
    if (dproj) memset(dproj, 0, ((size_t)Ht * Hs + Ht) * sizeof(float));
    L = kdts__hint_eval(B, T, steps, Hs, Ht, hs, hv, proj, weight, dtop, dproj, scr);
    *loss = L;
    if (dproj) {
        memset(out, 0, (size_t)B * S * m->outputs * sizeof(float)); /* no dL/dout */
        kdts__net_set_dtop(ws, dtop);
        r = kdts_net_backward(m, ws, out, NULL, err);
        kdts__net_set_dtop(ws, NULL);
    }
done:
    kdts__free_aligned(out);
    kdts__free_aligned(hs);
    kdts__free_aligned(dtop);
    kdts__free_aligned(scr);
    return r;
}

KDTSDEF void kdts_trainer_free(kdts_trainer *t)
{
    if (!t) return;
    kdts_net_ws_free(&t->ws);
    kdts_net_ws_free(&t->ws_eval);
    kdts__free_aligned(t->out);
    kdts__free_aligned(t->eout);
    kdts_adam_free(&t->adam);
    if (t->idx) KDTS_FREE(t->idx);
    kdts__free_aligned(t->bx);
    kdts__free_aligned(t->by);
    kdts__free_aligned(t->btv);
    kdts__free_aligned(t->btp);
    kdts__free_aligned(t->dout);
    kdts__free_aligned(t->best);
    kdts__free_aligned(t->evalbuf);
    kdts__free_aligned(t->prev);
    kdts__free_aligned(t->own_tv);
    kdts__free_aligned(t->own_tp);
    kdts__free_aligned(t->ex);
    kdts__free_aligned(t->own_etv);
    kdts__free_aligned(t->own_etp);
    kdts__free_aligned(t->own_hv);
    kdts__free_aligned(t->own_ehv);
    kdts__free_aligned(t->hint_proj);
    kdts__free_aligned(t->hint_grad);
    kdts__free_aligned(t->hint_prev);
    kdts_adam_free(&t->hint_adam);
    kdts__free_aligned(t->bhv);
    kdts__free_aligned(t->bhs);
    kdts__free_aligned(t->bdtop);
    kdts__free_aligned(t->hint_scr);
    memset(t, 0, sizeof *t);
}

KDTSDEF kdts_result kdts_trainer_init(kdts_trainer *t, kdts_net *m, const kdts_train_config *cfg,
                                      const kdts_dataset *train, const kdts_dataset *val, kdts_error *err)
{
    kdts_result r;
    int rows, k, pool;
    memset(t, 0, sizeof *t);
    if (!m || !cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: no model or no settings");
    t->cfg = *cfg;
    if ((r = kdts_train_config_check(&t->cfg, err)) != KDTS_OK) return r;
    if ((r = kdts__check_dataset(m, train, "training", 1, err)) != KDTS_OK) return r;
    if (val && (r = kdts__check_dataset(m, val, "validation", 1, err)) != KDTS_OK) return r;
    if (val && val->T != train->T)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "validation windows have %d steps, training %d", val->T,
                          train->T);
    t->m = m;
    t->train = train;
    t->val = val;
    t->n = train->n;
    t->T = train->T;
    t->F = train->F;
    t->h = train->h;
    t->K = m->cfg.bins;
    t->S = kdts_net_steps(&m->cfg, t->T);
    if (!m->grads) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: the model has no gradients (a view?)");
    if (t->cfg.targets > 0 && t->h % t->cfg.targets)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: %d targets do not divide the %d values per step",
                          t->cfg.targets, t->h);
    if (m->cfg.mode == KDTS_MODE_DIST && (t->cfg.ms_weight > 0.0f || t->cfg.freq_weight > 0.0f))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "training: multi-scale and frequency matching are point-mode options");
    if (t->cfg.freq_weight > 0.0f && t->h / (t->cfg.targets > 0 ? t->cfg.targets : 1) > 1024)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: frequency matching needs a horizon <= 1024");
    if ((double)t->n * (1.0 + t->cfg.extra_per_window) > 2e9)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: %d windows with %d extra each are too many", t->n,
                          t->cfg.extra_per_window);
    if (t->cfg.hint_weight > 0.0f) {
        if (!(t->hint_hs = kdts_net_hint_width(m)))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                              "training: hints (hint_weight) need a recurrent or attention student; a %s model has no "
                              "hidden state",
                              kdts_kind_name(m->cfg.kind));
        if (t->cfg.hint_steps > t->T)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: hint_steps %d is more than the %d steps",
                              t->cfg.hint_steps, t->T);
        t->hint_steps = t->cfg.hint_steps > 0 ? t->cfg.hint_steps : t->T;
    }
    t->ne = t->n * t->cfg.extra_per_window;
    pool = t->n + t->ne;
    t->batch = t->cfg.batch < pool ? t->cfg.batch : pool;
    t->batches = pool / t->batch + (t->cfg.keep_partial && pool % t->batch ? 1 : 0);
    if (t->cfg.steps > 0) {
        long long e = (t->cfg.steps + t->batches - 1) / t->batches;
        if (e > 2000000000LL) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: %lld steps is too many", t->cfg.steps);
        t->cfg.epochs = (int)e;
        t->planned = t->cfg.steps;
    } else {
        t->planned = (long long)t->cfg.epochs * t->batches;
        if (t->cfg.min_steps > t->planned) {
            long long f = (t->cfg.min_steps + t->planned - 1) / t->planned;
            if (f * t->cfg.epochs > 2000000000LL)
                return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: %lld steps is too many", t->cfg.min_steps);
            t->cfg.epochs = (int)(f * t->cfg.epochs);
            if (t->cfg.patience > 0) t->cfg.patience = (int)(t->cfg.patience * f < 2000000000LL ? t->cfg.patience * f : 2000000000LL);
            t->planned = (long long)t->cfg.epochs * t->batches;
        }
    }
    t->best_val = t->last_val = -1.0;
    t->t0 = KDTS_NOW_SECONDS();
    rows = (t->batch + t->cfg.shard_count - 1) / t->cfg.shard_count;
    if ((r = kdts_net_ws_init(&t->ws, &m->cfg, rows, t->T, 1, err)) != KDTS_OK) goto fail;
    if (val && (r = kdts_net_ws_init(&t->ws_eval, &m->cfg, val->n < KDTS__PRED_BATCH ? val->n : KDTS__PRED_BATCH,
                                     t->T, 0, err)) != KDTS_OK)
        goto fail;
    if ((r = kdts_adam_init(&t->adam, &t->cfg.adam, m->nparams, err)) != KDTS_OK) goto fail;
    t->lr0 = t->adam.cfg.lr;
    t->idx = (int *)KDTS_MALLOC((size_t)pool * sizeof(int));
    if (t->ne > 0 && !(t->ex = kdts__falloc((size_t)t->ne * t->T * t->F))) {
        r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for %d extra windows", t->ne);
        goto fail;
    }
    if (t->ne > 0 && (r = kdts_extra_windows(&t->cfg, train, t->ex, err)) != KDTS_OK) goto fail;
    t->bx = kdts__falloc((size_t)rows * t->T * t->F);
    t->by = kdts__falloc((size_t)rows * t->S * t->h);
    t->btv = kdts__falloc((size_t)rows * t->S * t->h);
    t->dout = kdts__falloc((size_t)rows * t->S * m->outputs);
    t->out = kdts__falloc((size_t)rows * t->S * m->outputs);
    if (val) t->eout = kdts__falloc((size_t)(val->n < KDTS__PRED_BATCH ? val->n : KDTS__PRED_BATCH) * m->outputs);
    t->best = kdts__falloc(m->nparams);
    t->prev = kdts__falloc(m->nparams);
    if (m->cfg.mode == KDTS_MODE_DIST) t->btp = kdts__falloc((size_t)rows * t->h * t->K);
    if (val) t->evalbuf = kdts__falloc((size_t)val->n * t->h);
    if (t->hint_hs > 0 && (!(t->bhs = kdts__falloc((size_t)rows * t->T * t->hint_hs)) ||
                           !(t->bdtop = kdts__falloc((size_t)rows * t->T * t->hint_hs)))) {
        r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the hint buffers");
        goto fail;
    }
    if (!t->idx || !t->bx || !t->by || !t->btv || !t->dout || !t->out || !t->best || !t->prev ||
        (m->cfg.mode == KDTS_MODE_DIST && !t->btp) || (val && (!t->evalbuf || !t->eout))) {
        r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for training buffers");
        goto fail;
    }
    for (k = 0; k < pool; ++k) t->idx[k] = k;
    kdts_rng_seed(&t->rng, t->cfg.seed);
    memcpy(t->best, m->params, m->nparams * sizeof(float));
    return KDTS_OK;
fail:
    kdts_trainer_free(t);
    return r;
}

KDTSDEF kdts_result kdts_soft_targets(const kdts_net *const *teachers, int nt, const float *x, int n, int T,
                                      float temperature, float *tv, float *tp, int *seq_from, kdts_error *err)
{
    size_t nv, np = 0, i;
    float *v = NULL, *p = NULL;
    kdts_result r = KDTS_OK;
    int k, h, K, last_only = 0;
    if (nt < 1 || !teachers || !teachers[0] || !x || n < 1 || T < 1 || !tv)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "soft targets: no teachers or no windows");
    h = teachers[0]->cfg.horizon;
    K = teachers[0]->cfg.bins;
    for (k = 0; k < nt; ++k) {
        const kdts_net *q = teachers[k];
        if (!q || q->cfg.input != teachers[0]->cfg.input || q->cfg.horizon != h)
            return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "teacher %d takes other inputs or horizon than teacher 1",
                              k + 1);
        if (tp && (q->cfg.mode != KDTS_MODE_DIST || q->cfg.bins != K))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                              "teacher %d: bin probabilities need distribution-mode teachers with the same bins",
                              k + 1);
    }
    nv = (size_t)n * T * h;
    if (tp) np = (size_t)n * h * K;
    v = kdts__falloc(nv);
    if (tp) p = kdts__falloc(np);
    if (!v || (tp && !p)) {
        r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for teacher outputs");
        goto done;
    }
    memset(tv, 0, nv * sizeof(float));
    if (tp) memset(tp, 0, np * sizeof(float));
    for (k = 0; k < nt; ++k) {
        r = kdts_net_predict_steps(teachers[k], x, n, T, v, p, temperature, err);
        if (r != KDTS_OK) goto done;
        if (kdts_net_steps(&teachers[k]->cfg, T) == T) {
            for (i = 0; i < nv; ++i) tv[i] += v[i] / (float)nt;
        } else {
            /* a forecast for the window only (linear): the last step */
            long w;
            int j;
            last_only = 1;
            for (w = 0; w < n; ++w)
                for (j = 0; j < h; ++j) tv[((size_t)w * T + T - 1) * h + j] += v[(size_t)w * h + j] / (float)nt;
        }
        for (i = 0; i < np; ++i) tp[i] += p[i] / (float)nt;
    }
    if (last_only) { /* steps the teachers do not all forecast carry nothing */
        long w;
        for (w = 0; w < n; ++w) memset(tv + (size_t)w * T * h, 0, (size_t)(T - 1) * h * sizeof(float));
    }
    if (seq_from) *seq_from = last_only ? T - 1 : 0;
done:
    kdts__free_aligned(v);
    kdts__free_aligned(p);
    return r;
}

/* Whether the student's loss uses teacher probabilities (dist-mode soft loss). */
static int kdts__wants_probs(const kdts_trainer *t) { return t->m->cfg.mode == KDTS_MODE_DIST && t->cfg.alpha > 0.0f; }

/* The hint projection for teacher states Ht wide (t->hv set): P uniform
   in +-1/sqrt(Hs) from the seed, p the mean of the teacher states over the
   training windows; its optimizer and batch buffer. */
static kdts_result kdts__hint_setup(kdts_trainer *t, int Ht, kdts_error *err)
{
    int Hs = t->hint_hs, rows = t->batch, u;
    size_t np = (size_t)Ht * Hs + Ht, i, nrow = (size_t)t->n * t->hint_steps;
    float a = 1.0f / sqrtf((float)Hs);
    kdts_rng r;
    kdts_result res;
    kdts__free_aligned(t->hint_proj);
    kdts__free_aligned(t->hint_grad);
    kdts__free_aligned(t->hint_prev);
    kdts__free_aligned(t->bhv);
    kdts__free_aligned(t->hint_scr);
    kdts_adam_free(&t->hint_adam);
    t->hint_scr = kdts__falloc(kdts__hint_scratch_floats(rows, t->hint_steps, Hs, Ht));
    t->hint_proj = kdts__falloc(np);
    t->hint_grad = kdts__falloc(np);
    t->hint_prev = kdts__falloc(np);
    t->bhv = kdts__falloc((size_t)rows * t->hint_steps * Ht);
    if (!t->hint_proj || !t->hint_grad || !t->hint_prev || !t->bhv || !t->hint_scr)
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the hint projection");
    if ((res = kdts_adam_init(&t->hint_adam, &t->cfg.adam, np, err)) != KDTS_OK) return res;
    t->hint_ht = Ht;
    kdts_rng_seed(&r, t->cfg.seed ^ 0x68696e7470726f6aULL);
    for (i = 0; i < (size_t)Ht * Hs; ++i) t->hint_proj[i] = a * (2.0f * kdts_rng_uniform(&r) - 1.0f);
    for (u = 0; u < Ht; ++u) {
        double m = 0.0;
        for (i = 0; i < nrow; ++i) m += t->hv[i * Ht + u];
        t->hint_proj[(size_t)Ht * Hs + u] = (float)(m / (double)nrow);
    }
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_trainer_teachers(kdts_trainer *t, const kdts_net *const *teachers, int nt, kdts_error *err)
{
    const kdts_net *m = t->m;
    int k, probs;
    kdts_result r;
    if (!m) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "trainer not set up");
    if (nt < 1 || !teachers) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no teachers");
    probs = kdts__wants_probs(t);
    for (k = 0; k < nt; ++k) {
        const kdts_net *q = teachers[k];
        if (!q || q->cfg.input != t->F || q->cfg.horizon != t->h)
            return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "teacher %d does not take the student's inputs and horizon",
                              k + 1);
        if (probs && (q->cfg.mode != KDTS_MODE_DIST || q->cfg.bins != t->K || q->cfg.bin_lo != m->cfg.bin_lo ||
                      q->cfg.bin_hi != m->cfg.bin_hi))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                              "teacher %d: a distribution-mode soft loss needs teachers with the same bins", k + 1);
    }
    kdts__free_aligned(t->own_tv);
    kdts__free_aligned(t->own_tp);
    t->own_tv = kdts__falloc((size_t)t->n * t->T * t->h);
    t->own_tp = probs ? kdts__falloc((size_t)t->n * t->h * t->K) : NULL;
    t->tv = t->tp = NULL;
    if (!t->own_tv || (probs && !t->own_tp)) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for teacher outputs");
    r = kdts_soft_targets(teachers, nt, t->train->x, t->n, t->T, t->cfg.temperature, t->own_tv,
                          probs ? t->own_tp : NULL, &t->seq_from, err);
    if (r != KDTS_OK) return r;
    if (t->hint_hs > 0) { /* the first teacher's hidden states, once */
        int Ht = kdts_net_hint_width(teachers[0]);
        if (!Ht)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                              "training: hints (hint_weight) need a recurrent or attention teacher; teacher 1 is %s, "
                              "which has no hidden state",
                              kdts_kind_name(teachers[0]->cfg.kind));
        kdts__free_aligned(t->own_hv);
        kdts__free_aligned(t->own_ehv);
        t->hv = t->ehv = t->own_ehv = NULL;
        if (!(t->own_hv = kdts__falloc((size_t)t->n * t->hint_steps * Ht)) ||
            (t->ne > 0 && !(t->own_ehv = kdts__falloc((size_t)t->ne * t->hint_steps * Ht))))
            return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the teacher's hidden states");
        if ((r = kdts_hint_targets(teachers[0], t->train->x, t->n, t->T, t->hint_steps, t->own_hv, err)) != KDTS_OK)
            return r;
        if (t->ne > 0 &&
            (r = kdts_hint_targets(teachers[0], t->ex, t->ne, t->T, t->hint_steps, t->own_ehv, err)) != KDTS_OK)
            return r;
        t->hv = t->own_hv;
        t->ehv = t->own_ehv;
        if ((r = kdts__hint_setup(t, Ht, err)) != KDTS_OK) return r;
    }
    if (t->ne > 0) { /* the extra windows, labelled once with them */
        kdts__free_aligned(t->own_etv);
        kdts__free_aligned(t->own_etp);
        t->own_etv = kdts__falloc((size_t)t->ne * t->T * t->h);
        t->own_etp = probs ? kdts__falloc((size_t)t->ne * t->h * t->K) : NULL;
        if (!t->own_etv || (probs && !t->own_etp))
            return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for the extra windows' teacher outputs");
        r = kdts_soft_targets(teachers, nt, t->ex, t->ne, t->T, t->cfg.temperature, t->own_etv,
                              probs ? t->own_etp : NULL, NULL, err);
        if (r != KDTS_OK) return r;
        t->etv = t->own_etv;
        t->etp = t->own_etp;
        t->teachers = teachers;
        t->nteachers = nt;
    }
    t->tv = t->own_tv;
    t->tp = t->own_tp;
    t->use_probs = probs;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_trainer_soft_targets(kdts_trainer *t, const float *tvals, const float *tprobs,
                                              kdts_error *err)
{
    if (!t->m) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "trainer not set up");
    if (!tvals) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "soft targets: no teacher values");
    if (kdts__wants_probs(t) && !tprobs)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "soft targets: a distribution-mode soft loss (alpha > 0) needs teacher probabilities");
    if (t->ne > 0 && (!t->cfg.extra_soft_values || (kdts__wants_probs(t) && !t->cfg.extra_soft_probs)))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "soft targets: extra windows need their soft targets too (extra_soft_values/probs)");
    if (t->hint_hs > 0) {
        kdts_result r;
        if (!t->cfg.hint_values || t->cfg.hint_width < 1 || (t->ne > 0 && !t->cfg.extra_hint_values))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                              "soft targets: hints (hint_weight) need the teacher states too (hint_values, "
                              "hint_width%s)",
                              t->ne > 0 ? ", extra_hint_values" : "");
        t->hv = t->cfg.hint_values;
        t->ehv = t->cfg.extra_hint_values;
        if ((r = kdts__hint_setup(t, t->cfg.hint_width, err)) != KDTS_OK) return r;
    }
    t->etv = t->cfg.extra_soft_values;
    t->etp = kdts__wants_probs(t) ? t->cfg.extra_soft_probs : NULL;
    t->tv = tvals;
    t->seq_from = t->cfg.soft_last_only ? t->T - 1 : 0;
    t->tp = kdts__wants_probs(t) ? tprobs : NULL;
    t->use_probs = t->tp != NULL;
    return KDTS_OK;
}

static void kdts__trainer_info(const kdts_trainer *t, kdts_epoch_info *info, int nb, const double *sums)
{
    memset(info, 0, sizeof *info);
    info->epoch = t->epoch + 1;
    info->epochs = t->cfg.epochs;
    info->loss = nb ? sums[0] / nb : 0.0;
    info->hard = nb ? sums[1] / nb : 0.0;
    info->soft = nb ? sums[2] / nb : 0.0;
    info->seq = nb ? sums[3] / nb : 0.0;
    info->hint = nb ? sums[4] / nb : 0.0;
    info->val_mse = -1.0;
    info->best_val_mse = t->best_val;
    info->best_epoch = t->best_epoch;
    info->seconds = KDTS_NOW_SECONDS() - t->t0;
    info->alpha = t->alpha;
    info->batch = nb;
    info->batches = t->batches;
    info->step = t->step;
    info->lr = t->adam.cfg.lr;
}

/* The learning rate of the next step: warm-up, then the schedule. */
static float kdts__trainer_lr(const kdts_trainer *t)
{
    long long s = t->step, w = t->cfg.warmup_steps, total = t->planned;
    double lr = t->lr0;
    if (w > 0 && s < w) return (float)(lr * (double)(s + 1) / (double)w);
    if (t->cfg.schedule == KDTS_LR_COSINE && total > w) {
        double x = (double)(s - w) / (double)(total - w), lo = lr * t->cfg.lr_min;
        if (x > 1.0) x = 1.0;
        lr = lo + (lr - lo) * 0.5 * (1.0 + cos(3.14159265358979323846 * x));
    }
    return (float)lr;
}

/* Windows per part when a step's forward, loss and backward go a part of
   the batch at a time (0: the whole batch at once). An attention model
   runs its batch in chunks of a few windows (kdts__attn_wpc), each through
   every block; going through the loss and the backward chunk by chunk
   keeps a chunk's activations in the cache from its forward to its
   backward, instead of writing the batch's and reading them back. The
   parameter gradients are the whole batch's, bit for bit: the chunks are
   the same, accumulated in the same order, and every output's gradient is
   the batch's (kdts__loss_eval_n); the dropout scales are drawn for the
   whole batch by the first part's forward. So only where nothing else
   differs: without OpenMP (whose backward sums groups of chunks), hints (a
   term over the batch's states) or teacher-labelled extra windows. */
static int kdts__train_part_windows(const kdts_trainer *t, int nreal, int nr)
{
#ifdef _OPENMP
    (void)t;
    (void)nreal;
    (void)nr;
    return 0;
#else
    int w;
    if (t->cfg.whole_batch || t->m->cfg.kind != KDTS_KIND_ATTN || t->hint_proj || nreal != nr) return 0;
    w = kdts__attn_wpc(nr, t->T);
    return w < nr ? w : 0;
#endif
}

/* Forward, loss and backward of the nr rows of the batch in t->bx ...,
   pw windows at a time (kdts__train_part_windows); lv the batch's loss;
   *local the loss's result. */
static kdts_result kdts__train_parts(kdts_trainer *t, int nr, int pw, float s_shard, float w_hard, float w_soft,
                                     float w_seq, const kdts_loss_config *lc, kdts_loss_value *lv, kdts_rng *rng,
                                     kdts_result *local, kdts_error *err)
{
    kdts_net *m = t->m;
    int T = t->T, F = t->F, h = t->h, K = t->K, S = t->S, O = m->outputs, p0;
    for (p0 = 0; p0 < nr && *local == KDTS_OK; p0 += pw) {
        int n = nr - p0 < pw ? nr - p0 : pw;
        size_t oo = (size_t)p0 * S * O, q, nd = (size_t)n * S * O;
        kdts_loss_value lp;
        kdts_result r = kdts__net_fwd(m, &t->ws, t->bx + (size_t)p0 * T * F, n, T, t->out + oo, 1, rng, p0, nr, err);
        if (r != KDTS_OK) return r;
        *local = kdts__loss_eval_n(lc, w_hard, w_soft, w_seq, t->out + oo, t->by + (size_t)p0 * S * h,
                                   t->tv ? t->btv + (size_t)p0 * S * h : NULL,
                                   t->tp ? t->btp + (size_t)p0 * h * K : NULL, n, nr, S, &lp, t->dout + oo, NULL);
        if (*local != KDTS_OK) break;
        lv->hard += lp.hard;
        lv->soft += lp.soft;
        lv->seq += lp.seq;
        lv->ms += lp.ms;
        lv->freq += lp.freq;
        lv->total += lp.total;
        if (s_shard != 1.0f)
            for (q = 0; q < nd; ++q) t->dout[oo + q] *= s_shard;
        if ((r = kdts_net_backward(m, &t->ws, t->dout + oo, NULL, err)) != KDTS_OK) return r;
    }
    return KDTS_OK;
}

/* One optimizer step on windows idx[b0 .. b0+nb) (this shard's share). */
static kdts_result kdts__trainer_step(kdts_trainer *t, int b0, int nb, float w_hard, float w_soft, float w_seq,
                                      kdts_loss_config *lc, kdts_loss_value *lv, double *lhint, kdts_error *err)
{
    kdts_net *m = t->m;
    const kdts_dataset *d = t->train;
    int T = t->T, F = t->F, h = t->h, K = t->K, S = t->S, r0, nr, b, pw;
    size_t i;
    double g2 = 0.0;
    kdts_result r, local = KDTS_OK;
    kdts_rng drop, *rng = &t->rng;
    kdts__share(nb, t->cfg.shard_count, t->cfg.shard_index, 1, &r0, &nr);
    if (t->cfg.shard_count > 1) {
        /* a share draws its dropout masks from (seed, step, share), so the
           shuffle stream stays the same on every process whatever its
           share's size (an empty share draws nothing) */
        kdts_rng_seed(&drop, t->cfg.seed ^ (0x9E3779B97F4A7C15ULL * (unsigned long long)(t->step + 1)) ^
                                 ((unsigned long long)t->cfg.shard_index << 40));
        rng = &drop;
    }
    memset(lv, 0, sizeof *lv);
    *lhint = 0.0;
    kdts_net_zero_grad(m);
    if (nr > 0) {
        /* the targets of the steps the model forecasts: all T, or the last */
        size_t y0 = (size_t)(T - S) * h, hsz = (size_t)t->hint_steps * t->hint_ht;
        int nreal = 0, ir = 0, ix = 0;
        for (b = 0; b < nr; ++b) nreal += t->idx[b0 + r0 + b] < t->n;
        for (b = 0; b < nr; ++b) {
            int w = t->idx[b0 + r0 + b], s;
            if (w < t->n) { /* a real window first in the batch, extra windows after */
                s = ir++;
                memcpy(t->bx + (size_t)s * T * F, d->x + (size_t)w * T * F, (size_t)T * F * sizeof(float));
                memcpy(t->by + (size_t)s * S * h, d->y + (size_t)w * T * h + y0, (size_t)S * h * sizeof(float));
                if (t->tv)
                    memcpy(t->btv + (size_t)s * S * h, t->tv + (size_t)w * T * h + y0, (size_t)S * h * sizeof(float));
                if (t->tp) memcpy(t->btp + (size_t)s * h * K, t->tp + (size_t)w * h * K, (size_t)h * K * sizeof(float));
                if (t->hint_proj)
                    memcpy(t->bhv + (size_t)s * hsz, t->hv + (size_t)w * hsz, hsz * sizeof(float));
            } else {
                s = nreal + ix++;
                w -= t->n;
                memcpy(t->bx + (size_t)s * T * F, t->ex + (size_t)w * T * F, (size_t)T * F * sizeof(float));
                memcpy(t->btv + (size_t)s * S * h, t->etv + (size_t)w * T * h + y0, (size_t)S * h * sizeof(float));
                if (t->tp) memcpy(t->btp + (size_t)s * h * K, t->etp + (size_t)w * h * K, (size_t)h * K * sizeof(float));
                if (t->hint_proj)
                    memcpy(t->bhv + (size_t)s * hsz, t->ehv + (size_t)w * hsz, hsz * sizeof(float));
            }
        }
        pw = kdts__train_part_windows(t, nreal, nr);
        if (pw > 0) {
            r = kdts__train_parts(t, nr, pw, t->cfg.shard_count > 1 ? (float)nr / (float)nb : 1.0f, w_hard, w_soft,
                                  w_seq, lc, lv, rng, &local, err);
            if (r != KDTS_OK) return r;
            if (local != KDTS_OK && local != KDTS_ERR_NONFINITE)
                return kdts__fail(err, local, 0, 0, "training: the loss could not be computed");
            goto stepped;
        }
        r = kdts_net_forward(m, &t->ws, t->bx, nr, T, t->out, 1, rng, err);
        if (r != KDTS_OK) return r;
        if (nreal == nr) {
            local = kdts_loss_eval(lc, w_hard, w_soft, w_seq, t->out, t->by, t->tv ? t->btv : NULL,
                                   t->tp ? t->btp : NULL, nr, S, lv, t->dout, NULL);
        } else {
            /* the real rows' loss and the extra rows' soft-only loss, each
               weighted by its share of the rows: the mean over the rows */
            kdts_loss_value la, le;
            size_t so = (size_t)nreal * S * m->outputs, nd = (size_t)nr * S * m->outputs, q;
            float fr = (float)nreal / (float)nr, fe = (float)(nr - nreal) / (float)nr;
            memset(&la, 0, sizeof la);
            local = nreal > 0 ? kdts_loss_eval(lc, w_hard, w_soft, w_seq, t->out, t->by, t->btv,
                                               t->tp ? t->btp : NULL, nreal, S, &la, t->dout, NULL)
                              : KDTS_OK;
            if (local == KDTS_OK)
                local = kdts_loss_eval(lc, 0.0f, w_soft, w_seq, t->out + so, NULL, t->btv + (size_t)nreal * S * h,
                                       t->tp ? t->btp + (size_t)nreal * h * K : NULL, nr - nreal, S, &le,
                                       t->dout + so, NULL);
            if (local == KDTS_OK) {
                for (q = 0; q < so; ++q) t->dout[q] *= fr;
                for (; q < nd; ++q) t->dout[q] *= fe;
                lv->hard = la.hard;
                lv->soft = fr * la.soft + fe * le.soft;
                lv->seq = fr * la.seq + fe * le.seq;
                lv->ms = fr * la.ms + fe * le.ms;
                lv->freq = fr * la.freq + fe * le.freq;
                lv->total = fr * la.total + fe * le.total;
            }
        }
        if (local != KDTS_OK && local != KDTS_ERR_NONFINITE)
            return kdts__fail(err, local, 0, 0, "training: the loss could not be computed");
        if (local == KDTS_OK && t->hint_proj) {
            /* the hint term over every row: its dL/dh joins the backward */
            double lh;
            size_t np = (size_t)t->hint_ht * t->hint_hs + t->hint_ht;
            memset(t->hint_grad, 0, np * sizeof(float));
            kdts__net_top_read(m, &t->ws, t->bhs);
            lh = kdts__hint_eval(nr, T, t->hint_steps, t->hint_hs, t->hint_ht, t->bhs, t->bhv, t->hint_proj,
                                 t->cfg.hint_weight, t->bdtop, t->hint_grad, t->hint_scr);
            if (!(lh < 1e300)) local = KDTS_ERR_NONFINITE;
            *lhint = lh;
            lv->total += t->cfg.hint_weight * lh;
            for (i = 0; i < np; ++i) g2 += (double)t->hint_grad[i] * t->hint_grad[i];
        }
        if (local == KDTS_OK) {
            if (t->cfg.shard_count > 1) { /* this share's part of the batch mean */
                float s = (float)nr / (float)nb;
                size_t q, nd = (size_t)nr * S * m->outputs;
                for (q = 0; q < nd; ++q) t->dout[q] *= s;
            }
            if (t->hint_proj) kdts__net_set_dtop(&t->ws, t->bdtop);
            r = kdts_net_backward(m, &t->ws, t->dout, NULL, err);
            kdts__net_set_dtop(&t->ws, NULL);
            if (r != KDTS_OK) return r;
        }
    }
stepped:
    if (nr > 0 && local == KDTS_OK) { /* the gradient (and the hints' in g2) finite */
        for (i = 0; i < m->nparams; ++i) g2 += (double)m->grads[i] * m->grads[i];
        if (!(g2 < 1e300)) local = KDTS_ERR_NONFINITE;
    }
    if (t->cfg.on_grad) local = t->cfg.on_grad(m->grads, m->nparams, local, t->cfg.user);
    if (local == KDTS_ERR_NONFINITE) {
        t->rep.bad_epoch = t->epoch + 1;
        return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0,
                          "non-finite loss or gradient at epoch %d, batch %d; training stopped, the weights "
                          "before that batch are kept",
                          t->epoch + 1, t->rep.bad_batch);
    }
    if (local != KDTS_OK) return kdts__fail(err, local, 0, 0, "training stopped by the gradient hook: %s",
                                            kdts_result_str(local));
    /* an absurd learning rate can overflow the weights even with a finite
       gradient: undo such an update and stop */
    memcpy(t->prev, m->params, m->nparams * sizeof(float));
    t->adam.cfg.lr = kdts__trainer_lr(t);
    kdts_adam_step(&t->adam, m->params, m->grads);
    for (i = 0; i < m->nparams && kdts__isfinite(m->params[i]); ++i) {
    }
    if (t->hint_proj && nr > 0) { /* the projection: same settings and learning rate */
        size_t np = (size_t)t->hint_ht * t->hint_hs + t->hint_ht, q;
        memcpy(t->hint_prev, t->hint_proj, np * sizeof(float));
        t->hint_adam.cfg.lr = t->adam.cfg.lr;
        kdts_adam_step(&t->hint_adam, t->hint_proj, t->hint_grad);
        for (q = 0; q < np && kdts__isfinite(t->hint_proj[q]); ++q) {
        }
        if (q < np) i = 0; /* undo both updates */
    }
    if (i < m->nparams) {
        memcpy(m->params, t->prev, m->nparams * sizeof(float));
        if (t->hint_proj)
            memcpy(t->hint_proj, t->hint_prev, ((size_t)t->hint_ht * t->hint_hs + t->hint_ht) * sizeof(float));
        t->rep.bad_epoch = t->epoch + 1;
        return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0,
                          "non-finite weights after the update at epoch %d, batch %d (learning rate too "
                          "large?); training stopped, the weights before that batch are kept",
                          t->epoch + 1, t->rep.bad_batch);
    }
    t->step++;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_trainer_epoch(kdts_trainer *t, kdts_epoch_info *info, kdts_error *err)
{
    kdts_loss_config lc;
    kdts_epoch_info in;
    double sums[5] = {0, 0, 0, 0, 0};
    int nb = 0, b0, soft = t->tv != NULL;
    float alpha = 0.0f, w_hard = 1.0f, w_soft = 0.0f, w_seq = 0.0f;
    if (!t->m) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "trainer not set up");
    if (t->ne > 0 && (!t->tv || !t->etv))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: extra windows need soft targets (teachers)");
    if (t->ne > 0 && t->cfg.extra_refresh && (!t->teachers || t->etv != t->own_etv))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "training: extra_refresh needs the teachers (kdts_trainer_teachers), not precomputed targets");
    if (t->hint_hs > 0 && (!t->tv || !t->hint_proj || !t->hv || (t->ne > 0 && !t->ehv)))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: hints (hint_weight) need teachers or their states");
    if (t->ne > 0 && t->cfg.extra_refresh && t->epoch > 0) {
        /* this epoch's extra windows, labelled by the teachers now */
        kdts_result r;
        if ((r = kdts_extra_windows_draw(&t->cfg, t->train, t->epoch, t->ex, err)) != KDTS_OK) return r;
        r = kdts_soft_targets(t->teachers, t->nteachers, t->ex, t->ne, t->T, t->cfg.temperature, t->own_etv,
                              t->use_probs ? t->own_etp : NULL, NULL, err);
        if (r != KDTS_OK) return r;
        if (t->hint_hs > 0 &&
            (r = kdts_hint_targets(t->teachers[0], t->ex, t->ne, t->T, t->hint_steps, t->own_ehv, err)) != KDTS_OK)
            return r;
    }
    kdts_loss_config_from_net(&lc, t->m);
    lc.temperature = t->cfg.temperature;
    lc.label_sigma = t->cfg.label_sigma;
    lc.hard_last_only = t->cfg.hard_last_only;
    lc.seq_from = t->S == t->T ? t->seq_from : 0; /* a one-step model has only the last step */
    lc.targets = t->cfg.targets;
    if (soft) {
        lc.horizon_weight = t->cfg.horizon_weight;
        lc.step_weight = t->cfg.step_weight;
        lc.ms_weight = t->cfg.ms_weight;
        lc.ms_scales = t->cfg.ms_scales;
        lc.freq_weight = t->cfg.freq_weight;
        lc.freq_temperature = t->cfg.freq_temperature;
        lc.aux_steps = t->cfg.aux_steps;
        alpha = t->cfg.alpha;
        if (t->cfg.alpha_warmup > 0 && t->epoch + 1 < t->cfg.alpha_warmup)
            alpha = t->cfg.alpha * (float)(t->epoch + 1) / (float)t->cfg.alpha_warmup;
        w_hard = 1.0f - alpha;
        w_soft = t->use_probs || t->m->cfg.mode == KDTS_MODE_POINT ? alpha : 0.0f;
        w_seq = t->cfg.beta;
    }
    t->alpha = alpha;
    kdts_rng_shuffle(&t->rng, t->idx, t->n + t->ne);
    for (b0 = 0; b0 < t->n + t->ne && nb < t->batches && t->step < t->planned; b0 += t->batch) {
        kdts_loss_value lv;
        double lh;
        int rows = t->n + t->ne - b0 < t->batch ? t->n + t->ne - b0 : t->batch;
        kdts_result r;
        t->rep.bad_batch = nb + 1;
        r = kdts__trainer_step(t, b0, rows, w_hard, w_soft, w_seq, &lc, &lv, &lh, err);
        if (r != KDTS_OK) return r;
        sums[0] += lv.total;
        sums[1] += lv.hard;
        sums[2] += lv.soft;
        sums[3] += lv.seq;
        sums[4] += lh;
        nb++;
        if (t->cfg.on_batch) {
            kdts__trainer_info(t, &in, nb, sums);
            if (t->cfg.on_batch(&in, t->cfg.user)) {
                t->stop = 1;
                t->rep.stopped = 1;
                break;
            }
        }
    }
    t->rep.bad_batch = 0;
    kdts__trainer_info(t, &in, nb, sums);
    t->epoch++;
    t->rep.epochs_run = t->epoch;
    t->rep.final_loss = in.loss;
    if (info) *info = in;
    return KDTS_OK;
}

/* Data-parallel validation: this process's share of the windows, the
   squared errors and window counts summed over the processes by on_sum. */
static kdts_result kdts__trainer_val_shared(kdts_trainer *t, double *mse, kdts_error *err)
{
    kdts_dataset part = *t->val;
    double v = 0.0, se[2] = {0.0, 0.0};
    int v0, vn;
    kdts_result r = KDTS_OK, all;
    kdts__share(t->val->n, t->cfg.shard_count, t->cfg.shard_index, 1, &v0, &vn);
    if (vn > 0) {
        part.x += (size_t)v0 * part.T * part.F;
        part.y += (size_t)v0 * part.T * part.h;
        part.n = vn;
        r = kdts__net_eval_ws(t->m, &t->ws_eval, t->eout, &part, t->evalbuf, &v, NULL, err);
        se[0] = v * ((double)vn * part.h);
        se[1] = vn;
    }
    all = t->cfg.on_sum(se, 2, r, t->cfg.user);
    if (r != KDTS_OK) return r;
    if (all != KDTS_OK)
        return kdts__fail(err, all, 0, 0, "validation stopped by the sum hook: %s", kdts_result_str(all));
    if (se[1] != (double)t->val->n)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "validation: the shares hold %g of %d windows", se[1], t->val->n);
    *mse = se[0] / ((double)t->val->n * t->h);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_trainer_validate(kdts_trainer *t, kdts_epoch_info *info, kdts_error *err)
{
    kdts_net *m = t->m;
    if (!m) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "trainer not set up");
    if (t->val) {
        double v = -1.0;
        kdts_result r = t->cfg.shard_count > 1 && t->cfg.on_sum
                            ? kdts__trainer_val_shared(t, &v, err)
                            : kdts__net_eval_ws(m, &t->ws_eval, t->eout, t->val, t->evalbuf, &v, NULL, err);
        if (r != KDTS_OK) return r;
        if (!(v <= (double)FLT_MAX))
            return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0,
                              "the validation MSE after epoch %d is %g, beyond float range: the model diverged, "
                              "or the validation split holds extreme values",
                              t->epoch, v);
        t->last_val = v;
        if (t->best_val < 0.0 || v < t->best_val) {
            t->best_val = v;
            t->best_epoch = t->epoch;
            t->since_best = 0;
            memcpy(t->best, m->params, m->nparams * sizeof(float));
        } else {
            t->since_best++;
        }
    } else {
        t->best_epoch = t->epoch;
    }
    if (info) {
        info->val_mse = t->val ? t->last_val : -1.0;
        info->best_val_mse = t->best_val;
        info->best_epoch = t->best_epoch;
        info->seconds = KDTS_NOW_SECONDS() - t->t0;
    }
    return KDTS_OK;
}

KDTSDEF int kdts_trainer_done(const kdts_trainer *t)
{
    if (!t->m || t->stop || t->epoch >= t->cfg.epochs || t->step >= t->planned) return 1;
    return t->val && t->cfg.patience > 0 && t->since_best >= t->cfg.patience;
}

KDTSDEF void kdts_trainer_finish(kdts_trainer *t, kdts_train_report *rep)
{
    if (t->m && t->val && t->best_val >= 0.0) memcpy(t->m->params, t->best, t->m->nparams * sizeof(float));
    t->rep.best_epoch = t->best_epoch;
    t->rep.best_val_mse = t->val ? t->best_val : -1.0;
    t->rep.steps = t->step;
    t->rep.epochs = t->cfg.epochs;
    t->rep.patience = t->cfg.patience;
    t->rep.seconds = KDTS_NOW_SECONDS() - t->t0;
    if (rep) *rep = t->rep;
}

KDTSDEF kdts_result kdts_net_train(kdts_net *m, const kdts_train_config *cfg, const kdts_dataset *train,
                                   const kdts_dataset *val, const kdts_net *const *teachers, int nteachers,
                                   kdts_train_report *rep, kdts_error *err)
{
    kdts_trainer t;
    kdts_result r;
    if (nteachers < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: %d teachers", nteachers);
    if (nteachers > 0 && cfg && cfg->soft_values)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: teachers and precomputed soft targets together");
    r = kdts_trainer_init(&t, m, cfg, train, val, err);
    if (r != KDTS_OK) return r;
    if (nteachers > 0 && (r = kdts_trainer_teachers(&t, teachers, nteachers, err)) != KDTS_OK) goto done;
    if (t.cfg.soft_values && (r = kdts_trainer_soft_targets(&t, t.cfg.soft_values, t.cfg.soft_probs, err)) != KDTS_OK)
        goto done;
    if (t.cfg.validate_start && t.val && (r = kdts_trainer_validate(&t, NULL, err)) != KDTS_OK) goto done;
    while (!kdts_trainer_done(&t)) {
        kdts_epoch_info info;
        int stopped_inside;
        if ((r = kdts_trainer_epoch(&t, &info, err)) != KDTS_OK) break;
        stopped_inside = t.stop;
        /* a stop inside the epoch still validates these weights */
        if ((r = kdts_trainer_validate(&t, &info, err)) != KDTS_OK) break;
        if (!stopped_inside && t.cfg.on_epoch && t.cfg.on_epoch(&info, t.cfg.user)) {
            t.stop = 1;
            t.rep.stopped = 1;
        }
    }
    if (r != KDTS_OK && r != KDTS_ERR_NONFINITE) {
        /* not a numeric stop: keep the report, leave the weights as they are */
        t.rep.seconds = KDTS_NOW_SECONDS() - t.t0;
        if (rep) *rep = t.rep;
        goto done;
    }
    kdts_trainer_finish(&t, rep);
done:
    kdts_trainer_free(&t);
    return r;
}


KDTSDEF kdts_result kdts_train(kdts_lstm *m, const kdts_train_config *cfg, const kdts_dataset *train,
                               const kdts_dataset *val, const kdts_lstm *const *teachers, int nteachers,
                               kdts_train_report *rep, kdts_error *err)
{
    kdts_net net, *views = NULL;
    const kdts_net **tp = NULL;
    kdts_result r;
    int k;
    if (!m) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: no model");
    if (nteachers < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: %d teachers", nteachers);
    kdts_net_view_lstm(&net, m);
    if (nteachers > 0) {
        if (!teachers) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: no teachers");
        views = (kdts_net *)KDTS_MALLOC((size_t)nteachers * sizeof(kdts_net));
        tp = (const kdts_net **)KDTS_MALLOC((size_t)nteachers * sizeof(kdts_net *));
        if (!views || !tp) {
            if (views) KDTS_FREE(views);
            if (tp) KDTS_FREE(tp);
            return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory");
        }
        for (k = 0; k < nteachers; ++k) {
            if (!teachers[k]) {
                KDTS_FREE(views);
                KDTS_FREE(tp);
                return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "training: teacher %d is NULL", k + 1);
            }
            kdts_net_view_lstm(&views[k], teachers[k]);
            tp[k] = &views[k];
        }
    }
    r = kdts_net_train(&net, cfg, train, val, tp, nteachers, rep, err);
    if (views) KDTS_FREE(views);
    if (tp) KDTS_FREE((void *)tp);
    return r;
}

/* ======================================================================== */
/* >>data                                                                   */
/* ======================================================================== */

/* Quote at most `max` bytes of s[0..n), non-printable bytes shown as '?'. */
static void kdts__msg_quoted(kdts__msg *m, const char *s, size_t n, size_t max)
{
    size_t i;
    kdts__msg_str(m, "\"");
    for (i = 0; i < n && i < max && m->n + 1 < sizeof m->buf; ++i) {
        unsigned char c = (unsigned char)s[i];
        m->buf[m->n++] = (char)((c < 32 || c == 127) ? '?' : c);
    }
    m->buf[m->n] = 0;
    kdts__msg_str(m, n > max ? "...\"" : "\"");
}

static kdts_result kdts__msg_fail(kdts_error *err, kdts_result code, long line, long col,
                                  const kdts__msg *m)
{
    if (err) {
        err->code = code;
        err->line = line;
        err->column = col;
        memcpy(err->message, m->buf, m->n + 1);
    }
    return code;
}

static kdts_result kdts__data_fail(kdts_error *err, kdts_result code, const char *what)
{
    kdts__msg m;
    m.n = 0;
    m.buf[0] = 0;
    kdts__msg_str(&m, what);
    return kdts__msg_fail(err, code, 0, 0, &m);
}

/* ---- number parsing ------------------------------------------------------- */

#define KDTS__NUM_OK 0
#define KDTS__NUM_MISSING 1
#define KDTS__NUM_INF 2
#define KDTS__NUM_TEXT 3

static const double kdts__pow10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

static int kdts__csv_lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Case-insensitive: does s[0..n) equal the lower-case word w? */
static int kdts__csv_word(const char *s, size_t n, const char *w)
{
    size_t i;
    for (i = 0; i < n; ++i)
        if (!w[i] || kdts__csv_lower((unsigned char)s[i]) != w[i]) return 0;
    return w[n] == 0;
}

/* Round the positive double d (the correctly rounded value of m * 10^e, with
   m and 10^e exact) to the nearest float. When d lies exactly halfway
   between two floats, the exact residual (FMA) says on which side the true
   value lies, which makes the result correctly rounded. */
static float kdts__csv_round(double d, double m, double p, int divide)
{
    float f = (float)d, lo, hi;
    double mid, r;
    unsigned long long bits;
    if (d > (double)FLT_MAX || (double)f == d) return f;
    if (d < (double)FLT_MIN * 2.0) {
        /* subnormal range: generic midpoint test */
        lo = (double)f < d ? f : nextafterf(f, 0.0f);
        hi = nextafterf(lo, FLT_MAX);
        mid = ((double)lo + (double)hi) * 0.5;
        if (d != mid) return f;
    } else {
        memcpy(&bits, &d, sizeof bits);
        if ((bits & 0x1FFFFFFFULL) != 0x10000000ULL) return f;
        lo = (double)f < d ? f : nextafterf(f, 0.0f);
        hi = nextafterf(lo, FLT_MAX);
    }
    /* residual of the exact value minus d */
    r = divide ? fma(-d, p, m) : fma(m, p, -d);
    if (r > 0) return hi;
    if (r < 0) return lo;
    return f;
}

/* Parse s[0..n) as a float. Returns KDTS__NUM_*. Locale-independent. */
static int kdts__csv_number(const char *s, size_t n, float *out)
{
    const char *e;
    unsigned long long m = 0;
    int nd = 0, dexp = 0, any = 0, neg = 0, sign = 0;
    double d, dm;
    float f;
    if (!n) return KDTS__NUM_MISSING; /* s may be NULL then: NULL + 0 is undefined */
    e = s + n;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if (s == e) return KDTS__NUM_MISSING;
    if (*s == '+' || *s == '-') { neg = *s == '-'; sign = 1; s++; }
    while (s < e && *s == '0') { s++; any = 1; }
    while (s < e && (unsigned)(*s - '0') < 10u) {
        if (nd < 19) { m = m * 10 + (unsigned)(*s - '0'); nd++; }
        else if (dexp < 1000000) dexp++; /* clamped: no int overflow on huge fields */
        s++;
        any = 1;
    }
    if (s < e && *s == '.') {
        s++;
        if (nd == 0)
            while (s < e && *s == '0') { s++; if (dexp > -1000000) dexp--; any = 1; }
        while (s < e && (unsigned)(*s - '0') < 10u) {
            if (nd < 19) { m = m * 10 + (unsigned)(*s - '0'); nd++; dexp--; }
            s++;
            any = 1;
        }
    }
    if (!any) {
        size_t k = (size_t)(e - s);
        if (kdts__csv_word(s, k, "nan")) return KDTS__NUM_MISSING;
        if (kdts__csv_word(s, k, "inf") || kdts__csv_word(s, k, "infinity")) return KDTS__NUM_INF;
        if (!sign && (kdts__csv_word(s, k, "na") || kdts__csv_word(s, k, "null")))
            return KDTS__NUM_MISSING;
        return KDTS__NUM_TEXT;
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        int es = 1, ex = 0;
        s++;
        if (s < e && (*s == '+' || *s == '-')) { es = *s == '-' ? -1 : 1; s++; }
        if (s == e || (unsigned)(*s - '0') >= 10u) return KDTS__NUM_TEXT;
        while (s < e && (unsigned)(*s - '0') < 10u) {
            if (ex < 100000) ex = ex * 10 + (*s - '0');
            s++;
        }
        dexp += es * ex;
    }
    if (s != e) return KDTS__NUM_TEXT;
    if (m == 0) {
        *out = neg ? -0.0f : 0.0f;
        return KDTS__NUM_OK;
    }
    dm = (double)m;
    if (m < (1ULL << 53) && dexp >= -22 && dexp <= 22) {
        if (dexp >= 0) {
            d = dm * kdts__pow10[dexp];
            f = kdts__csv_round(d, dm, kdts__pow10[dexp], 0);
        } else {
            d = dm / kdts__pow10[-dexp];
            f = kdts__csv_round(d, dm, kdts__pow10[-dexp], 1);
        }
    } else {
        /* far exponents or > 15 digits: scaled in steps (not always the
           nearest float when the value lies within 1e-16 of a midpoint) */
        d = dm;
        if (dexp > 400) d = HUGE_VAL;
        else if (dexp < -400) d = 0.0;
        else {
            while (dexp > 22) { d *= 1e22; dexp -= 22; }
            while (dexp < -22) { d /= 1e22; dexp += 22; }
            d = dexp >= 0 ? d * kdts__pow10[dexp] : d / kdts__pow10[-dexp];
        }
        f = (float)d;
    }
    if (!(f - f == 0.0f)) return KDTS__NUM_INF;
    *out = neg ? -f : f;
    return KDTS__NUM_OK;
}

/* ---- CSV parser ------------------------------------------------------------
   A push parser: bytes arrive in chunks of any size (the whole buffer for the
   memory reader, fixed blocks for the file and callback readers). State is
   kept between chunks, so a field may span chunks; only fields that are kept
   (numbers, text, header names) are copied into the accumulator, so memory
   does not grow with line length. The header line is first gathered whole to
   detect the delimiter and skip a BOM, then parsed like every other line. */

#define KDTS__CSV_START 0   /* at the first byte of a field            */
#define KDTS__CSV_UNQ 1     /* inside an unquoted field                */
#define KDTS__CSV_QUO 2     /* inside a quoted field                   */
#define KDTS__CSV_QSEEN 3   /* a quote seen inside a quoted field      */
#define KDTS__CSV_AFTERCR 4 /* a record ended with \r; skip a \n       */

#define KDTS__CSV_HEADER 0  /* parsing the header line                 */
#define KDTS__CSV_PENDING 1 /* first data row, column kinds undecided  */
#define KDTS__CSV_DATA 2

#define KDTS__CSV_SKIP (-1) /* role of an ignored column; >= 0 numeric k; <= -2 text -2-k */

typedef struct kdts__csv {
    const kdts_csv_config *cfg;
    const char *fname;
    kdts_error *err;
    kdts_result rc;
    int delim;
    unsigned char cls[256]; /* 1 for the delimiter, \r and \n */
    int state, phase;
    long line, rec_line, field_line;
    int fi;      /* field number in the current record (0-based) */
    int keep;    /* the current field is copied to acc           */
    int quoted;  /* the current field began with a quote         */
    int qcr;     /* last byte inside quotes was \r               */
    size_t flen; /* bytes of the current field seen              */
    char *acc;
    size_t acc_len, acc_cap;
    /* header */
    char **names;
    int nnames;
    size_t names_cap;
    int nfile;
    int *role;
    /* first data row when columns are detected */
    char **pend;
    size_t *pend_len;
    long *pend_line;
    int npend;
    size_t pend_cap, pend_len_cap, pend_line_cap;
    /* output */
    long rows, cap;
    int ncol;
    float **col;
    long *missing;
    int *src;
    int ntext;
    char **tblob;
    size_t *tlen, *tcap;
    size_t **toff;
    int *tsrc;
    /* header line gathering */
    char *pre;
    size_t pre_len, pre_cap;
    int pre_inq, pre_done, pre_content;
    unsigned char lead[2];  /* the first bytes of the input (BOM check)  */
    int nlead;
} kdts__csv;

/* Make room for `need` elements of `elem` bytes in buf (capacity *cap).
   Returns the (possibly moved) buffer, or NULL with buf still valid. */
static void *kdts__csv_grow(void *buf, size_t *cap, size_t need, size_t elem)
{
    size_t nc, bytes;
    void *q;
    if (need <= *cap && buf) return buf;
    nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > ((size_t)-1) / 2) return NULL;
        nc *= 2;
    }
    if (!kdts__mul_ok(nc, elem, &bytes)) return NULL;
    q = KDTS_REALLOC(buf, bytes);
    if (!q) return NULL;
    *cap = nc;
    return q;
}
#define KDTS__CSV_GROW(ptr, type, capp, need, elem, fail)                         \
    do {                                                                          \
        void *kdts__q = kdts__csv_grow((void *)(ptr), (capp), (need), (elem));     \
        if (!kdts__q) { fail; }                                                   \
        (ptr) = (type)kdts__q;                                                    \
    } while (0)

static char *kdts__csv_strndup(const char *s, size_t n)
{
    char *d;
    if (n == (size_t)-1) return NULL;
    d = (char *)KDTS_MALLOC(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Start an error message: "file: line L, column C: ". */
static void kdts__csv_msg_begin(const kdts__csv *p, kdts__msg *m, long line, long col)
{
    m->n = 0;
    m->buf[0] = 0;
    if (p->fname) {
        kdts__msg_str(m, p->fname);
        kdts__msg_str(m, ": ");
    }
    if (line > 0) {
        kdts__msg_str(m, "line ");
        kdts__msg_long(m, line);
        if (col > 0) {
            kdts__msg_str(m, ", column ");
            kdts__msg_long(m, col);
        }
        kdts__msg_str(m, ": ");
    }
}

static void kdts__csv_fail(kdts__csv *p, kdts_result code, long line, long col, kdts__msg *m)
{
    if (p->rc) return;
    p->rc = kdts__msg_fail(p->err, code, line, col, m);
}

static void kdts__csv_nomem(kdts__csv *p)
{
    kdts__msg m;
    kdts__csv_msg_begin(p, &m, 0, 0);
    kdts__msg_str(&m, "out of memory");
    kdts__csv_fail(p, KDTS_ERR_NOMEM, 0, 0, &m);
}

/* Name of file column i for messages ("" if unknown). */
static const char *kdts__csv_colname(const kdts__csv *p, int i)
{
    return (i >= 0 && i < p->nnames) ? p->names[i] : "";
}

static void kdts__csv_append(kdts__csv *p, const char *s, size_t n)
{
    p->flen += n;
    if (!p->keep || !n) return;
    if (p->acc_len + n > KDTS_CSV_MAX_FIELD) {
        kdts__msg m;
        kdts__csv_msg_begin(p, &m, p->field_line, p->fi + 1);
        kdts__msg_str(&m, "field longer than ");
        kdts__msg_long(&m, (long)KDTS_CSV_MAX_FIELD);
        kdts__msg_str(&m, " bytes (KDTS_CSV_MAX_FIELD): not a CSV file, or an unterminated quote?");
        kdts__csv_fail(p, KDTS_ERR_PARSE, p->field_line, p->fi + 1, &m);
        return;
    }
    KDTS__CSV_GROW(p->acc, char *, &p->acc_cap, p->acc_len + n + 1, 1, kdts__csv_nomem(p); return);
    memcpy(p->acc + p->acc_len, s, n);
    p->acc_len += n;
}

static int kdts__csv_keeps(const kdts__csv *p)
{
    if (p->phase != KDTS__CSV_DATA) return 1;
    return p->fi < p->nfile && p->role[p->fi] != KDTS__CSV_SKIP;
}

static void kdts__csv_grow_rows(kdts__csv *p)
{
    long nc;
    int k;
    if (p->cap > LONG_MAX / 2) { kdts__csv_nomem(p); return; }
    if (p->cap) nc = p->cap * 2;
    else { /* start small when there are many columns: memory follows the data */
        long per = (long)p->ncol + p->ntext + 1;
        nc = 4096 / per;
        if (nc > 1024) nc = 1024;
        if (nc < 1) nc = 1;
    }
    if ((unsigned long)nc > ((size_t)-1) / sizeof(size_t)) { kdts__csv_nomem(p); return; }
    for (k = 0; k < p->ncol; ++k) {
        float *q = (float *)KDTS_REALLOC(p->col[k], (size_t)nc * sizeof(float));
        if (!q) { kdts__csv_nomem(p); return; }
        p->col[k] = q;
    }
    for (k = 0; k < p->ntext; ++k) {
        size_t *q = (size_t *)KDTS_REALLOC(p->toff[k], (size_t)nc * sizeof(size_t));
        if (!q) { kdts__csv_nomem(p); return; }
        p->toff[k] = q;
    }
    p->cap = nc;
}

/* A data field of a kept column. */
static void kdts__csv_store(kdts__csv *p, int role, const char *s, size_t n)
{
    kdts__msg m;
    if (role >= 0) {
        float v = 0.0f;
        int r = kdts__csv_number(s, n, &v);
        if (r == KDTS__NUM_OK) {
            p->col[role][p->rows] = v;
            return;
        }
        if (r == KDTS__NUM_MISSING) {
            p->missing[role]++;
            p->col[role][p->rows] = (float)NAN;
            if (p->cfg->missing == KDTS_MISSING_ERROR) {
                kdts__csv_msg_begin(p, &m, p->field_line, p->fi + 1);
                kdts__msg_str(&m, "missing value in column \"");
                kdts__msg_str(&m, kdts__csv_colname(p, p->fi));
                kdts__msg_str(&m, "\": ");
                kdts__msg_quoted(&m, s, n, 32);
                kdts__msg_str(&m, " (choose a missing-value policy to fill it)");
                kdts__csv_fail(p, KDTS_ERR_MISSING, p->field_line, p->fi + 1, &m);
            }
            return;
        }
        kdts__csv_msg_begin(p, &m, p->field_line, p->fi + 1);
        if (r == KDTS__NUM_INF) {
            kdts__msg_str(&m, "non-finite number in column \"");
            kdts__msg_str(&m, kdts__csv_colname(p, p->fi));
            kdts__msg_str(&m, "\": ");
            kdts__msg_quoted(&m, s, n, 32);
            kdts__msg_str(&m, " (infinite or out of float range)");
            kdts__csv_fail(p, KDTS_ERR_NONFINITE, p->field_line, p->fi + 1, &m);
        } else {
            kdts__msg_str(&m, "expected a number in column \"");
            kdts__msg_str(&m, kdts__csv_colname(p, p->fi));
            kdts__msg_str(&m, "\", found ");
            kdts__msg_quoted(&m, s, n, 32);
            kdts__csv_fail(p, KDTS_ERR_PARSE, p->field_line, p->fi + 1, &m);
        }
        return;
    } else {
        int k = -2 - role;
        size_t need;
        if (!kdts__add_ok(p->tlen[k], n + 1, &need)) { kdts__csv_nomem(p); return; }
        KDTS__CSV_GROW(p->tblob[k], char *, &p->tcap[k], need, 1, kdts__csv_nomem(p); return);
        p->toff[k][p->rows] = p->tlen[k];
        if (n) memcpy(p->tblob[k] + p->tlen[k], s, n);
        p->tblob[k][p->tlen[k] + n] = 0;
        p->tlen[k] += n + 1;
    }
}

/* Allocate the per-column output arrays once the roles are known. */
static void kdts__csv_setup(kdts__csv *p)
{
    int i, nc = 0, nt = 0;
    for (i = 0; i < p->nfile; ++i) {
        if (p->role[i] >= 0) nc++;
        else if (p->role[i] <= -2) nt++;
    }
    p->ncol = nc;
    p->ntext = nt;
    p->col = (float **)KDTS_MALLOC(sizeof(float *) * (size_t)(nc + 1));
    p->missing = (long *)KDTS_MALLOC(sizeof(long) * (size_t)(nc + 1));
    p->src = (int *)KDTS_MALLOC(sizeof(int) * (size_t)(nc + 1));
    p->tblob = (char **)KDTS_MALLOC(sizeof(char *) * (size_t)(nt + 1));
    p->tlen = (size_t *)KDTS_MALLOC(sizeof(size_t) * (size_t)(nt + 1));
    p->tcap = (size_t *)KDTS_MALLOC(sizeof(size_t) * (size_t)(nt + 1));
    p->toff = (size_t **)KDTS_MALLOC(sizeof(size_t *) * (size_t)(nt + 1));
    p->tsrc = (int *)KDTS_MALLOC(sizeof(int) * (size_t)(nt + 1));
    if (!p->col || !p->missing || !p->src || !p->tblob || !p->tlen || !p->tcap || !p->toff ||
        !p->tsrc) {
        p->ncol = p->ntext = 0; /* nothing inside to free yet */
        kdts__csv_nomem(p);
        return;
    }
    for (i = 0; i < nc; ++i) { p->col[i] = NULL; p->missing[i] = 0; }
    for (i = 0; i < nt; ++i) { p->tblob[i] = NULL; p->tlen[i] = p->tcap[i] = 0; p->toff[i] = NULL; }
    for (i = 0; i < p->nfile; ++i) {
        if (p->role[i] >= 0) p->src[p->role[i]] = i;
        else if (p->role[i] <= -2) p->tsrc[-2 - p->role[i]] = i;
    }
}

/* After the header: map requested columns to roles. */
static void kdts__csv_resolve(kdts__csv *p)
{
    const kdts_csv_config *c = p->cfg;
    int i, j, k = 0, nt = 0;
    kdts__msg m;
    p->role = (int *)KDTS_MALLOC(sizeof(int) * (size_t)(p->nfile + 1));
    if (!p->role) { kdts__csv_nomem(p); return; }
    for (i = 0; i < p->nfile; ++i) p->role[i] = KDTS__CSV_SKIP;
    if (c->n_columns <= 0 && c->n_column_indices <= 0) {
        p->phase = KDTS__CSV_PENDING;
        return;
    }
    for (j = 0; j < c->n_columns + c->n_column_indices; ++j) {
        int idx = -1;
        if (j < c->n_columns) {
            const char *want = c->columns ? c->columns[j] : NULL;
            int dup = -1;
            for (i = 0; want && i < p->nnames; ++i)
                if (strcmp(p->names[i], want) == 0) {
                    if (idx < 0) idx = i;
                    else if (dup < 0) dup = i;
                }
            if (dup >= 0) {
                kdts__csv_msg_begin(p, &m, p->rec_line, 0);
                kdts__msg_str(&m, "column name ");
                kdts__msg_quoted(&m, want, strlen(want), 64);
                kdts__msg_str(&m, " appears more than once in the header (fields ");
                kdts__msg_long(&m, idx + 1);
                kdts__msg_str(&m, " and ");
                kdts__msg_long(&m, dup + 1);
                kdts__msg_str(&m, "): choose the column by its field number");
                kdts__csv_fail(p, KDTS_ERR_ARG, p->rec_line, 0, &m);
                return;
            }
            if (idx < 0) {
                kdts__csv_msg_begin(p, &m, p->rec_line, 0);
                kdts__msg_str(&m, "column \"");
                kdts__msg_str(&m, want ? want : "(null)");
                kdts__msg_str(&m, "\" not found; the columns are:");
                for (i = 0; i < p->nnames; ++i) {
                    kdts__msg_str(&m, i ? ", \"" : " \"");
                    kdts__msg_str(&m, p->names[i]);
                    kdts__msg_str(&m, "\"");
                }
                kdts__csv_fail(p, KDTS_ERR_NOTFOUND, p->rec_line, 0, &m);
                return;
            }
        } else {
            idx = c->column_indices ? c->column_indices[j - c->n_columns] : -1;
            if (idx < 0 || idx >= p->nfile) {
                kdts__csv_msg_begin(p, &m, p->rec_line, 0);
                kdts__msg_str(&m, "column index ");
                kdts__msg_long(&m, idx);
                kdts__msg_str(&m, " out of range: the header has ");
                kdts__msg_long(&m, p->nfile);
                kdts__msg_str(&m, " columns (0-based indices)");
                kdts__csv_fail(p, KDTS_ERR_NOTFOUND, p->rec_line, 0, &m);
                return;
            }
        }
        if (p->role[idx] != KDTS__CSV_SKIP || k >= KDTS_MAX_COLUMNS) {
            kdts__csv_msg_begin(p, &m, 0, 0);
            kdts__msg_str(&m, k >= KDTS_MAX_COLUMNS ? "too many columns requested (KDTS_MAX_COLUMNS)"
                                                    : "column requested twice: \"");
            if (k < KDTS_MAX_COLUMNS) {
                kdts__msg_str(&m, p->names[idx]);
                kdts__msg_str(&m, "\"");
            }
            kdts__csv_fail(p, KDTS_ERR_ARG, 0, 0, &m);
            return;
        }
        p->role[idx] = k++;
    }
    if (c->keep_text)
        for (i = 0; i < p->nfile; ++i)
            if (p->role[i] == KDTS__CSV_SKIP) p->role[i] = -2 - nt++;
    p->phase = KDTS__CSV_DATA;
    kdts__csv_setup(p);
}

static void kdts__csv_emit(kdts__csv *p, const char *s, size_t n);
static void kdts__csv_record_end(kdts__csv *p);

/* First data row complete (detection mode): decide which columns are numeric,
   then replay the stored fields. */
static void kdts__csv_decide(kdts__csv *p)
{
    int i, k = 0, nt = 0, nf;
    float v;
    kdts__msg m;
    nf = p->npend < p->nfile ? p->npend : p->nfile;
    for (i = 0; i < nf; ++i) {
        int r = kdts__csv_number(p->pend[i], p->pend_len[i], &v);
        if (r != KDTS__NUM_TEXT) {
            if (k >= KDTS_MAX_COLUMNS) {
                kdts__csv_msg_begin(p, &m, 0, 0);
                kdts__msg_str(&m, "more numeric columns than KDTS_MAX_COLUMNS; choose columns");
                kdts__csv_fail(p, KDTS_ERR_ARG, 0, 0, &m);
                return;
            }
            p->role[i] = k++;
        }
    }
    if (p->cfg->keep_text)
        for (i = 0; i < p->nfile; ++i)
            if (p->role[i] == KDTS__CSV_SKIP) p->role[i] = -2 - nt++;
    p->phase = KDTS__CSV_DATA;
    kdts__csv_setup(p);
    for (i = 0; i < p->npend && !p->rc; ++i) {
        p->fi = i;
        p->field_line = p->pend_line[i];
        kdts__csv_emit(p, p->pend[i], p->pend_len[i]);
    }
    if (p->rc) return;
    p->fi = p->npend;
    kdts__csv_record_end(p);
}

/* A complete field s[0..n) at field number p->fi. */
static void kdts__csv_emit(kdts__csv *p, const char *s, size_t n)
{
    kdts__msg m;
    if (p->phase == KDTS__CSV_DATA) {
        int role;
        if (p->fi >= p->nfile) {
            kdts__csv_msg_begin(p, &m, p->field_line, p->fi + 1);
            kdts__msg_str(&m, "too many fields: the header has ");
            kdts__msg_long(&m, p->nfile);
            kdts__csv_fail(p, KDTS_ERR_PARSE, p->field_line, p->fi + 1, &m);
            return;
        }
        if (p->fi == 0 && p->rows >= p->cap) {
            kdts__csv_grow_rows(p);
            if (p->rc) return;
        }
        role = p->role[p->fi];
        if (role != KDTS__CSV_SKIP) kdts__csv_store(p, role, s, n);
        return;
    }
    if (p->phase == KDTS__CSV_HEADER) {
        char *nm;
        if (!p->quoted) {
            while (n && (*s == ' ' || *s == '\t')) { s++; n--; }
            while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
        }
        if (p->nnames >= INT_MAX - 1) { kdts__csv_nomem(p); return; }
        KDTS__CSV_GROW(p->names, char **, &p->names_cap, (size_t)p->nnames + 1, sizeof(char *),
                       kdts__csv_nomem(p); return);
        nm = kdts__csv_strndup(s, n);
        if (!nm) { kdts__csv_nomem(p); return; }
        p->names[p->nnames++] = nm;
        return;
    }
    /* pending first data row */
    {
        char *cp;
        size_t need = (size_t)p->npend + 1;
        if (p->npend >= p->nfile) { /* checked while streaming: the row is not held whole */
            kdts__csv_msg_begin(p, &m, p->field_line, p->npend + 1);
            kdts__msg_str(&m, "too many fields: the header has ");
            kdts__msg_long(&m, p->nfile);
            kdts__csv_fail(p, KDTS_ERR_PARSE, p->field_line, p->npend + 1, &m);
            return;
        }
        if (p->npend >= INT_MAX - 1) { kdts__csv_nomem(p); return; }
        KDTS__CSV_GROW(p->pend, char **, &p->pend_cap, need, sizeof(char *), kdts__csv_nomem(p); return);
        KDTS__CSV_GROW(p->pend_len, size_t *, &p->pend_len_cap, need, sizeof(size_t),
                       kdts__csv_nomem(p); return);
        KDTS__CSV_GROW(p->pend_line, long *, &p->pend_line_cap, need, sizeof(long),
                       kdts__csv_nomem(p); return);
        cp = kdts__csv_strndup(s, n);
        if (!cp) { kdts__csv_nomem(p); return; }
        p->pend[p->npend] = cp;
        p->pend_len[p->npend] = n;
        p->pend_line[p->npend] = p->field_line;
        p->npend++;
    }
}

/* The record ended after p->fi fields. */
static void kdts__csv_record_end(kdts__csv *p)
{
    kdts__msg m;
    if (p->phase == KDTS__CSV_DATA) {
        if (p->fi < p->nfile) {
            kdts__csv_msg_begin(p, &m, p->rec_line, p->fi + 1);
            kdts__msg_str(&m, "short row: expected ");
            kdts__msg_long(&m, p->nfile);
            kdts__msg_str(&m, " fields, found ");
            kdts__msg_long(&m, p->fi);
            kdts__csv_fail(p, KDTS_ERR_PARSE, p->rec_line, p->fi + 1, &m);
            return;
        }
        p->rows++;
    } else if (p->phase == KDTS__CSV_HEADER) {
        p->nfile = p->nnames;
        kdts__csv_resolve(p);
    } else {
        kdts__csv_decide(p);
        return;
    }
    p->fi = 0;
}

/* A field of p->flen bytes ended (kept content s[0..n)) by `term`: the
   delimiter, '\n', '\r', or -1 at the end of the input. */
static void kdts__csv_field_end(kdts__csv *p, const char *s, size_t n, int term)
{
    if (term != p->delim && p->fi == 0 && p->flen == 0 && !p->quoted) {
        /* blank line: skipped */
    } else {
        kdts__csv_emit(p, s, n);
        if (p->rc) return;
        p->fi++;
        if (term != p->delim) kdts__csv_record_end(p);
    }
    if (term == '\n' || term == '\r') p->line++;
    p->state = term == '\r' ? KDTS__CSV_AFTERCR : KDTS__CSV_START;
    p->quoted = 0;
    p->flen = 0;
    p->acc_len = 0;
}

static void kdts__csv_core(kdts__csv *p, const char *s, size_t n)
{
    const char *e;
    const unsigned char *cls = p->cls;
    if (!s || !n) return; /* s may be NULL for no bytes: NULL + 0 is undefined */
    e = s + n;
    while (s < e && !p->rc) {
        switch (p->state) {
        case KDTS__CSV_START: {
            const char *f;
            if (p->fi == 0) p->rec_line = p->line;
            p->field_line = p->line;
            p->keep = kdts__csv_keeps(p);
            if (*s == '"') {
                p->quoted = 1;
                p->qcr = 0;
                p->state = KDTS__CSV_QUO;
                s++;
                break;
            }
            f = s;
            while (s < e && !cls[(unsigned char)*s]) s++;
            if (s == e) {
                kdts__csv_append(p, f, (size_t)(s - f));
                p->state = KDTS__CSV_UNQ;
                break;
            }
            p->flen = (size_t)(s - f);
            kdts__csv_field_end(p, f, (size_t)(s - f), (unsigned char)*s);
            s++;
            break;
        }
        case KDTS__CSV_UNQ: {
            const char *f = s;
            while (s < e && !cls[(unsigned char)*s]) s++;
            kdts__csv_append(p, f, (size_t)(s - f));
            if (s < e && !p->rc) {
                kdts__csv_field_end(p, p->acc, p->acc_len, (unsigned char)*s);
                s++;
            }
            break;
        }
        case KDTS__CSV_QUO: {
            const char *f = s;
            while (s < e && *s != '"') {
                if (*s == '\r') { p->line++; p->qcr = 1; }
                else { if (*s == '\n' && !p->qcr) p->line++; p->qcr = 0; }
                s++;
            }
            kdts__csv_append(p, f, (size_t)(s - f));
            if (s < e) {
                p->state = KDTS__CSV_QSEEN;
                p->qcr = 0;
                s++;
            }
            break;
        }
        case KDTS__CSV_QSEEN:
            if (*s == '"') {
                kdts__csv_append(p, s, 1);
                p->state = KDTS__CSV_QUO;
                s++;
            } else if (cls[(unsigned char)*s]) {
                kdts__csv_field_end(p, p->acc, p->acc_len, (unsigned char)*s);
                s++;
            } else {
                p->state = KDTS__CSV_UNQ; /* text after the closing quote: kept as is */
            }
            break;
        default: /* KDTS__CSV_AFTERCR */
            if (*s == '\n') s++;
            p->state = KDTS__CSV_START;
            break;
        }
    }
}

/* The header line is complete (or the input ended): skip the BOM, choose the
   delimiter and parse the gathered bytes. */
static void kdts__csv_begin(kdts__csv *p)
{
    const char *s = p->pre;
    size_t n = p->pre_len, i;
    int inq = 0;
    p->pre_done = 1;
    if (n >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF) {
        s += 3;
        n -= 3;
    }
    if (p->cfg->delimiter) {
        p->delim = (unsigned char)p->cfg->delimiter;
        if (p->delim == '"' || p->delim == '\r' || p->delim == '\n') {
            kdts__msg m;
            kdts__csv_msg_begin(p, &m, 0, 0);
            kdts__msg_str(&m, "the delimiter cannot be a quote or a line end");
            kdts__csv_fail(p, KDTS_ERR_ARG, 0, 0, &m);
            return;
        }
    } else {
        long nc = 0, ns = 0, nt = 0;
        for (i = 0; i < n; ++i) {
            char c = s[i];
            if (c == '"') inq = !inq;
            else if (!inq) {
                if (c == ',') nc++;
                else if (c == ';') ns++;
                else if (c == '\t') nt++;
            }
        }
        p->delim = ',';
        if (ns > nc && ns >= nt) p->delim = ';';
        else if (nt > nc && nt > ns) p->delim = '\t';
    }
    memset(p->cls, 0, sizeof p->cls);
    p->cls[p->delim] = 1;
    p->cls[(unsigned char)'\n'] = 1;
    p->cls[(unsigned char)'\r'] = 1;
    kdts__csv_core(p, s, n);
}

/* A UTF-16 byte-order mark at the start: refused with what to do. */
static int kdts__csv_utf16(kdts__csv *p)
{
    kdts__msg m;
    if (p->nlead < 2 || !((p->lead[0] == 0xFF && p->lead[1] == 0xFE) || (p->lead[0] == 0xFE && p->lead[1] == 0xFF)))
        return 0;
    kdts__csv_msg_begin(p, &m, 1, 0);
    kdts__msg_str(&m, "UTF-16 is not supported; convert to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)");
    kdts__csv_fail(p, KDTS_ERR_PARSE, 1, 0, &m);
    return 1;
}

static void kdts__csv_feed(kdts__csv *p, const char *s, size_t n)
{
    if (p->rc) return;
    if (!p->pre_done) {
        size_t i;
        int found = 0;
        for (i = 0; i < n && p->nlead < 2; ++i) p->lead[p->nlead++] = (unsigned char)s[i];
        if (kdts__csv_utf16(p)) return;
        for (i = 0; i < n; ++i) {
            char c = s[i];
            if (c == 0) {
                kdts__msg m;
                kdts__csv_msg_begin(p, &m, 1, 0);
                kdts__msg_str(&m, "NUL byte in the header line (byte ");
                kdts__msg_long(&m, (long)(p->pre_len + i + 1));
                kdts__msg_str(&m, "): not a text file, or not UTF-8");
                kdts__csv_fail(p, KDTS_ERR_PARSE, 1, 0, &m);
                return;
            }
            if (c == '"') p->pre_inq = !p->pre_inq;
            if (!p->pre_inq && (c == '\n' || c == '\r')) {
                if (p->pre_content) { found = 1; i++; break; }
            } else {
                p->pre_content = 1;
            }
        }
        if (p->pre_len + i > KDTS_CSV_MAX_HEADER) {
            kdts__msg m;
            kdts__csv_msg_begin(p, &m, 1, 0);
            kdts__msg_str(&m, "header line longer than ");
            kdts__msg_long(&m, (long)KDTS_CSV_MAX_HEADER);
            kdts__msg_str(&m, " bytes (KDTS_CSV_MAX_HEADER): not a CSV file?");
            kdts__csv_fail(p, KDTS_ERR_PARSE, 1, 0, &m);
            return;
        }
        KDTS__CSV_GROW(p->pre, char *, &p->pre_cap, p->pre_len + i + 1, 1, kdts__csv_nomem(p); return);
        if (i) memcpy(p->pre + p->pre_len, s, i);
        p->pre_len += i;
        if (!found) return;
        kdts__csv_begin(p);
        s += i;
        n -= i;
    }
    kdts__csv_core(p, s, n);
}

/* Fill missing values (NaN) of x[0..n); x has at least one valid value. */
static void kdts__csv_fill(float *x, long n, int policy)
{
    long i, j, first = 0, last;
    while (first < n && x[first] != x[first]) first++;
    for (i = 0; i < first; ++i) x[i] = x[first];
    last = first;
    for (i = first + 1; i < n; ++i) {
        if (x[i] == x[i]) {
            if (policy == KDTS_MISSING_INTERPOLATE && i - last > 1) {
                double a = x[last], b = x[i], span = (double)(i - last);
                for (j = last + 1; j < i; ++j) x[j] = (float)(a + (b - a) * (double)(j - last) / span);
            }
            last = i;
        } else if (policy == KDTS_MISSING_FFILL) {
            x[i] = x[last];
        }
    }
    for (i = last + 1; i < n; ++i) x[i] = x[last];
}

static void kdts__csv_finish(kdts__csv *p)
{
    kdts__msg m;
    int k;
    if (p->rc) return;
    if (!p->pre_done) kdts__csv_begin(p);
    if (p->rc) return;
    switch (p->state) {
    case KDTS__CSV_START:
        if (p->fi > 0) {
            p->field_line = p->line;
            p->keep = kdts__csv_keeps(p);
            p->flen = 0;
            kdts__csv_field_end(p, "", 0, -1);
        }
        break;
    case KDTS__CSV_UNQ:
    case KDTS__CSV_QSEEN:
        kdts__csv_field_end(p, p->acc, p->acc_len, -1);
        break;
    case KDTS__CSV_QUO:
        kdts__csv_msg_begin(p, &m, p->field_line, p->fi + 1);
        kdts__msg_str(&m, "unterminated quoted field (a closing \" is missing)");
        kdts__csv_fail(p, KDTS_ERR_PARSE, p->field_line, p->fi + 1, &m);
        return;
    default:
        break;
    }
    if (p->rc) return;
    if (p->phase == KDTS__CSV_HEADER) {
        kdts__csv_msg_begin(p, &m, 1, 1);
        kdts__msg_str(&m, "empty file: expected a header line");
        kdts__csv_fail(p, KDTS_ERR_DATA, 1, 1, &m);
        return;
    }
    if (p->rows == 0) {
        kdts__csv_msg_begin(p, &m, p->line, 1);
        kdts__msg_str(&m, "the header is not followed by any data row");
        kdts__csv_fail(p, KDTS_ERR_DATA, p->line, 1, &m);
        return;
    }
    for (k = 0; k < p->ncol; ++k) {
        if (!p->missing[k]) continue;
        if (p->missing[k] == p->rows) {
            kdts__csv_msg_begin(p, &m, 0, p->src[k] + 1);
            kdts__msg_str(&m, "column \"");
            kdts__msg_str(&m, p->names[p->src[k]]);
            kdts__msg_str(&m, "\" has no values, only missing ones");
            kdts__csv_fail(p, KDTS_ERR_MISSING, 0, p->src[k] + 1, &m);
            return;
        }
        kdts__csv_fill(p->col[k], p->rows, p->cfg->missing);
    }
}

static void kdts__csv_init(kdts__csv *p, const kdts_csv_config *cfg, const char *fname,
                           kdts_error *err)
{
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    p->fname = fname;
    p->err = err;
    p->line = 1;
    p->rec_line = 1;
    p->field_line = 1;
}

static void kdts__csv_free(kdts__csv *p)
{
    int i;
    for (i = 0; i < p->nnames; ++i) KDTS_FREE(p->names[i]);
    for (i = 0; i < p->npend; ++i) KDTS_FREE(p->pend[i]);
    if (p->col) for (i = 0; i < p->ncol; ++i) KDTS_FREE(p->col[i]);
    if (p->tblob) for (i = 0; i < p->ntext; ++i) KDTS_FREE(p->tblob[i]);
    if (p->toff) for (i = 0; i < p->ntext; ++i) KDTS_FREE(p->toff[i]);
    KDTS_FREE(p->names);
    KDTS_FREE(p->pend);
    KDTS_FREE(p->pend_len);
    KDTS_FREE(p->pend_line);
    KDTS_FREE(p->role);
    KDTS_FREE(p->acc);
    KDTS_FREE(p->pre);
    KDTS_FREE(p->col);
    KDTS_FREE(p->missing);
    KDTS_FREE(p->src);
    KDTS_FREE(p->tblob);
    KDTS_FREE(p->tlen);
    KDTS_FREE(p->tcap);
    KDTS_FREE(p->toff);
    KDTS_FREE(p->tsrc);
}

/* Move the parsed columns into *out (only on success). */
static kdts_result kdts__csv_take(kdts__csv *p, kdts_table *out)
{
    kdts_table t;
    int k;
    memset(&t, 0, sizeof t);
    t.rows = p->rows;
    t.cols = p->ncol;
    t.file_columns = p->nfile;
    t.delimiter = (char)p->delim;
    t.text_cols = p->ntext;
    t.name = (char **)KDTS_MALLOC(sizeof(char *) * (size_t)(p->ncol + 1));
    t.text_name = (char **)KDTS_MALLOC(sizeof(char *) * (size_t)(p->ntext + 1));
    if (t.name) for (k = 0; k < p->ncol; ++k) t.name[k] = NULL;
    if (t.text_name) for (k = 0; k < p->ntext; ++k) t.text_name[k] = NULL;
    if (!t.name || !t.text_name) goto nomem;
    for (k = 0; k < p->ncol; ++k) {
        const char *nm = p->names[p->src[k]];
        if (!(t.name[k] = kdts__csv_strndup(nm, strlen(nm)))) goto nomem;
    }
    for (k = 0; k < p->ntext; ++k) {
        const char *nm = p->names[p->tsrc[k]];
        if (!(t.text_name[k] = kdts__csv_strndup(nm, strlen(nm)))) goto nomem;
    }
    /* give back the spare capacity of the column arrays */
    for (k = 0; k < p->ncol && p->rows > 0; ++k) { /* realloc(p, 0) may free p */
        float *q = (float *)KDTS_REALLOC(p->col[k], (size_t)p->rows * sizeof(float));
        if (q) p->col[k] = q;
    }
    t.col = p->col;
    t.missing = p->missing;
    t.file_column = p->src;
    t.text_blob = p->tblob;
    t.text_offset = p->toff;
    p->col = NULL;
    p->missing = NULL;
    p->src = NULL;
    p->tblob = NULL;
    p->toff = NULL;
    *out = t;
    return KDTS_OK;
nomem:
    if (t.name) for (k = 0; k < p->ncol; ++k) KDTS_FREE(t.name[k]);
    if (t.text_name) for (k = 0; k < p->ntext; ++k) KDTS_FREE(t.text_name[k]);
    KDTS_FREE(t.name);
    KDTS_FREE(t.text_name);
    kdts__csv_nomem(p);
    return p->rc;
}

static kdts_result kdts__csv_done(kdts__csv *p, kdts_table *out)
{
    kdts_result rc;
    kdts__csv_finish(p);
    rc = p->rc ? p->rc : kdts__csv_take(p, out);
    kdts__csv_free(p);
    return rc;
}

KDTSDEF kdts_csv_config kdts_csv_config_default(void)
{
    kdts_csv_config c;
    memset(&c, 0, sizeof c);
    return c;
}

KDTSDEF kdts_result kdts_csv_read_mem(kdts_table *out, const void *data, size_t len,
                                      const kdts_csv_config *cfg, kdts_error *err)
{
    kdts__csv p;
    kdts_csv_config def;
    if (!out || (!data && len)) return kdts__data_fail(err, KDTS_ERR_ARG, "kdts_csv_read_mem: NULL argument");
    def = kdts_csv_config_default();
    kdts__csv_init(&p, cfg ? cfg : &def, NULL, err);
    kdts__csv_feed(&p, (const char *)data, len);
    return kdts__csv_done(&p, out);
}

static kdts_result kdts__csv_read_stream(kdts_table *out, kdts_read_fn read, void *user,
                                         const kdts_csv_config *cfg, const char *fname,
                                         kdts_error *err)
{
    kdts__csv p;
    kdts_csv_config def;
    size_t cap = (size_t)1 << 18, got;
    char *buf;
    def = kdts_csv_config_default();
    kdts__csv_init(&p, cfg ? cfg : &def, fname, err);
    buf = (char *)KDTS_MALLOC(cap);
    if (!buf) {
        kdts__csv_nomem(&p);
        kdts__csv_free(&p);
        return KDTS_ERR_NOMEM;
    }
    for (;;) {
        got = read(user, buf, cap);
        if (got == (size_t)-1 || got > cap) {
            kdts__msg m;
            kdts__csv_msg_begin(&p, &m, p.line, 0);
            kdts__msg_str(&m, "read error");
            kdts__csv_fail(&p, KDTS_ERR_IO, p.line, 0, &m);
            break;
        }
        if (!got) break;
        kdts__csv_feed(&p, buf, got);
        if (p.rc) break;
    }
    KDTS_FREE(buf);
    if (p.rc) {
        kdts_result rc = p.rc;
        kdts__csv_free(&p);
        return rc;
    }
    return kdts__csv_done(&p, out);
}

KDTSDEF kdts_result kdts_csv_read_cb(kdts_table *out, kdts_read_fn read, void *user,
                                     const kdts_csv_config *cfg, kdts_error *err)
{
    if (!out || !read) return kdts__data_fail(err, KDTS_ERR_ARG, "kdts_csv_read_cb: NULL argument");
    return kdts__csv_read_stream(out, read, user, cfg, NULL, err);
}

#ifndef KDTS_NO_STDIO
static size_t kdts__csv_fread(void *user, void *buf, size_t cap)
{
    FILE *f = (FILE *)user;
    size_t got = fread(buf, 1, cap, f);
    if (got == 0 && ferror(f)) return (size_t)-1;
    return got;
}

KDTSDEF kdts_result kdts_csv_read_file(kdts_table *out, const char *path,
                                       const kdts_csv_config *cfg, kdts_error *err)
{
    FILE *f;
    kdts_result rc;
    if (!out || !path) return kdts__data_fail(err, KDTS_ERR_ARG, "kdts_csv_read_file: NULL argument");
#if defined(KDTS__POSIX)
    {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            kdts__msg m;
            m.n = 0;
            m.buf[0] = 0;
            kdts__msg_str(&m, path);
            kdts__msg_str(&m, ": is a folder, not a CSV file");
            return kdts__msg_fail(err, KDTS_ERR_IO, 0, 0, &m);
        }
    }
#endif
    f = fopen(path, "rb");
    if (!f) {
        kdts__msg m;
        m.n = 0;
        m.buf[0] = 0;
        kdts__msg_str(&m, path);
        kdts__msg_str(&m, ": cannot open file");
        return kdts__msg_fail(err, KDTS_ERR_IO, 0, 0, &m);
    }
    rc = kdts__csv_read_stream(out, kdts__csv_fread, f, cfg, path, err);
    fclose(f);
    return rc;
}
#endif

KDTSDEF void kdts_table_free(kdts_table *t)
{
    int k;
    if (!t) return;
    if (t->col) for (k = 0; k < t->cols; ++k) KDTS_FREE(t->col[k]);
    if (t->name) for (k = 0; k < t->cols; ++k) KDTS_FREE(t->name[k]);
    if (t->text_name) for (k = 0; k < t->text_cols; ++k) KDTS_FREE(t->text_name[k]);
    if (t->text_blob) for (k = 0; k < t->text_cols; ++k) KDTS_FREE(t->text_blob[k]);
    if (t->text_offset) for (k = 0; k < t->text_cols; ++k) KDTS_FREE(t->text_offset[k]);
    KDTS_FREE(t->col);
    KDTS_FREE(t->name);
    KDTS_FREE(t->missing);
    KDTS_FREE(t->file_column);
    KDTS_FREE(t->text_name);
    KDTS_FREE(t->text_blob);
    KDTS_FREE(t->text_offset);
    memset(t, 0, sizeof *t);
}

KDTSDEF int kdts_table_find(const kdts_table *t, const char *name)
{
    int k;
    if (!t || !name || !t->name) return -1;
    for (k = 0; k < t->cols; ++k)
        if (t->name[k] && strcmp(t->name[k], name) == 0) return k;
    return -1;
}

KDTSDEF const char *kdts_table_text(const kdts_table *t, int k, long r)
{
    if (!t || k < 0 || k >= t->text_cols || r < 0 || r >= t->rows || !t->text_blob) return NULL;
    return t->text_blob[k] + t->text_offset[k][r];
}

/* ---- scalers -------------------------------------------------------------- */

KDTSDEF kdts_scaler_config kdts_scaler_config_default(void)
{
    kdts_scaler_config c;
    memset(&c, 0, sizeof c);
    return c;
}

static void kdts__scaler_identity(kdts_scaler *s, int c)
{
    s->offset[c] = 0.0f;
    s->scale[c] = 1.0f;
    s->clip_lo[c] = -FLT_MAX;
    s->clip_hi[c] = FLT_MAX;
}

/* In-place heap sort of x[0..n) (no libc qsort: stdlib may be absent). */
static void kdts__scaler_sort(float *x, size_t n)
{
    size_t i, end, root, child;
    float t;
    if (n < 2) return;
    for (i = n / 2; i-- > 0;) {
        root = i;
        while ((child = 2 * root + 1) < n) {
            if (child + 1 < n && x[child] < x[child + 1]) child++;
            if (!(x[root] < x[child])) break;
            t = x[root]; x[root] = x[child]; x[child] = t;
            root = child;
        }
    }
    for (end = n - 1; end > 0; --end) {
        t = x[0]; x[0] = x[end]; x[end] = t;
        root = 0;
        while ((child = 2 * root + 1) < end) {
            if (child + 1 < end && x[child] < x[child + 1]) child++;
            if (!(x[root] < x[child])) break;
            t = x[root]; x[root] = x[child]; x[child] = t;
            root = child;
        }
    }
}

/* q-quantile of sorted x[0..n) with linear interpolation. */
static float kdts__scaler_quantile(const float *x, size_t n, double q)
{
    double pos = q * (double)(n - 1), fr;
    size_t i = (size_t)pos;
    if (i >= n - 1) return x[n - 1];
    fr = pos - (double)i;
    return (float)((double)x[i] + ((double)x[i + 1] - (double)x[i]) * fr);
}

KDTSDEF kdts_result kdts_scaler_fit_column(kdts_scaler *s, const kdts_scaler_config *cfg, int c,
                                           const float *x, long n, kdts_error *err)
{
    kdts_scaler_config def = kdts_scaler_config_default();
    float lo = -FLT_MAX, hi = FLT_MAX, off = 0.0f, sc = 1.0f;
    double sum = 0.0, sq = 0.0, mean, var;
    float mn, mx;
    long i;
    if (!cfg) cfg = &def;
    if (!s || !x || c < 0 || c >= KDTS_MAX_COLUMNS || n < 1)
        return kdts__data_fail(err, KDTS_ERR_ARG, "kdts_scaler_fit_column: bad column, data or count");
    if (cfg->clip == KDTS_CLIP_QUANTILE && cfg->clip_q != 0.0f && !(cfg->clip_q > 0.0f && cfg->clip_q < 0.5f))
        return kdts__data_fail(err, KDTS_ERR_ARG, "kdts_scaler_fit_column: clip_q must be in (0, 0.5)");
    for (i = 0; i < n; ++i) {
        if (!kdts__isfinite(x[i])) {
            kdts__msg m;
            m.n = 0;
            m.buf[0] = 0;
            kdts__msg_str(&m, "scaler fit: non-finite value at index ");
            kdts__msg_long(&m, i);
            return kdts__msg_fail(err, KDTS_ERR_NONFINITE, i + 1, c + 1, &m);
        }
        sum += x[i];
        sq += (double)x[i] * x[i];
    }
    mean = sum / (double)n;
    if (cfg->clip == KDTS_CLIP_STD) {
        double k = cfg->clip_k > 0.0f ? cfg->clip_k : 4.0, sd;
        var = sq / (double)n - mean * mean;
        sd = var > 0.0 ? sqrt(var) : 0.0;
        lo = (float)(mean - k * sd);
        hi = (float)(mean + k * sd);
    } else if (cfg->clip == KDTS_CLIP_QUANTILE) {
        double q = cfg->clip_q > 0.0f ? cfg->clip_q : 0.001;
        float *tmp = (float *)KDTS_MALLOC((size_t)n * sizeof(float));
        if (!tmp) return kdts__data_fail(err, KDTS_ERR_NOMEM, "scaler fit: out of memory");
        memcpy(tmp, x, (size_t)n * sizeof(float));
        kdts__scaler_sort(tmp, (size_t)n);
        lo = kdts__scaler_quantile(tmp, (size_t)n, q);
        hi = kdts__scaler_quantile(tmp, (size_t)n, 1.0 - q);
        KDTS_FREE(tmp);
    }
    /* statistics on the clipped training values (two passes for accuracy) */
    sum = 0.0;
    mn = FLT_MAX;
    mx = -FLT_MAX;
    for (i = 0; i < n; ++i) {
        float v = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
        sum += v;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
    }
    mean = sum / (double)n;
    if (cfg->kind == KDTS_SCALER_ZSCORE) {
        sq = 0.0;
        for (i = 0; i < n; ++i) {
            float v = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
            sq += ((double)v - mean) * ((double)v - mean);
        }
        var = sq / (double)n;
        off = (float)mean;
        sc = (float)sqrt(var);
    } else if (cfg->kind == KDTS_SCALER_NONE) {
        off = 0.0f;
        sc = 1.0f;
    } else {
        off = mn;
        sc = (float)((double)mx - (double)mn);
    }
    /* a constant column (or one too narrow for float) gets scale 1 */
    if (!(sc > 0.0f) || !kdts__isfinite(sc) || !kdts__isfinite(1.0f / sc)) sc = 1.0f;
    for (i = s->cols > 0 ? s->cols : 0; i < c; ++i) kdts__scaler_identity(s, (int)i); /* cols < 0: corrupt */
    if (s->cols <= c) s->cols = c + 1;
    s->kind = cfg->kind;
    s->clip = cfg->clip;
    s->offset[c] = off;
    s->scale[c] = sc;
    s->clip_lo[c] = lo;
    s->clip_hi[c] = hi;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_scaler_fit_table(kdts_scaler *s, const kdts_scaler_config *cfg,
                                          const kdts_table *t, long row_begin, long row_end,
                                          kdts_error *err)
{
    kdts_scaler tmp;
    int c;
    kdts_result rc;
    if (!s || !t || !t->col || t->cols < 1 || t->cols > KDTS_MAX_COLUMNS)
        return kdts__data_fail(err, KDTS_ERR_ARG, "kdts_scaler_fit_table: bad table or too many columns");
    if (row_begin < 0 || row_end > t->rows || row_end - row_begin < 1)
        return kdts__data_fail(err, KDTS_ERR_ARG, "kdts_scaler_fit_table: bad row range");
    memset(&tmp, 0, sizeof tmp);
    for (c = 0; c < KDTS_MAX_COLUMNS; ++c) kdts__scaler_identity(&tmp, c);
    for (c = 0; c < t->cols; ++c) {
        rc = kdts_scaler_fit_column(&tmp, cfg, c, t->col[c] + row_begin, row_end - row_begin, err);
        if (rc) {
            if (err && rc == KDTS_ERR_NONFINITE) err->line += row_begin;
            return rc;
        }
    }
    *s = tmp;
    return KDTS_OK;
}

KDTSDEF void kdts_scaler_apply_column(const kdts_scaler *s, int c, float *x, long n)
{
    float lo, hi, off, inv;
    long i;
    if (!s || c < 0 || c >= s->cols || c >= KDTS_MAX_COLUMNS) return;
    lo = s->clip_lo[c];
    hi = s->clip_hi[c];
    off = s->offset[c];
    inv = 1.0f / s->scale[c];
    for (i = 0; i < n; ++i) {
        float v = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
        x[i] = (v - off) * inv;
    }
}

KDTSDEF void kdts_scaler_invert_column(const kdts_scaler *s, int c, float *x, long n)
{
    float off, sc;
    long i;
    if (!s || c < 0 || c >= s->cols || c >= KDTS_MAX_COLUMNS) return;
    off = s->offset[c];
    sc = s->scale[c];
    for (i = 0; i < n; ++i) x[i] = x[i] * sc + off;
}

KDTSDEF float kdts_scaler_apply_value(const kdts_scaler *s, int c, float x)
{
    kdts_scaler_apply_column(s, c, &x, 1);
    return x;
}

KDTSDEF float kdts_scaler_invert_value(const kdts_scaler *s, int c, float x)
{
    kdts_scaler_invert_column(s, c, &x, 1);
    return x;
}

KDTSDEF void kdts_scaler_apply_table(const kdts_scaler *s, kdts_table *t)
{
    int c;
    if (!s || !t || !t->col) return;
    for (c = 0; c < t->cols && c < s->cols; ++c) kdts_scaler_apply_column(s, c, t->col[c], t->rows);
}

KDTSDEF void kdts_scaler_invert_table(const kdts_scaler *s, kdts_table *t)
{
    int c;
    if (!s || !t || !t->col) return;
    for (c = 0; c < t->cols && c < s->cols; ++c) kdts_scaler_invert_column(s, c, t->col[c], t->rows);
}

/* ---- windows and splits ---------------------------------------------------- */

KDTSDEF kdts_window_config kdts_window_config_default(void)
{
    kdts_window_config c;
    memset(&c, 0, sizeof c);
    c.lookback = 1;
    return c;
}

KDTSDEF long kdts_window_count(long row_begin, long row_end, int lookback, int horizon, int stride)
{
    long span, need;
    if (horizon == 0) horizon = 1;
    if (stride == 0) stride = 1;
    if (lookback < 1 || horizon < 1 || stride < 1 || row_begin < 0 || row_end <= row_begin) return 0;
    span = row_end - row_begin;
    if (horizon > LONG_MAX - lookback) return 0; /* 32-bit long: INT_MAX + INT_MAX overflows */
    need = (long)lookback + (long)horizon;
    if (span < need) return 0;
    return (span - need) / stride + 1;
}

/* Window statistics of one column over rows [start, start+T). */
static void kdts__win_stats(const float *col, long start, int T, int mode, float eps, float *off,
                            float *sc)
{
    int t;
    if (mode == KDTS_WNORM_LAST) {
        *off = col[start + T - 1];
        *sc = 1.0f;
    } else if (mode == KDTS_WNORM_MEANSTD) {
        double sum = 0.0, sq = 0.0, mean;
        for (t = 0; t < T; ++t) sum += col[start + t];
        mean = sum / (double)T;
        for (t = 0; t < T; ++t) sq += ((double)col[start + t] - mean) * ((double)col[start + t] - mean);
        *off = (float)mean;
        *sc = (float)sqrt(sq / (double)T + (double)(eps > 0.0f ? eps : 1e-5f));
    } else {
        *off = 0.0f;
        *sc = 1.0f;
    }
}

/* Validate cfg against t; fill the resolved sizes. */
static kdts_result kdts__win_check(const kdts_table *t, long row_begin, long row_end,
                                   const kdts_window_config *cfg, int *F, int *K, int *H,
                                   int *S, long *N, kdts_error *err)
{
    int i;
    if (!t || !cfg || !t->col || t->cols < 1)
        return kdts__data_fail(err, KDTS_ERR_ARG, "windows: NULL table or config, or no columns");
    if (cfg->lookback < 1 || cfg->horizon < 0 || cfg->stride < 0 || cfg->n_features < 0 ||
        cfg->n_targets < 0 || cfg->norm < 0 || cfg->norm > KDTS_WNORM_MEANSTD)
        return kdts__data_fail(err, KDTS_ERR_ARG, "windows: bad lookback, horizon, stride or norm");
    if (row_begin < 0 || row_end > t->rows || row_end < row_begin)
        return kdts__data_fail(err, KDTS_ERR_ARG, "windows: row range outside the table");
    *F = cfg->features ? cfg->n_features : t->cols;
    *K = cfg->targets ? cfg->n_targets : 1;
    *H = cfg->horizon ? cfg->horizon : 1;
    *S = cfg->stride ? cfg->stride : 1;
    if (*F < 1 || *K < 1)
        return kdts__data_fail(err, KDTS_ERR_ARG, "windows: no features or no targets");
    for (i = 0; cfg->features && i < *F; ++i)
        if (cfg->features[i] < 0 || cfg->features[i] >= t->cols)
            return kdts__data_fail(err, KDTS_ERR_ARG, "windows: feature column out of range");
    for (i = 0; cfg->targets && i < *K; ++i)
        if (cfg->targets[i] < 0 || cfg->targets[i] >= t->cols)
            return kdts__data_fail(err, KDTS_ERR_ARG, "windows: target column out of range");
    *N = kdts_window_count(row_begin, row_end, cfg->lookback, *H, *S);
    if (*N < 1)
        return kdts__data_fail(err, KDTS_ERR_DATA, "windows: the row range is shorter than lookback + horizon");
    return KDTS_OK;
}

/* Byte layout inside one block: start (N longs), x, y, norm_offset, norm_scale. */
static int kdts__win_layout(long N, int T, int F, int K, int H, int norm, size_t *sz)
{
    size_t n = (size_t)N, a, b, c, d, tot;
    if ((unsigned long)N > (size_t)-1) return 0;
    if (!kdts__mul_ok(n, sizeof(long), &a)) return 0;
    if (!kdts__mul_ok(n, (size_t)T, &b) || !kdts__mul_ok(b, (size_t)F, &b) ||
        !kdts__mul_ok(b, sizeof(float), &b))
        return 0;
    if (!kdts__mul_ok(n, (size_t)T, &c) || !kdts__mul_ok(c, (size_t)K, &c) ||
        !kdts__mul_ok(c, (size_t)H, &c) || !kdts__mul_ok(c, sizeof(float), &c))
        return 0;
    d = 0;
    if (norm && (!kdts__mul_ok(n, (size_t)(F + K), &d) || !kdts__mul_ok(d, 2 * sizeof(float), &d)))
        return 0;
    if (!kdts__add_ok(a, b, &tot) || !kdts__add_ok(tot, c, &tot) || !kdts__add_ok(tot, d, &tot))
        return 0;
    sz[0] = a;
    sz[1] = b;
    sz[2] = c;
    sz[3] = d;
    sz[4] = tot;
    return 1;
}

KDTSDEF kdts_result kdts_windows_size(const kdts_table *t, long row_begin, long row_end,
                                      const kdts_window_config *cfg, long *n_windows,
                                      size_t *bytes, kdts_error *err)
{
    int F = 0, K = 0, H = 0, S = 0;
    long N = 0;
    size_t sz[5];
    kdts_result rc = kdts__win_check(t, row_begin, row_end, cfg, &F, &K, &H, &S, &N, err);
    if (rc) return rc;
    if (!kdts__win_layout(N, cfg->lookback, F, K, H, cfg->norm, sz))
        return kdts__data_fail(err, KDTS_ERR_NOMEM, "windows: size overflow");
    if (n_windows) *n_windows = N;
    if (bytes) *bytes = sz[4];
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_windows_init_in(kdts_windows *w, void *buf, size_t bytes,
                                         const kdts_table *t, long row_begin, long row_end,
                                         const kdts_window_config *cfg, kdts_error *err)
{
    int F = 0, K = 0, H = 0, S = 0, T = 0, f, k, j, tt, FK; /* set by the checks; zeroed for gcc -O3 */
    long N = 0, n;
    size_t sz[5];
    kdts_windows o;
    unsigned char *p = (unsigned char *)buf;
    kdts_result rc = kdts__win_check(t, row_begin, row_end, cfg, &F, &K, &H, &S, &N, err);
    if (rc) return rc;
    T = cfg->lookback;
    FK = F + K;
    if (!w) return kdts__data_fail(err, KDTS_ERR_ARG, "windows: NULL output");
    if (!kdts__win_layout(N, T, F, K, H, cfg->norm, sz))
        return kdts__data_fail(err, KDTS_ERR_NOMEM, "windows: size overflow");
    if (!buf || bytes < sz[4] || ((size_t)p & (sizeof(long) - 1)))
        return kdts__data_fail(err, KDTS_ERR_ARG, "windows: buffer too small or not 8-byte aligned");
    /* every value read must be finite */
    {
        long r;
        int c;
        for (c = 0; c < F + K; ++c) {
            int col = c < F ? (cfg->features ? cfg->features[c] : c)
                            : (cfg->targets ? cfg->targets[c - F] : t->cols - 1);
            for (r = row_begin; r < row_end; ++r)
                if (!kdts__isfinite(t->col[col][r])) {
                    kdts__msg m;
                    m.n = 0;
                    m.buf[0] = 0;
                    kdts__msg_str(&m, "windows: non-finite value at row ");
                    kdts__msg_long(&m, r);
                    kdts__msg_str(&m, " of column ");
                    kdts__msg_long(&m, col);
                    return kdts__msg_fail(err, KDTS_ERR_NONFINITE, r + 1, col + 1, &m);
                }
        }
    }
    memset(&o, 0, sizeof o);
    o.n = N;
    o.T = T;
    o.F = F;
    o.K = K;
    o.H = H;
    o.start = (long *)(void *)p;
    o.x = (float *)(void *)(p + sz[0]);
    o.y = (float *)(void *)(p + sz[0] + sz[1]);
    if (cfg->norm) {
        o.norm_offset = (float *)(void *)(p + sz[0] + sz[1] + sz[2]);
        o.norm_scale = o.norm_offset + (size_t)N * (size_t)FK;
    }
    for (n = 0; n < N; ++n) {
        long st = row_begin + n * (long)S;
        float *xn = o.x + (size_t)n * (size_t)T * (size_t)F;
        float *yn = o.y + (size_t)n * (size_t)T * (size_t)K * (size_t)H;
        o.start[n] = st;
        for (f = 0; f < F; ++f) {
            const float *col = t->col[cfg->features ? cfg->features[f] : f];
            float off = 0.0f, sc = 1.0f, inv;
            if (cfg->norm) {
                kdts__win_stats(col, st, T, cfg->norm, cfg->norm_eps, &off, &sc);
                o.norm_offset[(size_t)n * FK + f] = off;
                o.norm_scale[(size_t)n * FK + f] = sc;
            }
            inv = 1.0f / sc;
            for (tt = 0; tt < T; ++tt) xn[(size_t)tt * F + f] = (col[st + tt] - off) * inv;
        }
        for (k = 0; k < K; ++k) {
            const float *col = t->col[cfg->targets ? cfg->targets[k] : t->cols - 1];
            float off = 0.0f, sc = 1.0f, inv;
            if (cfg->norm) {
                kdts__win_stats(col, st, T, cfg->norm, cfg->norm_eps, &off, &sc);
                o.norm_offset[(size_t)n * FK + F + k] = off;
                o.norm_scale[(size_t)n * FK + F + k] = sc;
            }
            inv = 1.0f / sc;
            for (tt = 0; tt < T; ++tt)
                for (j = 0; j < H; ++j)
                    yn[((size_t)tt * K + k) * H + j] = (col[st + tt + 1 + j] - off) * inv;
        }
    }
    *w = o;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_windows_make(kdts_windows *w, const kdts_table *t, long row_begin,
                                      long row_end, const kdts_window_config *cfg,
                                      kdts_error *err)
{
    size_t bytes = 0;
    long N = 0;
    void *buf;
    kdts_result rc;
    if (!w) return kdts__data_fail(err, KDTS_ERR_ARG, "windows: NULL output");
    rc = kdts_windows_size(t, row_begin, row_end, cfg, &N, &bytes, err);
    if (rc) return rc;
    buf = KDTS_MALLOC(bytes ? bytes : 1);
    if (!buf) return kdts__data_fail(err, KDTS_ERR_NOMEM, "windows: out of memory");
    rc = kdts_windows_init_in(w, buf, bytes, t, row_begin, row_end, cfg, err);
    if (rc) {
        KDTS_FREE(buf);
        return rc;
    }
    w->owned = buf;
    return KDTS_OK;
}

KDTSDEF void kdts_windows_free(kdts_windows *w)
{
    if (!w) return;
    if (w->owned) KDTS_FREE(w->owned);
    memset(w, 0, sizeof *w);
}

KDTSDEF void kdts_window_invert(const kdts_windows *w, long n, int k, float *v, long count)
{
    float off, sc;
    long i;
    size_t at;
    if (!w || !v || !w->norm_offset || n < 0 || n >= w->n || k < 0 || k >= w->K) return;
    at = (size_t)n * (size_t)(w->F + w->K) + (size_t)w->F + (size_t)k;
    off = w->norm_offset[at];
    sc = w->norm_scale[at];
    for (i = 0; i < count; ++i) v[i] = v[i] * sc + off;
}

KDTSDEF void kdts_window_normalize(float *x, int T, int F, int mode, float eps, float *offset,
                                   float *scale)
{
    int f, t;
    for (f = 0; f < F; ++f) {
        float off = 0.0f, sc = 1.0f, inv;
        if (mode == KDTS_WNORM_LAST) {
            off = x[(size_t)(T - 1) * F + f];
        } else if (mode == KDTS_WNORM_MEANSTD) {
            double sum = 0.0, sq = 0.0, mean;
            for (t = 0; t < T; ++t) sum += x[(size_t)t * F + f];
            mean = sum / (double)T;
            for (t = 0; t < T; ++t) {
                double d = (double)x[(size_t)t * F + f] - mean;
                sq += d * d;
            }
            off = (float)mean;
            sc = (float)sqrt(sq / (double)T + (double)(eps > 0.0f ? eps : 1e-5f));
        }
        inv = 1.0f / sc;
        for (t = 0; t < T; ++t) x[(size_t)t * F + f] = (x[(size_t)t * F + f] - off) * inv;
        if (offset) offset[f] = off;
        if (scale) scale[f] = sc;
    }
}

KDTSDEF void kdts_window_shuffle(int *idx, int n, unsigned long long seed)
{
    kdts_rng r;
    int i;
    if (!idx || n < 1) return;
    for (i = 0; i < n; ++i) idx[i] = i;
    kdts_rng_seed(&r, seed);
    kdts_rng_shuffle(&r, idx, n);
}

KDTSDEF kdts_result kdts_split_rows(kdts_split *s, long rows, long n_train, long n_val,
                                    long n_test, kdts_error *err)
{
    kdts_split o;
    if (!s || rows < 1 || n_train < 1 || n_val < 0 || n_train > rows || n_val > rows - n_train)
        return kdts__data_fail(err, KDTS_ERR_ARG, "split: bad row counts (train must be >= 1 and all must fit)");
    if (n_test < 0) n_test = rows - n_train - n_val;
    if (n_test > rows - n_train - n_val)
        return kdts__data_fail(err, KDTS_ERR_ARG, "split: train + val + test exceed the rows");
    o.train.begin = 0;
    o.train.end = n_train;
    o.val.begin = n_train;
    o.val.end = n_train + n_val;
    o.test.begin = o.val.end;
    o.test.end = o.val.end + n_test;
    *s = o;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_split_ratio(kdts_split *s, long rows, double train_ratio,
                                     double val_ratio, double test_ratio, kdts_error *err)
{
    double tr = train_ratio, va = val_ratio, te = test_ratio > 0.0 ? test_ratio : 0.0;
    if (!(tr >= 0.0) || !(va >= 0.0) || !(test_ratio == test_ratio) || tr + va + te > 1.0 + 1e-9 || rows < 1)
        return kdts__data_fail(err, KDTS_ERR_ARG, "split: ratios must be >= 0 and sum to at most 1");
    return kdts_split_rows(s, rows, (long)floor((double)rows * tr + 1e-9),
                           (long)floor((double)rows * va + 1e-9),
                           test_ratio > 0.0 ? (long)floor((double)rows * te + 1e-9) : -1, err);
}
/* ======================================================================== */
/* >>task                                                                   */
/* ======================================================================== */

KDTSDEF kdts_result kdts_task_config_check(kdts_task_config *c, kdts_error *err)
{
    int i;
    if (c->lookback == 0) c->lookback = 96;
    if (c->horizon == 0) c->horizon = 24;
    if (c->stride == 0) c->stride = 1;
    if (c->bins == 0) c->bins = 32;
    if (c->n_targets + c->n_target_columns < 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: no target column given");
    if (c->n_targets < 0 || c->n_target_columns < 0 || c->n_features < 0 || c->n_feature_columns < 0 ||
        (c->n_targets && !c->targets) || (c->n_target_columns && !c->target_columns) ||
        (c->n_features && !c->features) || (c->n_feature_columns && !c->feature_columns))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: a column list and its count disagree");
    if (c->n_targets + c->n_target_columns > KDTS_MAX_COLUMNS ||
        c->n_features + c->n_feature_columns > KDTS_MAX_COLUMNS)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: more than %d columns (KDTS_MAX_COLUMNS)",
                          KDTS_MAX_COLUMNS);
    for (i = 0; i < c->n_targets; ++i)
        if (!c->targets[i] || !c->targets[i][0]) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: empty target name");
    for (i = 0; i < c->n_features; ++i)
        if (!c->features[i] || !c->features[i][0])
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: empty feature name");
    if (c->lookback < 1 || c->lookback > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: lookback %d out of range 1..%d", c->lookback, KDTS_MAX_DIM);
    if (c->horizon < 1 || c->horizon > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: horizon %d out of range 1..%d", c->horizon, KDTS_MAX_DIM);
    if (c->stride < 1 || c->stride > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: stride %d out of range 1..%d", c->stride, KDTS_MAX_DIM);
    if (c->bins < 2 || c->bins > 4096)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: bins %d out of range 2..4096", c->bins);
    if (c->missing < KDTS_MISSING_ERROR || c->missing > KDTS_MISSING_FFILL)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: unknown missing-value policy %d", c->missing);
    if (c->scaling < KDTS_SCALING_ZSCORE || c->scaling > KDTS_SCALING_NONE)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: unknown scaling %d", c->scaling);
    if (c->relative < KDTS_RELATIVE_LAST || c->relative > KDTS_RELATIVE_NONE)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: unknown window normalization %d", c->relative);
    if (c->bin_rule < KDTS_BINS_QUANTILE || c->bin_rule > KDTS_BINS_MINMAX)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: unknown bin rule %d", c->bin_rule);
    if (c->clip < KDTS_CLIP_NONE || c->clip > KDTS_CLIP_QUANTILE)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: unknown clipping %d", c->clip);
    if (!(c->norm_eps >= 0.0f) || !kdts__isfinite(c->norm_eps))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: the normalization epsilon must be a number >= 0");
    if (c->season < -1 || c->season > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: season %d out of range -1..%d", c->season, KDTS_MAX_DIM);
    if (c->max_rows < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: max_rows %ld < 0", c->max_rows);
    if (c->allow_short != 0 && c->allow_short != 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: allow_short must be 0 or 1");
    if (c->split == KDTS_SPLIT_RATIO) {
        double s = 0;
        for (i = 0; i < 3; ++i) {
            if (!(c->split_sizes[i] >= 0.0 && c->split_sizes[i] <= 1.0))
                return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "split: ratio %g is not in [0, 1]", c->split_sizes[i]);
            s += c->split_sizes[i];
        }
        if (s > 1.0 + 1e-9) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "split: ratios sum to %g, more than 1", s);
        if (!(c->split_sizes[0] > 0.0)) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "split: no training rows");
    } else if (c->split == KDTS_SPLIT_ROWS) {
        for (i = 0; i < 3; ++i) {
            double v = c->split_sizes[i];
            if (!(v == floor(v)) || v > 2e9 || (v < 0 && !(i == 2 && v == -1)))
                return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "split: %g is not a row count", v);
        }
        if (!(c->split_sizes[0] >= 1.0)) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "split: no training rows");
    } else if (c->split != KDTS_SPLIT_AUTO) {
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "split: unknown rule %d", c->split);
    }
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_split_parse(kdts_task_config *cfg, const char *text, kdts_error *err)
{
    const char *p = text;
    double v[3];
    int i, rule = 0, whole = 1, small = 1;
    if (!cfg || !text) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "split: no text");
    if (!strcmp(text, "auto")) {
        cfg->split = KDTS_SPLIT_AUTO;
        return KDTS_OK;
    }
    if (!strncmp(p, "ratio:", 6)) rule = KDTS_SPLIT_RATIO, p += 6;
    else if (!strncmp(p, "rows:", 5)) rule = KDTS_SPLIT_ROWS, p += 5;
    for (i = 0; i < 3; ++i) {
        /* a plain decimal: digits, an optional point and digits (exact for
           row counts, the nearest double for ratios) */
        const char *q = p;
        double m = 0, div = 1;
        int nd = 0;
        while (*q == ' ') q++;
        for (; *q >= '0' && *q <= '9'; ++q, ++nd) m = m * 10 + (*q - '0');
        if (*q == '.')
            for (++q; *q >= '0' && *q <= '9'; ++q, ++nd) m = m * 10 + (*q - '0'), div *= 10;
        while (*q == ' ') q++;
        if (nd == 0 || nd > 15 || (i < 2 && *q != ',') || (i == 2 && *q))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                              "split '%s': expected auto, three ratios like 0.6,0.2,0.2 or three row counts like "
                              "8640,2880,2880",
                              text);
        v[i] = m / div;
        if (v[i] != floor(v[i])) whole = 0;
        if (v[i] > 1.0) small = 0;
        p = q + 1;
    }
    if (!rule) rule = whole && !small ? KDTS_SPLIT_ROWS : KDTS_SPLIT_RATIO;
    if (rule == KDTS_SPLIT_RATIO && !small)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "split '%s': ratios must be in [0, 1] (or all whole row counts)",
                          text);
    cfg->split = rule;
    for (i = 0; i < 3; ++i) cfg->split_sizes[i] = v[i];
    return KDTS_OK;
}

/* ---- dates ---------------------------------------------------------------- */

/* Days from 1970-01-01 of a proleptic Gregorian date. */
static long long kdts__days(long long y, int m, int d)
{
    long long era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day number (inverse of kdts__days). */
static void kdts__civil(long long z, long long *y, int *m, int *d)
{
    long long era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int kdts__digits(const char *s, size_t n, size_t *i, int count, int *out)
{
    int v = 0, k;
    for (k = 0; k < count; ++k) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9') return 0;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 1;
}

KDTSDEF int kdts_time_parse(const char *s, size_t n, long long *seconds, int *precision)
{
    size_t i = 0;
    int y, mo, d = 1, hh = 0, mi = 0, ss = 0, prec = 0, mdays;
    char sep;
    static const int dim[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    if (!kdts__digits(s, n, &i, 4, &y) || i >= n || (s[i] != '-' && s[i] != '/')) return 0;
    sep = s[i++];
    if (!kdts__digits(s, n, &i, 2, &mo) || mo < 1 || mo > 12) return 0;
    if (i == n) {
        prec = 3; /* year-month */
    } else {
        if (s[i++] != sep || !kdts__digits(s, n, &i, 2, &d)) return 0;
        mdays = dim[mo - 1];
        if (mo == 2 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) mdays = 28;
        if (d < 1 || d > mdays) return 0;
        if (i < n) {
            if (s[i] != ' ' && s[i] != 'T') return 0;
            i++;
            if (!kdts__digits(s, n, &i, 2, &hh) || i >= n || s[i++] != ':' || !kdts__digits(s, n, &i, 2, &mi))
                return 0;
            prec = 1;
            if (i < n && s[i] == ':') {
                i++;
                if (!kdts__digits(s, n, &i, 2, &ss)) return 0;
                prec = 2;
                if (i < n && s[i] == '.') {
                    i++;
                    if (i >= n || s[i] < '0' || s[i] > '9') return 0;
                    while (i < n && s[i] >= '0' && s[i] <= '9') i++; /* fractions ignored */
                }
            }
            if (i < n && s[i] == 'Z') i++;
            if (i != n || hh > 23 || mi > 59 || ss > 60) return 0;
        }
    }
    if (seconds) *seconds = kdts__days(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
    if (precision) *precision = prec;
    return 1;
}

/* Month number (year*12 + month-1) and the rest of a time within its month. */
static long long kdts__month_of(long long t, long long *rest)
{
    long long y, day = (t >= 0 ? t : t - 86399) / 86400;
    int m, d;
    kdts__civil(day, &y, &m, &d);
    if (rest) *rest = t - kdts__days(y, m, 1) * 86400;
    return y * 12 + (m - 1);
}

static long long kdts__add_months(long long t, long long k)
{
    long long rest, mo = kdts__month_of(t, &rest) + k;
    long long y = mo >= 0 ? mo / 12 : -((-mo + 11) / 12);
    int m = (int)(mo - y * 12) + 1;
    return kdts__days(y, m, 1) * 86400 + rest;
}

/* In-place heap sort of n elements of sz bytes (qsort's contract without
   libc: stdlib.h is not included when the allocator is overridden). */
static void kdts__swap_bytes(unsigned char *a, unsigned char *b, size_t sz)
{
    while (sz--) {
        unsigned char t = *a;
        *a++ = *b;
        *b++ = t;
    }
}

static void kdts__sort(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
    unsigned char *x = (unsigned char *)base;
    size_t i, end, root, child;
    if (n < 2) return;
    for (i = n / 2, end = n; ; ) {
        if (i > 0) --i;
        else if (--end > 0) kdts__swap_bytes(x, x + end * sz, sz);
        else break;
        root = i;
        while ((child = 2 * root + 1) < end) {
            if (child + 1 < end && cmp(x + child * sz, x + (child + 1) * sz) < 0) child++;
            if (!(cmp(x + root * sz, x + child * sz) < 0)) break;
            kdts__swap_bytes(x + root * sz, x + child * sz, sz);
            root = child;
        }
    }
}

static int kdts__cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Parse the timestamps of text column k (all rows) and work out the step. */
static kdts_result kdts__task_times(kdts_task *task, int k, kdts_error *err)
{
    kdts_times *tm = &task->times;
    long rows = task->rows, r;
    long long *d = NULL;
    int prec = 0, p;
    tm->t = (long long *)KDTS_MALLOC((size_t)rows * sizeof(long long));
    if (!tm->t) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for timestamps");
    for (r = 0; r < rows; ++r) {
        const char *s = kdts_table_text(&task->table, k, r);
        if (!s || !kdts_time_parse(s, strlen(s), &tm->t[r], &p)) {
            KDTS_FREE(tm->t);
            tm->t = NULL;
            return kdts__fail(err, KDTS_ERR_PARSE, r + 2, 0, "column %s, row %ld: \"%.40s\" is not a date (YYYY-MM-DD[ hh:mm[:ss]])",
                              task->table.text_name[k], r + 1, s ? s : "");
        }
        if (r == 0 || p > prec) prec = p;
    }
    tm->precision = prec;
    tm->first_bad = -1;
    tm->regular = 1;
    tm->months = 0;
    tm->step = 0;
    tm->gaps = 0;
    if (rows < 2) return KDTS_OK;
    for (r = 1; r < rows; ++r)
        if (tm->t[r] <= tm->t[r - 1]) {
            tm->first_bad = r;
            break;
        }
    /* calendar months: same time within the month, whole months apart */
    {
        long long rest0, m0 = kdts__month_of(tm->t[0], &rest0), rest, mk = -1;
        int monthly = 1;
        for (r = 1; r < rows && monthly; ++r) {
            long long m1 = kdts__month_of(tm->t[r], &rest);
            if (rest != rest0 || m1 <= m0) monthly = 0;
            else if (mk < 0) mk = m1 - m0;
            else if (m1 - m0 != mk) monthly = 0;
            m0 = m1;
        }
        if (monthly && mk > 0 && (rest0 == 0 || prec == 3)) {
            tm->months = (int)mk;
            tm->step = mk * 30 * 86400;
            return KDTS_OK;
        }
    }
    d = (long long *)KDTS_MALLOC((size_t)(rows - 1) * sizeof(long long));
    if (!d) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for timestamps");
    for (r = 1; r < rows; ++r) d[r - 1] = tm->t[r] - tm->t[r - 1];
    kdts__sort(d, (size_t)(rows - 1), sizeof(long long), kdts__cmp_ll);
    tm->step = d[(rows - 1) / 2];
    tm->regular = d[0] == d[rows - 2];
    KDTS_FREE(d);
    for (r = 1; r < rows; ++r)
        if (tm->t[r] - tm->t[r - 1] > tm->step) tm->gaps++;
    return KDTS_OK;
}

KDTSDEF int kdts_task_time(const kdts_task *task, long r, int ahead, char *buf, size_t cap)
{
    const kdts_times *tm = &task->times;
    long long t, y, day, sec;
    int m, d;
    kdts__msg msg;
    if (!tm->t || r < 0 || r >= task->rows || !buf || cap == 0) return 0;
    t = tm->t[r];
    if (ahead) t = tm->months ? kdts__add_months(t, (long long)tm->months * ahead) : t + tm->step * ahead;
    day = (t >= 0 ? t : t - 86399) / 86400;
    sec = t - day * 86400;
    kdts__civil(day, &y, &m, &d);
    kdts__msg_init(&msg);
    if (tm->precision == 3) kdts__msg_fmt(&msg, "%04lld-%02d", y, m);
    else kdts__msg_fmt(&msg, "%04lld-%02d-%02d", y, m, d);
    if (tm->precision == 1) kdts__msg_fmt(&msg, " %02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60));
    if (tm->precision == 2)
        kdts__msg_fmt(&msg, " %02d:%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
    {
        size_t n = msg.n < cap - 1 ? msg.n : cap - 1;
        memcpy(buf, msg.buf, n);
        buf[n] = 0;
    }
    return 1;
}

/* ---- building a task ------------------------------------------------------ */

static void kdts__task_warn(kdts_task *task, const char *fmt, ...)
{
    kdts__msg m;
    va_list ap;
    if (task->nwarn >= KDTS_TASK_MAX_WARNINGS) return;
    kdts__msg_init(&m);
    va_start(ap, fmt);
    kdts__msg_vfmt(&m, fmt, ap);
    va_end(ap);
    memcpy(task->warnings[task->nwarn++], m.buf, m.n + 1);
}

KDTSDEF void kdts_task_free(kdts_task *task)
{
    int k;
    if (!task) return;
    for (k = 0; k < 3; ++k) kdts_windows_free(&task->win[k]);
    for (k = 0; k < KDTS_MAX_COLUMNS; ++k) KDTS_FREE(task->scaled[k]);
    KDTS_FREE(task->times.t);
    kdts_table_free(&task->table);
    memset(task, 0, sizeof *task);
}

static int kdts__is_number_text(const char *s)
{
    float f;
    return s && kdts__csv_number(s, strlen(s), &f) == KDTS__NUM_OK;
}

static int kdts__cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The k-th smallest of v[0..n) (k < n; v finite, reordered): quickselect
   with a three-way partition around the median of three, heapsort of the
   rest after 2 log2(n) + 8 rounds (no quadratic case). Equal to the sorted
   array's v[k]. */
static double kdts__select_d(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1, m = n;
    int rounds = 8;
    while (m >>= 1) rounds += 2;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2, lt = lo, i = lo, gt = hi;
        double a = v[lo], b = v[mid], c = v[hi], p, t;
        if (--rounds < 0) {
            kdts__sort(v + lo, hi - lo + 1, sizeof(double), kdts__cmp_d);
            break;
        }
        p = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        /* [lo, lt) < p, [lt, i) == p, (gt, hi] > p */
        while (i <= gt) {
            if (v[i] < p) {
                t = v[i], v[i] = v[lt], v[lt] = t;
                ++lt, ++i;
            } else if (v[i] > p) {
                t = v[i], v[i] = v[gt], v[gt] = t;
                --gt;
            } else {
                ++i;
            }
        }
        if (k < lt) hi = lt - 1;
        else if (k > gt) lo = gt + 1;
        else return p;
    }
    return v[k];
}

static int kdts__cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* A warning for training values far from the rest (they would dominate the
   scaler): more than 50 interquartile ranges from the median. */
static kdts_result kdts__task_outliers(kdts_task *task)
{
    long n = task->split.train.end - task->split.train.begin, i;
    float *v;
    int f;
    if (n < 8) return KDTS_OK;
    v = (float *)KDTS_MALLOC((size_t)n * sizeof(float));
    if (!v) return KDTS_ERR_NOMEM;
    for (f = 0; f < task->F; ++f) {
        const float *x = task->table.col[f] + task->split.train.begin;
        double med, iqr, worst = 0;
        long count = 0, wrow = 0;
        memcpy(v, x, (size_t)n * sizeof(float));
        kdts__sort(v, (size_t)n, sizeof(float), kdts__cmp_f);
        med = v[n / 2];
        iqr = (double)v[(3 * n) / 4] - v[n / 4];
        if (!(iqr > 0)) continue;
        for (i = 0; i < n; ++i) {
            double dv = fabs(x[i] - med);
            if (dv > 50.0 * iqr) {
                count++;
                if (dv > worst) worst = dv, wrow = i;
            }
        }
        if (count)
            kdts__task_warn(task,
                            "column %.60s: %ld training value(s) more than 50 interquartile ranges from the median "
                            "(row %ld: %g; median %g, IQR %g): they distort the scaler; fix them or clip outliers",
                            task->table.name[f], count, task->split.train.begin + wrow + 1, (double)x[wrow], med,
                            iqr);
    }
    KDTS_FREE(v);
    return KDTS_OK;
}

/* Bin range over the training targets (all steps), by the task's rule. */
static kdts_result kdts__task_bins(kdts_task *task)
{
    const kdts_windows *w = &task->win[KDTS_PART_TRAIN];
    long cnt = w->n * (long)w->T * w->K * w->H, k, m = 0, step;
    float lo, hi;
    if (cnt < 1) return KDTS_OK;
    if (task->cfg.bin_rule == KDTS_BINS_MINMAX) {
        double a = 1e30, b = -1e30, pad;
        for (k = 0; k < cnt; ++k) {
            if (w->y[k] < a) a = w->y[k];
            if (w->y[k] > b) b = w->y[k];
        }
        if (!(b > a)) b = a + 1;
        pad = 0.05 * (b - a);
        task->bin_lo = (float)(a - pad);
        task->bin_hi = (float)(b + pad);
        return KDTS_OK;
    }
    {
        double *v;
        float pad;
        step = cnt > 400000 ? cnt / 400000 : 1;
        v = (double *)KDTS_MALLOC((size_t)(cnt / step + 1) * sizeof(double));
        if (!v) return KDTS_ERR_NOMEM;
        for (k = 0; k < cnt; k += step) v[m++] = w->y[k];
        /* the 1% and 99% order statistics (a full sort was a tenth of a
           short training run) */
        lo = (float)kdts__select_d(v, (size_t)m, (size_t)(0.01 * (m - 1)));
        hi = (float)kdts__select_d(v, (size_t)m, (size_t)(0.99 * (m - 1)));
        KDTS_FREE(v);
        pad = 0.1f * (hi - lo) + 1e-3f;
        task->bin_lo = lo - pad;
        task->bin_hi = hi + pad;
    }
    return KDTS_OK;
}

/* What lookback would fit a part of `rows` rows with this horizon. */
static long kdts__fit_lookback(long rows, int horizon) { return rows - horizon; }

/* The common part of every kdts_task_open*: task->table holds the kept
   columns, task->cfg the checked settings; m (may be NULL) is the model
   whose scaler and settings are used. */
static kdts_result kdts__task_build(kdts_task *task, const struct kdts_model *m, const char *name,
                                    kdts_error *err)
{
    kdts_task_config *c = &task->cfg;
    kdts_table *t = &task->table;
    kdts_window_config wc;
    kdts_table view;
    kdts_result r;
    long rows;
    int k, f, part;
    task->F = t->cols;
    task->rows = rows = c->max_rows > 0 && c->max_rows < t->rows ? c->max_rows : t->rows;
    if (task->F < 1) return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "%s: no numeric input column", name);
    /* a first line of numbers is data, not a header */
    {
        int all = 1;
        for (f = 0; f < t->cols && all; ++f) all = kdts__is_number_text(t->name[f]);
        for (k = 0; k < t->text_cols && all; ++k) all = kdts__is_number_text(t->text_name[k]);
        if (all)
            return kdts__fail(err, KDTS_ERR_DATA, 1, 0,
                              "%s: the first line (%.40s, ...) is all numbers: kdts needs a header line naming the "
                              "columns",
                              name, t->name[0]);
    }
    /* the split */
    if (c->split == KDTS_SPLIT_AUTO) {
        if (rows >= 14400) r = kdts_split_rows(&task->split, rows, 8640, 2880, 2880, err);
        else r = kdts_split_ratio(&task->split, rows, 0.6, 0.2, 0.2, err);
    } else if (c->split == KDTS_SPLIT_RATIO) {
        r = kdts_split_ratio(&task->split, rows, c->split_sizes[0], c->split_sizes[1], c->split_sizes[2], err);
    } else {
        if (c->split_sizes[0] + c->split_sizes[1] + (c->split_sizes[2] > 0 ? c->split_sizes[2] : 0) > (double)rows)
            return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "%s: the split asks for %.0f + %.0f + %.0f rows; the data has %ld",
                              name, c->split_sizes[0], c->split_sizes[1], c->split_sizes[2] > 0 ? c->split_sizes[2] : 0.0,
                              rows);
        r = kdts_split_rows(&task->split, rows, (long)c->split_sizes[0], (long)c->split_sizes[1],
                            (long)c->split_sizes[2], err);
    }
    if (r != KDTS_OK) return r;
    {
        long need = (long)c->lookback + c->horizon;
        long nt = task->split.train.end - task->split.train.begin;
        long nv = task->split.val.end - task->split.val.begin, ne = task->split.test.end - task->split.test.begin;
        long shortest = nt;
        if (nv > 0 && nv < shortest) shortest = nv;
        if (ne > 0 && ne < shortest) shortest = ne;
        if (!c->allow_short && (nt < need || (nv > 0 && nv < need) || (ne > 0 && ne < need))) {
            const char *which = nt < need ? "training" : nv > 0 && nv < need ? "validation" : "test";
            long part_rows = nt < need ? nt : nv > 0 && nv < need ? nv : ne;
            long fit = kdts__fit_lookback(shortest, c->horizon);
            long h2 = shortest / 3 < c->horizon ? shortest / 3 : c->horizon, l2 = shortest - h2;
            if (h2 < 1) h2 = 1, l2 = shortest - 1;
            if (fit >= 1)
                return kdts__fail(err, KDTS_ERR_DATA, 0, 0,
                                  "%s: the %s part has %ld rows, fewer than lookback %d + horizon %d (train/val/test "
                                  "%ld/%ld/%ld rows): use lookback <= %ld, or e.g. lookback %ld with horizon %ld, "
                                  "or a split with more rows in that part",
                                  name, which, part_rows, c->lookback, c->horizon, nt, nv, ne, fit, l2, h2);
            if (l2 >= 1)
                return kdts__fail(err, KDTS_ERR_DATA, 0, 0,
                                  "%s: the %s part has %ld rows, fewer than lookback %d + horizon %d (train/val/test "
                                  "%ld/%ld/%ld rows): use a shorter horizon, e.g. lookback %ld with horizon %ld, or "
                                  "a split with more rows in that part",
                                  name, which, part_rows, c->lookback, c->horizon, nt, nv, ne, l2, h2);
            return kdts__fail(err, KDTS_ERR_DATA, 0, 0,
                              "%s: the %s part has %ld rows, too few for any window (train/val/test %ld/%ld/%ld "
                              "rows): use a split with more rows in that part, or fewer parts (e.g. 1,0,0)",
                              name, which, part_rows, nt, nv, ne);
        }
    }
    /* targets: input index of each */
    task->K = 0;
    for (k = 0; k < c->n_targets; ++k) {
        int idx = kdts_table_find(t, c->targets[k]), j;
        for (j = 0; j < task->K; ++j)
            if (task->target[j] == idx)
                return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "%s: target %s is given twice", name, c->targets[k]);
        if (idx < 0) return kdts__fail(err, KDTS_ERR_NOTFOUND, 0, 0, "%s: no numeric column %s", name, c->targets[k]);
        task->target[task->K++] = idx;
    }
    for (k = 0; k < c->n_target_columns; ++k) {
        int idx = -1, j;
        for (f = 0; f < t->cols; ++f)
            if (t->file_column && t->file_column[f] == c->target_columns[k]) idx = f;
        if (idx < 0)
            return kdts__fail(err, KDTS_ERR_NOTFOUND, 0, 0, "%s: field %d is not a numeric column", name,
                              c->target_columns[k] + 1);
        for (j = 0; j < task->K; ++j)
            if (task->target[j] == idx)
                return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "%s: target column %d is given twice", name,
                                  c->target_columns[k] + 1);
        task->target[task->K++] = idx;
    }
    /* scaler: the model's, or fit on the training rows */
    if (m) {
        task->scaler = m->scaler;
    } else {
        kdts_scaler_config sc;
        memset(&sc, 0, sizeof sc);
        sc.kind = c->scaling == KDTS_SCALING_ZSCORE ? KDTS_SCALER_ZSCORE
                  : c->scaling == KDTS_SCALING_MINMAX ? KDTS_SCALER_MINMAX
                                                      : KDTS_SCALER_NONE;
        sc.clip = c->clip;
        sc.clip_k = c->clip_k;
        sc.clip_q = c->clip_q;
        memset(&task->scaler, 0, sizeof task->scaler);
        for (f = 0; f < task->F; ++f) {
            r = kdts_scaler_fit_column(&task->scaler, &sc, f, t->col[f] + task->split.train.begin,
                                       task->split.train.end - task->split.train.begin, err);
            if (r != KDTS_OK) return r;
        }
        if ((r = kdts__task_outliers(task)) != KDTS_OK)
            return kdts__fail(err, r, 0, 0, "out of memory for the outlier check");
    }
    for (f = 0; f < task->F; ++f) {
        task->scaled[f] = (float *)KDTS_MALLOC((size_t)rows * sizeof(float));
        if (!task->scaled[f]) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory for scaled columns");
        memcpy(task->scaled[f], t->col[f], (size_t)rows * sizeof(float));
        kdts_scaler_apply_column(&task->scaler, f, task->scaled[f], rows);
    }
    /* windows of each part */
    memset(&view, 0, sizeof view);
    view.rows = rows;
    view.cols = task->F;
    view.col = task->scaled;
    wc = kdts_window_config_default();
    wc.lookback = c->lookback;
    wc.horizon = c->horizon;
    wc.targets = task->target;
    wc.n_targets = task->K;
    wc.norm = c->relative == KDTS_RELATIVE_LAST ? KDTS_WNORM_LAST
              : c->relative == KDTS_RELATIVE_MEANSTD ? KDTS_WNORM_MEANSTD
                                                     : KDTS_WNORM_NONE;
    wc.norm_eps = c->norm_eps;
    for (part = 0; part < 3; ++part) {
        const kdts_range *rg = part == 0 ? &task->split.train : part == 1 ? &task->split.val : &task->split.test;
        kdts_dataset *d = &task->data[part];
        if (rg->end - rg->begin < (long)c->lookback + c->horizon) continue; /* no window fits */
        wc.stride = part == 0 ? c->stride : 1;
        r = kdts_windows_make(&task->win[part], &view, rg->begin, rg->end, &wc, err);
        if (r != KDTS_OK) return r;
        if (task->win[part].n > 2000000000L)
            return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "%s: more than 2e9 windows", name);
        d->x = task->win[part].x;
        d->y = task->win[part].y;
        d->n = (int)task->win[part].n;
        d->T = c->lookback;
        d->F = task->F;
        d->h = task->K * c->horizon;
    }
    if ((r = kdts__task_bins(task)) != KDTS_OK) return kdts__fail(err, r, 0, 0, "out of memory for the bin range");
    /* the season: given, none, or detected on the first target's training rows */
    if (c->season > 0) {
        task->season = c->season;
    } else if (c->season == 0) {
        long n = task->split.train.end - task->split.train.begin;
        int maxp = (int)((n - 2) / 2 < 400 ? (n - 2) / 2 : 400), per = 0;
        float strength = 0;
        if (maxp >= 2 &&
            kdts_season_detect(t->col[task->target[0]] + task->split.train.begin, n, 2, maxp, &per, &strength, NULL) ==
                KDTS_OK) {
            task->season = per;
            task->season_strength = strength;
        }
    }
    /* timestamps */
    if (!c->time_column || c->time_column[0]) {
        int found = -1;
        for (k = 0; k < t->text_cols && found < 0; ++k) {
            const char *a = kdts_table_text(t, k, 0), *b = kdts_table_text(t, k, rows - 1);
            if (c->time_column ? !strcmp(t->text_name[k], c->time_column)
                               : a && b && kdts_time_parse(a, strlen(a), NULL, NULL) &&
                                     kdts_time_parse(b, strlen(b), NULL, NULL))
                found = k;
        }
        if (found < 0 && c->time_column)
            return kdts__fail(err, KDTS_ERR_NOTFOUND, 0, 0, "%s: no text column %s for the timestamps", name,
                              c->time_column);
        if (found >= 0) {
            kdts_error e2;
            r = kdts__task_times(task, found, &e2);
            if (r == KDTS_ERR_NOMEM) return kdts__fail(err, r, 0, 0, "%s", e2.message);
            if (r != KDTS_OK) {
                if (c->time_column) return kdts__fail(err, r, e2.line, e2.column, "%s: %s", name, e2.message);
                found = -1; /* a text column that only looked like dates */
            }
        }
        if (found >= 0) {
            kdts_times *tm = &task->times;
            size_t n = strlen(t->text_name[found]);
            if (n >= sizeof task->settings.time_column) { /* never cut: not recorded, and said so */
                n = 0;
                kdts__task_warn(task, "the time column's name is longer than %d bytes: models do not record it",
                                (int)sizeof task->settings.time_column - 1);
            }
            memcpy(task->settings.time_column, t->text_name[found], n);
            task->settings.time_column[n] = 0;
            if (tm->first_bad >= 0)
                kdts__task_warn(task, "column %.60s: the time at row %ld does not come after the one before it "
                                      "(dates run backwards or repeat)",
                                t->text_name[found], tm->first_bad + 1);
            else if (!tm->regular && !tm->months)
                kdts__task_warn(task, "column %.60s: irregular times: %ld gap(s) longer than the usual step of %lld s; "
                                      "forecast times assume that step",
                                t->text_name[found], tm->gaps, tm->step);
        }
    }
    /* settings a model records */
    {
        kdts_data_settings *s = &task->settings;
        s->recorded = 1;
        s->missing = c->missing;
        s->split = c->split;
        for (k = 0; k < 3; ++k) s->split_sizes[k] = c->split_sizes[k];
        s->scaling = c->scaling;
        s->relative = c->relative;
        s->stride = c->stride;
        s->bins = c->bins;
        s->bin_rule = c->bin_rule;
        s->season = task->season > 0 ? task->season : -1;
        s->max_rows = c->max_rows;
        s->rows = rows;
        s->train_begin = task->split.train.begin;
        s->train_end = task->split.train.end;
        s->val_begin = task->split.val.begin;
        s->val_end = task->split.val.end;
        s->test_begin = task->split.test.begin;
        s->test_end = task->split.test.end;
        s->scaler_clip = c->clip;
        s->clip_k = c->clip_k;
        s->clip_q = c->clip_q;
    }
    if (!task->source[0]) {
        const char *b = name, *p;
        for (p = name; *p; ++p)
            if (*p == '/' || *p == '\\') b = p + 1;
        k = 0;
        while (b[k] && k < (int)sizeof task->source - 1) task->source[k] = b[k], k++;
        task->source[k] = 0;
    }
    return KDTS_OK;
}

/* The CSV reader's options for a task: the named inputs first (features,
   then targets not among them), then the ones by field number. */
static kdts_result kdts__task_csv_config(const kdts_task_config *c, kdts_csv_config *cc, const char **names,
                                         int *nn, int *idx, int *ni, kdts_error *err)
{
    int i, j;
    *nn = *ni = 0;
    for (i = 0; i < c->n_features; ++i) {
        for (j = 0; j < *nn; ++j)
            if (!strcmp(names[j], c->features[i]))
                return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "feature %s is given twice", c->features[i]);
        names[(*nn)++] = c->features[i];
    }
    for (i = 0; i < c->n_targets; ++i) {
        for (j = 0; j < *nn && strcmp(names[j], c->targets[i]); ++j) {
        }
        if (j == *nn) {
            if (*nn >= KDTS_MAX_COLUMNS) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "more than %d inputs", KDTS_MAX_COLUMNS);
            names[(*nn)++] = c->targets[i];
        }
    }
    for (i = 0; i < c->n_feature_columns; ++i) idx[(*ni)++] = c->feature_columns[i];
    for (i = 0; i < c->n_target_columns; ++i) {
        for (j = 0; j < *ni && idx[j] != c->target_columns[i]; ++j) {
        }
        if (j == *ni) {
            if (*ni >= KDTS_MAX_COLUMNS) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "more than %d inputs", KDTS_MAX_COLUMNS);
            idx[(*ni)++] = c->target_columns[i];
        }
    }
    if (*nn + *ni > KDTS_MAX_COLUMNS) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "more than %d inputs", KDTS_MAX_COLUMNS);
    *cc = kdts_csv_config_default();
    cc->columns = *nn ? names : NULL;
    cc->n_columns = *nn;
    cc->column_indices = *ni ? idx : NULL;
    cc->n_column_indices = *ni;
    cc->missing = c->missing;
    cc->keep_text = !c->time_column || c->time_column[0];
    return KDTS_OK;
}

/* Set up task->cfg from cfg (checked; pointers kept for the build only). */
static kdts_result kdts__task_begin(kdts_task *task, const kdts_task_config *cfg, kdts_error *err)
{
    memset(task, 0, sizeof *task);
    if (!cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: no configuration");
    task->cfg = *cfg;
    if (task->cfg.source_name) {
        size_t n = strlen(task->cfg.source_name);
        if (n >= sizeof task->source) n = sizeof task->source - 1;
        memcpy(task->source, task->cfg.source_name, n);
        task->source[n] = 0;
    }
    return kdts_task_config_check(&task->cfg, err);
}

/* Clear the borrowed pointers of a built task's configuration. */
static kdts_result kdts__task_end(kdts_task *task, kdts_result r)
{
    kdts_task_config *c = &task->cfg;
    if (r != KDTS_OK) {
        kdts_task_free(task);
        return r;
    }
    c->targets = c->features = NULL;
    c->target_columns = c->feature_columns = NULL;
    c->time_column = NULL;
    c->source_name = NULL;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_task_open_mem(kdts_task *task, const kdts_task_config *cfg, const void *data, size_t len,
                                       const char *name, kdts_error *err)
{
    const char *names[KDTS_MAX_COLUMNS];
    int idx[KDTS_MAX_COLUMNS], nn, ni;
    kdts_csv_config cc;
    kdts_result r = kdts__task_begin(task, cfg, err);
    if (!name) name = "CSV data";
    if (r == KDTS_OK) r = kdts__task_csv_config(&task->cfg, &cc, names, &nn, idx, &ni, err);
    if (r == KDTS_OK) r = kdts_csv_read_mem(&task->table, data, len, &cc, err);
    if (r == KDTS_OK) r = kdts__task_build(task, NULL, name, err);
    return kdts__task_end(task, r);
}

/* Copy the selected numeric columns (and every text column) of src. */
static kdts_result kdts__table_select(kdts_table *dst, const kdts_table *src, const int *sel, int n, kdts_error *err)
{
    int k;
    size_t bytes;
    memset(dst, 0, sizeof *dst);
    dst->rows = src->rows;
    dst->file_columns = src->file_columns;
    dst->delimiter = src->delimiter;
    dst->col = (float **)KDTS_MALLOC((size_t)(n ? n : 1) * sizeof(float *));
    dst->name = (char **)KDTS_MALLOC((size_t)(n ? n : 1) * sizeof(char *));
    dst->missing = (long *)KDTS_MALLOC((size_t)(n ? n : 1) * sizeof(long));
    dst->file_column = (int *)KDTS_MALLOC((size_t)(n ? n : 1) * sizeof(int));
    if (!dst->col || !dst->name || !dst->missing || !dst->file_column) goto nomem;
    for (k = 0; k < n; ++k) dst->col[k] = NULL, dst->name[k] = NULL;
    dst->cols = n;
    for (k = 0; k < n; ++k) {
        const char *nm = src->name && src->name[sel[k]] ? src->name[sel[k]] : "";
        dst->col[k] = (float *)KDTS_MALLOC((size_t)(src->rows ? src->rows : 1) * sizeof(float));
        dst->name[k] = (char *)KDTS_MALLOC(strlen(nm) + 1);
        if (!dst->col[k] || !dst->name[k]) goto nomem;
        memcpy(dst->col[k], src->col[sel[k]], (size_t)src->rows * sizeof(float));
        memcpy(dst->name[k], nm, strlen(nm) + 1);
        dst->missing[k] = src->missing ? src->missing[sel[k]] : 0;
        dst->file_column[k] = src->file_column ? src->file_column[sel[k]] : sel[k];
    }
    if (src->text_cols > 0 && src->text_blob && src->text_offset) {
        int tc = src->text_cols;
        dst->text_name = (char **)KDTS_MALLOC((size_t)tc * sizeof(char *));
        dst->text_blob = (char **)KDTS_MALLOC((size_t)tc * sizeof(char *));
        dst->text_offset = (size_t **)KDTS_MALLOC((size_t)tc * sizeof(size_t *));
        if (!dst->text_name || !dst->text_blob || !dst->text_offset) goto nomem;
        for (k = 0; k < tc; ++k) dst->text_name[k] = dst->text_blob[k] = NULL, dst->text_offset[k] = NULL;
        dst->text_cols = tc;
        for (k = 0; k < tc; ++k) {
            long r;
            size_t nmlen = strlen(src->text_name[k]) + 1;
            bytes = 0;
            for (r = 0; r < src->rows; ++r) bytes += strlen(kdts_table_text(src, k, r)) + 1;
            dst->text_name[k] = (char *)KDTS_MALLOC(nmlen);
            dst->text_blob[k] = (char *)KDTS_MALLOC(bytes ? bytes : 1);
            dst->text_offset[k] = (size_t *)KDTS_MALLOC((size_t)(src->rows ? src->rows : 1) * sizeof(size_t));
            if (!dst->text_name[k] || !dst->text_blob[k] || !dst->text_offset[k]) goto nomem;
            memcpy(dst->text_name[k], src->text_name[k], nmlen);
            bytes = 0;
            for (r = 0; r < src->rows; ++r) {
                const char *s = kdts_table_text(src, k, r);
                size_t l = strlen(s) + 1;
                memcpy(dst->text_blob[k] + bytes, s, l);
                dst->text_offset[k][r] = bytes;
                bytes += l;
            }
        }
    }
    return KDTS_OK;
nomem:
    kdts_table_free(dst);
    return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory copying a table");
}

KDTSDEF kdts_result kdts_task_open_table(kdts_task *task, const kdts_task_config *cfg, const kdts_table *t,
                                         const char *name, kdts_error *err)
{
    const char *names[KDTS_MAX_COLUMNS];
    int idx[KDTS_MAX_COLUMNS], sel[KDTS_MAX_COLUMNS], nn, ni, n = 0, k, f;
    kdts_csv_config cc;
    kdts_result r = kdts__task_begin(task, cfg, err);
    if (!name) name = "table";
    if (r == KDTS_OK && (!t || t->rows < 1 || !t->col)) r = kdts__fail(err, KDTS_ERR_DATA, 0, 0, "%s: empty table", name);
    if (r == KDTS_OK) r = kdts__task_csv_config(&task->cfg, &cc, names, &nn, idx, &ni, err);
    for (k = 0; r == KDTS_OK && k < nn; ++k) {
        f = kdts_table_find(t, names[k]);
        if (f < 0) r = kdts__fail(err, KDTS_ERR_NOTFOUND, 0, 0, "%s: no numeric column %s", name, names[k]);
        else sel[n++] = f;
    }
    for (k = 0; r == KDTS_OK && k < ni; ++k) {
        int found = -1;
        for (f = 0; f < t->cols; ++f)
            if ((t->file_column ? t->file_column[f] : f) == idx[k]) found = f;
        if (found < 0) r = kdts__fail(err, KDTS_ERR_NOTFOUND, 0, 0, "%s: field %d is not a numeric column", name, idx[k] + 1);
        else sel[n++] = found;
    }
    for (k = 0; r == KDTS_OK && k < n; ++k)
        for (f = 0; f < k; ++f)
            if (sel[f] == sel[k]) r = kdts__fail(err, KDTS_ERR_ARG, 0, 0, "%s: column %s is given twice", name, t->name[sel[k]]);
    if (r == KDTS_OK) r = kdts__table_select(&task->table, t, sel, n, err);
    if (r == KDTS_OK) r = kdts__task_build(task, NULL, name, err);
    return kdts__task_end(task, r);
}

#ifndef KDTS_NO_STDIO
KDTSDEF kdts_result kdts_task_open(kdts_task *task, const kdts_task_config *cfg, const char *path, kdts_error *err)
{
    const char *names[KDTS_MAX_COLUMNS];
    int idx[KDTS_MAX_COLUMNS], nn, ni;
    kdts_csv_config cc;
    kdts_result r = kdts__task_begin(task, cfg, err);
    if (!path) r = kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: no file name");
    if (r == KDTS_OK) r = kdts__task_csv_config(&task->cfg, &cc, names, &nn, idx, &ni, err);
    if (r == KDTS_OK) r = kdts_csv_read_file(&task->table, path, &cc, err);
    if (r == KDTS_OK) r = kdts__task_build(task, NULL, path, err);
    return kdts__task_end(task, r);
}

KDTSDEF kdts_result kdts_task_open_model(kdts_task *task, const kdts_model *m, const char *path,
                                         const kdts_task_config *over, kdts_error *err)
{
    const char *names[KDTS_MAX_COLUMNS], *tnames[KDTS_MAX_COLUMNS];
    kdts_task_config c;
    kdts_result r;
    const kdts_data_settings *s;
    int f, k;
    memset(task, 0, sizeof *task);
    if (!m || !path) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task: no model or no file name");
    if ((r = kdts_model_check(m, err)) != KDTS_OK) return r;
    s = &m->data;
    memset(&c, 0, sizeof c);
    for (f = 0; f < m->n_features; ++f) names[f] = kdts_model_feature_name(m, f);
    for (k = 0; k < m->n_targets; ++k) tnames[k] = names[m->target_index[k]];
    c.features = names;
    c.n_features = m->n_features;
    c.targets = tnames;
    c.n_targets = m->n_targets;
    c.lookback = m->lookback;
    c.horizon = m->horizon;
    c.relative = m->window_norm == KDTS_WNORM_LAST ? KDTS_RELATIVE_LAST
                 : m->window_norm == KDTS_WNORM_MEANSTD ? KDTS_RELATIVE_MEANSTD
                                                        : KDTS_RELATIVE_NONE;
    c.norm_eps = m->norm_eps;
    if (s->recorded) {
        c.missing = s->missing;
        c.split = s->split;
        for (k = 0; k < 3; ++k) c.split_sizes[k] = s->split_sizes[k];
        c.scaling = s->scaling;
        c.stride = s->stride;
        c.bins = s->bins;
        c.bin_rule = s->bin_rule;
        c.season = s->season;
        c.max_rows = (long)s->max_rows;
        c.clip = s->scaler_clip;
        c.clip_k = s->clip_k;
        c.clip_q = s->clip_q;
    }
    if (m->arch.mode == KDTS_MODE_DIST) c.bins = m->arch.bins;
    c.time_column = NULL; /* detected: a later file may lack the column */
    if (over) {
        c.allow_short = over->allow_short;
        if (over->season > 0) c.season = over->season;
        if (over->time_column) c.time_column = over->time_column;
    }
    r = kdts__task_begin(task, &c, err);
    if (r == KDTS_OK) {
        kdts_csv_config cc;
        int idx[KDTS_MAX_COLUMNS], nn, ni;
        const char *rn[KDTS_MAX_COLUMNS];
        r = kdts__task_csv_config(&task->cfg, &cc, rn, &nn, idx, &ni, err);
        if (r == KDTS_OK) r = kdts_csv_read_file(&task->table, path, &cc, err);
    }
    if (r == KDTS_OK) {
        /* the model's feature order is the task's input order */
        for (f = 0; f < m->n_features && r == KDTS_OK; ++f)
            if (strcmp(task->table.name[f], names[f]))
                r = kdts__fail(err, KDTS_ERR_DATA, 0, 0, "%s: column order differs from the model's", path);
    }
    if (r == KDTS_OK) r = kdts__task_build(task, m, path, err);
    if (r == KDTS_OK && s->recorded && s->rows != task->rows) task->split_differs = 1;
    if (r == KDTS_OK && m->arch.mode == KDTS_MODE_DIST) {
        task->bin_lo = m->arch.bin_lo;
        task->bin_hi = m->arch.bin_hi;
    }
    return kdts__task_end(task, r);
}
#endif

KDTSDEF void kdts_task_net_config(const kdts_task *task, kdts_net_config *c)
{
    c->input = task->F;
    c->horizon = task->K * task->cfg.horizon;
    c->lookback = task->cfg.lookback;
    if (c->kind == KDTS_KIND_ATTN && c->max_steps < task->cfg.lookback) c->max_steps = task->cfg.lookback;
    if (c->kind == KDTS_KIND_LINEAR && task->cfg.relative == KDTS_RELATIVE_NONE && task->K == 1 && c->mode == KDTS_MODE_POINT) {
        c->subtract_last = 1;
        c->target_rev = task->F - 1 - task->target[0];
    }
    if (c->mode == KDTS_MODE_DIST) {
        if (c->bins == 0) c->bins = task->cfg.bins;
        c->bin_lo = task->bin_lo;
        c->bin_hi = task->bin_hi;
    }
}

static kdts_result kdts__task_fit_linear_cfg(const kdts_task *task, const kdts_linear_config *cfg, kdts_linear *m,
                                             double *lambda, kdts_error *err);

/* An NLinear model as one plain map of the window, W (O x T*F) then b (O),
   into wb: with subtract_last, out = W(x - last) + b + x_last[target] is
   the map with the last step's column of feature f reduced by W's sums
   over feature f's steps, plus 1 at the target. */
static void kdts__linear_fold(const kdts_linear *lm, float *wb)
{
    const kdts_linear_config *c = &lm->cfg;
    int O = lm->outputs, D = lm->inputs, F = c->input, T = c->lookback, o, t, f;
    memcpy(wb, lm->params + lm->off_w, (size_t)O * D * sizeof(float));
    memcpy(wb + (size_t)O * D, lm->params + lm->off_b, (size_t)O * sizeof(float));
    if (!c->subtract_last) return;
    for (o = 0; o < O; ++o) {
        const float *w = lm->params + lm->off_w + (size_t)o * D;
        float *row = wb + (size_t)o * D;
        for (f = 0; f < F; ++f) {
            double sum = 0;
            for (t = 0; t < T; ++t) sum += w[t * F + f];
            row[(T - 1) * F + f] -= (float)sum;
        }
        row[(T - 1) * F + (F - 1 - c->target_rev)] += 1.0f;
    }
}

KDTSDEF kdts_result kdts_task_fit(const kdts_task *task, kdts_net *net, const kdts_train_config *cfg,
                                  const kdts_net *const *teachers, int nteachers, kdts_train_report *rep,
                                  kdts_error *err)
{
    const kdts_dataset *val = task->data[KDTS_PART_VAL].n > 0 ? &task->data[KDTS_PART_VAL] : NULL;
    kdts_train_config c;
    if (!net || !cfg) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task fit: no model or no settings");
    if (task->data[KDTS_PART_TRAIN].n < 1) return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "no training windows");
    c = *cfg;
    if (c.targets == 0) c.targets = task->K; /* the series of the horizon values, for the KD options */
    if ((net->cfg.skip || net->cfg.kind == KDTS_KIND_LINEAR) && net->cfg.lookback != task->cfg.lookback)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "the model's window map takes %d steps, the task's windows %d",
                          net->cfg.lookback, task->cfg.lookback);
    if (net->cfg.kind == KDTS_KIND_LINEAR && net->cfg.mode == KDTS_MODE_POINT && task->data[KDTS_PART_TRAIN].n >= 2) {
        /* start at the closed-form fit of the same model */
        kdts_linear_config lc;
        kdts_linear lm;
        kdts_result r;
        kdts__net_to_linear(&net->cfg, &lc);
        if ((r = kdts__task_fit_linear_cfg(task, &lc, &lm, NULL, err)) != KDTS_OK) return r;
        memcpy(net->params, lm.params, net->nparams * sizeof(float));
        kdts_linear_free(&lm);
        c.validate_start = 1;
    }
    if (net->cfg.skip) {
        /* start at the closed-form NLinear fit, the network's head at zero */
        kdts_linear_config lc;
        kdts_linear lm;
        size_t hw, hb;
        int width;
        kdts_result r;
        memset(&lc, 0, sizeof lc);
        lc.input = net->cfg.input;
        lc.lookback = net->cfg.lookback;
        lc.horizon = net->cfg.horizon;
        if (task->cfg.relative == KDTS_RELATIVE_NONE && task->K == 1) {
            lc.subtract_last = 1;
            lc.target_rev = task->F - 1 - task->target[0];
        }
        if ((r = kdts__task_fit_linear_cfg(task, &lc, &lm, NULL, err)) != KDTS_OK) return r;
        kdts__linear_fold(&lm, net->params + net->off_skip);
        kdts_linear_free(&lm);
        kdts_net_head(net, &hw, &hb, &width);
        memset(net->params + hw, 0, (size_t)net->outputs * (size_t)width * sizeof(float));
        memset(net->params + hb, 0, (size_t)net->outputs * sizeof(float));
        c.validate_start = 1;
    }
    return kdts_net_train(net, &c, &task->data[KDTS_PART_TRAIN], val, teachers, nteachers, rep, err);
}

static kdts_result kdts__task_part(const kdts_task *task, kdts_part part, kdts_error *err)
{
    if ((unsigned)part > (unsigned)KDTS_PART_TEST) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "unknown part %d", (int)part);
    if (task->win[part].n < 1)
        return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "the %s part has no windows",
                          part == KDTS_PART_TRAIN ? "training" : part == KDTS_PART_VAL ? "validation" : "test");
    return KDTS_OK;
}

/* Window-space value v of target k of window n back to original units. */
static float kdts__task_unwindow(const kdts_task *task, const kdts_windows *w, long n, int k, float v)
{
    int f = task->target[k], F = w->F;
    float off = w->norm_offset ? w->norm_offset[n * (F + w->K) + F + k] : 0.0f;
    float scl = w->norm_scale ? w->norm_scale[n * (F + w->K) + F + k] : 1.0f;
    return kdts_scaler_invert_value(&task->scaler, f, v * scl + off);
}

KDTSDEF kdts_result kdts_task_forecast(const kdts_task *task, kdts_part part, const kdts_net *net, float *fc,
                                       float *lo, float *hi, float coverage, kdts_error *err)
{
    const kdts_windows *w = &task->win[(unsigned)part > 2u ? 0 : part];
    const kdts_net_config *c = &net->cfg;
    kdts_net_ws ws;
    float *obuf;
    kdts_result r = kdts__task_part(task, part, err);
    int K = task->K, H = task->cfg.horizon, T = w->T, F = w->F, V = K * H, dist = c->mode == KDTS_MODE_DIST;
    long i0, n = w->n;
    if (r != KDTS_OK) return r;
    if (c->input != F || c->horizon != V)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "the network takes %d inputs and forecasts %d values; the task has %d and %d",
                          c->input, c->horizon, F, V);
    if ((lo || hi) && !dist) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "intervals need a distribution-mode network");
    r = kdts_net_ws_init(&ws, c, n < KDTS__PRED_BATCH ? (int)n : KDTS__PRED_BATCH, T, 0, err);
    if (r != KDTS_OK) return r;
    obuf = kdts__falloc((size_t)ws.max_batch * net->outputs);
    if (!obuf) r = kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory");
    for (i0 = 0; i0 < n && r == KDTS_OK; i0 += ws.max_batch) {
        int nb = n - i0 < ws.max_batch ? (int)(n - i0) : ws.max_batch, b, j, k;
        r = kdts_net_forecast(net, &ws, w->x + (size_t)i0 * T * F, nb, T, obuf, err);
        for (b = 0; b < nb && r == KDTS_OK; ++b) {
            const float *o = obuf + (size_t)b * net->outputs;
            long wn = i0 + b;
            for (k = 0; k < K; ++k)
                for (j = 0; j < H; ++j) {
                    int q = k * H + j;
                    float v, a = 0, z = 0;
                    if (dist) {
                        const float *lg = o + (size_t)q * c->bins;
                        kdts_dist_expect(&v, lg, 1, c->bins, c->bin_lo, c->bin_hi);
                        if (lo || hi) kdts_dist_interval(lg, c->bins, c->bin_lo, c->bin_hi, coverage, &a, &z);
                    } else {
                        v = o[q];
                    }
                    fc[(size_t)wn * V + q] = kdts__task_unwindow(task, w, wn, k, v);
                    if (lo) lo[(size_t)wn * V + q] = kdts__task_unwindow(task, w, wn, k, a);
                    if (hi) hi[(size_t)wn * V + q] = kdts__task_unwindow(task, w, wn, k, z);
                }
        }
    }
    kdts__free_aligned(obuf);
    kdts_net_ws_free(&ws);
    return r;
}

KDTSDEF kdts_result kdts_task_input(const kdts_task *task, long end, float *x, kdts_error *err)
{
    int T = task->cfg.lookback, F = task->F, t, f;
    long r0 = end - T + 1;
    if (!x || r0 < 0 || end >= task->rows)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "no window of %d rows ends at row %ld (rows 1..%ld)", T, end + 1,
                          task->rows);
    for (t = 0; t < T; ++t)
        for (f = 0; f < F; ++f) x[(size_t)t * F + f] = task->table.col[f][r0 + t];
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_task_forecast_model(const kdts_task *task, kdts_part part, const kdts_model *m, float *fc,
                                             float *lo, float *hi, float coverage, kdts_error *err)
{
    const kdts_windows *w = &task->win[(unsigned)part > 2u ? 0 : part];
    kdts_infer inf;
    float *x;
    long n;
    int T = task->cfg.lookback, F = task->F, V = task->K * task->cfg.horizon;
    kdts_result r = kdts__task_part(task, part, err);
    if (r != KDTS_OK) return r;
    if (m->n_features != F || m->lookback != T || m->n_targets * m->horizon != V)
        return kdts__fail(err, KDTS_ERR_SHAPE, 0, 0, "the model does not fit the task (inputs %d/%d, lookback %d/%d)",
                          m->n_features, F, m->lookback, T);
    x = kdts__falloc((size_t)T * F);
    if (!x) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "out of memory");
    r = kdts_infer_create(&inf, m, T, err);
    for (n = 0; n < w->n && r == KDTS_OK; ++n) {
        r = kdts_task_input(task, w->start[n] + T - 1, x, err);
        if (r == KDTS_OK)
            r = kdts_infer_window(&inf, x, T, fc + (size_t)n * V, lo ? lo + (size_t)n * V : NULL,
                                  hi ? hi + (size_t)n * V : NULL, coverage, err);
    }
    kdts_infer_free(&inf);
    kdts__free_aligned(x);
    return r;
}

/* The closed-form ridge fit of a linear model of configuration lc on the
   task's training windows, lambda chosen on the validation windows. */
static kdts_result kdts__task_fit_linear_cfg(const kdts_task *task, const kdts_linear_config *cfg, kdts_linear *m,
                                             double *lambda, kdts_error *err)
{
    kdts_linear_config lc = *cfg;
    kdts_linear_gram g;
    const kdts_dataset *tr = &task->data[KDTS_PART_TRAIN], *va = &task->data[KDTS_PART_VAL];
    kdts_result r;
    double lam = 1e-3;
    if (tr->n < 2) return kdts__fail(err, KDTS_ERR_DATA, 0, 0, "linear fit: fewer than 2 training windows");
    memset(&g, 0, sizeof g);
    if ((r = kdts_linear_init(m, &lc, 1, err)) != KDTS_OK) return r;
    r = kdts_linear_gram_init(&g, &lc, tr->x, tr->y, tr->n, tr->T, err);
    if (r == KDTS_OK) {
        if (va->n > 0) r = kdts_linear_fit_select(m, &g, va->x, va->y, va->n, va->T, NULL, 0, NULL, &lam, err);
        else r = kdts_linear_gram_solve(&g, m, lam, err);
        kdts_linear_gram_free(&g);
    }
    if (r != KDTS_OK) {
        kdts_linear_free(m);
        return r;
    }
    if (lambda) *lambda = lam;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_task_fit_linear(const kdts_task *task, kdts_linear_kind kind, kdts_linear *m,
                                         double *lambda, kdts_error *err)
{
    kdts_linear_config lc;
    memset(&lc, 0, sizeof lc);
    lc.input = task->F;
    lc.lookback = task->cfg.lookback;
    lc.horizon = task->K * task->cfg.horizon;
    lc.mode = KDTS_MODE_POINT;
    lc.kind = kind;
    if (task->cfg.relative == KDTS_RELATIVE_NONE && task->K == 1) {
        lc.subtract_last = 1;
        lc.target_rev = task->F - 1 - task->target[0];
    }
    return kdts__task_fit_linear_cfg(task, &lc, m, lambda, err);
}

KDTSDEF kdts_result kdts_task_baseline(const kdts_task *task, kdts_part part, kdts_baseline kind, float *fc,
                                       kdts_error *err)
{
    const kdts_windows *w = &task->win[(unsigned)part > 2u ? 0 : part];
    int K = task->K, H = task->cfg.horizon, T = task->cfg.lookback, k, j, p = task->season;
    long n;
    kdts_result r = kdts__task_part(task, part, err);
    if (r != KDTS_OK) return r;
    if (kind == KDTS_BASELINE_NLINEAR || kind == KDTS_BASELINE_DLINEAR) {
        kdts_linear lm;
        long i0, q;
        int V = K * H, F = task->F;
        r = kdts_task_fit_linear(task, kind == KDTS_BASELINE_NLINEAR ? KDTS_LINEAR_NLINEAR : KDTS_LINEAR_DLINEAR, &lm,
                                 NULL, err);
        if (r != KDTS_OK) return r;
        for (i0 = 0; i0 < w->n && r == KDTS_OK; i0 += 256) {
            int nb = w->n - i0 < 256 ? (int)(w->n - i0) : 256;
            r = kdts_linear_forward(&lm, w->x + (size_t)i0 * T * F, nb, T, fc + (size_t)i0 * V, err);
        }
        for (q = 0; q < w->n * V && r == KDTS_OK; ++q) {
            long wn = q / V;
            fc[q] = kdts__task_unwindow(task, w, wn, (int)(q % V) / H, fc[q]);
        }
        kdts_linear_free(&lm);
        return r;
    }
    if (kind != KDTS_BASELINE_PERSISTENCE && kind != KDTS_BASELINE_SEASONAL)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "unknown baseline %d", (int)kind);
    if (kind == KDTS_BASELINE_SEASONAL && p < 1)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "the seasonal baseline needs a season (period in rows)");
    for (n = 0; n < w->n; ++n) {
        long last = w->start[n] + T - 1;
        for (k = 0; k < K; ++k) {
            const float *col = task->table.col[task->target[k]];
            for (j = 0; j < H; ++j) {
                long row = last; /* persistence, and the seasonal fallback */
                if (kind == KDTS_BASELINE_SEASONAL) {
                    long q = last + 1 + j - (long)p * ((j + p) / p); /* one or more seasons back, <= last */
                    if (q >= 0) row = q;
                }
                fc[(size_t)n * K * H + (size_t)k * H + j] = col[row];
            }
        }
    }
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_task_score(const kdts_task *task, kdts_part part, const float *fc, const float *lo,
                                    const float *hi, float coverage, kdts_scores *s, double *step_mse,
                                    kdts_error *err)
{
    const kdts_windows *w = &task->win[(unsigned)part > 2u ? 0 : part];
    int K = task->K, H = task->cfg.horizon, T = task->cfg.lookback, k, j;
    double se = 0, ae = 0, seo = 0, aeo = 0, ape = 0, sy = 0, syy = 0, inside = 0, pin = 0, cnt, ql, qh;
    long n, nape = 0;
    kdts_result r = kdts__task_part(task, part, err);
    if (r != KDTS_OK) return r;
    if (!fc || !s) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "score: no forecasts or no output");
    if ((lo == NULL) != (hi == NULL)) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "score: low and high go together");
    ql = 0.5 * (1.0 - coverage);
    qh = 1.0 - ql;
    if (step_mse)
        for (j = 0; j < H; ++j) step_mse[j] = 0;
    for (n = 0; n < w->n; ++n)
        for (k = 0; k < K; ++k) {
            int f = task->target[k];
            const float *col = task->table.col[f];
            double scale = task->scaler.scale[f];
            for (j = 0; j < H; ++j) {
                size_t q = (size_t)n * K * H + (size_t)k * H + j;
                double y = col[w->start[n] + T + j], p = fc[q], e = p - y, ez = e / scale;
                if (!(ez == ez) || ez - ez != 0)
                    return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0, "score: forecast %ld, value %d is not finite", n + 1,
                                      k * H + j + 1);
                se += ez * ez;
                ae += fabs(ez);
                seo += e * e;
                aeo += fabs(e);
                if (fabs(y) > 1e-8) ape += fabs(e / y), nape++;
                sy += y;
                syy += y * y;
                if (step_mse) step_mse[j] += ez * ez;
                if (lo) {
                    double a = lo[q], b = hi[q];
                    inside += y >= a && y <= b;
                    pin += (y >= a ? ql * (y - a) : (ql - 1.0) * (y - a)) / scale;
                    pin += (y >= b ? qh * (y - b) : (qh - 1.0) * (y - b)) / scale;
                }
            }
        }
    cnt = (double)w->n * K * H;
    memset(s, 0, sizeof *s);
    s->windows = w->n;
    s->targets = K;
    s->horizon = H;
    s->mse = se / cnt;
    s->mae = ae / cnt;
    s->mse_orig = seo / cnt;
    s->mae_orig = aeo / cnt;
    s->rmse_orig = sqrt(s->mse_orig);
    s->mape = nape ? 100.0 * ape / (double)nape : -1.0;
    {
        double sst = syy - sy * sy / cnt;
        s->r2 = sst > 0 ? 1.0 - seo / sst : 0.0;
    }
    s->coverage = lo ? inside / cnt : -1.0;
    s->pinball = lo ? pin / (2.0 * cnt) : -1.0;
    if (step_mse)
        for (j = 0; j < H; ++j) step_mse[j] /= (double)w->n * K;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_task_model(const kdts_task *task, const kdts_net *net, const kdts_model_meta *meta,
                                    kdts_model *out, kdts_error *err)
{
    kdts_model_desc d;
    kdts_model_meta mt;
    const char *names[KDTS_MAX_COLUMNS];
    int f;
    if (!task || !net || !out) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "task model: NULL argument");
    if (meta) mt = *meta;
    else memset(&mt, 0, sizeof mt);
    if (!mt.source[0]) {
        size_t n = strlen(task->source);
        if (n >= sizeof mt.source) n = sizeof mt.source - 1;
        memcpy(mt.source, task->source, n);
        mt.source[n] = 0;
    }
    if (!meta) mt.best_val_mse = -1.0f;
    mt.rows_train = task->split.train.end - task->split.train.begin;
    mt.rows_val = task->split.val.end - task->split.val.begin;
    mt.rows_test = task->split.test.end - task->split.test.begin;
    for (f = 0; f < task->F; ++f) names[f] = task->table.name[f];
    memset(&d, 0, sizeof d);
    d.lookback = task->cfg.lookback;
    d.horizon = task->cfg.horizon;
    d.n_features = task->F;
    d.feature_names = names;
    d.n_targets = task->K;
    d.target_index = task->target;
    d.window_norm = task->cfg.relative == KDTS_RELATIVE_LAST ? KDTS_WNORM_LAST
                    : task->cfg.relative == KDTS_RELATIVE_MEANSTD ? KDTS_WNORM_MEANSTD
                                                                  : KDTS_WNORM_NONE;
    d.norm_eps = task->cfg.norm_eps;
    d.scaler = &task->scaler;
    d.meta = &mt;
    d.data = &task->settings;
    return kdts_model_create_net(out, net, &d, err);
}

/* ======================================================================== */
/* >>model                                                                  */
/* ======================================================================== */

#ifndef KDTS_NO_STDIO
#include <time.h>
#endif

/* ---- model description -------------------------------------------------- */

/* Recorded data settings within their ranges (the loader rejects others). */
static kdts_result kdts__data_settings_check(const kdts_data_settings *d)
{
    int i;
    if (!d->recorded) return KDTS_OK;
    if (d->missing < KDTS_MISSING_ERROR || d->missing > KDTS_MISSING_FFILL || d->split < KDTS_SPLIT_AUTO ||
        d->split > KDTS_SPLIT_ROWS || d->scaling < KDTS_SCALING_ZSCORE || d->scaling > KDTS_SCALING_NONE ||
        d->relative < KDTS_RELATIVE_LAST || d->relative > KDTS_RELATIVE_NONE || d->stride < 1 ||
        d->stride > KDTS_MAX_DIM || d->bins < 2 || d->bins > 4096 || d->bin_rule < KDTS_BINS_QUANTILE ||
        d->bin_rule > KDTS_BINS_MINMAX || d->season < -1 || d->season > KDTS_MAX_DIM || d->scaler_clip < KDTS_CLIP_NONE ||
        d->scaler_clip > KDTS_CLIP_QUANTILE || d->max_rows < 0 || d->rows < 0 || !kdts__isfinite(d->clip_k) ||
        !kdts__isfinite(d->clip_q))
        return KDTS_ERR_ARG;
    for (i = 0; i < 3; ++i)
        if (!(d->split_sizes[i] >= -1.0 && d->split_sizes[i] <= 4e9)) return KDTS_ERR_ARG;
    if (!memchr(d->time_column, 0, sizeof d->time_column)) return KDTS_ERR_ARG;
    return KDTS_OK;
}

KDTSDEF void kdts_model_meta_from_training(kdts_model_meta *m, const kdts_train_config *cfg_in,
                                           const kdts_train_report *rep, int nteachers)
{
    kdts_train_config cfg = *cfg_in;
    kdts_adam a;
    kdts_train_config_check(&cfg, NULL);
    memset(&a, 0, sizeof a);
    if (kdts_adam_init(&a, &cfg.adam, 1, NULL) == KDTS_OK) cfg.adam = a.cfg; /* lr with its default */
    kdts_adam_free(&a);
    m->seed = cfg.seed;
    m->epochs = rep && rep->epochs > 0 ? rep->epochs : cfg.epochs;
    m->batch = cfg.batch;
    m->patience = rep && rep->epochs > 0 ? rep->patience : cfg.patience;
    m->lr = cfg.adam.lr;
    m->epochs_run = rep ? rep->epochs_run : 0;
    m->best_epoch = rep ? rep->best_epoch : 0;
    m->final_loss = rep ? (float)rep->final_loss : 0.0f;
    m->best_val_mse = rep ? (float)rep->best_val_mse : -1.0f;
    m->seconds = rep ? rep->seconds : 0.0;
    m->n_teachers = nteachers > 0 ? nteachers : 0;
    if (nteachers > 0) {
        m->alpha = cfg.alpha;
        m->beta = cfg.beta;
        m->temperature = cfg.temperature;
        m->alpha_warmup = cfg.alpha_warmup;
    }
}

KDTSDEF kdts_result kdts_model_check(const kdts_model *m, kdts_error *err)
{
    kdts_net_config c;
    size_t pos = 0;
    int f, k;
    if (!m) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: NULL");
    c = m->arch;
    if (kdts_net_config_check(&c, err) != KDTS_OK) return KDTS_ERR_ARG;
    if (!kdts__same_net(&c, &m->arch))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: architecture defaults not filled in");
    if (m->nparams != kdts_net_param_count(&c) || !m->params)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: %lu parameters where the architecture has %lu",
                          (unsigned long)m->nparams, (unsigned long)kdts_net_param_count(&c));
    if ((c.kind == KDTS_KIND_LINEAR || c.skip) && c.lookback != m->lookback)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: the window map takes %d steps, the model's lookback is %d",
                          c.lookback, m->lookback);
    if (c.kind == KDTS_KIND_ATTN && c.max_steps < m->lookback)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: attention over at most %d steps, lookback %d",
                          c.max_steps, m->lookback);
    if (m->n_features < 1 || m->n_features > KDTS_MAX_COLUMNS || m->n_features != c.input)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: %d features for an input width of %d",
                          m->n_features, c.input);
    if (m->n_targets < 1 || m->n_targets > KDTS_MAX_COLUMNS || m->horizon < 1 ||
        (long)m->n_targets * m->horizon != c.horizon)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: %d targets x horizon %d do not match the head (%d)",
                          m->n_targets, m->horizon, c.horizon);
    for (k = 0; k < m->n_targets; ++k)
        if (m->target_index[k] < 0 || m->target_index[k] >= m->n_features)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: target %d is not one of the features", k);
    if (m->lookback < 1 || m->lookback > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: lookback %d out of range", m->lookback);
    if (m->window_norm < KDTS_WNORM_NONE || m->window_norm > KDTS_WNORM_MEANSTD)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: unknown window normalization %d", m->window_norm);
    if (!(m->norm_eps >= 0.0f) || !kdts__isfinite(m->norm_eps))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: window normalization epsilon %g is not a finite number >= 0",
                          (double)m->norm_eps);
    if (m->scaler.cols != m->n_features)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: scaler has %d columns for %d features",
                          m->scaler.cols, m->n_features);
    if (m->scaler.kind < KDTS_SCALER_MINMAX || m->scaler.kind > KDTS_SCALER_NONE)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: unknown scaler kind %d", m->scaler.kind);
    if (m->scaler.clip < KDTS_CLIP_NONE || m->scaler.clip > KDTS_CLIP_QUANTILE)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: unknown scaler clipping %d", m->scaler.clip);
    for (f = 0; f < m->n_features; ++f)
        if (!kdts__isfinite(m->scaler.offset[f]) || !kdts__isfinite(m->scaler.scale[f]) ||
            !(m->scaler.scale[f] > 0.0f) || !(m->scaler.clip_lo[f] <= m->scaler.clip_hi[f]))
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: scaler column %d is not usable", f);
    if (kdts__data_settings_check(&m->data) != KDTS_OK)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: recorded data settings out of range");
    if (!m->names) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: no feature names");
    for (f = 0; f < m->n_features; ++f) {
        size_t n = 0;
        while (pos + n < m->names_len && m->names[pos + n]) ++n;
        if (pos + n >= m->names_len || n > KDTS_MODEL_NAME_MAX)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "model: feature names are malformed");
        pos += n + 1;
    }
    return KDTS_OK;
}

KDTSDEF const char *kdts_model_feature_name(const kdts_model *m, int f)
{
    size_t pos = 0;
    int i;
    if (!m || !m->names || f < 0 || f >= m->n_features) return NULL;
    for (i = 0; i < f; ++i) {
        while (pos < m->names_len && m->names[pos]) ++pos;
        ++pos;
        if (pos >= m->names_len) return NULL;
    }
    return m->names + pos;
}

KDTSDEF size_t kdts_model_weight_bytes(const kdts_model *m) { return m ? m->nparams * sizeof(float) : 0; }

KDTSDEF void kdts_model_free(kdts_model *m)
{
    if (!m) return;
    kdts__free_aligned(m->owned);
    memset(m, 0, sizeof *m);
}

KDTSDEF kdts_result kdts_model_net(const kdts_model *m, kdts_net *view, kdts_error *err)
{
    kdts_net v;
    if (!m || !view) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_net: NULL argument");
    memset(&v, 0, sizeof v);
    v.cfg = m->arch;
    if (kdts_net_config_check(&v.cfg, err) != KDTS_OK) return KDTS_ERR_ARG;
    kdts__net_layout(&v);
    if (v.nparams != m->nparams || !m->params)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_net: parameter count mismatch");
    kdts__net_point(&v, (float *)m->params, NULL); /* read-only use: see the doc */
    *view = v;
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_model_lstm(const kdts_model *m, kdts_lstm *view, kdts_error *err)
{
    kdts_net v;
    kdts_result r;
    if (!m || !view) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_lstm: NULL argument");
    if (m->arch.kind != KDTS_KIND_LSTM || m->arch.skip)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_lstm: a %s%s model, not a plain LSTM (use kdts_model_net)",
                          kdts_kind_name(m->arch.kind), m->arch.skip ? " + skip" : "");
    if ((r = kdts_model_net(m, &v, err)) != KDTS_OK) return r;
    *view = v.k.lstm;
    return KDTS_OK;
}

/* Allocate one block holding nparams floats followed by nbytes of names. */
static void *kdts__model_block(size_t nparams, size_t names_bytes, float **params, char **names)
{
    size_t b, total;
    unsigned char *p;
    if (!kdts__mul_ok(nparams, sizeof(float), &b) || !kdts__add_ok(b, names_bytes + 1, &total)) return NULL;
    p = (unsigned char *)kdts__alloc_aligned(total);
    if (!p) return NULL;
    *params = (float *)(void *)p;
    *names = (char *)(p + b);
    return p;
}

KDTSDEF kdts_result kdts_model_create(kdts_model *m, const kdts_lstm *lstm, const kdts_model_desc *d,
                                      kdts_error *err)
{
    kdts_net v;
    if (!lstm) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_create: NULL argument");
    kdts_net_view_lstm(&v, lstm);
    return kdts_model_create_net(m, &v, d, err);
}

KDTSDEF kdts_result kdts_model_create_net(kdts_model *m, const kdts_net *net, const kdts_model_desc *d,
                                          kdts_error *err)
{
    kdts_model t;
    size_t names_len = 0, pos = 0;
    float *params;
    char *names;
    char def[16];
    int f, k, K;
    kdts_result r;
    if (!m || !net || !d || !net->params)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_create: NULL argument");
    memset(&t, 0, sizeof t);
    t.arch = net->cfg;
    t.nparams = net->nparams;
    t.lookback = d->lookback;
    t.n_features = d->n_features;
    K = d->n_targets ? d->n_targets : 1;
    t.n_targets = K;
    t.horizon = d->horizon;
    if (K < 1 || K > KDTS_MAX_COLUMNS || d->n_features < 1 || d->n_features > KDTS_MAX_COLUMNS)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_create: %d features / %d targets out of range",
                          d->n_features, K);
    for (k = 0; k < K; ++k) t.target_index[k] = d->target_index ? d->target_index[k] : d->n_features - 1;
    t.window_norm = d->window_norm;
    t.norm_eps = d->norm_eps;
    if (d->scaler) {
        t.scaler = *d->scaler;
    } else {
        t.scaler.cols = d->n_features;
        t.scaler.kind = KDTS_SCALER_NONE;
        for (f = 0; f < KDTS_MAX_COLUMNS; ++f) {
            t.scaler.offset[f] = 0.0f;
            t.scaler.scale[f] = 1.0f;
            t.scaler.clip_lo[f] = -FLT_MAX;
            t.scaler.clip_hi[f] = FLT_MAX;
        }
    }
    if (d->meta) t.meta = *d->meta;
    else t.meta.best_val_mse = -1.0f;
    if (d->data) t.data = *d->data;
    for (f = 0; f < d->n_features; ++f) {
        const char *s = d->feature_names ? d->feature_names[f] : NULL;
        size_t n = s ? strlen(s) : (size_t)(2 + (f >= 10) + (f >= 100));
        if (n > KDTS_MODEL_NAME_MAX)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_create: feature name %d is too long", f);
        names_len += n + 1;
    }
    t.params = net->params;
    t.names = "";
    t.names_len = names_len;
    {   /* validate everything except the names before allocating */
        kdts_model chk = t;
        char dummy[KDTS_MAX_COLUMNS * 2];
        for (f = 0; f < d->n_features; ++f) { dummy[2 * f] = 'x'; dummy[2 * f + 1] = 0; }
        chk.names = dummy;
        chk.names_len = (size_t)d->n_features * 2;
        r = kdts_model_check(&chk, err);
        if (r != KDTS_OK) return r;
    }
    t.owned = kdts__model_block(t.nparams, names_len, &params, &names);
    if (!t.owned) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "kdts_model_create: out of memory");
    memcpy(params, net->params, t.nparams * sizeof(float));
    for (f = 0; f < d->n_features; ++f) {
        const char *s = d->feature_names ? d->feature_names[f] : NULL;
        size_t n;
        if (!s) {
            int v = f, i, nd = 1 + (f >= 10) + (f >= 100);
            def[0] = 'x';
            for (i = nd; i >= 1; --i) { def[i] = (char)('0' + v % 10); v /= 10; }
            def[nd + 1] = 0;
            s = def;
        }
        n = strlen(s);
        memcpy(names + pos, s, n);
        names[pos + n] = 0;
        pos += n + 1;
    }
    t.params = params;
    t.names = names;
    t.names_len = pos;
    *m = t;
    return KDTS_OK;
}

/* ---- CRC-32 and little-endian encoding ---------------------------------- */

static unsigned long kdts__crc32(unsigned long crc, const unsigned char *p, size_t n)
{
    unsigned long table[256];
    unsigned long c;
    int i, k;
    for (i = 0; i < 256; ++i) {
        c = (unsigned long)i;
        for (k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320UL ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    crc = ~crc & 0xFFFFFFFFUL;
    while (n--) crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc & 0xFFFFFFFFUL;
}

/* Writer: counts always, stores only while it fits (buf may be NULL). */
typedef struct kdts__wr {
    unsigned char *buf;
    size_t cap, pos;
} kdts__wr;

static void kdts__put(kdts__wr *w, const void *p, size_t n)
{
    if (w->buf && w->pos + n <= w->cap && n) memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}
static void kdts__put_u64(kdts__wr *w, unsigned long long v)
{
    unsigned char b[8];
    int i;
    for (i = 0; i < 8; ++i) b[i] = (unsigned char)((v >> (8 * i)) & 0xFF);
    kdts__put(w, b, 8);
}
static void kdts__put_u32(kdts__wr *w, unsigned long v)
{
    unsigned char b[4];
    int i;
    for (i = 0; i < 4; ++i) b[i] = (unsigned char)((v >> (8 * i)) & 0xFF);
    kdts__put(w, b, 4);
}
static void kdts__put_i32(kdts__wr *w, int v) { kdts__put_u32(w, (unsigned long)(unsigned int)v & 0xFFFFFFFFUL); }
/* The format stores IEEE-754 binary32/binary64 bit patterns. */
typedef char kdts__float_is_32_bits[sizeof(float) == 4 && sizeof(unsigned int) == 4 ? 1 : -1];
typedef char kdts__double_is_64_bits[sizeof(double) == 8 ? 1 : -1];

static unsigned long kdts__f32_bits(float f)
{
    unsigned int u; /* IEEE-754 binary32 assumed (checked below) */
    memcpy(&u, &f, 4);
    return (unsigned long)u;
}
static float kdts__bits_f32(unsigned long b)
{
    unsigned int u = (unsigned int)(b & 0xFFFFFFFFUL);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static void kdts__put_f32(kdts__wr *w, float f) { kdts__put_u32(w, kdts__f32_bits(f)); }
static void kdts__put_f64(kdts__wr *w, double d)
{
    unsigned long long u;
    memcpy(&u, &d, 8);
    kdts__put_u64(w, u);
}
static void kdts__put_str(kdts__wr *w, const char *s, size_t n)
{
    unsigned char b[2];
    if (n > KDTS_MODEL_NAME_MAX) n = KDTS_MODEL_NAME_MAX;
    b[0] = (unsigned char)(n & 0xFF);
    b[1] = (unsigned char)(n >> 8);
    kdts__put(w, b, 2);
    kdts__put(w, s, n);
}
static size_t kdts__strnlen(const char *s, size_t cap)
{
    size_t n = 0;
    while (n < cap && s[n]) ++n;
    return n;
}
static void kdts__put_tag(kdts__wr *w, const char *tag, size_t len)
{
    kdts__put(w, tag, 4);
    kdts__put_u64(w, (unsigned long long)len);
}

/* Reader with a sticky failure flag: reads past the end give zeros. */
typedef struct kdts__rd {
    const unsigned char *p;
    size_t len, pos;
    int bad;
} kdts__rd;

static const unsigned char *kdts__get(kdts__rd *r, size_t n)
{
    const unsigned char *q;
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    q = r->p + r->pos;
    r->pos += n;
    return q;
}
static unsigned long long kdts__get_u64(kdts__rd *r)
{
    const unsigned char *b = kdts__get(r, 8);
    unsigned long long v = 0;
    int i;
    if (!b) return 0;
    for (i = 7; i >= 0; --i) v = (v << 8) | b[i];
    return v;
}
static unsigned long kdts__le32(const unsigned char *b)
{
    return (unsigned long)b[0] | ((unsigned long)b[1] << 8) | ((unsigned long)b[2] << 16) | ((unsigned long)b[3] << 24);
}
static unsigned long kdts__get_u32(kdts__rd *r)
{
    const unsigned char *b = kdts__get(r, 4);
    return b ? kdts__le32(b) : 0;
}
static int kdts__get_i32(kdts__rd *r)
{
    unsigned long u = kdts__get_u32(r);
    if (u >= 0x80000000UL) return (int)(u - 0x80000000UL) - 2147483647 - 1;
    return (int)u;
}
static float kdts__get_f32(kdts__rd *r) { return kdts__bits_f32(kdts__get_u32(r)); }
static double kdts__get_f64(kdts__rd *r)
{
    unsigned long long u = kdts__get_u64(r);
    double d;
    memcpy(&d, &u, 8);
    return d;
}
/* Read a str into out[cap] (NUL-terminated, truncated to cap-1). Returns its length. */
static size_t kdts__get_str(kdts__rd *r, char *out, size_t cap)
{
    const unsigned char *b = kdts__get(r, 2);
    const unsigned char *s;
    size_t n, k;
    if (!b) return 0;
    n = (size_t)b[0] | ((size_t)b[1] << 8);
    if (n > KDTS_MODEL_NAME_MAX) {
        r->bad = 1;
        return 0;
    }
    s = kdts__get(r, n);
    if (!s) return 0;
    if (out && cap) {
        k = n < cap - 1 ? n : cap - 1;
        memcpy(out, s, k);
        out[k] = 0;
    }
    return n;
}

/* ---- serialization ------------------------------------------------------ */

static void kdts__write_payload(kdts__wr *w, const kdts_model *m)
{
    const kdts_net_config *c = &m->arch;
    const kdts_model_meta *mt = &m->meta;
    size_t names = 0, pos, i;
    int f, k;
    /* ARCH (version 2: the kind and every field) */
    kdts__put_tag(w, "ARCH", 104);
    kdts__put_i32(w, (int)c->kind);
    kdts__put_i32(w, c->input);
    kdts__put_i32(w, c->horizon);
    kdts__put_i32(w, (int)c->mode);
    kdts__put_i32(w, c->bins);
    kdts__put_f32(w, c->bin_lo);
    kdts__put_f32(w, c->bin_hi);
    kdts__put_f32(w, c->dropout);
    kdts__put_i32(w, c->hidden);
    kdts__put_i32(w, c->layers);
    kdts__put_i32(w, c->d_model);
    kdts__put_i32(w, c->heads);
    kdts__put_i32(w, c->ff);
    kdts__put_i32(w, c->blocks);
    kdts__put_i32(w, c->activation);
    kdts__put_i32(w, c->final_norm);
    kdts__put_i32(w, c->max_steps);
    kdts__put_i32(w, c->lookback);
    kdts__put_i32(w, c->linear);
    kdts__put_i32(w, c->kernel);
    kdts__put_i32(w, c->subtract_last);
    kdts__put_i32(w, c->target_rev);
    kdts__put_i32(w, c->skip);
    kdts__put_i32(w, 0);
    kdts__put_u64(w, (unsigned long long)m->nparams);
    /* DATA */
    for (pos = 0, f = 0; f < m->n_features; ++f) {
        size_t n = strlen(m->names + pos);
        names += 2 + n;
        pos += n + 1;
    }
    kdts__put_tag(w, "DATA", 24 + 4 * (size_t)m->n_targets + names);
    kdts__put_i32(w, m->lookback);
    kdts__put_i32(w, m->horizon);
    kdts__put_i32(w, m->n_features);
    kdts__put_i32(w, m->n_targets);
    kdts__put_i32(w, m->window_norm);
    kdts__put_f32(w, m->norm_eps);
    for (k = 0; k < m->n_targets; ++k) kdts__put_i32(w, m->target_index[k]);
    for (pos = 0, f = 0; f < m->n_features; ++f) {
        size_t n = strlen(m->names + pos);
        kdts__put_str(w, m->names + pos, n);
        pos += n + 1;
    }
    /* SCAL */
    kdts__put_tag(w, "SCAL", 12 + 16 * (size_t)m->n_features);
    kdts__put_i32(w, m->scaler.cols);
    kdts__put_i32(w, m->scaler.kind);
    kdts__put_i32(w, m->scaler.clip);
    for (f = 0; f < m->n_features; ++f) {
        kdts__put_f32(w, m->scaler.offset[f]);
        kdts__put_f32(w, m->scaler.scale[f]);
        kdts__put_f32(w, m->scaler.clip_lo[f]);
        kdts__put_f32(w, m->scaler.clip_hi[f]);
    }
    /* TRAI */
    {
        size_t tl = kdts__strnlen(mt->teacher, sizeof mt->teacher);
        size_t sl = kdts__strnlen(mt->source, sizeof mt->source);
        if (tl > KDTS_MODEL_NAME_MAX) tl = KDTS_MODEL_NAME_MAX;
        if (sl > KDTS_MODEL_NAME_MAX) sl = KDTS_MODEL_NAME_MAX;
        kdts__put_tag(w, "TRAI", 8 + 7 * 4 + 6 * 4 + 8 + 8 + 3 * 8 + 2 + tl + 2 + sl);
        kdts__put_u64(w, mt->seed);
        kdts__put_i32(w, mt->epochs);
        kdts__put_i32(w, mt->epochs_run);
        kdts__put_i32(w, mt->best_epoch);
        kdts__put_i32(w, mt->batch);
        kdts__put_i32(w, mt->patience);
        kdts__put_i32(w, mt->alpha_warmup);
        kdts__put_i32(w, mt->n_teachers);
        kdts__put_f32(w, mt->lr);
        kdts__put_f32(w, mt->final_loss);
        kdts__put_f32(w, mt->best_val_mse);
        kdts__put_f32(w, mt->alpha);
        kdts__put_f32(w, mt->beta);
        kdts__put_f32(w, mt->temperature);
        kdts__put_f64(w, mt->seconds);
        kdts__put_u64(w, mt->teacher_params);
        kdts__put_u64(w, (unsigned long long)mt->rows_train);
        kdts__put_u64(w, (unsigned long long)mt->rows_val);
        kdts__put_u64(w, (unsigned long long)mt->rows_test);
        kdts__put_str(w, mt->teacher, tl);
        kdts__put_str(w, mt->source, sl);
    }
    /* TASK */
    if (m->data.recorded) {
        const kdts_data_settings *ds = &m->data;
        size_t tl = kdts__strnlen(ds->time_column, sizeof ds->time_column);
        kdts__put_tag(w, "TASK", 12 * 4 + 3 * 8 + 8 * 8 + 2 * 4 + 2 + tl);
        kdts__put_i32(w, ds->missing);
        kdts__put_i32(w, ds->split);
        kdts__put_i32(w, ds->scaling);
        kdts__put_i32(w, ds->relative);
        kdts__put_i32(w, ds->stride);
        kdts__put_i32(w, ds->bins);
        kdts__put_i32(w, ds->bin_rule);
        kdts__put_i32(w, ds->season);
        kdts__put_i32(w, ds->scaler_clip);
        kdts__put_i32(w, 0);
        kdts__put_i32(w, 0);
        kdts__put_i32(w, 0);
        kdts__put_f64(w, ds->split_sizes[0]);
        kdts__put_f64(w, ds->split_sizes[1]);
        kdts__put_f64(w, ds->split_sizes[2]);
        kdts__put_u64(w, (unsigned long long)ds->max_rows);
        kdts__put_u64(w, (unsigned long long)ds->rows);
        kdts__put_u64(w, (unsigned long long)ds->train_begin);
        kdts__put_u64(w, (unsigned long long)ds->train_end);
        kdts__put_u64(w, (unsigned long long)ds->val_begin);
        kdts__put_u64(w, (unsigned long long)ds->val_end);
        kdts__put_u64(w, (unsigned long long)ds->test_begin);
        kdts__put_u64(w, (unsigned long long)ds->test_end);
        kdts__put_f32(w, ds->clip_k);
        kdts__put_f32(w, ds->clip_q);
        kdts__put_str(w, ds->time_column, tl);
    }
    /* WGTS */
    kdts__put_tag(w, "WGTS", m->nparams * 4);
    if (w->buf && w->pos + m->nparams * 4 <= w->cap) {
        unsigned char *o = w->buf + w->pos;
        for (i = 0; i < m->nparams; ++i) {
            unsigned long u = kdts__f32_bits(m->params[i]);
            o[4 * i] = (unsigned char)(u & 0xFF);
            o[4 * i + 1] = (unsigned char)((u >> 8) & 0xFF);
            o[4 * i + 2] = (unsigned char)((u >> 16) & 0xFF);
            o[4 * i + 3] = (unsigned char)((u >> 24) & 0xFF);
        }
    }
    w->pos += m->nparams * 4;
}

KDTSDEF kdts_result kdts_model_save_mem(const kdts_model *m, void *buf, size_t cap, size_t *written,
                                        kdts_error *err)
{
    kdts__wr w;
    size_t payload, total;
    kdts_result r;
    if (!written) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_save_mem: NULL argument");
    r = kdts_model_check(m, err);
    if (r != KDTS_OK) return r;
    if (m->nparams > ((size_t)-1) / 8)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_save_mem: model too large");
    w.buf = NULL;
    w.cap = 0;
    w.pos = 0;
    kdts__write_payload(&w, m);
    payload = w.pos;
    total = 28 + payload;
    *written = total;
    if (!buf) return KDTS_OK;
    if (cap < total)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_save_mem: buffer of %lu bytes, %lu needed",
                          (unsigned long)cap, (unsigned long)total);
    w.buf = (unsigned char *)buf;
    w.cap = total;
    w.pos = 0;
    kdts__put(&w, "KDTSMODL", 8);
    kdts__put_u32(&w, KDTS_MODEL_FORMAT_VERSION);
    kdts__put_u32(&w, 0);
    kdts__put_u64(&w, (unsigned long long)payload);
    kdts__write_payload(&w, m);
    kdts__put_u32(&w, kdts__crc32(0, w.buf, 24 + payload));
    return KDTS_OK;
}

#define KDTS__TAG(a, b, c, d) ((unsigned long)(a) | ((unsigned long)(b) << 8) | ((unsigned long)(c) << 16) | ((unsigned long)(d) << 24))

static kdts_result kdts__load(kdts_model *out, const unsigned char *p, size_t len, const char *what,
                              kdts_error *err)
{
    kdts__rd rd, s;
    kdts_model t;
    unsigned long long payload, nparams64;
    unsigned long version, crc;
    size_t sec_off[6], sec_len[6], names_len = 0, i, npar;
    int have[6], f, k, si;
    static const char *const tags[6] = {"ARCH", "DATA", "SCAL", "TRAI", "WGTS", "TASK"};
    float *params;
    char *names;
    void *block;
#define KDTS__BAD(code, ...) return kdts__fail(err, code, 0, 0, __VA_ARGS__)
    if (!out || (!p && len)) KDTS__BAD(KDTS_ERR_ARG, "kdts_model_load: NULL argument");
    if (len < 28) KDTS__BAD(KDTS_ERR_FORMAT, "%s: not a kdts model (%lu bytes, too short)", what, (unsigned long)len);
    if (memcmp(p, "KDTSMODL", 8) != 0) KDTS__BAD(KDTS_ERR_FORMAT, "%s: not a kdts model file (bad magic)", what);
    version = kdts__le32(p + 8);
    if (version != 1 && version != KDTS_MODEL_FORMAT_VERSION)
        KDTS__BAD(KDTS_ERR_VERSION, "%s: model format version %lu, this kdts reads versions 1 and %d", what, version,
                  KDTS_MODEL_FORMAT_VERSION);
    rd.p = p;
    rd.len = len;
    rd.pos = 16;
    rd.bad = 0;
    payload = kdts__get_u64(&rd);
    if (payload != (unsigned long long)(len - 28))
        KDTS__BAD(KDTS_ERR_FORMAT, "%s: truncated or padded model file (header promises %llu payload bytes, file has %lu)",
                  what, payload, (unsigned long)(len - 28));
    crc = kdts__le32(p + len - 4);
    if (kdts__crc32(0, p, len - 4) != crc) KDTS__BAD(KDTS_ERR_FORMAT, "%s: corrupt model file (CRC mismatch)", what);
    /* sections */
    for (si = 0; si < 6; ++si) have[si] = 0, sec_off[si] = sec_len[si] = 0;
    rd.len = len - 4;
    rd.pos = 24;
    while (rd.pos < rd.len) {
        const unsigned char *tg = kdts__get(&rd, 4);
        unsigned long long n = kdts__get_u64(&rd);
        unsigned long tag;
        if (rd.bad || n > (unsigned long long)(rd.len - rd.pos))
            KDTS__BAD(KDTS_ERR_FORMAT, "%s: corrupt model file (section overruns the file)", what);
        tag = kdts__le32(tg);
        for (si = 0; si < 6; ++si) {
            if (tag == KDTS__TAG(tags[si][0], tags[si][1], tags[si][2], tags[si][3])) {
                if (have[si]) KDTS__BAD(KDTS_ERR_FORMAT, "%s: section %s appears twice", what, tags[si]);
                have[si] = 1;
                sec_off[si] = rd.pos;
                sec_len[si] = (size_t)n;
            }
        }
        rd.pos += (size_t)n;
    }
    for (si = 0; si < 5; ++si)
        if (!have[si] && si != 3) KDTS__BAD(KDTS_ERR_FORMAT, "%s: section %s is missing", what, tags[si]);
    memset(&t, 0, sizeof t);
    /* ARCH */
    s.p = p + sec_off[0];
    s.len = sec_len[0];
    s.pos = 0;
    s.bad = 0;
    if (version == 1) { /* an LSTM */
        t.arch.kind = KDTS_KIND_LSTM;
        t.arch.input = kdts__get_i32(&s);
        t.arch.hidden = kdts__get_i32(&s);
        t.arch.layers = kdts__get_i32(&s);
        t.arch.horizon = kdts__get_i32(&s);
        k = kdts__get_i32(&s);
        t.arch.bins = kdts__get_i32(&s);
        t.arch.bin_lo = kdts__get_f32(&s);
        t.arch.bin_hi = kdts__get_f32(&s);
        t.arch.dropout = kdts__get_f32(&s);
    } else {
        int kind = kdts__get_i32(&s);
        if (kind < 0 || kind >= KDTS_KIND_COUNT) {
            if (!s.bad) KDTS__BAD(KDTS_ERR_FORMAT, "%s: unknown model kind %d", what, kind);
            kind = 0;
        }
        t.arch.kind = (kdts_kind)kind;
        t.arch.input = kdts__get_i32(&s);
        t.arch.horizon = kdts__get_i32(&s);
        k = kdts__get_i32(&s);
        t.arch.bins = kdts__get_i32(&s);
        t.arch.bin_lo = kdts__get_f32(&s);
        t.arch.bin_hi = kdts__get_f32(&s);
        t.arch.dropout = kdts__get_f32(&s);
        t.arch.hidden = kdts__get_i32(&s);
        t.arch.layers = kdts__get_i32(&s);
        t.arch.d_model = kdts__get_i32(&s);
        t.arch.heads = kdts__get_i32(&s);
        t.arch.ff = kdts__get_i32(&s);
        t.arch.blocks = kdts__get_i32(&s);
        t.arch.activation = kdts__get_i32(&s);
        t.arch.final_norm = kdts__get_i32(&s);
        t.arch.max_steps = kdts__get_i32(&s);
        t.arch.lookback = kdts__get_i32(&s);
        t.arch.linear = kdts__get_i32(&s);
        t.arch.kernel = kdts__get_i32(&s);
        t.arch.subtract_last = kdts__get_i32(&s);
        t.arch.target_rev = kdts__get_i32(&s);
        t.arch.skip = kdts__get_i32(&s);
        (void)kdts__get_i32(&s);
    }
    t.arch.mode = k == 1 ? KDTS_MODE_DIST : KDTS_MODE_POINT;
    nparams64 = kdts__get_u64(&s);
    if (s.bad) KDTS__BAD(KDTS_ERR_FORMAT, "%s: section ARCH is too short", what);
    if (k != 0 && k != 1) KDTS__BAD(KDTS_ERR_FORMAT, "%s: unknown output mode %d", what, k);
    {
        kdts_net_config c = t.arch;
        kdts_error e2;
        /* config_check fills e2 only on failure */
        strcpy(e2.message, "a field is not stored in its canonical form");
        if (kdts_net_config_check(&c, &e2) != KDTS_OK || !kdts__same_net(&c, &t.arch))
            KDTS__BAD(KDTS_ERR_FORMAT, "%s: invalid architecture (%s)", what, e2.message);
        t.arch = c;
    }
    npar = kdts_net_param_count(&t.arch);
    if (nparams64 != (unsigned long long)npar || npar == 0)
        KDTS__BAD(KDTS_ERR_FORMAT, "%s: %llu parameters stored for an architecture of %lu", what, nparams64,
                  (unsigned long)npar);
    if (sec_len[4] / 4 < npar || sec_len[4] != npar * 4)
        KDTS__BAD(KDTS_ERR_FORMAT, "%s: weight section holds %lu bytes, %lu expected", what,
                  (unsigned long)sec_len[4], (unsigned long)npar * 4);
    t.nparams = npar;
    /* DATA */
    s.p = p + sec_off[1];
    s.len = sec_len[1];
    s.pos = 0;
    t.lookback = kdts__get_i32(&s);
    t.horizon = kdts__get_i32(&s);
    t.n_features = kdts__get_i32(&s);
    t.n_targets = kdts__get_i32(&s);
    t.window_norm = kdts__get_i32(&s);
    t.norm_eps = kdts__get_f32(&s);
    if (s.bad) KDTS__BAD(KDTS_ERR_FORMAT, "%s: section DATA is too short", what);
    if (t.n_features < 1 || t.n_features > KDTS_MAX_COLUMNS || t.n_targets < 1 || t.n_targets > KDTS_MAX_COLUMNS)
        KDTS__BAD(KDTS_ERR_FORMAT, "%s: %d features / %d targets (this build allows up to KDTS_MAX_COLUMNS = %d)",
                  what, t.n_features, t.n_targets, KDTS_MAX_COLUMNS);
    for (k = 0; k < t.n_targets; ++k) t.target_index[k] = kdts__get_i32(&s);
    {
        size_t save = s.pos;
        for (f = 0; f < t.n_features; ++f) names_len += kdts__get_str(&s, NULL, 0) + 1;
        if (s.bad) KDTS__BAD(KDTS_ERR_FORMAT, "%s: section DATA is too short", what);
        s.pos = save;
    }
    /* SCAL */
    {
        kdts__rd c;
        c.p = p + sec_off[2];
        c.len = sec_len[2];
        c.pos = 0;
        c.bad = 0;
        t.scaler.cols = kdts__get_i32(&c);
        t.scaler.kind = kdts__get_i32(&c);
        t.scaler.clip = kdts__get_i32(&c);
        if (t.scaler.cols != t.n_features)
            KDTS__BAD(KDTS_ERR_FORMAT, "%s: scaler has %d columns for %d features", what, t.scaler.cols, t.n_features);
        for (f = 0; f < KDTS_MAX_COLUMNS; ++f) {
            t.scaler.offset[f] = 0.0f;
            t.scaler.scale[f] = 1.0f;
            t.scaler.clip_lo[f] = -FLT_MAX;
            t.scaler.clip_hi[f] = FLT_MAX;
        }
        for (f = 0; f < t.n_features; ++f) {
            t.scaler.offset[f] = kdts__get_f32(&c);
            t.scaler.scale[f] = kdts__get_f32(&c);
            t.scaler.clip_lo[f] = kdts__get_f32(&c);
            t.scaler.clip_hi[f] = kdts__get_f32(&c);
        }
        if (c.bad) KDTS__BAD(KDTS_ERR_FORMAT, "%s: section SCAL is too short", what);
    }
    /* TRAI (optional) */
    t.meta.best_val_mse = -1.0f;
    if (have[3]) {
        kdts__rd c;
        kdts_model_meta *mt = &t.meta;
        c.p = p + sec_off[3];
        c.len = sec_len[3];
        c.pos = 0;
        c.bad = 0;
        mt->seed = kdts__get_u64(&c);
        mt->epochs = kdts__get_i32(&c);
        mt->epochs_run = kdts__get_i32(&c);
        mt->best_epoch = kdts__get_i32(&c);
        mt->batch = kdts__get_i32(&c);
        mt->patience = kdts__get_i32(&c);
        mt->alpha_warmup = kdts__get_i32(&c);
        mt->n_teachers = kdts__get_i32(&c);
        mt->lr = kdts__get_f32(&c);
        mt->final_loss = kdts__get_f32(&c);
        mt->best_val_mse = kdts__get_f32(&c);
        mt->alpha = kdts__get_f32(&c);
        mt->beta = kdts__get_f32(&c);
        mt->temperature = kdts__get_f32(&c);
        mt->seconds = kdts__get_f64(&c);
        mt->teacher_params = kdts__get_u64(&c);
        mt->rows_train = (long long)kdts__get_u64(&c);
        mt->rows_val = (long long)kdts__get_u64(&c);
        mt->rows_test = (long long)kdts__get_u64(&c);
        kdts__get_str(&c, mt->teacher, sizeof mt->teacher);
        kdts__get_str(&c, mt->source, sizeof mt->source);
        if (c.bad) KDTS__BAD(KDTS_ERR_FORMAT, "%s: section TRAI is too short", what);
    }
    /* TASK (optional) */
    if (have[5]) {
        kdts__rd c;
        kdts_data_settings *ds = &t.data;
        c.p = p + sec_off[5];
        c.len = sec_len[5];
        c.pos = 0;
        c.bad = 0;
        ds->missing = kdts__get_i32(&c);
        ds->split = kdts__get_i32(&c);
        ds->scaling = kdts__get_i32(&c);
        ds->relative = kdts__get_i32(&c);
        ds->stride = kdts__get_i32(&c);
        ds->bins = kdts__get_i32(&c);
        ds->bin_rule = kdts__get_i32(&c);
        ds->season = kdts__get_i32(&c);
        ds->scaler_clip = kdts__get_i32(&c);
        (void)kdts__get_i32(&c);
        (void)kdts__get_i32(&c);
        (void)kdts__get_i32(&c);
        ds->split_sizes[0] = kdts__get_f64(&c);
        ds->split_sizes[1] = kdts__get_f64(&c);
        ds->split_sizes[2] = kdts__get_f64(&c);
        ds->max_rows = (long long)kdts__get_u64(&c);
        ds->rows = (long long)kdts__get_u64(&c);
        ds->train_begin = (long long)kdts__get_u64(&c);
        ds->train_end = (long long)kdts__get_u64(&c);
        ds->val_begin = (long long)kdts__get_u64(&c);
        ds->val_end = (long long)kdts__get_u64(&c);
        ds->test_begin = (long long)kdts__get_u64(&c);
        ds->test_end = (long long)kdts__get_u64(&c);
        ds->clip_k = kdts__get_f32(&c);
        ds->clip_q = kdts__get_f32(&c);
        kdts__get_str(&c, ds->time_column, sizeof ds->time_column);
        if (c.bad) KDTS__BAD(KDTS_ERR_FORMAT, "%s: section TASK is too short", what);
        ds->recorded = 1;
        if (kdts__data_settings_check(ds) != KDTS_OK) KDTS__BAD(KDTS_ERR_FORMAT, "%s: section TASK holds invalid settings", what);
    }
    /* every size is known and checked: allocate */
    block = kdts__model_block(npar, names_len, &params, &names);
    if (!block) KDTS__BAD(KDTS_ERR_NOMEM, "%s: out of memory for %lu parameters", what, (unsigned long)npar);
    {
        size_t pos = 0;
        for (f = 0; f < t.n_features; ++f) {
            size_t n = kdts__get_str(&s, names + pos, names_len + 1 - pos);
            pos += n + 1;
        }
        t.names = names;
        t.names_len = pos;
    }
    {
        const unsigned char *b = p + sec_off[4];
        for (i = 0; i < npar; ++i) {
            params[i] = kdts__bits_f32(kdts__le32(b + 4 * i));
            if (!kdts__isfinite(params[i])) {
                kdts__free_aligned(block);
                KDTS__BAD(KDTS_ERR_FORMAT, "%s: weight %lu is not finite", what, (unsigned long)i);
            }
        }
    }
    t.params = params;
    t.owned = block;
    {
        kdts_error e2;
        if (kdts_model_check(&t, &e2) != KDTS_OK) {
            kdts__free_aligned(block);
            KDTS__BAD(KDTS_ERR_FORMAT, "%s: inconsistent model (%s)", what, e2.message);
        }
    }
    *out = t;
    return KDTS_OK;
#undef KDTS__BAD
}

KDTSDEF kdts_result kdts_model_load_mem(kdts_model *m, const void *data, size_t len, kdts_error *err)
{
    return kdts__load(m, (const unsigned char *)data, len, "model", err);
}

#ifndef KDTS_NO_STDIO

/* ---- safe saving ----------------------------------------------------------

   Every file the library writes goes through kdts__save_*: the path is
   resolved (symbolic links followed to the file they name), checked (an
   existing folder, a regular file or nothing at the path, names short
   enough for the temporary name), written to "<file>.kdts-tmp.<pid>-<k>"
   in the same folder, flushed and synced, given the mode of the file it
   replaces, renamed over the file, and the folder synced. Temporary files
   of earlier saves to the same file that were killed are removed first
   (only regular files whose name matches that pattern exactly and whose
   pid is not this process's). */

#define KDTS__TMP_TAG ".kdts-tmp."

typedef struct kdts__save {
    char *target;      /* the file written (symbolic links resolved)        */
    char *dir;         /* its folder ("." for a bare name)                  */
    const char *base;  /* its name inside the folder (points into target)   */
    char *tmp;         /* temporary file, NULL until created                */
    int exists;        /* a regular file is replaced                        */
    unsigned mode;     /* its permission bits                               */
} kdts__save;

static char *kdts__strdup_n(const char *s, size_t n)
{
    char *d = (char *)KDTS_MALLOC(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static void kdts__save_free(kdts__save *sv)
{
    KDTS_FREE(sv->target);
    KDTS_FREE(sv->dir);
    KDTS_FREE(sv->tmp);
    memset(sv, 0, sizeof *sv);
}

/* target = dir part of `from` + rel (rel relative), or rel (absolute). */
static KDTS__UNUSED char *kdts__path_join_dir(const char *from, const char *rel)
{
    const char *slash = strrchr(from, '/');
    size_t dl = slash ? (size_t)(slash - from) + 1 : 0, rl = strlen(rel);
    char *o;
    if (rel[0] == '/') dl = 0;
    if (dl + rl + 1 < dl) return NULL;
    o = (char *)KDTS_MALLOC(dl + rl + 1);
    if (!o) return NULL;
    memcpy(o, from, dl);
    memcpy(o + dl, rel, rl + 1);
    return o;
}

#if defined(KDTS__POSIX)
static const char *kdts__mode_kind(unsigned long mode)
{
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    return "a socket or special file";
}
#endif

/* Resolve, check and describe the file a save to `path` writes. */
static kdts_result kdts__save_prepare(kdts__save *sv, const char *path, kdts_error *err)
{
    size_t n, name_max = 255, path_max = 4096, tmp_extra = sizeof(KDTS__TMP_TAG) + 24;
    const char *slash;
    memset(sv, 0, sizeof *sv);
    if (!path || !*path) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "the output path is empty");
    n = strlen(path);
    if (n > path_max - tmp_extra)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "output path of %lu bytes: too long (at most %lu)", (unsigned long)n,
                          (unsigned long)(path_max - tmp_extra));
    sv->target = kdts__strdup_n(path, n);
    if (!sv->target) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "%s: out of memory", path);
#if defined(KDTS__POSIX_LINKS)
    {
        int depth;
        for (depth = 0;; ++depth) {
            struct stat ls;
            char *link, *next;
            ssize_t got;
            if (lstat(sv->target, &ls) != 0 || !S_ISLNK(ls.st_mode)) break;
            if (depth >= 32) {
                kdts__save_free(sv);
                return kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: too many levels of symbolic links", path);
            }
            link = (char *)KDTS_MALLOC(path_max + 1);
            if (!link) { kdts__save_free(sv); return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "%s: out of memory", path); }
            got = readlink(sv->target, link, path_max);
            if (got <= 0 || (size_t)got >= path_max) {
                KDTS_FREE(link);
                kdts__save_free(sv);
                return kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: cannot read the symbolic link", path);
            }
            link[got] = 0;
            next = kdts__path_join_dir(sv->target, link);
            KDTS_FREE(link);
            if (!next) { kdts__save_free(sv); return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "%s: out of memory", path); }
            KDTS_FREE(sv->target);
            sv->target = next;
            if (strlen(next) > path_max - tmp_extra) {
                kdts__save_free(sv);
                return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "%s: the symbolic link leads to a path too long to save to", path);
            }
        }
    }
#endif
    slash = strrchr(sv->target, '/');
    sv->base = slash ? slash + 1 : sv->target;
    if (!*sv->base) {
        kdts__save_free(sv);
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "%s: names a folder, not a file", path);
    }
    if (!slash) sv->dir = kdts__strdup_n(".", 1);
    else if (slash == sv->target) sv->dir = kdts__strdup_n("/", 1);
    else sv->dir = kdts__strdup_n(sv->target, (size_t)(slash - sv->target));
    if (!sv->dir) { kdts__save_free(sv); return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "%s: out of memory", path); }
#if defined(KDTS__POSIX)
    {
        struct stat ds, fs;
        long nm;
        if (stat(sv->dir, &ds) != 0 || !S_ISDIR(ds.st_mode)) {
            kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: folder %s does not exist", path, sv->dir);
            kdts__save_free(sv);
            return KDTS_ERR_IO;
        }
        if (access(sv->dir, W_OK | X_OK) != 0) {
            kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: folder %s is not writable", path, sv->dir);
            kdts__save_free(sv);
            return KDTS_ERR_IO;
        }
        nm = pathconf(sv->dir, _PC_NAME_MAX);
        if (nm > 0) name_max = (size_t)nm;
        if (stat(sv->target, &fs) == 0) {
            if (!S_ISREG(fs.st_mode)) {
                kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s exists and is %s, not a regular file: refusing to replace it",
                           path, kdts__mode_kind((unsigned long)fs.st_mode));
                kdts__save_free(sv);
                return KDTS_ERR_IO;
            }
            sv->exists = 1;
            sv->mode = (unsigned)(fs.st_mode & 07777);
        } else if (errno != ENOENT) {
            kdts__save_free(sv);
            return kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: cannot be examined (no permission?)", path);
        }
    }
#endif
    if (strlen(sv->base) + tmp_extra > name_max) {
        kdts__fail(err, KDTS_ERR_ARG, 0, 0, "output file name too long: %lu bytes (at most %lu, to leave room for "
                   "the temporary name): %s", (unsigned long)strlen(sv->base), (unsigned long)(name_max - tmp_extra), path);
        kdts__save_free(sv);
        return KDTS_ERR_ARG;
    }
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_path_check_save(const char *path, kdts_error *err)
{
    kdts__save sv;
    kdts_result r = kdts__save_prepare(&sv, path, err);
    if (r == KDTS_OK) kdts__save_free(&sv);
    return r;
}

KDTSDEF int kdts_path_same(const char *a, const char *b)
{
#if defined(KDTS__POSIX)
    struct stat sa, sb;
    if (!a || !b || stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
#else
    FILE *f;
    if (!a || !b || strcmp(a, b) != 0) return 0;
    f = fopen(a, "rb");
    if (f) fclose(f);
    return f != NULL;
#endif
}

#if defined(KDTS__POSIX)
/* Is `name` "<base>.kdts-tmp.<digits>-<digits>" of another process? */
static int kdts__stale_tmp(const char *name, const char *base, unsigned long me)
{
    size_t bl = strlen(base), tl = sizeof(KDTS__TMP_TAG) - 1;
    const char *s;
    unsigned long pid = 0;
    int digits = 0;
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, KDTS__TMP_TAG, tl) != 0) return 0;
    for (s = name + bl + tl; *s >= '0' && *s <= '9'; ++s, ++digits) pid = pid * 10 + (unsigned long)(*s - '0');
    if (!digits || digits > 12 || *s != '-') return 0;
    for (++s, digits = 0; *s >= '0' && *s <= '9'; ++s) ++digits;
    return digits && !*s && pid != me;
}

static void kdts__save_clean(const kdts__save *sv)
{
    DIR *d = opendir(sv->dir);
    struct dirent *e;
    unsigned long me = (unsigned long)getpid();
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        char *full;
        struct stat st;
        if (!kdts__stale_tmp(e->d_name, sv->base, me)) continue;
        full = kdts__path_join_dir(sv->target, e->d_name);
        if (!full) break;
#if defined(KDTS__POSIX_LINKS)
        if (lstat(full, &st) == 0 && S_ISREG(st.st_mode)) remove(full);
#else
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) remove(full);
#endif
        KDTS_FREE(full);
    }
    closedir(d);
}
#endif

/* Create the temporary file (exclusively) and open it for writing. */
static FILE *kdts__save_open(kdts__save *sv, kdts_error *err)
{
    size_t cap = strlen(sv->target) + sizeof(KDTS__TMP_TAG) + 48;
    int k;
    sv->tmp = (char *)KDTS_MALLOC(cap);
    if (!sv->tmp) {
        kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "%s: out of memory", sv->target);
        return NULL;
    }
#if defined(KDTS__POSIX)
    kdts__save_clean(sv);
    for (k = 0; k < 64; ++k) {
        int fd;
        FILE *f;
        snprintf(sv->tmp, cap, "%s" KDTS__TMP_TAG "%lu-%d", sv->target, (unsigned long)getpid(), k);
        fd = open(sv->tmp, O_WRONLY | O_CREAT | O_EXCL, sv->exists ? 0600 : 0666);
        if (fd < 0) {
            if (errno == EEXIST) continue;
            break;
        }
        close(fd);
        f = fopen(sv->tmp, "wb");
        if (!f) remove(sv->tmp);
        else return f;
        break;
    }
#else
    for (k = 0; k < 64; ++k) {
        FILE *f;
        snprintf(sv->tmp, cap, "%s" KDTS__TMP_TAG "%lu-%d", sv->target,
                 (unsigned long)((unsigned long)time(NULL) ^ (unsigned long)clock()) % 1000000UL, k);
        f = fopen(sv->tmp, "rb");
        if (f) { fclose(f); continue; }
        f = fopen(sv->tmp, "wb");
        if (f) return f;
        break;
    }
#endif
    KDTS_FREE(sv->tmp);
    sv->tmp = NULL;
    kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: cannot create a temporary file in folder %s", sv->target, sv->dir);
    return NULL;
}

/* Flush, sync and close f, give it the replaced file's mode, rename it
   over the target and sync the folder. On failure the temporary file is
   removed and the target left as it was. */
static kdts_result kdts__save_commit(kdts__save *sv, FILE *f, int failed, kdts_error *err)
{
    int bad = failed || ferror(f) != 0;
    if (fflush(f) != 0) bad = 1;
    if (fclose(f) != 0) bad = 1;
#if defined(KDTS__POSIX)
    if (!bad) {
        int fd = open(sv->tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) bad = 1;
        if (fd >= 0) close(fd);
    }
    if (!bad && sv->exists && chmod(sv->tmp, (mode_t)sv->mode) != 0) bad = 1;
#endif
    if (bad) {
        remove(sv->tmp);
        return kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: write failed (disk full?); the previous file is left as it was",
                          sv->target);
    }
    if (rename(sv->tmp, sv->target) != 0) {
#if !defined(KDTS__POSIX)
        /* systems whose rename cannot replace an existing file */
        FILE *g = fopen(sv->target, "rb");
        if (g) {
            fclose(g);
            if (remove(sv->target) == 0 && rename(sv->tmp, sv->target) == 0) return KDTS_OK;
        }
#endif
        remove(sv->tmp);
        return kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: cannot rename the temporary file into place", sv->target);
    }
#if defined(KDTS__POSIX)
    {
        int fd = open(sv->dir, O_RDONLY);
        if (fd >= 0) {
            fsync(fd); /* some file systems refuse to sync a folder: not an error */
            close(fd);
        }
    }
#endif
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_model_save_file(const kdts_model *m, const char *path, kdts_error *err)
{
    size_t n = 0;
    unsigned char *buf;
    kdts__save sv;
    FILE *f;
    kdts_result r;
    if (!path) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_save_file: NULL path");
    r = kdts_model_save_mem(m, NULL, 0, &n, err);
    if (r != KDTS_OK) return r;
    r = kdts__save_prepare(&sv, path, err);
    if (r != KDTS_OK) return r;
    buf = (unsigned char *)KDTS_MALLOC(n);
    if (!buf) {
        kdts__save_free(&sv);
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "%s: out of memory", path);
    }
    r = kdts_model_save_mem(m, buf, n, &n, err);
    if (r == KDTS_OK) {
        f = kdts__save_open(&sv, err);
        if (!f) r = KDTS_ERR_IO;
        else {
            r = kdts__save_commit(&sv, f, fwrite(buf, 1, n, f) != n, err);
        }
    }
    KDTS_FREE(buf);
    kdts__save_free(&sv);
    return r;
}

/* Read up to n bytes (fewer only at the end of the file or on an error). */
static size_t kdts__fread_full(FILE *f, unsigned char *b, size_t n)
{
    size_t got = 0, k;
    while (got < n && (k = fread(b + got, 1, n - got, f)) > 0) got += k;
    return got;
}

/* The header first (magic, version, payload size), then exactly the bytes
   it declares, read in growing steps: memory stays within twice the file,
   whatever the header claims, and a device or pipe that never ends (or a
   file that is not a model) is refused after at most 24 bytes or the
   declared size. */
KDTSDEF kdts_result kdts_model_load_file(kdts_model *m, const char *path, kdts_error *err)
{
    FILE *f;
    unsigned char head[24], *buf = NULL;
    size_t got, len, total, cap;
    unsigned long long payload;
    unsigned long version;
    kdts_result r;
    if (!m || !path) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_model_load_file: NULL argument");
#if defined(KDTS__POSIX)
    {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: is a folder, not a model file", path);
    }
#endif
    f = fopen(path, "rb");
    if (!f) return kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: cannot open", path);
    got = kdts__fread_full(f, head, sizeof head);
    if (ferror(f)) {
        fclose(f);
        return kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: read error", path);
    }
    if (got < 8 || memcmp(head, "KDTSMODL", 8) != 0) {
        fclose(f);
        return kdts__fail(err, KDTS_ERR_FORMAT, 0, 0, "%s: not a kdts model file (%s)", path,
                          got < 8 ? "too short" : "bad magic");
    }
    if (got < sizeof head) {
        fclose(f);
        return kdts__fail(err, KDTS_ERR_FORMAT, 0, 0, "%s: not a kdts model (%lu bytes, too short)", path,
                          (unsigned long)got);
    }
    version = kdts__le32(head + 8);
    if (version != 1 && version != KDTS_MODEL_FORMAT_VERSION) {
        fclose(f);
        return kdts__fail(err, KDTS_ERR_VERSION, 0, 0, "%s: model format version %lu, this kdts reads versions 1 and %d",
                          path, version, KDTS_MODEL_FORMAT_VERSION);
    }
    {
        int i;
        payload = 0;
        for (i = 7; i >= 0; --i) payload = (payload << 8) | head[16 + i];
    }
    if (payload > (unsigned long long)((size_t)-1 / 2) - 64) {
        fclose(f);
        return kdts__fail(err, KDTS_ERR_FORMAT, 0, 0, "%s: corrupt model file (header declares %llu payload bytes)", path,
                          payload);
    }
    total = 28 + (size_t)payload;
    cap = total < 65536 ? total : 65536;
    buf = (unsigned char *)KDTS_MALLOC(cap);
    if (!buf) {
        fclose(f);
        return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "%s: out of memory", path);
    }
    memcpy(buf, head, sizeof head);
    len = sizeof head;
    for (;;) {
        if (len == cap && cap < total) {
            size_t nc = cap * 2 < total ? cap * 2 : total;
            unsigned char *nb = (unsigned char *)KDTS_REALLOC(buf, nc);
            if (!nb) {
                fclose(f);
                KDTS_FREE(buf);
                return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "%s: out of memory", path);
            }
            buf = nb;
            cap = nc;
        }
        got = kdts__fread_full(f, buf + len, cap - len);
        len += got;
        if (len < cap || len == total) break;
    }
    if (!ferror(f) && len == total) {
        unsigned char extra;
        if (fread(&extra, 1, 1, f) == 1) {
            fclose(f);
            KDTS_FREE(buf);
            return kdts__fail(err, KDTS_ERR_FORMAT, 0, 0,
                              "%s: padded model file (longer than the %lu bytes its header declares)", path,
                              (unsigned long)total);
        }
    }
    if (ferror(f)) {
        fclose(f);
        KDTS_FREE(buf);
        return kdts__fail(err, KDTS_ERR_IO, 0, 0, "%s: read error", path);
    }
    fclose(f);
    r = kdts__load(m, buf, len, path, err);
    KDTS_FREE(buf);
    return r;
}

static void kdts__emit_float(FILE *f, float v)
{
    char s[40];
    if (v != v) { fputs("NAN", f); return; } /* math.h macros: constant expressions */
    if (v - v != 0.0f) { fputs(v > 0 ? "INFINITY" : "(-INFINITY)", f); return; }
    snprintf(s, sizeof s, "%.9g", (double)v);
    if (!strchr(s, '.') && !strchr(s, 'e') && !strchr(s, 'n') && !strchr(s, 'i')) strcat(s, ".0");
    fprintf(f, "%sf", s);
}

static void kdts__emit_double(FILE *f, double v)
{
    char s[48];
    if (v != v) { fputs("NAN", f); return; }
    if (v - v != 0.0) { fputs(v > 0 ? "INFINITY" : "(-INFINITY)", f); return; }
    snprintf(s, sizeof s, "%.17g", v);
    if (!strchr(s, '.') && !strchr(s, 'e')) strcat(s, ".0");
    fputs(s, f);
}

static void kdts__emit_cstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
            ch == ' ' || ch == '-' || ch == '.' || ch == ',' || ch == ':' || ch == '/' || ch == '(' || ch == ')')
            fputc(ch, f);
        else
            fprintf(f, "\\%03o", ch);
    }
    fputc('"', f);
}

KDTSDEF kdts_result kdts_model_export_c(const kdts_model *m, const char *name, const char *path,
                                        kdts_error *err)
{
    kdts__save sv;
    size_t i, pos;
    FILE *f;
    int k, ok = 1, L;
    const kdts_net_config *c;
    const kdts_model_meta *mt;
    kdts_result r = kdts_model_check(m, err);
    if (r != KDTS_OK) return r;
    if (!name || !path || !*name || (name[0] >= '0' && name[0] <= '9'))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "export: NAME must be a C identifier");
    for (i = 0; name[i]; ++i) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_') || i >= 64)
            return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "export: NAME must be a C identifier of at most 64 characters");
    }
    for (i = 0; i < m->nparams; ++i)
        if (!kdts__isfinite(m->params[i])) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "export: non-finite weight");
    c = &m->arch;
    mt = &m->meta;
    L = c->kind == KDTS_KIND_LSTM || c->kind == KDTS_KIND_GRU ? c->layers : 1;
    r = kdts__save_prepare(&sv, path, err);
    if (r != KDTS_OK) return r;
    f = kdts__save_open(&sv, err);
    if (!f) {
        kdts__save_free(&sv);
        return KDTS_ERR_IO;
    }
    fprintf(f, "/* %s - a kdts model exported as C arrays (kdts_model_export_c).\n", name);
    {
        char desc[96];
        kdts_net_config plain = *c;
        plain.mode = KDTS_MODE_POINT; /* the mode is printed below */
        fprintf(f, "   %s, %d feature(s), %d target(s) x horizon %d, lookback %d, %s mode, %lu parameters.\n",
                kdts_net_describe(&plain, desc, sizeof desc), m->n_features, m->n_targets, m->horizon, m->lookback,
                c->mode == KDTS_MODE_DIST ? "dist" : "point", (unsigned long)m->nparams);
    }
    fprintf(f, "   Use: include kdts.h (with KDTS_IMPLEMENTATION in one file), then this header, and run\n"
               "   kdts_infer_init(&inf, &%s_model, 0, buf, kdts_infer_size(&%s_model, 0), NULL). */\n", name, name);
    fprintf(f, "#ifndef %s_KDTS_MODEL_H\n#define %s_KDTS_MODEL_H\n\n", name, name);
    fprintf(f, "#ifndef KDTS_H_INCLUDED\n#include \"kdts.h\"\n#endif\n#include <math.h> /* INFINITY, NAN */\n");
    fprintf(f, "#if !defined(KDTS_MODEL_ABI) || KDTS_MODEL_ABI != %d\n#error \"%s: exported for kdts model ABI %d\"\n#endif\n",
            KDTS_MODEL_ABI, name, KDTS_MODEL_ABI);
    fprintf(f, "#if KDTS_MAX_COLUMNS < %d || KDTS_MAX_LAYERS < %d\n#error \"%s: needs KDTS_MAX_COLUMNS >= %d and KDTS_MAX_LAYERS >= %d\"\n#endif\n\n",
            m->n_features, L, name, m->n_features, L);
    fprintf(f, "static const float %s_params[%lu] = {", name, (unsigned long)m->nparams);
    for (i = 0; i < m->nparams; ++i) {
        if (i) fputc(',', f);
        fputs(i % 6 == 0 ? "\n    " : " ", f);
        kdts__emit_float(f, m->params[i]);
    }
    fprintf(f, "\n};\n\n");
    fprintf(f, "static const char %s_names[%lu] =", name, (unsigned long)m->names_len + 1);
    for (pos = 0, k = 0; k < m->n_features; ++k) {
        size_t n = strlen(m->names + pos);
        fputs("\n    ", f);
        kdts__emit_cstr(f, m->names + pos);
        fputs(" \"\\0\"", f);
        pos += n + 1;
    }
    fprintf(f, ";\n\n");
    fprintf(f, "#if defined(__GNUC__) || defined(__clang__)\n__attribute__((unused))\n#endif\n");
    fprintf(f, "static const kdts_model %s_model = {\n", name);
    fprintf(f, "    { %s, %d, %d, %s, %d, ",
            c->kind == KDTS_KIND_GRU ? "KDTS_KIND_GRU" : c->kind == KDTS_KIND_ATTN ? "KDTS_KIND_ATTN"
            : c->kind == KDTS_KIND_LINEAR ? "KDTS_KIND_LINEAR" : "KDTS_KIND_LSTM", c->input, c->horizon,
            c->mode == KDTS_MODE_DIST ? "KDTS_MODE_DIST" : "KDTS_MODE_POINT", c->bins);
    kdts__emit_float(f, c->bin_lo);
    fputs(", ", f);
    kdts__emit_float(f, c->bin_hi);
    fputs(", ", f);
    kdts__emit_float(f, c->dropout);
    fprintf(f, ",\n      %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d", c->hidden, c->layers, c->d_model,
            c->heads, c->ff, c->blocks, c->activation, c->final_norm, c->max_steps, c->lookback, c->linear,
            c->kernel, c->subtract_last, c->target_rev, c->skip);
    fprintf(f, " },\n    %luu, %s_params,\n", (unsigned long)m->nparams, name);
    fprintf(f, "    %d, %d, %d, %d,\n    {", m->lookback, m->horizon, m->n_features, m->n_targets);
    for (k = 0; k < m->n_targets; ++k) fprintf(f, "%s%d", k ? ", " : " ", m->target_index[k]);
    fprintf(f, " },\n    %d, ", m->window_norm);
    kdts__emit_float(f, m->norm_eps);
    fprintf(f, ",\n    { %d, %d, %d, %d,\n", m->scaler.cols, m->scaler.kind, m->scaler.clip, m->scaler.reserved);
    {
        const float *arrs[4];
        int a;
        arrs[0] = m->scaler.offset;
        arrs[1] = m->scaler.scale;
        arrs[2] = m->scaler.clip_lo;
        arrs[3] = m->scaler.clip_hi;
        for (a = 0; a < 4; ++a) {
            fputs("      {", f);
            for (k = 0; k < m->n_features; ++k) {
                fputs(k ? ", " : " ", f);
                kdts__emit_float(f, arrs[a][k]);
            }
            fputs(a < 3 ? " },\n" : " } },\n", f);
        }
    }
    fprintf(f, "    %s_names, %luu,\n", name, (unsigned long)m->names_len);
    fprintf(f, "    { %lluull, %d, %d, %d, %d, %d, %d, %d, ", mt->seed, mt->epochs, mt->epochs_run, mt->best_epoch,
            mt->batch, mt->patience, mt->alpha_warmup, mt->n_teachers);
    kdts__emit_float(f, mt->lr);
    fputs(", ", f);
    kdts__emit_float(f, mt->final_loss);
    fputs(", ", f);
    kdts__emit_float(f, mt->best_val_mse);
    fputs(", ", f);
    kdts__emit_float(f, mt->alpha);
    fputs(", ", f);
    kdts__emit_float(f, mt->beta);
    fputs(", ", f);
    kdts__emit_float(f, mt->temperature);
    fputs(",\n      ", f);
    kdts__emit_double(f, mt->seconds);
    fprintf(f, ", %lluull, %lldll, %lldll, %lldll,\n      ", mt->teacher_params, mt->rows_train, mt->rows_val,
            mt->rows_test);
    {
        char tb[sizeof mt->teacher + 1], sb[sizeof mt->source + 1];
        size_t tl = kdts__strnlen(mt->teacher, sizeof mt->teacher);
        size_t sl = kdts__strnlen(mt->source, sizeof mt->source);
        if (tl >= sizeof mt->teacher) tl = sizeof mt->teacher - 1; /* keep room for the NUL */
        if (sl >= sizeof mt->source) sl = sizeof mt->source - 1;
        memcpy(tb, mt->teacher, tl);
        tb[tl] = 0;
        memcpy(sb, mt->source, sl);
        sb[sl] = 0;
        kdts__emit_cstr(f, tb);
        fputs(", ", f);
        kdts__emit_cstr(f, sb);
    }
    {
        const kdts_data_settings *ds = &m->data;
        char tcb[sizeof ds->time_column];
        size_t tl = kdts__strnlen(ds->time_column, sizeof ds->time_column);
        if (tl >= sizeof tcb) tl = sizeof tcb - 1;
        memcpy(tcb, ds->time_column, tl);
        tcb[tl] = 0;
        fprintf(f, " },\n    { %d, %d, %d, %d, %d, %d, %d, %d, %d,\n      { ", ds->recorded, ds->missing, ds->split,
                ds->scaling, ds->relative, ds->stride, ds->bins, ds->bin_rule, ds->season);
        for (k = 0; k < 3; ++k) {
            if (k) fputs(", ", f);
            kdts__emit_double(f, ds->split_sizes[k]);
        }
        fputs(" },\n", f);
        fprintf(f, "      %lldll, %lldll, %lldll, %lldll, %lldll, %lldll, %lldll, %lldll,\n      %d, ", ds->max_rows,
                ds->rows, ds->train_begin, ds->train_end, ds->val_begin, ds->val_end, ds->test_begin, ds->test_end,
                ds->scaler_clip);
        kdts__emit_float(f, ds->clip_k);
        fputs(", ", f);
        kdts__emit_float(f, ds->clip_q);
        fputs(", ", f);
        kdts__emit_cstr(f, tcb);
    }
    fprintf(f, " },\n    0\n};\n\n#endif /* %s_KDTS_MODEL_H */\n", name);
    r = kdts__save_commit(&sv, f, !ok, err);
    kdts__save_free(&sv);
    return r;
}

#endif /* KDTS_NO_STDIO */

/* ---- inference ---------------------------------------------------------- */

/* Offset of the head's weights in kdts_infer.wt: per layer W_ih and W_hh
   packed by kdts__pack_step and the 4H summed biases. */
static size_t kdts__infer_head_off(int L, int H, int I0)
{
    size_t off = 0, I = (size_t)I0;
    int l;
    for (l = 0; l < L; ++l) {
        off += kdts__step_pack_floats((size_t)H, I) + kdts__step_pack_floats((size_t)H, (size_t)H) + 4 * (size_t)H;
        I = (size_t)H;
    }
    return off;
}

/* Floats of each carved block, rounded up to 16 (64 bytes). */
static size_t kdts__r16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t kdts__net_outputs(const kdts_net_config *c)
{
    return (size_t)c->horizon * (size_t)(c->mode == KDTS_MODE_DIST ? c->bins : 1);
}

/* A model whose forecast takes exactly `lookback` steps (a window map). */
static int kdts__infer_fixed(const kdts_model *m) { return m->arch.kind == KDTS_KIND_LINEAR || m->arch.skip; }

static size_t kdts__infer_floats(const kdts_model *m, int maxT)
{
    const kdts_net_config *c = &m->arch;
    size_t L = (size_t)c->layers, H = (size_t)c->hidden, F = (size_t)m->n_features, O = kdts__net_outputs(c);
    size_t n = kdts__r16(O) + kdts__r16((size_t)maxT * F) + kdts__r16((size_t)m->lookback * F) + 3 * kdts__r16(F);
    switch (c->kind) {
    case KDTS_KIND_LSTM:
        n += 4 * kdts__r16(L * H) + kdts__r16(H) + kdts__r16(kdts__infer_head_off(c->layers, c->hidden, c->input) + H * O);
        break;
    case KDTS_KIND_GRU:
        n += 2 * kdts__r16(L * H) + kdts__r16(H) +
             kdts__r16(kdts__gru_infer_floats(c->layers, c->hidden, c->input, (int)O));
        break;
    case KDTS_KIND_ATTN: {
        kdts_attn_config ac;
        kdts__net_to_attn(c, &ac);
        kdts_attn_config_check(&ac, NULL);
        n += kdts__attn_inf_floats(&ac, m->lookback, maxT) + 16;
        break;
    }
    default: break;
    }
    return n;
}

KDTSDEF size_t kdts_infer_size(const kdts_model *m, int max_steps)
{
    if (kdts_model_check(m, NULL) != KDTS_OK || max_steps < 0 || max_steps > KDTS_MAX_DIM) return 0;
    if (max_steps < m->lookback) max_steps = m->lookback;
    if (m->arch.kind == KDTS_KIND_ATTN && max_steps > m->arch.max_steps) return 0;
    return kdts__infer_floats(m, max_steps) * sizeof(float) + 64;
}

/* The streaming modes a model allows: STATEFUL needs a model without
   per-window normalization and with a state (not a window map). */
static int kdts__infer_can_state(const kdts_model *m)
{
    return m->window_norm == KDTS_WNORM_NONE && !kdts__infer_fixed(m);
}

KDTSDEF kdts_result kdts_infer_init(kdts_infer *r, const kdts_model *m, int max_steps, void *buf, size_t bytes,
                                    kdts_error *err)
{
    kdts_infer t;
    size_t need, off = 0;
    float *base;
    size_t L, H, F, O;
    kdts_result rc;
    if (!r || !buf) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_infer_init: NULL argument");
    rc = kdts_model_check(m, err);
    if (rc != KDTS_OK) return rc;
    if (max_steps < 0 || max_steps > KDTS_MAX_DIM)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_infer_init: max_steps %d out of range", max_steps);
    if (max_steps < m->lookback) max_steps = m->lookback;
    if (m->arch.kind == KDTS_KIND_ATTN && max_steps > m->arch.max_steps)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_infer_init: max_steps %d beyond the model's %d", max_steps,
                          m->arch.max_steps);
    need = kdts_infer_size(m, max_steps);
    if (bytes < need)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_infer_init: buffer of %lu bytes, %lu needed",
                          (unsigned long)bytes, (unsigned long)need);
    memset(&t, 0, sizeof t);
    t.model = m;
    t.kind = (int)m->arch.kind;
    t.L = m->arch.kind == KDTS_KIND_LSTM || m->arch.kind == KDTS_KIND_GRU ? m->arch.layers : 0;
    t.H = t.L ? m->arch.hidden : 0;
    t.F = m->n_features;
    t.I0 = m->arch.input;
    t.O = (int)kdts__net_outputs(&m->arch);
    t.out_values = m->arch.horizon;
    t.max_steps = max_steps;
    L = (size_t)t.L;
    H = (size_t)t.H;
    F = (size_t)t.F;
    O = (size_t)t.O;
    base = (float *)(void *)((unsigned char *)buf + ((64 - ((size_t)buf & 63)) & 63));
#define KDTS__INF_CARVE(p, n) (p) = base + off, off += kdts__r16(n)
    KDTS__INF_CARVE(t.out, O);
    KDTS__INF_CARVE(t.xbuf, (size_t)max_steps * F);
    KDTS__INF_CARVE(t.ring, (size_t)m->lookback * F);
    KDTS__INF_CARVE(t.xs, F);
    KDTS__INF_CARVE(t.woff, F);
    KDTS__INF_CARVE(t.wscale, F);
    if (m->arch.kind == KDTS_KIND_LSTM) {
        KDTS__INF_CARVE(t.h, 2 * L * H);
        KDTS__INF_CARVE(t.c, 2 * L * H);
        KDTS__INF_CARVE(t.tmp, H);
        KDTS__INF_CARVE(t.wt, kdts__infer_head_off(t.L, t.H, t.I0) + H * O);
        /* gate matrices packed for the fused step, head W transposed */
        {
            const float *P = m->params;
            float *w = t.wt;
            size_t l, j, k, I = (size_t)t.I0;
            for (l = 0; l < L; ++l) {
                const float *wih = P, *whh = wih + 4 * H * I, *bih = whh + 4 * H * H, *bhh = bih + 4 * H;
                kdts__pack_step(w, wih, (int)H, (int)I);
                w += kdts__step_pack_floats(H, I);
                kdts__pack_step(w, whh, (int)H, (int)H);
                w += kdts__step_pack_floats(H, H);
                for (j = 0; j < 4 * H; ++j) *w++ = bih[j] + bhh[j];
                P = bhh + 4 * H;
                I = H;
            }
            for (k = 0; k < H; ++k)
                for (j = 0; j < O; ++j) *w++ = P[j * H + k];
        }
    } else if (m->arch.kind == KDTS_KIND_GRU) {
        KDTS__INF_CARVE(t.h, 2 * L * H);
        KDTS__INF_CARVE(t.tmp, H);
        KDTS__INF_CARVE(t.wt, kdts__gru_infer_floats(t.L, t.H, t.I0, t.O));
        kdts__gru_infer_pack(t.wt, m->params, t.L, t.H, t.I0, t.O);
    } else if (m->arch.kind == KDTS_KIND_ATTN) {
        kdts_attn_config ac;
        size_t nf;
        kdts__net_to_attn(&m->arch, &ac);
        kdts_attn_config_check(&ac, NULL);
        nf = kdts__attn_inf_floats(&ac, m->lookback, max_steps);
        rc = kdts__attn_inf_init(&t.attn, &ac, m->params, m->lookback, max_steps, base + off, nf, err);
        if (rc != KDTS_OK) return rc;
        off += kdts__r16(nf);
    } else {
        kdts_net v;
        memset(&v, 0, sizeof v);
        v.cfg = m->arch;
        kdts__net_layout(&v);
        kdts__net_point(&v, (float *)m->params, NULL); /* read only */
        t.lin = v.k.linear;
    }
#undef KDTS__INF_CARVE
    if (m->arch.skip) t.skip = m->params + (m->nparams - (size_t)((m->lookback * t.F + 1) * t.O));
    t.stream_mode = kdts__infer_can_state(m) ? KDTS_STREAM_STATEFUL : KDTS_STREAM_WINDOW;
    *r = t;
    kdts_infer_reset(r);
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_infer_create(kdts_infer *r, const kdts_model *m, int max_steps, kdts_error *err)
{
    size_t n = kdts_infer_size(m, max_steps);
    void *buf;
    kdts_result rc;
    if (!r) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_infer_create: NULL argument");
    if (n == 0) {
        rc = kdts_model_check(m, err);
        return rc != KDTS_OK ? rc : kdts__fail(err, KDTS_ERR_ARG, 0, 0, "kdts_infer_create: bad max_steps");
    }
    buf = KDTS_MALLOC(n);
    if (!buf) return kdts__fail(err, KDTS_ERR_NOMEM, 0, 0, "kdts_infer_create: out of memory");
    rc = kdts_infer_init(r, m, max_steps, buf, n, err);
    if (rc != KDTS_OK) {
        KDTS_FREE(buf);
        return rc;
    }
    r->owned = buf;
    return KDTS_OK;
}

KDTSDEF void kdts_infer_free(kdts_infer *r)
{
    if (!r) return;
    if (r->owned) KDTS_FREE(r->owned);
    memset(r, 0, sizeof *r);
}

KDTSDEF void kdts_infer_reset(kdts_infer *r)
{
    size_t LH = (size_t)r->L * r->H;
    if (r->h) memset(r->h, 0, 2 * LH * sizeof(float));
    if (r->c) memset(r->c, 0, 2 * LH * sizeof(float));
    if (r->kind == KDTS_KIND_ATTN) kdts__attn_inf_reset(&r->attn);
    memset(r->ring, 0, (size_t)r->model->lookback * r->F * sizeof(float));
    r->seen = 0;
    r->ring_pos = 0;
}

KDTSDEF kdts_result kdts_infer_stream_mode(kdts_infer *r, int mode, kdts_error *err)
{
    if (!r || !r->model) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "inference object not set up");
    if (mode == KDTS_STREAM_AUTO) mode = kdts__infer_can_state(r->model) ? KDTS_STREAM_STATEFUL : KDTS_STREAM_WINDOW;
    if (mode != KDTS_STREAM_STATEFUL && mode != KDTS_STREAM_WINDOW)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "unknown stream mode %d", mode);
    if (mode == KDTS_STREAM_STATEFUL && r->model->window_norm != KDTS_WNORM_NONE)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "a stateful stream needs a model without per-window normalization (this one has %d)",
                          r->model->window_norm);
    if (mode == KDTS_STREAM_STATEFUL && kdts__infer_fixed(r->model))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "a stateful stream needs a model with a state: a window map (linear, skip) streams over a "
                          "window");
    r->stream_mode = mode;
    kdts_infer_reset(r);
    return KDTS_OK;
}

/* One LSTM step of every layer: x (F) normalized input, state h, c (L,H).
     z = W_ih x + b_ih + W_hh h + b_hh       (4H: i, f, g, o)
     i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g), o = sigmoid(z_o)
     c = f*c + i*g,  h = o*tanh(c) */
static void kdts__infer_net_step(const kdts_infer *r, const float *x, float *hs, float *cs, int rev)
{
    int H = r->H, l, I = r->I0;
    const float *w = r->wt, *in = x;
    for (l = 0; l < r->L; ++l) {
        float *h = hs + (size_t)l * H, *c = cs + (size_t)l * H;
        const float *wih = w, *whh = wih + kdts__step_pack_floats((size_t)H, (size_t)I);
        const float *b = whh + kdts__step_pack_floats((size_t)H, (size_t)H);
        w = b + (size_t)4 * H;
        /* new h into tmp: the step reads the old h until its last chunk */
        kdts__lstm_step1(b, in, I, wih, h, whh, c, c, NULL, r->tmp, NULL, H, rev);
        memcpy(h, r->tmp, (size_t)H * sizeof(float));
        in = h;
        I = H;
    }
}

/* The head of a recurrent model on the top layer's state htop: r->out. */
static void kdts__infer_rnn_head(kdts_infer *r, const float *htop)
{
    const kdts_model *m = r->model;
    int H = r->H, O = r->O, k;
    size_t nk = m->arch.skip ? m->nparams - (size_t)((m->lookback * r->F + 1) * O) : m->nparams;
    const float *hb = m->params + nk - (size_t)O, *hwt;
    if (r->kind == KDTS_KIND_GRU) {
        kdts__gru_infer_head(r->wt, hb, r->L, H, r->I0, O, htop, r->out);
        return;
    }
    hwt = r->wt + kdts__infer_head_off(r->L, H, r->I0);
    memcpy(r->out, hb, (size_t)O * sizeof(float));
    for (k = 0; k < H; ++k) kdts_vec_axpy(r->out, htop[k], hwt + (size_t)k * O, (size_t)O);
}

/* The skip map on the normalized window r->xbuf (lookback, F): r->out += . */
static void kdts__infer_skip(kdts_infer *r)
{
    size_t D = (size_t)r->model->lookback * r->F;
    int o;
    const float *W = r->skip, *b = W + D * (size_t)r->O;
    for (o = 0; o < r->O; ++o) r->out[o] += b[o] + kdts_vec_dot(W + (size_t)o * D, r->xbuf, D);
}

/* r->out (the head's outputs in normalized window units) to forecasts in
   original units; KDTS_ERR_NONFINITE when one is not finite. */
static kdts_result kdts__infer_emit(kdts_infer *r, float *fc, float *lo, float *hi, float coverage, kdts_error *err)
{
    const kdts_model *m = r->model;
    const kdts_net_config *c = &m->arch;
    int k, j;
    for (k = 0; k < m->n_targets; ++k) {
        int f = m->target_index[k];
        float sc = r->wscale[f], of = r->woff[f];
        for (j = 0; j < m->horizon; ++j) {
            int idx = k * m->horizon + j;
            float v;
            if (c->mode == KDTS_MODE_DIST) {
                const float *z = r->out + (size_t)idx * c->bins;
                kdts_dist_expect(&v, z, 1, c->bins, c->bin_lo, c->bin_hi);
                if (lo && hi) {
                    float a = 0.0f, b = 0.0f;
                    kdts_dist_interval(z, c->bins, c->bin_lo, c->bin_hi, coverage, &a, &b);
                    lo[idx] = kdts_scaler_invert_value(&m->scaler, f, a * sc + of);
                    hi[idx] = kdts_scaler_invert_value(&m->scaler, f, b * sc + of);
                    if (!kdts__isfinite(lo[idx]) || !kdts__isfinite(hi[idx]))
                        return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0,
                                          "inference: the interval of value %d is not finite", idx + 1);
                }
            } else {
                v = r->out[idx];
            }
            fc[idx] = kdts_scaler_invert_value(&m->scaler, f, v * sc + of);
            if (!kdts__isfinite(fc[idx]))
                return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0,
                                  "inference: forecast value %d is not finite (the weights overflow on this input)",
                                  idx + 1);
        }
    }
    return KDTS_OK;
}

static kdts_result kdts__infer_args(const kdts_infer *r, const float *x, int T, const float *fc, const float *lo,
                                    const float *hi, kdts_error *err)
{
    if (!r || !r->model) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "inference object not set up");
    if (!x || !fc) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "inference: no input or no output buffer");
    if (T < 1 || T > r->max_steps)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "inference: a window of %d steps (this object takes 1..%d)", T,
                          r->max_steps);
    if ((lo || hi) && (r->model->arch.mode != KDTS_MODE_DIST || !lo || !hi))
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0,
                          "inference: intervals need a distribution-mode model and both low and high");
    return KDTS_OK;
}

/* The window path on raw x (T,F): scale, normalize, the kind's forward
   from a zero state (the second half of h/c), the skip map, emit. */
static kdts_result kdts__infer_run(kdts_infer *r, const float *x, int T, float *fc, float *lo, float *hi,
                                   float coverage, kdts_error *err)
{
    const kdts_model *m = r->model;
    size_t LH = (size_t)r->L * r->H, n = (size_t)T * r->F, i;
    int t, F = r->F;
    if (kdts__infer_fixed(m) && T != m->lookback)
        return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "inference: this model takes windows of exactly %d steps, not %d",
                          m->lookback, T);
    for (i = 0; i < n; ++i) {
        if (!kdts__isfinite(x[i]))
            return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0, "inference: input step %d, feature %d is NaN or Inf",
                              (int)(i / (size_t)F) + 1, (int)(i % (size_t)F) + 1);
        r->xbuf[i] = kdts_scaler_apply_value(&m->scaler, (int)(i % (size_t)F), x[i]);
    }
    kdts_window_normalize(r->xbuf, T, F, m->window_norm, m->norm_eps, r->woff, r->wscale);
    switch (r->kind) {
    case KDTS_KIND_LSTM: {
        float *hs = r->h + LH, *cs = r->c + LH;
        memset(hs, 0, LH * sizeof(float));
        memset(cs, 0, LH * sizeof(float));
        for (t = 0; t < T; ++t) kdts__infer_net_step(r, r->xbuf + (size_t)t * F, hs, cs, t & 1);
        kdts__infer_rnn_head(r, hs + (size_t)(r->L - 1) * r->H);
        break;
    }
    case KDTS_KIND_GRU: {
        float *hs = r->h + LH;
        memset(hs, 0, LH * sizeof(float));
        for (t = 0; t < T; ++t) kdts__gru_infer_step(r->wt, r->L, r->H, r->I0, r->xbuf + (size_t)t * F, hs, r->tmp, t & 1);
        kdts__infer_rnn_head(r, hs + (size_t)(r->L - 1) * r->H);
        break;
    }
    case KDTS_KIND_ATTN: kdts__attn_inf_window(&r->attn, r->xbuf, T, r->out); break;
    default: kdts_linear_forward(&r->lin, r->xbuf, 1, T, r->out, NULL); break;
    }
    if (r->skip) kdts__infer_skip(r);
    return kdts__infer_emit(r, fc, lo, hi, coverage, err);
}

KDTSDEF kdts_result kdts_infer_window(kdts_infer *r, const float *x, int T, float *forecast, float *low,
                                      float *high, float coverage, kdts_error *err)
{
    kdts_result rc = kdts__infer_args(r, x, T, forecast, low, high, err);
    if (rc != KDTS_OK) return rc;
    return kdts__infer_run(r, x, T, forecast, low, high, coverage, err);
}

KDTSDEF kdts_result kdts_infer_batch(kdts_infer *r, const float *x, int n, int T, float *forecast, float *low,
                                     float *high, float coverage, kdts_error *err)
{
    int i;
    size_t V;
    kdts_result rc = kdts__infer_args(r, x, T, forecast, low, high, err);
    if (rc != KDTS_OK) return rc;
    if (n < 0) return kdts__fail(err, KDTS_ERR_ARG, 0, 0, "inference: %d windows", n);
    V = (size_t)r->out_values;
    for (i = 0; i < n; ++i) {
        rc = kdts__infer_run(r, x + (size_t)i * T * r->F, T, forecast + i * V, low ? low + i * V : NULL,
                             high ? high + i * V : NULL, coverage, err);
        if (rc != KDTS_OK) return rc;
    }
    return KDTS_OK;
}

KDTSDEF kdts_result kdts_infer_step(kdts_infer *r, const float *obs, float *forecast, float *low, float *high,
                                    float coverage, kdts_error *err)
{
    const kdts_model *m;
    int f, F;
    kdts_result rc = kdts__infer_args(r, obs, 1, forecast, low, high, err);
    if (rc != KDTS_OK) return rc;
    m = r->model;
    F = r->F;
    for (f = 0; f < F; ++f)
        if (!kdts__isfinite(obs[f]))
            return kdts__fail(err, KDTS_ERR_NONFINITE, 0, 0, "inference: observation feature %d is NaN or Inf", f + 1);
    if (r->stream_mode == KDTS_STREAM_WINDOW) {
        int T = m->lookback, n;
        memmove(r->ring, r->ring + F, (size_t)(T - 1) * F * sizeof(float));
        memcpy(r->ring + (size_t)(T - 1) * F, obs, (size_t)F * sizeof(float));
        r->seen++;
        n = r->seen < T ? (int)r->seen : T;
        if (n < T && kdts__infer_fixed(m)) {
            /* a window map needs lookback steps: the first observation
               repeated before it until there are that many */
            int t;
            for (t = 0; t < T - n; ++t)
                memcpy(r->ring + (size_t)t * F, r->ring + (size_t)(T - n) * F, (size_t)F * sizeof(float));
            n = T;
        }
        return kdts__infer_run(r, r->ring + (size_t)(T - n) * F, n, forecast, low, high, coverage, err);
    }
    for (f = 0; f < F; ++f) {
        r->xs[f] = kdts_scaler_apply_value(&m->scaler, f, obs[f]);
        r->woff[f] = 0.0f;
        r->wscale[f] = 1.0f;
    }
    /* the window path computes (x - 0) * (1 / 1): the same value */
    switch (r->kind) {
    case KDTS_KIND_LSTM:
        kdts__infer_net_step(r, r->xs, r->h, r->c, (int)(r->seen & 1));
        kdts__infer_rnn_head(r, r->h + (size_t)(r->L - 1) * r->H);
        break;
    case KDTS_KIND_GRU:
        kdts__gru_infer_step(r->wt, r->L, r->H, r->I0, r->xs, r->h, r->tmp, (int)(r->seen & 1));
        kdts__infer_rnn_head(r, r->h + (size_t)(r->L - 1) * r->H);
        break;
    default: kdts__attn_inf_step(&r->attn, r->xs, r->out); break;
    }
    r->seen++;
    return kdts__infer_emit(r, forecast, low, high, coverage, err);
}
#endif /* KDTS__IMPLEMENTED */
#endif /* KDTS_IMPLEMENTATION */

/*
   ------------------------------------------------------------------------
   Revision history
     0.1.0  first release: matrix core, LSTM, distillation losses, Adam,
            training API, CSV reader, preprocessing, model files, inference.

   ------------------------------------------------------------------------
   MIT License

   Copyright (c) 2026 the kdts authors

   Permission is hereby granted, free of charge, to any person obtaining a
   copy of this software and associated documentation files (the
   "Software"), to deal in the Software without restriction, including
   without limitation the rights to use, copy, modify, merge, publish,
   distribute, sublicense, and/or sell copies of the Software, and to permit
   persons to whom the Software is furnished to do so, subject to the
   following conditions:

   The above copyright notice and this permission notice shall be included
   in all copies or substantial portions of the Software.

   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS
   OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
   MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN
   NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
   DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
   OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
   USE OR OTHER DEALINGS IN THE SOFTWARE.
*/
