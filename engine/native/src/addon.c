// @mengzi/native: the module's entry and its argument helpers. Kernels live in their own files.
#include <stdio.h>
#include <string.h>
#include "common.h"

napi_value blas_load(napi_env env, napi_callback_info info);
napi_value blas_threads(napi_env env, napi_callback_info info);
napi_value blas_sgemm(napi_env env, napi_callback_info info);
napi_value gelu_forward(napi_env env, napi_callback_info info);
napi_value gelu_backward(napi_env env, napi_callback_info info);
napi_value attention_forward(napi_env env, napi_callback_info info);
napi_value attention_backward(napi_env env, napi_callback_info info);
napi_value kernel_threads(napi_env env, napi_callback_info info);
napi_value sum_rows(napi_env env, napi_callback_info info);
napi_value dense_forward(napi_env env, napi_callback_info info);
napi_value dense_backward(napi_env env, napi_callback_info info);
napi_value dropout_apply(napi_env env, napi_callback_info info);
napi_value transpose(napi_env env, napi_callback_info info);
napi_value add_repeat(napi_env env, napi_callback_info info);
napi_value scatter_add_rows(napi_env env, napi_callback_info info);
napi_value layer_norm_forward(napi_env env, napi_callback_info info);
napi_value layer_norm_backward(napi_env env, napi_callback_info info);
napi_value adamw_step(napi_env env, napi_callback_info info);
napi_value lamb_step(napi_env env, napi_callback_info info);
napi_value softmax_xent_forward(napi_env env, napi_callback_info info);
napi_value softmax_xent_backward(napi_env env, napi_callback_info info);
napi_value lac_tag_batch(napi_env env, napi_callback_info info);

static void throw_error(Args *a, const char *what) {
  if (a->failed) return;
  char message[512];
  snprintf(message, sizeof message, "%s: %s", a->fn, what);
  napi_throw_error(a->env, "ERR_MENGZI_NATIVE", message);
  a->failed = true;
}

bool args_read(napi_env env, napi_callback_info info, const char *fn, size_t need, Args *out) {
  out->env = env;
  out->fn = fn;
  out->failed = false;
  out->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &out->argc, out->argv, NULL, NULL) != napi_ok) {
    throw_error(out, "cannot read the arguments");
    return false;
  }
  if (out->argc < need) {
    char what[96];
    snprintf(what, sizeof what, "expects %zu arguments, got %zu", need, out->argc);
    throw_error(out, what);
    return false;
  }
  return true;
}

static void *typed(Args *a, size_t i, napi_typedarray_type want, size_t *length, const char *kind) {
  if (a->failed) return NULL;
  bool is_typed = false;
  napi_is_typedarray(a->env, a->argv[i], &is_typed);
  napi_typedarray_type type;
  void *data = NULL;
  if (!is_typed || napi_get_typedarray_info(a->env, a->argv[i], &type, length, &data, NULL, NULL) != napi_ok || type != want) {
    char what[64];
    snprintf(what, sizeof what, "argument %zu must be a %s", i, kind);
    throw_error(a, what);
    return NULL;
  }
  return data;
}

float *arg_f32(Args *a, size_t i, size_t *length) { return typed(a, i, napi_float32_array, length, "Float32Array"); }
int32_t *arg_i32(Args *a, size_t i, size_t *length) { return typed(a, i, napi_int32_array, length, "Int32Array"); }
uint8_t *arg_u8(Args *a, size_t i, size_t *length) { return typed(a, i, napi_uint8_array, length, "Uint8Array"); }

bool arg_is_null(Args *a, size_t i) {
  napi_valuetype type = napi_undefined;
  if (!a->failed) napi_typeof(a->env, a->argv[i], &type);
  return type == napi_null || type == napi_undefined;
}

double arg_num(Args *a, size_t i) {
  double v = 0;
  if (!a->failed && napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) {
    char what[64];
    snprintf(what, sizeof what, "argument %zu must be a number", i);
    throw_error(a, what);
  }
  return v;
}

int64_t arg_int(Args *a, size_t i, int64_t min) {
  double v = arg_num(a, i);
  if (!a->failed && (v != (double)(int64_t)v || v < (double)min || v > 2147483647.0)) {
    char what[96];
    snprintf(what, sizeof what, "argument %zu must be an integer in [%lld, 2^31), got %g", i, (long long)min, v);
    throw_error(a, what);
  }
  return (int64_t)v;
}

bool arg_bool(Args *a, size_t i) {
  bool v = false;
  if (!a->failed && napi_get_value_bool(a->env, a->argv[i], &v) != napi_ok) {
    char what[64];
    snprintf(what, sizeof what, "argument %zu must be a boolean", i);
    throw_error(a, what);
  }
  return v;
}

bool require_that(Args *a, bool ok, const char *what) {
  if (!ok) throw_error(a, what);
  return ok && !a->failed;
}

napi_value make_number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

napi_value make_string(napi_env env, const char *s) {
  napi_value out;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
  return out;
}

void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_fn(env, exports, "blasLoad", blas_load);
  export_fn(env, exports, "blasThreads", blas_threads);
  export_fn(env, exports, "sgemm", blas_sgemm);
  export_fn(env, exports, "geluForward", gelu_forward);
  export_fn(env, exports, "geluBackward", gelu_backward);
  export_fn(env, exports, "kernelThreads", kernel_threads);
  export_fn(env, exports, "attentionForward", attention_forward);
  export_fn(env, exports, "attentionBackward", attention_backward);
  export_fn(env, exports, "sumRows", sum_rows);
  export_fn(env, exports, "denseForward", dense_forward);
  export_fn(env, exports, "denseBackward", dense_backward);
  export_fn(env, exports, "dropoutApply", dropout_apply);
  export_fn(env, exports, "transpose", transpose);
  export_fn(env, exports, "addRepeat", add_repeat);
  export_fn(env, exports, "scatterAddRows", scatter_add_rows);
  export_fn(env, exports, "layerNormForward", layer_norm_forward);
  export_fn(env, exports, "layerNormBackward", layer_norm_backward);
  export_fn(env, exports, "adamwStep", adamw_step);
  export_fn(env, exports, "lambStep", lamb_step);
  export_fn(env, exports, "softmaxXentForward", softmax_xent_forward);
  export_fn(env, exports, "softmaxXentBackward", softmax_xent_backward);
  export_fn(env, exports, "lacTagBatch", lac_tag_batch);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
