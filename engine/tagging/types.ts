// The tagger's output, shared by the built-in tagger, the spaCy subprocess, the CLI and the API.
// Offsets are UTF-16 code unit offsets into `text` (JavaScript string indices: text.slice(start, end)),
// end exclusive. A character outside the BMP (emoji, CJK Extension B) therefore spans 2 units.

export interface TaggedToken {
  text: string
  start: number
  end: number
  pos: string // Universal POS (spaCy token.pos_)
  tag: string // the source tagger's fine-grained tag (spaCy token.tag_): jieba/ICTCLAS flag or spaCy's tag
}

export interface TaggedEntity {
  text: string
  start: number
  end: number
  label: string // OntoNotes label (spaCy ent.label_)
}

export interface TaggedDoc {
  text: string
  tokens: TaggedToken[]
  ents: TaggedEntity[]
}

export type TaggerName = 'builtin' | 'spacy'

export interface Tagger {
  readonly name: TaggerName
  tag(texts: string[]): Promise<TaggedDoc[]>
  close(): Promise<void>
}

/** A WordPiece token with the UPOS and BIO entity label projected onto it (engine/tagging/projection.ts). */
export interface ProjectedToken {
  token: string
  start: number
  end: number
  /** UPOS of the word holding the token's first character; null for special/padding tokens ([0, 0]). */
  pos: string | null
  /** "O", "B-LABEL" or "I-LABEL"; null for special/padding tokens. */
  ent: string | null
}

/** What `tags.preview` returns: one tagged text, and its WordPiece projection when a vocab was given. */
export interface TagPreview extends TaggedDoc {
  tagger: TaggerName
  wordpieces: ProjectedToken[] | null
}

/** Tag counts over a tagged dataset (engine/tagging/dataset-tags.ts). */
export interface TagDistribution {
  documents: number
  characters: number
  tokens: number
  pos: Record<string, number> // UPOS -> tokens
  tags: Record<string, number> // fine tag -> tokens
  ents: Record<string, number> // entity label -> entities
}

export interface TagSummary {
  tagger: string
  entities: boolean
  sourceRecords: number
  tagged: number
  skipped: number
  distribution: TagDistribution
  createdAt: string
}
