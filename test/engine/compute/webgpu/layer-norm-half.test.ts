// The fused LayerNorm under fp16 storage (compute/webgpu/layer-norm.ts): MengziLayerNorm keeps x̂, what
// its backward reads, as packed f16 (1/σ stays f32), and MengziLayerNormGrad computes in f32 from f16(x̂).
//   forward:  the stored x̂ is f16(x̂) of the f32 x̂ that storage off gives, bit for bit (f16.ts's
//             reference rounding), for each way it is written: word pairs in the kernel (H even), packed
//             after (H odd); y and 1/σ are unchanged.
//   backward: bit for bit the backward from f32 x̂ rounded as it loads (storage off), and against tfjs
//             cpu computing from f16(x̂) and the same 1/σ within the bounds derived at `bounds`.
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import { afterEach, expect, it } from 'vitest'
import { runFused } from '../../../../engine/compute/kernels/fused'
import { setHalfStorage, setMatmulInputs } from '../../../../engine/compute/webgpu/flags'
import { halfWords, unpackHalf } from '../../../../engine/compute/webgpu/half'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { randomValues } from '../../model/ops/compare'
import { f16, readInfo } from './f16'
import { describeOnWebgpu } from './on-webgpu'

const backend = () => webgpuInternals(tf.backend())
const U = 2 ** -24 // f32's unit roundoff

const values = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => Float32Array.from((await t.data()) as Float32Array)))
const unpacked = (info: TensorInfo, n: number) => readInfo(unpackHalf(backend(), info, [n]))
const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`${what} element ${i}: ${a[i]} against ${b[i]}`)
}

/**
 * bounds: per output element, how far ours may be from cpu's, both in f32 from the same f16(x̂) (x16),
 * 1/σ (r), γ and dy; they differ only in the order of sums and in rounding (or fusing) each operation.
 * Per row, with g = dy·γ (each product within U·|g| of exact on either side):
 *   meanG = Σ g / H: two summation orders of H terms, (H − 1)·U·Σ|g| each, the products 2U·Σ|g|, the
 *   division U·|meanG| each side: ΔG ≤ (2(H + 1)·U·Σ|g|) / H + 2U·|meanG|. meanGX = Σ g·x16 / H alike,
 *   with one product more: ΔGX ≤ (2(H + 2)·U·Σ|g·x16|) / H + 2U·|meanGX|.
 *   dx = r·((g − meanG) − x16·meanGX): |r|·(ΔG + |x16|·ΔGX) from the means, and the five operations
 *   rounded on each side, 2·5·U·|r|·(|g| + |meanG| + |x16·meanGX|).
 *   dγ = Σ_rows dy·x16: 2·rows·U·Σ|dy·x16| (two orders of rows − 1 additions, the products); dβ = Σ dy:
 *   2(rows − 1)·U·Σ|dy|.
 */
function bounds(rows: number, H: number, dy: Float32Array, x16: number[], r: Float32Array, gamma: Float32Array) {
  const dx = new Float64Array(rows * H)
  const dgamma = new Float64Array(H)
  const dbeta = new Float64Array(H)
  for (let row = 0; row < rows; row++) {
    let sg = 0, sgAbs = 0, sgx = 0, sgxAbs = 0
    for (let c = 0; c < H; c++) {
      const k = row * H + c
      const g = dy[k] * gamma[c]
      ;(sg += g), (sgAbs += Math.abs(g)), (sgx += g * x16[k]), (sgxAbs += Math.abs(g * x16[k]))
    }
    const [meanG, meanGX] = [sg / H, sgx / H]
    const dG = (2 * (H + 1) * U * sgAbs) / H + 2 * U * Math.abs(meanG)
    const dGX = (2 * (H + 2) * U * sgxAbs) / H + 2 * U * Math.abs(meanGX)
    const rr = Math.abs(r[row])
    for (let c = 0; c < H; c++) {
      const k = row * H + c
      const g = dy[k] * gamma[c]
      dx[k] = rr * (dG + Math.abs(x16[k]) * dGX) + 10 * U * rr * (Math.abs(g) + Math.abs(meanG) + Math.abs(x16[k] * meanGX))
    }
  }
  for (let c = 0; c < H; c++) {
    let sxy = 0, sy = 0
    for (let row = 0; row < rows; row++) (sxy += Math.abs(dy[row * H + c] * x16[row * H + c])), (sy += Math.abs(dy[row * H + c]))
    dgamma[c] = 2 * rows * U * sxy
    dbeta[c] = 2 * Math.max(rows - 1, 0) * U * sy
  }
  return [dx, dgamma, dbeta]
}

