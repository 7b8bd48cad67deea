// The BERT basic tokenizer (HF's BertNormalizer + BertPreTokenizer) as one pass over UTF-16 code units:
//   clean (drop control/format/unassigned characters, whitespace → space) → isolate CJK ideographs →
//   [uncased] NFD, drop accents (Mn), lower-case → split on whitespace and punctuation.
// Subclasses receive the pieces: a lone character (a CJK ideograph or a punctuation mark), a word (folded
// code points in reused typed arrays, each with the original span it came from), or a special token
// written in the text. Nothing is allocated per character; every span is [start, end) in UTF-16 units
// of the original text.
import { charTables, CJK, FOLD_MULTI, FOLD_REMOVED, PUNCT, SKIP, SPACE, type CharTables } from './unicode'
import { SPECIAL_TOKENS } from './vocab'

export interface PreTokenizerOptions {
  /** Lower-case and strip accents (HF do_lower_case); false = cased. Default true. */
  lowercase?: boolean
  /** Keep [CLS], [SEP], [PAD], [UNK], [MASK] written in the text as single tokens. Default true. */
  specialTokensInText?: boolean
  /** Words longer than this many code points are passed on truncated (their full count still given). */
  wordCapacity?: number
}

const BMP = 0x10000

export abstract class PreTokenizer {
  readonly lowercase: boolean
  protected readonly tables: CharTables
  protected readonly specialTexts: readonly string[]
  // the current word: folded code points and the original span of each
  protected readonly wordCapacity: number
  protected readonly wordCps: Int32Array
  protected readonly wordStarts: Int32Array
  protected readonly wordEnds: Int32Array
  private wordLen = 0
  /** Code points of the current word, counted past the buffer. */
  private wordCount = 0

  constructor(options: PreTokenizerOptions = {}) {
    this.lowercase = options.lowercase ?? true
    this.specialTexts = options.specialTokensInText === false ? [] : SPECIAL_TOKENS
    this.wordCapacity = options.wordCapacity ?? 1024
    this.wordCps = new Int32Array(this.wordCapacity)
    this.wordStarts = new Int32Array(this.wordCapacity)
    this.wordEnds = new Int32Array(this.wordCapacity)
    this.tables = charTables()
  }

  /** A CJK ideograph or a punctuation mark (folded), alone. */
  protected abstract onChar(cp: number, start: number, end: number): void
  /** A word: `len` code points in wordCps/wordStarts/wordEnds; `count` ≥ len when it overflowed. */
  protected abstract onWord(len: number, count: number): void
  /** One of SPECIAL_TOKENS (by index) written literally in the text. */
  protected abstract onSpecial(index: number, start: number, end: number): void

  /** The hot loop. */
  protected split(text: string): void {
    const { cls: classes, fold } = this.tables
    const tables = this.tables
    const lowercase = this.lowercase
    const hasSpecials = this.specialTexts.length > 0
    const n = text.length
    this.wordLen = 0
    this.wordCount = 0
    let i = 0
    while (i < n) {
      let cp = text.charCodeAt(i)
      let end = i + 1
      if (cp >= 0xd800 && cp < 0xdc00 && end < n) {
        const lo = text.charCodeAt(end)
        if (lo >= 0xdc00 && lo < 0xe000) {
          cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + BMP
          end++
        }
      }
      if (cp === 0x5b && hasSpecials) {
        const special = this.matchSpecial(text, i)
        if (special >= 0) {
          this.flushWord()
          const len = this.specialTexts[special].length
          this.onSpecial(special, i, i + len)
          i += len
          continue
        }
      }
      const c = cp < BMP ? classes[cp] : tables.classOf(cp)
      if (c === SKIP) {
        // removed by cleaning: the characters around it join ("zero\u200bwidth" is one word)
      } else if (c === SPACE) {
        this.flushWord()
      } else if (c === CJK) {
        this.flushWord()
        const f = lowercase ? (cp < BMP ? fold[cp] : FOLD_MULTI) : cp
        if (f >= 0) this.onChar(f, i, end) // the common case: one ideograph, one token
        else {
          const folded = this.tables.foldSlow(cp) // astral, or a compatibility ideograph
          if (folded.length === 1) this.onChar(folded[0], i, end)
          else {
            this.appendFolded(cp, i, end)
            this.flushWord()
          }
        }
      } else if (!lowercase) {
        if (c === PUNCT) this.emitPunct(cp, i, end)
        else this.appendCp(cp, i, end)
      } else {
        const f = cp < BMP ? fold[cp] : FOLD_MULTI
        if (f >= 0) {
          if ((f < BMP ? classes[f] : tables.classOf(f)) === PUNCT) this.emitPunct(f, i, end)
          else this.appendCp(f, i, end)
        } else if (f !== FOLD_REMOVED) this.appendFolded(cp, i, end)
      }
      i = end
    }
    this.flushWord()
  }

  /** The text as the splitter sees it (cleaned, whitespace as spaces, folded when uncased). */
  normalize(text: string): string {
    let out = ''
    for (const ch of text) {
      const cp = ch.codePointAt(0)!
      const c = this.tables.classOf(cp)
      if (c === SKIP) continue
      if (c === SPACE) out += ' '
      else if (!this.lowercase) out += ch
      else {
        const f = cp < BMP ? this.tables.fold[cp] : FOLD_MULTI
        if (f >= 0) out += String.fromCodePoint(f)
        else if (f !== FOLD_REMOVED) out += String.fromCodePoint(...this.tables.foldSlow(cp))
      }
    }
    return out
  }

  private matchSpecial(text: string, i: number): number {
    for (let s = 0; s < this.specialTexts.length; s++) if (text.startsWith(this.specialTexts[s], i)) return s
    return -1
  }

  private appendCp(cp: number, start: number, end: number): void {
    if (this.wordLen < this.wordCapacity) {
      this.wordCps[this.wordLen] = cp
      this.wordStarts[this.wordLen] = start
      this.wordEnds[this.wordLen] = end
      this.wordLen++
    } else this.wordEnds[this.wordCapacity - 1] = end
    this.wordCount++
  }

  /** A character whose fold is several code points (or astral): each one is split off or appended. */
  private appendFolded(cp: number, start: number, end: number): void {
    const folded = this.tables.foldSlow(cp)
    for (let k = 0; k < folded.length; k++) {
      const f = folded[k]
      if (this.tables.classOf(f) === PUNCT) this.emitPunct(f, start, end)
      else this.appendCp(f, start, end)
    }
  }

  private emitPunct(cp: number, start: number, end: number): void {
    this.flushWord()
    this.onChar(cp, start, end)
  }

  private flushWord(): void {
    const len = this.wordLen
    if (len === 0) return
    const count = this.wordCount
    this.wordLen = 0
    this.wordCount = 0
    this.onWord(len, count)
  }
}
