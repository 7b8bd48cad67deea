// MengziAttention / MengziAttentionGrad on webgpu, flash-attention style: BERT's attention core on [B, T, H]
// activations (head h is columns h·hd … h·hd + hd − 1: no head split or merge copies), with HF's additive
// mask [B, 1, 1, T] and dropout on the probabilities by the native kernels' hash (index item·T² + i·T + j,
// item = b·heads + h, so the mask equals MengziDropout's on probs [B, heads, T, T] and wasm's).
// Stored between forward and backward: per query row only its softmax max m and 1/Σexp, [B, heads, T, 2]
// (O(T) per row, not the T² probabilities, which dominate activation memory at long T: at B 16, heads 12,
// T 512 the probabilities were 201 MB per layer kept until backward, plus 201 MB for dS during backward;
// now 0.79 MB per layer, and a 1.18 MB row table during backward). Backward recomputes
// P = exp(s − m)/Σ from Q and K tile by tile, and the dropout mask from its hash.
//   forward:  a workgroup per (b, h, 64 query rows), a thread per row holding q and its context sum in
//             registers; K, V and the mask pass through shared memory in tiles of keys; an online softmax
//             (running max, rescaled sum) accumulates context = dropout(P)·V.
//   backward (flash-attention 2): D = rowsum(dC ∘ C) (= Σⱼ dP'·P with dropout), then with
//             dS = scale·P·(dP·f − D), dP = dC·Vᵀ, f the dropout factor:
//             dK, dV: a workgroup per (b, h, 64 key rows), a thread per key, query tiles in shared memory;
//             dQ:     a workgroup per (b, h, 64 query rows), a thread per query, key tiles in shared memory.
//             Every output element is summed by one thread in a fixed order: no atomics, deterministic.
import type { TensorInfo } from '@tensorflow/tfjs'
import { bindings, dispatch, f32, grid, output, u32, webgpuKernel, type Uniform, type WebgpuBackendInternals } from './runner'
import { DROPOUT_WGSL, ENTRY_ARGS, FLAT_INDEX_WGSL, dropoutParams } from './wgsl'

/** Threads per workgroup, one per query row (forward, dQ) or key row (dK, dV). */
const ROWS = 64
/** Floats per shared tile: two tiles (K and V, or Q and dC) of 1,536 take 12 KB of WebGPU's default 16 KB. */
const TILE_FLOATS = 1536
const FIELDS = 'B: u32, T: u32, H: u32, heads: u32, scale: f32, dropout: u32, seedWord: u32, threshold: u32, keepScale: f32,'

interface Dims {
  B: number
  T: number
  H: number
  heads: number
  hd: number
  /** Rows (keys or queries) per shared-memory tile. */
  tile: number
}

function dimsOf(q: TensorInfo, heads: number): Dims {
  const [B, T, H] = q.shape
  const hd = H / heads
  return { B, T, H, heads, hd, tile: Math.max(1, Math.min(32, Math.floor(TILE_FLOATS / hd))) }
}

function uniforms({ B, T, H, heads }: Dims, scale: number, rate: number, seed: number): Uniform[] {
  const d = dropoutParams(rate, seed)
  return [...u32(B, T, H, heads), ...f32(scale), ...u32(rate > 0 ? 1 : 0, d.seedWord, d.threshold), ...f32(d.scale)]
}

// Keys t0 … t0 + n − 1 of this (sequence, head) into shared memory: K, V and their mask values (the
// forward pass and dQ walk the keys the same way). Barriers on both sides: the tile is reused per t0.
const LOAD_KV_TILE = /* wgsl */ `    workgroupBarrier();
    for (var e = lid; e < n * HD; e += ROWS) {
      let g = (blk.seq0 + t0 + e / HD) * u.H + blk.col0 + e % HD;
      kTile[e] = k[g];
      vTile[e] = v[g];
    }
    if (lid < n) { maskTile[lid] = mask[blk.b * u.T + t0 + lid]; }
    workgroupBarrier();`

