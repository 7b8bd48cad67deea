// Runs survive their process: a training run whose process is SIGKILLed after a checkpoint shows as
// `interrupted` (not `running` forever) and resumes from that checkpoint to the end, with every step of
// its loss series exactly once: from the command line, and from the app's server (`mengzi serve`).
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../../../engine/store/db'
import { repoRoot, tempDir } from '../../helpers'

const tmp = tempDir('mengzi-crash-')
afterAll(() => tmp.cleanup())

const TOTAL = 40
const EVERY = 10
// preset A (2 layers, hidden 128, the bundled 21128-token vocab) on Tang poems, a small batch
const trainArgs = (text: string) => [
  'train', '--preset', 'A', '--text', text, '--vocab', path.join(repoRoot, 'resources/vocab/vocab.txt'),
  '--set', `totalSteps=${TOTAL}`, '--set', `checkpointEvery=${EVERY}`, '--set', 'batchSize=4', '--set', 'maxSeqLength=32', '--set', 'backend="wasm"',
]
const poems = path.join(repoRoot, 'test/fixtures/import/poems.txt')

function mengzi(home: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [path.join(repoRoot, 'bin/mengzi.js'), ...args], { cwd: repoRoot, env: { ...process.env, MENGZI_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] })
}

function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c) => (stdout += c))
  child.stderr!.on('data', (c) => (stderr += c))
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
}

/** Polls the database (read-only, beside the writer) until `check` returns a value. */
async function waitFor<T>(file: string, check: (db: ReturnType<typeof openDatabase>) => T | undefined, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (fs.existsSync(file)) {
      let db: ReturnType<typeof openDatabase> | undefined
      try {
        db = openDatabase(file, { readonly: true })
        const v = check(db)
        if (v !== undefined) return v
      } catch {
        // the schema may not exist yet
      } finally {
        db?.close()
      }
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('timed out waiting on the database')
}

const firstCheckpoint = (db: ReturnType<typeof openDatabase>) =>
  (db.prepare('SELECT step FROM checkpoints WHERE run_id = 1 ORDER BY step LIMIT 1').get() as { step: number } | undefined)?.step

function lossSeries(file: string): { step: number; wallTime: number }[] {
  const db = openDatabase(file, { readonly: true })
  try {
    return db.prepare("SELECT step, wall_time AS wallTime FROM metrics WHERE run_id = 1 AND name = 'loss' ORDER BY step").all() as { step: number; wallTime: number }[]
  } finally {
    db.close()
  }
}

function killHard(child: ChildProcess): Promise<void> {
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  child.kill('SIGKILL')
  return gone
}

describe('a killed training run', { timeout: 240_000 }, () => {
  it('from the command line: shows interrupted, then `train --resume` finishes it with each step once', async () => {
    const home = path.join(tmp.dir, 'cli')
    const db = path.join(home, 'mengzi.db')
    const child = mengzi(home, [...trainArgs(poems), '--json'])
    const exited = finished(child)
    expect(await waitFor(db, firstCheckpoint)).toBe(EVERY)
    await killHard(child)
    expect((await exited).code).toBe(null) // killed, not finished

    const listed = await finished(mengzi(home, ['runs', '--json']))
    const [run] = JSON.parse(listed.stdout)
    expect(run).toMatchObject({ id: 1, status: 'interrupted' })
    expect(run.error).toMatch(/process \d+ on .* is gone/)
    const human = await finished(mengzi(home, ['runs']))
    expect(human.stdout).toMatch(/interrupted/)

    const resumedAt = Date.now() / 1000
    const resumed = await finished(mengzi(home, ['train', '--resume', '1', '--json']))
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout.trim().split('\n').pop()!)).toMatchObject({ runId: 1, status: 'completed', step: TOTAL, error: null })
    const loss = lossSeries(db)
    expect(loss.map((p) => p.step)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1))
    const saved = loss.filter((p) => p.step <= EVERY)
    const redone = loss.filter((p) => p.step > EVERY)
    // the points up to the checkpoint are the first process's; every later one the resumed run's
    expect(Math.max(...saved.map((p) => p.wallTime))).toBeLessThan(resumedAt)
    expect(Math.min(...redone.map((p) => p.wallTime))).toBeGreaterThanOrEqual(resumedAt)
  })

  it('from `mengzi serve`: the next server shows it interrupted and train.resume finishes it', async () => {
    const home = path.join(tmp.dir, 'serve')
    const db = path.join(home, 'mengzi.db')
    const startServer = async () => {
      const child = mengzi(home, ['serve', '--json'])
      const line = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout!.on('data', (c) => {
          out += c
          if (out.includes('\n')) resolve(out.split('\n')[0])
        })
        child.on('exit', (code) => reject(new Error(`serve exited ${code}`)))
      })
      const url = new URL(JSON.parse(line).url)
      const call = async (method: string, input: unknown) => {
        const res = await fetch(`${url.origin}/api/${method}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${url.searchParams.get('token')}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(input),
        })
        const body = (await res.json()) as { result?: any; error?: { message: string } }
        if (body.error) throw new Error(body.error.message)
        return body.result
      }
      return { child, call }
    }

    const first = await startServer()
    const config = {
      name: 'served',
      model: { preset: 'A' },
      data: { kind: 'text-file', path: poems, vocab: path.join(repoRoot, 'resources/vocab/vocab.txt') },
      backend: 'wasm',
      batchSize: 4,
      maxSeqLength: 32,
      totalSteps: TOTAL,
      checkpointEvery: EVERY,
    }
    expect(await first.call('train.start', { config })).toMatchObject({ runId: 1 })
    expect(await waitFor(db, firstCheckpoint)).toBe(EVERY)
    expect((await first.call('runs.get', { id: 1 })).status).toBe('running')
    await killHard(first.child)

    const second = await startServer()
    try {
      const run = await second.call('runs.get', { id: 1 })
      expect(run.status).toBe('interrupted')
      const { runId } = await second.call('train.resume', { id: 1 })
      expect(runId).toBe(1)
      await expect(second.call('train.resume', { id: 1 })).rejects.toThrow('run 1 is already running')
      const done = await waitFor(db, (d) => {
        const r = d.prepare('SELECT status, error FROM runs WHERE id = 1').get() as { status: string; error: string | null }
        return r.status === 'running' ? undefined : r
      })
      expect(done).toEqual({ status: 'completed', error: null })
      const [loss] = await second.call('runs.metrics', { id: 1, names: ['loss'] })
      expect(loss.steps).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1))
    } finally {
      second.child.kill('SIGTERM')
    }
  })
})
