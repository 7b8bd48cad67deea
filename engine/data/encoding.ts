// Encoding detection from a sample of bytes, and streaming decoders that count what they cannot decode.
// Order of evidence: a BOM is certain; a NUL pattern says UTF-16; strictly valid UTF-8 with multi-byte
// sequences is near certain (legacy CJK encodings almost never form valid UTF-8 by accident); otherwise
// GB18030 and Big5 are both tried and scored by how much of the decoded text is common Chinese.
import iconv from 'iconv-lite'
import { COMMON_SIMPLIFIED, COMMON_TRADITIONAL } from './common-hanzi'

import { ENCODINGS, type EncodingName } from './types'

export { ENCODINGS, type EncodingName } from './types'

export interface EncodingGuess {
  encoding: EncodingName
  /** 0..1: 1 for a BOM or valid multi-byte UTF-8; lower when the sample is ambiguous. */
  confidence: number
  bom: boolean
  /** Why we believe it, for the per-file report. */
  evidence: string
}

/** Reasons a byte sample is not text; null when it looks like text. */
export function binaryReason(sample: Buffer): string | null {
  for (const [magic, what] of MAGIC) if (sample.subarray(0, magic.length).equals(magic)) return `binary file (${what})`
  if (sample.length === 0) return null
  if (utf16Bom(sample)) return null
  if (utf16Pattern(sample)) return null
  if (utf16ByContent(sample)) return null
  let nul = 0
  let control = 0
  for (const b of sample) {
    if (b === 0) nul++
    else if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) control++
  }
  if (nul > 0) return `binary file (${nul} NUL bytes in the first ${sample.length} bytes)`
  if (control / sample.length > 0.1) return `binary file (${control} control bytes in the first ${sample.length} bytes)`
  return null
}

const MAGIC: [Buffer, string][] = [
  [Buffer.from('89504e470d0a1a0a', 'hex'), 'PNG image'],
  [Buffer.from('ffd8ff', 'hex'), 'JPEG image'],
  [Buffer.from('GIF8'), 'GIF image'],
  [Buffer.from('%PDF-'), 'PDF document'],
  [Buffer.from('7f454c46', 'hex'), 'ELF executable'],
  [Buffer.from('4d5a', 'hex'), 'Windows executable'],
  [Buffer.from('SQLite format 3\0'), 'SQLite database'],
  [Buffer.from('d0cf11e0a1b11ae1', 'hex'), 'OLE document (old Word/Excel)'],
  [Buffer.from('377abcaf271c', 'hex'), '7-Zip archive'],
  [Buffer.from('Rar!'), 'RAR archive'],
  [Buffer.from('425a68', 'hex'), 'bzip2 archive'],
  [Buffer.from('fd377a585a00', 'hex'), 'xz archive'],
]

function utf16Bom(sample: Buffer): EncodingName | null {
  if (sample[0] === 0xff && sample[1] === 0xfe) return 'utf-16le'
  if (sample[0] === 0xfe && sample[1] === 0xff) return 'utf-16be'
  return null
}

/** UTF-16 without a BOM: ASCII text leaves NULs on one side of each code unit. */
function utf16Pattern(sample: Buffer): EncodingName | null {
  const n = sample.length - (sample.length % 2)
  if (n < 8) return null
  let evenNul = 0
  let oddNul = 0
  for (let i = 0; i < n; i += 2) {
    if (sample[i] === 0) evenNul++
    if (sample[i + 1] === 0) oddNul++
  }
  const units = n / 2
  if (oddNul / units > 0.3 && evenNul / units < 0.05) return 'utf-16le'
  if (evenNul / units > 0.3 && oddNul / units < 0.05) return 'utf-16be'
  return null
}

/** UTF-16 without a BOM and with little ASCII (Chinese text): the decoding that reads as common Chinese. */
function utf16ByContent(sample: Buffer): EncodingName | null {
  const head = sample.subarray(0, Math.min(sample.length, 8192) & ~1)
  if (head.length < 8) return null
  const le = chineseScore(iconv.decode(head, 'utf16le')).score
  const be = chineseScore(iconv.decode(head, 'utf16be')).score
  if (le > 0.5 && le > be) return 'utf-16le'
  if (be > 0.5 && be > le) return 'utf-16be'
  return null
}

