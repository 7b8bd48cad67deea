// sgemm through the machine's BLAS, found at run time with dlopen (OpenBLAS on Linux, Accelerate on
// macOS): nothing to link at build time, and a machine without one gets a clear reason instead of a
// module that fails to load.
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#define OPEN(p) ((void *)LoadLibraryA(p))
#define SYM(h, s) ((void *)GetProcAddress((HMODULE)(h), s))
#else
#include <dlfcn.h>
#define OPEN(p) dlopen(p, RTLD_NOW | RTLD_LOCAL)
#define SYM(h, s) dlsym(h, s)
#endif
#include "common.h"
#include "parallel.h"
#include "blas.h"

// CBLAS's enum values (cblas.h), fixed by the standard interface.
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_config_fn)(void);

static sgemm_fn cblas_sgemm;
static set_threads_fn set_threads;
static get_threads_fn get_threads;
static char description[1600];

// blasLoad(path): opens a BLAS shared library and binds cblas_sgemm; returns what was loaded (OpenBLAS
// says its version, build and core). Once one is bound, later calls return it unchanged.
napi_value blas_load(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "blasLoad", 1, &a)) return NULL;
  if (cblas_sgemm) return make_string(env, description);
  char path[1024];
  size_t length = 0;
  if (napi_get_value_string_utf8(env, a.argv[0], path, sizeof path, &length) != napi_ok || length == 0) {
    require_that(&a, false, "argument 0 must be a library path");
    return NULL;
  }
  void *lib = OPEN(path);
  if (!lib) {
    char what[1200];
#ifdef _WIN32
    snprintf(what, sizeof what, "cannot open %s", path);
#else
    snprintf(what, sizeof what, "cannot open %s (%s)", path, dlerror());
#endif
    require_that(&a, false, what);
    return NULL;
  }
  sgemm_fn sgemm = (sgemm_fn)SYM(lib, "cblas_sgemm");
  if (!sgemm) {
    char what[1100];
    snprintf(what, sizeof what, "%s has no cblas_sgemm", path);
    require_that(&a, false, what);
    return NULL;
  }
  cblas_sgemm = sgemm;
  set_threads = (set_threads_fn)SYM(lib, "openblas_set_num_threads");
  get_threads = (get_threads_fn)SYM(lib, "openblas_get_num_threads");
  get_config_fn config = (get_config_fn)SYM(lib, "openblas_get_config");
  if (config) snprintf(description, sizeof description, "%s (%s)", config(), path);
  else snprintf(description, sizeof description, "%s", path);
  return make_string(env, description);
}

// blasThreads([n]): sets the BLAS thread count where the library allows it; returns the count in use
// (1 when the library does not say).
napi_value blas_threads(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "blasThreads", 0, &a)) return NULL;
  if (a.argc > 0) {
    int64_t n = arg_int(&a, 0, 1);
    if (a.failed) return NULL;
    if (set_threads) set_threads((int)n);
  }
  return make_number(env, get_threads ? get_threads() : 1);
}

bool blas_loaded(void) { return cblas_sgemm != NULL; }

void sgemm_row_major(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                     int ldb, float beta, float *c, int ldc) {
  cblas_sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Checks that `batch` matrices of rows x cols, ld apart by row and `stride` apart by matrix, starting at
// `offset`, lie inside an array of `length` elements.
static bool fits(Args *a, const char *name, size_t length, int64_t offset, int64_t rows, int64_t cols, int64_t ld,
                 int64_t stride, int64_t batch) {
  char what[160];
  if (ld < cols || ld < 1) {
    snprintf(what, sizeof what, "%s: leading dimension %lld is smaller than its %lld columns", name, (long long)ld, (long long)cols);
    return require_that(a, false, what);
  }
  int64_t last = offset + (batch - 1) * stride + (rows - 1) * ld + cols;
  if (rows > 0 && cols > 0 && last > (int64_t)length) {
    snprintf(what, sizeof what, "%s: the matrices reach element %lld of an array of %zu", name, (long long)last, length);
    return require_that(a, false, what);
  }
  return true;
}

// Parts smaller than this stay on one thread: waking a worker costs more than it saves.
#define MIN_PART_FLOPS 2e6

enum { SPLIT_BATCH, SPLIT_ROWS, SPLIT_COLUMNS };

typedef struct {
  bool trans_a, trans_b;
  int64_t m, n, k;
  float alpha;
  const float *A;
  int64_t lda, stride_a;
  const float *B;
  int64_t ldb, stride_b;
  float beta;
  float *C;
  int64_t ldc, stride_c;
  int split;
} Gemm;

// C_i[r0:r1, c0:c1] of one batch matrix.
static void gemm_block(const Gemm *g, int64_t i, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const float *a = g->A + i * g->stride_a + (g->trans_a ? r0 : r0 * g->lda);
  const float *b = g->B + i * g->stride_b + (g->trans_b ? c0 * g->ldb : c0);
  float *c = g->C + i * g->stride_c + r0 * g->ldc + c0;
  int64_t rows = r1 - r0, cols = c1 - c0;
  if (g->k == 0) {  // an empty sum: BLAS implementations differ on k = 0, so do it here
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < cols; j++) c[r * g->ldc + j] = g->beta == 0.0f ? 0.0f : g->beta * c[r * g->ldc + j];
    return;
  }
  cblas_sgemm(ROW_MAJOR, g->trans_a ? TRANS : NO_TRANS, g->trans_b ? TRANS : NO_TRANS, (int)rows, (int)cols, (int)g->k,
              g->alpha, a, (int)g->lda, b, (int)g->ldb, g->beta, c, (int)g->ldc);
}

