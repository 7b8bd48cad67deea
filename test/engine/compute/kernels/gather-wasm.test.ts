import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { registerCustomKernels } from '../../../../engine/compute/kernels'
import { gatherV2WasmConfig } from '../../../../engine/compute/kernels/gather-wasm'
import { expectSameNumbers, randomValues, runOn } from './on-backends'

describe('GatherV2 on wasm (row copies along axis 0)', () => {
  beforeAll(() => registerCustomKernels())

  it('replaces the stock wasm kernel', () => {
    expect(tf.getKernel('GatherV2', 'wasm')!.kernelFunc).toBe(gatherV2WasmConfig.kernelFunc)
  })

  const CASES: { shape: number[]; indices: number[][]; axis?: number; batchDims?: number }[] = [
    { shape: [10, 4], indices: [[3, 3, 0, 9]] }, // ours: an embedding lookup with a repeat
    { shape: [6, 2, 3], indices: [[5, 1], [0, 0]] }, // ours: rank-3 table, rank-2 ids
    { shape: [7], indices: [[6, 2]] }, // ours: scalars per row
    { shape: [4, 6], indices: [[5, 0, 2]], axis: 1 }, // stock: another axis
    { shape: [2, 5, 3], indices: [[1, 4], [0, 2]], axis: 1, batchDims: 1 }, // stock: batch dims
  ]
  for (const { shape, indices, axis = 0, batchDims = 0 } of CASES) {
    it(`equals cpu for a [${shape}] table, ids ${JSON.stringify(indices)}, axis ${axis}, batchDims ${batchDims}`, async () => {
      const x = randomValues(tf.util.sizeFromShape(shape), shape.length)
      const ids = indices.length === 1 ? indices[0] : indices
      const build = () => tf.gather(tf.tensor(x, shape), tf.tensor(ids, undefined, 'int32'), axis, batchDims)
      expectSameNumbers(await runOn('wasm', build), await runOn('cpu', build))
    })
  }

  it('gathers int32 rows and NaN as they are', async () => {
    const ints = await runOn('wasm', () => tf.gather(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), tf.tensor1d([1, 0, 1], 'int32')))
    expect(Array.from(ints.values)).toEqual([3, 4, 1, 2, 3, 4])
    const nan = await runOn('wasm', () => tf.gather(tf.tensor2d([[NaN, Infinity], [0, 1]]), tf.tensor1d([0], 'int32')))
    expect(Array.from(nan.values)).toEqual([NaN, Infinity])
  })

  it('rejects an out-of-range id in one line and leaks nothing', async () => {
    await tf.setBackend('wasm')
    const table = tf.ones([3, 2])
    const ids = tf.tensor1d([0, 3], 'int32')
    const before = tf.memory().numTensors
    expect(() => tf.gather(table, ids)).toThrow('GatherV2: the index value 3 is not in [0, 2]')
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose([table, ids])
  })
})
