// MengziLayerNorm / MengziLayerNormGrad on wasm memory through @mengzi/native (engine/native/src/layer_norm.c).
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import { wasmFusedKernel } from './fused'

/** Rows and row length of a tensor normalised over its last axis. */
function rowsOf(x: TensorInfo): { rows: number; H: number } {
  const H = x.shape.at(-1) ?? 1
  return { rows: tf.util.sizeFromShape(x.shape.slice(0, -1)), H }
}

/** (x, γ, β[, residual]; eps) → [y = x̂·γ + β, x̂, 1/σ [..., 1]], normalising x + residual when given */
export const layerNormWasmConfig = wasmFusedKernel(
  'MengziLayerNorm',
  (backend, { x }) => [
    backend.makeOutput(x.shape, 'float32'),
    backend.makeOutput(x.shape, 'float32'),
    backend.makeOutput([...x.shape.slice(0, -1), 1], 'float32'),
  ] as [TensorInfo, TensorInfo, TensorInfo],
  ({ native, f32 }, { x, gamma, beta, residual }, [y, xhat, rstd], { eps }) => {
    const { rows, H } = rowsOf(x)
    native.layerNormForward(f32(x), f32(gamma), f32(beta), rows, H, eps as number, f32(y), f32(xhat), f32(rstd), residual ? f32(residual) : null)
  },
)

/** (dy, x̂, 1/σ, γ) → [dx, dγ [H], dβ [H]] */
export const layerNormGradWasmConfig = wasmFusedKernel(
  'MengziLayerNormGrad',
  (backend, { dy, gamma }) => [
    backend.makeOutput(dy.shape, 'float32'),
    backend.makeOutput(gamma.shape, 'float32'),
    backend.makeOutput(gamma.shape, 'float32'),
  ] as [TensorInfo, TensorInfo, TensorInfo],
  ({ native, f32 }, { dy, xhat, rstd, gamma }, [dx, dgamma, dbeta]) => {
    const { rows, H } = rowsOf(dy)
    native.layerNormBackward(f32(dy), f32(xhat), f32(rstd), f32(gamma), rows, H, f32(dx), f32(dgamma), f32(dbeta))
  },
)
