// A real transport for renderer tests: the renderer's client talks to a real Workbench in this process,
// with payloads passed through JSON exactly as IPC and the WebSocket would.
import type { ApiClient } from '../../renderer/src/api/client'
import type { Workbench } from '../../engine/service/workbench'

export function inProcessClient(wb: Workbench): ApiClient {
  return {
    transport: 'in-process',
    desktop: null,
    call: async (method, input) => JSON.parse(JSON.stringify(await wb.dispatch(method, JSON.parse(JSON.stringify(input ?? {}))))),
    onEvent: (listener) => wb.subscribe((e) => listener(JSON.parse(JSON.stringify(e)))),
  }
}
