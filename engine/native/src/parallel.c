// The pool behind parallel_for (parallel.h). Wake-ups through a condition variable cost ~50–100 µs on
// small VMs, more than many kernels take, so workers spin briefly on an atomic generation counter
// before sleeping, and the caller spins until the parts are done. One job at a time: a second thread
// calling while the pool is busy (another worker_thread using the addon) runs its work on itself.
#define _GNU_SOURCE  // dladdr (before any system header)
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
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_THREADS 64
// About 0.1 ms of pause instructions before a waiting worker goes to sleep.
#define SPIN_LIMIT 4000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static atomic_flag busy = ATOMIC_FLAG_INIT;
static int wanted = 1;   // threads parallel_for uses, caller included
static int started = 0;  // worker threads running (they are never stopped)
// Job sequence number << 8 | the job's part count: a worker reads both in one load, so a worker that
// was not needed for one job cannot mistake the next job's part count for its own.
static _Atomic uint64_t generation = 0;
static _Atomic int sleepers = 0;
static _Atomic int pending = 0;  // worker parts not finished yet
static uint64_t born_at[MAX_THREADS];  // the generation each worker starts after (set under the lock)
// Written by the caller before it publishes a generation; read only by the workers that job needs,
// and the caller waits for those before it writes again.
static struct {
  range_fn fn;
  void *ctx;
  int64_t n;
} job;

static void run_part(int part, int parts) {
  int64_t begin = job.n * part / parts, end = job.n * (part + 1) / parts;
  if (begin < end) job.fn(job.ctx, begin, end);
}

// Waits for a generation other than `seen`: spinning first, then on the condition variable. The
// sleeper count and the generation are sequentially consistent, so the caller either sees this worker
// counted as asleep (and wakes it) or the worker sees the new generation before it waits.
static uint64_t await_job(uint64_t seen) {
  uint64_t now;
  for (int spins = 0; spins < SPIN_LIMIT; spins++) {
    if ((now = atomic_load(&generation)) != seen) return now;
    CPU_RELAX();
  }
  pthread_mutex_lock(&lock);
  atomic_fetch_add(&sleepers, 1);
  while ((now = atomic_load(&generation)) == seen) pthread_cond_wait(&work_ready, &lock);
  atomic_fetch_sub(&sleepers, 1);
  pthread_mutex_unlock(&lock);
  return now;
}

static void *worker(void *arg) {
  int index = (int)(intptr_t)arg;  // 1-based: part 0 is the caller's
  pthread_mutex_lock(&lock);
  uint64_t seen = born_at[index];  // jobs posted before this worker existed are not its own
  pthread_mutex_unlock(&lock);
  for (;;) {
    seen = await_job(seen);
    int parts = (int)(seen & 0xff);
    if (index >= parts) continue;
    run_part(index, parts);
    atomic_fetch_sub_explicit(&pending, 1, memory_order_release);
  }
  return NULL;
}

void parallel_for(int64_t n, int64_t grain, range_fn fn, void *ctx) {
  if (n <= 0) return;
  int64_t by_grain = grain > 0 ? (n + grain - 1) / grain : n;
  int parts = wanted < by_grain ? wanted : (int)by_grain;
  if (parts > started + 1) parts = started + 1;
  if (parts <= 1 || atomic_flag_test_and_set(&busy)) {
    fn(ctx, 0, n);
    return;
  }
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  atomic_store(&pending, parts - 1);
  // Publishes the job (sequentially consistent, see await_job). Only the caller holding `busy` writes.
  atomic_store(&generation, (((atomic_load(&generation) >> 8) + 1) << 8) | (uint64_t)parts);
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&lock);
    pthread_cond_broadcast(&work_ready);
    pthread_mutex_unlock(&lock);
  }
  run_part(0, parts);
  while (atomic_load_explicit(&pending, memory_order_acquire) > 0) CPU_RELAX();
  atomic_flag_clear(&busy);
}

int parallel_threads(void) { return wanted; }

// Node unloads an addon when the last worker_thread that loaded it exits, but the pool's threads run
// on: the next worker to load the addon would find them executing unmapped code (a hang or a crash,
// e.g. a training run after a cancelled one). The first pool thread pins the library for the process.
static void pin_library(void) {
  Dl_info self;
  if (dladdr((void *)pin_library, &self) && self.dli_fname) dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE);
}

void parallel_set_threads(int threads) {
  if (threads < 1) threads = 1;
  if (started == 0 && threads > 1) pin_library();
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  pthread_mutex_lock(&lock);
  while (started < threads - 1) {
    pthread_t thread;
    born_at[started + 1] = atomic_load(&generation);
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
