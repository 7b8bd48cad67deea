// A HuggingFace BERT checkpoint directory: config.json + model.safetensors (+ vocab.txt, not read here).
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { BertConfig } from './config'
import { readSafetensors, type StoredTensor } from './safetensors'
import { badInput, notFound } from '../errors'
import { parseHfConfig } from './hf-checkpoint'

/**
 * Parses a config.json object into a BertConfig, naming the field at fault. One parser for the whole
 * engine: the HF import's (hf-checkpoint.ts), which also refuses what the model cannot run.
 */
export function parseBertConfig(raw: unknown, source = 'config.json'): BertConfig {
  return parseHfConfig(raw, source)
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
