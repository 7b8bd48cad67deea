// Fuzzing the Workbench API over both transports of `mengzi serve`: every method, called over HTTP and over
// the WebSocket with generated malformed payloads (random JSON, and valid payloads with one field broken,
// dropped or added), answers a one-line BAD_INPUT naming the method; the server stays up and the database
// is untouched (integrity_check, every row the same). Loopback only, bounded in count and time.
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methodNames, methods, type MethodName } from '../../../engine/service/api'
import { serve, type RunningServer } from '../../../engine/server/server'
import { Workbench } from '../../../engine/service/workbench'
import { MetricWriter } from '../../../engine/store/metrics'
import { insertRun, setRunStatus } from '../../../engine/store/runs'
import { repoRoot, tempDir } from '../../helpers'

const tmp = tempDir('mengzi-api-fuzz-')
let wb: Workbench
let server: RunningServer
let socket: WebSocket
let snapshot: string

// One valid payload per method (methods added later start from {}): the fuzzer breaks them one field at a time.
const seeds: Partial<Record<MethodName, Record<string, unknown>>> = {
  'settings.update': { theme: 'dark', backend: 'wasm', spacyPython: '/usr/bin/python3' },
  'datasets.get': { id: 1 },
  'datasets.import': { paths: ['/corpus/a.txt'], options: { dedup: 'exact', devRatio: 0.01, format: 'records' } },
  'datasets.rename': { id: 1, name: '诗' },
  'datasets.delete': { id: 1 },
  'datasets.samples': { id: 1, offset: 0, limit: 10, query: '月' },
  'datasets.stats': { id: 1 },
  'runs.get': { id: 1 },
  'runs.metrics': { id: 1, names: ['loss'] },
  'models.get': { id: 1 },
  'models.import': { path: '/models/bert', name: 'bert' },
  'models.export': { id: 1, out: '/tmp/out', dtype: 'float16' },
  'models.delete': { id: 1 },
  'tags.preview': { text: '孟子见梁惠王。', tagger: 'builtin' },
  'tags.dataset': { id: 1, tagger: 'builtin', entities: true },
  'tags.summary': { id: 1 },
  'train.start': { config: { name: 'x' }, keepCheckpoints: 2 },
  'train.resume': { id: 1, keepCheckpoints: 1 },
  'jobs.cancel': { id: 'job' },
}

const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 1.5, 2 ** 53, -(2 ** 31), '', 'x'.repeat(5000), [], {}, null, true, [''], { id: 1 }, '../../etc/passwd', '\u0000'),
)

function payloads(method: MethodName): fc.Arbitrary<unknown> {
  const seed = seeds[method] ?? {}
  const keys = Object.keys(seed)
  const broken = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), oddValue).map(([k, v]) => ({ ...seed, [k]: v })), // an unknown key
    ...(keys.length > 0
      ? [
          fc.tuple(fc.constantFrom(...keys), oddValue).map(([k, v]) => ({ ...seed, [k]: v })), // a field's value broken
          fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(seed).filter(([key]) => key !== k))), // a field dropped
        ]
      : []),
  )
  // what travels is JSON; the server reads a missing or null input as {}
  return broken
    .map((v) => (v === undefined ? v : JSON.parse(JSON.stringify(v))))
    .filter((v) => !methods[method].input.safeParse(v ?? {}).success)
}

const call = fc.constantFrom(...methodNames).chain((method) => payloads(method).map((input) => ({ method, input })))

function dump(): string {
  const tables = (wb.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name)
  return JSON.stringify(tables.map((t) => [t, wb.db.prepare(`SELECT * FROM "${t}"`).all()]))
}

