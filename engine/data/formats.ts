// Lines to raw items (a string or a parsed JSON value), per format. A bad line or element becomes an
// error item with its line number; the reader goes on. Only structural damage (a JSON document that ends
// early) stops a file.
import type { Format } from './types'

export { FORMATS, type Format } from './types'

export interface RawItem {
  line: number
  value?: unknown
  error?: string
}

const MAX_PARAGRAPH_CHARS = 1 << 20
const MAX_ELEMENT_CHARS = 64 * 2 ** 20

// A line holding only a short run of one delimiter character: `%` (fortune files), `%%`, `---`, `***`, `===`.
const SEPARATOR_LINE = /^([%#*=~_+\-])\1{0,3}$/

/**
 * The separator line of a record file: the commonest lone-delimiter line when it dominates the sample,
 * else null. `%` and `%%` (fortune and refer files) hardly ever stand alone in prose: 3 of them and one in
 * 100 non-blank lines suffice (fortunes-zh's `chinese` has long entries: one `%` in 22 lines). Other
 * delimiters (`---`, `***`) also rule Markdown and plain-text layouts: one in 20 lines.
 */
export function detectSeparator(lines: string[]): string | null {
  const counts = new Map<string, number>()
  let nonBlank = 0
  for (const l of lines) {
    const t = l.trim()
    if (t === '') continue
    nonBlank++
    if (SEPARATOR_LINE.test(t)) counts.set(t, (counts.get(t) ?? 0) + 1)
  }
  const [best, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0]
  return n >= 3 && n * (best.startsWith('%') ? 100 : 20) >= nonBlank ? best : null
}

/** Picks the format from the extension and the decoded sample. */
export function detectFormat(ext: string, sampleText: string): { format: Format; evidence: string; separator?: string } {
  const lines = sampleText.split('\n').slice(0, -1) // the last sample line may be cut
  const firstLine = lines.find((l) => l.trim() !== '')?.trim() ?? ''
  const first = (firstLine.startsWith('{') || firstLine.startsWith('[')) ? parsed(firstLine) : undefined
  const firstIsJson = first !== undefined
  // A one-line document like SQuAD's {"version", "data": [...]} holds its records in member arrays.
  const holdsRecords = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).some((m) => Array.isArray(m) && m.some((e) => typeof e === 'object'))
  if (ext === '.jsonl' || ext === '.ndjson') return { format: 'jsonl', evidence: `extension ${ext}` }
  if (ext === '.csv') return { format: 'csv', evidence: 'extension .csv' }
  if (ext === '.tsv') return { format: 'tsv', evidence: 'extension .tsv' }
  if (ext === '.json') {
    return firstIsJson && (lines.filter((l) => l.trim() !== '').length > 1 || (!Array.isArray(first) && !holdsRecords(first)))
      ? { format: 'jsonl', evidence: '.json holding one JSON value per line' }
      : { format: 'json', evidence: 'extension .json' }
  }
  if (firstIsJson && firstLine.startsWith('{')) return { format: 'jsonl', evidence: 'lines are JSON objects' }
  const separator = detectSeparator(lines.slice(0, 2000))
  if (separator !== null) return { format: 'records', evidence: `lines holding only ${JSON.stringify(separator)} separate records`, separator }
  // Text: blank-line-separated paragraphs when non-blank lines come in runs, else one document per line.
  let blank = 0
  let runs = 0
  let inRun = false
  let nonBlank = 0
  for (const l of lines.slice(0, 2000)) {
    if (l.trim() === '') {
      blank++
      inRun = false
    } else {
      nonBlank++
      if (!inRun) runs++
      inRun = true
    }
  }
  if (blank >= 2 && runs > 0 && nonBlank / runs >= 1.5) {
    return { format: 'paragraphs', evidence: `blank lines separate paragraphs of ${(nonBlank / runs).toFixed(1)} lines on average` }
  }
  return { format: 'lines', evidence: 'one document per line' }
}

function parsed(s: string): unknown {
  try {
    return JSON.parse(s) as unknown
  } catch {
    return undefined
  }
}

/**
 * A push parser: lines (or, for JSON documents, decoded chunks) go in, items come out through `emit`.
 * Synchronous on purpose: the importer feeds it a whole decoded chunk at a time, with no await per line.
 */
export interface ItemReader {
  push(text: string): void
  end(): void
}

export function createItemReader(format: Format, emit: (item: RawItem) => void, options: { separator?: string } = {}): ItemReader {
  if (format === 'lines') return lineReader(emit)
  if (format === 'paragraphs') return paragraphReader(emit)
  if (format === 'records') return recordReader(options.separator ?? '%', emit)
  if (format === 'jsonl') return jsonLineReader(emit)
  if (format === 'json') return jsonDocumentReader(emit)
  return delimitedReader(format === 'csv' ? ',' : '\t', emit)
}

function lineReader(emit: (item: RawItem) => void): ItemReader {
  let n = 0
  return {
    push(line) {
      n++
      if (line.trim() !== '') emit({ line: n, value: line })
    },
    end() {},
  }
}

function paragraphReader(emit: (item: RawItem) => void): ItemReader {
  let n = 0
  let start = 0
  let parts: string[] = []
  let size = 0
  const flush = () => {
    if (parts.length > 0) emit({ line: start, value: parts.join('\n') })
    parts = []
    size = 0
  }
  return {
    push(line) {
      n++
      const blank = line.trim() === ''
      if (blank || size > MAX_PARAGRAPH_CHARS) flush()
      if (blank) return
      if (parts.length === 0) start = n
      parts.push(line)
      size += line.length
    },
    end: flush,
  }
}

/** Entries between separator lines, blank lines inside an entry kept; an empty entry is no record. */
function recordReader(separator: string, emit: (item: RawItem) => void): ItemReader {
  let n = 0
  let start = 0
  let parts: string[] = []
  let size = 0
  const flush = () => {
    if (parts.some((p) => p.trim() !== '')) emit({ line: start, value: parts.join('\n') })
    parts = []
    size = 0
  }
  return {
    push(line) {
      n++
      const isSeparator = line.trim() === separator
      if (isSeparator || size > MAX_PARAGRAPH_CHARS) flush()
      if (isSeparator) return
      if (parts.length === 0) start = n
      parts.push(line)
      size += line.length
    },
    end: flush,
  }
}

function jsonLineReader(emit: (item: RawItem) => void): ItemReader {
  let n = 0
  return {
    push(line) {
      n++
      const t = line.trim()
      if (t === '') return
      try {
        emit({ line: n, value: JSON.parse(t) })
      } catch (err) {
        emit({ line: n, error: `invalid JSON: ${(err as Error).message.split('\n')[0]}` })
      }
    },
    end() {},
  }
}

const OPEN_OBJECT = 123 // {
const OPEN_ARRAY = 91 // [

/**
 * A JSON document streamed element by element: the elements of a top-level array, or of the arrays that
 * are members of a top-level object (SQuAD's `{"version": …, "data": [...]}`). One element is held at a
 * time. It takes decoded chunks, not lines: minified JSON may be one huge line.
 */
function jsonDocumentReader(emit: (item: RawItem) => void): ItemReader {
  const stack: number[] = []
  let inString = false
  let escape = false
  let elementDepth = -1 // stack depth of the element's parent while an element is open
  let pieces: string[] = []
  let size = 0
  let elementLine = 0
  let n = 1 // the line at the scan position
  let sawValue = false
  const atRecordParent = () =>
    (stack.length === 1 && stack[0] === OPEN_ARRAY) || (stack.length === 2 && stack[0] === OPEN_OBJECT && stack[1] === OPEN_ARRAY)

  function finish(text: string): void {
    const body = (pieces.join('') + text).trim()
    pieces = []
    size = 0
    elementDepth = -1
    try {
      emit({ line: elementLine, value: JSON.parse(body) })
    } catch (err) {
      emit({ line: elementLine, error: `invalid JSON element: ${(err as Error).message.split('\n')[0]}` })
    }
  }

  return {
    push(chunk) {
      let from = 0 // start of the open element's text in this chunk
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk.charCodeAt(i)
        if (inString) {
          if (escape) escape = false
          else if (c === 92) escape = true
          else if (c === 34) inString = false
          continue
        }
        if (c === 10) {
          n++
          continue
        }
        if (c === 32 || c === 13 || c === 9) continue
        if (elementDepth === stack.length && (c === 44 || c === 93 || c === 125)) {
          // `,` or the parent's closing bracket ends the element
          finish(chunk.slice(from, i))
          if (c === 44) continue
        }
        if (elementDepth === -1 && atRecordParent() && c !== 44 && c !== 93 && c !== 125 && c !== 58) {
          elementDepth = stack.length
          elementLine = n
          from = i
        }
        if (c === 34) inString = true
        else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
          stack.push(c)
          sawValue = true
        } else if (c === 125 || c === 93) {
          const open = stack.pop()
          if (open !== (c === 125 ? OPEN_OBJECT : OPEN_ARRAY)) {
            throw new Error(`JSON structure broken at line ${n}: unexpected ${String.fromCharCode(c)}`)
          }
        } else if (stack.length === 0) {
          sawValue = true
        }
      }
      if (elementDepth !== -1) {
        const rest = chunk.slice(from)
        pieces.push(rest)
        size += rest.length
        if (size > MAX_ELEMENT_CHARS) throw new Error(`JSON element starting at line ${elementLine} is larger than ${MAX_ELEMENT_CHARS} characters`)
      }
    },
    end() {
      if (stack.length > 0 || inString) throw new Error(`JSON ends early at line ${n} (truncated file?)`)
      if (!sawValue) throw new Error('no JSON value in the file')
    },
  }
}

