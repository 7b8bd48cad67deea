// The Workbench API: the one contract between the renderer and the engine. Every method has an input
// schema (checked at both transports: IPC and HTTP/WebSocket) and an output type. Payloads are JSON-safe:
// no Date, Map or typed arrays; numeric series travel as plain arrays, or as base64 of a typed array
// (compare.series: 200 runs × thousands of values).
//
// To add a method: add an entry to `methods` (input schema + output type), then a handler in
// workbench.ts. The IPC bridge, the preload, the HTTP routes and the renderer client derive from here.
import { z } from 'zod'
import { WorkbenchError } from '../errors'
import { DEDUP_MODES, ENCODINGS, FORMATS, TASKS, type DatasetStats, type ImportFileReport } from '../data/types'
import type { TagPreview, TagSummary } from '../tagging/types'
import type { BackendProbe, ForgottenTuning } from '../compute/backends'
import type { TorchProbe } from '../launch/python'
import type { IngestResult } from '../launch/ingest'

import type { RunEstimate } from '../train/estimate'
import type { FinetuneEstimate } from '../train/finetune-estimate'

import type { Inspection } from '../train/finetune-eval'
import type { FinetuneSummary } from './finetuning'
import type { SweepDetail } from './sweeps'
export type { Inspection, InspectedExample } from '../train/finetune-eval'
export type { FinetuneSummary } from './finetuning'
export type { SweepDetail, SweepRunInfo } from './sweeps'
export type { TagPreview, TagSummary } from '../tagging/types'

const id = z.number().int().positive()
const none = z.object({}).strict()
const byId = z.object({ id }).strict()

/** Declares a method: its input schema, and its output type (a phantom, never a runtime value). */
function method<I extends z.ZodType, O>(input: I) {
  return { input, output: undefined as unknown as O }
}

export interface VersionInfo {
  app: string
  node: string
  electron: string | null
  platform: string
  schemaVersion: number
}

export interface Settings {
  theme: 'system' | 'light' | 'dark'
  /** Preferred training backend; 'auto' picks the fastest available. */
  backend: 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'
  /** A Python with spaCy and a Chinese pipeline, when the user wants the spaCy tagger. */
  spacyPython: string | null
  dataHome: string
}

export const settingsPatch = z
  .object({
    theme: z.enum(['system', 'light', 'dark']),
    backend: z.enum(['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']),
    spacyPython: z.string().min(1).nullable(),
  })
  .partial()
  .strict()

export interface DatasetSummary {
  id: number
  name: string
  kind: string
  createdAt: string
  fileCount: number
  stats: Record<string, unknown>
}
export interface DatasetFile {
  file: string
  status: 'imported' | 'skipped' | 'failed'
  reason: string | null
  records: number
  encoding: string | null
  task: string | null
  split: string | null
  errors: { line: number; reason: string }[]
}
export interface DatasetDetail extends DatasetSummary {
  options: Record<string, unknown>
  files: DatasetFile[]
}

export type { DatasetStats, ImportFileReport, ImportProgress } from '../data/types'

/** Options of a corpus import; every one optional (auto-detection, exact dedup, 1% dev, seed 42). */
export const importOptions = z
  .object({
    name: z.string().min(1).max(200),
    task: z.enum(['auto', ...TASKS]),
    encoding: z.enum(['auto', ...ENCODINGS]),
    format: z.enum(['auto', ...FORMATS]),
    field: z.string().min(1).max(200),
    dedup: z.enum(DEDUP_MODES),
    t2s: z.boolean(),
    halfwidth: z.boolean(),
    devRatio: z.number().min(0).lt(1),
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    vocab: z.string().min(1).max(4096),
    gzip: z.boolean(),
  })
  .partial()
  .strict()

/** What an import job ends with (its JobInfo.result), and what `mengzi import --json` prints. */
export interface ImportOutcome {
  dataset: { id: number; name: string; kind: string; records: number; stats: DatasetStats } | null
  files: ImportFileReport[]
}

export interface DatasetSample {
  /** 0-based position in the dataset: the line number in the sample browser. */
  index: number
  split: string
  record: Record<string, unknown>
}
export interface DatasetSamples {
  total: number
  items: DatasetSample[]
  /** Where the next page starts; null at the end. */
  next: number | null
}

const datasetImport = z
  .object({ paths: z.array(z.string().min(1).max(4096)).min(1).max(10_000), options: importOptions.optional() })
  .strict()
