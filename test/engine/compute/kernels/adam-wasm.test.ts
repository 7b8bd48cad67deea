// MengziAdamW / MengziLamb: registered on wasm only, and the raw addon calls under them (LAMB's trust
// ratio, wrong calls refused in one line). Optimizer-level comparisons: test/engine/train/optimizers-fused.test.ts.
import { beforeAll, describe, expect, it } from 'vitest'
import { hasFusedKernel } from '../../../../engine/compute/kernels/fused'
import { nativeAddon, type NativeAddon } from '../../../../engine/compute/native'
import { useBackend } from '../../model/ops/compare'

let addon: NativeAddon
beforeAll(async () => {
  await useBackend('wasm')
  addon = nativeAddon()!
})

const f32 = (xs: number[]) => new Float32Array(xs)
const HYPER = [0.1, 0.9, 0.999, 1e-6, 0, 1 - 0.9, 1 - 0.999] as const // lr β1 β2 ε λ bc1 bc2, step 1

/** One LAMB step from zero moments; returns the trust ratio and p'. */
function lamb(p: number[], g: number[], weightDecay = 0): { trust: number; next: Float32Array } {
  const n = p.length
  const next = new Float32Array(n)
  const [lr, b1, b2, eps, , bc1, bc2] = HYPER
  const trust = addon.lambStep(f32(p), f32(g), new Float32Array(n), new Float32Array(n), next, new Float32Array(n), new Float32Array(n), lr, b1, b2, eps, weightDecay, bc1, bc2)
  return { trust, next }
}

describe('MengziAdamW / MengziLamb', () => {
  it('are fused kernels on wasm with the addon on, absent on wasm-js and cpu', async () => {
    expect(hasFusedKernel('MengziAdamW') && hasFusedKernel('MengziLamb')).toBe(true)
    await useBackend('wasm-js')
    expect(hasFusedKernel('MengziAdamW') || hasFusedKernel('MengziLamb')).toBe(false)
    await useBackend('cpu')
    expect(hasFusedKernel('MengziAdamW') || hasFusedKernel('MengziLamb')).toBe(false)
    await useBackend('wasm')
  })

  it('LAMB: trust ‖p‖/‖u‖, and 1 where ‖p‖, ‖u‖ or both are 0', () => {
    // step 1 from zero moments: r = sign(g)·(1 − ~ε), so u = (1, −1) and ‖u‖ = √2
    const { trust, next } = lamb([3, 4], [2, -5])
    expect(trust).toBeCloseTo(5 / Math.SQRT2, 5)
    expect(next[0]).toBeCloseTo(3 - 0.1 * (5 / Math.SQRT2), 5)
    expect(lamb([0, 0], [1, -1]).trust).toBe(1) // ‖p‖ = 0: a zero-initialised bias
    expect(lamb([1, 2], [0, 0]).trust).toBe(1) // ‖u‖ = 0: no gradient, no decay
    expect(lamb([0, 0], [0, 0]).trust).toBe(1)
    expect(Array.from(lamb([0, 0], [0, 0]).next)).toEqual([0, 0])
    // no gradient but decay: u = λp, trust 1/λ, so p ← p·(1 − lr)
    const decayed = lamb([1, 2], [0, 0], 0.5)
    expect(decayed.trust).toBeCloseTo(2, 6)
    expect(Array.from(decayed.next)).toEqual([0.9, 1.8].map(Math.fround))
  })

  it('refuses arrays of different lengths, and non-arrays, in one line', () => {
    const four = () => new Float32Array(4)
    const call = (which: 'adamwStep' | 'lambStep', g: Float32Array) => () => addon[which](four(), g, four(), four(), four(), four(), four(), ...HYPER)
    for (const which of ['adamwStep', 'lambStep'] as const) {
      expect(call(which, new Float32Array(3))).toThrow(new RegExp(`^${which}: p, g, m, v, pOut, mOut and vOut must have one length$`))
      expect(call(which, new Int32Array(4) as unknown as Float32Array)).toThrow(`${which}: argument 1 must be a Float32Array`)
    }
    expect(() => (addon.adamwStep as unknown as (...a: unknown[]) => void)(four(), four())).toThrow('adamwStep: expects 14 arguments, got 2')
  })
})
