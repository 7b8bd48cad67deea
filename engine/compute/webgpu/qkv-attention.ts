// MengziQkvAttention / MengziQkvAttentionGrad on webgpu: BERT's self-attention from its input x, the
// query, key and value projections as one product and the attention core reading Q, K, V from it.
//   forward:  W = [Wq; Wk; Wv] [3H, H] and b = [bq; bk; bv] by buffer copies (commands, not dispatches),
//             QKV = x·Wᵀ + b [B·T, 3H] (one product of 3H columns: each column the sum the separate
//             products make, bit for bit), then attention.ts's forward with Q, K, V at row stride 3H.
//   backward: attention.ts's backward writes dQ | dK | dV into one [B·T, 3H]; dx = dQKV·W (one product
//             over 3H: the three products' sum in another association), dW | db = dQKVᵀ·x with its row
//             sums (one product), split into the six gradients by buffer copies.
// Per layer that is 3 dispatches where the separate dense layers recorded 10 (3 products forward, 3 dX,
// 2 adds of the tape's, 3 dW), and each product has three times the columns (workgroups) to fill a GPU.
// Used in fp32 and in fp16 with f16 inputs rounded as they load; under f16 storage (the default fp16)
// the projections stay apart (ops/attention.ts), because the attention's packed copies are written apart.
import type { TensorInfo } from '@tensorflow/tfjs'
import { attentionBackward, attentionForward } from './attention'
import { matmul, matmulOutputs } from './matmul'
import { bufferOf, copyEncoder, output, webgpuKernel, type WebgpuBackendInternals } from './runner'
import { sizeFromShape } from './shape'

/** The tensors one after another in a new one of `shape`, by buffer copies. */
function stacked(backend: WebgpuBackendInternals, parts: TensorInfo[], shape: number[]): TensorInfo {
  const out = output(backend, shape)
  let at = 0
  for (const part of parts) {
    const bytes = sizeFromShape(part.shape) * 4
    copyEncoder(backend).copyBufferToBuffer(bufferOf(backend, part), 0, bufferOf(backend, out), at, bytes)
    at += bytes
  }
  return out
}

/** `whole` cut into consecutive tensors of `shapes`, by buffer copies. */
function unstacked(backend: WebgpuBackendInternals, whole: TensorInfo, shapes: number[][]): TensorInfo[] {
  let at = 0
  return shapes.map((shape) => {
    const part = output(backend, shape)
    const bytes = sizeFromShape(shape) * 4
    copyEncoder(backend).copyBufferToBuffer(bufferOf(backend, whole), at, bufferOf(backend, part), 0, bytes)
    at += bytes
    return part
  })
}

const layoutOf = (H: number, into = false) => ({ S: 3 * H, O: H, into })

/** (x [B·T, H], wq, wk, wv [H, H], bq, bk, bv [H], mask [B, 1, 1, T]; attrs as MengziAttention's) → [context [B, T, H], row statistics, QKV [B·T, 3H]] */
export const qkvAttentionWebgpuConfig = webgpuKernel('MengziQkvAttention', (backend, { x, wq, bq, wk, bk, wv, bv, mask }, attrs) => {
  const [N, H] = x.shape
  const [B, , , T] = mask.shape
  if (attrs.keepHalf === true) throw new Error('MengziQkvAttention: the packed f16 copies (keepHalf) are written only with the projections apart')
  const w = stacked(backend, [wq, wk, wv], [3 * H, H])
  const b = stacked(backend, [bq, bk, bv], [3 * H])
  const qkv = matmul(backend, { a: x, b: w, M: N, N: 3 * H, K: H, transB: true, bias: b })
  backend.disposeData(w.dataId)
  backend.disposeData(b.dataId)
  const [context, stats] = attentionForward(backend, { q: qkv, k: qkv, v: qkv, mask }, attrs, [B, T, H], layoutOf(H))
  return [context, stats, qkv]
})

/** (dcontext [B, T, H], x, wq, wk, wv, qkv (the forward's), mask, context, saved (row statistics)) → [dx, dwq, dbq, dwk, dbk, dwv, dbv] */
export const qkvAttentionGradWebgpuConfig = webgpuKernel('MengziQkvAttentionGrad', (backend, { dcontext, x, wq, wk, wv, qkv, mask, context, saved }, attrs) => {
  const [N, H] = x.shape
  const [dqkv] = attentionBackward(backend, { dcontext, q: qkv, k: qkv, v: qkv, mask, context, saved }, attrs, layoutOf(H, true))
  const w = stacked(backend, [wq, wk, wv], [3 * H, H])
  const dx = matmul(backend, { a: dqkv, b: w, M: N, N: H, K: 3 * H })
  const [dw, db] = matmulOutputs(backend, { a: dqkv, b: x, M: 3 * H, N: H, K: N, transA: true, rowSums: true })
  const [dwq, dwk, dwv] = unstacked(backend, dw, [[H, H], [H, H], [H, H]])
  const [dbq, dbk, dbv] = unstacked(backend, db, [[H], [H], [H]])
  for (const t of [w, dqkv, dw, db]) backend.disposeData(t.dataId)
  return [dx, dwq, dbq, dwk, dbk, dwv, dbv]
})
