// The bench step alone, for bundling onto a GPU machine that has no npm packages (gpu-vs-torch.sh):
// `node mengzi-bench.mjs --config A|B|BASE [--steps N] [--warmup N] [--backend webgpu] [--precision fp16]
// [--submit-every N] [--kernel-times] [--pipelined]` prints the TrainBenchResult of `mengzi bench train --json` as one line, plus
// `matmulSubgroups`: the lanes sharing each A block in the subgroup product
// (MENGZI_WEBGPU_MATMUL_SUBGROUPS=1 turns it on), 0 when the tiled product ran; `attentionLanes`: whether
// the attention ran with 4 threads per row (MENGZI_WEBGPU_ATTENTION_LANES=1 and subgroups); `splitK`:
// the product's split-K setting (MENGZI_WEBGPU_MATMUL_SPLITK).
import { parseArgs } from 'node:util'
import { benchTrain, type BenchConfigName } from '../../engine/train/bench'
import type { BackendPreference } from '../../engine/compute/backends'
import type { Precision } from '../../engine/compute/precision'
import { currentDevice } from '../../engine/compute/webgpu/device'
import { attentionLanesWanted, matmulSplitKSetting } from '../../engine/compute/webgpu/flags'
import { subgroupShare } from '../../engine/compute/webgpu/matmul-subgroups'
import { reductionsUseSubgroups } from '../../engine/compute/webgpu/wgsl'

const { values } = parseArgs({
  options: { config: { type: 'string', default: 'A' }, steps: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' }, backend: { type: 'string', default: 'webgpu' }, precision: { type: 'string', default: 'fp32' }, 'submit-every': { type: 'string' }, 'kernel-times': { type: 'boolean', default: false }, pipelined: { type: 'boolean', default: false } },
})
if (!['A', 'B', 'BASE'].includes(values.config!)) throw new Error(`--config must be A, B or BASE; got "${values.config}"`)
if (!['fp32', 'fp16'].includes(values.precision!)) throw new Error(`--precision must be fp32 or fp16; got "${values.precision}"`)
const result = await benchTrain({
  config: values.config as BenchConfigName,
  backend: values.backend as BackendPreference,
  timedSteps: Number(values.steps),
  warmupSteps: Number(values.warmup),
  precision: values.precision as Precision,
  submitEvery: values['submit-every'] === undefined ? undefined : Number(values['submit-every']),
  kernelTimes: values['kernel-times'],
  pipelined: values.pipelined,
})
const device = currentDevice()?.device
const onWebgpu = device != null && result.backend === 'webgpu'
console.log(JSON.stringify({
  ...result,
  matmulSubgroups: onWebgpu ? subgroupShare(device) : 0,
  attentionLanes: onWebgpu && attentionLanesWanted() && reductionsUseSubgroups(device),
  splitK: matmulSplitKSetting(),
}))
