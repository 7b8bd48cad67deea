// What recording one training step costs the host on webgpu: JavaScript (tfjs's engine, our kernels'
// code) and Dawn's validation, with the device's waits left out. On a GPU the pipelined loop hides it
// behind the previous step's GPU work only while it is shorter, so at BASE it bounds steps per second.
// Steps alternate between bind groups found again (the default, bind-groups.ts) and each made anew.
// A small batch keeps lavapipe's GPU time short; recording barely depends on the batch.
//   XDG_RUNTIME_DIR=/tmp/xdg npx tsx test/bench/webgpu-host.ts [--config A|B|BASE] [--batch N] [--seq N]
//     [--steps N] [--precision fp32|fp16] [--json]
import { parseArgs } from 'node:util'
import { BENCH_CONFIGS } from '../../engine/model/config'
import { selectBackend } from '../../engine/compute/backends'
import { dispatchesRecorded } from '../../engine/compute/webgpu/runner'
import { bindGroupCacheStats, setBindGroupReuse } from '../../engine/compute/webgpu/bind-groups'
import { benchBatch, median, type BenchConfigName } from '../../engine/train/bench'
import { createBenchModel } from '../../engine/train/bench-model'
import type { Precision } from '../../engine/compute/precision'

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'BASE' },
    batch: { type: 'string', default: '1' },
    seq: { type: 'string', default: '16' },
    steps: { type: 'string', default: '10' },
    precision: { type: 'string', default: 'fp32' },
    json: { type: 'boolean', default: false },
  },
})
const name = args.config as BenchConfigName
if (!(name in BENCH_CONFIGS)) throw new Error(`--config: A, B or BASE, not ${name}`)
if (args.precision !== 'fp32' && args.precision !== 'fp16') throw new Error(`--precision: fp32 or fp16, not ${args.precision}`)
const selection = await selectBackend('webgpu')
if (selection.name !== 'webgpu') throw new Error(`no webgpu: ${selection.skipped.map((s) => s.reason).join('; ')}`)
const config = { ...BENCH_CONFIGS[name], hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }
const model = createBenchModel(config, 42, args.precision as Precision)
const batch = benchBatch(config, Number(args.batch), Number(args.seq))

interface Sample { hostMs: number; dispatches: number; created: number }
async function step(): Promise<Sample> {
  const recordedBefore = dispatchesRecorded()
  const createdBefore = bindGroupCacheStats().created
  const start = performance.now()
  const loss = await model.step(batch, 1e-4)
  const hostMs = performance.now() - start - model.deviceWaitMs()
  const sample = { hostMs, dispatches: dispatchesRecorded() - recordedBefore, created: bindGroupCacheStats().created - createdBefore }
  await model.readLoss(loss)
  return sample
}

for (let i = 0; i < 4; i++) await step() // warm-up: pipelines compiled, buffers pooled, bind groups made
const samples = { reused: [] as Sample[], anew: [] as Sample[] }
for (let i = 0; i < Number(args.steps); i++) {
  setBindGroupReuse(i % 2 === 1)
  samples[i % 2 === 1 ? 'reused' : 'anew'].push(await step())
}
setBindGroupReuse(true)
model.dispose()
const summary = (s: Sample[]) => ({
  medianHostMs: median(s.map((x) => x.hostMs)),
  meanHostMs: s.reduce((t, x) => t + x.hostMs, 0) / s.length,
  minHostMs: Math.min(...s.map((x) => x.hostMs)),
  dispatchesPerStep: median(s.map((x) => x.dispatches)),
  bindGroupsMadePerStep: median(s.map((x) => x.created)),
})
const result = {
  config: name,
  adapter: selection.detail,
  batch: Number(args.batch),
  sequence: Number(args.seq),
  precision: args.precision,
  stepsEach: samples.reused.length,
  bindGroupsReused: summary(samples.reused),
  bindGroupsMadeAnew: summary(samples.anew),
}
if (args.json) console.log(JSON.stringify(result))
else {
  console.log(`${name}, ${result.precision}, batch ${result.batch}×${result.sequence}, ${result.stepsEach} steps each (alternating)`)
  console.log('| bind groups | dispatches/step | made/step | host ms/step (median) | mean | min |\n|---|---|---|---|---|---|')
  for (const [label, s] of [['found again', result.bindGroupsReused], ['made anew', result.bindGroupsMadeAnew]] as const) {
    console.log(`| ${label} | ${s.dispatchesPerStep} | ${s.bindGroupsMadePerStep} | ${s.medianHostMs.toFixed(1)} | ${s.meanHostMs.toFixed(1)} | ${s.minHostMs.toFixed(1)} |`)
  }
  console.log(`adapter: ${selection.detail}`)
}
process.exit(0)
