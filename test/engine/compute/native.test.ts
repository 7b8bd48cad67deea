// @mengzi/native at its boundary: what loads, the one-line refusals, and that the thread pool gives
// the same bits as one thread.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { nativeAddon, nativeStatus } from '../../../engine/compute/native'
import { randomValues } from './kernels/on-backends'

const addon = () => nativeAddon()!
const tsxCli = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/cli.mjs')

describe('@mengzi/native', () => {
  it('loads with a BLAS and says which (CI installs OpenBLAS; npm builds the addon)', () => {
    const status = nativeStatus()
    expect(status).toMatchObject({ available: true })
    if (status.available) {
      expect(status.detail).toMatch(/blas|Accelerate/i)
      expect(status.threads).toBeGreaterThanOrEqual(1)
    }
  })

  it('multiplies strided batches with broadcast and transposes, as the definition says', () => {
    const [m, n, k, batch] = [3, 4, 5, 2]
    const a = randomValues(batch * k * m, 1) // Aᵢ stored transposed: [k, m]
    const b = randomValues(k * n, 2) // one B for every batch (stride 0)
    const c = new Float32Array(batch * m * n).fill(1)
    addon().sgemm(true, false, m, n, k, 2, a, 0, m, k * m, b, 0, n, 0, 0.5, c, 0, n, m * n, batch)
    for (let i = 0; i < batch; i++)
      for (let r = 0; r < m; r++)
        for (let j = 0; j < n; j++) {
          let s = 0
          for (let p = 0; p < k; p++) s += a[i * k * m + p * m + r] * b[p * n + j]
          expect(c[i * m * n + r * n + j]).toBeCloseTo(2 * s + 0.5, 5)
        }
  })

  it('splits large products over threads (rows, columns, batches) with the same results as one call', () => {
    const previous = addon().kernelThreads()
    for (const [m, n, k, batch, tb] of [[700, 90, 64, 1, false], [40, 3000, 32, 1, true], [64, 64, 48, 12, false]] as const) {
      const a = randomValues(batch * m * k, m), b = randomValues(batch * k * n, n)
      const run = (threads: number) => {
        addon().kernelThreads(threads)
        const c = new Float32Array(batch * m * n)
        addon().sgemm(false, tb, m, n, k, 1, a, 0, k, m * k, b, 0, tb ? k : n, k * n, 0, c, 0, n, m * n, batch)
        return c
      }
      const whole = run(1) // one thread: one BLAS call per matrix
      const split = run(3)
      for (let i = 0; i < whole.length; i += 97) expect(split[i]).toBeCloseTo(whole[i], 5)
      expect(split[whole.length - 1]).toBeCloseTo(whole[whole.length - 1], 5)
    }
    addon().kernelThreads(previous)
  })

  it('keeps every result right over thousands of pool jobs of mixed sizes (no lost or repeated parts)', () => {
    const previous = addon().kernelThreads(3)
    const x = randomValues(200 * 700, 11)
    const expected = new Float64Array(700)
    for (let i = 0; i < 200; i++) for (let j = 0; j < 700; j++) expected[j] += x[i * 700 + j]
    for (let round = 0; round < 3000; round++) {
      const rows = [1, 200, 7, 150][round % 4] // 1 and 7 rows stay on the caller; 150 and 200 split
      const out = new Float32Array(700).fill(NaN)
      addon().sumRows(x, rows, 700, out)
      const j = (round * 31) % 700
      let want = 0
      for (let i = 0; i < rows; i++) want += x[i * 700 + j]
      if (rows === 200) want = expected[j]
      if (Math.abs(out[j] - want) > 1e-4 || Number.isNaN(out[699])) expect.fail(`round ${round}: column ${j} is ${out[j]}, expected ${want}`)
    }
    addon().kernelThreads(previous)
  })

  it('refuses products that would reach past an array, in one line, writing nothing', () => {
    const c = new Float32Array(6).fill(7)
    const call = (cOffset: number, ldb: number) => () =>
      addon().sgemm(false, false, 2, 3, 4, 1, new Float32Array(8), 0, 4, 0, new Float32Array(12), 0, ldb, 0, 0, c, cOffset, 3, 0, 1)
    expect(call(1, 3)).toThrow(/^sgemm: c: the matrices reach element 7 of an array of 6$/)
    expect(call(0, 2)).toThrow(/^sgemm: b: leading dimension 2 is smaller than its 3 columns$/)
    expect(() => addon().sgemm(false, false, 2, 3, 4, 1, new Float64Array(8) as unknown as Float32Array, 0, 4, 0, new Float32Array(12), 0, 3, 0, 0, c, 0, 3, 0, 1)).toThrow(
      /^sgemm: argument 6 must be a Float32Array$/,
    )
    expect(Array.from(c)).toEqual(new Array(6).fill(7))
  })

  it('gives the same bits on one thread and on several (sums, scatters, LayerNorm, GELU)', () => {
    const x = randomValues(300 * 1000, 3)
    const ids = Int32Array.from(randomValues(700, 4), (v) => Math.floor((v + 1) * 500))
    const rows = randomValues(700 * 16, 5)
    const run = (threads: number) => {
      addon().kernelThreads(threads)
      const sums = new Float32Array(1000)
      addon().sumRows(x, 300, 1000, sums)
      const table = new Float32Array(1000 * 16).fill(3)
      addon().scatterAddRows(rows, ids, ids[0], table, 1000, 16)
      const [H, n] = [1000, 300]
      const y = new Float32Array(n * H), xhat = new Float32Array(n * H), rstd = new Float32Array(n)
      addon().layerNormForward(x, rows.subarray(0, H), rows.subarray(H, 2 * H), n, H, 1e-12, y, xhat, rstd)
      const dx = new Float32Array(n * H), dgamma = new Float32Array(H), dbeta = new Float32Array(H)
      addon().layerNormBackward(y, xhat, rstd, rows.subarray(0, H), n, H, dx, dgamma, dbeta)
      const gelu = new Float32Array(n * H), cdf = new Float32Array(n * H)
      addon().geluForward(x, gelu, cdf)
      return { sums, table, y, xhat, rstd, dx, dgamma, dbeta, gelu }
    }
    const previous = addon().kernelThreads()
    const one = run(1)
    const several = run(4)
    addon().kernelThreads(previous)
    for (const key of Object.keys(one) as (keyof typeof one)[]) {
      expect(Buffer.from(several[key].buffer).equals(Buffer.from(one[key].buffer)), key).toBe(true)
    }
    let column7 = 0
    for (let i = 0; i < 300; i++) column7 += x[i * 1000 + 7]
    expect(one.sums[7]).toBeCloseTo(column7, 4)
    expect(one.table.slice(ids[0] * 16, ids[0] * 16 + 16).every((v) => v === 0)).toBe(true) // the skipped id's row
  })
})

describe('@mengzi/native determinism', () => {
  // Separate processes: the instruction set is chosen once per process.
  const digest = (env: Record<string, string>) =>
    execFileSync(process.execPath, [tsxCli, join(__dirname, 'native-bits.ts')], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim()

  it('gives the same bits on 1 and 3 threads, with AVX2 and with the baseline x86-64 code', () => {
    const reference = digest({ MENGZI_THREADS: '1' })
    expect(reference).toMatch(/^[0-9a-f]{64}$/)
    expect(digest({ MENGZI_THREADS: '3' })).toBe(reference)
    expect(digest({ MENGZI_THREADS: '2', MENGZI_NATIVE_BASELINE: '1' })).toBe(reference)
  }, 60_000)
})
