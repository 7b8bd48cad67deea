// AdamW and LAMB parameter updates (engine/train/optimizers.ts), one call per parameter tensor.
// Each operation is a float32 operation in the order the tfjs composition applies it, with the
// constants the composition forms in double and rounds to float32, so the results match it bit for
// bit (LAMB up to the norms, which sum here in double).
#include <math.h>
#include <stdlib.h>
#include "common.h"
#include "parallel.h"

// Arguments 0..6 (p, g, m, v, pOut, mOut, vOut) and 7..13 (lr, beta1, beta2, eps, weightDecay, bc1, bc2).
typedef struct {
  const float *p, *g, *m, *v;
  float *p_out, *m_out, *v_out;
  size_t n;
  double lr, beta1, beta2, eps, weight_decay, bc1, bc2;
} Step;

static bool step_read(napi_env env, napi_callback_info info, const char *fn, Args *a, Step *s) {
  if (!args_read(env, info, fn, 14, a)) return false;
  size_t ng = 0, nm = 0, nv = 0, npo = 0, nmo = 0, nvo = 0;
  s->p = arg_f32(a, 0, &s->n);
  s->g = arg_f32(a, 1, &ng);
  s->m = arg_f32(a, 2, &nm);
  s->v = arg_f32(a, 3, &nv);
  s->p_out = arg_f32(a, 4, &npo);
  s->m_out = arg_f32(a, 5, &nmo);
  s->v_out = arg_f32(a, 6, &nvo);
  s->lr = arg_num(a, 7);
  s->beta1 = arg_num(a, 8);
  s->beta2 = arg_num(a, 9);
  s->eps = arg_num(a, 10);
  s->weight_decay = arg_num(a, 11);
  s->bc1 = arg_num(a, 12);
  s->bc2 = arg_num(a, 13);
  size_t n = s->n;
  return !a->failed && require_that(a, ng == n && nm == n && nv == n && npo == n && nmo == n && nvo == n,
                                    "p, g, m, v, pOut, mOut and vOut must have one length");
}

// m' = β1·m + (1−β1)·g, v' = β2·v + (1−β2)·g², p' = p·(1 − lr·λ) − (lr/bc1)·m' / (√v' / √bc2 + ε).
// A function of its own: with restrict parameters GCC vectorizes the loop (not inside the N-API call).
static inline void adamw_update(const float *restrict p, const float *restrict g, const float *restrict m, const float *restrict v,
                         float *restrict p_out, float *restrict m_out, float *restrict v_out, size_t n, const Step *s) {
  const float b1 = (float)s->beta1, c1 = (float)(1.0 - s->beta1);
  const float b2 = (float)s->beta2, c2 = (float)(1.0 - s->beta2);
  const float keep = (float)(1.0 - s->lr * s->weight_decay), root_bc2 = (float)sqrt(s->bc2);
  const float eps = (float)s->eps, step = (float)(s->lr / s->bc1);
  for (size_t i = 0; i < n; i++) {
    float mi = m[i] * b1 + g[i] * c1;
    float vi = v[i] * b2 + (g[i] * g[i]) * c2;
    m_out[i] = mi;
    v_out[i] = vi;
    p_out[i] = p[i] * keep - (mi / (sqrtf(vi) / root_bc2 + eps)) * step;
  }
}

// Elements [begin, end) of one AdamW update, on the pool (elementwise, so any split gives the same bits).
HOT_RANGE(adamw_range) {
  const Step *s = ctx;
  adamw_update(s->p + begin, s->g + begin, s->m + begin, s->v + begin, s->p_out + begin, s->m_out + begin, s->v_out + begin,
               (size_t)(end - begin), s);
}

// adamwStep(p, g, m, v, pOut, mOut, vOut, lr, beta1, beta2, eps, weightDecay, bc1, bc2).
napi_value adamw_step(napi_env env, napi_callback_info info) {
  Args a;
  Step s;
  if (!step_read(env, info, "adamwStep", &a, &s)) return NULL;
  parallel_for((int64_t)s.n, 32768, adamw_range, &s);
  return NULL;
}

