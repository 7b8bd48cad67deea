// A Compare series frame as one binary WebSocket message, for the loopback socket only (IPC passes the
// frame as it is). As JSON a 200-run frame is ~2 MB of base64 text that the server stringifies and the
// page parses and then decodes again; here the typed arrays' bytes follow a small JSON header, and the
// page views them in place.
//
//   "MZF1" | header byte length (uint32, little-endian) | header (UTF-8 JSON) | zeros to a multiple of 8 | blobs
//
// The header is the reply {id, result} with `xs` and each run's `ys` replaced by an index into
// `blobs`: [byte offset from the first blob, byte length, "f32" | "f64"], each blob starting at a multiple
// of 8 so that the page can view it as a typed array without copying. Plain JS (no Node Buffer): the
// server encodes, the page decodes.
import type { SeriesFrame, SeriesFrameRun } from './compare-series'

const MAGIC = 0x3146_5a4d // "MZF1" read as a little-endian uint32

/** A series frame whose arrays are typed arrays (what decodeSeriesReply gives; the page takes both forms). */
export interface BinarySeriesFrame extends Omit<SeriesFrame, 'xs' | 'runs'> {
  xs: Float64Array
  runs: (Omit<SeriesFrameRun, 'ys'> & { ys: Float32Array | null })[]
}

type Blob = [offset: number, byteLength: number, kind: 'f32' | 'f64']
const pad8 = (n: number) => (n + 7) & ~7

/** The reply to request `id` as one binary message; `fromBase64` turns the frame's base64 back into bytes. */
export function encodeSeriesReply(id: unknown, frame: SeriesFrame, fromBase64: (b64: string) => Uint8Array): Uint8Array {
  const bytes: Uint8Array[] = []
  const blobs: Blob[] = []
  let at = 0
  const add = (b64: string, kind: Blob[2]) => {
    const b = fromBase64(b64)
    blobs.push([at, b.byteLength, kind])
    bytes.push(b)
    at = pad8(at + b.byteLength)
    return blobs.length - 1
  }
  const result = { ...frame, xs: add(frame.xs, 'f64'), runs: frame.runs.map((r) => ({ ...r, ys: r.ys == null ? null : add(r.ys, 'f32') })) }
  const header = new TextEncoder().encode(JSON.stringify({ id, result, blobs }))
  const start = pad8(8 + header.byteLength)
  const out = new Uint8Array(start + at)
  const view = new DataView(out.buffer)
  view.setUint32(0, MAGIC, true)
  view.setUint32(4, header.byteLength, true)
  out.set(header, 8)
  bytes.forEach((b, i) => out.set(b, start + blobs[i][0]))
  return out
}

/** Is this binary message one of ours (as against some other binary data)? */
export const isSeriesReply = (buf: ArrayBuffer) => buf.byteLength >= 8 && new DataView(buf).getUint32(0, true) === MAGIC

/**
 * Reads a binary reply back: {id, result} with typed arrays viewing `buf`. Throws an Error whose message is
 * one line saying what is wrong when the message is not a well-formed frame (with `id` once the header is read).
 */
export function decodeSeriesReply(buf: ArrayBuffer): { id: unknown; result: BinarySeriesFrame } {
  if (!isSeriesReply(buf)) throw new Error('binary frame: no MZF1 header')
  const headerLength = new DataView(buf).getUint32(4, true)
  if (8 + headerLength > buf.byteLength) throw new Error(`binary frame: header of ${headerLength} bytes runs past the ${buf.byteLength}-byte message`)
  let header: { id?: unknown; result?: Record<string, unknown>; blobs?: unknown }
  try {
    header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, headerLength)))
  } catch {
    throw new Error('binary frame: header is not JSON')
  }
  try {
    return { id: header.id, result: framesOf(header, buf, pad8(8 + headerLength)) }
  } catch (err) {
    // the request it answers fails with the reason
    throw Object.assign(err as Error, { id: header.id })
  }
}

function framesOf(header: { result?: Record<string, unknown>; blobs?: unknown }, buf: ArrayBuffer, start: number): BinarySeriesFrame {
  const { result, blobs } = header
  if (!result || typeof result !== 'object' || !Array.isArray(result.runs) || !Array.isArray(blobs)) throw new Error('binary frame: header lacks result.runs or blobs')
  const take = (index: unknown, kind: Blob[2], what: string) => {
    const b = typeof index === 'number' && Number.isInteger(index) ? (blobs[index] as unknown) : undefined
    if (!Array.isArray(b) || b[2] !== kind) throw new Error(`binary frame: ${what} names no ${kind} blob (${JSON.stringify(index)})`)
    const [offset, byteLength] = b as [unknown, unknown]
    const size = kind === 'f32' ? 4 : 8
    if (typeof offset !== 'number' || typeof byteLength !== 'number' || !Number.isInteger(offset) || !Number.isInteger(byteLength) || offset < 0 || byteLength < 0 || offset % 8 !== 0 || byteLength % size !== 0) {
      throw new Error(`binary frame: ${what}'s blob [${offset}, ${byteLength}] is not aligned ${kind} data`)
    }
    if (start + offset + byteLength > buf.byteLength) throw new Error(`binary frame: ${what}'s blob ends at byte ${start + offset + byteLength}, past the ${buf.byteLength}-byte message`)
    return kind === 'f32' ? new Float32Array(buf, start + offset, byteLength / 4) : new Float64Array(buf, start + offset, byteLength / 8)
  }
  const runs = (result.runs as Record<string, unknown>[]).map((r, i) => {
    if (!r || typeof r !== 'object') throw new Error(`binary frame: run ${i} is not an object`)
    return { ...r, ys: r.ys == null ? null : take(r.ys, 'f32', `run ${i}`) }
  })
  return { ...result, xs: take(result.xs, 'f64', 'xs'), runs } as unknown as BinarySeriesFrame
}
