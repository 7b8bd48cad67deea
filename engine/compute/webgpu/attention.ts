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
// The same three kernels with 4 threads per row are in attention-lanes.ts (flags.ts setAttentionLanes,
// off until a GPU has timed them); what the kernels share is in attention-parts.ts.
// fp16 (f16 product inputs, flags.ts), as PyTorch's autocast runs attention: Q, K and V are f16, rounded
// as they load (half.ts's rounding), every sum accumulates in f32; the mask, the row statistics, P, dS
// and dC stay f32. With attr `keepHalf` (ops/attention.ts sets it under f16 storage while the tape
// records) the forward also writes, packed f16, what the backward reads of Q, K, V and the context, so
// that the f32 ones are freed after the forward (half the bytes kept): Q, K, V in one buffer, Q | K | V
// each from an even element (the forward binds 8 storage buffers, WebGPU's default maximum), or laid out
// as the one [B·T, 3H] product they come from (qkv-attention.ts; attention-parts.ts packedIndex), and the
// context, which the attention output dense layer keeps too (one copy, ops/dense.ts's shared halves).
// Written by the forward from values in registers (each thread its query row's Q and context; the first
// query block of each sequence and head the K and V tiles it loads anyway): no extra reads, and no
// dispatch, where a row's head columns are whole words (head size even: every model's case); else
// packed after (half.ts's packHalf). The backward computes from the f16 values either way: unpacked, or
// f32 rounded as it loads (storage off), so that storing changes memory, not numbers.
import type { TensorInfo } from '@tensorflow/tfjs'
import { attentionLanesFor, dkdvLanesCode, dqLanesCode, forwardLanesCode } from './attention-lanes'
import { apart, blocksDispatch, dimsOf, element, FIELDS, loadKvTile, qkvLoadAt, ROWS, uniforms, type QkvLayout } from './attention-parts'
import { HALF_BITS_WGSL, halfLoad, halfRead, halfWords, packHalf } from './half'
import { bindings, dispatch, grid, output, webgpuKernel, type WebgpuBackendInternals } from './runner'
import { ENTRY_ARGS, FLAT_INDEX_WGSL } from './wgsl'

/**
 * (q, k, v [B, T, H], mask [B, 1, 1, T]; attrs heads, scale, rate, seed, keepHalf) → [context [B, T, H],
 * row statistics [B, heads, T, 2]: max, 1/Σexp], and with keepHalf (fp16) [packed Q | K | V: int32
 * [3·⌈n / 2⌉] (laid out as `layout`'s, attention-parts.ts packedIndex), packed context: int32 [⌈n / 2⌉]],
 * n = B·T·H.
 */
export const attentionWebgpuConfig = webgpuKernel('MengziAttention', (backend, inputs, attrs) => attentionForward(backend, inputs, attrs, inputs.q.shape))

/**
 * MengziAttention's work: `shape` is [B, T, H] (Q's, or the context's where Q, K and V are one [B·T, 3H]
 * product: `layout`, attention-parts.ts QkvLayout).
 */
