// The renderer's one way to reach the engine. Inside Electron it uses the preload's IPC bridge; in a
// browser tab served by `mengzi serve` it uses the WebSocket. Nothing else in the renderer knows which.
import { ApiError, type ApiClient } from './contract'
import { connectSocket } from './socket'

export { ApiError, type ApiClient } from './contract'

let client: ApiClient | null = null

export function useApi(): ApiClient {
  if (!client) client = createDefaultClient()
  return client
}

/** Tests and the e2e harness install their own transport. */
export function setApi(next: ApiClient | null): void {
  client = next
}

function createDefaultClient(): ApiClient {
  const bridge = window.workbench
  if (bridge) {
    return {
      transport: 'ipc',
      call: async (method, input) => {
        try {
          return await (bridge.api[method] as (i: unknown) => Promise<never>)(input)
        } catch (err) {
          const e = err as Error & { code?: string }
          throw new ApiError(e.code ?? 'INTERNAL', e.message.replace(/^Error invoking remote method '[^']+': (Error: )?/, ''))
        }
      },
      onEvent: (listener) => bridge.onEvent(listener),
      desktop: bridge.desktop,
    }
  }
  return connectSocket(takeToken(), location)
}

const TOKEN_KEY = 'mengzi.token'

/** The token arrives once in the URL (?token=…); keep it for this tab and take it out of the address bar. */
export function takeToken(): string {
  const url = new URL(location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl)
    url.searchParams.delete('token')
    history.replaceState(history.state, '', url.toString())
    return fromUrl
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? ''
}
