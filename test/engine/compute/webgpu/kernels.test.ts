// Every WGSL kernel against tfjs's cpu backend running the composition it replaces: values and
// gradients, shapes with ragged edges (not multiples of the 64×64×16 product tiles or the workgroup
// sizes), padding masks and ignored labels, large and small values. Tiny shapes: lavapipe is a CPU.
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { hasFusedKernel } from '../../../../engine/compute/kernels/fused'
import { gatherRows } from '../../../../engine/model/bert'
import { attentionCore } from '../../../../engine/model/ops/attention'
import { linear } from '../../../../engine/model/ops/dense'
import { dropout } from '../../../../engine/model/ops/dropout'
import { gelu } from '../../../../engine/model/ops/gelu'
import { layerNorm } from '../../../../engine/model/ops/layer-norm'
import { softmaxCrossEntropy } from '../../../../engine/model/ops/softmax-cross-entropy'
import { dropoutParams } from '../../../../engine/compute/webgpu/wgsl'
import { AdamW, Lamb, clipByGlobalNorm } from '../../../../engine/train/optimizers'
import { expectClose, randomValues } from '../../model/ops/compare'
import { keptByHash } from './dropout-hash'
import { flashInputs, plainAttention } from './flash-reference'
import { valueAndGrads } from './value-and-grads'
import { describeOnWebgpu } from './on-webgpu'


/** The same computation on webgpu (our kernels) and on cpu (the tfjs composition). */
async function onBoth(f: (...xs: tf.Tensor[]) => tf.Tensor, make: () => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const gpu = await valueAndGrads(f, make)
  await tf.setBackend('cpu')
  const cpu = await valueAndGrads(f, make)
  await tf.setBackend('webgpu')
  return [gpu, cpu]
}

const t = (shape: number[], seed: number, scale = 1) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed).map((x) => x * scale), shape)

/** Whether element i survives dropout with (rate, seed), by the native kernels' definition. */
function kept(i: number, rate: number, seed: number): boolean {
  const { seedWord, threshold } = dropoutParams(rate, seed)
  return keptByHash(i, seedWord, threshold)
}

/**
 * Each output within tol × its own largest |value| (no floor of 1, so tiny outputs are compared too);
 * an all-zero expected output (dq, dk at T = 1: a softmax over one key is constant) within tol of 0.
 */
function expectCloseToScale(actual: Float32Array[], expected: Float32Array[], tol: number, label: string): void {
  expect(actual.length).toBe(expected.length)
  actual.forEach((a, k) => {
    expect(a.length).toBe(expected[k].length)
    const scale = expected[k].reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1
    let worst = 0
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - expected[k][i]) / scale)
    expect(worst, `${label}: output ${k}, max error / max |value|`).toBeLessThanOrEqual(tol)
  })
}

