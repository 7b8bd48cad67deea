// DDP is real: the same 16-sequence micro-batches on 2 ranks × 8 (torchrun, gloo) give the losses and
// weights of 1 rank × 16, within 1e-5 — each rank's loss is its share of the global mean (target counts
// all-reduced), and DDP averages the gradients.
import * as tf from '@tensorflow/tfjs'
import fs from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportFixedBatches, exportInitialWeights } from '../../../engine/launch/fixed-batches'
import { copyTrainer, writeJobFile } from '../../../engine/launch/job'
import { followTorchrun } from '../../../engine/launch/local'
import { listCheckpoints } from '../../../engine/train/checkpoint'
import { parseTrainConfig, presetModelConfig, type TrainConfigInput } from '../../../engine/train/config'
import { tempDir } from '../../helpers'
import { maxWeightDiff, metricLines, NO_DROPOUT_BERT, runTrainer, skipTorch, TORCH_ENV, torchProbe } from './torch-helpers'

const tmp = tempDir('mengzi-ddp-')
afterAll(() => tmp.cleanup())
beforeAll(async () => {
  await tf.setBackend('cpu')
})

const STEPS = 3
const CASES: { label: string; config: Partial<TrainConfigInput> }[] = [
  { label: 'MLM, LAMB (the unused pooler stays out of the reduction)', config: { pairObjective: 'none', optimizer: 'lamb' } },
  {
    // DGC's weights are normalised over the global batch: their sums are all-reduced too
    label: 'MLM + NSP + SOP with DGC reweighting, AdamW, 2 micro-batches per step (no_sync on the first)',
    config: { objectives: ['mlm', 'nsp', 'sop'], dgc: { enabled: true }, optimizer: 'adamw', gradientAccumulation: 2 },
  },
]

describe.skipIf(skipTorch)('torch engine: DDP over 2 ranks equals 1 rank with the whole batch', () => {
  for (const c of CASES) {
    it(`${c.label}: 2 × 8 = 1 × 16 within 1e-5`, { timeout: 120_000 }, async () => {
      const config = parseTrainConfig({
        model: { config: NO_DROPOUT_BERT },
        data: { kind: 'synthetic', sequences: 64, minLength: 4, maxLength: 20, seed: 5 },
        maxSeqLength: 24,
        learningRate: 1e-2,
        warmupRatio: 0,
        batchSize: 16,
        totalSteps: STEPS,
        checkpointEvery: 0,
        engine: 'torch',
        ...c.config,
      })
      const bert = presetModelConfig(config.model)!
      const dir = join(tmp.dir, c.label.replace(/\W+/g, '-'))
      fs.mkdirSync(dir)
      await exportFixedBatches(config, bert, STEPS, join(dir, 'batches.safetensors'))
      await exportInitialWeights(config, bert, join(dir, 'init.safetensors'))
      const script = await copyTrainer(dir)
      const job = await writeJobFile(dir, { run: config, model: bert, data: { kind: 'fixed', path: 'batches.safetensors' }, init: 'init.safetensors', keepCheckpoints: 0 })

      await runTrainer(script, job, join(dir, 'one'))
      const one = metricLines(fs.readFileSync(join(dir, 'one', 'metrics.jsonl'), 'utf8')).map((l) => l.loss)
      fs.mkdirSync(join(dir, 'two'))
      const two = await followTorchrun(config, {
        runDir: join(dir, 'two'), python: torchProbe!.python, script, jobFile: job, nprocPerNode: 2, maxRestarts: 0, backend: 'torch', env: TORCH_ENV, pollSeconds: 0.2,
      }, {})
      const events = fs.readFileSync(join(dir, 'two', 'events.jsonl'), 'utf8')
      expect(JSON.parse(events.split('\n')[0])).toMatchObject({ event: 'start', world_size: 2, backend: 'gloo' })

      expect(two.losses).toHaveLength(STEPS)
      const lossDiff = Math.max(...one.map((l, i) => Math.abs(l - two.losses[i])))
      const weights = await maxWeightDiff((await listCheckpoints(join(dir, 'one'))).at(-1)!.dir, (await listCheckpoints(join(dir, 'two'))).at(-1)!.dir)
      console.log(`${c.label}: max |Δloss| ${lossDiff.toExponential(2)}, max |Δweight| ${weights.max.toExponential(2)} after ${STEPS} steps (1 rank × 16 vs 2 ranks × 8)`)
      expect(lossDiff).toBeLessThan(1e-5)
      expect(weights.compared).toBeGreaterThan(30)
      expect(weights.max).toBeLessThan(1e-5)
      expect(Math.abs(one[0] - one[STEPS - 1])).toBeGreaterThan(1e-4) // the steps did change the model
    })
  }
})
