// MengziGelu / MengziGeluGrad on wasm memory through @mengzi/native (engine/native/src/gelu.c).
import type { TensorInfo } from '@tensorflow/tfjs'
import { wasmFusedKernel } from './fused'

/** x → [y = x·Φ(x), Φ(x)] */
export const geluWasmConfig = wasmFusedKernel(
  'MengziGelu',
  (backend, { x }) => [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(x.shape, 'float32')] as [TensorInfo, TensorInfo],
  ({ native, f32 }, { x }, [y, cdf]) => native.geluForward(f32(x), f32(y), f32(cdf)),
)

/** (dy, x, Φ(x)) → dx */
export const geluGradWasmConfig = wasmFusedKernel(
  'MengziGeluGrad',
  (backend, { x }) => [backend.makeOutput(x.shape, 'float32')] as [TensorInfo],
  ({ native, f32 }, { dy, x, cdf }, [dx]) => native.geluBackward(f32(dy), f32(x), f32(cdf), f32(dx)),
)
