// Settings shows the GPU adapter the webgpu backend would train on (on CI: lavapipe, marked software).
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { findWebgpuAdapter } from '../../engine/compute/backends'
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
