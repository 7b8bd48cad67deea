// fp16 mixed precision on webgpu (precision: "fp16"): the dense layers' product inputs and the
// attention's Q, K, V in f16, f32 accumulation and master weights, dynamic loss scaling. Stored in f16
// (compute/webgpu/half.ts): the weights' copies the products read, the dense layers' inputs kept for
// backward, the GELU layers' pre-activations, the LayerNorms' x̂, the attention's Q, K, V and context, and
// the MLM loss's probabilities (f16(p·2¹⁵)); with that storage off the products (and the GELU backward,
// z, the LayerNorm backward, x̂, the attention, Q, K, V and the context, and the softmax cross-entropy
// backward, p·2¹⁵) round f32 as they load, and the losses and gradients must be the same bit for bit
// (storage changes memory, not numbers). Bounds measured on lavapipe with the tiny config:
// |loss(fp16) − loss(fp32)| ≤ 3e-5 over 8 steps (1.7e-5 with z in f16, 1.6e-5 with x̂ too); over the 6
// steps below 2.0e-5 before the attention's Q, K, V were f16, 2.2e-5 after; the test allows 1e-3.
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { lossAndGrads } from '../../../engine/compute/grads'
import { deviceWaits } from '../../../engine/compute/read'
import { usePrecision } from '../../../engine/compute/precision'
import { setHalfStorage, setQkvFusion } from '../../../engine/compute/webgpu/flags'
import { CHUNK } from '../../../engine/compute/webgpu/optimizer-arena'
import { bertEncoder } from '../../../engine/model/bert'
import { parseBertConfig } from '../../../engine/model/checkpoint'
import { mlmLoss } from '../../../engine/model/heads'
import { readSafetensors } from '../../../engine/model/safetensors'
import { disposeWeights, initWeights } from '../../../engine/model/weights'
import { benchBatch } from '../../../engine/train/bench'
import { presetModelConfig } from '../../../engine/train/config'
import { train, type MetricValue } from '../../../engine/train/loop'
import { stepMemory } from '../compute/webgpu/fp16-memory'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'
import { TINY_BERT, tinyConfig } from './tiny-config'

