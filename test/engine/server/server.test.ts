import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type RunningServer } from '../../../engine/server/server'
import { Workbench } from '../../../engine/service/workbench'
import { tempDir } from '../../helpers'

const tmp = tempDir()
let wb: Workbench
let server: RunningServer
const staticDir = path.join(tmp.dir, 'ui')

beforeAll(async () => {
  fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true })
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>UI</title>')
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log(1)')
  fs.writeFileSync(path.join(tmp.dir, 'secret.txt'), 'do not serve')
  wb = new Workbench({ home: path.join(tmp.dir, 'home') })
  server = await serve(wb, { staticDir })
})
afterAll(async () => {
  await server.close()
  await wb.close()
  tmp.cleanup()
})

/** A raw request, so that headers such as Host can be set freely. */
function request(
  pathname: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(server.origin)
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: pathname, method: init.method ?? 'GET', headers: init.headers },
      (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end(init.body)
  })
}

describe('loopback server', () => {
  it('binds 127.0.0.1 and prints a URL with the token', () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(server.url).toBe(`${server.origin}/?token=${encodeURIComponent(server.token)}`)
    expect(server.token.length).toBeGreaterThanOrEqual(32)
  })

  it('answers 401 on every /api route without the right token', async () => {
    for (const [p, method] of [['/api/version', 'GET'], ['/api/datasets.list', 'POST'], ['/api/nope', 'POST']] as const) {
      expect((await request(p, { method })).status).toBe(401)
      expect((await request(p, { method, headers: { Authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401)
      expect((await request(`${p}?token=${server.token}x`, { method })).status).toBe(401)
    }
  })

  it('accepts the token as a bearer header or a query parameter', async () => {
    const a = await request('/api/version', { headers: { Authorization: `Bearer ${server.token}` } })
    expect(a.status).toBe(200)
    expect(JSON.parse(a.body).result.schemaVersion).toBeGreaterThan(0)
    const b = await request(`/api/datasets.list?token=${server.token}`, { method: 'POST', body: '{}' })
    expect(JSON.parse(b.body)).toEqual({ result: [] })
  })

  it('validates API payloads and reports them as 400 with the field', async () => {
    const auth = { Authorization: `Bearer ${server.token}` }
    const bad = await request('/api/runs.get', { method: 'POST', headers: auth, body: '{"id":"seven"}' })
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.body).error).toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/^runs\.get: id: /) })
    const notJson = await request('/api/runs.get', { method: 'POST', headers: auth, body: '{id:' })
    expect(notJson.status).toBe(400)
    const missing = await request('/api/runs.get', { method: 'POST', headers: auth, body: '{"id":99}' })
    expect(missing.status).toBe(404)
  })

  it('serves the UI without a token, with the CSP, and never files outside its folder', async () => {
    const page = await request('/')
    expect(page.status).toBe(200)
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect((await request('/assets/app.js')).headers['content-type']).toContain('text/javascript')
    const escape = await request('/../secret.txt')
    expect(escape.body).not.toContain('do not serve')
    const encoded = await request('/%2e%2e/secret.txt')
    expect(encoded.body).not.toContain('do not serve')
  })

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const res = await request(`/api/version?token=${server.token}`, { headers: { Host: 'attacker.example:80' } })
    expect(res.status).toBe(421)
  })

  it('speaks the API over the WebSocket only with the token, and pushes events', async () => {
    const wsUrl = `${server.origin.replace('http', 'ws')}/api/ws`
    await expect(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(wsUrl)
        ws.on('open', () => resolve('opened'))
        ws.on('error', reject)
      }),
    ).rejects.toThrow(/401/)
    const foreign = new WebSocket(`${wsUrl}?token=${server.token}`, { headers: { Origin: 'http://attacker.example' } })
    await expect(new Promise((res, rej) => (foreign.on('open', res), foreign.on('error', rej)))).rejects.toThrow(/401/)

    const ws = new WebSocket(`${wsUrl}?token=${server.token}`)
    await new Promise((r) => ws.on('open', r))
    const messages: unknown[] = []
    ws.on('message', (m) => messages.push(JSON.parse(m.toString())))
    ws.send(JSON.stringify({ id: 1, method: 'settings.update', input: { theme: 'light' } }))
    ws.send(JSON.stringify({ id: 2, method: 'runs.get', input: { id: 'x' } }))
    await new Promise((r) => setTimeout(r, 200))
    ws.close()
    expect(messages).toContainEqual({ id: 1, result: expect.objectContaining({ theme: 'light' }) })
    expect(messages).toContainEqual({ id: 2, error: { code: 'BAD_INPUT', message: expect.stringMatching(/^runs\.get: id:/) } })
    expect(messages).toContainEqual({ event: { type: 'settings.changed', settings: expect.objectContaining({ theme: 'light' }) } })
  })
})

describe('the WebSocket under several requests at once', () => {
  it("answers each message before the next one's work begins, so a quick reply never waits for slow ones after it", async () => {
    // the handlers run synchronously (SQLite); messages that arrive in one network read used to be
    // dispatched one after the other before any reply was written. Record, in the one process that runs
    // both ends, when each dispatch starts and when the server writes each reply.
    const order: string[] = []
    const dispatch = wb.dispatch.bind(wb)
    wb.dispatch = (method, input) => {
      order.push(`start ${String(method)}`)
      return dispatch(method, input)
    }
    const send = WebSocket.prototype.send
    WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown }
      if ('result' in msg) order.push(`reply ${msg.id}`)
      return (send as (...a: unknown[]) => void).call(this, data, ...rest)
    } as typeof send
    try {
      const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/api/ws?token=${server.token}`)
      await new Promise((r) => ws.on('open', r))
      const replies: number[] = []
      const done = new Promise<void>((resolve) =>
        ws.on('message', (m) => {
          replies.push((JSON.parse(m.toString()) as { id: number }).id)
          if (replies.length === 3) resolve()
        }),
      )
      // written in one synchronous block: the server reads the three frames in one read
      ws.send(JSON.stringify({ id: 1, method: 'settings.get', input: {} }))
      ws.send(JSON.stringify({ id: 2, method: 'runs.list', input: {} }))
      ws.send(JSON.stringify({ id: 3, method: 'app.version', input: {} }))
      await done
      ws.close()
      expect(replies).toEqual([1, 2, 3])
      expect(order).toEqual(['start settings.get', 'reply 1', 'start runs.list', 'reply 2', 'start app.version', 'reply 3'])
    } finally {
      WebSocket.prototype.send = send
      wb.dispatch = dispatch
    }
  })
})
