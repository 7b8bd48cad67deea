// A run never hangs in `running`: a backend that cannot start fails it with the reason recorded, and a
// failed run with a checkpoint resumes from it, its metric points after that checkpoint computed again.
import { createRequire } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { JobInfo } from '../../../engine/service/api'
import { Workbench } from '../../../engine/service/workbench'
import { listRunCheckpoints } from '../../../engine/store/checkpoints'
import { setRunStatus } from '../../../engine/store/runs'
import { repoRoot, tempDir } from '../../helpers'

const tmp = tempDir('mengzi-recovery-')
afterAll(() => tmp.cleanup())

const fixture = path.join(repoRoot, 'test/fixtures/hf-bert-tiny')
const config = (over: Record<string, unknown> = {}) => ({
  name: 'tiny',
  model: { config: { vocab_size: 3259, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } },
  data: { kind: 'text-file', path: path.join(repoRoot, 'test/fixtures/import/poems.txt'), vocab: path.join(fixture, 'vocab.txt') },
  backend: 'cpu',
  maxSeqLength: 32,
  batchSize: 4,
  totalSteps: 8,
  checkpointEvery: 4,
  optimizer: 'adamw',
  learningRate: 1e-3,
  ...over,
})

function waitForJob(wb: Workbench, jobId: string, onUpdate?: (job: JobInfo) => void): Promise<JobInfo> {
  return new Promise((resolve) => {
    const off = wb.subscribe((e) => {
      if (e.type !== 'job' || e.job.id !== jobId) return
      onUpdate?.(e.job)
      if (e.job.status !== 'running') {
        off()
        resolve(e.job)
      }
    })
  })
}

const hasTfjsNode = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu')
    return true
  } catch {
    return false
  }
})()

describe('training failures', { timeout: 120_000 }, () => {
  it.skipIf(hasTfjsNode)('a backend that cannot start fails the run with its reason (tfjs-node is not installed here)', async () => {
    const wb = new Workbench({ home: path.join(tmp.dir, 'backend') })
    try {
      const { runId, jobId } = await wb.call('train.start', { config: config({ backend: 'tensorflow' }) })
      const job = await waitForJob(wb, jobId)
      expect(job.status).toBe('failed')
      const run = await wb.call('runs.get', { id: runId })
      expect(run.status).toBe('failed')
      expect(run.error).toMatch(/^backend tensorflow is unavailable: /)
      expect(run.finishedAt).not.toBeNull()
    } finally {
      await wb.close()
    }
  })

  it('a failed run with a checkpoint resumes from it; later points are dropped and computed again', async () => {
    const wb = new Workbench({ home: path.join(tmp.dir, 'failed') })
    try {
      const { runId, jobId } = await wb.call('train.start', { config: config() })
      expect((await waitForJob(wb, jobId)).status).toBe('completed')
      expect((await wb.call('runs.get', { id: runId })).backendDetail).toMatch(/^using cpu: /)
      // as if it had failed after step 6 with its newest checkpoint at 4: points past 4 exist, step 8's
      // checkpoint does not, and a killed save left a temporary folder behind
      const ckDir = path.dirname(listRunCheckpoints(wb.db, runId)[0].path)
      fs.rmSync(path.join(ckDir, 'step-00000008'), { recursive: true })
      fs.mkdirSync(path.join(ckDir, '.step-00000008.tmp-1-abc'))
      setRunStatus(wb.db, runId, 'failed', { error: 'device lost' })
      wb.db.prepare("DELETE FROM metrics WHERE run_id = ? AND step > 6").run(runId)
      wb.db.prepare("INSERT INTO metrics VALUES (?, 'loss/stale', 5, 1.0, 0), (?, 'loss/stale', 3, 1.0, 0)").run(runId, runId)

      const resumed = await wb.call('train.resume', { id: runId })
      expect((await waitForJob(wb, resumed.jobId)).status).toBe('completed')
      const run = await wb.call('runs.get', { id: runId })
      expect(run).toMatchObject({ status: 'completed', error: null })
      const [loss, stale] = await wb.call('runs.metrics', { id: runId, names: ['loss', 'loss/stale'] })
      expect(loss.steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect(stale.steps).toEqual([3]) // the point after the checkpoint went, the one before stayed
      expect(fs.readdirSync(ckDir).sort()).toEqual(['step-00000004', 'step-00000008'])
      expect(listRunCheckpoints(wb.db, runId).map((c) => c.step)).toEqual([4, 8])
      await expect(wb.call('train.resume', { id: runId })).rejects.toThrow(`run ${runId} is already completed`)
    } finally {
      await wb.close()
    }
  })
})
