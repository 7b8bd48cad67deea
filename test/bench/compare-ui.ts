// The Compare view at scale, in headless Chromium through the loopback server: R runs × P points per
// metric (default 200 × 20,000, metrics loss and lr). Measures, in the page:
//   first render: from the hash change that opens Compare until every chart has drawn its frame and the
//     config diff is in the DOM; after a server start (series packed when their runs completed, the page
//     freshly loaded), with the server's memory cache warm (reopened), and last the first open of a
//     database written before packing at completion (every point read from the metrics table); a reopen
//     on the same view draws the frames the page held at once (marked data-reshown), so warm opens have
//     two figures: until those are drawn, and until the frames fetched afresh have replaced them;
//   parallel coordinates: from the same hash change until ECharts has been given the hyperparameters
//     chart (drawn only after the curves have painted; ECharts paints it on the next frame);
//   zoom, two figures per drag across a fifth of the chart, both from the mouse button's release:
//     "at hand" until the canvas has drawn the zoomed range from the data the chart already holds, and
//     "refined" until the frame fetched for that range is drawn; once right after the first open (the
//     whole series not yet in the server's memory: that request reads them), then with the cache warm;
//   the page's JS heap and DOM nodes, the server's resident memory.
// The server runs in a child process (compare-server.ts), as the app's engine runs in its main process:
// not in this one, where the Playwright client parses every frame the page receives.
//
//   npx electron-vite build   # the UI under test
//   npx tsx test/bench/compare-ui.ts [--runs 200] [--points 20000] [--metrics loss,lr] [--repeat 5] [--db FILE] [--json]
//
// Not a test: timings on a shared machine are noisy; the table says what ran and the load before and after.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fork, type ChildProcess } from 'node:child_process'
import { Workbench } from '../../engine/service/workbench'
import { MetricWriter } from '../../engine/store/metrics'
import { insertRun, setRunStatus } from '../../engine/store/runs'
import { packRunSeries } from '../../engine/store/compare'
import { builtRenderer, launchChromium } from '../e2e/browser'

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    points: { type: 'string', default: '20000' },
    metrics: { type: 'string', default: 'loss,lr' },
    repeat: { type: 'string', default: '5' },
    width: { type: 'string', default: '1280' },
    db: { type: 'string' },
    /** write a CPU profile of the page during the first open (after the server start) to this file */
    profile: { type: 'string' },
    /** write a Chromium performance trace (devtools.timeline: style, layout, paint) of the first open to this file */
    trace: { type: 'string' },
    /** save a screenshot of the viewport after the first open to this file (what the timings saw) */
    screenshot: { type: 'string' },
    /** only the first open after a server start (a quick look while profiling) */
    'first-only': { type: 'boolean', default: false },
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

