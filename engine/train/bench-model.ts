// The benchmark's model and step, from the engine itself: engine/model's BERT (HF names and layout,
// fused LayerNorm/GELU/cross-entropy) with the MLM head on the masked positions, and engine/train's
// AdamW with weight decay 0 and PyTorch's Adam eps (that is, Adam, as the benchmark specifies).
import * as tf from '@tensorflow/tfjs'
import { bertEncoder, EVAL, type ForwardContext, type Weights } from '../model/bert'
import type { BertConfig } from '../model/config'
import { mlmLoss } from '../model/heads'
import { disposeWeights, initWeights, parameterCount } from '../model/weights'
import { lossAndGrads } from '../compute/grads'
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
  /** One training step (forward, backward, Adam update); returns the loss, which the caller disposes. */
  step(batch: BenchBatch, lr: number): tf.Scalar
  dispose(): void
}

/**
 * With dropout in the config the step runs in training mode (as pretraining does), its masks seeded
 * from a fixed sequence; without, in eval mode (the fixed benchmark).
 */
export function createBenchModel(config: BertConfig, seed = 42): BenchModel {
  const weights: Weights = initWeights({ config, heads: [{ kind: 'mlm' }], pooler: false }, seed)
  const dropout = config.hidden_dropout_prob > 0 || config.attention_probs_dropout_prob > 0
  let nextMaskSeed = 1
  const ctx: ForwardContext = dropout ? { training: true, nextSeed: () => nextMaskSeed++ } : EVAL
  const optimizer: Optimizer = new AdamW(weights, { weightDecay: 0, eps: 1e-8 })
  return {
    parameters: parameterCount(weights),
    step(batch, lr) {
      const { loss, grads } = lossAndGrads(weights, () => {
        const { hiddenStates } = bertEncoder(weights, config, batch, ctx, { pooler: false })
        return mlmLoss(weights, config, hiddenStates[hiddenStates.length - 1], batch.labels)
      })
      optimizer.step(grads, lr)
      grads.forEach((g) => g.dispose())
      return loss
    },
    dispose() {
      optimizer.dispose()
      disposeWeights(weights)
    },
  }
}
