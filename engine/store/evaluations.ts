// Evaluations: a run's (or model's) metrics on a dataset split, e.g. a fine-tuning run's best dev scores.
import type { Db } from './db'
import { parseJson } from './json'

export interface EvaluationRow {
  id: number
  runId: number | null
  modelId: number | null
  datasetId: number | null
  split: string
  metrics: Record<string, number>
  createdAt: string
}

export function insertEvaluation(db: Db, e: Omit<EvaluationRow, 'id' | 'createdAt'>): number {
  return Number(
    db
      .prepare('INSERT INTO evaluations (run_id, model_id, dataset_id, split, metrics) VALUES (?, ?, ?, ?, ?)')
      .run(e.runId, e.modelId, e.datasetId, e.split, JSON.stringify(e.metrics)).lastInsertRowid,
  )
}

export function listEvaluations(db: Db, runId: number): EvaluationRow[] {
  return (
    db
      .prepare('SELECT id, run_id AS runId, model_id AS modelId, dataset_id AS datasetId, split, metrics, created_at AS createdAt FROM evaluations WHERE run_id = ? ORDER BY id')
      .all(runId) as Record<string, unknown>[]
  ).map((r) => ({ ...(r as unknown as EvaluationRow), metrics: parseJson(r.metrics as string, {}) }))
}
