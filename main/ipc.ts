// IPC handlers: forward each Workbench API call to the engine service and push its events to our window.
// A message whose sender is not our window's main frame, showing our UI, is refused.
import { dialog, shell, type BrowserWindow, type IpcMain, type IpcMainInvokeEvent } from 'electron'
import { toErrorPayload } from '../engine/errors'
import type { Workbench } from '../engine/service/workbench'
import { desktopMethods, IPC, type DesktopMethod, type IpcResult } from '../preload/contract'
import { isAppUrl, isSafeExternalUrl } from './window'

export function isTrustedSender(event: IpcMainInvokeEvent, win: BrowserWindow | null, appUrl: string): boolean {
  if (!win || win.isDestroyed()) return false
  if (event.sender.id !== win.webContents.id) return false
  const frame = event.senderFrame
  if (!frame || frame !== event.sender.mainFrame) return false
  return isAppUrl(frame.url, appUrl)
}

async function settle<T>(fn: () => Promise<T>): Promise<IpcResult<T>> {
  try {
    return { ok: true, value: await fn() }
  } catch (err) {
    return { ok: false, error: toErrorPayload(err) }
  }
}

const refused = { ok: false, error: { code: 'FORBIDDEN', message: 'IPC refused: the sender is not the Mengzi Workbench window' } } as const

export function registerIpc(ipcMain: IpcMain, wb: Workbench, getWindow: () => BrowserWindow | null, appUrl: string): () => void {
  ipcMain.handle(IPC.call, (event, method: unknown, input: unknown) => {
    if (!isTrustedSender(event, getWindow(), appUrl)) return refused
    return settle(() => wb.dispatch(method, input))
  })

  ipcMain.handle(IPC.desktop, (event, method: unknown, input: unknown) => {
    if (!isTrustedSender(event, getWindow(), appUrl)) return refused
    return settle(() => desktop(getWindow(), method, input))
  })

  const unsubscribe = wb.subscribe((e) => {
    const win = getWindow()
    if (win && !win.isDestroyed()) win.webContents.send(IPC.event, e)
  })
  return () => {
    unsubscribe()
    ipcMain.removeHandler(IPC.call)
    ipcMain.removeHandler(IPC.desktop)
  }
}

async function desktop(win: BrowserWindow | null, method: unknown, input: unknown): Promise<unknown> {
  if (typeof method !== 'string' || !Object.hasOwn(desktopMethods, method)) {
    throw new Error(`unknown desktop method ${JSON.stringify(method)}`)
  }
  const m = method as DesktopMethod
  const parsed = desktopMethods[m].safeParse(input ?? {})
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`${m}: ${issue.path.join('.') || '(input)'}: ${issue.message}`)
  }
  switch (m) {
    case 'pickPaths': {
      const { directories, multiple, title } = desktopMethods.pickPaths.parse(input ?? {})
      const properties: ('openFile' | 'openDirectory' | 'multiSelections')[] = [directories ? 'openDirectory' : 'openFile']
      if (multiple) properties.push('multiSelections')
      const options = { title, properties }
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options)
      return result.canceled ? [] : result.filePaths
    }
    case 'openExternal': {
      const { url } = desktopMethods.openExternal.parse(input)
      if (!isSafeExternalUrl(url)) throw new Error(`openExternal: refusing ${JSON.stringify(url)}: only http(s) and mailto`)
      await shell.openExternal(url)
      return undefined
    }
    case 'showItem': {
      shell.showItemInFolder(desktopMethods.showItem.parse(input).path)
      return undefined
    }
  }
}
