// A reshape whose gradient keeps nothing saved. tfjs's Reshape saves its input for backward (only its
// shape is used): harmless while another op saves the same data, but under fp16 storage a dense layer
// saves an f16 copy of its input instead of the input, and the reshape in front of it would keep the
// f32 data alive after all. So under fp16 storage while the tape records, the dense layers' reshapes
// go through here; otherwise it is tfjs's reshape, as before.
import * as tf from '@tensorflow/tfjs'
import { halfStorageOn } from '../../compute/webgpu/flags'

export function reshapeKeepingNothing<T extends tf.Tensor>(x: tf.Tensor, shape: number[]): T {
  if (!halfStorageOn() || !tf.engine().isTapeOn()) return x.reshape(shape) as T
  const from = x.shape
  const op = tf.customGrad(((t: tf.Tensor) => ({
    value: t.reshape(shape),
    gradFunc: (dy: tf.Tensor) => dy.reshape(from),
  })) as unknown as Parameters<typeof tf.customGrad>[0])
  return op(x) as T
}
