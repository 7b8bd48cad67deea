// Add on webgpu (engine/compute/webgpu/add.ts): same-shape float32 sums as our dispatch, bit for bit
// tfjs's own; broadcasts, int32 and our kernels switched off go to tfjs's BinaryOpProgram.
import * as tf from '@tensorflow/tfjs'
import { afterEach, expect, it } from 'vitest'
import { setWebgpuFusedKernels } from '../../../../engine/compute/webgpu/flags'
import { randomValues } from '../../model/ops/compare'
import { countGpuWork } from './count-gpu-work'
import { describeOnWebgpu } from './on-webgpu'

/** a + b on webgpu: its values and the tfjs programs it recorded. */
async function add(a: tf.Tensor, b: tf.Tensor): Promise<{ values: Float32Array | Int32Array; programs: string[] }> {
  let sum: tf.Tensor | undefined
  const { programs } = countGpuWork(() => (sum = tf.add(a, b)))
  const values = (await sum!.data()) as Float32Array | Int32Array
  sum!.dispose()
  return { values, programs }
}

describeOnWebgpu('Add on webgpu', () => {
  afterEach(() => setWebgpuFusedKernels(true))

  it('same-shape float32: our dispatch, bit for bit tfjs\'s (vec4 and ragged sizes, huge, tiny, infinite and NaN values)', async () => {
    for (const shape of [[4, 37, 8], [3, 5, 7], [1], [2, 65536 + 3]]) {
      const n = shape.reduce((x, y) => x * y, 1)
      const special = [3e38, 3e38, -Infinity, Infinity, NaN, 1e-45, -1e-45, 0, -0]
      const av = randomValues(n, 11).map((v, i) => (i < special.length ? special[i] : v * 10 ** ((i % 9) - 4)))
      const bv = randomValues(n, 12).map((v, i) => (i < special.length ? [3e38, -3e38, Infinity, Infinity, 1, -1e-45, -1e-45, -0, -0][i] : v))
      const [a, b] = [tf.tensor(av, shape), tf.tensor(bv, shape)]
      const ours = await add(a, b)
      expect(ours.programs, JSON.stringify(shape)).toEqual([])
      setWebgpuFusedKernels(false)
      const stock = await add(a, b)
      setWebgpuFusedKernels(true)
      expect(stock.programs.length, JSON.stringify(shape)).toBe(1)
      expect(new Uint32Array(ours.values.buffer), JSON.stringify(shape)).toEqual(new Uint32Array(stock.values.buffer))
      tf.dispose([a, b])
    }
  })

  it('broadcasts and int32 go to tfjs\'s own kernel, with its values', async () => {
    const a = tf.tensor(randomValues(24, 3), [2, 3, 4])
    const row = tf.tensor(randomValues(4, 4), [4])
    const broadcast = await add(a, row)
    expect(broadcast.programs).toEqual(['BinaryOpProgram'])
    expect(Array.from(broadcast.values)).toEqual(Array.from(await tf.add(a, row).data()))
    const ints = await add(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([4, 5, -6], [3], 'int32'))
    expect(ints.programs).toEqual(['BinaryOpProgram'])
    expect(Array.from(ints.values)).toEqual([5, 7, -3])
    tf.dispose([a, row])
  })
})
