// HuggingFace BERT directories in and out: config.json, vocab.txt, tokenizer_config.json and
// model.safetensors (or a sharded model.safetensors.index.json). Reading validates the config, the
// vocabulary, and every tensor name and shape against the config before any tensor data is read.
// In memory, tensors carry BertForPreTraining-style names (`bert.…`, `cls.…`, task heads as
// `classifier.…`), float32; names, shapes and the renaming of foreign keys come from tensor-names.ts.
import fs from 'node:fs'
import path from 'node:path'
import { badInput, corrupt, notFound, unsupported, WorkbenchError } from '../errors'
import { parseVocab, SPECIAL_TOKENS, Vocab } from '../text/vocab'
import { BERT_BASE_CHINESE, type BertConfig } from './config'
import type { HeadSpec } from './heads'
import { canonicalName, encoderShapes, headParameterShapes } from './tensor-names'
import { readSafetensorsHeader, readSafetensors, writeSafetensors, type HeaderEntry, type StoredTensor, type TensorToWrite } from './safetensors'
import { readPytorchBin } from './pytorch-bin'

export interface Tensor32 {
  shape: number[]
  data: Float32Array
}

/** The parts a BERT checkpoint may have besides the encoder. */
export type BertHead = 'pooler' | 'mlm' | 'nsp' | 'classifier' | 'qa' | 'choice'

export interface BertCheckpoint {
  /** Without `architectures`: the heads say what the model is, and export writes it from them. */
  config: BertConfig & { tie_word_embeddings: boolean }
  vocab: string[]
  /** The tokenizer's do_lower_case. */
  lowercase: boolean
  heads: BertHead[]
  tensors: Map<string, Tensor32>
}

// HuggingFace BertConfig's own defaults, which apply to fields a config.json leaves out: bert-base's
// shape, with the English vocab size
const HF_DEFAULTS = { ...BERT_BASE_CHINESE, vocab_size: 30522 }

const INT_FIELDS = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size'] as const
const RATE_FIELDS = ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const

/** Validates a config.json object; `file` names it in errors. */
export function parseHfConfig(raw: unknown, file: string): BertCheckpoint['config'] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badInput(`${file}: expected a JSON object`)
  const c = raw as Record<string, unknown>
  const field = (name: string) => `${file}: ${name}`
  // configs from before model_type existed are BERT when their architectures say so
  const untypedBert = c.model_type === undefined && (!Array.isArray(c.architectures) || c.architectures.every((a) => typeof a === 'string' && a.startsWith('Bert')))
  if (c.model_type !== 'bert' && !untypedBert) {
    throw unsupported(`${field('model_type')}: ${JSON.stringify(c.model_type ?? null)} is not supported; only "bert" checkpoints (BertModel, BertForMaskedLM, BertForPreTraining, BertForSequenceClassification) can be imported`)
  }
  const pick = <K extends keyof typeof HF_DEFAULTS>(k: K): unknown => (c[k] === undefined || c[k] === null ? HF_DEFAULTS[k] : c[k])
  for (const k of INT_FIELDS) {
    const v = pick(k)
    if (!Number.isInteger(v) || (v as number) < 1) throw badInput(`${field(k)}: expected a positive integer, got ${JSON.stringify(v)}`)
  }
  for (const k of RATE_FIELDS) {
    const v = pick(k)
    if (typeof v !== 'number' || v < 0 || v >= 1) throw badInput(`${field(k)}: expected a probability in [0, 1), got ${JSON.stringify(v)}`)
  }
  for (const k of ['initializer_range', 'layer_norm_eps'] as const) {
    const v = pick(k)
    if (typeof v !== 'number' || !(v > 0)) throw badInput(`${field(k)}: expected a positive number, got ${JSON.stringify(v)}`)
  }
  const pad = pick('pad_token_id')
  if (!Number.isInteger(pad) || (pad as number) < 0) throw badInput(`${field('pad_token_id')}: expected a non-negative integer, got ${JSON.stringify(pad)}`)
  if (pick('position_embedding_type') !== 'absolute') {
    throw unsupported(`${field('position_embedding_type')}: ${JSON.stringify(c.position_embedding_type)} is not supported; only "absolute" positions`)
  }
  if (pick('hidden_act') !== 'gelu') throw unsupported(`${field('hidden_act')}: ${JSON.stringify(c.hidden_act)} is not supported; only "gelu" (erf)`)
  if (c.is_decoder === true) throw unsupported(`${field('is_decoder')}: true is not supported; only encoders`)
  if (c.add_cross_attention === true) throw unsupported(`${field('add_cross_attention')}: true is not supported; only encoders`)
  const hidden = pick('hidden_size') as number
  const heads = pick('num_attention_heads') as number
  if (hidden % heads !== 0) throw badInput(`${file}: hidden size (${hidden}) is not a multiple of the number of attention heads (${heads})`)
  if ((pad as number) >= (pick('vocab_size') as number)) throw badInput(`${field('pad_token_id')}: ${pad} is outside the vocabulary (vocab_size ${pick('vocab_size')})`)

  const config: BertCheckpoint['config'] = {
    vocab_size: pick('vocab_size') as number,
    hidden_size: hidden,
    num_hidden_layers: pick('num_hidden_layers') as number,
    num_attention_heads: heads,
    intermediate_size: pick('intermediate_size') as number,
    hidden_act: 'gelu',
    hidden_dropout_prob: pick('hidden_dropout_prob') as number,
    attention_probs_dropout_prob: pick('attention_probs_dropout_prob') as number,
    max_position_embeddings: pick('max_position_embeddings') as number,
    type_vocab_size: pick('type_vocab_size') as number,
    initializer_range: pick('initializer_range') as number,
    layer_norm_eps: pick('layer_norm_eps') as number,
    pad_token_id: pad as number,
    position_embedding_type: 'absolute',
    tie_word_embeddings: c.tie_word_embeddings !== false,
  }
  if (c.id2label !== undefined) config.id2label = parseId2Label(c.id2label, field('id2label'))
  if (config.id2label) config.label2id = Object.fromEntries(Object.entries(config.id2label).map(([id, label]) => [label, Number(id)]))
  return config
}

