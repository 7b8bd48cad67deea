// LayerNorm over rows of H (HF / torch.nn.LayerNorm: biased variance, eps inside the root). Forward keeps
// x̂ and 1/σ for backward: dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) / σ with dx̂ = dy·γ.
// Row sums run in LANES independent double accumulators: the compiler vectorises the lanes (it may not
// reorder one float sum), and double keeps sums of large offsets (1000 + noise) exact enough that the
// mean, rounded to float as the tfjs composition rounds it, matches the composition's.
#include <math.h>
#include "common.h"
#include "parallel.h"

#define LANES 8
#ifdef _MSC_VER
#define NOINLINE __declspec(noinline)
#else
#define NOINLINE __attribute__((noinline))
#endif

static double row_sum(const float *v, size_t n) {
  double acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (size_t j = 0; j < LANES; j++) acc[j] += v[i + j];
  double s = 0;
  for (; i < n; i++) s += v[i];
  for (size_t j = 0; j < LANES; j++) s += acc[j];
  return s;
}

static double row_sum_sq_centered(const float *v, float mean, size_t n) {
  double acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (size_t j = 0; j < LANES; j++) {
      float d = v[i + j] - mean;
      acc[j] += d * d;
    }
  double s = 0;
  for (; i < n; i++) {
    float d = v[i] - mean;
    s += d * d;
  }
  for (size_t j = 0; j < LANES; j++) s += acc[j];
  return s;
}

// Σ dy·γ and Σ dy·γ·x̂ over one row. Out of line: inlined into the row loop, gcc 12 leaves it scalar.
NOINLINE static void row_grad_sums(const float *dy, const float *gamma, const float *xhat, size_t n, double *sum_dxhat, double *sum_dxhat_xhat) {
  double a[LANES] = {0}, b[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES) {
    float g[LANES];
    for (size_t j = 0; j < LANES; j++) g[j] = dy[i + j] * gamma[i + j];
    for (size_t j = 0; j < LANES; j++) a[j] += g[j];
    for (size_t j = 0; j < LANES; j++) b[j] += g[j] * xhat[i + j];
  }
  double sa = 0, sb = 0;
  for (; i < n; i++) {
    float g = dy[i] * gamma[i];
    sa += g;
    sb += g * xhat[i];
  }
  for (size_t j = 0; j < LANES; j++) sa += a[j], sb += b[j];
  *sum_dxhat = sa;
  *sum_dxhat_xhat = sb;
}

typedef struct {
  const float *x, *gamma, *beta;
  const float *residual;  // added to x first when not NULL (LayerNorm(x + residual), BERT's sublayer output)
  size_t H;
  double eps;
  float *y, *xhat, *rstd;
} Forward;

HOT_RANGE(forward_rows) {
  Forward *job = ctx;
  size_t H = job->H;
  for (size_t r = (size_t)begin; r < (size_t)end; r++) {
    const float *xr = job->x + r * H;
    float *yr = job->y + r * H, *xhr = job->xhat + r * H;
    if (job->residual) {  // the sum goes where x̂ will be, and the row is normalised from there
      const float *rr = job->residual + r * H;
      for (size_t i = 0; i < H; i++) xhr[i] = xr[i] + rr[i];
      xr = xhr;
    }
    float mean = (float)(row_sum(xr, H) / (double)H);
    float rs = (float)(1.0 / sqrt(row_sum_sq_centered(xr, mean, H) / (double)H + job->eps));
    job->rstd[r] = rs;
    for (size_t i = 0; i < H; i++) {
      float xh = (xr[i] - mean) * rs;
      xhr[i] = xh;
      yr[i] = xh * job->gamma[i] + job->beta[i];
    }
  }
}

typedef struct {
  const float *dy, *xhat, *rstd, *gamma;
  size_t rows, H;
  float *dx, *dgamma, *dbeta;
} Backward;

HOT_RANGE(backward_rows) {
  Backward *job = ctx;
  size_t H = job->H;
  for (size_t r = (size_t)begin; r < (size_t)end; r++) {
    const float *dyr = job->dy + r * H, *xhr = job->xhat + r * H;
    float *dxr = job->dx + r * H;
    double sa, sb;
    row_grad_sums(dyr, job->gamma, xhr, H, &sa, &sb);
    float mean_dxhat = (float)(sa / (double)H), mean_dxhat_xhat = (float)(sb / (double)H), rs = job->rstd[r];
    for (size_t i = 0; i < H; i++) dxr[i] = rs * (dyr[i] * job->gamma[i] - mean_dxhat - xhr[i] * mean_dxhat_xhat);
  }
}

