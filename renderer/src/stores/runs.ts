import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { MetricSeries, RunDetail, RunTableRow } from '../../../engine/service/api'
import type { RunFormOptions, WorkbenchEvent } from '../../../engine/service/api'
import { useApi } from '../api/client'

/** Every run as a row of the run table (summary, dataset, size, parameters, final metrics, tags, notes). */
export const useRunsStore = defineStore('runs', () => {
  const items = ref<RunTableRow[]>([])
  const selected = ref<RunDetail | null>(null)
  const series = ref<MetricSeries[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)

  // --- runs from the app (#11): the run form, and one run watched live --------------------------------

  const formOptions = ref<RunFormOptions | null>(null)
  /** The run the detail view shows, its curves by metric name (appended to as points stream in), and its job. */
  const watched = ref<RunDetail | null>(null)
  const curves = ref<Record<string, { steps: number[]; values: number[] }>>({})
  const watchedJobId = ref<string | null>(null)
  const backendLine = ref<string | null>(null)
  let watchedId: number | null = null
  // points that arrive while the series load; merged after, by step, so none is lost or doubled
  let early: RunMetricsEvent['points'] | null = null

  async function loadFormOptions() {
    formOptions.value ??= await useApi().call('runs.options', {})
    return formOptions.value
  }

  const estimate = (datasetId: number | undefined, config: Record<string, unknown>, calibrate = false) =>
    useApi().call('runs.estimate', { datasetId, config, calibrate })
  const start = (datasetId: number | undefined, name: string | undefined, config: Record<string, unknown>) =>
    useApi().call('runs.start', { datasetId, name, config })
  const draft = (id: number) => useApi().call('runs.draft', { id })

  async function cancel(id: number) {
    return (await useApi().call('runs.cancel', { id })).cancelled
  }

  async function resume(id: number) {
    const started = await useApi().call('train.resume', { id })
    if (id === watchedId) watchedJobId.value = started.jobId
    return started
  }

  async function rename(id: number, name: string) {
    const summary = await useApi().call('runs.rename', { id, name })
    if (watched.value?.id === id) watched.value = { ...watched.value, name: summary.name }
    return summary
  }

  // A streamed point is the truth for its step: one at or before the curve's end (loaded already, or
  // computed again by a run resumed from an earlier checkpoint) replaces that step and what followed.
  function append(points: RunMetricsEvent['points']) {
    const next = { ...curves.value }
    for (const p of points) {
      const curve = (next[p.name] ??= { steps: [], values: [] })
      let keep = curve.steps.length
      while (keep > 0 && curve.steps[keep - 1] >= p.step) keep--
      if (keep < curve.steps.length) {
        curve.steps.splice(keep)
        curve.values.splice(keep)
      }
      curve.steps.push(p.step)
      curve.values.push(p.value)
    }
    curves.value = next
  }

  /** Loads a run's detail, curves and job once; events keep them current from then on. */
  async function watchRun(id: number) {
    watchedId = id
    early = []
    curves.value = {}
    try {
      const api = useApi()
      const [detail, series, live] = await Promise.all([api.call('runs.get', { id }), api.call('runs.metrics', { id }), api.call('runs.job', { id })])
      if (watchedId !== id) return
      watched.value = detail
      watchedJobId.value = live.job?.id ?? null
      backendLine.value = live.backendLine
      curves.value = Object.fromEntries(series.map((s) => [s.name, { steps: s.steps, values: s.values }]))
      append(early)
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    } finally {
      if (watchedId === id) early = null
    }
  }

  function unwatchRun() {
    watchedId = null
    watched.value = null
    watchedJobId.value = null
    backendLine.value = null
    curves.value = {}
  }

  /** Engine events for the watched run: new metric points are appended; a changed run row reloads. */
  function onEvent(event: WorkbenchEvent) {
    if (watchedId === null) return
    if (event.type === 'run.metrics' && event.runId === watchedId) {
      if (early) early.push(...event.points)
      else append(event.points)
    }
    if (event.type === 'runs.changed' && (event.id === undefined || event.id === watchedId)) {
      const id = watchedId
      const api = useApi()
      void Promise.all([api.call('runs.get', { id }), api.call('runs.job', { id })]).then(([detail, live]) => {
        if (watchedId !== id) return
        watched.value = detail
        if (live.job) watchedJobId.value = live.job.id
        backendLine.value = live.backendLine ?? backendLine.value
      }, () => {})
    }
  }
  // --- end of runs from the app

  async function refresh() {
    loading.value = true
    try {
      items.value = await useApi().call('runs.table', {})
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    } finally {
      loading.value = false
    }
  }

  async function select(id: number | null) {
    if (id == null) {
      selected.value = null
      series.value = []
      return
    }
    try {
      const api = useApi()
      ;[selected.value, series.value] = await Promise.all([api.call('runs.get', { id }), api.call('runs.metrics', { id })])
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  /** Tags and notes show at once and roll back when the engine refuses them. */
  async function annotate(id: number, patch: { tags?: string[]; notes?: string }) {
    const i = items.value.findIndex((r) => r.id === id)
    const before = items.value[i]
    if (before) items.value[i] = { ...before, ...patch }
    try {
      const row = await useApi().call('runs.annotate', { id, ...patch })
      const j = items.value.findIndex((r) => r.id === id)
      if (j >= 0) items.value[j] = row
      error.value = null
    } catch (err) {
      const j = items.value.findIndex((r) => r.id === id)
      if (before && j >= 0) items.value[j] = before
      error.value = (err as Error).message
    }
  }

  async function remove(ids: number[]): Promise<{ deleted: number[]; checkpoints: number } | null> {
    try {
      const result = await useApi().call('runs.delete', { runIds: ids })
      items.value = items.value.filter((r) => !result.deleted.includes(r.id))
      if (selected.value && result.deleted.includes(selected.value.id)) await select(null)
      error.value = null
      return result
    } catch (err) {
      error.value = (err as Error).message
      return null
    }
  }

  return {
    items,
    selected,
    series,
    loading,
    error,
    refresh,
    select,
    formOptions,
    watched,
    curves,
    watchedJobId,
    backendLine,
    loadFormOptions,
    estimate,
    start,
    draft,
    cancel,
    resume,
    rename,
    watchRun,
    unwatchRun,
    onEvent,
    annotate,
    remove,
  }
})

type RunMetricsEvent = Extract<WorkbenchEvent, { type: 'run.metrics' }>
