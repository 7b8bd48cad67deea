// @vitest-environment happy-dom
import { mount, flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Workbench } from '../../engine/service/workbench'
import { setApi } from '../../renderer/src/api/client'
import AppJobs from '../../renderer/src/components/AppJobs.vue'
import BaseEmptyState from '../../renderer/src/components/BaseEmptyState.vue'
import SettingsView from '../../renderer/src/views/SettingsView.vue'
import ModelsView from '../../renderer/src/views/ModelsView.vue'
import { useSettingsStore } from '../../renderer/src/stores/settings'
import { tempDir } from '../helpers'
import { inProcessClient } from './in-process-client'

const tmp = tempDir()
let wb: Workbench
beforeAll(() => {
  wb = new Workbench({ home: tmp.dir })
  setApi(inProcessClient(wb))
})
afterAll(async () => {
  setApi(null)
  await wb.close()
  tmp.cleanup()
})

describe('components', () => {
  it('BaseEmptyState says what to do next', () => {
    const w = mount(BaseEmptyState, { props: { title: 'No models yet', hint: 'Import one.', command: 'npx mengzi model import DIR' } })
    expect(w.get('[role=status] h2').text()).toBe('No models yet')
    expect(w.get('code').text()).toBe('npx mengzi model import DIR')
  })

  it('AppJobs shows progress and asks to cancel a job', async () => {
    const job = { id: 'j1', kind: 'import', title: 'Importing 2 files', status: 'running' as const, error: null, result: null,
      progress: { done: 30, total: 120, unit: 'MB', rate: 10, etaSeconds: 9 } }
    const w = mount(AppJobs, { props: { jobs: [job] } })
    expect(w.get('progress').attributes('value')).toBe('25')
    expect(w.text()).toContain('30 / 120 MB')
    expect(w.text()).toContain('9 s left')
    await w.get('button').trigger('click')
    expect(w.emitted('cancel')).toEqual([['j1']])
    expect(mount(AppJobs, { props: { jobs: [] } }).find('aside').exists()).toBe(false)
  })

  it('SettingsView changes the theme through the engine', async () => {
    setActivePinia(createPinia())
    const store = useSettingsStore()
    await store.load()
    const w = mount(SettingsView)
    await flushPromises()
    await w.get('select[name=theme]').setValue('dark')
    await flushPromises()
    expect((await wb.call('settings.get', {})).theme).toBe('dark')
    expect(w.text()).toContain(tmp.dir)
  })

  it('ModelsView shows an empty state with the import command', async () => {
    setActivePinia(createPinia())
    const w = mount(ModelsView)
    await flushPromises()
    expect(w.get('[role=status]').text()).toContain('mengzi model import DIR')
  })
})
