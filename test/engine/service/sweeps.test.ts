// Fine-tuning from the command line and the API: `finetune --json` ends with runId/status/dev, `predict`
// writes CLUE's submission file, a 2×2 sweep finishes with 4 runs and a best, and a sweep whose process
// is killed with SIGKILL completes after `sweep --resume`, its killed run continuing from its epoch checkpoint.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../../engine/store/db'
import { Workbench } from '../../../engine/service/workbench'
import { repoRoot, tempDir } from '../../helpers'
import { runCli } from '../cli/run-cli'
import { importClue, tnewsRecords, wideInitModel } from '../train/finetune-data'

const tmp = tempDir('mengzi-sweeps-')
afterAll(() => tmp.cleanup())
const model = path.join(tmp.dir, 'start')
const tiny = ['--set', 'backend="cpu"', '--set', 'maxSeqLength=24', '--set', 'learningRate=3e-3', '--set', 'dropout=0']
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!)

beforeAll(async () => {
  await wideInitModel(model, 0.3)
})

async function home(name: string) {
  const dir = path.join(tmp.dir, name)
  const test = tnewsRecords(5, 9).map(({ label, label_desc, ...r }) => (void label, void label_desc, r))
  const ds = await importClue(dir, 'tnews', { 'train.json': tnewsRecords(32, 1), 'dev.json': tnewsRecords(16, 2), 'test.json': test })
  return { dir, db: path.join(dir, 'mengzi.db'), dataset: String(ds.id) }
}

