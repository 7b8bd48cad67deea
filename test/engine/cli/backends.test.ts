// `mengzi backends`: the ladder as Settings shows it, probed in a worker on this machine (CI: no
// libtensorflow, lavapipe for webgpu, wasm picked by auto), and `--forget-tuning` on a real cache file.
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { dataLayout } from '../../../engine/paths'
import { adapterKey, readTuningCache, saveTunedKernels, type CachedChoice } from '../../../engine/compute/webgpu/matmul-tune-cache'
import { tempDir } from '../../helpers'
import { adapter, found } from '../compute/webgpu/on-webgpu'
import { runCli } from './run-cli'

const tmp = tempDir('mengzi-backends-cli-')
afterAll(() => tmp.cleanup())

it('lists every rung with what runs or why not, marks what auto picks, and prints JSON', async () => {
  const env = { MENGZI_HOME: path.join(tmp.dir, 'list') }
  const json = await runCli(['backends', '--json'], env)
  expect(json.status, json.stderr).toBe(0)
  const backends = JSON.parse(json.stdout) as { name: string; available: boolean; detail: string }[]
  expect(backends.map((b) => b.name)).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu'])
  const auto = backends.find((b) => b.available)!
  const text = await runCli(['backends'], env)
  expect(text.status, text.stderr).toBe(0)
  const lines = text.stdout.split('\n')
  expect(lines[0]).toMatch(/^BACKEND +STATUS +DETAIL$/)
  for (const b of backends) {
    const row = lines.find((l) => l.startsWith(`${b.name} `))!
    expect(row, b.name).toContain(b.detail)
    expect(row.includes(`${b.name} (auto)`), b.name).toBe(b === auto)
    expect(row).toMatch(b.available ? / available / : / unavailable /)
  }
  if (adapter) expect(text.stdout).toContain(`GPU adapter: ${adapter.vendor}`)
})

it.runIf(adapter !== null || process.env.MENGZI_REQUIRE_WEBGPU === '1')('--forget-tuning forgets the classes kept for this adapter and driver, then lists', { timeout: 300_000 }, async () => {
  expect(adapter, `no WebGPU adapter: ${'reason' in found ? found.reason : ''}`).not.toBeNull()
  const home = path.join(tmp.dir, 'forget')
  const file = dataLayout(home).tuningCache
  const choice: CachedChoice = { kernel: { share: 0, tileM: 128, tileN: 128 }, source: 'src', ms: { 'tiled 64': 2, 'wide 128': 1 }, timing: 'timestamps', tunedAt: '2026-12-07T00:00:00.000Z' }
  const otherDriver = adapterKey({ ...adapter!, description: `${adapter!.description} (an older driver)` })
  saveTunedKernels(file, adapterKey(adapter!), { 'class 1': choice, 'class 2': choice })
  saveTunedKernels(file, otherDriver, { 'class 1': choice })
  const env = { MENGZI_HOME: home, MENGZI_WEBGPU_MATMUL_TUNE: '1' }

  expect((await runCli(['backends'], env)).stdout).toContain(`Product kernels: tuned on the device: 2 product classes kept for this adapter and driver in ${file}`)
  const r = await runCli(['backends', '--forget-tuning'], env)
  expect(r.status, r.stderr).toBe(0)
  expect(r.stdout.split('\n')[0]).toBe('Forgot 2 product classes kept for this adapter; the next run on it tunes them again.')
  expect(r.stdout).toContain(`Product kernels: tuned on the device at a run's first steps, and kept in ${file} for later runs (none yet)`)
  const read = readTuningCache(file)
  expect('reason' in read ? read.reason : Object.keys(read.adapters)).toEqual([otherDriver])
  const again = await runCli(['backends', '--forget-tuning'], env)
  expect(again.stdout.split('\n')[0]).toBe('Nothing was kept for this adapter and driver.')

  const off = await runCli(['backends', '--forget-tuning'], { ...env, MENGZI_WEBGPU_TUNING_CACHE: '0' })
  expect(off.status).not.toBe(0)
  expect(off.stderr.trim()).toBe('mengzi: the tuning cache is off (MENGZI_WEBGPU_TUNING_CACHE=0): no product kernels are kept to forget')
})
