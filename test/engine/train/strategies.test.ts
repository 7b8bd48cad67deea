// The strategy terms against hand computations, each switch run through the fine-tuning loop, and a SMART run resumed from an epoch checkpoint exactly.
import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hiddenStateLoss, softLabelKl, uniformLayerMap } from '../../../engine/train/strategies/kd'
import { choiceBce } from '../../../engine/train/strategies/smoothing'
import { adversarialDelta, symmetricKl } from '../../../engine/train/strategies/smart'
import { augmentText, dictionarySynonyms, embeddingSynonyms } from '../../../engine/train/strategies/augment'
import { Rng } from '../../../engine/compute/rng'
import { finetune } from '../../../engine/train/finetune'
import { parseFinetuneConfig } from '../../../engine/train/finetune-config'
import { tempDir } from '../../helpers'
import { importClue, tnewsRecords, wideInitModel } from './finetune-data'

const tmp = tempDir('mengzi-strategies-')
afterAll(() => tmp.cleanup())
beforeAll(async () => {
  await tf.setBackend('cpu')
})
const scalar = (t: tf.Scalar) => t.dataSync()[0]

describe('terms against hand computations', () => {
  it('soft-label KL with temperature: T² · KL(p_t ‖ p_s)', () => {
    // T = 2: p_t = softmax([0, .5]), p_s = softmax([.5, 0]); their log ratio is ±0.5 exactly
    const p = 1 / (1 + Math.exp(-0.5))
    const kl = (2 * p - 1) * 0.5
    expect(scalar(softLabelKl(tf.tensor2d([[1, 0]]), tf.tensor2d([[0, 1]]), 2))).toBeCloseTo(4 * kl, 6)
    expect(scalar(softLabelKl(tf.tensor2d([[3, 1, 0]]), tf.tensor2d([[3, 1, 0]]), 5))).toBeCloseTo(0, 7)
  })

  it('hidden-state MSE over mapped layers and real tokens only', () => {
    expect(uniformLayerMap(2, 4)).toEqual([0, 2, 4])
    expect(uniformLayerMap(3, 12)).toEqual([0, 4, 8, 12])
    const s = [tf.tensor3d([[[1, 1], [9, 9]]]), tf.tensor3d([[[0, 2], [9, 9]]])] // second token is padding
    const t = [tf.tensor3d([[[0, 0], [0, 0]]]), tf.tensor3d([[[0, 0], [0, 0]]]), tf.tensor3d([[[0, 0], [5, 5]]])]
    // layer 0 ← 0: ((1)² + (1)²)/2 = 1; layer 1 ← 2: ((0)² + (2)²)/2 = 2; mean 1.5
    expect(scalar(hiddenStateLoss(s, t, tf.tensor2d([[1, 0]]), { layerMap: [0, 2], loss: 'mse' }))).toBeCloseTo(1.5, 6)
    expect(() => hiddenStateLoss(s, t, tf.tensor2d([[1, 0]]), { layerMap: [0, 3], loss: 'mse' })).toThrow(/layerMap\[1\] = 3: the teacher has hidden states 0\.\.2/)
  })

  it('choice smoothing: mean BCE of every valid class against one-hot', () => {
    const bce = (z: number, y: number) => Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)))
    expect(scalar(choiceBce(tf.tensor2d([[0, 0]]), Int32Array.from([0])))).toBeCloseTo(Math.log(2), 6)
    expect(scalar(choiceBce(tf.tensor2d([[2, -1]]), Int32Array.from([0])))).toBeCloseTo((bce(2, 1) + bce(-1, 0)) / 2, 6)
    // a padding choice (valid 0) and an unlabelled row do not count
    expect(scalar(choiceBce(tf.tensor2d([[2, -1, 7], [5, 5, 5]]), Int32Array.from([0, -100]), Float32Array.from([1, 1, 0, 1, 1, 1])))).toBeCloseTo((bce(2, 1) + bce(-1, 0)) / 2, 6)
  })

  it('SMART: symmetric KL by hand; the ascent step stays in the ε-ball and raises the KL', () => {
    const a = 1 / (1 + Math.exp(-1)) // softmax([1, 0])[0]
    expect(scalar(symmetricKl(tf.tensor2d([[1, 0]]), tf.tensor2d([[0, 1]])))).toBeCloseTo(2 * (2 * a - 1) * 1, 6)
    // f(e + δ) = sum over T and H of (e + δ) · w, a linear "model" on [1, 2, 3] inputs
    const e = tf.tensor3d([[[0.5, -0.2, 0.1], [0.3, 0.3, -0.4]]])
    const w = tf.tensor2d([[1, -1], [2, 0], [0, 3]])
    const f = (d: tf.Tensor3D) => e.add(d).sum(1).matMul(w) as tf.Tensor2D
    const clean = f(tf.zeros([1, 2, 3]))
    const o = { noise: 1e-5, stepSize: 1e-2, epsilon: 0.05, steps: 3 }
    const delta = adversarialDelta([1, 2, 3], f, clean, o, new Rng(1))
    expect(tf.abs(delta).max().dataSync()[0]).toBeLessThanOrEqual(0.05 + 1e-7)
    const random = tf.tensor3d(new Rng(2).fillNormal(new Float32Array(6), 1e-2), [1, 2, 3])
    expect(scalar(symmetricKl(clean, f(delta)))).toBeGreaterThan(scalar(symmetricKl(clean, f(random))))
  })

  it('augmentation: dictionary synonyms on jieba words, swaps keep the words, deletions drop some', () => {
    const dict = path.join(tmp.dir, 'synonyms.txt')
    fs.writeFileSync(dict, '喜欢 喜爱 爱好\n城市 都市\n')
    const syn = dictionarySynonyms(dict)
    expect(syn.synonyms('喜欢')).toEqual(['喜爱', '爱好'])
    const text = '我喜欢这个城市'
    const replaced = augmentText(text, 'synonym', 1, syn, new Rng(1))
    expect(replaced).not.toBe(text)
    expect(replaced).toMatch(/^我(喜爱|爱好|喜欢)这个(都市|城市)$/)
    const swapped = augmentText(text, 'swap', 0.5, syn, new Rng(3))
    expect([...swapped].sort()).toEqual([...text].sort())
    expect(augmentText(text, 'delete', 0.5, syn, new Rng(4)).length).toBeLessThan(text.length)
    const inserted = augmentText('我喜欢，城市。', 'insert', 0.5, syn, new Rng(5))
    expect(inserted.length).toBeGreaterThan(7)
    expect(inserted.replace(/喜爱|爱好|都市/g, '')).toBe('我喜欢，城市。') // only synonyms were added
    // nearest characters by embedding cosine
    const emb = embeddingSynonyms(['[PAD]', '山', '岭', '水'], Float32Array.from([0, 0, 1, 0, 0.9, 0.1, 0, 1]), 2, 1)
    expect(emb.synonyms('山')).toEqual(['岭'])
  })
})

