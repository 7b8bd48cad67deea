import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selectBackend } from '../../../engine/compute/backends'
import { hasFusedKernel } from '../../../engine/compute/kernels/fused'
import { listCheckpoints } from '../../../engine/train/checkpoint'
import { train } from '../../../engine/train/loop'
import { tinyConfig } from './tiny-config'

const dir = mkdtempSync(join(tmpdir(), 'mengzi-loop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('training loop: checkpoints and exact resume', () => {
  it('resumes the exact loss curve: N steps straight == K steps, stop, resume, N − K steps', async () => {
    // accumulation, clipping, dropout, warm-up, NSP pair sampling and a mid-run checkpoint are all in play
    const config = tinyConfig({ gradientAccumulation: 2, maxGradNorm: 0.5, checkpointEvery: 3, totalSteps: 7, pairObjective: 'nsp' })
    const straight = await train(config, { runDir: join(dir, 'straight') })
    expect(straight.losses.length).toBe(7)
    expect(straight.stopped).toBe(false)

    const first = await train(config, { runDir: join(dir, 'resumed'), stopAtStep: 4 })
    expect(first).toMatchObject({ step: 4, stopped: true })
    const second = await train(config, { runDir: join(dir, 'resumed'), resume: true })
    expect(second.step).toBe(7)
    expect([...first.losses, ...second.losses]).toEqual(straight.losses)
    // and the final weights are bit-identical
    const bytes = (run: string) => readFileSync(join(dir, run, 'checkpoints', 'step-00000007', 'model.safetensors'))
    expect(bytes('resumed').equals(bytes('straight'))).toBe(true)
    expect((await listCheckpoints(join(dir, 'straight'))).map((c) => c.step)).toEqual([3, 6, 7])
  })

  it('resumes exactly on wasm too, where dropout, LayerNorm, GELU, attention, LAMB and the products are native kernels', async () => {
    expect((await selectBackend('wasm')).name).toBe('wasm')
    expect(hasFusedKernel('MengziDropout')).toBe(true)
    try {
      const config = tinyConfig({ backend: 'wasm', gradientAccumulation: 2, checkpointEvery: 3, totalSteps: 6, pairObjective: 'nsp' })
      const straight = await train(config, { runDir: join(dir, 'wasm-straight') })
      const first = await train(config, { runDir: join(dir, 'wasm-resumed'), stopAtStep: 3 })
      const second = await train(config, { runDir: join(dir, 'wasm-resumed'), resume: true })
      expect([...first.losses, ...second.losses]).toEqual(straight.losses)
      const bytes = (run: string) => readFileSync(join(dir, run, 'checkpoints', 'step-00000006', 'model.safetensors'))
      expect(bytes('wasm-resumed').equals(bytes('wasm-straight'))).toBe(true)
    } finally {
      await tf.setBackend('cpu')
    }
  })

  it('refuses to resume with a changed config, naming the field', async () => {
    await expect(train(tinyConfig({ gradientAccumulation: 2, maxGradNorm: 0.5, checkpointEvery: 3, totalSteps: 7, pairObjective: 'nsp', learningRate: 5e-4 }), { runDir: join(dir, 'resumed'), resume: true })).rejects.toThrow(
      'cannot resume: config learningRate was 0.001, now 0.0005',
    )
  })

})
