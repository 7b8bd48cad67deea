// After `serve` starts, the stored series overviews of finished runs are read into memory in the
// background, then the newest runs go once through the summary and a frame (a warm-up): a first Compare
// frame of the whole extent then reads none of them from the database, and the warm-up reads no series.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type RunningServer } from '../../../engine/server/server'
import { BACKGROUND_DELAY_MS } from '../../../engine/service/compare-series'
import { Workbench } from '../../../engine/service/workbench'
import { MetricWriter } from '../../../engine/store/metrics'
import { insertRun, setRunStatus } from '../../../engine/store/runs'
import { tempDir } from '../../helpers'

const tmp = tempDir()
let wb: Workbench
let server: RunningServer
const runIds: number[] = []
const home = path.join(tmp.dir, 'home')

beforeAll(async () => {
  const seed = new Workbench({ home })
  for (let r = 0; r < 40; r++) {
    const id = insertRun(seed.db, { name: `run ${r}`, kind: 'pretrain', config: {}, seed: r })
    const m = new MetricWriter(seed.db, id, 10_000)
    // more points than an overview keeps, so that the overview is stored apart from the pack
    for (let step = 1; step <= 6000; step++) m.add('loss', step, 3 + r / 10 + Math.sin(step), 1_700_000_000 + step)
    m.flush()
    setRunStatus(seed.db, id, 'completed', { backend: 'wasm' })
    runIds.push(id)
  }
  await seed.close()
  wb = new Workbench({ home })
  server = await serve(wb, { staticDir: path.join(tmp.dir, 'ui') })
})
afterAll(async () => {
  await server.close()
  await wb.close()
  tmp.cleanup()
})

describe('overviews read at server start', () => {
  it('serves the first whole-extent frame from memory, and the warm-up after the preload queues no series', async () => {
    expect((wb.db.prepare('SELECT count(*) AS n FROM series_overview').get() as { n: number }).n).toBe(40)
    await wb.preloadSeries() // the promise `serve` started: the preload, then the warm-up
    // the warm-up drew a frame from the overviews of the newest runs, quietly: 2 s later (when a real
    // request's whole series start being read) nothing has been read
    await new Promise((r) => setTimeout(r, BACKGROUND_DELAY_MS + 300))
    expect(wb.seriesInMemory).toBe(0)
    // every overview is in memory: with their rows gone, the first frame is still drawn from overviews
    wb.db.exec('DELETE FROM series_overview')
    const frame = await wb.call('compare.series', { runIds, metric: 'loss', width: 100 } as never)
    expect(frame.runs.every((r) => r.overview === true && r.points === 6000 && r.ys != null)).toBe(true)
    // and that request, unlike the warm-up, has the whole series read in the background for the zoom
    await expect.poll(() => wb.seriesInMemory, { timeout: BACKGROUND_DELAY_MS + 5000, interval: 100 }).toBe(40)
  }, 20_000)
})
