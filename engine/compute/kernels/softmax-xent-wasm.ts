// MengziSoftmaxXent / MengziSoftmaxXentGrad on wasm memory through @mengzi/native
// (engine/native/src/softmax_xent.c). Targets are int32, −1 for a row to ignore.
import type { TensorInfo } from '@tensorflow/tfjs'
import { wasmFusedKernel } from './fused'

/** (logits [N, C], targets [N]) → [probs [N, C], rowLoss [N]] */
export const softmaxXentWasmConfig = wasmFusedKernel(
  'MengziSoftmaxXent',
  (backend, { logits }) =>
    [backend.makeOutput(logits.shape, 'float32'), backend.makeOutput([logits.shape[0]], 'float32')] as [TensorInfo, TensorInfo],
  ({ native, f32, i32 }, { logits, targets }, [probs, rowLoss]) => {
    const [N, C] = logits.shape
    native.softmaxXentForward(f32(logits), i32(targets), N, C, f32(probs), f32(rowLoss))
  },
)

/** (probs [N, C], targets [N], rowScale [N]) → dlogits [N, C] */
export const softmaxXentGradWasmConfig = wasmFusedKernel(
  'MengziSoftmaxXentGrad',
  (backend, { probs }) => [backend.makeOutput(probs.shape, 'float32')] as [TensorInfo],
  ({ native, f32, i32 }, { probs, targets, rowScale }, [dlogits]) =>
    native.softmaxXentBackward(f32(probs), i32(targets), f32(rowScale), f32(dlogits)),
)
