// What the trainer itself refuses when a job folder asks for more than its machine has (a folder
// emitted for a cluster can land anywhere): one line on stderr naming the option, exit 2, no checkpoint.
import * as tf from '@tensorflow/tfjs'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportFixedBatches } from '../../../engine/launch/fixed-batches'
import { copyTrainer, writeJobFile } from '../../../engine/launch/job'
import { parseTrainConfig, presetModelConfig } from '../../../engine/train/config'
import { tempDir } from '../../helpers'
import { NO_DROPOUT_BERT, skipTorch, TORCH_ENV, torchProbe } from './torch-helpers'

const tmp = tempDir('mengzi-trainer-refusals-')
afterAll(() => tmp.cleanup())
beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe.skipIf(skipTorch || torchProbe?.cuda || torchProbe?.deepspeed)('the trainer on a machine without CUDA or DeepSpeed', () => {
  for (const [label, torch, reason] of [
    ['fp16', { precision: 'fp16' }, /^mengzi-trainer: precision fp16 needs CUDA; this torch \(.*\) sees no GPU$/],
    ['ZeRO', { zeroStage: 1 }, /^mengzi-trainer: torch.zeroStage 1 needs DeepSpeed, which this Python \(.*\) cannot import$/],
  ] as const) {
    it(`refuses ${label} in one line`, async () => {
      const config = parseTrainConfig({ model: { config: NO_DROPOUT_BERT }, data: { kind: 'synthetic', sequences: 8, minLength: 4, maxLength: 8, seed: 1 }, optimizer: 'adamw', batchSize: 2, totalSteps: 1, engine: 'torch', torch })
      const dir = join(tmp.dir, label)
      fs.mkdirSync(dir)
      await exportFixedBatches(config, presetModelConfig(config.model)!, 1, join(dir, 'batches.safetensors'))
      const script = await copyTrainer(dir)
      const job = await writeJobFile(dir, { run: config, model: presetModelConfig(config.model)!, data: { kind: 'fixed', path: 'batches.safetensors' }, keepCheckpoints: 0 })
      const error = await promisify(execFile)(torchProbe!.python, [script, '--job', job], { env: { ...process.env, ...TORCH_ENV } }).then(() => null, (e: { code: number; stderr: string }) => e)
      expect(error?.code).toBe(2)
      expect(error!.stderr.trim().split('\n').at(-1)).toMatch(reason)
      expect(fs.existsSync(join(dir, 'checkpoints'))).toBe(false)
    })
  }
})
