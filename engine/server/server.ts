// `mengzi serve`: the Workbench API over HTTP + WebSocket on loopback, and the built renderer from the
// same origin. Every /api route and the socket require the token; the UI page does not (it reads the
// token from its own URL). Host and Origin are checked so that another site cannot reach us through
// DNS rebinding or a cross-site socket.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocketServer, type WebSocket } from 'ws'
import { toErrorPayload } from '../errors'
import type { Workbench } from '../service/workbench'
import type { SeriesFrame } from '../service/compare-series'
import { encodeSeriesReply } from '../service/series-wire'
import { CONTENT_SECURITY_POLICY } from './csp'

export interface ServeOptions {
  host?: string
  port?: number
  token?: string
  /** The built renderer (electron-vite's out/renderer). */
  staticDir?: string
}

export interface RunningServer {
  url: string // with ?token=
  origin: string
  token: string
  close(): Promise<void>
}

const MAX_BODY_BYTES = 4 * 1024 * 1024
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
// MENGZI_UI_DIR: another folder for the built renderer (tests build a fresh one there)
export const defaultStaticDir = process.env.MENGZI_UI_DIR ? path.resolve(process.env.MENGZI_UI_DIR) : path.join(repoRoot, 'out', 'renderer')

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
}

export async function serve(wb: Workbench, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  const token = options.token ?? randomBytes(24).toString('base64url')
  const staticDir = options.staticDir ?? defaultStaticDir
  const tokenBytes = Buffer.from(token)
  const validToken = (candidate: string | null | undefined) => {
    if (!candidate) return false
    const c = Buffer.from(candidate)
    return c.length === tokenBytes.length && timingSafeEqual(c, tokenBytes)
  }
  let allowedHosts = new Set<string>()

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => sendJson(res, 500, { error: toErrorPayload(err) }))
  })

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Referrer-Policy', 'no-referrer')
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')
    if (!allowedHosts.has(req.headers.host ?? '')) {
      return sendJson(res, 421, { error: { code: 'BAD_INPUT', message: `unexpected Host header ${JSON.stringify(req.headers.host)}` } })
    }
    const url = new URL(req.url ?? '/', 'http://local')
    if (url.pathname.startsWith('/api/')) {
      if (!validToken(bearer(req) ?? url.searchParams.get('token'))) {
        return sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'missing or wrong token' } })
      }
      const method = decodeURIComponent(url.pathname.slice('/api/'.length))
      if (req.method === 'GET' && method === 'version') return reply(res, () => wb.dispatch('app.version', {}))
      if (req.method !== 'POST') {
        return sendJson(res, 405, { error: { code: 'BAD_INPUT', message: `${req.method} ${url.pathname}: use POST` } })
      }
      const body = await readBody(req)
      let input: unknown
      try {
        input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'))
      } catch {
        return sendJson(res, 400, { error: { code: 'BAD_INPUT', message: `${method}: request body is not JSON` } })
      }
      return reply(res, () => wb.dispatch(method, input))
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, { error: { code: 'BAD_INPUT', message: `${req.method} not allowed` } })
    }
    return serveStatic(res, url.pathname)
  }

  function serveStatic(res: http.ServerResponse, pathname: string): void {
    const index = path.join(staticDir, 'index.html')
    if (!fs.existsSync(index)) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('The UI is not built: `mengzi serve` builds it when it starts, and could not here; run `npm run build` (electron-vite build), then reload.\n')
      return
    }
    let file = path.normalize(path.join(staticDir, decodeURIComponent(pathname)))
    if (!file.startsWith(staticDir + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      file = index // the client-side router owns every other path
    }
    const type = MIME[path.extname(file)] ?? 'application/octet-stream'
    const headers: Record<string, string> = { 'Content-Type': type }
    if (type.startsWith('text/html')) {
      headers['Content-Security-Policy'] = CONTENT_SECURITY_POLICY
      headers['Cache-Control'] = 'no-store'
    }
    res.writeHead(200, headers)
    fs.createReadStream(file).pipe(res)
  }

  async function reply(res: http.ServerResponse, fn: () => Promise<unknown>): Promise<void> {
    try {
      sendJson(res, 200, { result: await fn() })
    } catch (err) {
      const error = toErrorPayload(err)
      const status = error.code === 'BAD_INPUT' ? 400 : error.code === 'NOT_FOUND' ? 404 : error.code === 'INTERNAL' ? 500 : 409
      sendJson(res, status, { error })
    }
  }

  // The socket: requests {id, method, input} → {id, result} | {id, error}; events pushed as {event}.
  // A request with "binary": true for compare.series is answered by one binary message (series-wire.ts).
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES })
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://local')
    const origin = req.headers.origin
    const sameOrigin = origin === undefined || allowedHosts.has(new URL(origin).host)
    if (url.pathname !== '/api/ws' || !allowedHosts.has(req.headers.host ?? '') || !sameOrigin || !validToken(url.searchParams.get('token'))) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n')
      socket.destroy()
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws))
  })

  function onSocket(ws: WebSocket): void {
    const unsubscribe = wb.subscribe((event) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event }))
    })
    ws.on('close', unsubscribe)
    // ws emits every message of one network read in a single turn, and the handlers (SQLite reads) run
    // synchronously: answered there, a quick request's reply would wait until the slow ones after it had
    // run too. Each message is answered in its own turn instead, so its reply is written to the socket
    // before the next message's work begins (Compare's summary goes out while its series are read).
    ws.on('message', (data) => void setImmediate(() => void answer(ws, data.toString())))
  }

  async function answer(ws: WebSocket, text: string): Promise<void> {
    let msg: { id?: unknown; method?: unknown; input?: unknown; binary?: unknown }
    try {
      msg = JSON.parse(text)
    } catch {
      return ws.send(JSON.stringify({ id: null, error: { code: 'BAD_INPUT', message: 'message is not JSON' } }))
    }
    let reply: string | Uint8Array
    try {
      const result = await wb.dispatch(msg.method, msg.input)
      reply =
        msg.binary === true && msg.method === 'compare.series'
          ? encodeSeriesReply(msg.id, result as SeriesFrame, (b64) => Buffer.from(b64, 'base64'))
          : JSON.stringify({ id: msg.id, result })
    } catch (err) {
      reply = JSON.stringify({ id: msg.id, error: toErrorPayload(err) })
    }
    if (ws.readyState === ws.OPEN) ws.send(reply, { binary: typeof reply !== 'string' })
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  // while the page loads and the user picks runs: the first Compare open then draws from memory
  void wb.preloadSeries()
  const port = (server.address() as AddressInfo).port
  const hostForUrl = host.includes(':') ? `[${host}]` : host
  allowedHosts = new Set([`${hostForUrl}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`])
  const origin = `http://${hostForUrl}:${port}`
  return {
    origin,
    token,
    url: `${origin}/?token=${encodeURIComponent(token)}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        wss.close()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function bearer(req: http.IncomingMessage): string | null {
  const h = req.headers.authorization
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : null
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end()
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(JSON.stringify(body))
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`request body over ${MAX_BODY_BYTES} bytes`))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}
