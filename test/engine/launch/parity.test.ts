// Parity of the two engines: from the same initial weights and the same micro-batches (the local
// engine's own stream, exported by engine/launch/fixed-batches.ts), the PyTorch trainer's losses equal
// the local engine's within 1e-4 over 5 steps, for every objective and both optimizers, with
// clipping, warm-up/decay and gradient accumulation in play.
import * as tf from '@tensorflow/tfjs'
import fs from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportFixedBatches, exportInitialWeights } from '../../../engine/launch/fixed-batches'
import { copyTrainer, writeJobFile } from '../../../engine/launch/job'
import { listCheckpoints } from '../../../engine/train/checkpoint'
import { activeObjectives, parseTrainConfig, presetModelConfig, type TrainConfigInput } from '../../../engine/train/config'
import { ShardWriter } from '../../../engine/data/shards'
import { BuiltinTagger } from '../../../engine/tagging/builtin'
import { tagDataset } from '../../../engine/tagging/dataset-tags'
import { poetry } from '../../../engine/text/local-corpus'
import { train } from '../../../engine/train/loop'
import { tempDir } from '../../helpers'
import { maxWeightDiff, metricLines, NO_DROPOUT_BERT, runTrainer, skipTorch } from './torch-helpers'

const tmp = tempDir('mengzi-parity-')
afterAll(() => tmp.cleanup())
beforeAll(async () => {
  await tf.setBackend('cpu')
})

const STEPS = 5
const tagged = join(tmp.dir, 'tagged')
const CASES: { label: string; config: () => Partial<TrainConfigInput> }[] = [
  { label: 'MLM, LAMB, 2 micro-batches per step', config: () => ({ optimizer: 'lamb', gradientAccumulation: 2 }) },
  { label: 'MLM + NSP + SOP, AdamW', config: () => ({ objectives: ['mlm', 'nsp', 'sop'], optimizer: 'adamw' }) },
  {
    // a tagged dataset (the built-in tagger on the Analects): POS and NE labels, jieba words for whole-word masking and DGC
    label: 'MLM + POS + NE + NSP + SOP weighted, whole-word masking, DGC reweighting, LAMB',
    config: () => ({
      model: { config: { ...NO_DROPOUT_BERT, vocab_size: 21128, max_position_embeddings: 64 } },
      data: { kind: 'dataset', dir: tagged },
      objectives: ['mlm', 'pos', 'ner', 'nsp', 'sop'],
      objectiveWeights: { pos: 0.5, ner: 2 },
      wholeWordMask: true,
      dgc: { enabled: true },
      maxSeqLength: 40,
      optimizer: 'lamb',
    }),
  },
]
beforeAll(async () => {
  const writer = new ShardWriter(tagged, true)
  // short lines: LAC's entity pass is slow on long paragraphs
  for (const text of [...poetry(['lunyu'])].flatMap((t) => t.split('\n')).filter((t) => t.length < 40).slice(0, 40)) writer.write('train', { text })
  writer.finish()
  await tagDataset(tagged, { tagger: BuiltinTagger.shared() })
})

describe.skipIf(skipTorch)('torch engine parity with the local engine (fixed batches)', () => {
  for (const c of CASES) {
    it(`${c.label}: losses within 1e-4 over ${STEPS} steps`, async () => {
      const config = parseTrainConfig({
        model: { config: NO_DROPOUT_BERT },
        data: { kind: 'synthetic', sequences: 40, minLength: 4, maxLength: 20, seed: 3 },
        backend: 'cpu',
        maxSeqLength: 24,
        learningRate: 1e-2,
        warmupRatio: 0.2,
        maxGradNorm: 0.5,
        batchSize: 4,
        totalSteps: STEPS,
        checkpointEvery: 0,
        ...c.config(),
      })
      const bert = presetModelConfig(config.model)!
      const dir = join(tmp.dir, c.label.replace(/\W+/g, '-'))
      fs.mkdirSync(dir)
      await exportFixedBatches(config, bert, STEPS, join(dir, 'batches.safetensors'))
      await exportInitialWeights(config, bert, join(dir, 'init.safetensors'))
      const script = await copyTrainer(dir)
      const job = await writeJobFile(dir, { run: { ...config, backend: 'auto' }, model: bert, data: { kind: 'fixed', path: 'batches.safetensors' }, init: 'init.safetensors', keepCheckpoints: 0 })

      const localSeries = new Map<string, number[]>()
      const local = await train(config, { runDir: join(dir, 'local') }, {
        metrics: (points) => points.forEach((p) => localSeries.set(p.name, [...(localSeries.get(p.name) ?? []), p.value])),
      })
      await runTrainer(script, job, join(dir, 'torch'))
      const lines = metricLines(fs.readFileSync(join(dir, 'torch', 'metrics.jsonl'), 'utf8'))
      const torchLosses = lines.map((l) => l.loss)

      expect(torchLosses).toHaveLength(STEPS)
      const lossDiff = Math.max(...local.losses.map((l, i) => Math.abs(l - torchLosses[i])))
      const [localCk] = (await listCheckpoints(join(dir, 'local'))).slice(-1)
      const [torchCk] = (await listCheckpoints(join(dir, 'torch'))).slice(-1)
      const weights = await maxWeightDiff(localCk.dir, torchCk.dir)
      console.log(`${c.label}: max |Δloss| ${lossDiff.toExponential(2)} over ${STEPS} steps; max |Δweight| after them ${weights.max.toExponential(2)} (${weights.compared} tensors); grad norms ${lines.map((l) => l.grad_norm.toFixed(3)).join(' ')}`)
      expect(lossDiff).toBeLessThan(1e-4)
      expect(weights.compared).toBeGreaterThan(30)
      expect(weights.max).toBeLessThan(1e-4)
      expect(Math.max(...lines.map((l) => l.grad_norm))).toBeGreaterThan(config.maxGradNorm) // clipping did act
      const objectives = activeObjectives(config)
      for (const l of lines) {
        expect(l.loss).toBeCloseTo(objectives.reduce((sum, o) => sum + (config.objectiveWeights[o] ?? 1) * l[`loss/${o}`], 0), 6)
        for (const o of objectives) expect(l[`acc/${o}`]).toBeGreaterThanOrEqual(0)
      }
      // every objective's own loss (1e-4) and accuracy (an argmax may flip on a near tie) against the local engine's series
      for (const o of objectives) {
        const mine = lines.map((l) => l[`loss/${o}`])
        expect(Math.max(...mine.map((v, i) => Math.abs(v - localSeries.get(`loss/${o}`)![i])))).toBeLessThan(1e-4)
        lines.forEach((l, i) => expect(Math.abs(l[`acc/${o}`] - localSeries.get(`acc/${o}`)![i])).toBeLessThan(0.05))
      }
    })
  }
})
