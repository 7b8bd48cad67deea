// The dropout mask as a pure function of (element index, seed), shared by the dropout kernel and the
// fused attention (dropout.c, attention.c).
#ifndef MENGZI_DROPOUT_H
#define MENGZI_DROPOUT_H

#include <stdint.h>
#include <string.h>

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
  uint32_t seed_word, threshold;  // keep when the hash's top 24 bits are ≥ threshold = rate·2^24
  float scale;                    // 1 / (1 − rate)
} DropoutMask;

static inline DropoutMask dropout_mask(double rate, uint32_t seed) {
  DropoutMask m = {mix32(seed ^ 0x9e3779b9U), (uint32_t)(rate * 16777216.0 + 0.5), (float)(1.0 / (1.0 - rate))};
  return m;
}

// 0 or 1/(1 − rate) for element i. Straight-line: the comparison (signed, both sides below 2^24)
// becomes a bit mask over the scale's bits, so loops calling this vectorise.
static inline float dropout_factor(const DropoutMask *m, uint32_t i) {
  uint32_t h = mix32(mix32(i ^ m->seed_word) + m->seed_word);
  uint32_t keep = -(uint32_t)((int32_t)(h >> 8) >= (int32_t)m->threshold);
  uint32_t scale_bits;
  memcpy(&scale_bits, &m->scale, sizeof scale_bits);
  uint32_t bits = scale_bits & keep;
  float factor;
  memcpy(&factor, &bits, sizeof factor);
  return factor;
}

#endif
