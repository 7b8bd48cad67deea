// Words and entities projected onto WordPiece tokens for the pretraining objectives: each token takes the
// Universal POS of the word its first character belongs to, and a BIO entity label (B- on the first token
// that starts inside an entity, I- on the following ones). Offsets on both sides are UTF-16 units of the
// same text, so a token split inside a word ("iphone" -> "iph", "##one") or a word split into several
// tokens ("2019年" -> "2019", "年") projects without any re-alignment.
import type { TaggedDoc } from './types'

export interface ProjectedToken {
  token: string
  start: number
  end: number
  /** UPOS of the word holding the token's first character; null for special/padding tokens ([0, 0]). */
  pos: string | null
  /** "O", "B-LABEL" or "I-LABEL"; null for special/padding tokens. */
  ent: string | null
}

/** The BIO label set for entity labels, "O" first: the class ids an objective uses. */
export function bioLabels(entityLabels: readonly string[]): string[] {
  return ['O', ...entityLabels.flatMap((l) => [`B-${l}`, `I-${l}`])]
}

export function projectOntoTokens(doc: TaggedDoc, tokens: readonly string[], offsets: readonly [number, number][]): ProjectedToken[] {
  const n = doc.text.length
  const wordAt = new Int32Array(n).fill(-1) // UTF-16 unit -> index of the word holding it
  doc.tokens.forEach((w, i) => wordAt.fill(i, Math.max(0, w.start), Math.min(n, w.end)))
  const entityAt = new Int32Array(n).fill(-1)
  doc.ents.forEach((e, i) => entityAt.fill(i, Math.max(0, e.start), Math.min(n, e.end)))

  let previousEntity = -1
  return tokens.map((token, k) => {
    const [start, end] = offsets[k]
    if (end <= start || start >= n) {
      previousEntity = -1
      return { token, start, end, pos: null, ent: null }
    }
    const word = wordAt[start]
    const entity = entityAt[start]
    const ent = entity < 0 ? 'O' : `${entity === previousEntity ? 'I' : 'B'}-${doc.ents[entity].label}`
    previousEntity = entity
    return { token, start, end, pos: word < 0 ? 'X' : doc.tokens[word].pos, ent }
  })
}
