// MengziAdamW / MengziLamb on wasm memory through @mengzi/native (engine/native/src/adam.c): one
// parameter's whole update in one call, instead of a dozen elementwise tfjs kernels.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs'
import { wasmFusedKernel, type WasmCall } from './fused'

/** The attrs of both kernels; bc1 = 1 − β1ᵗ and bc2 = 1 − β2ᵗ, the bias corrections of step t. */
export interface AdamAttrs {
  lr: number
  beta1: number
  beta2: number
  eps: number
  weightDecay: number
  bc1: number
  bc2: number
}

type Outputs = [TensorInfo, TensorInfo, TensorInfo]

function allocate(backend: WasmCall['backend'], { p }: Record<string, TensorInfo>): Outputs {
  return [backend.makeOutput(p.shape, 'float32'), backend.makeOutput(p.shape, 'float32'), backend.makeOutput(p.shape, 'float32')]
}

function update(which: 'adamwStep' | 'lambStep') {
  return ({ native, f32 }: WasmCall, { p, g, m, v }: Record<string, TensorInfo>, [pOut, mOut, vOut]: Outputs, attrs: NamedAttrMap) => {
    const { lr, beta1, beta2, eps, weightDecay, bc1, bc2 } = attrs as unknown as AdamAttrs
    native[which](f32(p), f32(g), f32(m), f32(v), f32(pOut), f32(mOut), f32(vOut), lr, beta1, beta2, eps, weightDecay, bc1, bc2)
  }
}

/** (p, g, m, v) → [p', m', v'] for torch.optim.AdamW. */
export const adamWWasmConfig = wasmFusedKernel('MengziAdamW', allocate, update('adamwStep'))

/** (p, g, m, v) → [p', m', v'] for LAMB, trust ratio included. */
export const lambWasmConfig = wasmFusedKernel('MengziLamb', allocate, update('lambStep'))
