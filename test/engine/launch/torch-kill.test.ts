// Killing one rank of a torch run mid-way: with an elastic restart left, torchrun restarts the workers
// and the trainer resumes from its newest checkpoint, replaying the steps after it exactly; without one,
// the run fails with a one-line reason naming the dead rank, keeps every metric point and checkpoint in
// the database, and resuming the run finishes it. Cancelling (the job's cancel, Ctrl-C in the CLI) ends the
// trainer after a checkpoint at the next step.
import fs from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTraining, type TrainingStart } from '../../../engine/service/training'
import { Workbench } from '../../../engine/service/workbench'
import { listRunCheckpoints } from '../../../engine/store/checkpoints'
import { metricSeries } from '../../../engine/store/metrics'
import { getRun } from '../../../engine/store/runs'
import { poetry } from '../../../engine/text/local-corpus'
import { repoRoot, tempDir } from '../../helpers'
import { metricLines, skipTorch, TORCH_ENV } from './torch-helpers'

const tmp = tempDir('mengzi-torch-kill-')
let wb: Workbench
const text = join(tmp.dir, 'lunyu.txt')
beforeAll(() => {
  Object.assign(process.env, TORCH_ENV)
  fs.writeFileSync(text, [...poetry(['lunyu'])].join('\n'))
  wb = new Workbench({ home: join(tmp.dir, 'home') })
})
afterAll(async () => {
  await wb?.close()
  tmp.cleanup()
})

const TOTAL = 16
const config = (maxRestarts: number) => ({
  name: `kill-${maxRestarts}`,
  engine: 'torch',
  torch: { nprocPerNode: 2, maxRestarts },
  model: { preset: 'A' },
  data: { kind: 'text-file', path: text, vocab: join(repoRoot, 'resources', 'vocab', 'vocab.txt') },
  maxSeqLength: 64,
  batchSize: 8,
  totalSteps: TOTAL,
  checkpointEvery: 4,
})

/** Steps the trainer has logged in the run's metrics.jsonl (its own file: the database follows it, later). */
function stepsLogged(runDir: string): number {
  const file = join(runDir, 'metrics.jsonl')
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
  // (a line being written may be partial: only whole lines count)
  return text.split('\n').slice(0, -1).filter((l) => typeof (JSON.parse(l) as { loss?: unknown }).loss === 'number').length
}

/**
 * SIGKILLs rank 1 once the trainer has logged `atStep` steps; resolves with the steps logged then. Read
 * from the trainer's file, not the database: under load the database's points lag the trainer by steps,
 * and a kill timed by them came after the next checkpoint.
 */
function killRankOneAt(start: TrainingStart, atStep: number): Promise<number> {
  const runDir = join(wb.layout.runs, String(start.runId))
  const pidFile = join(runDir, 'ranks', 'rank-1.pid')
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const seen = stepsLogged(runDir)
      if (seen >= atStep) {
        clearInterval(timer)
        process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL')
        resolve(seen)
      }
    }, 50)
    void start.done.catch(() => {}).finally(() => clearInterval(timer))
  })
}

describe.skipIf(skipTorch)('torch engine: a rank dies mid-run', () => {
  it('with a restart left: resumes from the last checkpoint and replays the lost steps exactly', { timeout: 180_000 }, async () => {
    const start = startTraining(wb, config(1))
    const killedAt = await killRankOneAt(start, 6)
    const summary = await start.done
    expect(getRun(wb.db, start.runId)!.status).toBe('completed')
    expect(summary.step).toBe(TOTAL)
    expect(metricSeries(wb.db, start.runId, 'loss').steps).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1))

    const runDir = join(wb.layout.runs, String(start.runId))
    const events = metricLines(fs.readFileSync(join(runDir, 'events.jsonl'), 'utf8')) as unknown as { event: string; step: number }[]
    const resume = events.find((e) => e.event === 'resume')!
    expect(resume.step % 4).toBe(0)
    expect(resume.step).toBeLessThan(killedAt + 1)
    // steps after the checkpoint were logged twice: before the kill and after the restart, equal
    const byStep = new Map<number, number[]>()
    for (const l of metricLines(fs.readFileSync(join(runDir, 'metrics.jsonl'), 'utf8'))) byStep.set(l.step, [...(byStep.get(l.step) ?? []), l.loss])
    const replayed = [...byStep].filter(([, losses]) => losses.length > 1)
    expect(replayed.length).toBeGreaterThan(0)
    for (const [, [before, after]] of replayed) expect(after).toBeCloseTo(before, 5)
    console.log(`killed rank 1 after ${killedAt} steps; resumed from step ${resume.step}; replayed steps ${replayed.map(([s]) => s).join(', ')} with equal losses`)
  })

  it('without one: fails naming the dead rank, keeps its metrics and checkpoints, and resuming finishes it', { timeout: 180_000 }, async () => {
    const start = startTraining(wb, config(0))
    await killRankOneAt(start, 6)
    await expect(start.done).rejects.toThrow(/rank 1 died \(Signal 9 \(SIGKILL\).*gave up after 0 restart.*newest checkpoint is step \d+/)
    const run = getRun(wb.db, start.runId)!
    expect(run.status).toBe('failed')
    expect(run.error).toMatch(/^torch run failed: rank 1 died/)
    const kept = metricSeries(wb.db, start.runId, 'loss').steps
    const checkpoints = listRunCheckpoints(wb.db, start.runId).map((c) => c.step)
    expect(kept.length).toBeGreaterThanOrEqual(6)
    expect(checkpoints.length).toBeGreaterThan(0)

    const resumed = await startTraining(wb, null, { resumeRunId: start.runId }).done
    expect(resumed.step).toBe(TOTAL)
    expect(getRun(wb.db, start.runId)!.status).toBe('completed')
    expect(metricSeries(wb.db, start.runId, 'loss').steps).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1))
  })

  it('cancelling: the trainer checkpoints at the next step and ends; the run is cancelled, its points kept', { timeout: 120_000 }, async () => {
    const start = startTraining(wb, { ...config(0), name: 'cancel', totalSteps: 200, checkpointEvery: 100 })
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (metricSeries(wb.db, start.runId, 'loss').steps.length >= 3) {
          clearInterval(timer)
          wb.jobs.cancel(start.jobId)
          resolve()
        }
      }, 50)
    })
    await expect(start.done).rejects.toThrow(/cancelled/)
    expect(getRun(wb.db, start.runId)!.status).toBe('cancelled')
    const steps = metricSeries(wb.db, start.runId, 'loss').steps
    const last = steps.at(-1)!
    expect(steps).toEqual(Array.from({ length: last }, (_, i) => i + 1))
    expect(last).toBeLessThan(200)
    expect(listRunCheckpoints(wb.db, start.runId).map((c) => c.step)).toEqual([last])
    const events = metricLines(fs.readFileSync(join(wb.layout.runs, String(start.runId), 'events.jsonl'), 'utf8')) as unknown as { event: string; stopped?: boolean; step: number }[]
    expect(events.at(-1)).toMatchObject({ event: 'done', stopped: true, step: last })
  })
})
