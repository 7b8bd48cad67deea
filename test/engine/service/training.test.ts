// Training through the Workbench API: a run row, the loop in a worker thread, progress events,
// metrics and checkpoints in the database, cancel and resume, and the finished model registered.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { JobInfo } from '../../../engine/service/api'
import { Workbench } from '../../../engine/service/workbench'
import { readHfCheckpoint } from '../../../engine/model/hf-checkpoint'
import { listRunCheckpoints } from '../../../engine/store/checkpoints'

const fixture = path.join(__dirname, '../../fixtures/hf-bert-tiny')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-training-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

// The fixture's source texts (fortunes-zh) as a small corpus, tokenized with the fixture's vocab.
const meta = JSON.parse(fs.readFileSync(path.join(fixture, 'reference_meta.json'), 'utf8'))
const corpus = path.join(tmp, 'corpus.txt')
fs.writeFileSync(corpus, [...meta.texts_a, ...meta.texts_b].join('\n'))

function config(totalSteps: number) {
  return {
    name: 'tiny',
    model: { config: { vocab_size: 3259, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } },
    data: { kind: 'text-file', path: corpus, vocab: path.join(fixture, 'vocab.txt') },
    backend: 'cpu',
    maxSeqLength: 32,
    batchSize: 4,
    totalSteps,
    checkpointEvery: 5,
    optimizer: 'adamw',
    learningRate: 1e-3,
  }
}

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

describe('train.start / train.resume', () => {
  it('trains in a worker, reporting progress, writing metrics and checkpoints, and registers the model', async () => {
    const wb = new Workbench({ home: path.join(tmp, 'home1') })
    try {
      const updates: JobInfo[] = []
      const { runId, jobId } = await wb.call('train.start', { config: config(8) })
      const job = await waitForJob(wb, jobId, (j) => updates.push(j))
      expect(job.status, job.error ?? '').toBe('completed')
      expect(updates.some((u) => u.progress?.unit === 'steps' && /tokens\/s · cpu$/.test(u.progress.message ?? ''))).toBe(true)

      const run = await wb.call('runs.get', { id: runId })
      expect(run).toMatchObject({ status: 'completed', backend: 'cpu', kind: 'pretrain', name: 'tiny' })
      expect(run.metrics).toEqual(['acc/mlm', 'grad_norm', 'loss', 'loss/mlm', 'lr', 'tokens_per_sec'])
      const [loss] = await wb.call('runs.metrics', { id: runId, names: ['loss'] })
      expect(loss.steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect(loss.values.every((v) => v > 0 && v < 10)).toBe(true)
      // keepCheckpoints defaults to 2: steps 5 and 8 remain, on disk and in the database
      expect(listRunCheckpoints(wb.db, runId).map((c) => c.step)).toEqual([5, 8])

      const models = await wb.call('models.list', {})
      expect(models).toHaveLength(1)
      expect(models[0]).toMatchObject({ source: 'trained', name: 'tiny (run 1)' })
      // the final checkpoint is a HuggingFace folder the model importer accepts
      const hf = await readHfCheckpoint(listRunCheckpoints(wb.db, runId)[1].path)
      expect(hf.heads).toContain('mlm')
      expect(hf.config.hidden_size).toBe(32)
    } finally {
      await wb.close()
    }
  })

  it('cancels after a checkpoint and resumes to the end with one contiguous loss curve', async () => {
    const wb = new Workbench({ home: path.join(tmp, 'home2') })
    try {
      const { runId, jobId } = await wb.call('train.start', { config: config(12) })
      let cancelled = false
      const job = await waitForJob(wb, jobId, (j) => {
        if (!cancelled && (j.progress?.done ?? 0) >= 2) {
          cancelled = true
          void wb.call('jobs.cancel', { id: jobId })
        }
      })
      expect(job.status).toBe('cancelled')
      const stopped = await wb.call('runs.get', { id: runId })
      expect(stopped.status).toBe('cancelled')
      const saved = listRunCheckpoints(wb.db, runId).map((c) => c.step)
      const stopStep = saved[saved.length - 1]
      expect(stopStep).toBeGreaterThanOrEqual(2)
      expect(stopStep).toBeLessThan(12)

      await expect(wb.call('train.resume', { id: 999 })).rejects.toThrow('run 999 does not exist')
      const resumed = await wb.call('train.resume', { id: runId })
      expect(resumed.runId).toBe(runId)
      const done = await waitForJob(wb, resumed.jobId)
      expect(done.status, done.error ?? '').toBe('completed')
      const [loss] = await wb.call('runs.metrics', { id: runId, names: ['loss'] })
      expect(loss.steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
      expect((await wb.call('runs.get', { id: runId })).status).toBe('completed')
    } finally {
      await wb.close()
    }
  })

  it('refuses a bad config with the field at fault', async () => {
    const wb = new Workbench({ home: path.join(tmp, 'home3') })
    try {
      await expect(wb.call('train.start', { config: { ...config(5), learningRate: -1 } })).rejects.toThrow(/learningRate/)
      expect(await wb.call('runs.list', {})).toEqual([])
    } finally {
      await wb.close()
    }
  })
})
