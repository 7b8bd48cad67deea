import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrate, openDatabase, schemaVersion, SCHEMA_VERSION } from '../../../engine/store/db'
import { migrations } from '../../../engine/store/migrations'
import { insertDataset, listDatasets, deleteDataset, listDatasetFiles } from '../../../engine/store/datasets'
import { insertRun, getRun, setRunStatus } from '../../../engine/store/runs'
import { MetricWriter, metricSeries } from '../../../engine/store/metrics'
import { getSettings, setSettings } from '../../../engine/store/settings'
import { tempDir } from '../../helpers'

let tmp: ReturnType<typeof tempDir>
beforeEach(() => (tmp = tempDir()))
afterEach(() => tmp.cleanup())

const tablesOf = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name)

describe('migrations', () => {
  it('bring an empty file to the current version, in WAL mode with foreign keys on', () => {
    const db = openDatabase(path.join(tmp.dir, 'a.db'))
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
    expect(tablesOf(db)).toEqual(
      expect.arrayContaining(['settings', 'datasets', 'dataset_files', 'models', 'runs', 'metrics', 'checkpoints', 'evaluations', 'sweeps']),
    )
    db.close()
  })

  it('upgrade a database left at each earlier version and keep its rows', () => {
    for (let from = 0; from < SCHEMA_VERSION; from++) {
      const file = path.join(tmp.dir, `v${from}.db`)
      const old = new Database(file)
      old.pragma('foreign_keys = ON')
      migrate(old, from)
      if (from >= 1) old.prepare("INSERT INTO settings (key, value) VALUES ('theme', '\"dark\"')").run()
      old.close()
      const db = openDatabase(file)
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION)
      if (from >= 1) expect(getSettings(db).theme).toBe('dark')
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      db.close()
    }
  })

  it('is idempotent: reopening applies nothing twice', () => {
    const file = path.join(tmp.dir, 'b.db')
    openDatabase(file).close()
    const db = openDatabase(file)
    expect(schemaVersion(db)).toBe(migrations.length)
    db.close()
  })

  it('refuses a database from a newer app instead of damaging it', () => {
    const file = path.join(tmp.dir, 'future.db')
    const raw = new Database(file)
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    raw.close()
    expect(() => openDatabase(file)).toThrow(/newer than this Mengzi Workbench supports/)
  })

  it('checks foreign keys after a migration is applied, not at every open', () => {
    const file = path.join(tmp.dir, 'fk.db')
    openDatabase(file).close()
    // a migration that leaves an orphan row (foreign keys are off while migrating) is refused
    const old = new Database(file)
    old.pragma('foreign_keys = ON')
    migrations.push("INSERT INTO checkpoints (run_id, step, path) VALUES (424242, 1, 'orphan');")
    try {
      expect(() => migrate(old, migrations.length)).toThrow(/1 broken foreign keys after migration/)
    } finally {
      migrations.pop()
      old.close()
    }
    // each migration commits on its own, so the orphan stays: without a migration to apply, opening no
    // longer reads every row to check foreign keys
    const raw = new Database(file)
    raw.pragma(`user_version = ${SCHEMA_VERSION}`)
    raw.close()
    const db = openDatabase(file)
    expect(db.pragma('foreign_key_check')).toHaveLength(1)
    db.close()
  })

  it('rolls a failing migration back whole', () => {
    const db = new Database(':memory:')
    migrations.push('CREATE TABLE half_done (x); SELECT * FROM no_such_table;')
    try {
      expect(() => migrate(db, migrations.length)).toThrow(/no_such_table/)
      expect(tablesOf(db)).not.toContain('half_done')
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION)
    } finally {
      migrations.pop()
      db.close()
    }
  })
})

