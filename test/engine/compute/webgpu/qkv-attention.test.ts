// Self-attention with the Q, K, V projections as one product (engine/compute/webgpu/qkv-attention.ts,
// ops/attention.ts fusedSelfAttention) against the projections apart (three dense layers and the
// attention core) on webgpu and against tfjs cpu running the plain composition: the context bit for bit
// the apart one's, the gradients of x and of the six projection tensors within rounding; ragged T,
// padding, dropout, one and four threads per row, f16 inputs rounded as they load or stored in f16 (the
// same bits either way); where it does not apply; and a tiny-model training run: 8 dispatches fewer per layer and step, the losses within rounding.
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, it } from 'vitest'
import { setAttentionLanes, setHalfStorage, setMatmulInputs, setQkvFusion } from '../../../../engine/compute/webgpu/flags'
import { dispatchesRecorded } from '../../../../engine/compute/webgpu/runner'
import { linear } from '../../../../engine/model/ops/dense'
import { attentionCore, fusedSelfAttention, type Projections } from '../../../../engine/model/ops/attention'
import { train } from '../../../../engine/train/loop'
import { randomValues } from '../../model/ops/compare'
import { TINY_BERT, tinyConfig } from '../../train/tiny-config'
import { describeOnWebgpu } from './on-webgpu'
import { expectNear, valueAndGrads } from './value-and-grads'

const MASKED = -3.4028234663852886e38
const t = (shape: number[], seed: number, scale = 1) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed).map((x) => x * scale), shape)

interface Case {
  B: number
  T: number
  H: number
  heads: number
  padded: number[]
  rate: number
}

/** x, the six projection tensors and the mask of a case. */
function inputs(c: Case): tf.Tensor[] {
  const mask = new Float32Array(c.B * c.T)
  c.padded.forEach((p, b) => mask.fill(MASKED, b * c.T + c.T - p, b * c.T + c.T))
  return [
    t([c.B, c.T, c.H], 1, 2),
    ...[10, 20, 30].flatMap((s) => [t([c.H, c.H], s, 0.5), t([c.H], s + 1)]),
    tf.tensor(mask, [c.B, 1, 1, c.T]),
  ]
}

const projections = ([wq, bq, wk, bk, wv, bv]: tf.Tensor[]): Projections => ({ wq, bq, wk, bk, wv, bv }) as Projections

/** The projections apart: the dense op three times (or tfjs's matMul off webgpu), then the attention core. */
function apart(c: Case, x: tf.Tensor, p: Projections, mask: tf.Tensor) {
  const x2 = x.reshape([c.B * c.T, c.H]) as tf.Tensor2D
  const [q, k, v] = [[p.wq, p.bq], [p.wk, p.bk], [p.wv, p.bv]].map(([w, b]) => linear(x2, w as tf.Tensor2D, b as tf.Tensor1D).reshape([c.B, c.T, c.H]) as tf.Tensor3D)
  return attentionCore(q, k, v, mask as tf.Tensor4D, { heads: c.heads, dropoutRate: c.rate, seed: 7 })
}

function fused(c: Case, x: tf.Tensor, p: Projections, mask: tf.Tensor) {
  const out = fusedSelfAttention(x as tf.Tensor3D, p, mask as tf.Tensor4D, { heads: c.heads, dropoutRate: c.rate, seed: 7 })
  if (!out) throw new Error('the fused self-attention did not apply')
  return out
}

/** The context and the gradients of sum(context · fixed weights) w.r.t. x and the six projection tensors (the mask's left out). */
const probe = async (c: Case, f: typeof apart): Promise<Float32Array[]> =>
  (await valueAndGrads((x, ...rest) => f(c, x, projections(rest.slice(0, 6)), rest[6]), () => inputs(c))).slice(0, 8)

/**
 * |a − b| ≤ tol · (1 + the largest |b| of the output), per output. The key bias's gradient (output 5) is
 * 0 in exact arithmetic (a shift of every key's score by q·bk leaves the softmax as it is): both sides
 * only near 0 there, within tol · (1 + the largest |dWk|).
 */
function expectProjectionsNear(a: Float32Array[], b: Float32Array[], tol: number, label: string) {
  expect(a).toHaveLength(b.length)
  const keyBias = 1 + Math.max(...Array.from(b[4], Math.abs))
  for (const side of [a[5], b[5]]) for (let i = 0; i < side.length; i++) if (!(Math.abs(side[i]) <= 10 * tol * keyBias)) expect.fail(`${label}, the key bias's gradient element ${i}: ${side[i]}, not near 0`)
  expectNear(a, b, tol, label, [5])
}

const CASES: Case[] = [
  { B: 2, T: 7, H: 12, heads: 3, padded: [0, 3], rate: 0 },
  { B: 2, T: 33, H: 16, heads: 2, padded: [5, 0], rate: 0.3 },
  { B: 1, T: 70, H: 64, heads: 2, padded: [9], rate: 0 }, // head size 32; query blocks past 64
  { B: 1, T: 70, H: 64, heads: 2, padded: [0], rate: 0.1 },
]

