import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../engine/compute/backends'
import { deviceWaits } from '../../../engine/compute/read'
import { train } from '../../../engine/train/loop'
import { TINY_BERT, tinyConfig } from './tiny-config'

const dir = mkdtempSync(join(tmpdir(), 'mengzi-loop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('training loop', () => {
  it('learns: the MLM loss falls on data with structure', async () => {
    // each segment counts upward from a random start, so a masked id is its neighbour plus one
    const lines = Array.from({ length: 64 }, (_, i) => JSON.stringify(Array.from({ length: 12 }, (_, j) => 104 + ((i * 7 + j) % 36))))
    writeFileSync(join(dir, 'counting.jsonl'), lines.join('\n'))
    const config = tinyConfig({
      model: { config: { ...TINY_BERT, num_hidden_layers: 1 } },
      data: { kind: 'token-file', path: join(dir, 'counting.jsonl') },
      optimizer: 'adamw',
      learningRate: 5e-3,
      totalSteps: 30,
      batchSize: 8,
      warmupRatio: 0.05,
    })
    const { losses } = await train(config, { runDir: join(dir, 'learn'), keepCheckpoints: 1 })
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    console.log(`loss first 5 steps ${mean(losses.slice(0, 5)).toFixed(3)}, last 5 ${mean(losses.slice(-5)).toFixed(3)}`)
    expect(mean(losses.slice(0, 5))).toBeGreaterThan(Math.log(140) - 0.3)
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.5)
  })

  it('trains SOP beside MLM, reporting both losses', async () => {
    const config = tinyConfig({ pairObjective: 'sop', totalSteps: 3, model: { config: { ...TINY_BERT, num_hidden_layers: 1 } } })
    const points = new Map<string, number[]>()
    await train(config, { runDir: join(dir, 'sop') }, {
      metrics: (ps) => ps.forEach((p) => points.set(p.name, [...(points.get(p.name) ?? []), p.value])),
    })
    expect([...points.keys()].sort()).toEqual(['acc/mlm', 'acc/sop', 'grad_norm', 'loss', 'loss/mlm', 'loss/sop', 'lr', 'tokens_per_sec'])
    points.get('loss')!.forEach((l, i) => expect(l).toBeCloseTo(points.get('loss/mlm')![i] + points.get('loss/sop')![i], 5))
    for (const l of points.get('loss/sop')!) expect(Math.abs(l - Math.log(2))).toBeLessThan(0.2) // a 2-way guess at the start
  })

  it('waits on the backend once per step, for all its values together, while the next step records; reports and checkpoints stay in step order', async () => {
    const config = tinyConfig({ pairObjective: 'sop', totalSteps: 6, model: { config: { ...TINY_BERT, num_hidden_layers: 1 } } })
    const base = deviceWaits()
    const waitsAtReport: number[] = []
    const { losses } = await train(config, { runDir: join(dir, 'pipelined') }, { progress: () => waitsAtReport.push(deviceWaits() - base) })
    expect(losses).toHaveLength(6)
    losses.forEach((l) => expect(Number.isFinite(l)).toBe(true))
    // step n is reported once step n+1 has issued its reads (one wait each); the last after the loop
    expect(waitsAtReport).toEqual([2, 3, 4, 5, 6, 6])

    // a checkpoint waits for its step's values: the step is reported first, and its loss is in the state
    const events: string[] = []
    let lossAt3 = NaN
    await train({ ...config, checkpointEvery: 3 }, { runDir: join(dir, 'pipelined-ckpt') }, {
      progress: (p) => {
        events.push(`progress ${p.step}`)
        if (p.step === 3) lossAt3 = p.loss
      },
      checkpoint: (c) => events.push(`checkpoint ${c.step}`),
    })
    expect(events).toEqual(['progress 1', 'progress 2', 'progress 3', 'checkpoint 3', 'progress 4', 'progress 5', 'progress 6', 'checkpoint 6'])
    const state = JSON.parse(readFileSync(join(dir, 'pipelined-ckpt', 'checkpoints', 'step-00000003', 'trainer_state.json'), 'utf8'))
    expect(state.lastLoss).toBe(lossAt3)
    expect(lossAt3).toBe(losses[2]) // the same run, read step by step or pipelined
  })

  // wasm runs every native fused kernel (their extra outputs are saved for backward, then released).
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`leaks no tensors on ${backend}: tf.memory().numTensors and numBytes are flat over 100 steps`, async () => {
      expect((await selectBackend(backend)).name).toBe(backend)
      try {
        const config = tinyConfig({
          backend,
          model: { config: { ...TINY_BERT, hidden_size: 16, num_hidden_layers: 1, intermediate_size: 32 } },
          data: { kind: 'synthetic', sequences: 50, minLength: 2, maxLength: 8, seed: 1 },
          batchSize: 2,
          totalSteps: 100,
        })
        const counts: [number, number][] = []
        const before = tf.memory().numTensors
        await train(config, { runDir: join(dir, `leak-${backend}`) }, { progress: () => counts.push([tf.memory().numTensors, tf.memory().numBytes]) })
        expect(counts.length).toBe(100)
        // moments appear after the first update, then nothing grows. Until the last step, the next
        // step's values (read while it records) are alive when a step is reported: the same tensors,
        // their argmax as long as that batch's masked positions (at most 2 × 24 int32)
        expect(counts[98][0]).toBe(counts[1][0])
        expect(Math.abs(counts[98][1] - counts[1][1])).toBeLessThanOrEqual(2 * 24 * 4)
        expect(counts[99][0]).toBeLessThan(counts[1][0]) // nothing pending after the last step
        expect(tf.memory().numTensors).toBe(before)
      } finally {
        await tf.setBackend('cpu')
      }
    })
  }
})