// Column sums over many rows in double, so that long batches do not lose the small terms.
HOT_RANGE(backward_columns) {
  Backward *job = ctx;
  size_t H = job->H;
  double sum_dgamma[64], sum_dbeta[64];
  for (size_t c0 = (size_t)begin; c0 < (size_t)end; c0 += 64) {
    size_t width = (size_t)end - c0 < 64 ? (size_t)end - c0 : 64;
    for (size_t i = 0; i < width; i++) sum_dgamma[i] = sum_dbeta[i] = 0;
    for (size_t r = 0; r < job->rows; r++) {
      const float *dyr = job->dy + r * H + c0, *xhr = job->xhat + r * H + c0;
      for (size_t i = 0; i < width; i++) {
        sum_dgamma[i] += dyr[i] * xhr[i];
        sum_dbeta[i] += dyr[i];
      }
    }
    for (size_t i = 0; i < width; i++) {
      job->dgamma[c0 + i] = (float)sum_dgamma[i];
      job->dbeta[c0 + i] = (float)sum_dbeta[i];
    }
  }
}

// layerNormForward(x, gamma, beta, rows, H, eps, y, xhat, rstd[, residual]): x, y, xhat [rows·H];
// gamma, beta [H]; rstd [rows]; with residual [rows·H], normalises x + residual.
napi_value layer_norm_forward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "layerNormForward", 9, &a)) return NULL;
  size_t n = 0, ng = 0, nb = 0, ny = 0, nxh = 0, nr = 0;
  const float *x = arg_f32(&a, 0, &n), *gamma = arg_f32(&a, 1, &ng), *beta = arg_f32(&a, 2, &nb);
  size_t rows = (size_t)arg_int(&a, 3, 0), H = (size_t)arg_int(&a, 4, 1);
  double eps = arg_num(&a, 5);
  float *y = arg_f32(&a, 6, &ny), *xhat = arg_f32(&a, 7, &nxh), *rstd = arg_f32(&a, 8, &nr);
  if (a.failed || !require_that(&a, eps >= 0 && isfinite(eps), "eps must be a finite number >= 0") ||
      !require_that(&a, n == rows * H && ny == n && nxh == n, "x, y and xhat must have rows·H elements") ||
      !require_that(&a, ng == H && nb == H, "gamma and beta must have H elements") ||
      !require_that(&a, nr == rows, "rstd must have rows elements"))
    return NULL;
  const float *residual = NULL;
  if (a.argc > 9) {
    napi_valuetype type;
    napi_typeof(env, a.argv[9], &type);
    size_t nres = 0;
    if (type != napi_null && type != napi_undefined) residual = arg_f32(&a, 9, &nres);
    if (a.failed || !require_that(&a, !residual || nres == n, "residual must have rows·H elements")) return NULL;
  }
  Forward job = {x, gamma, beta, residual, H, eps, y, xhat, rstd};
  parallel_for((int64_t)rows, 16, forward_rows, &job);
  return NULL;
}

// layerNormBackward(dy, xhat, rstd, gamma, rows, H, dx, dgamma, dbeta): dy, xhat, dx [rows·H]; rstd
// [rows]; gamma, dgamma, dbeta [H]. dgamma and dbeta are overwritten, not added to.
napi_value layer_norm_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "layerNormBackward", 9, &a)) return NULL;
  size_t n = 0, nxh = 0, nr = 0, ng = 0, ndx = 0, ndg = 0, ndb = 0;
  const float *dy = arg_f32(&a, 0, &n), *xhat = arg_f32(&a, 1, &nxh), *rstd = arg_f32(&a, 2, &nr), *gamma = arg_f32(&a, 3, &ng);
  size_t rows = (size_t)arg_int(&a, 4, 0), H = (size_t)arg_int(&a, 5, 1);
  float *dx = arg_f32(&a, 6, &ndx), *dgamma = arg_f32(&a, 7, &ndg), *dbeta = arg_f32(&a, 8, &ndb);
  if (a.failed || !require_that(&a, n == rows * H && nxh == n && ndx == n, "dy, xhat and dx must have rows·H elements") ||
      !require_that(&a, nr == rows, "rstd must have rows elements") ||
      !require_that(&a, ng == H && ndg == H && ndb == H, "gamma, dgamma and dbeta must have H elements"))
    return NULL;
  Backward job = {dy, xhat, rstd, gamma, rows, H, dx, dgamma, dbeta};
  parallel_for((int64_t)rows, 16, backward_rows, &job);
  // γ and β gradients by column ranges over every row: the same sums whatever the thread count.
  parallel_for((int64_t)H, 64, backward_columns, &job);
  return NULL;
}