const datasetRename = z.object({ id, name: z.string().min(1).max(200) }).strict()
const datasetSamples = z
  .object({ id, offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(500).default(50), query: z.string().max(200).optional() })
  .strict()

export interface RunSummary {
  id: number
  name: string
  kind: string
  // interrupted: its process died (killed, crashed, power lost); train.resume continues it from its last checkpoint
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted'
  seed: number
  backend: string | null
  /** The backend ladder's report: which rung ran and how (native kernels, BLAS, threads), and why faster ones did not. */
  backendDetail: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  error: string | null
}
/** runs.list rows (pretraining, #11): the run's config and its final metric values. */
export interface RunListRow extends RunSummary {
  config: Record<string, unknown>
  summary: Record<string, number>
}
export interface RunDetail extends RunSummary {
  config: Record<string, unknown>
  metrics: string[]
}
export interface MetricSeries {
  name: string
  steps: number[]
  values: number[]
}

export interface ModelSummary {
  id: number
  name: string
  source: 'imported' | 'trained'
  createdAt: string
  config: Record<string, unknown>
}

export interface ModelImportResult {
  id: number
  name: string
  architecture: string
  tensors: number
  parameters: number
}
export interface ModelExportResult {
  out: string
  files: string[]
}

export const modelImportInput = z.object({ path: z.string().min(1).max(4096), name: z.string().min(1).max(200).optional() }).strict()
export const modelExportInput = z
  .object({ id, out: z.string().min(1).max(4096), dtype: z.enum(['float32', 'float16']).optional() })
  .strict()

// Training: `config` is a TrainConfig (engine/train/config.ts), validated by the engine with its own schema.
export const trainStartInput = z.object({ config: z.record(z.string(), z.unknown()), keepCheckpoints: z.number().int().min(0).optional() }).strict()
export const trainResumeInput = z.object({ id, keepCheckpoints: z.number().int().min(0).optional() }).strict()
export interface TrainStarted {
  runId: number
  jobId: string
}

export interface JobInfo {
  id: string
  kind: string
  title: string
  status: 'running' | 'completed' | 'failed' | 'cancelled'
  progress: JobProgress | null
  error: string | null
  result: unknown
}
export interface JobProgress {
  /** Units done and total (bytes, records, steps); total null when unknown. */
  done: number
  total: number | null
  unit: string
  /** Units per second over the recent window, and seconds left at that rate. */
  rate: number | null
  etaSeconds: number | null
  message?: string
}

const tagsPreview = z
  .object({
    text: z.string().max(100_000),
    tagger: z.enum(['builtin', 'spacy']).optional(),
    vocab: z.string().min(1).max(4096).optional(), // a vocab.txt for the WordPiece projection
    modelId: id.optional(), // or the vocab of an imported/trained model; else the bundled vocab
  })
  .strict()

const tagsDataset = z
  .object({ id, tagger: z.enum(['builtin', 'spacy']).optional(), entities: z.boolean().optional() })
  .strict()

// The torch engine (#15): a job folder from a run config (engine/train/config.ts, checked by the engine)
const launchEmitInput = z
  .object({ config: z.record(z.string(), z.unknown()), out: z.string().min(1).max(4096), scheduler: z.enum(['none', 'slurm']).optional(), keepCheckpoints: z.number().int().min(0).optional() })
  .strict()
const runsIngestInput = z.object({ dir: z.string().min(1).max(4096) }).strict()
export type { TorchProbe } from '../launch/python'
export type { IngestResult } from '../launch/ingest'

// Pretraining runs from the app (#11). A form is a run config without its data (the engine points it at
// the chosen dataset) and without a name (the engine names it preset · objectives · lr unless given one).
const runForm = z
  .object({
    datasetId: id.optional(),
    name: z.string().trim().min(1).max(200).optional(),
    config: z.record(z.string(), z.unknown()),
    keepCheckpoints: z.number().int().min(0).optional(),
  })
  .strict()
const runEstimateInput = z
  .object({
    datasetId: id.optional(),
    config: z.record(z.string(), z.unknown()),
    calibrate: z.boolean().optional(), // measure this machine's speed on the config's backend if not yet done
  })
  .strict()
const runRename = z.object({ id, name: z.string().trim().min(1).max(200) }).strict()

