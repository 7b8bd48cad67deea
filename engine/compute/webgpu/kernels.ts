// Our webgpu kernels, registered over (or next to) tfjs-webgpu's own through this one explicit list,
// once the backend's module is loaded (start.ts).
import * as tf from '@tensorflow/tfjs'
import type { KernelConfig } from '@tensorflow/tfjs'
import { addNWebgpuConfig } from './add-n'

type Config = KernelConfig & { keepStock?(stock: KernelConfig | undefined): void }

function webgpuKernels(): Config[] {
  return [
    addNWebgpuConfig(), // in chunks within maxStorageBuffersPerShaderStage
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
