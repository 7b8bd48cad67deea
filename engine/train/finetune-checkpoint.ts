// Fine-tuning checkpoints: one at each epoch's end, in checkpoint.ts's layout (<runDir>/checkpoints/
// step-N, written beside its name and renamed into place) so the service's resume preparation applies.
//   model.safetensors      every weight, head included (HF names)
//   optimizer.safetensors  AdamW moments
//   finetune_state.json    epoch, step, RNG state, the shuffled order, epochs so far, the best epoch
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Weights } from '../model/bert'
import { readSafetensors, writeSafetensors, type StoredTensor, type TensorToWrite } from '../model/safetensors'
import { weightsToTensors } from '../model/weights'
import type { RngState } from '../compute/rng'
import { corrupt } from '../errors'
import { checkpointsDir } from './checkpoint'
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
}

const stepDirName = (step: number) => `step-${String(step).padStart(8, '0')}`

export async function saveFinetuneCheckpoint(runDir: string, weights: Weights, optimizer: Optimizer, state: FinetuneState): Promise<string> {
  const root = checkpointsDir(runDir)
  await mkdir(root, { recursive: true })
  const final = join(root, stepDirName(state.step))
  const tmp = join(root, `.${stepDirName(state.step)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`)
  await mkdir(tmp)
  try {
    await writeSafetensors(join(tmp, 'model.safetensors'), await weightsToTensors(weights), { format: 'pt' })
    const moments = new Map<string, TensorToWrite>()
    for (const [name, t] of optimizer.stateTensors()) moments.set(name, { dtype: 'F32', shape: t.shape, data: (await t.data()) as Float32Array })
    await writeSafetensors(join(tmp, 'optimizer.safetensors'), moments)
    await writeFile(join(tmp, 'finetune_state.json'), JSON.stringify(state))
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

export interface LoadedFinetuneCheckpoint {
  state: FinetuneState
  weights: Map<string, StoredTensor>
  optimizer: Map<string, { shape: number[]; data: Float32Array }>
}

export async function readFinetuneCheckpoint(dir: string): Promise<LoadedFinetuneCheckpoint> {
  let state: FinetuneState
  try {
    state = JSON.parse(await readFile(join(dir, 'finetune_state.json'), 'utf8'))
  } catch (e) {
    throw corrupt(`${dir}/finetune_state.json: unreadable (${(e as Error).message.split('\n')[0]})`)
  }
  const weights = await readSafetensors(join(dir, 'model.safetensors'))
  const optimizer = new Map<string, { shape: number[]; data: Float32Array }>()
  for (const [name, t] of await readSafetensors(join(dir, 'optimizer.safetensors'))) optimizer.set(name, { shape: t.shape, data: t.data as Float32Array })
  return { state, weights, optimizer }
}
