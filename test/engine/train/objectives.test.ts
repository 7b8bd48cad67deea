// The objectives' heads (names and shapes as docs/objectives.md gives them) and each objective's loss
// falling on a fixed batch; the block-shuffled segment order.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { lossAndGrads } from '../../../engine/compute/grads'
import { Rng } from '../../../engine/compute/rng'
import { parseBertConfig } from '../../../engine/model/checkpoint'
import { disposeWeights, initWeights } from '../../../engine/model/weights'
import { buildBatch, type BatchSegment } from '../../../engine/train/batch'
import { OBJECTIVES, type Objective } from '../../../engine/train/config'
import { BERT_CHINESE_SPECIALS } from '../../../engine/train/data'
import { headsFor, objectiveLosses, readOutputs } from '../../../engine/train/objectives'
import { createOptimizer } from '../../../engine/train/optimizers'
import { blockRanges, memorySource, SegmentStream } from '../../../engine/train/stream'
import { WORD_START } from '../../../engine/text/token-shards'
import { TINY_BERT } from './tiny-config'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const bert = parseBertConfig({ ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, num_hidden_layers: 1 }, 'tiny')

describe('objectives', () => {
  it('heads carry HF names where HF has them (cls.predictions, cls.seq_relationship) and cls.pos/ner/sop for ours', () => {
    const w = initWeights({ config: bert, heads: headsFor([...OBJECTIVES]), pooler: true }, 1)
    const shapes = Object.fromEntries([...w].filter(([n]) => n.startsWith('cls.')).map(([n, v]) => [n, v.shape]))
    expect(shapes).toEqual({
      'cls.predictions.transform.dense.weight': [32, 32],
      'cls.predictions.transform.dense.bias': [32],
      'cls.predictions.transform.LayerNorm.weight': [32],
      'cls.predictions.transform.LayerNorm.bias': [32],
      'cls.predictions.bias': [140],
      'cls.pos.weight': [18, 32],
      'cls.pos.bias': [18],
      'cls.ner.weight': [35, 32],
      'cls.ner.bias': [35],
      'cls.seq_relationship.weight': [2, 32],
      'cls.seq_relationship.bias': [2],
      'cls.sop.weight': [2, 32],
      'cls.sop.bias': [2],
    })
    disposeWeights(w)
  })

  it('every objective’s loss falls on a fixed batch (each trained alone, and all together)', async () => {
    const rng = new Rng(11)
    // labels that are functions of the ids, so they can be learnt
    const segment = (n: number): BatchSegment => {
      const ids = Int32Array.from({ length: n }, () => 104 + rng.int(36))
      return { ids, pos: Uint8Array.from(ids, (id) => id % 17), ner: Uint8Array.from(ids, (id) => id % 35), flags: new Uint8Array(n).fill(WORD_START) }
    }
    const items = Array.from({ length: 8 }, () => [segment(6), segment(5)] as [BatchSegment, BatchSegment])
    const batch = buildBatch(items, { maxSeqLength: 24, mlmProbability: 0.3, vocabSize: 140, specials: BERT_CHINESE_SPECIALS }, rng)
    const nspLabels = Int32Array.from({ length: 8 }, (_, i) => i % 2)
    const sopLabels = Int32Array.from({ length: 8 }, (_, i) => (i >> 1) % 2)
    const run = async (objectives: Objective[]) => {
      const weights = initWeights({ config: bert, heads: headsFor(objectives), pooler: true }, 5)
      const opt = createOptimizer('adamw', weights, { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0 })
      const history = new Map<Objective, number[]>()
      for (let step = 0; step < 25; step++) {
        let outputs: ReturnType<typeof objectiveLosses>['outputs'] | null = null
        const { loss, grads } = lossAndGrads(weights, () => {
          const r = objectiveLosses(weights, bert, objectives, {}, { batch, nspLabels, sopLabels }, { training: false })
          outputs = r.outputs
          return r.total
        })
        loss.dispose()
        for (const [o, s] of await readOutputs(outputs!)) history.set(o, [...(history.get(o) ?? []), s.loss])
        opt.step(grads, 5e-3)
        tf.dispose([...grads.values()])
      }
      opt.dispose()
      disposeWeights(weights)
      return history
    }
    for (const o of OBJECTIVES) {
      const losses = (await run([o])).get(o)!
      expect(losses.at(-1)!, `${o}: ${losses[0].toFixed(3)} → ${losses.at(-1)!.toFixed(3)}`).toBeLessThan(losses[0] * 0.6)
    }
    const together = await run([...OBJECTIVES])
    for (const o of OBJECTIVES) expect(together.get(o)!.at(-1)!).toBeLessThan(together.get(o)![0] * 0.8)
  })
})

describe('segment stream', () => {
  const source = memorySource({ size: 23, get: (i) => Int32Array.from([i]) }, 5)

  it('blocks: runs of consecutive segments, a 1-segment tail joins the block before', () => {
    expect(blockRanges(0, 21, 5)).toEqual([
      { first: 0, count: 5 },
      { first: 5, count: 5 },
      { first: 10, count: 5 },
      { first: 15, count: 6 },
    ])
    expect(blockRanges(100, 7, 5)).toEqual([
      { first: 100, count: 5 },
      { first: 105, count: 2 },
    ])
  })

  it('visits every segment once per epoch, in an order that depends on seed and epoch only', () => {
    const seen = (stream: SegmentStream, from: number) =>
      Array.from({ length: 23 }, (_, p) => {
        const { block, local } = stream.at(from + p)
        return block.segment(local).ids[0]
      })
    const a = new SegmentStream(source, 9)
    const epoch0 = seen(a, 0)
    const epoch1 = seen(a, 23)
    expect([...epoch0].sort((x, y) => x - y)).toEqual(Array.from({ length: 23 }, (_, i) => i))
    expect([...epoch1].sort((x, y) => x - y)).toEqual(Array.from({ length: 23 }, (_, i) => i))
    expect(epoch1).not.toEqual(epoch0)
    // a fresh stream (a resumed run) at position 30 continues the same order
    const b = new SegmentStream(source, 9)
    expect(Array.from({ length: 10 }, (_, p) => b.at(30 + p).block.segment(b.at(30 + p).local).ids[0])).toEqual(epoch1.slice(7, 17))
    // the blocks go a window at a time: with windows of 2 blocks of 5, the first 10 positions are the
    // segments of two blocks of consecutive segments, mixed (not one block, then the other)
    const even = new SegmentStream(memorySource({ size: 20, get: (i) => Int32Array.from([i]) }, 5), 9, 2)
    const order = Array.from({ length: 20 }, (_, p) => {
      const { block, local } = even.at(p)
      return block.segment(local).ids[0]
    })
    const blockOf = (i: number) => Math.floor(i / 5)
    for (const window of [order.slice(0, 10), order.slice(10)]) {
      const blocks = [...new Set(window.map(blockOf))]
      expect(blocks).toHaveLength(2)
      for (const b of blocks) expect(window.filter((i) => blockOf(i) === b)).toHaveLength(5)
      expect(new Set(window.slice(0, 5).map(blockOf)).size).toBe(2)
    }
  })
})
