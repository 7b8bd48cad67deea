// The matrix product on the GPU's matrix units (tensor cores on NVIDIA, through Vulkan's cooperative
// matrices; Dawn's chromium-experimental-subgroup-matrix): for fp16 products only, whose operands are f16
// already (matmul-parts.ts rounds f32 operands as they load, packed ones are f16), so f16 × f16 → f32
// is the product the other kernels compute, summed by the hardware in its own order. Where the adapter
// offers an f16 × f16 → f32 shape (m×n×k: a left m×k, a right k×n), each 256-invocation workgroup
// computes a 64×64 tile of C as the other kernels do: A's and B's tiles (64 × a k tile of 16 or 32, each
// a candidate of its own) are staged in workgroup memory as f16 (in their stored orientation; the loads'
// col_major says which), each subgroup
// multiplies-and-accumulates its share of the tile's (64 / m)·(64 / n) result matrices, stores them into
// an f32 tile in workgroup memory (16 rows at a time, within WebGPU's default 16 KiB), and every
// invocation takes its 4×4 block back from there into the epilogue all kernels share (bias, GELU,
// packed Z, ragged edges, split-K partials). Row sums (dW's db) are summed from the staged A tile in k
// order, as the other kernels sum them.
//
// The subgroups are assigned their result matrices for `subgroups` subgroups per workgroup (256 / the
// adapter's largest subgroup). A workgroup whose device runs another count (partial or smaller
// subgroups) computes each invocation's 4×4 block with FMAs from the staged tiles instead: slower, the
// 64×64 kernel's sums.
//
// Its sums differ from the other kernels' by rounding (the hardware's order of addition), so the tuner
// (matmul-tune.ts) accepts it within MATRIX_TOLERANCE of the 64×64 kernel instead of bit for bit.
// `emulate` writes the same kernel with plain WGSL in place of the subgroup matrix built-ins (the same
// offsets, strides and layouts; the result matrices kept in workgroup memory), so that the tiling, the
// subgroups' shares and the epilogue run and are tested on adapters without matrix units (lavapipe);
// the real built-ins are checked by Dawn's shader compiler (Tint) in the tests, and run only on a GPU.
import { epilogue, loadGroup, MISFIT_DECLARATIONS, prelude, sharingUnless, tileOrigin, TILE, TK, type Variant } from './matmul-parts'

/** A kernel for one subgroup matrix shape (f16 × f16 → f32). */
export interface MatrixPlan {
  /** Left m×k, right k×n, result m×n. */
  m: number
  n: number
  k: number
  /** Subgroups per 256-invocation workgroup the kernel is written for. */
  subgroups: number
  /** k per staged tile: 16, or 32 (half the barriers per k, twice the workgroup memory for A and B). */
  kTile: 16 | 32
  /** Plain WGSL in place of the subgroup matrix built-ins (tests). */
  emulate: boolean
}

/** How far a matrix kernel's values may be from the 64×64 kernel's: this fraction of the largest |value| of each output. */
export const MATRIX_TOLERANCE = 1e-3

// C's tile goes through workgroup memory a part at a time (16 rows), so that the kernel stays within
// WebGPU's default 16 KiB of workgroup memory.
const PART_ROWS = 16

/** The workgroup memory a matrix kernel takes: A's and B's f16 tiles and a part of C's tile in f32. */
export const matrixWorkgroupBytes = (kTile: number) => 2 * (2 * TILE * kTile) + 4 * PART_ROWS * TILE + 16

interface Layout {
  /** Result matrices down and across the tile. */
  rows: number
  cols: number
  /** Subgroups that compute (the rest of the workgroup only stages and stores), and each one's block of result matrices. */
  active: number
  perRow: number
  perCol: number
  /** Subgroup blocks across the tile. */
  across: number
}

