// The GPU's own time for each kernel of some recorded work (a training step), from timestamp queries:
// while the timer runs, every dispatch (ours, through runner.ts, and tfjs-webgpu's programs) gets a
// compute pass of its own whose beginning and end the device stamps. For benchmarks
// (test/bench/webgpu-kernel-times.ts, gpu-vs-torch.sh), to say where a step's GPU time goes.
// Passes of one dispatch each cost something themselves, so a timed step runs slower than an untimed
// one: the times are per kernel, not a step's wall time. Buffer copies (the optimizer arena's) are
// not dispatches and are not timed.
import * as tf from '@tensorflow/tfjs'
import type { GpuBuffer, GpuCommandEncoder, GpuDevice } from './gpu'
import { setPassPerDispatch, webgpuInternals, type WebgpuBackendInternals } from './runner'

// WebGPU's constants (GPUBufferUsage, GPUMapMode), which engine/ cannot take from the DOM types
const QUERY_RESOLVE = 0x200
const COPY_SRC = 0x4
const COPY_DST = 0x8
const MAP_READ = 0x1

interface TimestampDevice extends GpuDevice {
  createQuerySet(descriptor: { type: 'timestamp'; count: number }): { destroy(): void }
  createBuffer(descriptor: { size: number; usage: number }): GpuBuffer & { mapAsync(mode: number): Promise<void>; getMappedRange(): ArrayBuffer; unmap(): void }
  createCommandEncoder(): GpuCommandEncoder & { resolveQuerySet(set: unknown, first: number, count: number, destination: GpuBuffer, offset: number): void; finish(): unknown }
  queue: { submit(buffers: unknown[]): void }
}

export interface KernelTime {
  /** Our kernel's pipeline key (name and variant), or `tfjs:<Program>` for tfjs-webgpu's own. */
  kernel: string
  dispatches: number
  /** Sum of the GPU's time for those dispatches, ms. */
  ms: number
}

export interface KernelTimes {
  /** Slowest first. */
  kernels: KernelTime[]
  /** Sum over all timed dispatches, ms. */
  totalMs: number
  /** Dispatches past the timer's capacity, run but not timed. */
  untimed: number
}

export interface KernelTimer {
  /** Stops timing, waits for the device and returns the times. */
  stop(): Promise<KernelTimes>
}

/** Starts timing every dispatch recorded on the webgpu backend, up to `capacity` of them; needs the 'timestamp-query' feature. */
export function startKernelTimer(capacity = 2048): KernelTimer {
  const backend = webgpuInternals(tf.backend())
  const device = backend.device as TimestampDevice
  if (!device.features.has('timestamp-query')) throw new Error('kernel times need the adapter\'s timestamp-query feature, which this device lacks')
  flush(backend) // work recorded before the timer is not timed
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * capacity })
  const keys: string[] = []
  let untimed = 0
  const describe = (key: string): object => {
    if (keys.length === capacity) {
      untimed++
      return {}
    }
    const i = keys.push(key) - 1
    return { timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } }
  }
  const previous = setPassPerDispatch(describe)
  // tfjs's programs: open the pass it will record into (it uses an open one), close it after
  const b = backend as unknown as WebgpuBackendInternals & { recordAndSubmit(program: object, ...rest: unknown[]): unknown }
  const record = b.recordAndSubmit
  b.recordAndSubmit = function (this: WebgpuBackendInternals, program: object, ...rest: unknown[]) {
    this.ensureCommandEncoderReady()
    this.endComputePassEncoder()
    // (a bundler may have suffixed the class name with a digit to keep it unique)
    this.computePassEncoder = this.commandEncoder!.beginComputePass(describe(`tfjs:${program.constructor.name.replace(/\d+$/, '')}`))
    const result = record.call(this, program, ...rest)
    this.endComputePassEncoder()
    return result
  }
  return {
    async stop() {
      setPassPerDispatch(previous)
      b.recordAndSubmit = record
      flush(backend)
      const n = keys.length
      const times = new Map<string, KernelTime>()
      if (n > 0) {
        const resolved = device.createBuffer({ size: 16 * n, usage: QUERY_RESOLVE | COPY_SRC })
        const readable = device.createBuffer({ size: 16 * n, usage: MAP_READ | COPY_DST })
        const encoder = device.createCommandEncoder()
        encoder.resolveQuerySet(querySet, 0, 2 * n, resolved, 0)
        encoder.copyBufferToBuffer(resolved, 0, readable, 0, 16 * n)
        device.queue.submit([encoder.finish()])
        await readable.mapAsync(MAP_READ)
        const stamps = new BigUint64Array(readable.getMappedRange().slice(0))
        readable.unmap()
        for (const buffer of [resolved, readable]) buffer.destroy()
        keys.forEach((kernel, i) => {
          // nanoseconds; a device may stamp a pass's end before its beginning when the pass is empty of work
          const ns = stamps[2 * i + 1] > stamps[2 * i] ? Number(stamps[2 * i + 1] - stamps[2 * i]) : 0
          const t = times.get(kernel) ?? { kernel, dispatches: 0, ms: 0 }
          t.dispatches++
          t.ms += ns / 1e6
          times.set(kernel, t)
        })
      }
      querySet.destroy()
      const kernels = [...times.values()].sort((x, y) => y.ms - x.ms)
      return { kernels, totalMs: kernels.reduce((sum, k) => sum + k.ms, 0), untimed }
    },
  }
}

/** Submits what tfjs has recorded, so that later commands (ours) run after it. */
function flush(backend: WebgpuBackendInternals): void {
  backend.endComputePassEncoder()
  if (backend.commandEncoder) backend.submitQueue()
}
