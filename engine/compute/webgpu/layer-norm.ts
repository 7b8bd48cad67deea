// MengziLayerNorm / MengziLayerNormGrad on webgpu. Forward: one workgroup per row, LayerNorm(x [+ residual])
// with the mean and the biased variance each a workgroup reduction (two passes over the row, as the
// composition: the variance of the centred values). Backward: dx per row, dx = (dx̂ − mean(dx̂) −
// x̂·mean(dx̂·x̂))·(1/σ) with dx̂ = dy·γ; dγ = Σ dy·x̂ and dβ = Σ dy over rows.
// In fp16 x̂, what the backward reads from the forward, is an f16 activation: under f16 storage the
// forward writes it packed (half.ts; half the bytes kept for backward), in word pairs where rows end on
// whole words (H even: every model's case), else packed after; 1/σ stays f32. The backward computes in
// f32 from f16(x̂): unpacked, or rounded as it loads when x̂ comes as f32 (storage off), so that storing
// changes memory, not numbers. y is the f32 x̂'s either way.
import { HALF_BITS_WGSL, halfLoad, halfRead, halfWords, packHalf } from './half'
import { halfStorageOn } from './flags'
import { columnSums } from './reduce'
import { bindings, dispatch, f32, grid, output, u32, webgpuKernel } from './runner'
import { rowsOf } from './shape'
import { FLAT_INDEX_WGSL, workgroupReduction } from './wgsl'

const WG = 64
const ENTRY = '@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>'

/** (x, γ, β[, residual]; eps) → [y = x̂·γ + β, x̂ (packed under fp16 storage: int32 [⌈n / 2⌉]), 1/σ [..., 1]] */
export const layerNormWebgpuConfig = webgpuKernel('MengziLayerNorm', (backend, { x, gamma, beta, residual }, { eps }) => {
  const { rows, H } = rowsOf(x.shape)
  const half = halfStorageOn()
  const pairs = half && H % 2 === 0
  const xhatOut = pairs ? output(backend, [halfWords(rows * H)], 'int32') : output(backend, x.shape)
  const outs = [output(backend, x.shape), xhatOut, output(backend, [...x.shape.slice(0, -1), 1])]
  const res = residual != null
  const at = (k: string) => (res ? `(x[${k}] + res[${k}])` : `x[${k}]`)
  const value = at('k')
  const r = workgroupReduction(backend.device, WG)
  // packed: each invocation normalises a pair (c, c + 1), c even, one word of x̂ (H even, so no word spans two rows)
  const write = pairs
    ? `for (var c = 2u * lid; c < u.H; c += ${2 * WG}u) {
    let k = base + c;
    let xh = (vec2<f32>(${at('k')}, ${at('k + 1u')}) - mean) * r;
    xhat[k / 2u] = packHalf2(xh.x, xh.y);
    y[k] = xh.x * gamma[c] + beta[c];
    y[k + 1u] = xh.y * gamma[c + 1u] + beta[c + 1u];
  }`
    : `for (var c = lid; c < u.H; c += ${WG}u) {
    let k = base + c;
    let xh = (${value} - mean) * r;
    xhat[k] = xh;
    y[k] = xh * gamma[c] + beta[c];
  }`
  dispatch(backend, {
    key: `layer-norm-${res}${pairs ? '-half' : ''}${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings([['y', 'f32'], ['xhat', pairs ? 'u32' : 'f32'], ['rstd', 'f32']], res ? [['x', 'f32'], ['gamma', 'f32'], ['beta', 'f32'], ['res', 'f32']] : [['x', 'f32'], ['gamma', 'f32'], ['beta', 'f32']], 'rows: u32, H: u32, eps: f32,')}
${pairs ? HALF_BITS_WGSL : ''}
${r.code}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(${ENTRY}${r.entryArgs}) {
  ${r.init}
  let row = groupIndex(wid, nw);
  if (row >= u.rows) { return; }
  let base = row * u.H;
  var s = 0.0;
  for (var c = lid; c < u.H; c += ${WG}u) { let k = base + c; s += ${value}; }
  let mean = workgroupSum(s, lid) / f32(u.H);
  var q = 0.0;
  for (var c = lid; c < u.H; c += ${WG}u) { let k = base + c; let d = ${value} - mean; q += d * d; }
  let r = 1.0 / sqrt(workgroupSum(q, lid) / f32(u.H) + u.eps);
  ${write}
  if (lid == 0u) { rstd[row] = r; }
}`,
    outputs: outs,
    inputs: res ? [x, gamma, beta, residual] : [x, gamma, beta],
    uniforms: [...u32(rows, H), ...f32(eps as number)],
    workgroups: grid(rows, 1),
  })
  if (!half || pairs) return outs
  const packed = packHalf(backend, outs[1])
  backend.disposeData(outs[1].dataId)
  return [outs[0], packed, outs[2]]
})

/** (dy, x̂ (or packed), 1/σ, γ) → [dx, dγ [H], dβ [H]] */
export const layerNormGradWebgpuConfig = webgpuKernel('MengziLayerNormGrad', (backend, { dy, xhat, rstd, gamma }) => {
  const { rows, H } = rowsOf(dy.shape)
  const dx = output(backend, dy.shape)
  const r = workgroupReduction(backend.device, WG)
  const read = halfRead(xhat)
  const xh = (k: string) => halfLoad(read, 'xhat', k)
  dispatch(backend, {
    key: `layer-norm-grad${read === 'f32' ? '' : `-${read}`}${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings(['dx'], [['dy', 'f32'], ['xhat', read === 'packed' ? 'u32' : 'f32'], ['rstd', 'f32'], ['gamma', 'f32']], 'rows: u32, H: u32,')}
${read === 'f32' ? '' : HALF_BITS_WGSL}
${r.code}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(${ENTRY}${r.entryArgs}) {
  ${r.init}
  let row = groupIndex(wid, nw);
  if (row >= u.rows) { return; }
  let base = row * u.H;
  var a = 0.0;
  var b = 0.0;
  for (var c = lid; c < u.H; c += ${WG}u) {
    let g = dy[base + c] * gamma[c];
    a += g;
    b += g * ${xh('base + c')};
  }
  let meanG = workgroupSum(a, lid) / f32(u.H);
  let meanGX = workgroupSum(b, lid) / f32(u.H);
  let r = rstd[row];
  for (var c = lid; c < u.H; c += ${WG}u) {
    let k = base + c;
    dx[k] = r * ((dy[k] * gamma[c] - meanG) - ${xh('k')} * meanGX);
  }
}`,
    outputs: [dx],
    inputs: [dy, xhat, rstd, gamma],
    uniforms: u32(rows, H),
    workgroups: grid(rows, 1),
  })
  return [dx, ...columnSums(backend, dy, rows, H, xhat, read)] // [dγ = Σ dy·x̂, dβ = Σ dy]
})
