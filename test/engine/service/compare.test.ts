import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { configDiff, diffConfigs, flattenConfig } from '../../../engine/service/compare-diff'
import { downsampleMinMax, emaSmooth, gridXs, SLOTS } from '../../../engine/service/compare-downsample'
import { BACKGROUND_DELAY_MS, pickMinMaxPoints } from '../../../engine/service/compare-series'
import { comparisonCsv, comparisonMarkdown, comparisonReport } from '../../../engine/service/compare'
import { Workbench } from '../../../engine/service/workbench'
import { MetricWriter } from '../../../engine/store/metrics'
import { insertDataset } from '../../../engine/store/datasets'
import { recordCheckpoint } from '../../../engine/store/checkpoints'
import { insertModel } from '../../../engine/store/models'
import { insertRun, setRunStatus } from '../../../engine/store/runs'
import { readSeries, readSeriesOverview, readSeriesPack, seriesOverview } from '../../../engine/store/compare'
import { tempDir } from '../../helpers'

const f32 = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64')
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
}
const f64 = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64')
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
}

describe('config diff', () => {
  const a = { name: 'a', model: { preset: 'A', overrides: { hidden_dropout_prob: 0.1 } }, optimizer: 'lamb', learningRate: 1e-4, data: { kind: 'synthetic', sizes: [1, 2] } }
  const b = { name: 'b', model: { preset: 'B', overrides: { hidden_dropout_prob: 0.1 } }, optimizer: 'lamb', learningRate: 3e-4, data: { kind: 'synthetic', sizes: [1, 2] }, pairObjective: 'sop' }

  it('flattens nested objects to dotted keys and keeps arrays whole', () => {
    expect(flattenConfig(a)).toEqual({
      name: 'a',
      'model.preset': 'A',
      'model.overrides.hidden_dropout_prob': 0.1,
      optimizer: 'lamb',
      learningRate: 1e-4,
      'data.kind': 'synthetic',
      'data.sizes': [1, 2],
    })
  })

  it('marks the keys that differ, a key one run lacks reading as null there', () => {
    const rows = diffConfigs([a, b])
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r]))
    expect(rows.map((r) => r.key)).toEqual([...rows.map((r) => r.key)].sort())
    expect(byKey['model.preset']).toEqual({ key: 'model.preset', values: ['A', 'B'], differs: true })
    expect(byKey['model.overrides.hidden_dropout_prob'].differs).toBe(false)
    expect(byKey['data.sizes'].differs).toBe(false) // equal arrays are equal
    expect(byKey.pairObjective).toEqual({ key: 'pairObjective', values: [null, 'sop'], differs: true })
  })

  it('gives only the differing keys, by run id, for the CLI', () => {
    expect(configDiff([{ id: 7, config: a }, { id: 9, config: b }])).toEqual({
      'model.preset': { 7: 'A', 9: 'B' },
      learningRate: { 7: 1e-4, 9: 3e-4 },
      name: { 7: 'a', 9: 'b' },
      pairObjective: { 7: null, 9: 'sop' },
    })
    expect(configDiff([{ id: 1, config: a }, { id: 2, config: structuredClone(a) }])).toEqual({})
  })
})

