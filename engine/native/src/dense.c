// nn.Linear as one kernel each way: y = x·Wᵀ + b with the bias written first and the product added
// onto it (BLAS beta = 1), and backward dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy in one call. Replaces a
// product and a broadcast add forward, two products and a sum backward.
#include <string.h>
#include "blas.h"
#include "common.h"
#include "parallel.h"
#include "rows.h"

typedef struct {
  const float *bias;
  float *y;
  int64_t width;
} BiasRows;

static void fill_bias_rows(void *ctx, int64_t begin, int64_t end) {
  const BiasRows *job = ctx;
  for (int64_t r = begin; r < end; r++) memcpy(job->y + r * job->width, job->bias, (size_t)job->width * sizeof(float));
}

// Reads rows, in, out at `first` and checks x [rows, in], w [out, in] and the per-call lengths.
static bool dense_read(Args *a, size_t first, size_t nx, size_t nw, int64_t *rows, int64_t *in, int64_t *out) {
  *rows = arg_int(a, first, 0);
  *in = arg_int(a, first + 1, 1);
  *out = arg_int(a, first + 2, 1);
  if (a->failed) return false;
  if (!require_that(a, blas_loaded(), "no BLAS loaded (call blasLoad first)")) return false;
  if (!require_that(a, nx == (size_t)(*rows * *in), "x must hold rows × in values")) return false;
  return require_that(a, nw == (size_t)(*out * *in), "w must hold out × in values");
}

// denseForward(x, w, b, rows, in, out, y): y [rows, out] = x [rows, in] · w [out, in]ᵀ + b [out].
napi_value dense_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "denseForward", 7, &a)) return NULL;
  size_t nx = 0, nw = 0, nb = 0, ny = 0;
  const float *x = arg_f32(&a, 0, &nx), *w = arg_f32(&a, 1, &nw), *b = arg_f32(&a, 2, &nb);
  float *y = arg_f32(&a, 6, &ny);
  int64_t rows = 0, in = 0, out = 0;
  if (a.failed || !dense_read(&a, 3, nx, nw, &rows, &in, &out)) return NULL;
  if (!require_that(&a, nb == (size_t)out && ny == (size_t)(rows * out), "b must hold out values and y rows × out")) return NULL;
  BiasRows fill = {b, y, out};
  parallel_for(rows, 256, fill_bias_rows, &fill);
  sgemm_pool(false, true, rows, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
  return NULL;
}

typedef struct {
  const float *dy, *x, *w;
  int64_t rows, in, out;
  float *dx, *dw;
} BackwardProducts;

static void backward_products(void *ctx, int64_t begin, int64_t end) {
  const BackwardProducts *p = ctx;
  for (int64_t part = begin; part < end; part++) {
    if (part == 0)
      sgemm_row_major(false, false, (int)p->rows, (int)p->in, (int)p->out, 1.0f, p->dy, (int)p->out, p->w, (int)p->in, 0.0f, p->dx, (int)p->in);
    else
      sgemm_row_major(true, false, (int)p->out, (int)p->in, (int)p->rows, 1.0f, p->dy, (int)p->out, p->x, (int)p->in, 0.0f, p->dw, (int)p->in);
  }
}

// denseBackward(dy, x, w, rows, in, out, dx, dw, db): dx = dy·w, dw = dyᵀ·x, db = Σ_rows dy.
napi_value dense_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "denseBackward", 9, &a)) return NULL;
  size_t ndy = 0, nx = 0, nw = 0, ndx = 0, ndw = 0, ndb = 0;
  const float *dy = arg_f32(&a, 0, &ndy), *x = arg_f32(&a, 1, &nx), *w = arg_f32(&a, 2, &nw);
  float *dx = arg_f32(&a, 6, &ndx), *dw = arg_f32(&a, 7, &ndw), *db = arg_f32(&a, 8, &ndb);
  int64_t rows = 0, in = 0, out = 0;
  if (a.failed || !dense_read(&a, 3, nx, nw, &rows, &in, &out)) return NULL;
  if (!require_that(&a, ndy == (size_t)(rows * out) && ndx == nx && ndw == nw && ndb == (size_t)out,
                    "dy must hold rows × out values, dx as x, dw as w, db out")) return NULL;
  if (parallel_threads() == 2) {
    // The two products take about as long each: on two threads, one each, whole, beats splitting both
    // (no second packing of the shared operand, one synchronisation). More threads split each product.
    BackwardProducts job = {dy, x, w, rows, in, out, dx, dw};
    parallel_for(2, 1, backward_products, &job);
  } else {
    sgemm_pool(false, false, rows, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
    sgemm_pool(true, false, out, in, rows, 1.0f, dy, out, x, in, 0.0f, dw, in);
  }
  column_sums(dy, rows, out, db);
  return NULL;
}
