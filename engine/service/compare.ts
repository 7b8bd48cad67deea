// Comparing runs: the run table, the Compare view's summary (config diff, metric names, scores), the
// comparison report the CLI prints and the UI exports, and deleting runs with their checkpoints.
import fs from 'node:fs'
import path from 'node:path'
import { BENCH_CONFIGS } from '../model/config'
import { WorkbenchError, notFound } from '../errors'
import type { DataLayout } from '../paths'
import { datasetNames, metricSummaries, modelConfigs, modelDirsOfRun, readSeries, runAnnotations, runEvaluations } from '../store/compare'
import { listRunCheckpoints } from '../store/checkpoints'
import type { Db } from '../store/db'
import { deleteRun, getRun, listRuns, type RunRow } from '../store/runs'
import type { CompareSummary, RunTableRow } from './api'
import { configDiff, diffConfigs, flattenConfig, type ConfigValue } from './compare-diff'
import { scoreTable, type ScoreTable } from './compare-scores'
import { pickMinMaxPoints } from './compare-series'

type Scalar = string | number | boolean | null

/** "A · 2×128" for a preset, "12×768" for an inline config or base model; null when unknown. */
export function modelSizeOf(config: Record<string, unknown>, baseModel: Record<string, unknown> | undefined): string | null {
  const size = (c: Record<string, unknown>) =>
    typeof c.num_hidden_layers === 'number' && typeof c.hidden_size === 'number' ? `${c.num_hidden_layers}×${c.hidden_size}` : null
  const model = config.model as Record<string, unknown> | undefined
  if (model && typeof model.preset === 'string' && model.preset in BENCH_CONFIGS) {
    const preset = { ...BENCH_CONFIGS[model.preset as keyof typeof BENCH_CONFIGS], ...((model.overrides as object | undefined) ?? {}) }
    return `${model.preset} · ${size(preset)}`
  }
  if (model && typeof model.config === 'object' && model.config) return size(model.config as Record<string, unknown>)
  return baseModel ? size(baseModel) : null
}

/** The task of a fine-tuning run: its config's `task`, else its dataset's kind when that is a task. */
function taskOf(run: RunRow, datasets: Map<number, { kind: string }>): string | null {
  if (typeof run.config.task === 'string' && run.config.task !== 'auto') return run.config.task
  const kind = run.datasetId != null ? datasets.get(run.datasetId)?.kind : undefined
  return kind && kind !== 'text' ? kind : null
}

function durationSeconds(run: RunRow): number | null {
  if (!run.startedAt) return null
  const end = run.finishedAt ? Date.parse(run.finishedAt) : run.status === 'running' ? Date.now() : null
  return end == null ? null : Math.max(0, (end - Date.parse(run.startedAt)) / 1000)
}

export function runTable(db: Db): RunTableRow[] {
  const notes = runAnnotations(db)
  const datasets = datasetNames(db)
  const models = modelConfigs(db)
  const finals = new Map<number, Record<string, number>>()
  for (const s of metricSummaries(db)) finals.set(s.runId, { ...finals.get(s.runId), [s.name]: s.lastValue })
  return listRuns(db).map((run) => {
    const params: Record<string, Scalar> = {}
    for (const [k, v] of Object.entries(flattenConfig(run.config))) if (!Array.isArray(v)) params[k] = v as Scalar
    return {
      id: run.id,
      name: run.name,
      kind: run.kind,
      status: run.status,
      seed: run.seed,
      backend: run.backend,
      backendDetail: run.backendDetail,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      error: run.error,
      sweepId: run.sweepId,
      datasetId: run.datasetId,
      datasetName: run.datasetId != null ? (datasets.get(run.datasetId)?.name ?? null) : null,
      baseModelId: run.baseModelId,
      task: taskOf(run, datasets),
      modelSize: modelSizeOf(run.config, run.baseModelId != null ? models.get(run.baseModelId) : undefined),
      params,
      final: finals.get(run.id) ?? {},
      durationSeconds: durationSeconds(run),
      tags: notes.get(run.id)?.tags ?? [],
      notes: notes.get(run.id)?.notes ?? '',
    }
  })
}

