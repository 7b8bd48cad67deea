// The flash-attention kernels of attention.ts with LANES (4) threads per row instead of one (flags.ts
// setAttentionLanes, MENGZI_WEBGPU_ATTENTION_LANES=1; off until a GPU has timed the two). A thread of
// attention.ts keeps whole head rows in registers: the forward q and its context sum, dK/dV k, v, dk
// and dv (256 floats at head size 64), dQ q, dC and dq: more than a GPU thread's registers hold, so
// they may spill to memory. Here lane l of a row keeps the columns l, l + 4, l + 8, … of each (16 floats
// at head size 64, 64 in all for dK/dV); each dot product over the head (q·k, dC·v) is four partial sums,
// added across the row's lanes with two subgroup shuffles ((p0 + p1) + (p2 + p3): every lane gets the
// same bits, so the softmax and dropout decisions agree across lanes). Workgroups are 256 threads (64
// rows × 4 lanes) over the same blocks, tiles and hashes as attention.ts; the sums differ from its only
// in association (tests: within rounding of it and of tfjs cpu).
//
// The lanes of a row must be lanes of one subgroup: each thread's place in the block is derived from
// subgroup_id · subgroup_size + subgroup_invocation_id, as in matmul-subgroups.ts. A workgroup whose
// subgroups are partial or of a size 4 does not divide adds through workgroup memory instead, in the
// same association (same bits), with two barriers per sum: slower, never wrong.
import type { Dims } from './attention-parts'
import { loadKvTile, qkvLoadAt } from './attention-parts'
import type { HalfRead } from './half'
import { reductionsUseSubgroups } from './wgsl'
import { attentionLanesWanted } from './flags'

export const LANES = 4

/**
 * The lane kernels' pipeline-key suffix for these dimensions on `device` ('' for attention.ts's kernels):
 * where the flag is on, the device has subgroups and the head size splits into whole words per lane.
 */
export function attentionLanesFor(dims: Pick<Dims, 'hd'>, device: { features: ReadonlySet<string> }): string {
  if (!attentionLanesWanted() || !reductionsUseSubgroups(device) || dims.hd % (2 * LANES) !== 0) return ''
  return `-lanes${LANES}${sumsInMemory ? '-memory' : ''}`
}

let sumsInMemory = false

/**
 * Tests only: every workgroup adds across lanes through workgroup memory, the path a device with
 * partial subgroups takes (no device here has them). Returns the previous setting.
 */
export function setLaneSumsInMemory(on: boolean): boolean {
  const previous = sumsInMemory
  sumsInMemory = on
  return previous
}

/** The entry point's subgroup builtins (after ENTRY_ARGS). */
export const LANE_ENTRY_ARGS = '@builtin(subgroup_invocation_id) sgLane: u32, @builtin(subgroup_size) sgSize: u32, @builtin(subgroup_id) sgId: u32, @builtin(num_subgroups) sgCount: u32'

// The row sums across lanes (shuffles, or workgroup memory where the subgroups do not fit), and the
// thread's place: `sharing` and `place` come from LANE_PLACE, uniform per workgroup.
const LANE_WGSL = /* wgsl */ `
const LANES = ${LANES}u;
const PART = HD / LANES;
const THREADS = ROWS * LANES;
var<workgroup> misfitSeen: atomic<u32>;
var<workgroup> misfit: u32;
var<workgroup> partials: array<vec2<f32>, ${64 * LANES}>;
fn rowSum2(x: vec2<f32>, sharing: bool, place: u32) -> vec2<f32> {
  if (sharing) {
    let a = x + subgroupShuffleXor(x, 1u);
    return a + subgroupShuffleXor(a, 2u);
  }
  workgroupBarrier();
  partials[place] = x;
  workgroupBarrier();
  let r = place & ~3u;
  return (partials[r] + partials[r + 1u]) + (partials[r + 2u] + partials[r + 3u]);
}
fn rowSum(x: f32, sharing: bool, place: u32) -> f32 {
  if (sharing) {
    let a = x + subgroupShuffleXor(x, 1u);
    return a + subgroupShuffleXor(a, 2u);
  }
  return rowSum2(vec2<f32>(x, 0.0), false, place).x;
}`

const lanePlace = () => /* wgsl */ `
  if (sgSize % LANES != 0u || sgSize * sgCount != THREADS) { atomicStore(&misfitSeen, 1u); }
  workgroupBarrier();
  if (lid == 0u) { misfit = atomicLoad(&misfitSeen); }
  let sharing = workgroupUniformLoad(&misfit) == 0u${sumsInMemory ? ' && false' : ''};
  let place = select(lid, sgId * sgSize + sgLane, sharing);
  let lane = place % LANES;
  let blk = decode(wid, nw, place / LANES);`

