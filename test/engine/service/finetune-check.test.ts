// The Fine-tune form's check before a start (finetune.check), against Settings' real probe of this
// machine: the field finetune.start would refuse, fp16 where auto lands off webgpu, a backend that cannot
// start, and on webgpu each tensor a full-length micro-batch would make over the binding limit (a choice
// task's micro-batch holds a sequence per choice).
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { BackendInfo } from '../../../engine/service/api'
import { Workbench } from '../../../engine/service/workbench'
import { insertModel } from '../../../engine/store/models'
import { tempDir } from '../../helpers'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'
import { importClue, tnewsRecords, wideInitModel } from '../train/finetune-data'

const tmp = tempDir('mengzi-finetune-check-')
let wb: Workbench
let probed: BackendInfo[]
let tnews: number
let c3: number
let modelId: number

beforeAll(async () => {
  tnews = (await importClue(tmp.dir, 'tnews', { 'train.json': tnewsRecords(8, 1), 'dev.json': tnewsRecords(4, 2) })).id
  // C3: at most 3 choices a question, so 3 sequences an example
  const item = (i: number) => [['男：你喜欢山还是水？', '女：我喜欢水。'], [{ question: '女的喜欢什么？', choice: i % 2 ? ['山', '水', '云'] : ['水', '山'], answer: '水' }], `c${i}`]
  c3 = (await importClue(tmp.dir, 'c3', { 'train.json': Array.from({ length: 4 }, (_, i) => item(i)), 'dev.json': [item(0)] }, true)).id
  wb = new Workbench({ home: tmp.dir })
  const dir = await wideInitModel(path.join(tmp.dir, 'start'), 0.3) // hidden 32, feed-forward 64
  modelId = insertModel(wb.db, { name: 'tiny', source: 'imported', dir, config: {} })
  probed = await wb.call('backends.list', {})
})
afterAll(async () => {
  await wb?.close()
  tmp.cleanup()
})

const check = (datasetId: number, config: Record<string, unknown>) => wb.call('finetune.check', { datasetId, modelId, config })

