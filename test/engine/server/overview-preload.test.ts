// After `serve` starts, the stored series overviews of finished runs are read into memory in the
// background: a first Compare frame of the whole extent then reads none of them from the database.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type RunningServer } from '../../../engine/server/server'
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
  it('serves the first whole-extent frame without reading an overview from the database', async () => {
    expect((wb.db.prepare('SELECT count(*) AS n FROM series_overview').get() as { n: number }).n).toBe(40)
    // the preload reads 16 per turn of the event loop: a few turns see it through
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
    const prepare = wb.db.prepare.bind(wb.db)
    const reads: string[] = []
    wb.db.prepare = ((sql: string) => {
      if (/series_overview|series_pack|FROM metrics/.test(sql)) reads.push(sql)
      return prepare(sql)
    }) as typeof wb.db.prepare
    try {
      const frame = await wb.call('compare.series', { runIds, metric: 'loss', width: 100 } as never)
      expect(frame.runs.every((r) => r.overview === true && r.points === 6000 && r.ys != null)).toBe(true)
      expect(reads).toEqual([])
    } finally {
      wb.db.prepare = prepare
    }
  })
})