function parseId2Label(v: unknown, where: string): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badInput(`${where}: expected an object of id → label, got ${JSON.stringify(v)}`)
  const entries = Object.entries(v as Record<string, unknown>)
  const out: Record<string, string> = {}
  entries.forEach(([id, label]) => {
    if (!/^\d+$/.test(id) || Number(id) >= entries.length) throw badInput(`${where}: ids must be 0..${entries.length - 1}, got ${JSON.stringify(id)}`)
    if (typeof label !== 'string') throw badInput(`${where}.${id}: expected a label string, got ${JSON.stringify(label)}`)
    out[id] = label
  })
  return out
}

export { canonicalName }

/** Every tensor a checkpoint with these heads must have, with its shape from the config (tensor-names.ts). */
export function expectedShapes(config: BertCheckpoint['config'], heads: readonly BertHead[]): Map<string, number[]> {
  const m = encoderShapes(config, { pooler: heads.includes('pooler') })
  const add = (head: HeadSpec) => {
    for (const [name, shape] of headParameterShapes(head, config)) m.set(name, shape)
  }
  if (heads.includes('mlm')) {
    add({ kind: 'mlm' })
    if (!config.tie_word_embeddings) m.set('cls.predictions.decoder.weight', [config.vocab_size, config.hidden_size])
  }
  if (heads.includes('nsp')) add({ kind: 'nsp' })
  if (heads.includes('classifier')) add({ kind: 'sequence', name: 'classifier', numLabels: numLabels(config) })
  if (heads.includes('choice')) add({ kind: 'choice', name: 'classifier' }) // BertForMultipleChoice: one score per choice
  if (heads.includes('qa')) add({ kind: 'span', name: 'qa_outputs' }) // BertForQuestionAnswering: start and end logits
  return m
}

/** HF's num_labels: the size of id2label, 2 by default. */
export const numLabels = (config: BertConfig) => (config.id2label ? Object.keys(config.id2label).length : 2)