/** How a 64×64 tile splits among `plan.subgroups` subgroups; null where it does not split evenly. */
export function matrixLayout(plan: Pick<MatrixPlan, 'm' | 'n' | 'k' | 'subgroups' | 'kTile'>): Layout | null {
  const { m, n, k, subgroups, kTile } = plan
  if (PART_ROWS % m || TILE % n || kTile % k || (kTile !== TK && kTile !== 2 * TK) || subgroups < 1 || 256 % subgroups) return null
  const rows = TILE / m
  const cols = TILE / n
  const active = Math.min(subgroups, rows * cols)
  if ((rows * cols) % active) return null
  const each = (rows * cols) / active
  const perRow = Math.min(each, cols) // result matrices of one subgroup side by side, sharing their left operand
  if (cols % perRow || each % perRow) return null
  const perCol = each / perRow
  const across = cols / perRow
  if (active % across || (active / across) * perCol !== rows) return null
  return { rows, cols, active, perRow, perCol, across }
}

export const matrixKey = (p: MatrixPlan) => `-mx${p.m}x${p.n}x${p.k}s${p.subgroups}k${p.kTile}${p.emulate ? 'e' : ''}`

export function matrixName(p: MatrixPlan): string {
  return `matrix ${p.m}×${p.n}×${p.k}${p.kTile === TK ? '' : ` k${p.kTile}`}${p.emulate ? ' (emulated)' : ''}`
}

// Where the staged tiles keep each value (in the stored orientation, as vec4 groups load it; kt the k tile):
//   A [M, K]: As[m·kt + k]   A transposed, stored [K, M]: As[k·TILE + m]
//   B [K, N]: Bs[k·TILE + n] B transposed, stored [N, K]: Bs[n·kt + k]
// and the loads' layout for a result matrix at (row block fi, column block fj) and k offset kk:
const leftLoad = (v: Variant, p: MatrixPlan, fi: string, kk: number) =>
  v.transA ? { offset: `${kk * TILE}u + (${fi}) * ${p.m}u`, colMajor: true, stride: TILE } : { offset: `(${fi}) * ${p.m * p.kTile}u + ${kk}u`, colMajor: false, stride: p.kTile }
const rightLoad = (v: Variant, p: MatrixPlan, fj: string, kk: number) =>
  v.transB ? { offset: `(${fj}) * ${p.n * p.kTile}u + ${kk}u`, colMajor: true, stride: p.kTile } : { offset: `${kk * TILE}u + (${fj}) * ${p.n}u`, colMajor: false, stride: TILE }
// (in the part of C's tile that holds row block fi: its rows h·16 .. + 15)
const resultOffset = (p: MatrixPlan, fi: string, fj: string) => `((${fi}) * ${p.m}u - h * ${PART_ROWS}u) * ${TILE}u + (${fj}) * ${p.n}u`

/**
 * Stages A's and B's tiles at k0 as f16: invocation `lidx` loads kt / 16 4-element groups of each. With
 * a k tile of 32, a split-K chunk (a multiple of 16) may end halfway: groups past kEnd stage zeros.
 */
