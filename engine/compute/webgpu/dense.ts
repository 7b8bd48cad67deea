// MengziDense / MengziDenseGrad on webgpu: y = x·wᵀ + b with the bias in the product's epilogue;
// backward dx = dy·w, dw = dyᵀ·x (both the tiled product, transposes read in place) and db = Σ rows of dy,
// summed by the dw product from the dy values it loads (matmul.ts rowSums: one dispatch, one read of dy;
// in fp16 from f16(dy), as an autocast linear's bias gradient).
// MengziDenseGelu / MengziDenseGeluGrad (webgpu only): GELU in the same epilogue, y = gelu(x·wᵀ + b),
// keeping the pre-activation z; backward first dz = dy·(Φ(z) + z·φ(z)), then as MengziDenseGrad.
// fp16 storage (flags.halfStorageOn): every product reads w's f16 copy (half-weights.ts), and the
// backward's x may come packed (int32, from MengziPackHalf: what ops/dense.ts saves in fp16 training).
// In fp16 (f16 product inputs) z is an f16 activation: MengziDenseGelu writes it packed under f16
// storage (half the bytes kept for backward), and MengziDenseGeluGrad computes dz in f32 from f16(z):
// unpacked, or rounded as it loads when z comes as f32 (storage off), so that storing changes memory,
// not numbers. z from 65520 on is ±Infinity there, as in an f16 activation, and its dz NaN (an overflow).
// MengziPackHalf: x (float32, any shape) → its packed f16 copy, int32 [⌈n / 2⌉].
import type { TensorInfo } from '@tensorflow/tfjs'
import { halfStorageOn } from './flags'
import { HALF_BITS_WGSL, halfLoad, halfRead, packHalf } from './half'
import { halfWeight } from './half-weights'
import { matmul, matmulOutputs, type Operand } from './matmul'
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
  return [dx, ...matmulOutputs(backend, { a: dy, b: savedOperand(x), M: out, N: K, K: N, transA: true, rowSums: true })] // dw, db
})

/** (x [N, in], w [out, in], b [out]) → [y = gelu(z), z = x·wᵀ + b] (z packed under fp16 storage: int32 [⌈N·out / 2⌉]) */
export const denseGeluWebgpuConfig = webgpuKernel('MengziDenseGelu', (backend, { x, w, b }) => {
  const [N, K] = x.shape
  const out = w.shape[0]
  const half = halfStorageOn()
  // the product packs z in its epilogue where rows end on whole words (out even: every model's case)
  const [y, z] = matmulOutputs(backend, { a: x, b: weightOperand(backend, w), M: N, N: out, K, transB: true, bias: b, gelu: true, packZ: half && out % 2 === 0 })
  if (!half || z.dtype === 'int32') return [y, z]
  const packed = packHalf(backend, z)
  backend.disposeData(z.dataId)
  return [y, packed]
})

/** (dy [N, out], x [N, in] (or packed), w [out, in], z [N, out] (or packed)) → [dx, dw, db] */
export const denseGeluGradWebgpuConfig = webgpuKernel('MengziDenseGeluGrad', (backend, { dy, x, w, z }) => {
  const [N, out] = dy.shape
  const K = w.shape[1]
  const n = sizeFromShape(dy.shape)
  const dz = output(backend, dy.shape)
  const read = halfRead(z) // as it is (fp32), f32 rounded to f16 as it loads, or packed f16
  dispatch(backend, {
    key: `gelu-grad-from-z-${read}`,
    code: () => /* wgsl */ `
${bindings(['dz'], [['dy', 'f32'], ['z', read === 'packed' ? 'u32' : 'f32']], 'n: u32,')}
${ERF_WGSL}
${read === 'f32' ? '' : HALF_BITS_WGSL}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let v = ${halfLoad(read, 'z', 'i')};
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
    ...matmulOutputs(backend, { a: dz, b: savedOperand(x), M: out, N: K, K: N, transA: true, rowSums: true }), // dw, db
  ]
  backend.disposeData(dz.dataId)
  return grads
})
