// The WGSL the matrix products (matmul.ts's tiled kernel, matmul-subgroups.ts's, matmul-wide.ts's) are
// built from: the variant that decides a pipeline's source, operand loads (vec4 or bounds-checked
// scalars, f16 rounding, packed f16), the tile's origin, the A and B tiles staged in workgroup memory
// (at a given tile side), the 4×4 register block's FMAs and the epilogue (bias, GELU, packed Z). Every
// kernel computes each 4×4 block of C with the same FMAs in the same k order, so they give the same sums.
import { HALF_BITS_WGSL } from './half'
import type { MatrixPlan } from './matmul-matrix'
import { bindings, type WgslElement } from './runner'
import { ERF_WGSL } from './wgsl'

export const TILE = 64
export const TK = 16

// fp16 inputs: each value rounded to the nearest f16 (ties to even) as it loads, in integer arithmetic
// on its bits (compilers fold f32(f16(x)) and unpack2x16float(pack2x16float(x)) away: lavapipe does);
// f16's subnormals are multiples of 2⁻²⁴; from 65520 on a value becomes ±Infinity (x·1e38 overflows
// f32), as an f16 store would make it.
const HALF_WGSL = /* wgsl */ `
fn half(x: f32) -> f32 {
  let a = abs(x);
  if (a >= 65520.0) { return x * 1e38; }
  if (a < 6.103515625e-05) { return round(x * 16777216.0) / 16777216.0; }
  let b = bitcast<u32>(x);
  return bitcast<f32>((b + 0xfffu + ((b >> 13u) & 1u)) & 0xffffe000u);
}
fn half4(v: vec4<f32>) -> vec4<f32> { return vec4<f32>(half(v.x), half(v.y), half(v.z), half(v.w)); }`

/** Which of the product's buffers are bound as vec4 arrays; everything else the pipeline's source depends on. */
export interface Variant {
  transA: boolean
  transB: boolean
  bias: boolean
  f16: boolean
  /** A / B are packed f16 operands (half.ts). */
  halfA: boolean
  halfB: boolean
  gelu: boolean
  /** Z (GELU's pre-activation) written as packed f16. */
  halfZ: boolean
  vecA: boolean
  vecB: boolean
  vecC: boolean
  /** 0: the tiled kernel; 4, 8 or 16: the subgroup kernel, that many lanes sharing each A block (matmul-subgroups.ts). */
  share: number
  /** C's tile: 64×64 (matmul.ts, and the subgroup kernel's), or 128 on either side (matmul-wide.ts; only where share is 0). */
  tileM: number
  tileN: number
  /** A transposed: also S[batch·M + m] = Σ_k A[k, m] (as loaded), the bias gradient beside dW = dYᵀ·X. */
  rowSums: boolean
  /**
   * Split-K (matmul.ts): workgroup z is a chunk of k, [z·kChunk, min(K, (z + 1)·kChunk)), kChunk a
   * multiple of TK, and writes its partial C (and row sums) where a batch would; one batch, no epilogue.
   */
  splitK: boolean
  /** The matrix units' kernel (matmul-matrix.ts; 64×64 tiles, f16 inputs), for this subgroup matrix shape. */
  matrix?: MatrixPlan
}

/**
 * WGSL that loads the 4-element group of one operand at (row, col) of its stored matrix, along the
 * stored matrix's contiguous dimension, into `let <name>: vec4<f32>`. `rows`/`cols` bound the stored
 * matrix; `vec` reads one vec4 (the caller checked alignment), otherwise four bounds-checked scalars.
 */
