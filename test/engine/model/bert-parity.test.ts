// Parity with HuggingFace transformers (BertForPreTraining, eager attention, eval mode) on the
// hf-bert-tiny fixture: forward outputs, the loss, every gradient, and one AdamW step.
import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { bertEncoder, type BertInputs, type Weights } from '../../../engine/model/bert'
import { readCheckpointDir } from '../../../engine/model/checkpoint'
import type { BertConfig } from '../../../engine/model/config'
import { crossEntropy, mlmLogits, mlmLoss, nspLogits } from '../../../engine/model/heads'
import { readSafetensors, type StoredTensor } from '../../../engine/model/safetensors'
import { disposeWeights, loadWeights } from '../../../engine/model/weights'
import { lossAndGrads } from '../../../engine/compute/grads'
import { AdamW } from '../../../engine/train/optimizers'
import { selectBackend } from '../../../engine/compute/backends'
import { hasFusedKernel } from '../../../engine/compute/kernels/fused'

const FIXTURE = join(__dirname, '../../fixtures/hf-bert-tiny')
const ARCH_HEADS = [{ kind: 'mlm' as const }, { kind: 'nsp' as const }]

let config: BertConfig
let checkpoint: Map<string, StoredTensor>
let ref: Map<string, StoredTensor>
let refGrads: Map<string, StoredTensor>
let refAfterAdamW: Map<string, StoredTensor>

beforeAll(async () => {
  const ck = await readCheckpointDir(FIXTURE)
  config = ck.config
  checkpoint = ck.tensors
  ref = await readSafetensors(join(FIXTURE, 'reference_outputs.safetensors'))
  refGrads = await readSafetensors(join(FIXTURE, 'reference_grads.safetensors'))
  refAfterAdamW = await readSafetensors(join(FIXTURE, 'reference_params_after_adamw.safetensors'))
})

const ints = (name: string) => ref.get(name)!.data as Int32Array
const floats = (m: Map<string, StoredTensor>, name: string) => m.get(name)!.data as Float32Array

function inputs(): BertInputs {
  const t = (name: string) => tf.tensor2d(ints(name), ref.get(name)!.shape as [number, number], 'int32')
  return { inputIds: t('input_ids'), attentionMask: t('attention_mask'), tokenTypeIds: t('token_type_ids') }
}

function load(): Weights {
  return loadWeights({ config, heads: ARCH_HEADS }, checkpoint, { source: 'hf-bert-tiny' }).weights
}

/** Largest |got − want| over the entries of non-padding positions (`rowSize` values per position). */
function maxAbsDiff(got: Float32Array, want: Float32Array, rowSize?: number): number {
  expect(got.length).toBe(want.length)
  const mask = ints('attention_mask')
  let worst = 0
  for (let i = 0; i < want.length; i++) {
    if (rowSize && mask[Math.floor(i / rowSize)] === 0) continue
    worst = Math.max(worst, Math.abs(got[i] - want[i]))
  }
  return worst
}

function pretrainingLoss(w: Weights, x: BertInputs): tf.Scalar {
  const out = bertEncoder(w, config, x)
  const mlm = mlmLoss(w, config, out.hiddenStates[config.num_hidden_layers], ints('mlm_labels'))
  return mlm.add(crossEntropy(nspLogits(w, out.pooled!), ints('nsp_labels'))) as tf.Scalar
}

