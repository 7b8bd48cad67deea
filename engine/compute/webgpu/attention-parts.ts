// What the flash-attention kernels (attention.ts: a thread per row; attention-lanes.ts: several threads
// per row) share: the dimensions and uniforms, the loads of Q, K and V (f32, rounded to f16, or from the
// forward's packed Q | K | V), the K/V tile load, the WGSL prelude (head size and tile as constants,
// the dropout factor, the block decode) and the dispatch over blocks of 64 rows.
import type { TensorInfo } from '@tensorflow/tfjs'
import { HALF_BITS_WGSL, halfLoad, type HalfRead } from './half'
import { bindings, dispatch, f32, grid, u32, type Uniform, type WebgpuBackendInternals } from './runner'
import { DROPOUT_WGSL, FLAT_INDEX_WGSL, dropoutParams } from './wgsl'

/** Rows per workgroup, query rows (forward, dQ) or key rows (dK, dV): a thread each (attention.ts) or LANES (attention-lanes.ts). */
export const ROWS = 64
/** Floats per shared tile: two tiles (K and V, or Q and dC) of 1,536 take 12 KB of WebGPU's default 16 KB. */
export const TILE_FLOATS = 1536
export const FIELDS = 'B: u32, T: u32, H: u32, heads: u32, scale: f32, dropout: u32, seedWord: u32, threshold: u32, keepScale: f32, S: u32, O: u32,'

export interface Dims {
  B: number
  T: number
  H: number
  heads: number
  hd: number
  /** Rows (keys or queries) per shared-memory tile. */
  tile: number
}

export function dimsOf([B, T, H]: number[], heads: number): Dims {
  const hd = H / heads
  return { B, T, H, heads, hd, tile: Math.max(1, Math.min(32, Math.floor(TILE_FLOATS / hd))) }
}

/**
 * Where Q, K and V are read from: element (row, col) of Q, K, V at row·S + {0, 1, 2}·O + col. Apart,
 * [B·T, H] each: S = H, O = 0 (three bindings). One [B·T, 3H] product (qkv-attention.ts): S = 3H, O = H,
 * the same buffer bound three times; its backward writes dQ, dK, dV there too (`into`).
 */
export interface QkvLayout {
  S: number
  O: number
  /** The backward writes dQ | dK | dV into one [B·T, 3H] buffer at the same places (one output). */
  into: boolean
}

export const apart = (H: number): QkvLayout => ({ S: H, O: 0, into: false })

export function uniforms({ B, T, H, heads }: Dims, scale: number, rate: number, seed: number, layout: QkvLayout = apart(H)): Uniform[] {
  const d = dropoutParams(rate, seed)
  return [...u32(B, T, H, heads), ...f32(scale), ...u32(rate > 0 ? 1 : 0, d.seedWord, d.threshold), ...f32(d.scale), ...u32(layout.S, layout.O)]
}

/**
 * WGSL for element (row, col) of Q, K or V as the kernel reads it (`read`): f32 (fp32), f32 rounded to
 * f16 as it loads, or from the forward's packed copy `qkv`; at the layout's place (QkvLayout, WGSL
 * qkvIndex; packed: packedIndex).
 */
export function qkvLoadAt(read: HalfRead, name: 'q' | 'k' | 'v', row: string, col: string): string {
  const which = `${'qkv'.indexOf(name)}u`
  return read === 'packed' ? halfLoad('packed', 'qkv', `packedIndex(${which}, ${row}, ${col})`) : halfLoad(read, name, `qkvIndex(${which}, ${row}, ${col})`)
}

/**
 * Keys t0 … t0 + n − 1 of this (sequence, head) into shared memory: K, V and their mask values (the
 * forward pass and dQ walk the keys the same way). Barriers on both sides: the tile is reused per t0.
 * `pack` (the forward keeping f16 copies, HD even): by element pairs of one key row, each pair packed
 * once and the tile filled from the packed values; the workgroup flagged `kvWriter` stores the words.
 */
