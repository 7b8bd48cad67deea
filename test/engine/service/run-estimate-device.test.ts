// The run form's estimate checks the run against Settings' probe of this machine before it starts: a
// named backend that cannot start, fp16 where auto lands off webgpu, and the run's largest tensors against
// the WebGPU adapter's per-binding limit (lavapipe: 128 MiB), so a run that would fail when a long batch
// comes says so first; and which adapter auto would train on.
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { BackendInfo } from '../../../engine/service/api'
import { Workbench } from '../../../engine/service/workbench'
import { BENCH_CONFIGS } from '../../../engine/model/config'
import { bindingLimitWarnings, pretrainingMicroBatch } from '../../../engine/train/estimate'
import { parseTrainConfig } from '../../../engine/train/config'
import { startCheck, webgpuAdapterFor } from '../../../engine/train/start-check'
import { tempDir } from '../../helpers'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'

const tmp = tempDir()
let wb: Workbench
let probed: BackendInfo[]

beforeAll(async () => {
  wb = new Workbench({ home: tmp.dir })
  probed = await wb.call('backends.list', {})
})
afterAll(async () => {
  await wb.close()
  tmp.cleanup()
})

// BERT-base at 32 × 512 tokens: feed-forward [16384, 3072] (192 MiB), Q, K, V [16384, 2304] (144 MiB) and
// the MLM logits [32·77, 21128] (199 MiB) are over 128 MiB; the word embeddings [21128, 768] (62 MiB) are not.
const BASE_LONG = { model: { preset: 'BASE' }, backend: 'webgpu', batchSize: 32, maxSeqLength: 512, totalSteps: 10 }

describeOnWebgpu('the run form against the adapter', () => {
  it('warns before the start about each tensor a full-length batch would make over the binding limit', async () => {
    const webgpu = probed.find((p) => p.name === 'webgpu')!
    const limit = webgpu.adapter!.limits.maxStorageBufferBindingSize
    const estimate = await wb.call('runs.estimate', { config: BASE_LONG })
    expect(estimate.device).toEqual({ adapter: expect.stringContaining(webgpu.adapter!.description || webgpu.adapter!.device), maxStorageBufferBindingSize: limit })
    // the lines the run's loop logs as it starts (loop.ts), for the same micro-batch
    expect(estimate.backendWarnings).toEqual(bindingLimitWarnings(BENCH_CONFIGS.BASE, { sequences: 32, seqLength: 512, maskedPerSequence: 77 }, limit))
    expect(estimate.backendWarnings.map((l) => /\[([\d, ]+)\]/.exec(l)![1])).toEqual(['16384, 3072', '16384, 2304', '2464, 21128'])
    expect(estimate.backendWarnings[0]).toMatch(/^warning: at full length \(32 × 512 tokens per micro-batch\) the feed-forward activations would be .*; a batch that long will fail the run\. /)
  })

  it('has nothing to say about a batch that fits, or once the MLM objective is off', async () => {
    const fits = await wb.call('runs.estimate', { config: { ...BASE_LONG, batchSize: 8 } })
    expect(fits.device).not.toBeNull()
    expect(fits.backendWarnings).toEqual([])
    // without MLM, 22 × 512 = 11,264 tokens: the feed-forward activations (132 MiB) are over, Q, K, V (99 MiB) fit
    const edge = await wb.call('runs.estimate', { config: { ...BASE_LONG, batchSize: 22, objectives: ['sop'] } })
    expect(edge.backendWarnings).toHaveLength(1)
    expect(edge.backendWarnings[0]).toContain('[11264, 3072]')
    // one sequence fewer (21 × 512 = 10,752 tokens, 126 MiB) fits
    expect((await wb.call('runs.estimate', { config: { ...BASE_LONG, batchSize: 21, objectives: ['sop'] } })).backendWarnings).toEqual([])
  })

  it('checks only runs that train on webgpu: none on wasm, none on auto where auto passes over a software adapter', async () => {
    expect(await wb.call('runs.estimate', { config: { ...BASE_LONG, backend: 'wasm' } })).toMatchObject({ device: null, backendWarnings: [] })
    const auto = await wb.call('runs.estimate', { config: { ...BASE_LONG, backend: 'auto' } })
    const autoPicksWebgpu = probed.find((p) => p.available)?.name === 'webgpu'
    expect(auto.device !== null).toBe(autoPicksWebgpu)
  })
})

