// Electron main process: one window, the menu, the database in the app's data folder and the IPC bridge
// to the engine service. No business logic lives here.
import { app, BrowserWindow, ipcMain, Menu, session } from 'electron'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defaultHome } from '../engine/paths'
import { CONTENT_SECURITY_POLICY } from '../engine/server/csp'
import { Workbench } from '../engine/service/workbench'
import { registerIpc } from './ipc'
import { buildMenu } from './menu'
import { createMainWindow, rendererUrl } from './window'

const mainDir = path.dirname(fileURLToPath(import.meta.url))

/** better-sqlite3 built for Electron's ABI (npm run rebuild:electron), when present; see README. */
function electronSqliteBinding(): string | undefined {
  const candidates = [
    process.env.MENGZI_SQLITE_BINDING,
    path.join(process.resourcesPath ?? '', 'native', 'better_sqlite3.node'),
    path.join(mainDir, '../../resources/native/electron/better_sqlite3.node'),
  ]
  return candidates.find((p): p is string => !!p && fs.existsSync(p))
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  let win: BrowserWindow | null = null
  let wb: Workbench | null = null
  const appUrl = rendererUrl(mainDir)

  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore()
      win.focus()
    }
  })

  // the CLI and the app share one data folder (MENGZI_HOME overrides both)
  app.setPath('userData', defaultHome())

  app.whenReady().then(() => {
    wb = new Workbench({ home: defaultHome(), sqlite: { nativeBinding: electronSqliteBinding() }, electronVersion: process.versions.electron })
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } })
    })
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
    registerIpc(ipcMain, wb, () => win, appUrl)
    Menu.setApplicationMenu(buildMenu(() => win))
    win = createMainWindow(mainDir)
    void wb!.preloadSeries() // as `mengzi serve` does: a first Compare open draws from memory
    win.on('closed', () => (win = null))
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) win = createMainWindow(mainDir)
    })
  })

  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  })

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })

  app.on('will-quit', (event) => {
    if (!wb) return
    event.preventDefault()
    const closing = wb
    wb = null
    void closing.close().finally(() => app.quit())
  })
}
