// Settings shows the GPU adapter the webgpu backend would train on (on CI: lavapipe, marked software).
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { findWebgpuAdapter } from '../../engine/compute/backends'
import { adapterKey, readTuningCache, saveTunedKernels, type CachedChoice } from '../../engine/compute/webgpu/matmul-tune-cache'
import { artifacts, openApp, type AppSession } from './browser'

const found = await findWebgpuAdapter()
let app: AppSession
beforeAll(async () => {
  app = await openApp()
})
afterAll(() => app?.close())

it.runIf('report' in found || process.env.MENGZI_REQUIRE_WEBGPU === '1')('shows the GPU adapter under the backends, software ones marked', async () => {
  expect('report' in found, 'no WebGPU adapter').toBe(true)
  const report = (found as Extract<typeof found, { report: unknown }>).report
  const { page, server } = app
  await page.goto(`${server.url.replace(/#.*$/, '')}#/settings`)
  const adapter = page.locator('[data-adapter]')
  await expect(adapter.textContent({ timeout: 60_000 })).resolves.toContain(report.description || report.device)
  const text = (await adapter.textContent())!
  expect(text).toContain(report.software ? 'software' : 'hardware')
  expect(text).toContain(`${report.limits.maxStorageBuffersPerShaderStage} storage buffers per stage`)
  expect(text).toMatch(/shader-f16 (yes|no)/)
  // the probe reads the app's tuning cache (<home>/cache/webgpu-matmul-tuning.json), empty in a fresh home
  const tuning = (await page.locator('[data-tuning]').textContent())!
  if (report.software) expect(tuning).toBe('not tuned: off on a software adapter unless MENGZI_WEBGPU_MATMUL_TUNE=1')
  else expect(tuning).toMatch(/^tuned on the device at a run's first steps, and kept in .*cache\/webgpu-matmul-tuning\.json for later runs \(none yet\)$/)
  await page.screenshot({ path: path.join(artifacts, 'settings-adapter.png'), fullPage: true })
})

it.runIf('report' in found || process.env.MENGZI_REQUIRE_WEBGPU === '1')('forgets the product kernels kept for the adapter at a click', async () => {
  expect('report' in found, 'no WebGPU adapter').toBe(true)
  const report = (found as Extract<typeof found, { report: unknown }>).report
  const choice: CachedChoice = { kernel: { share: 0, tileM: 128, tileN: 128 }, source: 'src', ms: { 'tiled 64': 2, 'wide 128': 1 }, timing: 'timestamps', tunedAt: '2026-12-07T00:00:00.000Z' }
  const otherDriver = adapterKey({ ...report, description: `${report.description} (an older driver)` })
  const before = process.env.MENGZI_WEBGPU_MATMUL_TUNE
  process.env.MENGZI_WEBGPU_MATMUL_TUNE = '1' // the probe's worker inherits it: tuning on, even on lavapipe
  const tuned = await openApp((wb) => {
    saveTunedKernels(wb.layout.tuningCache, adapterKey(report), { 'class 1': choice, 'class 2': choice, 'class 3': choice })
    saveTunedKernels(wb.layout.tuningCache, otherDriver, { 'class 1': choice })
  })
  try {
    const { page, server, wb } = tuned
    await page.goto(`${server.url.replace(/#.*$/, '')}#/settings`)
    const line = page.locator('[data-tuning]')
    await expect(line.textContent({ timeout: 60_000 })).resolves.toBe(`tuned on the device: 3 product classes kept for this adapter and driver in ${wb.layout.tuningCache}`)
    await page.locator('[data-forget-tuning]').click()
    await expect(page.locator('[data-forget-notice]').textContent({ timeout: 60_000 })).resolves.toBe('Forgot 3 product classes kept for this adapter; the next run on it tunes them again.')
    expect(await line.textContent()).toBe(`tuned on the device at a run's first steps, and kept in ${wb.layout.tuningCache} for later runs (none yet)`)
    expect(await page.locator('[data-forget-tuning]').count()).toBe(0)
    const read = readTuningCache(wb.layout.tuningCache)
    expect('reason' in read ? read.reason : Object.keys(read.adapters)).toEqual([otherDriver])
    await page.screenshot({ path: path.join(artifacts, 'settings-tuning-forgotten.png'), fullPage: true })
    expect(tuned.errors).toEqual([])
  } finally {
    if (before === undefined) delete process.env.MENGZI_WEBGPU_MATMUL_TUNE
    else process.env.MENGZI_WEBGPU_MATMUL_TUNE = before
    await tuned.close()
  }
})

it.runIf('report' in found || process.env.MENGZI_REQUIRE_WEBGPU === '1')("warns in the run form, before the start, about tensors over the adapter's binding limit", async () => {
  expect('report' in found, 'no WebGPU adapter').toBe(true)
  const report = (found as Extract<typeof found, { report: unknown }>).report
  const { page, server } = app
  await page.goto(`${server.url.replace(/#.*$/, '')}#/runs/new`)
  await expect.poll(() => page.locator('select[name=preset]').inputValue(), { timeout: 30_000 }).toBe('tiny')
  await page.locator('select[name=preset]').selectOption('BASE')
  await page.locator('select[name=runBackend]').selectOption('webgpu')
  await page.locator('input[name=batchSize]').fill('32')
  await page.locator('details.options summary').click()
  await page.locator('input[name=maxSeqLength]').fill('512')
  // BERT-base at 32 × 512 on lavapipe's 128 MiB: feed-forward, Q, K, V and the MLM logits are over; the word embeddings fit
  const warnings = page.getByRole('status', { name: 'Backend warnings' }).locator('li')
  await expect.poll(() => warnings.count(), { timeout: 60_000 }).toBe(3)
  const lines = await warnings.allTextContents()
  expect(lines.map((l) => /\[([\d, ]+)\]/.exec(l)![1])).toEqual(['16384, 3072', '16384, 2304', '2464, 21128'])
  expect(lines[0]).toMatch(/^at full length \(32 × 512 tokens per micro-batch\) the feed-forward activations would be a \[16384, 3072\] float32 tensor that .*; a batch that long will fail the run\. /)
  // in the warnings' unit (decimal MB)
  const limitMB = (report.limits.maxStorageBufferBindingSize / 1e6).toFixed(1)
  await expect(page.locator('[data-check=device]').textContent()).resolves.toContain(`; one kernel may bind at most ${limitMB} MB (maxStorageBufferBindingSize).`)
  expect(lines[0]).toContain(`(maxStorageBufferBindingSize ${limitMB} MB)`)
  await page.screenshot({ path: path.join(artifacts, 'runs-new-device-limits.png'), fullPage: true })
  // a batch that fits: the adapter stays named, the warnings go
  await page.locator('input[name=batchSize]').fill('4')
  await expect.poll(() => warnings.count(), { timeout: 30_000 }).toBe(0)
  await expect(page.locator('[data-check=device]').textContent()).resolves.toContain(report.description || report.device)
  // fp16 where auto passes over the adapter (a software one, as here): the run would fail at its start
  await page.locator('select[name=precision]').selectOption('fp16')
  await page.locator('select[name=runBackend]').selectOption('auto')
  if (report.software) {
    await expect.poll(() => warnings.allTextContents(), { timeout: 30_000 }).toEqual([expect.stringMatching(/^precision "fp16" trains on the webgpu backend only, and auto would train on wasm here \(webgpu: only a software adapter .*\); the run would fail at its start\. Choose backend "webgpu", or precision "fp32"$/)])
    expect(await page.locator('[data-check=device]').count()).toBe(0)
  }
  expect(app.errors).toEqual([])
})