function runsOrThrow(db: Db, ids: number[]): RunRow[] {
  return ids.map((id) => {
    const run = getRun(db, id)
    if (!run) throw notFound(`run ${id} does not exist`)
    return run
  })
}

function scoresOf(db: Db, runs: RunRow[], summaries = metricSummaries(db, runs.map((r) => r.id))): ScoreTable {
  const datasets = datasetNames(db)
  return scoreTable(
    runs.map((r) => ({ runId: r.id, task: taskOf(r, datasets) })),
    summaries,
    runEvaluations(db, runs.map((r) => r.id)),
  )
}

export function compareSummary(db: Db, runIds: number[]): CompareSummary {
  const runs = runsOrThrow(db, runIds)
  const summaries = metricSummaries(db, runIds)
  return {
    runs: runs.map((r) => ({ id: r.id, name: r.name, kind: r.kind, status: r.status })),
    diff: diffConfigs(runs.map((r) => r.config)),
    metrics: [...new Set(summaries.map((s) => s.name))].sort(),
    scores: scoresOf(db, runs, summaries), // the summaries read once
  }
}

/** What `mengzi compare --format json` prints. */
export interface ComparisonReport {
  runs: { id: number; name: string; config: Record<string, unknown>; summary: Record<string, number> }[]
  config_diff: Record<string, Record<string, ConfigValue>>
  series: Record<string, Record<string, [number, number][]>>
  scores: { columns: string[]; metric_of: Record<string, string>; runs: Record<string, Record<string, number | null>>; best: Record<string, number[]> }
}

/**
 * The whole comparison of some runs. `points` > 0 keeps that many min/max buckets of each series (the
 * first, lowest, highest and last point of each: real [step, value] pairs); 0 keeps every point.
 */
export function comparisonReport(db: Db, runIds: number[], options: { points?: number; metrics?: string[] } = {}): ComparisonReport {
  const runs = runsOrThrow(db, runIds)
  const summaries = metricSummaries(db, runIds)
  const summaryOf = (id: number) => Object.fromEntries(summaries.filter((s) => s.runId === id).map((s) => [s.name, s.lastValue]))
  const series: ComparisonReport['series'] = {}
  for (const s of summaries) {
    if (options.metrics && !options.metrics.includes(s.name)) continue
    const { step, value } = readSeries(db, s.runId, s.name)
    const keep = options.points ? pickMinMaxPoints(step, value, options.points) : null
    const pairs: [number, number][] = keep ? keep.map((i) => [step[i], value[i]]) : Array.from(step, (x, i) => [x, value[i]])
    ;(series[s.name] ??= {})[String(s.runId)] = pairs
  }
  const scores = scoresOf(db, runs)
  return {
    runs: runs.map((r) => ({ id: r.id, name: r.name, config: r.config, summary: summaryOf(r.id) })),
    config_diff: configDiff(runs),
    series,
    scores: {
      columns: [...scores.columns, 'average'],
      metric_of: scores.metricOf,
      runs: Object.fromEntries(scores.rows.map((r) => [String(r.runId), { ...r.scores, average: r.average }])),
      best: scores.best,
    },
  }
}

const show = (v: unknown): string => (v == null ? '' : Array.isArray(v) ? JSON.stringify(v) : typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v))

