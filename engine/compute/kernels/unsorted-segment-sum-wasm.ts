// UnsortedSegmentSum for the wasm backend, which lacks it in tfjs 4.22 (so tf.gather had no gradient
// there). A linear pass over wasm memory; the adds are few next to the matrix products around it.
import type { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs, UnsortedSegmentSumInputs } from '@tensorflow/tfjs'
import * as tf from '@tensorflow/tfjs'
import { segmentSumInto, segmentSumShape } from './segment-sum'
import { tensorRef, wasmInternals, heapBuffer } from './wasm-internals'

function unsortedSegmentSum(args: { inputs: UnsortedSegmentSumInputs; backend: tf.KernelBackend; attrs: UnsortedSegmentSumAttrs }): TensorInfo {
  const x = args.inputs.x as TensorInfo
  const ids = args.inputs.segmentIds as TensorInfo
  const { numSegments } = args.attrs
  const backend = wasmInternals(args.backend)
  const dtype = x.dtype === 'int32' ? 'int32' : 'float32'
  const shape = segmentSumShape(x.shape, ids.shape.length, numSegments)
  const inner = tf.util.sizeFromShape(x.shape.slice(ids.shape.length))
  const out = backend.makeOutput(shape, dtype)
  // Views are taken after makeOutput: an allocation may grow (and so replace) wasm memory.
  const heap = heapBuffer(backend)
  const view = (t: TensorInfo, int: boolean) => {
    const offset = tensorRef(backend, t).offset
    const size = tf.util.sizeFromShape(t.shape)
    return int ? new Int32Array(heap, offset, size) : new Float32Array(heap, offset, size)
  }
  const xValues = view(x, dtype === 'int32')
  const idValues = view(ids, true)
  const outValues = view({ ...out, shape }, dtype === 'int32')
  segmentSumInto(xValues, idValues, inner, numSegments, outValues)
  return out
}

export const unsortedSegmentSumWasmConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
}
