// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import SettingsViewAdapter from '../../renderer/src/components/SettingsViewAdapter.vue'

// lavapipe as Dawn reports it (engine/compute/webgpu/device.ts reportAdapter), and a hardware GPU
const limits = { maxStorageBuffersPerShaderStage: 16, maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 1024, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 }
const lavapipe = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', software: 'a fallback adapter', f16: true, subgroups: true, subgroupSizes: '8', limits }
const h100 = { ...lavapipe, vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3', description: 'NVIDIA: 580.65.06', software: null, f16: false, subgroupSizes: undefined }

describe('SettingsViewAdapter', () => {
  it('shows vendor, architecture, software or hardware, f16 and the limits', () => {
    const text = mount(SettingsViewAdapter, { props: { adapter: lavapipe } }).text()
    expect(text).toContain('mesa software · llvmpipe: Mesa 25.0.7')
    expect(text).toContain('software (a fallback adapter): auto uses it only when webgpu is chosen by name')
    expect(text).toContain('shader-f16 yes · subgroups yes, of 8')
    expect(text).toContain('16 storage buffers per stage · 32 KiB workgroup memory · 1024 invocations per workgroup · buffers up to 4096 MiB')
    const gpu = mount(SettingsViewAdapter, { props: { adapter: h100 } }).text()
    expect(gpu).toContain('nvidia hopper · NVIDIA: 580.65.06')
    expect(gpu).toContain('Kindhardware')
    expect(gpu).toContain('shader-f16 no · subgroups yes')
    expect(gpu).not.toContain('yes, of')
    expect(mount(SettingsViewAdapter, { props: { adapter: { ...h100, subgroupSizes: '32' } } }).text()).toContain('subgroups yes, of 32')
    expect(gpu).not.toContain('subgroup matrices')
    const tensorCores = mount(SettingsViewAdapter, { props: { adapter: { ...h100, subgroupMatrices: ['f16×f16→f32 16×16×16'] } } }).text()
    expect(tensorCores).toContain('subgroup matrices (tensor cores; not used yet) f16×f16→f32 16×16×16')
  })
})
