// What Settings learns about tuning on the adapter (backends.ts probeBackends): whether runs tune the
// product kernels there, and how many classes the tuning cache keeps for it, read from a real file.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { probeBackends } from '../../../../engine/compute/backends'
import { setMatmulTuning, setMatmulTuningCache } from '../../../../engine/compute/webgpu/flags'
import { adapterKey, saveTunedKernels } from '../../../../engine/compute/webgpu/matmul-tune-cache'
import { adapter, describeOnWebgpu } from './on-webgpu'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-probe-tuning-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describeOnWebgpu('the backend probe', () => {
  it('reports tuning on the adapter: off on a software one unless asked for, and the classes kept for it in the cache', async () => {
    const file = path.join(dir, 'cache', 'webgpu-matmul-tuning.json')
    const probe = async () => (await probeBackends({ tuningCache: file })).find((p) => p.name === 'webgpu')!
    const first = await probe()
    expect(first.adapter).toEqual(adapter)
    expect(first.tuning).toEqual({ on: adapter!.software === null, file, kept: 0 })

    const choice = { kernel: { share: 0, tileM: 128, tileN: 128 }, source: 'x', ms: {}, timing: 'timestamps', tunedAt: new Date().toISOString() }
    saveTunedKernels(file, adapterKey(adapter!), { 'class 1': choice, 'class 2': choice })
    saveTunedKernels(file, adapterKey({ ...adapter!, description: 'another driver' }), { 'class 3': choice })
    expect((await probe()).tuning).toMatchObject({ kept: 2 })

    fs.writeFileSync(file, '[]')
    expect((await probe()).tuning).toEqual({ on: adapter!.software === null, file, kept: 0, unreadable: `${file}: field (top): Invalid input: expected object, received array` })

    // the process's settings, as MENGZI_WEBGPU_MATMUL_TUNE=1 and MENGZI_WEBGPU_TUNING_CACHE=0 make them as webgpu starts
    const previous = { tuning: setMatmulTuning(true), cache: setMatmulTuningCache(null) }
    try {
      expect((await probeBackends()).find((p) => p.name === 'webgpu')!.tuning).toEqual({ on: true, file: null, kept: 0 })
    } finally {
      setMatmulTuning(previous.tuning)
      setMatmulTuningCache(previous.cache)
    }
  })
})