export interface RunPreset {
  name: string
  description: string
  /** Every key of the run config but data and name, defaults filled in. */
  config: Record<string, unknown>
}
export interface RunFormOptions {
  presets: RunPreset[]
  /** JSON Schema (input side) of the run config: enums, bounds and defaults the form offers. */
  schema: Record<string, unknown>
}
/** A form filled from an existing run (Clone): its config and dataset; the copy is named afresh. */
export interface RunDraft {
  sourceRunId: number
  sourceName: string
  datasetId: number | null
  config: Record<string, unknown>
}
export type { RunEstimate, MemoryEstimate } from '../train/estimate'
/** A run as it trains: its job now (progress, ETA), and the backend line it computed on in this session. */
export interface RunLive {
  job: JobInfo | null
  backendLine: string | null
}
export interface RunFormEstimate extends RunEstimate, BackendCheck {
  /** The name the run gets when the form gives none. */
  defaultName: string
  objectives: string[]
}

export type { FinetuneEstimate, FinetuneMemory } from '../train/finetune-estimate'
/** The Fine-tune form's check: the run's estimate and the probe's word on it. */
export interface FinetuneFormCheck extends BackendCheck {
  estimate: FinetuneEstimate
  /** With a grid: the sweep's runs together (time null until calibrated; memory: its largest run's). */
  sweep: { runs: number; totalSteps: number; totalSeconds: number | null; peakMemory: number } | null
}

/** What a form learns from Settings' probe before a run starts (train/start-check.ts). */
export interface BackendCheck {
  /**
   * The WebGPU adapter the run would train on (webgpu named, or auto reaching it first in Settings' probe)
   * and its per-binding limit; null on another backend or where no adapter was found.
   */
  device: { adapter: string; maxStorageBufferBindingSize: number } | null
  /**
   * Why the run would fail where it would train, one line each: a named backend that cannot start here,
   * fp16 where auto lands off webgpu, and each tensor a full-length micro-batch would make over the
   * adapter's binding limit (the lines the run's log gives as it starts).
   */
  backendWarnings: string[]
}

/** One rung of the backend ladder on this machine: available or not, and what runs or why not. */
export type BackendInfo = BackendProbe

/** What `backends.forgetTuning` did, and the ladder as Settings now shows it. */
export type TuningForgotten = ForgottenTuning & { backends: BackendInfo[] }

// Comparing runs: the run table, the Compare view's summary and series, exports (#13)
import type { SeriesFrame, SeriesFrameRun, XAxis } from './compare-series'
import type { ScoreTable, ScoreRow } from './compare-scores'
import type { DiffRow, ConfigValue } from './compare-diff'
export type { SeriesFrame, SeriesFrameRun, XAxis, ScoreTable, ScoreRow, DiffRow, ConfigValue }

/** A row of the run table: the summary plus what researchers sort and filter on. */
export interface RunTableRow extends RunSummary {
  sweepId: number | null
  datasetId: number | null
  datasetName: string | null
  baseModelId: number | null
  /** The CLUE task of a fine-tuning run. */
  task: string | null
  /** "A · 2×128" (preset · layers×hidden), or layers×hidden of an inline config or base model. */
  modelSize: string | null
  /** The config's scalar values by dotted key (`model.preset`, `learningRate`). */
  params: Record<string, string | number | boolean | null>
  /** The last value of every metric. */
  final: Record<string, number>
  durationSeconds: number | null
  tags: string[]
  notes: string
}
export interface CompareSummary {
  runs: { id: number; name: string; kind: string; status: RunSummary['status'] }[]
  /** Every dotted config key; values in the order of `runs`. */
  diff: DiffRow[]
  /** Metric names any of the runs has. */
  metrics: string[]
  scores: ScoreTable
}

const runIds = z.array(id).min(1).max(2000)
const tag = z.string().trim().min(1).max(64)
export const runsAnnotateInput = z.object({ id, tags: z.array(tag).max(32).optional(), notes: z.string().max(20_000).optional() }).strict()
export const compareSeriesInput = z
  .object({
    runIds,
    metric: z.string().min(1).max(200),
    x: z.enum(['step', 'wall', 'tokens']).default('step'),
    range: z.tuple([z.number().finite(), z.number().finite()]).refine(([lo, hi]) => lo < hi, 'range: lo must be below hi').nullable().optional(),
    width: z.number().int().min(8).max(8192),
    smoothing: z.number().min(0).lt(1).default(0),
  })
  .strict()
