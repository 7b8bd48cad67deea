// The BERT WordPiece tokenizer, id for id HuggingFace's `BertTokenizer` (transformers 5, i.e. the
// tokenizers BertNormalizer + BertPreTokenizer + WordPiece pipeline): the basic splitting in
// pretokenizer.ts, then WordPiece (longest match first, `##` continuations, a word over 100 code points
// or with an unmatchable rest is one [UNK]). The five special tokens written literally in the text
// ("我[MASK]你") are kept whole, as HF does. Every token keeps the [start, end) UTF-16 offsets of the
// original characters it came from (`text.slice(start, end)`).
import { badInput } from '../errors'
import { PreTokenizer, type PreTokenizerOptions } from './pretokenizer'
import { loadVocab, SPECIAL_TOKENS, Vocab } from './vocab'

export interface TokenizerOptions extends Omit<PreTokenizerOptions, 'wordCapacity'> {
  /** HF max_input_chars_per_word: longer words become one [UNK]. Default 100. */
  maxInputCharsPerWord?: number
}

/** Growable token storage: ids and original-text offsets, reused across calls. */
export class TokenBuffer {
  ids = new Int32Array(256)
  starts = new Int32Array(256)
  ends = new Int32Array(256)
  length = 0

  push(id: number, start: number, end: number): void {
    if (this.length === this.ids.length) this.grow()
    this.ids[this.length] = id
    this.starts[this.length] = start
    this.ends[this.length] = end
    this.length++
  }

  clear(): void {
    this.length = 0
  }

  private grow(): void {
    const size = this.ids.length * 2
    const grown = (a: Int32Array) => {
      const b = new Int32Array(size)
      b.set(a)
      return b
    }
    this.ids = grown(this.ids)
    this.starts = grown(this.starts)
    this.ends = grown(this.ends)
  }
}

export interface Tokenized {
  ids: number[]
  tokens: string[]
  /** [start, end) UTF-16 offsets into the original text. */
  offsets: [number, number][]
}

export interface EncodeOptions {
  /** Truncate (longest first) and pad to this many tokens, as HF's padding="max_length", truncation=True. */
  maxLength?: number
}

export interface Encoding {
  input_ids: number[]
  tokens: string[]
  token_type_ids: number[]
  attention_mask: number[]
  /** Offsets into the sequence's own text; [0, 0] for special and padding tokens. */
  offsets: [number, number][]
  /** 0 or 1 for the sequence a token came from, null for special and padding tokens. */
  sequence_ids: (0 | 1 | null)[]
}

const MAX_WORD = 1024 // word buffer size; a longer word is [UNK] anyway (it is past maxInputCharsPerWord)

export class BertTokenizer extends PreTokenizer {
  readonly maxInputCharsPerWord: number
  readonly pad: number
  readonly unk: number
  readonly cls: number
  readonly sep: number
  readonly mask: number
  private readonly specialIds: number[]
  private readonly scratch = new TokenBuffer()
  /** Where the pieces of the text being tokenized go. */
  private out = this.scratch

  constructor(
    readonly vocab: Vocab,
    options: TokenizerOptions = {},
  ) {
    const maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100
    super({ ...options, wordCapacity: Math.max(MAX_WORD, maxInputCharsPerWord + 1) })
    this.maxInputCharsPerWord = maxInputCharsPerWord
    this.pad = vocab.specialId('[PAD]')
    this.unk = vocab.specialId('[UNK]')
    this.cls = vocab.specialId('[CLS]')
    this.sep = vocab.specialId('[SEP]')
    this.mask = vocab.specialId('[MASK]')
    this.specialIds = SPECIAL_TOKENS.map((t) => vocab.specialId(t))
  }

  static fromFile(vocabFile: string, options: TokenizerOptions = {}): BertTokenizer {
    return new BertTokenizer(loadVocab(vocabFile), options)
  }

  /** Appends the WordPiece tokens of `text` (no [CLS]/[SEP]) to `out`. The hot path. */
  tokenizeInto(text: string, out: TokenBuffer): void {
    this.out = out
    this.split(text)
  }

  /** Tokens of one text without special tokens: ids, token strings and original offsets. */
  tokenize(text: string): Tokenized {
    const buf = this.scratch
    buf.clear()
    this.tokenizeInto(text, buf)
    const ids: number[] = new Array(buf.length)
    const tokens: string[] = new Array(buf.length)
    const offsets: [number, number][] = new Array(buf.length)
    for (let k = 0; k < buf.length; k++) {
      ids[k] = buf.ids[k]
      tokens[k] = this.vocab.tokens[buf.ids[k]]
      offsets[k] = [buf.starts[k], buf.ends[k]]
    }
    return { ids, tokens, offsets }
  }

