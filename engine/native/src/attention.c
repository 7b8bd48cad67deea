// BERT's attention core as one kernel each way (see below), with HF's additive padding mask [B, 1, 1, T]
// broadcast over heads and query rows; softmax backward dscores = scale·p·(dp − Σ p·dp).
#include <math.h>
#include "common.h"
#include "parallel.h"
#include "exp_approx.h"
#include "blas.h"
#include "dropout.h"
#include <stdlib.h>

// One row in place: y = softmax(y·scale + mask) (mask may be NULL).
static inline void softmax_row(float *y, const float *x, const float *mask, int64_t cols, float scale) {
  float max = -INFINITY;
  for (int64_t j = 0; j < cols; j++) {
    float s = x[j] * scale + (mask ? mask[j] : 0.0f);
    y[j] = s;
    max = s > max ? s : max;
  }
  for (int64_t j = 0; j < cols; j++) y[j] = exp_approx(y[j] - max);
  double sum = 0;
  for (int64_t j = 0; j < cols; j++) sum += y[j];
  float inv = (float)(1.0 / sum);
  for (int64_t j = 0; j < cols; j++) y[j] *= inv;
}

// One row in place: dx = scale·y·(dy − Σ dy·y), dy given in dx.
static inline void softmax_grad_row(float *dx, const float *dy, const float *y, int64_t cols, float scale) {
  double dot = 0;
  for (int64_t j = 0; j < cols; j++) dot += (double)dy[j] * y[j];
  float d = (float)dot;
  for (int64_t j = 0; j < cols; j++) dx[j] = scale * y[j] * (dy[j] - d);
}

// --- the whole attention core, on [B, T, H] activations -------------------------------------------------
// context = dropout(softmax(Q·Kᵀ·scale + mask))·V for each (sequence b, head h), with Q, K, V and the
// context read and written in place in [B, T, H] (head h is columns h·hd … h·hd + hd − 1, leading
// dimension H): no head split or merge transposes. Items (b, h) are spread over the pool, each product
// a single-threaded BLAS call. probs (before dropout) are kept for backward; the dropout mask is
// recomputed from the seed.

typedef struct {
  const float *q, *k, *v, *mask, *dctx;
  float *ctx, *probs, *dq, *dk, *dv;
  int64_t T, H, heads, hd;
  float scale;
  bool dropout;
  DropoutMask drop;
} Attention;

// P'·… with P' = P ∘ dropout factors (into `scratch`), or P itself without dropout.
static const float *dropped_probs(const Attention *a, const float *p, int64_t item, float *scratch) {
  if (!a->dropout) return p;
  uint32_t base = (uint32_t)(item * a->T * a->T);
  for (int64_t j = 0; j < a->T * a->T; j++) scratch[j] = p[j] * dropout_factor(&a->drop, base + (uint32_t)j);
  return scratch;
}

HOT_RANGE(attention_forward_items) {
  const Attention *a = ctx;
  int64_t T = a->T, H = a->H, hd = a->hd;
  float *scratch = a->dropout ? malloc((size_t)(T * T) * sizeof(float)) : NULL;
  for (int64_t item = begin; item < end; item++) {
    int64_t b = item / a->heads, h = item % a->heads, at = b * T * H + h * hd;
    float *p = a->probs + item * T * T;
    sgemm_row_major(false, true, (int)T, (int)T, (int)hd, 1.0f, a->q + at, (int)H, a->k + at, (int)H, 0.0f, p, (int)T);
    const float *mask = a->mask ? a->mask + b * T : NULL;
    for (int64_t r = 0; r < T; r++) softmax_row(p + r * T, p + r * T, mask, T, a->scale);
    const float *pv = scratch ? dropped_probs(a, p, item, scratch) : p;
    sgemm_row_major(false, false, (int)T, (int)hd, (int)T, 1.0f, pv, (int)T, a->v + at, (int)H, 0.0f, a->ctx + at, (int)H);
  }
  free(scratch);
}

HOT_RANGE(attention_backward_items) {
  const Attention *a = ctx;
  int64_t T = a->T, H = a->H, hd = a->hd;
  float *dp = malloc((size_t)(T * T) * sizeof(float));
  float *scratch = a->dropout ? malloc((size_t)(T * T) * sizeof(float)) : NULL;
  for (int64_t item = begin; item < end; item++) {
    int64_t b = item / a->heads, h = item % a->heads, at = b * T * H + h * hd;
    const float *p = a->probs + item * T * T;
    const float *pv = scratch ? dropped_probs(a, p, item, scratch) : p;
    // dP' = dC·Vᵀ, dV = P'ᵀ·dC
    sgemm_row_major(false, true, (int)T, (int)T, (int)hd, 1.0f, a->dctx + at, (int)H, a->v + at, (int)H, 0.0f, dp, (int)T);
    sgemm_row_major(true, false, (int)T, (int)hd, (int)T, 1.0f, pv, (int)T, a->dctx + at, (int)H, 0.0f, a->dv + at, (int)H);
    if (a->dropout) {
      uint32_t base = (uint32_t)(item * T * T);
      for (int64_t j = 0; j < T * T; j++) dp[j] *= dropout_factor(&a->drop, base + (uint32_t)j);
    }
    // dS = scale·P ∘ (dP − rowsum(dP ∘ P)), then dQ = dS·K, dK = dSᵀ·Q
    for (int64_t r = 0; r < T; r++) softmax_grad_row(dp + r * T, dp + r * T, p + r * T, T, a->scale);
    sgemm_row_major(false, false, (int)T, (int)hd, (int)T, 1.0f, dp, (int)T, a->k + at, (int)H, 0.0f, a->dq + at, (int)H);
    sgemm_row_major(true, false, (int)T, (int)hd, (int)T, 1.0f, dp, (int)T, a->q + at, (int)H, 0.0f, a->dk + at, (int)H);
  }
  free(scratch);
  free(dp);
}

