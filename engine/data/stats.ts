// Corpus statistics, accumulated per file and merged when the file imports. Fixed-size state: a count
// per BMP code point (256 KB), a small map for the rest, a length histogram with power-of-two bins.
import fs from 'node:fs'
import readline from 'node:readline'
import { SENTENCE_CLASS } from './clean'
import type { DatasetStats } from './types'

export const HISTOGRAM_BINS = 16 // [0,1), [1,2), [2,4) … [2¹⁴, ∞) characters

export type { DatasetStats } from './types'

const isHan = (cp: number) =>
  (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x20000 && cp <= 0x3134f)

export class StatsAccumulator {
  documents = 0
  sentences = 0
  characters = 0
  hanCharacters = 0
  readonly histogram = new Float64Array(HISTOGRAM_BINS)
  readonly bmp = new Uint32Array(0x10000)
  readonly astral = new Map<number, number>()
  readonly splits = new Map<string, number>()
  readonly labels = new Map<string, number>()
  readonly labelDescriptions = new Map<string, string>()

  /** One stored record: its texts, split and label. */
  add(texts: string[], split: string, label: string | null, labelDesc?: string): void {
    this.documents++
    this.splits.set(split, (this.splits.get(split) ?? 0) + 1)
    if (label !== null) this.labels.set(label, (this.labels.get(label) ?? 0) + 1)
    if (label !== null && labelDesc) this.labelDescriptions.set(label, labelDesc)
    let length = 0
    for (const t of texts) length += this.addText(t)
    this.histogram[Math.min(HISTOGRAM_BINS - 1, length === 0 ? 0 : 32 - Math.clz32(length))]++
  }

  /**
   * Counts the characters of one text (whitespace excluded) and its sentences in one pass; returns the
   * characters. Sentences are counted as countSentences (clean.ts) does: a run of 。！？；!? or of …,
   * with the closing quotes after it, ends one; so does a newline after some text.
   */
  private addText(t: string): number {
    let n = 0
    let han = 0
    let sentences = 0
    let content = false
    let runClass = 0 // the class of the terminator run we are in (1 or 2), 4 while in its closers, else 0
    const cls = SENTENCE_CLASS
    for (let i = 0; i < t.length; i++) {
      let cp = t.charCodeAt(i)
      const c = cls[cp]
      if (runClass !== 0) {
        if (c === runClass || (c === 4 && runClass !== 0)) {
          if (c === 4) runClass = 4
        } else runClass = 0
      }
      if (runClass === 0 && (c === 1 || c === 2)) {
        sentences++
        content = false
        runClass = c
      }
      if (cp === 32 || cp === 10 || cp === 9 || cp === 13) {
        if (cp === 10) {
          if (content) sentences++
          content = false
          runClass = 0
        }
        if (cp !== 13) continue
      } else if (runClass === 0) content = true
      if (cp === 13) continue
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < t.length) {
        cp = t.codePointAt(i)!
        i++
        this.astral.set(cp, (this.astral.get(cp) ?? 0) + 1)
      } else {
        this.bmp[cp]++
      }
      n++
      if (isHan(cp)) han++
    }
    if (content) sentences++
    this.characters += n
    this.hanCharacters += han
    this.sentences += sentences
    return n
  }

  merge(o: StatsAccumulator): void {
    this.documents += o.documents
    this.sentences += o.sentences
    this.characters += o.characters
    this.hanCharacters += o.hanCharacters
    for (let i = 0; i < HISTOGRAM_BINS; i++) this.histogram[i] += o.histogram[i]
    for (let i = 0; i < 0x10000; i++) if (o.bmp[i] !== 0) this.bmp[i] += o.bmp[i]
    for (const [k, v] of o.astral) this.astral.set(k, (this.astral.get(k) ?? 0) + v)
    for (const [k, v] of o.splits) this.splits.set(k, (this.splits.get(k) ?? 0) + v)
    for (const [k, v] of o.labels) this.labels.set(k, (this.labels.get(k) ?? 0) + v)
    for (const [k, v] of o.labelDescriptions) this.labelDescriptions.set(k, v)
  }

  /** Characters by count, most frequent first (ties by code point, so the order is stable). */
  charCounts(): [number, number][] {
    const all: [number, number][] = []
    for (let i = 0; i < 0x10000; i++) if (this.bmp[i] !== 0) all.push([i, this.bmp[i]])
    for (const e of this.astral) all.push(e)
    return all.sort((a, b) => b[1] - a[1] || a[0] - b[0])
  }

  finish(duplicates: { exact: number; near: number }, vocab: Set<string> | null, vocabPath: string | null, top = 100): DatasetStats {
    const counts = this.charCounts()
    let vocabStats: DatasetStats['vocab'] = null
    if (vocab && vocabPath) {
      let covered = 0
      const missing: { char: string; count: number }[] = []
      for (const [cp, n] of counts) {
        const ch = String.fromCodePoint(cp)
        if (vocab.has(ch) || vocab.has(ch.toLowerCase())) covered += n
        else if (missing.length < 50) missing.push({ char: ch, count: n })
      }
      vocabStats = {
        path: vocabPath,
        size: vocab.size,
        coveredCharacters: covered,
        coverage: this.characters === 0 ? 0 : covered / this.characters,
        topMissing: missing,
      }
    }
    return {
      documents: this.documents,
      sentences: this.sentences,
      characters: this.characters,
      hanCharacters: this.hanCharacters,
      hanRatio: this.characters === 0 ? 0 : this.hanCharacters / this.characters,
      lengthHistogram: [...this.histogram].map((count, i) => ({
        from: i === 0 ? 0 : 2 ** (i - 1),
        to: i === HISTOGRAM_BINS - 1 ? null : 2 ** i,
        count,
      })),
      topCharacters: counts.slice(0, top).map(([cp, count]) => ({ char: String.fromCodePoint(cp), count })),
      duplicatesRemoved: duplicates,
      splits: Object.fromEntries(this.splits),
      labels: Object.fromEntries([...this.labels].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }))),
      labelDescriptions: Object.fromEntries(this.labelDescriptions),
      vocab: vocabStats,
    }
  }
}

/** A BERT vocab.txt: one token per line; only single-character tokens matter for character coverage. */
export async function readVocabChars(file: string): Promise<Set<string>> {
  const set = new Set<string>()
  const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity })
  for await (const line of rl) {
    const token = line.replace(/\r$/, '')
    if ([...token].length === 1) set.add(token)
    else if (token.startsWith('##') && [...token].length === 3) set.add(token.slice(2))
  }
  return set
}
