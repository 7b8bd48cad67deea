// f16 storage on webgpu (compute/webgpu/half.ts, half-weights.ts): packing against a reference f16
// rounding written with plain arithmetic in f16.ts (nearest, ties to even, subnormals, overflow to
// Infinity), ragged sizes; the tiled product reading packed operands (vec2 and scalar loads, at an
// offset) against tfjs cpu on f16-rounded inputs and, bit for bit, against the product that rounds f32
// as it loads; the dense backward from a packed saved input; the multi-tensor AdamW and LAMB writing
// H = f16(master) in their update; and the aliasing of a weight cloned before a step.
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import { afterEach, expect, it } from 'vitest'
import { runFused } from '../../../../engine/compute/kernels/fused'
import { setHalfStorage, setMatmulInputs, setMatmulVec4 } from '../../../../engine/compute/webgpu/flags'
import { packHalf, unpackHalf, type HalfOperand } from '../../../../engine/compute/webgpu/half'
import { halfWeight, releaseHalfWeights } from '../../../../engine/compute/webgpu/half-weights'
import { matmul, matmulVariant, type MatmulArgs } from '../../../../engine/compute/webgpu/matmul'
import { MultiTensorAdam, type AdamKind } from '../../../../engine/compute/webgpu/multi-adam'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { expectClose, randomValues } from '../../model/ops/compare'
import { f16, readHalf, readInfo as read } from './f16'
import { describeOnWebgpu } from './on-webgpu'

const backend = () => webgpuInternals(tf.backend())
const tensorOf = (info: TensorInfo) => tf.engine().makeTensorFromTensorInfo(info, backend())

/** Packs values on the GPU and unpacks them again. */
async function roundTrip(values: Float32Array): Promise<Float32Array> {
  const x = tf.tensor(values)
  const h = packHalf(backend(), x)
  expect(h.dtype).toBe('int32')
  expect(h.shape).toEqual([Math.ceil(values.length / 2)])
  const back = await read(unpackHalf(backend(), h, [values.length]))
  backend().disposeData(h.dataId)
  x.dispose()
  return back
}

