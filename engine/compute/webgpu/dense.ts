// MengziDense / MengziDenseGrad on webgpu: y = x·wᵀ + b with the bias in the product's epilogue;
// backward dx = dy·w, dw = dyᵀ·x (both the tiled product, transposes read in place) and db = Σ rows of dy.
// MengziDenseGelu / MengziDenseGeluGrad (webgpu only): GELU in the same epilogue, y = gelu(x·wᵀ + b),
// keeping the pre-activation z; backward first dz = dy·(Φ(z) + z·φ(z)), then as MengziDenseGrad.
// fp16 storage (flags.halfStorageOn): every product reads w's f16 copy (half-weights.ts), and the
// backward's x may come packed (int32, from MengziPackHalf: what ops/dense.ts saves in fp16 training).
// MengziPackHalf: x (float32, any shape) → its packed f16 copy, int32 [⌈n / 2⌉].
import type { TensorInfo } from '@tensorflow/tfjs'
import { halfStorageOn } from './flags'
import { packHalf } from './half'
import { halfWeight } from './half-weights'
import { matmul, matmulOutputs, type Operand } from './matmul'
import { columnSum } from './reduce'
import { bindings, dispatch, grid, output, u32, webgpuKernel, type WebgpuBackendInternals } from './runner'
import { sizeFromShape } from './shape'
import { ENTRY_ARGS, ERF_WGSL, FLAT_INDEX_WGSL } from './wgsl'

/** The weight as the products read it: its f16 copy under fp16 storage. */
const weightOperand = (backend: WebgpuBackendInternals, w: TensorInfo): Operand => (halfStorageOn() ? halfWeight(backend, w) : w)

/** A saved input as the products read it: packed when it is int32 (MengziPackHalf's output). */
const savedOperand = (x: TensorInfo): Operand => (x.dtype === 'int32' ? { data: x, offset: 0 } : x)

/** x (float32) → packed f16, int32 [⌈n / 2⌉] */
export const packHalfWebgpuConfig = webgpuKernel('MengziPackHalf', (backend, { x }) => [packHalf(backend, x)])

/** (x [N, in], w [out, in], b [out]) → y [N, out] */
export const denseWebgpuConfig = webgpuKernel('MengziDense', (backend, { x, w, b }) => {
  const [N, K] = x.shape
  const out = w.shape[0]
  return [matmul(backend, { a: x, b: weightOperand(backend, w), M: N, N: out, K, transB: true, bias: b })]
})

/** (dy [N, out], x [N, in] (or packed), w [out, in]) → [dx, dw, db] */
export const denseGradWebgpuConfig = webgpuKernel('MengziDenseGrad', (backend, { dy, x, w }) => {
  const [N, out] = dy.shape
  const K = w.shape[1]
  const dx = matmul(backend, { a: dy, b: weightOperand(backend, w), M: N, N: K, K: out })
  const dw = matmul(backend, { a: dy, b: savedOperand(x), M: out, N: K, K: N, transA: true })
  return [dx, dw, columnSum(backend, dy, N, out)]
})

/** (x [N, in], w [out, in], b [out]) → [y = gelu(z), z = x·wᵀ + b] */
export const denseGeluWebgpuConfig = webgpuKernel('MengziDenseGelu', (backend, { x, w, b }) => {
  const [N, K] = x.shape
  return matmulOutputs(backend, { a: x, b: weightOperand(backend, w), M: N, N: w.shape[0], K, transB: true, bias: b, gelu: true })
})

/** (dy [N, out], x [N, in] (or packed), w [out, in], z [N, out]) → [dx, dw, db] */
export const denseGeluGradWebgpuConfig = webgpuKernel('MengziDenseGeluGrad', (backend, { dy, x, w, z }) => {
  const [N, out] = z.shape
  const K = w.shape[1]
  const n = sizeFromShape(z.shape)
  const dz = output(backend, z.shape)
  dispatch(backend, {
    key: 'gelu-grad-from-z',
    code: () => /* wgsl */ `
${bindings(['dz'], [['dy', 'f32'], ['z', 'f32']], 'n: u32,')}
${ERF_WGSL}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let v = z[i];
  let cdf = erf(v * 0.70710678118654752) * 0.5 + 0.5;
  dz[i] = dy[i] * (cdf + v * exp(v * v * -0.5) * 0.3989422804014327);
}`,
    outputs: [dz],
    inputs: [dy, z],
    uniforms: u32(n),
    workgroups: grid(n, 256),
  })
  const grads = [
    matmul(backend, { a: dz, b: weightOperand(backend, w), M: N, N: K, K: out }),
    matmul(backend, { a: dz, b: savedOperand(x), M: out, N: K, K: N, transA: true }),
    columnSum(backend, dz, N, out),
  ]
  backend.disposeData(dz.dataId)
  return grads
})
