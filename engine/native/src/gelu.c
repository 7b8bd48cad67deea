// GELU, exact (erf) form as HF's "gelu": y = x·Φ(x), Φ(x) = (1 + erf(x/√2))/2; backward
// dx = dy·(Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π). Forward keeps Φ(x) for backward.
#include <math.h>
#include "common.h"
#include "parallel.h"
#include "exp_approx.h"

// Φ(x) = erfc(−x/√2)/2 with Numerical Recipes' erfc (Chebyshev fit, fractional error < 1.2e-7) over
// our vectorisable exp: straight-line arithmetic the compiler vectorises, where libm's erff is a call
// per element. NaN stays NaN; Φ(+Inf) = 1, Φ(−Inf) = 0.
static inline float normal_cdf(float x) {
  float u = -x * 0.70710678118654752f;
  float z = fabsf(u);
  float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  float tail = t * exp_approx(p - z * z);  // erfc(z) for z ≥ 0
  // erfc(u) = 2 − erfc(−u) for u < 0, as arithmetic: a branch here stops the loop vectorising.
  float negative = (float)isless(u, 0.0f);
  return 0.5f * (tail + negative * (2.0f - 2.0f * tail));
}

typedef struct {
  const float *x, *dy, *cdf_in;
  float *y, *cdf, *dx;
} Gelu;

HOT_RANGE(forward_range) {
  Gelu *job = ctx;
  const float *restrict x = job->x;
  float *restrict cdf = job->cdf, *restrict y = job->y;
  for (int64_t i = begin; i < end; i++) {
    float c = normal_cdf(x[i]);
    cdf[i] = c;
    y[i] = x[i] * c;
  }
}

HOT_RANGE(backward_range) {
  Gelu *job = ctx;
  const float inv_sqrt_2pi = 0.39894228040143268f;
  for (int64_t i = begin; i < end; i++) {
    float x = job->x[i];
    float pdf = exp_approx(-0.5f * x * x) * inv_sqrt_2pi;
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
