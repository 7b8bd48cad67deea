import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { CompareSummary, SeriesFrame, XAxis } from '../../../engine/service/api'
import type { BinarySeriesFrame } from '../../../engine/service/series-wire'
import { useApi } from '../api/client'
import { runColor } from '../colors'

/** A chart's data as uPlot takes it: one x array shared by every run, NaN where a run has no point. */
export interface ChartFrame {
  metric: string
  x: XAxis
  range: [number, number]
  extent: [number, number] | null
  xs: Float64Array
  ys: (Float32Array | null)[]
  runIds: number[]
  skipped: (string | undefined)[]
  /** Held from the view's previous opening and drawn again until the frame fetched afresh replaces it. */
  reshown?: boolean
}

// Chromium 140+ decodes base64 natively (several times faster than atob and a loop over 2 MB per chart)
const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64

function decode(b64: string): ArrayBuffer {
  if (fromBase64) return fromBase64(b64).buffer as ArrayBuffer
  const text = atob(b64)
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
  return bytes.buffer
}

/**
 * Pixel columns per min/max bucket. A bucket keeps 4 values (first, min, max, last), so one bucket per
 * two columns is two values per column: what a line can show there, and half the path segments a
 * software canvas strokes for every run compared to a bucket per column.
 */
export const PIXELS_PER_BUCKET = 2

/** A frame as JSON carries base64 (IPC, tests); as a binary socket message, typed arrays already (series-wire.ts). */
export function decodeFrame(f: SeriesFrame | BinarySeriesFrame): ChartFrame {
  return {
    metric: f.metric,
    x: f.x,
    range: f.range,
    extent: f.extent,
    xs: typeof f.xs === 'string' ? new Float64Array(decode(f.xs)) : f.xs,
    ys: f.runs.map((r) => (r.ys == null ? null : typeof r.ys === 'string' ? new Float32Array(decode(r.ys)) : r.ys)),
    runIds: f.runs.map((r) => r.runId),
    skipped: f.runs.map((r) => r.skipped),
  }
}


export interface CompareState {
  runIds: number[]
  metrics: string[]
  x: XAxis
  smoothing: number
  log: boolean
  diffOnly: boolean
  pcMetric: string | null
  zoom: Record<string, [number, number]>
}

const X_AXES: XAxis[] = ['step', 'wall', 'tokens']
const num = (s: unknown) => (typeof s === 'string' && s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : null)

/** The view state as URL query parameters, and back (unknown or malformed values fall back to defaults). */
export function stateToQuery(s: CompareState): Record<string, string> {
  const q: Record<string, string> = {}
  if (s.runIds.length) q.runs = s.runIds.join(',')
  if (s.metrics.length) q.m = s.metrics.join(',')
  if (s.x !== 'step') q.x = s.x
  if (s.smoothing > 0) q.s = String(s.smoothing)
  if (s.log) q.log = '1'
  if (!s.diffOnly) q.all = '1'
  if (s.pcMetric) q.pc = s.pcMetric
  const zoom = Object.entries(s.zoom).map(([m, [lo, hi]]) => `${m}~${lo}~${hi}`)
  if (zoom.length) q.z = zoom.join('|')
  return q
}

export function queryToState(q: Record<string, unknown>): CompareState {
  const str = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : '')
  const zoom: Record<string, [number, number]> = {}
  for (const part of str('z').split('|').filter(Boolean)) {
    const [m, lo, hi] = part.split('~')
    if (m && num(lo) != null && num(hi) != null && num(lo)! < num(hi)!) zoom[m] = [num(lo)!, num(hi)!]
  }
  const smoothing = num(str('s')) ?? 0
  return {
    runIds: [...new Set(str('runs').split(',').map(num).filter((n): n is number => n != null && Number.isInteger(n) && n > 0))],
    metrics: str('m').split(',').filter(Boolean),
    x: X_AXES.includes(str('x') as XAxis) ? (str('x') as XAxis) : 'step',
    smoothing: smoothing >= 0 && smoothing < 1 ? smoothing : 0,
    log: str('log') === '1',
    diffOnly: str('all') !== '1',
    pcMetric: str('pc') || null,
    zoom,
  }
}