it('refuses what finetune.start would, with the field: fp16 with SMART, fp16 on a named backend off webgpu', async () => {
  await expect(check(tnews, { backend: 'webgpu', precision: 'fp16', strategies: { smart: {} } })).rejects.toThrow(/^fine-tuning config: strategies\.smart: SMART's term compares /)
  await expect(check(tnews, { backend: 'wasm', precision: 'fp16' })).rejects.toThrow(/^fine-tuning config: precision: "fp16" trains on the webgpu backend only, and backend is "wasm"/)
  await expect(check(tnews, { learningRate: -1 })).rejects.toThrow(/^fine-tuning config: learningRate: /)
  expect(await check(tnews, { backend: 'cpu' })).toMatchObject({ device: null, backendWarnings: [] })
})

it("estimates the run from its data (in a worker), and times it once this machine's speed is measured, as the run form does", async () => {
  // 8 TNEWS examples in batches of 16 (the default): a step an epoch, 3 epochs
  const first = await check(tnews, { backend: 'wasm' })
  expect(first.estimate).toMatchObject({ trainFeatures: 8, stepsPerEpoch: 1, totalSteps: 3, secondsPerStep: null, totalSeconds: null })
  expect(first.estimate.parameters).toBeGreaterThan(0)
  expect((await check(c3, { backend: 'wasm', batchSize: 2, epochs: 1 })).estimate).toMatchObject({ trainFeatures: 4, totalSteps: 2 })
  // the run form's estimate: no calibration yet on wasm
  const runEstimate = () => wb.call('runs.estimate', { config: { model: { preset: 'tiny' }, backend: 'wasm', maxSeqLength: 32, batchSize: 4 } })
  expect((await runEstimate()).secondsPerStep).toBeNull()
  const timed = await wb.call('finetune.check', { datasetId: tnews, modelId, config: { backend: 'wasm' }, calibrate: true })
  expect(timed.estimate.secondsPerStep).toBeGreaterThan(0)
  expect(timed.estimate.totalSeconds).toBeGreaterThan(3 * timed.estimate.secondsPerStep!) // 3 steps and 3 evaluations
  expect(timed.estimate.method.time).toMatch(/^FLOPs ÷ [\d.]+ GFLOP\/s measured here \(median of 3 training steps of model A .* on wasm/)
  // one measurement for both forms
  expect((await runEstimate()).secondsPerStep).toBeGreaterThan(0)
}, 120_000)

it("estimates a sweep as the runs its grid makes: each run's steps, time and memory", async () => {
  // 8 TNEWS examples: batch 4 → 2 steps an epoch, batch 8 → 1; epochs 1 and 2: 2 + 4 + 1 + 2
  const grid = { learningRate: [1e-5], batchSize: [8, 4], epochs: [1, 2] } // the largest run first
  const answer = await wb.call('finetune.check', { datasetId: tnews, modelId, config: { backend: 'wasm' }, grid, calibrate: true })
  expect(answer.sweep).toMatchObject({ runs: 4, totalSteps: 9 })
  const runs = await Promise.all([4, 8].flatMap((batchSize) => [1, 2].map((epochs) => check(tnews, { backend: 'wasm', batchSize, epochs }))))
  expect(answer.sweep!.totalSeconds).toBeCloseTo(runs.reduce((t, r) => t + r.estimate.totalSeconds!, 0), 9)
  expect(answer.sweep!.peakMemory).toBe(Math.max(...runs.map((r) => r.estimate.memory.total)))
  expect(answer.sweep!.peakMemory).toBeGreaterThan(runs[0].estimate.memory.total) // batch 8 over batch 4
  expect((await check(tnews, { backend: 'wasm' })).sweep).toBeNull() // no grid, no sweep
  await expect(wb.call('finetune.check', { datasetId: tnews, modelId, config: {}, grid: { batchSize: [4], dropout: [2] } })).rejects.toThrow(/^fine-tuning config: dropout: /)
}, 120_000)

it('refuses data a run could not train on, with the reason', async () => {
  const noDev = (await importClue(tmp.dir, 'tnews-nodev', { 'train.json': tnewsRecords(4, 3) })).id
  await expect(check(noDev, {})).rejects.toThrow(/: no dev split to pick the best epoch by$/)
})

it('says fp16 would fail where auto lands off webgpu, and that a named backend cannot start here', async () => {
  const autoOn = probed.find((p) => p.available)!.name
  const fp16 = await check(tnews, { backend: 'auto', precision: 'fp16' })
  expect(fp16.backendWarnings).toEqual(autoOn === 'webgpu' ? [] : [expect.stringMatching(new RegExp(`^warning: precision "fp16" trains on the webgpu backend only, and auto would train on ${autoOn} here`))])
  const tensorflow = probed.find((p) => p.name === 'tensorflow')!
  expect((await check(tnews, { backend: 'tensorflow' })).backendWarnings).toEqual(tensorflow.available ? [] : [`warning: backend "tensorflow" is unavailable here (${tensorflow.detail}); the run would fail at its start`])
})

describeOnWebgpu('the Fine-tune form against the adapter', () => {
  it('warns about tensors a full-length batch would make over the binding limit, counting a sequence per choice', async () => {
    const limit = probed.find((p) => p.name === 'webgpu')!.adapter!.limits.maxStorageBufferBindingSize
    // 40,000 × 24 tokens: the [960000, 64] feed-forward activations (245.8 MB) and Q, K, V [960000, 96] (368.6 MB) over lavapipe's 134.2 MB
    const single = await check(tnews, { backend: 'webgpu', batchSize: 40_000, maxSeqLength: 24 })
    expect(single.device?.maxStorageBufferBindingSize).toBe(limit)
    expect(single.backendWarnings.map((l) => /\[([\d, ]+)\]/.exec(l)![1])).toEqual(['960000, 64', '960000, 96'])
    // a third of the batch fits as a single-sentence task (320,016 tokens: 81.9 MB, Q, K, V 122.9 MB); as C3, 3 choices an example, it does not
    expect((await check(tnews, { backend: 'webgpu', batchSize: 13_334, maxSeqLength: 24 })).backendWarnings).toEqual([])
    const choice = await check(c3, { backend: 'webgpu', batchSize: 13_334, maxSeqLength: 24 })
    expect(choice.backendWarnings.map((l) => /\[([\d, ]+)\]/.exec(l)![1])).toEqual(['960048, 64', '960048, 96'])
    expect(choice.backendWarnings[0]).toMatch(/^warning: at full length \(40002 × 24 tokens per micro-batch\) the feed-forward activations/)
  })
})
