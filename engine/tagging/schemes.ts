// The mapping table resources/tagging/schemes.json (with its reasoning per row) as functions: jieba/ICTCLAS
// and LAC tags to Universal POS, and the lists the entity rules of builtin.ts use.
import { corrupt } from '../errors'
import { readTaggingResource } from './resources'

interface SchemeTable {
  upos: {
    labels: string[]
    tags: Record<string, { pos: string; why: string }>
    words: Record<string, { when: string[]; words: string[]; why: string }>
    xByCharacter: Record<string, string>
  }
  entities: {
    labels: string[]
    notProduced: Record<string, string>
    sources: Record<string, { label: string; why: string }>
    placeSuffixes: Record<'FAC' | 'LOC' | 'GPE', string[]>
    timeWords: string[]
    lawSuffixes: string[]
    eventSuffixes: string[]
    norpWords: string[]
    languageWords: string[]
    numberRules: Record<string, { units?: string[]; why: string }>
  }
}

const SPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u
const PUNCT = /^\p{P}+$/u
const SYM = /^\p{S}+$/u

export class Schemes {
  readonly table: SchemeTable
  private readonly wordPos = new Map<string, string>() // "tag\u0000word" -> UPOS

  constructor(table: SchemeTable) {
    this.table = table
    const labels = new Set(table.upos.labels)
    for (const [tag, row] of Object.entries(table.upos.tags)) {
      if (!labels.has(row.pos) && row.pos !== 'BY_CHARACTER') throw corrupt(`schemes.json upos.tags.${tag}: unknown UPOS ${JSON.stringify(row.pos)}`)
    }
    for (const [pos, row] of Object.entries(table.upos.words)) {
      if (!labels.has(pos)) throw corrupt(`schemes.json upos.words: unknown UPOS ${JSON.stringify(pos)}`)
      for (const tag of row.when) for (const word of row.words) this.wordPos.set(`${tag}\u0000${word}`, pos)
    }
  }

  static load(): Schemes {
    return new Schemes(JSON.parse(readTaggingResource('schemes.json').toString('utf8')) as SchemeTable)
  }

  /** Universal POS of a word with its jieba/LAC tag. */
  upos(word: string, tag: string): string {
    const listed = this.wordPos.get(`${tag}\u0000${word}`)
    if (listed) return listed
    const row = this.table.upos.tags[tag]
    if (!row) return 'X'
    if (row.pos === 'BY_CHARACTER' || tag === 'w') return uposByCharacter(word, row.pos === 'BY_CHARACTER' ? 'X' : row.pos)
    return row.pos
  }

  /** GPE, LOC or FAC for a place name, by its longest listed suffix; GPE when none matches. */
  placeLabel(name: string): 'GPE' | 'LOC' | 'FAC' {
    let best: 'GPE' | 'LOC' | 'FAC' = 'GPE'
    let bestLength = 0
    for (const label of ['FAC', 'LOC', 'GPE'] as const) {
      for (const suffix of this.table.entities.placeSuffixes[label]) {
        if (suffix.length > bestLength && name.length > suffix.length && name.endsWith(suffix)) {
          best = label
          bestLength = suffix.length
        }
      }
    }
    return best
  }

  dateOrTime(span: string): 'DATE' | 'TIME' {
    return this.table.entities.timeWords.some((w) => span.includes(w)) ? 'TIME' : 'DATE'
  }

  workLabel(title: string): 'WORK_OF_ART' | 'LAW' {
    const bare = title.replace(/^《|》$/g, '')
    return this.table.entities.lawSuffixes.some((s) => bare.endsWith(s)) ? 'LAW' : 'WORK_OF_ART'
  }

  unitLabel(unit: string): 'MONEY' | 'QUANTITY' | null {
    const rules = this.table.entities.numberRules
    if (rules.MONEY.units!.includes(unit)) return 'MONEY'
    if (rules.QUANTITY.units!.includes(unit)) return 'QUANTITY'
    return null
  }
}

function uposByCharacter(word: string, fallback: string): string {
  if (SPACE.test(word)) return 'SPACE'
  if (PUNCT.test(word)) return 'PUNCT'
  if (SYM.test(word)) return 'SYM'
  return fallback
}
