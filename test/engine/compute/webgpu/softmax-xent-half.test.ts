// The fused softmax cross-entropy under fp16 storage (compute/webgpu/softmax-xent.ts): MengziSoftmaxXent
// keeps the probabilities, what its backward reads, as packed f16(p·2¹⁵), and MengziSoftmaxXentGrad
// computes (q − 2¹⁵·onehot)·(rowScale·2⁻¹⁵) from them.
//   forward:  the stored q is f16(p·2¹⁵) of the f32 p that storage off gives, bit for bit (f16.ts's
//             reference rounding), for each way it is written: word pairs in the kernel (C even),
//             packed after (C odd); the row losses are the fp32 kernel's, bit for bit.
//   backward: bit for bit the backward from f32 p rounded as it loads (storage off), and against tfjs
//             cpu computing (q·2⁻¹⁵ − onehot)·rowScale within the bound derived at `bound`.
//   the op:   softmaxCrossEntropy in fp16 gives the same loss and gradient bit for bit with storage on
//             and off, the loss also fp32's, and keeps exactly 2 bytes per probability less with it on.
//   fp32:     probabilities stay f32 and the backward is cpu's (p − onehot)·rowScale, bit for bit.
import * as tf from '@tensorflow/tfjs'
import { afterEach, expect, it } from 'vitest'
import { runFused } from '../../../../engine/compute/kernels/fused'
import { setHalfStorage, setMatmulInputs } from '../../../../engine/compute/webgpu/flags'
import { halfWords, unpackHalf } from '../../../../engine/compute/webgpu/half'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { PROB_SCALE } from '../../../../engine/compute/webgpu/softmax-xent'
import { softmaxCrossEntropy } from '../../../../engine/model/ops/softmax-cross-entropy'
import { randomValues } from '../../model/ops/compare'
import { f16, readInfo } from './f16'
import { probe } from './fp16-memory'
import { describeOnWebgpu } from './on-webgpu'

const U = 2 ** -24 // f32's unit roundoff

const values = async (ts: tf.Tensor[]) => Promise.all(ts.map(async (t) => Float32Array.from((await t.data()) as Float32Array)))
const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  expect(a.length, what).toBe(b.length)
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`${what} element ${i}: ${a[i]} against ${b[i]}`)
}

/**
 * bound: how far ours may be from cpu's, both from the same q (as f32 p16 = q·2⁻¹⁵, exact) and rowScale r.
 * Exactly, g = (p16 − h)·r. Cpu rounds the difference and the product: within 2U·|g| (+U² terms).
 * Ours computes (q − 2¹⁵h)·(r·2⁻¹⁵): the scalings by powers of two are exact (no overflow or underflow
 * at these magnitudes), so it rounds the same two operations of values 2¹⁵ times larger, also
 * within 2U·|g|. Together 4U·|g|, and 4.01 for the U² terms. In practice the two agree bit for bit.
 */
const bound = (p16: number, h: number, r: number) => 4.01 * U * Math.abs((p16 - h) * r)

/** Targets in [0, C), with every 5th row ignored (−1: an all-zero one-hot row, zero rowScale in the op). */
const targetsFor = (N: number, C: number) => Int32Array.from({ length: N }, (_, i) => (i % 5 === 3 ? -1 : (i * 7919) % C))

