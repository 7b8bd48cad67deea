// The benchmark's model and step, from the engine itself: engine/model's BERT (HF names and layout,
// fused LayerNorm/GELU/cross-entropy) with the MLM head on the masked positions, and engine/train's
// AdamW with weight decay 0 and PyTorch's Adam eps (that is, Adam, as the benchmark specifies).
// precision "fp16" (webgpu) steps as the training loop does and as PyTorch's GradScaler: the loss
// scaled, the update skipped (the scale halved) when the gradients' global norm overflows. With the
// multi-tensor update the scale lives on the device, which skips the update itself: the norm is read
// with the loss (one wait) and the host's scaler follows; else the norm is read before the update.
import * as tf from '@tensorflow/tfjs'
import { bertEncoder, EVAL, type ForwardContext, type Weights } from '../model/bert'
import type { BertConfig } from '../model/config'
import { mlmLoss } from '../model/heads'
import { disposeWeights, initWeights, parameterCount } from '../model/weights'
import { lossAndGrads } from '../compute/grads'
import { usePrecision, type Precision } from '../compute/precision'
import { Readback, readScalar } from '../compute/read'
import { DynamicLossScale } from './loss-scale'
import { AdamW, type Optimizer } from './optimizers'

export interface BenchBatch {
  inputIds: tf.Tensor2D // [B, T] int32
  tokenTypeIds: tf.Tensor2D // [B, T] int32
  attentionMask: tf.Tensor2D // [B, T] 1 = token
  /** [B·T] word id at masked positions, -100 elsewhere (HF's MLM labels). */
  labels: Int32Array
}

export interface BenchModel {
  parameters: number
  /** One training step (forward, backward, Adam update); resolves to the loss (unscaled), which the caller disposes. */
  step(batch: BenchBatch, lr: number): Promise<tf.Scalar>
  /** ms the last `step` spent waiting for the device (fp16 with the scale on the host reads the norm back); else 0. */
  deviceWaitMs(): number
  /** The value of a loss `step` returned (disposing it); fp16 with the scale on the device reads the step's norm with it and settles the step. */
  readLoss(loss: tf.Scalar): Promise<number>
  /** fp16: the loss scale the next step uses, and the steps skipped on overflow so far. */
  lossScale(): { scale: number; skipped: number } | null
  dispose(): void
}

/**
 * With dropout in the config the step runs in training mode (as pretraining does), its masks seeded
 * from a fixed sequence; without, in eval mode (the fixed benchmark). Applies `precision` to the
 * active backend until `dispose` (fp16 needs webgpu; usePrecision says why not otherwise).
 */
export function createBenchModel(config: BertConfig, seed = 42, precision: Precision = 'fp32'): BenchModel {
  const restorePrecision = usePrecision(precision)
  const scaler = precision === 'fp16' ? new DynamicLossScale() : null
  let skipped = 0
  const weights: Weights = initWeights({ config, heads: [{ kind: 'mlm' }], pooler: false }, seed)
  const dropout = config.hidden_dropout_prob > 0 || config.attention_probs_dropout_prob > 0
  let waitedMs = 0
  let nextMaskSeed = 1
  const ctx: ForwardContext = dropout ? { training: true, nextSeed: () => nextMaskSeed++ } : EVAL
  const optimizer: Optimizer = new AdamW(weights, { weightDecay: 0, eps: 1e-8 })
  const deviceScale = scaler !== null && optimizer.scalesOnDevice
  if (deviceScale) optimizer.scaleOnDevice(scaler.state(), scaler.growthInterval)
  let unreadNorm: tf.Scalar | null = null // the norm of the step whose loss is read next (scale on the device)
  return {
    parameters: parameterCount(weights),
    async step(batch, lr) {
      waitedMs = 0
      const scaleTensor = deviceScale ? optimizer.deviceLossScale() : null
      const { loss, grads } = lossAndGrads(weights, () => {
        const { hiddenStates } = bertEncoder(weights, config, batch, ctx, { pooler: false })
        const l = mlmLoss(weights, config, hiddenStates[hiddenStates.length - 1], batch.labels)
        if (scaleTensor) return l.mul(scaleTensor) as tf.Scalar
        return scaler ? (l.mul(scaler.scale) as tf.Scalar) : l
      })
      if (!scaler) {
        optimizer.step(grads, lr)
        grads.forEach((g) => g.dispose())
        return loss
      }
      if (deviceScale) {
        if (unreadNorm) throw new Error('bench step: read the previous step\'s loss first (readLoss)')
        const clipped = optimizer.clipGradients(grads, Infinity, 'device')
        optimizer.step(clipped.grads, lr) // skipped on the device when the norm overflowed
        clipped.grads.forEach((g) => g.dispose())
        unreadNorm = clipped.norm
        const unscaled = loss.div(scaleTensor!) as tf.Scalar
        tf.dispose([loss, scaleTensor!])
        return unscaled
      }
      const scale = scaler.scale
      const clipped = optimizer.clipGradients(grads, Infinity, scale) // unscales inside the update
      const waitStart = performance.now()
      const finite = Number.isFinite(await readScalar(clipped.norm))
      waitedMs = performance.now() - waitStart
      if (scaler.update(finite)) optimizer.step(clipped.grads, lr)
      else skipped++
      clipped.grads.forEach((g) => g.dispose())
      clipped.norm.dispose()
      const unscaled = loss.div(scale) as tf.Scalar
      loss.dispose()
      return unscaled
    },
    deviceWaitMs: () => waitedMs,
    async readLoss(loss) {
      const reads = new Readback()
      let value = NaN
      let norm = NaN
      reads.scalar(loss, (v) => (value = v))
      const settling = unreadNorm
      unreadNorm = null
      if (settling) reads.scalar(settling, (v) => (norm = v))
      await reads.read()
      if (settling) {
        const finite = Number.isFinite(norm)
        scaler!.update(finite)
        optimizer.settleStep(finite)
        if (!finite) skipped++
      }
      return value
    },
    lossScale: () => (scaler ? { scale: scaler.scale, skipped } : null),
    dispose() {
      unreadNorm?.dispose()
      optimizer.dispose()
      disposeWeights(weights)
      restorePrecision()
    },
  }
}
