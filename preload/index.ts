// The preload: exposes exactly the Workbench API as `window.workbench` — one function per API method,
// an event subscription, and the desktop-only calls. Nothing else of Electron reaches the renderer.
import { contextBridge, ipcRenderer, webUtils } from 'electron'
import { methodNames, type WorkbenchEvent } from '../engine/service/api'
import { IPC, type IpcResult } from './contract'
import type { WorkbenchBridge } from './types'

async function unwrap<T>(promise: Promise<IpcResult<T>>): Promise<T> {
  const r = await promise
  if (r.ok) return r.value
  const err = new Error(r.error.message) as Error & { code: string }
  err.code = r.error.code
  throw err
}

const api = Object.fromEntries(
  methodNames.map((name) => [name, (input: unknown) => unwrap(ipcRenderer.invoke(IPC.call, name, input ?? {}))]),
)

const bridge: WorkbenchBridge = {
  api: api as WorkbenchBridge['api'],
  onEvent(listener: (event: WorkbenchEvent) => void) {
    const handler = (_e: Electron.IpcRendererEvent, event: WorkbenchEvent) => listener(event)
    ipcRenderer.on(IPC.event, handler)
    return () => void ipcRenderer.off(IPC.event, handler)
  },
  desktop: {
    pickPaths: (input) => unwrap(ipcRenderer.invoke(IPC.desktop, 'pickPaths', input)),
    openExternal: (input) => unwrap(ipcRenderer.invoke(IPC.desktop, 'openExternal', input)),
    showItem: (input) => unwrap(ipcRenderer.invoke(IPC.desktop, 'showItem', input)),
    pathForFile: (file) => webUtils.getPathForFile(file),
  },
}

contextBridge.exposeInMainWorld('workbench', bridge)