export function loadGroup(name: string, buf: string, base: string, row: string, col: string, rows: string, cols: string, vec: boolean, f16: boolean, packed: boolean): string {
  const round = (e: string) => (f16 ? `half4(${e})` : e)
  row = `(${row})`
  col = `(${col})`
  if (packed) {
    // base includes the operand's element offset; a vec2<u32> holds 4 values (aligned by the caller)
    if (vec) {
      return `var ${name} = vec4<f32>(0.0);
      if (${row} < ${rows} && ${col} < ${cols}) { let w = ${buf}[(${base} + ${row} * ${cols} + ${col}) / 4u]; ${name} = vec4<f32>(unpackHalf2(w.x), unpackHalf2(w.y)); }`
    }
    const oneHalf = (c: number) =>
      `select(0.0, halfAt${buf}(${base} + ${row} * ${cols} + ${col} + ${c}u), ${row} < ${rows} && ${col} + ${c}u < ${cols})`
    return `let ${name} = vec4<f32>(${[0, 1, 2, 3].map(oneHalf).join(', ')});`
  }
  if (vec) {
    return `var ${name} = vec4<f32>(0.0);
      if (${row} < ${rows} && ${col} < ${cols}) { ${name} = ${round(`${buf}[(${base} + ${row} * ${cols} + ${col}) / 4u]`)}; }`
  }
  const one = (c: number) => `select(0.0, ${buf}[min(${base} + ${row} * ${cols} + ${col} + ${c}u, arrayLength(&${buf}) - 1u)], ${row} < ${rows} && ${col} + ${c}u < ${cols})`
  return `let ${name} = ${round(`vec4<f32>(${[0, 1, 2, 3].map(one).join(', ')})`)};`
}

const XYZW = ['x', 'y', 'z', 'w']

// Each tile keeps its stored matrix's orientation in workgroup memory, so every invocation writes whole
// vec4s: B stored [K, N] as Bs[k][n / 4], stored [N, K] (transposed) as Bs[n][k / 4]. Bs[n][k / 4] is
// read down a column (invocation x reads row 4·x + j): rows padded by one vec4 so neighbouring
// invocations fall in different workgroup-memory banks on GPUs that bank it.
export const sharedBType = (v: Variant, tile = TILE) =>
  v.transB ? `array<array<vec4<f32>, ${TK / 4 + 1}>, ${tile}>` : `array<array<vec4<f32>, ${tile / 4}>, ${TK}>`

/** A's tile in workgroup memory, in its stored orientation: [K, M] (transposed) as As[k][m / 4], [M, K] as As[m][k / 4]. */
export const sharedAType = (v: Variant, tile = TILE) =>
  v.transA ? `array<array<vec4<f32>, ${tile / 4}>, ${TK}>` : `array<array<vec4<f32>, ${TK / 4}>, ${tile}>`

/** Stages A's tile at k0 into `As`: the 4-element group number `tid` (one per invocation of 256 for 64×64 tiles). */
export function stageA(v: Variant, k0: string, tid: string, tile = TILE): string {
  return v.transA
    ? `let ak = ${tid} / ${tile / 4}u; let aq = ${tid} % ${tile / 4}u;
      ${loadGroup('a4', 'A', 'baseA', `${k0} + ak`, 'row0 + aq * 4u', 'u.K', 'u.M', v.vecA, v.f16, v.halfA)}
      As[ak][aq] = a4;`
    : `let am = ${tid} / ${TK / 4}u; let aq = ${tid} % ${TK / 4}u;
      ${loadGroup('a4', 'A', 'baseA', 'row0 + am', `${k0} + aq * 4u`, 'u.M', 'u.K', v.vecA, v.f16, v.halfA)}
      As[am][aq] = a4;`
}

/** Stages B's tile at k0 into the workgroup array `bs` (Bs, or Bs[buf]): the 4-element group number `tid`. */
export function stageB(v: Variant, bs: string, k0: string, tid: string, tile = TILE): string {
  return v.transB
    ? `let bn = ${tid} / ${TK / 4}u; let bq = ${tid} % ${TK / 4}u;
      ${loadGroup('b4', 'B', 'baseB', 'col0 + bn', `${k0} + bq * 4u`, 'u.N', 'u.K', v.vecB, v.f16, v.halfB)}
      ${bs}[bn][bq] = b4;`
    : `let bk = ${tid} / ${tile / 4}u; let bq = ${tid} % ${tile / 4}u;
      ${loadGroup('b4', 'B', 'baseB', `${k0} + bk`, 'col0 + bq * 4u', 'u.K', 'u.N', v.vecB, v.f16, v.halfB)}
      ${bs}[bk][bq] = b4;`
}

/**
 * The workgroup's tile of C (row0, col0), its batch and the batch's first elements of A and B, and its
 * range of k [kBegin, kEnd) (all of k, or a split-K chunk: there the batch is the chunk, strides 0).
 */
