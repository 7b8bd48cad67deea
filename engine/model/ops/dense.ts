// nn.Linear on rows, y = x·Wᵀ + b (W stored [out, in] as HF stores it), as one op: the fused native
// kernels where the backend has them (bias and product in one call; dx, dW and db in one call), else
// tfjs's matMul and add.
//
// fp16 storage (webgpu, precision "fp16", flags.halfStorageOn): while the tape records, the input kept
// for dW is an f16 copy of x (int32, packed two per word; MengziPackHalf), half the bytes of x; one copy
// per x however many layers read it (Q, K and V share theirs), or the copy another op made and keeps
// (`shareHalf`: the attention's packed context). The GELU layer's pre-activation z, which its backward
// reads too, comes packed from the kernel itself then (compute/webgpu/dense.ts).
import * as tf from '@tensorflow/tfjs'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'
import { halfStorageOn } from '../../compute/webgpu/flags'
import { gelu } from './gelu'

/** The f16 copies made during this forward, by x's data: Q, K and V save one copy of their shared x. */
const halves = new WeakMap<object, tf.Tensor>()

/** Makes `half` (packed f16, alive until the forward's scope ends) the copy a dense layer keeps of x. */
export function shareHalf(x: tf.Tensor, half: tf.Tensor): void {
  halves.set(x.dataId, half)
}

/** What the backward of a dense layer (or the fused self-attention, ops/attention.ts) keeps of x: x itself, or its f16 copy under fp16 storage. */
export function savedInput(x: tf.Tensor): tf.Tensor {
  if (!halfStorageOn() || !tf.engine().isTapeOn() || !hasFusedKernel('MengziPackHalf')) return x
  const held = halves.get(x.dataId)
  if (held && !held.isDisposed) return held
  const half = runFused('MengziPackHalf', { x })[0] // [⌈n / 2⌉] int32
  halves.set(x.dataId, half)
  return half
}

type Dense = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D

/**
 * A dense op over fused kernels with its own gradient: `forward` (x, w, b) → [y, ...more], where `more`
 * are outputs its backward reads too, named `moreNames` there (GELU's z, the product before the
 * activation); `backward` (dy, x, w, ...more) → [dx, dW, db]. The returned function keeps for x what
 * `savedInput` gives (x itself, or its f16 copy).
 */
function fusedDense(forward: string, backward: string, moreNames: readonly string[] = []) {
  const op = (kept?: tf.Tensor) =>
    tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
      const [y, ...more] = runFused(forward, { x, w, b })
      save([kept ?? x, w, ...more])
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, [xs, ws, ...ms]: tf.Tensor[]) => {
          const named = Object.fromEntries(moreNames.map((name, i) => [name, ms[i]]))
          return runFused(backward, { dy, x: xs, w: ws, ...named })
        },
      }
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as Dense
  const keepingX = op() // made once: the op for every call that keeps x itself
  return (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D => {
    const kept = savedInput(x)
    return kept === x ? keepingX(x, w, b) : op(kept)(x, w, b)
  }
}

const fusedLinear = fusedDense('MengziDense', 'MengziDenseGrad')
const fusedGeluLinear = fusedDense('MengziDenseGelu', 'MengziDenseGeluGrad', ['z'])

/** x [N, in], w [out, in], b [out] → [N, out] */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (x.dtype === 'float32' && hasFusedKernel('MengziDense')) return fusedLinear(x, w, b)
  return tf.matMul(x, w, false, true).add(b)
}

/** gelu(x·Wᵀ + b) (HF's erf GELU): one kernel with GELU in the product's epilogue where the backend has it (webgpu). */
export function linearGelu(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (x.dtype === 'float32' && hasFusedKernel('MengziDenseGelu')) return fusedGeluLinear(x, w, b)
  return gelu(linear(x, w, b)) as tf.Tensor2D
}
