// The Compare view at scale, in headless Chromium through the loopback server: R runs × P points per
// metric (default 200 × 20,000, metrics loss and lr). Measures the time from opening Compare to the first
// complete render (every chart drawn with its frame, the config diff in the DOM): the first open ever
// (every point read from the metrics table, the series then packed), after a server restart (packed
// series), with the server's memory cache warm (reopened); the time of a zoom (drag → finer frame fetched
// and drawn); the page's JS heap and the server's resident memory.
//
//   npx electron-vite build   # the UI under test
//   npx tsx test/bench/compare-ui.ts [--runs 200] [--points 20000] [--metrics loss,lr] [--repeat 5] [--db FILE] [--json]
//
// Not a test: timings on a shared machine are noisy; the table says what ran.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { serve } from '../../engine/server/server'
import { Workbench } from '../../engine/service/workbench'
import { MetricWriter } from '../../engine/store/metrics'
import { insertRun, setRunStatus } from '../../engine/store/runs'
import { builtRenderer, launchChromium } from '../e2e/browser'

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    points: { type: 'string', default: '20000' },
    metrics: { type: 'string', default: 'loss,lr' },
    repeat: { type: 'string', default: '5' },
    width: { type: 'string', default: '1280' },
    db: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
})
const RUNS = Number(args.runs)
const POINTS = Number(args.points)
const METRICS = args.metrics!.split(',').filter(Boolean)
const REPEAT = Number(args.repeat)
const log = (s: string) => !args.json && process.stderr.write(`${s}\n`)

