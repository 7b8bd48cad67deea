// Fine-tuning in fp16 on webgpu (on CI: lavapipe), as pretraining does it: f16 product inputs with f32
// master weights, dynamic loss scaling logged as loss_scale, an overflowing step skipped and the scale
// halved, the scale on the device matching the host's bit for bit, kept across a resume. Not with SMART:
// its term (about 1e-8 here) is below f16's rounding.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { deviceWaits } from '../../../engine/compute/read'
import { finetune, type FinetuneHooks } from '../../../engine/train/finetune'
import { parseFinetuneConfig, type FinetuneConfig } from '../../../engine/train/finetune-config'
import type { LossScaleOptions } from '../../../engine/train/loss-scale'
import { tempDir } from '../../helpers'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'
import { importClue, tnewsRecords, wideInitModel } from './finetune-data'

const tmp = tempDir('mengzi-finetune-fp16-')
afterAll(() => tmp.cleanup())
let base: FinetuneConfig
beforeAll(async () => {
  const init = path.join(tmp.dir, 'start')
  await wideInitModel(init, 0.3)
  const tnews = await importClue(tmp.dir, 'tnews', { 'train.json': tnewsRecords(48, 1), 'dev.json': tnewsRecords(16, 2) })
  base = parseFinetuneConfig({ backend: 'webgpu', task: 'tnews', dataDir: tnews.dir, init, learningRate: 3e-3, batchSize: 8, evalBatchSize: 8, epochs: 1, maxSeqLength: 24, dropout: 0, warmupRatio: 0 })
})

/** A run's losses, loss scales, skip lines, epochs and checkpoints. */
async function run(name: string, over: Record<string, unknown>, lossScale?: LossScaleOptions, extra: FinetuneHooks = {}, resumeFrom?: string) {
  const losses: number[] = []
  const scales: number[] = []
  const logs: string[] = []
  const checkpoints: string[] = []
  const waits: number[] = []
  const terms: Record<string, number>[] = []
  const before = deviceWaits()
  const hooks: FinetuneHooks = {
    ...extra,
    progress: () => waits.push(deviceWaits() - before),
    metrics: (ps) => {
      for (const p of ps) {
        if (p.name === 'loss') losses.push(p.value)
        if (p.name === 'loss_scale') scales.push(p.value)
        if (p.name.startsWith('loss/')) (terms[p.step - 1] ??= {})[p.name] = p.value
      }
    },
    log: (line) => logs.push(line),
    checkpoint: (c) => checkpoints.push(c.dir),
  }
  const result = await finetune(parseFinetuneConfig({ ...base, ...over }), { runDir: path.join(tmp.dir, name), lossScale, resumeFrom }, hooks)
  const stateOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'finetune_state.json'), 'utf8'))
  return { result, losses, scales, terms, waits, skips: logs.filter((l) => l.includes('update skipped')), checkpoints, stateOf }
}

