// The training loop on webgpu (on CI: lavapipe): a short run whose losses follow the cpu backend's,
// and an exact resume (stop, checkpoint, resume = one straight run).
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { selectBackend } from '../../../engine/compute/backends'
import { hasFusedKernel } from '../../../engine/compute/kernels/fused'
import { setMatmulTuning } from '../../../engine/compute/webgpu/flags'
import { matmulChoices, resetMatmulChoices } from '../../../engine/compute/webgpu/matmul-choice'
import { train } from '../../../engine/train/loop'
import { trainInWorker } from '../../../engine/train/run-worker'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'
import { TINY_BERT, tinyConfig } from './tiny-config'

const dir = mkdtempSync(join(tmpdir(), 'mengzi-loop-webgpu-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describeOnWebgpu('training loop on webgpu', () => {
  it('trains: a short LAMB run with NSP and clipping follows the cpu backend (no dropout) and wasm with native kernels (same dropout hash)', async () => {
    const noDropout = tinyConfig({ totalSteps: 3, pairObjective: 'nsp', maxGradNorm: 0.5, model: { config: { ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 } } })
    const gpu = await train({ ...noDropout, backend: 'webgpu' }, { runDir: join(dir, 'gpu') })
    await tf.setBackend('cpu')
    const cpu = await train(noDropout, { runDir: join(dir, 'cpu') })
    expect(gpu.losses.length).toBe(3)
    gpu.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]), `step ${i + 1}`).toBeLessThan(1e-4))

    // with dropout: the fused kernels of both draw the mask from the same hash of (element, seed)
    const withDropout = tinyConfig({ totalSteps: 3, pairObjective: 'nsp' })
    await selectBackend('wasm')
    if (hasFusedKernel('MengziDropout')) {
      const wasm = await train({ ...withDropout, backend: 'wasm' }, { runDir: join(dir, 'wasm') })
      await selectBackend('webgpu')
      const gpuDropout = await train({ ...withDropout, backend: 'webgpu' }, { runDir: join(dir, 'gpu-dropout') })
      gpuDropout.losses.forEach((l, i) => expect(Math.abs(l - wasm.losses[i]), `step ${i + 1}`).toBeLessThan(1e-4))
    }
    await selectBackend('webgpu')
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

  it('tunes the products\' kernels on the device after the first step where tuning is on, logs it, and keeps an untuned run\'s losses', async () => {
    const config = tinyConfig({ backend: 'webgpu', totalSteps: 3 })
    const previous = setMatmulTuning(false)
    try {
      resetMatmulChoices()
      const untuned = await train(config, { runDir: join(dir, 'untuned') })
      setMatmulTuning(true)
      const logs: string[] = []
      const tuned = await train(config, { runDir: join(dir, 'tuned') }, { log: (line) => logs.push(line) })
      const tuning = logs.filter((l) => l.startsWith('matmul kernels tuned on the device'))
      expect(tuning.length).toBeGreaterThanOrEqual(1) // after step 1; again only for classes new later (the last step's evaluation)
      expect(tuning[0]).toMatch(/^matmul kernels tuned on the device for \d+ product classes in [\d.]+ s \(timestamps\): /)
      const classes = /for (\d+) product classes/.exec(tuning[0])![1]
      expect(logs[logs.indexOf(tuning[0]) - 1]).toBe(`tuning the matrix products' kernels on the device for ${classes} new product classes`) // said before the pause
      expect(matmulChoices().length).toBeGreaterThan(10)
      expect(tuned.losses).toEqual(untuned.losses)
    } finally {
      setMatmulTuning(previous)
      resetMatmulChoices()
    }
  })

  it('keeps the tuned kernels for later runs: a second worker (as a sweep starts one per run) takes them from the cache instead of tuning, with the same losses', async () => {
    const cache = join(dir, 'home', 'cache', 'webgpu-matmul-tuning.json')
    const config = tinyConfig({ backend: 'webgpu', totalSteps: 2 })
    const previous = process.env.MENGZI_WEBGPU_MATMUL_TUNE
    process.env.MENGZI_WEBGPU_MATMUL_TUNE = '1' // 'auto' is off on lavapipe; a worker copies the environment as it starts
    try {
      const run = async (name: string) => {
        const logs: string[] = []
        const result = await trainInWorker(config, { runDir: join(dir, name), tuningCache: cache }, { log: (line) => logs.push(line) })
        return { result, logs }
      }
      const count = (logs: string[], pattern: RegExp) => logs.map((l) => pattern.exec(l)).reduce((n, m) => n + (m ? Number(m[1]) : 0), 0)
      const first = await run('kept-1')
      const tuned = first.logs.filter((l) => l.startsWith('matmul kernels tuned on the device'))
      expect(tuned.length).toBeGreaterThanOrEqual(1)
      for (const line of tuned) expect(line.endsWith(`; kept for later runs in ${cache}`)).toBe(true)
      const file = JSON.parse(readFileSync(cache, 'utf8')) as { adapters: Record<string, { classes: object }> }
      expect(Object.keys(file.adapters)).toHaveLength(1)
      const classes = Object.keys(Object.values(file.adapters)[0].classes).length
      expect(count(first.logs, /^matmul kernels tuned on the device for (\d+) product classes/)).toBe(classes)

      const second = await run('kept-2')
      expect(second.logs.filter((l) => l.startsWith('tuning the matrix products'))).toEqual([])
      expect(count(second.logs, /^matmul kernels for (\d+) product classes kept from an earlier tuning on this adapter/)).toBe(classes)
      expect(second.result.losses).toEqual(first.result.losses)
    } finally {
      if (previous === undefined) delete process.env.MENGZI_WEBGPU_MATMUL_TUNE
      else process.env.MENGZI_WEBGPU_MATMUL_TUNE = previous
    }
  })

  it('runs in the training worker thread (as the app and `mengzi serve` run it), naming the adapter in the backend line', async () => {
    let backend = ''
    const result = await trainInWorker(tinyConfig({ backend: 'webgpu', totalSteps: 2 }), { runDir: join(dir, 'worker') }, { backend: (b) => (backend = b.detail) })
    expect(result.step).toBe(2)
    expect(result.losses.every(Number.isFinite)).toBe(true)
    expect(backend).toMatch(/^using webgpu: .*adapter /m)
  })
})
