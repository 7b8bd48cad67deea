// Row reductions and scatters: the bias gradients (sums over rows) and the embedding gradient (rows of
// dy added into a table at their ids), each one pass over memory.
#include <stdio.h>
#include <string.h>
#include "common.h"
#include "parallel.h"
#include "rows.h"

typedef struct {
  const float *x;
  int64_t rows, inner;
  float *out;
} SumRows;

// Columns [begin, end) of every row, in double, rounded once.
HOT_RANGE(sum_columns) {
  SumRows *job = ctx;
  double acc[256];
  for (int64_t j0 = begin; j0 < end; j0 += 256) {
    int64_t width = end - j0 < 256 ? end - j0 : 256;
    for (int64_t j = 0; j < width; j++) acc[j] = 0;
    for (int64_t i = 0; i < job->rows; i++) {
      const float *row = job->x + i * job->inner + j0;
      for (int64_t j = 0; j < width; j++) acc[j] += row[j];
    }
    for (int64_t j = 0; j < width; j++) job->out[j0 + j] = (float)acc[j];
  }
}

typedef struct {
  const float *rows;
  const int32_t *ids;
  size_t count;
  int64_t skip, width;
  float *out;
} ScatterRows;

// Table rows [begin, end): zeroed, then every looked-up row aimed there added in id order, so the
// sums are the same whatever the split.
HOT_RANGE(scatter_table_rows) {
  ScatterRows *job = ctx;
  memset(job->out + begin * job->width, 0, (size_t)((end - begin) * job->width) * sizeof(float));
  for (size_t i = 0; i < job->count; i++) {
    int64_t id = job->ids[i];
    if (id < begin || id >= end || id == job->skip) continue;
    float *dst = job->out + id * job->width;
    const float *src = job->rows + i * job->width;
    for (int64_t j = 0; j < job->width; j++) dst[j] += src[j];
  }
}

void column_sums(const float *x, int64_t rows, int64_t inner, float *out) {
  SumRows job = {x, rows, inner, out};
  // Columns per thread: a slice of every row, so no partial sums need merging.
  parallel_for(inner, rows * inner >= 65536 ? 64 : inner, sum_columns, &job);
}

// sumRows(x, rows, inner, out): out[j] = Σ_i x[i·inner + j], added in double and rounded once.
napi_value sum_rows(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "sumRows", 4, &a)) return NULL;
  size_t nx = 0, no = 0;
  const float *x = arg_f32(&a, 0, &nx);
  int64_t rows = arg_int(&a, 1, 0), inner = arg_int(&a, 2, 0);
  float *out = arg_f32(&a, 3, &no);
  if (a.failed || !require_that(&a, (size_t)(rows * inner) <= nx && (size_t)inner <= no, "x or out is shorter than rows × inner")) return NULL;
  column_sums(x, rows, inner, out);
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
  ScatterRows job = {rows, ids, ni, skip, width, out};
  parallel_for(table_rows, 256, scatter_table_rows, &job);
  return NULL;
}

typedef struct {
  const float *a, *b;
  size_t period;
  float *out;
} AddRepeat;

HOT_RANGE(add_repeat_range) {
  AddRepeat *job = ctx;
  size_t p = job->period;
  // Whole periods where possible so the inner loop is a plain vectorisable add.
  int64_t i = begin;
  while (i < end) {
    size_t j = (size_t)i % p;
    size_t run = p - j < (size_t)(end - i) ? p - j : (size_t)(end - i);
    const float *a = job->a + i, *b = job->b + j;
    float *out = job->out + i;
    for (size_t t = 0; t < run; t++) out[t] = a[t] + b[t];
    i += (int64_t)run;
  }
}

enum { MIN_RUN = 64 };

// addRepeat(a, b, out): out[i] = a[i] + b[i mod b.length] (a same-shaped or trailing-broadcast add);
// b.length must divide a.length.
napi_value add_repeat(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "addRepeat", 3, &a)) return NULL;
  size_t na = 0, nb = 0, no = 0;
  const float *x = arg_f32(&a, 0, &na), *y = arg_f32(&a, 1, &nb);
  float *out = arg_f32(&a, 2, &no);
  if (a.failed || !require_that(&a, nb > 0 && na % nb == 0 && no == na, "b's length must divide a's, and out must be as long as a")) return NULL;
  // A short b (a scalar, a few columns) is tiled to a multiple of its length of at least 64 values
  // (i mod nb is the same through it), so that the inner loop's runs are long enough to vectorise.
  float tiled[MIN_RUN + MIN_RUN - 1];
  size_t period = nb;
  if (nb < MIN_RUN) {
    period = nb * ((MIN_RUN + nb - 1) / nb);
    for (size_t j = 0; j < period; j++) tiled[j] = y[j % nb];
    y = tiled;
  }
  AddRepeat job = {x, y, period, out};
  parallel_for((int64_t)na, 65536, add_repeat_range, &job);
  return NULL;
}
