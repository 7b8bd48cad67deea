// The benchmark's training step: BERT + MLM head on the masked positions, as one loss function over
// trainable variables. INTERIM: a stand-in with the same shapes and ops as engine/model/bert.ts
// (Linear weights stored [out, in], erf GELU, HF LayerNorm, tied decoder) until that lands on main;
// then this file delegates to engine/model and the benchmark measures the real model.
import * as tf from '@tensorflow/tfjs'
import type { BertConfig } from '../model/config'
import { gelu as fusedGelu } from '../model/ops/gelu'
import { layerNorm as fusedLayerNorm } from '../model/ops/layer-norm'
import { softmaxCrossEntropy } from '../model/ops/softmax-cross-entropy'

export interface BenchBatch {
  inputIds: tf.Tensor2D // [B, T] int32
  tokenTypeIds: tf.Tensor2D // [B, T] int32
  attentionMask: tf.Tensor2D // [B, T] 1 = token
  maskedPositions: tf.Tensor1D // [M] int32, flat indices into B·T
  maskedLabels: tf.Tensor1D // [M] int32 word ids
}

export interface BenchModel {
  variables: tf.Variable[]
  /** Mean MLM cross-entropy over the masked positions (labels: maskedLabels' values); inside tf.tidy. */
  loss(batch: BenchBatch, labels: Int32Array): tf.Scalar
  dispose(): void
}

/** Deterministic N(0, 0.02)-ish initial weights (initializer_range), as HF initialises BERT. */
function init(shape: number[], seed: number, std = 0.02): tf.Variable {
  return tf.variable(tf.truncatedNormal(shape, 0, std, 'float32', seed))
}

export interface BenchModelOptions {
  /** LayerNorm, GELU and the MLM cross-entropy as single ops with hand-written gradients (engine/model/ops). */
  fusedOps?: boolean
  seed?: number
}

export function createBenchModel(config: BertConfig, options: BenchModelOptions = {}): BenchModel {
  const { fusedOps = true, seed = 42 } = options
  const H = config.hidden_size
  const I = config.intermediate_size
  const w = new Map<string, tf.Variable>()
  let s = seed
  const add = (name: string, v: tf.Variable) => w.set(name, v)
  const linear = (name: string, out: number, inp: number) => {
    add(`${name}.weight`, init([out, inp], s++))
    add(`${name}.bias`, tf.variable(tf.zeros([out])))
  }
  const norm = (name: string) => {
    add(`${name}.weight`, tf.variable(tf.ones([H])))
    add(`${name}.bias`, tf.variable(tf.zeros([H])))
  }
  add('word', init([config.vocab_size, H], s++))
  add('position', init([config.max_position_embeddings, H], s++))
  add('type', init([config.type_vocab_size, H], s++))
  norm('emb.LayerNorm')
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const n of ['query', 'key', 'value', 'attention.output']) linear(`${l}.${n}`, H, H)
    norm(`${l}.attention.LayerNorm`)
    linear(`${l}.intermediate`, I, H)
    linear(`${l}.output`, H, I)
    norm(`${l}.output.LayerNorm`)
  }
  linear('transform', H, H)
  norm('transform.LayerNorm')
  add('decoder.bias', tf.variable(tf.zeros([config.vocab_size])))

  const get = (name: string) => w.get(name)!
  const dense = (name: string, x: tf.Tensor) => tf.matMul(x, get(`${name}.weight`), false, true).add(get(`${name}.bias`))
  const layerNorm = (name: string, x: tf.Tensor) => {
    if (fusedOps) return fusedLayerNorm(x, get(`${name}.weight`) as tf.Tensor1D, get(`${name}.bias`) as tf.Tensor1D, config.layer_norm_eps)
    const { mean, variance } = tf.moments(x, -1, true)
    return x.sub(mean).mul(tf.rsqrt(variance.add(config.layer_norm_eps))).mul(get(`${name}.weight`)).add(get(`${name}.bias`))
  }
  const gelu = (x: tf.Tensor) => fusedOps ? fusedGelu(x) : x.mul(0.5).mul(tf.erf(x.mul(Math.SQRT1_2)).add(1))

  function loss(batch: BenchBatch, labels: Int32Array): tf.Scalar {
    const [B, T] = batch.inputIds.shape
    const heads = config.num_attention_heads
    const hd = H / heads
    const positions = get('position').slice([0, 0], [T, H])
    let x = tf.gather(get('word'), batch.inputIds.reshape([B * T])) // [B·T, H]
      .add(tf.gather(get('type'), batch.tokenTypeIds.reshape([B * T])))
      .add(tf.tile(positions, [B, 1]))
    x = layerNorm('emb.LayerNorm', x)
    const mask = tf.scalar(1).sub(batch.attentionMask.cast('float32')).mul(-3.4028234663852886e38).reshape([B, 1, 1, T])
    const split = (t: tf.Tensor) => t.reshape([B, T, heads, hd]).transpose([0, 2, 1, 3]) // [B, nh, T, hd]
    for (let l = 0; l < config.num_hidden_layers; l++) {
      const q = split(dense(`${l}.query`, x))
      const k = split(dense(`${l}.key`, x))
      const v = split(dense(`${l}.value`, x))
      const probs = tf.softmax(tf.matMul(q, k, false, true).mul(hd ** -0.5).add(mask), -1) // [B, nh, T, T]
      const context = tf.matMul(probs, v).transpose([0, 2, 1, 3]).reshape([B * T, H])
      const attended = layerNorm(`${l}.attention.LayerNorm`, dense(`${l}.attention.output`, context).add(x))
      const inner = gelu(dense(`${l}.intermediate`, attended)) // [B·T, I]
      x = layerNorm(`${l}.output.LayerNorm`, dense(`${l}.output`, inner).add(attended))
    }
    const picked = tf.gather(x, batch.maskedPositions) // [M, H]
    const t = layerNorm('transform.LayerNorm', gelu(dense('transform', picked)))
    const logits = tf.matMul(t, get('word'), false, true).add(get('decoder.bias')) // [M, V]
    if (fusedOps) return softmaxCrossEntropy(logits as tf.Tensor2D, labels)
    const onehot = tf.oneHot(batch.maskedLabels, config.vocab_size).cast('float32')
    return tf.logSoftmax(logits, -1).mul(onehot).sum().div(-batch.maskedLabels.shape[0]) as tf.Scalar
  }

  return {
    variables: [...w.values()],
    loss,
    dispose: () => w.forEach((v) => v.dispose()),
  }
}
