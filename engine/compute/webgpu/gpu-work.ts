// Counts the GPU work tfjs-webgpu records: dispatches (its own programs, through recordAndSubmit, and
// ours, through runner.ts's dispatch) and queue submissions, and names tfjs's programs, between
// `watchGpuWork()` and the call of the function it returns. For benchmarks and tests: it wraps two of
// the backend's methods meanwhile.
import * as tf from '@tensorflow/tfjs'
import { dispatchesRecorded, webgpuInternals } from './runner'

export interface GpuWork {
  dispatches: number
  submits: number
  /** tfjs-webgpu's own programs by class name (GatherProgram, BinaryOpProgram, …), in recording order. */
  programs: string[]
}

export function watchGpuWork(backend: tf.KernelBackend = tf.backend()): () => GpuWork {
  const b = webgpuInternals(backend) as unknown as Record<'recordAndSubmit' | 'submitQueue', (...a: unknown[]) => unknown>
  const record = b.recordAndSubmit
  const submit = b.submitQueue
  const programs: string[] = []
  let submits = 0
  b.recordAndSubmit = function (this: unknown, ...a: unknown[]) {
    programs.push((a[0] as object | undefined)?.constructor?.name ?? '?')
    return record.apply(this, a)
  }
  b.submitQueue = function (this: unknown, ...a: unknown[]) {
    submits++
    return submit.apply(this, a)
  }
  const ours = dispatchesRecorded()
  return () => {
    b.recordAndSubmit = record
    b.submitQueue = submit
    return { dispatches: programs.length + dispatchesRecorded() - ours, submits, programs }
  }
}
