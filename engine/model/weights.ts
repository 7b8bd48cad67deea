// The parameter inventory of a BERT with its heads; initialising it as HF does; loading it from a
// checkpoint (checking every key and shape before copying anything, nanoGPT style); exporting it.
import * as tf from '@tensorflow/tfjs'
import type { BertConfig } from './config'
import { checkConfig, type Weights } from './bert'
import { usesPooler, type HeadSpec } from './heads'
import { canonicalName, encoderShapes, headParameterShapes } from './tensor-names'
import type { StoredTensor, TensorToWrite } from './safetensors'
import { Rng } from '../compute/rng'
import { WorkbenchError } from '../errors'

/** A model's structure: the encoder config, its heads, and whether it has the pooler. */
export interface BertArchitecture {
  config: BertConfig
  heads: HeadSpec[]
  /** HF drops the pooler for token classification and QA models; default: whether a head uses it. */
  pooler?: boolean
}

export const hasPooler = (arch: BertArchitecture) => arch.pooler ?? arch.heads.some(usesPooler)

/** Every parameter name → shape, in HF's module order (embeddings, layers, pooler, heads). */
export function parameterShapes(arch: BertArchitecture): Map<string, number[]> {
  checkConfig(arch.config)
  const shapes = encoderShapes(arch.config, { pooler: hasPooler(arch) })
  for (const head of arch.heads) {
    for (const [name, shape] of headParameterShapes(head, arch.config)) {
      if (shapes.has(name)) throw new Error(`two heads define parameter "${name}"`)
      shapes.set(name, shape)
    }
  }
  return shapes
}

/** Parameters exempt from weight decay: biases and LayerNorm weights (matched by name, as HF's Trainer). */
export const isNoDecay = (name: string) => name.endsWith('.bias') || name.includes('LayerNorm.')

/**
 * HF's BertPreTrainedModel._init_weights: Linear and Embedding weights ~ normal(0, initializer_range)
 * (plain normal, not truncated), biases 0, LayerNorm weight 1 / bias 0, the [PAD] embedding row 0.
 */
export function initialValue(name: string, shape: number[], config: BertConfig, rng: Rng): Float32Array {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1))
  if (name.endsWith('LayerNorm.weight')) return data.fill(1)
  if (name.endsWith('.bias')) return data
  rng.fillNormal(data, config.initializer_range)
  if (name === 'bert.embeddings.word_embeddings.weight') {
    const H = shape[1]
    data.fill(0, config.pad_token_id * H, (config.pad_token_id + 1) * H)
  }
  return data
}

function toVariables(values: Map<string, { shape: number[]; data: Float32Array }>): Weights {
  const w: Weights = new Map()
  for (const [name, { shape, data }] of values) {
    const initial = tf.tensor(data, shape, 'float32')
    w.set(name, tf.variable(initial, true))
    initial.dispose() // the variable holds its own reference to the data
  }
  return w
}

/** Fresh weights, HF's init with a seeded RNG (same seed → same weights). */
export function initWeights(arch: BertArchitecture, seed: number | Rng): Weights {
  const rng = typeof seed === 'number' ? new Rng(seed) : seed
  const values = new Map<string, { shape: number[]; data: Float32Array }>()
  for (const [name, shape] of parameterShapes(arch)) values.set(name, { shape, data: initialValue(name, shape, arch.config, rng) })
  return toVariables(values)
}

export interface LoadOptions {
  /** Parameters allowed to be absent from the checkpoint; they are initialised fresh (e.g. a new task head). */
  initMissing?: (name: string) => boolean
  /** Drop checkpoint keys the architecture does not use (e.g. pretraining heads when fine-tuning). */
  ignoreUnexpected?: boolean
  /** Seed or RNG for the freshly initialised parameters. */
  seed?: number | Rng
  /** Where the tensors came from, for error messages. */
  source?: string
}

export interface LoadResult {
  weights: Weights
  initialised: string[]
  ignored: string[]
}

/**
 * Builds weights from checkpoint tensors. Checks first, copies after: the key sets must match (up
 * to `options`), every shape must match, and dtypes must be floating point.
 */
export function loadWeights(arch: BertArchitecture, stored: Map<string, StoredTensor>, options: LoadOptions = {}): LoadResult {
  const source = options.source ?? 'checkpoint'
  const shapes = parameterShapes(arch)
  const expected = new Set(shapes.keys())
  const found = new Map<string, StoredTensor>()
  const ignored: string[] = []
  const unexpected: string[] = []
  for (const [key, t] of stored) {
    const name = canonicalName(key, true) // our MLM decoder is always tied to the word embeddings
    if (name === null) {
      ignored.push(key)
      continue
    }
    if (!expected.has(name)) {
      ;(options.ignoreUnexpected ? ignored : unexpected).push(key)
      continue
    }
    if (found.has(name)) throw new WorkbenchError('CORRUPT', `${source}: "${key}" and another key both map to parameter "${name}"`)
    found.set(name, t)
  }
  const missing = [...expected].filter((n) => !found.has(n) && !options.initMissing?.(n))
  const list = (names: string[]) => names.slice(0, 5).map((n) => `"${n}"`).join(', ') + (names.length > 5 ? `, … (${names.length} in all)` : '')
  if (missing.length > 0 || unexpected.length > 0) {
    const parts = [
      `${source}: ${stored.size} keys, the model expects ${expected.size}`,
      missing.length ? `missing ${list(missing)}` : '',
      unexpected.length ? `unexpected ${list(unexpected)}` : '',
    ]
    throw new WorkbenchError('BAD_INPUT', parts.filter(Boolean).join('; '))
  }
  for (const [name, t] of found) {
    const want = shapes.get(name)!
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new WorkbenchError('BAD_INPUT', `${source}: "${name}" has shape [${t.shape.join(', ')}], the model expects [${want.join(', ')}]`)
    }
    if (!(t.data instanceof Float32Array)) throw new WorkbenchError('BAD_INPUT', `${source}: "${name}" has dtype ${t.dtype}, expected a float tensor`)
  }
  const rng = options.seed === undefined ? new Rng(0) : typeof options.seed === 'number' ? new Rng(options.seed) : options.seed
  const values = new Map<string, { shape: number[]; data: Float32Array }>()
  const initialised: string[] = []
  for (const [name, shape] of shapes) {
    const t = found.get(name)
    if (t) values.set(name, { shape, data: t.data as Float32Array })
    else {
      values.set(name, { shape, data: initialValue(name, shape, arch.config, rng) })
      initialised.push(name)
    }
  }
  return { weights: toVariables(values), initialised, ignored }
}

/** The weights as safetensors-ready F32 tensors, in inventory order. */
export async function weightsToTensors(w: Weights): Promise<Map<string, TensorToWrite>> {
  const out = new Map<string, TensorToWrite>()
  for (const [name, v] of w) out.set(name, { dtype: 'F32', shape: v.shape, data: (await v.data()) as Float32Array })
  return out
}

export function disposeWeights(w: Weights): void {
  for (const v of w.values()) v.dispose()
  w.clear()
}

/** Total number of scalar parameters. */
export const parameterCount = (w: Weights) => [...w.values()].reduce((n, v) => n + v.size, 0)