/** tfjs cpu from f16(x̂) and 1/σ: [dx, dγ, dβ] (ops/layer-norm.ts's composition backward). */
async function cpuBackward(rows: number, H: number, dy: Float32Array, x16: number[], r: Float32Array, gamma: Float32Array): Promise<Float32Array[]> {
  await tf.setBackend('cpu')
  const ts = tf.tidy(() => {
    const [d, xh, rs, g] = [tf.tensor(dy, [rows, H]), tf.tensor(x16, [rows, H]), tf.tensor(r, [rows, 1]), tf.tensor(gamma)]
    const dxhat = tf.mul(d, g)
    const dx = tf.mul(rs, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))))
    return [dx, tf.sum(tf.mul(d, xh), 0), tf.sum(d, 0)]
  })
  const v = ts.map((t) => Float32Array.from(t.dataSync() as Float32Array))
  tf.dispose(ts)
  await tf.setBackend('webgpu')
  return v
}

/** Rows of x: random values · scale + offset; with `tiny`, each row ±scale at two columns and the rest
 *  within 1e-6·scale of 0, so that most of x̂ is below f16's normals (6.1e-5): subnormal or 0. */
function inputValues(rows: number, H: number, scale: number, offset: number, tiny: boolean, seed: number): Float32Array {
  const v = randomValues(rows * H, seed).map((x) => x * scale * (tiny ? 1e-6 : 1) + offset)
  if (tiny) for (let row = 0; row < rows; row++) (v[row * H] = offset + scale), (v[row * H + 1] = offset - scale)
  return v
}