/** `multipleChoice`: config.json's architectures say BertForMultipleChoice (its classifier has 1 output). */
function headsOf(names: Iterable<string>, multipleChoice = false): BertHead[] {
  const heads = new Set<BertHead>()
  for (const n of names) {
    if (n.startsWith('bert.pooler.')) heads.add('pooler')
    else if (n.startsWith('cls.predictions.')) heads.add('mlm')
    else if (n.startsWith('cls.seq_relationship.')) heads.add('nsp')
    else if (n.startsWith('classifier.')) heads.add(multipleChoice ? 'choice' : 'classifier')
    else if (n.startsWith('qa_outputs.')) heads.add('qa')
  }
  return (['pooler', 'mlm', 'nsp', 'classifier', 'qa', 'choice'] as const).filter((h) => heads.has(h))
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i])

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    if (err instanceof SyntaxError) throw corrupt(`${file}: not valid JSON (${err.message})`)
    throw err
  }
}

/** Files named by a sharded checkpoint's index (weight_map: tensor → file). */
function indexedShards(dir: string, index: string): string[] {
  const raw = readJson(index) as { weight_map?: unknown }
  if (!raw || typeof raw.weight_map !== 'object' || raw.weight_map === null) throw badInput(`${index}: weight_map: expected an object of tensor → file`)
  const shards = [...new Set(Object.values(raw.weight_map as Record<string, unknown>))]
  return shards.map((s) => {
    if (typeof s !== 'string' || s.includes('/') || s.includes('\\')) throw badInput(`${index}: weight_map: bad shard file name ${JSON.stringify(s)}`)
    const f = path.join(dir, s)
    if (!fs.existsSync(f)) throw notFound(`${index}: shard ${s} is missing`)
    return f
  })
}

/**
 * The weight files of a directory: model.safetensors (or the shards its index lists), else
 * pytorch_model.bin (or its shards), read by the restricted unpickler (pytorch-bin.ts).
 */
function weightFiles(dir: string): { kind: 'safetensors' | 'bin'; files: string[] } {
  const single = path.join(dir, 'model.safetensors')
  if (fs.existsSync(single)) return { kind: 'safetensors', files: [single] }
  const index = path.join(dir, 'model.safetensors.index.json')
  if (fs.existsSync(index)) return { kind: 'safetensors', files: indexedShards(dir, index) }
  const bin = path.join(dir, 'pytorch_model.bin')
  if (fs.existsSync(bin)) return { kind: 'bin', files: [bin] }
  const binIndex = path.join(dir, 'pytorch_model.bin.index.json')
  if (fs.existsSync(binIndex)) return { kind: 'bin', files: indexedShards(dir, binIndex) }
  if (fs.existsSync(path.join(dir, 'tf_model.h5'))) throw unsupported(`${dir}: TensorFlow weights (tf_model.h5) are not supported; convert the folder to safetensors with transformers`)
  throw notFound(`${dir}: no model.safetensors (nor pytorch_model.bin)`)
}

const isMultipleChoice = (raw: unknown) => {
  const a = (raw as { architectures?: unknown })?.architectures
  return Array.isArray(a) && a[0] === 'BertForMultipleChoice'
}

