// The dataset operations behind the API: rename, delete (row, then folder), samples
// and statistics. Imports run as worker tasks (engine/service/tasks.ts); the CLI calls importCorpus directly.
import fs from 'node:fs'
import { notFound, badInput } from '../errors'
import type { DataLayout } from '../paths'
import type { Db } from '../store/db'
import { deleteDataset, getDataset, renameDataset } from '../store/datasets'
import { readSamples, type Sample } from './shards'
import type { DatasetStats } from './types'

function datasetOrThrow(db: Db, id: number) {
  const row = getDataset(db, id)
  if (!row) throw notFound(`dataset ${id} does not exist`)
  return row
}

export function renameDatasetChecked(db: Db, id: number, name: string): void {
  const trimmed = name.trim()
  if (trimmed === '') throw badInput('datasets.rename: name: must not be empty')
  datasetOrThrow(db, id)
  renameDataset(db, id, trimmed)
}

/** Removes the row (and its file rows) first, then the folder: a crash in between leaves an orphan folder that the next import removes. */
export function deleteDatasetAndFolder(db: Db, id: number): boolean {
  const row = datasetOrThrow(db, id)
  const deleted = deleteDataset(db, id)
  fs.rmSync(row.dir, { recursive: true, force: true })
  return deleted
}

export async function datasetSamples(db: Db, id: number, offset: number, limit: number, query?: string): Promise<{ total: number; items: Sample[]; next: number | null }> {
  const row = datasetOrThrow(db, id)
  if (!fs.existsSync(row.dir)) throw notFound(`dataset ${id}: its folder ${row.dir} is missing`)
  return readSamples(row.dir, offset, limit, query?.trim() || undefined)
}

export function datasetStats(db: Db, id: number): DatasetStats {
  return datasetOrThrow(db, id).stats as unknown as DatasetStats
}
