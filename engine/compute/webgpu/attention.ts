// MengziAttention / MengziAttentionGrad on webgpu: BERT's attention core on [B, T, H] activations (head h
// is columns h·hd … h·hd + hd − 1: no head split or merge copies), with HF's additive mask [B, 1, 1, T]
// and dropout on the probabilities by the native kernels' hash (index item·T² + i·T + j, item = b·heads
// + h, so the mask equals MengziDropout's on probs [B, heads, T, T]). Probabilities before dropout are
// kept for backward, as on wasm.
//   forward:  one workgroup per query row (b, h, i): scores q·kⱼ·scale + maskⱼ, max and Σexp as
//             workgroup reductions → probs; then one per (b, h, i) for context = dropout(p)·V.
//   backward: dV = P'ᵀ·dC; dS = scale·P·(dP − Σ dP·P) with dP = dropout(dC·Vᵀ) per row;
//             dQ = dS·K and dK = dSᵀ·Q, each a workgroup per output row.
import type { TensorInfo } from '@tensorflow/tfjs'
import { bindings, dispatch, f32, grid, output, u32, webgpuKernel, type Uniform, type WebgpuBackendInternals } from './runner'
import { DROPOUT_WGSL, FLAT_INDEX_WGSL, dropoutParams, workgroupReduction, type Reduction } from './wgsl'

const WG = 64
const ENTRY = '@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>'
const FIELDS = 'B: u32, T: u32, H: u32, heads: u32, hd: u32, scale: f32, dropout: u32, seedWord: u32, threshold: u32, keepScale: f32,'

// (b, h, r) of workgroup `row` in [B, heads, T] order, and the offsets that follow from it
const DECODE = /* wgsl */ `
  let row = groupIndex(wid, nw);
  if (row >= u.B * u.heads * u.T) { return; }
  let r = row % u.T;
  let item = row / u.T; // b·heads + h
  let h = item % u.heads;
  let b = item / u.heads;
  let col0 = h * u.hd;
  let seq0 = b * u.T; // first row of sequence b in [B·T, H]
  let prow = (item * u.T + r) * u.T; // probs[b, h, r, 0]
`

const prelude = (r: Reduction) => `${r.code}\n${FLAT_INDEX_WGSL}\n${DROPOUT_WGSL}
fn factor(k: u32) -> f32 { return select(1.0, dropoutFactor(k, u.seedWord, u.threshold, u.keepScale), u.dropout == 1u); }`

interface Dims {
  B: number
  T: number
  H: number
  heads: number
}

function uniforms({ B, T, H, heads }: Dims, scale: number, rate: number, seed: number): Uniform[] {
  const d = dropoutParams(rate, seed)
  return [...u32(B, T, H, heads, H / heads), ...f32(scale), ...u32(rate > 0 ? 1 : 0, d.seedWord, d.threshold), ...f32(d.scale)]
}

function rowsDispatch(backend: WebgpuBackendInternals, key: string, body: string, outs: TensorInfo[], ins: [string, TensorInfo][], dims: Dims, uni: Uniform[]) {
  const r = workgroupReduction(backend.device, WG)
  dispatch(backend, {
    key: key + r.key,
    code: () => /* wgsl */ `${r.enable}
${bindings(outs.map((_, i) => `out${i}`), ins.map(([name]) => [name, 'f32']), FIELDS)}
${prelude(r)}
@compute @workgroup_size(${WG})
fn main(${ENTRY}${r.entryArgs}) {
  ${r.init}
${DECODE}
${body}
}`,
    outputs: outs,
    inputs: ins.map(([, t]) => t),
    uniforms: uni,
    workgroups: grid(dims.B * dims.heads * dims.T, 1),
  })
}

