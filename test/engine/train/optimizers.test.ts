import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Weights } from '../../../engine/model/bert'
import { AdamW, clipByGlobalNorm, Lamb, trustRatio } from '../../../engine/train/optimizers'
import { Rng } from '../../../engine/compute/rng'
import { useBackend } from '../model/ops/compare'


const norm = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0))

/** LAMB (You et al. 2019, Alg. 2) for one tensor, in float64 plain numbers. */
function lambByHand(w: number[], grads: number[][], lr: number, decay: number, b1 = 0.9, b2 = 0.999, eps = 1e-6): number[] {
  let m = w.map(() => 0)
  let v = w.map(() => 0)
  let p = [...w]
  grads.forEach((g, i) => {
    const t = i + 1
    m = m.map((mi, j) => b1 * mi + (1 - b1) * g[j])
    v = v.map((vi, j) => b2 * vi + (1 - b2) * g[j] * g[j])
    const r = m.map((mi, j) => mi / (1 - b1 ** t) / (Math.sqrt(v[j] / (1 - b2 ** t)) + eps))
    const u = r.map((ri, j) => ri + decay * p[j])
    const wn = norm(p)
    const un = norm(u)
    const trust = wn > 0 && un > 0 ? wn / un : 1
    p = p.map((pj, j) => pj - lr * trust * u[j])
  })
  return p
}

function randoms(n: number, rng: Rng, scale = 1): number[] {
  return Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale)
}

