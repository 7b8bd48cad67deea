// Counts the GPU work tfjs-webgpu records: dispatches (its own programs, through recordAndSubmit, and
// ours, through runner.ts's dispatch) and queue submissions, while a synchronous body runs; names tfjs's programs.
import * as tf from '@tensorflow/tfjs'
import { dispatchesRecorded, webgpuInternals } from '../../../../engine/compute/webgpu/runner'

export interface GpuWork {
  dispatches: number
  submits: number
  /** tfjs-webgpu's own programs by class name (GatherProgram, BinaryOpProgram, …), in recording order. */
  programs: string[]
}

export function countGpuWork(body: () => void): GpuWork {
  const backend = webgpuInternals(tf.backend()) as unknown as Record<'recordAndSubmit' | 'submitQueue', (...a: unknown[]) => unknown>
  const [record, submit] = [backend.recordAndSubmit, backend.submitQueue]
  const programs: string[] = []
  let submits = 0
  backend.recordAndSubmit = function (this: unknown, ...a: unknown[]) {
    programs.push((a[0] as object | undefined)?.constructor?.name ?? '?')
    return record.apply(this, a)
  }
  backend.submitQueue = function (this: unknown, ...a: unknown[]) {
    submits++
    return submit.apply(this, a)
  }
  const ours = dispatchesRecorded()
  try {
    body()
  } finally {
    backend.recordAndSubmit = record
    backend.submitQueue = submit
  }
  return { dispatches: programs.length + dispatchesRecorded() - ours, submits, programs }
}
