// Reading values back from the active backend. On webgpu a read waits on GPU work that a device
// error may have voided: the read then fails with that error instead of waiting forever.
// A training step reads several values (losses, accuracies, the gradients' norm): `Readback` issues
// them all at once, so the step waits on the device once, not once per value.
import * as tf from '@tensorflow/tfjs'
import { guardDevice } from './webgpu/device'

let waits = 0

/** How many times this process has waited on values from the backend (each Readback.read counts once). */
export function deviceWaits(): number {
  return waits
}

/** The first value of `t` (a loss, a norm), or the device's error. */
export async function readScalar(t: tf.Tensor): Promise<number> {
  waits++
  return (await guardDevice(t.data()))[0]
}

/** All values of `t`, or the device's error. */
export function readValues(t: tf.Tensor): Promise<tf.TypedArray> {
  waits++
  return guardDevice(t.data() as Promise<tf.TypedArray>)
}

/**
 * Tensors queued while a step records and read together by `read`: every read is issued before any
 * is awaited (on webgpu each copies to a staging buffer now, in stream order, so later work may reuse
 * the source), then each value goes to its callback and the tensors are disposed.
 */
export class Readback {
  private queued: { t: tf.Tensor; use: (values: tf.TypedArray) => void }[] = []

  get size(): number {
    return this.queued.length
  }

  add(t: tf.Tensor, use: (values: tf.TypedArray) => void): void {
    this.queued.push({ t, use })
  }

  scalar(t: tf.Tensor, use: (value: number) => void): void {
    this.add(t, (values) => use(values[0]))
  }

  /**
   * Issues every queued read now; resolves once all values are delivered, and disposes the tensors.
   * On a device error it rejects and leaves them: reads still pending on a lost device would otherwise
   * land on disposed tensors.
   */
  read(): Promise<void> {
    const queued = this.queued
    this.queued = []
    if (queued.length === 0) return Promise.resolve()
    waits++
    const reads = queued.map(({ t }) => t.data() as Promise<tf.TypedArray>)
    return guardDevice(Promise.all(reads)).then((values) => {
      tf.dispose(queued.map(({ t }) => t))
      queued.forEach(({ use }, i) => use(values[i]))
    })
  }
}
