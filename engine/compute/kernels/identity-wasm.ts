// Identity for the wasm backend without a copy. The tfjs engine clones (runs Identity on) every tensor
// it saves for backward, and tfjs-wasm's Identity copies the whole buffer: a full copy of almost every
// activation on every training step. Tensors are immutable and the backend reference-counts buffers
// (Reshape already shares them this way), so the clone can share the buffer, as tfjs-cpu's does.
import type { IdentityInputs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import type * as tf from '@tensorflow/tfjs'
import { wasmInternals } from './wasm-internals'

function identity(args: { inputs: IdentityInputs; backend: tf.KernelBackend }): TensorInfo {
  const x = args.inputs.x as TensorInfo
  wasmInternals(args.backend).incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

export const identityWasmConfig: KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identity as unknown as KernelFunc,
}
