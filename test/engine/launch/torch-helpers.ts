// What the torch-engine tests share: the Python with torch (Debian's python3-torch in CI), a tiny BERT
// without dropout (so both engines see the same computation), and running the trainer on a job folder.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { findTorch, type TorchProbe } from '../../../engine/launch/python'
import { readSafetensors } from '../../../engine/model/safetensors'
import { TINY_BERT } from '../train/tiny-config'

export const NO_DROPOUT_BERT = { ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }

/** The probe, or null when no Python here imports torch (then the suites skip, except in CI where that is a failure). */
export const torchProbe: TorchProbe | null = await findTorch().catch(() => null)
export const skipTorch = !torchProbe && !process.env.CI
if (skipTorch) console.warn('torch-engine tests skipped: no Python with PyTorch here (apt-get install python3-torch); in CI they run')

/** Two threads at most per process: tests share a small machine. */
export const TORCH_ENV = { OMP_NUM_THREADS: '1', MENGZI_TORCH_THREADS: '1' }

/** Runs the trainer as one process (no torchrun: world size 1). */
export async function runTrainer(script: string, job: string, runDir: string): Promise<void> {
  await promisify(execFile)(torchProbe!.python, [script, '--job', job, '--run-dir', runDir], { env: { ...process.env, ...TORCH_ENV }, timeout: 120_000 })
}

export function metricLines(text: string): Record<string, number>[] {
  return text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>)
}

/** Largest absolute difference between two checkpoints' weights (over the names they share). */
export async function maxWeightDiff(dirA: string, dirB: string): Promise<{ max: number; compared: number }> {
  const a = await readSafetensors(join(dirA, 'model.safetensors'))
  const b = await readSafetensors(join(dirB, 'model.safetensors'))
  let max = 0
  let compared = 0
  for (const [name, t] of a) {
    const u = b.get(name)
    if (!u) continue
    compared++
    const x = t.data as Float32Array
    const y = u.data as Float32Array
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]))
  }
  return { max, compared }
}