export const tileOrigin = (v: Variant, tileM = TILE, tileN = tileM) => `let row0 = wid.y * ${tileM}u;
  let col0 = wid.x * ${tileN}u;
  let batch = wid.z;
  let baseA = batch * u.strideA${v.halfA ? ' + u.offsetA' : ''};
  let baseB = batch * u.strideB${v.halfB ? ' + u.offsetB' : ''};
  let kBegin = ${v.splitK ? 'wid.z * u.kChunk' : '0u'};
  let kEnd = ${v.splitK ? 'min(u.K, kBegin + u.kChunk)' : 'u.K'};`

/** `let b0..b3` (or another prefix): the four vec4s of B's staged tile that invocation column `x` reads for k group `kq`. */
export const readB = (v: Variant, bs: string, x: string, kq: string, b = 'b') =>
  [0, 1, 2, 3].map((t) => `let ${b}${t} = ${v.transB ? `${bs}[${x} * 4u + ${t}u][${kq}]` : `${bs}[${kq} * 4u + ${t}u][${x}]`};`).join(' ')

/**
 * acc[i] += a(i, c) · (row c of the B block) for four k, from a0..a3 and b0..b3 as stored: A
 * transposed gives at = A[rows 4y..+3][k + t], else ai = A[row 4y + i][k..k + 3]; B likewise. The
 * wide kernel (matmul-wide.ts) names its four blocks' accumulators and operands otherwise.
 */
export function fmas(v: Variant, acc = 'acc', a = 'a', b = 'b'): string {
  const aAt = (i: number, c: number) => (v.transA ? `${a}${c}.${XYZW[i]}` : `${a}${i}.${XYZW[c]}`)
  const bRow = (c: number) => (v.transB ? `vec4<f32>(${[0, 1, 2, 3].map((j) => `${b}${j}.${XYZW[c]}`).join(', ')})` : `${b}${c}`)
  const out: string[] = []
  if (v.transB && !v.transA) {
    // both blocks run along k: each entry is a dot product of a row of A and a column of B
    for (let i = 0; i < 4; i++) out.push(`${acc}[${i}] += vec4<f32>(dot(${a}${i}, ${b}0), dot(${a}${i}, ${b}1), dot(${a}${i}, ${b}2), dot(${a}${i}, ${b}3));`)
  } else {
    for (let c = 0; c < 4; c++) for (let i = 0; i < 4; i++) out.push(`${acc}[${i}] = fma(vec4<f32>(${aAt(i, c)}), ${bRow(c)}, ${acc}[${i}]);`)
  }
  return out.join('\n      ')
}

/** Helper functions and bindings: C (and Z), then A, B (and bias), then the uniforms. */
export function prelude(v: Variant): string {
  const operand = (vec: boolean, half: boolean) => (half ? (vec ? 'vec2<u32>' : 'u32') : vec ? 'vec4<f32>' : 'f32') as WgslElement
  const inputs: [string, WgslElement][] = [['A', operand(v.vecA, v.halfA)], ['B', operand(v.vecB, v.halfB)]]
  const cType = v.vecC ? 'vec4<f32>' : 'f32'
  if (v.bias) inputs.push(['bias', cType])
  const anyHalf = v.halfA || v.halfB
  const zType = v.halfZ ? (v.vecC ? 'vec2<u32>' : 'u32') : cType
  // one packed value by element index (bounds-clamped word; the caller masks out-of-range elements)
  const halfAt = (buf: string) =>
    `fn halfAt${buf}(e: u32) -> f32 { return fromHalf((${buf}[min(e >> 1u, arrayLength(&${buf}) - 1u)] >> ((e & 1u) * 16u)) & 0xffffu); }`
  const halfFns = anyHalf || v.halfZ ? `${HALF_BITS_WGSL}\n${v.halfA && !v.vecA ? halfAt('A') : ''}\n${v.halfB && !v.vecB ? halfAt('B') : ''}` : ''
  return `${v.f16 ? HALF_WGSL : ''}${halfFns}${v.gelu ? ERF_WGSL : ''}
${v.gelu ? 'fn gelu4(z: vec4<f32>) -> vec4<f32> {\n  let e = vec4<f32>(erf(z.x * 0.70710678118654752), erf(z.y * 0.70710678118654752), erf(z.z * 0.70710678118654752), erf(z.w * 0.70710678118654752));\n  return z * (e * 0.5 + 0.5);\n}' : ''}
${bindings([['C', cType], ...(v.gelu ? [['Z', zType] as [string, WgslElement]] : []), ...(v.rowSums ? [['S', 'f32'] as [string, WgslElement]] : [])], inputs, `M: u32, N: u32, K: u32, strideA: u32, strideB: u32, strideC: u32,${anyHalf ? ' offsetA: u32, offsetB: u32,' : ''}${v.splitK ? ' kChunk: u32,' : ''}`)}`
}