/** The key tiles the forward and dQ walk: K, V and the mask's values, in workgroup memory. */
const kvTiles = (dims: Dims) => `var<workgroup> kTile: array<f32, ${dims.tile * dims.hd}>;
var<workgroup> vTile: array<f32, ${dims.tile * dims.hd}>;
var<workgroup> maskTile: array<f32, ${dims.tile}>;`

/** The entry point down to the thread's place: 64 rows × LANES threads, workgroups past the blocks return. */
const laneEntry = (entryArgs: string) => `@compute @workgroup_size(${64 * LANES})
fn main(${entryArgs}, ${LANE_ENTRY_ARGS}) {
  if (!inRange(wid, nw)) { return; }
  ${lanePlace()}`

/** The forward: context and row statistics (and with `pack` the packed Q | K | V and context), as attention.ts's. */
export function forwardLanesCode(dims: Dims, read: HalfRead, pack: boolean, entryArgs: string): string {
  return /* wgsl */ `${LANE_WGSL}
${kvTiles(dims)}
${laneEntry(entryArgs)}
  let rowAt = (blk.seq0 + blk.row) * u.H + blk.col0;
  let at = rowAt + lane; // this lane's column d is at + d·LANES
  var qPart: array<f32, PART>;
  var acc: array<f32, PART>;
  var s: array<f32, TILE>;
  for (var d = 0u; d < PART; d++) { qPart[d] = ${qkvLoadAt(read, 'q', 'blk.seq0 + blk.row', 'blk.col0 + lane + d * LANES')}; }${pack ? `
  if (blk.live) {
    for (var d = 0u; d < PART / 2u; d++) {
      let c = 2u * (d * LANES + lane);
      let g = qkvIndex(0u, blk.seq0 + blk.row, blk.col0 + c);
      out2[packedIndex(0u, blk.seq0 + blk.row, blk.col0 + c) / 2u] = packHalf2(q[g], q[g + 1u]);
    }
  }
  let kvWriter = groupIndex(wid, nw) % ((u.T + ROWS - 1u) / ROWS) == 0u;` : ''}
  var m = -3.4028234663852886e38;
  var l = 0.0;
  let dropBase = (blk.item * u.T + blk.row) * u.T;
  for (var t0 = 0u; t0 < u.T; t0 += TILE) {
    let n = min(TILE, u.T - t0);
${loadKvTile(read, pack, 'THREADS')}
    var tileMax = m;
    for (var j = 0u; j < n; j++) {
      var dot = 0.0;
      for (var d = 0u; d < PART; d++) { dot = fma(qPart[d], kTile[j * HD + d * LANES + lane], dot); }
      s[j] = rowSum(dot, sharing, place) * u.scale + maskTile[j];
      tileMax = max(tileMax, s[j]);
    }
    let rescale = exp(m - tileMax);
    l *= rescale;
    for (var d = 0u; d < PART; d++) { acc[d] *= rescale; }
    for (var j = 0u; j < n; j++) {
      let p = exp(s[j] - tileMax);
      l += p;
      let kept = p * factor(dropBase + t0 + j);
      for (var d = 0u; d < PART; d++) { acc[d] = fma(kept, vTile[j * HD + d * LANES + lane], acc[d]); }
    }
    m = tileMax;
  }
  let inv = 1.0 / l;
  if (blk.live) {
    for (var d = 0u; d < PART; d++) { out0[at + d * LANES] = acc[d] * inv; }
    if (lane == 0u) {
      let r = (blk.item * u.T + blk.row) * 2u;
      out1[r] = m;
      out1[r + 1u] = inv;
    }
  }${pack ? `
  // the context's words pair columns of two lanes: read back what the row's lanes wrote
  storageBarrier();
  if (blk.live) {
    for (var d = 0u; d < PART / 2u; d++) {
      let c = 2u * (d * LANES + lane);
      out3[(rowAt + c) / 2u] = packHalf2(out0[rowAt + c], out0[rowAt + c + 1u]);
    }
  }` : ''}
}`
}

