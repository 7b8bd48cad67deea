// The flash attention in fp16 (compute/webgpu/attention.ts): Q, K and V rounded to f16 as they load,
// f32 accumulation, and under f16 storage (attr keepHalf) packed f16 copies of Q, K, V and the context
// written by the forward for the backward.
//   forward:  keepHalf changes no output bit (context, row statistics); the packed Q | K | V equal
//             f16(q), f16(k), f16(v) and the packed context f16(context) (f16.ts's reference rounding),
//             each way they are written: by the kernel (head size even), packed after (odd).
//   backward: from the packed copies, bit for bit the backward from the f32 ones rounded as they load
//             (storage off); against tfjs cpu running the composition (ops/attention.ts's reference,
//             with the hash dropout mask) on f16(q), f16(k), f16(v) within the bounds derived at `bounds`.
// Cases: ragged T (1, 7, 33, 130: query and key blocks past 64 and past a tile), head sizes 4, 5, 8, 64,
// each also with 4 threads per row (attention-lanes.ts) where the head size is a multiple of 8,
// padded keys, dropout on and off, scores large (q × 30) and near 0, V tiny (f16 subnormals) and large.
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import { afterEach, expect, it } from 'vitest'
import { runFused } from '../../../../engine/compute/kernels/fused'
import { setAttentionLanes, setHalfStorage, setMatmulInputs } from '../../../../engine/compute/webgpu/flags'
import { halfWords, unpackHalf } from '../../../../engine/compute/webgpu/half'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { dropoutParams } from '../../../../engine/compute/webgpu/wgsl'
import { additiveMask, dense, type Weights } from '../../../../engine/model/bert'
import { attentionCore } from '../../../../engine/model/ops/attention'
import { randomValues } from '../../model/ops/compare'
import { keptByHash } from './dropout-hash'
import { f16, readInfo } from './f16'
import { bufferBytes, probe } from './fp16-memory'
import { describeOnWebgpu } from './on-webgpu'

const U = 2 ** -24 // f32's unit roundoff
const MASKED = -3.4028234663852886e38

const values = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => Float32Array.from((await t.data()) as Float32Array)))
const unpacked = (info: TensorInfo, n: number) => readInfo(unpackHalf(webgpuInternals(tf.backend()), info, [n]))
const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  expect(a.length, what).toBe(b.length)
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`${what} element ${i}: ${a[i]} against ${b[i]}`)
}
/** f16's spacing at |x| (subnormals: 2⁻²⁴). */
const ulp16 = (x: number) => 2 ** (Math.max(Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -24))), -14) - 10)

interface Case {
  B: number
  T: number
  H: number
  heads: number
  padded: number[]
  qScale: number
  vScale: number
  rate: number
}

/**
 * bounds: per element of [context, dq, dk, dv], how far ours may be from cpu's, both in f32 from the same
 * f16 inputs; derived from exact values (float64 here), each error counted for both sides. Per query row
 * i (keys j not masked; masked keys have P = 0 exactly on both sides), with a_ij = scale·Σ_c|q_ic·k_jc|:
 *   s_ij = scale·q_i·k_j + mask: a dot product of hd terms, the scale and the mask: (hd + 2)·U·a_ij each side.
 *   p_ij = exp(s_ij − m_i): the subtraction U·|s − m| and exp, within 3 + 2·|s − m| ulp (2U) on Vulkan, 1
 *   on cpu. The flash loop rescales earlier keys' sums by a computed exp(m_old − m_new) per key tile
 *   (|m_old − m_new| ≤ R_i, the row's range of scores) and a rounding in l and in the sum each.
 *   So p's relative error ε_ij ≤ 2(hd + 2)·U·a_ij + 2U·|s − m| + 2U·(4 + 2|s − m|) + tiles·2U·(4 + 2R_i).
 *   P = p·(1/Σp): T additions, the reciprocal and the product, each side: E_i = max ε + ε_ij + 2(T + 3)·U;
 *   the dropout factor one rounding more: P' = P·f within (E_i + 2U)·P'.
 *   context_ic = Σ_j P'_ij·v_jc: Σ_j |P'_ij·v_jc|·(E_i + 2(T + 2)·U).
 *   dv_jc = Σ_i P'_ij·dC_ic: Σ_i |P'_ij·dC_ic|·(E_i + 2(T + 2)·U).
 *   dP_ij = dC_i·v_j: 2(hd + 1)·U·Σ_c|dC_ic·v_jc|.
 *   D_i (ours Σ_c dC_ic·f16(C_ic); cpu Σ_j P'_ij·dP_ij, the same in exact arithmetic from C): ours
 *   |f16(C) − C| ≤ ulp16(C)/2 + ΔC with ΔC the context bound (C near a rounding boundary), and hd + 1
 *   roundings; cpu Σ_j |P'_ij|·(|dP_ij|·(E_i + 2(T + 2)·U) + ΔdP_ij).
 *   dS_ij = scale·P_ij·(f·dP_ij − D_i): scale·(E_i·P·|f·dP − D| + P·(f·ΔdP + ΔD)) + 8U·scale·P·(|f·dP| + |D|).
 *   dq_ic = Σ_j dS_ij·k_jc, dk_jc = Σ_i dS_ij·q_ic: Σ |ΔdS|·|k| (or |q|) + 2(T + 1)·U·Σ |dS·k| (or |q|).
 * And below f32's normals: the GPU may flush results under 2⁻¹²⁶ to 0 (cpu keeps them), an absolute error
 * of 2⁻¹²⁶ per operation: counted as 2⁻¹²⁶·8T times the largest product of the operands' magnitudes.
 */