function stage(v: Variant, kt: number): string {
  const store = (arr: string, index: string, value: string) => [0, 1, 2, 3].map((j) => `${arr}[${index} + ${j}u] = f16(${value}[${j}]);`).join(' ')
  const zeroPast = (name: string, k: string) => (kt > TK ? `let ${name} = select(${name}raw, vec4<f32>(0.0), ${k} >= kEnd);` : `let ${name} = ${name}raw;`)
  const groups: string[] = []
  for (let i = 0; i < kt / TK; i++) {
    const g = i ? `(lidx + ${256 * i}u)` : 'lidx'
    const a = v.transA
      ? `let ak = ${g} / ${TILE / 4}u; let aq = ${g} % ${TILE / 4}u;
      ${loadGroup('a4raw', 'A', 'baseA', 'k0 + ak', 'row0 + aq * 4u', 'u.K', 'u.M', v.vecA, v.f16, v.halfA)}
      ${zeroPast('a4', 'k0 + ak')}
      ${store('As', `ak * ${TILE}u + aq * 4u`, 'a4')}`
      : `let am = ${g} / ${kt / 4}u; let aq = ${g} % ${kt / 4}u;
      ${loadGroup('a4raw', 'A', 'baseA', 'row0 + am', 'k0 + aq * 4u', 'u.M', 'u.K', v.vecA, v.f16, v.halfA)}
      ${zeroPast('a4', 'k0 + aq * 4u')}
      ${store('As', `am * ${kt}u + aq * 4u`, 'a4')}`
    const b = v.transB
      ? `let bn = ${g} / ${kt / 4}u; let bq = ${g} % ${kt / 4}u;
      ${loadGroup('b4raw', 'B', 'baseB', 'col0 + bn', 'k0 + bq * 4u', 'u.N', 'u.K', v.vecB, v.f16, v.halfB)}
      ${zeroPast('b4', 'k0 + bq * 4u')}
      ${store('Bs', `bn * ${kt}u + bq * 4u`, 'b4')}`
      : `let bk = ${g} / ${TILE / 4}u; let bq = ${g} % ${TILE / 4}u;
      ${loadGroup('b4raw', 'B', 'baseB', 'k0 + bk', 'col0 + bq * 4u', 'u.K', 'u.N', v.vecB, v.f16, v.halfB)}
      ${zeroPast('b4', 'k0 + bk')}
      ${store('Bs', `bk * ${TILE}u + bq * 4u`, 'b4')}`
    groups.push(`{\n      ${a}\n    }\n    {\n      ${b}\n    }`)
  }
  return groups.join('\n    ')
}

// The value of op(A) at (row r, k) and op(B) at (k, column c) in the staged tiles, as f32.
const aAt = (v: Variant, kt: number, r: string, k: string) => `f32(As[${v.transA ? `(${k}) * ${TILE}u + ${r}` : `(${r}) * ${kt}u + ${k}`}])`
const bAt = (v: Variant, kt: number, k: string, c: string) => `f32(Bs[${v.transB ? `(${c}) * ${kt}u + ${k}` : `(${k}) * ${TILE}u + ${c}`}])`

interface Load {
  offset: string
  colMajor: boolean
  stride: number
}

/** The subgroup matrix built-ins, or plain WGSL with their semantics over a subgroup of 256 / `subgroups` invocations. */
interface Ops {
  /** Workgroup declarations, and what the kernel does first. */
  declarations: string
  start: string
  /** Declares result matrix `acc` (number `slot` of the subgroup's block), zero. */
  declare(acc: string): string
  /** Loads the left operand `name` (shared by the result matrices of one row of the subgroup's block). */
  loadLeft(name: string, left: Load): string
  mma(acc: string, slot: number, name: string, left: Load, right: Load): string
  store(acc: string, slot: number, offset: string): string
}

// The majorness as a template argument: Dawn deprecates the form that passes it as a bool (and prints a
// warning for each pipeline that uses it, on stdout).
const major = (l: Load) => (l.colMajor ? 'col_major' : 'row_major')

function realOps(p: MatrixPlan): Ops {
  return {
    declarations: '',
    start: '',
    declare: (acc) => `var ${acc} = subgroup_matrix_result<f32, ${p.n}, ${p.m}>();`,
    loadLeft: (name, l) => `let ${name} = subgroupMatrixLoad<subgroup_matrix_left<f16, ${p.k}, ${p.m}>, ${major(l)}>(&As, ${l.offset}, ${l.stride}u);`,
    mma: (acc, _slot, name, _l, r) =>
      `${acc} = subgroupMatrixMultiplyAccumulate(${name}, subgroupMatrixLoad<subgroup_matrix_right<f16, ${p.n}, ${p.k}>, ${major(r)}>(&Bs, ${r.offset}, ${r.stride}u), ${acc});`,
    store: (acc, _slot, offset) => `subgroupMatrixStore<row_major>(&Cs, ${offset}, ${acc}, ${TILE}u);`,
  }
}

