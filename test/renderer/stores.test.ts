import path from 'node:path'
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { Workbench } from '../../engine/service/workbench'
import { insertDataset } from '../../engine/store/datasets'
import { insertRun, setRunStatus } from '../../engine/store/runs'
import { MetricWriter } from '../../engine/store/metrics'
import { insertModel } from '../../engine/store/models'
import { setApi } from '../../renderer/src/api/client'
import { PIXELS_PER_BUCKET, queryToState, stateToQuery, useCompareStore } from '../../renderer/src/stores/compare'
import { useDatasetsStore } from '../../renderer/src/stores/datasets'
import { useJobsStore } from '../../renderer/src/stores/jobs'
import { useModelsStore } from '../../renderer/src/stores/models'
import { useRunsStore } from '../../renderer/src/stores/runs'
import { useSettingsStore } from '../../renderer/src/stores/settings'
import { tempDir } from '../helpers'
import { inProcessClient } from './in-process-client'

const tmp = tempDir()
let wb: Workbench
let runA: number
let runB: number

beforeAll(() => {
  wb = new Workbench({ home: tmp.dir })
  setApi(inProcessClient(wb))
  insertDataset(wb.db, {
    name: '孟子 fortunes',
    kind: 'text',
    dir: path.join(tmp.dir, 'datasets/1'),
    stats: { documents: 2 },
    files: [{ sourcePath: '/corpus/zh.txt', status: 'imported', reason: null, records: 2, encoding: 'gb18030', task: null, split: 'train', bytes: 40, errors: [] }],
  })
  for (const [name, scale] of [['lamb', 1], ['adamw', 2]] as const) {
    const id = insertRun(wb.db, { name, kind: 'pretrain', config: { optimizer: name }, seed: 42 })
    const w = new MetricWriter(wb.db, id)
    for (let step = 1; step <= 20; step++) w.add('loss', step, (scale * 10) / step)
    w.add('dev/accuracy', 20, 0.5 + 0.1 * scale)
    w.flush()
    setRunStatus(wb.db, id, 'completed', { backend: 'wasm' })
    if (name === 'lamb') runA = id
    else runB = id
  }
  insertModel(wb.db, { name: 'hf-bert-tiny', source: 'imported', dir: '/models/1', config: { hidden_size: 64, num_hidden_layers: 2 } })
})
afterAll(async () => {
  setApi(null)
  await wb.close()
  tmp.cleanup()
})
beforeEach(() => setActivePinia(createPinia()))

