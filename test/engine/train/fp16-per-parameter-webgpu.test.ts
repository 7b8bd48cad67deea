// fp16 on webgpu with the per-parameter optimizer (`multiTensor: false`: compute/webgpu/adam.ts, one
// update per parameter). Like the multi-tensor update (whose dispatch writes the f16 copies into the
// arena, tested in half.test.ts), its update writes the f16 copy of each new value in the pass that
// writes the value, a tensor of its own given to the new data id (half-weights.ts), so the forward after
// a step packs no weight. A few real steps of the tiny BERT's MLM (loss scaled, gradients clipped),
// AdamW and LAMB, both paths: after each step and before the forward every parameter's data already
// has its copy, and the forward reads those very copies (it packed none); they equal f16 of the masters
// the step wrote (not the copies from before it); a clone taken before a step keeps a copy of its own
// (old) values; the per-parameter losses follow the multi-tensor ones. Bound: the two paths' global
// norms sum in another order (≤ 1.2e-7 apart, multi-adam.test.ts) and every step here is clipped;
// measured on lavapipe the losses were equal bit for bit over the 4 steps; the test allows 1e-5.
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { lossAndGrads } from '../../../engine/compute/grads'
import { usePrecision } from '../../../engine/compute/precision'
import type { HalfOperand } from '../../../engine/compute/webgpu/half'
import { halfWeight, heldHalfWeight } from '../../../engine/compute/webgpu/half-weights'
import { webgpuInternals } from '../../../engine/compute/webgpu/runner'
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

const CLONED = 'bert.encoder.layer.0.attention.self.query.weight'

/** The weights the dense products read: the encoder's and the MLM transform's, and the tied decoder's table. */
const DENSE = /\.(query|key|value|dense)\.weight$|^bert\.embeddings\.word_embeddings\.weight$/

/**
 * Checks the copies the last forward read: one for each dense weight's current data, equal to f16 of
 * its master and, after a step, unlike the copy before it. `packedOnRead` (the first forward, before
 * any update): copies are made only as the products read, so the other weights have none; after a
 * step, both paths' updates have written one for every parameter. Returns the copies' values.
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

/** After a step, before the forward: the copy the update gave each parameter's new data (all have one). */
function copiesFromUpdate(weights: Weights, step: number): Map<string, HalfOperand> {
  const held = new Map<string, HalfOperand>()
  for (const [name, w] of weights) {
    const copy = heldHalfWeight(w.dataId)
    expect(copy, `before forward ${step}: ${name}'s update wrote its f16 copy`).toBeDefined()
    held.set(name, copy!)
  }
  return held
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
      const fromUpdate = step > 1 ? copiesFromUpdate(weights, step) : null
      const out = lossAndGrads(weights, () => {
        const { hiddenStates } = bertEncoder(weights, MODEL, batch, EVAL, { pooler: false })
        return mlmLoss(weights, MODEL, hiddenStates[hiddenStates.length - 1], batch.labels).mul(LOSS_SCALE) as tf.Scalar
      })
      before = await expectFreshCopies(weights, before, step, step === 1)
      // the forward read the update's copies: it packed none of its own
      for (const [name, w] of weights) if (fromUpdate) expect(heldHalfWeight(w.dataId), `step ${step}: ${name}'s copy is the update's`).toBe(fromUpdate.get(name))
      // per-parameter: the clipped gradients are new tensors (out.grads disposed); multi-tensor: the same
      const clipped = optimizer.clipGradients(out.grads, 1, LOSS_SCALE)
      const clone = step === 2 ? weights.get(CLONED)!.clone() : null // shares the data (and copy) the step replaces
      optimizer.step(clipped.grads, LR)
      if (clone) {
        const old = Array.from((await clone.data()) as Float32Array)
        const copy = halfWeight(webgpuInternals(tf.backend()), clone)
        expect(Array.from(await readHalf(copy, clone.shape)), 'a clone taken before the step: f16 of its own values').toEqual(old.map(f16))
        expect(old).not.toEqual(Array.from((await weights.get(CLONED)!.data()) as Float32Array))
        clone.dispose()
      }
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
    it(`${kind}: the update writes the f16 copies the next forward reads (it packs none); a clone keeps its own; losses follow the multi-tensor path's`, async () => {
      const single = await train(kind, false)
      const multi = await train(kind, true)
      single.forEach((l, i) => expect(Math.abs(l - multi[i]), `step ${i + 1}`).toBeLessThan(1e-5))
      expect(single.at(-1)).toBeLessThan(single[0]) // the steps train
    })
  }
})
