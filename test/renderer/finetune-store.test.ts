// The Fine-tune store over a real Workbench (in-process transport): CLUE datasets only, the run config
// built from the form, live dev points from run.metrics events, a selected run's series and summary.
import path from 'node:path'
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Workbench } from '../../engine/service/workbench'
import { insertDataset } from '../../engine/store/datasets'
import { MetricWriter } from '../../engine/store/metrics'
import { insertModel } from '../../engine/store/models'
import { insertRun, setRunStatus } from '../../engine/store/runs'
import { setApi } from '../../renderer/src/api/client'
import { useFinetuneStore } from '../../renderer/src/stores/finetune'
import { tempDir } from '../helpers'
import { inProcessClient } from './in-process-client'

const tmp = tempDir()
let wb: Workbench
let runId: number

beforeAll(() => {
  wb = new Workbench({ home: tmp.dir })
  setApi(inProcessClient(wb))
  insertDataset(wb.db, { name: 'corpus', kind: 'text', dir: path.join(tmp.dir, 'd1'), stats: {}, files: [] })
  insertDataset(wb.db, { name: 'tnews', kind: 'tnews', dir: path.join(tmp.dir, 'd2'), stats: {}, files: [] })
  insertModel(wb.db, { name: 'tiny', source: 'imported', dir: path.join(tmp.dir, 'm1'), config: {} })
  runId = insertRun(wb.db, { name: 'tnews', kind: 'finetune', config: { task: 'tnews' }, seed: 42 })
  const w = new MetricWriter(wb.db, runId)
  w.add('loss', 1, 1.1)
  w.add('dev/accuracy', 10, 0.6)
  w.flush()
  setRunStatus(wb.db, runId, 'running')
})
afterAll(async () => {
  await wb.close()
  tmp.cleanup()
})
beforeEach(() => setActivePinia(createPinia()))

describe('finetune store', () => {
  it('offers CLUE datasets only and picks the first dataset and model', async () => {
    const s = useFinetuneStore()
    await s.refresh()
    expect(s.clueDatasets.map((d) => d.name)).toEqual(['tnews'])
    expect(s.form.datasetId).toBe(s.clueDatasets[0].id)
    expect(s.runs.map((r) => r.id)).toEqual([runId])
  })

  it('builds the run config from the form, each chosen strategy with its defaults', async () => {
    const s = useFinetuneStore()
    await s.refresh()
    s.form.learningRate = 3e-5
    s.form.strategies = { distill: true, teacherModelId: s.models[0].id, choiceSmoothing: true, smart: true, bregman: true, augment: false }
    expect(s.config()).toEqual({
      learningRate: 3e-5,
      batchSize: 16,
      epochs: 3,
      maxSeqLength: 128,
      backend: 'auto',
      precision: 'fp32',
      strategies: { distill: { teacherModelId: s.models[0].id }, choiceSmoothing: {}, smart: { bregman: {} } },
    })
  })

  it('sends the backend and precision; fp16 with SMART is refused with the reason, and no run is made', async () => {
    const s = useFinetuneStore()
    await s.refresh()
    s.form.backend = 'webgpu'
    s.form.precision = 'fp16'
    s.form.strategies = { ...s.form.strategies, smart: true }
    expect(s.config()).toMatchObject({ backend: 'webgpu', precision: 'fp16', strategies: { smart: {} } })
    const before = (await wb.call('runs.list', {})).length
    await s.launch()
    expect(s.error).toMatch(/strategies\.smart: SMART's term compares the logits of inputs perturbed by at most epsilon \(0\.00001\), a difference f16 products round away; use precision "fp32" with SMART$/)
    expect((await wb.call('runs.list', {})).length).toBe(before)
  })

  // a form that passes, with its estimate and time, is checked in Chromium (e2e/finetune.test.ts): the
  // estimate packs the data in a worker thread, which happy-dom cannot start
  it('checks the form before a start: the refusal Start would meet, then the next reason (the model folder is gone)', async () => {
    const s = useFinetuneStore()
    await s.refreshCheck()
    expect([s.check, s.checkError]).toEqual([null, null]) // nothing chosen yet
    await s.refresh()
    s.form.precision = 'fp16'
    s.form.backend = 'wasm'
    await s.refreshCheck()
    expect(s.checkError).toMatch(/precision: "fp16" trains on the webgpu backend only, and backend is "wasm"/)
    expect(s.check).toBeNull()
    s.form.backend = 'cpu'
    s.form.precision = 'fp32'
    await s.refreshCheck()
    expect(s.checkError).toBe(`${path.join(tmp.dir, 'm1', 'config.json')}: no such file (a model directory holds config.json and model.safetensors)`)
    expect([s.check, s.measuring]).toEqual([null, false])
  })

  it('loads a run\'s dev series and appends live points from run.metrics', async () => {
    const s = useFinetuneStore()
    await s.select(runId)
    expect(s.summary).toMatchObject({ runId, task: 'tnews', status: 'running', metric: 'accuracy' })
    expect(s.dev).toEqual({ accuracy: { steps: [10], values: [0.6] } })
    s.apply({ type: 'run.metrics', runId, points: [{ name: 'loss', step: 20, value: 0.9, wallTime: 0 }, { name: 'dev/accuracy', step: 20, value: 0.7, wallTime: 0 }] })
    s.apply({ type: 'run.metrics', runId: runId + 1, points: [{ name: 'dev/accuracy', step: 30, value: 0.1, wallTime: 0 }] })
    expect(s.dev).toEqual({ accuracy: { steps: [10, 20], values: [0.6, 0.7] } })
  })
})