/** The workgroup memory the emulated kernel takes besides the real one's: every result matrix of the tile in f32. */
export const EMULATED_EXTRA_BYTES = 4 * TILE * TILE

// Emulated: a subgroup's result matrices live in workgroup memory (Em, slot s of subgroup sid at
// (sid · per-subgroup + s) · m·n), each lane takes elements e = lane, lane + lanes, … (row e / n, column
// e % n) and sums their k products in k order with FMAs, reading the tiles where the built-ins' layouts say. In
// workgroup memory rather than a private array per lane: lavapipe turns a private array indexed at run
// time into a ladder of branches, and its JIT took 40 s over the kernel written that way.
function emulatedOps(p: MatrixPlan, perSubgroup: number): Ops {
  const lanes = 256 / p.subgroups
  const mn = p.m * p.n
  const at = (o: Load, r: string, c: string) => `(${o.offset}) + ${o.colMajor ? `(${c}) * ${o.stride}u + (${r})` : `(${r}) * ${o.stride}u + (${c})`}`
  const slotBase = (slot: number) => `(sid * ${perSubgroup}u + ${slot}u) * ${mn}u`
  const each = (body: string) => `for (var e = lane; e < ${mn}u; e += ${lanes}u) {
          let r = e / ${p.n}u; let c = e % ${p.n}u;
          ${body}
        }`
  return {
    declarations: `var<workgroup> Em: array<f32, ${TILE * TILE}>;`,
    start: `for (var i = lidx; i < ${TILE * TILE}u; i += 256u) { Em[i] = 0.0; }`,
    declare: () => '',
    loadLeft: () => '',
    mma: (_acc, slot, _name, l, r) =>
      each(`var s = Em[${slotBase(slot)} + e];
          for (var kk = 0u; kk < ${p.k}u; kk++) { s = fma(f32(As[${at(l, 'r', 'kk')}]), f32(Bs[${at(r, 'kk', 'c')}]), s); }
          Em[${slotBase(slot)} + e] = s;`),
    store: (_acc, slot, offset) => each(`Cs[(${offset}) + r * ${TILE}u + c] = Em[${slotBase(slot)} + e];`),
  }
}

