// A torch-engine run from the workbench on real text (the Analects, chinese-poetry), 2 ranks: it
// finishes, its metrics reach the database while it trains, its final checkpoint is registered as a
// model, and the local engine's forward pass on that checkpoint matches the trainer's own.
import * as tf from '@tensorflow/tfjs'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { trainerSourceDir } from '../../../engine/launch/job'
import { runForward } from '../../../engine/model/forward'
import { readSafetensors, writeSafetensors } from '../../../engine/model/safetensors'
import { startTraining } from '../../../engine/service/training'
import { Workbench } from '../../../engine/service/workbench'
import { listRunCheckpoints } from '../../../engine/store/checkpoints'
import { metricSeries } from '../../../engine/store/metrics'
import { listModels } from '../../../engine/store/models'
import { getRun } from '../../../engine/store/runs'
import { poetry } from '../../../engine/text/local-corpus'
import { repoRoot, tempDir } from '../../helpers'
import { skipTorch, TORCH_ENV, torchProbe } from './torch-helpers'

const tmp = tempDir('mengzi-torch-run-')
let wb: Workbench
const text = join(tmp.dir, 'lunyu.txt')
const vocab = join(repoRoot, 'resources', 'vocab', 'vocab.txt')
beforeAll(async () => {
  await tf.setBackend('cpu')
  Object.assign(process.env, TORCH_ENV)
  fs.writeFileSync(text, [...poetry(['lunyu'])].join('\n'))
  wb = new Workbench({ home: join(tmp.dir, 'home') })
})
afterAll(async () => {
  await wb?.close()
  tmp.cleanup()
})

/** The smallest preset (A: 2 layers × 128) on the text, as a torch run on 2 ranks. */
const runConfig = (overrides: Record<string, unknown> = {}) => ({
  name: 'torch-A',
  engine: 'torch',
  torch: { nprocPerNode: 2, maxRestarts: 0 },
  model: { preset: 'A' },
  data: { kind: 'text-file', path: text, vocab },
  maxSeqLength: 64,
  batchSize: 8,
  learningRate: 1e-3,
  totalSteps: 12,
  checkpointEvery: 6,
  ...overrides,
})

describe.skipIf(skipTorch)('a torch-engine run from the workbench', () => {
  it('trains on 2 ranks, metrics in the database while it runs, checkpoint registered and matching the local forward pass', { timeout: 180_000 }, async () => {
    const start = startTraining(wb, runConfig())
    let seenWhileRunning = 0
    const watcher = setInterval(() => {
      if (getRun(wb.db, start.runId)?.status === 'running') seenWhileRunning = Math.max(seenWhileRunning, metricSeries(wb.db, start.runId, 'loss').steps.length)
    }, 100)
    const summary = await start.done.finally(() => clearInterval(watcher))

    const run = getRun(wb.db, start.runId)!
    expect(run.status).toBe('completed')
    expect(run.backend).toMatch(/^torch .* cpu×2$/)
    expect(summary.step).toBe(12)
    expect(seenWhileRunning).toBeGreaterThan(0)
    expect(metricSeries(wb.db, start.runId, 'loss').steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect(metricSeries(wb.db, start.runId, 'tokens_per_sec').values.every((v) => v > 0)).toBe(true)
    expect(listRunCheckpoints(wb.db, start.runId).map((c) => c.step)).toEqual([6, 12])
    const model = listModels(wb.db).find((m) => m.runId === start.runId)!
    expect(model.source).toBe('trained')
    console.log(`torch run (preset A, 2 ranks, batch 8 × 64 tokens): loss ${metricSeries(wb.db, start.runId, 'loss').values.map((v) => v.toFixed(3)).join(' ')}; seen in the database while running: ${seenWhileRunning} points`)

    // the local engine's forward pass on the checkpoint against the trainer's own
    const ids = Int32Array.from({ length: 2 * 16 }, (_, i) => (i % 16 === 0 ? 101 : 104 + ((i * 37) % 5000)))
    const mask = Int32Array.from({ length: 2 * 16 }, (_, i) => (i >= 16 + 12 ? 0 : 1))
    const inputs = join(tmp.dir, 'inputs.safetensors')
    await writeSafetensors(inputs, { input_ids: { dtype: 'I32', shape: [2, 16], data: ids }, attention_mask: { dtype: 'I32', shape: [2, 16], data: mask } })
    await runForward(model.dir, inputs, join(tmp.dir, 'local.safetensors'))
    await promisify(execFile)(torchProbe!.python, [join(trainerSourceDir(), 'forward.py'), '--model', model.dir, '--inputs', inputs, '--output', join(tmp.dir, 'torch.safetensors')])
    const local = await readSafetensors(join(tmp.dir, 'local.safetensors'))
    const torch = await readSafetensors(join(tmp.dir, 'torch.safetensors'))
    for (const name of ['hidden_states.2', 'pooler_output', 'prediction_logits']) {
      const a = local.get(name)!.data as Float32Array
      const b = torch.get(name)!.data as Float32Array
      expect(b.length).toBe(a.length)
      let max = 0
      for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]))
      console.log(`forward pass on the torch checkpoint, ${name}: max |local − torch| ${max.toExponential(2)}`)
      expect(max).toBeLessThan(1e-4)
    }
  })
})