describe('mengzi finetune / predict / sweep', { timeout: 240_000 }, () => {
  it('finetune --json ends with the run, its status and dev metric; predict writes the submission', async () => {
    const h = await home('one')
    const r = await runCli(['finetune', '--db', h.db, '--dataset', h.dataset, '--from', model, ...tiny, '--set', 'epochs=2', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const out = lastJson(r.stdout)
    expect(out).toMatchObject({ runId: 1, status: 'completed', task: 'tnews', metric: 'accuracy' })
    expect(out.dev.accuracy).toBeGreaterThanOrEqual(0)
    expect(out.epochs).toHaveLength(2)
    expect(out.modelId).toBeGreaterThan(0)

    const file = path.join(h.dir, 'tnews11_predict.json')
    const p = await runCli(['predict', '1', '--db', h.db, '--dataset', h.dataset, '--out', file, '--json'])
    expect(p.status, p.stderr).toBe(0)
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    expect(lines).toHaveLength(5)
    expect(lines.every((l) => ['100', '101'].includes(l.label))).toBe(true)

    // a bad source is one line naming it
    const bad = await runCli(['finetune', '--db', h.db, '--dataset', h.dataset, '--model', '99', '--json'])
    expect(bad.status).not.toBe(0)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/model 99 does not exist/)
  })

  it('finetune --estimate and sweep --estimate start nothing and say what the run and the sweep would cost here', async () => {
    const h = await home('estimate')
    const wasm = [...tiny, '--set', 'backend="wasm"'] // the calibration step is quicker there
    // 32 training examples in batches of 16, 2 epochs: 4 steps
    const r = await runCli(['finetune', '--db', h.db, '--dataset', h.dataset, '--from', model, ...wasm, '--set', 'epochs=2', '--estimate', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const check = lastJson(r.stdout)
    expect(check.estimate).toMatchObject({ trainFeatures: 32, stepsPerEpoch: 2, totalSteps: 4 })
    expect(check.estimate.secondsPerStep).toBeGreaterThan(0)
    expect(check.sweep).toBeNull()
    // batch 8 and 16, one epoch: 4 + 2 steps
    const s = await runCli(['sweep', '--db', h.db, '--dataset', h.dataset, '--from', model, ...wasm, '--grid', '{"batchSize":[8,16]}', '--set', 'epochs=1', '--estimate'])
    expect(s.status, s.stderr).toBe(0)
    expect(s.stdout).toMatch(/^parameters [\d,]+ · memory [\d.]+ MiB · 2 steps × 1 epoch \(32 training features\)\ntime per step [\d.]+ s · whole run [\d.]+ s\nsweep: 2 runs · 6 steps · [\d.]+ s · largest run [\d.]+ MiB\n/)
    expect(s.stdout).toMatch(/\ntime: FLOPs ÷ [\d.]+ GFLOP\/s measured here/)
    const db = openDatabase(h.db)
    expect(db.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 })
    db.close()
    const both = await runCli(['finetune', '--db', h.db, '--resume', '1', '--estimate'])
    expect(both.stderr).toMatch(/--estimate estimates a new run; drop --resume/)
  })

  it('a 2×2 sweep runs 4 runs one after another and marks the best by dev accuracy', async () => {
    const h = await home('grid')
    const r = await runCli(['sweep', '--db', h.db, '--dataset', h.dataset, '--from', model, ...tiny, '--grid', '{"learningRate":[1e-3,3e-3],"batchSize":[8,16]}', '--set', 'epochs=1', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const out = lastJson(r.stdout)
    expect(out.sweepId).toBe(1)
    expect(out.runs.map((x: { params: object }) => x.params)).toEqual([
      { learningRate: 1e-3, batchSize: 8 },
      { learningRate: 1e-3, batchSize: 16 },
      { learningRate: 3e-3, batchSize: 8 },
      { learningRate: 3e-3, batchSize: 16 },
    ])
    expect(out.runs.every((x: { status: string }) => x.status === 'completed')).toBe(true)
    const best = Math.max(...out.runs.map((x: { dev: { accuracy: number } }) => x.dev.accuracy))
    expect(out.best.dev.accuracy).toBe(best)
    const db = openDatabase(h.db, { readonly: true })
    try {
      expect(db.prepare('SELECT status, best_run_id AS best FROM sweeps WHERE id = 1').get()).toEqual({ status: 'completed', best: out.best.runId })
      // each run's dev metric is a series, one point per epoch
      expect(db.prepare("SELECT COUNT(*) AS n FROM metrics WHERE name = 'dev/accuracy'").get()).toEqual({ n: 4 })
    } finally {
      db.close()
    }
  })

  it('kill -9 during a sweep: the run shows interrupted, sweep --resume completes every run', async () => {
    const h = await home('crash')
    const args = ['sweep', '--dataset', h.dataset, '--from', model, ...tiny, '--grid', '{"learningRate":[1e-3,2e-3,3e-3]}', '--set', 'epochs=3', '--json']
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/mengzi.js'), ...args], { cwd: repoRoot, env: { ...process.env, MENGZI_HOME: h.dir }, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    // wait until the second run recorded its first epoch checkpoint (the first completed), then kill the process outright
    const until = Date.now() + 120_000
    for (;;) {
      const db = openDatabase(h.db, { readonly: true })
      const second = db.prepare('SELECT COUNT(*) AS n FROM checkpoints WHERE run_id = 2').get() as { n: number }
      db.close()
      if (second.n > 0) break
      if (Date.now() > until) throw new Error('the sweep never reached its second run')
      await new Promise((r) => setTimeout(r, 100))
    }
    child.kill('SIGKILL')
    await exited
    // the next process to open the database sees the run's owner gone
    const runs = await runCli(['runs', '--db', h.db, '--json'])
    const statuses = Object.fromEntries(JSON.parse(runs.stdout.trim().split('\n').at(-1)!).map((r: { id: number; status: string }) => [r.id, r.status]))
    expect(statuses).toEqual({ 1: 'completed', 2: 'interrupted', 3: 'queued' })
    const devPoints = () => {
      const db = openDatabase(h.db, { readonly: true })
      const rows = db.prepare("SELECT step, value, wall_time AS t FROM metrics WHERE run_id = 2 AND name = 'dev/accuracy' ORDER BY step").all()
      db.close()
      return rows
    }
    const before = devPoints()
    expect(before.length).toBeGreaterThan(0)

    // MENGZI_HOME: the same run folders (with the checkpoint) as the killed process
    const resumed = await runCli(['sweep', '--resume', '1', '--json'], { MENGZI_HOME: h.dir })
    expect(resumed.status, resumed.stderr).toBe(0)
    const out = lastJson(resumed.stdout)
    expect(out.runs.map((x: { status: string }) => x.status)).toEqual(['completed', 'completed', 'completed'])
    expect(out.best.runId).toBeGreaterThan(0)
    const db = openDatabase(h.db, { readonly: true })
    try {
      // the killed run continued from its epoch checkpoint: the points it had written stay, each epoch's dev point once
      expect(db.prepare("SELECT COUNT(*) AS n FROM metrics WHERE run_id = 2 AND name = 'dev/accuracy'").get()).toEqual({ n: 3 })
      expect(devPoints().slice(0, before.length)).toEqual(before)
      expect(db.prepare('SELECT status FROM sweeps WHERE id = 1').get()).toEqual({ status: 'completed' })
    } finally {
      db.close()
    }
  })

  it('cancelling a sweep cancels its current run and leaves the rest queued; resume completes them', async () => {
    const h = await home('cancel')
    const wb = new Workbench({ home: h.dir })
    try {
      const config = { backend: 'cpu', maxSeqLength: 24, learningRate: 3e-3, dropout: 0, epochs: 1 }
      const { sweepId, jobId } = await wb.call('sweeps.start', { datasetId: Number(h.dataset), from: model, config, grid: { batchSize: [8, 16, 32] } })
      await new Promise<void>((resolve) => {
        const off = wb.subscribe((e) => {
          if (e.type === 'run.metrics' && e.runId === 1) {
            off()
            resolve()
          }
        })
      })
      expect(await wb.call('jobs.cancel', { id: jobId })).toEqual({ cancelled: true })
      await expect.poll(async () => (await wb.call('sweeps.get', { id: sweepId })).status, { timeout: 30_000 }).toBe('cancelled')
      const cancelled = await wb.call('sweeps.get', { id: sweepId })
      expect(cancelled.runs.map((r) => r.status)).toEqual(['cancelled', 'queued', 'queued'])
      await wb.call('sweeps.resume', { id: sweepId })
      await expect.poll(async () => (await wb.call('sweeps.get', { id: sweepId })).status, { timeout: 120_000 }).toBe('completed')
      const done = await wb.call('sweeps.get', { id: sweepId })
      expect(done.runs.map((r) => r.status)).toEqual(['completed', 'completed', 'completed'])
      expect(done.best).not.toBeNull()
    } finally {
      await wb.close()
    }
  })
})
