// BatchMatMul for the wasm backend, routed through XNNPACK for every case.
// tfjs-wasm 4.22 calls XNNPACK only for a plain 2-D product (no transpose, batch 1) and sends the
// rest (every backward product, batched attention, the tied MLM decoder) to a scalar loop that is
// ~10x slower. Here transposes are materialised with the wasm Transpose kernel, a broadcast right-hand
// side folds the left batch into rows (one XNNPACK call), and a true batch is split into per-element
// calls over views of the same wasm memory (no copies).
import * as tf from '@tensorflow/tfjs'
import type { BatchMatMulAttrs, BatchMatMulInputs, TensorInfo } from '@tensorflow/tfjs'
import { nativeAddon, type NativeAddon } from '../native'
import { overrideWasmKernel } from './override'
import { registerView, releaseView, shapeBytes, tensorRef, wasmInternals, type WasmBackendInternals, heapBuffer, heapBytes } from './wasm-internals'

type WasmMatMul = (
  aId: number, aShape: Uint8Array, aRank: number,
  bId: number, bShape: Uint8Array, bRank: number,
  transposeA: boolean, transposeB: boolean, outId: number,
) => void

let wasmMatMul: WasmMatMul | null = null

function setup(backend: tf.KernelBackend): void {
  wasmMatMul = wasmInternals(backend).wasm.cwrap('BatchMatMul', null, [
    'number', 'array', 'number', // a id, shape, rank
    'number', 'array', 'number', // b id, shape, rank
    'number', 'number', // transpose a, b
    'number', // out id
  ]) as WasmMatMul
}

/**
 * Calls the wasm product on plain row-major [M, K] x [K, N], the case that reaches XNNPACK. XNNPACK
 * caches the operator (with B packed) on B's tensor id, with no shape in the key: B is always passed
 * as a fresh view, released right after, so a reshaped tensor sharing memory can never hit a stale
 * operator (in training B changes every step anyway, so the cache would never be reused).
 */
function xnnMatMul(backend: WasmBackendInternals, aId: number, m: number, k: number, bId: number, n: number, outId: number): void {
  wasmMatMul!(aId, shapeBytes([1, m, k]), 3, bId, shapeBytes([1, k, n]), 3, false, false, outId)
}

/** Inner dimensions above this are summed in chunks of about K_CHUNK (see product2d). */
const K_SPLIT_ABOVE = 4096
const K_CHUNK = 2048
/** A·Bᵀ with N at least this many times M is computed as (B·Aᵀ)ᵀ (see batchMatMul). */
const SWAP_RATIO = 16

/**
 * out[rows, n] = a[rows, k] · b[k, n], b given by its byte offset. With a long inner dimension (the
 * MLM decoder's backward: k = vocabulary) XNNPACK streams whole rows of A and panels of B per output
 * tile and runs ~30% below its speed on cache-sized panels, so k is cut into chunks: the columns of
 * A for a chunk are copied out, the rows of B are a view, and the partial products are added up.
 */
function product2d(backend: WasmBackendInternals, a: { id: number; offset: number }, rows: number, k: number, bOffset: number, n: number, out: { id: number; offset: number }): void {
  if (k <= K_SPLIT_ABOVE) {
    const bView = registerView(backend, bOffset, k * n)
    xnnMatMul(backend, a.id, rows, k, bView, n, out.id)
    releaseView(backend, bView)
    return
  }
  const chunks = Math.ceil(k / K_CHUNK)
  const kb = Math.ceil(k / chunks)
  const columns = backend.makeOutput([rows, kb], 'float32')
  const partial = backend.makeOutput([rows, n], 'float32')
  const col = tensorRef(backend, columns)
  const part = tensorRef(backend, partial)
  for (let c = 0, k0 = 0; k0 < k; c++, k0 += kb) {
    const kc = Math.min(kb, k - k0)
    const heap = heapBytes(backend) // again each chunk: XNNPACK's allocations may have grown memory
    for (let i = 0; i < rows; i++) {
      const from = a.offset + 4 * (i * k + k0)
      heap.copyWithin(col.offset + 4 * i * kc, from, from + 4 * kc)
    }
    const aView = registerView(backend, col.offset, rows * kc)
    const bView = registerView(backend, bOffset + 4 * k0 * n, kc * n)
    xnnMatMul(backend, aView, rows, kc, bView, n, c === 0 ? out.id : part.id)
    releaseView(backend, aView)
    releaseView(backend, bView)
    if (c > 0) {
      const buffer = heapBuffer(backend)
      const total = new Float32Array(buffer, out.offset, rows * n)
      const add = new Float32Array(buffer, part.offset, rows * n)
      for (let j = 0; j < total.length; j++) total[j] += add[j]
    }
  }
  backend.disposeData(columns.dataId)
  backend.disposeData(partial.dataId)
}

/** `x` [batch, r, c] → [batch, c, r] as a new wasm tensor (the caller disposes it). */
function transposeLast2(backend: WasmBackendInternals, x: TensorInfo, batch: number, r: number, c: number): TensorInfo {
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc
  const input: TensorInfo = { dataId: x.dataId, shape: [batch, r, c], dtype: x.dtype }
  return transpose({ inputs: { x: input }, backend: backend as unknown as tf.KernelBackend, attrs: { perm: [0, 2, 1] } }) as TensorInfo
}

type BatchMatMulArgs = { inputs: BatchMatMulInputs; backend: tf.KernelBackend; attrs: BatchMatMulAttrs }

