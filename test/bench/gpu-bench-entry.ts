// The bench step alone, for bundling onto a GPU machine that has no npm packages (gpu-vs-torch.sh):
// `node mengzi-bench.mjs --config A|B|BASE [--steps N] [--warmup N] [--backend webgpu] [--precision fp16]
// [--submit-every N] [--kernel-times] [--pipelined]` prints the TrainBenchResult of `mengzi bench train --json` as one line, plus
// `matmulSubgroups`: the lanes sharing each A block in the subgroup product
// (MENGZI_WEBGPU_MATMUL_SUBGROUPS=1 turns it on), 0 when the tiled product ran; `attentionLanes`: whether
// the attention ran with 4 threads per row (MENGZI_WEBGPU_ATTENTION_LANES=1 and subgroups); `splitK`:
// the product's split-K setting (MENGZI_WEBGPU_MATMUL_SPLITK); `matrixShapes`: the matrix units' shapes
// fp16 products could run on (matmul-matrix.ts; MENGZI_WEBGPU_MATRIX=1 at the start has Dawn offer them).
//
// `--variants fused,fp16,unsplit,…` instead runs several variants of the step one after the other in
// this one process (one device, one pipeline cache: each process start and pipeline compile is paid
// once), each with its settings set in-process and put back after, and prints one line per variant:
// that result plus `variant` (VARIANTS below). `--deadline <epoch ms>` skips the variants not begun by
// then ({ variant, notRun: "past the deadline" }), so a lent GPU's one call ends in time with what it has.
import { parseArgs } from 'node:util'
import { benchTrain, type BenchConfigName, type TrainBenchOptions } from '../../engine/train/bench'
import type { BackendPreference } from '../../engine/compute/backends'
import type { Precision } from '../../engine/compute/precision'
import { setBindGroupReuse } from '../../engine/compute/webgpu/bind-groups'
import { currentDevice } from '../../engine/compute/webgpu/device'
import { setDawnWait } from '../../engine/compute/webgpu/event-ticks'
import { attentionLanesWanted, matmulSplitKSetting, setAttentionLanes, setMatmulMatrix, setMatmulSplitK, setMatmulSubgroups, setMatmulTile, setMatmulTuning, setQkvFusion, setWebgpuFusedKernels } from '../../engine/compute/webgpu/flags'
import { matrixPlans } from '../../engine/compute/webgpu/matmul-choice'
import { matrixName } from '../../engine/compute/webgpu/matmul-matrix'
import { subgroupShare } from '../../engine/compute/webgpu/matmul-subgroups'
import { reductionsUseSubgroups } from '../../engine/compute/webgpu/wgsl'

