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