/** Reads and validates a HuggingFace BERT directory. Nothing is returned unless everything checks out. */
export async function readHfCheckpoint(dir: string): Promise<BertCheckpoint> {
  let stat: fs.Stats
  try {
    stat = fs.statSync(dir)
  } catch {
    throw notFound(`${dir}: no such directory`)
  }
  if (!stat.isDirectory()) throw badInput(`${dir}: not a directory (a HuggingFace BERT folder holds config.json, vocab.txt and model.safetensors)`)
  const configFile = path.join(dir, 'config.json')
  if (!fs.existsSync(configFile)) throw notFound(`${dir}: no config.json (a HuggingFace BERT folder holds config.json, vocab.txt and model.safetensors)`)
  const rawConfig = readJson(configFile)
  const config = parseHfConfig(rawConfig, configFile)
  const multipleChoice = isMultipleChoice(rawConfig)

  const { vocab, vocabFile, lowercase } = readTokenizerFiles(dir)
  if (vocab.size > config.vocab_size) throw badInput(`${vocabFile}: ${vocab.size} tokens but ${configFile}: vocab_size is ${config.vocab_size}`)

  // names and shapes first, from the headers alone
  const { kind, files } = weightFiles(dir)
  // safetensors: names and shapes from the headers, data later; a PyTorch pickle is read whole at once
  const pickled = new Map<string, Map<string, StoredTensor>>()
  const headers: { file: string; entries: Pick<HeaderEntry, 'name' | 'shape'>[] }[] = []
  for (const file of files) {
    if (kind === 'bin') {
      const tensors = await readPytorchBin(file)
      pickled.set(file, tensors)
      headers.push({ file, entries: [...tensors].map(([name, t]) => ({ name, shape: t.shape })) })
    } else headers.push({ file, entries: (await readSafetensorsHeader(file)).entries })
  }
  const found = new Map<string, { file: string; key: string; shape: number[] }>()
  let decoderBias: { file: string; key: string; shape: number[] } | undefined
  for (const { file, entries } of headers) {
    for (const e of entries) {
      if (e.name.endsWith('cls.predictions.decoder.bias')) decoderBias = { file, key: e.name, shape: e.shape }
      const name = canonicalName(e.name, config.tie_word_embeddings)
      if (name === null) continue
      const previous = found.get(name)
      if (previous) throw corrupt(`${file}: tensors ${JSON.stringify(previous.key)} and ${JSON.stringify(e.name)} are both ${name}`)
      found.set(name, { file, key: e.name, shape: e.shape })
    }
  }
  // an MLM head saved with only the decoder's bias (older transformers) still has its bias
  if (decoderBias && !found.has('cls.predictions.bias')) found.set('cls.predictions.bias', decoderBias)
  const heads = headsOf(found.keys(), multipleChoice)
  const expected = expectedShapes(config, heads)
  const where = files.length === 1 ? files[0] : path.join(dir, kind === 'bin' ? 'pytorch_model.bin.index.json' : 'model.safetensors.index.json')
  for (const [name, f] of found) {
    const shape = expected.get(name)
    if (!shape) throw badInput(`${f.file}: unexpected tensor ${JSON.stringify(f.key)} for a ${config.num_hidden_layers}-layer BERT (${configFile})`)
    if (!sameShape(shape, f.shape)) {
      throw badInput(`${f.file}: tensor ${JSON.stringify(f.key)} has shape ${JSON.stringify(f.shape)} but ${configFile} implies ${JSON.stringify(shape)}`)
    }
  }
  const missing = [...expected.keys()].filter((n) => !found.has(n))
  if (missing.length > 0) {
    throw badInput(`${where}: ${missing.length} of ${expected.size} tensors missing for ${describeHeads(heads)}, first ${JSON.stringify(missing[0])}`)
  }

  const tensors = new Map<string, Tensor32>()
  for (const { file } of headers) {
    const wanted = new Map([...found].filter(([, f]) => f.file === file).map(([name, f]) => [f.key, name]))
    const read = pickled.get(file) ?? (await readSafetensors(file, { only: (key) => wanted.has(key) }))
    for (const [key, t] of read) {
      if (!wanted.has(key)) continue
      if (!(t.data instanceof Float32Array)) throw unsupported(`${file}: tensor ${JSON.stringify(key)} is ${t.dtype}; BERT parameters must be F32, F16 or BF16`)
      tensors.set(wanted.get(key)!, { shape: t.shape, data: t.data })
    }
  }
  // canonical order: the order of expectedShapes
  const ordered = new Map([...expected.keys()].map((n) => [n, tensors.get(n)!]))
  return { config, vocab: [...vocab.tokens], lowercase, heads, tensors: ordered }
}

/**
 * A checkpoint from in-memory weights (a trained model: names as engine/model's parameter inventory,
 * i.e. the canonical names here), checked like a file: every expected tensor present with its shape.
 * Write it with writeHfCheckpoint.
 */
