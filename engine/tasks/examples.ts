// Stored CLUE records (engine/data/clue.ts's shapes) → task examples: the texts a model reads and the
// gold answer, one example per prediction CLUE scores (one per CHID blank, one per C3 question).
import { badInput } from '../errors'
import type { ClueTask } from './spec'

/** Single sentences and sentence pairs (TNEWS, IFLYTEK, AFQMC, CMNLI, OCNLI, CSL, CLUEWSC2020). */
export interface TextExample {
  kind: 'text'
  id: string | number
  textA: string
  textB?: string
  label: string | null
}

/** CMRC2018: a question over a passage; answers as character offsets into the passage. */
export interface SpanExample {
  kind: 'span'
  id: string
  question: string
  context: string
  answers: { text: string; start: number }[]
}

/** C3 and CHID: one sequence per choice, "[CLS] first [SEP] second [SEP]", the gold choice's index. */
export interface ChoiceExample {
  kind: 'choice'
  id: string | number
  /** Per choice: the question and the choice (C3), or the candidate idiom (CHID). */
  firsts: string[]
  /** The passage (C3), or the blank's context with the blank marked (CHID). */
  second: string
  label: number | null
}

export type Example = TextExample | SpanExample | ChoiceExample

type Obj = Record<string, unknown>
const s = (v: unknown) => (v === undefined || v === null ? '' : String(v))

/** CLUE's WSC baseline marks the two spans in the text: _candidate_ (span1) and [pronoun] (span2). */
export function markWscSpans(text: string, target: Obj): string {
  const spans = [
    { start: Number(target.span1_index), text: s(target.span1_text), open: '_', close: '_' },
    { start: Number(target.span2_index), text: s(target.span2_text), open: '[', close: ']' },
  ].sort((a, b) => b.start - a.start) // insert from the right so earlier offsets stay valid
  let out = text
  for (const sp of spans) {
    const end = sp.start + sp.text.length
    if (!(sp.start >= 0 && end <= out.length) || (sp.text && out.slice(sp.start, end) !== sp.text)) {
      throw badInput(`wsc: span ${JSON.stringify(sp.text)} is not at ${sp.start} of ${JSON.stringify(text.slice(0, 40))}`)
    }
    out = `${out.slice(0, sp.start)}${sp.open}${out.slice(sp.start, end)}${sp.close}${out.slice(end)}`
  }
  return out
}

const IDIOM_TAG = /#idiom\d+#/g

/** The context of one CHID blank: that blank → the marker, every other blank → [UNK]. */
export function chidContext(passage: string, tag: string, marker = '[MASK][MASK][MASK][MASK]'): string {
  return passage.replace(IDIOM_TAG, (t) => (t === tag ? marker : '[UNK]'))
}

/** The examples of one record; `index` is its position in its split (CLUE ids default to it). */
export function recordExamples(task: ClueTask, record: Obj, index: number): Example[] {
  const id = (record.id ?? record.idx ?? index) as string | number
  const label = record.label === undefined || record.label === null ? null : String(record.label)
  switch (task) {
    case 'tnews':
    case 'iflytek':
      return [{ kind: 'text', id, textA: s(record.sentence), label }]
    case 'afqmc':
    case 'cmnli':
    case 'ocnli':
      return [{ kind: 'text', id, textA: s(record.sentence1), textB: s(record.sentence2), label: label === '-' ? null : label }]
    case 'csl':
      // CLUE's baseline: the keywords as the first segment, the abstract as the second
      return [{ kind: 'text', id, textA: ((record.keyword as string[]) ?? []).join('；'), textB: s(record.abst), label }]
    case 'wsc':
      return [{ kind: 'text', id, textA: markWscSpans(s(record.text), (record.target ?? {}) as Obj), label }]
    case 'cmrc2018': {
      const a = (record.answers ?? { text: [], answer_start: [] }) as { text: string[]; answer_start: number[] }
      const context = s(record.context)
      const answers = a.text.map((text, i) => ({ text, start: a.answer_start[i] ?? context.indexOf(text) }))
      return [{ kind: 'span', id: s(record.id ?? index), question: s(record.question), context, answers }]
    }
    case 'c3': {
      const choice = (record.choice as string[]) ?? []
      const answer = record.answer === undefined ? null : choice.indexOf(String(record.answer))
      return [
        {
          kind: 'choice',
          id,
          firsts: choice.map((c) => `${s(record.question)}||${c}`),
          second: ((record.context as string[]) ?? []).join(''),
          label: answer === null || answer < 0 ? null : answer,
        },
      ]
    }
    case 'chid': {
      const candidates = (record.candidates as string[]) ?? []
      const answers = (record.answers ?? {}) as Record<string, number>
      const out: Example[] = []
      for (const passage of (record.content as string[]) ?? []) {
        for (const tag of passage.match(IDIOM_TAG) ?? []) {
          out.push({ kind: 'choice', id: tag, firsts: candidates, second: chidContext(passage, tag), label: answers[tag] ?? null })
        }
      }
      return out
    }
  }
}

/** The label set of a classification task: fixed, or the sorted labels seen in the data. */
export function collectLabels(fixed: readonly string[] | null, examples: Example[]): string[] {
  if (fixed) return [...fixed]
  const seen = new Set<string>()
  for (const e of examples) if (e.kind === 'text' && e.label !== null) seen.add(e.label)
  return [...seen].sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0))
}
