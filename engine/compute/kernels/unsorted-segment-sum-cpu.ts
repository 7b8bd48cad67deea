// UnsortedSegmentSum for the cpu backend in linear time (the gradient of tf.gather: the embedding
// lookup and the masked-position gather). tfjs-cpu's own kernel takes minutes and gigabytes for one
// BERT step over a 21128-word vocabulary.
import type { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs, UnsortedSegmentSumInputs } from '@tensorflow/tfjs'
import * as tf from '@tensorflow/tfjs'
import { segmentSumInto, segmentSumShape } from './segment-sum'

interface CpuBackendData {
  data: { get(dataId: object): { values: ArrayLike<number> } }
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): TensorInfo
}

function unsortedSegmentSum(args: { inputs: UnsortedSegmentSumInputs; backend: tf.KernelBackend; attrs: UnsortedSegmentSumAttrs }): TensorInfo {
  const x = args.inputs.x as TensorInfo
  const ids = args.inputs.segmentIds as TensorInfo
  const { numSegments } = args.attrs
  const backend = args.backend as unknown as CpuBackendData
  const shape = segmentSumShape(x.shape, ids.shape.length, numSegments)
  const inner = tf.util.sizeFromShape(x.shape.slice(ids.shape.length))
  const out = x.dtype === 'int32' ? new Int32Array(tf.util.sizeFromShape(shape)) : new Float32Array(tf.util.sizeFromShape(shape))
  segmentSumInto(backend.data.get(x.dataId).values, backend.data.get(ids.dataId).values, inner, numSegments, out)
  return backend.makeTensorInfo(shape, x.dtype === 'int32' ? 'int32' : 'float32', out)
}

export const unsortedSegmentSumCpuConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'cpu',
  kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
}
