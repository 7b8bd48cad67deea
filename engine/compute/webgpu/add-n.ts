// AddN on webgpu within the device's storage-buffer limit. tfjs's AddNPackedProgram binds every input
// at once: a global gradient norm over 43 tensors needs 44 storage buffers where WebGPU's default
// limit is 8, Dawn rejects the pipeline, and the step never finishes (issue 14). Here the stock kernel
// sums chunks that fit, then the partial sums.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import { webgpuInternals } from './runner'

export function addNWebgpuConfig(): KernelConfig & { keepStock(stock: KernelConfig | undefined): void } {
  let stock: KernelConfig | null = null
  return {
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: ((args: { inputs: TensorInfo[]; backend: never; attrs: object }) => {
      const backend = webgpuInternals(args.backend)
      const inputs = Object.values(args.inputs) as TensorInfo[]
      // one binding is the output; tfjs's shader takes at most this many inputs anyway
      const chunk = Math.max(2, Math.min(backend.device.limits.maxStorageBuffersPerShaderStage - 1, 15))
      const run = (xs: TensorInfo[]) => stock!.kernelFunc({ ...args, inputs: xs } as never) as TensorInfo
      let pending = inputs
      const made: TensorInfo[] = []
      while (pending.length > chunk) {
        const partials: TensorInfo[] = []
        for (let i = 0; i < pending.length; i += chunk) {
          const part = pending.slice(i, i + chunk)
          if (part.length === 1) partials.push(part[0])
          else {
            const sum = run(part)
            made.push(sum)
            partials.push(sum)
          }
        }
        pending = partials
      }
      const out = run(pending)
      for (const t of made) backend.disposeData(t.dataId)
      return out
    }) as unknown as KernelFunc,
    keepStock(found) {
      if (found && found.kernelFunc !== this.kernelFunc) stock = found
    },
  }
}
