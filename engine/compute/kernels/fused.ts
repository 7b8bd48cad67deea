// Fused kernels: whole layers (LayerNorm, GELU, softmax cross-entropy, optimizer updates) as one kernel
// under our own name, registered for wasm where @mengzi/native implements them on wasm memory, and for
// webgpu as WGSL shaders (engine/compute/webgpu/). The
// model's ops ask `hasFusedKernel` and otherwise compose tfjs ops, so every backend computes the same
// function and the composition stays the reference the fused kernels are tested against.
import * as tf from '@tensorflow/tfjs'
import type { NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs'
import { nativeAddon, type NativeAddon } from '../native'
import { heapBuffer, tensorRef, wasmInternals, type WasmBackendInternals } from './wasm-internals'
import { webgpuFusedKernelsOn } from '../webgpu/flags'

/**
 * True when the active backend has kernel `name` and its fused kernels are on: on wasm the native
 * addon, on webgpu our WGSL kernels (engine/compute/webgpu/).
 */
export function hasFusedKernel(name: string): boolean {
  const backend = tf.getBackend()
  const on = backend === 'wasm' ? nativeAddon() != null : backend === 'webgpu' ? webgpuFusedKernelsOn() : false
  return on && tf.getKernel(name, backend) != null
}

/** Runs fused kernel `name`; its outputs come back in the kernel's order. */
export function runFused(name: string, inputs: NamedTensorMap, attrs: NamedAttrMap = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs, attrs)
  return Array.isArray(out) ? out : [out]
}

/** Float32 views of wasm tensors, for one native call; made after every output is allocated. */
export interface WasmCall {
  backend: WasmBackendInternals
  native: NativeAddon
  f32(t: TensorInfo): Float32Array
  i32(t: TensorInfo): Int32Array
}

/**
 * A wasm kernel body for a fused kernel: allocate outputs with `backend.makeOutput` in `allocate`, then
 * `compute` gets views over wasm memory taken after those allocations (memory growth replaces the buffer).
 */
export function wasmFusedKernel<O extends TensorInfo[]>(
  name: string,
  allocate: (backend: WasmBackendInternals, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => O,
  compute: (call: WasmCall, inputs: Record<string, TensorInfo>, outputs: O, attrs: NamedAttrMap) => void,
): tf.KernelConfig {
  return {
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ((args: { inputs: Record<string, TensorInfo>; backend: tf.KernelBackend; attrs: NamedAttrMap }) => {
      const native = nativeAddon()
      if (!native) throw new Error(`${name}: the native addon is off or missing (check hasFusedKernel first)`)
      const backend = wasmInternals(args.backend)
      const outputs = allocate(backend, args.inputs, args.attrs)
      const heap = heapBuffer(backend)
      const size = (t: TensorInfo) => tf.util.sizeFromShape(t.shape)
      const call: WasmCall = {
        backend,
        native,
        f32: (t) => new Float32Array(heap, tensorRef(backend, t).offset, size(t)),
        i32: (t) => new Int32Array(heap, tensorRef(backend, t).offset, size(t)),
      }
      compute(call, args.inputs, outputs, args.attrs)
      return outputs
    }) as unknown as tf.KernelFunc,
  }
}
