// `mengzi model forward`: one forward (and optionally backward) pass of a HuggingFace BERT folder on
// inputs from a safetensors file, writing the outputs with HF's names, so other tools can compare.
//
// inputs:  input_ids [B, T] (I32 or I64); optional attention_mask (default 1), token_type_ids
//          (default 0), mlm_labels [B, T] (-100 = ignore), nsp_labels [B]
// outputs: hidden_states.0..L [B, T, H], pooler_output [B, H], prediction_logits [B, T, V],
//          seq_relationship_logits [B, 2] (each when the model has that part), loss [1] when labels
//          are given (MLM + NSP, as BertForPreTraining), and grad.<parameter> with `grads`.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { badInput } from '../errors'
import { readCheckpointDir } from './checkpoint'
import type { BertConfig } from './config'
import { bertEncoder, EVAL, type BertInputs, type Weights } from './bert'
import { crossEntropy, mlmLogits, mlmLoss, nspLogits, type HeadSpec } from './heads'
import { readHfCheckpoint } from './hf-checkpoint'
import { readSafetensors, toInt32, writeSafetensors, type StoredTensor, type TensorToWrite } from './safetensors'
import { disposeWeights, loadWeights, type BertArchitecture } from './weights'
import { lossAndGrads } from '../compute/grads'

export interface ForwardResult {
  outputs: { name: string; shape: number[] }[]
  loss: number | null
}

/** The architecture that a checkpoint's tensor names describe (`classifier` as a sequence head). */
function architectureOf(config: BertConfig, tensors: ReadonlyMap<string, { shape: number[] }>): BertArchitecture {
  const heads: HeadSpec[] = []
  if (tensors.has('cls.predictions.bias')) heads.push({ kind: 'mlm' })
  if (tensors.has('cls.seq_relationship.weight')) heads.push({ kind: 'nsp' })
  const classifier = tensors.get('classifier.bias')
  if (classifier) heads.push({ kind: 'sequence', name: 'classifier', numLabels: classifier.shape[0] })
  return { config, heads, pooler: tensors.has('bert.pooler.dense.weight') }
}

/**
 * A HF folder (validated by the importer's reader), or a training checkpoint without vocab.txt
 * (config.json + model.safetensors, checked by the loader).
 */
async function readModel(dir: string): Promise<{ config: BertConfig; tensors: Map<string, StoredTensor> }> {
  if (!existsSync(join(dir, 'vocab.txt')) && existsSync(join(dir, 'model.safetensors'))) {
    const ck = await readCheckpointDir(dir)
    return { config: ck.config, tensors: ck.tensors }
  }
  const ckpt = await readHfCheckpoint(dir)
  return { config: ckpt.config, tensors: new Map([...ckpt.tensors].map(([n, t]) => [n, { dtype: 'F32', shape: t.shape, data: t.data }])) }
}

function intInput(inputs: Map<string, StoredTensor>, name: string, shape: number[] | null, file: string): Int32Array | null {
  const t = inputs.get(name)
  if (!t) return null
  if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    throw badInput(`${file}: "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] like input_ids`)
  }
  return toInt32(name, t)
}

export async function runForward(modelDir: string, inputsFile: string, outputFile: string, options: { grads?: boolean } = {}): Promise<ForwardResult> {
  const { config, tensors: stored } = await readModel(modelDir)
  const arch = architectureOf(config, stored)

  const inputs = await readSafetensors(inputsFile)
  const idsTensor = inputs.get('input_ids')
  if (!idsTensor || idsTensor.shape.length !== 2) throw badInput(`${inputsFile}: needs "input_ids" of shape [batch, length]`)
  const [B, T] = idsTensor.shape
  const ids = toInt32('input_ids', idsTensor)
  for (const id of ids) if (id < 0 || id >= config.vocab_size) throw badInput(`${inputsFile}: input_ids holds ${id}, outside [0, ${config.vocab_size})`)
  const mask = intInput(inputs, 'attention_mask', [B, T], inputsFile) ?? new Int32Array(B * T).fill(1)
  const types = intInput(inputs, 'token_type_ids', [B, T], inputsFile) ?? new Int32Array(B * T)
  const mlmLabels = intInput(inputs, 'mlm_labels', [B, T], inputsFile)
  const nspLabels = intInput(inputs, 'nsp_labels', [B], inputsFile)
  const hasMlm = arch.heads.some((h) => h.kind === 'mlm')
  const hasNsp = arch.heads.some((h) => h.kind === 'nsp')
  if (mlmLabels && !hasMlm) throw badInput(`${inputsFile}: mlm_labels given but ${modelDir} has no MLM head`)
  if (nspLabels && !hasNsp) throw badInput(`${inputsFile}: nsp_labels given but ${modelDir} has no NSP head`)
  if (options.grads && !mlmLabels && !nspLabels) throw badInput('--grads needs labels (mlm_labels and/or nsp_labels) in the inputs: the gradient is of the loss')

  const { weights } = loadWeights(arch, stored, { source: modelDir })
  const x: BertInputs = {
    inputIds: tf.tensor2d(ids, [B, T], 'int32'),
    attentionMask: tf.tensor2d(mask, [B, T], 'int32'),
    tokenTypeIds: tf.tensor2d(types, [B, T], 'int32'),
  }
  const out = new Map<string, TensorToWrite>()
  const put = async (name: string, t: tf.Tensor) => out.set(name, { dtype: 'F32', shape: t.shape, data: (await t.data()) as Float32Array })
  const loss = (w: Weights): tf.Scalar => {
    const enc = bertEncoder(w, config, x, EVAL, { pooler: arch.pooler })
    let total = tf.scalar(0)
    if (mlmLabels) total = total.add(mlmLoss(w, config, enc.hiddenStates[config.num_hidden_layers], mlmLabels))
    if (nspLabels) total = total.add(crossEntropy(nspLogits(w, enc.pooled!), nspLabels))
    return total as tf.Scalar
  }
  try {
    const forward = tf.tidy(() => {
      const enc = bertEncoder(weights, config, x, EVAL, { pooler: arch.pooler })
      const last = enc.hiddenStates[config.num_hidden_layers]
      const named: [string, tf.Tensor][] = enc.hiddenStates.map((h, i) => [`hidden_states.${i}`, h])
      if (enc.pooled) named.push(['pooler_output', enc.pooled])
      if (hasMlm) named.push(['prediction_logits', mlmLogits(weights, config, last)])
      if (hasNsp && enc.pooled) named.push(['seq_relationship_logits', nspLogits(weights, enc.pooled)])
      return named
    })
    for (const [name, t] of forward) await put(name, t)
    tf.dispose(forward.map(([, t]) => t))

    let lossValue: number | null = null
    if (mlmLabels || nspLabels) {
      if (options.grads) {
        const { loss: l, grads } = lossAndGrads(weights, () => loss(weights))
        lossValue = (await l.data())[0]
        for (const [name, g] of grads) await put(`grad.${name}`, g)
        tf.dispose([l, ...grads.values()])
      } else {
        const l = tf.tidy(() => loss(weights))
        lossValue = (await l.data())[0]
        l.dispose()
      }
      out.set('loss', { dtype: 'F32', shape: [1], data: Float32Array.of(lossValue) })
    }
    await writeSafetensors(outputFile, out)
    return { outputs: [...out].map(([name, t]) => ({ name, shape: t.shape })), loss: lossValue }
  } finally {
    tf.dispose(Object.values(x))
    disposeWeights(weights)
  }
}