export function checkpointFromTensors(
  config: BertCheckpoint['config'],
  vocab: readonly string[],
  lowercase: boolean,
  tensors: ReadonlyMap<string, Tensor32>,
  options: { multipleChoice?: boolean } = {},
): BertCheckpoint {
  const heads = headsOf(tensors.keys(), options.multipleChoice)
  const expected = expectedShapes(config, heads)
  for (const [name, t] of tensors) {
    const shape = expected.get(name)
    if (!shape) throw badInput(`unexpected tensor ${JSON.stringify(name)} for a ${config.num_hidden_layers}-layer BERT`)
    if (!sameShape(shape, t.shape)) throw badInput(`tensor ${JSON.stringify(name)} has shape ${JSON.stringify(t.shape)}, the config implies ${JSON.stringify(shape)}`)
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw badInput(`tensor ${JSON.stringify(name)}: ${t.data.length} values for shape ${JSON.stringify(t.shape)}`)
  }
  const missing = [...expected.keys()].filter((n) => !tensors.has(n))
  if (missing.length > 0) throw badInput(`${missing.length} of ${expected.size} tensors missing for ${describeHeads(heads)}, first ${JSON.stringify(missing[0])}`)
  if (vocab.length > config.vocab_size) throw badInput(`${vocab.length} vocabulary tokens but vocab_size is ${config.vocab_size}`)
  return { config, vocab: [...vocab], lowercase, heads, tensors: new Map([...expected.keys()].map((n) => [n, tensors.get(n)!])) }
}

/**
 * The vocabulary and do_lower_case: vocab.txt (+ tokenizer_config.json), or, for a folder saved with
 * only a fast tokenizer, the WordPiece vocabulary and BertNormalizer of tokenizer.json.
 */
export function readTokenizerFiles(dir: string): { vocab: Vocab; vocabFile: string; lowercase: boolean } {
  let lowercase = true
  const tokConfigFile = path.join(dir, 'tokenizer_config.json')
  if (fs.existsSync(tokConfigFile)) {
    const tc = readJson(tokConfigFile) as Record<string, unknown>
    if (tc && tc.do_lower_case !== undefined) {
      if (typeof tc.do_lower_case !== 'boolean') throw badInput(`${tokConfigFile}: do_lower_case: expected true or false, got ${JSON.stringify(tc.do_lower_case)}`)
      lowercase = tc.do_lower_case
    }
  }
  const txt = path.join(dir, 'vocab.txt')
  const json = path.join(dir, 'tokenizer.json')
  let vocab: Vocab
  let vocabFile = txt
  if (fs.existsSync(txt)) vocab = parseVocab(fs.readFileSync(txt, 'utf8'), txt)
  else if (fs.existsSync(json)) {
    vocabFile = json
    const tj = readJson(json) as { model?: { type?: unknown; vocab?: unknown }; normalizer?: { type?: unknown; lowercase?: unknown } }
    if (tj?.model?.type !== 'WordPiece') throw unsupported(`${json}: model.type ${JSON.stringify(tj?.model?.type ?? null)} is not supported; only WordPiece (BERT) tokenizers`)
    const entries = tj.model.vocab
    if (!entries || typeof entries !== 'object' || Array.isArray(entries)) throw badInput(`${json}: model.vocab: expected an object of token → id`)
    const tokens: string[] = []
    for (const [token, id] of Object.entries(entries as Record<string, unknown>)) {
      if (!Number.isInteger(id) || (id as number) < 0) throw badInput(`${json}: model.vocab.${token}: expected a non-negative integer id, got ${JSON.stringify(id)}`)
      if (tokens[id as number] !== undefined) throw badInput(`${json}: model.vocab: id ${id} is given to both ${JSON.stringify(tokens[id as number])} and ${JSON.stringify(token)}`)
      tokens[id as number] = token
    }
    const gap = tokens.findIndex((t) => t === undefined)
    if (gap >= 0 || tokens.length !== Object.keys(entries).length) throw badInput(`${json}: model.vocab: ids are not 0..${Object.keys(entries).length - 1} (id ${gap} is missing)`)
    vocab = new Vocab(tokens, json)
    if (tj.normalizer?.type === 'BertNormalizer' && typeof tj.normalizer.lowercase === 'boolean' && !fs.existsSync(tokConfigFile)) lowercase = tj.normalizer.lowercase
  } else throw notFound(`${dir}: no vocab.txt (nor a WordPiece tokenizer.json)`)
  for (const t of SPECIAL_TOKENS) vocab.specialId(t, vocabFile)
  return { vocab, vocabFile, lowercase }
}

