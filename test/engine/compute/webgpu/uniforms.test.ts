// Our dispatches' uniform buffers (engine/compute/webgpu/uniforms.ts): one per content, written once, so
// a training step after the first writes almost none, where tfjs's makeUniforms wrote one per dispatch.
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { parseBertConfig } from '../../../../engine/model/checkpoint'
import { benchBatch } from '../../../../engine/train/bench'
import { createBenchModel } from '../../../../engine/train/bench-model'
import { watchGpuWork } from '../../../../engine/compute/webgpu/gpu-work'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { uniformBuffer } from '../../../../engine/compute/webgpu/uniforms'
import { TINY_BERT } from '../../train/tiny-config'
import { describeOnWebgpu } from './on-webgpu'

describeOnWebgpu('uniform buffers of our dispatches', () => {
  it('one buffer per content: the same bytes give the same buffer, other bytes another; a non-scalar uniform is left to tfjs', () => {
    const device = webgpuInternals(tf.backend()).device
    const a = uniformBuffer(device, [{ type: 'uint32', data: [7] }, { type: 'float32', data: [0.5] }])
    expect(a).not.toBeNull()
    expect(uniformBuffer(device, [{ type: 'uint32', data: [7] }, { type: 'float32', data: [0.5] }])).toBe(a)
    expect(uniformBuffer(device, [{ type: 'uint32', data: [7] }, { type: 'float32', data: [0.25] }])).not.toBe(a)
    expect(uniformBuffer(device, [{ type: 'int32', data: [-1] }])).not.toBe(uniformBuffer(device, [{ type: 'int32', data: [1] }]))
    expect(uniformBuffer(device, [{ type: 'uint32', data: [1, 2] }])).toBeNull()
  })

  it('a training step after the first writes a few buffers (inputs, the optimizer\'s step values), not one per dispatch', async () => {
    const config = parseBertConfig({ ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, 'tiny')
    const model = createBenchModel(config, 3)
    const batch = benchBatch(config, 2, 16)
    const device = webgpuInternals(tf.backend()).device as unknown as { queue: object }
    const queue = Object.getPrototypeOf(device.queue) as { writeBuffer(...a: unknown[]): unknown } // every queue object's
    const write = queue.writeBuffer
    let writes = 0
    queue.writeBuffer = function (this: unknown, ...a: unknown[]) {
      writes++
      return write.apply(this, a)
    }
    try {
      const counts: { writes: number; dispatches: number }[] = []
      for (let step = 0; step < 3; step++) {
        writes = 0
        const stop = watchGpuWork()
        const loss = await model.step(batch, 1e-3)
        const { dispatches } = stop()
        await loss.data()
        loss.dispose()
        counts.push({ writes, dispatches })
      }
      // tfjs's makeUniforms wrote one per dispatch (115 here); the first step writes each shape's once
      expect(counts[0].writes, JSON.stringify(counts)).toBeLessThan(counts[0].dispatches)
      for (const c of counts.slice(1)) expect(c.writes, JSON.stringify(counts)).toBeLessThan(c.dispatches / 10)
    } finally {
      queue.writeBuffer = write
      model.dispose()
      tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask])
    }
  })
})