const dir = mkdtempSync(join(tmpdir(), 'mengzi-qkv-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describeOnWebgpu('self-attention with the Q, K, V projections as one product', () => {
  afterEach(() => {
    setQkvFusion(true)
    setAttentionLanes(false)
    setMatmulInputs('f32')
    setHalfStorage(true)
  })

  it('equals the projections apart (context bit for bit, gradients within rounding) and tfjs cpu, with one and four threads per row', async () => {
    for (const c of CASES) {
      for (const lanes of [false, true]) {
        setAttentionLanes(lanes)
        const label = `${JSON.stringify(c)}${lanes ? ', 4 threads per row' : ''}`
        const one = await probe(c, fused)
        const three = await probe(c, apart)
        expect(Buffer.from(one[0].buffer).equals(Buffer.from(three[0].buffer)), `${label}: context bit for bit`).toBe(true)
        expectProjectionsNear(one, three, 2e-5, `${label}: against apart`)
        // (dropout on cpu is another op's mask: kernels.test.ts checks the webgpu mask against the hash)
        if (lanes || c.rate > 0) continue
        await tf.setBackend('cpu')
        const cpu = await probe(c, apart) // the plain composition: tfjs matMul and ops on cpu
        await tf.setBackend('webgpu')
        expectProjectionsNear(one, cpu, 2e-5, `${label}: against cpu`)
      }
    }
  })

  it('with f16 inputs rounded as they load (f16 storage off) it still equals the projections apart', async () => {
    setMatmulInputs('f16')
    setHalfStorage(false)
    const c = CASES[1]
    const one = await probe(c, fused)
    const three = await probe(c, apart)
    expect(Buffer.from(one[0].buffer).equals(Buffer.from(three[0].buffer))).toBe(true)
    expectProjectionsNear(one, three, 2e-5, 'f16 inputs')
  })

  it('under f16 storage: the same bits as f16 inputs rounded as they load, the context bit for bit the projections apart', async () => {
    setMatmulInputs('f16')
    const oddHead: Case = { B: 2, T: 9, H: 6, heads: 2, padded: [2, 0], rate: 0.2 } // head size 3: the copies packed after the kernel
    for (const c of [CASES[1], CASES[2], oddHead]) {
      for (const lanes of [false, true]) {
        setAttentionLanes(lanes)
        const label = `${JSON.stringify(c)}${lanes ? ', 4 threads per row' : ''}`
        setHalfStorage(true)
        const stored = await probe(c, fused)
        const three = await probe(c, apart)
        setHalfStorage(false)
        const loading = await probe(c, fused)
        stored.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(loading[i].buffer)), `${label}: output ${i} as rounding as it loads`).toBe(true))
        expect(Buffer.from(stored[0].buffer).equals(Buffer.from(three[0].buffer)), `${label}: context bit for bit`).toBe(true)
        expectProjectionsNear(stored, three, 2e-3, `${label}: against apart`) // f16 inputs of products in other associations
      }
    }
  })

  it('does not apply with the setting off, off webgpu, or under f16 storage with H odd', async () => {
    const c = CASES[0]
    const ins = inputs(c)
    const call = (x = ins) => fusedSelfAttention(x[0] as tf.Tensor3D, projections(x.slice(1, 7)), x[7] as tf.Tensor4D, { heads: c.heads, dropoutRate: 0, seed: 0 })
    const on = call()
    expect(on).not.toBeNull()
    on?.dispose()
    setQkvFusion(false)
    expect(call()).toBeNull()
    setQkvFusion(true)
    setMatmulInputs('f16') // f16 storage is on by default: the weights' f16 copies are stacked as whole words
    const odd = inputs({ ...c, H: 9 })
    expect(call(odd)).toBeNull()
    setHalfStorage(false)
    const rounding = call(odd)
    expect(rounding).not.toBeNull()
    tf.dispose([rounding!, ...odd])
    setMatmulInputs('f32')
    await tf.setBackend('cpu')
    const onCpu = inputs(c)
    expect(call(onCpu)).toBeNull()
    tf.dispose(onCpu)
    await tf.setBackend('webgpu')
    tf.dispose(ins)
  })

  it('a tiny-model training run: 8 dispatches fewer per layer and step, the losses within rounding of the projections apart', async () => {
    // weights drawn wide (σ 0.5): the losses then depend on the attention's and the projections' sums
    const steps = 4
    const config = tinyConfig({ backend: 'webgpu', totalSteps: steps, checkpointEvery: 0, model: { config: { ...TINY_BERT, initializer_range: 0.5 } } })
    let before = dispatchesRecorded()
    const one = await train(config, { runDir: join(dir, 'one') })
    const oneDispatches = dispatchesRecorded() - before
    setQkvFusion(false)
    before = dispatchesRecorded()
    const three = await train(config, { runDir: join(dir, 'three') })
    const threeDispatches = dispatchesRecorded() - before
    expect(threeDispatches - oneDispatches).toBe(8 * TINY_BERT.num_hidden_layers * steps)
    expect(one.losses).toHaveLength(steps)
    expect(one.losses[0]).toBe(three.losses[0]) // the same forward bits before any update
    one.losses.forEach((loss, k) => expect(Math.abs(loss - three.losses[k]) / three.losses[k]).toBeLessThan(1e-5))
  })
})
