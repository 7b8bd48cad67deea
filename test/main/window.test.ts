import { beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('electron', async () => (await import('./electron-mock')).electronModule())

const { FakeBrowserWindow, shell } = await import('./electron-mock')
const { createMainWindow, isAppUrl, isSafeExternalUrl, secureWebPreferences, windowOptions } = await import('../../main/window')

beforeEach(() => {
  FakeBrowserWindow.created = []
  shell.openExternal.mockClear()
  delete process.env.ELECTRON_RENDERER_URL
})

describe('the main window', () => {
  it('is created with the secure options', () => {
    const win = createMainWindow('/app/out/main') as unknown as InstanceType<typeof FakeBrowserWindow>
    const prefs = win.options.webPreferences as Record<string, unknown>
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: '/app/out/preload/index.cjs',
    })
    expect(win.loadedUrl).toBe('file:///app/out/renderer/index.html')
    expect(windowOptions('/p.cjs').webPreferences).toEqual(secureWebPreferences('/p.cjs'))
  })

  it('denies new windows and sends only safe schemes to the browser', () => {
    const win = createMainWindow('/app/out/main') as unknown as InstanceType<typeof FakeBrowserWindow>
    const open = win.webContents.windowOpenHandler!
    expect(open({ url: 'https://github.com/Langboat/Mengzi' })).toEqual({ action: 'deny' })
    expect(shell.openExternal).toHaveBeenCalledWith('https://github.com/Langboat/Mengzi')
    expect(open({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' })
    expect(open({ url: 'javascript:alert(1)' })).toEqual({ action: 'deny' })
    expect(shell.openExternal).toHaveBeenCalledTimes(1)
  })

  it('blocks navigation away from the app', () => {
    const win = createMainWindow('/app/out/main') as unknown as InstanceType<typeof FakeBrowserWindow>
    const navigate = win.webContents.handlers.get('will-navigate')!
    const away = { preventDefault: vi.fn() }
    navigate(away, 'https://evil.example/phish')
    expect(away.preventDefault).toHaveBeenCalled()
    const inside = { preventDefault: vi.fn() }
    navigate(inside, 'file:///app/out/renderer/index.html#/runs')
    expect(inside.preventDefault).not.toHaveBeenCalled()
    const otherFile = { preventDefault: vi.fn() }
    navigate(otherFile, 'file:///home/user/evil.html')
    expect(otherFile.preventDefault).toHaveBeenCalled()
    const webview = { preventDefault: vi.fn() }
    win.webContents.handlers.get('will-attach-webview')!(webview)
    expect(webview.preventDefault).toHaveBeenCalled()
  })

  it('recognises its own URL in dev and in production', () => {
    expect(isAppUrl('http://localhost:5173/#/tags', 'http://localhost:5173/')).toBe(true)
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173/')).toBe(false)
    expect(isAppUrl('not a url', 'http://localhost:5173/')).toBe(false)
    expect(isSafeExternalUrl('mailto:a@b.c')).toBe(true)
    expect(isSafeExternalUrl('smb://share/x')).toBe(false)
  })
})
