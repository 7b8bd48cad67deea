// BERT's self-attention core, from the projected Q, K, V [B, T, H] to the context [B, T, H]:
// split heads, scores = Q·Kᵀ/√d + mask, softmax, dropout, ·V, merge heads. With a fused kernel (native
// on wasm, WGSL on webgpu) it is one op working in the [B, T, H] layout (no head split/merge copies, the
// dropout mask recomputed from its seed; on webgpu flash style, the probabilities never stored);
// elsewhere the tfjs composition below, which stays the reference.
// fp16 storage on webgpu (flags.halfStorageOn) while the tape records: the kernel also writes packed f16
// copies of Q, K, V and the context (compute/webgpu/attention.ts), and this op keeps those instead of the
// f32 tensors, which nothing else keeps (the Q, K, V dense layers keep their input), so they are freed
// after the forward. The context's copy is shared with the attention output dense layer, which keeps
// its input for dW: one f16 copy kept, not the f32 context. Written by the forward kernel rather than
// packed after (MengziPackHalf, or the Q, K, V products' epilogue): it has the values in registers, so
// the copies cost only their writes, no reads and no dispatch, and the dense products stay as they are.
import * as tf from '@tensorflow/tfjs'
import { noGradient } from '../../compute/grads'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'
import { halfStorageOn, qkvFusionOn } from '../../compute/webgpu/flags'
import { savedInput, shareHalf } from './dense'
import { dropout } from './dropout'
import { reshapeKeepingNothing } from './reshape'

export interface AttentionOptions {
  heads: number
  /** Dropout on the attention probabilities; 0 in eval. */
  dropoutRate: number
  /** Seed of the dropout mask (uint32); ignored when dropoutRate is 0. */
  seed: number
}

