// Dropout with a counter-based mask: element i of a tensor is kept when a hash of (i, seed) is at least
// rate·2^24, and kept values are scaled by 1/(1 − rate). The mask is a pure function of the seed, so
// backward recomputes it instead of storing it, any thread split gives the same mask, and a resumed
// run draws the same masks as an uninterrupted one (the seeds come from the run's RNG).
#include "common.h"
#include "parallel.h"

// A 32-bit integer hash with good avalanche (Wellons's lowbias32); a bijection, so distinct indices
// give distinct words under one seed.
static inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

typedef struct {
  const float *x;
  float *out;
  uint32_t seed_word, threshold;
  float scale;
} Dropout;

HOT_RANGE(dropout_range) {
  const Dropout *d = ctx;
  for (int64_t i = begin; i < end; i++) {
    uint32_t h = mix32(mix32((uint32_t)i ^ d->seed_word) + d->seed_word);
    float keep = (float)((h >> 8) >= d->threshold);
    d->out[i] = d->x[i] * keep * d->scale;
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
  Dropout d = {x, out, mix32((uint32_t)seed ^ 0x9e3779b9U), (uint32_t)(rate * 16777216.0 + 0.5), (float)(1.0 / (1.0 - rate))};
  parallel_for((int64_t)nx, 32768, dropout_range, &d);
  return NULL;
}
