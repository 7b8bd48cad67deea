// The kernel timer (kernel-timer.ts) on a real training step: every dispatch, ours and tfjs's, timed
// by the device's timestamps, and timing changes no number.
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { parseBertConfig } from '../../../../engine/model/checkpoint'
import { benchBatch } from '../../../../engine/train/bench'
import { createBenchModel } from '../../../../engine/train/bench-model'
import { watchGpuWork } from '../../../../engine/compute/webgpu/gpu-work'
import { startKernelTimer } from '../../../../engine/compute/webgpu/kernel-timer'
import { TINY_BERT } from '../../train/tiny-config'
import { describeOnWebgpu } from './on-webgpu'

describeOnWebgpu('kernel timer', () => {
  const config = parseBertConfig({ ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, 'tiny')

  /** Loss of each of `steps` steps from the same start, the last one run under `around`. */
  async function losses(around: (step: () => Promise<number>) => Promise<number>): Promise<number[]> {
    const model = createBenchModel(config, 7)
    const batch = benchBatch(config, 2, 16)
    const step = async () => {
      const loss = await model.step(batch, 1e-3)
      // a training step records only our kernels; one of tfjs's programs (Mul) so both kinds are timed
      const doubled = loss.mul(2)
      const value = (await loss.data())[0]
      tf.dispose([loss, doubled])
      return value
    }
    try {
      return [await step(), await around(step)]
    } finally {
      model.dispose()
      tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask])
    }
  }

  it('times every dispatch of a training step, ours and tfjs\'s, and changes no loss', async () => {
    let dispatches = 0
    const plain = await losses(async (step) => {
      const stop = watchGpuWork()
      const loss = await step()
      dispatches = stop().dispatches
      return loss
    })
    let times = await startKernelTimer().stop() // nothing recorded: nothing timed
    expect(times).toEqual({ kernels: [], totalMs: 0, untimed: 0 })
    const timed = await losses(async (step) => {
      const timer = startKernelTimer()
      const loss = await step()
      times = await timer.stop()
      return loss
    })
    expect(timed).toEqual(plain)
    expect(times.untimed).toBe(0)
    expect(times.kernels.reduce((n, k) => n + k.dispatches, 0)).toBe(dispatches)
    const names = times.kernels.map((k) => k.kernel)
    expect(names.some((k) => k.startsWith('matmul-'))).toBe(true) // ours
    expect(names.some((k) => k.startsWith('attention-flash-forward'))).toBe(true)
    expect(names).toContain('tfjs:BinaryOpProgram') // tfjs-webgpu's own programs
    for (const k of times.kernels) expect(k.ms).toBeGreaterThanOrEqual(0)
    expect(times.totalMs).toBeGreaterThan(0)
    // whole timestamps: Dawn's default rounds them to multiples of 2^16 ns, so every time would be one
    expect(times.kernels.some((k) => Math.round(k.ms * 1e6) % 65536 !== 0)).toBe(true)
    expect(times.kernels.map((k) => k.ms)).toEqual([...times.kernels.map((k) => k.ms)].sort((x, y) => y - x))
    // the products do most of the work even at this size; a timer that stamped nothing would give 0
    expect(times.kernels.filter((k) => k.kernel.startsWith('matmul-')).reduce((s, k) => s + k.ms, 0)).toBeGreaterThan(0)

    // past its capacity the timer still runs every dispatch, untimed
    const few = await losses(async (step) => {
      const timer = startKernelTimer(10)
      const loss = await step()
      times = await timer.stop()
      return loss
    })
    expect(few).toEqual(plain)
    expect(times.kernels.reduce((n, k) => n + k.dispatches, 0)).toBe(10)
    expect(times.untimed).toBe(dispatches - 10)
  })
})
