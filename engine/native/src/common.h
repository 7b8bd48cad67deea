// Shared N-API helpers: argument reading with one-line errors. Every kernel checks that the extents it
// touches lie inside the typed arrays it was given, so a wrong call throws instead of writing past them.
#ifndef MENGZI_COMMON_H
#define MENGZI_COMMON_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_ARGS 24

// HOT_RANGE(name) { body } defines `static void name(void *ctx, int64_t begin, int64_t end)`, the shape
// parallel_for calls, compiled twice on x86-64 Linux/macOS: for AVX2 and for the baseline, picked per
// call by what the CPU has. The binary runs on any x86-64 and uses 8-wide vectors where it can. No
// fused multiply-adds (binding.gyp sets -ffp-contract=off), so both copies give the same bits.
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
static inline bool cpu_has_avx2(void) {
  static int known = -1;
  // MENGZI_NATIVE_BASELINE=1 forces the baseline copies (tests compare the two).
  if (known < 0) known = __builtin_cpu_supports("avx2") && !getenv("MENGZI_NATIVE_BASELINE") ? 1 : 0;
  return known == 1;
}
#define HOT_RANGE(name)                                                                                         \
  static inline __attribute__((always_inline)) void name##_body(void *ctx, int64_t begin, int64_t end);          \
  __attribute__((target("avx2"))) static void name##_avx2(void *ctx, int64_t begin, int64_t end) {              \
    name##_body(ctx, begin, end);                                                                              \
  }                                                                                                            \
  static void name##_baseline(void *ctx, int64_t begin, int64_t end) { name##_body(ctx, begin, end); }          \
  static void name(void *ctx, int64_t begin, int64_t end) {                                                    \
    (cpu_has_avx2() ? name##_avx2 : name##_baseline)(ctx, begin, end);                                         \
  }                                                                                                            \
  static inline __attribute__((always_inline)) void name##_body(void *ctx, int64_t begin, int64_t end)
#else
#define HOT_RANGE(name) static void name(void *ctx, int64_t begin, int64_t end)
#endif

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
uint8_t *arg_u8(Args *a, size_t i, size_t *length);
// True when argument i is null or undefined (an optional typed array left out).
bool arg_is_null(Args *a, size_t i);
double arg_num(Args *a, size_t i);
int64_t arg_int(Args *a, size_t i, int64_t min);
bool arg_bool(Args *a, size_t i);
// Throws "fn: what" unless ok; returns ok so callers can `if (!require(...)) return NULL;`.
bool require_that(Args *a, bool ok, const char *what);

napi_value make_number(napi_env env, double v);
napi_value make_string(napi_env env, const char *s);
void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

#endif
