// The few WebGPU types the engine touches, declared structurally: @webgpu/types pulls in DOM types,
// which engine/ must not see (tsconfig.engine.json). Names follow the WebGPU spec.
export interface GpuAdapterInfo {
  vendor: string
  architecture: string
  device: string
  description: string
  /** Newer Dawn reports it here; older adapters on the adapter object. */
  isFallbackAdapter?: boolean
  subgroupMinSize?: number
  subgroupMaxSize?: number
  /** Dawn (chromium-experimental-subgroup-matrix): the matrix shapes its subgroups multiply (tensor cores through Vulkan's cooperative matrices). */
  subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[]
}

export interface SubgroupMatrixConfig {
  componentType: string
  resultComponentType: string
  M: number
  N: number
  K: number
}

export type GpuLimits = Record<string, number>

export interface GpuAdapter {
  readonly info: GpuAdapterInfo
  readonly features: ReadonlySet<string>
  readonly limits: GpuLimits
  readonly isFallbackAdapter?: boolean
  requestDevice(descriptor?: { requiredFeatures?: string[]; requiredLimits?: Record<string, number>; label?: string }): Promise<GpuDevice>
}

export interface Gpu {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance'; forceFallbackAdapter?: boolean }): Promise<GpuAdapter | null>
}

export interface GpuBuffer {
  readonly size: number
  readonly usage: number
  destroy(): void
}

export interface GpuCommandEncoder {
  beginComputePass(descriptor: object): GpuComputePassEncoder
  copyBufferToBuffer(source: GpuBuffer, sourceOffset: number, destination: GpuBuffer, destinationOffset: number, size: number): void
  clearBuffer(buffer: GpuBuffer, offset?: number, size?: number): void
}

export interface GpuBindGroupLayout {
  readonly label?: string
}

export interface GpuComputePipeline {
  getBindGroupLayout(index: number): GpuBindGroupLayout
}

export interface GpuComputePassEncoder {
  setPipeline(pipeline: GpuComputePipeline): void
  setBindGroup(index: number, group: unknown): void
  dispatchWorkgroups(x: number, y?: number, z?: number): void
  end(): void
}

export interface GpuError {
  readonly message: string
}

export interface GpuDevice {
  readonly features: ReadonlySet<string>
  /** Dawn's report of the adapter, subgroup sizes included (matmul-subgroups.ts). */
  readonly adapterInfo?: { readonly subgroupMinSize?: number; readonly subgroupMaxSize?: number; readonly subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[] }
  readonly limits: GpuLimits
  readonly lost: Promise<{ reason: string; message: string }>
  createShaderModule(descriptor: { code: string; label?: string }): unknown
  createComputePipeline(descriptor: { layout: 'auto'; compute: { module: unknown; entryPoint: string }; label?: string }): GpuComputePipeline
  createBindGroup(descriptor: { layout: GpuBindGroupLayout; entries: { binding: number; resource: unknown }[] }): unknown
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void
  popErrorScope(): Promise<GpuError | null>
  addEventListener(type: 'uncapturederror', listener: (event: { error: GpuError }) => void): void
  destroy(): void
}
