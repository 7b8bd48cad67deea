// Pretraining runs from the app through the Workbench API: the form's presets and schema, estimates
// (checked against the model actually built and a hand count of FLOPs), start on an imported dataset with
// a default name, live `run.metrics` events that add up to the stored series, cancel by run id, resume,
// rename and clone.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobInfo, WorkbenchEvent } from '../../../engine/service/api'
import { Workbench } from '../../../engine/service/workbench'
import { BENCH_CONFIGS, type BertConfig } from '../../../engine/model/config'
import { activationBytes, trainingFlops } from '../../../engine/train/estimate'
import { repoRoot, tempDir } from '../../helpers'

const tmp = tempDir()
let wb: Workbench
let datasetId: number

// 1 layer, hidden 32, bert-base-chinese's vocab (the bundled vocab the form uses by default)
const SMALL = { config: { vocab_size: 21128, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } }

function waitForJob(jobId: string): Promise<JobInfo> {
  return new Promise((resolve) => {
    const known = wb.jobs.list().find((j) => j.id === jobId)
    if (known && known.status !== 'running') return resolve(known)
    const off = wb.subscribe((e) => {
      if (e.type === 'job' && e.job.id === jobId && e.job.status !== 'running') {
        off()
        resolve(e.job)
      }
    })
  })
}

beforeAll(async () => {
  wb = new Workbench({ home: tmp.dir })
  const { jobId } = await wb.call('datasets.import', { paths: [path.join(repoRoot, 'test/fixtures/import/poems.txt')], options: { name: '唐诗' } })
  expect((await waitForJob(jobId)).status).toBe('completed')
  datasetId = (await wb.call('datasets.list', {}))[0].id
})
afterAll(async () => {
  await wb.close()
  tmp.cleanup()
})

describe('run form: presets, schema, estimates', () => {
  it('offers every preset with its full config (defaults filled, no data or name) and the config schema', async () => {
    const { presets, schema } = await wb.call('runs.options', {})
    const a = presets.find((p) => p.name === 'A')!
    expect(a.config).toMatchObject({ optimizer: 'lamb', learningRate: 2e-3, batchSize: 16, seed: 42, backend: 'auto', mlmProbability: 0.15 })
    expect(a.config).not.toHaveProperty('data')
    expect(a.config).not.toHaveProperty('name')
    const props = (schema as { properties: Record<string, { enum?: string[] }> }).properties
    expect(props.optimizer.enum).toEqual(['adamw', 'lamb'])
    expect(props.backend.enum).toContain('wasm')
  })

  it('counts the parameters of the model the run builds, and memory by the formula', async () => {
    const form = { model: SMALL, optimizer: 'adamw', learningRate: 1e-3, batchSize: 4, maxSeqLength: 32, totalSteps: 6 }
    const estimate = await wb.call('runs.estimate', { datasetId, config: form })
    expect(estimate.defaultName).toBe('custom · mlm · lr 1e-3')
    expect(estimate.objectives).toEqual(['mlm'])
    // embeddings (21128+64+2)·32 + 2·32 LayerNorm; one layer 4·(32·32+32) + 2·2·32 + 32·64+64 + 64·32+32;
    // pooler 32·32+32; MLM head 32·32+32 + 2·32 + 21128
    const H = 32
    const expected = (21128 + 64 + 2) * H + 2 * H + (4 * (H * H + H) + 4 * H + (H * 64 + 64) + (64 * H + H)) + (H * H + H) + (H * H + H + 2 * H + 21128)
    expect(estimate.parameters).toBe(expected)
    expect(estimate.memory.weights).toBe(4 * expected)
    expect(estimate.memory.optimizer).toBe(8 * expected)
    expect(estimate.memory.total).toBe(16 * expected + estimate.memory.activations)
    const doubled = await wb.call('runs.estimate', { datasetId, config: { ...form, batchSize: 8 } })
    expect(doubled.memory.activations).toBe(2 * estimate.memory.activations)
    expect(estimate.secondsPerStep).toBeNull() // not calibrated yet
    expect(estimate.tokensPerStep).toBe(4 * 32)
    // one head per objective: POS (18 classes), NE (35 BIO labels), SOP (2) on the hidden size
    const mengzi = await wb.call('runs.estimate', { datasetId, config: { ...form, objectives: ['mlm', 'pos', 'ner', 'sop'] } })
    expect(mengzi.objectives).toEqual(['mlm', 'pos', 'ner', 'sop'])
    expect(mengzi.defaultName).toBe('custom · mlm+pos+ner+sop · lr 1e-3')
    expect(mengzi.parameters - estimate.parameters).toBe((18 + 35 + 2) * (H + 1))
  })

  it('names a preset run preset · objectives · lr', async () => {
    const { presets } = await wb.call('runs.options', {})
    const tiny = presets.find((p) => p.name === 'tiny')!
    const estimate = await wb.call('runs.estimate', { datasetId, config: tiny.config })
    expect(estimate.defaultName).toBe('tiny · mlm · lr 2e-3')
  })

  it('counts FLOPs by hand for a tiny shape', () => {
    const bert = { ...BENCH_CONFIGS.A, hidden_size: 4, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 10 } as BertConfig
    // per token: 8·16 + 4·4·8 + 4·3·4 = 128 + 128 + 48 = 304; per masked: 2·16 + 2·4·10 = 112
    expect(trainingFlops(bert, { sequences: 2, seqLength: 3, maskedPerSequence: 1 })).toBe(3 * 2 * (3 * 304 + 112))
    // per layer 11·3·4 + 2·3·8 + 2·2·9 = 132 + 48 + 36; embeddings 3·3·4; head 2·1·(10+4)
    expect(activationBytes(bert, 2, 3, 1)).toBe(4 * 2 * (132 + 48 + 36 + 36 + 28))
  })

  it('turns FLOPs into time with a measured calibration step on the backend', async () => {
    const estimate = await wb.call('runs.estimate', { datasetId, config: { model: SMALL, backend: 'wasm', maxSeqLength: 32, batchSize: 4, totalSteps: 10 }, calibrate: true })
    expect(estimate.secondsPerStep).toBeGreaterThan(0)
    expect(estimate.totalSeconds).toBeCloseTo(10 * estimate.secondsPerStep!, 9)
    expect(estimate.method.time).toMatch(/GFLOP\/s measured here \(median of 3 training steps of model A .* on wasm in fp32: \d+ ms\)/)
    // cached: a second estimate needs no new measurement and agrees
    const again = await wb.call('runs.estimate', { datasetId, config: { model: SMALL, backend: 'wasm', maxSeqLength: 32, batchSize: 4, totalSteps: 10 } })
    expect(again.secondsPerStep).toBe(estimate.secondsPerStep)
  })

  it('refuses a bad form with the field at fault', async () => {
    await expect(wb.call('runs.estimate', { config: { model: SMALL, learningRate: -1 } })).rejects.toThrow(/run config: learningRate: /)
    await expect(wb.call('runs.start', { config: { model: SMALL } })).rejects.toThrow(/datasetId: choose the text dataset/)
    await expect(wb.call('runs.start', { datasetId: 99, config: { model: SMALL } })).rejects.toThrow(/dataset 99 does not exist/)
  })
})

