// Bytes of an MLM training step on webgpu in fp32 and in fp16 (f16 storage), for the fp16 test and
// test/bench/fp16-memory.ts: the bench model (engine/train/bench-model.ts's forward and loss, multi-
// tensor AdamW), two steps to reach the steady state (the weights' f16 copies then come from the
// optimizer's update), then on the third:
//   keptForBackward: GPU buffer bytes alive when the backward starts beyond those alive before the
//                    forward (what the forward saved for backward, plus the loss), after a submit so
//                    that buffers already disposed are not counted;
//   total:           GPU buffer bytes alive after the step (weights, their f16 copies, optimizer arena).
// Bytes only: they do not depend on the device (lavapipe gives the same as a GPU); no times.
import * as tf from '@tensorflow/tfjs'
import { lossAndGrads } from '../../../../engine/compute/grads'
import { usePrecision, type Precision } from '../../../../engine/compute/precision'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { bertEncoder, EVAL } from '../../../../engine/model/bert'
import type { BertConfig } from '../../../../engine/model/config'
import { mlmLoss } from '../../../../engine/model/heads'
import { disposeWeights, initWeights, parameterCount } from '../../../../engine/model/weights'
import { benchBatch } from '../../../../engine/train/bench'
import { AdamW } from '../../../../engine/train/optimizers'

export interface StepMemory {
  keptForBackward: number
  total: number
  /** Bytes of the f32 master weights. */
  masters: number
  loss: number
}

/** GPU buffer bytes in use once tfjs has submitted its queued work (which releases disposed buffers). */
export function bufferBytes(): number {
  const b = webgpuInternals(tf.backend())
  b.ensureCommandEncoderReady()
  b.endComputePassEncoder()
  b.submitQueue()
  return (tf.memory() as tf.MemoryInfo & { numBytesInGPU: number }).numBytesInGPU
}

/** The identity, which notes the buffer bytes when the backward reaches it (first: it is the loss). */
export function probe(onBackward: () => void) {
  return tf.customGrad(((x: tf.Tensor) => ({
    value: x.clone(),
    gradFunc: (dy: tf.Tensor) => {
      onBackward()
      return dy
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Scalar) => tf.Scalar
}

export async function stepMemory(config: BertConfig, precision: Precision, batchSize: number, seq: number): Promise<StepMemory> {
  const restore = usePrecision(precision)
  const weights = initWeights({ config, heads: [{ kind: 'mlm' }], pooler: false }, 42)
  const optimizer = new AdamW(weights, { weightDecay: 0, eps: 1e-8 })
  const batch = benchBatch(config, batchSize, seq)
  try {
    let kept = 0
    let loss = 0
    for (let step = 1; step <= 3; step++) {
      const before = bufferBytes()
      const out = lossAndGrads(weights, () => {
        const { hiddenStates } = bertEncoder(weights, config, batch, EVAL, { pooler: false })
        return probe(() => (kept = bufferBytes() - before))(mlmLoss(weights, config, hiddenStates[hiddenStates.length - 1], batch.labels))
      })
      optimizer.step(out.grads, 1e-4)
      loss = (await out.loss.data())[0]
      tf.dispose([out.loss, ...out.grads.values()])
    }
    return { keptForBackward: kept, total: bufferBytes(), masters: parameterCount(weights) * 4, loss }
  } finally {
    optimizer.dispose()
    disposeWeights(weights)
    tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask])
    restore()
  }
}
