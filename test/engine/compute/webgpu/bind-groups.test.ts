// Bind groups a training step finds again (engine/compute/webgpu/bind-groups.ts): the pool hands out
// the free buffer seen first, so a step binds what the last one bound, and its bind groups are reused.
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { parseBertConfig } from '../../../../engine/model/checkpoint'
import { benchBatch } from '../../../../engine/train/bench'
import { createBenchModel } from '../../../../engine/train/bench-model'
import { bindGroupCacheStats, bufferId, setBindGroupReuse } from '../../../../engine/compute/webgpu/bind-groups'
import { dispatchesRecorded, webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { TINY_BERT } from '../../train/tiny-config'
import { describeOnWebgpu } from './on-webgpu'

const bufferOfTensor = (t: tf.Tensor) => webgpuInternals(tf.backend()).tensorMap.get(t.dataId).resource!

describeOnWebgpu('bind groups found again', () => {
  it('of the free buffers of one size, the pool hands out the one seen first, whatever order they were freed in', async () => {
    const n = 4099 // a size no other test uses: the free list holds only these
    const made = [1, 2, 3].map((v) => tf.fill([n], v)) // outputs of a kernel (no input buffers): buffers from the pool
    await Promise.all(made.map((t) => t.data())) // submitted
    const buffers = made.map(bufferOfTensor)
    expect(new Set(buffers).size).toBe(3)
    const firstSeen = [...buffers].sort((a, b) => bufferId(a) - bufferId(b))[0]
    // freed middle, first, last: tfjs's pool (last freed first) would hand out the last one's buffer
    for (const i of [1, 0, 2]) made[i].dispose()
    const again = tf.fill([n], 7)
    await again.data()
    expect(bufferOfTensor(again)).toBe(firstSeen)
    expect(Array.from(await again.data()).every((v) => v === 7)).toBe(true)
    again.dispose()
  })

  it('a training step after the first few makes only the bind groups of its new uniforms, and trains exactly as with every bind group made anew', async () => {
    const config = parseBertConfig({ ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, 'tiny')
    const batch = benchBatch(config, 2, 16)
    const train = async (reuse: boolean) => {
      const previous = setBindGroupReuse(reuse)
      const model = createBenchModel(config, 3)
      const steps: { loss: number; made: number; dispatches: number }[] = []
      try {
        for (let i = 0; i < 6; i++) {
          const made = bindGroupCacheStats().created
          const recorded = dispatchesRecorded()
          const loss = await model.step(batch, 1e-3)
          steps.push({ made: bindGroupCacheStats().created - made, dispatches: dispatchesRecorded() - recorded, loss: await model.readLoss(loss) })
        }
      } finally {
        model.dispose()
        setBindGroupReuse(previous)
      }
      return steps
    }
    try {
      const anew = await train(false)
      const reused = await train(true)
      expect(reused.map((s) => s.loss)).toEqual(anew.map((s) => s.loss))
      for (const s of anew) expect(s.made).toBe(s.dispatches)
      // the optimizer's step-dependent uniforms (bias corrections) are new each step, and so their bind groups
      for (const s of reused.slice(3)) expect(s.made, JSON.stringify(reused)).toBeLessThanOrEqual(4)
      expect(reused[5].dispatches).toBeGreaterThan(70) // config A: 79 (95 before the Q, K, V projections were one product)
    } finally {
      tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask])
    }
  })
})
