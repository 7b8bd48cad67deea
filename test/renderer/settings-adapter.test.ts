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
    const tensorCores = (matrixKernel: boolean) => mount(SettingsViewAdapter, { props: { adapter: { ...h100, subgroupMatrices: ['f16×f16→f32 16×16×16'], matrixKernel } } }).text()
    expect(tensorCores(true)).toContain('subgroup matrices (tensor cores, for fp16 products where tuning picks them) f16×f16→f32 16×16×16')
    expect(tensorCores(false)).toContain('subgroup matrices (tensor cores, not used: MENGZI_WEBGPU_MATRIX=1 uses them) f16×f16→f32 16×16×16')
  })
  it('says whether runs tune the product kernels on the adapter, and how many classes are kept for it', () => {
    const line = (adapter: typeof lavapipe | typeof h100, tuning?: { on: boolean; file: string | null; kept: number; unreadable?: string }) =>
      mount(SettingsViewAdapter, { props: { adapter, tuning } }).find('[data-tuning]')
    expect(line(h100).exists()).toBe(false) // an older probe without the field
    const file = '/home/r/.config/Mengzi Workbench/cache/webgpu-matmul-tuning.json'
    expect(line(lavapipe, { on: false, file, kept: 0 }).text()).toBe('not tuned: off on a software adapter unless MENGZI_WEBGPU_MATMUL_TUNE=1')
    expect(line(h100, { on: false, file, kept: 0 }).text()).toMatch(/^not tuned \(MENGZI_WEBGPU_MATMUL_TUNE=0/)
    expect(line(h100, { on: true, file, kept: 0 }).text()).toBe(`tuned on the device at a run's first steps, and kept in ${file} for later runs (none yet)`)
    expect(line(h100, { on: true, file, kept: 18 }).text()).toBe(`tuned on the device: 18 product classes kept for this adapter and driver in ${file}`)
    expect(line(h100, { on: true, file, kept: 1 }).text()).toContain(': 1 product class kept')
    expect(line(h100, { on: true, file: null, kept: 0 }).text()).toBe('tuned on the device in each run, kept for none (MENGZI_WEBGPU_TUNING_CACHE=0)')
    expect(line(h100, { on: true, file, kept: 0, unreadable: `${file}: not JSON (Unexpected end of JSON input)` }).text()).toContain('the kept choices cannot be read (')
  })

  it('offers to forget the kept choices where runs use them, and shows what the last forget did', async () => {
    const file = '/home/r/.config/Mengzi Workbench/cache/webgpu-matmul-tuning.json'
    const mounted = (tuning: { on: boolean; file: string | null; kept: number; unreadable?: string }, extra: { forgetNotice?: string; forgetting?: boolean } = {}) =>
      mount(SettingsViewAdapter, { props: { adapter: h100, tuning, ...extra } })
    const kept = mounted({ on: true, file, kept: 18 })
    const button = kept.find('[data-forget-tuning]')
    expect(button.text()).toBe('Forget them: the next run tunes again')
    expect(button.attributes('disabled')).toBeUndefined()
    await button.trigger('click')
    expect(kept.emitted('forget')).toHaveLength(1)
    expect(kept.find('[data-forget-notice]').exists()).toBe(false)
    // nothing kept, tuning off (kept choices unused), or no cache: no button
    for (const t of [{ on: true, file, kept: 0 }, { on: false, file, kept: 18 }, { on: true, file: null, kept: 0 }]) expect(mounted(t).find('[data-forget-tuning]').exists(), JSON.stringify(t)).toBe(false)
    expect(mounted({ on: true, file, kept: 0, unreadable: `${file}: not JSON` }).find('[data-forget-tuning]').text()).toBe('Set the unreadable file aside')
    const busy = mounted({ on: true, file, kept: 18 }, { forgetting: true, forgetNotice: 'Forgot 18 product classes kept for this adapter; the next run on it tunes them again.' })
    expect(busy.find('[data-forget-tuning]').attributes('disabled')).toBeDefined()
    expect(busy.find('[data-forget-notice]').text()).toBe('Forgot 18 product classes kept for this adapter; the next run on it tunes them again.')
  })
})
