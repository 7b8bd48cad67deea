// Transpose of 4-byte elements (float32, int32) over any permutation of up to 8 axes. tfjs-wasm moves
// element by element; the attention's head split/merge ([B, T, nh, hd] ↔ [B, nh, T, hd]) keeps the
// last axis in place, so here each output row is one memcpy, and rows are spread over the pool.
#include <string.h>
#include "common.h"
#include "parallel.h"

#define MAX_RANK 8

typedef struct {
  const uint32_t *x;
  uint32_t *out;
  int rank;
  int64_t out_shape[MAX_RANK];
  int64_t in_stride_of_out_axis[MAX_RANK];  // input stride along output axis k
  int64_t row;                              // output's last dimension
} Transpose;

HOT_RANGE(transpose_rows) {
  const Transpose *t = ctx;
  int last = t->rank - 1;
  int64_t step = t->in_stride_of_out_axis[last];
  for (int64_t q = begin; q < end; q++) {
    int64_t rest = q, from = 0;
    for (int k = last - 1; k >= 0; k--) {
      from += (rest % t->out_shape[k]) * t->in_stride_of_out_axis[k];
      rest /= t->out_shape[k];
    }
    uint32_t *dst = t->out + q * t->row;
    const uint32_t *src = t->x + from;
    if (step == 1) {
      memcpy(dst, src, (size_t)t->row * sizeof *dst);
    } else {
      for (int64_t j = 0; j < t->row; j++) dst[j] = src[j * step];
    }
  }
}

// transpose(x, shape, perm, out): out = x with axes permuted (out axis k is x axis perm[k]); x and out
// are Float32Array or Int32Array of equal length, shape and perm Int32Arrays of the input's rank.
napi_value transpose(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "transpose", 4, &a)) return NULL;
  size_t nx = 0, ns = 0, np = 0, no = 0;
  napi_typedarray_type type;
  void *x = NULL, *out = NULL;
  if (napi_get_typedarray_info(env, a.argv[0], &type, &nx, &x, NULL, NULL) != napi_ok ||
      (type != napi_float32_array && type != napi_int32_array)) {
    require_that(&a, false, "argument 0 must be a Float32Array or Int32Array");
    return NULL;
  }
  const int32_t *shape = arg_i32(&a, 1, &ns), *perm = arg_i32(&a, 2, &np);
  napi_typedarray_type out_type;
  if (!a.failed && (napi_get_typedarray_info(env, a.argv[3], &out_type, &no, &out, NULL, NULL) != napi_ok || out_type != type)) {
    require_that(&a, false, "argument 3 must be a typed array of the input's type");
    return NULL;
  }
  if (a.failed || !require_that(&a, ns >= 1 && ns <= MAX_RANK && np == ns, "shape and perm must have the same rank, 1 to 8")) return NULL;
  Transpose t = {x, out, (int)ns, {0}, {0}, 0};
  int64_t in_stride[MAX_RANK], size = 1;
  bool seen[MAX_RANK] = {false};
  for (int k = (int)ns - 1; k >= 0; k--) {
    if (!require_that(&a, shape[k] >= 0, "shape has a negative dimension")) return NULL;
    in_stride[k] = size;
    size *= shape[k];
  }
  for (int k = 0; k < (int)ns; k++) {
    if (!require_that(&a, perm[k] >= 0 && perm[k] < (int32_t)ns && !seen[perm[k]], "perm must be a permutation of the axes")) return NULL;
    seen[perm[k]] = true;
    t.out_shape[k] = shape[perm[k]];
    t.in_stride_of_out_axis[k] = in_stride[perm[k]];
  }
  if (!require_that(&a, nx == (size_t)size && no == (size_t)size, "x and out must hold the shape's element count")) return NULL;
  if (size == 0) return NULL;
  t.row = t.out_shape[ns - 1];
  int64_t rows = size / t.row;
  parallel_for(rows, t.row >= 256 ? 16 : 4096 / t.row + 1, transpose_rows, &t);
  return NULL;
}
