// The GELU dense layer under fp16 storage (compute/webgpu/dense.ts): MengziDenseGelu keeps its
// pre-activation z as packed f16, and MengziDenseGeluGrad computes in f32 from f16(z).
//   forward:  the stored z is f16(z) of the same product's f32 z, bit for bit (f16.ts's reference
//             rounding; ties to even, subnormals, ±Infinity from 65520 on), for each way it is written:
//             the vec4 epilogue (out a multiple of 4), the scalar one in word pairs (out even), packed
//             after the product (out odd); y is unchanged.
//   backward: against tfjs cpu computing from f16(z) (the GELU derivative by the erf composition of
//             ops/gelu.ts, then dx = f16(dz)·f16(w), dw = f16(dz)ᵀ·f16(x), db = Σ f16(dz) (summed by the dw product from what it loads), the products'
//             inputs rounded as the f16 products round them), within the bounds derived at `bounds`;
//             and, bit for bit, the backward from f32 z rounded as it loads (storage off).
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import { afterEach, expect, it } from 'vitest'
import { runFused } from '../../../../engine/compute/kernels/fused'
import { setHalfStorage, setMatmulInputs } from '../../../../engine/compute/webgpu/flags'
import { halfWords, unpackHalf } from '../../../../engine/compute/webgpu/half'
import { releaseHalfWeights } from '../../../../engine/compute/webgpu/half-weights'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { gelu } from '../../../../engine/model/ops/gelu'
import { randomValues } from '../../model/ops/compare'
import { f16, readInfo } from './f16'
import { describeOnWebgpu } from './on-webgpu'

const backend = () => webgpuInternals(tf.backend())
const U = 2 ** -24 // f32's unit roundoff
// |Φ(v) + v·φ(v)| on webgpu against cpu for the same v: both evaluate the same erf polynomial and
// formula in f32; they differ by Vulkan's exp (within 3 + 2·|arg| ulp, its argument's weight e^−arg
// making that below 2 ulp of 1 in both exps) and by the order of rounding in about ten operations, so
// a few times 6e-8; the GELU kernel's own test measures within 2e-6 (kernels.test.ts), used here.
const EPS_G = 2e-6

const values = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => Float32Array.from((await t.data()) as Float32Array)))
const unpacked = (info: TensorInfo, n: number) => readInfo(unpackHalf(backend(), info, [n]))

/** The f16 values next to f16(v) that a value within e of v can round to: the farthest, as a distance. */
const flipRange = (v: number, e: number) => Math.max(Math.abs(f16(v + e) - f16(v)), Math.abs(f16(v - e) - f16(v)))

/**
 * bounds: per output element, how far ours may be from cpu's.
 *   dz = dy·g(z16): |Δdz| ≤ e = |dy|·EPS_G + 2U·|dz| (the product dy·g rounded on each side).
 *   db = Σₙ f16(dz): Σ flipRange (as dw), plus two summation orders of N terms, each within (N − 1)·U·Σ|f16(dz)|.
 *   dx = Σₒ f16(dz)·w16: f16 of a dz within e of cpu's is cpu's f16 or a neighbour (flipRange), so
 *   Σₒ flipRange·|w16|, plus two accumulation orders of `out` terms, (out − 1)·U·Σ|terms| each.
 *   dw = Σₙ f16(dz)·x16 likewise.
 */
function bounds(N: number, K: number, out: number, dy: Float32Array, dzRef: Float32Array, w16: number[], x16: number[]) {
  const e = dzRef.map((d, i) => Math.abs(dy[i]) * EPS_G + 2 * U * Math.abs(d))
  const flip = Array.from(dzRef, (d, i) => flipRange(d, e[i]))
  const dz16 = Array.from(dzRef, f16)
  const db = new Float64Array(out)
  const dx = new Float64Array(N * K)
  const dw = new Float64Array(out * K)
  for (let o = 0; o < out; o++) {
    let abs = 0
    for (let n = 0; n < N; n++) (db[o] += flip[n * out + o]), (abs += Math.abs(dz16[n * out + o]))
    db[o] += 2 * (N - 1) * U * abs
  }
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let abs = 0
      for (let o = 0; o < out; o++) (dx[n * K + k] += flip[n * out + o] * Math.abs(w16[o * K + k])), (abs += Math.abs(dz16[n * out + o] * w16[o * K + k]))
      dx[n * K + k] += 2 * (out - 1) * U * abs
    }
  }
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < K; k++) {
      let abs = 0
      for (let n = 0; n < N; n++) (dw[o * K + k] += flip[n * out + o] * Math.abs(x16[n * K + k])), (abs += Math.abs(dz16[n * out + o] * x16[n * K + k]))
      dw[o * K + k] += 2 * (N - 1) * U * abs
    }
  }
  return [dx, dw, db]
}

