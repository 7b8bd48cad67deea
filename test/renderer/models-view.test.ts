// @vitest-environment happy-dom
// The Models view against a real in-process engine: import the hf-bert-tiny fixture by path and by a
// dropped file:// URI, read its config, export it, delete it.
import fs from 'node:fs'
import path from 'node:path'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Workbench } from '../../engine/service/workbench'
import { setApi } from '../../renderer/src/api/client'
import ModelsView from '../../renderer/src/views/ModelsView.vue'
import { useModelsStore } from '../../renderer/src/stores/models'
import { repoRoot, tempDir } from '../helpers'
import { inProcessClient } from './in-process-client'

const fixture = path.join(repoRoot, 'test/fixtures/hf-bert-tiny')
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
beforeEach(() => setActivePinia(createPinia()))

/** Waits for the engine (real file I/O) and Vue to settle. */
async function settle(until: () => boolean) {
  for (let i = 0; i < 200 && !until(); i++) {
    await flushPromises()
    await new Promise((r) => setTimeout(r, 10))
  }
  await flushPromises()
}

describe('ModelsView', () => {
  it('imports a typed folder path, shows the config, exports and deletes', async () => {
    const w = mount(ModelsView)
    const store = useModelsStore()
    await settle(() => !store.loading)
    await w.get('input[name=modelName]').setValue('tiny 孟子')
    await w.get('input[name=importPath]').setValue(fixture)
    await w.get('form[aria-label="Import a model"]').trigger('submit')
    await settle(() => store.items.length === 1 && store.busy === null)
    expect(w.get('[role=status]').text()).toContain('Imported “tiny 孟子”: BertForPreTraining')
    const row = w.get('table[aria-label=Models] tbody tr')
    expect(row.text()).toContain('tiny 孟子')
    expect(row.attributes('aria-selected')).toBe('true')
    const detail = w.get('[aria-label="Model detail"]')
    expect(detail.get('table[aria-label=Configuration]').text()).toContain('Vocabulary3259')

    const out = path.join(tmp.dir, 'exported-f16')
    await w.get('select[name=dtype]').setValue('float16')
    await w.get('input[name=exportPath]').setValue(out)
    await w.get('form[aria-label="Export the model"]').trigger('submit')
    await settle(() => store.lastExport !== null)
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ architectures: ['BertForPreTraining'], dtype: 'float16' })
    expect(w.text()).toContain(`Exported to ${out}`)

    // exporting into the same, now full, folder is refused with the engine's reason
    await w.get('form[aria-label="Export the model"]').trigger('submit')
    await settle(() => store.error !== null)
    expect(w.get('[role=alert]').text()).toContain('not empty')

    const del = w.findAll('button').find((b) => b.text() === 'Delete')!
    await del.trigger('click')
    expect(del.text()).toBe('Click again to delete')
    await del.trigger('click')
    await settle(() => store.items.length === 0)
    expect((await wb.call('models.list', {})).length).toBe(0)
    expect(w.text()).toContain('No models yet')
  })

  it('imports a folder dropped as a file:// URI, and says why a bad folder is refused', async () => {
    const w = mount(ModelsView)
    const store = useModelsStore()
    await settle(() => !store.loading)
    const drop = (data: Record<string, string>) =>
      w.get('[data-drop=models]').trigger('drop', {
        dataTransfer: { files: [], getData: (type: string) => data[type] ?? '' },
      })
    await drop({ 'text/uri-list': `file://${fixture.split('/').map(encodeURIComponent).join('/')}\n` })
    await settle(() => store.items.length === 1 && store.busy === null)
    expect(store.items[0].name).toBe('hf-bert-tiny')

    await drop({ 'text/plain': path.join(tmp.dir, 'no-such-folder') })
    await settle(() => store.error !== null)
    expect(w.get('[role=alert]').text()).toContain('no such directory')
    await drop({ 'text/plain': 'just words' })
    await flushPromises()
    expect(w.get('[role=alert]').text()).toContain('type its path instead')
  })
})
