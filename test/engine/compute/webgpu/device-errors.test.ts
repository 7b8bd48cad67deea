// Device errors end a run with the error's text instead of a step that never finishes (issue 14:
// tfjs-webgpu's AddN over 43 gradients exceeded the 8-storage-buffer limit, Dawn rejected the
// pipeline, and the run stayed "running"). AddN now sums in chunks within the limit. A tensor too large
// for one binding is refused by our dispatch with its shape and what to change, before Dawn's error.
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { currentDevice, deviceFailure } from '../../../../engine/compute/webgpu/device'
import { dispatch, webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { clipByGlobalNorm } from '../../../../engine/train/optimizers'
import { train } from '../../../../engine/train/loop'
import { randomValues } from '../kernels/on-backends'
import { TINY_BERT, tinyConfig } from '../../train/tiny-config'
import { describeOnWebgpu, valuesOf } from './on-webgpu'

const dir = mkdtempSync(join(tmpdir(), 'mengzi-webgpu-errors-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A shader binding more storage buffers than the device allows: the same validation error as the stock AddN. */
function forceValidationError(): void {
  const backend = webgpuInternals(tf.backend())
  const n = backend.device.limits.maxStorageBuffersPerShaderStage + 4
  const xs = Array.from({ length: n }, () => backend.makeTensorInfo([4], 'float32', new Float32Array(4)))
  const out = backend.makeTensorInfo([4], 'float32')
  const decl = xs.map((_, i) => `@group(0) @binding(${i + 1}) var<storage, read> x${i}: array<f32>;`).join('\n')
  const sum = xs.map((_, i) => `x${i}[g.x]`).join(' + ')
  const code = `@group(0) @binding(0) var<storage, read_write> y: array<f32>;\n${decl}\n@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) g: vec3<u32>) { y[g.x] = ${sum}; }`
  dispatch(backend, { key: `too-many-buffers-${n}`, code: () => code, outputs: [out], inputs: xs, workgroups: [1] })
}

describeOnWebgpu('webgpu device errors', () => {
  it('AddN over 43 tensors (more than the storage-buffer limit) equals the cpu sum, as does the global gradient norm', async () => {
    const shapes = Array.from({ length: 43 }, (_, i) => [1 + (i % 5), 3 + (i % 4)])
    const make = () => shapes.map((s, i) => tf.tensor(randomValues(s[0] * s[1], i + 1), s).slice([0, 0], [1, 3]).mul(i + 1))
    const got = await valuesOf(() => tf.addN(make()))
    await tf.setBackend('cpu')
    const want = await valuesOf(() => tf.addN(make()))
    const grads = () => new Map(shapes.map((s, i) => [`p${i}`, tf.tensor(randomValues(s[0] * s[1], 100 + i), s)]))
    const cpuNorm = await valuesOf(() => clipByGlobalNorm(grads(), 1).norm)
    await tf.setBackend('webgpu')
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4)
    const gpuNorm = await valuesOf(() => clipByGlobalNorm(grads(), 1).norm)
    expect(gpuNorm[0]).toBeCloseTo(cpuNorm[0], 4)
    expect(deviceFailure()).toBeNull()
  })

  it('a tensor too large for one binding fails the run with its shape, the limit and what to change, before Dawn sees it; the device stays usable', async () => {
    const limit = webgpuInternals(tf.backend()).device.limits.maxStorageBufferBindingSize
    // the feed-forward layer's [tokens, intermediate] activations: 4 sequences of 22 tokens ([CLS] 20 [SEP]) × 4 bytes
    // per column, 352 bytes, against limit / 240 columns: 1.47 × the limit
    const intermediate = Math.ceil(limit / (4 * 60))
    const big = tinyConfig({ backend: 'webgpu', totalSteps: 2, model: { config: { ...TINY_BERT, intermediate_size: intermediate } }, data: { kind: 'synthetic', sequences: 40, minLength: 20, maxLength: 20, seed: 3 } })
    const logs: string[] = []
    const run = train(big, { runDir: join(dir, 'too-large') }, { log: (line) => logs.push(line) })
    await expect(run).rejects.toThrow(new RegExp(`^matmul-\\S*gelu\\S*: a \\[\\d+, ${intermediate}\\] float32 tensor takes [\\d.]+ MB, more than one kernel may bind on this adapter \\(maxStorageBufferBindingSize ${(limit / 1e6).toFixed(1)} MB\\); fewer tokens per micro-batch \\(batchSize or maxSeqLength`))
    await expect(run).rejects.toMatchObject({ code: 'UNSUPPORTED' })
    // warned at the start: the longest batch (4 × 24 tokens) makes the activations refused
    expect(logs[0]).toMatch(new RegExp(`^warning: at full length \\(4 × 24 tokens per micro-batch\\) the feed-forward activations would be a \\[96, ${intermediate}\\] float32 tensor that takes`))
    expect(deviceFailure()).toBeNull()
    const after = await train(tinyConfig({ backend: 'webgpu', totalSteps: 2 }), { runDir: join(dir, 'after') })
    expect(after.losses.every(Number.isFinite)).toBe(true)
  })

  it('a training run trains on webgpu, and a device error part-way fails it with the error text', async () => {
    expect(currentDevice()).not.toBeNull()
    const steps: number[] = []
    const run = train(tinyConfig({ backend: 'webgpu', totalSteps: 4 }), { runDir: join(dir, 'run') }, {
      progress: (p) => {
        steps.push(p.step)
        if (p.step === 2) forceValidationError()
      },
    })
    await expect(run).rejects.toThrow(/^WebGPU device error: The number of storage buffers \(\d+\) in the Compute stage exceeds the maximum per-stage limit/)
    expect(steps).toEqual([1, 2])
  })
})