it('says before the start that a run would fail there: a backend that cannot start, fp16 where auto lands off webgpu', async () => {
  const small = { model: { preset: 'tiny' }, totalSteps: 10 }
  const autoOn = probed.find((p) => p.available)!.name
  const webgpu = probed.find((p) => p.name === 'webgpu')!
  const fp16 = await wb.call('runs.estimate', { config: { ...small, backend: 'auto', precision: 'fp16' } })
  if (autoOn === 'webgpu') expect(fp16.backendWarnings).toEqual([])
  else {
    expect(fp16.backendWarnings).toEqual([
      `warning: precision "fp16" trains on the webgpu backend only, and auto would train on ${autoOn} here (webgpu: ${webgpu.detail}); the run would fail at its start. Choose backend "webgpu", or precision "fp32"`,
    ])
  }
  // a named backend off webgpu is refused as the config is read, with the field
  await expect(wb.call('runs.estimate', { config: { ...small, backend: 'wasm', precision: 'fp16' } })).rejects.toThrow(/^run config: precision: "fp16" trains on the webgpu backend only, and backend is "wasm"; choose backend "webgpu", or precision "fp32"$/)
  // tfjs-node is an optional dependency that cannot install here: a run that names it says so
  const tensorflow = probed.find((p) => p.name === 'tensorflow')!
  const named = await wb.call('runs.estimate', { config: { ...small, backend: 'tensorflow' } })
  expect(named.backendWarnings).toEqual(tensorflow.available ? [] : [`warning: backend "tensorflow" is unavailable here (${tensorflow.detail}); the run would fail at its start`])
  // fp16's memory: the f16 copy of every weight beside its f32 master (2 bytes a parameter)
  const fp32 = await wb.call('runs.estimate', { config: { ...small, backend: 'webgpu' } })
  const half = await wb.call('runs.estimate', { config: { ...small, backend: 'webgpu', precision: 'fp16' } })
  expect(half.memory.weights - fp32.memory.weights).toBe(2 * fp32.parameters)
  expect(half.memory.total - fp32.memory.total).toBe(2 * fp32.parameters)
  expect(half.method.memory).toMatch(/f16 copies .* \(18 bytes\/parameter\)/)
  // a torch run is checked by its own plan (engine/launch/plan.ts), not against this machine's ladder
  expect((await wb.call('runs.estimate', { config: { ...small, backend: 'auto', precision: 'fp16', engine: 'torch' } })).backendWarnings).toEqual([])
})

it('checks against a probe where auto reaches a hardware adapter: fp16 trains there, a long batch is over its limit', () => {
  const rungs = [rung('tensorflow', false), rung('webgpu', true), rung('wasm', true), rung('cpu', true)]
  const config = (over: Record<string, unknown>) => parseTrainConfig({ model: { preset: 'BASE' }, data: { kind: 'synthetic', sequences: 1, minLength: 1, maxLength: 1, seed: 0 }, ...over })
  const check = (c: ReturnType<typeof config>) => startCheck(c, BENCH_CONFIGS.BASE, pretrainingMicroBatch(c), rungs)
  expect(check(config({ precision: 'fp16' }))).toEqual({ adapter: HARDWARE_ADAPTER, warnings: [] })
  // 2 GiB per binding, 512 × 512 tokens: the feed-forward 3.2 GB, Q, K, V 2.4 GB, the MLM logits (512 · 77 masked) 3.3 GB
  const long = check(config({ batchSize: 512, maxSeqLength: 512 }))
  expect(long.warnings.map((l) => /\[([\d, ]+)\]/.exec(l)![1])).toEqual(['262144, 3072', '262144, 2304', '39424, 21128'])
  // no probe (it failed): nothing is claimed, not even where auto would land
  expect(startCheck(config({ precision: 'fp16' }), BENCH_CONFIGS.BASE, pretrainingMicroBatch(config({})), [])).toEqual({ adapter: null, warnings: [] })
  // a backend that starts and has no binding limit says nothing
  expect(check(config({ backend: 'wasm', batchSize: 512, maxSeqLength: 512 }))).toEqual({ adapter: null, warnings: [] })
})

it('finds the adapter auto would train on from the probe: webgpu only where it is the first rung available', () => {
  const adapter = HARDWARE_ADAPTER
  const hardware = [rung('tensorflow', false), rung('webgpu', true), rung('wasm', true), rung('cpu', true)]
  expect(webgpuAdapterFor('auto', hardware)).toBe(adapter)
  expect(webgpuAdapterFor('webgpu', hardware)).toBe(adapter)
  expect(webgpuAdapterFor('wasm', hardware)).toBeNull()
  // a software adapter: auto passes over it (unavailable to auto), a run that names webgpu still uses it
  const software = [rung('tensorflow', false), rung('webgpu', false), rung('wasm', true), rung('cpu', true)]
  expect(webgpuAdapterFor('auto', software)).toBeNull()
  expect(webgpuAdapterFor('webgpu', software)).toBe(adapter)
  // tfjs-node-gpu installed: auto trains there
  expect(webgpuAdapterFor('auto', [rung('tensorflow', true), rung('webgpu', true), rung('wasm', true), rung('cpu', true)])).toBeNull()
  expect(webgpuAdapterFor('webgpu', [rung('tensorflow', true), rung('wasm', true), rung('cpu', true)])).toBeNull()
})

// A hardware adapter's report, written for the ladder logic (only availability and the rung order matter).
const HARDWARE_ADAPTER = {
  vendor: 'nvidia',
  architecture: 'hopper',
  device: '',
  description: 'NVIDIA H100 80GB HBM3',
  software: null,
  f16: true,
  subgroups: true,
  limits: { maxStorageBuffersPerShaderStage: 10, maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 1024, maxStorageBufferBindingSize: 2 ** 31 - 4, maxBufferSize: 2 ** 31 - 4 },
}

const rung = (name: BackendInfo['name'], available: boolean): BackendInfo => ({ name, available, detail: '', ...(name === 'webgpu' ? { adapter: HARDWARE_ADAPTER } : {}) })
