// Row reductions and scatters: the bias gradients (sums over rows) and the embedding gradient (rows of
// dy added into a table at their ids), each one pass over memory.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

// sumRows(x, rows, inner, out): out[j] = Σ_i x[i·inner + j], added in double and rounded once.
napi_value sum_rows(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "sumRows", 4, &a)) return NULL;
  size_t nx = 0, no = 0;
  const float *x = arg_f32(&a, 0, &nx);
  int64_t rows = arg_int(&a, 1, 0), inner = arg_int(&a, 2, 0);
  float *out = arg_f32(&a, 3, &no);
  if (a.failed || !require_that(&a, (size_t)(rows * inner) <= nx && (size_t)inner <= no, "x or out is shorter than rows × inner")) return NULL;
  double *acc = calloc(inner > 0 ? (size_t)inner : 1, sizeof(double));
  if (!require_that(&a, acc != NULL, "out of memory")) return NULL;
  for (int64_t i = 0; i < rows; i++) {
    const float *row = x + i * inner;
    for (int64_t j = 0; j < inner; j++) acc[j] += row[j];
  }
  for (int64_t j = 0; j < inner; j++) out[j] = (float)acc[j];
  free(acc);
  return NULL;
}

// scatterAddRows(rows, ids, skipId, out, tableRows, width): out = zeros([tableRows, width]), then each
// row i of `rows` is added into out[ids[i]] (repeated ids sum), except rows whose id is skipId (−1: none).
napi_value scatter_add_rows(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "scatterAddRows", 6, &a)) return NULL;
  size_t nr = 0, ni = 0, no = 0;
  const float *rows = arg_f32(&a, 0, &nr);
  const int32_t *ids = arg_i32(&a, 1, &ni);
  int64_t skip = arg_int(&a, 2, -1);
  float *out = arg_f32(&a, 3, &no);
  int64_t table_rows = arg_int(&a, 4, 0), width = arg_int(&a, 5, 0);
  if (a.failed) return NULL;
  if (!require_that(&a, nr == ni * (size_t)width, "rows must hold ids.length × width values")) return NULL;
  if (!require_that(&a, no == (size_t)(table_rows * width), "out must hold tableRows × width values")) return NULL;
  for (size_t i = 0; i < ni; i++) {
    if (ids[i] < 0 || ids[i] >= table_rows) {
      char what[96];
      snprintf(what, sizeof what, "id %d at %zu is outside [0, %lld)", ids[i], i, (long long)table_rows);
      require_that(&a, false, what);
      return NULL;
    }
  }
  memset(out, 0, no * sizeof(float));
  for (size_t i = 0; i < ni; i++) {
    if (ids[i] == skip) continue;
    float *dst = out + (int64_t)ids[i] * width;
    const float *src = rows + i * width;
    for (int64_t j = 0; j < width; j++) dst[j] += src[j];
  }
  return NULL;
}
