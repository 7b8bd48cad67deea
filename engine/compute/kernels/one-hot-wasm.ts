// OneHot for the wasm backend. tfjs-wasm 4.22 ignores the dtype attribute and always writes int32
// bits, so `tf.oneHot(i, n, 1, 0, 'float32')` reads back 1.4e-45 where 1 was meant and a loss built
// on it is silently wrong. This kernel writes the requested dtype.
import type { KernelConfig, KernelFunc, OneHotAttrs, OneHotInputs, TensorInfo } from '@tensorflow/tfjs'
import * as tf from '@tensorflow/tfjs'
import { tensorRef, wasmInternals, heapBuffer } from './wasm-internals'

function oneHot(args: { inputs: OneHotInputs; backend: tf.KernelBackend; attrs: OneHotAttrs }): TensorInfo {
  const indices = args.inputs.indices as TensorInfo
  const { depth, onValue, offValue, dtype } = args.attrs
  const backend = wasmInternals(args.backend)
  const outDtype = dtype === 'float32' ? 'float32' : 'int32'
  const out = backend.makeOutput([...indices.shape, depth], outDtype)
  const n = tf.util.sizeFromShape(indices.shape)
  const heap = heapBuffer(backend)
  const ids = new Int32Array(heap, tensorRef(backend, indices).offset, n)
  const values = outDtype === 'float32'
    ? new Float32Array(heap, tensorRef(backend, out).offset, n * depth)
    : new Int32Array(heap, tensorRef(backend, out).offset, n * depth)
  values.fill(offValue)
  for (let i = 0; i < n; i++) {
    // Out-of-range indices give an all-off row, as in TensorFlow.
    if (ids[i] >= 0 && ids[i] < depth) values[i * depth + ids[i]] = onValue
  }
  return out
}

export const oneHotWasmConfig: KernelConfig = {
  kernelName: 'OneHot',
  backendName: 'wasm',
  kernelFunc: oneHot as unknown as KernelFunc,
}
