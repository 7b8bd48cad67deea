// The Fine-tune view in Chromium over the loopback server: choose a CLUE dataset and a starting model,
// launch a run, watch the dev metric arrive per epoch, and inspect the predictions (confusion matrix,
// right and wrong examples).
import path from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Workbench } from '../../engine/service/workbench'
import { importHfModel } from '../../engine/service/model-files'
import { importClue, tnewsRecords, wideInitModel } from '../engine/train/finetune-data'
import { artifacts, openApp, type AppSession } from './browser'

let app: AppSession
let wb: Workbench
let page: Page
let pageErrors: string[]

beforeAll(async () => {
  app = await openApp(async (w) => {
    await importClue(w.layout.home, 'tnews-toy', { 'train.json': tnewsRecords(48, 1), 'dev.json': tnewsRecords(16, 2) })
    await importHfModel(w.db, w.layout, await wideInitModel(path.join(w.layout.home, 'start'), 0.3), 'tiny-wide')
  })
  ;({ wb, page, errors: pageErrors } = app)
  await page.goto(app.server.url)
  await page.locator('nav a[data-view=finetune]').click()
  await page.getByRole('heading', { name: 'Fine-tune', level: 1 }).waitFor()
}, 60_000)
afterAll(() => app?.close())

describe('Fine-tune view in Chromium', () => {
  it('launches a run and sees the dev metric of each epoch', { timeout: 120_000 }, async () => {
    const form = page.getByRole('form', { name: 'New fine-tuning run' })
    await expect.poll(() => form.locator('select[name=dataset] option').count()).toBe(1)
    expect(await form.locator('select[name=dataset] option').textContent()).toContain('tnews')
    await form.locator('select[name=learningRate]').selectOption({ label: '1e-3 (tiny models)' })
    await form.locator('input[name=epochs]').fill('2')
    await form.getByRole('button', { name: 'Start run' }).click()

    const detail = page.getByLabel('Run detail')
    await detail.locator('dd[data-metric=accuracy]').waitFor({ timeout: 100_000 })
    const accuracy = Number(await detail.locator('dd[data-metric=accuracy]').textContent())
    expect(accuracy).toBeGreaterThan(0)
    expect(accuracy).toBeLessThanOrEqual(1)
    const runs = await wb.call('runs.list', {})
    expect(runs[0]).toMatchObject({ kind: 'finetune', status: 'completed' })
    const series = await wb.call('runs.metrics', { id: runs[0].id, names: ['dev/accuracy'] })
    expect(series[0].values).toHaveLength(2)
    await detail.getByRole('img', { name: 'Dev metrics per epoch by step' }).waitFor()
    await detail.getByRole('table', { name: /Confusion matrix/ }).waitFor()
    await page.screenshot({ path: path.join(artifacts, 'finetune-run.png'), fullPage: true })

    // every dev example is either right or wrong; the filter shows each kind
    const total = 16
    await detail.getByLabel('all').check()
    expect(await detail.locator('ul[aria-label="Dev examples"] li').count()).toBe(total)
    expect(pageErrors).toEqual([])
  })

  it('estimates the run before the start from its data, then times it once this machine is measured', { timeout: 90_000 }, async () => {
    const form = page.getByRole('form', { name: 'New fine-tuning run' })
    const estimates = form.getByRole('region', { name: 'Estimates' })
    await form.locator('select[name=backend]').selectOption('wasm')
    await form.locator('select[name=batchSize]').selectOption('32')
    await form.locator('input[name=epochs]').fill('3')
    // 48 training examples in batches of 32: 2 steps an epoch
    await expect.poll(() => estimates.locator('dd[data-estimate=steps]').textContent(), { timeout: 30_000 }).toBe('2 × 3 epochs')
    expect(await estimates.locator('dd[data-estimate=parameters]').textContent()).toMatch(/^\d+(\.\d+)? k$/)
    await expect.poll(() => estimates.locator('dd[data-estimate=time]').textContent(), { timeout: 60_000 }).toMatch(/^\d+(\.\d+)? (ms|s)$/)
    expect(await estimates.locator('dd[data-estimate=total]').textContent()).toMatch(/^\d+(\.\d+)? (ms|s|min)$/)
    expect(await estimates.textContent()).toMatch(/GFLOP\/s measured here \(median of 3 training steps of model A .* on wasm/)
    // the sweep's grid (lr 1e-5 and 2e-5 × batch 16 and 32, 3 epochs): 4 runs of 3 or 2 steps an epoch
    await expect.poll(() => form.locator('button[name=startSweep]').textContent(), { timeout: 30_000 }).toMatch(/^Start sweep \(4 runs · 30 steps, about \d+(\.\d+)? (ms|s|min)\)$/)
    await page.screenshot({ path: path.join(artifacts, 'finetune-estimate.png'), fullPage: true })
    expect(pageErrors).toEqual([])
  })

  it('checks the form before a start: fp16 with SMART is refused with the reason, and the form clears once fixed', { timeout: 60_000 }, async () => {
    const form = page.getByRole('form', { name: 'New fine-tuning run' })
    const refusal = form.getByRole('alert', { name: 'Form check' })
    await form.locator('select[name=backend]').selectOption('webgpu')
    await form.locator('select[name=precision]').selectOption('fp16')
    await form.locator('input[name=smart]').check()
    await expect.poll(() => refusal.textContent(), { timeout: 30_000 }).toMatch(/strategies\.smart: SMART's term compares the logits of inputs perturbed by at most epsilon .* use precision "fp32" with SMART$/)
    await page.screenshot({ path: path.join(artifacts, 'finetune-check.png'), fullPage: true })
    await form.locator('input[name=smart]').uncheck()
    await expect.poll(() => refusal.count(), { timeout: 30_000 }).toBe(0)
    expect(pageErrors).toEqual([])
  })
})
