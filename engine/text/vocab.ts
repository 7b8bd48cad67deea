// A WordPiece vocabulary (vocab.txt: one token per line, the line number is the id) and the trie the
// tokenizer walks to find the longest vocabulary piece at a position. Walking a trie over code points
// gives the same answer as HF's "try the longest substring first" loop without building substrings.
import fs from 'node:fs'
import { badInput, notFound } from '../errors'

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const
export type SpecialToken = (typeof SPECIAL_TOKENS)[number]

const CONTINUATION = '##'
const BMP = 0x10000
const CODE_POINTS = 0x110000

export class Vocab {
  readonly tokens: readonly string[]
  private readonly ids = new Map<string, number>()
  /** Trie edges below the first level: key node * CODE_POINTS + code point → child node. */
  private readonly edges = new Map<number, number>()
  /** The first level, for word starts and for ## continuations, indexed by BMP code point. */
  private readonly startChild = new Int32Array(BMP).fill(-1)
  private readonly contChild = new Int32Array(BMP).fill(-1)
  /** The token id a trie node spells, or -1. */
  private nodeToken: Int32Array
  private nodeCount = 2
  static readonly START = 0
  static readonly CONTINUE = 1

  /** `source` names the file in error messages. */
  constructor(tokens: readonly string[], source = 'vocab') {
    if (tokens.length === 0) throw badInput(`${source}: the vocabulary is empty`)
    this.tokens = tokens
    tokens.forEach((t, id) => {
      if (t.length === 0) throw badInput(`${source}:${id + 1}: empty token`)
      const first = this.ids.get(t)
      if (first !== undefined) throw badInput(`${source}:${id + 1}: duplicate token ${JSON.stringify(t)} (first on line ${first + 1})`)
      this.ids.set(t, id)
    })
    let chars = 0
    for (const t of tokens) chars += t.length
    this.nodeToken = new Int32Array(chars + 2).fill(-1)
    tokens.forEach((t, id) => {
      const cont = t.startsWith(CONTINUATION) && t.length > CONTINUATION.length
      this.insert(cont ? Vocab.CONTINUE : Vocab.START, cont ? t.slice(CONTINUATION.length) : t, id)
    })
  }

  get size(): number {
    return this.tokens.length
  }

  idOf(token: string): number | undefined {
    return this.ids.get(token)
  }

  /** The id of a special token; a vocabulary without it cannot drive the tokenizer. */
  specialId(token: SpecialToken, source = 'vocab'): number {
    const id = this.ids.get(token)
    if (id === undefined) throw badInput(`${source}: the special token ${token} is missing`)
    return id
  }

  /** One trie step: the child of `node` along code point `cp`, or -1. */
  child(node: number, cp: number): number {
    if (node === Vocab.START && cp < BMP) return this.startChild[cp]
    if (node === Vocab.CONTINUE && cp < BMP) return this.contChild[cp]
    return this.edges.get(node * CODE_POINTS + cp) ?? -1
  }

  tokenAt(node: number): number {
    return this.nodeToken[node]
  }

  private insert(root: number, piece: string, id: number): void {
    let node = root
    for (const ch of piece) {
      const cp = ch.codePointAt(0)!
      let next = this.child(node, cp)
      if (next < 0) {
        next = this.nodeCount++
        if (node <= Vocab.CONTINUE && cp < BMP) (node === Vocab.START ? this.startChild : this.contChild)[cp] = next
        else this.edges.set(node * CODE_POINTS + cp, next)
      }
      node = next
    }
    this.nodeToken[node] = id
  }
}

/** Parses vocab.txt text: one token per line, "\r\n" or "\n", a final newline optional. */
export function parseVocab(text: string, source = 'vocab.txt'): Vocab {
  const lines = text.split('\n')
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return new Vocab(
    lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)),
    source,
  )
}

export function loadVocab(file: string): Vocab {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${file}: no such vocabulary file`)
    throw err
  }
  return parseVocab(text, file)
}

export function formatVocab(tokens: readonly string[]): string {
  return tokens.join('\n') + '\n'
}
