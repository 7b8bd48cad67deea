// What the torch engine honours, checked before anything starts: a run config either means the same on
// torchrun as on the local engine, or it is refused here with the reason and the way out.
import { WorkbenchError } from '../errors'
import { trainConfigSchema, type TrainConfig } from '../train/config'
import type { TorchProbe } from './python'

/** Run-config keys the trainer (resources/trainer/train.py) implements. */
const TORCH_KEYS = new Set([
  'name', 'model', 'data', 'seed', 'backend', 'vocab', 'maxSeqLength', 'mlmProbability', 'pairObjective',
  'optimizer', 'learningRate', 'warmupRatio', 'weightDecay', 'beta1', 'beta2', 'eps', 'maxGradNorm', 'batchSize',
  'gradientAccumulation', 'totalSteps', 'checkpointEvery', 'logEvery', 'engine', 'torch',
  'initFrom', 'objectives', 'objectiveWeights', 'wholeWordMask', 'dgc', 'evalEvery', 'evalBatches',
])

export type TorchOptions = NonNullable<TrainConfig['torch']>

export const torchOptionsOf = (config: TrainConfig): TorchOptions =>
  config.torch ?? { nprocPerNode: 1, nnodes: 1, device: 'auto', precision: 'fp32', zeroStage: 0, maxRestarts: 1 }

const refuse = (why: string) => new WorkbenchError('UNSUPPORTED', `the torch engine cannot run this config: ${why}`)

/**
 * Refuses what torchrun cannot honour. `probe` (the Python found) is checked for the local launch;
 * without it (a job folder for another machine) only the config itself is checked.
 */
export function checkTorchPlan(config: TrainConfig, probe?: TorchProbe, where: 'local' | 'cluster' = 'local'): TorchOptions {
  const t = torchOptionsOf(config)
  // keys added to the run config later (objectives, masking) that the trainer does not know yet
  const defaults = trainConfigSchema.parse({ data: config.data }) as Record<string, unknown>
  for (const [key, value] of Object.entries(config)) {
    if (!TORCH_KEYS.has(key) && JSON.stringify(value) !== JSON.stringify(defaults[key])) {
      throw refuse(`${key} (${JSON.stringify(value)}) is not implemented by the PyTorch trainer yet; use engine "local"`)
    }
  }
  if (config.dgc.enabled && config.dgc.project) {
    throw refuse('dgc.project (PCGrad between the MLM and POS/NE gradients, two backward passes) is not implemented by the PyTorch trainer yet; dgc.reweight is; use engine "local" for projection')
  }
  if (config.backend !== 'auto') {
    throw refuse(`backend "${config.backend}" picks a TensorFlow.js backend of the local engine; for torch set torch.device (auto, cpu, cuda) and leave backend "auto"`)
  }
  const world = t.nprocPerNode * t.nnodes
  if (config.batchSize % world !== 0) {
    throw refuse(`batchSize (${config.batchSize}) is split over ${world} ranks and must be a multiple of it`)
  }
  if (t.zeroStage === 3) {
    throw refuse('torch.zeroStage 3 partitions the parameters themselves and the trainer saves whole safetensors checkpoints; use stage 1 or 2')
  }
  if (t.zeroStage > 0 && config.optimizer === 'lamb') {
    throw refuse(`LAMB's trust ratio is per tensor and ZeRO partitions tensors across ranks; use optimizer "adamw" with torch.zeroStage ${t.zeroStage}, or zeroStage 0`)
  }
  if (t.precision !== 'fp32' && t.device === 'cpu') throw refuse(`precision ${t.precision} runs on CUDA only; torch.device is "cpu"`)
  if (where === 'local') {
    if (t.nnodes > 1) throw refuse(`torch.nnodes ${t.nnodes}: a local run uses this machine only; emit a job folder for a cluster (mengzi launch --emit DIR)`)
    if (!probe) return t
    const cuda = t.device !== 'cpu' && probe.cuda
    if (t.device === 'cuda' && !probe.cuda) throw refuse(`torch.device "cuda" but ${probe.python} (torch ${probe.torch}) sees no GPU`)
    if (t.precision !== 'fp32' && !cuda) throw refuse(`precision ${t.precision} runs on CUDA only; ${probe.python} (torch ${probe.torch}) sees no GPU`)
    if (cuda && t.nprocPerNode > probe.gpus) throw refuse(`torch.nprocPerNode ${t.nprocPerNode} but only ${probe.gpus} GPU(s) are visible`)
    if (!cuda && !probe.gloo) throw refuse(`torch ${probe.torch} at ${probe.python} has no gloo backend for CPU ranks`)
    if (cuda && t.nprocPerNode > 1 && !probe.nccl) throw refuse(`torch ${probe.torch} at ${probe.python} has no NCCL for GPU ranks`)
    if (t.zeroStage > 0 && !probe.deepspeed) throw refuse(`torch.zeroStage ${t.zeroStage} needs DeepSpeed, which ${probe.python} cannot import (pip install deepspeed)`)
  }
  return t
}

/** One line for run rows and progress: which Python and torch run it, where. */
export function describeTorch(probe: TorchProbe, t: TorchOptions): string {
  const device = t.device !== 'cpu' && probe.cuda ? 'cuda' : 'cpu'
  return `torch ${probe.torch} (${probe.python}, Python ${probe.pythonVersion}) · ${t.nprocPerNode} × ${device}${t.precision !== 'fp32' ? ` ${t.precision}` : ''}${t.zeroStage ? ` · ZeRO ${t.zeroStage}` : ''}`
}
