// Our kernels, registered over (or next to) tfjs's own through this one explicit list.
import * as tf from '@tensorflow/tfjs'
import type { KernelConfig } from '@tensorflow/tfjs'
// Registers the wasm backend and its stock kernels first, so that ours replace them and not the reverse.
import '@tensorflow/tfjs-backend-wasm'
import { adamWWasmConfig, lambWasmConfig } from './adam-wasm'
import { addWasmConfig } from './add-wasm'
import { batchMatMulWasmConfig } from './batch-mat-mul-wasm'
import { denseGradWasmConfig, denseWasmConfig } from './dense-wasm'
import { dropoutWasmConfig } from './dropout-wasm'
import { gatherV2WasmConfig } from './gather-wasm'
import { attentionGradWasmConfig, attentionWasmConfig } from './attention-wasm'
import { geluGradWasmConfig, geluWasmConfig } from './gelu-wasm'
import { scatterAddRowsWasmConfig } from './scatter-rows-wasm'
import { identityWasmConfig } from './identity-wasm'
import { layerNormGradWasmConfig, layerNormWasmConfig } from './layer-norm-wasm'
import { oneHotWasmConfig } from './one-hot-wasm'
import type { OverridingKernelConfig } from './override'
import { softmaxXentGradWasmConfig, softmaxXentWasmConfig } from './softmax-xent-wasm'
import { sumWasmConfig } from './sum-wasm'
import { transposeWasmConfig } from './transpose-wasm'
import { unsortedSegmentSumCpuConfig } from './unsorted-segment-sum-cpu'
import { unsortedSegmentSumWasmConfig } from './unsorted-segment-sum-wasm'

export const CUSTOM_KERNELS: readonly KernelConfig[] = [
  unsortedSegmentSumCpuConfig, // linear time instead of vocab × tokens × hidden
  unsortedSegmentSumWasmConfig, // missing in tfjs-wasm 4.22: the gradient of tf.gather
  batchMatMulWasmConfig, // every product through XNNPACK, not only untransposed 2-D ones
  oneHotWasmConfig, // tfjs-wasm ignores the dtype (float32 one-hots read back as 1.4e-45)
  identityWasmConfig, // shares the buffer: the engine clones every tensor it saves for backward
  sumWasmConfig, // leading-axis sums (bias gradients) without transposing the input first
  gatherV2WasmConfig, // row gathers (embedding lookups) as row copies
  addWasmConfig, // same-shape and bias-broadcast adds in native code (stock kernel otherwise)
  transposeWasmConfig, // row copies in native code (the attention's head split and merge)
  // Fused layers in native code (kernels/fused.ts; used only while @mengzi/native is on):
  geluWasmConfig,
  geluGradWasmConfig,
  scatterAddRowsWasmConfig,
  attentionWasmConfig,
  attentionGradWasmConfig,
  dropoutWasmConfig,
  denseWasmConfig,
  denseGradWasmConfig,
  layerNormWasmConfig,
  layerNormGradWasmConfig,
  adamWWasmConfig,
  lambWasmConfig,
  softmaxXentWasmConfig,
  softmaxXentGradWasmConfig,
]

let registered = false

/** Registers CUSTOM_KERNELS (once; idempotent). Call before or after the backend is set. */
export function registerCustomKernels(): void {
  if (registered) return
  registered = true
  for (const config of CUSTOM_KERNELS) {
    const stock = tf.getKernel(config.kernelName, config.backendName)
    if ('keepStock' in config) (config as OverridingKernelConfig).keepStock(stock)
    if (stock) tf.unregisterKernel(config.kernelName, config.backendName)
    tf.registerKernel(config)
    // tfjs runs setup functions when a backend is set; one already active needs it now.
    if (config.setupFunc && tf.getBackend() === config.backendName) config.setupFunc(tf.backend())
  }
}
