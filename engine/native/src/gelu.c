// GELU, exact (erf) form as HF's "gelu": y = x·Φ(x), Φ(x) = (1 + erf(x/√2))/2; backward
// dx = dy·(Φ(x) + x·φ(x)), φ(x) = exp(−x²/2)/√(2π). Forward keeps Φ(x) for backward.
#include <math.h>
#include "common.h"

// geluForward(x, y, cdf): y = x·Φ(x), cdf = Φ(x); all of one length.
napi_value gelu_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "geluForward", 3, &a)) return NULL;
  size_t n = 0, ny = 0, nc = 0;
  const float *x = arg_f32(&a, 0, &n);
  float *y = arg_f32(&a, 1, &ny), *cdf = arg_f32(&a, 2, &nc);
  if (a.failed || !require_that(&a, ny == n && nc == n, "x, y and cdf must have one length")) return NULL;
  for (size_t i = 0; i < n; i++) {
    float c = 0.5f + 0.5f * erff(x[i] * 0.70710678118654752f);
    cdf[i] = c;
    y[i] = x[i] * c;
  }
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
  const float inv_sqrt_2pi = 0.39894228040143268f;
  for (size_t i = 0; i < n; i++) {
    float pdf = expf(-0.5f * x[i] * x[i]) * inv_sqrt_2pi;
    dx[i] = dy[i] * (cdf[i] + x[i] * pdf);
  }
  return NULL;
}
