// The f16 rounding the fp16 tests compare against, written with plain arithmetic (not the WGSL under
// test), and the values of a packed f16 copy read back as float32.
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import { unpackHalf, type HalfOperand } from '../../../../engine/compute/webgpu/half'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'

/** The f16 value nearest to x (an f32), ties to even; ±Infinity from 65520 on. */
export function f16(x: number): number {
  if (Number.isNaN(x) || x === 0) return x
  const a = Math.abs(x)
  if (a >= 65520) return Math.sign(x) * Infinity
  let e = Math.floor(Math.log2(a))
  if (2 ** e > a) e-- // log2's rounding
  if (2 ** (e + 1) <= a) e++
  const ulp = 2 ** (Math.max(e, -14) - 10) // subnormals: multiples of 2⁻²⁴
  const q = a / ulp
  let r = Math.floor(q)
  if (q - r > 0.5 || (q - r === 0.5 && r % 2 === 1)) r++
  return Math.sign(x) * r * ulp
}

/** The float32 values of a tensor given as TensorInfo on the webgpu backend (disposed after reading). */
export async function readInfo(info: TensorInfo): Promise<Float32Array> {
  const t = tf.engine().makeTensorFromTensorInfo(info, webgpuInternals(tf.backend()))
  const v = Float32Array.from((await t.data()) as Float32Array)
  t.dispose()
  return v
}

/** The values of packed copy `half` of a tensor of `shape`, as float32. */
export const readHalf = (half: HalfOperand, shape: number[]) => readInfo(unpackHalf(webgpuInternals(tf.backend()), half.data, shape, half.offset))
