// MengziDense / MengziDenseGrad on webgpu: y = x·wᵀ + b with the bias in the product's epilogue;
// backward dx = dy·w, dw = dyᵀ·x (both the tiled product, transposes read in place) and db = Σ rows of dy.
import { matmul } from './matmul'
import { columnSum } from './reduce'
import { webgpuKernel } from './runner'

/** (x [N, in], w [out, in], b [out]) → y [N, out] */
export const denseWebgpuConfig = webgpuKernel('MengziDense', (backend, { x, w, b }) => {
  const [N, K] = x.shape
  const out = w.shape[0]
  return [matmul(backend, { a: x, b: w, M: N, N: out, K, transB: true, bias: b })]
})

/** (dy [N, out], x [N, in], w [out, in]) → [dx, dw, db] */
export const denseGradWebgpuConfig = webgpuKernel('MengziDenseGrad', (backend, { dy, x, w }) => {
  const [N, K] = x.shape
  const out = w.shape[0]
  const dx = matmul(backend, { a: dy, b: w, M: N, N: K, K: out })
  const dw = matmul(backend, { a: dy, b: x, M: out, N: K, K: N, transA: true })
  return [dx, dw, columnSum(backend, dy, N, out)]
})
