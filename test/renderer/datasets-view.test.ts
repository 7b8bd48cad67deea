// @vitest-environment happy-dom
// The Datasets view against a real engine: typed paths start an import job, the per-file result and
// the dataset detail (statistics, files, samples with search and jump) appear, rename and delete work.
import path from 'node:path'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Workbench } from '../../engine/service/workbench'
import { setApi } from '../../renderer/src/api/client'
import DatasetsView from '../../renderer/src/views/DatasetsView.vue'
import { useDatasetsStore } from '../../renderer/src/stores/datasets'
import { useJobsStore } from '../../renderer/src/stores/jobs'
import { repoRoot, tempDir } from '../helpers'
import { inProcessClient } from './in-process-client'

const FIXTURES = path.join(repoRoot, 'test/fixtures/import')
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

async function until(check: () => boolean) {
  for (let i = 0; i < 500 && !check(); i++) {
    await new Promise((r) => setTimeout(r, 10))
    await flushPromises()
  }
  expect(check()).toBe(true)
}

it('imports typed paths, shows the result, the detail and samples, then renames and deletes', async () => {
  setActivePinia(createPinia())
  const store = useDatasetsStore()
  const jobs = useJobsStore()
  const off = wb.subscribe((e) => {
    jobs.apply(JSON.parse(JSON.stringify(e)))
    if (e.type === 'datasets.changed') void store.refresh()
  })
  const w = mount(DatasetsView)
  await flushPromises()
  expect(w.text()).toContain('No datasets yet')

  await w.get('input[name=name]').setValue('唐诗')
  await w.get('input[name=devRatio]').setValue('0')
  await w.get('textarea[name=paths]').setValue(`${path.join(FIXTURES, 'poems.txt')}\n${path.join(FIXTURES, 'zips/traversal.zip')}`)
  await w.get('details button.primary').trigger('click')
  await until(() => store.importOutcome !== null)
  const rows = w.findAll('table[aria-label="Import result"] tbody tr')
  expect(rows.map((r) => r.findAll('td')[1].text())).toEqual(['imported', 'failed'])
  expect(rows[1].text()).toContain('escapes the archive')

  await until(() => store.items.length === 1)
  await w.get('table[aria-label=Datasets] tbody tr').trigger('click')
  await until(() => store.samples !== null)
  expect(w.get('[aria-label=Statistics]').text()).toContain('40')
  expect(w.findAll('figure.chart').length).toBe(2)
  expect(w.findAll('table[aria-label="Sample records"] tbody tr').length).toBe(20)

  await w.get('input[name=line]').setValue('38')
  await w.findAll('.sample-tools button').find((b) => b.text() === 'Go')!.trigger('click')
  await until(() => store.sampleOffset === 38 && store.samples!.items.length === 2)
  await w.get('input[name=query]').setValue('《送别》')
  await w.get('form.sample-tools').trigger('submit')
  await until(() => store.samples!.items.length === 1)
  expect(w.get('table[aria-label="Sample records"]').text()).toContain('下马饮君酒')

  await w.get('input[name=rename]').setValue('唐诗三百首')
  await w.get('form.dataset-actions').trigger('submit')
  await until(() => store.items[0]?.name === '唐诗三百首')
  const del = () => w.findAll('.dataset-actions button').find((b) => b.text().startsWith('Delete'))!
  await del().trigger('click')
  expect(del().text()).toBe('Delete: are you sure?')
  await del().trigger('click')
  await until(() => store.items.length === 0)
  expect(await wb.call('datasets.list', {})).toEqual([])
  off()
})
