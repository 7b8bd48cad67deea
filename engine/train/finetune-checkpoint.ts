// Fine-tuning checkpoints: one at each epoch's end, in checkpoint.ts's layout (<runDir>/checkpoints/
// step-N, written beside its name and renamed into place) so the service's resume preparation applies.
//   model.safetensors      every weight, head included (HF names)
//   optimizer.safetensors  AdamW moments
//   momentum.safetensors   SMART's momentum teacher, when the run has one
//   finetune_state.json    epoch, step, RNG state, the shuffled order, epochs so far, the best epoch
//   best/                  the run's best folder and dev predictions as they were (hard links: no copy), so
//                          a resume never keeps a best saved by an epoch after the checkpoint
import { existsSync } from 'node:fs'
import { link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Weights } from '../model/bert'
import { readSafetensors, writeSafetensors, type StoredTensor } from '../model/safetensors'
import { weightsToTensors } from '../model/weights'
import type { RngState } from '../compute/rng'
import { corrupt } from '../errors'
import { readOptimizerMoments, writeCheckpointDir, writeOptimizerMoments } from './checkpoint'
import type { LossScaleState } from './loss-scale'
import type { Optimizer } from './optimizers'

export interface FinetuneState {
  epoch: number // epochs completed
  step: number // optimizer steps completed
  rng: RngState // after `epoch` (its shuffle, dropout and evaluation)
  /** The training order after this epoch's shuffle: the next epoch shuffles it again. */
  order: number[]
  optimizerSteps: number
  epochs: { epoch: number; step: number; dev: Record<string, number>; best: boolean }[]
  best: { epoch: number; dev: Record<string, number> } | null
  smartTerms: number[]
  /** fp16: the loss scaler after `epoch`, so a resumed run scales as an uninterrupted one. */
  lossScale?: LossScaleState
}

/** Hard-links (copies where links fail) the files of `from` and the named single files into `to`. */
async function linkFiles(from: string | null, files: string[], to: string): Promise<void> {
  await mkdir(to, { recursive: true })
  const sources = [...(from && existsSync(from) ? (await readdir(from)).map((n) => join(from, n)) : []), ...files.filter((f) => existsSync(f))]
  for (const src of sources) {
    const dest = join(to, src.slice(src.lastIndexOf('/') + 1))
    await link(src, dest).catch(async () => writeFile(dest, await readFile(src)))
  }
}

/** The run's best folder and predictions file as `bestFiles` saved them, put back (both atomically). */
export async function restoreBest(checkpointDir: string, bestDir: string, inspectionFile: string): Promise<void> {
  const saved = join(checkpointDir, 'best')
  if (!existsSync(saved)) return
  const tmp = `${bestDir}.tmp-${process.pid}`
  await rm(tmp, { recursive: true, force: true })
  await linkFiles(saved, [], tmp)
  const inspection = join(tmp, inspectionFile.slice(inspectionFile.lastIndexOf('/') + 1))
  if (existsSync(inspection)) await rename(inspection, inspectionFile)
  await rm(bestDir, { recursive: true, force: true })
  await rename(tmp, bestDir)
}

export async function saveFinetuneCheckpoint(runDir: string, weights: Weights, optimizer: Optimizer, state: FinetuneState, bestFiles?: { dir: string; inspection: string }, momentum?: Weights): Promise<string> {
  return writeCheckpointDir(runDir, state.step, async (tmp) => {
    await writeSafetensors(join(tmp, 'model.safetensors'), await weightsToTensors(weights), { format: 'pt' })
    await writeOptimizerMoments(join(tmp, 'optimizer.safetensors'), optimizer)
    if (momentum) await writeSafetensors(join(tmp, 'momentum.safetensors'), await weightsToTensors(momentum), { format: 'pt' })
    await writeFile(join(tmp, 'finetune_state.json'), JSON.stringify(state))
    if (bestFiles) await linkFiles(bestFiles.dir, [bestFiles.inspection], join(tmp, 'best'))
  })
}

export interface LoadedFinetuneCheckpoint {
  state: FinetuneState
  weights: Map<string, StoredTensor>
  optimizer: Map<string, { shape: number[]; data: Float32Array }>
  momentum: Map<string, StoredTensor> | null
}

export async function readFinetuneCheckpoint(dir: string): Promise<LoadedFinetuneCheckpoint> {
  let state: FinetuneState
  try {
    state = JSON.parse(await readFile(join(dir, 'finetune_state.json'), 'utf8'))
  } catch (e) {
    throw corrupt(`${dir}/finetune_state.json: unreadable (${(e as Error).message.split('\n')[0]})`)
  }
  const weights = await readSafetensors(join(dir, 'model.safetensors'))
  const optimizer = await readOptimizerMoments(join(dir, 'optimizer.safetensors'))
  const momentum = existsSync(join(dir, 'momentum.safetensors')) ? await readSafetensors(join(dir, 'momentum.safetensors')) : null
  return { state, weights, optimizer, momentum }
}
