// Reading a value back from the active backend. On webgpu a read waits on GPU work that a device
// error may have voided: the read then fails with that error instead of waiting forever.
import type * as tf from '@tensorflow/tfjs'
import { guardDevice } from './webgpu/device'

/** The first value of `t` (a loss, a norm), or the device's error. */
export async function readScalar(t: tf.Tensor): Promise<number> {
  return (await guardDevice(t.data()))[0]
}

/** All values of `t`, or the device's error. */
export function readValues(t: tf.Tensor): Promise<tf.TypedArray> {
  return guardDevice(t.data() as Promise<tf.TypedArray>)
}
