// Starts tfjs's webgpu backend on a device we open ourselves (device.ts), rather than tfjs's own
// factory: it takes whatever adapter comes first (a software one where Mesa's lavapipe is installed)
// with WebGPU's default limits (8 storage buffers per stage), and ignores device errors.
import * as tf from '@tensorflow/tfjs'
import type { Gpu } from './gpu'
import { openDevice, setCurrentDevice, type AdapterReport } from './device'
import { dawnWaitFromEnv, setDawnWait, setWaitingOnSoftware } from './event-ticks'
import { registerWebgpuKernels } from './kernels'
import { steadyBufferPool } from './bind-groups'
import { boundBufferPool } from './buffer-pool'
import { setMatmulSplitK, setMatmulTuning, setMatmulTuningCache, splitKFromEnv, submitEveryFromEnv, tuningCacheFromEnv, tuningFromEnv } from './flags'

export type WebgpuStart = { ok: true; report: AdapterReport } | { ok: false; reason: string }

let started: AdapterReport | null = null

export async function startWebgpu(gpu: Gpu, globals: object, allowSoftware: boolean): Promise<WebgpuStart> {
  if (started) {
    if (started.software && !allowSoftware) return { ok: false, reason: `only a software adapter (${started.description}: ${started.software}); used only when backend webgpu is asked for by name` }
    return (await tf.setBackend('webgpu')) ? { ok: true, report: started } : { ok: false, reason: 'the tfjs webgpu backend did not start' }
  }
  let submitEvery: number
  try {
    submitEvery = submitEveryFromEnv(process.env.MENGZI_WEBGPU_SUBMIT_EVERY)
    if (process.env.MENGZI_WEBGPU_MATMUL_SPLITK !== undefined) setMatmulSplitK(splitKFromEnv(process.env.MENGZI_WEBGPU_MATMUL_SPLITK))
    if (process.env.MENGZI_WEBGPU_MATMUL_TUNE !== undefined) setMatmulTuning(tuningFromEnv(process.env.MENGZI_WEBGPU_MATMUL_TUNE))
    if (process.env.MENGZI_WEBGPU_TUNING_CACHE !== undefined) setMatmulTuningCache(tuningCacheFromEnv(process.env.MENGZI_WEBGPU_TUNING_CACHE))
    if (process.env.MENGZI_WEBGPU_WAIT !== undefined) setDawnWait(dawnWaitFromEnv(process.env.MENGZI_WEBGPU_WAIT))
  } catch (e) {
    return { ok: false, reason: (e as Error).message }
  }
  const opened = await openDevice(gpu, allowSoftware)
  if ('reason' in opened) return { ok: false, reason: opened.reason }
  // tfjs-backend-webgpu looks for navigator.gpu and the GPU* constants when it is imported.
  Object.assign(globalThis, globals)
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: Gpu }
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true })
  const { WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
    WebGPUBackend: new (device: unknown, adapterInfo: unknown) => tf.KernelBackend
  }
  tf.removeBackend('webgpu') // the stock factory the import registered
  tf.registerBackend('webgpu', () => {
    const backend = new WebGPUBackend(opened.device, opened.adapter.info)
    steadyBufferPool(backend) // a step binds the buffers the last one bound (bind-groups.ts)
    boundBufferPool(backend) // a pool that does not grow with every new batch shape (buffer-pool.ts)
    return backend
  }, 3)
  registerWebgpuKernels()
  // Measured on an H100 (TFJS-NOTES): submitting every 1000 dispatches instead of 15, and never running
  // small kernels on the CPU (which reads their inputs back), took BASE from 3.7 to 2.6 s per step with
  // identical losses. flags.ts says why the interval is a setting.
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', submitEvery)
  tf.env().set('WEBGPU_CPU_FORWARD', false)
  setCurrentDevice(opened)
  setWaitingOnSoftware(opened.report.software !== null)
  started = opened.report
  if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: 'an adapter exists but the tfjs webgpu backend did not start' }
  return { ok: true, report: opened.report }
}
