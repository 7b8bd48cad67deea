import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { DatasetSummary, FinetuneFormCheck, FinetuneSummary, Inspection, ModelSummary, RunSummary, SweepDetail, WorkbenchEvent } from '../../../engine/service/api'
import type { FinetuneConfig } from '../../../engine/train/finetune-config'
import { useApi } from '../api/client'

/** The CLUE tasks a dataset can hold (the importer's task names, 'text' excluded). */
const CLUE = new Set(['afqmc', 'tnews', 'iflytek', 'cmnli', 'ocnli', 'wsc', 'csl', 'cmrc2018', 'c3', 'chid'])

export interface StrategyChoice {
  distill: boolean
  teacherModelId: number | null
  choiceSmoothing: boolean
  smart: boolean
  bregman: boolean
  augment: boolean
}

export interface LaunchForm {
  datasetId: number | null
  modelId: number | null
  learningRate: number
  batchSize: number
  epochs: number
  /** Tokens per sequence (a batch pads to its longest; CMRC2018 slides windows of this length over a passage). */
  maxSeqLength: number
  /** Where the run trains (auto: the first backend of the ladder that starts) and in which precision (fp16: webgpu only, not with SMART). */
  backend: FinetuneConfig['backend']
  precision: FinetuneConfig['precision']
  strategies: StrategyChoice
}

