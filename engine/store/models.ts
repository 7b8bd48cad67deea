import type { Db } from './db'
import { parseJson } from './json'

export interface ModelRow {
  id: number
  name: string
  source: 'imported' | 'trained'
  dir: string
  config: Record<string, unknown>
  runId: number | null
  createdAt: string
}

const modelSelect = 'SELECT id, name, source, dir, config, run_id AS runId, created_at AS createdAt FROM models'
const toModel = (r: Record<string, unknown>): ModelRow => ({
  ...(r as unknown as ModelRow),
  config: parseJson(r.config as string, {}),
})

export function listModels(db: Db): ModelRow[] {
  return (db.prepare(`${modelSelect} ORDER BY id DESC`).all() as Record<string, unknown>[]).map(toModel)
}

export function getModel(db: Db, id: number): ModelRow | undefined {
  const row = db.prepare(`${modelSelect} WHERE id = ?`).get(id) as Record<string, unknown> | undefined
  return row && toModel(row)
}

export function insertModel(db: Db, m: Omit<ModelRow, 'id' | 'createdAt' | 'runId'> & { runId?: number | null }): number {
  return Number(
    db
      .prepare('INSERT INTO models (name, source, dir, config, run_id) VALUES (?, ?, ?, ?, ?)')
      .run(m.name, m.source, m.dir, JSON.stringify(m.config), m.runId ?? null).lastInsertRowid,
  )
}

export function deleteModel(db: Db, id: number): boolean {
  return db.prepare('DELETE FROM models WHERE id = ?').run(id).changes === 1
}

/** Points a model at its folder (set once the files are in place under the id the row was given). */
export function setModelDir(db: Db, id: number, dir: string): boolean {
  return db.prepare('UPDATE models SET dir = ? WHERE id = ?').run(dir, id).changes === 1
}