/** Strict UTF-8 check; a sequence cut by the end of the sample is allowed. Counts multi-byte sequences. */
export function utf8Validity(sample: Buffer): { valid: boolean; multiByte: number } {
  let multiByte = 0
  let i = 0
  const n = sample.length
  while (i < n) {
    const b = sample[i]
    if (b < 0x80) {
      i++
      continue
    }
    let len: number
    let min: number
    if (b >= 0xc2 && b <= 0xdf) (len = 2), (min = 0x80)
    else if (b >= 0xe0 && b <= 0xef) (len = 3), (min = 0x800)
    else if (b >= 0xf0 && b <= 0xf4) (len = 4), (min = 0x10000)
    else return { valid: false, multiByte }
    if (i + len > n) {
      for (let k = i + 1; k < n; k++) if ((sample[k] & 0xc0) !== 0x80) return { valid: false, multiByte }
      break // cut at the end of the sample
    }
    let cp = b & (0xff >> (len + 1))
    for (let k = 1; k < len; k++) {
      const c = sample[i + k]
      if ((c & 0xc0) !== 0x80) return { valid: false, multiByte }
      cp = (cp << 6) | (c & 0x3f)
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { valid: false, multiByte }
    multiByte++
    i += len
  }
  return { valid: true, multiByte }
}

let commonSet: Set<number> | null = null
function common(): Set<number> {
  commonSet ??= new Set([...COMMON_SIMPLIFIED, ...COMMON_TRADITIONAL].map((c) => c.codePointAt(0)!))
  return commonSet
}

/** How plausible a decoding is as Chinese text: share of common Han characters, minus undecodable ones. */
function chineseScore(text: string): { score: number; replacements: number } {
  const set = common()
  let nonAscii = 0
  let good = 0
  let replacements = 0
  for (const ch of text) {
    const cp = ch.codePointAt(0)!
    if (cp < 0x80) continue
    nonAscii++
    if (cp === 0xfffd) replacements++
    else if (set.has(cp) || (cp >= 0x3000 && cp <= 0x303f) || (cp >= 0xff00 && cp <= 0xffef)) good++
  }
  if (nonAscii === 0) return { score: 0, replacements }
  return { score: (good - 3 * replacements) / nonAscii, replacements }
}

export function detectEncoding(sample: Buffer): EncodingGuess {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) {
    return { encoding: 'utf-8', confidence: 1, bom: true, evidence: 'UTF-8 byte order mark' }
  }
  const bom16 = utf16Bom(sample)
  if (bom16) return { encoding: bom16, confidence: 1, bom: true, evidence: 'UTF-16 byte order mark' }
  const pattern16 = utf16Pattern(sample)
  if (pattern16) return { encoding: pattern16, confidence: 0.8, bom: false, evidence: 'NUL bytes alternate like UTF-16' }
  const utf8 = utf8Validity(sample)
  if (utf8.valid) {
    return utf8.multiByte > 0
      ? { encoding: 'utf-8', confidence: utf8.multiByte >= 8 ? 1 : 0.9, bom: false, evidence: `valid UTF-8 (${utf8.multiByte} multi-byte sequences)` }
      : { encoding: 'utf-8', confidence: 1, bom: false, evidence: 'ASCII only' }
  }
  const content16 = utf16ByContent(sample)
  if (content16) return { encoding: content16, confidence: 0.7, bom: false, evidence: 'reads as common Chinese in UTF-16 (no BOM)' }
  // Legacy CJK: drop a possibly cut last character so it does not count as undecodable.
  const candidates = (['gb18030', 'big5'] as const).map((encoding) => {
    const { score, replacements } = chineseScore(iconv.decode(sample.subarray(0, Math.max(0, sample.length - 1)), encoding))
    return { encoding, score, replacements }
  })
  candidates.sort((a, b) => b.score - a.score)
  const [best, second] = candidates
  const margin = Math.max(0, best.score - Math.max(0, second.score))
  const confidence = Math.max(0.05, Math.min(0.99, 0.5 * Math.max(0, best.score) + 0.5 * margin))
  return {
    encoding: best.encoding,
    confidence: Number(confidence.toFixed(2)),
    bom: false,
    evidence: `not UTF-8; ${best.encoding} reads ${(Math.max(0, best.score) * 100).toFixed(0)}% common Chinese, ${second.encoding} ${(Math.max(0, second.score) * 100).toFixed(0)}%`,
  }
}

/** A streaming decoder: bytes in, text out; counts the characters it could not decode (U+FFFD it produced). */
export class Decoder {
  private readonly inner: { write(buf: Buffer): string; end(): string | undefined }
  undecodable = 0

  constructor(readonly encoding: EncodingName) {
    if (encoding === 'utf-8') {
      // The WHATWG decoder is about twice as fast as iconv-lite's for UTF-8; it strips the BOM too.
      const d = new TextDecoder('utf-8')
      this.inner = { write: (buf) => d.decode(buf, { stream: true }), end: () => d.decode() }
      return
    }
    const name = encoding === 'utf-16le' ? 'utf16le' : encoding === 'utf-16be' ? 'utf16be' : encoding
    this.inner = iconv.getDecoder(name, { stripBOM: true })
  }

  write(chunk: Buffer): string {
    return this.count(this.inner.write(chunk))
  }

  end(): string {
    return this.count(this.inner.end() ?? '')
  }

  private count(text: string): string {
    let from = text.indexOf('\ufffd')
    while (from !== -1) {
      this.undecodable++
      from = text.indexOf('\ufffd', from + 1)
    }
    return text
  }
}

export function isEncodingName(name: string): name is EncodingName {
  return (ENCODINGS as readonly string[]).includes(name)
}

/** Accepts the usual spellings: utf8, UTF-16LE, gbk (read as its superset GB18030), big-5. */
export function parseEncodingName(name: string): EncodingName | null {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '')
  const table: Record<string, EncodingName> = {
    utf8: 'utf-8',
    utf8bom: 'utf-8',
    utf16le: 'utf-16le',
    utf16: 'utf-16le',
    utf16be: 'utf-16be',
    gb18030: 'gb18030',
    gbk: 'gb18030',
    gb2312: 'gb18030',
    cp936: 'gb18030',
    big5: 'big5',
    big5hkscs: 'big5',
    cp950: 'big5',
  }
  return table[n] ?? null
}
