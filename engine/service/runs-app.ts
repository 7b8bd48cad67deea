// Pretraining runs from the app (#11): the run form's presets and schema, estimates before starting,
// start on an imported dataset, cancel by run id, clone (a finished run's config as a new form), rename.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { badInput, notFound } from '../errors'
import { parseBertConfig } from '../model/checkpoint'
import type { BertConfig } from '../model/config'
import { getDataset } from '../store/datasets'
import { getRun, renameRun } from '../store/runs'
import { parseTrainConfig, presetModelConfig, trainConfigSchema, type TrainConfig } from '../train/config'
import { defaultRunName, objectiveNames } from '../train/describe'
import type { BackendProbe } from '../compute/backends'
import { estimateRun, pretrainingMicroBatch } from '../train/estimate'
import { startCheck } from '../train/start-check'
import { TRAIN_PRESETS } from '../train/presets'
import type { BackendCheck, MethodInput, MethodOutput, RunFormOptions, RunSummary } from './api'
import { backendCheckLines } from './backend-lines'
import { backendLineOf, resolveInitFrom, startTraining, trainingJobOf, type TrainingDeps } from './training'
import type { Calibrations } from './calibrations'

type RunMethod = 'runs.options' | 'runs.estimate' | 'runs.start' | 'runs.cancel' | 'runs.rename' | 'runs.draft' | 'runs.job'
type RunHandlers = { [M in RunMethod]: (input: MethodInput<M>) => Promise<MethodOutput<M>> }

export interface RunAppDeps extends TrainingDeps {
  /** This machine's measured speed per backend, shared with the Fine-tune form. */
  calibration: Calibrations
  runSummary(id: number): RunSummary
  /** The backend ladder as Settings shows it (probed once per session). */
  probeBackends(): Promise<BackendProbe[]>
}

// Where a form that has no dataset yet draws its data from, so the rest of it can be checked and estimated.
const PLACEHOLDER_DATA = { kind: 'synthetic', sequences: 1, minLength: 1, maxLength: 1, seed: 0 }

/** The form's keys: every config key except where the data comes from and the run's name. */
function formConfig(config: TrainConfig): Record<string, unknown> {
  const { data: _data, name: _name, ...rest } = config
  return rest
}

const PRESET_NOTES: Record<string, string> = {
  tiny: '2×128 at sequence 64: learns visibly in about a minute on 2 cores',
  small: '4×256: an evening on a laptop CPU',
  'mengzi-base': "12×768, LAMB, the Mengzi report's settings: for a GPU",
  A: 'benchmark size A (2×128)',
  B: 'benchmark size B (4×256)',
  BASE: 'benchmark size BASE (12×768)',
}

export function createRunAppHandlers(deps: RunAppDeps): RunHandlers {
  const { db, jobs } = deps

  /** The form's config with its data: the chosen dataset (train split, bundled vocab unless one is set). */
  function withData(form: Record<string, unknown>, datasetId: number | undefined, name?: string): Record<string, unknown> {
    const raw: Record<string, unknown> = { ...form }
    delete raw.data
    if (name) raw.name = name
    if (datasetId === undefined) return { ...raw, data: PLACEHOLDER_DATA }
    const dataset = getDataset(db, datasetId)
    if (!dataset) throw notFound(`dataset ${datasetId} does not exist`)
    if (dataset.kind !== 'text') throw badInput(`dataset ${datasetId} (${dataset.name}) is a ${dataset.kind} dataset; pretraining needs a text dataset`)
    // the vocab: the config's, else initFrom's model's, else the bundled one (resolved when the run starts)
    return { ...raw, data: { kind: 'dataset', dir: dataset.dir } }
  }

  function bertOf(config: TrainConfig): BertConfig {
    const preset = presetModelConfig(config.model)
    if (preset) return preset
    const from = (config.model as { from: string }).from
    let text: string
    try {
      text = readFileSync(join(from, 'config.json'), 'utf8')
    } catch {
      throw notFound(`model.from: ${join(from, 'config.json')} does not exist`)
    }
    return parseBertConfig(JSON.parse(text), join(from, 'config.json'))
  }

  /** The probe's word on the run before it starts: its adapter, and why it would fail (at its start, or when a long batch comes). */
  async function backendCheck(config: TrainConfig, bert: BertConfig): Promise<BackendCheck> {
    // cpu always starts and has no device limit; a probe that fails leaves the run's own errors and log
    if (config.backend === 'cpu' || config.engine !== 'local') return { device: null, backendWarnings: [] }
    return backendCheckLines(startCheck(config, bert, pretrainingMicroBatch(config), await deps.probeBackends().catch(() => [])))
  }

  return {
    'runs.options': async () => {
      const presets = Object.entries(TRAIN_PRESETS).map(([name, preset]) => ({
        name,
        description: PRESET_NOTES[name] ?? '',
        config: formConfig(parseTrainConfig({ ...preset, data: PLACEHOLDER_DATA }, `preset ${name}`)),
      }))
      const schema = z.toJSONSchema(trainConfigSchema, { io: 'input', unrepresentable: 'any' }) as RunFormOptions['schema']
      return { presets, schema }
    },
    'runs.estimate': async ({ datasetId, config, calibrate }) => {
      const parsed = parseTrainConfig(resolveInitFrom(db, withData(config, datasetId)), 'run config')
      const measured = deps.calibration(parsed.backend, calibrate ?? false)
      const bert = bertOf(parsed)
      const estimate = estimateRun(parsed, bert, measured ? await measured : null)
      return { ...estimate, defaultName: defaultRunName(parsed), objectives: objectiveNames(parsed), ...(await backendCheck(parsed, bert)) }
    },
    'runs.start': async ({ datasetId, name, config, keepCheckpoints }) => {
      if (datasetId === undefined) throw badInput('runs.start: datasetId: choose the text dataset to train on')
      const raw = withData(config, datasetId)
      raw.name = name ?? defaultRunName(parseTrainConfig(raw, 'run config'))
      const { runId, jobId } = startTraining(deps, raw, { datasetId, keepCheckpoints })
      return { runId, jobId }
    },
    'runs.cancel': async ({ id }) => {
      if (!getRun(db, id)) throw notFound(`run ${id} does not exist`)
      const jobId = trainingJobOf(jobs, id)
      return { cancelled: jobId !== null && jobs.cancel(jobId) }
    },
    'runs.rename': async ({ id, name }) => {
      if (!renameRun(db, id, name)) throw notFound(`run ${id} does not exist`)
      deps.emit({ type: 'runs.changed', id })
      return deps.runSummary(id)
    },
    'runs.draft': async ({ id }) => {
      const run = getRun(db, id)
      if (!run) throw notFound(`run ${id} does not exist`)
      if (run.kind !== 'pretrain') throw badInput(`run ${id} is a ${run.kind} run; only pretraining runs can be cloned here`)
      const config = parseTrainConfig(run.config, `run ${id} config`)
      return { sourceRunId: id, sourceName: run.name, datasetId: run.datasetId, config: formConfig(config) }
    },
    'runs.job': async ({ id }) => {
      if (!getRun(db, id)) throw notFound(`run ${id} does not exist`)
      const jobId = trainingJobOf(jobs, id)
      return { job: jobs.list().find((j) => j.id === jobId) ?? null, backendLine: backendLineOf(jobs, id) }
    },
  }
}
