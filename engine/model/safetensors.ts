// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {k: v}}`,
// then the tensor bytes; offsets count from the end of the header. We read the header, validate all of
// it, then read each tensor straight into its own typed array, so a large file is never held twice.
// Half-precision tensors are widened to Float32Array on read and narrowed again on write.
import { open, rename, rm } from 'node:fs/promises'
import { endianness } from 'node:os'
import { corrupt, notFound, unsupported, badInput } from '../errors'

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64'

/** Bytes per element of each supported dtype; any other dtype is refused by name. */
export const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 }

export type TensorData = Float32Array | Int32Array | BigInt64Array

/** One tensor as read: F32/F16/BF16 → Float32Array, I32 → Int32Array, I64 → BigInt64Array. */
export interface StoredTensor {
  dtype: SafetensorsDtype
  shape: number[]
  data: TensorData
}

/** One tensor to write. Floats go as Float32Array; I64 accepts Int32Array as well as BigInt64Array. */
export interface TensorToWrite {
  dtype: SafetensorsDtype
  shape: number[]
  data: Float32Array | Int32Array | BigInt64Array
}

export interface HeaderEntry {
  name: string
  dtype: SafetensorsDtype
  shape: number[]
  begin: number // byte offset from the start of the data section
  end: number
}

export interface SafetensorsHeader {
  /** Byte offset of the data section from the start of the file (8 + header length). */
  dataStart: number
  entries: HeaderEntry[] // in file order
  metadata: Record<string, string>
}

/** HF's reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000
/** fs reads and writes are chunked below 2 GiB, the largest single read Node allows. */
const IO_CHUNK = 1 << 30

function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') throw unsupported(`safetensors: big-endian hosts are not supported`)
}

const isDtype = (d: unknown): d is SafetensorsDtype => typeof d === 'string' && Object.hasOwn(DTYPE_BYTES, d)

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

/** Parses and validates a header buffer against the size of the data section. */
export function parseHeader(path: string, json: string, dataStart: number, dataBytes: number): SafetensorsHeader {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch (e) {
    throw corrupt(`${path}: header is not valid JSON (${(e as Error).message.split('\n')[0]})`)
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw corrupt(`${path}: header must be a JSON object, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`)
  }
  const metadata: Record<string, string> = {}
  const entries: HeaderEntry[] = []
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw corrupt(`${path}: __metadata__ must be an object of strings, got ${JSON.stringify(value)}`)
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw corrupt(`${path}: __metadata__.${k} must be a string, got ${JSON.stringify(v)}`)
        metadata[k] = v
      }
      continue
    }
    entries.push(parseEntry(path, name, value, dataBytes))
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end)
  // The reference implementation requires the tensors to tile the data section exactly.
  let cursor = 0
  let previous = ''
  for (const e of entries) {
    if (e.begin < cursor) throw corrupt(`${path}: tensor "${e.name}" bytes [${e.begin}, ${e.end}) overlap tensor "${previous}"`)
    if (e.begin > cursor) throw corrupt(`${path}: gap of ${e.begin - cursor} bytes before tensor "${e.name}" at offset ${cursor}`)
    cursor = e.end
    previous = e.name
  }
  if (cursor !== dataBytes) throw corrupt(`${path}: data section has ${dataBytes} bytes but tensors cover ${cursor}`)
  return { dataStart, entries, metadata }
}

function parseEntry(path: string, name: string, value: unknown, dataBytes: number): HeaderEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw corrupt(`${path}: tensor "${name}" entry must be an object, got ${JSON.stringify(value)}`)
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>
  if (typeof dtype !== 'string') throw corrupt(`${path}: tensor "${name}" has no dtype string (got ${JSON.stringify(dtype)})`)
  if (!isDtype(dtype)) {
    throw unsupported(`${path}: tensor "${name}" has dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`)
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw corrupt(`${path}: tensor "${name}" shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`)
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw corrupt(`${path}: tensor "${name}" data_offsets must be [begin, end] integers, got ${JSON.stringify(offsets)}`)
  }
  const [begin, end] = offsets as [number, number]
  if (begin > end) throw corrupt(`${path}: tensor "${name}" data_offsets [${begin}, ${end}] end before begin`)
  if (end > dataBytes) {
    throw corrupt(`${path}: tensor "${name}" data_offsets [${begin}, ${end}] beyond the data section (${dataBytes} bytes)`)
  }
  const expected = elementCount(shape) * DTYPE_BYTES[dtype]
  if (expected !== end - begin) {
    throw corrupt(
      `${path}: tensor "${name}" ${dtype}${JSON.stringify(shape)} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    )
  }
  return { name, dtype, shape: [...shape], begin, end }
}

type Handle = Awaited<ReturnType<typeof open>>

async function readExactly(fh: Handle, target: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0
  while (done < target.byteLength) {
    const len = Math.min(IO_CHUNK, target.byteLength - done)
    const { bytesRead } = await fh.read(target, done, len, position + done)
    if (bytesRead === 0) throw corrupt(`${path}: file ended at byte ${position + done}, expected ${position + target.byteLength}`)
    done += bytesRead
  }
}

async function openForRead(path: string): Promise<Handle> {
  try {
    return await open(path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${path}: no such file`)
    throw e
  }
}

