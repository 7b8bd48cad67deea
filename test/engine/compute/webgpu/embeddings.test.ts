// The embedding sum, the row gather and the additive mask as our WGSL kernels against tfjs's cpu backend
// running the composition they replace; and a whole training step of a tiny model on webgpu, which
// records none of tfjs-webgpu's own programs (with add.ts's Add for the tape's gradient sums) and
// computes the cpu backend's loss and gradients.
import * as tf from '@tensorflow/tfjs'
import { expect, it } from 'vitest'
import { lossAndGrads } from '../../../../engine/compute/grads'
import { hasFusedKernel, runFused } from '../../../../engine/compute/kernels/fused'
import { additiveMask, bertEncoder, EVAL, gatherRows, type BertInputs } from '../../../../engine/model/bert'
import type { BertConfig } from '../../../../engine/model/config'
import { mlmLoss } from '../../../../engine/model/heads'
import { embeddingSum } from '../../../../engine/model/ops/embeddings'
import { disposeWeights, initWeights } from '../../../../engine/model/weights'
import { TINY_BERT } from '../../train/tiny-config'
import { randomValues } from '../../model/ops/compare'
import { countGpuWork } from './count-gpu-work'
import { describeOnWebgpu } from './on-webgpu'
import { valueAndGrads } from './value-and-grads'

const t = (shape: number[], seed: number) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape)
const ints = (values: number[], shape: number[]) => tf.tensor(values, shape, 'int32')

/**
 * Each gradient within tol × its largest |value| of the expected one, that scale at least `floor` (a key
 * bias's gradient is 0 up to rounding: softmax ignores a shift of all scores).
 */
function expectGradsClose(actual: Float32Array[], expected: Float32Array[], tol: number, label: string, floor = 0): void {
  expect(actual.length).toBe(expected.length)
  actual.forEach((a, k) => {
    expect(a.length, `${label}: gradient ${k} size`).toBe(expected[k].length)
    const scale = Math.max(floor, expected[k].reduce((m, v) => Math.max(m, Math.abs(v)), 0)) || 1
    let worst = 0
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - expected[k][i]) / scale)
    expect(worst, `${label}: gradient ${k}, max error / max |value|`).toBeLessThanOrEqual(tol)
  })
}

/** The value of f(tables) and the gradients of sum(f · fixed weights) w.r.t. every table. */
async function valueAndTableGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, make: () => tf.Tensor[]): Promise<{ value: Float32Array; grads: Float32Array[] }> {
  const [value, ...grads] = await valueAndGrads(f, make)
  return { value, grads }
}

/** `run` on webgpu (our kernels), then on cpu (the tfjs composition). */
async function onBoth<T>(run: () => Promise<T>): Promise<[T, T]> {
  const gpu = await run()
  await tf.setBackend('cpu')
  try {
    return [gpu, await run()]
  } finally {
    await tf.setBackend('webgpu')
  }
}

