// MengziDropout on wasm memory through @mengzi/native (engine/native/src/dropout.c): one pass, the mask
// hashed from (index, seed) rather than drawn in JavaScript and stored.
import type { TensorInfo } from '@tensorflow/tfjs'
import { wasmFusedKernel } from './fused'

/** (x; attrs rate, seed) → x · mask(seed) / (1 − rate); applied to dy with the same seed it is the gradient. */
export const dropoutWasmConfig = wasmFusedKernel(
  'MengziDropout',
  (backend, { x }) => [backend.makeOutput(x.shape, 'float32')] as [TensorInfo],
  ({ native, f32 }, { x }, [out], { rate, seed }) => native.dropoutApply(f32(x), f32(out), rate as number, seed as number),
)
