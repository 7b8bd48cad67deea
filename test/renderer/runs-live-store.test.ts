// The runs store watching one run against a real engine: the series load once, then `run.metrics`
// events append (never re-fetch); points that arrive while the series load are merged by step, a step
// streamed again replaces the old one and what followed (a resumed run recomputing steps); events of
// other runs are ignored; rename and the form's options go through the API.
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { WorkbenchEvent } from '../../engine/service/api'
import { Workbench } from '../../engine/service/workbench'
import { MetricWriter } from '../../engine/store/metrics'
import { insertRun, setRunStatus } from '../../engine/store/runs'
import { setApi, type ApiClient } from '../../renderer/src/api/client'
import { useRunsStore } from '../../renderer/src/stores/runs'
import { tempDir } from '../helpers'
import { inProcessClient } from './in-process-client'

const tmp = tempDir()
let wb: Workbench
let runId: number
let otherId: number
let calls: string[] = []

beforeAll(() => {
  wb = new Workbench({ home: tmp.dir })
  const client = inProcessClient(wb)
  const counting: ApiClient = {
    ...client,
    call: (method, input) => {
      calls.push(method)
      return client.call(method, input)
    },
  }
  setApi(counting)
  runId = insertRun(wb.db, { name: 'tiny · mlm · lr 2e-3', kind: 'pretrain', config: { totalSteps: 10 }, seed: 42 })
  otherId = insertRun(wb.db, { name: 'other', kind: 'pretrain', config: {}, seed: 1 })
  const w = new MetricWriter(wb.db, runId)
  for (let step = 1; step <= 3; step++) w.add('loss', step, 10 - step)
  w.flush()
  setRunStatus(wb.db, runId, 'running', { backend: 'wasm' })
})
afterAll(async () => {
  setApi(null)
  await wb.close()
  tmp.cleanup()
})
beforeEach(() => {
  setActivePinia(createPinia())
  calls = []
})

const metrics = (id: number, points: [string, number, number][]): WorkbenchEvent => ({
  type: 'run.metrics',
  runId: id,
  points: points.map(([name, step, value]) => ({ name, step, value, wallTime: 1.8e9 + step })),
})

describe('runs store: one run watched live', () => {
  it('loads the series once, then appends streamed points and ignores other runs and repeats', async () => {
    const store = useRunsStore()
    const off = wb.subscribe((e) => store.onEvent(JSON.parse(JSON.stringify(e))))
    try {
      const watching = store.watchRun(runId)
      // arrives while the series load: step 3 is in the database already, step 4 is new
      wb.emit(metrics(runId, [['loss', 3, 7], ['loss', 4, 6]]))
      await watching
      expect(store.watched).toMatchObject({ id: runId, status: 'running', backend: 'wasm' })
      expect(store.curves.loss).toEqual({ steps: [1, 2, 3, 4], values: [9, 8, 7, 6] })

      wb.emit(metrics(runId, [['loss', 5, 5.5], ['lr', 5, 1e-3]]))
      wb.emit(metrics(otherId, [['loss', 6, 99]]))
      wb.emit(metrics(runId, [['loss', 5, 5.5]])) // a repeat
      expect(store.curves.loss).toEqual({ steps: [1, 2, 3, 4, 5], values: [9, 8, 7, 6, 5.5] })
      expect(store.curves.lr).toEqual({ steps: [5], values: [1e-3] })
      expect(calls.filter((m) => m === 'runs.metrics')).toHaveLength(1)

      // a run resumed from the checkpoint at step 4 computes step 5 again: the new value replaces the old
      wb.emit(metrics(runId, [['loss', 5, 5.25], ['loss', 6, 5]]))
      expect(store.curves.loss).toEqual({ steps: [1, 2, 3, 4, 5, 6], values: [9, 8, 7, 6, 5.25, 5] })
      wb.emit(metrics(runId, [['loss', 4, 6.5]]))
      expect(store.curves.loss).toEqual({ steps: [1, 2, 3, 4], values: [9, 8, 7, 6.5] })
      expect(calls.filter((m) => m === 'runs.metrics')).toHaveLength(1)

      store.unwatchRun()
      wb.emit(metrics(runId, [['loss', 6, 5]]))
      expect(store.curves).toEqual({})
    } finally {
      off()
    }
  })

  it('renames through the engine and keeps the watched run in step', async () => {
    const store = useRunsStore()
    await store.watchRun(runId)
    await store.rename(runId, '唐诗 tiny')
    expect(store.watched?.name).toBe('唐诗 tiny')
    expect((await wb.call('runs.get', { id: runId })).name).toBe('唐诗 tiny')
    await expect(store.rename(999, 'x')).rejects.toThrow(/run 999 does not exist/)
  })

  it('loads the form options once', async () => {
    const store = useRunsStore()
    const first = await store.loadFormOptions()
    await store.loadFormOptions()
    expect(first.presets.map((p) => p.name)).toContain('tiny')
    expect(calls.filter((m) => m === 'runs.options')).toHaveLength(1)
  })
})
