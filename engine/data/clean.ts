// Text cleaning for imported corpora, and Chinese sentence splitting.
import * as OpenCC from 'opencc-js'

export interface CleanOptions {
  /** Traditional → simplified (OpenCC, Hong Kong/Taiwan/standard traditional forms to mainland). */
  t2s: boolean
  /** Full-width ASCII forms (Ａ-Ｚ, ０-９, ＃ …) and the ideographic space to their half-width forms. */
  halfwidth: boolean
  /**
   * Also remove SGR colour codes whose ESC was already lost (`[33m`, `[m`): set per file, only when the
   * file shows that pattern (sgrResidueIn), since a bracket, digits and `m` can be ordinary text.
   */
  sgrResidue?: boolean
}

/** What cleaning removed, for the file's import report. */
export interface CleanCounts {
  /** Whole terminal escape sequences (ECMA-48 CSI, OSC and other strings; SGR residue). */
  escapeSequences: number
  /** Other control and invisible characters. */
  controlCharacters: number
}

export type Cleaner = ((text: string) => string) & { readonly counts: CleanCounts }

// C0/C1 controls except tab and newline, zero-width and bidi marks, BOMs, and the replacement character's
// neighbours that editors leave behind. U+FFFD itself is kept: it marks counted undecodable bytes.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g
// ECMA-48 escape sequences, removed whole before the controls (else `ESC[33m` leaves `[33m` behind):
// CSI (ESC [ or U+009B, parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, one final byte 0x40-0x7E);
// control strings (OSC ESC ], DCS ESC P, SOS ESC X, PM ESC ^, APC ESC _, or their C1 forms) up to BEL or
// ST (ESC \ or U+009C), at most 4096 characters; any other ESC, intermediates, final byte (ESC ( B …);
// and a colour code whose ESC was printed in caret notation (`^[[32m`, as `cat -v` shows it).
const ESCAPE =
  /\^\[\[[0-9;]{0,16}m|(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c]{0,4096}(?:\u0007|\u001b\\|\u009c)|\u001b[ -/]*[0-~]/g
// Select Graphic Rendition codes whose ESC an earlier tool stripped: `[33m`, `[35;1m`, `[m`, `[;m`.
const SGR_RESIDUE = /(?<!\u001b)\[[0-9;]{0,16}m/g
const SGR_RESET = /(?<!\u001b)\[(?:0?|;)m/
const SPACES = /[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+/g
const NEWLINES = /\s*\n\s*/g

// Chinese punctuation keeps its full-width form: sentence splitting and every Chinese tokenizer expect it.
const KEEP_FULLWIDTH = new Set(['，', '！', '？', '；', '：', '（', '）'])

let toSimplified: ((s: string) => string) | null = null

export function makeCleaner(options: CleanOptions): Cleaner {
  if (options.t2s) toSimplified ??= OpenCC.Converter({ from: 't', to: 'cn' })
  const t2s = options.t2s ? toSimplified : null
  const counts: CleanCounts = { escapeSequences: 0, controlCharacters: 0 }
  const dropEscape = () => {
    counts.escapeSequences++
    return ''
  }
  const dropControl = () => {
    counts.controlCharacters++
    return ''
  }
  const clean = (text: string) => {
    let s = text
    if (/[\u001b\u0090-\u009f]|\^\[\[/.test(s)) s = s.replace(ESCAPE, dropEscape)
    if (options.sgrResidue && s.includes('m')) s = s.replace(SGR_RESIDUE, dropEscape)
    s = s.replace(CONTROL, dropControl)
    if (options.halfwidth) s = toHalfwidth(s)
    s = s.replace(SPACES, ' ')
    if (s.includes('\n')) s = s.replace(NEWLINES, '\n')
    s = s.trim()
    if (t2s) s = t2s(s)
    return s
  }
  return Object.assign(clean, { counts })
}

/**
 * Whether a file's sample shows colour codes that lost their ESC: several SGR-shaped `[…m`, a reset
 * (`[m`, `[0m`, `[;m`) among them, as terminal output piped through a tool that drops controls leaves.
 */
export function sgrResidueIn(sample: string): boolean {
  const found = sample.match(SGR_RESIDUE)
  return found !== null && found.length >= 3 && found.some((m) => SGR_RESET.test(m))
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
