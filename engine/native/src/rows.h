// Row reductions for other kernels (rows.c).
#ifndef MENGZI_ROWS_H
#define MENGZI_ROWS_H

#include <stdint.h>

// out[j] = Σ_i x[i·inner + j], in double, on the pool; the same bits for any thread count.
void column_sums(const float *x, int64_t rows, int64_t inner, float *out);

#endif
