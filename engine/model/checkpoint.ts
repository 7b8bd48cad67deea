// A HuggingFace BERT checkpoint directory: config.json + model.safetensors (+ vocab.txt, not read here).
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { BertConfig } from './config'
import { readSafetensors, type StoredTensor } from './safetensors'
import { badInput, notFound } from '../errors'

/** HF BertConfig's defaults for the optional fields a config.json may leave out. */
const OPTIONAL_DEFAULTS = {
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  type_vocab_size: 2,
  max_position_embeddings: 512,
} as const

const REQUIRED = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size'] as const

/** Parses a config.json object into a BertConfig, naming the field at fault. */
export function parseBertConfig(raw: unknown, source = 'config.json'): BertConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badInput(`${source}: expected a JSON object`)
  const obj = raw as Record<string, unknown>
  if (obj.model_type !== undefined && obj.model_type !== 'bert') {
    throw badInput(`${source}: model_type ${JSON.stringify(obj.model_type)} is not "bert"`)
  }
  for (const field of REQUIRED) {
    const v = obj[field]
    if (!Number.isInteger(v) || (v as number) <= 0) throw badInput(`${source}: ${field} must be a positive integer, got ${JSON.stringify(v)}`)
  }
  const config = { ...OPTIONAL_DEFAULTS, ...obj } as unknown as BertConfig
  if (config.hidden_act !== 'gelu') throw badInput(`${source}: hidden_act ${JSON.stringify(config.hidden_act)} is not supported (only "gelu")`)
  if (config.position_embedding_type !== 'absolute') {
    throw badInput(`${source}: position_embedding_type ${JSON.stringify(config.position_embedding_type)} is not supported (only "absolute")`)
  }
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw badInput(`${source}: hidden size (${config.hidden_size}) is not a multiple of the number of attention heads (${config.num_attention_heads})`)
  }
  return config
}

export async function readBertConfig(dir: string): Promise<BertConfig> {
  const path = join(dir, 'config.json')
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw notFound(`${path}: no such file (a model directory holds config.json and model.safetensors)`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw badInput(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`)
  }
  return parseBertConfig(raw, path)
}

export interface Checkpoint {
  config: BertConfig
  tensors: Map<string, StoredTensor>
  weightsPath: string
}

export async function readCheckpointDir(dir: string): Promise<Checkpoint> {
  const info = await stat(dir).catch(() => null)
  if (!info?.isDirectory()) throw notFound(`${dir}: not a model directory`)
  const config = await readBertConfig(dir)
  const weightsPath = join(dir, 'model.safetensors')
  return { config, tensors: await readSafetensors(weightsPath), weightsPath }
}
