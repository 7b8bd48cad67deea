import * as tf from '@tensorflow/tfjs'
import { Session } from 'node:inspector/promises'
import { writeFileSync } from 'node:fs'
import { BENCH_CONFIGS } from './engine/model/config'
import { selectBackend } from './engine/compute/backends'
import { benchBatch } from './engine/train/bench'
import { createBenchModel } from './engine/train/bench-model'
import { readScalar } from './engine/compute/read'
const name = (process.argv[2] ?? 'BASE') as 'BASE'
await selectBackend('webgpu')
const config = { ...BENCH_CONFIGS[name], hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }
const model = createBenchModel(config)
const batch = benchBatch(config, 1, 16)
const session = new Session(); session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.setSamplingInterval', { interval: 100 })
const self = new Map<string, number>()
let total = 0
for (let i = 0; i < Number(process.argv[3] ?? 6); i++) {
  const prof = i >= 2
  if (prof) await session.post('Profiler.start')
  const t0 = performance.now()
  const l = await model.step(batch, 1e-4)
  const t1 = performance.now()
  if (prof) {
    const { profile } = await session.post('Profiler.stop') as any
    const byId = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]))
    const dt: number[] = profile.timeDeltas
    profile.samples.forEach((id: number, k: number) => {
      const n = byId.get(id); const cf = n.callFrame
      const key = `${cf.functionName || '(anon)'} ${cf.url.replace(/.*node_modules\//, '').replace(/.*\/main\//, '')}:${cf.lineNumber}`
      self.set(key, (self.get(key) ?? 0) + dt[k] / 1000); total += dt[k] / 1000
    })
  }
  await readScalar(l); l.dispose()
  console.log(`step ${i}: record ${(t1 - t0).toFixed(1)} ms`)
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, 45)
for (const [k, v] of rows) console.log(v.toFixed(1).padStart(8), (100 * v / total).toFixed(1).padStart(5) + '%', k)
console.log('total', total.toFixed(1))