export function loadKvTile(read: HalfRead, pack: boolean, threads = 'ROWS'): string {
  const load = pack
    ? `for (var e = 2u * lid; e < n * HD; e += 2u * ${threads}) {
      let r = blk.seq0 + t0 + e / HD;
      let col = blk.col0 + e % HD; // even
      let gk = qkvIndex(1u, r, col);
      let gv = qkvIndex(2u, r, col);
      let kw = packHalf2(k[gk], k[gk + 1u]);
      let vw = packHalf2(v[gv], v[gv + 1u]);
      let kh = unpackHalf2(kw);
      let vh = unpackHalf2(vw);
      kTile[e] = kh.x;
      kTile[e + 1u] = kh.y;
      vTile[e] = vh.x;
      vTile[e + 1u] = vh.y;
      if (kvWriter) {
        out2[packedIndex(1u, r, col) / 2u] = kw;
        out2[packedIndex(2u, r, col) / 2u] = vw;
      }
    }`
    : `for (var e = lid; e < n * HD; e += ${threads}) {
      let r = blk.seq0 + t0 + e / HD;
      let col = blk.col0 + e % HD;
      kTile[e] = ${qkvLoadAt(read, 'k', 'r', 'col')};
      vTile[e] = ${qkvLoadAt(read, 'v', 'r', 'col')};
    }`
  return `    workgroupBarrier();
    ${load}
    if (lid < n) { maskTile[lid] = mask[blk.b * u.T + t0 + lid]; }
    workgroupBarrier();`
}

// Shared WGSL: the head size and tile as constants (registers and shared arrays are sized by them), the
// dropout factor, and the block decode: workgroup → (item, first row), thread → its row (clamped to the
// last row so threads past T compute harmlessly and still reach every barrier).
export const prelude = ({ hd, tile }: Dims, read: HalfRead, pack: boolean) => /* wgsl */ `
${read === 'f32' && !pack ? '' : HALF_BITS_WGSL}
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
fn qkvIndex(which: u32, row: u32, col: u32) -> u32 { return row * u.S + which * u.O + col; }
// in the packed f16 copy (fp16 storage): as the f32 one is laid out, one [B·T, 3H] (O > 0), or three
// [B·T, H], each 2·⌈n / 2⌉ elements after the previous (O = 0)
fn packedIndex(which: u32, row: u32, col: u32) -> u32 { return qkvIndex(which, row, col) + select(which * ((u.B * u.T * u.H + 1u) & ~1u), 0u, u.O > 0u); }
fn inRange(wid: vec3<u32>, nw: vec3<u32>) -> bool { return groupIndex(wid, nw) < u.B * u.heads * ((u.T + ROWS - 1u) / ROWS); }`

export const element = (t: TensorInfo) => (t.dtype === 'int32' ? 'u32' : 'f32')

/**
 * `read`: how the kernel reads Q, K and V; `pack`: the forward writes their packed copies and the context's;
 * `lanes`: attention-lanes.ts's key suffix where its kernels run ('': one thread per row, attention.ts's).
 */
export function blocksDispatch(backend: WebgpuBackendInternals, key: string, dims: Dims, read: HalfRead, pack: boolean, code: string, outs: TensorInfo[], ins: [string, TensorInfo][], uni: Uniform[], lanes = ''): void {
  dispatch(backend, {
    key: `${key}-hd${dims.hd}-tile${dims.tile}${read === 'f32' ? '' : `-${read}`}${pack ? '-pack' : ''}${lanes}`,
    code: () => /* wgsl */ `${lanes ? 'enable subgroups;' : ''}
${bindings(outs.map((o, i) => [`out${i}`, element(o)]), ins.map(([name, t]) => [name, element(t)]), FIELDS)}
${prelude(dims, read, pack)}
${code}`,
    outputs: outs,
    inputs: ins.map(([, t]) => t),
    uniforms: uni,
    workgroups: grid(dims.B * dims.heads * Math.ceil(dims.T / ROWS), 1),
  })
}