describeOnWebgpu('softmax cross-entropy with the probabilities stored in f16 (fp16 storage on webgpu)', () => {
  afterEach(() => {
    setMatmulInputs('f32')
    setHalfStorage(true)
  })

  // [N, C, scale]: C even (word pairs) and odd (packed after), ragged against the 256 invocations and
  // against 512 (pairs: two values each); scale 1e-3 (p ≈ 1/C), 1 and 12 (p down to ~1e-10: below f16's
  // subnormals unscaled, f16 normals scaled by 2¹⁵), 60 (p below 2⁻⁴⁰: stored as 0, exact as 0 in f32 too
  // for some), 1e3 (one p of 1 per row, the rest 0)
  const CASES: [number, number, number][] = [
    [7, 21128, 12],
    [9, 1000, 1],
    [6, 777, 12],
    [11, 50, 1e-3],
    [5, 513, 60],
    [4, 301, 1e3],
    [3, 2, 1],
  ]

  for (const [N, C, scale] of CASES) {
    it(`[${N}, ${C}], logits · ${scale}: q = f16(p·2¹⁵) of the f32 p, bit for bit; backward equals cpu from q`, async () => {
      setMatmulInputs('f16')
      const zv = randomValues(N * C, C + N).map((v) => v * scale)
      const tv = targetsFor(N, C)
      const rv = Float32Array.from(randomValues(N, 3 * N), (v, i) => (tv[i] < 0 ? 0 : (v + 2) * 1e-3))
      const [z, targets, rowScale] = [tf.tensor2d(zv, [N, C]), tf.tensor1d(tv, 'int32'), tf.tensor1d(rv)]

      // forward: f32 p (storage off), then packed q (on); fp32 for the row losses
      setHalfStorage(false)
      const [p32, loss32] = runFused('MengziSoftmaxXent', { logits: z, targets })
      setHalfStorage(true)
      const [ph, lossh] = runFused('MengziSoftmaxXent', { logits: z, targets })
      setMatmulInputs('f32')
      const [, lossFp32] = runFused('MengziSoftmaxXent', { logits: z, targets })
      setMatmulInputs('f16')
      expect(p32.dtype).toBe('float32')
      expect(ph.dtype).toBe('int32')
      expect(ph.shape).toEqual([halfWords(N * C)])
      const [p32v, loss32v, losshv, lossFp32v] = await values([p32, loss32, lossh, lossFp32])
      same(losshv, lossFp32v, 'row loss (storage on against fp32)')
      same(loss32v, lossFp32v, 'row loss (storage off against fp32)')
      const q = await readInfo(unpackHalf(webgpuInternals(tf.backend()), ph, [N * C]))
      same(q, Array.from(p32v, (p) => f16(p * PROB_SCALE)), 'stored q against f16(p·2¹⁵)')
      // the scale at work: p that plain f16 would flush to 0 or to a few bits are stored with f16's 11
      if (scale === 12) {
        const small = Array.from(p32v.keys()).filter((i) => p32v[i] > 0 && p32v[i] < 2 ** -24 && q[i] >= 2 ** -14)
        expect(small.length).toBeGreaterThan(N)
        for (const i of small) expect(Math.abs(q[i] / PROB_SCALE - p32v[i])).toBeLessThanOrEqual(2 ** -11 * p32v[i])
      }
      if (scale === 60) expect(Array.from(p32v.keys()).filter((i) => p32v[i] > 0 && q[i] === 0).length).toBeGreaterThan(0)

      // backward from packed q, and from f32 p rounded as it loads (storage off): the same bits
      const [fromPacked] = await values(runFused('MengziSoftmaxXentGrad', { probs: ph, targets, rowScale }, { C }))
      setHalfStorage(false)
      const [fromF32] = await values(runFused('MengziSoftmaxXentGrad', { probs: p32, targets, rowScale }, { C }))
      same(fromPacked, fromF32, 'dlogits (packed against rounded as it loads)')

      const p16 = Float32Array.from(q, (v) => v / PROB_SCALE) // exact: f16 values · 2⁻¹⁵ are f32 normals or 0
      const ref = await cpuBackward(N, C, p16, tv, rv)
      for (let i = 0; i < ref.length; i++) {
        const row = Math.floor(i / C)
        const h = tv[row] === i % C ? 1 : 0
        const err = Math.abs(fromPacked[i] - ref[i])
        if (!(err <= bound(p16[i], h, rv[row]))) expect.fail(`dlogits element ${i}: ${fromPacked[i]}, cpu ${ref[i]}, error ${err} > bound ${bound(p16[i], h, rv[row])}`)
      }
      tf.dispose([z, targets, rowScale, p32, loss32, ph, lossh, lossFp32])
    })
  }

  for (const C of [140, 141]) {
    it(`the op, C ${C}: fp16 loss and gradient the same with storage on and off, the loss fp32's; 2 bytes less kept per probability`, async () => {
      const N = 24
      const labels = Int32Array.from(targetsFor(N, C), (t) => (t < 0 ? -100 : t))
      const z = tf.tensor2d(randomValues(N * C, 11).map((v) => v * 8), [N, C])
      /** [loss, dlogits] and the tensor bytes the forward left for the backward. */
      const run = async (): Promise<[Float32Array[], number]> => {
        let kept = 0
        const before = tf.memory().numBytes
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => probe(() => (kept = tf.memory().numBytes - before))(softmaxCrossEntropy(x as tf.Tensor2D, labels)))(z)
        const out = await values([value, grad])
        tf.dispose([value, grad])
        return [out, kept]
      }
      const [fp32] = await run()
      setMatmulInputs('f16')
      const [stored, keptStored] = await run()
      setHalfStorage(false)
      const [loading, keptLoading] = await run()
      same(stored[0], fp32[0], 'loss (fp16 against fp32)')
      same(stored[0], loading[0], 'loss (storage on against off)')
      same(stored[1], loading[1], 'dlogits (storage on against off)')
      expect(stored[1]).not.toEqual(fp32[1]) // the f16 rounding of p is there
      expect(keptLoading - keptStored).toBe(4 * N * C - 4 * halfWords(N * C))
      z.dispose()
    })
  }

  it('fp32: probabilities stay f32 whatever the storage flag, and the backward is cpu\'s (p − onehot)·rowScale bit for bit', async () => {
    const [N, C] = [6, 333]
    const tv = targetsFor(N, C)
    const rv = Float32Array.from(randomValues(N, 9), (v, i) => (tv[i] < 0 ? 0 : v + 2))
    const [z, targets, rowScale] = [tf.tensor2d(randomValues(N * C, 4).map((v) => v * 12), [N, C]), tf.tensor1d(tv, 'int32'), tf.tensor1d(rv)]
    const [p, loss] = runFused('MengziSoftmaxXent', { logits: z, targets })
    expect(p.dtype).toBe('float32')
    expect(p.shape).toEqual([N, C])
    const [pv] = await values([p])
    const [grad] = await values(runFused('MengziSoftmaxXentGrad', { probs: p, targets, rowScale }, { C }))
    same(grad, await cpuBackward(N, C, pv, tv, rv), 'dlogits against cpu')
    // f16(p·2¹⁵)·2⁻¹⁵ differs from p for most values, so a backward that rounded in fp32 would show
    expect(Array.from(pv).filter((v) => f16(v * PROB_SCALE) / PROB_SCALE !== v).length).toBeGreaterThan(N * C * 0.9)
    tf.dispose([z, targets, rowScale, p, loss])
  })
})

/** tfjs cpu: (p − onehot(targets))·rowScale, with target −1 an all-zero row. */
async function cpuBackward(N: number, C: number, p: Float32Array, targets: Int32Array, rowScale: Float32Array): Promise<Float32Array> {
  await tf.setBackend('cpu')
  const t = tf.tidy(() => tf.mul(tf.sub(tf.tensor2d(p, [N, C]), tf.oneHot(tf.tensor1d(targets, 'int32'), C, 1, 0, 'float32')), tf.tensor2d(rowScale, [N, 1])))
  const v = Float32Array.from(t.dataSync() as Float32Array)
  t.dispose()
  await tf.setBackend('webgpu')
  return v
}
