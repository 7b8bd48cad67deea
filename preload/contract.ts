// The IPC channels between Electron's main process and the preload: one request channel that carries
// any Workbench API method (validated against api.ts on arrival), one event channel, and the few
// desktop-only calls (native dialogs) that need the main process. Preload and main both derive from here.
import { z } from 'zod'

export const IPC = {
  call: 'workbench:call',
  event: 'workbench:event',
  desktop: 'workbench:desktop',
} as const

export const desktopMethods = {
  /** Native file/folder picker; resolves to absolute paths ([] when cancelled). */
  pickPaths: z
    .object({
      directories: z.boolean().default(false),
      multiple: z.boolean().default(true),
      title: z.string().max(200).optional(),
    })
    .strict(),
  /** Opens an http(s) link in the user's browser. */
  openExternal: z.object({ url: z.string().url().max(2048) }).strict(),
  /** Shows a file or folder in the system file manager. */
  showItem: z.object({ path: z.string().min(1).max(4096) }).strict(),
} as const

export type DesktopMethod = keyof typeof desktopMethods
export type DesktopInput<M extends DesktopMethod> = z.input<(typeof desktopMethods)[M]>
export type DesktopOutput = { pickPaths: string[]; openExternal: void; showItem: void }

/** Present only inside the Electron app: what a browser tab (loopback transport) cannot do. */
export interface DesktopApi {
  pickPaths(input: DesktopInput<'pickPaths'>): Promise<string[]>
  openExternal(input: DesktopInput<'openExternal'>): Promise<void>
  showItem(input: DesktopInput<'showItem'>): Promise<void>
  /** The absolute path of a dropped File (Electron's webUtils.getPathForFile). */
  pathForFile(file: File): string
}

/** A response over IPC: errors travel as data so their code and one-line message survive. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } }
