// The WebSocket transport for `mengzi serve`: requests {id, method, input} answered by {id, result} or
// {id, error}; engine events arrive as {event}. Reconnects with backoff; calls wait for the connection.
import type { WorkbenchEvent } from '../../../engine/service/api'
import { decodeSeriesReply } from '../../../engine/service/series-wire'
import { ApiError, type ApiClient } from './contract'

interface Pending {
  resolve(value: unknown): void
  reject(err: Error): void
}

export function connectSocket(token: string, where: { protocol: string; host: string }): ApiClient {
  const url = `${where.protocol === 'https:' ? 'wss' : 'ws'}://${where.host}/api/ws?token=${encodeURIComponent(token)}`
  const listeners = new Set<(e: WorkbenchEvent) => void>()
  const pending = new Map<number, Pending>()
  let nextId = 1
  let socket: WebSocket | null = null
  let ready: Promise<WebSocket> | null = null
  let backoffMs = 250

  function open(): Promise<WebSocket> {
    if (ready) return ready
    ready = new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url)
      ws.binaryType = 'arraybuffer' // series frames: their typed arrays are viewed in place
      ws.onopen = () => {
        socket = ws
        backoffMs = 250
        resolve(ws)
      }
      ws.onmessage = (msg) => {
        if (msg.data instanceof ArrayBuffer) return onBinary(msg.data)
        const data = JSON.parse(String(msg.data)) as { id?: number; result?: unknown; error?: { code: string; message: string }; event?: WorkbenchEvent }
        if (data.event) {
          for (const l of listeners) l(data.event)
          return
        }
        const p = data.id != null ? pending.get(data.id) : undefined
        if (!p) return
        pending.delete(data.id!)
        if (data.error) p.reject(new ApiError(data.error.code, data.error.message))
        else p.resolve(data.result)
      }
      ws.onclose = (ev) => {
        const wasOpen = socket === ws
        socket = null
        ready = null
        for (const p of pending.values()) p.reject(new ApiError('DISCONNECTED', 'connection to the workbench server closed'))
        pending.clear()
        if (!wasOpen) {
          reject(new ApiError(ev.code === 1006 ? 'UNAUTHORIZED' : 'DISCONNECTED', 'cannot connect to the workbench server (is the token in the URL right?)'))
          return
        }
        // reconnect so that events keep flowing after a server restart
        if (listeners.size > 0) setTimeout(() => void open().catch(() => {}), (backoffMs = Math.min(backoffMs * 2, 5000)))
      }
    })
    return ready
  }

  // a binary reply that does not decode fails its request (when its id can be read) with the reason
  function onBinary(buf: ArrayBuffer): void {
    let reply: { id: unknown; result?: unknown; error?: Error }
    try {
      reply = decodeSeriesReply(buf)
    } catch (err) {
      reply = { id: (err as { id?: unknown }).id, error: err as Error }
    }
    const p = typeof reply.id === 'number' ? pending.get(reply.id) : undefined
    if (!p) return void (reply.error && console.error(reply.error.message))
    pending.delete(reply.id as number)
    if (reply.error) p.reject(new ApiError('BAD_FRAME', reply.error.message))
    else p.resolve(reply.result)
  }

  return {
    transport: 'websocket',
    desktop: null,
    async call(method, input) {
      // an open socket sends in this turn, not a microtask later: requests made together leave in order
      const ws = socket?.readyState === WebSocket.OPEN ? socket : await open()
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        // binary: compare.series comes back as one binary message (the server ignores it elsewhere)
        ws.send(JSON.stringify({ id, method, input, binary: true }))
      })
    },
    onEvent(listener) {
      listeners.add(listener)
      void open().catch(() => {})
      return () => listeners.delete(listener)
    },
  }
}
