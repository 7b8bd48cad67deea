// A fine-tuning run's configuration: the report's defaults (AdamW, warm-up 0.1, weight decay 0.01,
// dropout 0.1; lr from {8e-6, 1e-5, 2e-5, 3e-5}, batch from {16, 24, 32}, 2–5 epochs) and the strategy
// switches, each with its parameters (docs/strategies.md gives the equations). Validated by zod so a JSON
// file, the API and `--set key=value` go through the same checks.
import { z } from 'zod'
import { CLUE_TASKS } from '../tasks/spec'
import { badInput } from '../errors'
import { refuseFp16OffWebgpu } from './config'

const positiveInt = z.number().int().positive()
const weight = z.number().min(0)

/** The report's grid, the default of a sweep. */
export const REPORT_GRID = { learningRate: [8e-6, 1e-5, 2e-5, 3e-5], batchSize: [16, 24, 32], epochs: [2, 3, 4, 5] }

export const strategiesSchema = z
  .object({
    // knowledge distillation from a teacher (an HF folder; the service resolves model/run ids to one)
    distill: z
      .object({
        teacher: z.string().min(1),
        temperature: z.number().positive().default(2), // T of the soft-label KL, scaled by T²
        logitWeight: weight.default(1), // α: soft-label KL(teacher ‖ student)
        hiddenWeight: weight.default(0), // β: hidden-state loss over mapped layers
        hiddenLoss: z.enum(['mse', 'kl']).default('mse'),
        // student layer i (1-based; 0 = embeddings) ← teacher layer layerMap[i]; default: uniform
        layerMap: z.array(z.number().int().min(0)).optional(),
      })
      .strict()
      .optional(),
    // choice smoothing: CE + weight · mean binary cross-entropy over the classes/choices
    choiceSmoothing: z.object({ weight: weight.default(0.5) }).strict().optional(),
    // SMART (Jiang et al. 2020): adversarial smoothness on the embedding output
    smart: z
      .object({
        weight: weight.default(1), // λ_s
        noise: z.number().positive().default(1e-5), // σ of the initial perturbation
        stepSize: z.number().positive().default(1e-3), // η of the normalised ascent step
        epsilon: z.number().positive().default(1e-5), // radius of the ∞-norm ball
        steps: positiveInt.default(1), // ascent steps
        // Bregman proximal point: μ · symmetric KL to a momentum (EMA) copy of the model
        bregman: z.object({ weight: weight.default(1), momentum: z.number().min(0).lt(1).default(0.99) }).strict().optional(),
      })
      .strict()
      .optional(),
    // Chinese-aware data augmentation (EDA on jieba words) of the training split
    augment: z
      .object({
        copies: positiveInt.default(2), // augmented copies per training example
        ratio: z.number().gt(0).max(1).default(0.1), // share of words each operation touches
        synonyms: z.enum(['embeddings', 'dictionary']).default('embeddings'),
        dictionary: z.string().min(1).optional(), // lines of words that are synonyms of each other
        operations: z.array(z.enum(['synonym', 'swap', 'delete', 'insert'])).min(1).default(['synonym', 'swap', 'delete', 'insert']),
      })
      .strict()
      .optional(),
  })
  .strict()
  .default({})

export const finetuneConfigSchema = z
  .object({
    name: z.string().min(1).default('finetune'),
    task: z.enum(CLUE_TASKS as [string, ...string[]]),
    dataDir: z.string().min(1), // the imported CLUE dataset's folder (manifest.json + shards)
    init: z.string().min(1), // the HF folder the run starts from (a model's, a run's best, or any)
    seed: z.number().int().default(42),
    backend: z.enum(['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']).default('auto'),
    // fp16: mixed precision on webgpu, as in pretraining (f16 product inputs, f32 accumulation and master
    // weights, dynamic loss scaling); not with SMART
    precision: z.enum(['fp32', 'fp16']).default('fp32'),

    learningRate: z.number().positive().default(2e-5), // the report: 8e-6, 1e-5, 2e-5 or 3e-5
    batchSize: positiveInt.default(16), // the report: 16, 24 or 32
    epochs: positiveInt.default(3), // the report: 2 to 5
    warmupRatio: z.number().min(0).max(1).default(0.1),
    weightDecay: z.number().min(0).default(0.01),
    dropout: z.number().min(0).lt(1).default(0.1), // hidden and attention dropout while fine-tuning
    maxGradNorm: z.number().min(0).default(1.0),
    maxSeqLength: positiveInt.default(128),
    docStride: positiveInt.default(128), // CMRC2018 window step
    maxQueryLength: positiveInt.default(64),
    maxAnswerTokens: positiveInt.default(30),
    evalBatchSize: positiveInt.default(32),
    // caps for quick experiments: the first N examples of a split (0 = all)
    maxTrainExamples: z.number().int().min(0).default(0),
    maxDevExamples: z.number().int().min(0).default(0),
    strategies: strategiesSchema,
  })
  .strict()

export type FinetuneConfig = z.infer<typeof finetuneConfigSchema> & { task: (typeof CLUE_TASKS)[number] }
export type FinetuneConfigInput = z.input<typeof finetuneConfigSchema>

export function parseFinetuneConfig(raw: unknown, source = 'fine-tuning config'): FinetuneConfig {
  const r = finetuneConfigSchema.safeParse(raw)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw badInput(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
  }
  refuseFp16OffWebgpu(r.data, source)
  if (r.data.precision === 'fp16' && r.data.strategies.smart) {
    // measured on lavapipe: the term came out 9 to 55 times fp32's (about 1e-7 against 1e-8 to 1e-9), rounding noise
    throw badInput(`${source}: strategies.smart: SMART's term compares the logits of inputs perturbed by at most epsilon (${r.data.strategies.smart.epsilon}), a difference f16 products round away; use precision "fp32" with SMART`)
  }
  return r.data as FinetuneConfig
}