describeOnWebgpu('f16 storage on webgpu', () => {
  afterEach(() => {
    setMatmulInputs('f32')
    setMatmulVec4(true)
    setHalfStorage(true)
  })

  it('pack/unpack round trip equals f16 rounding, ragged sizes (1, 3, 1023, 2049), an odd count padding with +0', async () => {
    for (const n of [1, 3, 1023, 2049]) {
      const values = randomValues(n, n).map((v, i) => v * 10 ** ((i % 9) - 4)) // 1e-4 .. 1e4
      const back = await roundTrip(values)
      for (let i = 0; i < n; i++) if (back[i] !== f16(values[i])) expect.fail(`n ${n}, element ${i}: ${values[i]} → ${back[i]}, expected ${f16(values[i])}`)
      // values already in f16 come back unchanged
      const again = await roundTrip(back)
      expect(Array.from(again)).toEqual(Array.from(back))
    }
    const odd = tf.tensor([1, 2, 3])
    const h = tensorOf(packHalf(backend(), odd))
    expect((await h.data())[1] >>> 16).toBe(0) // the pad half of the last word
    expect(h.size * 4).toBe(8) // 2 bytes per value (rounded up to a word)
    tf.dispose([odd, h])
  })

  it('large and small values: 65504 is the largest, 65520 and beyond overflow to ±Infinity, subnormals and ties to even', async () => {
    const cases: [number, number][] = [
      [65504, 65504],
      [65519.99, 65504],
      [65520, Infinity],
      [-70000, -Infinity],
      [1e30, Infinity],
      [Infinity, Infinity],
      [-Infinity, -Infinity],
      [1 + 2 ** -11, 1], // a tie: to even
      [1 + 3 * 2 ** -11, 1 + 2 ** -9], // a tie: to even, upwards
      [2 ** -24, 2 ** -24], // the smallest subnormal
      [2 ** -25, 0], // a tie between 0 and 2⁻²⁴: to even, 0
      [3 * 2 ** -26, 2 ** -24],
      [1e-8, 0],
      [-1e-8, -0],
      [2 ** -14 - 2 ** -25, 2 ** -14], // rounds up into the normals
      [0.1, 0.0999755859375],
      [-2.5e-5, -419 * 2 ** -24], // a subnormal: 419.43 units of 2⁻²⁴
    ]
    const back = await roundTrip(Float32Array.from(cases.map(([x]) => x)))
    cases.forEach(([x, expected], i) => {
      expect(Object.is(back[i], expected), `${x} → ${back[i]}, expected ${expected}`).toBe(true)
      expect(Object.is(back[i], f16(Math.fround(x))), `reference for ${x}`).toBe(true)
    })
    expect(Number.isNaN((await roundTrip(Float32Array.of(NaN)))[0])).toBe(true)
  })

  it('the product with packed operands equals the product rounding f32 as it loads (bit for bit) and cpu on f16 inputs', async () => {
    setMatmulInputs('f16')
    // forward (x·wᵀ), dX (dy·w), dW (dyᵀ·x): aligned (vec2 loads) and ragged (scalar loads)
    const cases: (Pick<MatmulArgs, 'M' | 'N' | 'K' | 'transA' | 'transB'> & { packA?: boolean })[] = [
      { M: 68, N: 72, K: 40, transB: true },
      { M: 65, N: 33, K: 67, transB: true },
      { M: 64, N: 36, K: 20 },
      { M: 33, N: 65, K: 31 },
      { M: 36, N: 44, K: 64, transA: true },
      { M: 31, N: 17, K: 65, transA: true, packA: true },
    ]
    for (const c of cases) {
      const aValues = randomValues(c.M * c.K, c.M).map((v) => v * 3)
      const bValues = randomValues(c.K * c.N, c.N).map((v) => v * 3)
      const a = tf.tensor(aValues)
      const b = tf.tensor(bValues)
      const loading = await read(matmul(backend(), { ...c, a, b }))
      const pa: HalfOperand = { data: packHalf(backend(), a), offset: 0 }
      const pb: HalfOperand = { data: packHalf(backend(), b), offset: 0 }
      const args: MatmulArgs = { ...c, a: c.packA ? pa : a, b: pb }
      expect(matmulVariant(args)).toMatchObject({ halfA: c.packA === true, halfB: true })
      const stored = await read(matmul(backend(), args))
      expect(Array.from(stored), JSON.stringify(c)).toEqual(Array.from(loading))
      // tfjs cpu on the f16-rounded inputs (f32 accumulation in both: a different order)
      await tf.setBackend('cpu')
      const cpu = tf.tidy(() => {
        const ca = tf.tensor(aValues.map(f16), c.transA ? [c.K, c.M] : [c.M, c.K])
        const cb = tf.tensor(bValues.map(f16), c.transB ? [c.N, c.K] : [c.K, c.N])
        return tf.matMul(ca, cb, c.transA, c.transB)
      })
      const expected = cpu.dataSync() as Float32Array
      cpu.dispose()
      await tf.setBackend('webgpu')
      expectClose([stored], [expected], 2e-5)
      for (const p of [pa, pb]) backend().disposeData(p.data.dataId)
      tf.dispose([a, b])
    }
  })

  it('a packed operand at an element offset (a place in the optimizer arena), vec2 and scalar loads', async () => {
    setMatmulInputs('f16')
    const [M, N, K] = [20, 24, 16]
    const x = tf.tensor(randomValues(M * K, 1))
    const w = randomValues(N * K, 2)
    const arena = tf.tensor(Float32Array.from([...randomValues(2048, 3), ...w, ...randomValues(100, 4)])) // w at element 2048
    const packed: HalfOperand = { data: packHalf(backend(), arena), offset: 2048 }
    const wt = tf.tensor(w)
    const loading = await read(matmul(backend(), { a: x, b: wt, M, N, K, transB: true }))
    for (const vec of [true, false]) {
      setMatmulVec4(vec)
      expect(matmulVariant({ a: x, b: packed, M, N, K, transB: true }).vecB).toBe(vec)
      expect(Array.from(await read(matmul(backend(), { a: x, b: packed, M, N, K, transB: true })))).toEqual(Array.from(loading))
    }
    backend().disposeData(packed.data.dataId)
    tf.dispose([x, arena, wt])
  })

  it('dense backward from the packed saved input equals the backward from x, and the weight is read from its f16 copy', async () => {
    setMatmulInputs('f16')
    const [N, K, out] = [37, 24, 20]
    const x = tf.tensor(randomValues(N * K, 5), [N, K])
    const w = tf.tensor(randomValues(out * K, 6), [out, K])
    const dy = tf.tensor(randomValues(N * out, 7), [N, out])
    const z = tf.tensor(randomValues(N * out, 8), [N, out])
    const xh = runFused('MengziPackHalf', { x })[0]
    expect(xh.dtype).toBe('int32')
    const values = async (ts: tf.Tensor[]) => {
      const v = await Promise.all(ts.map(async (t) => Array.from((await t.data()) as Float32Array)))
      tf.dispose(ts)
      return v
    }
    for (const [name, extra] of [['MengziDenseGrad', {}], ['MengziDenseGeluGrad', { z }]] as const) {
      setHalfStorage(false) // f32 weight and x, rounded as they load
      const fromX = await values(runFused(name, { dy, x, w, ...extra }))
      setHalfStorage(true)
      const fromHalf = await values(runFused(name, { dy, x: xh, w, ...extra }))
      expect(fromHalf).toEqual(fromX)
    }
    releaseHalfWeights(backend())
    tf.dispose([x, w, dy, z, xh])
  })

  for (const kind of ['adamw', 'lamb'] as AdamKind[]) {
    it(`${kind}: the update writes the f16 copies (= f16 of the new masters, ragged sizes) and the masters as without them; a clone taken before a step keeps its own values`, async () => {
      const shapes: [string, number[]][] = [
        ['a.bias', [3]],
        ['a.weight', [45, 31]],
        ['b.weight', [2049]],
      ]
      const run = async (halves: boolean) => {
        setMatmulInputs(halves ? 'f16' : 'f32')
        const weights = new Map(shapes.map(([name, shape], i) => [name, tf.variable(tf.tensor(randomValues(shape.reduce((p, q) => p * q, 1), 20 + i), shape))]))
        const opt = new MultiTensorAdam(kind, shapes.map(([name, shape]) => ({ name, shape, decays: !name.endsWith('bias') })))
        const step = (t: number) => {
          const grads = new Map(shapes.map(([name, shape], i) => [name, tf.tensor(randomValues(shape.reduce((p, q) => p * q, 1), 40 + 10 * t + i), shape)]))
          opt.arena.gatherGradients(grads)
          opt.arena.gatherParams(weights)
          const wrote = opt.update({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01, bc1: 1 - 0.9 ** t, bc2: 1 - 0.999 ** t }, false)
          expect(wrote).toBe(halves)
          opt.arena.scatterParams(weights, wrote)
          tf.dispose([...grads.values()])
        }
        step(1)
        const clone = weights.get('a.weight')!.clone() // shares the data whose f16 copy is a place in H
        const cloneValues = Float32Array.from(await clone.data())
        step(2)
        const masters = await Promise.all([...weights.values()].map(async (v) => Float32Array.from(await v.data())))
        if (halves) {
          for (const [i, [name, shape]] of shapes.entries()) {
            const copy = halfWeight(backend(), weights.get(name)!)
            const seg = opt.arena.segments[i]
            expect(copy.offset).toBe(seg.offset) // the arena's copy, not one packed since
            expect(copy.data).toBe(opt.arena.groups[seg.group].h)
            const got = await readHalf(copy, shape)
            expect(Array.from(got), name).toEqual(Array.from(masters[i]).map(f16))
          }
          // the clone's copy: its own (old) values, not what the step wrote over its place in H
          const cloneCopy = halfWeight(backend(), clone)
          expect(cloneCopy.data).not.toBe(opt.arena.groups[0].h)
          expect(Array.from(await readHalf(cloneCopy, clone.shape))).toEqual(Array.from(cloneValues).map(f16))
          expect(Array.from(cloneValues)).not.toEqual(Array.from(masters[1]))
        }
        opt.dispose()
        releaseHalfWeights(backend())
        tf.dispose([clone, ...weights.values()])
        return masters
      }
      expect(await run(true)).toEqual(await run(false))
    })
  }
})