function bounds(c: Case, tile: number, q: number[], k: number[], v: number[], mask: Float32Array, factor: (item: number, i: number, j: number) => number, dC: Float32Array) {
  const { B, T, H, heads } = c
  const hd = H / heads
  const scale = hd ** -0.5
  const tiles = Math.ceil(T / tile)
  const tol = [new Float64Array(B * T * H), new Float64Array(B * T * H), new Float64Array(B * T * H), new Float64Array(B * T * H)]
  const at = (b: number, t: number, h: number, col: number) => (b * T + t) * H + h * hd + col
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      const item = b * heads + h
      const live = [...Array(T).keys()].filter((j) => mask[b * T + j] === 0)
      // exact P, P', C, dP, D and their bounds per row
      const P = new Float64Array(T * T), Pf = new Float64Array(T * T), E = new Float64Array(T), dP = new Float64Array(T * T), ddP = new Float64Array(T * T)
      const C = new Float64Array(T * hd), dCtx = new Float64Array(T * hd), D = new Float64Array(T), dD = new Float64Array(T)
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(T), a = new Float64Array(T)
        for (const j of live) {
          let dot = 0, abs = 0
          for (let cc = 0; cc < hd; cc++) (dot += q[at(b, i, h, cc)] * k[at(b, j, h, cc)]), (abs += Math.abs(q[at(b, i, h, cc)] * k[at(b, j, h, cc)]))
          ;(s[j] = dot * scale), (a[j] = abs * scale)
        }
        const m = Math.max(...live.map((j) => s[j]))
        const R = m - Math.min(...live.map((j) => s[j]))
        let sum = 0, worst = 0
        const eps = new Float64Array(T)
        for (const j of live) {
          const x = m - s[j]
          eps[j] = 2 * (hd + 2) * U * a[j] + 2 * U * x + 2 * U * (4 + 2 * x) + tiles * 2 * U * (4 + 2 * R)
          worst = Math.max(worst, eps[j])
          sum += Math.exp(s[j] - m)
        }
        for (const j of live) {
          P[i * T + j] = Math.exp(s[j] - m) / sum
          Pf[i * T + j] = P[i * T + j] * factor(item, i, j)
          E[i] = Math.max(E[i], worst + eps[j] + 2 * (T + 3) * U + 2 * U)
        }
        for (let cc = 0; cc < hd; cc++) {
          let sumC = 0, abs = 0
          for (const j of live) (sumC += Pf[i * T + j] * v[at(b, j, h, cc)]), (abs += Math.abs(Pf[i * T + j] * v[at(b, j, h, cc)]))
          C[i * hd + cc] = sumC
          dCtx[i * hd + cc] = abs * (E[i] + 2 * (T + 2) * U)
          tol[0][at(b, i, h, cc)] = dCtx[i * hd + cc]
        }
        let dOurs = 0, dCpu = 0
        for (let cc = 0; cc < hd; cc++) {
          const g = Math.abs(dC[at(b, i, h, cc)])
          D[i] += dC[at(b, i, h, cc)] * C[i * hd + cc]
          dOurs += g * (ulp16(C[i * hd + cc] + dCtx[i * hd + cc]) / 2 + dCtx[i * hd + cc]) + 2 * (hd + 1) * U * g * Math.abs(C[i * hd + cc])
        }
        for (const j of live) {
          let dot = 0, abs = 0
          for (let cc = 0; cc < hd; cc++) (dot += dC[at(b, i, h, cc)] * v[at(b, j, h, cc)]), (abs += Math.abs(dC[at(b, i, h, cc)] * v[at(b, j, h, cc)]))
          dP[i * T + j] = dot
          ddP[i * T + j] = 2 * (hd + 1) * U * abs
          dCpu += Math.abs(Pf[i * T + j]) * (Math.abs(dot) * (E[i] + 2 * (T + 2) * U) + ddP[i * T + j])
        }
        dD[i] = dOurs + dCpu
      }
      // dS and its bound, then dq, dk, dv
      const dS = new Float64Array(T * T), ddS = new Float64Array(T * T)
      for (let i = 0; i < T; i++) {
        for (const j of live) {
          const f = factor(item, i, j), p = P[i * T + j], g = f * dP[i * T + j] - D[i]
          dS[i * T + j] = scale * p * g
          ddS[i * T + j] = scale * (E[i] * p * Math.abs(g) + p * (f * ddP[i * T + j] + dD[i])) + 8 * U * scale * p * (Math.abs(f * dP[i * T + j]) + Math.abs(D[i]))
        }
      }
      for (let cc = 0; cc < hd; cc++) {
        for (let i = 0; i < T; i++) {
          let dq = 0, dqAbs = 0
          for (const j of live) (dq += ddS[i * T + j] * Math.abs(k[at(b, j, h, cc)])), (dqAbs += Math.abs(dS[i * T + j] * k[at(b, j, h, cc)]))
          tol[1][at(b, i, h, cc)] = dq + 2 * (T + 1) * U * dqAbs
        }
        for (let j = 0; j < T; j++) {
          let dk = 0, dkAbs = 0, dv = 0
          for (let i = 0; i < T; i++) {
            ;(dk += ddS[i * T + j] * Math.abs(q[at(b, i, h, cc)])), (dkAbs += Math.abs(dS[i * T + j] * q[at(b, i, h, cc)]))
            dv += Math.abs(Pf[i * T + j] * dC[at(b, i, h, cc)]) * (E[i] + 2 * (T + 2) * U)
          }
          tol[2][at(b, j, h, cc)] = dk + 2 * (T + 1) * U * dkAbs
          tol[3][at(b, j, h, cc)] = dv
        }
      }
    }
  }
  const big = (xs: ArrayLike<number>) => 1 + Math.max(...Array.from(xs, Math.abs))
  const flush = 2 ** -126 * 8 * T * big(q) * big(k) * big(v) * big(dC) * 2 // 2 ≥ the dropout factor (rate ≤ 0.5)
  tol.forEach((t) => t.forEach((x, i) => (t[i] = x + flush)))
  return tol
}

