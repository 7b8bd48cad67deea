// Softmax cross-entropy over rows of logits [N, C] (the MLM head: C = 21128), one row at a time while
// it sits in cache: max, exp once (stored), sum, scale. Forward keeps the probabilities for backward:
// d loss_i / d z_i = (softmax(z_i) − onehot(y_i)) · rowScale_i. Target −1 marks a row to ignore.
#include <math.h>
#include <stdio.h>
#include "common.h"
#include "parallel.h"
#include "exp_approx.h"

// Reductions keep LANES partial results, updated element-wise one block at a time: a loop gcc
// vectorises without -ffast-math (a plain running max or sum is a chain it must keep in order). 64, not
// 16: a 16-long inner loop is unrolled away before the vectoriser sees it.
#define LANES 64

static float row_max(const float *z, size_t C) {
  float lane[LANES];
  for (size_t k = 0; k < LANES; k++) lane[k] = -INFINITY;
  size_t j = 0;
  for (; j + LANES <= C; j += LANES) {
    const float *block = z + j;
    for (size_t k = 0; k < LANES; k++) lane[k] = block[k] > lane[k] ? block[k] : lane[k];
  }
  float m = -INFINITY;
  for (; j < C; j++) m = z[j] > m ? z[j] : m;
  for (size_t k = 0; k < LANES; k++) m = lane[k] > m ? lane[k] : m;
  return m;  // NaNs are skipped here; exp(NaN − m) makes the row NaN afterwards
}

// In double: 21128 terms summed in float lose digits the loss and its gradient would show.
static double row_sum(const float *p, size_t C) {
  double lane[LANES] = {0};
  size_t j = 0;
  for (; j + LANES <= C; j += LANES) {
    const float *block = p + j;
    for (size_t k = 0; k < LANES; k++) lane[k] += block[k];
  }
  double s = 0;
  for (; j < C; j++) s += p[j];
  for (size_t k = 0; k < LANES; k++) s += lane[k];
  return s;
}

typedef struct {
  const float *in;  // logits (forward) or probs (backward)
  const int32_t *targets;
  size_t C;
  float *probs, *loss;  // forward outputs
  const float *scale;   // backward input
  float *d;             // backward output
} Xent;

HOT_RANGE(forward_rows) {
  Xent *job = ctx;
  size_t C = job->C;
  for (size_t i = (size_t)begin; i < (size_t)end; i++) {
    const float *zi = job->in + i * C;
    float *pi = job->probs + i * C;
    int32_t t = job->targets[i];
    float picked = t >= 0 ? zi[t] : 0;  // read before pi is written, in case a caller shares buffers
    float m = row_max(zi, C);
    for (size_t j = 0; j < C; j++) pi[j] = exp_approx(zi[j] - m);
    double s = row_sum(pi, C);
    float inv = (float)(1.0 / s);
    for (size_t j = 0; j < C; j++) pi[j] *= inv;
    job->loss[i] = t >= 0 ? (float)(log(s) + (double)m - (double)picked) : 0.0f;
  }
}

HOT_RANGE(backward_rows) {
  Xent *job = ctx;
  size_t C = job->C;
  for (size_t i = (size_t)begin; i < (size_t)end; i++) {
    const float *pi = job->in + i * C;
    float *di = job->d + i * C;
    float s = job->scale[i];
    int32_t t = job->targets[i];
    float pt = t >= 0 ? pi[t] : 0;  // read before di is written, in case a caller shares buffers
    for (size_t j = 0; j < C; j++) di[j] = pi[j] * s;
    if (t >= 0) di[t] = (pt - 1.0f) * s;
  }
}

// Throws (one line, quoting the value) unless every target is −1 or in [0, C).
static bool targets_valid(Args *a, const int32_t *targets, size_t N, int64_t C) {
  for (size_t i = 0; i < N; i++) {
    if (targets[i] < -1 || targets[i] >= C) {
      char what[128];
      snprintf(what, sizeof what, "target %d at row %zu is outside [-1, %lld)", targets[i], i, (long long)C);
      return require_that(a, false, what);
    }
  }
  return true;
}

// softmaxXentForward(logits, targets, N, C, probs, rowLoss): probs = softmax(logits) row by row;
// rowLoss = log Σ exp(z) − z[target], 0 for ignored rows.
napi_value softmax_xent_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "softmaxXentForward", 6, &a)) return NULL;
  size_t nz = 0, nt = 0, np = 0, nl = 0;
  const float *z = arg_f32(&a, 0, &nz);
  const int32_t *targets = arg_i32(&a, 1, &nt);
  int64_t N = arg_int(&a, 2, 0), C = arg_int(&a, 3, 1);
  float *probs = arg_f32(&a, 4, &np), *loss = arg_f32(&a, 5, &nl);
  if (a.failed) return NULL;
  char what[160];
  size_t size = (size_t)N * (size_t)C;
  snprintf(what, sizeof what, "logits (%zu) and probs (%zu) must hold N·C = %zu elements", nz, np, size);
  if (!require_that(&a, nz == size && np == size, what)) return NULL;
  snprintf(what, sizeof what, "targets (%zu) and rowLoss (%zu) must hold N = %lld elements", nt, nl, (long long)N);
  if (!require_that(&a, nt == (size_t)N && nl == (size_t)N, what)) return NULL;
  if (!targets_valid(&a, targets, (size_t)N, C)) return NULL;

  Xent job = {z, targets, (size_t)C, probs, loss, NULL, NULL};
  parallel_for(N, 8, forward_rows, &job);
  return NULL;
}

// softmaxXentBackward(probs, targets, rowScale, dlogits): dlogits = (probs − onehot(target))·rowScale,
// row by row; N = targets.length, C = probs.length / N.
napi_value softmax_xent_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "softmaxXentBackward", 4, &a)) return NULL;
  size_t np = 0, N = 0, ns = 0, nd = 0;
  const float *probs = arg_f32(&a, 0, &np);
  const int32_t *targets = arg_i32(&a, 1, &N);
  const float *scale = arg_f32(&a, 2, &ns);
  float *d = arg_f32(&a, 3, &nd);
  if (a.failed) return NULL;
  char what[160];
  snprintf(what, sizeof what, "probs (%zu) and dlogits (%zu) must hold N·C elements for N = %zu targets", np, nd, N);
  if (!require_that(&a, nd == np && (N == 0 ? np == 0 : np % N == 0 && np > 0), what)) return NULL;
  snprintf(what, sizeof what, "rowScale (%zu) must hold N = %zu elements", ns, N);
  if (!require_that(&a, ns == N, what)) return NULL;
  size_t C = N == 0 ? 0 : np / N;
  if (!targets_valid(&a, targets, N, (int64_t)C)) return NULL;

  Xent job = {probs, targets, C, NULL, NULL, scale, d};
  parallel_for((int64_t)N, 8, backward_rows, &job);
  return NULL;
}
