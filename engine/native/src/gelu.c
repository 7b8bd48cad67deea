// GELU, exact (erf) form as HF's "gelu": y = x·Φ(x), Φ(x) = (1 + erf(x/√2))/2; backward
// dx = dy·(Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π). Forward keeps Φ(x) for backward.
#include <math.h>
#include "common.h"
#include "parallel.h"

typedef struct {
  const float *x, *dy, *cdf_in;
  float *y, *cdf, *dx;
} Gelu;

static void forward_range(void *ctx, int64_t begin, int64_t end) {
  Gelu *job = ctx;
  for (int64_t i = begin; i < end; i++) {
    float c = 0.5f + 0.5f * erff(job->x[i] * 0.70710678118654752f);
    job->cdf[i] = c;
    job->y[i] = job->x[i] * c;
  }
}

static void backward_range(void *ctx, int64_t begin, int64_t end) {
  Gelu *job = ctx;
  const float inv_sqrt_2pi = 0.39894228040143268f;
  for (int64_t i = begin; i < end; i++) {
    float x = job->x[i];
    float pdf = expf(-0.5f * x * x) * inv_sqrt_2pi;
    job->dx[i] = job->dy[i] * (job->cdf_in[i] + x * pdf);
  }
}

// geluForward(x, y, cdf): y = x·Φ(x), cdf = Φ(x); all of one length.
napi_value gelu_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "geluForward", 3, &a)) return NULL;
  size_t n = 0, ny = 0, nc = 0;
  const float *x = arg_f32(&a, 0, &n);
  float *y = arg_f32(&a, 1, &ny), *cdf = arg_f32(&a, 2, &nc);
  if (a.failed || !require_that(&a, ny == n && nc == n, "x, y and cdf must have one length")) return NULL;
  Gelu job = {.x = x, .y = y, .cdf = cdf};
  parallel_for((int64_t)n, 16384, forward_range, &job);
  return NULL;
}

// geluBackward(dy, x, cdf, dx): dx = dy·(Φ(x) + x·φ(x)).
napi_value gelu_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "geluBackward", 4, &a)) return NULL;
  size_t n = 0, nx = 0, nc = 0, nd = 0;
  const float *dy = arg_f32(&a, 0, &n), *x = arg_f32(&a, 1, &nx), *cdf = arg_f32(&a, 2, &nc);
  float *dx = arg_f32(&a, 3, &nd);
  if (a.failed || !require_that(&a, nx == n && nc == n && nd == n, "dy, x, cdf and dx must have one length")) return NULL;
  Gelu job = {.x = x, .dy = dy, .cdf_in = cdf, .dx = dx};
  parallel_for((int64_t)n, 16384, backward_range, &job);
  return NULL;
}