/** tfjs cpu: the composition on f16(q), f16(k), f16(v) with the hash mask's factors → [context, dq, dk, dv] for dcontext dC. */
async function cpuReference(c: Case, q: number[], k: number[], v: number[], mask: Float32Array, factors: Float32Array, dC: Float32Array) {
  const { B, T, H, heads } = c
  await tf.setBackend('cpu')
  const out = tf.tidy(() => {
    const m = tf.tensor(mask, [B, 1, 1, T])
    const split = (a: tf.Tensor) => a.reshape([B, T, heads, H / heads]).transpose([0, 2, 1, 3])
    const f = (qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor) => {
      const probs = tf.softmax(tf.matMul(split(qs), split(ks), false, true).mul((H / heads) ** -0.5).add(m), -1).mul(tf.tensor(factors, [B, heads, T, T]))
      return tf.matMul(probs, split(vs)).transpose([0, 2, 1, 3]).reshape([B, T, H])
    }
    const ins = [q, k, v].map((x) => tf.tensor(x, [B, T, H]))
    const dy = tf.tensor(dC, [B, T, H])
    return [f(ins[0], ins[1], ins[2]), ...tf.grads((a: tf.Tensor, b: tf.Tensor, cc: tf.Tensor) => f(a, b, cc).mul(dy).sum())(ins)]
  })
  const result = out.map((t) => Float32Array.from(t.dataSync() as Float32Array))
  tf.dispose(out)
  await tf.setBackend('webgpu')
  return result
}

