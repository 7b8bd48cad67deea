// LayerNorm over the last axis (HF / torch.nn.LayerNorm: biased variance, eps inside the root) as one
// tfjs op with a hand-written gradient. The plain composition keeps ~8 intermediates of the input's
// size alive until backward and differentiates each; this keeps x̂ and 1/σ and does the classic
// three-term backward. Where the backend has the fused kernels (wasm with @mengzi/native), forward and
// backward each run as one native pass; the composition stays the reference they are tested against
// (test/engine/model/ops/layer-norm.test.ts). On webgpu in fp16 training (f16 storage) the saved x̂ is
// packed f16 (int32, half the bytes; compute/webgpu/layer-norm.ts), which the backward kernel reads as such.
import * as tf from '@tensorflow/tfjs'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'

type LayerNormFn = (x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor

const byEps = new Map<number, LayerNormFn>()
const withResidualByEps = new Map<number, (x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, residual: tf.Tensor) => tf.Tensor>()

/** LayerNorm(x + residual) as one fused op: the sum is never a tensor, and both inputs get dx. */
function buildWithResidual(eps: number) {
  return tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, residual: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, xhat, rstd] = runFused('MengziLayerNorm', { x, gamma, beta, residual }, { eps })
    save([xhat, rstd, gamma])
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xh, rs, g]: tf.Tensor[]) => {
        const [dx, dgamma, dbeta] = runFused('MengziLayerNormGrad', { dy, xhat: xh, rstd: rs, gamma: g })
        return [dx, dgamma, dbeta, dx.clone()] // a tensor of its own per input: the engine disposes them separately
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, residual: tf.Tensor) => tf.Tensor
}

function build(eps: number): LayerNormFn {
  const op = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    if (hasFusedKernel('MengziLayerNorm')) {
      const [y, xhat, rstd] = runFused('MengziLayerNorm', { x, gamma, beta }, { eps })
      save([xhat, rstd, gamma])
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, [xh, rs, g]: tf.Tensor[]) => runFused('MengziLayerNormGrad', { dy, xhat: xh, rstd: rs, gamma: g }),
      }
    }
    const mean = tf.mean(x, -1, true)
    const centered = tf.sub(x, mean)
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps)) // [..., 1]
    const xhat = tf.mul(centered, rstd)
    save([xhat, rstd, gamma])
    return {
      value: tf.add(tf.mul(xhat, gamma), beta),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, g] = saved
        const H = g.shape[0]
        const dxhat = tf.mul(dy, g)
        // dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) / σ
        const dx = tf.mul(rs, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))))
        const rows = (t: tf.Tensor) => tf.reshape(t, [-1, H])
        return [dx, tf.sum(rows(tf.mul(dy, xh)), 0), tf.sum(rows(dy), 0)]
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return op as unknown as LayerNormFn
}

/**
 * y = (x − mean) / sqrt(var + eps) · gamma + beta over the last axis; gamma, beta: [H]. With `residual`
 * (same shape as x), normalises x + residual: BERT's LayerNorm(sublayer(x) + x).
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, residual?: tf.Tensor): tf.Tensor {
  if (residual) {
    if (!hasFusedKernel('MengziLayerNorm') || x.dtype !== 'float32' || residual.shape.join() !== x.shape.join()) return layerNorm(tf.add(x, residual), gamma, beta, eps)
    let fused = withResidualByEps.get(eps)
    if (!fused) withResidualByEps.set(eps, (fused = buildWithResidual(eps)))
    return fused(x, gamma, beta, residual)
  }
  let fn = byEps.get(eps)
  if (!fn) byEps.set(eps, (fn = build(eps)))
  return fn(x, gamma, beta)
}
