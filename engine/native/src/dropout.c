// Dropout with a counter-based mask: element i of a tensor is kept when a hash of (i, seed) is at least
// rate·2^24, and kept values are scaled by 1/(1 − rate). The mask is a pure function of the seed, so
// backward recomputes it instead of storing it, any thread split gives the same mask, and a resumed
// run draws the same masks as an uninterrupted one (the seeds come from the run's RNG).
#include "common.h"
#include "parallel.h"
#include "dropout.h"

typedef struct {
  const float *x;
  float *out;
  DropoutMask mask;
} Dropout;

HOT_RANGE(dropout_range) {
  const Dropout *d = ctx;
  for (int64_t i = begin; i < end; i++) {
    d->out[i] = d->x[i] * dropout_factor(&d->mask, (uint32_t)i);
  }
}

// dropoutApply(x, out, rate, seed): out = x · mask(seed) / (1 − rate). The same call with the same seed
// on dy gives the gradient.
napi_value dropout_apply(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "dropoutApply", 4, &a)) return NULL;
  size_t nx = 0, no = 0;
  const float *x = arg_f32(&a, 0, &nx);
  float *out = arg_f32(&a, 1, &no);
  double rate = arg_num(&a, 2);
  double seed = arg_num(&a, 3);
  if (a.failed || !require_that(&a, no == nx, "x and out must have one length") ||
      !require_that(&a, seed >= 0 && seed <= 4294967295.0 && seed == (double)(uint32_t)seed, "seed must be an integer in [0, 2^32)") ||
      !require_that(&a, rate >= 0 && rate < 1, "rate must be in [0, 1)") ||
      !require_that(&a, nx <= 0xffffffffu, "tensors over 2^32 elements are not supported"))
    return NULL;
  Dropout d = {x, out, dropout_mask(rate, (uint32_t)seed)};
  parallel_for((int64_t)nx, 32768, dropout_range, &d);
  return NULL;
}
