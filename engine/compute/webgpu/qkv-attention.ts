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
// Used in fp32 and in fp16: with f16 inputs rounded as they load, or under f16 storage (the default
// fp16), where the products read the weights' f16 copies stacked by buffer copies too, the attention
// keeps its packed copy of QKV laid out as the product (attr keepHalf) and the backward's x comes packed.
import type { TensorInfo } from '@tensorflow/tfjs'
import { attentionBackward, attentionForward } from './attention'
import { halfStorageOn } from './flags'
import { halfWeight } from './half-weights'
import { matmul, matmulOutputs, type Operand } from './matmul'
import { bufferOf, copyEncoder, output, webgpuKernel, type WebgpuBackendInternals } from './runner'
import { sizeFromShape } from './shape'

/**
 * The weights one after another in a new [3H, H], by buffer copies: f32, or under f16 storage their f16
 * copies (half-weights.ts) in a new packed one (H·H even: each copy whole words).
 */
function stackedWeights(backend: WebgpuBackendInternals, ws: TensorInfo[]): Operand {
  const [H] = ws[0].shape
  if (!halfStorageOn()) return stacked(backend, ws, [3 * H, H])
  const bytes = H * H * 2
  const out = output(backend, [3 * (bytes / 4)], 'int32')
  ws.forEach((w, i) => {
    const half = halfWeight(backend, w)
    copyEncoder(backend).copyBufferToBuffer(bufferOf(backend, half.data), half.offset * 2, bufferOf(backend, out), i * bytes, bytes)
  })
  return { data: out, offset: 0 }
}

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

const dataOf = (o: Operand): TensorInfo => ('data' in o ? o.data : o)

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

/**
 * (x [B·T, H], wq, wk, wv [H, H], bq, bk, bv [H], mask [B, 1, 1, T]; attrs as MengziAttention's) →
 * [context [B, T, H], row statistics, QKV [B·T, 3H]], or with keepHalf (fp16 storage) [context, row
 * statistics, QKV's packed f16 copy, the context's].
 */
export const qkvAttentionWebgpuConfig = webgpuKernel('MengziQkvAttention', (backend, { x, wq, bq, wk, bk, wv, bv, mask }, attrs) => {
  const [N, H] = x.shape
  const [B, , , T] = mask.shape
  const w = stackedWeights(backend, [wq, wk, wv])
  const b = stacked(backend, [bq, bk, bv], [3 * H])
  const qkv = matmul(backend, { a: x, b: w, M: N, N: 3 * H, K: H, transB: true, bias: b })
  for (const t of [dataOf(w), b]) backend.disposeData(t.dataId)
  const outs = attentionForward(backend, { q: qkv, k: qkv, v: qkv, mask }, attrs, [B, T, H], layoutOf(H))
  if (outs.length === 2) return [...outs, qkv]
  backend.disposeData(qkv.dataId) // its packed copy is what the backward reads
  return outs
})

/** (dcontext [B, T, H], x (or packed), wq, wk, wv, qkv (the forward's, or its packed copy), mask, context (or packed), saved (row statistics)) → [dx, dwq, dbq, dwk, dbk, dwv, dbv] */
export const qkvAttentionGradWebgpuConfig = webgpuKernel('MengziQkvAttentionGrad', (backend, { dcontext, x, wq, wk, wv, qkv, mask, context, saved }, attrs) => {
  const H = wq.shape[0]
  const N = sizeFromShape(dcontext.shape) / H
  const operands: Record<string, TensorInfo> = qkv.dtype === 'int32' ? { qkv } : { q: qkv, k: qkv, v: qkv }
  const [dqkv] = attentionBackward(backend, { dcontext, ...operands, mask, context, saved }, attrs, layoutOf(H, true))
  const w = stackedWeights(backend, [wq, wk, wv])
  const dx = matmul(backend, { a: dqkv, b: w, M: N, N: H, K: 3 * H })
  const xs: Operand = x.dtype === 'int32' ? { data: x, offset: 0 } : x
  const [dw, db] = matmulOutputs(backend, { a: dqkv, b: xs, M: 3 * H, N: H, K: N, transA: true, rowSums: true })
  const [dwq, dwk, dwv] = unstacked(backend, dw, [[H, H], [H, H], [H, H]])
  const [dbq, dbk, dbv] = unstacked(backend, db, [[H], [H], [H]])
  for (const t of [dataOf(w), dqkv, dw, db]) backend.disposeData(t.dataId)
  return [dx, dwq, dbq, dwk, dbk, dwv, dbv]
})
