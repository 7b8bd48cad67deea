import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { gatherRows } from '../../../engine/model/bert'
import { readCheckpointDir } from '../../../engine/model/checkpoint'
import type { BertConfig } from '../../../engine/model/config'
import type { StoredTensor } from '../../../engine/model/safetensors'
import { disposeWeights, initWeights, isNoDecay, loadWeights, parameterShapes, type BertArchitecture } from '../../../engine/model/weights'
import { WorkbenchError } from '../../../engine/errors'
import { hasFusedKernel } from '../../../engine/compute/kernels/fused'
import { nativeAddon } from '../../../engine/compute/native'
import { BACKENDS, randomValues, useBackend } from './ops/compare'

const FIXTURE = join(__dirname, '../../fixtures/hf-bert-tiny')
let config: BertConfig
let stored: Map<string, StoredTensor>
let arch: BertArchitecture

beforeAll(async () => {
  await tf.setBackend('cpu')
  const ck = await readCheckpointDir(FIXTURE)
  config = ck.config
  stored = ck.tensors
  arch = { config, heads: [{ kind: 'mlm' }, { kind: 'nsp' }] }
})

function refusal(f: () => unknown): WorkbenchError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(WorkbenchError)
    return e as WorkbenchError
  }
  throw new Error('accepted')
}

describe('parameter inventory', () => {
  it('names and shapes equal the HF BertForPreTraining checkpoint', () => {
    const shapes = parameterShapes(arch)
    expect(new Set(shapes.keys())).toEqual(new Set(stored.keys()))
    for (const [name, shape] of shapes) expect(stored.get(name)!.shape, name).toEqual(shape)
  })

  it('drops the pooler unless a head uses it, as HF does for token classification', () => {
    const tok = parameterShapes({ config, heads: [{ kind: 'token', name: 'classifier', numLabels: 5 }] })
    expect(tok.has('bert.pooler.dense.weight')).toBe(false)
    expect(tok.get('classifier.weight')).toEqual([5, config.hidden_size])
    const seq = parameterShapes({ config, heads: [{ kind: 'sequence', name: 'classifier', numLabels: 3 }] })
    expect(seq.get('bert.pooler.dense.weight')).toEqual([config.hidden_size, config.hidden_size])
  })

  it('refuses a hidden size that the heads do not divide, quoting both', () => {
    expect(() => parameterShapes({ config: { ...config, num_attention_heads: 5 }, heads: [] })).toThrow(
      'hidden size (64) is not a multiple of the number of attention heads (5)',
    )
  })

  it('exempts biases and LayerNorm weights from decay, by name', () => {
    const names = [...parameterShapes(arch).keys()]
    const exempt = names.filter(isNoDecay)
    expect(exempt.every((n) => n.endsWith('.bias') || n.includes('LayerNorm'))).toBe(true)
    expect(names.filter((n) => !isNoDecay(n)).every((n) => n.endsWith('.weight') && !n.includes('LayerNorm'))).toBe(true)
    expect(exempt).toContain('cls.predictions.bias')
  })
})

describe('initialisation like HF', () => {
  it('is seeded, normal(0, initializer_range), zero biases, unit LayerNorm, zero [PAD] row', () => {
    const a = initWeights(arch, 7)
    const b = initWeights(arch, 7)
    const c = initWeights(arch, 8)
    const word = a.get('bert.embeddings.word_embeddings.weight')!.dataSync() as Float32Array
    expect(word).toEqual(b.get('bert.embeddings.word_embeddings.weight')!.dataSync())
    expect(word).not.toEqual(c.get('bert.embeddings.word_embeddings.weight')!.dataSync())
    const H = config.hidden_size
    expect([...word.slice(config.pad_token_id * H, (config.pad_token_id + 1) * H)].every((v) => v === 0)).toBe(true)
    const rest = Array.from(word.slice(H))
    const mean = rest.reduce((s, v) => s + v, 0) / rest.length
    const std = Math.sqrt(rest.reduce((s, v) => s + (v - mean) ** 2, 0) / rest.length)
    expect(Math.abs(mean)).toBeLessThan(0.001)
    expect(std / config.initializer_range).toBeGreaterThan(0.98)
    expect(std / config.initializer_range).toBeLessThan(1.02)
    for (const [name, v] of a) {
      const d = v.dataSync()
      if (name.endsWith('LayerNorm.weight')) expect(d.every((x) => x === 1), name).toBe(true)
      else if (name.endsWith('.bias')) expect(d.every((x) => x === 0), name).toBe(true)
    }
    for (const w of [a, b, c]) disposeWeights(w)
  })
})

