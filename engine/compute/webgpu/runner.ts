// Runs our own WGSL compute shaders inside tfjs-webgpu's command stream: the same command encoder and
// compute pass as its kernels (so ordering and batching hold, and nothing is read back), its buffers
// as our bindings, its uniform buffers. Unlike its WebGPUProgram, a shader here has several outputs
// and declares its own bindings: outputs first, then inputs, then one uniform block when given.
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import type { GpuBuffer, GpuCommandEncoder, GpuComputePassEncoder, GpuComputePipeline, GpuDevice } from './gpu'
import { uniformBuffer } from './uniforms'
import { bindGroupFor } from './bind-groups'
import { WorkbenchError } from '../../errors'

/** The parts of tfjs-webgpu's WebGPUBackend (4.22) this runner uses. */
export interface WebgpuBackendInternals extends tf.KernelBackend {
  device: GpuDevice
  tensorMap: { get(dataId: object): { resource: GpuBuffer | null; dtype: tf.DataType; shape: number[] }; has(dataId: object): boolean }
  commandQueueOwnedIds: WeakSet<object>
  computePassEncoder: GpuComputePassEncoder | null
  commandEncoder: GpuCommandEncoder | null
  dispatchCountInPass: number
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: unknown): TensorInfo
  uploadToGPU(dataId: object): void
  makeUniforms(uniforms: Uniform[]): { offset: number; size: number; buffer: GpuBuffer }
  ensureCommandEncoderReady(): void
  endComputePassEncoder(): void
  submitQueue(): void
  disposeData(dataId: object, force?: boolean): boolean
}

export interface Uniform {
  type: 'int32' | 'uint32' | 'float32'
  data: number[]
}

export function webgpuInternals(backend: tf.KernelBackend): WebgpuBackendInternals {
  const b = backend as WebgpuBackendInternals
  if (!b.device || !b.tensorMap || typeof b.makeUniforms !== 'function') throw new Error('not the tfjs-webgpu 4.22 backend this runner was written for')
  return b
}

const pipelines = new WeakMap<GpuDevice, Map<string, GpuComputePipeline>>()

function pipelineFor(device: GpuDevice, key: string, code: () => string): GpuComputePipeline {
  let cache = pipelines.get(device)
  if (!cache) pipelines.set(device, (cache = new Map()))
  let p = cache.get(key)
  if (!p) {
    const module = device.createShaderModule({ code: code(), label: key })
    p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key })
    cache.set(key, p)
  }
  return p
}

export interface Dispatch {
  /** Pipeline cache key: the kernel's name and everything its source depends on. */
  key: string
  /** What the kernel timer (kernel-timer.ts) calls this dispatch, when the key alone is too coarse (shapes). */
  label?: string
  code: () => string
  outputs: TensorInfo[]
  inputs: TensorInfo[]
  uniforms?: Uniform[]
  workgroups: [number, number?, number?]
}

let recorded = 0

// kernel-timer.ts: while set, each dispatch gets a compute pass of its own, described by this function
// (its timestamp writes), so the GPU's time for each kernel can be read.
let passPerDispatch: ((key: string) => object) | null = null

/** Gives every following dispatch its own compute pass (null: back to one shared pass); returns the previous setting. */
export function setPassPerDispatch(describe: ((key: string) => object) | null): ((key: string) => object) | null {
  const previous = passPerDispatch
  passPerDispatch = describe
  return previous
}

/** How many dispatches `dispatch` has recorded in this process (tfjs's own programs not included). */
export function dispatchesRecorded(): number {
  return recorded
}

/** Records one dispatch on tfjs's current compute pass; submits when tfjs's batch size is reached. */
export function dispatch(backend: WebgpuBackendInternals, d: Dispatch): void {
  const [x, y = 1, z = 1] = d.workgroups
  if (x === 0 || y === 0 || z === 0) return
  recorded++
  const pipeline = pipelineFor(backend.device, d.key, d.code)
  const entries: { binding: number; resource: unknown }[] = []
  for (const t of [...d.outputs, ...d.inputs]) {
    backend.uploadToGPU(t.dataId)
    const data = backend.tensorMap.get(t.dataId)
    const resource = data.resource
    if (!resource) throw new Error(`${d.key}: a tensor has no GPU buffer`)
    if (resource.size > backend.device.limits.maxStorageBufferBindingSize) throw tooLargeToBind(d.key, data, resource.size, backend.device.limits.maxStorageBufferBindingSize)
    backend.commandQueueOwnedIds.add(t.dataId)
    entries.push({ binding: entries.length, resource: { buffer: resource } })
  }
  if (d.uniforms?.length) {
    // written once per content (uniforms.ts); a uniform that is not a scalar takes tfjs's own path
    const uniform = uniformBuffer(backend.device, d.uniforms)
    entries.push({ binding: entries.length, resource: uniform ? { buffer: uniform } : backend.makeUniforms(d.uniforms) })
  }
  const bindGroup = bindGroupFor(backend.device, d.key, pipeline, entries)
  backend.ensureCommandEncoderReady()
  if (passPerDispatch) {
    backend.endComputePassEncoder()
    backend.computePassEncoder = backend.commandEncoder!.beginComputePass(passPerDispatch(d.label ?? d.key))
  } else if (!backend.computePassEncoder) backend.computePassEncoder = backend.commandEncoder!.beginComputePass({})
  const pass = backend.computePassEncoder!
  pass.setPipeline(pipeline)
  pass.setBindGroup(0, bindGroup)
  pass.dispatchWorkgroups(x, y, z)
  backend.dispatchCountInPass++
  if (passPerDispatch) backend.endComputePassEncoder()
  if (backend.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
    backend.endComputePassEncoder()
    backend.submitQueue()
  }
}

