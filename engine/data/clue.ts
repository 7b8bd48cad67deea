// CLUE tasks recognised from their fields (the shapes of the files in the CLUE benchmark releases), and
// each raw item turned into the records we store. Field names are kept as CLUE spells them
// (IFLYTEK's `label_des`, TNEWS's `label_desc`) so exported records match the originals.
import type { Task } from './types'

export { TASKS, type Task } from './types'

export type Split = 'train' | 'dev' | 'test'

/** Fields that usually hold the text of a plain corpus, in order of preference. */
export const TEXT_FIELDS = ['text', 'content', 'sentence', 'body', 'article', 'passage', 'document', 'paragraph', 'context', 'title', 'abstract', 'question']

export interface Detection {
  task: Task
  /** For text: the field holding the text (objects), or null when items are strings. */
  field: string | null
  /** cmrc2018: 'squad' (data → paragraphs → qas) or 'flat' (one question per record). */
  shape?: string
  /** Label descriptions only (TNEWS/IFLYTEK labels.json): nothing to store but the descriptions. */
  labelsOnly?: boolean
  evidence: string
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const isStr = (v: unknown): v is string => typeof v === 'string'

/** The split a CLUE-style file name says: train.json, dev.json, test.json, trial.json, d-dev.json … */
export function splitFromName(name: string): Split | null {
  const n = name.toLowerCase()
  if (/(^|[^a-z])train([^a-z]|$)/.test(n)) return 'train'
  if (/(^|[^a-z])(dev|val|valid|validation)([^a-z]|$)/.test(n)) return 'dev'
  if (/(^|[^a-z])(test|trial)([^a-z]|\d|$)/.test(n)) return 'test'
  return null
}

const NLI_LABELS = new Set(['entailment', 'neutral', 'contradiction', '-'])

/** Detects the task from the first items (values that parsed) and the file's path. */
export function detectTask(values: unknown[], path: string, textField?: string): Detection {
  const objects = values.filter(isObj)
  if (values.length > 0 && values.every(isStr)) return { task: 'text', field: null, evidence: 'plain text' }
  const c3 = values.filter((v) => Array.isArray(v) && v.length >= 2 && Array.isArray(v[0]) && Array.isArray(v[1]))
  if (c3.length > 0 && c3.length === values.length && (c3[0] as unknown[][])[1].every((q) => isObj(q) && 'question' in q && 'choice' in q)) {
    return { task: 'c3', field: null, evidence: '[paragraphs, [{question, choice, answer}], id] items' }
  }
  const keys = new Set(objects.flatMap((o) => Object.keys(o)))
  const has = (...ks: string[]) => ks.every((k) => keys.has(k))
  if (objects.length > 0 && objects.every((o) => Object.keys(o).every((k) => /^#idiom\d+#$/.test(k)))) {
    return { task: 'chid', field: null, labelsOnly: true, evidence: 'CHID answer map {"#idiomN#": index}' }
  }
  if (has('target', 'text') && objects.some((o) => isObj(o.target) && 'span1_index' in (o.target as Obj))) {
    return { task: 'wsc', field: null, evidence: 'fields text, target.span1_index/span2_index' }
  }
  if (has('abst', 'keyword')) return { task: 'csl', field: null, evidence: 'fields abst, keyword' }
  if (has('sentence', 'label_des')) return { task: 'iflytek', field: null, evidence: 'fields sentence, label_des' }
  if (has('sentence') && (has('label_desc') || has('keywords'))) return { task: 'tnews', field: null, evidence: 'fields sentence, label_desc, keywords' }
  if (has('label', 'label_des') && !keys.has('sentence')) return { task: 'iflytek', field: null, labelsOnly: true, evidence: 'IFLYTEK labels file {label, label_des}' }
  if (has('label', 'label_desc') && !keys.has('sentence')) return { task: 'tnews', field: null, labelsOnly: true, evidence: 'TNEWS labels file {label, label_desc}' }
  if (has('sentence1', 'sentence2')) {
    if (keys.has('genre') || keys.has('label0') || keys.has('prem_id')) return { task: 'ocnli', field: null, evidence: 'fields sentence1, sentence2, genre/label0' }
    const labels = objects.map((o) => o.label).filter((l) => l !== undefined).map(String)
    if (labels.length > 0 && labels.every((l) => NLI_LABELS.has(l))) return { task: 'cmnli', field: null, evidence: 'sentence pairs labelled entailment/neutral/contradiction' }
    if (labels.length > 0 && labels.every((l) => l === '0' || l === '1')) return { task: 'afqmc', field: null, evidence: 'sentence pairs labelled 0/1' }
    const p = path.toLowerCase()
    if (p.includes('cmnli')) return { task: 'cmnli', field: null, evidence: 'unlabelled sentence pairs; path names cmnli' }
    if (p.includes('ocnli')) return { task: 'ocnli', field: null, evidence: 'unlabelled sentence pairs; path names ocnli' }
    return { task: 'afqmc', field: null, evidence: 'unlabelled sentence pairs (AFQMC unless the path names cmnli)' }
  }
  if (has('paragraphs') && objects.some((o) => Array.isArray(o.paragraphs))) {
    return { task: 'cmrc2018', field: null, shape: 'squad', evidence: 'SQuAD shape: data → paragraphs → {context, qas}' }
  }
  if (has('context', 'question')) return { task: 'cmrc2018', field: null, shape: 'flat', evidence: 'flat shape: {id, context, question, answers}' }
  if (has('content', 'candidates')) return { task: 'chid', field: null, evidence: 'fields content (#idiomN# blanks), candidates' }
  const field = textField ?? pickTextField(objects)
  if (field) return { task: 'text', field, evidence: textField ? `text field ${field} chosen by the user` : `text field ${field}` }
  return { task: 'text', field: null, evidence: 'no text field found' }
}

/** The first known text field present with strings, else the string field with the most Han characters. */
export function pickTextField(objects: Obj[]): string | null {
  for (const f of TEXT_FIELDS) if (objects.some((o) => isStr(o[f]))) return f
  const han = new Map<string, number>()
  for (const o of objects) {
    for (const [k, v] of Object.entries(o)) if (isStr(v)) han.set(k, (han.get(k) ?? 0) + (v.match(/\p{Script=Han}/gu)?.length ?? 0) + v.length / 100)
  }
  const best = [...han].sort((a, b) => b[1] - a[1])[0]
  return best ? best[0] : null
}

/** A stored record and the texts in it (for statistics and dedup). */
export interface TaskRecord {
  record: Obj
  texts: string[]
  label: string | null
  labelDesc?: string
}

/** Span tasks index into their text: never re-normalise it, or answer offsets would point elsewhere. */
export const SPAN_TASKS: ReadonlySet<Task> = new Set(['cmrc2018', 'wsc'])

export class RecordError extends Error {}

function str(o: Obj, key: string, optional = false): string | undefined {
  const v = o[key]
  if (v === undefined || v === null) {
    if (optional) return undefined
    throw new RecordError(`missing field ${key}`)
  }
  if (typeof v === 'number') return String(v)
  if (!isStr(v)) throw new RecordError(`field ${key} is not a string: ${JSON.stringify(v).slice(0, 40)}`)
  return v
}

function strArray(o: Obj, key: string): string[] {
  const v = o[key]
  if (!Array.isArray(v) || !v.every(isStr)) throw new RecordError(`field ${key} is not an array of strings`)
  return v
}

function withOptional(rec: Obj, o: Obj, keys: string[]): Obj {
  for (const k of keys) if (o[k] !== undefined) rec[k] = o[k]
  return rec
}

/**
 * Turns one raw item into stored records. `clean` is applied to free text (not to span tasks' text).
 * `chidAnswers` joins CHID's separate answer file.
 */
export function toRecords(d: Detection, value: unknown, clean: (s: string) => string, chidAnswers?: Map<string, number>): TaskRecord[] {
  const c = SPAN_TASKS.has(d.task) ? (s: string) => s : clean
  if (d.task === 'text') {
    const raw = d.field === null ? value : isObj(value) ? value[d.field] : undefined
    if (!isStr(raw)) throw new RecordError(d.field ? `field ${d.field} missing or not a string` : 'not a string')
    const text = c(raw)
    return text === '' ? [] : [{ record: { text }, texts: [text], label: null }]
  }
  if (d.task === 'c3') {
    if (!Array.isArray(value) || !Array.isArray(value[0]) || !Array.isArray(value[1])) throw new RecordError('not a C3 item [paragraphs, questions, id]')
    const context = (value[0] as unknown[]).map((p) => c(String(p)))
    const id = value[2] === undefined ? undefined : String(value[2])
    return (value[1] as unknown[]).map((q, i) => {
      if (!isObj(q)) throw new RecordError(`question ${i} is not an object`)
      const question = c(str(q, 'question')!)
      const choice = strArray(q, 'choice').map(c)
      const answer = str(q, 'answer', true)
      const record: Obj = { id: id === undefined ? undefined : `${id}-${i}`, context, question, choice }
      if (answer !== undefined) record.answer = c(answer)
      return { record, texts: [...context, question, ...choice], label: answer === undefined ? null : String(choice.indexOf(c(answer))) }
    })
  }
  if (!isObj(value)) throw new RecordError('not a JSON object')
  const o = value
  switch (d.task) {
    case 'afqmc':
    case 'cmnli':
    case 'ocnli': {
      const sentence1 = c(str(o, 'sentence1')!)
      const sentence2 = c(str(o, 'sentence2')!)
      const label = str(o, 'label', true) ?? null
      const rec = withOptional({ sentence1, sentence2 }, o, d.task === 'ocnli' ? ['id', 'genre', 'prem_id', 'level'] : ['id'])
      if (label !== null) rec.label = label
      return [{ record: rec, texts: [sentence1, sentence2], label }]
    }
    case 'tnews':
    case 'iflytek': {
      const descKey = d.task === 'tnews' ? 'label_desc' : 'label_des'
      const label = str(o, 'label', true) ?? null
      const labelDesc = str(o, descKey, true)
      if (d.labelsOnly) return [{ record: {}, texts: [], label, labelDesc }]
      const sentence = c(str(o, 'sentence')!)
      const rec: Obj = withOptional({ sentence }, o, ['id'])
      if (label !== null) rec.label = label
      if (labelDesc !== undefined) rec[descKey] = labelDesc
      if (d.task === 'tnews' && o.keywords !== undefined) rec.keywords = c(str(o, 'keywords')!)
      return [{ record: rec, texts: [sentence], label, labelDesc }]
    }
    case 'wsc': {
      const text = str(o, 'text')!
      const target = o.target
      if (!isObj(target) || typeof target.span1_index !== 'number' || typeof target.span2_index !== 'number') {
        throw new RecordError('field target lacks span1_index/span2_index')
      }
      const label = str(o, 'label', true) ?? null
      const rec: Obj = withOptional({ text, target }, o, ['idx'])
      if (label !== null) rec.label = label
      return [{ record: rec, texts: [text], label }]
    }
    case 'csl': {
      const abst = c(str(o, 'abst')!)
      const keyword = strArray(o, 'keyword').map(c)
      const label = str(o, 'label', true) ?? null
      const rec: Obj = withOptional({ abst, keyword }, o, ['id'])
      if (label !== null) rec.label = label
      return [{ record: rec, texts: [abst], label }]
    }
    case 'cmrc2018':
      return d.shape === 'squad' ? squadRecords(o) : [flatQa(o)]
    case 'chid': {
      const content = strArray(o, 'content').map(c)
      const candidates = strArray(o, 'candidates')
      const rec: Obj = { content, candidates }
      if (chidAnswers) {
        const answers: Record<string, number> = {}
        for (const tag of content.join('').match(/#idiom\d+#/g) ?? []) {
          const a = chidAnswers.get(tag)
          if (a !== undefined) answers[tag] = a
        }
        rec.answers = answers
      }
      return [{ record: rec, texts: content.map((t) => t.replace(/#idiom\d+#/g, '')), label: null }]
    }
    default:
      throw new RecordError(`unknown task ${d.task}`)
  }
}

function answersOf(v: unknown): { text: string[]; answer_start: number[] } {
  if (Array.isArray(v)) {
    return {
      text: v.map((a) => (isObj(a) ? String(a.text) : String(a))),
      answer_start: v.map((a) => (isObj(a) && typeof a.answer_start === 'number' ? a.answer_start : -1)),
    }
  }
  if (isObj(v) && Array.isArray(v.text)) {
    return { text: v.text.map(String), answer_start: Array.isArray(v.answer_start) ? v.answer_start.map(Number) : [] }
  }
  return { text: [], answer_start: [] }
}

function flatQa(o: Obj): TaskRecord {
  const context = str(o, 'context')!
  const question = str(o, 'question')!
  const rec: Obj = withOptional({ context, question, answers: answersOf(o.answers) }, o, ['id'])
  return { record: rec, texts: [context, question], label: null }
}

function squadRecords(article: Obj): TaskRecord[] {
  if (!Array.isArray(article.paragraphs)) throw new RecordError('field paragraphs is not an array')
  const title = isStr(article.title) ? article.title : undefined
  const out: TaskRecord[] = []
  article.paragraphs.forEach((p: unknown, i: number) => {
    if (!isObj(p)) throw new RecordError(`paragraph ${i} is not an object`)
    const context = str(p, 'context')!
    if (!Array.isArray(p.qas)) throw new RecordError(`paragraph ${i} lacks qas`)
    for (const qa of p.qas as unknown[]) {
      if (!isObj(qa)) throw new RecordError(`paragraph ${i} has a question that is not an object`)
      const question = str(qa, 'question')!
      const rec: Obj = { id: qa.id, context, question, answers: answersOf(qa.answers) }
      if (title !== undefined) rec.title = title
      out.push({ record: rec, texts: [context, question], label: null })
    }
  })
  return out
}
