// The attention core, MengziAttention / MengziAttentionGrad, on wasm memory through @mengzi/native
// (engine/native/src/attention.c).
import type { TensorInfo } from '@tensorflow/tfjs'
import { wasmFusedKernel } from './fused'

/** (q, k, v [B, T, H], mask [B, 1, 1, T]; attrs heads, scale, rate, seed) → [context [B, T, H], probs [B, heads, T, T]] */
export const attentionWasmConfig = wasmFusedKernel(
  'MengziAttention',
  (backend, { q }, { heads }) => {
    const [B, T] = q.shape
    return [backend.makeOutput(q.shape, 'float32'), backend.makeOutput([B, heads as number, T, T], 'float32')] as [TensorInfo, TensorInfo]
  },
  ({ native, f32 }, { q, k, v, mask }, [context, probs], { heads, scale, rate, seed }) => {
    const [B, T] = q.shape
    native.attentionForward(f32(q), f32(k), f32(v), f32(mask), B, T, heads as number, scale as number, rate as number, seed as number, f32(context), f32(probs))
  },
)

/** (dcontext, q, k, v, saved = the forward's probs; the forward's attrs) → [dq, dk, dv]; mask and context, also given, are not needed here */
export const attentionGradWasmConfig = wasmFusedKernel(
  'MengziAttentionGrad',
  (backend, { q }) => [0, 1, 2].map(() => backend.makeOutput(q.shape, 'float32')) as [TensorInfo, TensorInfo, TensorInfo],
  ({ native, f32 }, { dcontext, q, k, v, saved: probs }, [dq, dk, dv], { heads, scale, rate, seed }) => {
    const [B, T] = q.shape
    native.attentionBackward(f32(dcontext), f32(q), f32(k), f32(v), f32(probs), B, T, heads as number, scale as number, rate as number, seed as number, f32(dq), f32(dk), f32(dv))
  },
)
