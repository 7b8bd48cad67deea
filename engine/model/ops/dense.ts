// nn.Linear on rows, y = x·Wᵀ + b (W stored [out, in] as HF stores it), as one op: the fused native
// kernels where the backend has them (bias and product in one call; dx, dW and db in one call), else
// tfjs's matMul and add.
import * as tf from '@tensorflow/tfjs'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'
import { gelu } from './gelu'

const fused = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  save([x, w])
  return {
    value: runFused('MengziDense', { x, w, b })[0],
    gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => runFused('MengziDenseGrad', { dy, x: xs, w: ws }),
  }
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D

/** x [N, in], w [out, in], b [out] → [N, out] */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (x.dtype === 'float32' && hasFusedKernel('MengziDense')) return fused(x, w, b)
  return tf.matMul(x, w, false, true).add(b)
}

const fusedGelu = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
  const [y, z] = runFused('MengziDenseGelu', { x, w, b })
  save([x, w, z])
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [xs, ws, zs]: tf.Tensor[]) => runFused('MengziDenseGeluGrad', { dy, x: xs, w: ws, z: zs }),
  }
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D

/** gelu(x·Wᵀ + b) (HF's erf GELU): one kernel with GELU in the product's epilogue where the backend has it (webgpu). */
export function linearGelu(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (x.dtype === 'float32' && hasFusedKernel('MengziDenseGelu')) return fusedGelu(x, w, b)
  return gelu(linear(x, w, b)) as tf.Tensor2D
}
