// Readback (engine/compute/read.ts): what a training step reads back, with one wait.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { deviceWaits, Readback } from '../../../engine/compute/read'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('Readback', () => {
  it('delivers every queued value after one wait, in the order queued, and disposes the tensors', async () => {
    const before = tf.memory().numTensors
    const reads = new Readback()
    const got: string[] = []
    reads.scalar(tf.scalar(2.5), (v) => got.push(`loss ${v}`))
    reads.add(tf.tensor1d([3, 1, 4], 'int32'), (v) => got.push(`argmax ${Array.from(v).join(',')}`))
    reads.scalar(tf.scalar(0.125), (v) => got.push(`norm ${v}`))
    expect(reads.size).toBe(3)
    const waits = deviceWaits()
    const read = reads.read()
    expect(reads.size).toBe(0) // issued: the next step queues on an empty Readback
    expect(got).toEqual([]) // nothing delivered before the wait
    await read
    expect(deviceWaits() - waits).toBe(1)
    expect(got).toEqual(['loss 2.5', 'argmax 3,1,4', 'norm 0.125'])
    expect(tf.memory().numTensors).toBe(before)
  })

  it('an empty Readback resolves without a wait', async () => {
    const waits = deviceWaits()
    await new Readback().read()
    expect(deviceWaits()).toBe(waits)
  })
})
