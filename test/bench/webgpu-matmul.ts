// The webgpu matrix product kernels on the adapter Dawn finds here, timed at given sizes:
//   npx tsx test/bench/webgpu-matmul.ts [--sizes 4096x3072x768:tB,4096x768x3072,3072x768x4096:tA]
//       [--reps 2] [--rounds 3] [--baseline-rev 431d90a] [--shares auto] [--matrix auto|emulate|off] [--json]
// A size is M x N x K of C = op(A)·op(B), with :tA / :tB for a transposed operand; the defaults are
// BERT-BASE's dense products at batch 32 × 128 tokens (FFN forward x·Wᵀ, its dX = dy·W, its dW = dyᵀ·x).
// Variants, all on the same device in one process:
//   stock      tfjs-webgpu's own BatchMatMul (tf.matMul)
//   baseline   engine/compute/webgpu/matmul.ts as of --baseline-rev (read with `git show`; the scalar
//              64×64 tiles before vec4 loads), skipped when git cannot read it
//   scalar     today's kernel with vec4 loads off (the path ragged shapes take)
//   vec4       today's tiled kernel as the engine runs it (the default; split-K where it chooses to)
//   unsplit    vec4 with split-K off (MENGZI_WEBGPU_MATMUL_SPLITK=0): what splitting k gains or costs
//              (the same as vec4 where a product does not split: few tiles and a k of 1,024 or more)
//   wide       the 128×128-tile kernel (matmul-wide.ts: four 4×4 blocks per invocation)
//   f16 vec4   the tiled kernel with fp16's inputs (each operand rounded to f16 as it loads, f32 sums)
//   f16 matrix m×n×k  the matrix units' kernel (matmul-matrix.ts: tensor cores) at each f16 × f16 → f32
//              shape the device offers (needs MENGZI_WEBGPU_MATRIX=1 when the process starts, which has
//              Dawn offer them); --matrix emulate runs the emulated kernel at 16×16×16 instead (any
//              adapter with subgroups; to check the bench, not to time tensor cores), off leaves them out;
//              the values column says whether its values are within 0.1% of the 64×64 kernel's (as the
//              tuner checks them before it lets a run use the kernel)
//   sg G=n     the subgroup kernel (matmul-subgroups.ts, vec4 loads on), n lanes sharing each A block:
//              one row per entry of --shares (comma-separated 4, 8, 16 or auto = the engine's choice
//              for this adapter); only where the adapter has 'subgroups'. A G above the subgroup size
//              the shader runs with times its direct-load path (the line above the table says the size).
// Each variant: one warm-up call (pipeline compile); then --rounds rounds, each timing every variant in
// turn over --reps calls recorded back to back and one wait for the queue; the median round's ms per
// product and GFLOP/s (2·M·N·K). On a software adapter (lavapipe) the
// numbers say how the kernels compare on a CPU rasteriser only; they are not GPU timings.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import { selectBackend } from '../../engine/compute/backends'
import { describeAdapter } from '../../engine/compute/webgpu/device'
import { matrixAtStart, setMatmulInputs, setMatmulMatrix, setMatmulSplitK, setMatmulSubgroups, setMatmulTile, setMatmulVec4, type MatmulSubgroups } from '../../engine/compute/webgpu/flags'
import { matmul, type MatmulArgs } from '../../engine/compute/webgpu/matmul'
import { forceKernel, matrixPlans } from '../../engine/compute/webgpu/matmul-choice'
import { matrixName, type MatrixPlan } from '../../engine/compute/webgpu/matmul-matrix'
import { farFrom } from '../../engine/compute/webgpu/matmul-tune'
import { subgroupShare } from '../../engine/compute/webgpu/matmul-subgroups'
import { webgpuInternals, type WebgpuBackendInternals } from '../../engine/compute/webgpu/runner'
import { median, timeCalls } from './webgpu-timing'

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '4096x3072x768:tB,4096x768x3072,3072x768x4096:tA' },
    reps: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    'baseline-rev': { type: 'string', default: '431d90a' },
    shares: { type: 'string', default: 'auto' },
    matrix: { type: 'string', default: 'auto' },
    json: { type: 'boolean', default: false },
  },
})

interface Size {
  label: string
  M: number
  N: number
  K: number
  transA: boolean
  transB: boolean
}

function parseSize(text: string): Size {
  const m = /^(\d+)x(\d+)x(\d+)((?::t[AB])*)$/.exec(text.trim())
  if (!m) throw new Error(`--sizes: "${text}" is not MxNxK[:tA][:tB]`)
  return { label: text.trim(), M: Number(m[1]), N: Number(m[2]), K: Number(m[3]), transA: m[4].includes('tA'), transB: m[4].includes('tB') }
}

