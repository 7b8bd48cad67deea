// A pretraining run's configuration: one typed object with commented defaults, validated by zod so
// that a JSON file, a preset and `--set key=value` overrides all go through the same checks.
import { z } from 'zod'
import { BENCH_CONFIGS, type BertConfig } from '../model/config'
import { parseBertConfig } from '../model/checkpoint'
import { badInput } from '../errors'
import { defaultVocabPath } from '../text/default-vocab'

/** The pretraining objectives (engine/train/objectives.ts, docs/objectives.md). */
export const OBJECTIVES = ['mlm', 'pos', 'ner', 'nsp', 'sop'] as const
export type Objective = (typeof OBJECTIVES)[number]

/** Model sizes of the run presets, beside the benchmark sizes A, B, BASE. */
export const MODEL_SIZES: Record<'tiny' | 'small' | 'mengzi-base', Partial<BertConfig>> = {
  // 2 × 128 with a short FFN: a first curve in a minute on 2 cores
  tiny: { num_hidden_layers: 2, hidden_size: 128, num_attention_heads: 2, intermediate_size: 256, max_position_embeddings: 128 },
  small: { num_hidden_layers: 4, hidden_size: 256, num_attention_heads: 4, intermediate_size: 1024 },
  // the Mengzi report's base model: BERT-base shape
  'mengzi-base': {},
}

const positiveInt = z.number().int().positive()

/** Where the token sequences come from (serialisable: it crosses into the worker thread). */
export const dataSpec = z.discriminatedUnion('kind', [
  // JSON lines, each an array of token ids of one segment (no [CLS]/[SEP]; they are added per sequence)
  z.object({ kind: z.literal('token-file'), path: z.string().min(1) }).strict(),
  // deterministic random ids, for tests and benchmarks
  z.object({ kind: z.literal('synthetic'), sequences: positiveInt, minLength: positiveInt, maxLength: positiveInt, seed: z.number().int() }).strict(),
  // a plain-text file, one document or sentence per line, tokenized with the given vocab
  z.object({ kind: z.literal('text-file'), path: z.string().min(1), vocab: z.string().min(1) }).strict(),
  // an imported text dataset (its folder: manifest.json + JSON-lines shards of {text}): its token shards
  // (docs/shards.md, built on first use), train split for training, dev split for evaluation;
  // vocab defaults to the bundled resources/vocab/vocab.txt
  z.object({ kind: z.literal('dataset'), dir: z.string().min(1), vocab: z.string().min(1).optional() }).strict(),
])
export type DataSpec = z.infer<typeof dataSpec>

