// A pretraining run from the app, in Chromium: the run form on an imported real-text corpus (Tang poems
// and modern paragraphs), its estimates, Start, the live curve growing from streamed metric points (one
// series fetch, no re-fetch), Cancel, Resume, finishing, Rename and Clone.
import path from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobInfo } from '../../engine/service/api'
import type { TrainingSummary } from '../../engine/service/training'
import type { Workbench } from '../../engine/service/workbench'
import { repoRoot } from '../helpers'
import { artifacts, openApp, type AppSession } from './browser'

const STEPS = 120
let app: AppSession
let wb: Workbench
let page: Page
let runId: number
let shownParameters = ''
const sentMethods: string[] = []

async function importCorpus(w: Workbench): Promise<void> {
  const fixtures = path.join(repoRoot, 'test', 'fixtures', 'import')
  const { jobId } = await w.call('datasets.import', {
    paths: [path.join(fixtures, 'poems.txt'), path.join(fixtures, 'paragraphs.txt')],
    options: { name: '唐诗 and paragraphs', devRatio: 0.1 },
  })
  const job = await new Promise<JobInfo>((resolve) => {
    const off = w.subscribe((e) => {
      if (e.type === 'job' && e.job.id === jobId && e.job.status !== 'running') {
        off()
        resolve(e.job)
      }
    })
  })
  if (job.status !== 'completed') throw new Error(`import failed: ${job.error}`)
}

const points = async (metric: string) => Number(await page.locator(`figure[data-metric="${metric}"]`).getAttribute('data-points'))
const status = () => page.locator('[data-run-status]').textContent()

beforeAll(async () => {
  app = await openApp(importCorpus)
  ;({ wb, page } = app)
  page.on('websocket', (ws) =>
    ws.on('framesent', (frame) => {
      const method = /"method":"([^"]+)"/.exec(String(frame.payload))?.[1]
      if (method) sentMethods.push(method)
    }),
  )
  await page.goto(app.server.url)
  await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor()
})
afterAll(() => app?.close())