// Shared WGSL: the head size and tile as constants (registers and shared arrays are sized by them), the
// dropout factor, and the block decode: workgroup → (item, first row), thread → its row (clamped to the
// last row so threads past T compute harmlessly and still reach every barrier).
const prelude = ({ hd, tile }: Dims) => /* wgsl */ `
const HD = ${hd}u;
const TILE = ${tile}u;
const ROWS = ${ROWS}u;
${FLAT_INDEX_WGSL}
${DROPOUT_WGSL}
fn factor(k: u32) -> f32 { return select(1.0, dropoutFactor(k, u.seedWord, u.threshold, u.keepScale), u.dropout == 1u); }
struct Block { item: u32, b: u32, col0: u32, seq0: u32, row: u32, live: bool }
fn decode(wid: vec3<u32>, nw: vec3<u32>, lid: u32) -> Block {
  let blocks = (u.T + ROWS - 1u) / ROWS;
  let group = groupIndex(wid, nw);
  let item = group / blocks; // b·heads + h
  let row = (group % blocks) * ROWS + lid;
  return Block(item, item / u.heads, (item % u.heads) * HD, (item / u.heads) * u.T, min(row, u.T - 1u), row < u.T);
}
fn inRange(wid: vec3<u32>, nw: vec3<u32>) -> bool { return groupIndex(wid, nw) < u.B * u.heads * ((u.T + ROWS - 1u) / ROWS); }`

function blocksDispatch(backend: WebgpuBackendInternals, key: string, dims: Dims, code: string, outs: TensorInfo[], ins: [string, TensorInfo][], uni: Uniform[]) {
  dispatch(backend, {
    key: `${key}-hd${dims.hd}-tile${dims.tile}`,
    code: () => /* wgsl */ `
${bindings(outs.map((_, i) => `out${i}`), ins.map(([name]) => [name, 'f32']), FIELDS)}
${prelude(dims)}
${code}`,
    outputs: outs,
    inputs: ins.map(([, t]) => t),
    uniforms: uni,
    workgroups: grid(dims.B * dims.heads * Math.ceil(dims.T / ROWS), 1),
  })
}

/** (q, k, v [B, T, H], mask [B, 1, 1, T]; attrs heads, scale, rate, seed) → [context [B, T, H], row statistics [B, heads, T, 2]: max, 1/Σexp] */
export const attentionWebgpuConfig = webgpuKernel('MengziAttention', (backend, { q, k, v, mask }, { heads, scale, rate, seed }) => {
  const dims = dimsOf(q, heads as number)
  const { B, T, H } = dims
  const context = output(backend, [B, T, H])
  const stats = output(backend, [B, dims.heads, T, 2])
  blocksDispatch(backend, 'attention-flash-forward', dims, /* wgsl */ `
var<workgroup> kTile: array<f32, ${dims.tile * dims.hd}>;
var<workgroup> vTile: array<f32, ${dims.tile * dims.hd}>;
var<workgroup> maskTile: array<f32, ${dims.tile}>;
@compute @workgroup_size(${ROWS})
fn main(${ENTRY_ARGS}) {
  if (!inRange(wid, nw)) { return; }
  let blk = decode(wid, nw, lid);
  let at = (blk.seq0 + blk.row) * u.H + blk.col0;
  var qRow: array<f32, ${dims.hd}>;
  var acc: array<f32, ${dims.hd}>;
  var s: array<f32, ${dims.tile}>;
  for (var c = 0u; c < HD; c++) { qRow[c] = q[at + c]; }
  var m = -3.4028234663852886e38; // running max of the scores seen
  var l = 0.0; // Σ exp(s − m) over them
  let dropBase = (blk.item * u.T + blk.row) * u.T;
  for (var t0 = 0u; t0 < u.T; t0 += TILE) {
    let n = min(TILE, u.T - t0);
${LOAD_KV_TILE}
    var tileMax = m;
    for (var j = 0u; j < n; j++) {
      var dot = 0.0;
      for (var c = 0u; c < HD; c++) { dot = fma(qRow[c], kTile[j * HD + c], dot); }
      s[j] = dot * u.scale + maskTile[j];
      tileMax = max(tileMax, s[j]);
    }
    let rescale = exp(m - tileMax);
    l *= rescale;
    for (var c = 0u; c < HD; c++) { acc[c] *= rescale; }
    for (var j = 0u; j < n; j++) {
      let p = exp(s[j] - tileMax);
      l += p;
      let kept = p * factor(dropBase + t0 + j);
      for (var c = 0u; c < HD; c++) { acc[c] = fma(kept, vTile[j * HD + c], acc[c]); }
    }
    m = tileMax;
  }
  if (blk.live) {
    let inv = 1.0 / l;
    for (var c = 0u; c < HD; c++) { out0[at + c] = acc[c] * inv; }
    let r = (blk.item * u.T + blk.row) * 2u;
    out1[r] = m;
    out1[r + 1u] = inv;
  }
}`, [context, stats], [['q', q], ['k', k], ['v', v], ['mask', mask]], uniforms(dims, scale as number, rate as number, seed as number))
  return [context, stats]
})

