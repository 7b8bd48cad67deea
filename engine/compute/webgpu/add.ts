// Add on webgpu for two float32 tensors of one shape, as one of our dispatches: what the gradient tape
// records when a tensor has several consumers (a layer's input feeds query, key, value and the
// residual: 4 sums per layer, 49 per BERT-base step). tfjs's BinaryOpProgram costs about three times
// our dispatch in host time to record (shape uniforms, shader key, its own bind group); the sum is the
// same single f32 addition, so the bits are the same. Broadcasts, other dtypes, and steps with our
// kernels off (flags.ts) go to tfjs's own kernel.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs'
import { webgpuFusedKernelsOn } from './flags'
import { bindings, dispatch, grid, output, u32, webgpuInternals } from './runner'
import { sizeFromShape } from './shape'
import { ENTRY_ARGS, FLAT_INDEX_WGSL } from './wgsl'

export function addWebgpuConfig(): KernelConfig & { keepStock(stock: KernelConfig | undefined): void } {
  let stock: KernelConfig | null = null
  const config: KernelConfig & { keepStock(stock: KernelConfig | undefined): void } = {
    kernelName: 'Add',
    backendName: 'webgpu',
    kernelFunc: ((args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: never; attrs: object }) => {
      const { a, b } = args.inputs
      const n = sizeFromShape(a.shape)
      const same = a.dtype === 'float32' && b.dtype === 'float32' && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])
      if (!same || n === 0 || !webgpuFusedKernelsOn()) return stock!.kernelFunc(args as never)
      const backend = webgpuInternals(args.backend)
      const out = output(backend, a.shape)
      const vec = n % 4 === 0 // four values per invocation where they come whole
      const type = vec ? ('vec4<f32>' as const) : ('f32' as const)
      const count = vec ? n / 4 : n
      dispatch(backend, {
        key: `add-${vec ? 'vec4' : 'f32'}`,
        code: () => /* wgsl */ `
${bindings([['out', type]], [['a', type], ['b', type]], 'n: u32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  out[i] = a[i] + b[i];
}`,
        outputs: [out],
        inputs: [a, b],
        uniforms: u32(count),
        workgroups: grid(count, 256),
      })
      return out
    }) as unknown as KernelFunc,
    keepStock(found) {
      if (found && found.kernelFunc !== config.kernelFunc) stock = found
    },
  }
  return config
}
