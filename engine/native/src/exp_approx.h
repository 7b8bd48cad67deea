// expf as straight-line float and int32 arithmetic, so loops calling it vectorise with baseline SSE2
// (libm's expf is a call per element). Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, Cephes's
// degree-6 polynomial for exp(r), and 2^n built from exponent bits in two halves so that results in
// the subnormal range round like expf's instead of flushing to 0. Within 1 ulp of glibc's expf over
// [-104, 89] (checked over every float there); NaN stays NaN, -Inf gives 0, +Inf gives +Inf.
#ifndef MENGZI_EXP_APPROX_H
#define MENGZI_EXP_APPROX_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float f32_from_bits(uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static inline int32_t bits_from_f32(float f) {
  int32_t bits;
  memcpy(&bits, &f, sizeof bits);
  return bits;
}

static inline float exp_approx(float x) {
  // n = round(x / ln2): adding 1.5·2^23 leaves n in the low mantissa bits (round to nearest even).
  const float magic = 12582912.0f;
  float t = x * 1.44269504088896341f + magic;
  float n = t - magic;
  float r = x - n * 0.693359375f;  // ln2 split so n·ln2_hi is exact
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as 2^h · 2^(n−h), each factor a normal float for n in [-150, 128]. Unsigned, so that the
  // garbage n of an x out of range cannot overflow a signed shift.
  int32_t ni = bits_from_f32(t) - bits_from_f32(magic);
  int32_t h = ni >> 1;
  float y = p * f32_from_bits((uint32_t)(h + 127) << 23) * f32_from_bits((uint32_t)(ni - h + 127) << 23);
  // Out of range (−Inf included) goes to 0 and +Inf through bit masks, not branches: gcc turns a
  // branch here into control flow that stops the loop from vectorising. NaN is neither below nor
  // above, and stays NaN through p.
  uint32_t keep = -(uint32_t)!isless(x, -104.0f), over = -(uint32_t)isgreater(x, 89.0f);
  uint32_t bits = ((uint32_t)bits_from_f32(y) & keep & ~over) | (0x7f800000u & over);
  return f32_from_bits(bits);
}

#endif
