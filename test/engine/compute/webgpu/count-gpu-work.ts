// Counts the GPU work tfjs-webgpu records: dispatches (its own programs, through recordAndSubmit, and
// ours, through runner.ts's dispatch) and queue submissions, while a synchronous body runs.
import * as tf from '@tensorflow/tfjs'
import { dispatchesRecorded, webgpuInternals } from '../../../../engine/compute/webgpu/runner'

export interface GpuWork {
  dispatches: number
  submits: number
}

export function countGpuWork(body: () => void): GpuWork {
  const backend = webgpuInternals(tf.backend()) as unknown as Record<'recordAndSubmit' | 'submitQueue', (...a: unknown[]) => unknown>
  const [record, submit] = [backend.recordAndSubmit, backend.submitQueue]
  let stock = 0
  let submits = 0
  backend.recordAndSubmit = function (this: unknown, ...a: unknown[]) {
    stock++
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
  return { dispatches: stock + dispatchesRecorded() - ours, submits }
}
