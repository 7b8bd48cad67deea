// MengziDense / MengziDenseGrad on wasm memory through @mengzi/native (engine/native/src/dense.c).
import type { TensorInfo } from '@tensorflow/tfjs'
import { wasmFusedKernel } from './fused'

/** (x [N, in], w [out, in], b [out]) → y [N, out] = x·wᵀ + b */
export const denseWasmConfig = wasmFusedKernel(
  'MengziDense',
  (backend, { x, w }) => [backend.makeOutput([x.shape[0], w.shape[0]], 'float32')] as [TensorInfo],
  ({ native, f32 }, { x, w, b }, [y]) => native.denseForward(f32(x), f32(w), f32(b), x.shape[0], x.shape[1], w.shape[0], f32(y)),
)

/** (dy [N, out], x [N, in], w [out, in]) → [dx, dw, db] */
export const denseGradWasmConfig = wasmFusedKernel(
  'MengziDenseGrad',
  (backend, { x, w }) =>
    [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(w.shape, 'float32'), backend.makeOutput([w.shape[0]], 'float32')] as [TensorInfo, TensorInfo, TensorInfo],
  ({ native, f32 }, { dy, x, w }, [dx, dw, db]) => native.denseBackward(f32(dy), f32(x), f32(w), x.shape[0], x.shape[1], w.shape[0], f32(dx), f32(dw), f32(db)),
)
