// A stand-in for the `electron` module, which cannot load here (it downloads its binary on first use).
// It records what main asks of Electron so the tests can check the window's options and handlers.
import { vi } from 'vitest'

export class FakeWebContents {
  static nextId = 1
  id = FakeWebContents.nextId++
  mainFrame = { url: '' }
  handlers = new Map<string, (...args: unknown[]) => void>()
  windowOpenHandler: ((d: { url: string }) => { action: string }) | null = null
  sent: unknown[][] = []
  on(event: string, fn: (...args: unknown[]) => void) {
    this.handlers.set(event, fn)
    return this
  }
  setWindowOpenHandler(fn: (d: { url: string }) => { action: string }) {
    this.windowOpenHandler = fn
  }
  send(...args: unknown[]) {
    this.sent.push(args)
  }
}

export class FakeBrowserWindow {
  static created: FakeBrowserWindow[] = []
  webContents = new FakeWebContents()
  loadedUrl = ''
  constructor(readonly options: Record<string, unknown>) {
    FakeBrowserWindow.created.push(this)
  }
  loadURL(url: string) {
    this.loadedUrl = url
    this.webContents.mainFrame.url = url
    return Promise.resolve()
  }
  once() {}
  on() {}
  show() {}
  isDestroyed() {
    return false
  }
  static getAllWindows() {
    return FakeBrowserWindow.created
  }
}

export const shell = { openExternal: vi.fn(async () => {}), showItemInFolder: vi.fn() }
export const dialog = { showOpenDialog: vi.fn(async () => ({ canceled: false, filePaths: ['/corpus/a.txt'] })) }

export function electronModule() {
  return {
    BrowserWindow: FakeBrowserWindow,
    shell,
    dialog,
    Menu: { buildFromTemplate: vi.fn((t: unknown) => t), setApplicationMenu: vi.fn() },
    app: {},
    ipcMain: {},
  }
}

/** An ipcMain that keeps the registered handlers so a test can invoke them as a given sender. */
export function fakeIpcMain() {
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>()
  return {
    handlers,
    handle: (channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) => void handlers.set(channel, fn),
    removeHandler: (channel: string) => void handlers.delete(channel),
  }
}
