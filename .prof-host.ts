import * as tf from '@tensorflow/tfjs'
import { BENCH_CONFIGS } from './engine/model/config'
import { selectBackend } from './engine/compute/backends'
import { benchBatch } from './engine/train/bench'
import { createBenchModel } from './engine/train/bench-model'
import { readScalar } from './engine/compute/read'
const name = (process.argv[2] ?? 'BASE') as 'BASE'
const batchSize = Number(process.argv[3] ?? 2)
await selectBackend('webgpu')
const config = { ...BENCH_CONFIGS[name], hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }
const model = createBenchModel(config)
const batch = benchBatch(config, batchSize, Number(process.argv[4] ?? 128))
const rec: number[] = []
for (let i = 0; i < Number(process.argv[5] ?? 8); i++) {
  const t0 = performance.now()
  const l = await model.step(batch, 1e-4)
  const t1 = performance.now()
  await readScalar(l); l.dispose()
  if (i >= 2) rec.push(t1 - t0)
  console.log(`step ${i}: record ${(t1 - t0).toFixed(1)} ms, total ${(performance.now() - t0).toFixed(0)} ms`)
}
rec.sort((a, b) => a - b)
console.log('median record', rec[rec.length >> 1].toFixed(1))