/** The server (compare-server.ts) in a child process; `ask` sends a message and waits for its reply. */
async function startServer(home: string, database: string) {
  const child: ChildProcess = fork(path.join(import.meta.dirname, 'compare-server.ts'), [home, database, ...(args.profile ? ['--profile'] : [])], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const replies: ((m: Record<string, unknown>) => void)[] = []
  const ready = new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bench server exited (${code})`)))
    child.on('message', (m: Record<string, unknown>) => (m.type === 'ready' ? resolve(m.url as string) : replies.shift()?.(m)))
  })
  const url = await ready
  const ask = (m: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve) => {
      replies.push(resolve)
      child.send(m)
    })
  return { url, ask, close: async () => void (await ask({ type: 'close' })) }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  if (!fs.existsSync(path.join(builtRenderer, 'index.html'))) throw new Error('build the renderer first: npx electron-vite build')
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-bench-compare-'))
  const database = args.db ?? path.join(home, 'mengzi.db')
  const fresh = !fs.existsSync(database)
  const wb = new Workbench({ home, database })
  if (fresh) seed(wb) // runs marked completed: their series packed, as at the end of training
  const runIds = (wb.db.prepare('SELECT id FROM runs ORDER BY id LIMIT ?').all(RUNS) as { id: number }[]).map((r) => r.id)
  // a database from before packing at completion (or one the last run of this bench emptied): pack as completion would
  const unpacked = runIds.filter((id) => !wb.db.prepare('SELECT 1 FROM series_overview WHERE run_id = ?').get(id))
  for (const id of unpacked) packRunSeries(wb.db, id)
  if (unpacked.length) log(`packed the series of ${unpacked.length} runs, as their completion would have`)
  // the server starts afresh for the first open, in its own process: nothing of the seeding left in its memory
  await wb.close()
  const loadBefore = os.loadavg()
  const wsFrames: { t: number; what: string }[] = []
  let server = await startServer(home, database)
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
  async function openCompare(): Promise<{ render: number; fresh: number; parallel: number }> {
    await page.evaluate(() => (location.hash = '#/runs'))
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor()
    await page.evaluate(
      ({ q, metrics }) => {
        const w = window as unknown as { benchDone: number | null; benchFresh: number | null; benchParallel: number | null }
        w.benchDone = null
        w.benchFresh = null
        w.benchParallel = null
        const t0 = performance.now()
        location.hash = `#/compare?${q}`
        const drawn = () =>
          metrics.every((m) => document.querySelector(`figure.compare-chart[data-metric="${m}"] .uplot-box[data-rendered]`)) &&
          !!document.querySelector('table[aria-label="Config differences"] tbody tr')
        const check = () => (drawn() ? setTimeout(() => (w.benchDone = performance.now() - t0)) : setTimeout(check, 2))
        check()
        const checkFresh = () =>
          drawn() && !document.querySelector('.uplot-box[data-reshown]') ? setTimeout(() => (w.benchFresh = performance.now() - t0)) : setTimeout(checkFresh, 2)
        checkFresh()
        const checkParallel = () =>
          document.querySelector('.parallel-box[data-rendered]') ? (w.benchParallel = performance.now() - t0) : setTimeout(checkParallel, 5)
        checkParallel()
      },
      { q: query, metrics: METRICS },
    )
    const done = () => {
      const w = window as unknown as { benchDone: number | null; benchFresh: number | null; benchParallel: number | null }
      return w.benchDone != null && w.benchFresh != null && w.benchParallel != null
    }
    await page.waitForFunction(done, undefined, { timeout: 120_000, polling: 50 })
    return page.evaluate(() => {
      const w = window as unknown as { benchDone: number; benchFresh: number; benchParallel: number }
      return { render: w.benchDone, fresh: w.benchFresh, parallel: w.benchParallel }
    })
  }

  // zoom: a drag across a fifth of the first chart with the mouse, timed in the page from the button's
  // release: until the canvas has drawn the new range with the data at hand (uPlot's draw hook writes the
  // drawn range into data-drawn), and until the frame fetched for the range is drawn (data-range is set
  // with it); then a double click zooms out (the whole-extent frame is still held: drawn without a request)
  const plot = page.locator(`figure.compare-chart[data-metric="${METRICS[0]}"] .uplot-box`)
  async function zoomOnce(at: number): Promise<{ atHand: number; refined: number; unzoom: number }> {
    const over = (await plot.locator('.u-over').boundingBox())!
    await page.evaluate((metric) => {
      const w = window as unknown as { benchZoom: { atHand: number | null; refined: number | null } }
      w.benchZoom = { atHand: null, refined: null }
      const box = document.querySelector(`figure.compare-chart[data-metric="${metric}"] .uplot-box`) as HTMLElement
      const drawnBefore = box.dataset.drawn
      const rangeBefore = box.dataset.range
      document.addEventListener(
        'mouseup',
        () => {
          const t0 = performance.now()
          const check = () => {
            if (w.benchZoom.atHand == null && box.dataset.drawn !== drawnBefore) w.benchZoom.atHand = performance.now() - t0
            if (box.dataset.range !== rangeBefore) setTimeout(() => (w.benchZoom.refined = performance.now() - t0))
            else setTimeout(check, 2)
          }
          setTimeout(check)
        },
        { capture: true, once: true },
      )
    }, METRICS[0])
    await page.mouse.move(over.x + over.width * at, over.y + over.height / 2)
    await page.mouse.down()
    await page.mouse.move(over.x + over.width * (at + 0.2), over.y + over.height / 2, { steps: 4 })
    await page.mouse.up()
    await page.waitForFunction(() => (window as unknown as { benchZoom: { refined: number | null } }).benchZoom.refined != null, undefined, { timeout: 60_000, polling: 20 })
    const z = await page.evaluate(() => (window as unknown as { benchZoom: { atHand: number; refined: number } }).benchZoom)
    const zoomed = await plot.getAttribute('data-range')
    const t0 = Date.now()
    await page.mouse.dblclick(over.x + over.width / 2, over.y + over.height / 2)
    await page.waitForFunction((z) => document.querySelector('figure.compare-chart .uplot-box')?.getAttribute('data-range') !== z, zoomed, { polling: 5 })
    // a drag that drew nothing before the finer frame counts the refined time; the zoom out includes the
    // automation's round trips (a few ms)
    return { atHand: z.atHand ?? z.refined, refined: z.refined, unzoom: Date.now() - t0 }
  }

  log('opening Compare after a server start (series packed)…')
  if (args.profile) {
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
    // the socket's frames through CDP (each payload crosses to this process again: costs time itself)
    if (process.env.BENCH_WS_FRAMES) await cdp.send('Network.enable')
    const frame = (dir: string) => (e: { timestamp: number; response: { payloadData: string } }) =>
      wsFrames.push({ t: e.timestamp, what: `${dir} ${e.response.payloadData.slice(0, 60).replace(/"(ys|xs)":"[^"]*/g, '')} (${e.response.payloadData.length} B)` })
    cdp.on('Network.webSocketFrameSent', frame('sent'))
    cdp.on('Network.webSocketFrameReceived', frame('received'))
    await cdp.send('Profiler.start')
    await server.ask({ type: 'mark' })
  }
  if (args.trace) await browser.startTracing(page, { path: args.trace, categories: (process.env.TRACE_CATEGORIES ?? 'devtools.timeline,disabled-by-default-devtools.timeline').split(',') })
  const started = await openCompare()
  if (args.trace) {
    await browser.stopTracing()
    log(`performance trace of the first open written to ${args.trace}`)
  }
  if (args.profile) {
    const { profile } = await cdp.send('Profiler.stop')
    fs.writeFileSync(args.profile, JSON.stringify(profile))
    for (const f of wsFrames) log(`  ${((f.t * 1e6 - profile.startTime) / 1000).toFixed(0)} ms (profile time) ${f.what}`)
    log(`CPU profile of the first open written to ${args.profile}; server, from the profile's start (±ms): ${((await server.ask({ type: 'log' })).lines as string[]).join('; ')}`)
  }
  if (args.screenshot) {
    await page.locator('.parallel-box[data-rendered]').waitFor({ timeout: 60_000 })
    await page.screenshot({ path: args.screenshot })
  }
  if (args['first-only']) {
    console.log(`first render, server started: ${Math.round(started.render)} ms (load ${os.loadavg()[0].toFixed(2)})`)
    await browser.close()
    await server.close()
    return
  }
  // the zoom that follows at once, before the background read of the whole series: that request reads them
  const firstZoom = await zoomOnce(0.4)
  // "warm": every series in the server's memory (a zoomed request reads any the background has not yet)
  await server.ask({ type: 'warm', runIds, metrics: METRICS })
  const warm: number[] = []
  const warmFresh: number[] = []
  const warmParallel: number[] = []
  for (let i = 0; i < REPEAT; i++) {
    const open = await openCompare()
    warm.push(open.render)
    warmFresh.push(open.fresh)
    warmParallel.push(open.parallel)
  }
  const atHand: number[] = []
  const refined: number[] = []
  const unzoom: number[] = []
  for (let i = 0; i < REPEAT; i++) {
    const z = await zoomOnce(0.1 + 0.05 * i)
    atHand.push(z.atHand)
    refined.push(z.refined)
    unzoom.push(z.unzoom)
  }
  const over = (await plot.locator('.u-over').boundingBox())!

  // last, as it rewrites the packs: the first open of a database written before packing at completion
  log('opening Compare on a database without packs (first read of every point)…')
  await server.close()
  const emptied = new Workbench({ home, database })
  emptied.db.exec('DELETE FROM series_pack')
  await emptied.close()
  server = await startServer(home, database)
  await load()
  const unpackedOpen = await openCompare()

  await page.evaluate(() => (globalThis as { gc?: () => void }).gc?.())
  const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]))
  const serverRss = (await server.ask({ type: 'rss' })).bytes as number
  const stats = (xs: number[]) => ({ median: Math.round(median(xs)), min: Math.round(Math.min(...xs)), max: Math.round(Math.max(...xs)) })
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
      loadAverage1m: { before: +loadBefore[0].toFixed(2), after: +os.loadavg()[0].toFixed(2) },
    },
    firstRenderAfterServerStartMs: Math.round(started.render),
    parallelDrawnAfterServerStartMs: Math.round(started.parallel),
    firstZoomAfterServerStartMs: { atHand: Math.round(firstZoom.atHand), refined: Math.round(firstZoom.refined) },
    firstRenderWarmMs: stats(warm),
    freshFramesWarmMs: stats(warmFresh),
    parallelDrawnWarmMs: stats(warmParallel),
    zoomAtHandMs: stats(atHand),
    zoomRefinedMs: stats(refined),
    unzoomMs: stats(unzoom),
    firstRenderWithoutPacksMs: Math.round(unpackedOpen.render),
    pageJsHeapUsedMiB: +(metrics.JSHeapUsedSize / 2 ** 20).toFixed(1),
    pageJsHeapTotalMiB: +(metrics.JSHeapTotalSize / 2 ** 20).toFixed(1),
    pageDomNodes: metrics.Nodes,
    serverRssMiB: +(serverRss / 2 ** 20).toFixed(0),
    pageErrors: errors,
  }
  await browser.close()
  await server.close()
  fs.rmSync(home, { recursive: true, force: true }) // with --db the database lives elsewhere and stays

  if (args.json) return console.log(JSON.stringify(result, null, 2))
  const s = result.setup
  console.log(`Compare view: ${s.runs} runs × ${s.pointsPerMetric} points × ${s.metrics.length} metrics (${s.metrics.join(', ')}), chart ${s.chartWidthPx} px wide, ${s.chromium}, ${s.cpus}`)
  console.log(`load average (1 min) ${s.loadAverage1m.before} before, ${s.loadAverage1m.after} after (a shared machine)`)
  const range = (x: { median: number; min: number; max: number }) => `${x.median} ms (${x.min}–${x.max})`
  const rows: [string, string][] = [
    ['first render, server started (series packed at completion)', `${result.firstRenderAfterServerStartMs} ms`],
    ['zoom right after it: range drawn at hand / refined (whole series read)', `${result.firstZoomAfterServerStartMs.atHand} / ${result.firstZoomAfterServerStartMs.refined} ms`],
    ['parallel coordinates drawn, server started (from the same start)', `${result.parallelDrawnAfterServerStartMs} ms`],
    [`reopen, server cache warm: held frames drawn (median of ${REPEAT})`, range(result.firstRenderWarmMs)],
    [`reopen, server cache warm: fresh frames drawn (median of ${REPEAT})`, range(result.freshFramesWarmMs)],
    [`parallel coordinates drawn, cache warm (median of ${REPEAT})`, range(result.parallelDrawnWarmMs)],
    [`zoom: release → range drawn from data at hand (median of ${REPEAT})`, range(result.zoomAtHandMs)],
    [`zoom: release → refined frame fetched and drawn (median of ${REPEAT})`, range(result.zoomRefinedMs)],
    [`zoom out: double click → whole extent drawn (median of ${REPEAT})`, range(result.unzoomMs)],
    ['first render, database without packs (every point read)', `${result.firstRenderWithoutPacksMs} ms`],
    ['page JS heap used / total', `${result.pageJsHeapUsedMiB} / ${result.pageJsHeapTotalMiB} MiB`],
    ['page DOM nodes', String(result.pageDomNodes)],
    ['server process RSS (series cache included)', `${result.serverRssMiB} MiB`],
  ]
  const w = Math.max(...rows.map((r) => r[0].length))
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`)
  if (errors.length) console.log(`page errors: ${errors.join('; ')}`)
}

await main()
