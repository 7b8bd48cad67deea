// `mengzi bench train` on webgpu: what a step records and submits (the host's share of a GPU step), the
// submit interval, and the step in fp16 mixed precision as the training loop runs it (loss scaled,
// overflow checked on the global norm, update skipped on overflow), so the GPU comparison
// (test/bench/gpu-vs-torch.sh) can time it beside fp32.
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { benchTrain } from '../../../engine/train/bench'
import { DEFAULT_SUBMIT_EVERY, submitEveryFromEnv } from '../../../engine/compute/webgpu/flags'
import { adapter, describeOnWebgpu } from '../compute/webgpu/on-webgpu'
import { runCli } from '../cli/run-cli'

describeOnWebgpu('bench train on webgpu', () => {
  it('an fp32 step submits once, at the loss read; every N dispatches with submitEvery N, and the same loss', async () => {
    const once = await benchTrain({ config: 'A', backend: 'webgpu', warmupSteps: 0, timedSteps: 1 })
    expect(once.gpuWork).toMatchObject({ submits: 1, submitEvery: DEFAULT_SUBMIT_EVERY })
    const { dispatches } = once.gpuWork!
    expect(dispatches).toBeGreaterThan(80) // forward, backward and Adam (95 at config A)
    expect(once.medianHostMs).toBeGreaterThan(0)
    expect(once.medianHostMs).toBeLessThan(once.medianStepMs) // the rest is the device's work and the read
    const every16 = await benchTrain({ config: 'A', backend: 'webgpu', warmupSteps: 0, timedSteps: 1, submitEvery: 16 })
    expect(every16.gpuWork).toEqual({ dispatches, submits: Math.ceil(dispatches / 16), submitEvery: 16, wait: adapter!.software ? 'yield' : 'spin' }) // how waits tick by default (event-ticks.ts)
    expect(every16.losses).toEqual(once.losses)
    expect(tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE')).toBe(DEFAULT_SUBMIT_EVERY) // restored
  })

  it('fp16: trains config A: the first loss within 2e-3 of fp32 on wasm, loss scale 2^16 and no step skipped, the loss going down; reads back only the norm and the loss', async () => {
    const fp32 = await benchTrain({ config: 'A', backend: 'wasm', warmupSteps: 0, timedSteps: 1 })
    expect(fp32).toMatchObject({ precision: 'fp32', lossScale: null })
    const fp16 = await benchTrain({ config: 'A', backend: 'webgpu', precision: 'fp16', warmupSteps: 0, timedSteps: 2 })
    expect(fp16).toMatchObject({ backend: 'webgpu', precision: 'fp16', lossScale: { scale: 2 ** 16, skipped: 0 } })
    // the same initial weights and batch: only the arithmetic differs (f16 inputs, f32 accumulation)
    expect(Math.abs(fp16.losses[0] - fp32.losses[0])).toBeLessThan(2e-3)
    expect(fp16.losses[0]).not.toBe(fp32.losses[0])
    expect(fp16.losses[1]).toBeLessThan(fp16.losses[0])
    expect(fp16.gpuWork?.submits).toBe(2) // the norm's read (overflow check) and the loss's
    expect(fp16.medianHostMs).toBeLessThan(fp16.medianStepMs)
  })


  it('pipelined (each loss read while the next step records): fp16 with the scale on the device gives the losses and scale of reading step by step, bit for bit', async () => {
    const options = { config: 'A', backend: 'webgpu', precision: 'fp16', warmupSteps: 0, timedSteps: 2 } as const
    const byStep = await benchTrain(options)
    const pipelined = await benchTrain({ ...options, pipelined: true })
    expect(pipelined).toMatchObject({ pipelined: true, losses: byStep.losses, lossScale: byStep.lossScale })
    expect(byStep.pipelined).toBe(false)
    expect(pipelined.gpuWork).toEqual(byStep.gpuWork) // the same work recorded and submitted per step
  })
})

describe('bench train: webgpu settings', () => {
  it('the submit interval: 1000 by default, a whole number ≥ 1 from MENGZI_WEBGPU_SUBMIT_EVERY, else a one-line reason', () => {
    expect(submitEveryFromEnv(undefined)).toBe(1000)
    expect(submitEveryFromEnv('')).toBe(1000)
    expect(submitEveryFromEnv('64')).toBe(64)
    for (const bad of ['0', '-3', '1.5', 'abc', '1e3', ' ']) {
      expect(() => submitEveryFromEnv(bad)).toThrow(`MENGZI_WEBGPU_SUBMIT_EVERY: expected a whole number of dispatches, 1 or more; got "${bad}"`)
    }
  })

  it('refuses a submit interval or kernel times off webgpu, and a bad --submit-every', async () => {
    await expect(benchTrain({ config: 'A', backend: 'wasm', submitEvery: 64, warmupSteps: 0, timedSteps: 1 })).rejects.toThrow('submitEvery is a webgpu setting; this bench runs on wasm')
    await expect(benchTrain({ config: 'A', backend: 'wasm', kernelTimes: true, warmupSteps: 0, timedSteps: 1 })).rejects.toThrow('kernel times are measured on webgpu; this bench runs on wasm')
    const bad = await runCli(['bench', 'train', '--submit-every', '0'])
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toContain('--submit-every must be a positive integer; got "0"')
  })
})

describe('bench train --precision', () => {
  it('refuses fp16 on a backend other than webgpu, and an unknown precision, saying why', async () => {
    await expect(benchTrain({ config: 'A', backend: 'wasm', precision: 'fp16', warmupSteps: 0, timedSteps: 1 })).rejects.toThrow('precision "fp16" needs the webgpu backend; this run uses wasm')
    const wasm = await runCli(['bench', 'train', '--backend', 'wasm', '--precision', 'fp16', '--steps', '1', '--warmup', '1'])
    expect(wasm.status).not.toBe(0)
    expect(wasm.stderr).toContain('precision "fp16" needs the webgpu backend; this run uses wasm')
    const unknown = await runCli(['bench', 'train', '--precision', 'fp8'])
    expect(unknown.status).not.toBe(0)
    expect(unknown.stderr).toContain('--precision must be one of fp32, fp16; got "fp8"')
  })
})