async function readHeaderFrom(fh: Handle, path: string): Promise<SafetensorsHeader> {
  const size = (await fh.stat()).size
  if (size < 8) throw corrupt(`${path}: truncated file (${size} bytes), a safetensors file starts with an 8-byte header length`)
  const lenBytes = new Uint8Array(8)
  await readExactly(fh, lenBytes, 0, path)
  const headerLen = new DataView(lenBytes.buffer).getBigUint64(0, true)
  if (headerLen > BigInt(MAX_HEADER_BYTES)) throw corrupt(`${path}: header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`)
  const n = Number(headerLen)
  if (8 + n > size) throw corrupt(`${path}: truncated file: header length ${n} but only ${size - 8} bytes follow`)
  const headerBytes = new Uint8Array(n)
  await readExactly(fh, headerBytes, 8, path)
  return parseHeader(path, new TextDecoder().decode(headerBytes), 8 + n, size - 8 - n)
}

/** Reads and validates only the header (names, dtypes, shapes, metadata). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const fh = await openForRead(path)
  try {
    return await readHeaderFrom(fh, path)
  } finally {
    await fh.close()
  }
}

export interface ReadOptions {
  /** Read only the tensors whose names pass; the others are skipped without reading their bytes. */
  only?: (name: string) => boolean
}

/** Reads a safetensors file into a Map in file order. Metadata is on `readSafetensorsHeader`. */
export async function readSafetensors(path: string, options: ReadOptions = {}): Promise<Map<string, StoredTensor>> {
  assertLittleEndianHost()
  const fh = await openForRead(path)
  try {
    const header = await readHeaderFrom(fh, path)
    const out = new Map<string, StoredTensor>()
    for (const e of header.entries) {
      if (options.only && !options.only(e.name)) continue
      out.set(e.name, { dtype: e.dtype, shape: e.shape, data: await readTensor(fh, path, header.dataStart, e) })
    }
    return out
  } finally {
    await fh.close()
  }
}

async function readTensor(fh: Handle, path: string, dataStart: number, e: HeaderEntry): Promise<TensorData> {
  const n = elementCount(e.shape)
  const position = dataStart + e.begin
  switch (e.dtype) {
    case 'F32': {
      const data = new Float32Array(n)
      await readExactly(fh, new Uint8Array(data.buffer), position, path)
      return data
    }
    case 'I32': {
      const data = new Int32Array(n)
      await readExactly(fh, new Uint8Array(data.buffer), position, path)
      return data
    }
    case 'I64': {
      const data = new BigInt64Array(n)
      await readExactly(fh, new Uint8Array(data.buffer), position, path)
      return data
    }
    case 'F16':
    case 'BF16': {
      // Widened chunk by chunk so that only the Float32Array is full-size.
      const data = new Float32Array(n)
      const decode = e.dtype === 'F16' ? f16ToF32 : bf16ToF32
      const chunkElems = 1 << 20
      const half = new Uint16Array(Math.min(n, chunkElems))
      for (let i = 0; i < n; i += chunkElems) {
        const count = Math.min(chunkElems, n - i)
        const view = half.subarray(0, count)
        await readExactly(fh, new Uint8Array(view.buffer, 0, count * 2), position + i * 2, path)
        for (let j = 0; j < count; j++) data[i + j] = decode(view[j])
      }
      return data
    }
  }
}

/** Converts an I32 or I64 tensor to Int32Array, refusing values outside the int32 range. */
export function toInt32(name: string, t: StoredTensor): Int32Array {
  if (t.data instanceof Int32Array) return t.data
  if (t.data instanceof BigInt64Array) {
    const out = new Int32Array(t.data.length)
    for (let i = 0; i < out.length; i++) {
      const v = t.data[i]
      if (v > 2147483647n || v < -2147483648n) throw badInput(`tensor "${name}" value ${v} at index ${i} does not fit in int32`)
      out[i] = Number(v)
    }
    return out
  }
  throw badInput(`tensor "${name}" has dtype ${t.dtype}, expected an integer tensor (I32 or I64)`)
}

// --- half precision ---------------------------------------------------------------------------

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

export function bf16ToF32(h: number): number {
  u32[0] = h << 16
  return f32[0]
}

