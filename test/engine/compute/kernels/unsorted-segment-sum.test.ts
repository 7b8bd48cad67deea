// Our UnsortedSegmentSum kernels: cpu (linear time) and wasm (missing in tfjs-wasm 4.22).
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { registerCustomKernels } from '../../../../engine/compute/kernels'
import { expectSameNumbers, randomValues, runOn, type Result } from './on-backends'

// tfjs's own cpu kernel, kept before ours replaces it: the definition we must agree with.
const stockCpu = tf.getKernel('UnsortedSegmentSum', 'cpu')!

async function runStockCpu(x: tf.Tensor, ids: tf.Tensor, numSegments: number): Promise<Result> {
  await tf.setBackend('cpu')
  const info = stockCpu.kernelFunc({ inputs: { x, segmentIds: ids }, backend: tf.backend(), attrs: { numSegments } }) as tf.TensorInfo
  const t = tf.engine().makeTensorFromTensorInfo(info)
  const result = { shape: t.shape, dtype: t.dtype, values: (await t.data()) as Float32Array }
  t.dispose()
  return result
}

function ids(count: number, numSegments: number, seed: number): Int32Array {
  return Int32Array.from(randomValues(count, seed), (v) => Math.floor(((v + 1) / 2) * numSegments))
}

describe('UnsortedSegmentSum (cpu and wasm)', () => {
  beforeAll(() => registerCustomKernels())

  const CASES: { rows: number; inner: number[]; numSegments: number }[] = [
    { rows: 12, inner: [3], numSegments: 5 },
    { rows: 40, inner: [2, 5], numSegments: 9 },
    { rows: 7, inner: [], numSegments: 3 },
    { rows: 64, inner: [16], numSegments: 100 },
  ]
  for (const { rows, inner, numSegments } of CASES) {
    it(`matches tfjs's definition for ${rows} rows of shape [${inner}] into ${numSegments} segments`, async () => {
      const xValues = randomValues(rows * tf.util.sizeFromShape(inner), rows)
      const idValues = ids(rows, numSegments, 3 + rows)
      const build = () => tf.unsortedSegmentSum(tf.tensor(xValues, [rows, ...inner]), tf.tensor1d(idValues, 'int32'), numSegments)
      await tf.setBackend('cpu')
      const reference = await runStockCpu(tf.tensor(xValues, [rows, ...inner]), tf.tensor1d(idValues, 'int32'), numSegments)
      expectSameNumbers(await runOn('cpu', build), reference)
      expectSameNumbers(await runOn('wasm', build), reference)
    })
  }

  it('drops ids outside [0, numSegments) and sums int32 input as int32', async () => {
    const build = () => tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]], [4, 2], 'int32'), tf.tensor1d([2, -1, 2, 3], 'int32'), 3)
    for (const backend of ['cpu', 'wasm'] as const) {
      const r = await runOn(backend, build)
      expect(r.dtype).toBe('int32')
      expect(Array.from(r.values)).toEqual([0, 0, 0, 0, 6, 8])
    }
  })

  // tfjs's stock cpu kernel multiplies by a 0/1 mask, so one NaN spreads to every segment (0·NaN);
  // TensorFlow's definition keeps it in its own segment. Ours follow TensorFlow, so the two agree
  // with each other here and not with the stock kernel.
  it('keeps NaN and Inf in the segment they belong to', async () => {
    const x = randomValues(6 * 4, 11)
    x[0] = NaN
    x[5] = Infinity
    const build = () => tf.unsortedSegmentSum(tf.tensor(x, [6, 4]), tf.tensor1d([0, 1, 1, 2, 3, 0], 'int32'), 5)
    const cpu = await runOn('cpu', build)
    expectSameNumbers(await runOn('wasm', build), cpu)
    expect(Number.isNaN(cpu.values[0])).toBe(true)
    expect(cpu.values[4 + 1]).toBe(Infinity)
    expect(Array.from(cpu.values.slice(8)).every(Number.isFinite)).toBe(true)
  })

  it('gives tf.gather (an embedding lookup with repeated ids) the same gradient on wasm as on cpu', async () => {
    const table = randomValues(50 * 8, 5)
    const lookup = ids(2 * 30, 50, 9)
    const build = () =>
      tf.grad((e: tf.Tensor) => tf.gather(e, tf.tensor2d(lookup, [2, 30], 'int32')).mul(tf.range(0, 8)).sum())(tf.tensor2d(table, [50, 8]))
    expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build))
  })

  it('handles a BERT-sized embedding gradient on cpu (21128 × 128 from 2048 tokens)', async () => {
    // The stock kernel builds one mask per segment: minutes and gigabytes here (this would time out).
    await tf.setBackend('cpu')
    const total = tf.tidy(() => tf.unsortedSegmentSum(tf.ones([2048, 128]), tf.tensor1d(ids(2048, 21128, 1), 'int32'), 21128).sum().dataSync()[0])
    expect(total).toBe(2048 * 128)
  })
})
