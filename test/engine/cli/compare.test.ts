import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Workbench } from '../../../engine/service/workbench'
import { MetricWriter } from '../../../engine/store/metrics'
import { insertRun, setRunStatus } from '../../../engine/store/runs'
import { tempDir } from '../../helpers'
import { runCli } from './run-cli'

const tmp = tempDir()
const db = path.join(tmp.dir, 'compare.db')
let ids: number[] = []

beforeAll(async () => {
  const wb = new Workbench({ home: tmp.dir, database: db })
  ids = (
    [
      ['lamb, small', { model: { preset: 'A' }, optimizer: 'lamb', learningRate: 1e-4, batchSize: 8 }],
      ['adamw | small', { model: { preset: 'B' }, optimizer: 'adamw', learningRate: 1e-4, batchSize: 8 }],
    ] as const
  ).map(([name, config], k) => {
    const id = insertRun(wb.db, { name, kind: 'pretrain', config, seed: 42 })
    const m = new MetricWriter(wb.db, id)
    for (let step = 1; step <= 300; step++) m.add('loss', step, 2 + k + 4 / step)
    m.add('dev/loss', 300, 2.5 + k)
    m.flush()
    setRunStatus(wb.db, id, 'completed', { backend: 'wasm' })
    return id
  })
  await wb.close()
})
afterAll(() => tmp.cleanup())

describe('mengzi compare', () => {
  it('prints one JSON object: runs, config_diff (differing dotted keys only), series, scores', async () => {
    const r = await runCli(['compare', String(ids[0]), 'adamw | small', '--db', db, '--format', 'json'])
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(Object.keys(out)).toEqual(['runs', 'config_diff', 'series', 'scores'])
    expect(out.runs.map((x: { id: number; name: string }) => [x.id, x.name])).toEqual([[ids[0], 'lamb, small'], [ids[1], 'adamw | small']])
    expect(out.runs[0].config).toEqual({ model: { preset: 'A' }, optimizer: 'lamb', learningRate: 1e-4, batchSize: 8 })
    expect(out.runs[1].summary).toEqual({ loss: 3 + 4 / 300, 'dev/loss': 3.5 })
    expect(out.config_diff).toEqual({ 'model.preset': { [ids[0]]: 'A', [ids[1]]: 'B' }, optimizer: { [ids[0]]: 'lamb', [ids[1]]: 'adamw' } })
    expect(out.series.loss[String(ids[0])]).toHaveLength(300)
    expect(out.series.loss[String(ids[0])][0]).toEqual([1, 6])
    expect(out.scores.runs[String(ids[0])]['dev/loss']).toBe(2.5)
    expect(out.scores.best['dev/loss']).toEqual([ids[0]])
  })

  it('downsamples series with --points and filters them with --metrics', async () => {
    const r = await runCli(['compare', String(ids[0]), String(ids[1]), '--db', db, '--json', '--points', '10', '--metrics', 'loss'])
    const out = JSON.parse(r.stdout)
    expect(Object.keys(out.series)).toEqual(['loss'])
    const pts = out.series.loss[String(ids[1])]
    expect(pts.length).toBeLessThanOrEqual(40)
    expect(pts[0]).toEqual([1, 7])
    expect(pts.at(-1)).toEqual([300, 3 + 4 / 300])
  })

  it('writes CSV with quoted cells, one row per run', async () => {
    const r = await runCli(['compare', String(ids[0]), String(ids[1]), '--db', db, '--format', 'csv'])
    expect(r.status).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toBe('id,name,config.model.preset,config.optimizer,final.dev/loss,final.loss,score.dev/loss,score.average')
    expect(lines[1]).toBe(`${ids[0]},"lamb, small",A,lamb,2.5,2.01333,2.5,`)
    expect(lines).toHaveLength(3)
  })

  it('writes Markdown with escaped pipes and the best score in bold', async () => {
    const r = await runCli(['compare', String(ids[0]), String(ids[1]), '--db', db, '--format', 'md'])
    expect(r.stdout).toContain(`| key | lamb, small (#${ids[0]}) | adamw \\| small (#${ids[1]}) |`)
    expect(r.stdout).toContain('| optimizer | lamb | adamw |')
    expect(r.stdout).toContain('| lamb, small | **2.5** |')
  })

  it('prints a table for people by default', async () => {
    const r = await runCli(['compare', String(ids[0]), String(ids[1]), '--db', db])
    expect(r.stdout).toMatch(/^Config differences\n/)
    expect(r.stdout).toMatch(/model\.preset\s+A\s+B/)
    expect(r.stdout).toMatch(/dev\/loss\s+2\.5 \*\s+3\.5/)
  })

  it('refuses unknown runs, ambiguous names and formats in one line', async () => {
    const missing = await runCli(['compare', '999', '--db', db])
    expect(missing.status).not.toBe(0)
    expect(missing.stderr).toBe('mengzi: run 999 does not exist (mengzi runs lists them)\n')
    const format = await runCli(['compare', String(ids[0]), '--db', db, '--format', 'xml'])
    expect(format.stderr).toBe('mengzi: --format: expected one of table, json, csv, md, got "xml"\n')
  })
})
