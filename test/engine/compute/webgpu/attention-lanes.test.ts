// The flash attention with 4 threads per row (engine/compute/webgpu/attention-lanes.ts): where it runs
// (flag, subgroups, head size), then forward and backward against tfjs cpu running the plain composition
// with the hash dropout mask and against the one-thread-per-row kernels (attention.ts), on ragged T,
// padded keys, dropout on and off, scores large and small; the same through workgroup memory (the path
// of partial subgroups), bit for bit the shuffles; repeatable bit for bit; and a tiny-model training run
// with the lanes against without. The fp16 cases (packed copies, bounds) are attention-half.test.ts's.
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, it } from 'vitest'
import { attentionLanesFor, setLaneSumsInMemory } from '../../../../engine/compute/webgpu/attention-lanes'
import { setAttentionLanes } from '../../../../engine/compute/webgpu/flags'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { attentionCore } from '../../../../engine/model/ops/attention'
import { train } from '../../../../engine/train/loop'
import { TINY_BERT, tinyConfig } from '../../train/tiny-config'
import { flashInputs, plainAttention } from './flash-reference'
import { expectNear, valueAndGrads } from './value-and-grads'
import { describeOnWebgpu } from './on-webgpu'


/** Context and dq, dk, dv of sum(attention · fixed weights) (the mask gets no gradient). */
const attentionGrads = async (f: (...xs: tf.Tensor[]) => tf.Tensor, make: () => tf.Tensor[]) => (await valueAndGrads(f, make)).slice(0, 4)

const sameBits = (a: Float32Array[], b: Float32Array[], label: string) =>
  a.forEach((x, o) => expect(Buffer.from(x.buffer).equals(Buffer.from(b[o].buffer)), `${label}, output ${o} bit for bit`).toBe(true))

const dir = mkdtempSync(join(tmpdir(), 'mengzi-lanes-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describeOnWebgpu('flash attention with 4 threads per row', () => {
  afterEach(() => {
    setAttentionLanes(false)
    setLaneSumsInMemory(false)
  })

  it('runs where asked for, the device has subgroups and the head size is a multiple of 8', () => {
    const device = webgpuInternals(tf.backend()).device
    expect(attentionLanesFor({ hd: 64 }, device)).toBe('') // off by default
    setAttentionLanes(true)
    expect(attentionLanesFor({ hd: 64 }, device)).toBe(device.features.has('subgroups') ? '-lanes4' : '')
    expect(attentionLanesFor({ hd: 12 }, device)).toBe('')
    expect(attentionLanesFor({ hd: 64 }, { features: new Set<string>() })).toBe('')
  })

  // [B, T, H, heads, padded keys per sequence, scale of q]: head sizes 8, 16 and 64 (key tiles of 24)
  const CASES = [
    [2, 1, 16, 2, [0, 0], 1],
    [2, 7, 16, 2, [0, 3], 1],
    [2, 33, 32, 2, [5, 0], 30], // scores in the tens: softmax rows near one-hot
    [1, 33, 128, 2, [10], 1],
    [2, 130, 24, 3, [0, 61], 1], // query and key blocks past 64 and 32 rows
    [2, 130, 24, 3, [7, 0], 1e-3], // scores near 0
  ] as const

  it('forward and backward equal tfjs cpu and the one-thread-per-row kernels within rounding; through workgroup memory bit for bit the shuffles; repeatable', async () => {
    const device = webgpuInternals(tf.backend()).device
    if (!device.features.has('subgroups')) return // the lanes never run here: attentionLanesFor says ''
    const seed = 2024
    for (const [B, T, H, heads, padded, qScale] of CASES) {
      const make = flashInputs(B, T, H, padded, qScale)
      for (const rate of [0, 0.3]) {
        const label = `B ${B}, T ${T}, H ${H}, heads ${heads}, q × ${qScale}, dropout ${rate}`
        const fused = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, m: tf.Tensor) => attentionCore(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, m as tf.Tensor4D, { heads, dropoutRate: rate, seed })
        const plain = plainAttention(B, T, H, heads, rate, seed)
        setAttentionLanes(false)
        const rows = await attentionGrads(fused, make)
        setAttentionLanes(true)
        const lanes = await attentionGrads(fused, make)
        await tf.setBackend('cpu')
        const cpu = await attentionGrads(plain, make)
        await tf.setBackend('webgpu')
        const tol = qScale === 30 ? 1e-4 : 2e-5
        expectNear(lanes, cpu, tol, `${label}: lanes against cpu`)
        expectNear(lanes, rows, tol, `${label}: lanes against a thread per row`)
        setLaneSumsInMemory(true)
        sameBits(await attentionGrads(fused, make), lanes, `${label}: sums through workgroup memory`)
        setLaneSumsInMemory(false)
        if (T === 130) sameBits(await attentionGrads(fused, make), lanes, `${label}: again`)
      }
    }
  })

  it('a tiny-model training run (head size 16) with the lanes gives the losses without them within rounding', async () => {
    // weights drawn wide (σ 0.5, not 0.02): scores of order 1, so that the softmax is far from uniform
    // and every step's loss depends on the attention's sums (at 0.02 a lane adding half its row passes)
    const config = tinyConfig({ backend: 'webgpu', totalSteps: 4, model: { config: { ...TINY_BERT, initializer_range: 0.5 } } })
    const rows = await train(config, { runDir: join(dir, 'rows') })
    setAttentionLanes(true)
    const lanes = await train(config, { runDir: join(dir, 'lanes') })
    expect(lanes.losses).toHaveLength(4)
    lanes.losses.forEach((loss, k) => expect(Math.abs(loss - rows.losses[k]) / rows.losses[k]).toBeLessThan(1e-4))
  })
})