export function matrixMatmulCode(v: Variant): string {
  const p = v.matrix
  if (!p || !v.f16) throw new Error('matrix kernel: needs a matrix plan and f16 inputs')
  const layout = matrixLayout(p)
  if (!layout) throw new Error(`matrix kernel: a ${TILE}×${TILE} tile does not split into ${p.m}×${p.n}×${p.k} matrices over ${p.subgroups} subgroups`)
  const ops = p.emulate ? emulatedOps(p, layout.perRow * layout.perCol) : realOps(p)
  // this subgroup's block: perCol rows of perRow result matrices at (gy·perCol + ry, gx·perRow + cx)
  const fi = (ry: number) => `gy * ${layout.perCol}u + ${ry}u`
  const fj = (cx: number) => `gx * ${layout.perRow}u + ${cx}u`
  const blocks: { acc: string; slot: number; ry: number; cx: number }[] = []
  for (let ry = 0; ry < layout.perCol; ry++) for (let cx = 0; cx < layout.perRow; cx++) blocks.push({ acc: `acc${ry}_${cx}`, slot: ry * layout.perRow + cx, ry, cx })
  const steps: string[] = []
  const kt = p.kTile
  for (let kk = 0; kk < kt; kk += p.k) {
    const lines: string[] = []
    for (let ry = 0; ry < layout.perCol; ry++) {
      const left = leftLoad(v, p, fi(ry), kk)
      lines.push(ops.loadLeft(`l${ry}`, left))
      for (const b of blocks.filter((b) => b.ry === ry)) lines.push(ops.mma(b.acc, b.slot, `l${ry}`, left, rightLoad(v, p, fj(b.cx), kk)))
    }
    steps.push(`{\n        ${lines.filter(Boolean).join('\n        ')}\n      }`)
  }
  // the row sums of op(A) (A transposed: its stored columns) in k order, from the staged tile
  const rowSums = v.rowSums
    ? {
        init: 'var rs = 0.0;',
        add: `if (wid.x == 0u && lidx < ${TILE}u) { for (var kk = 0u; kk < ${kt}u; kk++) { rs += ${aAt(v, kt, 'lidx', 'kk')}; } }`,
        store: `if (wid.x == 0u && lidx < ${TILE}u) { let r = row0 + lidx; if (r < u.M) { S[batch * u.M + r] = rs; } }`,
      }
    : { init: '', add: '', store: '' }
  const misfitFmas = `for (var kk = 0u; kk < ${kt}u; kk++) {
        let b = vec4<f32>(${[0, 1, 2, 3].map((j) => bAt(v, kt, 'kk', `x * 4u + ${j}u`)).join(', ')});
        for (var i = 0u; i < 4u; i++) { acc[i] = fma(vec4<f32>(${aAt(v, kt, 'y * 4u + i', 'kk')}), b, acc[i]); }
      }`
  const enables = p.emulate ? '' : 'enable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium_experimental.subgroup_matrix_uniformity);\n'
  return /* wgsl */ `enable f16;
enable subgroups;
${enables}${prelude(v)}
var<workgroup> As: array<f16, ${TILE * kt}>;
var<workgroup> Bs: array<f16, ${TILE * kt}>;
var<workgroup> Cs: array<f32, ${PART_ROWS * TILE}>;
${ops.declarations}
${MISFIT_DECLARATIONS}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) lidx: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32,
        @builtin(subgroup_id) sid: u32, @builtin(num_subgroups) subgroupCount: u32) {
  // ${p.subgroups} subgroups of ${256 / p.subgroups}, or every invocation computes its block with FMAs
  ${ops.start}
  ${sharingUnless(`subgroupCount != ${p.subgroups}u || lanes * subgroupCount != 256u`)}
  let x = lidx % 16u; // the epilogue's block: columns col0 + 4x .. + 3
  let y = lidx / 16u; // rows row0 + 4y .. + 3
  let gx = sid % ${layout.across}u; // this subgroup's block of result matrices
  let gy = sid / ${layout.across}u;
  let computes = sid < ${layout.active}u;
  ${tileOrigin(v)}
  var acc: array<vec4<f32>, 4>;
  ${blocks.map((b) => ops.declare(b.acc)).join('\n  ')}
  ${rowSums.init}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${kt}u) {
    ${stage(v, kt)}
    workgroupBarrier();
    if (sharing) {
      if (computes) {
      ${steps.join('\n      ')}
      }
    } else {
      ${misfitFmas}
    }
    ${rowSums.add}
    workgroupBarrier();
  }
  // C's tile through workgroup memory, rows h·16 .. + 15 at a time: the result matrices there, then the 4×4 blocks
  for (var h = 0u; h < ${TILE / PART_ROWS}u; h++) {
    if (sharing && computes) {
      ${blocks.map((b) => `if ((${fi(b.ry)}) * ${p.m}u / ${PART_ROWS}u == h) {\n        ${ops.store(b.acc, b.slot, resultOffset(p, fi(b.ry), fj(b.cx)))}\n      }`).join('\n      ')}
    }
    workgroupBarrier();
    if (sharing && y / ${PART_ROWS / 4}u == h) {
      for (var i = 0u; i < 4u; i++) {
        let r = (y * 4u + i - h * ${PART_ROWS}u) * ${TILE}u + x * 4u;
        acc[i] = vec4<f32>(Cs[r], Cs[r + 1u], Cs[r + 2u], Cs[r + 3u]);
      }
    }
    workgroupBarrier();
  }
  ${epilogue(v, 'x', 'y')}
  ${rowSums.store}
}`
}
