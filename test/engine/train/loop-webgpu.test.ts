// The training loop on webgpu (on CI: lavapipe): a short run whose losses follow the cpu backend's,
// and an exact resume (stop, checkpoint, resume = one straight run).
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { train } from '../../../engine/train/loop'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'
import { tinyConfig } from './tiny-config'

const dir = mkdtempSync(join(tmpdir(), 'mengzi-loop-webgpu-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describeOnWebgpu('training loop on webgpu', () => {
  it('trains: the losses of a short LAMB run with dropout, NSP and clipping follow the cpu backend', async () => {
    const config = tinyConfig({ totalSteps: 3, pairObjective: 'nsp', maxGradNorm: 0.5 })
    const gpu = await train({ ...config, backend: 'webgpu' }, { runDir: join(dir, 'gpu') })
    await tf.setBackend('cpu')
    const cpu = await train(config, { runDir: join(dir, 'cpu') })
    await tf.setBackend('webgpu')
    expect(gpu.losses.length).toBe(3)
    // the dropout masks come from the same seeds on both backends
    gpu.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i])).toBeLessThan(1e-3))
  })

  it('resumes the exact loss curve and weights: 4 steps straight == 2 steps, stop, resume, 2 steps', async () => {
    const config = tinyConfig({ backend: 'webgpu', gradientAccumulation: 2, checkpointEvery: 2, totalSteps: 4 })
    const straight = await train(config, { runDir: join(dir, 'straight') })
    const first = await train(config, { runDir: join(dir, 'resumed'), stopAtStep: 2 })
    expect(first).toMatchObject({ step: 2, stopped: true })
    const second = await train(config, { runDir: join(dir, 'resumed'), resume: true })
    expect([...first.losses, ...second.losses]).toEqual(straight.losses)
    const bytes = (run: string) => readFileSync(join(dir, run, 'checkpoints', 'step-00000004', 'model.safetensors'))
    expect(bytes('resumed').equals(bytes('straight'))).toBe(true)
  })
})
