// The attention softmax as one kernel: probs = softmax(scores·scale + mask) over the last axis, with
// HF's additive padding mask [B, 1, 1, T] broadcast over heads and query rows; backward
// dscores = scale·p·(dp − Σ p·dp). Replaces five tfjs passes forward and four backward.
#include <math.h>
#include "common.h"
#include "parallel.h"
#include "exp_approx.h"

typedef struct {
  const float *x, *mask, *dy, *y;
  float *out;
  int64_t rows_per_batch, cols;  // rows_per_batch = heads × query rows
  float scale;
} Softmax;

HOT_RANGE(softmax_rows) {
  Softmax *job = ctx;
  int64_t cols = job->cols;
  for (int64_t r = begin; r < end; r++) {
    const float *x = job->x + r * cols;
    const float *mask = job->mask ? job->mask + (r / job->rows_per_batch) * cols : NULL;
    float *y = job->out + r * cols;
    float max = -INFINITY;
    for (int64_t j = 0; j < cols; j++) {
      float s = x[j] * job->scale + (mask ? mask[j] : 0.0f);
      y[j] = s;
      max = s > max ? s : max;
    }
    for (int64_t j = 0; j < cols; j++) y[j] = exp_approx(y[j] - max);
    double sum = 0;
    for (int64_t j = 0; j < cols; j++) sum += y[j];
    float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < cols; j++) y[j] *= inv;
  }
}

HOT_RANGE(softmax_grad_rows) {
  Softmax *job = ctx;
  int64_t cols = job->cols;
  for (int64_t r = begin; r < end; r++) {
    const float *dy = job->dy + r * cols, *y = job->y + r * cols;
    float *dx = job->out + r * cols;
    double dot = 0;
    for (int64_t j = 0; j < cols; j++) dot += (double)dy[j] * y[j];
    float d = (float)dot;
    for (int64_t j = 0; j < cols; j++) dx[j] = job->scale * y[j] * (dy[j] - d);
  }
}

// attentionSoftmax(scores, mask | null, batch, rowsPerBatch, cols, scale, probs): scores and probs are
// [batch · rowsPerBatch, cols]; mask, when given, is [batch, cols] and added after scaling.
napi_value attention_softmax(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "attentionSoftmax", 7, &a)) return NULL;
  size_t nx = 0, nm = 0, ny = 0;
  const float *x = arg_f32(&a, 0, &nx);
  napi_valuetype mask_type;
  napi_typeof(env, a.argv[1], &mask_type);
  const float *mask = mask_type == napi_null ? NULL : arg_f32(&a, 1, &nm);
  int64_t batch = arg_int(&a, 2, 0), rows_per_batch = arg_int(&a, 3, 0), cols = arg_int(&a, 4, 0);
  float scale = (float)arg_num(&a, 5);
  float *y = arg_f32(&a, 6, &ny);
  if (a.failed) return NULL;
  size_t size = (size_t)(batch * rows_per_batch * cols);
  if (!require_that(&a, nx == size && ny == size, "scores and probs must hold batch × rowsPerBatch × cols values")) return NULL;
  if (!require_that(&a, !mask || nm == (size_t)(batch * cols), "mask must hold batch × cols values")) return NULL;
  Softmax job = {x, mask, NULL, NULL, y, rows_per_batch, cols, scale};
  parallel_for(batch * rows_per_batch, 64, softmax_rows, &job);
  return NULL;
}

// attentionSoftmaxGrad(dprobs, probs, cols, scale, dscores): all [rows, cols].
napi_value attention_softmax_grad(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "attentionSoftmaxGrad", 5, &a)) return NULL;
  size_t nd = 0, ny = 0, nx = 0;
  const float *dy = arg_f32(&a, 0, &nd), *y = arg_f32(&a, 1, &ny);
  int64_t cols = arg_int(&a, 2, 1);
  float scale = (float)arg_num(&a, 3);
  float *dx = arg_f32(&a, 4, &nx);
  if (a.failed || !require_that(&a, nd == ny && nx == ny && ny % (size_t)cols == 0, "dprobs, probs and dscores must be whole rows of one size")) return NULL;
  Softmax job = {NULL, NULL, dy, y, dx, 1, cols, scale};
  parallel_for((int64_t)(ny / (size_t)cols), 64, softmax_grad_rows, &job);
  return NULL;
}