/** tfjs cpu from f16(z): [dx, dw, db, dz]. */
async function cpuBackward(N: number, K: number, out: number, x: Float32Array, w: Float32Array, dy: Float32Array, z16: number[]): Promise<Float32Array[]> {
  await tf.setBackend('cpu')
  const ts = tf.tidy(() => {
    const dz = tf.grad((z: tf.Tensor) => gelu(z))(tf.tensor(z16, [N, out]), tf.tensor(dy, [N, out]))
    const dz16 = tf.tensor(Array.from(dz.dataSync(), f16), [N, out])
    const w16 = tf.tensor(Array.from(w, f16), [out, K])
    const x16 = tf.tensor(Array.from(x, f16), [N, K])
    return [tf.matMul(dz16, w16), tf.matMul(dz16, x16, true, false), dz16.sum(0), dz]
  })
  const v = ts.map((t) => Float32Array.from(t.dataSync() as Float32Array))
  tf.dispose(ts)
  await tf.setBackend('webgpu')
  return v
}

describeOnWebgpu('GELU dense layer with z stored in f16 (fp16 storage on webgpu)', () => {
  afterEach(() => {
    setMatmulInputs('f32')
    setHalfStorage(true)
    releaseHalfWeights(backend())
  })

  // [rows N, in K, out, scale of x and b]: out 20 the vec4 epilogue, 18 word pairs, 31 packed after;
  // scales for z around 1 (GELU's curve), 1e-4 (f16's subnormals from 6.1e-5 down) and up to ~1e3
  const CASES: [number, number, number, number][] = [
    [37, 24, 20, 1],
    [65, 12, 18, 1],
    [33, 20, 31, 1],
    [17, 16, 20, 1e-4],
    [9, 8, 18, 300],
  ]

  for (const [N, K, out, scale] of CASES) {
    it(`N ${N}, in ${K}, out ${out}, scale ${scale}: z stored as f16(z); backward equals cpu from f16(z)`, async () => {
      setMatmulInputs('f16')
      const xv = randomValues(N * K, N).map((v) => v * scale)
      const wv = randomValues(out * K, out)
      const bv = randomValues(out, K).map((v) => v * scale)
      const dyv = randomValues(N * out, N + out)
      const [x, w, b, dy] = [tf.tensor(xv, [N, K]), tf.tensor(wv, [out, K]), tf.tensor(bv), tf.tensor(dyv, [N, out])]

      // forward: f32 z (storage off), then packed z (on)
      setHalfStorage(false)
      const [y32, z32] = runFused('MengziDenseGelu', { x, w, b })
      setHalfStorage(true)
      const [yh, zh] = runFused('MengziDenseGelu', { x, w, b })
      expect(zh.dtype).toBe('int32')
      expect(zh.shape).toEqual([halfWords(N * out)])
      const [y32v, z32v, yhv] = await values([y32, z32, yh])
      expect(Array.from(yhv)).toEqual(Array.from(y32v))
      const z16 = Array.from(z32v, f16)
      const stored = await unpacked(zh, N * out)
      for (let i = 0; i < z16.length; i++) if (!Object.is(stored[i], z16[i])) expect.fail(`z element ${i}: stored ${stored[i]}, f16 of ${z32v[i]} is ${z16[i]}`)

      // backward from packed z (and packed x, as ops/dense.ts saves it), and from f32 z rounded as it loads
      const xh = runFused('MengziPackHalf', { x })[0]
      const fromPacked = await values(runFused('MengziDenseGeluGrad', { dy, x: xh, w, z: zh }))
      setHalfStorage(false)
      const fromF32 = await values(runFused('MengziDenseGeluGrad', { dy, x, w, z: z32 }))
      expect(fromPacked.map((v) => Array.from(v))).toEqual(fromF32.map((v) => Array.from(v)))

      const [dxRef, dwRef, dbRef, dzRef] = await cpuBackward(N, K, out, xv, wv, dyv, z16)
      const tol = bounds(N, K, out, dyv, dzRef, Array.from(wv, f16), Array.from(xv, f16))
      ;[dxRef, dwRef, dbRef].forEach((ref, k) => {
        for (let i = 0; i < ref.length; i++) {
          const err = Math.abs(fromPacked[k][i] - ref[i])
          if (!(err <= tol[k][i])) expect.fail(`${['dx', 'dw', 'db'][k]} element ${i}: ${fromPacked[k][i]}, cpu ${ref[i]}, error ${err} > bound ${tol[k][i]}`)
        }
      })
      tf.dispose([x, w, b, dy, y32, z32, yh, zh, xh])
    })
  }

  it('z beyond f16: 65504 stays, 65520 and up are stored as ±Infinity', async () => {
    setMatmulInputs('f16')
    const x = tf.tensor([1000, 1], [2, 1])
    const w = tf.tensor([-100, 65504], [2, 1])
    const b = tf.zeros([2])
    const [y, z] = runFused('MengziDenseGelu', { x, w, b })
    expect(Array.from(await unpacked(z, 4))).toEqual([-Infinity, Infinity, -100, 65504]) // −1e5, 6.6e7, −100, 65504
    tf.dispose([x, w, b, y, z])
  })
})
