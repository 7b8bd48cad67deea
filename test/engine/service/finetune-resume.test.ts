// An interrupted fine-tuning run resumes from its last epoch checkpoint: a CLI run killed with SIGKILL
// after its first checkpoint shows `interrupted`; `finetune --resume` completes it with each epoch's dev
// point once, and (cpu backend) the same loss and dev series as a run that was never interrupted.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../../engine/store/db'
import { repoRoot, tempDir } from '../../helpers'
import { runCli } from '../cli/run-cli'
import { importClue, tnewsRecords, wideInitModel } from '../train/finetune-data'

const tmp = tempDir('mengzi-finetune-resume-')
afterAll(() => tmp.cleanup())
const model = path.join(tmp.dir, 'start')
const EPOCHS = 4
const settings = ['--set', 'backend="cpu"', '--set', 'maxSeqLength=24', '--set', 'learningRate=3e-3', '--set', 'dropout=0.1', '--set', 'batchSize=8', '--set', `epochs=${EPOCHS}`]
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!)

beforeAll(async () => {
  await wideInitModel(model, 0.3)
})

async function home(name: string) {
  const dir = path.join(tmp.dir, name)
  const ds = await importClue(dir, 'tnews', { 'train.json': tnewsRecords(48, 1), 'dev.json': tnewsRecords(16, 2) })
  return { dir, db: path.join(dir, 'mengzi.db'), dataset: String(ds.id) }
}

type Point = { name: string; step: number; value: number }
function series(dbFile: string, runId: number, withTime = false): (Point & { wallTime?: number })[] {
  const db = openDatabase(dbFile, { readonly: true })
  try {
    return db.prepare(`SELECT name, step, value${withTime ? ', wall_time AS wallTime' : ''} FROM metrics WHERE run_id = ? ORDER BY name, step`).all(runId) as Point[]
  } finally {
    db.close()
  }
}

describe('resuming an interrupted fine-tuning run', { timeout: 120_000 }, () => {
  it('kill -9 after the first epoch checkpoint: interrupted, then finetune --resume completes it as if never stopped', async () => {
    const whole = await home('whole')
    const ref = await runCli(['finetune', '--dataset', whole.dataset, '--from', model, ...settings, '--json'], { MENGZI_HOME: whole.dir })
    expect(ref.status, ref.stderr).toBe(0)
    const expected = lastJson(ref.stdout)
    expect(expected.epochs).toHaveLength(EPOCHS)

    const h = await home('killed')
    const args = ['finetune', '--dataset', h.dataset, '--from', model, ...settings, '--json']
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/mengzi.js'), ...args], { cwd: repoRoot, env: { ...process.env, MENGZI_HOME: h.dir }, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    // kill the process outright as soon as its first epoch checkpoint is recorded
    const until = Date.now() + 60_000
    for (;;) {
      const db = openDatabase(h.db, { readonly: true })
      const recorded = (db.prepare('SELECT COUNT(*) AS n FROM checkpoints WHERE run_id = 1').get() as { n: number }).n
      db.close()
      if (recorded > 0) break
      if (Date.now() > until) throw new Error('the run never recorded an epoch checkpoint')
      await new Promise((r) => setTimeout(r, 20))
    }
    child.kill('SIGKILL')
    await exited
    const runs = await runCli(['runs', '--json'], { MENGZI_HOME: h.dir })
    expect(lastJson(runs.stdout).map((r: { id: number; status: string }) => [r.id, r.status])).toEqual([[1, 'interrupted']])
    const before = series(h.db, 1).filter((p) => p.name === 'epoch').map((p) => p.value)
    expect(before.length).toBeGreaterThanOrEqual(1)
    expect(before.length).toBeLessThan(EPOCHS) // killed part-way
    const db0 = openDatabase(h.db, { readonly: true })
    const checkpointStep = (db0.prepare('SELECT MAX(step) AS s FROM checkpoints WHERE run_id = 1').get() as { s: number }).s
    db0.close()
    const kept = series(h.db, 1, true).filter((p) => p.step <= checkpointStep)
    // as if a later epoch had saved a best folder after the checkpoint: the resume puts the checkpoint's back
    const best = path.join(h.dir, 'runs', '1', 'best')
    const ckpt = fs.readdirSync(path.join(h.dir, 'runs', '1', 'checkpoints')).filter((n) => n === `step-${String(checkpointStep).padStart(8, '0')}`)
    expect(ckpt).toHaveLength(1)
    const savedBest = path.join(h.dir, 'runs', '1', 'checkpoints', ckpt[0], 'best')
    expect(fs.statSync(path.join(savedBest, 'model.safetensors')).size).toBeGreaterThan(1000)
    expect(fs.existsSync(path.join(savedBest, 'predictions-dev.json'))).toBe(true)
    fs.rmSync(best, { recursive: true, force: true })
    fs.mkdirSync(best)
    fs.writeFileSync(path.join(best, 'model.safetensors'), 'not the checkpoint\'s best')

    const resumed = await runCli(['finetune', '--resume', '1', '--json'], { MENGZI_HOME: h.dir })
    expect(resumed.status, resumed.stderr).toBe(0)
    const out = lastJson(resumed.stdout)
    expect(out.status).toBe('completed')
    expect(out.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2, 3, 4])

    // resumed, not restarted: the points up to the checkpoint are the killed process's own rows
    expect(series(h.db, 1, true).filter((p) => p.step <= checkpointStep)).toEqual(kept)
    expect(kept.filter((p) => p.name === 'loss')).toHaveLength(checkpointStep)
    const points = series(h.db, 1)
    // every point once: one dev/... and epoch point per epoch, one loss point per step
    const keys = points.map((p) => `${p.name}@${p.step}`)
    expect(new Set(keys).size).toBe(keys.length)
    expect(points.filter((p) => p.name === 'epoch').map((p) => p.value)).toEqual([1, 2, 3, 4])
    for (const name of new Set(points.filter((p) => p.name.startsWith('dev/')).map((p) => p.name))) {
      expect(points.filter((p) => p.name === name)).toHaveLength(EPOCHS)
    }
    // the final result is the resumed run's end state: its best epoch is the best of its dev series
    const acc = points.filter((p) => p.name === 'dev/accuracy').map((p) => p.value)
    expect(out.dev.accuracy).toBe(Math.max(...acc))
    expect(out.dev).toEqual(out.epochs[out.bestEpoch - 1].dev)
    // on cpu, weights, Adam moments, RNG and data order restored exactly: the same run as never stopped
    expect(points).toEqual(series(whole.db, 1))
    expect(out.epochs).toEqual(expected.epochs)
    expect(out.dev).toEqual(expected.dev)
    expect(out.bestEpoch).toBe(expected.bestEpoch)
    const bestBytes = (home: string) => fs.readFileSync(path.join(home, 'runs', '1', 'best', 'model.safetensors'))
    expect(bestBytes(h.dir).equals(bestBytes(whole.dir))).toBe(true)
    const predictions = (home: string) => fs.readFileSync(path.join(home, 'runs', '1', 'predictions-dev.json'), 'utf8')
    expect(predictions(h.dir)).toBe(predictions(whole.dir))
    // a completed run keeps its best folder, not its epoch checkpoints
    const db = openDatabase(h.db, { readonly: true })
    try {
      expect(db.prepare('SELECT COUNT(*) AS n FROM checkpoints WHERE run_id = 1').get()).toEqual({ n: 0 })
    } finally {
      db.close()
    }
  })
})
