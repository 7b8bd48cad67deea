// What the torch engine refuses before a run exists, each with its reason and the way out; and a clear
// error when no Python with torch can be found.
import { describe, expect, it } from 'vitest'
import { checkTorchPlan } from '../../../engine/launch/plan'
import { findTorch, type TorchProbe } from '../../../engine/launch/python'
import { parseTrainConfig, type TrainConfigInput } from '../../../engine/train/config'

// what findTorch reports for a CPU-only torch (the machine the tests run on has one)
const cpuTorch: TorchProbe = { python: '/usr/bin/python3', pythonVersion: '3.11.2', torch: '1.13.0', cuda: false, gpus: 0, nccl: false, gloo: true, deepspeed: null, transformers: null, safetensors: null }
const oneGpu: TorchProbe = { ...cpuTorch, cuda: true, gpus: 1, nccl: true }
const config = (over: Partial<TrainConfigInput> = {}) =>
  parseTrainConfig({ engine: 'torch', data: { kind: 'synthetic', sequences: 8, minLength: 2, maxLength: 4, seed: 1 }, batchSize: 8, ...over })

describe('torch plan', () => {
  it('accepts what the trainer implements', () => {
    const t = checkTorchPlan(config({ objectives: ['mlm', 'pos', 'ner', 'sop'], wholeWordMask: true, dgc: { enabled: true }, evalEvery: 10, torch: { nprocPerNode: 2 } }), cpuTorch)
    expect(t).toMatchObject({ nprocPerNode: 2, precision: 'fp32', zeroStage: 0 })
    expect(() => checkTorchPlan(config({ torch: { precision: 'bf16', device: 'cuda' } }), oneGpu)).not.toThrow()
  })

  const refusals: [string, Partial<TrainConfigInput>, TorchProbe | undefined, RegExp][] = [
    ['DGC projection', { dgc: { enabled: true, project: true } }, cpuTorch, /dgc\.project .* not implemented by the PyTorch trainer/],
    ['a TensorFlow.js backend', { backend: 'wasm' }, cpuTorch, /backend "wasm" picks a TensorFlow\.js backend/],
    ['a batch the ranks do not divide', { torch: { nprocPerNode: 3 } }, cpuTorch, /batchSize \(8\) is split over 3 ranks/],
    ['LAMB under ZeRO', { torch: { zeroStage: 1 } }, undefined, /LAMB's trust ratio is per tensor/],
    ['ZeRO stage 3', { optimizer: 'adamw', torch: { zeroStage: 3 } }, undefined, /zeroStage 3 partitions the parameters/],
    ['ZeRO without DeepSpeed', { optimizer: 'adamw', torch: { zeroStage: 2 } }, cpuTorch, /needs DeepSpeed, which \/usr\/bin\/python3 cannot import/],
    ['fp16 without a GPU', { torch: { precision: 'fp16' } }, cpuTorch, /precision fp16 runs on CUDA only; \/usr\/bin\/python3 \(torch 1\.13\.0\) sees no GPU/],
    ['bf16 on the cpu device', { torch: { precision: 'bf16', device: 'cpu' } }, undefined, /precision bf16 runs on CUDA only; torch\.device is "cpu"/],
    ['cuda without a GPU', { torch: { device: 'cuda' } }, cpuTorch, /torch\.device "cuda" but .* sees no GPU/],
    ['more ranks than GPUs', { torch: { nprocPerNode: 2 } }, oneGpu, /nprocPerNode 2 but only 1 GPU/],
    ['several machines locally', { torch: { nnodes: 2 } }, cpuTorch, /nnodes 2: a local run uses this machine only; emit a job folder/],
  ]
  for (const [what, over, probe, reason] of refusals) {
    it(`refuses ${what}`, () => {
      expect(() => checkTorchPlan(config(over), probe)).toThrow(reason)
      expect(() => checkTorchPlan(config(over), probe)).toThrow(/^the torch engine cannot run this config: /)
    })
  }

  it('a job folder for a cluster is checked without this machine', () => {
    expect(() => checkTorchPlan(config({ torch: { nnodes: 4, nprocPerNode: 2, device: 'cuda', precision: 'bf16' } }), undefined, 'cluster')).not.toThrow()
  })

  it('names what it tried when no Python has torch', async () => {
    await expect(findTorch('/nonexistent/python3')).rejects.toThrow(
      /^the torch engine needs a Python with PyTorch \(torch\.distributed\); tried \/nonexistent\/python3: not found\. Install PyTorch \(Debian: apt-get install python3-torch\) or set MENGZI_PYTHON$/,
    )
  })
})
