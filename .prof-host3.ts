import * as tf from '@tensorflow/tfjs'
import { BENCH_CONFIGS } from './engine/model/config'
import { selectBackend } from './engine/compute/backends'
import { benchBatch } from './engine/train/bench'
import { createBenchModel } from './engine/train/bench-model'
import { readScalar } from './engine/compute/read'
const name = (process.argv[2] ?? 'BASE') as 'BASE'
await selectBackend('webgpu')
const backend = tf.backend() as any
const stats = new Map<string, { ms: number; n: number }>()
let on = false
const wrapped = new Set<any>()
function wrap(obj: any, label: string) {
  const proto = Object.getPrototypeOf(obj)
  if (wrapped.has(proto)) return
  wrapped.add(proto)
  for (const key of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, key)!
    if (typeof d.value !== 'function' || key === 'constructor') continue
    const f = d.value
    proto[key] = function (this: any, ...a: any[]) {
      const t = performance.now()
      const r = f.apply(this, a)
      if (on) { const s = stats.get(`${label}.${key}`) ?? { ms: 0, n: 0 }; s.ms += performance.now() - t; s.n++; stats.set(`${label}.${key}`, s) }
      if (r && typeof r === 'object' && !(r instanceof Promise) && /GPU/.test(r.constructor?.name ?? '')) wrap(r, r.constructor.name)
      return r
    }
  }
}
wrap(backend.device, 'device')
wrap(backend.device.queue, 'queue')
const config = { ...BENCH_CONFIGS[name], hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }
const model = createBenchModel(config)
const batch = benchBatch(config, 1, 16)
let recTotal = 0
const N = Number(process.argv[3] ?? 6)
for (let i = 0; i < N; i++) {
  on = i >= 2
  const t0 = performance.now()
  const l = await model.step(batch, 1e-4)
  const t1 = performance.now()
  on = false
  if (i >= 2) recTotal += t1 - t0
  await readScalar(l); l.dispose()
  console.log(`step ${i}: record ${(t1 - t0).toFixed(1)} ms`)
}
const steps = N - 2
let sum = 0
for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) { sum += v.ms; console.log((v.ms / steps).toFixed(2).padStart(8), 'ms/step', String(v.n / steps).padStart(6), 'calls', k) }
console.log('native total/step', (sum / steps).toFixed(1), 'record/step', (recTotal / steps).toFixed(1))
