// MengziAttentionSoftmax / MengziAttentionSoftmaxGrad on wasm memory through @mengzi/native
// (engine/native/src/attention.c).
import type { TensorInfo } from '@tensorflow/tfjs'
import { wasmFusedKernel } from './fused'

/** (scores [B, nh, T, T], mask [B, 1, 1, T]; attr scale) → softmax(scores·scale + mask) */
export const attentionSoftmaxWasmConfig = wasmFusedKernel(
  'MengziAttentionSoftmax',
  (backend, { scores }) => [backend.makeOutput(scores.shape, 'float32')] as [TensorInfo],
  ({ native, f32 }, { scores, mask }, [probs], { scale }) => {
    const [B, heads, rows, cols] = scores.shape
    native.attentionSoftmax(f32(scores), f32(mask), B, heads * rows, cols, scale as number, f32(probs))
  },
)

/** (dprobs, probs; attr scale) → dscores */
export const attentionSoftmaxGradWasmConfig = wasmFusedKernel(
  'MengziAttentionSoftmaxGrad',
  (backend, { probs }) => [backend.makeOutput(probs.shape, 'float32')] as [TensorInfo],
  ({ native, f32 }, { dprobs, probs }, [dscores], { scale }) =>
    native.attentionSoftmaxGrad(f32(dprobs), f32(probs), probs.shape[probs.shape.length - 1], scale as number, f32(dscores)),
)