export function attentionForward(backend: WebgpuBackendInternals, { q, k, v, mask }: Record<string, TensorInfo>, { heads, scale, rate, seed, keepHalf }: Record<string, unknown>, shape: number[], layout: QkvLayout = apart(shape[2])): TensorInfo[] {
  const dims = dimsOf(shape, heads as number)
  const { B, T, H } = dims
  const lanes = attentionLanesFor(dims, backend.device) // '': a thread per row (this file's kernels)
  const read = halfRead(q) // f32 (fp32) or rounded as it loads (fp16)
  const keep = keepHalf === true && read === 'round'
  const pack = keep && dims.hd % 2 === 0
  const words = halfWords(B * T * H)
  const context = output(backend, [B, T, H])
  const stats = output(backend, [B, dims.heads, T, 2])
  const outs = pack ? [context, stats, output(backend, [3 * words], 'int32'), output(backend, [words], 'int32')] : [context, stats]
  // out0 context, out1 statistics, out2 packed Q | K | V, out3 packed context
  blocksDispatch(backend, 'attention-flash-forward', dims, read, pack, lanes ? forwardLanesCode(dims, read, pack, ENTRY_ARGS) : /* wgsl */ `
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
  for (var c = 0u; c < HD; c++) { qRow[c] = ${qkvLoadAt(read, 'q', 'blk.seq0 + blk.row', 'blk.col0 + c')}; }${pack ? `
  if (blk.live) {
    for (var c = 0u; c < HD; c += 2u) {
      let g = qkvIndex(0u, blk.seq0 + blk.row, blk.col0 + c);
      out2[packedIndex(0u, blk.seq0 + blk.row, blk.col0 + c) / 2u] = packHalf2(q[g], q[g + 1u]);
    }
  }
  // the first query block of each (sequence, head) loads every key: it stores K and V
  let kvWriter = groupIndex(wid, nw) % ((u.T + ROWS - 1u) / ROWS) == 0u;` : ''}
  var m = -3.4028234663852886e38; // running max of the scores seen
  var l = 0.0; // Σ exp(s − m) over them
  let dropBase = (blk.item * u.T + blk.row) * u.T;
  for (var t0 = 0u; t0 < u.T; t0 += TILE) {
    let n = min(TILE, u.T - t0);
${loadKvTile(read, pack)}
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
    for (var c = 0u; c < HD; c++) { out0[at + c] = acc[c] * inv; }${pack ? `
    for (var c = 0u; c < HD; c += 2u) { out3[(at + c) / 2u] = packHalf2(acc[c] * inv, acc[c + 1u] * inv); }` : ''}
    let r = (blk.item * u.T + blk.row) * 2u;
    out1[r] = m;
    out1[r + 1u] = inv;
  }
}`, outs, [['q', q], ['k', k], ['v', v], ['mask', mask]], uniforms(dims, scale as number, rate as number, seed as number, layout), lanes)
  if (!keep || pack) return outs
  // head size odd: the copies packed after, in the same layout (one product: packed as it is)
  const contextHalf = packHalf(backend, context)
  if (layout.S !== H) return [context, stats, packHalf(backend, q), contextHalf]
  const qkv = output(backend, [3 * words], 'int32')
  ;[q, k, v].forEach((x, i) => packHalf(backend, x, { out: qkv, word: i * words }))
  return [context, stats, qkv, contextHalf]
}

/**
 * (dcontext, q, k, v (or qkv: the forward's packed Q | K | V), mask, context (or packed), saved = the
 * forward's row statistics; the forward's attrs) → [dq, dk, dv]. `mask` and `context` are read here (the
 * wasm kernel keeps the probabilities instead and needs neither).
 */
export const attentionGradWebgpuConfig = webgpuKernel('MengziAttentionGrad', (backend, inputs, attrs) => attentionBackward(backend, inputs, attrs))

