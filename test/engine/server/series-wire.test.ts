// Compare series frames as binary socket messages (engine/service/series-wire.ts): the same frame as the
// JSON reply, over the real server; malformed messages refused with a one-line reason.
import path from 'node:path'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type RunningServer } from '../../../engine/server/server'
import type { SeriesFrame } from '../../../engine/service/compare-series'
import { decodeSeriesReply, encodeSeriesReply, isSeriesReply } from '../../../engine/service/series-wire'
import { Workbench } from '../../../engine/service/workbench'
import { MetricWriter } from '../../../engine/store/metrics'
import { insertRun, setRunStatus } from '../../../engine/store/runs'
import { tempDir } from '../../helpers'

const tmp = tempDir()
let wb: Workbench
let server: RunningServer
const runIds: number[] = []

beforeAll(async () => {
  wb = new Workbench({ home: path.join(tmp.dir, 'home') })
  for (let r = 0; r < 3; r++) {
    const id = insertRun(wb.db, { name: `run ${r}`, kind: 'pretrain', config: { batchSize: 4, maxSeqLength: 16 }, seed: r })
    const m = new MetricWriter(wb.db, id, 1000)
    // run 2 has no loss series: its ys is null in the frame
    for (let step = 1; step <= 500; step++) if (r < 2) m.add('loss', step, 5 / step + r + 0.01 * Math.sin(step), 1_700_000_000 + step)
    m.add('lr', 1, 1e-4)
    m.flush()
    setRunStatus(wb.db, id, 'completed', { backend: 'wasm' })
    runIds.push(id)
  }
  server = await serve(wb, { staticDir: path.join(tmp.dir, 'ui') })
})
afterAll(async () => {
  await server.close()
  await wb.close()
  tmp.cleanup()
})

const b64 = (s: string) => Buffer.from(s, 'base64')
const toArrayBuffer = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer

async function ask(request: object): Promise<WebSocket.RawData[]> {
  const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/api/ws?token=${server.token}`)
  await new Promise((r) => ws.on('open', r))
  const got = new Promise<WebSocket.RawData[]>((resolve) => ws.on('message', (m, isBinary) => resolve([m, isBinary as unknown as WebSocket.RawData])))
  ws.send(JSON.stringify(request))
  const out = await got
  ws.close()
  return out
}

describe('binary series frames', () => {
  it('carry the same frame as the JSON reply, over the server, and the page views the arrays in place', async () => {
    const input = { runIds, metric: 'loss', width: 40 }
    const [text, textIsBinary] = await ask({ id: 1, method: 'compare.series', input })
    const [bin, binIsBinary] = await ask({ id: 2, method: 'compare.series', input, binary: true })
    expect(textIsBinary).toBe(false)
    expect(binIsBinary).toBe(true)
    const json = (JSON.parse(text.toString()) as { result: SeriesFrame }).result
    const buf = toArrayBuffer(bin as Buffer)
    expect(isSeriesReply(buf)).toBe(true)
    const { id, result } = decodeSeriesReply(buf)
    expect(id).toBe(2)
    expect(result.xs).toBeInstanceOf(Float64Array)
    expect(result.xs.buffer).toBe(buf) // a view, not a copy
    expect([...result.xs]).toEqual([...new Float64Array(toArrayBuffer(b64(json.xs)))])
    expect(result.runs.map((r) => r.runId)).toEqual(runIds)
    expect(result.runs[2].ys).toBeNull()
    for (const [i, r] of result.runs.entries()) {
      if (!r.ys) continue
      const want = new Float32Array(toArrayBuffer(b64(json.runs[i].ys!)))
      expect(r.ys.length).toBe(40 * 4)
      // NaN (empty buckets) compares equal by bytes
      expect(Buffer.from(r.ys.buffer, r.ys.byteOffset, r.ys.byteLength).equals(Buffer.from(want.buffer))).toBe(true)
      expect(r.points).toBe(json.runs[i].points)
    }
    const { xs: _x, runs: _r, ...rest } = json
    const { xs: _bx, runs: _br, ...binRest } = result
    expect(binRest).toEqual(rest)
  })

  it('is asked for per request: errors and other methods stay JSON', async () => {
    const [err, errIsBinary] = await ask({ id: 3, method: 'compare.series', input: { runIds, metric: 'loss', width: -1 }, binary: true })
    expect(errIsBinary).toBe(false)
    expect(JSON.parse(err.toString())).toMatchObject({ id: 3, error: { code: 'BAD_INPUT' } })
    const [list, listIsBinary] = await ask({ id: 4, method: 'runs.list', input: {}, binary: true })
    expect(listIsBinary).toBe(false)
    expect(JSON.parse(list.toString())).toMatchObject({ id: 4 })
  })

  it('refuses a malformed message with a one-line reason, naming the request when the header is readable', () => {
    const frame = { metric: 'loss', x: 'step', range: [0, 1], extent: [0, 1], buckets: 1, xs: Buffer.from(new Float64Array([0, 0.5, 1, 1]).buffer).toString('base64'), runs: [{ runId: 1, ys: Buffer.from(new Float32Array([1, 2, 3, 4]).buffer).toString('base64'), points: 4 }] } as SeriesFrame
    const good = encodeSeriesReply(7, frame, b64)
    expect([...decodeSeriesReply(toArrayBuffer(good)).result.runs[0].ys!]).toEqual([1, 2, 3, 4])
    const reasons: [string, Uint8Array, RegExp, unknown][] = [
      ['truncated', good.subarray(0, good.byteLength - 8), /run 0's blob ends at byte \d+, past the \d+-byte message/, 7],
      ['not ours', new TextEncoder().encode('{"id":1}xxxxxxxx'), /no MZF1 header/, undefined],
      ['header too long', (() => { const b = good.slice(); new DataView(b.buffer).setUint32(4, 1e6, true); return b })(), /header of 1000000 bytes runs past/, undefined],
      ['header not JSON', (() => { const b = good.slice(); b[8] = 0x7b + 1; return b })(), /header is not JSON/, undefined],
    ]
    for (const [what, bytes, reason, id] of reasons) {
      let err: (Error & { id?: unknown }) | null = null
      try {
        decodeSeriesReply(toArrayBuffer(bytes))
      } catch (e) {
        err = e as Error
      }
      expect(err, what).not.toBeNull()
      expect(err!.message, what).toMatch(reason)
      expect(err!.message, what).not.toContain('\n')
      expect(err!.id, what).toBe(id)
    }
    // a blob index that names nothing, and one misaligned
    const header = (blobs: unknown, ys: unknown) => {
      const h = new TextEncoder().encode(JSON.stringify({ id: 9, result: { ...frame, xs: 0, runs: [{ runId: 1, ys, points: 4 }] }, blobs }))
      const out = new Uint8Array(((8 + h.byteLength + 7) & ~7) + 64)
      new DataView(out.buffer).setUint32(0, 0x3146_5a4d, true)
      new DataView(out.buffer).setUint32(4, h.byteLength, true)
      out.set(h, 8)
      return toArrayBuffer(out)
    }
    expect(() => decodeSeriesReply(header([[0, 32, 'f64']], 5))).toThrow(/run 0 names no f32 blob \(5\)/)
    expect(() => decodeSeriesReply(header([[0, 32, 'f64'], [36, 16, 'f32']], 1))).toThrow(/run 0's blob \[36, 16\] is not aligned f32 data/)
  })
})
