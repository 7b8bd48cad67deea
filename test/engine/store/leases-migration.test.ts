// The lease migration rebuilds `runs` (SQLite cannot alter a CHECK) to admit 'interrupted': every row
// and every row that points at a run survives, foreign keys still hold, and no column is lost.
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrate, openDatabase } from '../../../engine/store/db'
import { migrations } from '../../../engine/store/migrations'
import { getRun, setRunStatus } from '../../../engine/store/runs'
import { tempDir } from '../../helpers'

let tmp: ReturnType<typeof tempDir>
beforeEach(() => (tmp = tempDir()))
afterEach(() => tmp.cleanup())

const rebuild = migrations.findIndex((m) => m.includes('runs_rebuild_interrupted'))
const columns = (db: Database.Database, table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name)
const count = (db: Database.Database, table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n

describe('the runs rebuild for leases', () => {
  it('keeps runs, their metrics, checkpoints, evaluations and models, with foreign keys enforced after', () => {
    expect(rebuild).toBeGreaterThan(0)
    const file = path.join(tmp.dir, 'old.db')
    const old = new Database(file)
    old.pragma('foreign_keys = ON')
    migrate(old, rebuild)
    const before = columns(old, 'runs')
    old.exec(`
      INSERT INTO datasets (id, name, dir) VALUES (1, 'poems', '/d/1');
      INSERT INTO runs (id, name, kind, status, config, seed, backend, dataset_id, error) VALUES
        (1, 'a', 'pretrain', 'completed', '{"lr":1}', 42, 'wasm', 1, NULL),
        (2, 'b', 'pretrain', 'running', '{}', 7, 'cpu', NULL, NULL),
        (3, 'c', 'finetune', 'failed', '{}', 1, NULL, NULL, 'boom');
      INSERT INTO metrics VALUES (1, 'loss', 1, 2.5, 0), (1, 'loss', 2, 2.0, 0), (2, 'loss', 1, 3.0, 0);
      INSERT INTO checkpoints (run_id, step, path) VALUES (1, 2, '/r/1/step-2'), (2, 1, '/r/2/step-1');
      INSERT INTO models (id, name, source, dir, config, run_id) VALUES (1, 'a (run 1)', 'trained', '/m/1', '{}', 1);
      INSERT INTO evaluations (run_id, metrics) VALUES (1, '{"accuracy":0.5}');
    `)
    old.close()

    const db = openDatabase(file) // migrates the rest of the way
    expect(columns(db, 'runs')).toEqual(expect.arrayContaining(before))
    expect(count(db, 'runs')).toBe(3)
    expect(count(db, 'metrics')).toBe(3)
    expect(count(db, 'checkpoints')).toBe(2)
    expect(count(db, 'evaluations')).toBe(1)
    expect(db.prepare('SELECT run_id AS runId FROM models WHERE id = 1').get()).toEqual({ runId: 1 })
    expect(getRun(db, 1)).toMatchObject({ name: 'a', status: 'completed', config: { lr: 1 }, seed: 42, backend: 'wasm', datasetId: 1 })
    expect(getRun(db, 3)).toMatchObject({ status: 'failed', error: 'boom' })
    expect(db.pragma('foreign_key_check')).toEqual([])
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')

    setRunStatus(db, 2, 'interrupted', { error: 'its process is gone' })
    expect(getRun(db, 2)).toMatchObject({ status: 'interrupted', error: 'its process is gone' })
    expect(getRun(db, 2)!.finishedAt).not.toBeNull()
    // a resumed run is running again: no error, no finish time
    setRunStatus(db, 2, 'running')
    expect(getRun(db, 2)).toMatchObject({ status: 'running', error: null, finishedAt: null })
    // foreign keys are on again and still point at the rebuilt table, cascades included
    expect(() => db.prepare("INSERT INTO metrics VALUES (99, 'loss', 1, 1.0, 0)").run()).toThrow(/FOREIGN KEY/)
    db.prepare('DELETE FROM runs WHERE id = 1').run()
    expect(count(db, 'metrics')).toBe(1)
    expect(db.prepare('SELECT run_id AS runId FROM models WHERE id = 1').get()).toEqual({ runId: null })
    db.close()
  })
})