/** CSV/TSV with RFC 4180 quoting (quoted fields may hold delimiters, quotes and newlines). */
function delimitedReader(delimiter: string, emit: (item: RawItem) => void): ItemReader {
  let n = 0
  let header: string[] | null = null
  let first = true
  let pending: string | null = null
  let start = 0
  return {
    push(line) {
      n++
      const record: string = pending === null ? line : `${pending}\n${line}`
      if (pending === null) start = n
      const parsed = parseDelimitedRecord(record, delimiter)
      if (parsed === null) {
        pending = record
        if (pending.length > MAX_ELEMENT_CHARS) throw new Error(`quoted field starting at line ${start} never closes`)
        return
      }
      pending = null
      if (parsed.length === 1 && parsed[0].trim() === '') return
      if (first) {
        first = false
        if (looksLikeHeader(parsed)) {
          header = parsed.map((h) => h.trim())
          return
        }
      }
      const keys = header ?? parsed.map((_, i) => String(i))
      if (header && parsed.length !== header.length) {
        emit({ line: start, error: `${parsed.length} columns where the header has ${header.length}` })
        return
      }
      emit({ line: start, value: Object.fromEntries(parsed.map((v, i) => [keys[i] ?? String(i), v])) })
    },
    end() {
      if (pending !== null) emit({ line: start, error: 'quoted field never closes before the end of the file' })
    },
  }
}

