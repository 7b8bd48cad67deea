// The backend ladder and software adapters: `auto` never trains on a CPU-emulated GPU (lavapipe was
// ~27× slower than wasm + native kernels); naming webgpu still gets it.
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { describeSelection, selectBackend } from '../../../../engine/compute/backends'
import { describeAdapter, openDevice, reportAdapter, softwareAdapterReason, type AdapterReport } from '../../../../engine/compute/webgpu/device'
import { setDawnWait } from '../../../../engine/compute/webgpu/event-ticks'
import { setMatmulMatrix, setMatmulSubgroups, setMatmulTile, setMatmulTuning } from '../../../../engine/compute/webgpu/flags'
import type { Gpu, GpuAdapter } from '../../../../engine/compute/webgpu/gpu'
import { adapter, describeOnWebgpu } from './on-webgpu'

const info = (vendor: string, architecture: string, device: string, description: string) => ({ vendor, architecture, device, description })

describe('softwareAdapterReason', () => {
  it('names lavapipe, SwiftShader, WARP and fallback adapters as software, and real GPUs as hardware', () => {
    // lavapipe as Dawn reports it on Debian 12 with Mesa 25.0.7 (bookworm-backports)
    expect(softwareAdapterReason(info('mesa', 'software', 'llvmpipe-llvm-15-0-6-256-bits-', 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1'))).toMatch(/software/)
    expect(softwareAdapterReason(info('mesa', '', 'llvmpipe', 'llvmpipe (LLVM 15.0.6, 256 bits)'))).toMatch(/llvmpipe/)
    expect(softwareAdapterReason(info('google', '', 'swiftshader', 'SwiftShader Device (Subzero)'))).toMatch(/swiftshader/)
    expect(softwareAdapterReason(info('microsoft', '', '', 'Microsoft Basic Render Driver'))).toMatch(/basic render/)
    expect(softwareAdapterReason(info('nvidia', 'hopper', 'NVIDIA H100 80GB HBM3', 'NVIDIA: 580.65.06'))).toBeNull()
    expect(softwareAdapterReason(info('amd', 'rdna-3', 'AMD Radeon RX 7900 XTX', ''))).toBeNull()
    expect(softwareAdapterReason(info('apple', 'metal-3', 'Apple M2', ''))).toBeNull()
    expect(softwareAdapterReason({ ...info('nvidia', '', 'x', 'y'), isFallbackAdapter: true })).toBe('a fallback adapter')
    expect(softwareAdapterReason(info('nvidia', '', 'x', 'y'), true)).toBe('a fallback adapter')
  })
})

describe('describeAdapter', () => {
  it('says where subgroups are used (reductions, and the product only while its subgroup kernel is on), and 128×128 product tiles where they run', () => {
    const limits = { maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 }
    const h100: AdapterReport = { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3', description: '', software: null, f16: true, subgroups: true, limits }
    const before = setMatmulSubgroups(false)
    try {
      expect(describeAdapter(h100)).toBe('adapter nvidia hopper NVIDIA H100 80GB HBM3; shader-f16, subgroups (in reductions); product kernels tuned on the device; 8 storage buffers/stage, 16 KiB workgroup memory, max buffer 256 MiB')
      setMatmulSubgroups(true)
      expect(describeAdapter(h100)).toContain('subgroups (in reductions and the product)')
      expect(describeAdapter({ ...h100, subgroups: false })).toContain('no subgroups;')
      const tile = setMatmulTile(128) // the wide product: named, unless the subgroup product runs instead
      expect(describeAdapter(h100)).not.toContain('128×128')
      expect(describeAdapter({ ...h100, subgroups: false })).toContain('no subgroups; 128×128 product tiles; 8 storage buffers/stage')
      setMatmulSubgroups(false)
      expect(describeAdapter(h100)).toContain('subgroups (in reductions); 128×128 product tiles;')
      setMatmulTile(tile)
      // how waits tick, where set for the process: times change, so the run's backend line says it
      const wait = setDawnWait('yield')
      expect(describeAdapter(h100)).toContain('; product kernels tuned on the device; waits yield (a tick per millisecond); 8 storage buffers/stage')
      setDawnWait('spin')
      expect(describeAdapter(h100)).toContain("; waits spin (Dawn's loop); 8 storage buffers/stage")
      setDawnWait(wait)
      expect(describeAdapter(h100)).not.toContain('waits')
    } finally {
      setMatmulSubgroups(before)
    }
  })
})

describe('describeAdapter and product tuning', () => {
  it('says the product kernels are tuned where tuning applies: on, or auto on a hardware adapter, with no kernel asked for', () => {
    const limits = { maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 }
    const gpu: AdapterReport = { vendor: 'amd', architecture: 'rdna-3', device: 'AMD Radeon RX 7900 XTX', description: '', software: null, f16: true, subgroups: true, limits }
    const software: AdapterReport = { ...gpu, vendor: 'mesa', architecture: '', device: 'llvmpipe', software: 'a fallback adapter' }
    const said = (r: AdapterReport) => describeAdapter(r).includes('; product kernels tuned on the device;')
    const before = setMatmulTuning('auto')
    try {
      expect([said(gpu), said(software)]).toEqual([true, false])
      setMatmulTuning(true)
      expect([said(gpu), said(software)]).toEqual([true, true])
      setMatmulTuning(false)
      expect([said(gpu), said(software)]).toEqual([false, false])
      setMatmulTuning(true)
      const tile = setMatmulTile(128) // a kernel asked for: tuning stands aside
      expect(said(gpu)).toBe(false)
      setMatmulTile(tile)
    } finally {
      setMatmulTuning(before)
    }
  })
})

describe('subgroup matrices', () => {
  it('reports the shapes an adapter multiplies (Dawn’s subgroupMatrixConfigs) and names them in the backend line; none on lavapipe', () => {
    const fake = {
      info: {
        ...info('nvidia', 'hopper', 'NVIDIA H100 80GB HBM3', ''),
        subgroupMatrixConfigs: [
          { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 },
          { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 },
        ],
      },
      features: new Set(['shader-f16', 'subgroups']),
      limits: { maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 },
      requestDevice: async () => ({}) as never,
    }
    const report = reportAdapter(fake)
    expect(report.subgroupMatrices).toEqual(['f16×f16→f32 16×16×16', 'f16×f16→f16 16×16×16'])
    expect(describeAdapter(report)).toContain('; subgroup matrices f16×f16→f32 16×16×16, f16×f16→f16 16×16×16 (not used); 8 storage buffers/stage')
    expect(report.matrixKernel).toBe(false)
    const previous = setMatmulMatrix(true) // MENGZI_WEBGPU_MATRIX=1 (matmul-matrix.ts)
    const used = reportAdapter(fake)
    setMatmulMatrix(previous)
    expect(used.matrixKernel).toBe(true) // as Settings says it
    expect(describeAdapter(used)).toContain('; subgroup matrices f16×f16→f32 16×16×16, f16×f16→f16 16×16×16 (for fp16 products where tuning picks them); 8 storage')
    expect(reportAdapter({ ...fake, info: info('nvidia', 'hopper', 'x', '') }).subgroupMatrices).toEqual([])
    if (adapter) expect(adapter.subgroupMatrices).toEqual([]) // lavapipe has no cooperative matrices
    if (adapter) expect(describeAdapter(adapter)).not.toContain('subgroup matrices')
  })

  it("opens the device without the subgroup matrices when it refuses them (an experimental feature), and says why", async () => {
    const MATRIX = 'chromium-experimental-subgroup-matrix'
    const asked: string[][] = []
    const gpu = (features: string[]): Gpu => ({
      requestAdapter: async () =>
        ({
          info: { ...info('nvidia', 'hopper', 'NVIDIA H100', 'NVIDIA: 580.65.06'), subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] },
          features: new Set(features),
          limits: { maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 },
          requestDevice: async (d?: { requiredFeatures?: string[] }) => {
            asked.push(d?.requiredFeatures ?? [])
            if (d?.requiredFeatures?.includes(MATRIX)) throw new Error('Invalid feature required:\n  chromium-experimental-subgroup-matrix')
            return { features: new Set(d?.requiredFeatures), addEventListener: () => {}, lost: new Promise(() => {}) } as never
          },
        }) as GpuAdapter,
    })
    const previous = setMatmulMatrix(true)
    try {
      const opened = await openDevice(gpu(['shader-f16', MATRIX]), false)
      if (!('device' in opened)) throw new Error(opened.reason)
      expect(asked).toEqual([['shader-f16', MATRIX], ['shader-f16']])
      expect(opened.device.features.has(MATRIX)).toBe(false) // so no matrix kernel is a candidate (matmul-choice.ts matrixPlans)
      expect(opened.report).toMatchObject({ matrixKernel: false, matrixRefused: 'Invalid feature required: chromium-experimental-subgroup-matrix' })
      expect(describeAdapter(opened.report)).toContain('; subgroup matrices f16×f16→f32 16×16×16 (not used: the device refused them: Invalid feature required: chromium-experimental-subgroup-matrix)')
      // not asked for with the kernel off; and a device refused without them still fails
      setMatmulMatrix(false)
      asked.length = 0
      await openDevice(gpu(['shader-f16', MATRIX]), false)
      expect(asked).toEqual([['shader-f16']])
      const refusing: Gpu = { requestAdapter: async () => ({ ...(await gpu([]).requestAdapter())!, requestDevice: async () => Promise.reject(new Error('device lost at creation')) }) }
      await expect(openDevice(refusing, false)).rejects.toThrow('device lost at creation')
    } finally {
      setMatmulMatrix(previous)
    }
  })

  it('reports the subgroup sizes (one, or smallest–largest) and names them in the backend line', () => {
    const fake = {
      info: { ...info('amd', 'rdna-3', 'Radeon RX 7900 XTX', ''), subgroupMinSize: 32, subgroupMaxSize: 64 },
      features: new Set(['subgroups']),
      limits: { maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 },
      requestDevice: async () => ({}) as never,
    }
    const amd = reportAdapter(fake)
    expect(amd.subgroupSizes).toBe('32–64')
    expect(describeAdapter(amd)).toContain('no shader-f16, subgroups of 32–64 (in reductions)')
    expect(reportAdapter({ ...fake, info: { ...fake.info, subgroupMinSize: 32, subgroupMaxSize: 32 } }).subgroupSizes).toBe('32')
    const unsaid = reportAdapter({ ...fake, info: info('amd', 'rdna-3', 'x', '') })
    expect(unsaid.subgroupSizes).toBeUndefined()
    expect(describeAdapter(unsaid)).toContain('subgroups (in reductions)')
    // lavapipe has one size, its SIMD width / 32 (subgroups-32.test.ts checks the report against the kernels')
    if (adapter?.subgroups && /llvmpipe/.test(adapter.description)) expect(adapter.subgroupSizes).toMatch(/^\d+$/)
  })
})

describeOnWebgpu('the backend ladder with the adapter Dawn finds here', () => {
  it('auto never chooses a software adapter; naming webgpu does, and the backend line names the adapter', async () => {
    const report = adapter!
    const auto = await selectBackend('auto')
    if (report.software) {
      expect(auto.name).not.toBe('webgpu')
      const skip = auto.skipped.find((s) => s.name === 'webgpu')
      expect(skip?.reason).toMatch(/only a software adapter .*used only when backend webgpu is asked for by name/)
    } else {
      expect(auto.name === 'webgpu' || auto.name === 'tensorflow').toBe(true)
    }
    const forced = await selectBackend('webgpu')
    expect(forced.name).toBe('webgpu')
    expect(tf.getBackend()).toBe('webgpu')
    expect(forced.adapter).toEqual(report)
    expect(describeSelection(forced)).toContain(describeAdapter(report))
    expect(report.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8)
    // asking for auto again after webgpu started still refuses a software adapter
    if (report.software) expect((await selectBackend('auto')).name).not.toBe('webgpu')
  })
})
