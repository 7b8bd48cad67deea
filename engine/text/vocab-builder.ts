// Builds a vocab.txt in bert-base-chinese's layout from a stream of documents:
//   [PAD]=0, [unused1..99], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103,
//   symbols (ASCII printable, then other punctuation by frequency),
//   Chinese characters by frequency,
//   WordPiece units for the words between them (Latin and other scripts): every character in its
//   start and `##` form, then pieces learnt by BPE merges (what HF's WordPieceTrainer does).
// Text is split exactly as the tokenizer splits it, so every unit counted is a unit it can look up.
import { badInput } from '../errors'
import { PreTokenizer } from './pretokenizer'
import { charTables, CJK } from './unicode'

export interface VocabBuildOptions {
  /** The most entries the vocabulary may have. Default 21128, bert-base-chinese's size. */
  size?: number
  /** Characters and pieces seen fewer times are left out. Default 2. */
  minFrequency?: number
  /**
   * Share of the room after symbols and alphabet reserved for learnt word pieces when Chinese characters
   * would fill it; room the characters leave goes to word pieces too. Default 0.15.
   */
  wordPieceShare?: number
  /** Build for the cased tokenizer (no lower-casing or accent stripping). Default false. */
  cased?: boolean
  /** Called every 1000 documents. */
  onProgress?: (documents: number, characters: number) => void
}

export interface VocabStats {
  size: number
  documents: number
  /** Characters the tokenizer sees (cleaned, whitespace excluded). */
  characters: number
  distinctCharacters: number
  /** Share of `characters` that are in the vocabulary (as a token or in a word's alphabet). */
  characterCoverage: number
  /** Share of CJK character occurrences that are in the vocabulary. */
  cjkCoverage: number
  cjkSeen: number
  cjkKept: number
  symbolsKept: number
  /** Distinct words (non-CJK runs between spaces and punctuation) and the share of occurrences the vocab spells without [UNK]. */
  wordsSeen: number
  wordCoverage: number
  alphabetKept: number
  wordPiecesLearnt: number
}

export interface BuiltVocab {
  tokens: string[]
  stats: VocabStats
}

export const SPECIAL_LAYOUT: readonly string[] = [
  '[PAD]',
  ...Array.from({ length: 99 }, (_, i) => `[unused${i + 1}]`),
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
]

const MAX_WORD_CHARS = 100 // longer words are [UNK] whatever the vocabulary holds
const MAX_BPE_WORDS = 100_000 // the most frequent distinct words take part in BPE

/** Counts what the tokenizer's splitter produces: lone characters, and words with their characters. */
class UnitCounter extends PreTokenizer {
  readonly loneChars = new Map<number, number>()
  readonly wordChars = new Map<number, number>()
  readonly words = new Map<string, number>()
  characters = 0

  constructor(cased: boolean) {
    super({ lowercase: !cased, specialTokensInText: true })
  }

  count(text: string): void {
    this.split(text)
  }

  protected onChar(cp: number): void {
    this.loneChars.set(cp, (this.loneChars.get(cp) ?? 0) + 1)
    this.characters++
  }

  protected onSpecial(): void {}

  protected onWord(len: number, count: number): void {
    this.characters += count
    for (let k = 0; k < len; k++) this.wordChars.set(this.wordCps[k], (this.wordChars.get(this.wordCps[k]) ?? 0) + 1)
    if (count > MAX_WORD_CHARS) return
    const word = String.fromCodePoint(...this.wordCps.subarray(0, len))
    this.words.set(word, (this.words.get(word) ?? 0) + 1)
  }
}

