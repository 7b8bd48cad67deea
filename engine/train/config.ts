// A pretraining run's configuration: one typed object with commented defaults, validated by zod so
// that a JSON file, a preset and `--set key=value` overrides all go through the same checks.
import { z } from 'zod'
import { BENCH_CONFIGS, type BertConfig } from '../model/config'
import { parseBertConfig } from '../model/checkpoint'
import { badInput } from '../errors'

const positiveInt = z.number().int().positive()

/** Where the token sequences come from (serialisable: it crosses into the worker thread). */
export const dataSpec = z.discriminatedUnion('kind', [
  // JSON lines, each an array of token ids of one segment (no [CLS]/[SEP]; they are added per sequence)
  z.object({ kind: z.literal('token-file'), path: z.string().min(1) }).strict(),
  // deterministic random ids, for tests and benchmarks
  z.object({ kind: z.literal('synthetic'), sequences: positiveInt, minLength: positiveInt, maxLength: positiveInt, seed: z.number().int() }).strict(),
  // a plain-text file, one document or sentence per line, tokenized with the given vocab
  z.object({ kind: z.literal('text-file'), path: z.string().min(1), vocab: z.string().min(1) }).strict(),
  // an imported text dataset (its folder: manifest.json + JSON-lines shards of {text}), train split
  z.object({ kind: z.literal('dataset'), dir: z.string().min(1), vocab: z.string().min(1) }).strict(),
])
export type DataSpec = z.infer<typeof dataSpec>

const modelSpec = z.union([
  // a built-in size: the bench configs A (2×128), B (4×256), BASE (12×768), with bert-base-chinese's vocab
  z.object({ preset: z.enum(['A', 'B', 'BASE']), overrides: z.record(z.string(), z.unknown()).optional() }).strict(),
  // a full HF BertConfig object
  z.object({ config: z.record(z.string(), z.unknown()) }).strict(),
  // continue from a HF checkpoint directory (config.json + model.safetensors)
  z.object({ from: z.string().min(1) }).strict(),
])

/** Options only the torch engine reads (engine/launch/torch-plan.ts refuses what it cannot honour). */
export const torchOptions = z
  .object({
    nprocPerNode: positiveInt.default(1), // torchrun workers on this machine; batchSize is split over them
    nnodes: positiveInt.default(1), // machines (a cluster job folder)
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    precision: z.enum(['fp32', 'fp16', 'bf16']).default('fp32'), // fp16/bf16: autocast on CUDA
    zeroStage: z.number().int().min(0).max(3).default(0), // DeepSpeed ZeRO stage; 0 = plain DDP
    maxRestarts: z.number().int().min(0).default(1), // torchrun's elastic restarts after a worker dies
    python: z.string().min(1).optional(), // the interpreter; default MENGZI_PYTHON, python3, /usr/bin/python3
  })
  .strict()

export const trainConfigSchema = z
  .object({
    name: z.string().min(1).default('pretrain'),
    model: modelSpec.default({ preset: 'A' }),
    data: dataSpec,
    seed: z.number().int().default(42), // model init, data order, masking and dropout all derive from it
    backend: z.enum(['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']).default('auto'),
    // vocab.txt copied into every checkpoint, so the result is a complete HF folder (text-file data: its vocab)
    vocab: z.string().min(1).optional(),

    // objectives
    maxSeqLength: positiveInt.default(128), // [CLS] + tokens + [SEP], padded to this length
    mlmProbability: z.number().gt(0).lt(1).default(0.15), // of the non-special tokens; 80% [MASK], 10% random, 10% kept
    // sentence-pair objective on the pooled [CLS]: none (RoBERTa style, Mengzi's default), nsp (BERT's
    // next sentence prediction) or sop (ALBERT's sentence order); pairs are consecutive segments
    pairObjective: z.enum(['none', 'nsp', 'sop']).default('none'),

    // optimisation
    optimizer: z.enum(['adamw', 'lamb']).default('lamb'), // Mengzi pretrains with LAMB
    learningRate: z.number().positive().default(1e-4), // peak, reached at the end of warm-up
    warmupRatio: z.number().min(0).max(1).default(0.1), // of totalSteps, then linear decay to 0
    weightDecay: z.number().min(0).default(0.01), // not applied to biases and LayerNorm
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    eps: z.number().positive().default(1e-6),
    maxGradNorm: z.number().min(0).default(1.0), // global-norm clipping; 0 turns it off
    batchSize: positiveInt.default(16), // sequences per micro-batch
    gradientAccumulation: positiveInt.default(1), // micro-batches per optimizer step
    totalSteps: positiveInt.default(1000), // optimizer steps

    // bookkeeping
    checkpointEvery: z.number().int().min(0).default(500), // optimizer steps; 0 = only at the end
    logEvery: positiveInt.default(1), // steps between metric points

    // where the run executes: this process (TensorFlow.js) or PyTorch distributed (engine/launch, #15)
    engine: z.enum(['local', 'torch']).default('local'),
    torch: torchOptions.optional(),
  })
  .strict()

export type TrainConfig = z.infer<typeof trainConfigSchema>

/** The vocab.txt that goes with the model, if any. */
export const vocabOf = (config: TrainConfig): string | undefined =>
  config.vocab ?? (config.data.kind === 'text-file' || config.data.kind === 'dataset' ? config.data.vocab : undefined)
export type TrainConfigInput = z.input<typeof trainConfigSchema>

export function parseTrainConfig(raw: unknown, source = 'config'): TrainConfig {
  const r = trainConfigSchema.safeParse(raw)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw badInput(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }
  return r.data
}

/** The BertConfig of a preset or inline config (a checkpoint's config is read from its directory). */
export function presetModelConfig(model: TrainConfig['model']): BertConfig | null {
  if ('preset' in model) return parseBertConfig({ ...BENCH_CONFIGS[model.preset], ...(model.overrides ?? {}) }, `model.preset ${model.preset}`)
  if ('config' in model) return parseBertConfig(model.config, 'model.config')
  return null
}

/**
 * Applies `key=value` overrides (dotted keys reach into nested objects; values parse as JSON when
 * they can, else stay strings): `--set learningRate=3e-4 --set model.preset=B`.
 */
export function applyOverrides(raw: Record<string, unknown>, sets: string[]): Record<string, unknown> {
  const out = structuredClone(raw)
  for (const s of sets) {
    const eq = s.indexOf('=')
    if (eq <= 0) throw badInput(`--set ${JSON.stringify(s)}: expected key=value`)
    const keys = s.slice(0, eq).split('.')
    const text = s.slice(eq + 1)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      value = text
    }
    let node = out as Record<string, unknown>
    for (const k of keys.slice(0, -1)) {
      if (node[k] === undefined || node[k] === null || typeof node[k] !== 'object') node[k] = {}
      node = node[k] as Record<string, unknown>
    }
    node[keys[keys.length - 1]] = value
  }
  return out
}