describeOnWebgpu('LayerNorm with x̂ stored in f16 (fp16 storage on webgpu)', () => {
  afterEach(() => {
    setMatmulInputs('f32')
    setHalfStorage(true)
  })

  // [shape, scale, offset, tiny, residual]: H 50 and 200 word pairs (one and two passes of the 64 invocations),
  // 33 and 7 packed after; offsets 1e4 (x̂ from a large mean), scales 1e3 and 1e-3, dy scaled alike below
  const CASES: [number[], number, number, boolean, boolean][] = [
    [[13, 50], 1, 0, false, false],
    [[2, 9, 200], 1e3, 1e4, false, true],
    [[17, 33], 1e-3, 0, false, true],
    [[5, 7], 1, 3, false, false],
    [[6, 64], 1, 0, true, false],
    [[3, 31], 10, 0, true, true],
  ]

  for (const [shape, scale, offset, tiny, residual] of CASES) {
    it(`shape ${shape}, scale ${scale}, offset ${offset}${tiny ? ', tiny x̂' : ''}${residual ? ', residual' : ''}: x̂ stored as f16(x̂); backward equals cpu from f16(x̂)`, async () => {
      const H = shape[shape.length - 1]
      const n = shape.reduce((a, b) => a * b)
      const rows = n / H
      setMatmulInputs('f16')
      const xv = inputValues(rows, H, scale, offset, tiny, H)
      const gv = randomValues(H, rows).map((v) => v + 1)
      const bv = randomValues(H, rows + 1)
      const dyv = randomValues(n, n).map((v) => v * (tiny ? 1e3 : 1 / scale))
      const [x, gamma, beta, dy] = [tf.tensor(xv, shape), tf.tensor(gv), tf.tensor(bv), tf.tensor(dyv, shape)]
      const res = residual ? tf.tensor(randomValues(n, 5).map((v) => v * scale * (tiny ? 1e-6 : 1)), shape) : undefined
      const inputs: tf.NamedTensorMap = res ? { x, gamma, beta, residual: res } : { x, gamma, beta }

      // forward: f32 x̂ (storage off), then packed x̂ (on)
      setHalfStorage(false)
      const [y32, xhat32, rstd32] = runFused('MengziLayerNorm', inputs, { eps: 1e-12 })
      setHalfStorage(true)
      const [yh, xhath, rstdh] = runFused('MengziLayerNorm', inputs, { eps: 1e-12 })
      expect(xhat32.dtype).toBe('float32')
      expect(xhath.dtype).toBe('int32')
      expect(xhath.shape).toEqual([halfWords(n)])
      const [y32v, xhat32v, rstd32v, yhv, rstdhv] = await values([y32, xhat32, rstd32, yh, rstdh])
      same(yhv, y32v, 'y')
      same(rstdhv, rstd32v, '1/σ')
      const x16 = Array.from(xhat32v, f16)
      same(await unpacked(xhath, n), x16, 'stored x̂ against f16(x̂)')
      if (tiny) expect(x16.filter((v) => v !== 0 && Math.abs(v) < 2 ** -14).length).toBeGreaterThan(rows * 10)

      // backward from packed x̂, and from f32 x̂ rounded as it loads (storage off): the same bits
      const fromPacked = await values(runFused('MengziLayerNormGrad', { dy, xhat: xhath, rstd: rstdh, gamma }))
      setHalfStorage(false)
      const fromF32 = await values(runFused('MengziLayerNormGrad', { dy, xhat: xhat32, rstd: rstd32, gamma }))
      ;['dx', 'dγ', 'dβ'].forEach((name, k) => same(fromPacked[k], fromF32[k], `${name} (packed against rounded as it loads)`))

      const refs = await cpuBackward(rows, H, dyv, x16, rstd32v, gv)
      const tol = bounds(rows, H, dyv, x16, rstd32v, gv)
      refs.forEach((ref, k) => {
        for (let i = 0; i < ref.length; i++) {
          const err = Math.abs(fromPacked[k][i] - ref[i])
          if (!(err <= tol[k][i])) expect.fail(`${['dx', 'dγ', 'dβ'][k]} element ${i}: ${fromPacked[k][i]}, cpu ${ref[i]}, error ${err} > bound ${tol[k][i]}`)
        }
      })
      tf.dispose([x, gamma, beta, dy, y32, xhat32, rstd32, yh, xhath, rstdh, ...(res ? [res] : [])])
    })
  }

  it('fp32: x̂ stays float32 and the backward reads it as it is, whatever the storage flag', async () => {
    const shape = [9, 40]
    const [x, gamma, beta, dy] = [tf.tensor(randomValues(360, 1), shape), tf.tensor(randomValues(40, 2)), tf.tensor(randomValues(40, 3)), tf.tensor(randomValues(360, 4), shape)]
    const [y, xhat, rstd] = runFused('MengziLayerNorm', { x, gamma, beta }, { eps: 1e-12 })
    expect(xhat.dtype).toBe('float32')
    const grads = await values(runFused('MengziLayerNormGrad', { dy, xhat, rstd, gamma }))
    const xv = await values([xhat])
    const refs = await cpuBackward(9, 40, await dy.data() as Float32Array, Array.from(xv[0]), (await rstd.data()) as Float32Array, (await gamma.data()) as Float32Array)
    const tol = bounds(9, 40, (await dy.data()) as Float32Array, Array.from(xv[0]), (await rstd.data()) as Float32Array, (await gamma.data()) as Float32Array)
    refs.forEach((ref, k) => {
      for (let i = 0; i < ref.length; i++) expect(Math.abs(grads[k][i] - ref[i])).toBeLessThanOrEqual(tol[k][i])
    })
    // f16(x̂) differs from x̂ for most values, so a backward that rounded in fp32 would be off by ~1e-3 relative
    expect(Array.from(xv[0]).filter((v) => f16(v) !== v).length).toBeGreaterThan(300)
    tf.dispose([x, gamma, beta, dy, y, xhat, rstd])
  })
})
