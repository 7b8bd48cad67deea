// Shared N-API helpers: argument reading with one-line errors. Every kernel checks that the extents it
// touches lie inside the typed arrays it was given, so a wrong call throws instead of writing past them.
#ifndef MENGZI_COMMON_H
#define MENGZI_COMMON_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ARGS 24

typedef struct {
  napi_env env;
  const char *fn;
  size_t argc;
  napi_value argv[MAX_ARGS];
  bool failed;
} Args;

// Reads the call's arguments; false (with a pending exception) when fewer than `need` were given.
bool args_read(napi_env env, napi_callback_info info, const char *fn, size_t need, Args *out);
float *arg_f32(Args *a, size_t i, size_t *length);
int32_t *arg_i32(Args *a, size_t i, size_t *length);
double arg_num(Args *a, size_t i);
int64_t arg_int(Args *a, size_t i, int64_t min);
bool arg_bool(Args *a, size_t i);
// Throws "fn: what" unless ok; returns ok so callers can `if (!require(...)) return NULL;`.
bool require_that(Args *a, bool ok, const char *what);

napi_value make_number(napi_env env, double v);
napi_value make_string(napi_env env, const char *s);
void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

#endif
