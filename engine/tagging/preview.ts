// Tagging as the CLI and the API use it: pick a tagger, tag texts, optionally project onto WordPiece tokens.
import { BuiltinTagger } from './builtin'
import { projectOntoTokens } from './projection'
import { SpacyTagger } from './spacy'
import type { ProjectedToken, TaggedDoc, TagPreview, Tagger } from './types'
import { BertTokenizer } from '../text/tokenizer'

export interface TaggerChoice {
  tagger?: Tagger['name']
  /** The Python with spaCy (spaCy tagger only). */
  python?: string | null
  /** The spaCy pipeline (spaCy tagger only). */
  model?: string
}

export function createTagger(choice: TaggerChoice = {}): Tagger {
  if ((choice.tagger ?? 'builtin') === 'spacy') return new SpacyTagger({ python: choice.python ?? undefined, model: choice.model })
  return BuiltinTagger.shared()
}

/** Runs `fn` with a tagger that is always closed afterwards (the spaCy subprocess ends). */
export async function withTagger<T>(choice: TaggerChoice, fn: (tagger: Tagger) => Promise<T>): Promise<T> {
  const tagger = createTagger(choice)
  try {
    return await fn(tagger)
  } finally {
    await tagger.close()
  }
}

export async function tagTexts(texts: string[], choice: TaggerChoice = {}): Promise<TaggedDoc[]> {
  return withTagger(choice, (tagger) => tagger.tag(texts))
}

export async function previewTags(text: string, choice: TaggerChoice & { vocab?: string | null; cased?: boolean } = {}): Promise<TagPreview> {
  const [doc] = await tagTexts([text], choice)
  let wordpieces: ProjectedToken[] | null = null
  if (choice.vocab) {
    const tokenizer = BertTokenizer.fromFile(choice.vocab, { lowercase: !choice.cased })
    const { tokens, offsets } = tokenizer.tokenize(text)
    wordpieces = projectOntoTokens(doc, tokens, offsets)
  }
  return { ...doc, tagger: choice.tagger ?? 'builtin', wordpieces }
}