describeOnWebgpu('fused WGSL kernels against the cpu backend', () => {
  it('registers every fused kernel for webgpu', () => {
    for (const name of ['MengziDense', 'MengziDenseGrad', 'MengziLayerNorm', 'MengziLayerNormGrad', 'MengziGelu', 'MengziGeluGrad', 'MengziSoftmaxXent', 'MengziSoftmaxXentGrad', 'MengziAdamW', 'MengziLamb', 'MengziAttention', 'MengziAttentionGrad', 'MengziDropout', 'MengziScatterAddRows', 'MengziSquaredNormAdd']) {
      expect(hasFusedKernel(name), name).toBe(true)
    }
  })

  it('dense (tiled product, bias epilogue; dx, dW, db): ragged shapes, large and small values', async () => {
    for (const [N, K, M, scale] of [[67, 45, 130, 1], [5, 3, 2, 1], [64, 16, 64, 1e3], [33, 70, 17, 1e-3]] as const) {
      const [gpu, cpu] = await onBoth((x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), () => [t([N, K], 1, scale), t([M, K], 2), t([M], 3)])
      expectClose(gpu, cpu, 2e-5)
    }
  })

  it('LayerNorm with and without the residual: values, dx, dγ, dβ (ragged H, large offsets)', async () => {
    for (const [rows, H, scale] of [[7, 33, 1], [3, 130, 1e3], [65, 8, 1e-2]] as const) {
      const make = () => [t([rows, H], 4, scale).add(scale * 3), t([H], 5).add(1), t([H], 6)]
      const [gpu, cpu] = await onBoth((x, g, b) => layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12), make)
      expectClose(gpu, cpu, 5e-5)
      const withResidual = () => [...make(), t([rows, H], 7, scale)]
      const [gpuR, cpuR] = await onBoth((x, g, b, r) => layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12, r), withResidual)
      expectClose(gpuR, cpuR, 5e-5)
    }
  })

  it('GELU (erf): values and gradients, from −8 to 8 and tiny values', async () => {
    for (const scale of [8, 1e-4]) {
      const [gpu, cpu] = await onBoth((x) => gelu(x), () => [t([3, 257], 8, scale)])
      expectClose(gpu, cpu, 2e-6)
    }
  })

  it('softmax cross-entropy over a wide vocab with ignored rows: loss and dlogits, large logits', async () => {
    const labels = Int32Array.from([5, -100, 999, 0, -100, 777, 3])
    for (const scale of [1, 50]) {
      const [gpu, cpu] = await onBoth((z) => softmaxCrossEntropy(z as tf.Tensor2D, labels), () => [t([7, 1000], 9, scale)])
      expectClose(gpu, cpu, 2e-5)
    }
  })

  it('attention core without dropout: context and dq, dk, dv with padding masks (T not a multiple of the workgroup)', async () => {
    const inputs = (B: number, T: number, H: number, padded: number[]) => () => {
      const mask = new Float32Array(B * T)
      padded.forEach((p, b) => mask.fill(-3.4028234663852886e38, b * T + T - p, b * T + T))
      return [t([B, T, H], 11, 2), t([B, T, H], 12, 2), t([B, T, H], 13, 2), tf.tensor(mask, [B, 1, 1, T])]
    }
    for (const [B, T, H, heads, padded] of [[2, 5, 8, 2, [0, 2]], [2, 67, 24, 3, [0, 30]]] as const) {
      const f = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, m: tf.Tensor) => attentionCore(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, m as tf.Tensor4D, { heads, dropoutRate: 0, seed: 0 })
      const [gpu, cpu] = await onBoth(f, inputs(B, T, H, [...padded]))
      expectClose(gpu.slice(0, 4), cpu.slice(0, 4), 2e-5)
    }
  })

  it('dropout by hash: the native kernels mask bit for bit (computed here from its definition), forward and backward', async () => {
    const rate = 0.3
    const seed = 123456789
    const n = 1000
    const x = randomValues(n, 14)
    const [y, dx] = await valueAndGrads((a) => dropout(a, rate, seed), () => [tf.tensor(x)])
    const weights = randomValues(n, 77)
    const { scale } = dropoutParams(rate, seed)
    let keptCount = 0
    for (let i = 0; i < n; i++) {
      const keep = kept(i, rate, seed)
      keptCount += keep ? 1 : 0
      expect(y[i] + 0).toBe(keep ? Math.fround(x[i] * scale) : 0) // + 0: a dropped negative is −0
      expect(dx[i] + 0).toBe(keep ? Math.fround(weights[i] * scale) : 0)
    }
    expect(keptCount / n).toBeGreaterThan(0.6)
    expect(keptCount / n).toBeLessThan(0.8)
  })

  it('attention with dropout applies the dropout op mask on the probabilities (same seed)', async () => {
    const [B, T, H, heads] = [2, 9, 8, 2]
    const make = () => [t([B, T, H], 15), t([B, T, H], 16), t([B, T, H], 17), tf.zeros([B, 1, 1, T])]
    const fusedF = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, m: tf.Tensor) => attentionCore(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, m as tf.Tensor4D, { heads, dropoutRate: 0.25, seed: 99 })
    const composed = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, m: tf.Tensor) => {
      const split = (a: tf.Tensor) => a.reshape([B, T, heads, H / heads]).transpose([0, 2, 1, 3])
      const probs = dropout(tf.softmax(tf.matMul(split(q), split(k), false, true).mul((H / heads) ** -0.5).add(m), -1), 0.25, 99)
      return tf.matMul(probs, split(v)).transpose([0, 2, 1, 3]).reshape([B, T, H])
    }
    expectClose((await valueAndGrads(fusedF, make)).slice(0, 4), (await valueAndGrads(composed, make)).slice(0, 4), 2e-5)
  })

  it('flash attention: ragged T (1, 7, 33, 130; head sizes 4, 8, 64), padded keys, dropout on and off, scores large and small, against plain tfjs ops on cpu with the hash mask', async () => {
    const seed = 2024
    // [B, T, H, heads, padded keys per sequence, scale of q]
    const cases = [
      [2, 1, 8, 2, [0, 0], 1],
      [2, 7, 12, 3, [0, 3], 1],
      [2, 33, 16, 2, [5, 0], 30], // scores in the tens: softmax rows near one-hot
      [1, 33, 128, 2, [10], 1], // head size 64: key tiles of 24 rows, the last one ragged
      [2, 130, 24, 3, [0, 61], 1], // query and key blocks past 64 and 32 rows
      [2, 130, 24, 3, [7, 0], 1e-3], // scores near 0: rows near uniform, dk tiny
    ] as const
    for (const [B, T, H, heads, padded, qScale] of cases) {
      const make = flashInputs(B, T, H, padded, qScale)
      for (const rate of [0, 0.3]) {
        const label = `B ${B}, T ${T}, H ${H}, heads ${heads}, q × ${qScale}, dropout ${rate}`
        const fusedF = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, m: tf.Tensor) => attentionCore(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, m as tf.Tensor4D, { heads, dropoutRate: rate, seed })
        const plainF = plainAttention(B, T, H, heads, rate, seed) // the hash mask written out by index
        expect(hasFusedKernel('MengziAttention')).toBe(true)
        const gpu = (await valueAndGrads(fusedF, make)).slice(0, 4) // context, dq, dk, dv (the mask gets no gradient)
        await tf.setBackend('cpu')
        const cpu = (await valueAndGrads(plainF, make)).slice(0, 4)
        await tf.setBackend('webgpu')
        expectCloseToScale(gpu, cpu, qScale === 30 ? 1e-4 : 2e-5, label)
        if (T === 130 && rate > 0) {
          // determinism (exact resume relies on it): no atomics, so a second run gives the same bits
          const again = (await valueAndGrads(fusedF, make)).slice(0, 4)
          again.forEach((a, k) => expect(Buffer.from(a.buffer).equals(Buffer.from(gpu[k].buffer)), `${label}: output ${k} bit for bit`).toBe(true))
        }
      }
    }
  })

  it('flash attention keeps O(T) per query row for backward, not the [B, heads, T, T] probabilities', () => {
    const [B, T, H, heads] = [2, 33, 16, 2]
    const outs = tf.engine().runKernel('MengziAttention', { q: t([B, T, H], 54), k: t([B, T, H], 55), v: t([B, T, H], 56), mask: tf.zeros([B, 1, 1, T]) }, { heads, scale: 0.25, rate: 0, seed: 0 }) as tf.Tensor[]
    expect(outs.map((o) => o.shape)).toEqual([
      [B, T, H],
      [B, heads, T, 2],
    ])
    tf.dispose(outs)
  })

  it('embedding-gradient scatter-add: repeated ids, the padding id skipped, same as cpu', async () => {
    const ids = Int32Array.from([3, 0, 3, 7, 9, 3, 0, 1, 9, 9, 2])
    const [gpu, cpu] = await onBoth((table) => gatherRows(table as tf.Tensor2D, tf.tensor1d(ids, 'int32'), 0), () => [t([10, 70], 18)])
    expectClose(gpu, cpu, 1e-6)
  })

  it('AdamW and LAMB steps (with and without decay) equal the cpu composition', async () => {
    for (const Opt of [AdamW, Lamb]) {
      const run = async () => {
        const weights = new Map([
          ['a.weight', tf.variable(t([67, 5], 19))],
          ['a.bias', tf.variable(t([300], 20, 1e-3))],
        ])
        const opt = new Opt(weights, { weightDecay: 0.01 })
        for (let step = 0; step < 3; step++) {
          const grads = new Map([...weights].map(([name, w], i) => [name, t(w.shape, 30 + step * 2 + i, step === 2 ? 1e3 : 1)]))
          opt.step(grads, 1e-2)
          tf.dispose([...grads.values()])
        }
        const out = [...(await Promise.all([...weights.values(), ...opt.stateTensors().values()].map(async (v) => Float32Array.from(await v.data()))))]
        opt.dispose()
        tf.dispose([...weights.values()])
        return out
      }
      const gpu = await run()
      await tf.setBackend('cpu')
      const cpu = await run()
      await tf.setBackend('webgpu')
      expectClose(gpu, cpu, 1e-5)
    }
  })

  it('global-norm clipping without AddN: the norm over 45 gradients of ragged sizes and the clipped gradients equal cpu', async () => {
    const run = async () => {
      const grads = new Map(Array.from({ length: 45 }, (_, i) => [`p${i}`, t([1 + (i % 7), 1 + ((i * 13) % 300)], 40 + i, i === 3 ? 1e3 : 1)]))
      const { grads: clipped, norm } = clipByGlobalNorm(grads, 1)
      const out = [Float32Array.from(await norm.data()), ...(await Promise.all([...clipped.values()].map(async (g) => Float32Array.from(await g.data()))))]
      tf.dispose([norm, ...clipped.values()])
      return out
    }
    expect(hasFusedKernel('MengziSquaredNormAdd')).toBe(true)
    const gpu = await run()
    await tf.setBackend('cpu')
    const cpu = await run()
    await tf.setBackend('webgpu')
    expectClose(gpu, cpu, 1e-5)
  })
})