describe('runs started from the app', () => {
  it('starts on the dataset with a default name, streams its metric points, cancels, resumes, renames and clones', async () => {
    const events: Extract<WorkbenchEvent, { type: 'run.metrics' }>[] = []
    const off = wb.subscribe((e) => e.type === 'run.metrics' && events.push(e))
    const form = { model: SMALL, backend: 'wasm', optimizer: 'adamw', learningRate: 1e-3, batchSize: 4, maxSeqLength: 32, totalSteps: 200, checkpointEvery: 0 }
    const { runId, jobId } = await wb.call('runs.start', { datasetId, config: form })
    // cancel at the first points (the loop stops after the current step and checkpoints)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no run.metrics event within 30 s')), 30_000)
      const offFirst = wb.subscribe((e) => {
        if (e.type === 'run.metrics' && e.runId === runId) {
          offFirst()
          clearTimeout(timer)
          resolve()
        }
      })
    })
    expect((await wb.call('runs.job', { id: runId })).job?.id).toBe(jobId)
    expect(await wb.call('runs.cancel', { id: runId })).toEqual({ cancelled: true })
    expect((await waitForJob(jobId)).status).toBe('cancelled')
    const cancelled = await wb.call('runs.get', { id: runId })
    expect(cancelled).toMatchObject({ status: 'cancelled', name: 'custom · mlm · lr 1e-3' })
    const after = await wb.call('runs.job', { id: runId })
    expect(after.job).toBeNull()
    expect(after.backendLine).toMatch(/^using wasm: tfjs-backend-wasm.*\.wasm/) // the binary it ran, kernels and threads
    expect(await wb.call('runs.cancel', { id: runId })).toEqual({ cancelled: false })

    const resumed = await wb.call('train.resume', { id: runId })
    expect((await waitForJob(resumed.jobId)).status).toBe('completed')
    off()

    // every stored point arrived as an event, once, with its wall time; the loss curve runs 1..200
    const stored = await wb.call('runs.metrics', { id: runId })
    const streamed = new Map<string, number[]>()
    for (const e of events) {
      expect(e.runId).toBe(runId)
      for (const p of e.points) {
        expect(p.wallTime).toBeGreaterThan(1.7e9)
        streamed.set(p.name, [...(streamed.get(p.name) ?? []), p.step])
      }
    }
    for (const s of stored) expect(streamed.get(s.name), s.name).toEqual(s.steps)
    expect(stored.find((s) => s.name === 'loss')!.steps).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))

    const renamed = await wb.call('runs.rename', { id: runId, name: '  唐诗 baseline ' })
    expect(renamed).toMatchObject({ id: runId, name: '唐诗 baseline', status: 'completed' })
    await expect(wb.call('runs.rename', { id: 999, name: 'x' })).rejects.toThrow(/run 999 does not exist/)

    const draft = await wb.call('runs.draft', { id: runId })
    expect(draft).toMatchObject({ sourceRunId: runId, sourceName: '唐诗 baseline', datasetId })
    expect(draft.config).toMatchObject({ ...form, model: SMALL })
    expect(draft.config).not.toHaveProperty('data')
    // the clone, edited, starts as a new run named from its own config
    const clone = await wb.call('runs.start', { datasetId, config: { ...draft.config, learningRate: 5e-4, totalSteps: 2 } })
    expect(clone.runId).not.toBe(runId)
    expect((await waitForJob(clone.jobId)).status).toBe('completed')
    expect((await wb.call('runs.get', { id: clone.runId })).name).toBe('custom · mlm · lr 5e-4')
  })
})