static void gemm_part(void *ctx, int64_t begin, int64_t end) {
  const Gemm *g = ctx;
  if (g->split == SPLIT_BATCH)
    for (int64_t i = begin; i < end; i++) gemm_block(g, i, 0, g->m, 0, g->n);
  else if (g->split == SPLIT_ROWS)
    gemm_block(g, 0, begin, end, 0, g->n);
  else
    gemm_block(g, 0, 0, g->m, begin, end);
}

// Our pool splits the work and every part is one single-threaded BLAS call: BLAS's own threads
// barely help products this small on few cores (the split is chosen here, per product).
void sgemm_pool(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  Gemm job = {trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, SPLIT_ROWS};
  if (m == 0 || n == 0) return;
  double flops = 2.0 * (double)m * (double)n * (double)k;
  if (k == 0) {
    gemm_block(&job, 0, 0, m, 0, n);
    return;
  }
  job.split = m >= n ? SPLIT_ROWS : SPLIT_COLUMNS;
  int64_t extent = m >= n ? m : n;
  int64_t grain = (int64_t)(MIN_PART_FLOPS / (flops / (double)extent)) + 1;
  parallel_for(extent, grain < 16 ? 16 : grain, gemm_part, &job);
}

// sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, strideA, b, bOffset, ldb, strideB, beta, c,
// cOffset, ldc, strideC, batch): for each i < batch, C_i = alpha·op(A_i)·op(B_i) + beta·C_i, row-major,
// A_i at a[aOffset + i·strideA] (stride 0 repeats one matrix), likewise B and C. Offsets in elements.
napi_value blas_sgemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "sgemm", 20, &a)) return NULL;
  if (!require_that(&a, cblas_sgemm != NULL, "no BLAS loaded (call blasLoad first)")) return NULL;
  bool trans_a = arg_bool(&a, 0), trans_b = arg_bool(&a, 1);
  int64_t m = arg_int(&a, 2, 0), n = arg_int(&a, 3, 0), k = arg_int(&a, 4, 0);
  float alpha = (float)arg_num(&a, 5);
  size_t a_len = 0, b_len = 0, c_len = 0;
  const float *A = arg_f32(&a, 6, &a_len);
  int64_t a_off = arg_int(&a, 7, 0), lda = arg_int(&a, 8, 1), stride_a = arg_int(&a, 9, 0);
  const float *B = arg_f32(&a, 10, &b_len);
  int64_t b_off = arg_int(&a, 11, 0), ldb = arg_int(&a, 12, 1), stride_b = arg_int(&a, 13, 0);
  float beta = (float)arg_num(&a, 14);
  float *C = arg_f32(&a, 15, &c_len);
  int64_t c_off = arg_int(&a, 16, 0), ldc = arg_int(&a, 17, 1), stride_c = arg_int(&a, 18, 0);
  int64_t batch = arg_int(&a, 19, 0);
  if (a.failed) return NULL;
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if (!fits(&a, "a", a_len, a_off, trans_a ? k : m, trans_a ? m : k, lda, stride_a, batch)) return NULL;
  if (!fits(&a, "b", b_len, b_off, trans_b ? n : k, trans_b ? k : n, ldb, stride_b, batch)) return NULL;
  if (!fits(&a, "c", c_len, c_off, m, n, ldc, stride_c, batch)) return NULL;
  if (!require_that(&a, batch == 1 || stride_c >= m * ldc || stride_c >= m * n, "c: batch matrices overlap")) return NULL;
  Gemm job = {trans_a, trans_b, m, n, k, alpha, A + a_off, lda, stride_a, B + b_off, ldb, stride_b, beta, C + c_off, ldc, stride_c, SPLIT_BATCH};
  if (k == 0) {
    for (int64_t i = 0; i < batch; i++) gemm_block(&job, i, 0, m, 0, n);
    return NULL;
  }
  if (batch == 1) {
    sgemm_pool(trans_a, trans_b, m, n, k, alpha, job.A, lda, job.B, ldb, beta, job.C, ldc);
  } else {
    double flops = 2.0 * (double)m * (double)n * (double)k;
    job.split = SPLIT_BATCH;
    parallel_for(batch, flops >= MIN_PART_FLOPS ? 1 : (int64_t)(MIN_PART_FLOPS / flops) + 1, gemm_part, &job);
  }
  return NULL;
}