/** Fine-tuning: launch runs and sweeps, follow dev metrics live, inspect the best epoch's predictions. */
export const useFinetuneStore = defineStore('finetune', () => {
  const datasets = ref<DatasetSummary[]>([])
  const models = ref<ModelSummary[]>([])
  const runs = ref<RunSummary[]>([])
  const selectedRunId = ref<number | null>(null)
  const summary = ref<FinetuneSummary | null>(null)
  /** dev/<metric> points of the selected run, by metric name: live from run.metrics events. */
  const dev = ref<Record<string, { steps: number[]; values: number[] }>>({})
  const inspection = ref<Inspection | null>(null)
  const sweep = ref<SweepDetail | null>(null)
  const error = ref<string | null>(null)
  /** The form checked before a start: the run's estimate and why it would fail where it would train, or the field finetune.start would refuse. */
  const check = ref<FinetuneFormCheck | null>(null)
  const checkError = ref<string | null>(null)
  /** Time per step waits for a calibration step on the backend (once per session), as the run form's does. */
  const measuring = ref(false)
  const timeError = ref<string | null>(null)
  let checking = 0
  const form = ref<LaunchForm>({
    datasetId: null,
    modelId: null,
    learningRate: 2e-5,
    batchSize: 16,
    epochs: 3,
    maxSeqLength: 128,
    backend: 'auto',
    precision: 'fp32',
    strategies: { distill: false, teacherModelId: null, choiceSmoothing: false, smart: false, bregman: false, augment: false },
  })
  /** The sweep's grid as the form offers it: learning rates × batch sizes × epochs (typed as "2, 3, 4"). */
  const sweepGrid = ref({ learningRate: [1e-5, 2e-5], batchSize: [16, 32], epochs: '3' })
  function grid(): Record<string, unknown[]> {
    const g = sweepGrid.value
    const epochs = g.epochs.split(/[ ,]+/).map(Number).filter((n) => Number.isInteger(n) && n > 0)
    return { learningRate: [...g.learningRate], batchSize: [...g.batchSize], epochs: epochs.length ? epochs : [3] }
  }
  const clueDatasets = computed(() => datasets.value.filter((d) => CLUE.has(d.kind)))

  async function guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const v = await fn()
      error.value = null
      return v
    } catch (err) {
      error.value = (err as Error).message
      return undefined
    }
  }

  async function refresh() {
    await guard(async () => {
      const api = useApi()
      const [d, m, r] = await Promise.all([api.call('datasets.list', {}), api.call('models.list', {}), api.call('runs.list', {})])
      datasets.value = d
      models.value = m
      runs.value = r.filter((x) => x.kind === 'finetune')
      form.value.datasetId ??= clueDatasets.value[0]?.id ?? null
      form.value.modelId ??= m[0]?.id ?? null
    })
  }

  /** The run config from the form: the report's optimiser fields and each chosen strategy's defaults. */
  function config(): Record<string, unknown> {
    const f = form.value
    const s = f.strategies
    const strategies: Record<string, unknown> = {}
    if (s.distill && s.teacherModelId != null) {
      const teacher = models.value.find((m) => m.id === s.teacherModelId)
      if (teacher) strategies.distill = { teacherModelId: teacher.id }
    }
    if (s.choiceSmoothing) strategies.choiceSmoothing = {}
    if (s.smart) strategies.smart = s.bregman ? { bregman: {} } : {}
    if (s.augment) strategies.augment = {}
    return { learningRate: f.learningRate, batchSize: f.batchSize, epochs: f.epochs, maxSeqLength: f.maxSeqLength, backend: f.backend, precision: f.precision, strategies }
  }

  async function launch() {
    const f = form.value
    if (f.datasetId == null || f.modelId == null) return
    const started = await guard(() => useApi().call('finetune.start', { datasetId: f.datasetId!, modelId: f.modelId!, config: config() }))
    if (!started) return
    await refresh()
    await select(started.runId)
  }

  /** Checks the form as it stands (the latest answer wins); nothing to check until a dataset and a model are chosen. */
  async function refreshCheck() {
    const f = form.value
    const ticket = ++checking
    if (f.datasetId == null || f.modelId == null) {
      check.value = null
      checkError.value = null
      return
    }
    const g = grid()
    // the sweep's estimate too, while its grid has runs
    const request = { datasetId: f.datasetId, modelId: f.modelId, config: config(), ...(Object.values(g).every((v) => v.length) ? { grid: g } : {}) }
    timeError.value = null
    try {
      const answer = await useApi().call('finetune.check', request)
      if (ticket !== checking) return
      check.value = answer
      checkError.value = null
      if (answer.estimate.secondsPerStep !== null) return
      measuring.value = true
      try {
        const timed = await useApi().call('finetune.check', { ...request, calibrate: true })
        if (ticket === checking) check.value = timed
      } catch (err) {
        // the backend could not be measured (not available here, say): the rest of the check stands
        if (ticket === checking) timeError.value = (err as Error).message
      }
    } catch (err) {
      if (ticket !== checking) return
      check.value = null
      checkError.value = (err as Error).message
    } finally {
      if (ticket === checking) measuring.value = false
    }
  }

  async function launchSweep(grid: Record<string, unknown[]>) {
    const f = form.value
    if (f.datasetId == null || f.modelId == null) return
    const started = await guard(() => useApi().call('sweeps.start', { datasetId: f.datasetId!, modelId: f.modelId!, config: config(), grid }))
    if (!started) return
    sweep.value = await useApi().call('sweeps.get', { id: started.sweepId })
    await refresh()
  }

  async function select(id: number | null) {
    selectedRunId.value = id
    summary.value = null
    inspection.value = null
    dev.value = {}
    if (id == null) return
    await guard(async () => {
      const api = useApi()
      const [s, series, ins] = await Promise.all([api.call('finetune.get', { id }), api.call('runs.metrics', { id }), api.call('finetune.predictions', { id })])
      summary.value = s
      inspection.value = ins
      dev.value = Object.fromEntries(series.filter((x) => x.name.startsWith('dev/')).map((x) => [x.name.slice(4), { steps: x.steps, values: x.values }]))
    })
  }

  /** Engine events: live dev points of the selected run; a run's end reloads its summary and predictions. */
  function apply(event: WorkbenchEvent) {
    if (event.type === 'run.metrics' && event.runId === selectedRunId.value) {
      const next = { ...dev.value }
      for (const p of event.points) {
        if (!p.name.startsWith('dev/')) continue
        const key = p.name.slice(4)
        const s = next[key] ?? { steps: [], values: [] }
        next[key] = { steps: [...s.steps, p.step], values: [...s.values, p.value] }
      }
      dev.value = next
    } else if (event.type === 'runs.changed') {
      void guard(async () => {
        runs.value = (await useApi().call('runs.list', {})).filter((x) => x.kind === 'finetune')
        if (event.id != null && event.id === selectedRunId.value) {
          summary.value = await useApi().call('finetune.get', { id: event.id })
          inspection.value = await useApi().call('finetune.predictions', { id: event.id })
        }
        if (sweep.value) sweep.value = await useApi().call('sweeps.get', { id: sweep.value.sweepId })
      })
    }
  }

  return { datasets, models, runs, clueDatasets, selectedRunId, summary, dev, inspection, sweep, error, check, checkError, measuring, timeError, form, sweepGrid, grid, refresh, refreshCheck, launch, launchSweep, select, apply, config }
})
