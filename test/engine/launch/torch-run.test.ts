// A `tiny` torch-engine run from the workbench on real text (the Analects, chinese-poetry, imported and
// tagged), 2 ranks, MLM + POS + NE + SOP with held-out evaluation: it finishes, its metrics reach the
// database while it trains, its final checkpoint is registered as a model, and the local engine's forward
// pass on that checkpoint matches the trainer's own.
import * as tf from '@tensorflow/tfjs'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { trainerSourceDir } from '../../../engine/launch/job'
import { bertEncoder, EVAL } from '../../../engine/model/bert'
import { readCheckpointDir } from '../../../engine/model/checkpoint'
import { mlmLogits } from '../../../engine/model/heads'
import { disposeWeights, loadWeights } from '../../../engine/model/weights'
import { headsFor } from '../../../engine/train/objectives'
import { readSafetensors, writeSafetensors } from '../../../engine/model/safetensors'
import { startTraining } from '../../../engine/service/training'
import { Workbench } from '../../../engine/service/workbench'
import { listRunCheckpoints } from '../../../engine/store/checkpoints'
import { metricSeries } from '../../../engine/store/metrics'
import { listModels } from '../../../engine/store/models'
import { getRun } from '../../../engine/store/runs'
import { poetry } from '../../../engine/text/local-corpus'
import { tempDir } from '../../helpers'
import { ShardWriter } from '../../../engine/data/shards'
import { BuiltinTagger } from '../../../engine/tagging/builtin'
import { tagDataset } from '../../../engine/tagging/dataset-tags'
import { skipTorch, TORCH_ENV, torchProbe } from './torch-helpers'

const tmp = tempDir('mengzi-torch-run-')
let wb: Workbench
const dataset = join(tmp.dir, 'lunyu')
beforeAll(async () => {
  await tf.setBackend('cpu')
  Object.assign(process.env, TORCH_ENV)
  // one saying per record, short ones (LAC's entity pass is slow on long paragraphs); 12 held out
  const sayings = [...poetry(['lunyu'])].flatMap((t) => t.split('\n')).filter((t) => t.length > 8 && t.length < 48)
  const writer = new ShardWriter(dataset, true)
  sayings.slice(0, 120).forEach((text, i) => writer.write(i % 10 === 0 ? 'dev' : 'train', { text }))
  writer.finish()
  await tagDataset(dataset, { tagger: BuiltinTagger.shared() })
  wb = new Workbench({ home: join(tmp.dir, 'home') })
})
afterAll(async () => {
  await wb?.close()
  tmp.cleanup()
})

/** The tiny preset's model on the tagged sayings, as a torch run on 2 ranks. */
const runConfig = (overrides: Record<string, unknown> = {}) => ({
  name: 'torch-tiny',
  engine: 'torch',
  torch: { nprocPerNode: 2, maxRestarts: 0 },
  model: { preset: 'tiny' },
  data: { kind: 'dataset', dir: dataset },
  objectives: ['mlm', 'pos', 'ner', 'sop'],
  wholeWordMask: true,
  maxSeqLength: 64,
  batchSize: 8,
  learningRate: 1e-3,
  totalSteps: 12,
  checkpointEvery: 6,
  evalEvery: 6,
  evalBatches: 2,
  ...overrides,
})