/** One row per run: identity, the differing config keys, final metric values, scores. */
export function comparisonRows(report: ComparisonReport): { header: string[]; rows: string[][] } {
  const diffKeys = Object.keys(report.config_diff)
  const metricNames = [...new Set(report.runs.flatMap((r) => Object.keys(r.summary)))].sort()
  const header = ['id', 'name', ...diffKeys.map((k) => `config.${k}`), ...metricNames.map((m) => `final.${m}`), ...report.scores.columns.map((c) => `score.${c}`)]
  const rows = report.runs.map((r) => [
    String(r.id),
    r.name,
    ...diffKeys.map((k) => show(report.config_diff[k][String(r.id)])),
    ...metricNames.map((m) => show(r.summary[m])),
    ...report.scores.columns.map((c) => show(report.scores.runs[String(r.id)]?.[c])),
  ])
  return { header, rows }
}

const csvCell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)

export function comparisonCsv(report: ComparisonReport): string {
  const { header, rows } = comparisonRows(report)
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n'
}

const mdCell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ')
const mdTable = (header: string[], rows: string[][]) =>
  [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(mdCell).join(' | ')} |`).join('\n')

/** Markdown: the differing config keys with runs as columns, final metrics, and the score table (best in bold). */
export function comparisonMarkdown(report: ComparisonReport): string {
  const runCols = report.runs.map((r) => `${r.name} (#${r.id})`)
  const parts = ['## Runs', mdTable(['id', 'name'], report.runs.map((r) => [String(r.id), r.name]))]
  const diffKeys = Object.keys(report.config_diff)
  parts.push('## Config differences', diffKeys.length ? mdTable(['key', ...runCols], diffKeys.map((k) => [k, ...report.runs.map((r) => show(report.config_diff[k][String(r.id)]))])) : 'The configs are identical.')
  const metricNames = [...new Set(report.runs.flatMap((r) => Object.keys(r.summary)))].sort()
  if (metricNames.length) parts.push('## Final metrics', mdTable(['metric', ...runCols], metricNames.map((m) => [m, ...report.runs.map((r) => show(r.summary[m]))])))
  if (report.scores.columns.length > 1) {
    const cell = (runId: number, c: string) => {
      const text = show(report.scores.runs[String(runId)]?.[c])
      return text && report.scores.best[c]?.includes(runId) ? `**${text}**` : text
    }
    parts.push('## Scores (dev; best in bold)', mdTable(['run', ...report.scores.columns], report.runs.map((r) => [r.name, ...report.scores.columns.map((c) => cell(r.id, c))])))
  }
  return parts.join('\n\n') + '\n'
}

export interface DeletedRuns {
  deleted: number[]
  /** Checkpoint folders removed from disk. */
  checkpoints: number
}

/**
 * Deletes runs, their metric points and evaluations (cascade) and their checkpoint folders. A running
 * run is refused; a model registered from a run keeps its folder (it lives on as an imported model).
 */
export function deleteRuns(db: Db, layout: DataLayout, ids: number[]): DeletedRuns {
  const runs = runsOrThrow(db, ids)
  const running = runs.find((r) => r.status === 'running')
  if (running) throw new WorkbenchError('CONFLICT', `run ${running.id} (${running.name}) is running: cancel it before deleting it`)
  let checkpoints = 0
  for (const run of runs) {
    const keep = modelDirsOfRun(db, run.id).map((d) => path.resolve(d))
    const inUse = (p: string) => keep.some((k) => k === p || k.startsWith(p + path.sep) || p.startsWith(k + path.sep))
    const ours = (p: string) => {
      const rel = path.relative(layout.runs, p)
      return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
    }
    const doomed = listRunCheckpoints(db, run.id).map((c) => path.resolve(c.path)).filter((p) => ours(p) && !inUse(p))
    deleteRun(db, run.id)
    for (const p of doomed) {
      if (fs.existsSync(p)) checkpoints++
      fs.rmSync(p, { recursive: true, force: true })
    }
    const runDir = path.join(layout.runs, String(run.id))
    if (!keep.some((k) => k.startsWith(runDir + path.sep))) fs.rmSync(runDir, { recursive: true, force: true })
  }
  return { deleted: runs.map((r) => r.id), checkpoints }
}
