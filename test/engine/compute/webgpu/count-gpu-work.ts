// The GPU work (gpu-work.ts) a synchronous body records: dispatches, submissions, tfjs's programs.
import { watchGpuWork, type GpuWork } from '../../../../engine/compute/webgpu/gpu-work'

export type { GpuWork }

export function countGpuWork(body: () => void): GpuWork {
  const stop = watchGpuWork()
  try {
    body()
  } catch (err) {
    stop() // the backend's own methods back before the error goes on
    throw err
  }
  return stop()
}
