// Column sums on webgpu: out[c] = Σ_r a[r, c] (· b[r, c]), for bias, γ and β gradients. One invocation
// per column walks the rows in order, so the sum is deterministic (no atomics). b may be an activation
// kept in f16 (half.ts's HalfRead: packed, or f32 rounded as it loads).
import type { TensorInfo } from '@tensorflow/tfjs'
import { HALF_BITS_WGSL, halfLoad, type HalfRead } from './half'
import { bindings, dispatch, output, u32, type WebgpuBackendInternals } from './runner'

export function columnSum(backend: WebgpuBackendInternals, a: TensorInfo, rows: number, cols: number, b?: TensorInfo, bRead: HalfRead = 'f32'): TensorInfo {
  const out = output(backend, [cols])
  const product = b != null
  dispatch(backend, {
    key: `column-sum-${product}${product ? bRead : ''}`,
    code: () => /* wgsl */ `
${bindings(['out'], product ? [['a', 'f32'], ['b', bRead === 'packed' ? 'u32' : 'f32']] : [['a', 'f32']], 'rows: u32, cols: u32,')}
${product && bRead !== 'f32' ? HALF_BITS_WGSL : ''}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let c = g.x;
  if (c >= u.cols) { return; }
  var s = 0.0;
  for (var r = 0u; r < u.rows; r++) { s += a[r * u.cols + c]${product ? ` * ${halfLoad(bRead, 'b', 'r * u.cols + c')}` : ''}; }
  out[c] = s;
}`,
    outputs: [out],
    inputs: product ? [a, b] : [a],
    uniforms: u32(rows, cols),
    workgroups: [Math.ceil(cols / 64)],
  })
  return out
}
