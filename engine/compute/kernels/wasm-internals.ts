// Typed access to the parts of tfjs-backend-wasm 4.22 that its public API hides but our kernels need:
// the Emscripten module (heap, malloc, cwrap), the table from tfjs data ids to wasm tensor ids and
// memory offsets, and "views": extra wasm tensor ids registered over a slice of an existing buffer, so
// that one wasm kernel call can work on one batch element without copying it.
import * as tf from '@tensorflow/tfjs'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'

export interface WasmModule {
  /** The module's memory; present in the threaded build, where HEAPU8 can lag behind growth. */
  wasmMemory?: { buffer: ArrayBufferLike }
  HEAPU8: Uint8Array
  HEAPF32: Float32Array
  HEAP32: Int32Array
  _malloc(bytes: number): number
  _free(ptr: number): void
  cwrap(name: string, returnType: null | 'number', argTypes: ('number' | 'array')[]): (...args: unknown[]) => unknown
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void
    disposeData(id: number): void
    getThreadsCount(): number
  }
}

interface WasmTensorData {
  id: number
  memoryOffset: number
  shape: number[]
  dtype: tf.DataType
  refCount: number
}

/** The slice of BackendWasm our kernels use (fields that are private in its .d.ts included). */
export interface WasmBackendInternals {
  wasm: WasmModule
  dataIdMap: { get(dataId: object): WasmTensorData }
  dataIdNextNumber: number
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo
  disposeData(dataId: object, force?: boolean): boolean
  incRef(dataId: object): void
}

export function wasmInternals(backend: BackendWasm | tf.KernelBackend): WasmBackendInternals {
  return backend as unknown as WasmBackendInternals
}

/** The wasm tensor id and byte offset in wasm memory of a tensor held by the wasm backend. */
export function tensorRef(backend: WasmBackendInternals, t: tf.TensorInfo): { id: number; offset: number } {
  const data = backend.dataIdMap.get(t.dataId)
  return { id: data.id, offset: data.memoryOffset }
}

/**
 * Registers a wasm tensor id over `size` float32 elements starting at `byteOffset` in wasm memory.
 * The memory stays owned by the tensor it belongs to; release the view with `releaseView` (which
 * drops the id and any XNNPACK operator cached on it, never the memory).
 */
export function registerView(backend: WasmBackendInternals, byteOffset: number, size: number): number {
  const id = backend.dataIdNextNumber++
  backend.wasm.tfjs.registerTensor(id, size, byteOffset)
  return id
}

export function releaseView(backend: WasmBackendInternals, id: number): void {
  backend.wasm.tfjs.disposeData(id)
}

/**
 * The current wasm memory. Take it again after anything that can allocate (makeOutput, a wasm kernel):
 * memory growth replaces the buffer. In the threaded build Emscripten refreshes HEAPU8 lazily, so the
 * memory object is asked first.
 */
export function heapBuffer(backend: WasmBackendInternals): ArrayBufferLike {
  return backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer
}

export function heapBytes(backend: WasmBackendInternals): Uint8Array {
  return new Uint8Array(heapBuffer(backend))
}

/** Shape as the byte array the wasm kernels take for their `array` arguments. */
export function shapeBytes(shape: readonly number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer)
}

/** A float32 view of a wasm tensor's memory; take it again after any allocation (memory can grow). */
export function heapF32(backend: WasmBackendInternals, t: tf.TensorInfo): Float32Array {
  const { offset } = tensorRef(backend, t)
  return new Float32Array(heapBuffer(backend), offset, tf.util.sizeFromShape(t.shape))
}

export function heapI32(backend: WasmBackendInternals, t: tf.TensorInfo): Int32Array {
  const { offset } = tensorRef(backend, t)
  return new Int32Array(heapBuffer(backend), offset, tf.util.sizeFromShape(t.shape))
}
