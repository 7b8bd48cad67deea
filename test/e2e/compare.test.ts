// The run table and the Compare view in Chromium, over a database seeded with 40 runs: filter, select,
// compare (diff, legend, curves, scores), zoom, live points, export CSV, delete; screenshots saved.
import fs from 'node:fs'
import path from 'node:path'
import type { Locator } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Workbench } from '../../engine/service/workbench'
import { insertDataset } from '../../engine/store/datasets'
import { MetricWriter } from '../../engine/store/metrics'
import { recordCheckpoint } from '../../engine/store/checkpoints'
import { insertRun, setRunStatus } from '../../engine/store/runs'
import { artifacts, openApp, type AppSession } from './browser'

let app: AppSession
let live: number
let doomed: number

function seed(wb: Workbench) {
  const corpus = insertDataset(wb.db, { name: 'fortunes-zh', kind: 'text', dir: path.join(wb.layout.datasets, '1'), stats: {}, files: [] })
  const afqmc = insertDataset(wb.db, { name: 'afqmc', kind: 'afqmc', dir: path.join(wb.layout.datasets, '2'), stats: {}, files: [] })
  const tnews = insertDataset(wb.db, { name: 'tnews', kind: 'tnews', dir: path.join(wb.layout.datasets, '3'), stats: {}, files: [] })
  for (let i = 0; i < 36; i++) {
    const optimizer = i % 2 ? 'adamw' : 'lamb'
    const preset = i % 3 === 0 ? 'B' : 'A'
    const lr = [1e-4, 3e-4, 5e-4][i % 3]
    const name = `pretrain ${optimizer} ${preset} lr${lr} #${i}`
    const id = insertRun(wb.db, {
      name,
      kind: 'pretrain',
      config: { name, model: { preset }, optimizer, learningRate: lr, batchSize: 16, maxSeqLength: 128, totalSteps: 2000, data: { kind: 'dataset', dir: '/d', vocab: '/v' } },
      seed: 42,
      datasetId: corpus,
    })
    const m = new MetricWriter(wb.db, id, 4096)
    const floor = 2 + (i % 5) * 0.2 + (optimizer === 'adamw' ? 0.3 : 0)
    for (let step = 1; step <= 2000; step++) {
      m.add('loss', step, floor + 6 * Math.exp(-step / (200 + 20 * i)) + 0.05 * Math.sin(step / 7 + i), 1_700_000_000 + i * 10_000 + step * 0.5)
      if (step % 10 === 0) m.add('lr', step, lr * Math.min(step / 200, (2000 - step) / 1800))
    }
    m.add('dev/loss', 2000, floor + 0.1)
    m.flush()
    setRunStatus(wb.db, id, i === 35 ? 'running' : i === 34 ? 'failed' : 'completed', { backend: 'wasm' })
    if (i === 35) live = id
    if (i === 33) {
      doomed = id
      const dir = path.join(wb.layout.runs, String(id), 'step-2000')
      fs.mkdirSync(dir, { recursive: true })
      recordCheckpoint(wb.db, id, 2000, dir)
    }
  }
  for (const [task, ds] of [['afqmc', afqmc], ['tnews', tnews]] as const) {
    for (let k = 0; k < 2; k++) {
      const id = insertRun(wb.db, { name: `finetune ${task} ${k}`, kind: 'finetune', config: { task, learningRate: 2e-5 * (k + 1), epochs: 3, batchSize: 16, maxSeqLength: 128 }, seed: k, datasetId: ds })
      wb.db.prepare('INSERT INTO evaluations (run_id, dataset_id, split, metrics) VALUES (?, ?, ?, ?)').run(id, ds, 'dev', JSON.stringify({ accuracy: 0.55 + 0.05 * k + (task === 'tnews' ? 0.01 : 0) }))
      setRunStatus(wb.db, id, 'completed', { backend: 'wasm' })
    }
  }
}

beforeAll(async () => {
  app = await openApp(seed)
  app.page.setDefaultTimeout(15_000)
})
afterAll(() => app?.close())