// LAMB's moments and u = m̂/(√v̂ + ε) + λ·p for one block (vectorized as adamw_update).
static inline void lamb_direction(const float *restrict p, const float *restrict g, const float *restrict m, const float *restrict v,
                           float *restrict u, float *restrict m_out, float *restrict v_out, size_t n, const Step *s) {
  const float b1 = (float)s->beta1, c1 = (float)(1.0 - s->beta1);
  const float b2 = (float)s->beta2, c2 = (float)(1.0 - s->beta2);
  const float bc1 = (float)s->bc1, bc2 = (float)s->bc2, eps = (float)s->eps, decay = (float)s->weight_decay;
  for (size_t i = 0; i < n; i++) {
    float mi = m[i] * b1 + g[i] * c1;
    float vi = v[i] * b2 + (g[i] * g[i]) * c2;
    m_out[i] = mi;
    v_out[i] = vi;
    float r = (mi / bc1) / (sqrtf(vi / bc2) + eps);
    u[i] = decay == 0 ? r : r + p[i] * decay; // the composition adds no λ·p at all without decay
  }
}

// Σx² in double; four partial sums, so the additions do not wait on each other.
static inline double sum_squares(const float *restrict x, size_t n) {
  double s[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t j = 0; j < 4; j++) s[j] += (double)x[i + j] * x[i + j];
  }
  for (; i < n; i++) s[0] += (double)x[i] * x[i];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

enum { LAMB_BLOCK = 4096 };

typedef struct {
  const Step *s;
  double *sums;  // per block: Σp², Σu²
  float step;    // lr · trust ratio, for the second pass
} Lamb;

// First pass over blocks [begin, end): m', v', u (into pOut) and both squared norms of each block.
HOT_RANGE(lamb_blocks) {
  const Lamb *job = ctx;
  const Step *s = job->s;
  for (int64_t b = begin; b < end; b++) {
    size_t start = (size_t)b * LAMB_BLOCK, len = s->n - start < LAMB_BLOCK ? s->n - start : LAMB_BLOCK;
    lamb_direction(s->p + start, s->g + start, s->m + start, s->v + start, s->p_out + start, s->m_out + start, s->v_out + start, len, s);
    job->sums[2 * b] = sum_squares(s->p + start, len);
    job->sums[2 * b + 1] = sum_squares(s->p_out + start, len);
  }
}

// Second pass: u → p' = p − lr·trust·u, in place.
HOT_RANGE(lamb_apply) {
  const Lamb *job = ctx;
  const float *p = job->s->p;
  float *u = job->s->p_out;
  for (int64_t i = begin; i < end; i++) u[i] = p[i] - u[i] * job->step;
}

// lambStep(same arguments) → the trust ratio. Moments as Adam; u = m̂/(√v̂ + ε) + λ·p;
// p' = p − lr·(‖p‖/‖u‖)·u, the ratio 1 where either norm is 0 (or NaN, as the composition's `> 0`).
// Two passes: the first writes m', v' and u (into pOut) and sums both squared norms block by block
// while the block is in cache; the second, once the ratio is known, turns u into p' in place.
napi_value lamb_step(napi_env env, napi_callback_info info) {
  Args a;
  Step s;
  if (!step_read(env, info, "lambStep", &a, &s)) return NULL;
  size_t blocks = (s.n + LAMB_BLOCK - 1) / LAMB_BLOCK;
  double *sums = malloc((blocks > 0 ? blocks : 1) * 2 * sizeof(double));
  if (!require_that(&a, sums != NULL, "out of memory for the norms")) return NULL;
  Lamb job = {&s, sums, 0};
  parallel_for((int64_t)blocks, 8, lamb_blocks, &job);
  // Block sums added in block order: the same bits whatever the thread count.
  double p_sq = 0, u_sq = 0;
  for (size_t b = 0; b < blocks; b++) p_sq += sums[2 * b], u_sq += sums[2 * b + 1];
  free(sums);
  const float p_norm = (float)sqrt(p_sq), u_norm = (float)sqrt(u_sq);
  const float trust = p_norm > 0 && u_norm > 0 ? p_norm / u_norm : 1.0f;
  job.step = trust * (float)s.lr;
  parallel_for((int64_t)s.n, 32768, lamb_apply, &job);
  return make_number(env, trust);
}