describeOnWebgpu('fine-tuning in fp16 on webgpu', () => {
  it('follows the fp32 run within 1e-3 in loss over an epoch, logs the loss scale, and is not the fp32 arithmetic', async () => {
    const fp32 = await run('fp32', {})
    const fp16 = await run('fp16', { precision: 'fp16' })
    expect(fp16.losses).toHaveLength(6) // 48 examples in batches of 8
    fp16.losses.forEach((l, i) => expect(Math.abs(l - fp32.losses[i]), `step ${i + 1}`).toBeLessThan(1e-3))
    expect(fp16.losses).not.toEqual(fp32.losses) // the f16 rounding is there
    expect(fp16.scales).toEqual(Array(6).fill(2 ** 16)) // PyTorch's default, no overflow, no growth within 2000 steps
    expect(fp32.scales).toEqual([])
    expect(fp16.skips).toEqual([])
    expect(Math.abs(fp16.result.epochs[0].dev.accuracy - fp32.result.epochs[0].dev.accuracy)).toBeLessThanOrEqual(1 / 16)
    expect(fp16.stateOf(fp16.checkpoints[0]).lossScale).toEqual({ scale: 2 ** 16, cleanSteps: 6 })
  })

  it('a forced overflow skips the update and halves the scale: at 2^30 no step applies', async () => {
    const skipped = await run('skipped', { precision: 'fp16', maxTrainExamples: 24 }, { initial: 2 ** 30 })
    expect(skipped.scales).toEqual([2 ** 30, 2 ** 29, 2 ** 28])
    expect(skipped.skips).toEqual([
      'step 1: gradients overflowed at loss scale 1073741824; update skipped, scale now 536870912',
      'step 2: gradients overflowed at loss scale 536870912; update skipped, scale now 268435456',
      'step 3: gradients overflowed at loss scale 268435456; update skipped, scale now 134217728',
    ])
    expect(skipped.losses.every(Number.isFinite)).toBe(true) // the loss read has the scale divided out
    const state = skipped.stateOf(skipped.checkpoints[0])
    expect(state.optimizerSteps).toBe(0)
    expect(state.lossScale).toEqual({ scale: 2 ** 27, cleanSteps: 0 })
  })

  it("the loss scale on the device gives the host's losses, scales, skips and checkpoint bit for bit", async () => {
    // 2^22 with growth every 2 clean steps: overflows, skips, recoveries and growth within 6 steps
    const host = await run('host', { precision: 'fp16' }, { initial: 2 ** 22, growthInterval: 2, onDevice: false })
    const device = await run('device', { precision: 'fp16' }, { initial: 2 ** 22, growthInterval: 2 })
    expect(host.skips.length).toBeGreaterThanOrEqual(1)
    expect(new Set(host.scales).size).toBeGreaterThanOrEqual(2)
    expect(device.losses).toEqual(host.losses)
    expect(device.scales).toEqual(host.scales)
    expect(device.skips).toEqual(host.skips)
    const files = (r: typeof host) => ['model.safetensors', 'optimizer.safetensors'].map((f) => fs.readFileSync(path.join(r.checkpoints[0], f)))
    files(device).forEach((b, i) => expect(b.equals(files(host)[i]), ['weights', 'moments'][i]).toBe(true))
    const [h, d] = [host.stateOf(host.checkpoints[0]), device.stateOf(device.checkpoints[0])]
    expect(d.optimizerSteps).toBe(h.optimizerSteps)
    expect(d.optimizerSteps).toBe(6 - host.skips.length)
    expect(d.lossScale).toEqual(h.lossScale)
    // the host waits before each update and reports then; the device's steps report once the next read is issued
    expect(host.waits).toEqual([1, 2, 3, 4, 5, 6])
    expect(device.waits).toEqual([2, 3, 4, 5, 6, 6])
  })

  it('resumes with the loss scale where it was: the losses and scales of a straight run', async () => {
    const options = { initial: 2 ** 22, growthInterval: 2 }
    const straight = await run('straight', { precision: 'fp16', epochs: 2 }, options)
    let epochsDone = 0
    const first = await run('resumed', { precision: 'fp16', epochs: 2 }, options, { epoch: () => epochsDone++, stopRequested: () => epochsDone >= 1 })
    expect(first.result.stopped).toBe(true)
    const second = await run('resumed', { precision: 'fp16', epochs: 2 }, options, {}, first.checkpoints[0])
    expect([...first.losses, ...second.losses]).toEqual(straight.losses)
    expect([...first.scales, ...second.scales]).toEqual(straight.scales)
    expect(new Set(straight.scales).size).toBeGreaterThanOrEqual(2)
  })

  it('distillation and choice smoothing train in fp16 too: their terms and the losses follow fp32', async () => {
    const strategies = { strategies: { distill: { teacher: base.init, logitWeight: 1 }, choiceSmoothing: { weight: 0.5 } }, maxTrainExamples: 24 }
    const fp32 = await run('kd-fp32', strategies)
    const fp16 = await run('kd-fp16', { ...strategies, precision: 'fp16' })
    expect(fp16.terms.map((t) => Object.keys(t).sort())).toEqual(Array(3).fill(['loss/kd_logits', 'loss/smoothing', 'loss/task']))
    // within 0.5% (f16 keeps 11 bits, about 0.05%; three steps at lr 3e-3 drift further): here at most 0.19%
    const close = (a: number, b: number, what: string) => expect(Math.abs(a - b), what).toBeLessThanOrEqual(5e-3 * Math.abs(b) + 1e-6)
    fp16.terms.forEach((t, i) => Object.entries(t).forEach(([k, v]) => close(v, fp32.terms[i][k], `step ${i + 1} ${k}`)))
    fp16.losses.forEach((l, i) => close(l, fp32.losses[i], `step ${i + 1}`))
    expect(fp32.terms[1]['loss/kd_logits']).toBeGreaterThan(0.1) // the student has moved from its teacher (the same start)
    expect(fp16.losses).not.toEqual(fp32.losses)
  })
})

it('refuses fp16 with a named backend other than webgpu as the config is read', () => {
  expect(() => parseFinetuneConfig({ task: 'tnews', dataDir: '/d', init: '/m', backend: 'wasm', precision: 'fp16' })).toThrow(
    /^fine-tuning config: precision: "fp16" trains on the webgpu backend only, and backend is "wasm"; choose backend "webgpu", or precision "fp32"$/,
  )
})

it("refuses fp16 with SMART: its term measures logit differences f16 products round away", () => {
  expect(() => parseFinetuneConfig({ task: 'tnews', dataDir: '/d', init: '/m', backend: 'webgpu', precision: 'fp16', strategies: { smart: {} } })).toThrow(
    /^fine-tuning config: strategies\.smart: SMART's term compares the logits of inputs perturbed by at most epsilon \(0\.00001\), a difference f16 products round away; use precision "fp32" with SMART$/,
  )
  expect(parseFinetuneConfig({ task: 'tnews', dataDir: '/d', init: '/m', backend: 'webgpu', precision: 'fp16', strategies: { distill: { teacher: '/t' }, choiceSmoothing: {} } }).precision).toBe('fp16')
})
