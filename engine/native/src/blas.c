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
  for (int64_t i = 0; i < batch; i++) {
    float *c = C + c_off + i * stride_c;
    if (k == 0) {  // an empty sum: BLAS implementations differ on k = 0, so do it here
      for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < n; j++) c[r * ldc + j] = beta == 0.0f ? 0.0f : beta * c[r * ldc + j];
      continue;
    }
    cblas_sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, (int)m, (int)n, (int)k, alpha,
                A + a_off + i * stride_a, (int)lda, B + b_off + i * stride_b, (int)ldb, beta, c, (int)ldc);
  }
  return NULL;
}