function describeHeads(heads: readonly BertHead[]): string {
  return heads.length === 0 ? 'an encoder without heads' : `an encoder with ${heads.join(', ')}`
}

/** The HF class that loads a checkpoint with these heads. */
export function architectureOf(heads: readonly BertHead[]): string {
  if (heads.includes('qa')) return 'BertForQuestionAnswering'
  if (heads.includes('choice')) return 'BertForMultipleChoice'
  if (heads.includes('classifier')) return 'BertForSequenceClassification'
  if (heads.includes('mlm') && heads.includes('nsp')) return 'BertForPreTraining'
  if (heads.includes('mlm')) return 'BertForMaskedLM'
  if (heads.includes('nsp')) return 'BertForNextSentencePrediction'
  return 'BertModel'
}

export type ExportDtype = 'float32' | 'float16'

export interface WriteOptions {
  dtype?: ExportDtype
  /** Write into a directory that already holds files (they are replaced). Default false. */
  overwrite?: boolean
}

/**
 * Writes a directory that transformers loads with from_pretrained: config.json, vocab.txt,
 * tokenizer_config.json, special_tokens_map.json, model.safetensors (keys as save_pretrained writes them).
 */
export async function writeHfCheckpoint(dir: string, ckpt: BertCheckpoint, options: WriteOptions = {}): Promise<string[]> {
  const dtype = options.dtype ?? 'float32'
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw badInput(`${dir}: exists and is not a directory`)
    if (!options.overwrite && fs.readdirSync(dir).length > 0) throw new WorkbenchError('CONFLICT', `${dir}: directory is not empty; choose an empty or new folder`)
  }
  fs.mkdirSync(dir, { recursive: true })
  const architecture = architectureOf(ckpt.heads)
  const { config } = ckpt
  const hfConfig: Record<string, unknown> = {
    architectures: [architecture],
    model_type: 'bert',
    ...Object.fromEntries(Object.entries(config).filter(([k]) => !['architectures', 'id2label', 'label2id'].includes(k))),
    dtype,
    torch_dtype: dtype,
  }
  if (ckpt.heads.includes('classifier')) {
    const id2label = config.id2label ?? { 0: 'LABEL_0', 1: 'LABEL_1' }
    hfConfig.id2label = id2label
    hfConfig.label2id = Object.fromEntries(Object.entries(id2label).map(([id, l]) => [l, Number(id)]))
  }
  // BertModel's own keys have no prefix; every model with a head keeps `bert.`
  const keyOf = (name: string) => (architecture === 'BertModel' ? name.replace(/^bert\./, '') : name)
  const tensors = new Map<string, TensorToWrite>()
  for (const [name, t] of ckpt.tensors) tensors.set(keyOf(name), { dtype: dtype === 'float16' ? 'F16' : 'F32', shape: t.shape, data: t.data })

  const files = ['config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'model.safetensors']
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text)
  write('config.json', `${JSON.stringify(hfConfig, null, 2)}\n`)
  write('vocab.txt', `${ckpt.vocab.join('\n')}\n`)
  write(
    'tokenizer_config.json',
    `${JSON.stringify(
      {
        tokenizer_class: 'BertTokenizer',
        do_lower_case: ckpt.lowercase,
        tokenize_chinese_chars: true,
        strip_accents: null,
        model_max_length: config.max_position_embeddings,
        unk_token: '[UNK]',
        sep_token: '[SEP]',
        pad_token: '[PAD]',
        cls_token: '[CLS]',
        mask_token: '[MASK]',
      },
      null,
      2,
    )}\n`,
  )
  write(
    'special_tokens_map.json',
    `${JSON.stringify({ unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' }, null, 2)}\n`,
  )
  // transformers refuses safetensors files without format metadata
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' })
  return files.map((f) => path.join(dir, f))
}
