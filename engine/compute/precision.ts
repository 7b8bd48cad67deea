// The arithmetic precision of a training run. fp32 everywhere, or fp16 mixed precision on webgpu: the
// dense layers' matrix-product inputs (activations, weights, gradients) rounded to f16 as our tiled
// product loads them, with f32 accumulation; weights, optimizer state, attention, reductions and
// everything else in f32. The rounding is f16's numerics (range and precision, hence loss scaling), not
// yet its speed: tensors stay float32 (tfjs has no float16 dtype) and the products compute in f32.
import * as tf from '@tensorflow/tfjs'
import { WorkbenchError } from '../errors'
import { setMatmulInputs, webgpuFusedKernelsOn } from './webgpu/flags'

export type Precision = 'fp32' | 'fp16'

/** Applies `precision` to the active backend; returns a function that restores fp32. Throws UNSUPPORTED where fp16 cannot run. */
export function usePrecision(precision: Precision): () => void {
  if (precision === 'fp32') return () => {}
  const backend = tf.getBackend()
  if (backend !== 'webgpu') throw new WorkbenchError('UNSUPPORTED', `precision "fp16" needs the webgpu backend; this run uses ${backend}`)
  if (!webgpuFusedKernelsOn()) throw new WorkbenchError('UNSUPPORTED', 'precision "fp16" needs our webgpu kernels (MENGZI_WEBGPU_KERNELS is 0)')
  setMatmulInputs('f16')
  return () => void setMatmulInputs('f32')
}