describe('a tiny pretraining run from the app, in Chromium', () => {
  it('configures a tiny run with estimates before it starts', async () => {
    await page.locator('nav a[data-view=runs]').click()
    await page.locator('[data-action=new-run]').click()
    await page.getByRole('heading', { name: 'New run', level: 1 }).waitFor()
    await expect.poll(() => page.locator('select[name=preset]').inputValue()).toBe('tiny')
    await expect.poll(() => page.locator('select[name=dataset] option:checked').textContent()).toContain('唐诗 and paragraphs')
    await page.locator('input[name=totalSteps]').fill(String(STEPS))
    await page.locator('input[name=batchSize]').fill('8')
    await page.locator('input[name=objective-sop]').check()
    await page.locator('input[name=weight-sop]').fill('0.5')
    await page.locator('input[name=weight-sop]').dispatchEvent('change')
    // parameters and memory at once; time per step once this machine's calibration step is measured
    await expect.poll(() => page.locator('input[name=runName]').getAttribute('placeholder'), { timeout: 30_000 }).toBe('tiny · mlm+sop · lr 2e-3')
    await expect.poll(() => page.locator('[data-estimate=time]').textContent(), { timeout: 90_000 }).toMatch(/^\d+(\.\d+)? (ms|s)$/)
    shownParameters = (await page.locator('[data-estimate=parameters]').textContent())!
    expect(shownParameters).toMatch(/^\d+\.\d\d M$/)
    await expect(page.locator('[data-estimate=memory]').textContent()).resolves.toMatch(/MiB$/)
    await expect(page.getByText(/GFLOP\/s measured here/).textContent()).resolves.toMatch(/on wasm/)
    await page.screenshot({ path: path.join(artifacts, 'runs-new.png'), fullPage: true })
  })

  it('starts it and watches the curves grow from streamed points, without re-fetching series', async () => {
    await page.getByRole('button', { name: 'Start' }).click()
    await page.waitForURL(/#\/runs\/\d+$/)
    runId = Number(/#\/runs\/(\d+)$/.exec(page.url())![1])
    expect((await wb.call('runs.get', { id: runId })).config).toMatchObject({ totalSteps: STEPS, batchSize: 8, objectives: ['mlm', 'sop'], objectiveWeights: { sop: 0.5 } })
    await page.getByRole('heading', { name: 'tiny · mlm+sop · lr 2e-3', level: 1 }).waitFor()
    await expect.poll(() => points('loss'), { timeout: 60_000 }).toBeGreaterThanOrEqual(3)
    const before = await points('loss')
    await expect.poll(() => points('loss'), { timeout: 60_000 }).toBeGreaterThanOrEqual(before + 5)
    for (const name of ['loss/mlm', 'loss/sop', 'lr', 'tokens_per_sec']) expect(await points(name), name).toBeGreaterThan(0)
    await expect(page.locator('[data-live=backend]').textContent()).resolves.toBe('wasm')
    await expect(page.locator('[data-live=backend-line]').textContent()).resolves.toMatch(/tfjs-backend-wasm.*\.wasm/)
    await expect.poll(() => page.locator('[data-live=eta]').textContent()).toMatch(/\d/)
    await expect(page.locator('[data-live=tokens]').textContent()).resolves.toMatch(/\d/)
    expect(sentMethods.filter((m) => m === 'runs.metrics')).toHaveLength(1)
    await page.screenshot({ path: path.join(artifacts, 'runs-live.png'), fullPage: true })
  })

  it('cancels, resumes and finishes with one contiguous curve', async () => {
    await page.locator('main').getByRole('button', { name: 'Cancel' }).click()
    await expect.poll(status, { timeout: 60_000 }).toBe('cancelled')
    const atCancel = await points('loss')
    expect(atCancel).toBeLessThan(STEPS)
    await page.getByRole('button', { name: 'Resume' }).click()
    await expect.poll(status, { timeout: 30_000 }).toBe('running')
    await expect.poll(status, { timeout: 180_000 }).toBe('completed')
    await expect.poll(() => points('loss')).toBe(STEPS)
    expect(sentMethods.filter((m) => m === 'runs.metrics')).toHaveLength(1)

    const [loss] = await wb.call('runs.metrics', { id: runId, names: ['loss'] })
    expect(loss.steps).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1))
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(mean(loss.values.slice(-10))).toBeLessThan(mean(loss.values.slice(0, 10)))
    // the parameter estimate was the model's true size
    const finished = wb.jobs.list().filter((j) => j.kind === 'train' && j.status === 'completed')
    const summary = finished.at(-1)!.result as TrainingSummary
    expect(shownParameters).toBe(`${(summary.parameters / 1e6).toFixed(2)} M`)
  })

  it('renames the run and clones its config into a new form', async () => {
    await page.locator('input[name=runName]').fill('唐诗 tiny, SOP ½')
    await page.getByRole('button', { name: 'Rename' }).click()
    await page.getByRole('heading', { name: '唐诗 tiny, SOP ½', level: 1 }).waitFor()
    expect((await wb.call('runs.get', { id: runId })).name).toBe('唐诗 tiny, SOP ½')
    await page.evaluate(() => window.scrollTo(0, 0))
    await page.screenshot({ path: path.join(artifacts, 'runs-finished.png'), fullPage: true })
    await page.screenshot({ path: path.join(artifacts, 'runs-finished-top.png') }) // docs/screenshot-runs.png

    await page.getByRole('button', { name: 'Clone' }).click()
    await page.getByRole('heading', { name: 'New run', level: 1 }).waitFor()
    await page.getByText(`a copy of run ${runId}`).waitFor()
    await expect.poll(() => page.locator('input[name=totalSteps]').inputValue()).toBe(String(STEPS))
    expect(await page.locator('input[name=objective-sop]').isChecked()).toBe(true)
    await expect.poll(() => page.locator('input[name=weight-sop]').inputValue()).toBe('0.5')
    await page.screenshot({ path: path.join(artifacts, 'runs-clone.png'), fullPage: true })
  })

  it('ran without CSP violations or page errors', () => {
    expect(app.errors).toEqual([])
  })
})
