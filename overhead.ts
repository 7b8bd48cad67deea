import * as tf from '@tensorflow/tfjs'
import { BENCH_CONFIGS } from '/work/main/engine/model/config'
import { selectBackend } from '/work/main/engine/train/backends'
import { benchBatch, benchBatchSize } from '/work/main/engine/train/bench'
import { createBenchModel } from '/work/main/engine/train/bench-model'
const name = (process.argv[2] ?? 'B') as 'A' | 'B'
await selectBackend('wasm')
const dp = Number(process.env.DROPOUT ?? 0); const config = { ...BENCH_CONFIGS[name], hidden_dropout_prob: dp, attention_probs_dropout_prob: dp }
const model = createBenchModel(config)
const batch = benchBatch(config, benchBatchSize(name))
let inKernels = 0, depth = 0, calls = 0
const byName = new Map<string, number>()
for (const k of tf.getKernelsForBackend('wasm')) {
  const inner = k.kernelFunc
  ;(k as { kernelFunc: tf.KernelFunc }).kernelFunc = (p) => { if (depth) return inner(p); depth++; calls++; const t = performance.now(); try { return inner(p) } finally { const d = performance.now() - t; inKernels += d; const key = k.kernelName === 'BatchMatMul' ? 'MM ' + Object.values(p.inputs).map((x) => `[${(x as tf.TensorInfo).shape}]`).join('x') + (p.attrs?.transposeA ? 'tA' : '') + (p.attrs?.transposeB ? 'tB' : '') : k.kernelName; byName.set(key, (byName.get(key) ?? 0) + d); depth-- } }
}
for (let i = 0; i < 5; i++) {
  inKernels = 0; calls = 0; byName.clear()
  const faults0 = process.resourceUsage().minorPageFault
  const t = performance.now()
  const l = model.step(batch, 1e-4); const fwdbwd = performance.now() - t; (await l.data()); l.dispose()
  const wall = performance.now() - t
  console.log(`step ${i}: wall ${wall.toFixed(1)} ms, in kernels ${inKernels.toFixed(1)} ms, outside ${(wall - inKernels).toFixed(1)} ms, ${calls} calls, ${process.resourceUsage().minorPageFault - faults0} minor faults`)
  if (i >= 4) console.log([...byName].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([k, v]) => `${v.toFixed(1).padStart(7)}  ${k}`).join('\n'))
}
