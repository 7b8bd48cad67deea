// What every transport implements (IPC, WebSocket, in-process for tests), and the error they throw.
import type { MethodInput, MethodName, MethodOutput, WorkbenchEvent } from '../../../engine/service/api'
import type { DesktopApi } from '../../../preload/contract'

export interface ApiClient {
  transport: 'ipc' | 'websocket' | 'in-process'
  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>>
  onEvent(listener: (event: WorkbenchEvent) => void): () => void
  /** Native dialogs and dropped-file paths: only inside the desktop app. */
  desktop: DesktopApi | null
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}