function seed(wb: Workbench): void {
  const t0 = performance.now()
  for (let i = 0; i < RUNS; i++) {
    const optimizer = i % 2 ? 'adamw' : 'lamb'
    const lr = [1e-4, 2e-4, 3e-4, 5e-4][i % 4]
    const id = insertRun(wb.db, {
      name: `run ${i} ${optimizer} lr=${lr}`,
      kind: 'pretrain',
      config: { name: `run ${i}`, model: { preset: i % 3 ? 'A' : 'B' }, optimizer, learningRate: lr, batchSize: 16, maxSeqLength: 128, totalSteps: POINTS, warmupRatio: 0.1, seed: i },
      seed: i,
    })
    const m = new MetricWriter(wb.db, id, 50_000)
    for (let step = 1; step <= POINTS; step++) {
      const wall = 1_700_000_000 + step * 0.4
      for (const [k, name] of METRICS.entries()) {
        const v = k === 0 ? 2 + (i % 7) * 0.1 + 6 * Math.exp(-step / (POINTS / 10)) + 0.1 * Math.sin(step * 0.37 + i) : lr * Math.min(step / (POINTS / 10), 1) + k
        m.add(name, step, v, wall)
      }
    }
    m.add('dev/loss', POINTS, 2.2 + (i % 7) * 0.1)
    m.flush()
    setRunStatus(wb.db, id, 'completed', { backend: 'wasm' })
    if (i % 20 === 19) log(`seeded ${i + 1}/${RUNS} runs (${((performance.now() - t0) / 1000).toFixed(0)} s)`)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  if (!fs.existsSync(path.join(builtRenderer, 'index.html'))) throw new Error('build the renderer first: npx electron-vite build')
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-bench-compare-'))
  const database = args.db ?? path.join(home, 'mengzi.db')
  const fresh = !fs.existsSync(database)
  let wb = new Workbench({ home, database })
  if (fresh) seed(wb)
  else wb.db.exec('DELETE FROM series_pack') // the first open reads every point, as after training
  const runIds = (await wb.call('runs.list', {})).map((r) => r.id).reverse().slice(0, RUNS)
  let server = await serve(wb, { staticDir: builtRenderer })
  const browser = await launchChromium()
  const page = await browser.newPage({ viewport: { width: Number(args.width), height: 1000 } })
  // tsx names functions with a __name helper that the page lacks: the functions evaluated there need it
  await page.addInitScript({ content: 'globalThis.__name = (f) => f' })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Performance.enable')

  const load = async () => {
    await page.goto(server.url)
    await page.locator('nav a[data-view=runs]').click()
    await page.getByText(new RegExp(`of ${runIds.length} runs`)).waitFor({ timeout: 60_000 })
  }
  await load()

  const query = `runs=${runIds.join(',')}&m=${METRICS.join(',')}`

  // Timed inside the page (no automation round trips): from the hash change until every chart has drawn its
  // frame (uPlot draws in the microtask after setData; we poll every 2 ms and end on the next task) and the
  // config diff is in the DOM. (Headless Chromium here did not run requestAnimationFrame callbacks queued
  // from an evaluated script, so the end is not a painted frame: compositing is not counted.)
  async function openCompare(): Promise<number> {
    await page.evaluate(() => (location.hash = '#/runs'))
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor()
    await page.evaluate(
      ({ q, metrics }) => {
        const w = window as unknown as { benchDone: number | null }
        w.benchDone = null
        const t0 = performance.now()
        location.hash = `#/compare?${q}`
        const drawn = () =>
          metrics.every((m) => document.querySelector(`figure.compare-chart[data-metric="${m}"] .uplot-box[data-rendered]`)) &&
          !!document.querySelector('table[aria-label="Config differences"] tbody tr')
        const check = () => (drawn() ? setTimeout(() => (w.benchDone = performance.now() - t0)) : setTimeout(check, 2))
        check()
      },
      { q: query, metrics: METRICS },
    )
    await page.waitForFunction(() => (window as unknown as { benchDone: number | null }).benchDone != null, undefined, { timeout: 120_000, polling: 50 })
    return page.evaluate(() => (window as unknown as { benchDone: number }).benchDone)
  }

  log('opening Compare (first read of every point)…')
  const cold = await openCompare()
  log('restarting the server (series now packed)…')
  await server.close()
  await wb.close()
  wb = new Workbench({ home, database })
  server = await serve(wb, { staticDir: builtRenderer })
  await load()
  const restarted = await openCompare()
  const warm: number[] = []
  for (let i = 0; i < REPEAT; i++) warm.push(await openCompare())

  // zoom: a drag across a fifth of the first chart with the mouse, timed in the page from the button's
  // release (when uPlot reports the selection) until the finer frame for that range is drawn; then a
  // double click zooms back out
  const plot = page.locator(`figure.compare-chart[data-metric="${METRICS[0]}"] .uplot-box`)
  const over = (await plot.locator('.u-over').boundingBox())!
  const zooms: number[] = []
  for (let i = 0; i < REPEAT; i++) {
    await page.evaluate((metric) => {
      const w = window as unknown as { benchDone: number | null }
      w.benchDone = null
      const box = document.querySelector(`figure.compare-chart[data-metric="${metric}"] .uplot-box`) as HTMLElement
      const before = box.dataset.range
      document.addEventListener(
        'mouseup',
        () => {
          const t0 = performance.now()
          const check = () => (box.dataset.range !== before ? setTimeout(() => (w.benchDone = performance.now() - t0)) : setTimeout(check, 2))
          check()
        },
        { capture: true, once: true },
      )
    }, METRICS[0])
    const a = 0.1 + 0.05 * i
    await page.mouse.move(over.x + over.width * a, over.y + over.height / 2)
    await page.mouse.down()
    await page.mouse.move(over.x + over.width * (a + 0.2), over.y + over.height / 2, { steps: 4 })
    await page.mouse.up()
    await page.waitForFunction(() => (window as unknown as { benchDone: number | null }).benchDone != null, undefined, { timeout: 60_000, polling: 20 })
    zooms.push(await page.evaluate(() => (window as unknown as { benchDone: number }).benchDone))
    const zoomed = await plot.getAttribute('data-range')
    await page.mouse.dblclick(over.x + over.width / 2, over.y + over.height / 2)
    await page.waitForFunction((z) => document.querySelector('figure.compare-chart .uplot-box')?.getAttribute('data-range') !== z, zoomed, { polling: 20 })
  }


  await page.evaluate(() => (globalThis as { gc?: () => void }).gc?.())
  const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]))
  const result = {
    setup: {
      runs: runIds.length,
      pointsPerMetric: POINTS,
      metrics: METRICS,
      chartWidthPx: Math.round(over.width),
      viewport: `${args.width}×1000`,
      chromium: browser.version(),
      node: process.version,
      cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
      note: 'shared machine: other engineers were running builds and tests at the same time',
    },
    firstRenderFirstReadMs: Math.round(cold),
    firstRenderAfterRestartMs: Math.round(restarted),
    firstRenderWarmMs: { median: Math.round(median(warm)), min: Math.round(Math.min(...warm)), max: Math.round(Math.max(...warm)) },
    zoomMs: { median: Math.round(median(zooms)), min: Math.round(Math.min(...zooms)), max: Math.round(Math.max(...zooms)) },
    pageJsHeapUsedMiB: +(metrics.JSHeapUsedSize / 2 ** 20).toFixed(1),
    pageJsHeapTotalMiB: +(metrics.JSHeapTotalSize / 2 ** 20).toFixed(1),
    pageDomNodes: metrics.Nodes,
    serverRssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(0),
    pageErrors: errors,
  }
  await browser.close()
  await server.close()
  await wb.close()
  fs.rmSync(home, { recursive: true, force: true }) // with --db the database lives elsewhere and stays

  if (args.json) return console.log(JSON.stringify(result, null, 2))
  const s = result.setup
  console.log(`Compare view: ${s.runs} runs × ${s.pointsPerMetric} points × ${s.metrics.length} metrics (${s.metrics.join(', ')}), chart ${s.chartWidthPx} px wide, ${s.chromium}, ${s.cpus}`)
  console.log(`(${s.note})`)
  const rows: [string, string][] = [
    ['first render, first read of every point', `${result.firstRenderFirstReadMs} ms`],
    ['first render, server restarted (packed series)', `${result.firstRenderAfterRestartMs} ms`],
    [`first render, server cache warm (median of ${REPEAT})`, `${result.firstRenderWarmMs.median} ms (${result.firstRenderWarmMs.min}–${result.firstRenderWarmMs.max})`],
    [`zoom: drag → finer frame drawn (median of ${REPEAT})`, `${result.zoomMs.median} ms (${result.zoomMs.min}–${result.zoomMs.max})`],
    ['page JS heap used / total', `${result.pageJsHeapUsedMiB} / ${result.pageJsHeapTotalMiB} MiB`],
    ['page DOM nodes', String(result.pageDomNodes)],
    ['server process RSS (series cache included)', `${result.serverRssMiB} MiB`],
  ]
  const w = Math.max(...rows.map((r) => r[0].length))
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`)
  if (errors.length) console.log(`page errors: ${errors.join('; ')}`)
}

await main()
