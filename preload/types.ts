// What the preload puts on `window.workbench`. The renderer imports this type (and only types).
import type { WorkbenchApi, WorkbenchEvent } from '../engine/service/api'
import type { DesktopApi } from './contract'

export interface WorkbenchBridge {
  api: WorkbenchApi
  /** Subscribe to engine events; returns the unsubscribe function. */
  onEvent(listener: (event: WorkbenchEvent) => void): () => void
  desktop: DesktopApi
}