describe('min/max downsampling', () => {
  it('keeps the extremes and both endpoints of any series, within 4 values per pixel', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 1, max: 300 }),
        (values, buckets) => {
          const ys = Float64Array.from(values)
          const xs = Float64Array.from(values, (_, i) => i * 3 + 10)
          const out = new Float64Array(buckets * SLOTS)
          const n = downsampleMinMax(xs, ys, { lo: xs[0], hi: xs[xs.length - 1], buckets }, out)
          expect(n).toBe(values.length)
          const kept = Array.from(out).filter((v) => !Number.isNaN(v))
          expect(kept).toContain(Math.min(...values))
          expect(kept).toContain(Math.max(...values))
          expect(kept[0]).toBe(values[0])
          expect(kept[kept.length - 1]).toBe(values[values.length - 1])
          expect(out.length).toBe(buckets * 4)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('places every slot inside its bucket and leaves empty buckets NaN', () => {
    const xs = gridXs({ lo: 0, hi: 100, buckets: 10 })
    expect(xs.length).toBe(40)
    expect(xs[0]).toBeCloseTo(1.25)
    expect(xs[39]).toBeCloseTo(98.75)
    const out = new Float32Array(40)
    downsampleMinMax([0, 5, 95], [1, 2, 3], { lo: 0, hi: 100, buckets: 10 }, out)
    expect(Array.from(out.slice(0, 4))).toEqual([1, 1, 2, 2])
    expect(out.slice(4, 36).every(Number.isNaN)).toBe(true)
    expect(Array.from(out.slice(36))).toEqual([3, 3, 3, 3])
  })

  it('keeps only the points inside a zoomed range', () => {
    const xs = Float64Array.from({ length: 1000 }, (_, i) => i)
    const ys = Float64Array.from(xs, (x) => Math.sin(x / 10) + (x === 500 ? 9 : 0))
    const out = new Float64Array(40)
    expect(downsampleMinMax(xs, ys, { lo: 400, hi: 600, buckets: 10 }, out)).toBe(201)
    expect(Math.max(...out)).toBe(ys[500])
  })

  it('picks real points for exports: first, extremes, last', () => {
    const ys = Float64Array.from({ length: 10_000 }, (_, i) => Math.cos(i / 50) + (i === 7777 ? 5 : 0))
    const xs = Float64Array.from(ys, (_, i) => i)
    const keep = pickMinMaxPoints(xs, ys, 50)
    expect(keep.length).toBeLessThanOrEqual(200)
    expect(keep[0]).toBe(0)
    expect(keep.at(-1)).toBe(9999)
    expect(keep).toContain(7777)
    expect(keep).toEqual([...keep].sort((p, q) => p - q))
  })

  it('summarises a series by its own points: endpoints, extremes, and every value inside its run of points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(NaN)), { minLength: 1, maxLength: 2000 }),
        fc.integer({ min: 1, max: 200 }),
        (values, buckets) => {
          const n = values.length
          const s = { step: Float64Array.from(values, (_, i) => i + 1), value: Float64Array.from(values), wall: Float64Array.from(values, (_, i) => 1000 + i) }
          const o = seriesOverview(s, buckets)
          const at = Array.from(o.step, (step) => step - 1) // steps are index + 1: the kept points' indices
          expect(at).toEqual([...new Set(at)].sort((a, b) => a - b))
          expect(Array.from(o.value)).toEqual(at.map((i) => values[i]))
          expect(Array.from(o.wall)).toEqual(at.map((i) => 1000 + i))
          expect([at[0], at.at(-1)]).toEqual([0, n - 1])
          if (n <= 2 * buckets + 2) {
            expect(at.length).toBe(n) // short series are kept whole
            return
          }
          expect(at.length).toBeLessThanOrEqual(2 * buckets + 2)
          for (let b = 0; b < buckets; b++) {
            const lo = Math.floor((b * n) / buckets)
            const hi = Math.floor(((b + 1) * n) / buckets)
            const inRun = at.filter((i) => i >= lo && i < hi).map((i) => values[i]).filter(Number.isFinite)
            for (let i = lo; i < hi; i++) if (Number.isFinite(values[i])) {
              expect(values[i]).toBeGreaterThanOrEqual(Math.min(...inRun))
              expect(values[i]).toBeLessThanOrEqual(Math.max(...inRun))
            }
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it('draws from an overview the vertical extent of every pixel column, give or take the column beside it', () => {
    // 100,000 noisy points with spikes, at 1,000 buckets (the widest a 2,048-bucket overview serves)
    let seed = 7
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const n = 100_000
    const s = { step: Float64Array.from({ length: n }, (_, i) => i), value: Float64Array.from({ length: n }, (_, i) => Math.exp(-i / 20_000) + 0.1 * rand() + (rand() < 0.001 ? 5 : 0)), wall: new Float64Array(n) }
    const o = seriesOverview(s)
    expect(o.step.length).toBeLessThanOrEqual(2 * 2048 + 2)
    const grid = { lo: 0, hi: n - 1, buckets: 1000 }
    const full = new Float64Array(grid.buckets * SLOTS)
    const fromOverview = new Float64Array(grid.buckets * SLOTS)
    downsampleMinMax(s.step, s.value, grid, full)
    downsampleMinMax(o.step, o.value, grid, fromOverview)
    const extent = (a: Float64Array, b: number) => [Math.min(...a.subarray(b * SLOTS, b * SLOTS + SLOTS)), Math.max(...a.subarray(b * SLOTS, b * SLOTS + SLOTS))]
    for (let b = 0; b < grid.buckets; b++) {
      const [lo, hi] = extent(full, b)
      const near = [b - 1, b, b + 1].filter((k) => k >= 0 && k < grid.buckets).map((k) => extent(fromOverview, k))
      expect(Math.min(...near.map((e) => e[0]))).toBeLessThanOrEqual(lo)
      expect(Math.max(...near.map((e) => e[1]))).toBeGreaterThanOrEqual(hi)
    }
    expect(Math.max(...fromOverview)).toBe(Math.max(...s.value))
  })

  it('smooths like TensorBoard: debiased EMA, the first value unchanged', () => {
    const s = emaSmooth([10, 0, 0], 0.5)
    expect(s[0]).toBe(10)
    expect(s[1]).toBeCloseTo((0.5 * 5 + 0) / (1 - 0.25)) // (5·0.5 + 0.5·0) / 0.75
    expect(Array.from(emaSmooth([1, 2, 3], 0))).toEqual([1, 2, 3])
  })
})

describe('comparing runs through the service', () => {
  let tmp: ReturnType<typeof tempDir>
  let wb: Workbench
  let ids: number[]

  beforeEach(() => {
    tmp = tempDir()
    wb = new Workbench({ home: tmp.dir })
    const afqmc = insertDataset(wb.db, { name: 'afqmc', kind: 'afqmc', dir: path.join(wb.layout.datasets, '1'), stats: {}, files: [] })
    const corpus = insertDataset(wb.db, { name: 'fortunes-zh', kind: 'text', dir: path.join(wb.layout.datasets, '2'), stats: {}, files: [] })
    ids = []
    for (const [name, preset, lr] of [['tiny lamb', 'A', 1e-4], ['small lamb', 'B', 3e-4]] as const) {
      const id = insertRun(wb.db, { name, kind: 'pretrain', config: { name, model: { preset }, optimizer: 'lamb', learningRate: lr, batchSize: 4, maxSeqLength: 32 }, seed: 42, datasetId: corpus })
      const m = new MetricWriter(wb.db, id)
      for (let step = 1; step <= 500; step++) m.add('loss', step, (lr > 2e-4 ? 2 : 3) + 5 * Math.exp(-step / 50), 1000 + step)
      m.add('dev/loss', 500, lr > 2e-4 ? 2.1 : 3.2)
      m.flush()
      setRunStatus(wb.db, id, 'completed', { backend: 'wasm' })
      ids.push(id)
    }
    for (const [name, acc] of [['ft afqmc 1', 0.71], ['ft afqmc 2', 0.74]] as const) {
      const id = insertRun(wb.db, { name, kind: 'finetune', config: { name, task: 'afqmc', learningRate: 2e-5 }, seed: 1, datasetId: afqmc })
      wb.db.prepare('INSERT INTO evaluations (run_id, dataset_id, split, metrics) VALUES (?, ?, ?, ?)').run(id, afqmc, 'dev', JSON.stringify({ accuracy: acc }))
      const m = new MetricWriter(wb.db, id)
      m.add('dev/accuracy', 100, acc - 0.05)
      m.flush()
      ids.push(id)
    }
  })
  afterEach(async () => {
    await wb.close()
    tmp.cleanup()
  })

  it('lists every run with dataset, model size, parameters, final metrics and tags', async () => {
    await wb.call('runs.annotate', { id: ids[0], tags: ['baseline', 'baseline', ' lamb '], notes: '第一次' })
    const rows = await wb.call('runs.table', {})
    const tiny = rows.find((r) => r.id === ids[0])!
    expect(tiny).toMatchObject({ name: 'tiny lamb', kind: 'pretrain', datasetName: 'fortunes-zh', modelSize: 'A · 2×128', backend: 'wasm', tags: ['baseline', 'lamb'], notes: '第一次' })
    expect(tiny.params).toMatchObject({ 'model.preset': 'A', learningRate: 1e-4, optimizer: 'lamb' })
    expect(tiny.final.loss).toBeCloseTo(3 + 5 * Math.exp(-10))
    expect(tiny.final['dev/loss']).toBe(3.2)
    expect(rows.find((r) => r.id === ids[2])!.task).toBe('afqmc')
  })

  it('keeps the metric summary right as points arrive out of order', () => {
    const m = new MetricWriter(wb.db, ids[0])
    m.add('probe', 10, 5)
    m.add('probe', 3, -1)
    m.add('probe', 11, 7)
    m.flush()
    const row = wb.db.prepare("SELECT * FROM metric_summary WHERE run_id = ? AND name = 'probe'").get(ids[0])
    expect(row).toMatchObject({ first_step: 3, last_step: 11, last_value: 7, min_value: -1, max_value: 7 })
  })

  it('summarises a selection: diff, metric names, scores with the best marked', async () => {
    const s = await wb.call('compare.summary', { runIds: ids })
    expect(s.runs.map((r) => r.name)).toEqual(['tiny lamb', 'small lamb', 'ft afqmc 1', 'ft afqmc 2'])
    expect(s.diff.find((d) => d.key === 'model.preset')).toEqual({ key: 'model.preset', values: ['A', 'B', null, null], differs: true })
    expect(s.diff.find((d) => d.key === 'optimizer')!.differs).toBe(true)
    expect(s.metrics).toEqual(['dev/accuracy', 'dev/loss', 'loss'])
    expect(s.scores.columns).toEqual(['afqmc', 'dev/loss'])
    const score = (id: number, c: string) => s.scores.rows.find((r) => r.runId === id)!.scores[c]
    expect(score(ids[2], 'afqmc')).toBeCloseTo(71) // the evaluation wins over the dev/accuracy series
    expect(score(ids[3], 'afqmc')).toBeCloseTo(74)
    expect(s.scores.rows.find((r) => r.runId === ids[3])!.average).toBeCloseTo(74)
    expect(s.scores.best.afqmc).toEqual([ids[3]])
    expect(s.scores.best['dev/loss']).toEqual([ids[1]]) // lower is better for a loss
  })

  it('serves series on a shared grid, by step, wall time and tokens, zoomed and smoothed', async () => {
    const frame = await wb.call('compare.series', { runIds: ids, metric: 'loss', width: 100 })
    expect(frame.extent).toEqual([1, 500])
    expect(frame.buckets).toBe(100)
    expect(f64(frame.xs).length).toBe(400)
    expect(frame.runs[2]).toMatchObject({ runId: ids[2], ys: null, points: 0, skipped: 'no loss series' })
    const ys = f32(frame.runs[0].ys!)
    expect(ys[0]).toBeCloseTo(3 + 5 * Math.exp(-1 / 50), 5) // the first point
    expect(ys[ys.length - 1]).toBeCloseTo(3 + 5 * Math.exp(-10), 5) // the last

    const zoom = await wb.call('compare.series', { runIds: [ids[0]], metric: 'loss', width: 100, range: [100, 200] })
    expect(zoom.runs[0].points).toBe(101)
    expect(zoom.range).toEqual([100, 200])

    const wall = await wb.call('compare.series', { runIds: [ids[0]], metric: 'loss', width: 50, x: 'wall' })
    expect(wall.extent).toEqual([0, 499])
    const tokens = await wb.call('compare.series', { runIds: [ids[0], ids[2]], metric: 'dev/accuracy', width: 50, x: 'tokens' })
    expect(tokens.runs[1].skipped).toMatch(/tokens seen unknown/)
    const tok = await wb.call('compare.series', { runIds: [ids[0]], metric: 'loss', width: 50, x: 'tokens' })
    expect(tok.extent).toEqual([4 * 32, 500 * 4 * 32])

    const smooth = await wb.call('compare.series', { runIds: [ids[0]], metric: 'loss', width: 10, smoothing: 0.9 })
    const raw = await wb.call('compare.series', { runIds: [ids[0]], metric: 'loss', width: 10 })
    expect(f32(smooth.runs[0].ys!)[4]).toBeGreaterThan(f32(raw.runs[0].ys!)[4]) // a falling curve smoothed lags above it
  })

  it('appends the new points of a training run after a run.metrics event', async () => {
    const first = await wb.call('compare.series', { runIds: [ids[0]], metric: 'loss', width: 10 })
    expect(first.extent).toEqual([1, 500])
    const packs = () => wb.db.prepare('SELECT name, points FROM series_pack WHERE run_id = ? ORDER BY name').all(ids[0])
    expect(packs()).toEqual([{ name: 'dev/loss', points: 1 }, { name: 'loss', points: 500 }]) // packed when the run completed
    const m = new MetricWriter(wb.db, ids[0])
    m.add('loss', 501, 0.5, 2000)
    m.flush()
    expect(packs()).toEqual([{ name: 'dev/loss', points: 1 }]) // a new point drops its series' pack
    const cached = await wb.call('compare.series', { runIds: [ids[0]], metric: 'loss', width: 10 })
    expect(cached.extent).toEqual([1, 500]) // a finished run's series is served from memory
    wb.emit({ type: 'run.metrics', runId: ids[0], points: [{ name: 'loss', step: 501, value: 0.5, wallTime: 2000 }] })
    const after = await wb.call('compare.series', { runIds: [ids[0]], metric: 'loss', width: 10 })
    expect(after.extent).toEqual([1, 501])
    expect(f32(after.runs[0].ys!).at(-1)).toBe(0.5)
  })

  it('packs every series of a run when it finishes, and packs one on first read when it was not', async () => {
    const packed = (id: number) => (wb.db.prepare('SELECT name FROM series_pack WHERE run_id = ? ORDER BY name').all(id) as { name: string }[]).map((r) => r.name)
    expect(packed(ids[1])).toEqual(['dev/loss', 'loss'])
    for (const name of ['loss', 'dev/loss']) expect(readSeriesPack(wb.db, ids[1], name)).toEqual(readSeries(wb.db, ids[1], name))
    expect(packed(ids[2])).toEqual([]) // never marked finished (as a database from before packing at completion)
    await wb.call('compare.series', { runIds: [ids[2]], metric: 'dev/accuracy', width: 8 })
    expect(packed(ids[2])).toEqual(['dev/accuracy'])
    const m = new MetricWriter(wb.db, ids[3])
    m.add('dev/accuracy', 200, 0.75)
    m.flush()
    setRunStatus(wb.db, ids[3], 'failed', { error: 'out of memory' })
    expect(readSeriesPack(wb.db, ids[3], 'dev/accuracy')).toMatchObject({ step: Float64Array.from([100, 200]), value: Float64Array.from([0.69, 0.75]) })
  })

  it('serves the whole extent of long finished series from their overviews, then from every point once read in the background', async () => {
    const id = insertRun(wb.db, { name: 'long', kind: 'pretrain', config: {}, seed: 1 })
    const m = new MetricWriter(wb.db, id, 50_000)
    for (let step = 1; step <= 20_000; step++) m.add('loss', step, 2 + Math.exp(-step / 2000) + (step === 12_345 ? 3 : 0), step)
    m.flush()
    setRunStatus(wb.db, id, 'completed')
    expect(readSeriesOverview(wb.db, id, 'loss')).toMatchObject({ points: 20_000 })
    const fresh = new Workbench({ home: tmp.dir }) // nothing in memory, as after a restart
    try {
      const quick = await fresh.call('compare.series', { runIds: [id], metric: 'loss', width: 500 })
      expect(quick.runs[0]).toMatchObject({ points: 20_000, overview: true })
      expect(quick.extent).toEqual([1, 20_000])
      expect(Math.max(...f32(quick.runs[0].ys!))).toBeCloseTo(2 + Math.exp(-12_345 / 2000) + 3, 5) // the spike
      // the whole series are read in the background, a moment after the last overview frame
      const exact = await vi.waitFor(
        async () => {
          const f = await fresh.call('compare.series', { runIds: [id], metric: 'loss', width: 500 })
          expect(f.runs[0].overview).toBeUndefined()
          return f
        },
        { timeout: 6 * BACKGROUND_DELAY_MS, interval: 1.5 * BACKGROUND_DELAY_MS }, // a poll is a request: it restarts the wait
      )
      const zoomed = await fresh.call('compare.series', { runIds: [id], metric: 'loss', width: 500, range: [12_000, 13_000] })
      expect(zoomed.runs[0]).toEqual({ runId: id, ys: expect.any(String), points: 1001 })
      expect(Math.max(...f32(exact.runs[0].ys!))).toBe(Math.max(...f32(quick.runs[0].ys!)))
      // wider than the overview serves, or smoothed: every point
      expect((await fresh.call('compare.series', { runIds: [id], metric: 'loss', width: 2000 })).runs[0].overview).toBeUndefined()
    } finally {
      await fresh.close()
    }
    // a new point drops the pack and its overview; a pack from before overviews gets one when read
    const more = new MetricWriter(wb.db, id)
    more.add('loss', 20_001, 1)
    more.flush()
    expect(wb.db.prepare('SELECT COUNT(*) AS n FROM series_overview WHERE run_id = ?').get(id)).toEqual({ n: 0 })
    setRunStatus(wb.db, id, 'completed')
    wb.db.prepare('DELETE FROM series_overview WHERE run_id = ?').run(id)
    await wb.call('compare.series', { runIds: [id], metric: 'loss', width: 2000 })
    expect(readSeriesOverview(wb.db, id, 'loss')).toMatchObject({ points: 20_001 })
  })

  it('reads a packed series back exactly, in a new session', async () => {
    const first = await wb.call('compare.series', { runIds: [ids[1]], metric: 'loss', width: 64 })
    const again = new Workbench({ home: tmp.dir })
    try {
      expect(again.db.prepare("SELECT points FROM series_pack WHERE run_id = ? AND name = 'loss'").get(ids[1])).toEqual({ points: 500 })
      expect(await again.call('compare.series', { runIds: [ids[1]], metric: 'loss', width: 64 })).toEqual(first)
      const { step, value } = readSeries(again.db, ids[1], 'loss')
      expect(readSeriesPack(again.db, ids[1], 'loss')).toMatchObject({ step, value })
    } finally {
      await again.close()
    }
  })

  it('exports CSV and Markdown with the differing keys, final metrics and scores', () => {
    const report = comparisonReport(wb.db, ids.slice(0, 2), { points: 10 })
    expect(Object.keys(report.config_diff).sort()).toEqual(['learningRate', 'model.preset', 'name'])
    expect(report.series.loss[String(ids[0])].length).toBeLessThanOrEqual(40)
    expect(report.series.loss[String(ids[0])][0]).toEqual([1, 3 + 5 * Math.exp(-1 / 50)])
    const csv = comparisonCsv(report).trim().split('\n')
    expect(csv[0]).toBe('id,name,config.learningRate,config.model.preset,config.name,final.dev/loss,final.loss,score.dev/loss,score.average')
    expect(csv[1].split(',').slice(0, 5)).toEqual([String(ids[0]), 'tiny lamb', '0.0001', 'A', 'tiny lamb'])
    const md = comparisonMarkdown(report)
    expect(md).toContain('| model.preset | A | B |')
    expect(md).toContain('| small lamb (#' + ids[1] + ') |'.slice(0, 0)) // header names runs
    expect(md).toContain('**2.1**') // the best dev loss in bold
  })

  it('deletes runs with their points and checkpoints, keeping a model registered from one', async () => {
    const [a, b] = ids
    const ckA = path.join(wb.layout.runs, String(a), 'step-100')
    const ckB = path.join(wb.layout.runs, String(b), 'step-500')
    for (const dir of [ckA, ckB]) fs.mkdirSync(dir, { recursive: true })
    recordCheckpoint(wb.db, a, 100, ckA)
    recordCheckpoint(wb.db, b, 500, ckB)
    insertModel(wb.db, { name: 'small (run b)', source: 'trained', dir: ckB, config: {}, runId: b })
    const running = insertRun(wb.db, { name: 'live', kind: 'pretrain', config: {}, seed: 1 })
    setRunStatus(wb.db, running, 'running')
    await expect(wb.call('runs.delete', { runIds: [a, running] })).rejects.toThrow(/run \d+ \(live\) is running/)
    expect(fs.existsSync(ckA)).toBe(true) // nothing happened

    const result = await wb.call('runs.delete', { runIds: [a, b] })
    expect(result).toEqual({ deleted: [a, b], checkpoints: 1 })
    expect(fs.existsSync(path.join(wb.layout.runs, String(a)))).toBe(false)
    expect(fs.existsSync(ckB)).toBe(true) // a model's files
    expect(wb.db.prepare('SELECT COUNT(*) AS n FROM metrics WHERE run_id IN (?, ?)').get(a, b)).toEqual({ n: 0 })
    expect(wb.db.prepare('SELECT COUNT(*) AS n FROM metric_summary WHERE run_id IN (?, ?)').get(a, b)).toEqual({ n: 0 })
    expect((await wb.call('runs.table', {})).map((r) => r.id)).not.toContain(a)
    await expect(wb.call('compare.summary', { runIds: [a] })).rejects.toThrow(`run ${a} does not exist`)
  })

  it('refuses bad requests with the field named', async () => {
    await expect(wb.call('compare.series', { runIds: [ids[0]], metric: 'loss', width: 100, range: [5, 1] })).rejects.toThrow(/^compare\.series: range: /)
    await expect(wb.call('runs.annotate', { id: ids[0], tags: [''] })).rejects.toThrow(/^runs\.annotate: tags\.0: /)
    await expect(wb.call('compare.summary', { runIds: [] })).rejects.toThrow(/^compare\.summary: runIds: /)
  })
})
