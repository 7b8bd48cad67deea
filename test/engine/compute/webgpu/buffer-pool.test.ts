// The bound on tfjs-webgpu's buffer pool (buffer-pool.ts), on lavapipe: a training run over new batch
// shapes every step holds at most twice its peak in use, where tfjs's pool alone keeps every size it
// ever made; the losses are the same bits; shapes that repeat make no buffer; the least recently used
// sizes go first; the pool's byte counts stay true.
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { bufferPoolCounts, setBufferPoolBound } from '../../../../engine/compute/webgpu/buffer-pool'
import { train } from '../../../../engine/train/loop'
import { TINY_BERT, tinyConfig } from '../../train/tiny-config'
import { describeOnWebgpu } from './on-webgpu'

interface Pool {
  freeBuffers: Map<string, { size: number }[]>
  usedBuffers: Map<string, { size: number }[]>
  numBytesUsed: number
  numBytesAllocated: number
}
const pool = () => (tf.backend() as unknown as { bufferManager: Pool }).bufferManager
const counts = () => bufferPoolCounts(tf.backend())!
const bytesOf = (lists: Map<string, { size: number }[]>) => [...lists.values()].flat().reduce((sum, b) => sum + b.size, 0)

const dir = mkdtempSync(join(tmpdir(), 'mengzi-buffer-pool-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// batches of 4 sequences of 2–62 tokens, 15% masked: new lengths and new masked counts every step
const varying = tinyConfig({
  backend: 'webgpu',
  totalSteps: 30,
  maxSeqLength: 64,
  data: { kind: 'synthetic', sequences: 400, minLength: 2, maxLength: 62, seed: 3 },
  model: { config: { ...TINY_BERT, max_position_embeddings: 64 } },
})

describeOnWebgpu('the bounded buffer pool on webgpu', () => {
  it('holds at most twice its peak in use over a run with new shapes every step, where tfjs\'s pool keeps them all; the same losses', async () => {
    expect(counts()).not.toBeNull() // start.ts bounds the pool of the backend it makes
    const before = counts().destroyed
    const held: [number, number][] = []
    const bounded = await train(varying, { runDir: join(dir, 'bounded') }, {
      progress: () => held.push([pool().numBytesAllocated, counts().mostInUse]),
    })
    expect(held).toHaveLength(30)
    for (const [step, [allocated, peak]] of held.entries()) expect(allocated, `step ${step + 1}`).toBeLessThanOrEqual(2 * peak)
    expect(counts().destroyed).toBeGreaterThan(before)
    expect(pool().numBytesAllocated).toBe(bytesOf(pool().freeBuffers) + bytesOf(pool().usedBuffers)) // the counts tf.memory() reports stay true

    const previous = setBufferPoolBound(false)
    try {
      const destroyed = counts().destroyed
      const unbounded = await train(varying, { runDir: join(dir, 'unbounded') })
      expect(unbounded.losses).toEqual(bounded.losses) // which buffers a step gets changes no value
      expect(counts().destroyed).toBe(destroyed)
      // tfjs's pool alone: several times the peak in use
      expect(pool().numBytesAllocated).toBeGreaterThan(4 * counts().mostInUse)
    } finally {
      setBufferPoolBound(previous)
    }
  })

  it('makes no buffer and destroys none while the shapes repeat', async () => {
    const w = tf.variable(tf.randomNormal([24, 40], 0, 0.1, 'float32', 1))
    const optimizer = tf.train.adam(1e-3)
    const step = async (rows: number) => {
      const x = tf.randomNormal([rows, 24], 0, 1, 'float32', rows)
      const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: rows }, (_, i) => (7 * i) % 40), 'int32'), 40))
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, tf.matMul(x, w).relu()), true)!
      await loss.data()
      tf.dispose([x, labels, loss])
    }
    const made = () => [pool().numBytesAllocated, counts().destroyed]
    await step(9)
    await step(9) // the moments exist from the first update on
    const warm = made()
    for (let i = 0; i < 6; i++) await step(9)
    expect(made()).toEqual(warm)
    w.dispose()
    optimizer.dispose()
  })

  it('destroys the sizes used least recently first, and only once the free bytes pass the peak in use', async () => {
    const peak = counts().mostInUse
    // eight sizes of a third of the peak each, made and released one after the other: after the third
    // the free bytes pass the peak, so making the next size destroys the oldest first
    const elements = Math.ceil(peak / 3 / 4)
    const keys: string[] = []
    for (let i = 0; i < 8; i++) {
      const t = tf.fill([elements + i], 1.5)
      await t.data()
      const size = (elements + i) * 4
      keys.push([...pool().usedBuffers.keys()].find((k) => k.startsWith(`${size}_`) && pool().usedBuffers.get(k)!.length > 0)!)
      t.dispose()
    }
    const freeOf = (key: string) => pool().freeBuffers.get(key)?.length ?? 0
    expect(keys.every(Boolean)).toBe(true)
    expect(freeOf(keys[7])).toBe(1) // the newest kept
    expect(freeOf(keys[0])).toBe(0) // the oldest destroyed
    const kept = keys.map(freeOf)
    expect(kept.indexOf(1)).toBeGreaterThan(0)
    expect(kept.slice(kept.indexOf(1)).every((n) => n === 1)).toBe(true) // gone: a prefix, oldest first
    expect(pool().numBytesAllocated).toBeLessThanOrEqual(2 * counts().mostInUse)
    expect(pool().numBytesAllocated).toBe(bytesOf(pool().freeBuffers) + bytesOf(pool().usedBuffers))
  })
})
