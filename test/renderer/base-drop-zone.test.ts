// @vitest-environment happy-dom
// The one drop zone behind the Datasets and Models views: typed paths, dropped file:// URIs, the desktop
// dialog, and the reason when a browser drop names no path; one path or many as the parent asks.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { setApi, type ApiClient } from '../../renderer/src/api/client'
import BaseDropZone from '../../renderer/src/components/BaseDropZone.vue'
import type { DesktopApi } from '../../preload/contract'

const client = (desktop: DesktopApi | null): ApiClient => ({ transport: 'in-process', desktop, call: async () => null as never, onEvent: () => () => {} })
const props = (multiple: boolean) => ({
  busy: false,
  target: 'things',
  label: 'Import things',
  title: 'Drop things here',
  multiple,
  pickTitle: 'Pick things',
  placeholder: '/path',
  noPaths: 'no path in that drop',
})
const drop = (data: Record<string, string>) => ({ dataTransfer: { files: [], getData: (type: string) => data[type] ?? '' } })
afterEach(() => setApi(null))

describe('BaseDropZone', () => {
  it('in a browser tab: typed paths, dropped file:// URIs, and a reason for a drop without paths', async () => {
    setApi(client(null))
    const w = mount(BaseDropZone, { props: props(true), slots: { description: 'What goes here', options: '<label>opt</label>' } })
    expect(w.get('[data-drop=things]').attributes('aria-label')).toBe('Import things')
    expect(w.text()).toContain('What goes here')
    await w.get('textarea[name=paths]').setValue('/a/唐诗.txt\n\n  /b/c.jsonl ')
    await w.get('form').trigger('submit')
    await w.get('[data-drop=things]').trigger('drop', drop({ 'text/uri-list': 'file:///x/%E5%AE%8B.txt\nfile:///y/z.txt' }))
    await w.get('[data-drop=things]').trigger('drop', drop({ 'text/plain': 'just words' }))
    expect(w.emitted('paths')).toEqual([[['/a/唐诗.txt', '/b/c.jsonl']], [['/x/宋.txt', '/y/z.txt']]])
    expect(w.emitted('error')).toEqual([['no path in that drop']])
  })

  it('takes one folder when the parent wants one', async () => {
    setApi(client(null))
    const w = mount(BaseDropZone, { props: props(false) })
    await w.get('[data-drop=things]').trigger('drop', drop({ 'text/uri-list': 'file:///m/bert\nfile:///m/other' }))
    await w.get('input[name=importPath]').setValue(' /m/typed ')
    await w.get('form').trigger('submit')
    expect(w.emitted('paths')).toEqual([[['/m/bert']], [['/m/typed']]])
  })

  it('on the desktop: the native dialog for files or a folder', async () => {
    const asked: unknown[] = []
    setApi(client({ pickPaths: async (o: unknown) => (asked.push(o), ['/home/me/corpus']), pathForFile: () => '' } as unknown as DesktopApi))
    const w = mount(BaseDropZone, { props: props(true) })
    const buttons = w.findAll('button')
    expect(buttons.map((b) => b.text())).toEqual(['Choose files…', 'Choose folder…'])
    await buttons[1].trigger('click')
    await flushPromises()
    expect(asked).toEqual([{ directories: true, multiple: true, title: 'Pick things' }])
    expect(w.emitted('paths')).toEqual([[['/home/me/corpus']]])
    expect(w.find('textarea').exists()).toBe(false)
  })
})
