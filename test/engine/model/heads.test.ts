import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { bertEncoder, EVAL } from '../../../engine/model/bert'
import { BERT_BASE_CHINESE, type BertConfig } from '../../../engine/model/config'
import {
  choiceLogits,
  crossEntropy,
  mlmLogits,
  mlmLoss,
  sequenceLogits,
  spanLogits,
  spanLoss,
  tokenLogits,
} from '../../../engine/model/heads'
import { disposeWeights, initWeights } from '../../../engine/model/weights'
import { Rng } from '../../../engine/compute/rng'
import { useBackend } from './ops/compare'

const config: BertConfig = {
  ...BERT_BASE_CHINESE,
  vocab_size: 50,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 12,
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

/** Cross-entropy in float64 plain JS, ignoring -100. */
function referenceCE(logits: number[][], labels: number[]): number {
  let sum = 0
  let n = 0
  logits.forEach((row, i) => {
    if (labels[i] === -100) return
    const max = Math.max(...row)
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0))
    sum += lse - row[labels[i]]
    n++
  })
  return sum / n
}

function batch(B: number, T: number, seed: number) {
  const rng = new Rng(seed)
  const ids = Int32Array.from({ length: B * T }, () => 1 + rng.int(config.vocab_size - 1))
  const mask = new Int32Array(B * T).fill(1)
  mask.fill(0, B * T - 3) // padding at the end of the last row
  ids.fill(0, B * T - 3)
  return {
    inputIds: tf.tensor2d(ids, [B, T], 'int32'),
    attentionMask: tf.tensor2d(mask, [B, T], 'int32'),
    tokenTypeIds: tf.zeros([B, T], 'int32') as tf.Tensor2D,
  }
}

describe('losses', () => {
  it('cross-entropy ignores -100 and matches a float64 computation', () => {
    const logits = [[1, 2, 3], [0.5, -1, 4], [2, 2, 2], [-3, 0, 1]]
    const labels = [2, -100, 0, 1]
    const got = crossEntropy(tf.tensor2d(logits), Int32Array.from(labels)).dataSync()[0]
    expect(got).toBeCloseTo(referenceCE(logits, labels), 6)
    expect(crossEntropy(tf.tensor2d(logits), Int32Array.from([-100, -100, -100, -100])).dataSync()[0]).toBe(0)
    expect(() => crossEntropy(tf.tensor2d(logits), Int32Array.from([3, 0, 0, 0]))).toThrow('label 3 at row 0 is outside [0, 3)')
  })

  it('MLM loss on gathered masked positions equals the loss over full logits', () => {
    const w = initWeights({ config, heads: [{ kind: 'mlm' }] }, 3)
    const x = batch(2, 10, 5)
    const labels = new Int32Array(20).fill(-100)
    labels[1] = 7
    labels[4] = 9
    labels[13] = 3
    tf.tidy(() => {
      const seq = bertEncoder(w, config, x, EVAL, { pooler: false }).hiddenStates[1]
      const full = mlmLogits(w, config, seq).reshape([20, config.vocab_size]).arraySync() as number[][]
      expect(mlmLoss(w, config, seq, labels).dataSync()[0]).toBeCloseTo(referenceCE(full, [...labels]), 5)
    })
    disposeWeights(w)
  })
  it('MLM loss keeps one vocabulary-sized f32 tensor per masked row for backward (the probabilities), not the logits too', async () => {
    // on wasm with the fused kernels (the path wasm and webgpu training take); bytes alive when the backward starts, beyond those before the forward, for two vocabulary sizes:
    // all that grows with V is what the loss keeps of the [M, V] logits, and the decoder's table
    const kept = (vocab: number) => {
      const c = { ...config, vocab_size: vocab }
      const w = initWeights({ config: c, heads: [{ kind: 'mlm' }] }, 3)
      const x = batch(2, 10, 5)
      const labels = new Int32Array(20).fill(-100)
      for (const i of [1, 4, 13]) labels[i] = 7
      let bytes = 0
      const before = tf.memory().numBytes
      const probe = tf.customGrad(((l: tf.Tensor) => ({
        value: l.clone(),
        gradFunc: (dy: tf.Tensor) => {
          bytes = tf.memory().numBytes - before
          return dy
        },
      })) as unknown as Parameters<typeof tf.customGrad>[0])
      const { value, grads } = tf.variableGrads(() => {
        const seq = bertEncoder(w, c, x, EVAL, { pooler: false }).hiddenStates[1]
        return probe(mlmLoss(w, c, seq, labels)) as tf.Scalar
      }, [...w.values()])
      tf.dispose([value, ...Object.values(grads), x.inputIds, x.attentionMask, x.tokenTypeIds])
      disposeWeights(w)
      return bytes
    }
    await useBackend('wasm')
    try {
      // tf.memory() counts every tensor's bytes, and the tied decoder keeps a clone of the word-embedding
      // table (sharing its buffer): 4·H bytes per vocabulary row. The rest is the [M, V] f32 probabilities;
      // keeping the logits too would add 4·M more.
      const masked = 3
      expect((kept(600) - kept(100)) / 500).toBe(4 * masked + 4 * config.hidden_size)
    } finally {
      await tf.setBackend('cpu')
    }
  })
})

describe('task heads', () => {
  it('token, sequence, span and choice heads have the right shapes and HF losses', () => {
    const heads = [
      { kind: 'token' as const, name: 'cls.pos', numLabels: 5 },
      { kind: 'sequence' as const, name: 'classifier', numLabels: 3 },
      { kind: 'span' as const, name: 'qa_outputs' },
      { kind: 'choice' as const, name: 'choice' },
    ]
    const w = initWeights({ config, heads }, 11)
    const x = batch(4, 8, 2)
    tf.tidy(() => {
      const out = bertEncoder(w, config, x)
      const seq = out.hiddenStates[1]
      expect(tokenLogits(w, 'cls.pos', config, seq, EVAL).shape).toEqual([4, 8, 5])
      expect(sequenceLogits(w, 'classifier', config, out.pooled!, EVAL).shape).toEqual([4, 3])
      const { start, end } = spanLogits(w, 'qa_outputs', seq)
      expect(start.shape).toEqual([4, 8])
      // positions beyond the sequence are ignored; negative ones clamp to 0 (HF)
      const s = start.arraySync()
      const e = end.arraySync()
      const loss = spanLoss(start, end, Int32Array.from([1, 99, -5, 3]), Int32Array.from([2, 99, 0, 7])).dataSync()[0]
      const want = (referenceCE(s, [1, -100, 0, 3]) + referenceCE(e, [2, -100, 0, 7])) / 2
      expect(loss).toBeCloseTo(want, 5)
      // 2 examples × 2 choices flattened into the batch of 4
      expect(choiceLogits(w, 'choice', config, out.pooled!, 2, EVAL).shape).toEqual([2, 2])
    })
    disposeWeights(w)
  })
})
