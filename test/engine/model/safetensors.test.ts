import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  readSafetensors,
  readSafetensorsHeader,
  toInt32,
  writeSafetensors,
  type TensorToWrite,
} from '../../../engine/model/safetensors'
import { WorkbenchError } from '../../../engine/errors'

const FIXTURE = join(__dirname, '../../fixtures/hf-bert-tiny')
const dir = mkdtempSync(join(tmpdir(), 'mengzi-st-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A file from a raw header object and data bytes, for malformed cases. */
function rawFile(name: string, header: unknown, data: Uint8Array, lengthOverride?: bigint): string {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header))
  const len = new Uint8Array(8)
  new DataView(len.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true)
  const path = join(dir, name)
  writeFileSync(path, Buffer.concat([len, json, data]))
  return path
}

async function refusal(path: string): Promise<WorkbenchError> {
  try {
    await readSafetensors(path)
  } catch (e) {
    expect(e).toBeInstanceOf(WorkbenchError)
    return e as WorkbenchError
  }
  throw new Error(`${path} was accepted`)
}

function seededFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n)
  let s = seed
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0
    out[i] = ((s / 2 ** 32) * 2 - 1) * 10 ** ((i % 7) - 3)
  }
  return out
}

describe('safetensors round trip', () => {
  it('keeps F32, I32 and I64 exactly, with metadata and shapes', async () => {
    const tensors = new Map<string, TensorToWrite>([
      ['a.weight', { dtype: 'F32', shape: [3, 5], data: seededFloats(15, 1) }],
      ['ids', { dtype: 'I32', shape: [2, 3], data: Int32Array.from([0, -1, 2147483647, -2147483648, 5, 6]) }],
      ['big', { dtype: 'I64', shape: [3], data: BigInt64Array.from([1n, -(2n ** 62n), 2n ** 40n]) }],
      ['from32', { dtype: 'I64', shape: [2], data: Int32Array.from([7, -8]) }],
      ['scalar', { dtype: 'F32', shape: [], data: Float32Array.from([Math.PI]) }],
      ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
    ])
    const path = join(dir, 'rt.safetensors')
    await writeSafetensors(path, tensors, { format: 'pt', note: '孟子' })
    const back = await readSafetensors(path)
    expect([...back.keys()]).toEqual([...tensors.keys()])
    for (const [name, t] of tensors) {
      const r = back.get(name)!
      expect(r.dtype).toBe(t.dtype)
      expect(r.shape).toEqual(t.shape)
      if (name === 'from32') expect([...r.data]).toEqual([7n, -8n])
      else expect(r.data).toEqual(t.data)
    }
    expect(toInt32('from32', back.get('from32')!)).toEqual(Int32Array.from([7, -8]))
    expect(() => toInt32('big', back.get('big')!)).toThrow(/does not fit in int32/)
    expect((await readSafetensorsHeader(path)).metadata).toEqual({ format: 'pt', note: '孟子' })
    // header padded to 8 bytes so tensor data is aligned
    expect(Number(readFileSync(path).readBigUInt64LE(0)) % 8).toBe(0)
    // no temp file left behind
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([])
  })

  it('narrows F16 and BF16 with round-to-nearest-even and widens them back', async () => {
    const values = seededFloats(1000, 7)
    values.set([0, -0, 1, -2.5, 65504, 65520, 1e-8, 2 ** -24, Infinity, -Infinity, NaN], 0)
    const path = join(dir, 'half.safetensors')
    await writeSafetensors(path, {
      h: { dtype: 'F16', shape: [values.length], data: values },
      b: { dtype: 'BF16', shape: [values.length], data: values },
    })
    const back = await readSafetensors(path)
    const h = back.get('h')!.data as Float32Array
    const b = back.get('b')!.data as Float32Array
    expect(h).toBeInstanceOf(Float32Array)
    expect([...h.slice(0, 11)]).toEqual([0, -0, 1, -2.5, 65504, Infinity, 0, 2 ** -24, Infinity, -Infinity, NaN])
    for (let i = 11; i < values.length; i++) {
      const v = values[i]
      // relative error of half is ≤ 2^-11 for normals; absolute 2^-25 in the subnormal range
      expect(Math.abs(h[i] - v)).toBeLessThanOrEqual(Math.max(Math.abs(v) * 2 ** -11, 2 ** -25))
      expect(Math.abs(b[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -8)
    }
  })

  it('encodes every half and bfloat16 bit pattern back to itself', () => {
    const wrong: string[] = []
    for (let bits = 0; bits < 0x10000; bits++) {
      const isNaN16 = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0
      if (isNaN16 ? !Number.isNaN(f16ToF32(bits)) : f32ToF16(f16ToF32(bits)) !== bits) wrong.push(`f16 ${bits}`)
      const isNaNb = (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0
      if (isNaNb ? !Number.isNaN(bf16ToF32(bits)) : f32ToBf16(bf16ToF32(bits)) !== bits) wrong.push(`bf16 ${bits}`)
    }
    expect(wrong).toEqual([])
    // ties go to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00)
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02)
  })
})

describe('safetensors refuses malformed files with a reason', () => {
  const f32x2 = new Uint8Array(8)
  it('truncated files', async () => {
    writeFileSync(join(dir, 'short'), Buffer.from([1, 2, 3]))
    expect((await refusal(join(dir, 'short'))).message).toMatch(/truncated file \(3 bytes\)/)
    const p = rawFile('trunc-header', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32x2, 10_000n)
    expect((await refusal(p)).message).toMatch(/truncated file: header length 10000/)
    const big = rawFile('huge-header', {}, new Uint8Array(0), 2n ** 40n)
    expect((await refusal(big)).message).toMatch(/exceeds the 100000000-byte limit/)
    const missing = rawFile('trunc-data', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32x2)
    expect((await refusal(missing)).message).toMatch(/beyond the data section \(8 bytes\)/)
  })

  it('bad JSON and bad shapes of JSON', async () => {
    expect((await refusal(rawFile('nojson', '{"a":', f32x2))).message).toMatch(/not valid JSON/)
    expect((await refusal(rawFile('array', [1, 2], new Uint8Array(0)))).message).toMatch(/must be a JSON object, got an array/)
    expect((await refusal(rawFile('meta', { __metadata__: { k: 3 } }, new Uint8Array(0)))).message).toMatch(/__metadata__.k must be a string, got 3/)
    const noShape = rawFile('noshape', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 8] } }, f32x2)
    expect((await refusal(noShape)).message).toMatch(/"a" shape must be an array of non-negative integers, got \[-1\]/)
    const noOffsets = rawFile('nooff', { a: { dtype: 'F32', shape: [2], data_offsets: [0] } }, f32x2)
    expect((await refusal(noOffsets)).message).toMatch(/data_offsets must be \[begin, end\]/)
  })

  it('offsets out of range, overlapping or leaving gaps', async () => {
    const out = rawFile('oor', { a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, f32x2)
    expect((await refusal(out)).message).toMatch(/"a" data_offsets \[8, 16\] beyond the data section/)
    const overlap = rawFile(
      'overlap',
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
      new Uint8Array(12),
    )
    expect((await refusal(overlap)).message).toMatch(/"b" bytes \[4, 12\) overlap tensor "a"/)
    const gap = rawFile('gap', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32x2)
    expect((await refusal(gap)).message).toMatch(/gap of 4 bytes before tensor "a"/)
    const tail = rawFile('tail', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32x2)
    expect((await refusal(tail)).message).toMatch(/data section has 8 bytes but tensors cover 4/)
  })

  it('unknown dtypes by name, and byte lengths that contradict the shape', async () => {
    const bad = await refusal(rawFile('f64', { w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, f32x2))
    expect(bad.code).toBe('UNSUPPORTED')
    expect(bad.message).toMatch(/"w" has dtype "F64"; supported: F32, F16, BF16, I32, I64/)
    const size = await refusal(rawFile('size', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32x2))
    expect(size.code).toBe('CORRUPT')
    expect(size.message).toMatch(/"w" F32\[3\] needs 12 bytes but data_offsets \[0, 8\] hold 8/)
  })

  it('refuses to write data that does not match its dtype or shape', async () => {
    const p = join(dir, 'nope.safetensors')
    await expect(writeSafetensors(p, { a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).rejects.toThrow(/needs 3 values, got 2/)
    await expect(writeSafetensors(p, { a: { dtype: 'I32', shape: [1], data: new Float32Array(1) } })).rejects.toThrow(/cannot be written from a Float32Array/)
    await expect(writeSafetensors(p, { a: { dtype: 'F64' as 'F32', shape: [1], data: new Float32Array(1) } })).rejects.toThrow(/dtype "F64"/)
  })
})

describe('safetensors reads the HuggingFace fixture', () => {
  it('model.safetensors as saved by save_pretrained', async () => {
    const config = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8'))
    const header = await readSafetensorsHeader(join(FIXTURE, 'model.safetensors'))
    expect(header.metadata).toEqual({ format: 'pt' })
    const model = await readSafetensors(join(FIXTURE, 'model.safetensors'))
    expect(model.size).toBe(header.entries.length)
    const word = model.get('bert.embeddings.word_embeddings.weight')!
    expect(word.shape).toEqual([config.vocab_size, config.hidden_size])
    expect(word.data).toBeInstanceOf(Float32Array)
    // the bytes we return are the bytes in the file at the header's offsets
    const raw = readFileSync(join(FIXTURE, 'model.safetensors'))
    const e = header.entries.find((x) => x.name === 'bert.embeddings.word_embeddings.weight')!
    const fromFile = new Float32Array(raw.buffer.slice(raw.byteOffset + header.dataStart + e.begin, raw.byteOffset + header.dataStart + e.end))
    expect(word.data).toEqual(fromFile)
    const only = await readSafetensors(join(FIXTURE, 'model.safetensors'), { only: (n) => n.startsWith('cls.') })
    expect([...only.keys()].every((n) => n.startsWith('cls.'))).toBe(true)
    expect(only.size).toBeGreaterThan(0)
  })

  it('integer inputs of the reference outputs', async () => {
    const out = await readSafetensors(join(FIXTURE, 'reference_outputs.safetensors'))
    const ids = out.get('input_ids')!
    expect(ids.dtype).toBe('I32')
    expect(ids.shape).toEqual(out.get('attention_mask')!.shape)
    expect(Array.from(ids.data as Int32Array).filter((i) => i === 101).length).toBe(ids.shape[0]) // one [CLS] per row
  })
})
