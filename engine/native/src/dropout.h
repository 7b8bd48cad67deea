// The dropout mask as a pure function of (element index, seed), shared by the dropout kernel and the
// fused attention (dropout.c, attention.c).
#ifndef MENGZI_DROPOUT_H
#define MENGZI_DROPOUT_H

#include <stdint.h>

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

// 0 or 1/(1 − rate) for element i.
static inline float dropout_factor(const DropoutMask *m, uint32_t i) {
  uint32_t h = mix32(mix32(i ^ m->seed_word) + m->seed_word);
  return (float)((h >> 8) >= m->threshold) * m->scale;
}

#endif
