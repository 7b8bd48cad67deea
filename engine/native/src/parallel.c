// The pool behind parallel_for (parallel.h). One call at a time: the kernels run on the JavaScript
// thread that owns tfjs, so calls never overlap.
#include "parallel.h"

#include <node_api.h>
#include "common.h"

#ifdef _WIN32
// No pool on Windows yet: everything runs on the calling thread.
void parallel_for(int64_t n, int64_t grain, range_fn fn, void *ctx) {
  (void)grain;
  if (n > 0) fn(ctx, 0, n);
}
int parallel_threads(void) { return 1; }
void parallel_set_threads(int threads) { (void)threads; }
#else
#include <pthread.h>

#define MAX_THREADS 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t work_done = PTHREAD_COND_INITIALIZER;
static int wanted = 1;     // threads parallel_for uses, caller included
static int started = 0;    // worker threads running (they are never stopped)
static uint64_t generation = 0;
static uint64_t born_at[MAX_THREADS];  // the generation each worker starts after (set under the lock)
static struct {
  range_fn fn;
  void *ctx;
  int64_t n;
  int parts;
  int pending;  // worker parts not finished yet
} job;

static void run_part(int part) {
  int64_t begin = job.n * part / job.parts, end = job.n * (part + 1) / job.parts;
  if (begin < end) job.fn(job.ctx, begin, end);
}

static void *worker(void *arg) {
  int index = (int)(intptr_t)arg;  // 1-based: part 0 is the caller's
  pthread_mutex_lock(&lock);
  uint64_t seen = born_at[index];  // jobs posted before this worker existed are not its own
  for (;;) {
    while (generation == seen) pthread_cond_wait(&work_ready, &lock);
    seen = generation;
    if (index >= job.parts) continue;
    pthread_mutex_unlock(&lock);
    run_part(index);
    pthread_mutex_lock(&lock);
    if (--job.pending == 0) pthread_cond_signal(&work_done);
  }
  return NULL;
}

void parallel_for(int64_t n, int64_t grain, range_fn fn, void *ctx) {
  if (n <= 0) return;
  int64_t by_grain = grain > 0 ? (n + grain - 1) / grain : n;
  int parts = wanted < by_grain ? wanted : (int)by_grain;
  if (parts > started + 1) parts = started + 1;
  if (parts <= 1) {
    fn(ctx, 0, n);
    return;
  }
  pthread_mutex_lock(&lock);
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  job.parts = parts;
  job.pending = parts - 1;
  generation++;
  pthread_cond_broadcast(&work_ready);
  pthread_mutex_unlock(&lock);
  run_part(0);
  pthread_mutex_lock(&lock);
  while (job.pending > 0) pthread_cond_wait(&work_done, &lock);
  pthread_mutex_unlock(&lock);
}

int parallel_threads(void) { return wanted; }

void parallel_set_threads(int threads) {
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  pthread_mutex_lock(&lock);
  while (started < threads - 1) {
    pthread_t thread;
    born_at[started + 1] = generation;
    if (pthread_create(&thread, NULL, worker, (void *)(intptr_t)(started + 1)) != 0) break;
    pthread_detach(thread);
    started++;
  }
  wanted = threads <= started + 1 ? threads : started + 1;
  pthread_mutex_unlock(&lock);
}
#endif

// kernelThreads([n]): sets the threads the fused kernels use (caller included); returns the count.
napi_value kernel_threads(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_read(env, info, "kernelThreads", 0, &a)) return NULL;
  if (a.argc > 0) {
    int64_t n = arg_int(&a, 0, 1);
    if (a.failed) return NULL;
    parallel_set_threads((int)n);
  }
  return make_number(env, parallel_threads());
}
