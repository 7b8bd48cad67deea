// fp16 on webgpu with the per-parameter optimizer (`multiTensor: false`: compute/webgpu/adam.ts, one
// update per parameter). Unlike the multi-tensor update (whose dispatch writes the f16 copies, tested in
// half.test.ts), it writes no f16 copy: each weight it replaces gets a new data id, and the dense
// products pack a copy of that on their next read (half-weights.ts). A few real steps of the tiny
// BERT's MLM (loss scaled, gradients clipped), AdamW and LAMB, both paths: at every forward the f16
// copies the dense layers read equal f16 of the masters the last step wrote (not the copies from
// before it), and the per-parameter losses follow the multi-tensor ones. Bound: the two paths' global
// norms sum in another order (≤ 1.2e-7 apart, multi-adam.test.ts) and every step here is clipped;
// measured on lavapipe the losses were equal bit for bit over the 4 steps; the test allows 1e-5.
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { lossAndGrads } from '../../../engine/compute/grads'
import { usePrecision } from '../../../engine/compute/precision'
import { heldHalfWeight } from '../../../engine/compute/webgpu/half-weights'
import { bertEncoder, EVAL, type Weights } from '../../../engine/model/bert'
import { parseBertConfig } from '../../../engine/model/checkpoint'
import { mlmLoss } from '../../../engine/model/heads'
import { disposeWeights, initWeights } from '../../../engine/model/weights'
import { benchBatch } from '../../../engine/train/bench'
import { createOptimizer, type OptimizerKind } from '../../../engine/train/optimizers'
import { f16, readHalf } from '../compute/webgpu/f16'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'
import { TINY_BERT } from './tiny-config'

const MODEL = parseBertConfig(TINY_BERT)
const STEPS = 4
const LOSS_SCALE = 1024
const LR = 1e-2 // large enough that every dense weight's f16 values change at every step (LAMB's included)

/** The weights the dense products read: the encoder's and the MLM transform's, and the tied decoder's table. */
const DENSE = /\.(query|key|value|dense)\.weight$|^bert\.embeddings\.word_embeddings\.weight$/

/**
 * Checks the copies the last forward read: one for each dense weight's current data, equal to f16 of
 * its master and, after a step, unlike the copy before it. `packedOnRead`: copies are made only as the
 * products read (per-parameter path), so the other weights have none; the multi-tensor update writes
 * one for every parameter. Returns the copies' values.
 */
async function expectFreshCopies(weights: Weights, before: Map<string, number[]> | null, step: number, packedOnRead: boolean): Promise<Map<string, number[]>> {
  const copies = new Map<string, number[]>()
  for (const [name, w] of weights) {
    const copy = heldHalfWeight(w.dataId)
    if (!DENSE.test(name)) {
      if (packedOnRead) expect(copy, `step ${step}: ${name} is read by no product`).toBeUndefined()
      continue
    }
    expect(copy, `step ${step}: ${name} has a copy for its current data`).toBeDefined()
    const got = Array.from(await readHalf(copy!, w.shape))
    const master = Array.from((await w.data()) as Float32Array)
    expect(got, `step ${step}: ${name}'s copy = f16(master)`).toEqual(master.map(f16))
    if (before) expect(got, `step ${step}: ${name} changed in f16`).not.toEqual(before.get(name))
    copies.set(name, got)
  }
  expect(copies.size).toBe(6 * MODEL.num_hidden_layers + 2)
  return copies
}

/** STEPS training steps in fp16 (loss scaled, clipped at 1): the losses (unscaled). */
async function train(kind: OptimizerKind, multiTensor: boolean): Promise<number[]> {
  const restore = usePrecision('fp16')
  const weights = initWeights({ config: MODEL, heads: [{ kind: 'mlm' }], pooler: false }, 42)
  const optimizer = createOptimizer(kind, weights, { multiTensor })
  const batch = benchBatch(MODEL, 4, 32)
  const losses: number[] = []
  try {
    let before: Map<string, number[]> | null = null
    for (let step = 1; step <= STEPS; step++) {
      const out = lossAndGrads(weights, () => {
        const { hiddenStates } = bertEncoder(weights, MODEL, batch, EVAL, { pooler: false })
        return mlmLoss(weights, MODEL, hiddenStates[hiddenStates.length - 1], batch.labels).mul(LOSS_SCALE) as tf.Scalar
      })
      before = await expectFreshCopies(weights, before, step, !multiTensor)
      // per-parameter: the clipped gradients are new tensors (out.grads disposed); multi-tensor: the same
      const clipped = optimizer.clipGradients(out.grads, 1, LOSS_SCALE)
      optimizer.step(clipped.grads, LR)
      losses.push((await out.loss.data())[0] / LOSS_SCALE)
      tf.dispose([out.loss, clipped.norm, ...clipped.grads.values(), ...out.grads.values()])
    }
    return losses
  } finally {
    optimizer.dispose()
    disposeWeights(weights)
    tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask])
    restore()
  }
}

describeOnWebgpu('fp16 on webgpu with the per-parameter optimizer', () => {
  for (const kind of ['adamw', 'lamb'] as const) {
    it(`${kind}: the dense layers read f16 copies of the masters each step wrote; losses follow the multi-tensor path's`, async () => {
      const single = await train(kind, false)
      const multi = await train(kind, true)
      single.forEach((l, i) => expect(Math.abs(l - multi[i]), `step ${i + 1}`).toBeLessThan(1e-5))
      expect(single.at(-1)).toBeLessThan(single[0]) // the steps train
    })
  }
})
