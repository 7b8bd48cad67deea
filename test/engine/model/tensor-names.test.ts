// One table of HF tensor names and shapes: the model's parameter inventory and the checkpoint reader's
// expectations agree, both equal the HF fixture's keys and shapes, and foreign keys (no `bert.` prefix,
// gamma/beta, position_ids, a tied decoder) load into the model through the one renaming.
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { readCheckpointDir } from '../../../engine/model/checkpoint'
import type { BertConfig } from '../../../engine/model/config'
import { expectedShapes, readHfCheckpoint } from '../../../engine/model/hf-checkpoint'
import type { StoredTensor } from '../../../engine/model/safetensors'
import { disposeWeights, loadWeights, parameterShapes } from '../../../engine/model/weights'

const FIXTURE = join(__dirname, '../../fixtures/hf-bert-tiny')
let config: BertConfig
let stored: Map<string, StoredTensor>

beforeAll(async () => {
  await tf.setBackend('cpu')
  const ck = await readCheckpointDir(FIXTURE)
  config = ck.config
  stored = ck.tensors
})

describe('tensor names and shapes', () => {
  it('are the same for the model and for checkpoints, and equal the HF fixture', async () => {
    const model = parameterShapes({ config, heads: [{ kind: 'mlm' }, { kind: 'nsp' }], pooler: true })
    const checkpoint = expectedShapes({ ...config, tie_word_embeddings: true }, ['pooler', 'mlm', 'nsp'])
    expect([...model]).toEqual([...checkpoint]) // same names, same shapes, same order
    const hf = await readHfCheckpoint(FIXTURE)
    expect([...hf.tensors.keys()]).toEqual([...model.keys()])
    for (const [name, t] of hf.tensors) expect(t.shape, name).toEqual(model.get(name))
    // a classifier checkpoint's head is the model's sequence head
    const cls = expectedShapes({ ...config, tie_word_embeddings: true, id2label: { 0: 'a', 1: 'b', 2: 'c' } }, ['pooler', 'classifier'])
    const seq = parameterShapes({ config, heads: [{ kind: 'sequence', name: 'classifier', numLabels: 3 }] })
    expect([...cls]).toEqual([...seq])
  })

  it('take foreign keys through the one renaming when loading weights', () => {
    const foreign = new Map<string, StoredTensor>()
    for (const [name, t] of stored) {
      // a TF-era, prefix-less BertModel export with its buffers and an explicit tied decoder
      const key = name.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')
      foreign.set(key, t)
    }
    foreign.set('embeddings.position_ids', { dtype: 'I64', shape: [1, config.max_position_embeddings], data: new Float32Array(config.max_position_embeddings) } as unknown as StoredTensor)
    foreign.set('cls.predictions.decoder.weight', stored.get('bert.embeddings.word_embeddings.weight')!)
    const r = loadWeights({ config, heads: [{ kind: 'mlm' }, { kind: 'nsp' }] }, foreign)
    expect(r.initialised).toEqual([])
    expect(r.ignored.sort()).toEqual(['cls.predictions.decoder.weight', 'embeddings.position_ids'])
    expect([...r.weights.keys()]).toEqual([...parameterShapes({ config, heads: [{ kind: 'mlm' }, { kind: 'nsp' }] }).keys()])
    expect(r.weights.get('bert.encoder.layer.0.output.LayerNorm.weight')!.dataSync()).toEqual(stored.get('bert.encoder.layer.0.output.LayerNorm.weight')!.data)
    disposeWeights(r.weights)
  })
})
