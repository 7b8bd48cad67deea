// Transpose for the wasm backend through @mengzi/native (engine/native/src/transpose.c) for float32 and
// int32: rows copied whole where the last axis stays last (the attention's head split and merge), on
// the thread pool. Other dtypes, and machines without the addon, use tfjs's kernel.
import type { TensorInfo, TransposeAttrs, TransposeInputs } from '@tensorflow/tfjs'
import * as tf from '@tensorflow/tfjs'
import { nativeAddon } from '../native'
import { overrideWasmKernel } from './override'
import { heapBuffer, tensorRef, wasmInternals } from './wasm-internals'

type TransposeArgs = { inputs: TransposeInputs; backend: tf.KernelBackend; attrs: TransposeAttrs }

function transpose(args: TransposeArgs, stock: (args: TransposeArgs) => TensorInfo): TensorInfo {
  const x = args.inputs.x as TensorInfo
  const perm = args.attrs.perm
  const native = nativeAddon()
  if (!native || (x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length > 8) {
    return stock(args)
  }
  const backend = wasmInternals(args.backend)
  const out = backend.makeOutput(perm.map((p) => x.shape[p]), x.dtype)
  const size = tf.util.sizeFromShape(x.shape)
  if (size === 0) return out
  const heap = heapBuffer(backend)
  const view = (t: TensorInfo) => (x.dtype === 'float32' ? new Float32Array(heap, tensorRef(backend, t).offset, size) : new Int32Array(heap, tensorRef(backend, t).offset, size))
  native.transpose(view(x), Int32Array.from(x.shape), Int32Array.from(perm), view(out))
  return out
}

export const transposeWasmConfig = overrideWasmKernel('Transpose', transpose)
