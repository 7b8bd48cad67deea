// Bind groups a training step finds again instead of making anew: each is 24 µs of Dawn's validation
// on this machine, and a step makes one per dispatch (428 at BASE).
// - tfjs's buffer pool hands out the free buffer of a size that was released last. A step frees its
//   buffers in another order than it took them, so each step got the same buffers in a new
//   arrangement, and 97% of a BASE step's dispatches bound a set of buffers never bound before.
// - Handing out the free buffer seen first instead makes the arrangement depend only on which buffers
//   are free, which is the same at the start of every step: a step binds what the last one bound.
// - A bind group names whole buffers, so one made for the same pipeline and the same buffer objects is
//   the same bind group. A buffer tfjs destroys is never handed out again, so its key never recurs.
import type { GpuBuffer, GpuComputePipeline, GpuDevice } from './gpu'

const ids = new WeakMap<object, number>()
let nextId = 1

/** A number for each buffer, in the order this process first saw them. */
export function bufferId(buffer: object): number {
  let id = ids.get(buffer)
  if (id === undefined) ids.set(buffer, (id = nextId++))
  return id
}

/** The parts of tfjs-webgpu's BufferManager (4.22) this uses. */
interface BufferManager {
  freeBuffers: Map<string, GpuBuffer[]>
  releaseBuffer(buffer: GpuBuffer, reuse?: boolean): void
}

/** Makes `backend`'s pool hand out, of the free buffers of a size and usage, the one seen first. */
export function steadyBufferPool(backend: object): void {
  const manager = (backend as { bufferManager?: BufferManager }).bufferManager
  if (!manager || !(manager.freeBuffers instanceof Map) || typeof manager.releaseBuffer !== 'function') {
    throw new Error('not the tfjs-webgpu 4.22 buffer manager this was written for')
  }
  const release = manager.releaseBuffer.bind(manager)
  manager.releaseBuffer = (buffer, reuse = true) => {
    release(buffer, reuse)
    const free = manager.freeBuffers.get(`${buffer.size}_${buffer.usage}`) // tfjs's getBufferKey
    if (!reuse || !free || free[free.length - 1] !== buffer) return
    // tfjs pushed it last and pops the last: keep each free list in falling id order (a binary search
    // per release, where a scan per acquire cost 77,000 lookups a BASE step)
    free.pop()
    const id = bufferId(buffer)
    let lo = 0
    let hi = free.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (bufferId(free[mid]) > id) lo = mid + 1
      else hi = mid
    }
    free.splice(lo, 0, buffer)
  }
}

const bindGroups = new WeakMap<GpuDevice, Map<string, unknown>>()
const BIND_GROUP_CAP = 8192
const bindGroupCounts = { created: 0, reused: 0 }
let bindGroupReuse = process.env.MENGZI_WEBGPU_BIND_GROUP_REUSE !== '0' // 0: each made anew (the GPU script's comparison)

/** Turns the reuse of bind groups on or off (test/bench/webgpu-host.ts compares the two); returns the previous setting. */
export function setBindGroupReuse(on: boolean): boolean {
  const previous = bindGroupReuse
  bindGroupReuse = on
  return previous
}

/** Bind groups created and found again in this process (test/bench/webgpu-host.ts). */
export function bindGroupCacheStats(): { created: number; reused: number } {
  return bindGroupCounts
}

/** The bind group of `entries` (buffers, whole or a range) for a pipeline; `key` names the pipeline. */
export function bindGroupFor(device: GpuDevice, key: string, pipeline: GpuComputePipeline, entries: { binding: number; resource: unknown }[]): unknown {
  if (!bindGroupReuse) {
    bindGroupCounts.created++
    return device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries })
  }
  let cache = bindGroups.get(device)
  if (!cache) bindGroups.set(device, (cache = new Map()))
  let k = key
  for (const e of entries) {
    const r = e.resource as { buffer: object; offset?: number; size?: number }
    k += `|${bufferId(r.buffer)}${r.offset === undefined ? '' : `@${r.offset}+${r.size}`}`
  }
  let group = cache.get(k)
  if (group !== undefined) {
    bindGroupCounts.reused++
    return group
  }
  if (cache.size >= BIND_GROUP_CAP) cache.clear()
  group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries })
  cache.set(k, group)
  bindGroupCounts.created++
  return group
}
