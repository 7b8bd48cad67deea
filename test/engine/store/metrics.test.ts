// A run's final metrics and summaries stay true when a resume drops the points after its checkpoint:
// the last value, the extremes and the packed series are those of the points that remain.
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, type Db } from '../../../engine/store/db'
import { insertRun } from '../../../engine/store/runs'
import { deleteMetricsAfter, finalMetrics, MetricWriter } from '../../../engine/store/metrics'
import { metricSummaries, packSeries, readSeries, readSeriesOverview, readSeriesPack, writeSeriesOverview } from '../../../engine/store/compare'
import { tempDir } from '../../helpers'

let tmp: ReturnType<typeof tempDir>
let db: Db
beforeEach(() => {
  tmp = tempDir()
  db = openDatabase(path.join(tmp.dir, 'm.db'))
})
afterEach(() => {
  db.close()
  tmp.cleanup()
})

function runWith(losses: number[]): number {
  const id = insertRun(db, { name: 'r', kind: 'pretrain', config: {}, seed: 1 })
  const w = new MetricWriter(db, id, 1000)
  losses.forEach((v, i) => {
    w.add('loss', i + 1, v, 1000 + i)
    w.add('lr', i + 1, 1e-3 * (i + 1), 1000 + i)
  })
  w.flush()
  return id
}

describe('final metrics and summaries', () => {
  it('are the last value of every series', () => {
    const id = runWith([5, 4, 3.5, 3])
    expect(finalMetrics(db, id)).toEqual({ loss: 3, lr: 4e-3 })
  })

  it('after deleteMetricsAfter: last value, extremes and step range of what remains; packs dropped', () => {
    const losses = [5, 4, 6, 3, 1, 0.5, 9] // the extremes after step 3 (1, 0.5, 9) go with the points
    const id = runWith(losses)
    const whole = readSeries(db, id, 'loss')
    packSeries(db, id, 'loss', whole)
    writeSeriesOverview(db, id, 'loss', whole)
    expect(readSeriesPack(db, id, 'loss')).not.toBeNull()

    expect(deleteMetricsAfter(db, id, 3)).toBe(8) // 4 steps × 2 series
    expect(finalMetrics(db, id)).toEqual({ loss: 6, lr: 3e-3 })
    const loss = metricSummaries(db, [id]).find((r) => r.name === 'loss')!
    expect(loss).toMatchObject({ firstStep: 1, lastStep: 3, lastValue: 6, minValue: 4, maxValue: 6 })
    expect(readSeriesPack(db, id, 'loss')).toBeNull()
    expect(readSeriesOverview(db, id, 'loss')).toBeNull()

    // the resumed run writes steps 4.. again: the summary moves forward from step 3, not from the old step 7
    const w = new MetricWriter(db, id, 1000)
    w.add('loss', 4, 2.5, 2000)
    w.flush()
    expect(finalMetrics(db, id).loss).toBe(2.5)
    expect(metricSummaries(db, [id]).find((r) => r.name === 'loss')).toMatchObject({ lastStep: 4, minValue: 2.5, maxValue: 6 })
  })

  it('deleting nothing changes nothing', () => {
    const id = runWith([2, 1])
    const before = metricSummaries(db, [id])
    expect(deleteMetricsAfter(db, id, 2)).toBe(0)
    expect(metricSummaries(db, [id])).toEqual(before)
  })
})