// Row sums (v.rowSums, A transposed): the invocations of a row block add the A vec4s they read anyway
// (a0..a3: rows 4y .. + 3 at four k), in k order, so every kernel makes the same sums; only the first
// column of workgroups does (a workgroup-uniform branch), and its first invocation column writes them.
/** Declares the row-sum accumulator `rs` (nothing without row sums). */
export const rowSumInit = (v: Variant, rs = 'rs') => (v.rowSums ? `var ${rs} = vec4<f32>(0.0);` : '')

/** Adds the A vec4s a0..a3 (prefix `a`) of four k to `rs`. */
export const rowSumAdd = (v: Variant, a = 'a', rs = 'rs') =>
  v.rowSums ? `if (wid.x == 0u) { ${[0, 1, 2, 3].map((t) => `${rs} = ${rs} + ${a}${t};`).join(' ')} }` : ''

/** Writes `rs` for rows row0 + 4y .. + 3 from invocation column x 0 of the first workgroup column. */
export const rowSumStore = (v: Variant, x: string, y: string, rs = 'rs') =>
  v.rowSums
    ? `if (wid.x == 0u && ${x} == 0u) {
    for (var i = 0u; i < 4u; i++) {
      let r = row0 + ${y} * 4u + i;
      if (r < u.M) { S[batch * u.M + r] = ${rs}[i]; }
    }
  }`
    : ''

/** Writes the 4×4 block `acc` of invocation (x, y): rows row0 + 4y + i, columns col0 + 4x .. + 3, plus bias, through GELU. */
export function epilogue(v: Variant, x: string, y: string, acc = 'acc'): string {
  const activate = (z: string) => (v.gelu ? `gelu4(${z})` : z)
  // packed Z: a vec4 of C is one vec2<u32> of Z; in the scalar path each pair (c + j, c + j + 1), j even,
  // is one word (c is a multiple of 4 and N even, so a row ends on a pair's end)
  const zVec = v.halfZ ? 'Z[k] = vec2<u32>(packHalf2(z.x, z.y), packHalf2(z.z, z.w));' : 'Z[k] = z;'
  const zOne = v.halfZ ? 'if ((j & 1u) == 0u) { Z[k / 2u] = packHalf2(z[j], z[j + 1u]); }' : 'Z[k] = z[j];'
  const store = v.vecC
    ? `if (c < u.N) {
      let z = ${acc}[i]${v.bias ? ' + bias[c / 4u]' : ''};
      let k = (batch * u.strideC + r * u.N + c) / 4u;
      ${v.gelu ? `${zVec}\n      ` : ''}C[k] = ${activate('z')};
    }`
    : `let z = ${acc}[i]${v.bias ? ` + vec4<f32>(${[0, 1, 2, 3].map((j) => `bias[min(c + ${j}u, u.N - 1u)]`).join(', ')})` : ''};
    let g = ${activate('z')};
    for (var j = 0u; j < 4u; j++) {
      if (c + j >= u.N) { break; }
      let k = batch * u.strideC + r * u.N + c + j;
      ${v.gelu ? `${zOne}\n      ` : ''}C[k] = g[j];
    }`
  return `let c = col0 + ${x} * 4u;
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + ${y} * 4u + i;
    if (r >= u.M) { break; }
    ${store}
  }`
}

// The subgroup kernels (matmul-subgroups.ts, matmul-matrix.ts) share work among a subgroup's lanes only
// where the device runs the subgroups they were written for; otherwise every invocation takes a path
// of its own. The choice goes through workgroup memory so that it is uniform: their loops have barriers.
export const MISFIT_DECLARATIONS = `var<workgroup> misfitSeen: atomic<u32>;
var<workgroup> misfit: u32;`

/** `let sharing`: true in every invocation of the workgroup when `misfit` (a per-invocation condition) holds in none. */
export const sharingUnless = (misfit: string) => `if (${misfit}) { atomicStore(&misfitSeen, 1u); }
  workgroupBarrier();
  if (lidx == 0u) { misfit = atomicLoad(&misfitSeen); }
  let sharing = workgroupUniformLoad(&misfit) == 0u;`
