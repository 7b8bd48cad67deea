// MengziLayerNorm / MengziLayerNormGrad on webgpu. Forward: one workgroup per row, LayerNorm(x [+ residual])
// with the mean and the biased variance each a workgroup reduction (two passes over the row, as the
// composition: the variance of the centred values). Backward: dx per row, dx = (dx̂ − mean(dx̂) −
// x̂·mean(dx̂·x̂))·(1/σ) with dx̂ = dy·γ; dγ = Σ dy·x̂ and dβ = Σ dy over rows.
import { columnSum } from './reduce'
import { bindings, dispatch, f32, grid, output, u32, webgpuKernel } from './runner'
import { rowsOf } from './shape'
import { FLAT_INDEX_WGSL, workgroupReduction } from './wgsl'

const WG = 64
const ENTRY = '@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>'

/** (x, γ, β[, residual]; eps) → [y = x̂·γ + β, x̂, 1/σ [..., 1]] */
export const layerNormWebgpuConfig = webgpuKernel('MengziLayerNorm', (backend, { x, gamma, beta, residual }, { eps }) => {
  const { rows, H } = rowsOf(x.shape)
  const outs = [output(backend, x.shape), output(backend, x.shape), output(backend, [...x.shape.slice(0, -1), 1])]
  const res = residual != null
  const value = res ? '(x[k] + res[k])' : 'x[k]'
  const r = workgroupReduction(backend.device, WG)
  dispatch(backend, {
    key: `layer-norm-${res}${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings(['y', 'xhat', 'rstd'], res ? [['x', 'f32'], ['gamma', 'f32'], ['beta', 'f32'], ['res', 'f32']] : [['x', 'f32'], ['gamma', 'f32'], ['beta', 'f32']], 'rows: u32, H: u32, eps: f32,')}
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
  for (var c = lid; c < u.H; c += ${WG}u) {
    let k = base + c;
    let xh = (${value} - mean) * r;
    xhat[k] = xh;
    y[k] = xh * gamma[c] + beta[c];
  }
  if (lid == 0u) { rstd[row] = r; }
}`,
    outputs: outs,
    inputs: res ? [x, gamma, beta, residual] : [x, gamma, beta],
    uniforms: [...u32(rows, H), ...f32(eps as number)],
    workgroups: grid(rows, 1),
  })
  return outs
})

/** (dy, x̂, 1/σ, γ) → [dx, dγ [H], dβ [H]] */
export const layerNormGradWebgpuConfig = webgpuKernel('MengziLayerNormGrad', (backend, { dy, xhat, rstd, gamma }) => {
  const { rows, H } = rowsOf(dy.shape)
  const dx = output(backend, dy.shape)
  const r = workgroupReduction(backend.device, WG)
  dispatch(backend, {
    key: `layer-norm-grad${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings(['dx'], [['dy', 'f32'], ['xhat', 'f32'], ['rstd', 'f32'], ['gamma', 'f32']], 'rows: u32, H: u32,')}
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
    b += g * xhat[base + c];
  }
  let meanG = workgroupSum(a, lid) / f32(u.H);
  let meanGX = workgroupSum(b, lid) / f32(u.H);
  let r = rstd[row];
  for (var c = lid; c < u.H; c += ${WG}u) {
    let k = base + c;
    dx[k] = r * ((dy[k] * gamma[c] - meanG) - xhat[k] * meanGX);
  }
}`,
    outputs: [dx],
    inputs: [dy, xhat, rstd, gamma],
    uniforms: u32(rows, H),
    workgroups: grid(rows, 1),
  })
  return [dx, columnSum(backend, dy, rows, H, xhat), columnSum(backend, dy, rows, H)]
})