/**
 * (dcontext, q, k, v, mask, context, saved = the forward's row statistics; the forward's attrs) → [dq, dk, dv].
 * `mask` and `context` are read here (the wasm kernel keeps the probabilities instead and needs neither).
 */
export const attentionGradWebgpuConfig = webgpuKernel('MengziAttentionGrad', (backend, { dcontext, q, k, v, mask, context, saved }, { heads, scale, rate, seed }) => {
  const dims = dimsOf(q, heads as number)
  const { B, T, H, hd } = dims
  const uni = uniforms(dims, scale as number, rate as number, seed as number)
  const [dq, dk, dv] = [output(backend, [B, T, H]), output(backend, [B, T, H]), output(backend, [B, T, H])]
  // per query row (m, 1/Σ, D = dC·C), so the two passes below bind 8 storage buffers at most
  const rows = output(backend, [B, dims.heads, T, 3])
  dispatch(backend, {
    key: `attention-flash-rows-hd${hd}`,
    code: () => /* wgsl */ `
${bindings(['out0'], [['dc', 'f32'], ['ctx', 'f32'], ['stats', 'f32']], FIELDS)}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let r = flatIndex(wid, nw, lid); // (b·heads + h)·T + i
  if (r >= u.B * u.heads * u.T) { return; }
  let i = r % u.T;
  let item = r / u.T;
  let at = ((item / u.heads) * u.T + i) * u.H + (item % u.heads) * ${hd}u;
  var d = 0.0;
  for (var c = 0u; c < ${hd}u; c++) { d = fma(dc[at + c], ctx[at + c], d); }
  out0[r * 3u] = stats[r * 2u];
  out0[r * 3u + 1u] = stats[r * 2u + 1u];
  out0[r * 3u + 2u] = d;
}`,
    outputs: [rows],
    inputs: [dcontext, context, saved],
    uniforms: uni,
    workgroups: grid(B * dims.heads * T, 256),
  })
  // dK, dV for key row j (the thread's row): Σ over query rows i of dS[i, j]·Q[i] and P'[i, j]·dC[i]
  blocksDispatch(backend, 'attention-flash-dkdv', dims, /* wgsl */ `
var<workgroup> qTile: array<f32, ${dims.tile * hd}>;
var<workgroup> dcTile: array<f32, ${dims.tile * hd}>;
var<workgroup> rowTile: array<f32, ${dims.tile * 3}>;
@compute @workgroup_size(${ROWS})
fn main(${ENTRY_ARGS}) {
  if (!inRange(wid, nw)) { return; }
  let blk = decode(wid, nw, lid);
  let j = blk.row;
  let at = (blk.seq0 + j) * u.H + blk.col0;
  var kRow: array<f32, ${hd}>;
  var vRow: array<f32, ${hd}>;
  var dkAcc: array<f32, ${hd}>;
  var dvAcc: array<f32, ${hd}>;
  for (var c = 0u; c < HD; c++) { kRow[c] = k[at + c]; vRow[c] = v[at + c]; }
  let maskJ = mask[blk.b * u.T + j];
  for (var t0 = 0u; t0 < u.T; t0 += TILE) {
    let n = min(TILE, u.T - t0);
    workgroupBarrier();
    for (var e = lid; e < n * HD; e += ROWS) {
      let g = (blk.seq0 + t0 + e / HD) * u.H + blk.col0 + e % HD;
      qTile[e] = q[g];
      dcTile[e] = dc[g];
    }
    for (var e = lid; e < n * 3u; e += ROWS) { rowTile[e] = rows[(blk.item * u.T + t0) * 3u + e]; }
    workgroupBarrier();
    for (var i = 0u; i < n; i++) {
      var dot = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < HD; c++) {
        dot = fma(qTile[i * HD + c], kRow[c], dot);
        dp = fma(dcTile[i * HD + c], vRow[c], dp);
      }
      let p = exp(dot * u.scale + maskJ - rowTile[i * 3u]) * rowTile[i * 3u + 1u];
      let f = factor((blk.item * u.T + t0 + i) * u.T + j);
      let kept = p * f;
      let ds = u.scale * p * (dp * f - rowTile[i * 3u + 2u]);
      for (var c = 0u; c < HD; c++) {
        dvAcc[c] = fma(kept, dcTile[i * HD + c], dvAcc[c]);
        dkAcc[c] = fma(ds, qTile[i * HD + c], dkAcc[c]);
      }
    }
  }
  if (blk.live) {
    for (var c = 0u; c < HD; c++) { out0[at + c] = dkAcc[c]; out1[at + c] = dvAcc[c]; }
  }
}`, [dk, dv], [['q', q], ['k', k], ['v', v], ['mask', mask], ['dc', dcontext], ['rows', rows]], uni)
  // dQ for query row i (the thread's row): Σ over key rows j of dS[i, j]·K[j]
  blocksDispatch(backend, 'attention-flash-dq', dims, /* wgsl */ `
var<workgroup> kTile: array<f32, ${dims.tile * hd}>;
var<workgroup> vTile: array<f32, ${dims.tile * hd}>;
var<workgroup> maskTile: array<f32, ${dims.tile}>;
@compute @workgroup_size(${ROWS})
fn main(${ENTRY_ARGS}) {
  if (!inRange(wid, nw)) { return; }
  let blk = decode(wid, nw, lid);
  let at = (blk.seq0 + blk.row) * u.H + blk.col0;
  var qRow: array<f32, ${hd}>;
  var dcRow: array<f32, ${hd}>;
  var dqAcc: array<f32, ${hd}>;
  for (var c = 0u; c < HD; c++) { qRow[c] = q[at + c]; dcRow[c] = dc[at + c]; }
  let r = (blk.item * u.T + blk.row) * 3u;
  let m = rows[r];
  let inv = rows[r + 1u];
  let d = rows[r + 2u];
  let dropBase = (blk.item * u.T + blk.row) * u.T;
  for (var t0 = 0u; t0 < u.T; t0 += TILE) {
    let n = min(TILE, u.T - t0);
${LOAD_KV_TILE}
    for (var j = 0u; j < n; j++) {
      var dot = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < HD; c++) {
        dot = fma(qRow[c], kTile[j * HD + c], dot);
        dp = fma(dcRow[c], vTile[j * HD + c], dp);
      }
      let p = exp(dot * u.scale + maskTile[j] - m) * inv;
      let ds = u.scale * p * (dp * factor(dropBase + t0 + j) - d);
      for (var c = 0u; c < HD; c++) { dqAcc[c] = fma(ds, kTile[j * HD + c], dqAcc[c]); }
    }
  }
  if (blk.live) {
    for (var c = 0u; c < HD; c++) { out0[at + c] = dqAcc[c]; }
  }
}`, [dq], [['q', q], ['k', k], ['v', v], ['mask', mask], ['dc', dcontext], ['rows', rows]], uni)
  backend.disposeData(rows.dataId)
  return [dq, dk, dv]
})
