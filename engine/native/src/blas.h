// The BLAS product for other kernels (after blasLoad has bound one): one row-major sgemm on the
// calling thread. Kernels that split work over the pool call it from each part.
#ifndef MENGZI_BLAS_H
#define MENGZI_BLAS_H

#include <stdbool.h>
#include <stdint.h>

bool blas_loaded(void);
void sgemm_row_major(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                     int ldb, float beta, float *c, int ldc);

// One product split over the thread pool (rows or columns, whichever is longer), one BLAS call per part.
void sgemm_pool(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

#endif