/** The runs being compared, how they are shown, and what the engine sent for them. */
export const useCompareStore = defineStore('compare', () => {
  const state = ref<CompareState>(queryToState({}))
  const summary = shallowRef<CompareSummary | null>(null)
  const frames = shallowRef<Record<string, ChartFrame>>({})
  const error = ref<string | null>(null)
  const loading = ref(false)
  const widths: Record<string, number> = {}

  const runIds = computed(() => state.value.runIds)
  const names = computed(() => new Map((summary.value?.runs ?? []).map((r) => [r.id, r.name])))
  const colorOf = (id: number) => runColor(Math.max(0, state.value.runIds.indexOf(id)))

  function setState(next: Partial<CompareState>) {
    state.value = { ...state.value, ...next }
  }

  async function loadSummary() {
    if (state.value.runIds.length === 0) {
      summary.value = null
      frames.value = {}
      return
    }
    loading.value = true
    try {
      summary.value = await useApi().call('compare.summary', { runIds: state.value.runIds })
      const known = summary.value.metrics
      const picked = state.value.metrics.filter((m) => known.includes(m))
      if (picked.length === 0 && known.length) picked.push(known.includes('loss') ? 'loss' : known[0])
      if (picked.join() !== state.value.metrics.join()) setState({ metrics: picked })
      error.value = null
      // charts already on screen (their width known) follow the new selection; new ones fetch on mount
      for (const m of picked) if (widths[m] != null) void fetchFrame(m)
    } catch (err) {
      summary.value = null
      error.value = (err as Error).message
    } finally {
      loading.value = false
    }
  }

  // per chart: the request last sent (identical ones are not sent again) and a sequence number, so that a
  // slow answer never replaces a newer one
  const requested: Record<string, string> = {}
  const sequence: Record<string, number> = {}
  // per chart: the last frame of the whole extent, so that zooming out draws at once without a request
  const wholeExtent: Record<string, { key: string; frame: ChartFrame }> = {}

  /** Fetches one chart's frame for its width in pixels and its zoom range (`force`: even if unchanged). */
  async function fetchFrame(metric: string, width = widths[metric] ?? 800, force = false) {
    widths[metric] = width
    const s = state.value
    if (s.runIds.length === 0) return
    const input = {
      runIds: s.runIds,
      metric,
      x: s.x,
      width: Math.max(8, Math.min(4096, Math.round(width / PIXELS_PER_BUCKET))),
      smoothing: s.smoothing,
      range: s.zoom[metric] ?? null,
    }
    const key = JSON.stringify(input)
    if (!force && requested[metric] === key) return
    requested[metric] = key
    const seq = (sequence[metric] = (sequence[metric] ?? 0) + 1)
    const held = wholeExtent[metric]
    if (!force && input.range == null && held?.key === key) {
      frames.value = { ...frames.value, [metric]: held.frame }
      return
    }
    try {
      const frame = decodeFrame(await useApi().call('compare.series', input))
      if (seq !== sequence[metric]) return
      if (input.range == null) wholeExtent[metric] = { key, frame }
      frames.value = { ...frames.value, [metric]: frame }
      error.value = null
    } catch (err) {
      delete requested[metric]
      error.value = (err as Error).message
    }
  }

  /**
   * A view opening fetches every frame afresh. Reopened on the same view state (`keep`), it draws the
   * frames it last showed at once, marked `reshown`, until the fresh ones replace them.
   */
  function reopen(keep: boolean) {
    frames.value = keep ? Object.fromEntries(Object.entries(frames.value).map(([m, f]) => [m, f.reshown ? f : { ...f, reshown: true }])) : {}
    for (const k of Object.keys(requested)) delete requested[k]
    for (const k of Object.keys(wholeExtent)) delete wholeExtent[k]
  }

  function zoom(metric: string, range: [number, number] | null) {
    const next = { ...state.value.zoom }
    if (range) next[metric] = range
    else delete next[metric]
    setState({ zoom: next })
    return fetchFrame(metric)
  }

  function toggle(id: number) {
    const ids = state.value.runIds
    setState({ runIds: ids.includes(id) ? ids.filter((r) => r !== id) : [...ids, id] })
  }

  async function exportText(format: 'csv' | 'md') {
    return useApi().call('compare.export', { runIds: state.value.runIds, format })
  }

  // Live curves: new points of a compared run re-fetch the charts that show them, at most once a second.
  const pending = new Set<string>()
  let timer: ReturnType<typeof setTimeout> | null = null
  function onRunMetrics(runId: number, names: string[]) {
    if (!state.value.runIds.includes(runId)) return
    for (const n of names) {
      delete wholeExtent[n]
      if (state.value.metrics.includes(n)) pending.add(n)
    }
    if (summary.value && names.some((n) => !summary.value!.metrics.includes(n))) pending.add('\u0000summary')
    if (pending.size === 0 || timer) return
    timer = setTimeout(() => {
      timer = null
      const todo = [...pending]
      pending.clear()
      for (const m of todo) void (m === '\u0000summary' ? loadSummary() : fetchFrame(m, undefined, true))
    }, 1000)
  }

  return { state, summary, frames, error, loading, runIds, names, colorOf, setState, loadSummary, fetchFrame, reopen, zoom, toggle, exportText, onRunMetrics }
})
