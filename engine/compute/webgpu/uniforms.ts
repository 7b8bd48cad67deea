// Uniform buffers our dispatches (runner.ts) reuse instead of making anew. tfjs's makeUniforms takes a
// buffer from its pool and queues a write for every dispatch: on a GPU, a tiny copy before each
// kernel; on the host, a pool lookup and a staging write. A training step repeats the same dispatches
// with the same shapes, so nearly all of its uniforms were written in an earlier step.
// - A buffer is made once per content (its bytes) and never written again: queue.writeBuffer runs
//   before any command buffer submitted after it, so the first dispatch already reads it.
// - The cache is cleared past CAP entries (values that change every step, such as the optimizer's
//   learning rate, would grow it forever). Cleared buffers are dropped, never destroyed: a command
//   buffer still being recorded may bind them, and the GC frees them once nothing does.
// The same stable buffers let runner.ts find a step's bind groups again (bind-groups.ts).
import type { GpuBuffer, GpuDevice } from './gpu'
import type { Uniform } from './runner'

const CAP = 4096
const UNIFORM = 0x40 // GPUBufferUsage.UNIFORM
const COPY_DST = 0x8 // GPUBufferUsage.COPY_DST

interface UniformDevice extends GpuDevice {
  createBuffer(descriptor: { size: number; usage: number }): GpuBuffer
  queue: { writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBuffer): void }
}

const byDevice = new WeakMap<GpuDevice, Map<string, GpuBuffer>>()

/**
 * The uniform buffer holding `uniforms` (scalars, 4 bytes each in order: the layout of a WGSL struct of
 * u32/i32/f32 fields, as tfjs's makeUniforms lays them out); null when one is not a scalar.
 */
export function uniformBuffer(device: GpuDevice, uniforms: Uniform[]): GpuBuffer | null {
  if (uniforms.some((u) => u.data.length !== 1)) return null
  const bytes = new ArrayBuffer(4 * uniforms.length)
  const words = new Uint32Array(bytes)
  uniforms.forEach((u, i) => {
    if (u.type === 'float32') new Float32Array(bytes, 4 * i, 1)[0] = u.data[0]
    else if (u.type === 'int32') new Int32Array(bytes, 4 * i, 1)[0] = u.data[0]
    else words[i] = u.data[0]
  })
  const key = words.join(',')
  let cache = byDevice.get(device)
  if (!cache) byDevice.set(device, (cache = new Map()))
  let buffer = cache.get(key)
  if (!buffer) {
    if (cache.size >= CAP) cache.clear()
    const d = device as UniformDevice
    buffer = d.createBuffer({ size: bytes.byteLength, usage: UNIFORM | COPY_DST })
    d.queue.writeBuffer(buffer, 0, bytes)
    cache.set(key, buffer)
  }
  return buffer
}