/**
 * For each run of a chart's legend, the share of the canvas's pixel columns holding a pixel of the run's
 * colour (the canvas read back): `exact` for curves written into pixels, else within a small distance and
 * any alpha above 40 (an anti-aliased stroke keeps the colour, with less alpha, on the transparent canvas).
 */
function colourCoverage(chart: Locator, exact: boolean): Promise<number[]> {
  return chart.evaluate((figure, exact) => {
    const canvas = figure.querySelector('.uplot-box canvas') as HTMLCanvasElement
    const { data, width, height } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
    const swatches = [...figure.querySelectorAll('.run-legend .swatch')].map((s) => getComputedStyle(s).backgroundColor.match(/\d+/g)!.map(Number))
    return swatches.map(([r, g, b]) => {
      const columns = new Set<number>()
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = 4 * (y * width + x)
          const d = Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b)
          if (exact ? d === 0 && data[i + 3] === 255 : d < 24 && data[i + 3] > 40) columns.add(x)
        }
      }
      return columns.size / width
    })
  }, exact)
}

const shot = (name: string) => app.page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true })
const runRows = () => app.page.locator('table[aria-label=Runs] tbody tr[data-run]')

describe('comparing runs in Chromium', () => {
  it('lists every run with kind, status, dataset, model, hyperparameters and final metrics', async () => {
    const { page, server } = app
    await page.goto(server.url)
    await page.locator('nav a[data-view=runs]').click()
    await page.getByText(/ of 40 runs/).waitFor()
    const header = await page.locator('table[aria-label=Runs] thead').textContent()
    for (const col of ['Name', 'Kind', 'Status', 'Dataset', 'Model', 'task', 'optimizer', 'learningRate', 'loss', 'Duration', 'Backend']) expect(header).toContain(col)
    const first = await runRows().first().textContent()
    expect(first).toMatch(/finetune tnews 1.*finetune.*completed.*tnews/)
    await shot('runs-table')
    // the views not opened yet have their code loaded once the page is idle (Compare's first open does not
    // wait for its chunk); the parallel coordinates' part of ECharts is not among them
    const loaded = () => page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name.split('/').pop()!))
    await expect.poll(async () => (await loaded()).some((f) => /^CompareView-.*\.js$/.test(f))).toBe(true)
    expect((await loaded()).some((f) => /^CompareViewParallel-/.test(f))).toBe(false)
  })

  it('filters by search and status, and sorts by a final metric', async () => {
    const { page } = app
    await page.getByLabel('Search runs').fill('adamw')
    await page.getByText(/^18 of 40 runs/).waitFor()
    await page.getByLabel('Search runs').fill('')
    await page.getByLabel('Status').selectOption('failed')
    await page.getByText(/^1 of 40 runs/).waitFor()
    await expect(runRows().locator('td.name-cell').allTextContents()).resolves.toEqual([expect.stringContaining('#34')])
    await page.getByLabel('Status').selectOption('')
    await page.getByLabel('Search runs').fill('pretrain lamb')
    await page.getByText(/^18 of 40 runs/).waitFor()
    await page.getByRole('button', { name: 'loss', exact: true }).click() // ascending final loss
    const headers = await page.locator('table[aria-label=Runs] thead th').allTextContents()
    const lossColumn = headers.findIndex((h) => h.trim() === 'loss')
    const losses = (await runRows().locator(`td:nth-child(${lossColumn + 1})`).allTextContents()).map(Number)
    expect(losses.length).toBeGreaterThan(5)
    expect(losses).toEqual([...losses].sort((a, b) => a - b))
    await shot('runs-filtered')
  })

  it('keeps search, filters and sort in the URL: a reload and a shared link show the same rows', async () => {
    const { page, server } = app
    await page.getByLabel('Status').selectOption('completed')
    await page.getByText(/^17 of 40 runs/).waitFor()
    await expect.poll(() => decodeURIComponent(page.url().replace(/\+/g, ' '))).toMatch(/#\/runs\?q=pretrain lamb&status=completed&sort=m:loss&dir=asc$/)
    const order = await runRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))
    const url = page.url()
    await page.goto('about:blank')
    await page.goto(url)
    await page.getByText(/^17 of 40 runs/).waitFor()
    expect(await page.getByLabel('Search runs').inputValue()).toBe('pretrain lamb')
    expect(await page.getByLabel('Status').inputValue()).toBe('completed')
    expect(await page.locator('table[aria-label=Runs] thead th', { hasText: /^loss$/ }).getAttribute('aria-sort')).toBe('ascending')
    expect(await runRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual(order)

    // a link someone shared, opened in a fresh page: names descending among the fine-tuning runs
    const other = await app.browser.newPage()
    await other.goto(`${server.url}#/runs?q=finetune&sort=name&dir=desc`)
    await other.getByText(/^4 of 40 runs/).waitFor()
    const names = await other.locator('table[aria-label=Runs] tbody tr[data-run] td.name-cell').allTextContents()
    expect(names.map((n) => n.trim())).toEqual(['finetune tnews 1', 'finetune tnews 0', 'finetune afqmc 1', 'finetune afqmc 0'])
    await other.close()

    // cleared controls leave only the sort in the URL
    await page.getByLabel('Status').selectOption('')
    await page.getByLabel('Search runs').fill('')
    await page.getByText(/^40 of 40 runs/).waitFor()
    await expect.poll(() => page.url()).toMatch(/#\/runs\?sort=m%3Aloss&dir=asc$|#\/runs\?sort=m:loss&dir=asc$/)
  })

  it('selects runs and opens them in Compare: diff, legend, curves, scores', async () => {
    const { page } = app
    // the selection outlives the search that found each run (rows out of view are not in the DOM)
    for (const name of ['pretrain lamb B lr0.0001 #0', 'pretrain adamw A lr0.0003 #1', 'pretrain lamb A lr0.0005 #2', 'finetune afqmc 0', 'finetune afqmc 1', 'finetune tnews 1']) {
      await page.getByLabel('Search runs').fill(name)
      await page.getByLabel(`Select ${name}`, { exact: true }).check()
    }
    await page.getByText(/ of 40 runs · 6 selected/).waitFor()
    await page.getByRole('button', { name: 'Compare (6)' }).click()
    await page.getByRole('heading', { name: 'Compare', level: 1 }).waitFor()
    expect(page.url()).toMatch(/runs=\d+(%2C|,)\d+/)

    const chart = page.locator('figure.compare-chart[data-metric=loss]')
    await chart.locator('.uplot-box[data-rendered]').waitFor()
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0)
    const legend = await chart.locator('.run-legend li').allTextContents()
    expect(legend).toHaveLength(6)
    expect(legend[0]).toContain('pretrain lamb B lr0.0001 #0')
    // the curves are really drawn, each in its run's legend colour: for each of the three pretraining runs
    // (the fine-tuning runs have no loss), the share of the plot's pixel columns holding a pixel of that
    // colour (the canvas is read back; on its transparent background an anti-aliased pixel keeps the
    // colour, with less alpha)
    const coverage = await colourCoverage(chart, false)
    // (the plot is about 0.9 of the canvas's width, the y axis the rest; measured 0.90, 0.74 and 0.77)
    expect(coverage.slice(0, 3).every((share) => share > 0.6)).toBe(true)
    expect(coverage.slice(3)).toEqual([0, 0, 0])
    // hovering shows every run's value at once
    const box = (await chart.locator('.uplot-box canvas').first().boundingBox())!
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5)
    await expect.poll(async () => (await chart.locator('.legend-value').allTextContents()).filter((t) => /\d/.test(t)).length).toBe(3)

    const diff = page.locator('table[aria-label="Config differences"]')
    await expect(diff.locator('th[scope=row]').allTextContents()).resolves.toEqual(expect.arrayContaining(['model.preset', 'optimizer', 'learningRate', 'task']))
    expect(await diff.locator('td.diff-cell').count()).toBeGreaterThan(5)
    const keysDiffering = await diff.locator('tbody tr').count()
    await page.getByLabel('Differences only').uncheck()
    await expect.poll(() => diff.locator('tbody tr').count()).toBeGreaterThan(keysDiffering) // batchSize and maxSeqLength agree, and show now

    const scores = page.locator('table[aria-label=Scores]')
    await expect(scores.locator('thead').textContent()).resolves.toMatch(/afqmc.*tnews.*dev\/loss.*Average/)
    await expect(scores.locator('tr', { hasText: 'finetune afqmc 1' }).locator('td.best').first().textContent()).resolves.toContain('60.00')
    await page.locator('.parallel-box[data-rendered]').waitFor()
    await shot('compare-six-runs')
  })

  it('zooms by dragging and re-fetches the range; a double click zooms out', async () => {
    const { page } = app
    const plot = page.locator('figure.compare-chart[data-metric=loss] .uplot-box')
    const over = (await plot.locator('.u-over').boundingBox())!
    await page.mouse.move(over.x + over.width * 0.1, over.y + over.height / 2)
    await page.mouse.down()
    await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2, { steps: 5 })
    await page.mouse.up()
    await expect.poll(async () => Number((await plot.getAttribute('data-range'))!.split(',')[1])).toBeLessThan(1000)
    const [lo, hi] = (await plot.getAttribute('data-range'))!.split(',').map(Number)
    expect(lo).toBeGreaterThan(100)
    expect(hi - lo).toBeLessThan(600)
    expect(page.url()).toContain('z=loss')
    await page.getByText('zoomed (double-click to reset)').waitFor()
    await shot('compare-zoomed')
    await page.mouse.dblclick(over.x + over.width / 2, over.y + over.height / 2)
    await expect.poll(() => plot.getAttribute('data-range')).toBe('1,2000')
  })

  it('switches the x axis, smoothing and log scale, all kept in the URL across a reload', async () => {
    const { page } = app
    await page.locator('select[name=x-axis]').selectOption('tokens')
    const plot = page.locator('figure.compare-chart[data-metric=loss] .uplot-box')
    await expect.poll(() => plot.getAttribute('data-extent')).toBe(`${16 * 128},${2000 * 16 * 128}`)
    await page.getByLabel('Log scale').check()
    await page.locator('.metric-picker').getByLabel('lr', { exact: true }).check()
    await page.locator('figure.compare-chart[data-metric=lr] .uplot-box[data-rendered]').waitFor()
    await expect.poll(() => page.url()).toMatch(/x=tokens.*log=1|log=1.*x=tokens/)
    const url = page.url()
    await page.goto('about:blank')
    await page.goto(url)
    await page.locator('figure.compare-chart[data-metric=lr] .uplot-box[data-rendered]').waitFor()
    expect(await page.locator('select[name=x-axis]').inputValue()).toBe('tokens')
    expect(await page.getByLabel('Log scale').isChecked()).toBe(true)
    await page.locator('select[name=x-axis]').selectOption('step')
    await shot('compare-two-metrics')
  })

  it('keeps a running run updating from run.metrics events', async () => {
    const { page, wb } = app
    await page.locator('details.picker summary').click()
    await page.getByLabel('Filter runs to pick').fill('#35')
    await page.locator('.picker-list label', { hasText: `#${live}` }).locator('input').check()
    const plot = page.locator('figure.compare-chart[data-metric=loss] .uplot-box')
    await expect.poll(() => plot.getAttribute('data-extent')).toBe('1,2000')
    const m = new MetricWriter(wb.db, live)
    const points = Array.from({ length: 500 }, (_, k) => ({ name: 'loss', step: 2001 + k, value: 1.5, wallTime: 1_800_000_000 + k }))
    for (const p of points) m.add(p.name, p.step, p.value, p.wallTime)
    m.flush()
    wb.emit({ type: 'run.metrics', runId: live, points })
    await expect.poll(() => plot.getAttribute('data-extent'), { timeout: 10_000 }).toBe('1,2500')
    await shot('compare-live')
  })

  it('exports CSV through a download', async () => {
    const { page } = app
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
    const file = path.join(artifacts, 'compare-export.csv')
    await download.saveAs(file)
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(8) // header + 7 runs
    expect(lines[0]).toMatch(/^id,name,config\.data\.dir,.*config\.model\.preset,.*final\.loss.*score\.afqmc,score\.tnews,score\.dev\/loss,score\.average$/)
    expect(lines[0]).not.toContain('batchSize') // only the keys that differ
    expect(lines.some((l) => l.includes('finetune afqmc 1') && l.includes(',60,'))).toBe(true)
    const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PNG' }).click()])
    const pngFile = path.join(artifacts, 'compare-export.png')
    await png.saveAs(pngFile)
    expect(fs.readFileSync(pngFile).subarray(1, 4).toString()).toBe('PNG')
  })

  it('draws a dozen runs as pixels, each exactly in its legend colour, and zooms them', async () => {
    const { page, wb } = app
    const ids = (wb.db.prepare("SELECT id FROM runs WHERE kind = 'pretrain' AND status = 'completed' ORDER BY id LIMIT 12").all() as { id: number }[]).map((r) => r.id)
    await page.evaluate((q) => (location.hash = `#/compare?${q}`), `runs=${ids.join(',')}&m=loss`)
    const chart = page.locator('figure.compare-chart[data-metric=loss]')
    await chart.locator('.uplot-box[data-rendered]').waitFor()
    await expect.poll(() => chart.locator('.run-legend li').count()).toBe(12)
    // from 9 runs on the curves are written into pixels, not stroked: no anti-aliasing, so every run's
    // pixels have exactly its legend colour. For each run, the share of the plot's columns holding one
    // (later runs are drawn over earlier ones where the curves coincide; the last is drawn whole)
    const coverage = () => colourCoverage(chart, true)
    const whole = await coverage()
    expect(whole.at(-1)).toBeGreaterThan(0.6)
    expect(whole.filter((share) => share > 0.05).length).toBeGreaterThanOrEqual(10)
    await shot('compare-twelve-runs')
    // zoomed, the same pixels follow the new range
    const plot = chart.locator('.uplot-box')
    const drawn = await plot.getAttribute('data-drawn')
    const over = (await plot.locator('.u-over').boundingBox())!
    await page.mouse.move(over.x + over.width * 0.05, over.y + over.height / 2)
    await page.mouse.down()
    await page.mouse.move(over.x + over.width * 0.25, over.y + over.height / 2, { steps: 5 })
    await page.mouse.up()
    await expect.poll(() => plot.getAttribute('data-drawn')).not.toBe(drawn)
    await expect.poll(async () => (await coverage()).at(-1)).toBeGreaterThan(0.6)
    await page.mouse.dblclick(over.x + over.width / 2, over.y + over.height / 2)
    await expect.poll(() => plot.getAttribute('data-range')).toBe('1,2000')
  })

  it('deletes a run and its checkpoint after confirmation', async () => {
    const { page, wb } = app
    await page.locator('nav a[data-view=runs]').click()
    await page.getByLabel('Search runs').fill('pretrain adamw B lr0.0001 #33')
    await page.getByText(/^1 of 40 runs/).waitFor()
    expect(await runRows().getAttribute('data-run')).toBe(String(doomed))
    await page.getByLabel('Select all shown runs').check()
    await page.getByRole('button', { name: 'Delete…' }).click()
    await page.getByRole('heading', { name: 'Delete 1 run?' }).waitFor()
    await shot('runs-delete-confirm')
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
    await page.getByText('Deleted 1 run and 1 checkpoint folder.').waitFor()
    expect(fs.existsSync(path.join(wb.layout.runs, String(doomed)))).toBe(false)
    expect((await wb.call('runs.table', {})).length).toBe(39)
  })

  it('runs under the strict CSP without errors', () => {
    expect(app.errors).toEqual([])
  })
})