  /**
   * [CLS] a [SEP] (b [SEP]) with token types, attention mask and offsets; with `maxLength`, truncated
   * longest-first and padded with [PAD] to exactly that length.
   */
  encode(text: string, pair?: string, options: EncodeOptions = {}): Encoding {
    const a = this.tokenize(text)
    const b = pair === undefined ? undefined : this.tokenize(pair)
    const { maxLength } = options
    if (maxLength !== undefined) {
      const added = b ? 3 : 2
      if (!Number.isInteger(maxLength) || maxLength < added) {
        throw badInput(`max length ${maxLength} leaves no room for the ${added} special tokens`)
      }
      const [n1, n2] = truncatedLengths(a.ids.length, b?.ids.length ?? 0, maxLength - added, b !== undefined)
      truncate(a, n1)
      if (b) truncate(b, n2)
    }
    const enc: Encoding = { input_ids: [], tokens: [], token_type_ids: [], attention_mask: [], offsets: [], sequence_ids: [] }
    const push = (id: number, type: number, offset: [number, number], seq: 0 | 1 | null, attend = 1) => {
      enc.input_ids.push(id)
      enc.tokens.push(this.vocab.tokens[id])
      enc.token_type_ids.push(type)
      enc.attention_mask.push(attend)
      enc.offsets.push(offset)
      enc.sequence_ids.push(seq)
    }
    const pushSequence = (t: Tokenized, type: 0 | 1) => {
      for (let k = 0; k < t.ids.length; k++) push(t.ids[k], type, t.offsets[k], type)
      push(this.sep, type, [0, 0], null)
    }
    push(this.cls, 0, [0, 0], null)
    pushSequence(a, 0)
    if (b) pushSequence(b, 1)
    if (maxLength !== undefined) while (enc.input_ids.length < maxLength) push(this.pad, 0, [0, 0], null, 0)
    return enc
  }

  protected onChar(cp: number, start: number, end: number): void {
    const node = this.vocab.child(Vocab.START, cp)
    const id = node < 0 ? -1 : this.vocab.tokenAt(node)
    this.out.push(id < 0 ? this.unk : id, start, end)
  }

  protected onSpecial(index: number, start: number, end: number): void {
    this.out.push(this.specialIds[index], start, end)
  }

  /** WordPiece over the current word: greedy longest match, or one [UNK] for the whole word. */
  protected onWord(len: number, count: number): void {
    const out = this.out
    const starts = this.wordStarts
    const ends = this.wordEnds
    if (count > this.maxInputCharsPerWord) {
      out.push(this.unk, starts[0], ends[len - 1])
      return
    }
    const vocab = this.vocab
    const cps = this.wordCps
    const mark = out.length
    let start = 0
    while (start < len) {
      let node = start === 0 ? Vocab.START : Vocab.CONTINUE
      let bestEnd = -1
      let bestId = -1
      for (let k = start; k < len; k++) {
        node = vocab.child(node, cps[k])
        if (node < 0) break
        const id = vocab.tokenAt(node)
        if (id >= 0) {
          bestEnd = k + 1
          bestId = id
        }
      }
      if (bestEnd < 0) {
        out.length = mark
        out.push(this.unk, starts[0], ends[len - 1])
        return
      }
      out.push(bestId, starts[start], ends[bestEnd - 1])
      start = bestEnd
    }
  }
}

/** HF tokenizers' LongestFirst: the shorter sequence keeps what it can, the longer gets the rest. */
function truncatedLengths(a: number, b: number, budget: number, isPair: boolean): [number, number] {
  if (!isPair) return [Math.min(a, budget), 0]
  if (a + b <= budget) return [a, b]
  const swap = a > b
  let n1 = Math.min(a, b)
  let n2: number
  n2 = n1 > budget ? n1 : Math.max(n1, budget - n1)
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2)
    n2 = n1 + (budget % 2)
  }
  return swap ? [n2, n1] : [n1, n2]
}

function truncate(t: Tokenized, n: number): void {
  if (t.ids.length <= n) return
  t.ids.length = n
  t.tokens.length = n
  t.offsets.length = n
}
