// Column sums on webgpu: out[c] = Σ_r a[r, c] (· b[r, c]), for LayerNorm's γ and β gradients (a dense
// layer's bias gradient comes from its dW product: matmul.ts rowSums). Deterministic
// without atomics: a workgroup takes 16 columns, and its 16 row lanes each sum every 16th row in order,
// then one invocation per column adds the 16 lane sums in order. (One invocation per column walking
// every row, as before, left a GPU nearly idle: 768 columns are 768 threads, 12 workgroups, each
// thread 4,096 dependent loads at BASE.) With b, one pass gives both Σ a·b and Σ a (LayerNorm's γ and β
// gradients read dy once). b may be an activation kept in f16 (half.ts's HalfRead: packed, or f32
// rounded as it loads).
import type { TensorInfo } from '@tensorflow/tfjs'
import { HALF_BITS_WGSL, halfLoad, type HalfRead } from './half'
import { bindings, dispatch, grid, output, u32, type WebgpuBackendInternals } from './runner'
import { FLAT_INDEX_WGSL } from './wgsl'

/** Columns per workgroup, and row lanes per column. */
const COLS = 16
const LANES = 16

/** With b: [Σ_r a·b, Σ_r a] in one pass; without: [Σ_r a]. */
export function columnSums(backend: WebgpuBackendInternals, a: TensorInfo, rows: number, cols: number, b?: TensorInfo, bRead: HalfRead = 'f32'): TensorInfo[] {
  const product = b != null
  const outs = product ? [output(backend, [cols]), output(backend, [cols])] : [output(backend, [cols])]
  const lane = (name: string) => `var<workgroup> ${name}: array<f32, ${COLS * LANES}>;`
  dispatch(backend, {
    key: `column-sums-${product}${product ? bRead : ''}`,
    code: () => /* wgsl */ `
${bindings(product ? ['outAB', 'outA'] : ['outA'], product ? [['a', 'f32'], ['b', bRead === 'packed' ? 'u32' : 'f32']] : [['a', 'f32']], 'rows: u32, cols: u32,')}
${product && bRead !== 'f32' ? HALF_BITS_WGSL : ''}
${FLAT_INDEX_WGSL}
${lane('laneA')}
${product ? lane('laneAB') : ''}
@compute @workgroup_size(${COLS}, ${LANES})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let c = groupIndex(wid, nw) * ${COLS}u + lid.x;
  var sa = 0.0;
  var sab = 0.0;
  if (c < u.cols) {
    for (var r = lid.y; r < u.rows; r += ${LANES}u) {
      let x = a[r * u.cols + c];
      sa += x;
      ${product ? `sab += x * ${halfLoad(bRead, 'b', 'r * u.cols + c')};` : ''}
    }
  }
  let slot = lid.y * ${COLS}u + lid.x;
  laneA[slot] = sa;
  ${product ? 'laneAB[slot] = sab;' : ''}
  workgroupBarrier();
  if (lid.y == 0u && c < u.cols) {
    var ta = 0.0;
    var tab = 0.0;
    for (var l = 0u; l < ${LANES}u; l++) {
      ta += laneA[l * ${COLS}u + lid.x];
      ${product ? `tab += laneAB[l * ${COLS}u + lid.x];` : ''}
    }
    outA[c] = ta;
    ${product ? 'outAB[c] = tab;' : ''}
  }
}`,
    outputs: outs,
    inputs: product ? [a, b] : [a],
    uniforms: u32(rows, cols),
    workgroups: grid(cols, COLS),
  })
  return outs
}