const MB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

/** The words for a tensor too large for one binding, here and in the warnings a run logs ahead (train/estimate.ts). */
export const overBindingLimit = (bytes: number, limit: number) => `takes ${MB(bytes)}, more than one kernel may bind on this adapter (maxStorageBufferBindingSize ${MB(limit)})`
export const FEWER_TOKENS = 'fewer tokens per micro-batch (batchSize or maxSeqLength, with gradientAccumulation to keep the batch)'

/**
 * A tensor larger than one binding may be on this adapter, refused before Dawn's validation error (which
 * names neither the tensor nor what to change) fails the device.
 */
function tooLargeToBind(key: string, t: { shape: number[]; dtype: string }, bytes: number, limit: number): WorkbenchError {
  return new WorkbenchError('UNSUPPORTED', `${key}: a [${t.shape.join(', ')}] ${t.dtype} tensor ${overBindingLimit(bytes, limit)}; ${FEWER_TOKENS} or a smaller model dimension would fit`)
}

/** The GPU buffer of a tensor (uploaded first if its values are on the CPU), held until tfjs's next submit. */
export function bufferOf(backend: WebgpuBackendInternals, t: TensorInfo): GpuBuffer {
  backend.uploadToGPU(t.dataId)
  const resource = backend.tensorMap.get(t.dataId).resource
  if (!resource) throw new Error('a tensor has no GPU buffer')
  backend.commandQueueOwnedIds.add(t.dataId)
  return resource
}

/** tfjs's command encoder outside any compute pass, for copies: commands, not dispatches, in stream order. */
export function copyEncoder(backend: WebgpuBackendInternals): GpuCommandEncoder {
  backend.ensureCommandEncoderReady()
  backend.endComputePassEncoder()
  return backend.commandEncoder!
}

/** Workgroup counts for `n` items in groups of `size`, folded into 2-D past the per-dimension limit. */
export function grid(n: number, size: number, maxPerDim = 65535): [number, number] {
  const groups = Math.ceil(n / size)
  if (groups <= maxPerDim) return [groups, 1]
  const y = Math.ceil(groups / maxPerDim)
  return [Math.ceil(groups / y), y]
}

/** A kernel config for webgpu whose body records dispatches and returns its outputs in order. */
export function webgpuKernel(
  kernelName: string,
  body: (backend: WebgpuBackendInternals, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown>) => TensorInfo[],
): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ((args: { inputs: Record<string, TensorInfo>; backend: tf.KernelBackend; attrs: Record<string, unknown> }) =>
      body(webgpuInternals(args.backend), args.inputs, args.attrs ?? {})) as unknown as tf.KernelFunc,
  }
}

/** A new float32 tensor on the GPU (its buffer is allocated by the first dispatch that binds it). */
export function output(backend: WebgpuBackendInternals, shape: number[], dtype: tf.DataType = 'float32'): TensorInfo {
  return backend.makeTensorInfo(shape, dtype)
}

export const u32 = (...data: number[]): Uniform[] => data.map((d) => ({ type: 'uint32', data: [d >>> 0] }))
export const f32 = (...data: number[]): Uniform[] => data.map((d) => ({ type: 'float32', data: [d] }))

export type WgslElement = 'f32' | 'i32' | 'u32' | 'vec4<f32>' | 'vec2<u32>'

/**
 * WGSL binding declarations: outputs (read_write), then inputs (read), then the uniform block `u`.
 * An output is a name (array<f32>) or [name, element type].
 */
export function bindings(outputs: (string | [string, WgslElement])[], inputs: [string, WgslElement][], uniformFields?: string): string {
  const lines: string[] = []
  outputs.forEach((o) => {
    const [name, type] = typeof o === 'string' ? [o, 'f32'] : o
    lines.push(`@group(0) @binding(${lines.length}) var<storage, read_write> ${name}: array<${type}>;`)
  })
  inputs.forEach(([name, type]) => lines.push(`@group(0) @binding(${lines.length}) var<storage, read> ${name}: array<${type}>;`))
  if (uniformFields) lines.push(`struct U { ${uniformFields} };\n@group(0) @binding(${lines.length}) var<uniform> u: U;`)
  return lines.join('\n')
}
