// Training checkpoints: everything needed to continue a run exactly where it stopped.
//
//   <runDir>/checkpoints/step-00000120/
//     config.json            the model's HF BertConfig (the directory also loads as a HF checkpoint)
//     model.safetensors      weights, HF names
//     optimizer.safetensors  Adam moments, keyed exp_avg.<param> / exp_avg_sq.<param>
//     trainer_state.json     step, data position, RNG state, optimizer kind and step count, run config
//     vocab.txt              when the run has a vocab (then the folder is a complete HF checkpoint)
//
// A checkpoint is written into a temporary directory beside its final name and renamed into place,
// so a crash leaves either the complete checkpoint or none.
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { BertConfig } from '../model/config'
import type { Weights } from '../model/bert'
import { readSafetensors, writeSafetensors, type StoredTensor, type TensorToWrite } from '../model/safetensors'
import { weightsToTensors } from '../model/weights'
import type { Optimizer, OptimizerKind } from './optimizers'
import type { RngState } from '../compute/rng'
import { vocabOf, type TrainConfig } from './config'
import { corrupt } from '../errors'
import type { LossScaleState } from './loss-scale'

export interface TrainerState {
  step: number // optimizer steps completed
  dataPosition: number // segments consumed
  rng: RngState // the training RNG (masking, dropout) after `step`
  optimizer: { kind: OptimizerKind; stepCount: number }
  config: TrainConfig
  /** The last logged losses, for display only. */
  lastLoss?: number
  /** fp16 runs: the dynamic loss scale after `step`. */
  lossScale?: LossScaleState
}

export const checkpointsDir = (runDir: string) => join(runDir, 'checkpoints')
const stepDirName = (step: number) => `step-${String(step).padStart(8, '0')}`

export async function saveCheckpoint(
  runDir: string,
  model: { config: BertConfig; weights: Weights },
  optimizer: Optimizer,
  state: TrainerState,
): Promise<string> {
  return writeCheckpointDir(runDir, state.step, async (tmp) => {
    await writeFile(join(tmp, 'config.json'), JSON.stringify({ architectures: ['BertForPreTraining'], model_type: 'bert', ...model.config }, null, 2))
    await writeSafetensors(join(tmp, 'model.safetensors'), await weightsToTensors(model.weights), { format: 'pt' })
    await writeOptimizerMoments(join(tmp, 'optimizer.safetensors'), optimizer)
    await writeFile(join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2))
    const vocab = vocabOf(state.config)
    if (vocab) await copyFile(vocab, join(tmp, 'vocab.txt'))
  })
}

/**
 * Writes `<runDir>/checkpoints/step-N` through `fill` into a temporary directory beside it, then renames it
 * into place (an older checkpoint of the same step, a resumed run re-saving it, is replaced via a side
 * name): a crash leaves the complete checkpoint or none. Pretraining and fine-tuning share it.
 */
export async function writeCheckpointDir(runDir: string, step: number, fill: (tmp: string) => Promise<void>): Promise<string> {
  const root = checkpointsDir(runDir)
  await mkdir(root, { recursive: true })
  const final = join(root, stepDirName(step))
  const tmp = join(root, `.${stepDirName(step)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`)
  await mkdir(tmp)
  try {
    await fill(tmp)
    const old = `${final}.old-${process.pid}`
    const hadOld = await rename(final, old).then(() => true, () => false)
    await rename(tmp, final)
    if (hadOld) await rm(old, { recursive: true, force: true })
  } catch (e) {
    await rm(tmp, { recursive: true, force: true })
    throw e
  }
  return final
}

/** The optimizer's moments as one safetensors file (exp_avg.<param> / exp_avg_sq.<param>). */
export async function writeOptimizerMoments(file: string, optimizer: Optimizer): Promise<void> {
  const moments = new Map<string, TensorToWrite>()
  for (const [name, t] of optimizer.stateTensors()) moments.set(name, { dtype: 'F32', shape: t.shape, data: (await t.data()) as Float32Array })
  await writeSafetensors(file, moments)
}

export async function readOptimizerMoments(file: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const optimizer = new Map<string, { shape: number[]; data: Float32Array }>()
  for (const [name, t] of await readSafetensors(file)) optimizer.set(name, { shape: t.shape, data: t.data as Float32Array })
  return optimizer
}

/** Complete checkpoints of a run, oldest first. */
export async function listCheckpoints(runDir: string): Promise<{ step: number; dir: string }[]> {
  const names = await readdir(checkpointsDir(runDir)).catch(() => [] as string[])
  return names
    .map((n) => /^step-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: join(checkpointsDir(runDir), m[0]) }))
    .sort((a, b) => a.step - b.step)
}

/** Deletes all but the newest `keep` checkpoints (keep 0 = keep all). */
export async function pruneCheckpoints(runDir: string, keep: number): Promise<void> {
  if (keep <= 0) return
  const all = await listCheckpoints(runDir)
  for (const c of all.slice(0, Math.max(0, all.length - keep))) await rm(c.dir, { recursive: true, force: true })
}

export interface LoadedCheckpoint {
  state: TrainerState
  weights: Map<string, StoredTensor>
  optimizer: Map<string, { shape: number[]; data: Float32Array }>
}

export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  let state: TrainerState
  try {
    state = JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8'))
  } catch (e) {
    throw corrupt(`${dir}/trainer_state.json: unreadable (${(e as Error).message.split('\n')[0]})`)
  }
  const weights = await readSafetensors(join(dir, 'model.safetensors'))
  const optimizer = await readOptimizerMoments(join(dir, 'optimizer.safetensors'))
  return { state, weights, optimizer }
}

/** Copies checkpoint weights into existing variables (shapes already checked by the loader). */
export function assignWeights(weights: Weights, stored: Map<string, StoredTensor>): void {
  for (const [name, v] of weights) {
    const t = stored.get(name)
    if (!t) throw corrupt(`checkpoint lacks parameter "${name}"`)
    tf.tidy(() => v.assign(tf.tensor(t.data as Float32Array, t.shape, 'float32')))
  }
}
