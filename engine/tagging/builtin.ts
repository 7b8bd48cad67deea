// The built-in tagger: jieba (exact port of posseg.cut) for words and fine tags, Universal POS by the scheme
// table, and OntoNotes entities from LAC-small (PER/LOC/ORG/TIME, titles) combined with jieba's tags for the
// labels LAC does not produce (numbers, money, percentages, nationalities, languages, events).
import { PossegTokenizer } from './jieba/posseg'
import { LacSmall, type LacWord } from './lac/lac'
import { Schemes } from './schemes'
import type { TaggedDoc, TaggedEntity, TaggedToken, Tagger } from './types'

const NUMERAL = /[0-9０-９〇零一二三四五六七八九十百千万亿两半几]/
const NOT_NUMBERS = new Set(['一些', '一点', '一起', '一下', '一般', '一切', '一样', '一定', '一直', '一同', '一致', '一再', '一面', '一边', '万一'])
const PERSON_TAGS = new Set(['nr', 'nrfg', 'nrt'])
const LAC_CHUNK = 256 // LAC was trained on sentences; longer inputs are cut at sentence ends or at this length

let shared: { posseg: PossegTokenizer; lac: LacSmall; schemes: Schemes } | null = null

/** Sentence-sized pieces of `text` for LAC, as [start, end) UTF-16 ranges. */
export function lacChunks(text: string, limit = LAC_CHUNK): [number, number][] {
  const chunks: [number, number][] = []
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    const atEnd = '。！？!?；;\n'.includes(c) || i + 1 - start >= limit
    const splitsPair = c >= '\ud800' && c <= '\udbff' // never cut between the halves of a surrogate pair
    if (atEnd && !splitsPair) {
      chunks.push([start, i + 1])
      start = i + 1
    }
  }
  if (start < text.length) chunks.push([start, text.length])
  return chunks
}

export class BuiltinTagger implements Tagger {
  readonly name = 'builtin' as const

  constructor(
    readonly posseg: PossegTokenizer,
    readonly lac: LacSmall,
    readonly schemes: Schemes,
  ) {}

  /** Loads the vendored models once per process (about 1.5 s). */
  static shared(): BuiltinTagger {
    shared ??= { posseg: PossegTokenizer.load(), lac: LacSmall.load(), schemes: Schemes.load() }
    return new BuiltinTagger(shared.posseg, shared.lac, shared.schemes)
  }

  async tag(texts: string[]): Promise<TaggedDoc[]> {
    return this.tagTexts(texts)
  }

  async close(): Promise<void> {}

  tagText(text: string): TaggedDoc {
    return this.tagTexts([text])[0]
  }

  /** Tokens and entities of many texts; LAC runs over all their sentences in one batch. */
  tagTexts(texts: string[]): TaggedDoc[] {
    const lacWords = this.lacWordsOf(texts)
    return texts.map((text, i) => {
      const tokens = this.tokens(text)
      return { text, tokens, ents: this.entities(text, tokens, lacWords[i]) }
    })
  }

  /** Words with UPOS and jieba flags; no NER (the fast path). */
  tokens(text: string): TaggedToken[] {
    let at = 0
    return this.posseg.cut(text).map(({ word, flag }) => {
      const token = { text: word, start: at, end: at + word.length, pos: this.schemes.upos(word, flag), tag: flag }
      at += word.length
      return token
    })
  }

  lacWords(text: string): LacWord[] {
    return this.lacWordsOf([text])[0]
  }

  /** LAC's words for each text, offsets into that text: the sentence chunks of all texts as one batch. */
  lacWordsOf(texts: string[]): LacWord[][] {
    const pieces: string[] = []
    const owner: { text: number; start: number }[] = []
    texts.forEach((text, i) => {
      for (const [start, end] of lacChunks(text)) {
        pieces.push(text.slice(start, end))
        owner.push({ text: i, start })
      }
    })
    const out: LacWord[][] = texts.map(() => [])
    this.lac.tagBatch(pieces).forEach((words, k) => {
      const { text, start } = owner[k]
      for (const w of words) out[text].push({ ...w, start: w.start + start, end: w.end + start })
    })
    return out
  }

