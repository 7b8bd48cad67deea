// @vitest-environment happy-dom
// A run's job reports work before its first step in other units (the token-shard build in records): the
// run view shows it as its own line and keeps Step and ETA for steps, then switches when steps arrive.
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import type { JobInfo } from '../../engine/service/api'
import { Workbench } from '../../engine/service/workbench'
import { insertRun, setRunStatus } from '../../engine/store/runs'
import { setApi } from '../../renderer/src/api/client'
import { useJobsStore } from '../../renderer/src/stores/jobs'
import { useRunsStore } from '../../renderer/src/stores/runs'
import RunDetailView from '../../renderer/src/views/RunDetailView.vue'
import { tempDir } from '../helpers'
import { inProcessClient } from './in-process-client'

const tmp = tempDir()
let wb: Workbench
let runId: number

beforeAll(() => {
  wb = new Workbench({ home: tmp.dir })
  setApi(inProcessClient(wb))
  runId = insertRun(wb.db, { name: 'tiny · mlm · lr 2e-3', kind: 'pretrain', config: { totalSteps: 300 }, seed: 42 })
  setRunStatus(wb.db, runId, 'running', { backend: 'wasm' })
})
afterAll(async () => {
  setApi(null)
  await wb.close()
  tmp.cleanup()
})

describe('RunDetailView before the first step', () => {
  it('shows the token-shard build as records, not as steps, then steps', async () => {
    setActivePinia(createPinia())
    const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/runs/:id', component: RunDetailView }, { path: '/runs', component: { template: '<p/>' } }] })
    await router.push(`/runs/${runId}`)
    await router.isReady()
    const w = mount(RunDetailView, { global: { plugins: [router] } })
    const runs = useRunsStore()
    for (let i = 0; i < 100 && !runs.watched; i++) await new Promise((r) => setTimeout(r, 10))
    await flushPromises()
    const jobs = useJobsStore()
    const job = (progress: JobInfo['progress']): JobInfo => ({ id: 'job-1', kind: 'train', title: 'Train', status: 'running', progress, error: null, result: null })
    runs.watchedJobId = 'job-1'
    jobs.apply({ type: 'job', job: job({ done: 150_000, total: 1_810_491, unit: 'records', rate: null, etaSeconds: 40, message: 'building token shards' }) })
    await flushPromises()
    expect(w.get('[data-live=preparing]').text()).toMatch(/^building token shards: 150.0 k \/ 1.81 M records$/)
    expect(w.get('[data-live=step]').text()).toBe('0 / 300')
    expect(w.get('[data-live=eta]').text()).toBe('—')

    jobs.apply({ type: 'job', job: job({ done: 12, total: 300, unit: 'steps', rate: 2, etaSeconds: 144, message: 'loss 9.1' }) })
    await flushPromises()
    expect(w.find('[data-live=preparing]').exists()).toBe(false)
    expect(w.get('[data-live=step]').text()).toBe('12 / 300')
    expect(w.get('[data-live=eta]').text()).not.toBe('—')
    w.unmount()
  })
})
