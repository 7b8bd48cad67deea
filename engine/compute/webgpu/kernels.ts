// Our webgpu kernels, registered over (or next to) tfjs-webgpu's own through this one explicit list,
// once the backend's module is loaded (start.ts).
import * as tf from '@tensorflow/tfjs'
import type { KernelConfig } from '@tensorflow/tfjs'
import { addWebgpuConfig } from './add'
import { addNWebgpuConfig } from './add-n'
import { additiveMaskWebgpuConfig } from './additive-mask'
import { adamWWebgpuConfig, lambWebgpuConfig } from './adam'
import { attentionGradWebgpuConfig, attentionWebgpuConfig } from './attention'
import { denseGeluGradWebgpuConfig, denseGeluWebgpuConfig, denseGradWebgpuConfig, denseWebgpuConfig, packHalfWebgpuConfig } from './dense'
import { dropoutWebgpuConfig } from './dropout'
import { embeddingsGradWebgpuConfig, embeddingsWebgpuConfig, gatherRowsWebgpuConfig } from './embeddings'
import { geluGradWebgpuConfig, geluWebgpuConfig } from './gelu'
import { layerNormGradWebgpuConfig, layerNormWebgpuConfig } from './layer-norm'
import { qkvAttentionGradWebgpuConfig, qkvAttentionWebgpuConfig } from './qkv-attention'
import { scatterAddRowsWebgpuConfig } from './scatter-rows'
import { softmaxXentGradWebgpuConfig, softmaxXentMeanWebgpuConfig, softmaxXentWebgpuConfig } from './softmax-xent'
import { squaredNormAddWebgpuConfig } from './squared-norm'

type Config = KernelConfig & { keepStock?(stock: KernelConfig | undefined): void }

function webgpuKernels(): Config[] {
  return [
    addNWebgpuConfig(), // in chunks within maxStorageBuffersPerShaderStage
    addWebgpuConfig(), // same-shape sums (the tape's gradient sums) as our dispatch; the rest stock
    // Fused layers in WGSL (kernels/fused.ts; used while webgpu/flags.ts has them on):
    denseWebgpuConfig,
    denseGradWebgpuConfig,
    denseGeluWebgpuConfig,
    denseGeluGradWebgpuConfig,
    packHalfWebgpuConfig, // fp16 storage: the dense layers' inputs saved for backward in f16
    layerNormWebgpuConfig,
    layerNormGradWebgpuConfig,
    geluWebgpuConfig,
    geluGradWebgpuConfig,
    softmaxXentWebgpuConfig,
    softmaxXentGradWebgpuConfig,
    softmaxXentMeanWebgpuConfig, // the mean loss without tfjs's Reduce and Div
    adamWWebgpuConfig,
    lambWebgpuConfig,
    attentionWebgpuConfig,
    attentionGradWebgpuConfig,
    qkvAttentionWebgpuConfig, // the query, key and value projections as one product, then the attention
    qkvAttentionGradWebgpuConfig,
    dropoutWebgpuConfig,
    scatterAddRowsWebgpuConfig,
    gatherRowsWebgpuConfig, // row lookups and the embedding sum as our dispatches, not stock programs
    embeddingsWebgpuConfig,
    embeddingsGradWebgpuConfig,
    additiveMaskWebgpuConfig,
    squaredNormAddWebgpuConfig, // global-norm clipping without AddN
  ]
}

let registered = false

export function registerWebgpuKernels(): void {
  if (registered) return
  registered = true
  for (const config of webgpuKernels()) {
    const stock = tf.getKernel(config.kernelName, 'webgpu')
    config.keepStock?.(stock)
    if (stock) tf.unregisterKernel(config.kernelName, 'webgpu')
    tf.registerKernel(config)
  }
}