const dir = mkdtempSync(join(tmpdir(), 'mengzi-fp16-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const noDropout = (over: Parameters<typeof tinyConfig>[0] = {}) =>
  tinyConfig({ backend: 'webgpu', model: { config: { ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 } }, ...over })

function recorder() {
  const scales: number[] = []
  const logs: string[] = []
  return {
    scales,
    logs,
    hooks: { metrics: (points: MetricValue[]) => points.forEach((p) => p.name === 'loss_scale' && scales.push(p.value)), log: (line: string) => logs.push(line) },
  }
}

describeOnWebgpu('fp16 mixed precision on webgpu', () => {
  it('follows the fp32 run within 1e-3 in loss over 6 steps, and is not the fp32 arithmetic', async () => {
    const fp32 = await train(noDropout({ totalSteps: 6 }), { runDir: join(dir, 'fp32') })
    const rec = recorder()
    const fp16 = await train(noDropout({ totalSteps: 6, precision: 'fp16' }), { runDir: join(dir, 'fp16') }, rec.hooks)
    fp16.losses.forEach((l, i) => expect(Math.abs(l - fp32.losses[i]), `step ${i + 1}`).toBeLessThan(1e-3))
    expect(fp16.losses).not.toEqual(fp32.losses) // the f16 rounding is there
    expect(rec.scales).toEqual(Array(6).fill(2 ** 16)) // no overflow at PyTorch's default scale: 6 steps, no growth yet
    expect(rec.logs.filter((l) => l.includes('skipped'))).toEqual([])
  })

  it('f16 storage gives the same losses as rounding f32 as it loads, bit for bit', async () => {
    const config = noDropout({ totalSteps: 4, precision: 'fp16' })
    const stored = await train(config, { runDir: join(dir, 'stored') })
    setHalfStorage(false)
    try {
      const loading = await train(config, { runDir: join(dir, 'loading') })
      expect(stored.losses).toEqual(loading.losses)
    } finally {
      setHalfStorage(true)
    }
  })

  it('with dropout and padding, f16 storage gives the same loss and gradients as rounding f32 as it loads, bit for bit (the attention included)', async () => {
    const model = parseBertConfig(TINY_BERT) // dropout 0.1 on the hidden states and the attention probabilities
    const [B, T] = [3, 24]
    const batch = benchBatch(model, B, T)
    const attentionMask = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i % T >= T - [0, 5, 11][Math.floor(i / T)] ? 0 : 1)), [B, T], 'int32')
    const lossAndGradients = async () => {
      const restore = usePrecision('fp16')
      const weights = initWeights({ config: model, heads: [{ kind: 'mlm' }], pooler: false }, 42)
      let seed = 7
      const out = lossAndGrads(weights, () => {
        const { hiddenStates } = bertEncoder(weights, model, { ...batch, attentionMask }, { training: true, nextSeed: () => seed++ }, { pooler: false })
        return mlmLoss(weights, model, hiddenStates[hiddenStates.length - 1], batch.labels)
      })
      const values = await Promise.all([out.loss, ...out.grads.values()].map(async (t) => Float32Array.from(await t.data())))
      tf.dispose([out.loss, ...out.grads.values()])
      disposeWeights(weights)
      restore()
      return values
    }
    // the Q, K, V projections as one product (the default) and apart, each the same under both storages
    try {
      for (const fusion of [true, false]) {
        setQkvFusion(fusion)
        const stored = await lossAndGradients()
        setHalfStorage(false)
        const loading = await lossAndGradients()
        setHalfStorage(true)
        const label = fusion ? 'one product' : 'apart'
        loading.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(stored[i].buffer)), `${label}: ${i === 0 ? 'loss' : `gradient ${i}`}`).toBe(true))
      }
    } finally {
      setHalfStorage(true)
      setQkvFusion(true)
      tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask, attentionMask])
    }
  })

  it('keeps fewer bytes for backward than fp32, and the f16 copies of the weights add exactly half the optimizer arena', async () => {
    const model = parseBertConfig(TINY_BERT)
    const fp32 = await stepMemory(model, 'fp32', 4, 32)
    const fp16 = await stepMemory(model, 'fp16', 4, 32)
    expect(fp16.keptForBackward).toBeLessThan(fp32.keptForBackward)
    // the Q, K, V projections as one product keep what they keep apart: x, Q | K | V and the context in f16
    setQkvFusion(false)
    const apart = await stepMemory(model, 'fp16', 4, 32).finally(() => setQkvFusion(true))
    expect(fp16.keptForBackward).toBe(apart.keptForBackward)
    // H: 2 bytes per value of the arena (parameters padded to CHUNK); no other copy left after the step
    const weights = initWeights({ config: model, heads: [{ kind: 'mlm' }], pooler: false }, 42)
    const padded = [...weights.values()].reduce((n, w) => n + Math.ceil(w.size / CHUNK) * CHUNK, 0)
    tf.dispose([...weights.values()])
    expect(fp16.total - fp32.total).toBe(padded * 2)
    expect(Math.abs(fp16.loss - fp32.loss)).toBeLessThan(1e-3)
  })

  it('a forced overflow skips the update and halves the scale, then training recovers and the scale grows after N clean steps', async () => {
    // 2^30: the scaled gradients pass f16's 65504 in the products and become Infinity
    const allSkipped = recorder()
    const config = noDropout({ totalSteps: 3, precision: 'fp16', learningRate: 1e-2, warmupRatio: 0 })
    await train(config, { runDir: join(dir, 'skipped'), lossScale: { initial: 2 ** 30 } }, allSkipped.hooks)
    expect(allSkipped.scales).toEqual([2 ** 30, 2 ** 29, 2 ** 28])
    expect(allSkipped.logs.filter((l) => /gradients overflowed at loss scale \d+; update skipped/.test(l)).length).toBe(3)
    // every update was skipped: the saved weights are the initial ones
    const saved = await readSafetensors(join(dir, 'skipped', 'checkpoints', 'step-00000003', 'model.safetensors'))
    const initial = initWeights({ config: presetModelConfig(config.model)!, heads: [{ kind: 'mlm' }], pooler: true }, config.seed)
    for (const [name, v] of initial) expect(Array.from(saved.get(name)!.data as Float32Array), name).toEqual(Array.from(await v.data()))
    tf.dispose([...initial.values()])

    const rec = recorder()
    const run = await train({ ...config, totalSteps: 14 }, { runDir: join(dir, 'recovers'), lossScale: { initial: 2 ** 24, growthInterval: 2 } }, rec.hooks)
    const skipped = rec.logs.filter((l) => l.includes('update skipped')).length
    expect(skipped).toBeGreaterThanOrEqual(2)
    expect(rec.scales.slice(0, 2)).toEqual([2 ** 24, 2 ** 23]) // skip → halve
    const grew = rec.scales.findIndex((s, i) => i > 0 && s === 2 * rec.scales[i - 1])
    expect(grew).toBeGreaterThan(0) // two clean steps in a row → double
    expect(rec.scales.slice(grew - 2, grew)).toEqual([rec.scales[grew - 1], rec.scales[grew - 1]])
    expect(run.losses.every(Number.isFinite)).toBe(true)
    expect(run.losses.at(-1)).not.toBe(run.losses[0]) // the applied steps train
  })

  for (const optimizer of ['lamb', 'adamw'] as const) {
    it(`${optimizer}: the loss scale on the device gives the host's losses, scales, skips and checkpoint bit for bit, with one wait per step, read while the next records`, async () => {
      // 2^22 with growth every 2 clean steps: overflows, skips, recoveries and growth within 8 steps
      const config = noDropout({ totalSteps: 8, precision: 'fp16', optimizer, gradientAccumulation: 2, warmupRatio: 0 })
      const run = async (onDevice: boolean) => {
        const rec = recorder()
        const base = deviceWaits()
        const waits: number[] = []
        const runDir = join(dir, `${optimizer}-${onDevice ? 'device' : 'host'}`)
        const result = await train(config, { runDir, lossScale: { initial: 2 ** 22, growthInterval: 2, onDevice } }, { ...rec.hooks, progress: () => waits.push(deviceWaits() - base) })
        const saved = join(runDir, 'checkpoints', 'step-00000008')
        return { ...rec, waits, losses: result.losses, weights: readFileSync(join(saved, 'model.safetensors')), moments: readFileSync(join(saved, 'optimizer.safetensors')), state: JSON.parse(readFileSync(join(saved, 'trainer_state.json'), 'utf8')) }
      }
      const host = await run(false)
      const device = await run(true)
      expect(host.logs.filter((l) => l.includes('update skipped')).length).toBeGreaterThanOrEqual(2)
      expect(new Set(host.scales).size).toBeGreaterThanOrEqual(3) // halved and grown
      expect(device.losses).toEqual(host.losses)
      expect(device.scales).toEqual(host.scales)
      expect(device.logs).toEqual(host.logs)
      expect(device.weights.equals(host.weights)).toBe(true)
      expect(device.moments.equals(host.moments)).toBe(true)
      expect(device.state.optimizer.stepCount).toBe(host.state.optimizer.stepCount)
      expect(device.state.lossScale).toEqual(host.state.lossScale)
      // the host waits before each update and reports then; the device's steps report once the next read is issued
      expect(host.waits).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect(device.waits).toEqual([2, 3, 4, 5, 6, 7, 8, 8])
    })
  }

  it('resumes with the loss scale where it was: same losses and scales as a straight run', async () => {
    const config = noDropout({ totalSteps: 6, precision: 'fp16', checkpointEvery: 3, warmupRatio: 0 })
    const lossScale = { initial: 2 ** 22, growthInterval: 2 }
    const a = recorder()
    const straight = await train(config, { runDir: join(dir, 'straight'), lossScale }, a.hooks)
    const b = recorder()
    const first = await train(config, { runDir: join(dir, 'resumed'), stopAtStep: 3, lossScale }, b.hooks)
    const second = await train(config, { runDir: join(dir, 'resumed'), resume: true, lossScale }, b.hooks)
    expect([...first.losses, ...second.losses]).toEqual(straight.losses)
    expect(b.scales).toEqual(a.scales)
    expect(JSON.parse(readFileSync(join(dir, 'resumed', 'checkpoints', 'step-00000003', 'trainer_state.json'), 'utf8')).lossScale.scale).toBe(a.scales[3])
  })

  it('refuses fp16 on a backend without our webgpu kernels, in one line: a named one as the config is read, auto where it lands elsewhere', async () => {
    expect(() => tinyConfig({ precision: 'fp16', backend: 'wasm' })).toThrow(/^config: precision: "fp16" trains on the webgpu backend only, and backend is "wasm"; choose backend "webgpu", or precision "fp32"$/)
    await tf.setBackend('cpu')
    await expect(train(tinyConfig({ precision: 'fp16', backend: 'auto' }), { runDir: join(dir, 'cpu') })).rejects.toThrow(/^precision "fp16" needs the webgpu backend; this run uses cpu$/)
    await tf.setBackend('webgpu')
  })
})
