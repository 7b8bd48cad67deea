// A wasm kernel that replaces tfjs's own for the cases it takes and hands the rest back to it. The
// stock kernel is captured when ours is registered (registerCustomKernels calls keepStock), and its
// setup still runs: tfjs-wasm kernels bind their wasm functions there.
import type * as tf from '@tensorflow/tfjs'
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs'

export interface OverridingKernelConfig extends KernelConfig {
  /** Remembers the kernel this one replaces, the fallback for the cases it does not take. */
  keepStock(stock: KernelConfig | undefined): void
}

export function overrideWasmKernel<Args>(
  kernelName: string,
  kernel: (args: Args, stock: (args: Args) => TensorInfo) => TensorInfo,
  setup?: (backend: tf.KernelBackend) => void,
): OverridingKernelConfig {
  let stock: KernelConfig | null = null
  const callStock = (args: Args) => stock!.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo
  const config: OverridingKernelConfig = {
    kernelName,
    backendName: 'wasm',
    setupFunc: (backend) => {
      stock?.setupFunc?.(backend)
      setup?.(backend as tf.KernelBackend)
    },
    kernelFunc: ((args: Args) => kernel(args, callStock)) as unknown as KernelFunc,
    keepStock(found) {
      if (found && found !== config) stock = found
    },
  }
  return config
}
