// Text cleaning for imported corpora, and Chinese sentence splitting.
import * as OpenCC from 'opencc-js'

export interface CleanOptions {
  /** Traditional → simplified (OpenCC, Hong Kong/Taiwan/standard traditional forms to mainland). */
  t2s: boolean
  /** Full-width ASCII forms (Ａ-Ｚ, ０-９, ＃ …) and the ideographic space to their half-width forms. */
  halfwidth: boolean
}

// C0/C1 controls except tab and newline, zero-width and bidi marks, BOMs, and the replacement character's
// neighbours that editors leave behind. U+FFFD itself is kept: it marks counted undecodable bytes.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g
const SPACES = /[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+/g
const NEWLINES = /\s*\n\s*/g

// Chinese punctuation keeps its full-width form: sentence splitting and every Chinese tokenizer expect it.
const KEEP_FULLWIDTH = new Set(['，', '！', '？', '；', '：', '（', '）'])

let toSimplified: ((s: string) => string) | null = null

export function makeCleaner(options: CleanOptions): (text: string) => string {
  if (options.t2s) toSimplified ??= OpenCC.Converter({ from: 't', to: 'cn' })
  const t2s = options.t2s ? toSimplified : null
  return (text) => {
    let s = text.replace(CONTROL, '')
    if (options.halfwidth) s = toHalfwidth(s)
    s = s.replace(SPACES, ' ')
    if (s.includes('\n')) s = s.replace(NEWLINES, '\n')
    s = s.trim()
    if (t2s) s = t2s(s)
    return s
  }
}

export function toHalfwidth(s: string): string {
  return s.replace(/[\uff01-\uff5e\u3000]/g, (ch) => {
    if (ch === '\u3000') return ' '
    if (KEEP_FULLWIDTH.has(ch)) return ch
    return String.fromCharCode(ch.charCodeAt(0) - 0xfee0)
  })
}

// A sentence ends at 。！？；!? or an ellipsis (… ……), plus any closing quotes and brackets that follow.
const SENTENCE = /[^。！？；!?…\n]*(?:[。！？；!?]+|…+)[”’」』）)》〉"'】]*|[^。！？；!?…\n]+/g

export function splitSentences(text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(SENTENCE)) {
    const s = m[0].trim()
    if (s !== '') out.push(s)
  }
  return out
}

// Character classes for countSentences: 1 = 。！？；!? 2 = … 4 = a closing quote or bracket.
export const SENTENCE_CLASS = new Uint8Array(0x10000)
const CLASS = SENTENCE_CLASS
for (const c of '。！？；!?') CLASS[c.charCodeAt(0)] = 1
CLASS[0x2026] = 2
for (const c of '”’」』）)》〉"\'】') CLASS[c.charCodeAt(0)] = 4

/** splitSentences(text).length without building the sentences (the statistics' hot loop). */
export function countSentences(text: string): number {
  let n = 0
  let content = false // the current sentence has a non-space character
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    const cls = CLASS[c]
    if (cls === 1 || cls === 2) {
      // a run of 。！？；!? or a run of …, as the regex in splitSentences takes them
      while (i < text.length && CLASS[text.charCodeAt(i)] === cls) i++
      while (i < text.length && CLASS[text.charCodeAt(i)] === 4) i++
      n++
      content = false
      continue
    }
    if (c === 10) {
      if (content) n++
      content = false
    } else if (c !== 32 && c !== 9 && c !== 13) content = true
    i++
  }
  return content ? n + 1 : n
}
