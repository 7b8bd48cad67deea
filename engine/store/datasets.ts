import type { Db } from './db'
import { parseJson } from './json'

export interface DatasetRow {
  id: number
  name: string
  kind: string
  status: string
  dir: string
  stats: Record<string, unknown>
  options: Record<string, unknown>
  createdAt: string
  fileCount: number
}

export interface DatasetFileRow {
  id: number
  datasetId: number
  sourcePath: string
  status: 'imported' | 'skipped' | 'failed'
  reason: string | null
  records: number
  encoding: string | null
  task: string | null
  split: string | null
  bytes: number
  errors: { line: number; reason: string }[]
}

const datasetSelect = `
  SELECT d.id, d.name, d.kind, d.status, d.dir, d.stats, d.options, d.created_at AS createdAt,
         (SELECT COUNT(*) FROM dataset_files f WHERE f.dataset_id = d.id) AS fileCount
  FROM datasets d`

function toDataset(row: Record<string, unknown>): DatasetRow {
  return {
    ...(row as unknown as DatasetRow),
    stats: parseJson(row.stats as string, {}),
    options: parseJson(row.options as string, {}),
  }
}

export function listDatasets(db: Db): DatasetRow[] {
  return (db.prepare(`${datasetSelect} ORDER BY d.id DESC`).all() as Record<string, unknown>[]).map(toDataset)
}

export function getDataset(db: Db, id: number): DatasetRow | undefined {
  const row = db.prepare(`${datasetSelect} WHERE d.id = ?`).get(id) as Record<string, unknown> | undefined
  return row && toDataset(row)
}

export interface NewDataset {
  name: string
  kind: string
  dir: string
  stats?: Record<string, unknown>
  options?: Record<string, unknown>
  files: Omit<DatasetFileRow, 'id' | 'datasetId'>[]
}

/**
 * Registers a finished import, dataset and files together, in one transaction. `place`, when given, runs
 * inside the transaction once the id is known (to move the dataset's folder into place) and returns the
 * final folder; if it throws, nothing is registered.
 */
export function insertDataset(db: Db, d: NewDataset, place?: (id: number) => string): number {
  const insert = db.prepare('INSERT INTO datasets (name, kind, dir, stats, options) VALUES (?, ?, ?, ?, ?)')
  const insertFile = db.prepare(`INSERT INTO dataset_files
    (dataset_id, source_path, status, reason, records, encoding, task, split, bytes, errors)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  return db.transaction(() => {
    const id = Number(
      insert.run(d.name, d.kind, d.dir, JSON.stringify(d.stats ?? {}), JSON.stringify(d.options ?? {})).lastInsertRowid,
    )
    for (const f of d.files) {
      insertFile.run(id, f.sourcePath, f.status, f.reason, f.records, f.encoding, f.task, f.split, f.bytes, JSON.stringify(f.errors))
    }
    if (place) db.prepare('UPDATE datasets SET dir = ? WHERE id = ?').run(place(id), id)
    return id
  })()
}

export function listDatasetFiles(db: Db, datasetId: number): DatasetFileRow[] {
  const rows = db
    .prepare(`SELECT id, dataset_id AS datasetId, source_path AS sourcePath, status, reason, records, encoding,
              task, split, bytes, errors FROM dataset_files WHERE dataset_id = ? ORDER BY id`)
    .all(datasetId) as Record<string, unknown>[]
  return rows.map((r) => ({ ...(r as unknown as DatasetFileRow), errors: parseJson(r.errors as string, []) }))
}

export function renameDataset(db: Db, id: number, name: string): boolean {
  return db.prepare('UPDATE datasets SET name = ? WHERE id = ?').run(name, id).changes === 1
}

export function deleteDataset(db: Db, id: number): boolean {
  return db.prepare('DELETE FROM datasets WHERE id = ?').run(id).changes === 1
}
