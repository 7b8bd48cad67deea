import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { BENCH_CONFIGS } from '../../../engine/model/config'
import { benchBatch, benchTrain, median } from '../../../engine/train/bench'

describe('bench train', () => {
  it('builds the fixed batch: 19 of 128 positions masked per sequence, [CLS] never, no padding id', async () => {
    await tf.setBackend('cpu')
    const batch = benchBatch(BENCH_CONFIGS.A, 16)
    expect(batch.inputIds.shape).toEqual([16, 128])
    const ids = (await batch.inputIds.data()) as Int32Array
    expect(ids.every((id) => id > 0 && id < 21128)).toBe(true)
    for (let b = 0; b < 16; b++) {
      const row = batch.labels.slice(b * 128, (b + 1) * 128)
      expect(row.filter((y) => y !== -100).length).toBe(19)
      expect(row[0]).toBe(-100)
    }
    // Deterministic, so the PyTorch side (test/bench/train_torch.py) trains on the same batch.
    expect(Array.from(benchBatch(BENCH_CONFIGS.A, 16).labels)).toEqual(Array.from(batch.labels))
  })

  it('times steps of the engine model and reports median and tokens/s', async () => {
    const steps: boolean[] = []
    const r = await benchTrain({ config: 'A', backend: 'wasm', warmupSteps: 0, timedSteps: 2, onStep: (s) => steps.push(s.warmup) })
    expect(steps).toEqual([false, false])
    expect(r).toMatchObject({ config: 'A', backend: 'wasm', batchSize: 16, sequenceLength: 128, maskedPerSequence: 19, parameters: 3204872 })
    expect(r.stepMs).toHaveLength(2)
    expect(r.medianStepMs).toBe(median(r.stepMs))
    expect(r.tokensPerSec).toBeCloseTo((16 * 128 * 1000) / r.medianStepMs, 6)
    // Near ln(21128) ≈ 9.96 at the start, and going down.
    expect(r.losses[0]).toBeGreaterThan(9)
    expect(r.losses[1]).toBeLessThan(r.losses[0])
  })

  it('median of an even count averages the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([5, 1, 3])).toBe(3)
  })
})
