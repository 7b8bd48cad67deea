// The arithmetic precision of a training run. fp32 everywhere, or fp16 mixed precision on webgpu: the
// dense layers' matrix-product inputs (activations, weights, gradients) and the attention's Q, K, V in
// f16, with f32 accumulation; master weights, optimizer state, the attention's scores, probabilities and
// gradients, reductions and everything else in f32. Stored in f16 (webgpu/half.ts, packed two per u32
// since tfjs has no float16 dtype): the weights' copies the products read (written by the optimizer's
// update), the dense layers' inputs kept for backward, the GELU layers' pre-activations (their backward
// computes from f16(z)), the fused LayerNorms' x̂ (their backward computes from f16(x̂); 1/σ stays f32),
// the attention's Q, K, V and context (its backward computes from them) and the MLM loss's probabilities
// (as f16(p·2¹⁵); the loss itself is f32 from the f32 logits); the other product inputs (dY) are f32
// rounded as they load. The products still compute in f32.
import * as tf from '@tensorflow/tfjs'
import { WorkbenchError } from '../errors'
import { setMatmulInputs, webgpuFusedKernelsOn } from './webgpu/flags'
import { releaseHalfWeights } from './webgpu/half-weights'
import { webgpuInternals } from './webgpu/runner'

export type Precision = 'fp32' | 'fp16'

/** Applies `precision` to the active backend; returns a function that restores fp32. Throws UNSUPPORTED where fp16 cannot run. */
export function usePrecision(precision: Precision): () => void {
  if (precision === 'fp32') return () => {}
  const backend = tf.getBackend()
  if (backend !== 'webgpu') throw new WorkbenchError('UNSUPPORTED', `precision "fp16" needs the webgpu backend; this run uses ${backend}`)
  if (!webgpuFusedKernelsOn()) throw new WorkbenchError('UNSUPPORTED', 'precision "fp16" needs our webgpu kernels (MENGZI_WEBGPU_KERNELS is 0)')
  setMatmulInputs('f16')
  return () => {
    setMatmulInputs('f32')
    if (tf.getBackend() === 'webgpu') releaseHalfWeights(webgpuInternals(tf.backend())) // the weights' f16 copies
  }
}
