// Chinese-aware data augmentation (docs/strategies.md § Data augmentation): EDA (Wei & Zou 2019) on jieba
// words instead of English whitespace words. Each copy applies one operation to ⌈ratio · words⌉ words:
//   synonym  replace a word by a synonym: from a dictionary (lines of mutually synonymous words) or, for
//            single-character words, the nearest other character by cosine similarity of the model's
//            word embeddings;
//   swap     swap two random words;  delete  drop words (never all);  insert  put a synonym of a random
//            word at a random position.
// Punctuation (jieba flag x) and numbers are never replaced, inserted or deleted.
import fs from 'node:fs'
import type { Rng } from '../../compute/rng'
import { PossegTokenizer } from '../../tagging/jieba/posseg'
import { badInput } from '../../errors'

export type AugmentOperation = 'synonym' | 'swap' | 'delete' | 'insert'

export interface SynonymSource {
  synonyms(word: string): string[]
}

/** A dictionary file: each line a group of synonyms separated by spaces (or tabs, commas). */
export function dictionarySynonyms(file: string): SynonymSource {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    throw badInput(`augment.dictionary: cannot read ${file} (${(e as Error).message.split('\n')[0]})`)
  }
  const groups = new Map<string, string[]>()
  for (const line of text.split(/\r?\n/)) {
    const words = line.split(/[\s,，]+/).filter((w) => w && !/^[A-Za-z]{1,2}\d+[=#@]$/.test(w)) // skips Cilin-style codes
    for (const w of words) groups.set(w, [...new Set([...(groups.get(w) ?? []), ...words.filter((x) => x !== w)])])
  }
  return { synonyms: (w) => groups.get(w) ?? [] }
}

/** Nearest characters by cosine similarity of the word-embedding rows of single-character vocab tokens. */
export function embeddingSynonyms(vocab: readonly string[], table: Float32Array, hidden: number, neighbours = 3): SynonymSource {
  const candidates: number[] = []
  vocab.forEach((t, id) => {
    if ([...t].length === 1 && /\p{Script=Han}/u.test(t)) candidates.push(id)
  })
  const norms = new Float32Array(vocab.length)
  for (const id of candidates) {
    let s = 0
    for (let k = 0; k < hidden; k++) s += table[id * hidden + k] ** 2
    norms[id] = Math.sqrt(s) || 1
  }
  const ids = new Map(vocab.map((t, i) => [t, i]))
  const cache = new Map<string, string[]>()
  return {
    synonyms(word) {
      const id = ids.get(word)
      if (id === undefined || !candidates.includes(id)) return []
      let found = cache.get(word)
      if (!found) {
        const scored = candidates
          .filter((c) => c !== id)
          .map((c) => {
            let dot = 0
            for (let k = 0; k < hidden; k++) dot += table[id * hidden + k] * table[c * hidden + k]
            return { c, s: dot / (norms[id] * norms[c]) }
          })
          .sort((a, b) => b.s - a.s)
        found = scored.slice(0, neighbours).map((x) => vocab[x.c])
        cache.set(word, found)
      }
      return found
    },
  }
}

let posseg: PossegTokenizer | null = null
const words = (text: string) => (posseg ??= PossegTokenizer.load()).cut(text)
const keep = (flag: string, word: string) => flag === 'x' || flag === 'm' || /^\s+$/.test(word)

/** One augmented variant of `text` by `op`. */
export function augmentText(text: string, op: AugmentOperation, ratio: number, synonyms: SynonymSource, rng: Rng): string {
  const ws = words(text)
  const editable = ws.map((w, i) => (keep(w.flag, w.word) ? -1 : i)).filter((i) => i >= 0)
  if (editable.length === 0) return text
  const n = Math.max(1, Math.ceil(ratio * editable.length))
  const out = ws.map((w) => w.word)
  const pick = () => editable[rng.int(editable.length)]
  switch (op) {
    case 'synonym': {
      const order = [...editable]
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1)
        ;[order[i], order[j]] = [order[j], order[i]]
      }
      let done = 0
      for (const i of order) {
        if (done >= n) break
        const s = synonyms.synonyms(out[i])
        if (s.length === 0) continue
        out[i] = s[rng.int(s.length)]
        done++
      }
      break
    }
    case 'swap':
      for (let k = 0; k < n && editable.length > 1; k++) {
        const a = pick()
        const b = pick()
        ;[out[a], out[b]] = [out[b], out[a]]
      }
      break
    case 'delete': {
      const drop = new Set<number>()
      for (const i of editable) if (rng.next() < ratio) drop.add(i)
      if (drop.size >= editable.length) drop.delete(editable[rng.int(editable.length)])
      return out.filter((_, i) => !drop.has(i)).join('')
    }
    case 'insert':
      for (let k = 0; k < n; k++) {
        const s = synonyms.synonyms(out[pick()])
        if (s.length === 0) continue
        const at = rng.int(out.length + 1)
        out.splice(at, 0, s[rng.int(s.length)])
      }
      break
  }
  return out.join('')
}
