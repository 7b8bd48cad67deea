// Our best CPU backend against PyTorch on the same BERT MLM training step, in one run:
//   npx tsx test/bench/train-vs-torch.ts [--config A|B|BASE] [--backend wasm|cpu|…] [--steps N]
//     [--threads N (PyTorch and our BLAS, default 2)] [--wasm-threads N (ours, default 1)]
//     [--wasm-only (also time our wasm path without the native kernels)] [--rounds N]
//     [--dropout P (both engines in training mode with dropout P, as pretraining)] [--json]
// With --rounds N (default 3) the two engines take turns N times and each reports the median of its
// per-round medians: on a shared or virtual machine the speed of the cores drifts over seconds, and
// taking turns spreads that drift over both sides.
// PyTorch is Debian's python3-torch (/usr/bin/python3, not a pyenv shim) with OpenBLAS held to 2
// threads. Timings on a machine shared with other work are noisy: run both sides back to back.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { benchTrain, type BenchConfigName } from '../../engine/train/bench'
import type { BackendPreference } from '../../engine/compute/backends'

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'A' },
    backend: { type: 'string', default: 'auto' },
    steps: { type: 'string', default: '10' },
    threads: { type: 'string', default: '2' },
    'wasm-threads': { type: 'string', default: '1' },
    'wasm-only': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    dropout: { type: 'string', default: '0' },
    python: { type: 'string', default: '/usr/bin/python3' },
    json: { type: 'boolean', default: false },
  },
})
const config = args.config as BenchConfigName
const steps = Number(args.steps)

function runTorch() {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'train_torch.py')
  const run = spawnSync(args.python!, [script, '--config', config, '--steps', String(steps), '--threads', args.threads!, '--dropout', args.dropout!, '--json'], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: args.threads, OMP_NUM_THREADS: args.threads, OMP_WAIT_POLICY: 'PASSIVE' },
    encoding: 'utf8',
  })
  if (run.status !== 0) throw new Error(`train_torch.py failed (exit ${run.status}): ${(run.stderr || '').trim().split('\n').at(-1)}`)
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { medianStepMs: number; medianCpuMs: number; tokensPerSec: number; blas: string; torch: string; threads: number; losses: number[] }
}

const benchOurs = (native: boolean) =>
  benchTrain({ config, backend: args.backend as BackendPreference, timedSteps: steps, wasmThreads: Number(args['wasm-threads']), native, nativeThreads: Number(args.threads), dropout: Number(args.dropout) })
type TorchResult = ReturnType<typeof runTorch>
type OursResult = Awaited<ReturnType<typeof benchOurs>>
const rounds = Math.max(1, Number(args.rounds))
const torchRuns: TorchResult[] = []
const oursRuns: OursResult[] = []
const wasmOnlyRuns: OursResult[] = []
for (let r = 0; r < rounds; r++) {
  torchRuns.push(runTorch())
  oursRuns.push(await benchOurs(true))
  if (args['wasm-only']) wasmOnlyRuns.push(await benchOurs(false))
}
/** The run whose median step time is the median over the rounds. */
const medianRun = <T extends { medianStepMs: number }>(runs: T[]): T => [...runs].sort((a, b) => a.medianStepMs - b.medianStepMs)[(runs.length - 1) >> 1]
const torch = medianRun(torchRuns)
const ours = medianRun(oursRuns)
const wasmOnly = wasmOnlyRuns.length ? medianRun(wasmOnlyRuns) : null
const speedup = torch.medianStepMs / ours.medianStepMs // > 1: we are faster
const cpuRatio = torch.medianCpuMs / ours.medianCpuMs // the same in CPU time spent per step
const summary = {
  config,
  ours: { backend: ours.backend, detail: ours.backendDetail, threads: ours.threads, medianStepMs: ours.medianStepMs, medianCpuMs: ours.medianCpuMs, tokensPerSec: ours.tokensPerSec, firstLoss: ours.losses[0] },
  torch: { version: torch.torch, blas: torch.blas, threads: torch.threads, medianStepMs: torch.medianStepMs, medianCpuMs: torch.medianCpuMs, tokensPerSec: torch.tokensPerSec, firstLoss: torch.losses[0] },
  wasmOnly: wasmOnly && { detail: wasmOnly.backendDetail, medianStepMs: wasmOnly.medianStepMs, medianCpuMs: wasmOnly.medianCpuMs, tokensPerSec: wasmOnly.tokensPerSec, firstLoss: wasmOnly.losses[0] },
  rounds: { torch: torchRuns.map((r) => r.medianStepMs), ours: oursRuns.map((r) => r.medianStepMs) },
  speedup,
  cpuRatio,
  medianStepMs: ours.medianStepMs,
  tokensPerSec: ours.tokensPerSec,
}
if (args.json) {
  console.log(JSON.stringify(summary))
} else {
  const row = (name: string, ms: number, cpuMs: number, tps: number, note: string) =>
    console.log(`${name.padEnd(10)} ${ms.toFixed(1).padStart(10)} ${cpuMs.toFixed(1).padStart(10)} ${tps.toFixed(0).padStart(10)}  ${note}`)
  console.log(`config ${config}${Number(args.dropout) > 0 ? `, dropout ${args.dropout} (training mode)` : ''}, ${steps} timed steps per run, ${rounds} round(s) taking turns; the median round of each engine`)
  console.log(`rounds, ms/step: PyTorch ${torchRuns.map((r) => r.medianStepMs.toFixed(0)).join(' ')}; ours ${oursRuns.map((r) => r.medianStepMs.toFixed(0)).join(' ')}`)
  console.log(`${'engine'.padEnd(10)} ${'ms/step'.padStart(10)} ${'CPU ms'.padStart(10)} ${'tokens/s'.padStart(10)}`)
  row('tfjs', ours.medianStepMs, ours.medianCpuMs, ours.tokensPerSec, `${ours.backend}: ${ours.backendDetail}; ${ours.threads ?? '?'} ${ours.backend} thread(s)`)
  if (wasmOnly) row('tfjs-wasm', wasmOnly.medianStepMs, wasmOnly.medianCpuMs, wasmOnly.tokensPerSec, wasmOnly.backendDetail)
  row('pytorch', torch.medianStepMs, torch.medianCpuMs, torch.tokensPerSec, `torch ${torch.torch}, ${torch.blas}, ${torch.threads} threads`)
  console.log(`ratio (PyTorch time / ours): ${speedup.toFixed(3)}x wall, ${cpuRatio.toFixed(3)}x CPU time  (>= 1 means we are at least as fast)`)
}