async function viaHttp(method: string, body: string): Promise<{ status: number; error?: { code: string; message: string } }> {
  const res = await fetch(`${server.origin}/api/${encodeURIComponent(method)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
    body,
  })
  return { status: res.status, ...((await res.json()) as { error?: { code: string; message: string } }) }
}

let nextId = 0
function viaSocket(message: string | object): Promise<{ id: unknown; error?: { code: string; message: string }; result?: unknown }> {
  const id = typeof message === 'object' ? (message as { id: number }).id : null
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData) => {
      const reply = JSON.parse(data.toString())
      if ('event' in reply || reply.id !== id) return
      socket.off('message', onMessage)
      resolve(reply)
    }
    socket.on('message', onMessage)
    socket.send(typeof message === 'string' ? message : JSON.stringify(message), (err) => err && reject(err))
  })
}

beforeAll(async () => {
  wb = new Workbench({ home: path.join(tmp.dir, 'home') })
  // something to lose: a dataset, a finished run with a metric series, settings
  const { jobId } = await wb.call('datasets.import', { paths: [path.join(repoRoot, 'test/fixtures/import/poems.txt')], options: { name: '唐诗' } })
  await new Promise<void>((resolve) => {
    const off = wb.subscribe((e) => e.type === 'job' && e.job.id === jobId && e.job.status !== 'running' && (off(), resolve()))
  })
  const runId = insertRun(wb.db, { name: 'r', kind: 'pretrain', config: { lr: 1e-3 }, seed: 1 })
  const metrics = new MetricWriter(wb.db, runId)
  for (let step = 1; step <= 20; step++) metrics.add('loss', step, 10 / step)
  metrics.flush()
  setRunStatus(wb.db, runId, 'completed', { backend: 'cpu' })
  await wb.call('settings.update', { theme: 'dark' })
  expect((await wb.call('datasets.list', {})).length).toBe(1)
  snapshot = dump()

  server = await serve(wb, { staticDir: fs.mkdtempSync(path.join(tmp.dir, 'ui-')) })
  expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:/)
  socket = new WebSocket(`${server.origin.replace('http', 'ws')}/api/ws?token=${encodeURIComponent(server.token)}`)
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
})

afterAll(async () => {
  socket?.close()
  await server?.close()
  await wb?.close()
  tmp.cleanup()
})

const oneLineBadInput = (method: string, error: { code: string; message: string } | undefined) => {
  expect(error?.code, `${method}: ${JSON.stringify(error)}`).toBe('BAD_INPUT')
  expect(error!.message.startsWith(`${method}: `), error!.message).toBe(true)
  expect(error!.message).not.toContain('\n')
}

describe('API fuzzing over HTTP and WebSocket', () => {
  it('breaks valid payloads of every method into ones its schema refuses', () => {
    // a seed that stops parsing (the method's schema changed) would leave only random JSON: update it above
    for (const [m, seed] of Object.entries(seeds)) expect(methods[m as MethodName].input.safeParse(seed).success, m).toBe(true)
    for (const m of methodNames) {
      const sample = fc.sample(payloads(m), { numRuns: 20, seed: 1 })
      expect(sample.every((v) => !methods[m].input.safeParse(v ?? {}).success)).toBe(true)
    }
  })

  it('HTTP: every malformed payload gets 400 BAD_INPUT naming the method', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(call, async ({ method, input }) => {
        const r = await viaHttp(method, input === undefined ? '' : JSON.stringify(input))
        expect(r.status).toBe(400)
        oneLineBadInput(method, r.error)
      }),
      { numRuns: 400, interruptAfterTimeLimit: 30_000 },
    )
    // bodies that are not JSON, and methods that do not exist
    for (const body of ['{', 'undefined', '\u0000', '{"id": 1,}', "{'id': 1}"]) {
      expect(await viaHttp('runs.get', body)).toMatchObject({ status: 400, error: { code: 'BAD_INPUT', message: 'runs.get: request body is not JSON' } })
    }
    expect(await viaHttp('runs.drop', '{}')).toMatchObject({ status: 400, error: { code: 'BAD_INPUT' } })
    expect(await viaHttp('__proto__', '{}')).toMatchObject({ status: 400, error: { code: 'BAD_INPUT' } })
  })

  it('WebSocket: every malformed payload gets BAD_INPUT naming the method, on the same socket', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(call, async ({ method, input }) => {
        const id = ++nextId
        const r = await viaSocket(input === undefined ? { id, method } : { id, method, input })
        expect(r.result).toBeUndefined()
        oneLineBadInput(method, r.error)
      }),
      { numRuns: 400, interruptAfterTimeLimit: 30_000 },
    )
    expect(await viaSocket('not json')).toMatchObject({ id: null, error: { code: 'BAD_INPUT', message: 'message is not JSON' } })
    expect(await viaSocket({ id: ++nextId, method: 'constructor', input: {} })).toMatchObject({ error: { code: 'BAD_INPUT' } })
    expect(await viaSocket({ id: ++nextId, method: 42 })).toMatchObject({ error: { code: 'BAD_INPUT' } })
  })

  it('leaves the server up and the database as it was', async () => {
    expect((await viaSocket({ id: ++nextId, method: 'app.version', input: {} })).result).toMatchObject({ app: expect.any(String) })
    const res = await fetch(`${server.origin}/api/datasets.list`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}` }, body: '{}' })
    expect(res.status).toBe(200)
    expect(wb.db.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(wb.db.pragma('foreign_key_check')).toEqual([])
    expect(dump()).toBe(snapshot)
  })
})