describe('loading checks every key and shape before copying', () => {
  it('loads the fixture with nothing initialised or ignored', () => {
    const r = loadWeights(arch, stored)
    expect(r.initialised).toEqual([])
    expect(r.ignored).toEqual([])
    expect(r.weights.get('cls.predictions.bias')!.dataSync()).toEqual(stored.get('cls.predictions.bias')!.data)
    disposeWeights(r.weights)
  })

  it('names a missing key, an unexpected key and a wrong shape', () => {
    const missing = new Map(stored)
    missing.delete('bert.pooler.dense.bias')
    expect(refusal(() => loadWeights(arch, missing, { source: 'ck' })).message).toBe(
      'ck: 45 keys, the model expects 46; missing "bert.pooler.dense.bias"',
    )
    const extra = new Map(stored).set('bert.extra', stored.get('bert.pooler.dense.bias')!)
    expect(refusal(() => loadWeights(arch, extra)).message).toMatch(/unexpected "bert\.extra"/)
    const bad = new Map(stored).set('bert.pooler.dense.weight', { dtype: 'F32', shape: [64, 32], data: new Float32Array(64 * 32) })
    expect(refusal(() => loadWeights(arch, bad)).message).toMatch(/"bert\.pooler\.dense\.weight" has shape \[64, 32\], the model expects \[64, 64\]/)
  })

  it('maps gamma/beta and bare BertModel keys, drops tied decoder keys, initialises a new head', () => {
    const foreign = new Map<string, StoredTensor>()
    for (const [k, t] of stored) {
      if (k.startsWith('cls.')) continue
      foreign.set(k.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), t)
    }
    foreign.set('cls.predictions.decoder.weight', stored.get('bert.embeddings.word_embeddings.weight')!)
    const head = { kind: 'sequence' as const, name: 'classifier', numLabels: 3 }
    const r = loadWeights({ config, heads: [head] }, foreign, { initMissing: (n) => n.startsWith('classifier.'), seed: 1 })
    expect(r.initialised).toEqual(['classifier.weight', 'classifier.bias'])
    expect(r.ignored).toEqual(['cls.predictions.decoder.weight'])
    expect(r.weights.get('bert.embeddings.LayerNorm.weight')!.dataSync()).toEqual(stored.get('bert.embeddings.LayerNorm.weight')!.data)
    disposeWeights(r.weights)
    // and the pretraining heads of a full checkpoint can be ignored when fine-tuning
    const ft = loadWeights({ config, heads: [head] }, stored, { initMissing: (n) => n.startsWith('classifier.'), ignoreUnexpected: true })
    expect(ft.ignored.filter((n) => n.startsWith('cls.')).length).toBe(7)
    disposeWeights(ft.weights)
  })
})

describe('gatherRows', () => {
  // wasm: the native scatter-add kernel (MengziScatterAddRows); wasm-js: tf.scatterND on wasm.
  for (const backend of BACKENDS) {
    it(`gives cpu's tf.gather gradient on ${backend}, with the padding row left out`, async () => {
      await useBackend(backend)
      expect(hasFusedKernel('MengziScatterAddRows')).toBe(backend === 'wasm')
      const table = tf.tensor2d(randomValues(50 * 8, 1), [50, 8])
      const ids = tf.tensor2d(Int32Array.from(randomValues(3 * 40, 2), (v) => Math.floor((v + 1) * 25)), [3, 40], 'int32')
      const up = tf.tensor(randomValues(3 * 40 * 8, 3), [3, 40, 8])
      const grad = (pad?: number) => tf.grad((t: tf.Tensor) => gatherRows(t as tf.Tensor2D, ids, pad).mul(up).sum())(table).dataSync()
      const ours = [grad(), grad(7)]
      await useBackend('cpu')
      const reference = tf.grad((t: tf.Tensor) => tf.gather(t, ids).mul(up).sum())(table).dataSync()
      expect(Array.from(ours[0])).toEqual(Array.from(reference)) // the same float32 additions in the same order
      expect(Array.from(ours[1].slice(7 * 8, 8 * 8))).toEqual(new Array(8).fill(0))
      expect(Array.from(ours[1].slice(0, 7 * 8))).toEqual(Array.from(reference.slice(0, 7 * 8)))
    })
  }

  it('the native scatter refuses an id outside the table with a one-line reason, writing nothing', () => {
    const out = new Float32Array(8).fill(5)
    expect(() => nativeAddon()!.scatterAddRows(new Float32Array(4), Int32Array.from([1, 9]), -1, out, 4, 2)).toThrow(/^scatterAddRows: id 9 at 1 is outside \[0, 4\)$/)
    expect(Array.from(out)).toEqual(new Array(8).fill(5))
    expect(() => nativeAddon()!.scatterAddRows(new Float32Array(3), Int32Array.from([1, 2]), -1, out, 4, 2)).toThrow(/^scatterAddRows: rows must hold/)
  })

  it('has the gradient of tf.gather (duplicates summed), and none for the padding row', () => {
    const table = tf.randomNormal([7, 3], 0, 1, 'float32', 3) as tf.Tensor2D
    const ids = tf.tensor2d([[1, 4, 1, 0], [6, 0, 4, 4]], undefined, 'int32')
    const up = tf.randomNormal([2, 4, 3], 0, 1, 'float32', 4)
    const ours = tf.grad((t: tf.Tensor) => gatherRows(t as tf.Tensor2D, ids).mul(up).sum())(table)
    const stock = tf.grad((t: tf.Tensor) => tf.gather(t, ids).mul(up).sum())(table)
    expect(ours.arraySync()).toEqual(stock.arraySync())
    expect(gatherRows(table, ids).arraySync()).toEqual(tf.gather(table, ids).arraySync())
    const noPad = tf.grad((t: tf.Tensor) => gatherRows(t as tf.Tensor2D, ids, 0).mul(up).sum())(table).arraySync() as number[][]
    expect(noPad[0]).toEqual([0, 0, 0])
    expect(noPad.slice(1)).toEqual((stock.arraySync() as number[][]).slice(1))
  })
})