describe('strategies in the fine-tuning loop', () => {
  const init = path.join(tmp.dir, 'start')
  let data: string
  let teacher: string
  const base = () => ({ backend: 'cpu', init, task: 'tnews', dataDir: data, learningRate: 3e-3, batchSize: 16, epochs: 2, maxSeqLength: 24, dropout: 0 })
  beforeAll(async () => {
    await wideInitModel(init, 0.3)
    data = (await importClue(tmp.dir, 'tnews', { 'train.json': tnewsRecords(64, 1), 'dev.json': tnewsRecords(16, 2) })).dir
    const t = await finetune(parseFinetuneConfig(base()), { runDir: path.join(tmp.dir, 'teacher') })
    teacher = t.best!.dir
  })

  it('SMART: the term is positive and shrinks as the model fits', async () => {
    const r = await finetune(parseFinetuneConfig({ ...base(), epochs: 4, strategies: { smart: { weight: 10, epsilon: 0.1, stepSize: 0.1 } } }), { runDir: path.join(tmp.dir, 'smart') })
    const terms = r.smartTerms!
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    console.log('SMART term first 4 steps', mean(terms.slice(0, 4)).toExponential(3), 'last 4', mean(terms.slice(-4)).toExponential(3))
    expect(terms.every((x) => x > 0)).toBe(true)
    expect(mean(terms.slice(-4))).toBeLessThan(mean(terms.slice(0, 4)))
  })

  it('KD from a fine-tuned teacher, choice smoothing, Bregman and augmentation each add their term', async () => {
    const names = new Set<string>()
    const r = await finetune(
      parseFinetuneConfig({
        ...base(),
        epochs: 1,
        strategies: {
          distill: { teacher, logitWeight: 1, hiddenWeight: 0.5, temperature: 2 },
          choiceSmoothing: { weight: 0.5 },
          smart: { bregman: { weight: 1, momentum: 0.9 } },
          augment: { copies: 1, synonyms: 'embeddings', operations: ['swap', 'delete'] },
        },
      }),
      { runDir: path.join(tmp.dir, 'all') },
      { metrics: (ps) => ps.forEach((p) => names.add(p.name)) },
    )
    expect([...names].filter((n) => n.startsWith('loss/')).sort()).toEqual(['loss/bregman', 'loss/kd_hidden', 'loss/kd_logits', 'loss/smart', 'loss/smoothing', 'loss/task'])
    expect(r.augmented).toBeGreaterThan(32)
    expect(r.trainExamples).toBe(64 + r.augmented)
  })

  it('SMART with Bregman resumes from an epoch checkpoint exactly (momentum teacher, adversarial noise, dropout)', async () => {
    const config = parseFinetuneConfig({ ...base(), dropout: 0.1, maxTrainExamples: 32, strategies: { smart: { weight: 1, bregman: { weight: 1, momentum: 0.9 } } } })
    const losses = (into: number[]) => ({ metrics: (ps: { name: string; value: number }[]) => ps.forEach((p) => p.name === 'loss' && into.push(p.value)) })
    const whole: number[] = []
    const full = await finetune(config, { runDir: path.join(tmp.dir, 'smart-whole') }, losses(whole))
    // the same run stopped after its first epoch checkpoint, then resumed from it
    const parts: number[] = []
    let checkpoint = ''
    const first = await finetune(config, { runDir: path.join(tmp.dir, 'smart-resumed') }, { ...losses(parts), checkpoint: (c) => (checkpoint = c.dir), stopRequested: () => checkpoint !== '' })
    expect(first.stopped).toBe(true)
    expect(first.epochs).toHaveLength(1)
    const resumed = await finetune(config, { runDir: path.join(tmp.dir, 'smart-resumed'), resumeFrom: checkpoint }, losses(parts))
    expect(parts).toEqual(whole)
    expect(resumed.epochs).toEqual(full.epochs)
    expect(resumed.smartTerms).toEqual(full.smartTerms)
  })

  it('refuses a hidden-state teacher of another width, in one line', async () => {
    const other = await wideInitModel(path.join(tmp.dir, 'wide48'), 0.3, 48)
    const err = await finetune(parseFinetuneConfig({ ...base(), epochs: 1, maxTrainExamples: 16, strategies: { distill: { teacher: other, logitWeight: 0, hiddenWeight: 1 } } }), { runDir: path.join(tmp.dir, 'bad') }).catch((e: Error) => e)
    expect(String(err)).toMatch(/distill: student hidden size 32 ≠ teacher's 48/)
  })
})