/** A variant: bench options over the base ones, and in-process settings (each setter returns the previous value, to put back). */
interface Variant {
  options?: Partial<TrainBenchOptions>
  settings?: (() => () => void)[]
}
const set = <T,>(setter: (v: T) => T, value: T) => () => {
  const previous = setter(value)
  return () => void setter(previous)
}
const VARIANTS: Record<string, Variant> = {
  fused: {},
  // (MENGZI_WEBGPU_MATRIX=1 when the process starts makes Dawn offer the matrix units; only fp16-matrix uses them)
  fp16: { options: { precision: 'fp16' }, settings: [set(setMatmulMatrix, false)] },
  'fp16-matrix': { options: { precision: 'fp16' }, settings: [set(setMatmulMatrix, true), set(setMatmulTuning, true)] },
  untuned: { settings: [set(setMatmulTuning, false)] },
  stock: { settings: [set(setWebgpuFusedKernels, false)] },
  anew: { settings: [set(setBindGroupReuse, false)] },
  unsplit: { settings: [set(setMatmulSplitK, false)] },
  'qkv-apart': { settings: [set(setQkvFusion, false)] },
  'fp16-qkv-apart': { options: { precision: 'fp16' }, settings: [set(setQkvFusion, false)] },
  lanes: { settings: [set(setAttentionLanes, true)] },
  submit64: { options: { submitEvery: 64 } },
  pipelined: { options: { pipelined: true } },
  yield: { settings: [set(setDawnWait, 'yield')] },
  subgroups: { settings: [set(setMatmulSubgroups, true)] },
  wide: { settings: [set(setMatmulTile, 128)] },
  'wide-auto': { settings: [set(setMatmulTile, 'auto')] },
  'times-fp32': { options: { kernelTimes: true, timedSteps: 1, warmupSteps: 2 } },
  'times-fp16': { options: { kernelTimes: true, timedSteps: 1, warmupSteps: 2, precision: 'fp16' }, settings: [set(setMatmulMatrix, false)] },
  'times-fp16-matrix': { options: { kernelTimes: true, timedSteps: 1, warmupSteps: 2, precision: 'fp16' }, settings: [set(setMatmulMatrix, true), set(setMatmulTuning, true)] },
  'times-lanes': { options: { kernelTimes: true, timedSteps: 1, warmupSteps: 2 }, settings: [set(setAttentionLanes, true)] },
}

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'A' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'webgpu' },
    precision: { type: 'string', default: 'fp32' },
    'submit-every': { type: 'string' },
    'kernel-times': { type: 'boolean', default: false },
    pipelined: { type: 'boolean', default: false },
    variants: { type: 'string' },
    deadline: { type: 'string' },
  },
})
if (!['A', 'B', 'BASE'].includes(values.config!)) throw new Error(`--config must be A, B or BASE; got "${values.config}"`)
if (!['fp32', 'fp16'].includes(values.precision!)) throw new Error(`--precision must be fp32 or fp16; got "${values.precision}"`)
const variants = values.variants?.split(',').map((v) => v.trim()) ?? null
for (const v of variants ?? []) if (!(v in VARIANTS)) throw new Error(`--variants: "${v}" is not one of ${Object.keys(VARIANTS).join(', ')}`)
const deadline = values.deadline === undefined ? Infinity : Number(values.deadline)
if (Number.isNaN(deadline)) throw new Error(`--deadline: expected a time in epoch milliseconds; got "${values.deadline}"`)

const base: TrainBenchOptions = {
  config: values.config as BenchConfigName,
  backend: values.backend as BackendPreference,
  timedSteps: Number(values.steps),
  warmupSteps: Number(values.warmup),
  precision: values.precision as Precision,
  submitEvery: values['submit-every'] === undefined ? undefined : Number(values['submit-every']),
  kernelTimes: values['kernel-times'],
  pipelined: values.pipelined,
}

/** The result with what the settings made of this device. */
async function run(options: TrainBenchOptions): Promise<object> {
  const result = await benchTrain(options)
  const device = currentDevice()?.device
  const onWebgpu = device != null && result.backend === 'webgpu'
  return {
    ...result,
    matmulSubgroups: onWebgpu ? subgroupShare(device) : 0,
    attentionLanes: onWebgpu && attentionLanesWanted() && reductionsUseSubgroups(device),
    splitK: matmulSplitKSetting(),
    // the matrix units' shapes fp16 products could run on here (matmul-matrix.ts), under this variant's setting
    matrixShapes: onWebgpu ? matrixPlans(device).map(matrixName) : [],
  }
}

if (!variants) {
  console.log(JSON.stringify(await run(base)))
} else {
  for (const name of variants) {
    if (Date.now() > deadline) {
      console.log(JSON.stringify({ variant: name, notRun: 'past the deadline' }))
      continue
    }
    const variant = VARIANTS[name]
    const restore = (variant.settings ?? []).map((apply) => apply())
    try {
      console.log(JSON.stringify({ variant: name, ...(await run({ ...base, ...variant.options })) }))
    } catch (err) {
      // fp16 without shader-f16, say: that variant's entry, not the end of the others
      console.log(JSON.stringify({ variant: name, failed: String((err as Error).message ?? err).split('\n')[0] }))
    } finally {
      for (const put of restore.reverse()) put()
    }
  }
}
