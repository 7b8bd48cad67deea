// The one application window, locked down: isolated, sandboxed, no Node in the renderer, no navigation
// away from our UI, no new windows; external links open in the user's browser after a scheme check.
import { BrowserWindow, shell, type WebPreferences, type BrowserWindowConstructorOptions } from 'electron'
import path from 'node:path'

export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    spellcheck: false,
  }
}

export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Mengzi Workbench',
    backgroundColor: '#1b1d23',
    webPreferences: secureWebPreferences(preloadPath),
  }
}

const EXTERNAL_SCHEMES = new Set(['https:', 'http:', 'mailto:'])

export function isSafeExternalUrl(url: string): boolean {
  try {
    return EXTERNAL_SCHEMES.has(new URL(url).protocol)
  } catch {
    return false
  }
}

/** Where the renderer is loaded from: the dev server in `electron-vite dev`, the built file otherwise. */
export function rendererUrl(mainDir: string, devServerUrl = process.env.ELECTRON_RENDERER_URL): string {
  if (devServerUrl) return devServerUrl
  return new URL(`file://${path.join(mainDir, '../renderer/index.html')}`).toString()
}

/** True when `url` is our own UI (same file, or the dev server's origin). */
export function isAppUrl(url: string, appUrl: string): boolean {
  try {
    const u = new URL(url)
    const app = new URL(appUrl)
    if (app.protocol === 'file:') return u.protocol === 'file:' && u.pathname === app.pathname
    return u.origin === app.origin
  } catch {
    return false
  }
}

export function createMainWindow(mainDir: string): BrowserWindow {
  const appUrl = rendererUrl(mainDir)
  const win = new BrowserWindow(windowOptions(path.join(mainDir, '../preload/index.cjs')))
  const contents = win.webContents
  contents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url, appUrl)) {
      event.preventDefault()
      if (isSafeExternalUrl(url)) void shell.openExternal(url)
    }
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
  win.once('ready-to-show', () => win.show())
  void win.loadURL(appUrl)
  return win
}
