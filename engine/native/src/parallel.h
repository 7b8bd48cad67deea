// A small thread pool for the fused kernels: parallel_for splits [0, n) into one contiguous part per
// thread (the calling thread takes the first). Workers sleep on a condition variable between calls, so
// they never compete with BLAS threads for the cores while idle.
#ifndef MENGZI_PARALLEL_H
#define MENGZI_PARALLEL_H

#include <stdint.h>

typedef void (*range_fn)(void *ctx, int64_t begin, int64_t end);

// Runs fn(ctx, begin, end) over parts of [0, n); parts hold at least `grain` items, so small calls stay
// on the calling thread. Parts must not write to the same memory.
void parallel_for(int64_t n, int64_t grain, range_fn fn, void *ctx);

// Threads parallel_for uses, the calling one included (1 = none started).
int parallel_threads(void);
void parallel_set_threads(int threads);

#endif