// cpu is the reference backend; wasm runs the same model through our native kernels (@mengzi/native:
// BLAS products, fused layers), wasm-js through XNNPACK and our JavaScript kernels only.
describe.each(['cpu', 'wasm', 'wasm-js'] as const)('BERT on hf-bert-tiny matches HuggingFace (%s backend)', (backend) => {
  beforeAll(async () => {
    const name = backend === 'wasm-js' ? 'wasm' : backend
    const selection = await selectBackend(name, { native: backend !== 'wasm-js' })
    expect(selection.name).toBe(name)
    expect(hasFusedKernel('MengziGelu')).toBe(backend === 'wasm')
  })

  it('forward: hidden states, pooler, MLM and NSP logits within 1e-5, padding excluded', () => {
    const w = load()
    const x = inputs()
    const errors: Record<string, number> = {}
    tf.tidy(() => {
      const out = bertEncoder(w, config, x)
      expect(out.hiddenStates.length).toBe(config.num_hidden_layers + 1)
      out.hiddenStates.forEach((h, i) => {
        errors[`hidden_states.${i}`] = maxAbsDiff(h.dataSync() as Float32Array, floats(ref, `hidden_states.${i}`), config.hidden_size)
      })
      errors.pooler_output = maxAbsDiff(out.pooled!.dataSync() as Float32Array, floats(ref, 'pooler_output'))
      const last = out.hiddenStates[config.num_hidden_layers]
      errors.prediction_logits = maxAbsDiff(mlmLogits(w, config, last).dataSync() as Float32Array, floats(ref, 'prediction_logits'), config.vocab_size)
      errors.seq_relationship_logits = maxAbsDiff(nspLogits(w, out.pooled!).dataSync() as Float32Array, floats(ref, 'seq_relationship_logits'))
    })
    console.log(`${backend} forward max |error|:`, errors)
    expect(Object.keys(errors).length).toBe(config.num_hidden_layers + 4) // L + 1 hidden states, pooler, 2 logits
    for (const [name, e] of Object.entries(errors)) expect(e, name).toBeLessThan(1e-5)
    tf.dispose(Object.values(x))
    disposeWeights(w)
  })

  it('loss (MLM at masked positions + NSP) within 1e-5, and every gradient within 1e-4 of the largest reference entry', () => {
    const w = load()
    const x = inputs()
    const { loss, grads } = lossAndGrads(w, () => pretrainingLoss(w, x))
    const lossError = Math.abs(loss.dataSync()[0] - floats(ref, 'loss')[0])
    expect(lossError).toBeLessThan(1e-5)
    expect([...grads.keys()].sort()).toEqual([...refGrads.keys()].sort())
    let worstRelative = 0
    const worst: string[] = []
    for (const [name, g] of grads) {
      const want = floats(refGrads, name)
      const got = g.dataSync() as Float32Array
      const largest = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
      const err = maxAbsDiff(got, want)
      if (name.endsWith('attention.self.key.bias')) {
        // Mathematically zero (softmax ignores a shift shared by all keys); both sides hold rounding
        // noise of ~1e-12, so a relative bound to the largest entry means nothing here.
        expect(err, name).toBeLessThan(1e-9)
        continue
      }
      worstRelative = Math.max(worstRelative, err / largest)
      if (err > 1e-4 * largest) worst.push(`${name}: ${err} vs largest ${largest}`)
    }
    console.log(`${backend} loss |error| ${lossError}; worst gradient error / largest entry ${worstRelative}`)
    expect(worst).toEqual([])
    tf.dispose([loss, ...grads.values(), ...Object.values(x)])
    disposeWeights(w)
  })

  it('one AdamW step from the reference gradients within 1e-6 of torch.optim.AdamW', () => {
    const w = load()
    // The reference used one parameter group, so weight decay applies to every parameter there.
    const adam = new AdamW(w, { eps: 1e-6, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, noDecay: () => false })
    const grads = new Map([...refGrads].map(([name, t]) => [name, tf.tensor(t.data as Float32Array, t.shape)]))
    adam.step(grads, 1e-3)
    let worst = 0
    for (const [name, v] of w) worst = Math.max(worst, maxAbsDiff(v.dataSync() as Float32Array, floats(refAfterAdamW, name)))
    console.log(`${backend} AdamW max |param error| ${worst}`)
    expect(worst).toBeLessThan(1e-6)
    expect(adam.stepCount).toBe(1)

    // With the default no-decay rule, LayerNorm weights (all 1 here) skip the lr·λ·w = 1e-5 shrink.
    const w2 = load()
    const adam2 = new AdamW(w2, { eps: 1e-6, weightDecay: 0.01 })
    adam2.step(grads, 1e-3)
    const ln = 'bert.embeddings.LayerNorm.weight'
    const diff = w2.get(ln)!.sub(w.get(ln)!).dataSync()
    for (const d of diff) expect(d).toBeCloseTo(1e-3 * 0.01 * 1, 7)
    const dense = 'bert.pooler.dense.weight'
    expect(maxAbsDiff(w2.get(dense)!.dataSync() as Float32Array, w.get(dense)!.dataSync() as Float32Array)).toBe(0)
    tf.dispose([...grads.values()])
    adam.dispose()
    adam2.dispose()
    disposeWeights(w)
    disposeWeights(w2)
  })
})