export async function buildVocab(documents: AsyncIterable<string> | Iterable<string>, options: VocabBuildOptions = {}): Promise<BuiltVocab> {
  const size = options.size ?? 21128
  const minFrequency = options.minFrequency ?? 2
  const share = options.wordPieceShare ?? 0.15
  if (!Number.isInteger(size) || size < SPECIAL_LAYOUT.length + 100) throw badInput(`vocab size ${size} is too small: the layout alone needs ${SPECIAL_LAYOUT.length + 100}`)
  if (!(share >= 0 && share <= 1)) throw badInput(`word piece share ${share} is not between 0 and 1`)

  const counter = new UnitCounter(options.cased ?? false)
  let docs = 0
  for await (const doc of documents) {
    counter.count(doc)
    if (++docs % 1000 === 0) options.onProgress?.(docs, counter.characters)
  }

  const tables = charTables()
  const tokens: string[] = [...SPECIAL_LAYOUT]
  const taken = new Set(tokens)
  const add = (t: string) => {
    if (taken.has(t)) return false
    taken.add(t)
    tokens.push(t)
    return true
  }
  const byCount = (m: Map<number, number>) => [...m].filter(([, n]) => n >= minFrequency).sort((a, b) => b[1] - a[1] || a[0] - b[0])

  // symbols: ASCII printable (upper-case letters only when cased), then other lone characters
  for (let cp = 33; cp <= 126; cp++) if (options.cased || cp < 65 || cp > 90) add(String.fromCharCode(cp))
  const lone = byCount(counter.loneChars)
  const cjk = lone.filter(([cp]) => tables.classOf(cp) === CJK)
  let symbolsKept = 0
  for (const [cp] of lone) if (tables.classOf(cp) !== CJK && add(String.fromCodePoint(cp))) symbolsKept++

  // the alphabet of words, in start and ## form
  const alphabet = byCount(counter.wordChars)
  const alphabetSet = new Set<number>()
  for (const [cp] of alphabet) {
    if (tokens.length + 2 > size) break
    const ch = String.fromCodePoint(cp)
    add(ch)
    add(`##${ch}`)
    alphabetSet.add(cp)
  }
  if (tokens.length >= size) throw badInput(`vocab size ${size} is too small for the symbols and alphabet of this text (${tokens.length})`)

  const room = size - tokens.length
  const cjkAtLeast = Math.min(cjk.length, room - Math.floor(room * share))
  const pieces = learnWordPieces(counter.words, alphabetSet, room - cjkAtLeast, minFrequency, taken)
  const cjkKept = Math.min(cjk.length, room - pieces.length)
  for (let k = 0; k < cjkKept; k++) add(String.fromCodePoint(cjk[k][0]))
  for (const p of pieces) add(p)

  // coverage
  let covered = 0
  let cjkTotal = 0
  let cjkCovered = 0
  for (const [cp, n] of counter.loneChars) {
    const inVocab = taken.has(String.fromCodePoint(cp))
    if (inVocab) covered += n
    if (tables.classOf(cp) === CJK) {
      cjkTotal += n
      if (inVocab) cjkCovered += n
    }
  }
  for (const [cp, n] of counter.wordChars) if (alphabetSet.has(cp)) covered += n
  let wordOccurrences = 0
  let wordsSpelled = 0
  for (const [word, n] of counter.words) {
    wordOccurrences += n
    let ok = true
    for (const ch of word) if (!alphabetSet.has(ch.codePointAt(0)!)) ok = false
    if (ok) wordsSpelled += n
  }
  const distinct = new Set([...counter.loneChars.keys(), ...counter.wordChars.keys()])
  return {
    tokens,
    stats: {
      size: tokens.length,
      documents: docs,
      characters: counter.characters,
      distinctCharacters: distinct.size,
      characterCoverage: ratio(covered, counter.characters),
      cjkCoverage: ratio(cjkCovered, cjkTotal),
      cjkSeen: [...counter.loneChars.keys()].filter((cp) => tables.classOf(cp) === CJK).length,
      cjkKept,
      symbolsKept,
      wordsSeen: counter.words.size,
      wordCoverage: ratio(wordsSpelled, wordOccurrences),
      alphabetKept: alphabetSet.size,
      wordPiecesLearnt: pieces.length,
    },
  }
}

const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b)