export const compareExportInput = z.object({ runIds, format: z.enum(['csv', 'md', 'json']), points: z.number().int().min(0).max(100_000).default(0) }).strict()
const byRunIds = z.object({ runIds }).strict()

// Fine-tuning, sweeps, predictions (#12)
const finetuneRequest = {
  datasetId: id,
  modelId: id.optional(),
  runId: id.optional(),
  from: z.string().min(1).max(4096).optional(),
  task: z.enum(['auto', ...TASKS.filter((t) => t !== 'text')]).optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  name: z.string().min(1).max(200).optional(),
}
const oneSource = (r: { modelId?: number; runId?: number; from?: string }) => [r.modelId, r.runId, r.from].filter((v) => v !== undefined).length === 1
const sourceMessage = { message: 'give exactly one of modelId, runId, from' }
export const finetuneStartInput = z.object(finetuneRequest).strict().refine(oneSource, sourceMessage)
// a sweep's grid: values per config field (dotted keys reach into strategies)
const sweepGrid = z.record(z.string(), z.array(z.unknown()).min(1).max(50))
const finetuneCheckInput = z
  .object({
    ...finetuneRequest,
    calibrate: z.boolean().optional(), // measure this machine's speed on the backend if not yet done
    grid: sweepGrid.optional(), // also estimate the sweep over this grid
  })
  .strict()
  .refine(oneSource, sourceMessage)
export const sweepStartInput = z
  .object({ ...finetuneRequest, grid: sweepGrid.optional() })
  .strict()
  .refine(oneSource, sourceMessage)
export const finetunePredictInput = z.object({ id, datasetId: id, split: z.enum(['train', 'dev', 'test']).default('test'), out: z.string().min(1).max(4096) }).strict()
export interface SweepSummary {
  id: number
  name: string
  status: string
  bestRunId: number | null
  createdAt: string
}

