// Add for the wasm backend through @mengzi/native when both sides are float32 and one is the other's
// shape or a trailing slice of it (residuals, bias adds, gradient accumulation of a tensor used twice:
// the tied word embeddings' two gradients are 21128 × H each). Threaded and one pass; every other case,
// and machines without the addon, go to tfjs's own kernel.
import type { BinaryInputs, TensorInfo } from '@tensorflow/tfjs'
import * as tf from '@tensorflow/tfjs'
import { nativeAddon } from '../native'
import { overrideWasmKernel } from './override'
import { heapBuffer, tensorRef, wasmInternals } from './wasm-internals'

/** True when `small` broadcasts onto `big` by repetition: its shape, leading 1s dropped, ends big's. */
function repeatsInto(big: number[], small: number[]): boolean {
  if (small.length > big.length) return false
  const firstNotOne = small.findIndex((d) => d !== 1)
  const tail = firstNotOne === -1 ? [] : small.slice(firstNotOne)
  return tail.every((d, i) => d === big[big.length - tail.length + i])
}

type AddArgs = { inputs: BinaryInputs; backend: tf.KernelBackend }

function add(args: AddArgs, stock: (args: AddArgs) => TensorInfo): TensorInfo {
  const a = args.inputs.a as TensorInfo
  const b = args.inputs.b as TensorInfo
  const native = nativeAddon()
  const [big, small] = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape) ? [a, b] : [b, a]
  const n = tf.util.sizeFromShape(big.shape)
  if (!native || a.dtype !== 'float32' || b.dtype !== 'float32' || n === 0 || !repeatsInto(big.shape, small.shape)) {
    return stock(args)
  }
  const backend = wasmInternals(args.backend)
  const out = backend.makeOutput(big.shape, 'float32')
  const heap = heapBuffer(backend)
  const view = (t: TensorInfo) => new Float32Array(heap, tensorRef(backend, t).offset, tf.util.sizeFromShape(t.shape))
  native.addRepeat(view(big), view(small), view(out))
  return out
}

export const addWasmConfig = overrideWasmKernel('Add', add)
