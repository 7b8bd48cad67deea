// `runs ingest` on job folders that did not end well: a run whose trainer never wrote "done" comes back
// failed, with its points and its last checkpoint (copied under the run) but no model; a folder with a
// broken line is refused with the file and line, and the database keeps exactly the rows it had.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeSafetensors } from '../../../engine/model/safetensors'
import { Workbench } from '../../../engine/service/workbench'
import { listRunCheckpoints } from '../../../engine/store/checkpoints'
import { metricSeries } from '../../../engine/store/metrics'
import { listModels } from '../../../engine/store/models'
import { getRun, listRuns } from '../../../engine/store/runs'
import { parseTrainConfig } from '../../../engine/train/config'
import { tempDir } from '../../helpers'
import { skipTorch } from './torch-helpers'

const tmp = tempDir('mengzi-ingest-')
let wb: Workbench
beforeAll(() => (wb = new Workbench({ home: path.join(tmp.dir, 'home') })))
afterAll(async () => {
  await wb.close()
  tmp.cleanup()
})

/** A job folder as a cluster leaves it when the job was killed after step 3 (checkpoint at 2). */
async function killedJob(dir: string, metricsText?: string): Promise<void> {
  const run = parseTrainConfig({ name: 'far-away', engine: 'torch', data: { kind: 'synthetic', sequences: 8, minLength: 2, maxLength: 4, seed: 1 }, totalSteps: 10 })
  fs.mkdirSync(path.join(dir, 'checkpoints', 'step-00000002'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ run, model: {}, data: { kind: 'shards', dir: 'shards' }, keepCheckpoints: 0 }))
  const t = 1_800_000_000
  fs.writeFileSync(
    path.join(dir, 'events.jsonl'),
    [
      { event: 'start', torch: '2.4.0', python: '3.12.3', world_size: 16, device: 'cuda:0', backend: 'nccl', precision: 'bf16', step: 0, total: 10, parameters: 1000, wall_time: t },
      { event: 'checkpoint', step: 2, dir: '/scratch/elsewhere/checkpoints/step-00000002', wall_time: t + 2 },
    ].map((e) => JSON.stringify(e)).join('\n') + '\n',
  )
  const lines = [1, 2, 3].map((step) => JSON.stringify({ step, loss: 10 - step, lr: 1e-4 * step, grad_norm: 1, tokens_per_sec: 5e5, wall_time: t + step }))
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), metricsText ?? `${lines.join('\n')}\n{"step": 4, "loss": 6.`) // the last line cut by the kill
  fs.writeFileSync(path.join(dir, 'checkpoints', 'step-00000002', 'config.json'), '{}')
  await writeSafetensors(path.join(dir, 'checkpoints', 'step-00000002', 'model.safetensors'), { w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } })
}

describe('runs ingest: folders that did not finish', () => {
  it('a killed job comes back failed, with its points and last checkpoint, and no model', async () => {
    const dir = path.join(tmp.dir, 'killed')
    await killedJob(dir)
    const result = await wb.call('runs.ingest', { dir })
    expect(result).toMatchObject({ status: 'failed', step: 2, metrics: 12, modelId: null })
    const run = getRun(wb.db, result.runId)!
    expect(run).toMatchObject({ status: 'failed', backend: 'torch 2.4.0 cuda×16' })
    expect(run.error).toMatch(/the trainer did not finish \(no "done" event; last: checkpoint\)/)
    expect(metricSeries(wb.db, run.id, 'loss')).toEqual({ steps: [1, 2, 3], values: [9, 8, 7] })
    const [ck] = listRunCheckpoints(wb.db, run.id)
    expect(ck.step).toBe(2)
    expect(ck.path).toBe(path.join(wb.layout.runs, String(run.id), 'checkpoints', 'step-00000002'))
    expect(fs.existsSync(path.join(ck.path, 'model.safetensors'))).toBe(true)
    expect(listModels(wb.db).filter((m) => m.runId === run.id)).toEqual([])
  })

  it('a broken line before the end is refused with its place, and nothing is written', async () => {
    const dir = path.join(tmp.dir, 'broken')
    await killedJob(dir, '{"step": 1, "loss": 9, "wall_time": 1}\nnot json\n{"step": 3, "loss": 7, "wall_time": 3}\n')
    const runsBefore = listRuns(wb.db).length
    const foldersBefore = fs.readdirSync(wb.layout.runs).length
    await expect(wb.call('runs.ingest', { dir })).rejects.toThrow(`${path.join(dir, 'metrics.jsonl')}:2: not JSON: "not json"`)
    expect(listRuns(wb.db)).toHaveLength(runsBefore)
    expect(fs.readdirSync(wb.layout.runs)).toHaveLength(foldersBefore)
    await expect(wb.call('runs.ingest', { dir: path.join(tmp.dir, 'nothing') })).rejects.toThrow(/no job\.json \(not a job folder from mengzi launch --emit\)/)
  })

  it.skipIf(skipTorch)('torch.probe names the Python and torch a run would use', async () => {
    const probe = await wb.call('torch.probe', {})
    expect(probe.python).toBeTruthy()
    expect(probe.torch).toMatch(/^\d+\.\d+/)
    expect(probe.gloo).toBe(true)
  })
})