export const methods = {
  'app.version': method<typeof none, VersionInfo>(none),
  'settings.get': method<typeof none, Settings>(none),
  'settings.update': method<typeof settingsPatch, Settings>(settingsPatch),
  'datasets.list': method<typeof none, DatasetSummary[]>(none),
  'datasets.get': method<typeof byId, DatasetDetail>(byId),
  'datasets.import': method<typeof datasetImport, { jobId: string }>(datasetImport),
  'datasets.rename': method<typeof datasetRename, DatasetSummary>(datasetRename),
  'datasets.delete': method<typeof byId, { deleted: boolean }>(byId),
  'datasets.samples': method<typeof datasetSamples, DatasetSamples>(datasetSamples),
  'datasets.stats': method<typeof byId, DatasetStats>(byId),
  'runs.list': method<typeof none, RunListRow[]>(none),
  'runs.get': method<typeof byId, RunDetail>(byId),
  'runs.metrics': method<z.ZodObject<{ id: typeof id; names: z.ZodOptional<z.ZodArray<z.ZodString>> }>, MetricSeries[]>(
    z.object({ id, names: z.array(z.string().min(1)).max(64).optional() }).strict(),
  ),
  'models.list': method<typeof none, ModelSummary[]>(none),
  'models.get': method<typeof byId, ModelSummary>(byId),
  'models.import': method<typeof modelImportInput, ModelImportResult>(modelImportInput),
  'models.export': method<typeof modelExportInput, ModelExportResult>(modelExportInput),
  'models.delete': method<typeof byId, { deleted: boolean }>(byId),
  'tags.preview': method<typeof tagsPreview, TagPreview>(tagsPreview),
  'tags.dataset': method<typeof tagsDataset, { jobId: string }>(tagsDataset),
  'tags.summary': method<typeof byId, TagSummary | null>(byId),
  'train.start': method<typeof trainStartInput, TrainStarted>(trainStartInput),
  'train.resume': method<typeof trainResumeInput, TrainStarted>(trainResumeInput),
  'backends.list': method<typeof none, BackendInfo[]>(none),
  'backends.forgetTuning': method<typeof none, TuningForgotten>(none),
  'jobs.list': method<typeof none, JobInfo[]>(none),
  'jobs.cancel': method<z.ZodObject<{ id: z.ZodString }>, { cancelled: boolean }>(
    z.object({ id: z.string().min(1).max(64) }).strict(),
  ),

  // Run leases and recovery (#10)

  // Pretraining runs from the app: start, cancel, resume, clone, rename (#11)
  'runs.options': method<typeof none, RunFormOptions>(none),
  'runs.estimate': method<typeof runEstimateInput, RunFormEstimate>(runEstimateInput),
  'runs.start': method<typeof runForm, TrainStarted>(runForm),
  'runs.cancel': method<typeof byId, { cancelled: boolean }>(byId),
  'runs.rename': method<typeof runRename, RunSummary>(runRename),
  'runs.draft': method<typeof byId, RunDraft>(byId),
  'runs.job': method<typeof byId, RunLive>(byId),

  // Fine-tuning, sweeps, predictions (#12). Start from exactly one of modelId, runId, from (an HF folder);
  // config holds FinetuneConfig fields (engine/train/finetune-config.ts), validated by the engine.
  'finetune.start': method<typeof finetuneStartInput, { runId: number; jobId: string }>(finetuneStartInput),
  // what finetune.start would refuse, the run's estimate, and why it would fail where it would train
  'finetune.check': method<typeof finetuneCheckInput, FinetuneFormCheck>(finetuneCheckInput),
  // an interrupted, failed or cancelled run continues from its last epoch checkpoint (a queued one starts)
  'finetune.rerun': method<typeof byId, { runId: number; jobId: string }>(byId),
  'finetune.get': method<typeof byId, FinetuneSummary>(byId),
  'finetune.predictions': method<typeof byId, Inspection | null>(byId),
  'finetune.predict': method<typeof finetunePredictInput, { jobId: string }>(finetunePredictInput),
  'sweeps.start': method<typeof sweepStartInput, { sweepId: number; jobId: string }>(sweepStartInput),
  'sweeps.resume': method<typeof byId, { sweepId: number; jobId: string }>(byId),
  'sweeps.get': method<typeof byId, SweepDetail>(byId),
  'sweeps.list': method<typeof none, SweepSummary[]>(none),

  // Comparing runs: run table, series, exports (#13)
  'runs.table': method<typeof none, RunTableRow[]>(none),
  'runs.annotate': method<typeof runsAnnotateInput, RunTableRow>(runsAnnotateInput),
  'runs.delete': method<typeof byRunIds, { deleted: number[]; checkpoints: number }>(byRunIds),
  'compare.summary': method<typeof byRunIds, CompareSummary>(byRunIds),
  'compare.series': method<typeof compareSeriesInput, SeriesFrame>(compareSeriesInput),
  'compare.export': method<typeof compareExportInput, { text: string; filename: string }>(compareExportInput),

  // GPU adapters (#14)

  // The torch engine, job folders, ingest (#15)
  'torch.probe': method<typeof none, TorchProbe>(none), // the Python and torch a torch run would use, or UNAVAILABLE
  'launch.emit': method<typeof launchEmitInput, { jobId: string }>(launchEmitInput), // a job folder for a cluster, as a job
  'runs.ingest': method<typeof runsIngestInput, IngestResult>(runsIngestInput), // a finished job folder back as a run
} as const

export type MethodName = keyof typeof methods
export const methodNames = Object.keys(methods) as MethodName[]
export type MethodInput<M extends MethodName> = z.input<(typeof methods)[M]['input']>
export type MethodOutput<M extends MethodName> = (typeof methods)[M]['output']

/** What the renderer calls: one async function per method. */
export type WorkbenchApi = { [M in MethodName]: (input: MethodInput<M>) => Promise<MethodOutput<M>> }

/** Events pushed from the engine to every subscriber. */
export type WorkbenchEvent =
  | { type: 'job'; job: JobInfo }
  | { type: 'datasets.changed' }
  | { type: 'runs.changed'; id?: number }
  | { type: 'models.changed' }
  | { type: 'settings.changed'; settings: Settings }
  // New metric points of a training run as they are written (live curves without re-fetching series)
  | { type: 'run.metrics'; runId: number; points: { name: string; step: number; value: number; wallTime: number }[] }

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.hasOwn(methods, name)
}

/** Validates a request's input; a failure is one line naming the method and the field at fault. */
export function parseInput<M extends MethodName>(name: M, input: unknown): z.output<(typeof methods)[M]['input']> {
  const result = methods[name].input.safeParse(input ?? {})
  if (result.success) return result.data as z.output<(typeof methods)[M]['input']>
  const issue = result.error.issues[0]
  const field = issue.path.length > 0 ? issue.path.join('.') : '(input)'
  throw new WorkbenchError('BAD_INPUT', `${name}: ${field}: ${issue.message}`)
}