/** dK, dV for key row j, as attention.ts's: Σ over query rows i of dS[i, j]·Q[i] and P'[i, j]·dC[i]. */
export function dkdvLanesCode(dims: Dims, read: HalfRead, entryArgs: string, into = false): string {
  const out = (which: number) => (into ? `out0[qkvIndex(${which}u, blk.seq0 + j, blk.col0 + lane + d * LANES)]` : `out${which - 1}[at + d * LANES]`)
  return /* wgsl */ `${LANE_WGSL}
var<workgroup> qTile: array<f32, ${dims.tile * dims.hd}>;
var<workgroup> dcTile: array<f32, ${dims.tile * dims.hd}>;
var<workgroup> rowTile: array<f32, ${dims.tile * 3}>;
${laneEntry(entryArgs)}
  let j = blk.row;
  let at = (blk.seq0 + j) * u.H + blk.col0 + lane;
  var kPart: array<f32, PART>;
  var vPart: array<f32, PART>;
  var dkAcc: array<f32, PART>;
  var dvAcc: array<f32, PART>;
  for (var d = 0u; d < PART; d++) {
    kPart[d] = ${qkvLoadAt(read, 'k', 'blk.seq0 + j', 'blk.col0 + lane + d * LANES')};
    vPart[d] = ${qkvLoadAt(read, 'v', 'blk.seq0 + j', 'blk.col0 + lane + d * LANES')};
  }
  let maskJ = mask[blk.b * u.T + j];
  for (var t0 = 0u; t0 < u.T; t0 += TILE) {
    let n = min(TILE, u.T - t0);
    workgroupBarrier();
    for (var e = lid; e < n * HD; e += THREADS) {
      let g = (blk.seq0 + t0 + e / HD) * u.H + blk.col0 + e % HD;
      qTile[e] = ${qkvLoadAt(read, 'q', 'blk.seq0 + t0 + e / HD', 'blk.col0 + e % HD')};
      dcTile[e] = dc[g];
    }
    for (var e = lid; e < n * 3u; e += THREADS) { rowTile[e] = rows[(blk.item * u.T + t0) * 3u + e]; }
    workgroupBarrier();
    for (var i = 0u; i < n; i++) {
      var dots = vec2<f32>(0.0); // q·k, dC·v
      for (var d = 0u; d < PART; d++) {
        let c = i * HD + d * LANES + lane;
        dots = fma(vec2<f32>(qTile[c], dcTile[c]), vec2<f32>(kPart[d], vPart[d]), dots);
      }
      dots = rowSum2(dots, sharing, place);
      let p = exp(dots.x * u.scale + maskJ - rowTile[i * 3u]) * rowTile[i * 3u + 1u];
      let f = factor((blk.item * u.T + t0 + i) * u.T + j);
      let kept = p * f;
      let ds = u.scale * p * (dots.y * f - rowTile[i * 3u + 2u]);
      for (var d = 0u; d < PART; d++) {
        let c = i * HD + d * LANES + lane;
        dvAcc[d] = fma(kept, dcTile[c], dvAcc[d]);
        dkAcc[d] = fma(ds, qTile[c], dkAcc[d]);
      }
    }
  }
  if (blk.live) {
    for (var d = 0u; d < PART; d++) { ${out(1)} = dkAcc[d]; ${out(2)} = dvAcc[d]; }
  }
}`
}

/** dQ for query row i, as attention.ts's: Σ over key rows j of dS[i, j]·K[j]. */
export function dqLanesCode(dims: Dims, read: HalfRead, entryArgs: string, into = false): string {
  const out = into ? 'out0[qkvIndex(0u, blk.seq0 + blk.row, blk.col0 + lane + d * LANES)]' : 'out0[at + d * LANES]'
  return /* wgsl */ `${LANE_WGSL}
${kvTiles(dims)}
${laneEntry(entryArgs)}
  let at = (blk.seq0 + blk.row) * u.H + blk.col0 + lane;
  var qPart: array<f32, PART>;
  var dcPart: array<f32, PART>;
  var dqAcc: array<f32, PART>;
  for (var d = 0u; d < PART; d++) { qPart[d] = ${qkvLoadAt(read, 'q', 'blk.seq0 + blk.row', 'blk.col0 + lane + d * LANES')}; dcPart[d] = dc[at + d * LANES]; }
  let r = (blk.item * u.T + blk.row) * 3u;
  let m = rows[r];
  let inv = rows[r + 1u];
  let dd = rows[r + 2u];
  let dropBase = (blk.item * u.T + blk.row) * u.T;
  for (var t0 = 0u; t0 < u.T; t0 += TILE) {
    let n = min(TILE, u.T - t0);
${loadKvTile(read, false, 'THREADS')}
    for (var j = 0u; j < n; j++) {
      var dots = vec2<f32>(0.0); // q·k, dC·v
      for (var d = 0u; d < PART; d++) {
        let c = j * HD + d * LANES + lane;
        dots = fma(vec2<f32>(qPart[d], dcPart[d]), vec2<f32>(kTile[c], vTile[c]), dots);
      }
      dots = rowSum2(dots, sharing, place);
      let p = exp(dots.x * u.scale + maskTile[j] - m) * inv;
      let ds = u.scale * p * (dots.y * factor(dropBase + t0 + j) - dd);
      for (var d = 0u; d < PART; d++) { dqAcc[d] = fma(ds, kTile[j * HD + d * LANES + lane], dqAcc[d]); }
    }
  }
  if (blk.live) {
    for (var d = 0u; d < PART; d++) { ${out} = dqAcc[d]; }
  }
}`
}
