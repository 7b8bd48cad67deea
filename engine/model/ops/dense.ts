// nn.Linear on rows, y = x·Wᵀ + b (W stored [out, in] as HF stores it), as one op: the fused native
// kernels where the backend has them (bias and product in one call; dx, dW and db in one call), else
// tfjs's matMul and add.
//
// fp16 storage (webgpu, precision "fp16", flags.halfStorageOn): while the tape records, the input kept
// for dW is an f16 copy of x (int32, packed two per word; MengziPackHalf), half the bytes of x; one copy
// per x however many layers read it (Q, K and V share theirs). `inputKept`: x is kept for backward by
// another op anyway (the attention's context), so an f16 copy would add bytes, not save them.
import * as tf from '@tensorflow/tfjs'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'
import { halfStorageOn } from '../../compute/webgpu/flags'
import { gelu } from './gelu'

export interface LinearOptions {
  /** x is saved for backward by another op: keep it as it is. */
  inputKept?: boolean
}

/** The f16 copies made during this forward, by x's data: Q, K and V save one copy of their shared x. */
const halves = new WeakMap<object, tf.Tensor>()

/** What the backward of a dense layer keeps of x: x itself, or its f16 copy under fp16 storage. */
function savedInput(x: tf.Tensor, options: LinearOptions): tf.Tensor {
  if (options.inputKept || !halfStorageOn() || !tf.engine().isTapeOn() || !hasFusedKernel('MengziPackHalf')) return x
  const held = halves.get(x.dataId)
  if (held && !held.isDisposed) return held
  const half = runFused('MengziPackHalf', { x })[0] // [⌈n / 2⌉] int32
  halves.set(x.dataId, half)
  return half
}

/** The fused op; its backward keeps `kept` for x (an f16 copy), else x itself. */
const fusedLinear = (kept?: tf.Tensor) =>
  tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    save([kept ?? x, w])
    return {
      value: runFused('MengziDense', { x, w, b })[0],
      gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => runFused('MengziDenseGrad', { dy, x: xs, w: ws }),
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D

const fused = fusedLinear()

/** x [N, in], w [out, in], b [out] → [N, out] */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, options: LinearOptions = {}): tf.Tensor2D {
  if (x.dtype === 'float32' && hasFusedKernel('MengziDense')) {
    const kept = savedInput(x, options)
    return kept === x ? fused(x, w, b) : fusedLinear(kept)(x, w, b)
  }
  return tf.matMul(x, w, false, true).add(b)
}

const fusedGeluLinear = (kept?: tf.Tensor) =>
  tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const [y, z] = runFused('MengziDenseGelu', { x, w, b })
    save([kept ?? x, w, z])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xs, ws, zs]: tf.Tensor[]) => runFused('MengziDenseGeluGrad', { dy, x: xs, w: ws, z: zs }),
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D

const fusedGelu = fusedGeluLinear()

/** gelu(x·Wᵀ + b) (HF's erf GELU): one kernel with GELU in the product's epilogue where the backend has it (webgpu). */
export function linearGelu(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, options: LinearOptions = {}): tf.Tensor2D {
  if (x.dtype === 'float32' && hasFusedKernel('MengziDenseGelu')) {
    const kept = savedInput(x, options)
    return kept === x ? fusedGelu(x, w, b) : fusedGeluLinear(kept)(x, w, b)
  }
  return gelu(linear(x, w, b)) as tf.Tensor2D
}