/**
 * BPE over the word table with `##` continuations, as HF's WordPieceTrainer: start from characters, merge
 * the most frequent adjacent pair until `limit` new pieces or no pair is seen `minFrequency` times.
 */
function learnWordPieces(words: Map<string, number>, alphabet: Set<number>, limit: number, minFrequency: number, taken: Set<string>): string[] {
  if (limit <= 0) return []
  const symbols: string[] = []
  const symbolId = new Map<string, number>()
  const intern = (s: string) => {
    let id = symbolId.get(s)
    if (id === undefined) {
      id = symbols.length
      symbols.push(s)
      symbolId.set(s, id)
    }
    return id
  }
  const table = [...words].filter(([w]) => [...w].length > 1).sort((a, b) => b[1] - a[1]).slice(0, MAX_BPE_WORDS)
  const seqs: number[][] = []
  const freq: number[] = []
  for (const [word, n] of table) {
    const chars = [...word]
    if (!chars.every((c) => alphabet.has(c.codePointAt(0)!))) continue
    seqs.push(chars.map((c, i) => intern(i === 0 ? c : `##${c}`)))
    freq.push(n)
  }

  const KEY = 2 ** 21
  const pairCount = new Map<number, number>()
  const pairWords = new Map<number, Set<number>>()
  const heap = new MaxHeap()
  const addPairs = (w: number, sign: number, touched: Set<number> | null) => {
    const s = seqs[w]
    for (let k = 0; k + 1 < s.length; k++) {
      const key = s[k] * KEY + s[k + 1]
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * freq[w])
      if (sign > 0) {
        let set = pairWords.get(key)
        if (!set) pairWords.set(key, (set = new Set()))
        set.add(w)
      }
      touched?.add(key)
    }
  }
  for (let w = 0; w < seqs.length; w++) addPairs(w, 1, null)
  for (const [key, n] of pairCount) heap.push(n, key)

  const learnt: string[] = []
  while (learnt.length < limit && heap.size > 0) {
    const [n, key] = heap.pop()
    if (pairCount.get(key) !== n) continue // stale entry
    if (n < minFrequency) break
    const a = Math.floor(key / KEY)
    const b = key % KEY
    const merged = symbols[a] + symbols[b].slice(2)
    const c = intern(merged)
    if (!taken.has(merged)) learnt.push(merged)
    const touched = new Set<number>()
    for (const w of pairWords.get(key) ?? []) {
      const s = seqs[w]
      let has = false
      for (let k = 0; k + 1 < s.length; k++) if (s[k] === a && s[k + 1] === b) has = true
      if (!has) continue
      addPairs(w, -1, touched)
      const next: number[] = []
      for (let k = 0; k < s.length; k++) {
        if (k + 1 < s.length && s[k] === a && s[k + 1] === b) {
          next.push(c)
          k++
        } else next.push(s[k])
      }
      seqs[w] = next
      addPairs(w, 1, touched)
    }
    pairCount.delete(key)
    for (const t of touched) {
      const m = pairCount.get(t)
      if (m !== undefined && m > 0) heap.push(m, t)
    }
  }
  return learnt
}

/** A binary max-heap of (count, key); ties broken by the smaller key so that results are deterministic. */
class MaxHeap {
  private counts: number[] = []
  private keys: number[] = []
  get size(): number {
    return this.counts.length
  }
  private above(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j])
  }
  private swap(i: number, j: number): void {
    ;[this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]]
    ;[this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]]
  }
  push(count: number, key: number): void {
    this.counts.push(count)
    this.keys.push(key)
    let i = this.counts.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.above(i, p)) break
      this.swap(i, p)
      i = p
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]]
    const lastCount = this.counts.pop()!
    const lastKey = this.keys.pop()!
    if (this.counts.length > 0) {
      this.counts[0] = lastCount
      this.keys[0] = lastKey
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < this.counts.length && this.above(l, m)) m = l
        if (r < this.counts.length && this.above(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return top
  }
}
