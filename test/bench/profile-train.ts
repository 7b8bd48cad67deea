// Where a training step's time goes, per kernel: one profiled step of the bench model after one
// warm-up step, in CPU milliseconds per kernel (cpu and wasm run kernels synchronously on this thread).
//   npx tsx test/bench/profile-train.ts [--config A|B|BASE] [--backend wasm|cpu] [--threads N] [--top N]
//     [--no-native] [--native-threads N] [--clock wall|cpu] [--json]
// --clock cpu counts process CPU time, steadier on a shared machine but inflated by idle BLAS threads
// spinning between products; wall (default) is what a step costs on a quiet machine.
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { BENCH_CONFIGS } from '../../engine/model/config'
import { selectBackend, type BackendPreference } from '../../engine/compute/backends'
import { benchBatch, benchBatchSize, type BenchConfigName } from '../../engine/train/bench'
import { createBenchModel } from '../../engine/train/bench-model'

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'A' },
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string', default: '1' },
    top: { type: 'string', default: '30' },
    'no-native': { type: 'boolean', default: false },
    'native-threads': { type: 'string' },
    clock: { type: 'string', default: 'wall' },
    json: { type: 'boolean', default: false },
  },
})
const nativeThreads = args['native-threads'] ? Number(args['native-threads']) : undefined
const now = args.clock === 'cpu' ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 } : () => performance.now()
const name = args.config as BenchConfigName
const selection = await selectBackend(args.backend as BackendPreference, { wasmThreads: Number(args.threads), native: !args['no-native'], nativeThreads })
const config = { ...BENCH_CONFIGS[name], hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }
const model = createBenchModel(config)
const batch = benchBatch(config, benchBatchSize(name))
const step = () => model.step(batch, 1e-4)
// Two warm-up steps: the first one grows wasm memory and faults its pages in.
;(await step()).dispose()
;(await step()).dispose()

// Per-kernel time around each kernel call (--clock). Kernels that call kernels count once.
const groups = new Map<string, { ms: number; calls: number }>()
let depth = 0
let recording = false
for (const config of tf.getKernelsForBackend(selection.name)) {
  const inner = config.kernelFunc
  ;(config as { kernelFunc: tf.KernelFunc }).kernelFunc = (params) => {
    if (depth > 0 || !recording) return inner(params)
    depth++
    const start = now()
    try {
      return inner(params)
    } finally {
      const used = now() - start
      depth--
      const shapes = Object.values(params.inputs).map((t) => `[${(t as tf.TensorInfo).shape}]`)
      const transposes = params.attrs?.transposeA || params.attrs?.transposeB ? ` (transpose ${params.attrs.transposeA ? 'a' : ''}${params.attrs.transposeB ? 'b' : ''})` : ''
      const key = config.kernelName === 'BatchMatMul' || process.env.PROFILE_SHAPES ? `${config.kernelName} ${shapes.join('×')}${transposes}` : config.kernelName
      const g = groups.get(key) ?? { ms: 0, calls: 0 }
      g.ms += used
      g.calls++
      groups.set(key, g)
    }
  }
}
// tf.profile's bookkeeping per kernel would be timed too: time a plain step, then profile another one
// for its memory and kernel count only.
const cpuStart = process.cpuUsage()
const wallStart = performance.now()
recording = true
;(await step()).dataSync()
recording = false
const wallMs = performance.now() - wallStart
const cpu = process.cpuUsage(cpuStart)
const info = await tf.profile(async () => {
  ;(await step()).dataSync()
})

const rows = [...groups].map(([kernel, g]) => ({ kernel, ...g })).sort((a, b) => b.ms - a.ms)
const kernelMs = rows.reduce((s, r) => s + r.ms, 0)
// The matrix products: tfjs's BatchMatMul and our fused dense layers (whose only other work is a bias).
const matMulMs = rows.filter((r) => /^(BatchMatMul|MengziDense)/.test(r.kernel)).reduce((s, r) => s + r.ms, 0)
const summary = {
  config: name,
  backend: selection.name,
  threads: selection.threads,
  wallMs,
  cpuMs: (cpu.user + cpu.system) / 1000,
  kernelMs,
  matMulMs,
  kernels: info.kernels.length,
  peakBytes: info.peakBytes,
  rows,
}
if (args.json) {
  console.log(JSON.stringify(summary))
} else {
  console.log(`config ${name} on ${selection.name} (${selection.detail}): one step ${wallMs.toFixed(0)} ms wall, ${summary.cpuMs.toFixed(0)} ms CPU`)
  console.log(`${info.kernels.length} kernel calls, ${kernelMs.toFixed(0)} ${args.clock} ms inside kernels (${((100 * matMulMs) / kernelMs).toFixed(0)}% in matrix products: BatchMatMul, MengziDense*), peak ${(info.peakBytes / 2 ** 20).toFixed(0)} MiB`)
  console.log(`${'ms'.padStart(8)} ${'share'.padStart(6)} ${'calls'.padStart(6)}  kernel`)
  for (const r of rows.slice(0, Number(args.top))) {
    console.log(`${r.ms.toFixed(1).padStart(8)} ${((100 * r.ms) / kernelMs).toFixed(1).padStart(5)}% ${String(r.calls).padStart(6)}  ${r.kernel}`)
  }
}
