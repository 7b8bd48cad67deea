// What f16 storage saves in an fp16 training step on webgpu: `npx tsx test/bench/fp16-memory.ts
// [--configs A,B] [--batch 16] [--seq 128] [--json]`. For each bench model (engine/model/config.ts's
// BENCH_CONFIGS, MLM on 15% of positions, multi-tensor AdamW), fp32 against precision "fp16": the GPU
// bytes kept for backward (what the forward saves, measured when the backward starts) and the weights'
// bytes: the f32 masters, and what the f16 copies add (bytes alive after the step, fp16 − fp32).
// Measured by test/engine/compute/webgpu/fp16-memory.ts on the third step. Bytes only: the same on any
// adapter (lavapipe included); no times.
import { parseArgs } from 'node:util'
import { selectBackend } from '../../engine/compute/backends'
import { BENCH_CONFIGS } from '../../engine/model/config'
import { stepMemory } from '../engine/compute/webgpu/fp16-memory'

const { values: args } = parseArgs({
  options: {
    configs: { type: 'string', default: 'A,B' },
    batch: { type: 'string', default: '16' },
    seq: { type: 'string', default: '128' },
    json: { type: 'boolean', default: false },
  },
})
const names = args.configs.split(',') as (keyof typeof BENCH_CONFIGS)[]
for (const n of names) if (!(n in BENCH_CONFIGS)) throw new Error(`--configs: unknown config ${JSON.stringify(n)} (A, B, BASE)`)
const [batch, seq] = [args.batch, args.seq].map(Number)
if (![batch, seq].every((x) => Number.isInteger(x) && x > 0)) throw new Error(`--batch and --seq must be positive integers; got ${args.batch}, ${args.seq}`)

const backend = await selectBackend('webgpu')
if (backend.name !== 'webgpu') throw new Error(`no WebGPU adapter: ${backend.detail}`)

const MB = (bytes: number) => Number((bytes / 1e6).toFixed(2))
const rows = []
for (const name of names) {
  const fp32 = await stepMemory(BENCH_CONFIGS[name], 'fp32', batch, seq)
  const fp16 = await stepMemory(BENCH_CONFIGS[name], 'fp16', batch, seq)
  rows.push({
    config: name,
    keptFp32MB: MB(fp32.keptForBackward),
    keptFp16MB: MB(fp16.keptForBackward),
    keptChange: Number(((fp16.keptForBackward / fp32.keptForBackward - 1) * 100).toFixed(1)),
    mastersMB: MB(fp32.masters),
    f16CopiesMB: MB(fp16.total - fp32.total),
    lossFp32: fp32.loss,
    lossFp16: fp16.loss,
  })
}
const settings = { batch, seq, adapter: backend.detail.split('\n')[0] }
if (args.json) console.log(JSON.stringify({ settings, rows }))
else {
  console.log(`fp16 storage, batch ${batch}, sequence ${seq}, third step; ${settings.adapter}`)
  console.log('config | kept for backward fp32 MB | fp16 MB | change % | f32 masters MB | f16 copies add MB | loss fp32 / fp16')
  for (const r of rows) {
    console.log(
      `${r.config.padEnd(6)} | ${String(r.keptFp32MB).padStart(25)} | ${String(r.keptFp16MB).padStart(7)} | ${String(r.keptChange).padStart(8)} | ${String(r.mastersMB).padStart(14)} | ${String(r.f16CopiesMB).padStart(17)} | ${r.lossFp32.toFixed(4)} / ${r.lossFp16.toFixed(4)}`,
    )
  }
}
