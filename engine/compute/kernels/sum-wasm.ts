// Sum over leading axes for the wasm backend (bias gradients: [tokens, H] → [H]; the MLM decoder bias:
// [masked, vocab] → [vocab]). tfjs-wasm reduces only the innermost axes, so it first transposes the
// whole input; this adds rows straight from wasm memory (in float64, then rounded). Other reductions
// go to tfjs's own kernel.
import type { SumAttrs, SumInputs, TensorInfo } from '@tensorflow/tfjs'
import * as tf from '@tensorflow/tfjs'
import { nativeAddon } from '../native'
import { overrideWasmKernel } from './override'
import { tensorRef, wasmInternals, heapBuffer } from './wasm-internals'

/** The number of leading axes `axis` names, if it names exactly the first k < rank axes; else 0. */
function leadingAxes(axis: number | number[], rank: number): number {
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b)
  if (axes.length === 0 || axes.length >= rank) return 0
  return axes.every((a, i) => a === i) ? axes.length : 0
}

type SumArgs = { inputs: SumInputs; backend: tf.KernelBackend; attrs: SumAttrs }

function sum(args: SumArgs, stock: (args: SumArgs) => TensorInfo): TensorInfo {
  const x = args.inputs.x as TensorInfo
  const { axis, keepDims } = args.attrs
  const k = x.dtype === 'float32' ? leadingAxes(axis, x.shape.length) : 0
  if (k === 0) return stock(args)
  const backend = wasmInternals(args.backend)
  const rows = tf.util.sizeFromShape(x.shape.slice(0, k))
  const inner = tf.util.sizeFromShape(x.shape.slice(k))
  const shape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k)
  const out = backend.makeOutput(shape, 'float32')
  const heap = heapBuffer(backend)
  const values = new Float32Array(heap, tensorRef(backend, x).offset, rows * inner)
  const native = nativeAddon()
  if (native) {
    native.sumRows(values, rows, inner, new Float32Array(heap, tensorRef(backend, out).offset, inner))
    return out
  }
  const acc = new Float64Array(inner)
  for (let i = 0; i < rows; i++) {
    const base = i * inner
    for (let j = 0; j < inner; j++) acc[j] += values[base + j]
  }
  new Float32Array(heap, tensorRef(backend, out).offset, inner).set(acc)
  return out
}

export const sumWasmConfig = overrideWasmKernel('Sum', sum)