type Product = (backend: WebgpuBackendInternals, a: MatmulArgs) => TensorInfo

/** The kernel module of `rev`, its relative imports pointed at today's runner, flags and wgsl (same interfaces). */
async function baselineKernel(rev: string): Promise<Product | string> {
  const root = path.resolve(import.meta.dirname, '../..')
  let source: string
  try {
    source = execFileSync('git', ['show', `${rev}:engine/compute/webgpu/matmul.ts`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    return `git show ${rev} failed: ${String((err as Error).message).split('\n')[0]}`
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-matmul-baseline-'))
  const file = path.join(dir, 'matmul.ts')
  fs.writeFileSync(file, source.replace(/from '\.\/(\w[\w-]*)'/g, (_, name: string) => `from '${path.join(root, 'engine/compute/webgpu', name)}'`))
  const mod = (await import(file)) as { matmul: Product }
  fs.rmSync(dir, { recursive: true, force: true })
  return mod.matmul
}

const sizes = args.sizes!.split(',').map(parseSize)
const reps = Number(args.reps)
const rounds = Number(args.rounds)
if (!(reps >= 1) || !(rounds >= 1)) throw new Error(`--reps and --rounds must be positive numbers; got "${args.reps}", "${args.rounds}"`)
const selection = await selectBackend('webgpu')
if (selection.name !== 'webgpu' || !selection.adapter) throw new Error(`no webgpu backend: ${selection.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`)
const adapter = selection.adapter
const backend = webgpuInternals(tf.backend())
const baseline = await baselineKernel(args['baseline-rev']!)
const shares: MatmulSubgroups[] = args.shares!.split(',').map((t) => {
  if (t === 'auto') return true
  if (t === '4' || t === '8' || t === '16') return Number(t) as 4 | 8 | 16
  throw new Error(`--shares: "${t}" is not auto, 4, 8 or 16`)
})
/** Lanes sharing an A block under setting `on` (0: the adapter has no subgroups, the tiled kernel would run). */
const shareOf = (on: MatmulSubgroups) => {
  const previous = setMatmulSubgroups(on)
  const g = subgroupShare(backend.device)
  setMatmulSubgroups(previous)
  return g
}
const subgroupVariants = new Map(shares.filter((on) => shareOf(on) > 0).map((on) => [`sg G=${shareOf(on)}`, on]))
if (!['auto', 'emulate', 'off'].includes(args.matrix!)) throw new Error(`--matrix: "${args.matrix}" is not auto, emulate or off`)
if (args.matrix === 'emulate') setMatmulMatrix({ emulate: [{ M: 16, N: 16, K: 16 }] })
if (args.matrix === 'off') setMatmulMatrix(false)
const matrixVariants = new Map(matrixPlans(backend.device).map((plan) => [`f16 ${matrixName(plan)}`, plan]))

const rows: { size: string; variant: string; ms: number; gflops: number; vsBaseline: number | null; rounds: number[]; check?: string }[] = []

/** A matrix units' product's values against the 64×64 kernel's with fp16's inputs, as the tuner checks them (matmul-tune.ts farFrom). */
async function checkMatrix(margs: MatmulArgs, plan: MatrixPlan): Promise<string> {
  const previous = setMatmulInputs('f16')
  const outputs = () => tf.engine().makeTensorFromTensorInfo(matmul(backend, margs), backend)
  const reference = outputs()
  forceKernel({ share: 0, tileM: 64, tileN: 64, matrix: plan })
  const out = outputs()
  forceKernel(null)
  setMatmulInputs(previous)
  const far = await farFrom(backend, [out], [reference])
  tf.dispose([out, reference])
  return far.count === 0 ? 'within 0.1%' : `${far.count} of ${far.of} values off by more than 0.1%`
}
for (const s of sizes) {
  const a = tf.randomNormal(s.transA ? [s.K, s.M] : [s.M, s.K], 0, 1, 'float32', 1)
  const b = tf.randomNormal(s.transB ? [s.N, s.K] : [s.K, s.N], 0, 1, 'float32', 2)
  const margs: MatmulArgs = { a, b, M: s.M, N: s.N, K: s.K, transA: s.transA, transB: s.transB }
  const ours = (product: Product) => () => {
    const out = product(backend, margs)
    return () => backend.disposeData(out.dataId)
  }
  const variants: [string, () => () => void][] = [['stock', () => {
    const out = tf.matMul(a, b, s.transA, s.transB)
    return () => out.dispose()
  }]]
  if (typeof baseline === 'function') variants.push(['baseline', ours(baseline)])
  variants.push(['scalar', ours(matmul)], ['vec4', ours(matmul)], ['unsplit', ours(matmul)], ['wide', ours(matmul)])
  for (const name of subgroupVariants.keys()) variants.push([name, ours(matmul)])
  variants.push(['f16 vec4', ours(matmul)])
  for (const name of matrixVariants.keys()) variants.push([name, ours(matmul)])
  // Rounds interleave the variants, so a change in the machine's load falls on all of them; the median
  // round is reported.
  const samples = new Map<string, number[]>(variants.map(([v]) => [v, []]))
  for (let round = 0; round < rounds; round++) {
    for (const [variant, run] of variants) {
      setMatmulVec4(variant !== 'scalar')
      setMatmulTile(variant === 'wide' ? 128 : 64)
      setMatmulSubgroups(subgroupVariants.get(variant) ?? false)
      setMatmulSplitK(variant === 'unsplit' ? false : 'auto')
      setMatmulInputs(variant.startsWith('f16') ? 'f16' : 'f32')
      const plan = matrixVariants.get(variant)
      forceKernel(plan ? { share: 0, tileM: 64, tileN: 64, matrix: plan } : null)
      const ms = await timeCalls(backend, reps, run, round === 0)
      samples.get(variant)!.push(ms)
      if (!args.json) process.stderr.write(`${s.label} ${variant} round ${round + 1}: ${ms.toFixed(1)} ms\n`)
    }
  }
  const base = samples.has('baseline') ? median(samples.get('baseline')!) : null
  for (const [variant, ms] of samples) {
    const m = median(ms)
    const plan = matrixVariants.get(variant)
    const check = plan ? { check: await checkMatrix(margs, plan) } : {}
    rows.push({ size: s.label, variant, ms: m, gflops: (2 * s.M * s.N * s.K) / m / 1e6, vsBaseline: base ? base / m : null, rounds: ms, ...check })
  }
  setMatmulVec4(true)
  setMatmulTile(64)
  setMatmulSubgroups(false)
  setMatmulSplitK('auto')
  setMatmulInputs('f32')
  forceKernel(null)
  tf.dispose([a, b])
}

const machine = {
  adapter: describeAdapter(adapter),
  software: adapter.software,
  loadavg: os.loadavg().map((l) => Number(l.toFixed(2))),
  cpus: os.cpus().length,
  node: process.version,
  date: new Date().toISOString(),
  reps,
  rounds,
  baselineRev: typeof baseline === 'function' ? args['baseline-rev'] : `none (${baseline})`,
  subgroupSizes: { min: backend.device.adapterInfo?.subgroupMinSize ?? null, max: backend.device.adapterInfo?.subgroupMaxSize ?? null },
  subgroupVariants: subgroupVariants.size ? [...subgroupVariants.keys()] : `none (${adapter.subgroups ? '--shares empty' : 'no subgroups on this adapter'})`,
  matrixVariants: matrixVariants.size
    ? [...matrixVariants.keys()]
    : `none (${args.matrix === 'off' ? '--matrix off' : !matrixAtStart ? 'MENGZI_WEBGPU_MATRIX=1 was not set' : `the adapter offers no f16×f16→f32 subgroup matrices that tile: ${adapter.subgroupMatrices?.join(', ') || 'none'}`})`,
  note: adapter.software ? 'software adapter: CPU emulation, only indicative of how the kernels compare, not of GPU speed' : 'hardware adapter',
}
if (args.json) {
  console.log(JSON.stringify({ machine, rows }))
} else {
  console.log(`${machine.adapter}; subgroup sizes ${machine.subgroupSizes.min}..${machine.subgroupSizes.max}; subgroup variants: ${machine.subgroupVariants}; matrix variants: ${machine.matrixVariants}\nload average ${machine.loadavg.join(' ')} on ${machine.cpus} CPUs; median of ${rounds} interleaved rounds of ${reps} products after a warm-up; baseline = ${machine.baselineRev}`)
  if (adapter.software) console.log('NOTE: a software adapter (lavapipe): the numbers are only indicative, not GPU timings.')
  console.log('| size (MxNxK) | variant | ms | GFLOP/s | × baseline | values |\n|---|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.size} | ${r.variant} | ${r.ms.toFixed(1)} | ${r.gflops.toFixed(1)} | ${r.vsBaseline == null ? '' : r.vsBaseline.toFixed(2)} | ${r.check ?? ''} |`)
}
process.exit(0)
