// `mengzi bench train --config A|B|BASE [--backend …] [--json]`: median ms per BERT MLM training step.
import { InvalidArgumentError, type Command } from 'commander'
import { BENCH_CONFIGS } from '../model/config'
import { BACKEND_NAMES, type BackendPreference } from '../compute/backends'
import { benchTrain, type BenchConfigName } from '../train/bench'
import type { Precision } from '../compute/precision'
import type { KernelTimes } from '../compute/webgpu/kernel-timer'
import { describeTuning } from '../compute/webgpu/matmul-tune'
import { SPIN_MS } from '../compute/webgpu/event-ticks'
import { printJson, type GlobalOptions } from './common'

interface BenchTrainOptions extends Pick<GlobalOptions, 'json'> {
  config: BenchConfigName
  backend: BackendPreference
  steps: number
  warmup: number
  threads?: number
  native: boolean
  nativeThreads?: number
  dropout?: number
  precision: Precision
  submitEvery?: number
  kernelTimes?: boolean
  pipelined?: boolean
}

const choice = <T extends string>(allowed: readonly T[], what: string) => (value: string): T => {
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`${what} must be one of ${allowed.join(', ')}; got "${value}"`)
  return value as T
}

const positiveInt = (what: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer; got "${value}"`)
  return n
}

const probability = (what: string) => (value: string): number => {
  const p = Number(value)
  if (!(p >= 0 && p < 1)) throw new InvalidArgumentError(`${what} must be a number in [0, 1); got "${value}"`)
  return p
}

export function registerBenchTrain(bench: Command): void {
  bench
    .command('train')
    .description('time BERT MLM training steps on the fixed bench model (seq 128, 15% masked, Adam 1e-4)')
    .option('--config <name>', 'A (2/128/2/512), B (4/256/4/1024) or BASE (12/768/12/3072)', choice(Object.keys(BENCH_CONFIGS) as BenchConfigName[], '--config'), 'A')
    .option('--backend <name>', 'auto, tensorflow, webgpu, wasm or cpu', choice(['auto', ...BACKEND_NAMES] as BackendPreference[], '--backend'), 'auto')
    .option('--steps <n>', 'timed steps', positiveInt('--steps'), 10)
    .option('--warmup <n>', 'warm-up steps, not timed', positiveInt('--warmup'), 3)
    .option('--threads <n>', 'wasm threads (tfjs uses 1 in Node)', positiveInt('--threads'))
    .option('--no-native', 'wasm without the native kernels (XNNPACK and JavaScript only)')
    .option('--native-threads <n>', 'threads for the native kernels and matrix products (default: all cores)', positiveInt('--native-threads'))
    .option('--dropout <p>', 'dropout on hidden states and attention (training mode, as pretraining); default off', probability('--dropout'))
    .option('--precision <p>', 'fp32, or fp16 (webgpu: f16 inputs and storage, f32 accumulation, dynamic loss scaling)', choice(['fp32', 'fp16'] as Precision[], '--precision'), 'fp32')
    .option('--submit-every <n>', 'webgpu: dispatches recorded before each queue submission (default 1000: once per step)', positiveInt('--submit-every'))
    .option('--kernel-times', 'webgpu: one more step with the GPU\'s time for each kernel (timestamp queries)')
    .option('--pipelined', 'read each step\'s loss while the next step records, as the training loop does (default: before it, as PyTorch\'s loss.item())')
    .option('--json', 'print one JSON object (the last line)')
    .action(async (opts: BenchTrainOptions) => {
      const result = await benchTrain({
        config: opts.config,
        backend: opts.backend,
        timedSteps: opts.steps,
        warmupSteps: opts.warmup,
        wasmThreads: opts.threads,
        native: opts.native,
        nativeThreads: opts.nativeThreads,
        dropout: opts.dropout,
        precision: opts.precision,
        submitEvery: opts.submitEvery,
        kernelTimes: opts.kernelTimes,
        pipelined: opts.pipelined,
        onStep: opts.json
          ? undefined
          : (s) => console.log(`${s.warmup ? 'warm-up' : 'step'} ${s.index + 1}: ${s.ms.toFixed(0)} ms, loss ${s.loss.toFixed(4)}`),
      })
      if (opts.json) return printJson(result)
      for (const s of result.skipped) console.log(`${s.name} skipped: ${s.reason}`)
      console.log(`backend ${result.backend} (${result.backendDetail}${result.threads ? `; ${result.threads} ${result.backend} thread(s)` : ''})`)
      console.log(
        `config ${result.config}: ${result.parameters.toLocaleString('en')} parameters, batch ${result.batchSize} × ${result.sequenceLength}, ` +
          `${result.maskedPerSequence} masked per sequence`,
      )
      if (result.lossScale) console.log(`fp16: loss scale ${result.lossScale.scale} after the last step, ${result.lossScale.skipped} step(s) skipped on overflow`)
      console.log(`median ${result.medianStepMs.toFixed(1)} ms/step, ${result.tokensPerSec.toFixed(0)} tokens/s over ${result.stepMs.length} steps (${result.precision}${result.pipelined ? ', pipelined: each loss read while the next step recorded' : ''})`)
      if (result.gpuWork) {
        const { dispatches, submits, submitEvery, wait } = result.gpuWork
        console.log(`webgpu: ${result.medianHostMs.toFixed(1)} ms/step recording on this thread (median), ${dispatches} dispatches and ${submits} submission(s) per step (submitting every ${submitEvery} dispatches); ${wait === 'spin' ? "waits spin (Dawn's loop; MENGZI_WEBGPU_WAIT=yield frees the core)" : `waits tick once per ms after ${SPIN_MS} ms (MENGZI_WEBGPU_WAIT=spin: Dawn's loop)`}`)
      }
      if (result.matmulTuning) console.log(`webgpu: ${describeTuning(result.matmulTuning)}`)
      if (result.kernelTimes) printKernelTimes(result.kernelTimes)
    })
}

function printKernelTimes({ kernels, totalMs, untimed }: KernelTimes): void {
  console.log(`\nGPU time per kernel in one more step (each dispatch in a pass of its own): ${totalMs.toFixed(2)} ms in all${untimed ? `, ${untimed} dispatches not timed` : ''}`)
  console.log('| kernel | dispatches | GPU ms | share |\n|---|---|---|---|')
  for (const k of kernels) console.log(`| ${k.kernel} | ${k.dispatches} | ${k.ms.toFixed(3)} | ${((100 * k.ms) / (totalMs || 1)).toFixed(1)}% |`)
}