const modelSpec = z.union([
  // a built-in size: the bench configs A (2×128), B (4×256), BASE (12×768), with bert-base-chinese's vocab
  z.object({ preset: z.enum(['tiny', 'small', 'mengzi-base', 'A', 'B', 'BASE']), overrides: z.record(z.string(), z.unknown()).optional() }).strict(),
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
    // fp16: mixed precision on webgpu with shader-f16 (f16 product inputs, f32 accumulation and master weights, dynamic loss scaling)
    precision: z.enum(['fp32', 'fp16']).default('fp32'),
    // vocab.txt copied into every checkpoint, so the result is a complete HF folder (text-file data: its vocab)
    vocab: z.string().min(1).optional(),
    // continued pretraining: "model:ID", "run:ID" or a HF folder; resolved into model.from when the run starts
    initFrom: z.union([z.string().min(1), z.number().int().positive()]).optional(),

    // objectives: any of mlm (masked LM), pos (UPOS per token), ner (BIO entities per token), nsp (next
    // sentence), sop (sentence order); pos/ner learn the dataset's tags (tagged first when needed)
    objectives: z.array(z.enum(OBJECTIVES)).min(1).default(['mlm']),
    // each objective's weight in the total loss (1 when absent)
    objectiveWeights: z
      .object({ mlm: z.number().min(0), pos: z.number().min(0), ner: z.number().min(0), nsp: z.number().min(0), sop: z.number().min(0) })
      .partial()
      .strict()
      .default({}),
    maxSeqLength: positiveInt.default(128), // [CLS] + tokens + [SEP], padded to the longest in the batch
    mlmProbability: z.number().gt(0).lt(1).default(0.15), // of the non-special tokens; 80% [MASK], 10% random, 10% kept
    // mask all WordPieces of a word together (jieba words from the tag cache; else WordPiece words), the
    // budget still counted in tokens
    wholeWordMask: z.boolean().default(false),
    // dynamic gradient correction (docs/dgc.md)
    dgc: z
      .object({
        enabled: z.boolean().default(false),
        reweight: z.boolean().default(true), // scale each sequence's MLM gradient by how much structure the mask kept
        gamma: z.number().min(0).default(1), // w = max(floor, (1 − broken share)^gamma)
        floor: z.number().min(0).max(1).default(0.1),
        project: z.boolean().default(false), // PCGrad: drop the MLM gradient's component against POS/NE (2 backward passes)
      })
      .strict()
      .prefault({}),
    // knowledge distillation from a frozen teacher (docs/strategies.md § Knowledge distillation, in pretraining):
    // the teacher runs in eval mode on the same masked batch; the terms are added to the objectives' loss
    distill: z
      .object({
        teacher: z.string().min(1), // "model:ID", "run:ID" or a HF folder; resolved to a folder when the run starts
        temperature: z.number().positive().default(2), // T of the soft-label KL, scaled by T²
        logitWeight: z.number().min(0).default(1), // α: KL(teacher ‖ student) of the MLM logits at masked positions
        hiddenWeight: z.number().min(0).default(0), // β: hidden-state loss over mapped layers (equal hidden sizes)
        hiddenLoss: z.enum(['mse', 'kl']).default('mse'),
        // student hidden state i (0 = embeddings) ← teacher state layerMap[i]; default: uniform
        layerMap: z.array(z.number().int().min(0)).optional(),
      })
      .strict()
      .optional(),
    // older spelling of a pair objective (kept for saved configs): adds nsp or sop to the objectives
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

    // held-out evaluation on the dataset's dev split every evalEvery steps (0 = only at the end), over at
    // most evalBatches batches; logged as eval/... series
    evalEvery: z.number().int().min(0).default(0),
    evalBatches: positiveInt.default(8),

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
  config.vocab ?? (config.data.kind === 'text-file' ? config.data.vocab : config.data.kind === 'dataset' ? (config.data.vocab ?? defaultVocabPath()) : undefined)

/** The objectives a run trains, in a fixed order (pairObjective folded in). */
export function activeObjectives(config: Pick<TrainConfig, 'objectives' | 'pairObjective'>): Objective[] {
  const set = new Set<Objective>(config.objectives)
  if (config.pairObjective !== 'none') set.add(config.pairObjective)
  return OBJECTIVES.filter((o) => set.has(o))
}
export type TrainConfigInput = z.input<typeof trainConfigSchema>

export function parseTrainConfig(raw: unknown, source = 'config'): TrainConfig {
  const r = trainConfigSchema.safeParse(raw)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw badInput(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }
  if (r.data.engine === 'local') refuseFp16OffWebgpu(r.data, source)
  return r.data
}

/**
 * fp16 with a named backend other than webgpu, refused as the config is read (pretraining and
 * fine-tuning); auto's backend is known when the run starts, where compute/precision.ts refuses it.
 */
export function refuseFp16OffWebgpu({ precision, backend }: { precision: string; backend: string }, source: string): void {
  if (precision === 'fp16' && backend !== 'webgpu' && backend !== 'auto') {
    throw badInput(`${source}: precision: "fp16" trains on the webgpu backend only, and backend is "${backend}"; choose backend "webgpu", or precision "fp32"`)
  }
}

/** The BertConfig of a preset or inline config (a checkpoint's config is read from its directory). */
export function presetModelConfig(model: TrainConfig['model']): BertConfig | null {
  if ('preset' in model) {
    const base = model.preset in MODEL_SIZES ? { ...BENCH_CONFIGS.BASE, ...MODEL_SIZES[model.preset as keyof typeof MODEL_SIZES] } : BENCH_CONFIGS[model.preset as keyof typeof BENCH_CONFIGS]
    return parseBertConfig({ ...base, ...(model.overrides ?? {}) }, `model.preset ${model.preset}`)
  }
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