describe.skipIf(skipTorch)('a torch-engine run from the workbench', () => {
  it('trains on 2 ranks, metrics in the database while it runs, checkpoint registered and matching the local forward pass', { timeout: 180_000 }, async () => {
    const start = startTraining(wb, runConfig())
    // loss points counted in the database while the run is running: some count between none and all
    const seen = new Set<number>()
    const watcher = setInterval(() => {
      if (getRun(wb.db, start.runId)?.status === 'running') seen.add(metricSeries(wb.db, start.runId, 'loss').steps.length)
    }, 50)
    const summary = await start.done.finally(() => clearInterval(watcher))

    const run = getRun(wb.db, start.runId)!
    expect(run.status).toBe('completed')
    expect(run.backend).toMatch(/^torch .* cpu×2$/)
    expect(summary.step).toBe(12)
    expect([...seen].some((n) => n > 0 && n < 12), `counts seen while running: ${[...seen].join(', ')}`).toBe(true)
    expect(metricSeries(wb.db, start.runId, 'loss').steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    expect(metricSeries(wb.db, start.runId, 'tokens_per_sec').values.every((v) => v > 0)).toBe(true)
    for (const o of ['mlm', 'pos', 'ner', 'sop']) {
      expect(metricSeries(wb.db, start.runId, `loss/${o}`).steps).toHaveLength(12)
      expect(metricSeries(wb.db, start.runId, `eval/acc/${o}`).steps).toEqual([6, 12])
    }
    expect(metricSeries(wb.db, start.runId, 'eval/ppl').values.every((v) => v > 1)).toBe(true)
    expect(listRunCheckpoints(wb.db, start.runId).map((c) => c.step)).toEqual([6, 12])
    const model = listModels(wb.db).find((m) => m.runId === start.runId)!
    expect(model.source).toBe('trained')
    console.log(`torch run (preset tiny, 2 ranks, batch 8 × ≤64 tokens, MLM+POS+NE+SOP): loss ${metricSeries(wb.db, start.runId, 'loss').values.map((v) => v.toFixed(3)).join(' ')}; loss points in the database while running: ${[...seen].sort((a, b) => a - b).join(', ')}`)

    // the local engine's forward pass on the checkpoint (its own loader, encoder and MLM head) against the trainer's
    const ids = Int32Array.from({ length: 2 * 16 }, (_, i) => (i % 16 === 0 ? 101 : 104 + ((i * 37) % 5000)))
    const mask = Int32Array.from({ length: 2 * 16 }, (_, i) => (i >= 16 + 12 ? 0 : 1))
    const inputs = join(tmp.dir, 'inputs.safetensors')
    await writeSafetensors(inputs, { input_ids: { dtype: 'I32', shape: [2, 16], data: ids }, attention_mask: { dtype: 'I32', shape: [2, 16], data: mask } })
    const ck = await readCheckpointDir(model.dir)
    const { weights } = loadWeights({ config: ck.config, heads: headsFor(['mlm', 'pos', 'ner', 'sop']), pooler: true }, ck.tensors, { source: model.dir })
    const shape: [number, number] = [2, 16]
    const x = { inputIds: tf.tensor2d(ids, shape, 'int32'), attentionMask: tf.tensor2d(mask, shape, 'int32'), tokenTypeIds: tf.zeros(shape, 'int32') as tf.Tensor2D }
    const out = bertEncoder(weights, ck.config, x, EVAL, { pooler: true })
    const localOutputs = new Map<string, Float32Array>([
      ['hidden_states.2', (await out.hiddenStates[2].data()) as Float32Array],
      ['pooler_output', (await out.pooled!.data()) as Float32Array],
      ['prediction_logits', (await mlmLogits(weights, ck.config, out.hiddenStates[2]).data()) as Float32Array],
    ])
    disposeWeights(weights)
    await promisify(execFile)(torchProbe!.python, [join(trainerSourceDir(), 'forward.py'), '--model', model.dir, '--inputs', inputs, '--output', join(tmp.dir, 'torch.safetensors')])
    const torch = await readSafetensors(join(tmp.dir, 'torch.safetensors'))
    for (const [name, a] of localOutputs) {
      expect(torch.has(name), name).toBe(true)
      const b = torch.get(name)!.data as Float32Array
      expect(b.length).toBe(a.length)
      let max = 0
      for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]))
      console.log(`forward pass on the torch checkpoint, ${name}: max |local − torch| ${max.toExponential(2)}`)
      expect(max).toBeLessThan(1e-4)
    }
  })
})
