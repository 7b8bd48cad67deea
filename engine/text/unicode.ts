// Character tables for the BERT basic tokenizer, precomputed once so that the hot loop reads an array
// instead of running a regex or allocating a string per character. The classes follow HuggingFace's
// BertNormalizer + BertPreTokenizer (the tokenizers library, which `BertTokenizer` runs since
// transformers 5; where the older pure-Python tokenizer differs, the comment says so):
//   - cleaning removes NUL, U+FFFD and the control, format and private-use characters (Cc, Cf, Co) except
//     \t \n \r: zero-width space/joiner, soft hyphen, BOM… Unassigned code points are kept (tokenizers'
//     is_other is Cc|Cf|Co; Python's _is_control also dropped Cn). Lone surrogates are dropped;
//   - \t \n \r and \p{Z} (Zs spaces, line and paragraph separators) separate words;
//   - CJK ideographs are split off one by one: the ranges of tokenizers' is_chinese_char, whose Ext E
//     range starts at U+2B920 (Python's _is_chinese_char: U+2B820);
//   - punctuation (ASCII 33–47, 58–64, 91–96, 123–126 and \p{P}) is split off one by one.

export const OTHER = 0
export const SKIP = 1
export const SPACE = 2
export const CJK = 3
export const PUNCT = 4

/** tokenizers' is_chinese_char ranges: CJK Unified Ideographs, Ext A–F, compatibility ideographs. */
const CJK_RANGES: [number, number][] = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b920, 0x2ceaf], // sic: tokenizers starts Ext E here, Python's BertTokenizer at 0x2b820
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f],
]

const isRemovedCategory = /^[\p{Cc}\p{Cf}\p{Co}]$/u
const isSeparator = /^\p{Z}$/u
const isPunctuation = /^\p{P}$/u
const isNonSpacingMark = /\p{Mn}/gu

function classify(cp: number): number {
  if (cp === 9 || cp === 10 || cp === 13) return SPACE
  if (cp === 0 || cp === 0xfffd) return SKIP
  for (const [lo, hi] of CJK_RANGES) if (cp >= lo && cp <= hi) return CJK
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return PUNCT
  if (cp >= 0xd800 && cp <= 0xdfff) return SKIP // a lone surrogate (category Cs)
  const ch = String.fromCodePoint(cp)
  if (isRemovedCategory.test(ch)) return SKIP
  if (isSeparator.test(ch)) return SPACE
  if (isPunctuation.test(ch)) return PUNCT
  return OTHER
}

/**
 * Lower-casing with accent stripping, per code point as tokenizers does it: NFD, drop \p{Mn}, then
 * lower-case. Returns the code points the character becomes (possibly none).
 */
function foldUncased(cp: number): number[] {
  if (cp >= 0xd800 && cp <= 0xdfff) return [cp]
  const folded = String.fromCodePoint(cp).normalize('NFD').replace(isNonSpacingMark, '').toLowerCase()
  return Array.from(folded, (c) => c.codePointAt(0)!)
}

const BMP = 0x10000
const MULTI = -2
const REMOVED = -1

/**
 * Class of every BMP code point (Uint8Array) and the uncased fold of every BMP code point: `fold[cp]` is
 * the single code point it becomes, REMOVED, or MULTI (then see `foldMulti`). Astral code points are
 * computed on first sight and cached.
 */
class CharTables {
  readonly cls = new Uint8Array(BMP)
  readonly fold = new Int32Array(BMP)
  private readonly foldMulti = new Map<number, Int32Array>()
  private readonly astralCls = new Map<number, number>()
  private readonly astralFold = new Map<number, Int32Array>()

  constructor() {
    for (let cp = 0; cp < BMP; cp++) {
      this.cls[cp] = classify(cp)
      // ASCII and CJK ideographs (all but the compatibility block) fold trivially: skip the string work
      if (cp < 0x80) this.fold[cp] = cp >= 65 && cp <= 90 ? cp + 32 : cp
      else if ((cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff)) this.fold[cp] = cp
      else {
        const f = foldUncased(cp)
        if (f.length === 0) this.fold[cp] = REMOVED
        else if (f.length === 1) this.fold[cp] = f[0]
        else {
          this.fold[cp] = MULTI
          this.foldMulti.set(cp, Int32Array.from(f))
        }
      }
    }
  }

  classOf(cp: number): number {
    if (cp < BMP) return this.cls[cp]
    let c = this.astralCls.get(cp)
    if (c === undefined) this.astralCls.set(cp, (c = classify(cp)))
    return c
  }

  /** The uncased fold of a code point that is not a single-code-point fold (MULTI or astral). */
  foldSlow(cp: number): Int32Array {
    if (cp < BMP) return this.foldMulti.get(cp) ?? EMPTY
    let f = this.astralFold.get(cp)
    if (f === undefined) this.astralFold.set(cp, (f = Int32Array.from(foldUncased(cp))))
    return f
  }
}

const EMPTY = new Int32Array(0)
export const FOLD_MULTI = MULTI
export const FOLD_REMOVED = REMOVED

let tables: CharTables | undefined
/** The shared tables, built on first use (about 30 ms). */
export function charTables(): CharTables {
  return (tables ??= new CharTables())
}
export type { CharTables }
