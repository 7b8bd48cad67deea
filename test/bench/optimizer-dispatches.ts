// GPU work of one optimizer step on webgpu, per-parameter kernels against the multi-tensor ones: the
// parameter list of a bench config (MLM head and pooler, as a pretraining run builds it; the pooler gets
// no gradient with MLM alone), gradients for the rest, clipping at max norm 1 then AdamW or LAMB.
// Counts dispatches and queue submissions per step, and times a step (wall clock, the GPU's work
// included: each timed step ends by reading a weight back).
//
//   npx tsx test/bench/optimizer-dispatches.ts [--config A|B|BASE] [--steps 3] [--json]
//
// Not a test: timings on a shared machine (and on lavapipe, a CPU) are noisy; the table says what ran.
import * as tf from '@tensorflow/tfjs'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { selectBackend } from '../../engine/compute/backends'
import { BENCH_CONFIGS } from '../../engine/model/config'
import { disposeWeights, initWeights } from '../../engine/model/weights'
import { createOptimizer, type OptimizerKind } from '../../engine/train/optimizers'
import { countGpuWork, type GpuWork } from '../engine/compute/webgpu/count-gpu-work'

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'A' },
    steps: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
})
const configName = args.config as keyof typeof BENCH_CONFIGS
if (!(configName in BENCH_CONFIGS)) throw new Error(`--config: expected A, B or BASE, got "${args.config}"`)
const steps = Number(args.steps)
const selection = await selectBackend('webgpu')
if (selection.name !== 'webgpu') throw new Error(`no webgpu backend: ${selection.detail}`)

const weights = initWeights({ config: BENCH_CONFIGS[configName], heads: [{ kind: 'mlm' }], pooler: true }, 1)
const trained = [...weights].filter(([name]) => !name.startsWith('bert.pooler.'))
const values = trained.reduce((n, [, w]) => n + w.size, 0)

interface Row extends Omit<GpuWork, 'programs'> {
  optimizer: OptimizerKind
  update: 'per-parameter' | 'multi-tensor'
  msPerStep: number
}
const rows: Row[] = []
for (const optimizer of ['adamw', 'lamb'] as const) {
  for (const multiTensor of [false, true]) {
    const opt = createOptimizer(optimizer, weights, { multiTensor })
    let work: GpuWork = { dispatches: 0, submits: 0, programs: [] }
    let total = 0
    for (let s = 0; s <= steps; s++) {
      const grads = new Map(trained.map(([name, w]) => [name, tf.randomNormal(w.shape, 0, 1e-2, 'float32', s)]))
      await weights.values().next().value!.data() // the gradients made before the clock starts
      const t0 = performance.now()
      work = countGpuWork(() => {
        const clipped = opt.clipGradients(grads, 1)
        opt.step(clipped.grads, 1e-4)
        tf.dispose([clipped.norm, ...clipped.grads.values()])
      })
      await weights.get(trained[0][0])!.data()
      if (s > 0) total += performance.now() - t0 // step 0 compiles the pipelines
      tf.dispose([...grads.values()])
    }
    opt.dispose()
    rows.push({ optimizer, update: multiTensor ? 'multi-tensor' : 'per-parameter', dispatches: work.dispatches, submits: work.submits, msPerStep: total / steps })
  }
}
disposeWeights(weights)

const setting = { config: configName, parameterTensors: trained.length, values, backend: selection.detail.split('\n')[0], load: os.loadavg().map((l) => l.toFixed(2)).join(' '), steps }
if (args.json) console.log(JSON.stringify({ setting, rows }))
else {
  console.log(`config ${configName}: ${trained.length} parameter tensors with gradients, ${values} values; ${setting.backend}; load ${setting.load}`)
  console.log('optimizer | update        | dispatches/step | submits/step | ms/step')
  for (const r of rows) console.log(`${r.optimizer.padEnd(9)} | ${r.update.padEnd(13)} | ${String(r.dispatches).padStart(15)} | ${String(r.submits).padStart(12)} | ${r.msPerStep.toFixed(1).padStart(7)}`)
}