/** Fields of one record, or null when a quoted field continues on the next line. */
export function parseDelimitedRecord(text: string, delimiter: string): string[] | null {
  const fields: string[] = []
  let i = 0
  for (;;) {
    if (text[i] === '"') {
      let value = ''
      i++
      for (;;) {
        const q = text.indexOf('"', i)
        if (q === -1) return null
        value += text.slice(i, q)
        if (text[q + 1] === '"') {
          value += '"'
          i = q + 2
        } else {
          i = q + 1
          break
        }
      }
      const next = text.indexOf(delimiter, i)
      value += next === -1 ? text.slice(i) : text.slice(i, next) // stray characters after the closing quote
      fields.push(value)
      if (next === -1) return fields
      i = next + 1
    } else {
      const next = text.indexOf(delimiter, i)
      fields.push(next === -1 ? text.slice(i) : text.slice(i, next))
      if (next === -1) return fields
      i = next + 1
    }
  }
}

/** A header row: every cell a short identifier-like name, no Han text, no numbers only. */
function looksLikeHeader(cells: string[]): boolean {
  return cells.every((c) => /^[\p{L}_][\p{L}\p{N}_ .-]{0,40}$/u.test(c.trim()) && !/\p{Script=Han}{3,}/u.test(c)) && new Set(cells).size === cells.length
}
