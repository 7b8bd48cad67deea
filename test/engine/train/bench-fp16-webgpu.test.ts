// `mengzi bench train --precision fp16`: the bench step in fp16 mixed precision on webgpu, as the
// training loop runs it (loss scaled, overflow checked on the global norm, update skipped on overflow),
// so the GPU comparison (test/bench/gpu-vs-torch.sh) can time it beside fp32.
import { describe, expect, it } from 'vitest'
import { benchTrain } from '../../../engine/train/bench'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'
import { runCli } from '../cli/run-cli'

describeOnWebgpu('bench train in fp16 on webgpu', () => {
  it('trains config A: the first loss within 2e-3 of fp32 on wasm, loss scale 2^16 and no step skipped, the loss going down', async () => {
    const fp32 = await benchTrain({ config: 'A', backend: 'wasm', warmupSteps: 0, timedSteps: 1 })
    expect(fp32).toMatchObject({ precision: 'fp32', lossScale: null })
    const fp16 = await benchTrain({ config: 'A', backend: 'webgpu', precision: 'fp16', warmupSteps: 0, timedSteps: 2 })
    expect(fp16).toMatchObject({ backend: 'webgpu', precision: 'fp16', lossScale: { scale: 2 ** 16, skipped: 0 } })
    // the same initial weights and batch: only the arithmetic differs (f16 inputs, f32 accumulation)
    expect(Math.abs(fp16.losses[0] - fp32.losses[0])).toBeLessThan(2e-3)
    expect(fp16.losses[0]).not.toBe(fp32.losses[0])
    expect(fp16.losses[1]).toBeLessThan(fp16.losses[0])
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