/** Round to nearest even, keeping NaN a (quiet) NaN. */
export function f32ToBf16(x: number): number {
  f32[0] = x
  const bits = u32[0]
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >>> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 0x1f) return frac ? NaN : sign * Infinity
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

/** Round to nearest even; overflow goes to ±Infinity, underflow through subnormals to ±0. */
export function f32ToF16(x: number): number {
  f32[0] = x
  const bits = u32[0]
  const sign = (bits >>> 16) & 0x8000
  const exp = (bits >>> 23) & 0xff
  let mant = bits & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0)
  let e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign // too small even for a subnormal
    mant |= 0x800000 // implicit leading 1
    const shift = 14 - e
    const halfway = 1 << (shift - 1)
    const rest = mant & ((1 << shift) - 1)
    let h = mant >>> shift
    if (rest > halfway || (rest === halfway && h & 1)) h++
    return sign | h
  }
  let h = (e << 10) | (mant >>> 13)
  const rest = mant & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++ // may carry into the exponent, which is right
  return sign | h
}

// --- writing ----------------------------------------------------------------------------------

function checkTensorToWrite(name: string, t: TensorToWrite): void {
  if (name === '__metadata__') throw badInput(`tensor name "__metadata__" is reserved by the safetensors format`)
  if (!isDtype(t.dtype)) throw unsupported(`tensor "${name}" dtype ${JSON.stringify(t.dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`)
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw badInput(`tensor "${name}" shape ${JSON.stringify(t.shape)} is not a list of sizes`)
  const n = elementCount(t.shape)
  if (t.data.length !== n) throw badInput(`tensor "${name}" shape ${JSON.stringify(t.shape)} needs ${n} values, got ${t.data.length}`)
  const ok =
    t.dtype === 'I32' ? t.data instanceof Int32Array
    : t.dtype === 'I64' ? t.data instanceof BigInt64Array || t.data instanceof Int32Array
    : t.data instanceof Float32Array
  if (!ok) throw badInput(`tensor "${name}" dtype ${t.dtype} cannot be written from a ${t.data.constructor.name}`)
}

/** Encodes one tensor's bytes, chunk by chunk so a large tensor is not copied whole. */
function* encodeTensor(t: TensorToWrite): Generator<Uint8Array> {
  const data = t.data
  const chunk = 1 << 20
  if ((t.dtype === 'F32' || t.dtype === 'I32') || (t.dtype === 'I64' && data instanceof BigInt64Array)) {
    yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    return
  }
  if (t.dtype === 'I64') {
    for (let i = 0; i < data.length; i += chunk) {
      const part = new BigInt64Array(Math.min(chunk, data.length - i))
      for (let j = 0; j < part.length; j++) part[j] = BigInt(data[i + j] as number)
      yield new Uint8Array(part.buffer)
    }
    return
  }
  const encode = t.dtype === 'F16' ? f32ToF16 : f32ToBf16
  for (let i = 0; i < data.length; i += chunk) {
    const part = new Uint16Array(Math.min(chunk, data.length - i))
    for (let j = 0; j < part.length; j++) part[j] = encode(data[i + j] as number)
    yield new Uint8Array(part.buffer)
  }
}

/**
 * Writes tensors (in the given order) and optional string metadata to `path` atomically: a temp file
 * beside it is written, flushed and renamed over `path`, so readers see the old file or the new one.
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<void> {
  assertLittleEndianHost()
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors)
  const header: Record<string, unknown> = {}
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw badInput(`metadata "${k}" must be a string, got ${JSON.stringify(v)}`)
    }
    header.__metadata__ = metadata
  }
  let offset = 0
  for (const [name, t] of list) {
    checkTensorToWrite(name, t)
    const bytes = elementCount(t.shape) * DTYPE_BYTES[t.dtype]
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  // Pad with spaces to a multiple of 8 so that tensor data stays aligned, as HF does.
  let json = new TextEncoder().encode(JSON.stringify(header))
  const padded = Math.ceil(json.byteLength / 8) * 8
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20)
    p.set(json)
    json = p
  }
  const lenBytes = new Uint8Array(8)
  new DataView(lenBytes.buffer).setBigUint64(0, BigInt(json.byteLength), true)

  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`
  const fh = await open(tmp, 'w')
  try {
    await writeAll(fh, lenBytes)
    await writeAll(fh, json)
    for (const [, t] of list) for (const bytes of encodeTensor(t)) await writeAll(fh, bytes)
    await fh.sync()
    await fh.close()
    await rename(tmp, path)
  } catch (e) {
    await fh.close().catch(() => {})
    await rm(tmp, { force: true })
    throw e
  }
}

async function writeAll(fh: Handle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) {
    const len = Math.min(IO_CHUNK, bytes.byteLength - done)
    const { bytesWritten } = await fh.write(bytes, done, len)
    done += bytesWritten
  }
}