describe('foreign keys', () => {
  it('refuse orphan rows and cascade deletes', () => {
    const db = openDatabase(path.join(tmp.dir, 'fk.db'))
    expect(() =>
      db.prepare("INSERT INTO dataset_files (dataset_id, source_path, status) VALUES (999, '/x', 'imported')").run(),
    ).toThrow(/FOREIGN KEY/)
    const id = insertDataset(db, {
      name: 'fortunes',
      kind: 'text',
      dir: '/data/1',
      files: [{ sourcePath: '/corpus/a.txt', status: 'imported', reason: null, records: 3, encoding: 'utf-8', task: null, split: 'train', bytes: 10, errors: [] }],
    })
    expect(listDatasetFiles(db, id)).toHaveLength(1)
    deleteDataset(db, id)
    expect(db.prepare('SELECT COUNT(*) AS n FROM dataset_files').get()).toEqual({ n: 0 })

    const runId = insertRun(db, { name: 'r', kind: 'pretrain', config: {}, seed: 1 })
    expect(() => db.prepare("INSERT INTO metrics VALUES (?, 'loss', 1, 1.0, 0)").run(runId + 100)).toThrow(/FOREIGN KEY/)
    db.close()
  })

  it('reject a status outside the allowed set', () => {
    const db = openDatabase(path.join(tmp.dir, 'chk.db'))
    const runId = insertRun(db, { name: 'r', kind: 'pretrain', config: { lr: 1e-4 }, seed: 7 })
    expect(() => setRunStatus(db, runId, 'exploded' as never)).toThrow(/CHECK constraint/)
    setRunStatus(db, runId, 'running', { backend: 'wasm' })
    const run = getRun(db, runId)!
    expect(run.status).toBe('running')
    expect(run.backend).toBe('wasm')
    expect(run.startedAt).not.toBeNull()
    expect(run.config).toEqual({ lr: 1e-4 })
    db.close()
  })
})

describe('concurrency', () => {
  it('lets a reader read a consistent snapshot while a writer is mid-transaction', () => {
    const file = path.join(tmp.dir, 'wal.db')
    const writer = openDatabase(file)
    const reader = openDatabase(file, { readonly: true })
    const runId = insertRun(writer, { name: 'r', kind: 'pretrain', config: {}, seed: 1 })
    const metrics = new MetricWriter(writer, runId, 1000)
    for (let step = 1; step <= 100; step++) metrics.add('loss', step, 10 / step)
    metrics.flush()

    writer.exec('BEGIN IMMEDIATE')
    writer.prepare("INSERT INTO metrics VALUES (?, 'loss', 101, 0.01, 0)").run(runId)
    // the reader is not blocked and does not see the uncommitted point
    expect(metricSeries(reader, runId, 'loss').steps).toHaveLength(100)
    writer.exec('COMMIT')
    expect(metricSeries(reader, runId, 'loss').steps).toHaveLength(101)
    reader.close()
    writer.close()
  })

  it('writes metric points in batches and keeps them in step order', () => {
    const db = openDatabase(path.join(tmp.dir, 'm.db'))
    const runId = insertRun(db, { name: 'r', kind: 'pretrain', config: {}, seed: 1 })
    const metrics = new MetricWriter(db, runId, 64)
    for (let step = 200; step >= 1; step--) metrics.add('loss', step, step / 2)
    // 3 full batches were written; the rest waits for flush
    expect(metricSeries(db, runId, 'loss').steps).toHaveLength(192)
    metrics.flush()
    const s = metricSeries(db, runId, 'loss')
    expect(s.steps).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(s.values[9]).toBe(5)
    db.close()
  })
})

describe('settings', () => {
  it('round-trip JSON values and overwrite keys', () => {
    const db = openDatabase(path.join(tmp.dir, 's.db'))
    setSettings(db, { theme: 'dark', spacyPython: null, nested: { a: [1, 2] } })
    setSettings(db, { theme: 'light' })
    expect(getSettings(db)).toEqual({ theme: 'light', spacyPython: null, nested: { a: [1, 2] } })
    expect(listDatasets(db)).toEqual([])
    db.close()
  })
})
