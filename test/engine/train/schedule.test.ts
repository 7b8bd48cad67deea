import { describe, expect, it } from 'vitest'
import { linearWarmupDecay, warmupSteps } from '../../../engine/train/schedule'

describe('linear warm-up then linear decay', () => {
  it('rises from 0 to the peak over 10% of the steps, then falls to 0 at the end', () => {
    const lr = linearWarmupDecay({ peak: 1e-3, total: 100 })
    expect(warmupSteps({ peak: 1, total: 100 })).toBe(10)
    expect(warmupSteps({ peak: 1, total: 15 })).toBe(2) // rounded up, like HF
    const curve = Array.from({ length: 101 }, (_, i) => lr(i))
    expect(curve[0]).toBe(0)
    expect(curve[5]).toBeCloseTo(5e-4, 12)
    expect(curve[10]).toBeCloseTo(1e-3, 12)
    expect(curve[55]).toBeCloseTo(5e-4, 12)
    expect(curve[100]).toBe(0)
    expect(Math.max(...curve)).toBeCloseTo(1e-3, 12)
    for (let i = 1; i <= 10; i++) expect(curve[i]).toBeGreaterThan(curve[i - 1])
    for (let i = 11; i <= 100; i++) expect(curve[i]).toBeLessThan(curve[i - 1])
    expect(lr(150)).toBe(0)
  })

  it('without warm-up starts at the peak; refuses nonsense', () => {
    expect(linearWarmupDecay({ peak: 2, total: 4, warmupSteps: 0 })(0)).toBe(2)
    expect(() => linearWarmupDecay({ peak: 1, total: 0 })).toThrow(/total steps must be positive/)
    expect(() => linearWarmupDecay({ peak: 1, total: 5, warmupSteps: 6 })).toThrow(/warm-up \(6\)/)
  })
})