  entities(text: string, tokens: TaggedToken[], lacWords = this.lacWords(text)): TaggedEntity[] {
    const spans: TaggedEntity[] = []
    const add = (start: number, end: number, label: string) => {
      if (end <= start || spans.some((s) => s.start < end && start < s.end)) return
      spans.push({ text: text.slice(start, end), start, end, label })
    }
    const table = this.schemes.table.entities
    const dict = this.posseg.dict

    // 1. specific groups first, so that 中国人 is NORP rather than a GPE followed by 人
    tokens.forEach((t, i) => {
      const next = tokens[i + 1]
      if (table.norpWords.includes(t.text)) add(t.start, t.end, 'NORP')
      else if ((t.tag === 'n' || t.tag === 'nz') && t.text.length >= 2 && t.text.length <= 4 && t.text.endsWith('族')) add(t.start, t.end, 'NORP')
      else if (t.text.length >= 3 && t.text.endsWith('人') && dict.tagOf(t.text.slice(0, -1)) === 'ns') add(t.start, t.end, 'NORP')
      else if (t.tag === 'ns' && next?.text === '人') add(t.start, next.end, 'NORP')
      else if (table.languageWords.includes(t.text) || (t.tag === 'nz' && t.text.length === 2 && /[语文]$/.test(t.text))) add(t.start, t.end, 'LANGUAGE')
    })
    for (const w of lacWords) if ((w.tag === 'nz' || w.tag === 'n') && w.word.length >= 2 && w.word.length <= 4 && w.word.endsWith('族')) add(w.start, w.end, 'NORP')
    const isEvent = (word: string) => table.eventSuffixes.some((s) => word.length > s.length && word.endsWith(s))
    for (const w of lacWords) if (['nz', 'ORG', 'LOC', 'nw'].includes(w.tag) && isEvent(w.word)) add(w.start, w.end, 'EVENT')
    for (const t of tokens) if (t.tag === 'nz' && isEvent(t.text)) add(t.start, t.end, 'EVENT')

    // 2. LAC's entities
    for (const w of lacWords) {
      if (w.tag === 'PER') add(w.start, w.end, 'PERSON')
      else if (w.tag === 'ORG') add(w.start, w.end, 'ORG')
      else if (w.tag === 'LOC') add(w.start, w.end, this.schemes.placeLabel(w.word))
      else if (w.tag === 'TIME') add(w.start, w.end, this.schemes.dateOrTime(w.word))
      else if (w.tag === 'nw') add(w.start, w.end, this.schemes.workLabel(w.word))
    }

    // 3. names on which LAC's POS layer and jieba agree
    const tokenAt = new Map(tokens.map((t) => [`${t.start}:${t.end}`, t]))
    for (const w of lacWords) {
      const t = tokenAt.get(`${w.start}:${w.end}`)
      if (!t) continue
      if (w.tag === 'nr' && PERSON_TAGS.has(t.tag)) add(w.start, w.end, 'PERSON')
      else if (w.tag === 'ns' && t.tag === 'ns') add(w.start, w.end, this.schemes.placeLabel(w.word))
      else if (w.tag === 'nt' && t.tag === 'nt') add(w.start, w.end, 'ORG')
    }

    // 4. jieba time words with a numeral
    for (const t of tokens) if (t.tag === 't' && NUMERAL.test(t.text)) add(t.start, t.end, this.schemes.dateOrTime(t.text))

    // 5. runs of numerals with their unit
    const isNumeral = (t: TaggedToken) =>
      t.text === '百分之' || ((t.tag === 'm' || t.tag === 'mq') && NUMERAL.test(t.text) && !NOT_NUMBERS.has(t.text))
    for (let i = 0; i < tokens.length; ) {
      if (!isNumeral(tokens[i])) {
        i++
        continue
      }
      let j = i
      while (j + 1 < tokens.length && isNumeral(tokens[j + 1])) j++
      const after = tokens[j + 1]
      if (after && (after.tag === 'q' || this.schemes.unitLabel(after.text))) j++
      if (tokens[j + 1] && /^[%％]$/.test(tokens[j + 1].text)) j++
      const span = text.slice(tokens[i].start, tokens[j].end)
      const unit = this.schemes.unitLabel(tokens[j].text) ?? this.unitAtEnd(tokens[j].text)
      let label = 'CARDINAL'
      if (/[%％]|百分之/.test(span) || (span.length > 1 && span.endsWith('成'))) label = 'PERCENT'
      else if (span.startsWith('第')) label = 'ORDINAL'
      else if (unit) label = unit
      add(tokens[i].start, tokens[j].end, label)
      i = j + 1
    }
    return spans.sort((a, b) => a.start - b.start)
  }

  /** A unit glued to the numeral inside one jieba word (500万元 cut as one m word). */
  private unitAtEnd(word: string): 'MONEY' | 'QUANTITY' | null {
    const rules = this.schemes.table.entities.numberRules
    if (rules.MONEY.units!.some((u) => word.length > u.length && word.endsWith(u) && NUMERAL.test(word[word.length - u.length - 1]))) return 'MONEY'
    if (rules.QUANTITY.units!.some((u) => word.length > u.length && word.endsWith(u) && NUMERAL.test(word[word.length - u.length - 1]))) return 'QUANTITY'
    return null
  }
}