/** (q, k, v [B, T, H], mask [B, 1, 1, T]; attrs heads, scale, rate, seed) → [context [B, T, H], probs [B, heads, T, T]] */
export const attentionWebgpuConfig = webgpuKernel('MengziAttention', (backend, { q, k, v, mask }, { heads, scale, rate, seed }) => {
  const [B, T, H] = q.shape
  const dims = { B, T, H, heads: heads as number }
  const uni = uniforms(dims, scale as number, rate as number, seed as number)
  const probs = output(backend, [B, dims.heads, T, T])
  const context = output(backend, [B, T, H])
  // out0 = probs; row r of head h: scores, then softmax in place
  rowsDispatch(backend, 'attention-probs', /* wgsl */ `
  var m = -3.4028234663852886e38;
  for (var j = lid; j < u.T; j += ${WG}u) {
    var s = 0.0;
    for (var c = 0u; c < u.hd; c++) { s = fma(q[(seq0 + r) * u.H + col0 + c], k[(seq0 + j) * u.H + col0 + c], s); }
    s = s * u.scale + mask[b * u.T + j];
    out0[prow + j] = s;
    m = max(m, s);
  }
  let rowMax = workgroupMax(m, lid);
  var total = 0.0;
  for (var j = lid; j < u.T; j += ${WG}u) { let e = exp(out0[prow + j] - rowMax); out0[prow + j] = e; total += e; }
  let inv = 1.0 / workgroupSum(total, lid);
  for (var j = lid; j < u.T; j += ${WG}u) { out0[prow + j] = out0[prow + j] * inv; }`, [probs], [['q', q], ['k', k], ['mask', mask]], dims, uni)
  // out0 = context row (b, r), columns of head h
  rowsDispatch(backend, 'attention-context', /* wgsl */ `
  for (var c = lid; c < u.hd; c += ${WG}u) {
    var s = 0.0;
    for (var j = 0u; j < u.T; j++) { s = fma(probs[prow + j] * factor(prow + j), v[(seq0 + j) * u.H + col0 + c], s); }
    out0[(seq0 + r) * u.H + col0 + c] = s;
  }`, [context], [['probs', probs], ['v', v]], dims, uni)
  return [context, probs]
})

/** (dcontext, q, k, v, probs; the forward's attrs) → [dq, dk, dv] */
export const attentionGradWebgpuConfig = webgpuKernel('MengziAttentionGrad', (backend, { dcontext, q, k, v, probs }, { heads, scale, rate, seed }) => {
  const [B, T, H] = q.shape
  const dims = { B, T, H, heads: heads as number }
  const uni = uniforms(dims, scale as number, rate as number, seed as number)
  const [dq, dk, dv] = [output(backend, [B, T, H]), output(backend, [B, T, H]), output(backend, [B, T, H])]
  const ds = output(backend, [B, dims.heads, T, T])
  // dV row j (here r): Σ_i P'[i, r]·dC[i]
  rowsDispatch(backend, 'attention-dv', /* wgsl */ `
  for (var c = lid; c < u.hd; c += ${WG}u) {
    var s = 0.0;
    for (var i = 0u; i < u.T; i++) {
      let p = (item * u.T + i) * u.T + r;
      s = fma(probs[p] * factor(p), dc[(seq0 + i) * u.H + col0 + c], s);
    }
    out0[(seq0 + r) * u.H + col0 + c] = s;
  }`, [dv], [['probs', probs], ['dc', dcontext]], dims, uni)
  // dS row r: dP = dropout(dC[r]·Vᵀ), dS = scale·P·(dP − Σ dP·P)
  rowsDispatch(backend, 'attention-ds', /* wgsl */ `
  var dot = 0.0;
  for (var j = lid; j < u.T; j += ${WG}u) {
    var s = 0.0;
    for (var c = 0u; c < u.hd; c++) { s = fma(dc[(seq0 + r) * u.H + col0 + c], v[(seq0 + j) * u.H + col0 + c], s); }
    s = s * factor(prow + j);
    out0[prow + j] = s;
    dot += s * probs[prow + j];
  }
  let total = workgroupSum(dot, lid);
  for (var j = lid; j < u.T; j += ${WG}u) { out0[prow + j] = u.scale * probs[prow + j] * (out0[prow + j] - total); }`, [ds], [['dc', dcontext], ['v', v], ['probs', probs]], dims, uni)
  // dQ row r: Σ_j dS[r, j]·K[j]
  rowsDispatch(backend, 'attention-dq', /* wgsl */ `
  for (var c = lid; c < u.hd; c += ${WG}u) {
    var s = 0.0;
    for (var j = 0u; j < u.T; j++) { s = fma(ds[prow + j], k[(seq0 + j) * u.H + col0 + c], s); }
    out0[(seq0 + r) * u.H + col0 + c] = s;
  }`, [dq], [['ds', ds], ['k', k]], dims, uni)
  // dK row j (here r): Σ_i dS[i, r]·Q[i]
  rowsDispatch(backend, 'attention-dk', /* wgsl */ `
  for (var c = lid; c < u.hd; c += ${WG}u) {
    var s = 0.0;
    for (var i = 0u; i < u.T; i++) { s = fma(ds[(item * u.T + i) * u.T + r], q[(seq0 + i) * u.H + col0 + c], s); }
    out0[(seq0 + r) * u.H + col0 + c] = s;
  }`, [dk], [['ds', ds], ['q', q]], dims, uni)
  backend.disposeData(ds.dataId)
  return [dq, dk, dv]
})
