// The WebGPU device the engine trains on: which adapter (never a software one unless asked for by
// name), which limits and features it asks for, and device errors turned into a failure the training
// loop sees. tfjs-webgpu does not throw on Dawn validation errors: an invalid pipeline is skipped and
// a read that waits on it never ends (TFJS-NOTES). So every error, from the `uncapturederror` event or
// device loss, is recorded here, and `guardDevice` races each read against it.
import { WorkbenchError } from '../../errors'
import { dawnWaitSetting } from './event-ticks'
import { matmulMatrixSetting, matmulSubgroupsSetting, matmulTileSetting, matmulTuningApplies } from './flags'
import type { Gpu, GpuAdapter, GpuAdapterInfo, GpuDevice } from './gpu'
import { SUBGROUP_PROBE_WGSL, refuseSubgroups } from './wgsl'

/** What Settings and run rows show about the adapter. */
export interface AdapterReport {
  vendor: string
  architecture: string
  device: string
  description: string
  /** Why it is a software or fallback adapter, or null for hardware. */
  software: string | null
  f16: boolean
  /** The device is opened with 'subgroups' when the adapter has it, and workgroup reductions (wgsl.ts) use them if their shader compiles there. */
  subgroups: boolean
  /**
   * The adapter's subgroup sizes, as "32" or "4–64" (smallest–largest; NVIDIA 32, AMD 32–64, Intel
   * 8–32, lavapipe its SIMD width / 32): what the subgroup kernels' lanes divide. Absent where Dawn
   * does not say.
   */
  subgroupSizes?: string
  /**
   * The subgroup matrix products the adapter offers (Dawn's chromium-experimental-subgroup-matrix: tensor
   * cores through Vulkan's cooperative matrices), as "f16×f16→f32 16×16×16" (inputs, result, M×N×K);
   * fp16 products run on them where MENGZI_WEBGPU_MATRIX=1 and tuning picks them (matmul-matrix.ts).
   * Absent or empty: none (Dawn offers them only with MENGZI_WEBGPU_MATRIX=1).
   */
  subgroupMatrices?: string[]
  /** Whether fp16 products may run on them (MENGZI_WEBGPU_MATRIX=1: flags.ts setMatmulMatrix). */
  matrixKernel?: boolean
  /** Why the device was opened without them although asked for (Dawn's message): the feature is experimental. */
  matrixRefused?: string
  limits: {
    maxStorageBuffersPerShaderStage: number
    maxComputeWorkgroupStorageSize: number
    maxComputeInvocationsPerWorkgroup: number
    maxStorageBufferBindingSize: number
    maxBufferSize: number
  }
}

// Vulkan's CPU rasterisers and Chrome's: lavapipe reports "llvmpipe" as its device, SwiftShader its own name.
const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|swrast|microsoft basic render|warp/i

/** Why an adapter is a software or fallback one (CPU emulation), or null when it is hardware. */
export function softwareAdapterReason(info: GpuAdapterInfo, isFallbackAdapter = false): string | null {
  if (isFallbackAdapter || info.isFallbackAdapter) return 'a fallback adapter'
  if (/^(software|cpu)$/i.test(info.architecture ?? '')) return `architecture "${info.architecture}"`
  for (const field of ['device', 'description', 'vendor'] as const) {
    const m = SOFTWARE_NAMES.exec(info[field] ?? '')
    if (m) return `${field} "${info[field]}" (${m[0].toLowerCase()} renders on the CPU)`
  }
  return null
}

export function reportAdapter(adapter: GpuAdapter): AdapterReport {
  const info = adapter.info
  const l = adapter.limits
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: softwareAdapterReason(info, adapter.isFallbackAdapter),
    f16: adapter.features.has('shader-f16'),
    subgroups: adapter.features.has('subgroups'),
    ...(info.subgroupMinSize ? { subgroupSizes: sizesOf(info.subgroupMinSize, info.subgroupMaxSize ?? info.subgroupMinSize) } : {}),
    subgroupMatrices: (info.subgroupMatrixConfigs ?? []).map((c) => `${c.componentType}×${c.componentType}→${c.resultComponentType} ${c.M}×${c.N}×${c.K}`),
    matrixKernel: matmulMatrixSetting() === true,
    limits: {
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
    },
  }
}

const sizesOf = (min: number, max: number) => (min === max ? String(min) : `${min}–${max}`)

/** One line: "adapter mesa software llvmpipe: Mesa 25.0.7… [software: a fallback adapter]; shader-f16, subgroups of 8 (in reductions); 16 storage buffers/stage, 32 KiB workgroup memory, max buffer 4096 MiB". */
export function describeAdapter(r: AdapterReport): string {
  const name = [r.vendor || 'unknown vendor', r.architecture, r.description || r.device].filter(Boolean).join(' ')
  const used = matmulSubgroupsSetting() === false ? 'in reductions' : 'in reductions and the product' // the product's kernel is opt-in (flags.ts)
  const sizes = r.subgroupSizes ? ` of ${r.subgroupSizes}` : ''
  const features = [r.f16 ? 'shader-f16' : 'no shader-f16', r.subgroups ? `subgroups${sizes} (${used})` : 'no subgroups'].join(', ')
  // the wide product is opt-in too, and gives way to the subgroup one
  const tile = matmulTileSetting()
  const tiles = tile !== 64 && !(r.subgroups && matmulSubgroupsSetting() !== false) ? (tile === 128 ? '; 128×128 product tiles' : '; 128×128 product tiles for large products') : ''
  const limits = `${r.limits.maxStorageBuffersPerShaderStage} storage buffers/stage, ${Math.round(r.limits.maxComputeWorkgroupStorageSize / 1024)} KiB workgroup memory, max buffer ${Math.round(r.limits.maxBufferSize / 2 ** 20)} MiB`
  // where tuning applies (flags.ts setMatmulTuning), which kernel runs each product is measured here
  const tuned = matmulTuningApplies(r.software) ? '; product kernels tuned on the device' : ''
  // Dawn lists them only with its unsafe APIs allowed, which MENGZI_WEBGPU_MATRIX=1 asks for (backends.ts)
  const use = r.matrixKernel ? 'for fp16 products where tuning picks them' : r.matrixRefused ? `not used: the device refused them: ${r.matrixRefused}` : 'not used'
  const matrices = r.subgroupMatrices?.length ? `; subgroup matrices ${r.subgroupMatrices.join(', ')} (${use})` : ''
  // event-ticks.ts; said where set for the process, as it changes times (never values)
  const wait = dawnWaitSetting()
  const waits = wait === 'spin' ? "; waits spin (Dawn's loop)" : wait === 'yield' ? '; waits yield (a tick per millisecond)' : ''
  return `adapter ${name}${r.software ? ` [software: ${r.software}]` : ''}; ${features}${tiles}${tuned}${matrices}${waits}; ${limits}`
}

const MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix'

export interface OpenedDevice {
  device: GpuDevice
  adapter: GpuAdapter
  report: AdapterReport
}

/**
 * The adapter Dawn ranks first for high performance, and a device with that adapter's own limits for
 * what our kernels need (storage buffers per stage, workgroup memory, buffer sizes) and its f16 and
 * subgroup features. Returns the reason instead when there is none, or only a software one and
 * `allowSoftware` is false.
 */
export async function openDevice(gpu: Gpu, allowSoftware: boolean): Promise<OpenedDevice | { reason: string }> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  if (!adapter) return { reason: 'no WebGPU adapter (Dawn found no Vulkan, Metal or D3D12 device)' }
  const report = reportAdapter(adapter)
  if (report.software && !allowSoftware) {
    return { reason: `only a software adapter (${report.description || report.device}: ${report.software}), slower than wasm; used only when backend webgpu is asked for by name` }
  }
  // the matrix units' feature only where their kernel is on (flags.ts setMatmulMatrix; Dawn offers it only with its unsafe APIs allowed)
  const matrix = matmulMatrixSetting() === true ? [MATRIX_FEATURE] : []
  const wanted = ['shader-f16', 'subgroups', 'timestamp-query', ...matrix].filter((f) => adapter.features.has(f))
  const keys = [
    'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxComputeInvocationsPerWorkgroup',
  ]
  const requiredLimits = Object.fromEntries(keys.filter((k) => typeof adapter.limits[k] === 'number').map((k) => [k, adapter.limits[k]]))
  let device: GpuDevice
  try {
    device = await adapter.requestDevice({ requiredFeatures: wanted, requiredLimits, label: 'mengzi' })
  } catch (err) {
    // the matrix units' feature is experimental: a device without it rather than none
    if (!wanted.includes(MATRIX_FEATURE)) throw err
    device = await adapter.requestDevice({ requiredFeatures: wanted.filter((f) => f !== MATRIX_FEATURE), requiredLimits, label: 'mengzi' })
    report.matrixKernel = false
    report.matrixRefused = oneLine(String((err as Error).message ?? err))
  }
  if (wanted.includes('subgroups') && !(await compiles(device, SUBGROUP_PROBE_WGSL))) {
    refuseSubgroups(device)
    report.subgroups = false
  }
  watchDevice(device)
  return { device, adapter, report }
}

/** Whether `code` makes a compute pipeline on `device` without a validation error. */
async function compiles(device: GpuDevice, code: string): Promise<boolean> {
  device.pushErrorScope('validation')
  const module = device.createShaderModule({ code, label: 'probe' })
  device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'probe' })
  return (await device.popErrorScope()) == null
}

let current: OpenedDevice | null = null
let failure: WorkbenchError | null = null
let failed: Promise<never> = new Promise(() => {})
let signalFailure: (err: WorkbenchError) => void = () => {}

function resetFailure(): void {
  failure = null
  failed = new Promise<never>((_, reject) => {
    signalFailure = reject
  })
  failed.catch(() => {}) // observed through guardDevice; never an unhandled rejection
}

/** Records the first device error of `device`; `guardDevice` and `throwIfDeviceFailed` report it. */
export function watchDevice(device: GpuDevice): void {
  resetFailure()
  const fail = (message: string) => {
    if (failure) return
    failure = new WorkbenchError('UNAVAILABLE', message) // the GPU stopped being usable
    signalFailure(failure)
  }
  device.addEventListener('uncapturederror', (event) => fail(`WebGPU device error: ${oneLine(event.error.message)}`))
  void device.lost.then((info) => fail(`WebGPU device lost (${info.reason || 'unknown'}): ${oneLine(info.message)}`))
}

export function setCurrentDevice(opened: OpenedDevice): void {
  current = opened
}

/** The device tfjs's webgpu backend computes on, once the backend started. */
export function currentDevice(): OpenedDevice | null {
  return current
}

/** The first device error or loss, or null. */
export function deviceFailure(): WorkbenchError | null {
  return failure
}

export function throwIfDeviceFailed(): void {
  if (failure) throw failure
}

/** `promise`, or the device's first error if that comes first (a read that waits on a failed pipeline never ends). */
export function guardDevice<T>(promise: Promise<T>): Promise<T> {
  if (failure) return Promise.reject(failure)
  return Promise.race([promise, failed])
}

function oneLine(text: string): string {
  return String(text).replace(/\s+/g, ' ').trim().slice(0, 400)
}
