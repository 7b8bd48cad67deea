// The webgpu kernels built on workgroup reductions (wgsl.ts), with subgroup operations and with the
// barrier tree, on the adapter Dawn finds here, at BERT-BASE sizes (batch 32 × 128 tokens):
//   npx tsx test/bench/webgpu-reductions.ts [--rows 4096] [--reps 2] [--rounds 3] [--json]
//   layer-norm     MengziLayerNorm with the residual, [rows, 768] (64-invocation workgroups)
//   softmax-xent   MengziSoftmaxXent over the vocab, [rows·15%, 21128] (256-invocation workgroups)
//   squared-norm   MengziSquaredNormAdd over a 3072×768 gradient (partials, then one workgroup)
// Rounds interleave the two variants; the median round's ms per call is reported. A software adapter
// (lavapipe) only says how the variants compare on a CPU rasteriser, not GPU speed.
import os from 'node:os'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { selectBackend } from '../../engine/compute/backends'
import { describeAdapter } from '../../engine/compute/webgpu/device'
import { setWebgpuSubgroups } from '../../engine/compute/webgpu/flags'
import { webgpuInternals } from '../../engine/compute/webgpu/runner'
import { reductionsUseSubgroups } from '../../engine/compute/webgpu/wgsl'
import { median, timeCalls } from './webgpu-timing'

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '4096' },
    reps: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
})
const rows = Number(args.rows)
const reps = Number(args.reps)
const rounds = Number(args.rounds)
if (!(rows >= 1 && reps >= 1 && rounds >= 1)) throw new Error(`--rows, --reps and --rounds must be positive numbers; got "${args.rows}", "${args.reps}", "${args.rounds}"`)

const selection = await selectBackend('webgpu')
if (selection.name !== 'webgpu' || !selection.adapter) throw new Error(`no webgpu backend: ${selection.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`)
const backend = webgpuInternals(tf.backend())
if (!reductionsUseSubgroups(backend.device)) throw new Error(`this device has no usable subgroups (${describeAdapter(selection.adapter)}): nothing to compare`)

const H = 768
const masked = Math.max(1, Math.round(rows * 0.15))
const x = tf.randomNormal([rows, H], 0, 1, 'float32', 1)
const residual = tf.randomNormal([rows, H], 0, 1, 'float32', 2)
const gamma = tf.ones([H])
const beta = tf.zeros([H])
const logits = tf.randomNormal([masked, 21128], 0, 3, 'float32', 3)
const targets = tf.tensor1d(Int32Array.from({ length: masked }, (_, i) => (i * 7919) % 21128), 'int32')
const g = tf.randomNormal([3072, H], 0, 1, 'float32', 4)
const acc = tf.zeros([])

const kernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}) => () => {
  const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[]
  return () => tf.dispose(out)
}
const kernels: [string, () => () => void][] = [
  [`layer-norm [${rows}, ${H}]`, kernel('MengziLayerNorm', { x, gamma, beta, residual }, { eps: 1e-12 })],
  [`softmax-xent [${masked}, 21128]`, kernel('MengziSoftmaxXent', { logits, targets })],
  [`squared-norm [3072, ${H}]`, kernel('MengziSquaredNormAdd', { g, acc })],
]

const rowsOut: { kernel: string; subgroupsMs: number; treeMs: number; speedup: number; rounds: { subgroups: number[]; tree: number[] } }[] = []
for (const [name, run] of kernels) {
  const samples = { subgroups: [] as number[], tree: [] as number[] }
  for (let round = 0; round < rounds; round++) {
    for (const variant of ['subgroups', 'tree'] as const) {
      setWebgpuSubgroups(variant === 'subgroups')
      samples[variant].push(await timeCalls(backend, reps, run, round === 0))
    }
  }
  setWebgpuSubgroups(true)
  const [s, t] = [median(samples.subgroups), median(samples.tree)]
  rowsOut.push({ kernel: name, subgroupsMs: s, treeMs: t, speedup: t / s, rounds: samples })
  if (!args.json) process.stderr.write(`${name}: subgroups ${s.toFixed(2)} ms, tree ${t.toFixed(2)} ms\n`)
}

const machine = {
  adapter: describeAdapter(selection.adapter),
  software: selection.adapter.software,
  loadavg: os.loadavg().map((l) => Number(l.toFixed(2))),
  cpus: os.cpus().length,
  node: process.version,
  date: new Date().toISOString(),
  reps,
  rounds,
  note: selection.adapter.software ? 'software adapter: CPU emulation, only indicative of how the variants compare, not of GPU speed' : 'hardware adapter',
}
if (args.json) {
  console.log(JSON.stringify({ machine, rows: rowsOut }))
} else {
  console.log(`${machine.adapter}\nload average ${machine.loadavg.join(' ')} on ${machine.cpus} CPUs; median of ${rounds} interleaved rounds of ${reps} calls after a warm-up`)
  if (selection.adapter.software) console.log('NOTE: a software adapter (lavapipe): the numbers are only indicative, not GPU timings.')
  console.log('| kernel | subgroups ms | barrier tree ms | tree / subgroups |\n|---|---|---|---|')
  for (const r of rowsOut) console.log(`| ${r.kernel} | ${r.subgroupsMs.toFixed(2)} | ${r.treeMs.toFixed(2)} | ${r.speedup.toFixed(2)} |`)
}
process.exit(0)
