// GatherV2 along axis 0 for the wasm backend (embedding lookups, the masked-position gather): whole
// rows copied inside wasm memory. tfjs-wasm's kernel walks element by element with strides (~15 ms
// for 2048 rows of 128 on our machine, against well under 1 ms here). Other axes and batch
// dimensions go to tfjs's own kernel.
import type { GatherV2Attrs, GatherV2Inputs, TensorInfo } from '@tensorflow/tfjs'
import * as tf from '@tensorflow/tfjs'
import { overrideWasmKernel } from './override'
import { tensorRef, wasmInternals, heapBytes } from './wasm-internals'

type GatherV2Args = { inputs: GatherV2Inputs; backend: tf.KernelBackend; attrs: GatherV2Attrs }

function gatherV2(args: GatherV2Args, stock: (args: GatherV2Args) => TensorInfo): TensorInfo {
  const x = args.inputs.x as TensorInfo
  const indices = args.inputs.indices as TensorInfo
  const { axis, batchDims = 0 } = args.attrs
  const rank = x.shape.length
  const parsedAxis = axis < 0 ? axis + rank : axis
  if (parsedAxis !== 0 || batchDims !== 0 || x.dtype === 'string' || x.dtype === 'bool' || rank === 0) {
    return stock(args)
  }
  const backend = wasmInternals(args.backend)
  const rows = x.shape[0]
  const rowSize = tf.util.sizeFromShape(x.shape.slice(1))
  const count = tf.util.sizeFromShape(indices.shape)
  const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype)
  const heap = heapBytes(backend)
  const ids = new Int32Array(heap.buffer, tensorRef(backend, indices).offset, count)
  const from = tensorRef(backend, x).offset
  const to = tensorRef(backend, out).offset
  const rowBytes = 4 * rowSize
  for (let i = 0; i < count; i++) {
    const id = ids[i]
    if (!(id >= 0 && id < rows)) {
      backend.disposeData(out.dataId)
      throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`)
    }
    heap.copyWithin(to + i * rowBytes, from + id * rowBytes, from + (id + 1) * rowBytes)
  }
  return out
}

export const gatherV2WasmConfig = overrideWasmKernel('GatherV2', gatherV2)
