// Shared setup for the import tests: a fresh data folder and database per test, and reading records back.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { dataLayout, type DataLayout } from '../../../engine/paths'
import { openDatabase, type Db } from '../../../engine/store/db'
import { readSamples } from '../../../engine/data/shards'

export const FIXTURES = path.resolve(__dirname, '../../fixtures/import')

export interface Home {
  dir: string
  layout: DataLayout
  db: Db
  close(): void
}

export function makeHome(): Home {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-import-'))
  const layout = dataLayout(dir)
  const db = openDatabase(layout.database)
  return {
    dir,
    layout,
    db,
    close() {
      db.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

export async function allRecords(datasetDir: string): Promise<Record<string, unknown>[]> {
  const { items } = await readSamples(datasetDir, 0, 1_000_000)
  return items.map((i) => i.record)
}

/** The fixture's documents as the importer should store them (one per non-empty line, trimmed). */
/** Whitespace normalisation turns the ideographic space into a plain one. */
export function fixtureLines(name: string): string[] {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8').split('\n').map((l) => l.trim().replace(/\u3000/g, ' ')).filter((l) => l !== '')
}