describeOnWebgpu('row lookups and the embedding sum on webgpu', () => {
  it('registers the kernels', () => {
    for (const name of ['MengziGatherRows', 'MengziEmbeddings', 'MengziEmbeddingsGrad', 'MengziAdditiveMask']) expect(hasFusedKernel(name), name).toBe(true)
  })

  it('embedding sum: the composition bit for bit forward, the three tables\' gradients within rounding (repeated ids, the pad id, ragged B·T and H, types 0/1)', async () => {
    // [B, T, H, vocab, positions]: H not a multiple of 4, B·T·H not a multiple of the workgroup, T < positions
    for (const [B, T, H, V, P] of [[3, 7, 37, 11, 9], [2, 5, 8, 300, 5], [1, 1, 3, 4, 2]] as const) {
      const idValues = Array.from({ length: B * T }, (_, i) => [0, 3, 3, 1, V - 1, 0, 5 % V, 3][i % 8]) // pad id 0 and repeats
      const typeValues = Array.from({ length: B * T }, (_, i) => (i % T >= Math.ceil(T / 2) ? 1 : 0))
      const make = () => [t([V, H], 1), t([2, H], 2), t([P, H], 3)]
      const f = (words: tf.Tensor, types: tf.Tensor, positions: tf.Tensor) =>
        embeddingSum({ words: words as tf.Tensor2D, types: types as tf.Tensor2D, positions: positions as tf.Tensor2D }, ints(idValues, [B, T]) as tf.Tensor2D, ints(typeValues, [B, T]) as tf.Tensor2D, 0)
      const [gpu, cpu] = await onBoth(() => valueAndTableGrads(f, make))
      expect(gpu.value, `[${B}, ${T}, ${H}] forward`).toEqual(cpu.value)
      expectGradsClose(gpu.grads, cpu.grads, 1e-6, `[${B}, ${T}, ${H}]`)
      // the pad row gets no gradient; positions past T get zeros
      expect(gpu.grads[0].subarray(0, H).every((v) => v === 0)).toBe(true)
      expect(gpu.grads[2].subarray(T * H).every((v) => v === 0)).toBe(true)
    }
  })

  it('row gather (the MLM head\'s masked rows): the rows bit for bit, the table gradient within rounding', async () => {
    const ids = [4, 0, 4, 9, 2, 4, 7]
    const f = (table: tf.Tensor) => gatherRows(table as tf.Tensor2D, ints(ids, [ids.length]))
    const [gpu, cpu] = await onBoth(() => valueAndTableGrads(f, () => [t([10, 37], 4)]))
    expect(gpu.value).toEqual(cpu.value)
    expectGradsClose(gpu.grads, cpu.grads, 1e-6, 'gather')
  })

  it('scatter-add of rows: each table element the sequential f32 sum in id order, bit for bit (runs of an id, ids coming back, ids out of range, the skipped id)', async () => {
    const [N, H, V, skip] = [40, 5, 20, 3]
    // runs (segments of token types), ids of one bucket alternating (1 and 17), out of range, the skip id
    const idValues = Array.from({ length: N }, (_, i) => (i < 12 ? 1 : i < 20 ? [17, 1, 17, 3, -1, 20, 4, 4][i - 12] : (i * 7) % V))
    const rowValues = randomValues(N * H, 31).map((x, i) => x * 10 ** ((i % 7) - 3)) // magnitudes 1e-3 … 1e3: the order shows
    const expected = new Float32Array(V * H)
    idValues.forEach((id, i) => {
      if (id < 0 || id >= V || id === skip) return
      for (let c = 0; c < H; c++) expected[id * H + c] = Math.fround(expected[id * H + c] + rowValues[i * H + c])
    })
    const rows = tf.tensor(rowValues, [N, H])
    const ids = ints(idValues, [N])
    const [table] = runFused('MengziScatterAddRows', { rows, ids }, { tableRows: V, skipId: skip })
    expect(Array.from(await table.data())).toEqual(Array.from(expected))
    tf.dispose([rows, ids, table])
  })

  it('additive mask: the composition bit for bit, from int32 and float32 masks', async () => {
    const values = [1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0]
    for (const dtype of ['int32', 'float32'] as const) {
      const read = async () => {
        const m = additiveMask(tf.tensor2d(values, [1, values.length], dtype))
        const out = { shape: m.shape, values: Float32Array.from(await m.data()) }
        m.dispose()
        return out
      }
      const [gpu, cpu] = await onBoth(read)
      expect(gpu.shape).toEqual([1, 1, 1, values.length])
      expect(gpu.values, dtype).toEqual(cpu.values) // toEqual tells 0 from −0
    }
  })

  it('a training step records no stock tfjs program, keeps no tensor, and computes the cpu backend\'s loss and gradients', async () => {
    const config: BertConfig = { ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, hidden_size: 36, intermediate_size: 40 } as BertConfig
    const [B, T] = [3, 7]
    const idValues = Array.from({ length: B * T }, (_, i) => (i % T >= T - 2 && i >= T ? 0 : (i * 37) % config.vocab_size)) // padded tails
    const labels = Int32Array.from({ length: B * T }, (_, i) => (i % 3 === 1 ? (i * 11) % config.vocab_size : -100))
    const step = () => {
      const inputs: BertInputs = {
        inputIds: ints(idValues, [B, T]) as tf.Tensor2D,
        attentionMask: ints(idValues.map((id, i) => (id === 0 && i >= T ? 0 : 1)), [B, T]) as tf.Tensor2D,
        tokenTypeIds: ints(idValues.map((_, i) => (i % T >= 4 ? 1 : 0)), [B, T]) as tf.Tensor2D,
      }
      const weights = initWeights({ config, heads: [{ kind: 'mlm' }], pooler: false }, 5)
      const result = lossAndGrads(weights, () => {
        const { hiddenStates } = bertEncoder(weights, config, inputs, EVAL, { pooler: false })
        return mlmLoss(weights, config, hiddenStates[hiddenStates.length - 1], labels)
      })
      tf.dispose(Object.values(inputs))
      disposeWeights(weights)
      return result
    }
    const read = async ({ loss, grads }: ReturnType<typeof step>) => {
      const out = { loss: (await loss.data())[0], grads: await Promise.all([...grads].map(async ([name, g]) => [name, Float32Array.from(await g.data())] as const)) }
      tf.dispose([loss, ...grads.values()])
      return out
    }

    await read(step()) // compiles the pipelines
    const before = tf.memory().numTensors
    let result: ReturnType<typeof step> | undefined
    const work = countGpuWork(() => (result = step()))
    const gpu = await read(result!)
    expect(tf.memory().numTensors).toBe(before)
    // no stock program is left: the tape's sums of a tensor's gradients from several consumers (4 per
    // layer: x feeds query, key, value and the residual; the attention output feeds the FFN and the
    // residual; and the word table's, from the embedding and the tied MLM decoder) are our Add (add.ts)
    expect(work.programs, `stock programs: ${work.programs.join(', ')}`).toEqual([])

    await tf.setBackend('cpu')
    const cpu = await read(step())
    await tf.setBackend('webgpu')
    expect(Math.abs(gpu.loss - cpu.loss)).toBeLessThan(1e-5)
    expect(gpu.grads.map(([name]) => name)).toEqual(cpu.grads.map(([name]) => name))
    gpu.grads.forEach(([name, g], k) => expectGradsClose([g], [cpu.grads[k][1]], 1e-4, name, 1e-4))
  })
})
