// The CLUE-style score table: one column per task (CLUE's order first), one row per run, an average of
// the run's CLUE task scores, the best run of every column marked. A task's score is its evaluation on the
// dev split (the evaluations table), else the last point of its `dev/...` series; other dev metrics (a
// pretraining run's dev/loss, dev/mlm_accuracy) are columns of their own.
import { TASKS } from '../data/types'
import type { EvaluationRow, MetricSummaryRow } from '../store/compare'

export interface ScoreRow {
  runId: number
  scores: Record<string, number | null>
  /** Mean over the CLUE tasks this run has a score for; null when it has none. */
  average: number | null
}

export interface ScoreTable {
  /** Column names: CLUE tasks in CLUE's order, then other dev metrics. */
  columns: string[]
  /** The metric a column shows (`accuracy`, `em`, `dev/loss`). */
  metricOf: Record<string, string>
  rows: ScoreRow[]
  /** Column → ids of the best runs (ties share it); `average` included. */
  best: Record<string, number[]>
}

const CLUE: readonly string[] = TASKS.filter((t) => t !== 'text')
const PREFERRED = ['accuracy', 'acc', 'em', 'exact_match', 'f1', 'macro_f1']

export const lowerIsBetter = (metric: string) => /loss|perplexity|ppl|error/i.test(metric)

/** Accuracy-like fractions read as percentages, as CLUE reports them. */
function asScore(metric: string, value: number): number {
  return !lowerIsBetter(metric) && /acc|f1|em|exact|match/i.test(metric) && value >= 0 && value <= 1 ? value * 100 : value
}

function primaryMetric(metrics: Record<string, unknown>): [string, number] | null {
  const numeric = Object.entries(metrics).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]))
  for (const p of PREFERRED) {
    const hit = numeric.find(([k]) => k === p)
    if (hit) return hit
  }
  return numeric[0] ?? null
}

export interface ScoreInput {
  runId: number
  /** The run's task when it is a CLUE fine-tuning run (its config's task, or its dataset's kind). */
  task: string | null
}

export function scoreTable(runs: ScoreInput[], summaries: MetricSummaryRow[], evaluations: EvaluationRow[]): ScoreTable {
  const cells = new Map<number, Map<string, { metric: string; value: number }>>()
  const put = (runId: number, column: string, metric: string, value: number) => {
    if (!cells.has(runId)) cells.set(runId, new Map())
    cells.get(runId)!.set(column, { metric, value: asScore(metric, value) })
  }
  const taskOf = new Map(runs.map((r) => [r.runId, r.task]))
  // series first: an evaluation of the same task (written at the end) overrides them
  const byRun = new Map<number, MetricSummaryRow[]>()
  for (const s of summaries) if (s.name.startsWith('dev/')) byRun.set(s.runId, [...(byRun.get(s.runId) ?? []), s])
  for (const [runId, list] of byRun) {
    const perTask = new Map<string, Record<string, number>>()
    for (const s of list) {
      const parts = s.name.slice(4).split('/')
      if (parts.length >= 2 && CLUE.includes(parts[0])) perTask.set(parts[0], { ...perTask.get(parts[0]), [parts.slice(1).join('/')]: s.lastValue })
      else if (parts.length === 1 && taskOf.get(runId) && CLUE.includes(taskOf.get(runId)!) && !lowerIsBetter(parts[0]))
        perTask.set(taskOf.get(runId)!, { ...perTask.get(taskOf.get(runId)!), [parts[0]]: s.lastValue })
      else put(runId, s.name, s.name, s.lastValue)
    }
    for (const [task, metrics] of perTask) {
      const p = primaryMetric(metrics)
      if (p) put(runId, task, p[0], p[1])
    }
  }
  for (const e of evaluations) {
    if (e.split !== 'dev') continue
    const task = (typeof e.metrics.task === 'string' ? e.metrics.task : null) ?? e.datasetKind ?? taskOf.get(e.runId) ?? null
    const p = primaryMetric(e.metrics)
    if (!p) continue
    if (task && CLUE.includes(task)) put(e.runId, task, p[0], p[1])
    else for (const [k, v] of Object.entries(e.metrics)) if (typeof v === 'number') put(e.runId, `dev/${k}`, `dev/${k}`, v)
  }

  const present = new Set([...cells.values()].flatMap((m) => [...m.keys()]))
  const columns = [...CLUE.filter((t) => present.has(t)), ...[...present].filter((c) => !CLUE.includes(c)).sort()]
  const metricOf: Record<string, string> = {}
  for (const m of cells.values()) for (const [c, v] of m) metricOf[c] ??= v.metric
  const rows = runs.map(({ runId }) => {
    const m = cells.get(runId)
    const scores = Object.fromEntries(columns.map((c) => [c, m?.get(c)?.value ?? null]))
    const clue = columns.filter((c) => CLUE.includes(c) && scores[c] != null).map((c) => scores[c]!)
    return { runId, scores, average: clue.length ? clue.reduce((a, b) => a + b, 0) / clue.length : null }
  })
  const best: Record<string, number[]> = {}
  for (const column of [...columns, 'average']) {
    const values = rows.map((r) => ({ runId: r.runId, v: column === 'average' ? r.average : r.scores[column] })).filter((x) => x.v != null)
    if (values.length === 0) continue
    const pick = lowerIsBetter(metricOf[column] ?? column) ? Math.min(...values.map((x) => x.v!)) : Math.max(...values.map((x) => x.v!))
    best[column] = values.filter((x) => x.v === pick).map((x) => x.runId)
  }
  return { columns, metricOf, rows, best }
}
