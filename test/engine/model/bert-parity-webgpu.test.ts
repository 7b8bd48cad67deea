// Parity with HuggingFace transformers on the hf-bert-tiny fixture, on the webgpu backend (on CI:
// lavapipe, a CPU Vulkan): forward outputs, the loss, every gradient, one AdamW step. Same bounds as
// bert-parity.test.ts; reads are asynchronous (tfjs-webgpu's dataSync needs a DOM canvas).
import * as tf from '@tensorflow/tfjs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { bertEncoder, type BertInputs, type Weights } from '../../../engine/model/bert'
import { readCheckpointDir } from '../../../engine/model/checkpoint'
import type { BertConfig } from '../../../engine/model/config'
import { crossEntropy, mlmLogits, mlmLoss, nspLogits } from '../../../engine/model/heads'
import { readSafetensors, type StoredTensor } from '../../../engine/model/safetensors'
import { disposeWeights, loadWeights } from '../../../engine/model/weights'
import { lossAndGrads } from '../../../engine/compute/grads'
import { hasFusedKernel } from '../../../engine/compute/kernels/fused'
import { AdamW } from '../../../engine/train/optimizers'
import { setWebgpuFusedKernels } from '../../../engine/compute/webgpu/flags'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'

const FIXTURE = join(__dirname, '../../fixtures/hf-bert-tiny')
const HEADS = [{ kind: 'mlm' as const }, { kind: 'nsp' as const }]

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
const read = async (t: tf.Tensor) => (await t.data()) as Float32Array

function inputs(): BertInputs {
  const t = (name: string) => tf.tensor2d(ints(name), ref.get(name)!.shape as [number, number], 'int32')
  return { inputIds: t('input_ids'), attentionMask: t('attention_mask'), tokenTypeIds: t('token_type_ids') }
}

const load = (): Weights => loadWeights({ config, heads: HEADS }, checkpoint, { source: 'hf-bert-tiny' }).weights

/** Largest |got − want| over non-padding positions (`rowSize` values per position). */
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

// our WGSL kernels (the default), and tfjs-webgpu's stock kernels (MENGZI_WEBGPU_KERNELS=0)
for (const fused of [true, false]) describeOnWebgpu(`BERT on hf-bert-tiny matches HuggingFace (webgpu backend, ${fused ? 'our kernels' : 'stock kernels'})`, () => {
  let previous = true
  beforeAll(() => {
    previous = setWebgpuFusedKernels(fused)
  })
  afterAll(() => {
    setWebgpuFusedKernels(previous)
  })

  it('forward: hidden states, pooler, MLM and NSP logits within 1e-5, padding excluded', async () => {
    expect(tf.getBackend()).toBe('webgpu')
    expect(hasFusedKernel('MengziGelu')).toBe(fused)
    const w = load()
    const x = inputs()
    const out = bertEncoder(w, config, x)
    const last = out.hiddenStates[config.num_hidden_layers]
    const logits = mlmLogits(w, config, last)
    const nsp = nspLogits(w, out.pooled!)
    const errors: Record<string, number> = {}
    for (const [i, h] of out.hiddenStates.entries()) errors[`hidden_states.${i}`] = maxAbsDiff(await read(h), floats(ref, `hidden_states.${i}`), config.hidden_size)
    errors.pooler_output = maxAbsDiff(await read(out.pooled!), floats(ref, 'pooler_output'))
    errors.prediction_logits = maxAbsDiff(await read(logits), floats(ref, 'prediction_logits'), config.vocab_size)
    errors.seq_relationship_logits = maxAbsDiff(await read(nsp), floats(ref, 'seq_relationship_logits'))
    console.log(`webgpu (fused kernels ${hasFusedKernel('MengziGelu') ? 'on' : 'off'}) forward max |error|:`, errors)
    expect(Object.keys(errors).length).toBe(config.num_hidden_layers + 4)
    for (const [name, e] of Object.entries(errors)) expect(e, name).toBeLessThan(1e-5)
    tf.dispose([...out.hiddenStates, out.pooled!, logits, nsp, ...Object.values(x)])
    disposeWeights(w)
  })

  it('loss within 1e-5, and every gradient within 1e-4 of the largest reference entry', async () => {
    const w = load()
    const x = inputs()
    const { loss, grads } = lossAndGrads(w, () => {
      const out = bertEncoder(w, config, x)
      const mlm = mlmLoss(w, config, out.hiddenStates[config.num_hidden_layers], ints('mlm_labels'))
      return mlm.add(crossEntropy(nspLogits(w, out.pooled!), ints('nsp_labels'))) as tf.Scalar
    })
    expect(Math.abs((await read(loss))[0] - floats(ref, 'loss')[0])).toBeLessThan(1e-5)
    expect([...grads.keys()].sort()).toEqual([...refGrads.keys()].sort())
    const worst: string[] = []
    for (const [name, g] of grads) {
      const want = floats(refGrads, name)
      const largest = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
      const err = maxAbsDiff(await read(g), want)
      // mathematically zero (softmax ignores a shift shared by all keys): rounding noise on both sides
      if (name.endsWith('attention.self.key.bias')) expect(err, name).toBeLessThan(1e-8)
      else if (err > 1e-4 * largest) worst.push(`${name}: ${err} vs largest ${largest}`)
    }
    expect(worst).toEqual([])
    tf.dispose([loss, ...grads.values(), ...Object.values(x)])
    disposeWeights(w)
  })

  it('one AdamW step from the reference gradients within 1e-6 of torch.optim.AdamW', async () => {
    const w = load()
    const adam = new AdamW(w, { eps: 1e-6, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, noDecay: () => false })
    const grads = new Map([...refGrads].map(([name, t]) => [name, tf.tensor(t.data as Float32Array, t.shape)]))
    adam.step(grads, 1e-3)
    let worst = 0
    for (const [name, v] of w) worst = Math.max(worst, maxAbsDiff(await read(v), floats(refAfterAdamW, name)))
    expect(worst).toBeLessThan(1e-6)
    tf.dispose([...grads.values()])
    adam.dispose()
    disposeWeights(w)
  })
})