function batchMatMul(args: BatchMatMulArgs, stock: (args: BatchMatMulArgs) => TensorInfo): TensorInfo {
  const { inputs, attrs } = args
  const a = inputs.a as TensorInfo
  const b = inputs.b as TensorInfo
  const { transposeA, transposeB } = attrs
  const aRank = a.shape.length
  const bRank = b.shape.length
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2))
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2))
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || (batchA !== batchB && batchA !== 1 && batchB !== 1)) {
    return stock(args)
  }
  const backend = wasmInternals(args.backend)
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2]
  const kA = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1]
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2]
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1]
  if (kA !== kB) {
    throw new Error(`matMul: inner dimensions of [${a.shape}] and [${b.shape}] differ (${kA} vs ${kB}) with transposeA=${transposeA}, transposeB=${transposeB}`)
  }
  const k = kA
  const batch = Math.max(batchA, batchB)
  const outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
  const outShape = [...outBatchShape, m, n]
  const native = nativeAddon()
  if (native) return nativeBatchMatMul(native, backend, a, b, { transposeA, transposeB, m, k, n, batchA, batchB }, outShape)
  if (transposeB && !transposeA && batch === 1 && n >= SWAP_RATIO * m && m * k > 0) {
    // A·Bᵀ with B much taller than A (the tied MLM decoder: B is the [vocab, hidden] embedding
    // table) as (B·Aᵀ)ᵀ: B is used as stored, only the small Aᵀ is packed, the result is transposed.
    const aT = transposeLast2(backend, a, 1, m, k) // [1, k, m]
    const cT = backend.makeOutput([1, n, m], 'float32')
    product2d(backend, tensorRef(backend, b), n, k, tensorRef(backend, aT).offset, m, tensorRef(backend, cT))
    const c = transposeLast2(backend, cT, 1, n, m) // [1, m, n]
    backend.disposeData(aT.dataId)
    backend.disposeData(cT.dataId)
    return { ...c, shape: outShape }
  }
  const out = backend.makeOutput([batch, m, n], 'float32')
  if (batch * m * n === 0) return { ...out, shape: outShape }
  if (k === 0) {
    // An empty sum: XNNPACK is never asked about a zero inner dimension.
    new Float32Array(heapBuffer(backend), tensorRef(backend, out).offset, batch * m * n).fill(0)
    return { ...out, shape: outShape }
  }

  const temporaries: TensorInfo[] = []
  let left = a // [batchA, m, k] once materialised
  let right = b // [batchB, k, n] once materialised
  if (transposeA) temporaries.push((left = transposeLast2(backend, a, batchA, k, m)))
  if (transposeB) temporaries.push((right = transposeLast2(backend, b, batchB, n, k)))
  const l = tensorRef(backend, left)
  const r = tensorRef(backend, right)
  const o = tensorRef(backend, out)

  if (batchB === 1) {
    // The right-hand side is shared: every left row of every batch is one row of a single product.
    product2d(backend, l, batchA * m, k, r.offset, n, o)
  } else {
    for (let i = 0; i < batch; i++) {
      const aView = batchA === 1 ? l.id : registerView(backend, l.offset + 4 * i * m * k, m * k)
      const bView = registerView(backend, r.offset + 4 * i * k * n, k * n)
      const outView = registerView(backend, o.offset + 4 * i * m * n, m * n)
      xnnMatMul(backend, aView, m, k, bView, n, outView)
      if (aView !== l.id) releaseView(backend, aView)
      releaseView(backend, bView)
      releaseView(backend, outView)
    }
  }
  for (const t of temporaries) backend.disposeData(t.dataId)
  return { ...out, shape: outShape }
}

interface Product {
  transposeA: boolean
  transposeB: boolean
  m: number
  k: number
  n: number
  batchA: number
  batchB: number
}

/**
 * The product as native sgemm calls on wasm memory itself: BLAS takes the transposes as flags and a
 * broadcast side as stride 0, so nothing is copied. With a shared right-hand side and an untransposed
 * left one, the left batch folds into rows (one large call instead of many small ones).
 */
function nativeBatchMatMul(native: NativeAddon, backend: WasmBackendInternals, a: TensorInfo, b: TensorInfo, p: Product, outShape: number[]): TensorInfo {
  const { transposeA, transposeB, m, k, n, batchA, batchB } = p
  const batch = Math.max(batchA, batchB)
  const out = backend.makeOutput([batch, m, n], 'float32')
  const heap = new Float32Array(heapBuffer(backend)) // after makeOutput, which can grow memory
  const aAt = tensorRef(backend, a).offset / 4
  const bAt = tensorRef(backend, b).offset / 4
  const cAt = tensorRef(backend, out).offset / 4
  const lda = Math.max(1, transposeA ? m : k) // BLAS wants ≥ 1 even for an empty dimension
  const ldb = Math.max(1, transposeB ? k : n)
  if (batchB === 1 && !transposeA) {
    native.sgemm(false, transposeB, batchA * m, n, k, 1, heap, aAt, lda, 0, heap, bAt, ldb, 0, 0, heap, cAt, Math.max(1, n), 0, 1)
  } else {
    const strideA = batchA === 1 ? 0 : m * k
    const strideB = batchB === 1 ? 0 : k * n
    native.sgemm(transposeA, transposeB, m, n, k, 1, heap, aAt, lda, strideA, heap, bAt, ldb, strideB, 0, heap, cAt, Math.max(1, n), m * n, batch)
  }
  return { ...out, shape: outShape }
}

/** Non-float32 products and odd broadcasts go to tfjs's own kernel. */
export const batchMatMulWasmConfig = overrideWasmKernel('BatchMatMul', batchMatMul, setup)
