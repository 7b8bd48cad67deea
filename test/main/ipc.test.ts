import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { tempDir } from '../helpers'

vi.mock('electron', async () => (await import('./electron-mock')).electronModule())

const { FakeBrowserWindow, FakeWebContents, dialog, fakeIpcMain } = await import('./electron-mock')
const { registerIpc } = await import('../../main/ipc')
const { Workbench } = await import('../../engine/service/workbench')
const { IPC } = await import('../../preload/contract')

const APP_URL = 'file:///app/out/renderer/index.html'
const tmp = tempDir()
let wb: InstanceType<typeof Workbench>
const ipc = fakeIpcMain()
const win = new FakeBrowserWindow({})
let unregister: () => void

beforeAll(async () => {
  wb = new Workbench({ home: tmp.dir })
  await win.loadURL(APP_URL)
  unregister = registerIpc(ipc as never, wb, () => win as never, APP_URL)
})
afterAll(async () => {
  unregister()
  await wb.close()
  tmp.cleanup()
})

const fromOurWindow = () => ({ sender: win.webContents, senderFrame: win.webContents.mainFrame })

describe('IPC', () => {
  it('forwards API calls from our window to the engine', async () => {
    const result = await ipc.handlers.get(IPC.call)!(fromOurWindow(), 'settings.update', { theme: 'dark' })
    expect(result).toMatchObject({ ok: true, value: { theme: 'dark' } })
  })

  it('returns validation failures as data with their code', async () => {
    const result = await ipc.handlers.get(IPC.call)!(fromOurWindow(), 'runs.get', { id: -4 })
    expect(result).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', message: expect.stringMatching(/^runs\.get: id: /) } })
  })

  it('refuses a foreign sender: another webContents, a subframe, or our window showing another page', async () => {
    const other = new FakeWebContents()
    other.mainFrame.url = APP_URL
    const senders = [
      { sender: other, senderFrame: other.mainFrame },
      { sender: win.webContents, senderFrame: { url: APP_URL } }, // an iframe inside our window
      { sender: win.webContents, senderFrame: null },
    ]
    for (const event of senders) {
      for (const channel of [IPC.call, IPC.desktop]) {
        const result = await ipc.handlers.get(channel)!(event, 'settings.get', {})
        expect(result).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
      }
    }
    win.webContents.mainFrame.url = 'https://evil.example/'
    const navigated = await ipc.handlers.get(IPC.call)!(fromOurWindow(), 'settings.get', {})
    expect(navigated).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
    win.webContents.mainFrame.url = APP_URL
  })

  it('validates desktop calls and opens the native picker', async () => {
    const picked = await ipc.handlers.get(IPC.desktop)!(fromOurWindow(), 'pickPaths', { directories: true })
    expect(picked).toEqual({ ok: true, value: ['/corpus/a.txt'] })
    expect(dialog.showOpenDialog.mock.calls.at(-1)!.at(-1)).toMatchObject({ properties: ['openDirectory', 'multiSelections'] })
    const bad = await ipc.handlers.get(IPC.desktop)!(fromOurWindow(), 'openExternal', { url: 'file:///etc/passwd' })
    expect(bad).toMatchObject({ ok: false })
    const unknown = await ipc.handlers.get(IPC.desktop)!(fromOurWindow(), 'exec', {})
    expect(unknown).toMatchObject({ ok: false, error: { message: 'unknown desktop method "exec"' } })
  })

  it('pushes engine events to our window', async () => {
    await wb.call('settings.update', { backend: 'cpu' })
    expect(win.webContents.sent.at(-1)).toEqual([IPC.event, { type: 'settings.changed', settings: expect.objectContaining({ backend: 'cpu' }) }])
  })
})
