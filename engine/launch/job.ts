// A torch job folder: everything torchrun needs, relocatable (paths inside are relative to it), so the
// same folder runs here or is copied to a cluster.
//
//   job.json        the run config, the resolved BERT config, data, initial weights, vocab
//   trainer/        the trainer's Python files, copied from resources/trainer (the code that ran)
//   shards/ | batches.safetensors   the training stream
//   init.safetensors                initial weights (when the workbench provides them)
//   vocab.txt
//   run.sh, slurm.sbatch            the torchrun command line; a Slurm batch script (emitted folders)
// and, as the run trains: metrics.jsonl, events.jsonl, checkpoints/, ranks/, torchrun.log
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BertConfig } from '../model/config'
import type { TrainConfig } from '../train/config'
import type { SpecialTokens } from '../train/data'

export interface TorchJob {
  run: TrainConfig
  model: BertConfig
  data: { kind: 'fixed'; path: string } | { kind: 'shards'; dir: string }
  /** Initial weights (safetensors, HF names) relative to the folder; absent: the trainer inits HF-style from the seed. */
  init?: string
  vocab?: string
  specials?: SpecialTokens
  keepCheckpoints: number
}

export function trainerSourceDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MENGZI_TRAINER_DIR) return env.MENGZI_TRAINER_DIR
  return fileURLToPath(new URL('../../resources/trainer', import.meta.url))
}

/** Copies the trainer's .py files into <dir>/trainer; returns the entry script's path. */
export async function copyTrainer(dir: string): Promise<string> {
  const from = trainerSourceDir()
  const to = join(dir, 'trainer')
  await mkdir(to, { recursive: true })
  for (const name of await readdir(from)) if (name.endsWith('.py')) await copyFile(join(from, name), join(to, name))
  return join(to, 'train.py')
}

export async function writeJobFile(dir: string, job: TorchJob): Promise<string> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, 'job.json')
  await writeFile(path, JSON.stringify(job, null, 2))
  return path
}