describeOnWebgpu('flash attention in fp16 (f16 Q, K, V; packed copies under f16 storage)', () => {
  afterEach(() => {
    setMatmulInputs('f32')
    setHalfStorage(true)
    setAttentionLanes(false)
  })

  const CASES: Case[] = [
    { B: 2, T: 1, H: 8, heads: 2, padded: [0, 0], qScale: 1, vScale: 1, rate: 0 },
    { B: 2, T: 7, H: 12, heads: 3, padded: [0, 3], qScale: 1, vScale: 1, rate: 0.3 },
    { B: 2, T: 33, H: 16, heads: 2, padded: [5, 0], qScale: 30, vScale: 1, rate: 0.3 }, // softmax rows near one-hot
    { B: 1, T: 33, H: 128, heads: 2, padded: [10], qScale: 1, vScale: 1, rate: 0 }, // head size 64: key tiles of 24
    { B: 2, T: 130, H: 24, heads: 3, padded: [0, 61], qScale: 1, vScale: 1e-5, rate: 0.3 }, // V mostly f16 subnormals
    { B: 2, T: 130, H: 15, heads: 3, padded: [7, 0], qScale: 1e-3, vScale: 1e3, rate: 0.1 }, // head size 5: packed after
  ]

  // each case with a thread per row (attention.ts), and with 4 (attention-lanes.ts) where the head size
  // is a multiple of 8 and the device has subgroups
  for (const [c, lanes] of CASES.flatMap((c) => ((c.H / c.heads) % 8 === 0 ? ([[c, false], [c, true]] as const) : ([[c, false]] as const)))) {
    const { B, T, H, heads, padded, qScale, vScale, rate } = c
    it(`B ${B}, T ${T}, H ${H}, heads ${heads}, padded ${padded}, q × ${qScale}, v × ${vScale}, dropout ${rate}${lanes ? ', 4 threads per row' : ''}`, async () => {
      if (lanes && !webgpuInternals(tf.backend()).device.features.has('subgroups')) return // (the lanes need subgroups)
      setAttentionLanes(lanes)
      setMatmulInputs('f16')
      const n = B * T * H
      const seed = 2024
      const [qv, kv, vv] = [51, 52, 53].map((s, i) => randomValues(n, s).map((x) => 2 * x * [qScale, 1, vScale][i]))
      const mask = new Float32Array(B * T)
      padded.forEach((p, b) => mask.fill(MASKED, b * T + T - p, b * T + T))
      const dCv = randomValues(n, 77)
      const [q, k, v, m, dC] = [tf.tensor(qv, [B, T, H]), tf.tensor(kv, [B, T, H]), tf.tensor(vv, [B, T, H]), tf.tensor(mask, [B, 1, 1, T]), tf.tensor(dCv, [B, T, H])]
      const attrs = { heads, scale: (H / heads) ** -0.5, rate, seed }

      // forward without and with the packed copies: the same outputs; the copies are f16 of the inputs and the context
      const [ctx32, stats32] = runFused('MengziAttention', { q, k, v, mask: m }, { ...attrs, keepHalf: false })
      const outs = runFused('MengziAttention', { q, k, v, mask: m }, { ...attrs, keepHalf: true })
      expect(outs.map((o) => o.dtype)).toEqual(['float32', 'float32', 'int32', 'int32'])
      const W = halfWords(n)
      expect(outs[2].shape).toEqual([3 * W])
      expect(outs[3].shape).toEqual([W])
      const [ctxh, statsh, qkvh, ctxHalf] = outs
      const [ctx32v, stats32v, ctxhv, statshv] = await values([ctx32, stats32, ctxh, statsh])
      same(ctxhv, ctx32v, 'context')
      same(statshv, stats32v, 'row statistics')
      const [q16, k16, v16] = [qv, kv, vv].map((x) => Array.from(x, f16))
      const qkv = await unpacked(qkvh, 6 * W)
      ;[q16, k16, v16].forEach((x16, i) => same(qkv.slice(2 * W * i, 2 * W * i + n), x16, `packed ${'QKV'[i]}`))
      same(await unpacked(ctxHalf, n), Array.from(ctx32v, f16), 'packed context')
      if (vScale < 1) expect(v16.filter((x) => x !== 0 && Math.abs(x) < 2 ** -14).length).toBeGreaterThan(n / 4)

      // backward from the packed copies and from the f32 tensors rounded as they load: the same bits
      const fromPacked = await values(runFused('MengziAttentionGrad', { dcontext: dC, qkv: qkvh, mask: m, context: ctxHalf, saved: statsh }, attrs))
      setHalfStorage(false)
      const fromF32 = await values(runFused('MengziAttentionGrad', { dcontext: dC, q, k, v, mask: m, context: ctx32, saved: stats32 }, attrs))
      ;['dq', 'dk', 'dv'].forEach((name, i) => same(fromPacked[i], fromF32[i], `${name} (packed against rounded as it loads)`))

      // against tfjs cpu on the f16 inputs
      const { seedWord, threshold, scale: keepScale } = dropoutParams(rate, seed)
      const factor = (item: number, i: number, j: number) => (rate === 0 ? 1 : keptByHash((item * T + i) * T + j, seedWord, threshold) ? keepScale : 0)
      const factors = new Float32Array(B * heads * T * T).map((_, e) => factor(Math.floor(e / (T * T)), Math.floor(e / T) % T, e % T))
      const refs = await cpuReference(c, q16, k16, v16, mask, factors, dCv)
      const tile = Math.max(1, Math.min(32, Math.floor(1536 / (H / heads)))) // attention.ts's key tile
      const tol = bounds(c, tile, q16, k16, v16, mask, factor, dCv)
      const ours = [ctx32v, ...fromPacked]
      refs.forEach((ref, o) => {
        for (let i = 0; i < ref.length; i++) {
          const err = Math.abs(ours[o][i] - ref[i])
          if (!(err <= tol[o][i])) expect.fail(`${['context', 'dq', 'dk', 'dv'][o]} element ${i}: ${ours[o][i]}, cpu ${ref[i]}, error ${err} > bound ${tol[o][i]}`)
        }
      })
      tf.dispose([q, k, v, m, dC, ctx32, stats32, ...outs])
    })
  }

  it('what the attention keeps for backward: packed Q, K, V and context, the context copy shared with the output dense layer', async () => {
    // Q, K, V from dense layers over x, the attention, the output dense layer: BERT's self-attention
    const [B, T, H, heads] = [2, 20, 16, 2]
    const n = B * T * H
    const w: Weights = new Map(['q', 'k', 'v', 'o'].flatMap((p, i) => [
      [`${p}.weight`, tf.variable(tf.tensor(randomValues(H * H, 10 + i), [H, H]))],
      [`${p}.bias`, tf.variable(tf.tensor(randomValues(H, 20 + i)))],
    ]))
    const x = tf.tensor(randomValues(n, 9), [B, T, H])
    const mask = additiveMask(tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i >= 2 * T - 6 ? 0 : 1)), [B, T], 'int32'))
    /** Bytes the forward keeps for backward (the second step's: the weights' f16 copies exist by then). */
    const kept = () => {
      let bytes = 0
      for (let step = 0; step < 2; step++) {
        const before = bufferBytes()
        const { value, grads } = tf.variableGrads(() => {
          const context = attentionCore(dense(w, 'q', x) as tf.Tensor3D, dense(w, 'k', x) as tf.Tensor3D, dense(w, 'v', x) as tf.Tensor3D, mask, { heads, dropoutRate: 0.1, seed: 5 })
          return probe(() => (bytes = bufferBytes() - before))(dense(w, 'o', context).sum() as tf.Scalar)
        }, [...w.values()])
        tf.dispose([value, ...Object.values(grads)])
      }
      return bytes
    }
    setMatmulInputs('f16')
    const stored = kept()
    setHalfStorage(false)
    const loading = kept()
    // storage off: Q, K, V and the context in f32, 16 bytes per value (x, kept by the Q, K, V layers, is
    // alive anyway); on: x's f16 copy (the Q, K, V layers'), packed Q | K | V and the context's copy,
    // 2 bytes per value each (2⌈n / 2⌉ with n odd): nothing else, so no f32 copy and no second copy
    const W = halfWords(n)
    expect(loading - stored).toBe(16 * n - 5 * 4 * W)
    tf.dispose([x, mask, ...w.values()])
  })

  it('fp32: keepHalf is ignored (two outputs), and the outputs are those of f32 inputs, not f16', async () => {
    const [B, T, H, heads] = [2, 9, 8, 2]
    const [q, k, v] = [1, 2, 3].map((s) => tf.tensor(randomValues(B * T * H, s), [B, T, H]))
    const m = tf.zeros([B, 1, 1, T])
    const attrs = { heads, scale: 0.5, rate: 0, seed: 0 }
    const outs = runFused('MengziAttention', { q, k, v, mask: m }, { ...attrs, keepHalf: true })
    expect(outs.length).toBe(2)
    setMatmulInputs('f16')
    const half = runFused('MengziAttention', { q, k, v, mask: m }, attrs)
    const [a, b] = await values([outs[0], half[0]])
    // f16 inputs move the context by about 1e-4 relative: fp32 does not round
    expect(a.filter((x, i) => Math.abs(x - b[i]) > 1e-5).length).toBeGreaterThan(B * T * H / 4)
    tf.dispose([q, k, v, m, ...outs, ...half])
  })
})
