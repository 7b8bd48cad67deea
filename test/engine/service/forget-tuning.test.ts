// Settings' "Forget" for the product kernels kept for the GPU adapter (backends.forgetTuning): a worker
// finds the adapter, removes its classes from the home's tuning cache (other adapters' stay), and the
// probe Settings shows says nothing is kept. On the real adapter (CI: lavapipe) and a real cache file.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, expect, it } from 'vitest'
import { adapterKey, readTuningCache, saveTunedKernels, type CachedChoice } from '../../../engine/compute/webgpu/matmul-tune-cache'
import { Workbench } from '../../../engine/service/workbench'
import { tempDir } from '../../helpers'
import { adapter, found } from '../compute/webgpu/on-webgpu'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const saved = { tune: process.env.MENGZI_WEBGPU_MATMUL_TUNE, cache: process.env.MENGZI_WEBGPU_TUNING_CACHE }
afterEach(() => {
  for (const [name, value] of [['MENGZI_WEBGPU_MATMUL_TUNE', saved.tune], ['MENGZI_WEBGPU_TUNING_CACHE', saved.cache]] as const) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
})

const choice: CachedChoice = { kernel: { share: 0, tileM: 128, tileN: 128 }, source: 'src', ms: { 'tiled 64': 2, 'wide 128': 1 }, timing: 'timestamps', tunedAt: '2026-12-07T00:00:00.000Z' }
const webgpuRow = (backends: { name: string; tuning?: unknown }[]) => backends.find((b) => b.name === 'webgpu')!.tuning

it.runIf(adapter !== null || process.env.MENGZI_REQUIRE_WEBGPU === '1')('forgets the classes kept for this adapter, keeps another driver\'s, and Settings\' probe follows', { timeout: 300_000 }, async () => {
  expect(adapter, `no WebGPU adapter: ${'reason' in found ? found.reason : ''}`).not.toBeNull()
  process.env.MENGZI_WEBGPU_MATMUL_TUNE = '1' // the workers inherit it: tuning on, even on a software adapter
  const wb = new Workbench({ home: path.join(tmp.dir, 'home') })
  try {
    const file = wb.layout.tuningCache
    const mine = adapterKey(adapter!)
    const otherDriver = adapterKey({ ...adapter!, description: `${adapter!.description} (an older driver)` })
    saveTunedKernels(file, mine, { 'class 1': choice, 'class 2': choice, 'class 3': choice })
    saveTunedKernels(file, otherDriver, { 'class 1': choice })
    expect(webgpuRow(await wb.call('backends.list', {}))).toEqual({ on: true, file, kept: 3 })

    const forgotten = await wb.call('backends.forgetTuning', {})
    expect(forgotten).toMatchObject({ file, forgotten: 3, setAside: null })
    expect(webgpuRow(forgotten.backends)).toEqual({ on: true, file, kept: 0 })
    expect(webgpuRow(await wb.call('backends.list', {}))).toEqual({ on: true, file, kept: 0 }) // what Settings shows when it comes back
    const read = readTuningCache(file)
    expect('reason' in read ? read.reason : Object.keys(read.adapters)).toEqual([otherDriver])

    expect(await wb.call('backends.forgetTuning', {})).toMatchObject({ forgotten: 0, setAside: null })
    fs.writeFileSync(file, '{"format": 1, "adapters": ')
    expect(await wb.call('backends.forgetTuning', {})).toMatchObject({ forgotten: 0, setAside: `${file}.unreadable` })
    expect(fs.readFileSync(`${file}.unreadable`, 'utf8')).toBe('{"format": 1, "adapters": ')

    process.env.MENGZI_WEBGPU_TUNING_CACHE = '0'
    await expect(wb.call('backends.forgetTuning', {})).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('the tuning cache is off (MENGZI_WEBGPU_TUNING_CACHE=0)') })
    process.env.MENGZI_WEBGPU_TUNING_CACHE = path.join(tmp.dir, 'elsewhere.json') // a process's own file wins, as in a run
    saveTunedKernels(process.env.MENGZI_WEBGPU_TUNING_CACHE, mine, { 'class 1': choice })
    expect(await wb.call('backends.forgetTuning', {})).toMatchObject({ file: process.env.MENGZI_WEBGPU_TUNING_CACHE, forgotten: 1 })
  } finally {
    await wb.close()
  }
})