describe('renderer stores against a real engine', () => {
  it('datasets: lists, then loads a detail with its files', async () => {
    const store = useDatasetsStore()
    await store.refresh()
    expect(store.items.map((d) => d.name)).toEqual(['孟子 fortunes'])
    await store.select(store.items[0].id)
    expect(store.selected?.files[0]).toMatchObject({ file: '/corpus/zh.txt', encoding: 'gb18030', status: 'imported' })
    await store.select(999)
    expect(store.error).toBe('dataset 999 does not exist')
  })

  it('runs: selects a run with its metric series', async () => {
    const store = useRunsStore()
    await store.refresh()
    expect(store.items).toHaveLength(2)
    await store.select(runA)
    expect(store.selected).toMatchObject({ name: 'lamb', backend: 'wasm', config: { optimizer: 'lamb' } })
    const loss = store.series.find((s) => s.name === 'loss')!
    expect(loss.steps).toHaveLength(20)
    expect(loss.values[0]).toBe(10)
  })

  it('runs: the table carries final metrics, and tags roll back when the engine refuses them', async () => {
    const store = useRunsStore()
    await store.refresh()
    const lamb = store.items.find((r) => r.id === runA)!
    expect(lamb.final).toEqual({ loss: 0.5, 'dev/accuracy': 0.6 })
    expect(lamb.params).toEqual({ optimizer: 'lamb' })
    await store.annotate(runA, { tags: ['baseline'] })
    expect(store.items.find((r) => r.id === runA)!.tags).toEqual(['baseline'])
    await store.annotate(runA, { tags: ['x'.repeat(65)] })
    expect(store.items.find((r) => r.id === runA)!.tags).toEqual(['baseline'])
    expect(store.error).toMatch(/^runs\.annotate: tags\.0: /)
  })

  it('compare: keeps its state in the URL query and back', () => {
    const state = { runIds: [3, 1], metrics: ['loss', 'dev/accuracy'], x: 'tokens' as const, smoothing: 0.6, log: true, diffOnly: false, pcMetric: 'loss', zoom: { loss: [10, 20.5] as [number, number] } }
    const query = stateToQuery(state)
    expect(query).toEqual({ runs: '3,1', m: 'loss,dev/accuracy', x: 'tokens', s: '0.6', log: '1', all: '1', pc: 'loss', z: 'loss~10~20.5' })
    expect(queryToState(query)).toEqual(state)
    expect(queryToState({ runs: '2,x,-1,2', x: 'furlongs', s: '7', z: 'loss~5~1' })).toMatchObject({ runIds: [2], x: 'step', smoothing: 0, zoom: {} })
  })

  it('compare: loads the summary, decodes series frames, follows run.metrics events', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] })
    try {
      const store = useCompareStore()
      store.setState({ runIds: [runA, runB] })
      await store.loadSummary()
      expect(store.summary?.metrics).toEqual(['dev/accuracy', 'loss'])
      expect(store.state.metrics).toEqual(['loss']) // loss is picked first
      expect(store.summary?.diff.find((d) => d.key === 'optimizer')).toMatchObject({ values: ['lamb', 'adamw'], differs: true })
      await store.fetchFrame('loss', 40) // pixels: one bucket of 4 slots per PIXELS_PER_BUCKET (2) columns
      const frame = store.frames.loss
      expect(frame.xs.length).toBe((40 / PIXELS_PER_BUCKET) * 4)
      expect(frame.ys[1]![0]).toBe(20) // adamw's first loss
      expect(Array.from(frame.ys[0]!).filter((v) => !Number.isNaN(v)).at(-1)).toBe(0.5)
      // zooming in fetches the range; zooming out shows the whole-extent frame still held, without a request
      await store.zoom('loss', [5, 10])
      expect(store.frames.loss.range).toEqual([5, 10])
      const zoomOut = store.zoom('loss', null)
      expect(store.frames.loss).toBe(frame)
      await zoomOut

      const w = new MetricWriter(wb.db, runA)
      w.add('loss', 21, 0.25)
      w.flush()
      wb.emit({ type: 'run.metrics', runId: runA, points: [{ name: 'loss', step: 21, value: 0.25, wallTime: 0 }] })
      store.onRunMetrics(runA, ['loss'])
      await vi.runAllTimersAsync()
      await vi.waitFor(() => expect(store.frames.loss.extent).toEqual([1, 21]))
    } finally {
      vi.useRealTimers()
    }
  })

  it('compare: a reopen on the same view shows the frames it held, marked, until fresh ones replace them', async () => {
    const store = useCompareStore()
    store.setState({ runIds: [runA, runB], metrics: ['loss'], zoom: {} })
    await store.fetchFrame('loss', 40)
    const shown = store.frames.loss
    expect(shown.reshown).toBeUndefined()
    store.reopen(true)
    expect(store.frames.loss.reshown).toBe(true)
    expect(store.frames.loss.ys).toBe(shown.ys) // the same data, not a copy of it
    // the same request as before is sent again (a reopen forgets what it asked), and its answer replaces the held frame
    await store.fetchFrame('loss', 40)
    expect(store.frames.loss.reshown).toBeUndefined()
    expect(Array.from(store.frames.loss.ys[1]!)).toEqual(Array.from(shown.ys[1]!))
    // another view (here: other runs) starts empty
    store.reopen(false)
    expect(store.frames).toEqual({})
  })

  it('models: lists imported models with their config', async () => {
    const store = useModelsStore()
    await store.refresh()
    expect(store.items[0]).toMatchObject({ name: 'hf-bert-tiny', config: { hidden_size: 64 } })
  })

  it('settings: an update shows at once and rolls back when the engine refuses it', async () => {
    const store = useSettingsStore()
    await store.load()
    expect(store.version?.schemaVersion).toBeGreaterThan(0)
    await store.update({ theme: 'dark' })
    expect(store.settings?.theme).toBe('dark')
    await store.update({ backend: 'cuda' as never })
    expect(store.settings?.backend).toBe('auto')
    expect(store.error).toMatch(/^settings\.update: backend: /)
  })

  it('settings: forgetting the kept tuning says why it could not, and is ready to try again', async () => {
    const store = useSettingsStore()
    const before = process.env.MENGZI_WEBGPU_TUNING_CACHE
    process.env.MENGZI_WEBGPU_TUNING_CACHE = '0' // the task's worker inherits it: the cache is off
    try {
      const forgetting = store.forgetTuning()
      expect(store.forgetting).toBe(true) // the button is disabled while the worker runs
      await forgetting
    } finally {
      if (before === undefined) delete process.env.MENGZI_WEBGPU_TUNING_CACHE
      else process.env.MENGZI_WEBGPU_TUNING_CACHE = before
    }
    expect(store.forgetNotice).toMatch(/the tuning cache is off \(MENGZI_WEBGPU_TUNING_CACHE=0\): no product kernels are kept to forget$/)
    expect(store.forgetting).toBe(false)
    expect(store.backends).toBeNull() // nothing changed, nothing probed
  })

  it('jobs: follows job events from the engine', async () => {
    const store = useJobsStore()
    const off = inProcessClient(wb).onEvent((e) => store.apply(e))
    let release!: () => void
    const { done } = wb.jobs.start('demo', 'Demo job', (ctx) => {
      ctx.progress(1, 2, 'files')
      return new Promise<void>((r) => (release = r))
    })
    await new Promise((r) => setTimeout(r, 10))
    expect(store.running.map((j) => j.title)).toEqual(['Demo job'])
    release()
    await done
    off()
    expect(store.running).toHaveLength(0)
  })
})