// wasm runs the fused native kernels (optimizers-fused.test.ts compares them with the composition)
describe.each(['cpu', 'wasm'] as const)('on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend)
  })

  describe('LAMB', () => {
    it('matches a float64 hand computation over two steps, with and without decay', () => {
      const rng = new Rng(42)
      const w0 = randoms(12, rng)
      const b0 = randoms(3, rng, 0.1)
      const g1 = [randoms(12, rng, 0.01), randoms(12, rng, 0.01)]
      const g2 = [randoms(3, rng), randoms(3, rng)]
      const weights: Weights = new Map<string, tf.Variable>([
        ['layer.dense.weight', tf.variable(tf.tensor2d(w0, [3, 4]))],
        ['layer.dense.bias', tf.variable(tf.tensor1d(b0))],
      ])
      const lamb = new Lamb(weights, { weightDecay: 0.01 })
      for (let s = 0; s < 2; s++) {
        lamb.step(new Map<string, tf.Tensor>([['layer.dense.weight', tf.tensor2d(g1[s], [3, 4])], ['layer.dense.bias', tf.tensor1d(g2[s])]]), 0.05)
      }
      const wantW = lambByHand(w0, g1, 0.05, 0.01)
      const wantB = lambByHand(b0, g2, 0.05, 0) // biases: no decay
      const gotW = weights.get('layer.dense.weight')!.dataSync()
      const gotB = weights.get('layer.dense.bias')!.dataSync()
      wantW.forEach((x, i) => expect(gotW[i]).toBeCloseTo(x, 6))
      wantB.forEach((x, i) => expect(gotB[i]).toBeCloseTo(x, 6))
      // the update differs from a plain decay-free computation, so decay really was applied to the weight
      expect(Math.abs(lambByHand(w0, g1, 0.05, 0)[0] - wantW[0])).toBeGreaterThan(1e-5)
      expect(lamb.stepCount).toBe(2)
      lamb.dispose()
    })

    it('trust ratio is ‖w‖/‖u‖, and 1 where either norm is 0', () => {
      expect(trustRatio(tf.tensor1d([3, 4]), tf.tensor1d([0, 2])).dataSync()[0]).toBeCloseTo(2.5, 6)
      expect(trustRatio(tf.zeros([3]), tf.tensor1d([1, 2, 3])).dataSync()[0]).toBe(1)
      expect(trustRatio(tf.tensor1d([1, 2, 3]), tf.zeros([3])).dataSync()[0]).toBe(1)
      expect(trustRatio(tf.zeros([3]), tf.zeros([3])).dataSync()[0]).toBe(1)
    })

    it('a zero-initialised bias takes a full-size step (trust 1) and a zero gradient leaves weights decaying only', () => {
      const weights: Weights = new Map([
        ['x.bias', tf.variable(tf.zeros([4]))],
        ['x.weight', tf.variable(tf.tensor1d([1, -1, 2, 0]))],
      ])
      const lamb = new Lamb(weights, { weightDecay: 0.1 })
      lamb.step(new Map([['x.bias', tf.tensor1d([1, -2, 3, 0])], ['x.weight', tf.zeros([4])]]), 0.01)
      // bias: r = sign(g)·(1 − ~ε), trust 1 → each entry moves by lr
      const b = weights.get('x.bias')!.dataSync()
      ;[-0.01, 0.01, -0.01, 0].forEach((x, i) => expect(b[i]).toBeCloseTo(x, 6))
      // weight: r = 0, u = λw, trust = ‖w‖/‖λw‖ = 1/λ → w ← w − lr·w
      const w = weights.get('x.weight')!.dataSync()
      ;[1, -1, 2, 0].forEach((x, i) => expect(w[i]).toBeCloseTo(x * (1 - 0.01), 6))
      lamb.dispose()
    })
  })

  describe('AdamW', () => {
    it('matches PyTorch semantics by hand: decoupled decay, bias correction, ε outside the root', () => {
      const weights: Weights = new Map([['a.weight', tf.variable(tf.tensor1d([0.5, -1.5]))]])
      const adam = new AdamW(weights, { weightDecay: 0.1, eps: 1e-8 })
      const gs = [[0.1, -0.2], [0.3, 0.05]]
      for (const g of gs) adam.step(new Map([['a.weight', tf.tensor1d(g)]]), 0.01)
      let p = [0.5, -1.5]
      let m = [0, 0]
      let v = [0, 0]
      gs.forEach((g, i) => {
        const t = i + 1
        p = p.map((x) => x * (1 - 0.01 * 0.1))
        m = m.map((x, j) => 0.9 * x + 0.1 * g[j])
        v = v.map((x, j) => 0.999 * x + 0.001 * g[j] ** 2)
        p = p.map((x, j) => x - (0.01 / (1 - 0.9 ** t)) * (m[j] / (Math.sqrt(v[j]) / Math.sqrt(1 - 0.999 ** t) + 1e-8)))
      })
      const got = weights.get('a.weight')!.dataSync()
      p.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 6))
    })

    it('saves and restores its moments so the next step is identical', () => {
      const make = () => new Map([['w.weight', tf.variable(tf.tensor1d([1, 2, 3]))]]) as Weights
      const g = () => new Map([['w.weight', tf.tensor1d([0.1, -0.3, 0.2])]])
      const a = make()
      const adamA = new AdamW(a)
      adamA.step(g(), 0.1)
      const saved = new Map([...adamA.stateTensors()].map(([k, t]) => [k, { shape: t.shape, data: t.dataSync() as Float32Array }]))
      expect([...saved.keys()]).toEqual(['exp_avg.w.weight', 'exp_avg_sq.w.weight'])
      const b = make()
      b.get('w.weight')!.assign(a.get('w.weight')!)
      const adamB = new AdamW(b)
      adamB.loadState(saved, adamA.stepCount)
      adamA.step(g(), 0.1)
      adamB.step(g(), 0.1)
      expect(b.get('w.weight')!.dataSync()).toEqual(a.get('w.weight')!.dataSync())
      expect(() => adamB.loadState(new Map([['exp_avg.nope', saved.get('exp_avg.w.weight')!]]), 1)).toThrow('"exp_avg.nope" names no parameter')
    })
  })

  describe('clipping by global norm', () => {
    it('scales all gradients by maxNorm/(‖g‖+1e-6) when above, leaves them otherwise', () => {
      const grads = () => new Map([['a', tf.tensor1d([3, 0])], ['b', tf.tensor1d([0, 4])]])
      const { grads: clipped, norm: n } = clipByGlobalNorm(grads(), 1)
      expect(n.dataSync()[0]).toBeCloseTo(5, 6)
      expect(clipped.get('a')!.dataSync()[0]).toBeCloseTo(3 / (5 + 1e-6), 6)
      expect(clipped.get('b')!.dataSync()[1]).toBeCloseTo(4 / (5 + 1e-6), 6)
      const { grads: same } = clipByGlobalNorm(grads(), 10)
      expect(same.get('b')!.dataSync()[1]).toBe(4)
    })
  })
})
