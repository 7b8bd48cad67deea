// The BLAS product for other kernels (after blasLoad has bound one): one row-major sgemm on the
// calling thread. Kernels that split work over the pool call it from each part.
#ifndef MENGZI_BLAS_H
#define MENGZI_BLAS_H

#include <stdbool.h>

bool blas_loaded(void);
void sgemm_row_major(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                     int ldb, float beta, float *c, int ldc);

#endif