/** MengziAttentionGrad's work; with `layout.into`, → [dQ | dK | dV: one [B·T, 3H]] at Q, K, V's places. */
export function attentionBackward(backend: WebgpuBackendInternals, { dcontext, q, k, v, qkv, mask, context, saved }: Record<string, TensorInfo>, { heads, scale, rate, seed }: Record<string, unknown>, layout: QkvLayout = apart(dcontext.shape[2])): TensorInfo[] {
  const dims = dimsOf(dcontext.shape, heads as number)
  const { B, T, H, hd } = dims
  const lanes = attentionLanesFor(dims, backend.device)
  const read = qkv ? 'packed' : halfRead(q)
  const operands: [string, TensorInfo][] = qkv ? [['qkv', qkv]] : [['q', q], ['k', k], ['v', v]]
  const ctxRead = halfRead(context)
  const uni = uniforms(dims, scale as number, rate as number, seed as number, layout)
  const into = layout.into
  const dqkv = into ? output(backend, [B * T, layout.S]) : null
  const [dq, dk, dv] = dqkv ? [dqkv, dqkv, dqkv] : [output(backend, [B, T, H]), output(backend, [B, T, H]), output(backend, [B, T, H])]
  const at = (which: number, row: string, col: string) => (into ? `qkvIndex(${which}u, ${row}, ${col})` : `(${row}) * u.H + ${col}`) // where an output element goes
  // per query row (m, 1/Σ, D = dC·C), so the two passes below bind 8 storage buffers at most
  const rows = output(backend, [B, dims.heads, T, 3])
  dispatch(backend, {
    key: `attention-flash-rows-hd${hd}${ctxRead === 'f32' ? '' : `-${ctxRead}`}`,
    code: () => /* wgsl */ `
${bindings(['out0'], [['dc', 'f32'], ['ctx', element(context)], ['stats', 'f32']], FIELDS)}
${ctxRead === 'f32' ? '' : HALF_BITS_WGSL}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let r = flatIndex(wid, nw, lid); // (b·heads + h)·T + i
  if (r >= u.B * u.heads * u.T) { return; }
  let i = r % u.T;
  let item = r / u.T;
  let at = ((item / u.heads) * u.T + i) * u.H + (item % u.heads) * ${hd}u;
  var d = 0.0;
  for (var c = 0u; c < ${hd}u; c++) { d = fma(dc[at + c], ${halfLoad(ctxRead, 'ctx', 'at + c')}, d); }
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
  blocksDispatch(backend, `attention-flash-dkdv${into ? '-into' : ''}`, dims, read, false, lanes ? dkdvLanesCode(dims, read, ENTRY_ARGS, into) : /* wgsl */ `
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
  for (var c = 0u; c < HD; c++) { kRow[c] = ${qkvLoadAt(read, 'k', 'blk.seq0 + j', 'blk.col0 + c')}; vRow[c] = ${qkvLoadAt(read, 'v', 'blk.seq0 + j', 'blk.col0 + c')}; }
  let maskJ = mask[blk.b * u.T + j];
  for (var t0 = 0u; t0 < u.T; t0 += TILE) {
    let n = min(TILE, u.T - t0);
    workgroupBarrier();
    for (var e = lid; e < n * HD; e += ROWS) {
      let g = (blk.seq0 + t0 + e / HD) * u.H + blk.col0 + e % HD;
      qTile[e] = ${qkvLoadAt(read, 'q', 'blk.seq0 + t0 + e / HD', 'blk.col0 + e % HD')};
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
    for (var c = 0u; c < HD; c++) { out0[${at(1, 'blk.seq0 + j', 'blk.col0 + c')}] = dkAcc[c]; ${into ? 'out0' : 'out1'}[${at(2, 'blk.seq0 + j', 'blk.col0 + c')}] = dvAcc[c]; }
  }
}`, into ? [dqkv!] : [dk, dv], [...operands, ['mask', mask], ['dc', dcontext], ['rows', rows]], uni, lanes)
  // dQ for query row i (the thread's row): Σ over key rows j of dS[i, j]·K[j]
  blocksDispatch(backend, `attention-flash-dq${into ? '-into' : ''}`, dims, read, false, lanes ? dqLanesCode(dims, read, ENTRY_ARGS, into) : /* wgsl */ `
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
  for (var c = 0u; c < HD; c++) { qRow[c] = ${qkvLoadAt(read, 'q', 'blk.seq0 + blk.row', 'blk.col0 + c')}; dcRow[c] = dc[at + c]; }
  let r = (blk.item * u.T + blk.row) * 3u;
  let m = rows[r];
  let inv = rows[r + 1u];
  let d = rows[r + 2u];
  let dropBase = (blk.item * u.T + blk.row) * u.T;
  for (var t0 = 0u; t0 < u.T; t0 += TILE) {
    let n = min(TILE, u.T - t0);
${loadKvTile(read, false)}
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
    for (var c = 0u; c < HD; c++) { out0[${at(0, 'blk.seq0 + blk.row', 'blk.col0 + c')}] = dqAcc[c]; }
  }
}`, [dq], [...operands, ['mask', mask], ['dc', dcontext], ['rows', rows]], uni, lanes)
  backend.disposeData(rows.dataId)
  return dqkv ? [dqkv] : [dq, dk, dv]
}