export function attentionCore(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor4D, options: AttentionOptions): tf.Tensor3D {
  const [B, T, H] = q.shape
  const { heads, dropoutRate, seed } = options
  const headSize = H / heads
  const scale = headSize ** -0.5
  const maskFits = mask.dtype === 'float32' && mask.shape.join() === [B, 1, 1, T].join()
  if (maskFits && hasFusedKernel('MengziAttention')) {
    const keepHalf = halfStorageOn() && tf.engine().isTapeOn() // (the tape is paused inside the op)
    const attrs = { heads, scale, rate: dropoutRate, seed: dropoutRate > 0 ? seed >>> 0 : 0, keepHalf }
    let contextHalf: tf.Tensor | undefined // the packed context, kept past the op's scope to share it
    const op = tf.customGrad(((qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor, m: tf.Tensor, save: tf.GradSaveFunc) => {
      // `saved` is what the backend's backward needs beyond the inputs and the context: the probabilities
      // [B, heads, T, T] on wasm, per-row softmax statistics [B, heads, T, 2] on webgpu (flash style)
      const [context, saved, qkv, ctxHalf] = runFused('MengziAttention', { q: qs, k: ks, v: vs, mask: m }, attrs)
      const packed = qkv != null
      if (packed) {
        save([qkv, m, ctxHalf, saved])
        contextHalf = tf.keep(ctxHalf)
      } else save([qs, ks, vs, m, context, saved])
      return {
        value: context,
        gradFunc: (dy: tf.Tensor, kept: tf.Tensor[]) => {
          const [sm, sc, ss] = kept.slice(-3)
          const operands: tf.NamedTensorMap = packed ? { qkv: kept[0] } : { q: kept[0], k: kept[1], v: kept[2] }
          return [...runFused('MengziAttentionGrad', { dcontext: dy, ...operands, mask: sm, context: sc, saved: ss }, attrs), noGradient(m)]
        },
      }
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...xs: tf.Tensor[]) => tf.Tensor3D
    const context = op(q, k, v, mask)
    if (contextHalf) {
      shareHalf(context, contextHalf.clone()) // in this scope, disposed with the forward's other tensors
      contextHalf.dispose()
    }
    return context
  }
  const split = (t: tf.Tensor) => t.reshape([B, T, heads, headSize]).transpose([0, 2, 1, 3]) // [B, nh, T, hd]
  const scores = tf.matMul(split(q), split(k), false, true) as tf.Tensor4D // [B, nh, T, T]
  let probs = tf.softmax(scores.mul(scale).add(mask), -1)
  if (dropoutRate > 0) probs = dropout(probs, dropoutRate, seed)
  const context = tf.matMul(probs, split(v)) // [B, nh, T, hd]
  return context.transpose([0, 2, 1, 3]).reshape([B, T, H]) as tf.Tensor3D
}

/** The query, key and value projections of a self-attention layer: weights [H, H] (HF's [out, in]) and biases [H]. */
export interface Projections {
  wq: tf.Tensor2D
  bq: tf.Tensor1D
  wk: tf.Tensor2D
  bk: tf.Tensor1D
  wv: tf.Tensor2D
  bv: tf.Tensor1D
}

/**
 * Self-attention from x [B, T, H] through its projections, as one op where the backend has it (webgpu:
 * MengziQkvAttention, Q, K and V as one [B·T, 3H] product read in place by the attention; flags.ts
 * setQkvFusion): the same forward bits as the projections apart and attentionCore, gradients within
 * rounding. Under fp16 storage it keeps what the projections apart would: x's f16 copy (the dense
 * layers' savedInput), QKV's and the context's (the latter shared with the output dense layer). Null
 * where it does not apply (another backend, a mask of another shape, an odd H under f16 storage): the
 * caller projects apart.
 */
export function fusedSelfAttention(x: tf.Tensor3D, p: Projections, mask: tf.Tensor4D, options: AttentionOptions): tf.Tensor3D | null {
  const [B, T, H] = x.shape
  const fits = x.dtype === 'float32' && mask.dtype === 'float32' && mask.shape.join() === [B, 1, 1, T].join() && p.wq.shape.join() === [H, H].join()
  // (the weights' f16 copies are stacked as whole words)
  if (!fits || !qkvFusionOn() || (halfStorageOn() && H % 2 !== 0) || !hasFusedKernel('MengziQkvAttention')) return null
  const { heads, dropoutRate, seed } = options
  const keepHalf = halfStorageOn() && tf.engine().isTapeOn()
  const attrs = { heads, scale: (H / heads) ** -0.5, rate: dropoutRate, seed: dropoutRate > 0 ? seed >>> 0 : 0, keepHalf }
  const rows = reshapeKeepingNothing<tf.Tensor2D>(x, [B * T, H]) // (under f16 storage x itself is not kept)
  const keptX = savedInput(rows)
  let contextHalf: tf.Tensor | undefined
  const op = tf.customGrad(((xs: tf.Tensor, wq: tf.Tensor, bq: tf.Tensor, wk: tf.Tensor, bk: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor, m: tf.Tensor, save: tf.GradSaveFunc) => {
    const [context, stats, qkv, ctxHalf] = runFused('MengziQkvAttention', { x: xs, wq, bq, wk, bk, wv, bv, mask: m }, attrs)
    if (ctxHalf) contextHalf = tf.keep(ctxHalf)
    save([keptX === rows ? xs : keptX, wq, wk, wv, qkv, m, ctxHalf ?? context, stats])
    return {
      value: context,
      gradFunc: (dy: tf.Tensor, [sx, swq, swk, swv, sqkv, sm, sc, ss]: tf.Tensor[]) => [
        ...runFused('MengziQkvAttentionGrad', { dcontext: dy, x: sx, wq: swq, wk: swk, wv: swv, qkv: sqkv, mask: sm, context: sc, saved: ss }, attrs),
        noGradient(m),
      ],
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...xs: tf.Tensor[]) => tf.Tensor3D
  const context = op(rows, p.wq, p.bq, p.wk, p.bk, p.wv, p.bv, mask)
  if (contextHalf) {
    shareHalf(context, contextHalf.clone()) // in this scope, disposed with the forward's other tensors
    contextHalf.dispose()
  }
  return context
}