// Reads B, T, heads, scale, rate, seed at `first` and checks them; fills the shared fields.
static bool attention_read(Args *a, size_t first, size_t activations, Attention *att, int64_t *batch) {
  int64_t B = arg_int(a, first, 1), T = arg_int(a, first + 1, 1), heads = arg_int(a, first + 2, 1);
  double scale = arg_num(a, first + 3), rate = arg_num(a, first + 4), seed = arg_num(a, first + 5);
  if (a->failed) return false;
  if (!require_that(a, blas_loaded(), "no BLAS loaded (call blasLoad first)")) return false;
  if (!require_that(a, rate >= 0 && rate < 1, "rate must be in [0, 1)")) return false;
  if (!require_that(a, seed >= 0 && seed <= 4294967295.0 && seed == (double)(uint32_t)seed, "seed must be an integer in [0, 2^32)")) return false;
  if (!require_that(a, activations % (size_t)(B * T) == 0, "q, k and v must be [B, T, H]")) return false;
  int64_t H = (int64_t)activations / (B * T);
  if (!require_that(a, H % heads == 0, "heads must divide the hidden size")) return false;
  if (!require_that(a, (double)B * heads * T * T < 4294967296.0, "attention probabilities over 2^32 elements are not supported")) return false;
  att->T = T;
  att->H = H;
  att->heads = heads;
  att->hd = H / heads;
  att->scale = (float)scale;
  att->dropout = rate > 0;
  att->drop = dropout_mask(rate, (uint32_t)seed);
  *batch = B;
  return true;
}

// attentionForward(q, k, v, mask | null, B, T, heads, scale, rate, seed, context, probs): q, k, v,
// context [B, T, H]; mask [B, T] (added to the scaled scores); probs [B, heads, T, T].
napi_value attention_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "attentionForward", 12, &a)) return NULL;
  size_t nq = 0, nk = 0, nv = 0, nm = 0, nc = 0, np = 0;
  Attention att = {0};
  att.q = arg_f32(&a, 0, &nq);
  att.k = arg_f32(&a, 1, &nk);
  att.v = arg_f32(&a, 2, &nv);
  napi_valuetype mask_type;
  napi_typeof(env, a.argv[3], &mask_type);
  att.mask = mask_type == napi_null ? NULL : arg_f32(&a, 3, &nm);
  att.ctx = arg_f32(&a, 10, &nc);
  att.probs = arg_f32(&a, 11, &np);
  int64_t B = 0;
  if (a.failed || !attention_read(&a, 4, nq, &att, &B)) return NULL;
  if (!require_that(&a, nk == nq && nv == nq && nc == nq, "q, k, v and context must have one length")) return NULL;
  if (!require_that(&a, np == (size_t)(B * att.heads * att.T * att.T), "probs must hold B × heads × T × T values")) return NULL;
  if (!require_that(&a, !att.mask || nm == (size_t)(B * att.T), "mask must hold B × T values")) return NULL;
  parallel_for(B * att.heads, 1, attention_forward_items, &att);
  return NULL;
}

// attentionBackward(dcontext, q, k, v, probs, B, T, heads, scale, rate, seed, dq, dk, dv).
napi_value attention_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "attentionBackward", 14, &a)) return NULL;
  size_t nd = 0, nq = 0, nk = 0, nv = 0, np = 0, ndq = 0, ndk = 0, ndv = 0;
  Attention att = {0};
  att.dctx = arg_f32(&a, 0, &nd);
  att.q = arg_f32(&a, 1, &nq);
  att.k = arg_f32(&a, 2, &nk);
  att.v = arg_f32(&a, 3, &nv);
  att.probs = arg_f32(&a, 4, &np);
  att.dq = arg_f32(&a, 11, &ndq);
  att.dk = arg_f32(&a, 12, &ndk);
  att.dv = arg_f32(&a, 13, &ndv);
  int64_t B = 0;
  if (a.failed || !attention_read(&a, 5, nq, &att, &B)) return NULL;
  if (!require_that(&a, nd == nq && nk == nq && nv == nq && ndq == nq && ndk == nq && ndv == nq, "dcontext, q, k, v, dq, dk and dv must have one length")) return NULL;
  if (!require_that(&a, np == (size_t)(B * att.heads * att.T * att.T), "probs must hold B × heads × T × T values")) return NULL;
  parallel_for(B * att.heads, 1, attention_backward_items, &att);
  return NULL;
}
