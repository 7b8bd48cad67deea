import { describe, expect, it } from 'vitest'
import { Rng } from '../../../engine/compute/rng'

describe('Rng', () => {
  it('is deterministic per seed and resumes exactly from a saved state', () => {
    const a = new Rng(123)
    const b = new Rng(123)
    const first = Array.from({ length: 5 }, () => a.nextUint32())
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(first)
    expect(new Rng(124).nextUint32()).not.toBe(first[0])
    const saved = JSON.parse(JSON.stringify(a.state()))
    const rest = Array.from({ length: 10 }, () => a.next())
    expect(Array.from({ length: 10 }, () => new Rng(saved).next())).not.toEqual(rest) // a fresh Rng per call restarts
    const c = new Rng(saved)
    expect(Array.from({ length: 10 }, () => c.next())).toEqual(rest)
    expect(() => new Rng({ sfc32: [1, 2, 3] as unknown as [number, number, number, number] })).toThrow(/four uint32 words/)
  })

  it('draws uniform integers and normals with the right moments', () => {
    const r = new Rng(9)
    const counts = new Array(10).fill(0)
    for (let i = 0; i < 20000; i++) counts[r.int(10)]++
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200)
    const xs = r.fillNormal(new Float32Array(20001), 2)
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length)
    expect(Math.abs(mean)).toBeLessThan(0.05)
    expect(Math.abs(sd - 2)).toBeLessThan(0.05)
  })
})
