// A tiled matrix product for webgpu: C[b] = op(A[b]) · op(B[b]) (+ bias over columns), op = optional
// transpose, batched with strides (0 broadcasts). Each 16×16 workgroup computes a 64×64 tile of C from
// 64×16 and 16×64 tiles of A and B staged in workgroup memory as vec4s, and each invocation a 4×4
// register block of it: per 4 k, four vec4s of each tile from workgroup memory and sixteen vec4 FMAs,
// accumulating in f32. The products of dense layers (forward, dX, dW), the tied MLM output
// layer and batched products all go through here.
//
// Global memory: where a matrix's contiguous dimension (K for A, N for B, or M and K when transposed)
// and its batch stride are multiples of 4, it is bound as array<vec4<f32>> and each invocation loads one
// vec4 per tile; C, Z and the bias likewise when N is. Otherwise the same kernel loads four bounds-
// checked scalars per vec4, so any M, N, K works (ragged tiles read zeros). Subgroup operations are not
// used here: an invocation's A and B operands are a single broadcast vec4 read of workgroup memory
// already, which a subgroup shuffle would not make cheaper; they pay off in reductions (wgsl.ts).
//
// fp16 storage (half.ts): A or B may be a packed f16 operand (2 values per u32, from an element offset),
// bound as array<vec2<u32>> (4 values per load) where aligned, else array<u32>; its values are f16
// already, so the load only widens them; the f32 operands are rounded as they load, as below. The GELU
// epilogue may write Z packed too (`packZ`, half.ts's layout and rounding): whole words only, so N even.
import type { TensorInfo } from '@tensorflow/tfjs'
import { matmulInputsPrecision, matmulVec4On } from './flags'
import { HALF_BITS_WGSL, halfWords, type HalfOperand } from './half'
import { bindings, dispatch, output, u32, type WebgpuBackendInternals, type WgslElement } from './runner'
import { ERF_WGSL } from './wgsl'

const TILE = 64
const TK = 16

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
interface Variant {
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
}

/**
 * WGSL that loads the 4-element group of one operand at (row, col) of its stored matrix, along the
 * stored matrix's contiguous dimension, into `let <name>: vec4<f32>`. `rows`/`cols` bound the stored
 * matrix; `vec` reads one vec4 (the caller checked alignment), otherwise four bounds-checked scalars.
 */
function loadGroup(name: string, buf: string, base: string, row: string, col: string, rows: string, cols: string, vec: boolean, f16: boolean, packed: boolean): string {
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

function matmulCode(v: Variant): string {
  const operand = (vec: boolean, half: boolean) => (half ? (vec ? 'vec2<u32>' : 'u32') : vec ? 'vec4<f32>' : 'f32') as WgslElement
  const inputs: [string, WgslElement][] = [['A', operand(v.vecA, v.halfA)], ['B', operand(v.vecB, v.halfB)]]
  const cType = v.vecC ? 'vec4<f32>' : 'f32'
  if (v.bias) inputs.push(['bias', cType])
  // Each tile keeps its stored matrix's orientation in workgroup memory, so every invocation writes
  // whole vec4s: A stored [K, M] (transposed) as As[k][m / 4], stored [M, K] as As[m][k / 4]; B stored
  // [K, N] as Bs[k][n / 4], stored [N, K] (transposed) as Bs[n][k / 4].
  const sharedA = v.transA ? `array<array<vec4<f32>, ${TILE / 4}>, ${TK}>; // [k][m / 4]` : `array<array<vec4<f32>, ${TK / 4}>, ${TILE}>; // [m][k / 4]`
  // Bs[n][k / 4] is read down a column (invocation lid.x reads row 4·lid.x + j): rows padded by one vec4
  // so neighbouring invocations fall in different workgroup-memory banks on GPUs that bank it.
  const sharedB = v.transB ? `array<array<vec4<f32>, ${TK / 4 + 1}>, ${TILE}>; // [n][k / 4], padded` : `array<array<vec4<f32>, ${TILE / 4}>, ${TK}>; // [k][n / 4]`
  const loadA = v.transA
    ? `let ak = tid / ${TILE / 4}u; let aq = tid % ${TILE / 4}u;
      ${loadGroup('a4', 'A', 'baseA', 'k0 + ak', 'row0 + aq * 4u', 'u.K', 'u.M', v.vecA, v.f16, v.halfA)}
      As[ak][aq] = a4;`
    : `let am = tid / ${TK / 4}u; let aq = tid % ${TK / 4}u;
      ${loadGroup('a4', 'A', 'baseA', 'row0 + am', 'k0 + aq * 4u', 'u.M', 'u.K', v.vecA, v.f16, v.halfA)}
      As[am][aq] = a4;`
  const loadB = v.transB
    ? `let bn = tid / ${TK / 4}u; let bq = tid % ${TK / 4}u;
      ${loadGroup('b4', 'B', 'baseB', 'col0 + bn', 'k0 + bq * 4u', 'u.N', 'u.K', v.vecB, v.f16, v.halfB)}
      Bs[bn][bq] = b4;`
    : `let bk = tid / ${TILE / 4}u; let bq = tid % ${TILE / 4}u;
      ${loadGroup('b4', 'B', 'baseB', 'k0 + bk', 'col0 + bq * 4u', 'u.K', 'u.N', v.vecB, v.f16, v.halfB)}
      Bs[bk][bq] = b4;`
  // Four k at a time (kq): four vec4 reads of each tile, then acc[i] += a(i, c) · (row c of the B block).
  const readA = [0, 1, 2, 3].map((t) => `let a${t} = ${v.transA ? `As[kq * 4u + ${t}u][lid.y]` : `As[lid.y * 4u + ${t}u][kq]`};`).join(' ')
  const readB = [0, 1, 2, 3].map((t) => `let b${t} = ${v.transB ? `Bs[lid.x * 4u + ${t}u][kq]` : `Bs[kq * 4u + ${t}u][lid.x]`};`).join(' ')
  const a = (i: number, c: number) => (v.transA ? `a${c}.${XYZW[i]}` : `a${i}.${XYZW[c]}`)
  const bRow = (c: number) => (v.transB ? `vec4<f32>(${[0, 1, 2, 3].map((j) => `b${j}.${XYZW[c]}`).join(', ')})` : `b${c}`)
  const fmas: string[] = []
  if (v.transB && !v.transA) {
    // both blocks run along k: each entry is a dot product of a row of A and a column of B
    for (let i = 0; i < 4; i++) fmas.push(`acc[${i}] += vec4<f32>(dot(a${i}, b0), dot(a${i}, b1), dot(a${i}, b2), dot(a${i}, b3));`)
  } else {
    for (let c = 0; c < 4; c++) for (let i = 0; i < 4; i++) fmas.push(`acc[${i}] = fma(vec4<f32>(${a(i, c)}), ${bRow(c)}, acc[${i}]);`)
  }
  const activate = (z: string) => (v.gelu ? `gelu4(${z})` : z)
  // packed Z: a vec4 of C is one vec2<u32> of Z; in the scalar path each pair (c + j, c + j + 1), j even,
  // is one word (c is a multiple of 4 and N even, so a row ends on a pair's end)
  const zVec = v.halfZ ? 'Z[k] = vec2<u32>(packHalf2(z.x, z.y), packHalf2(z.z, z.w));' : 'Z[k] = z;'
  const zOne = v.halfZ ? 'if ((j & 1u) == 0u) { Z[k / 2u] = packHalf2(z[j], z[j + 1u]); }' : 'Z[k] = z[j];'
  const store = v.vecC
    ? `if (c < u.N) {
      let z = acc[i]${v.bias ? ' + bias[c / 4u]' : ''};
      let k = (batch * u.strideC + r * u.N + c) / 4u;
      ${v.gelu ? `${zVec}\n      ` : ''}C[k] = ${activate('z')};
    }`
    : `let z = acc[i]${v.bias ? ` + vec4<f32>(${[0, 1, 2, 3].map((j) => `bias[min(c + ${j}u, u.N - 1u)]`).join(', ')})` : ''};
    let g = ${activate('z')};
    for (var j = 0u; j < 4u; j++) {
      if (c + j >= u.N) { break; }
      let k = batch * u.strideC + r * u.N + c + j;
      ${v.gelu ? `${zOne}\n      ` : ''}C[k] = g[j];
    }`
  const anyHalf = v.halfA || v.halfB
  const zType = v.halfZ ? (v.vecC ? 'vec2<u32>' : 'u32') : cType
  // one packed value by element index (bounds-clamped word; the caller masks out-of-range elements)
  const halfAt = (buf: string) =>
    `fn halfAt${buf}(e: u32) -> f32 { return fromHalf((${buf}[min(e >> 1u, arrayLength(&${buf}) - 1u)] >> ((e & 1u) * 16u)) & 0xffffu); }`
  const halfFns = anyHalf || v.halfZ ? `${HALF_BITS_WGSL}\n${v.halfA && !v.vecA ? halfAt('A') : ''}\n${v.halfB && !v.vecB ? halfAt('B') : ''}` : ''
  return /* wgsl */ `${v.f16 ? HALF_WGSL : ''}${halfFns}${v.gelu ? ERF_WGSL : ''}
${v.gelu ? 'fn gelu4(z: vec4<f32>) -> vec4<f32> {\n  let e = vec4<f32>(erf(z.x * 0.70710678118654752), erf(z.y * 0.70710678118654752), erf(z.z * 0.70710678118654752), erf(z.w * 0.70710678118654752));\n  return z * (e * 0.5 + 0.5);\n}' : ''}
${bindings(v.gelu ? [['C', cType], ['Z', zType]] : [['C', cType]], inputs, `M: u32, N: u32, K: u32, strideA: u32, strideB: u32, strideC: u32,${anyHalf ? ' offsetA: u32, offsetB: u32,' : ''}`)}
var<workgroup> As: ${sharedA}
var<workgroup> Bs: ${sharedB}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  let batch = wid.z;
  let baseA = batch * u.strideA${v.halfA ? ' + u.offsetA' : ''};
  let baseB = batch * u.strideB${v.halfB ? ' + u.offsetB' : ''};
  let tid = lid.y * 16u + lid.x; // 256 invocations, one 4-element group of each ${TK} × ${TILE} tile
  var acc: array<vec4<f32>, 4>; // rows row0 + 4·lid.y + i, columns col0 + 4·lid.x .. + 3
  for (var k0 = 0u; k0 < u.K; k0 += ${TK}u) {
    {
      ${loadA}
    }
    {
      ${loadB}
    }
    workgroupBarrier();
    for (var kq = 0u; kq < ${TK / 4}u; kq++) {
      ${readA}
      ${readB}
      ${fmas.join('\n      ')}
    }
    workgroupBarrier();
  }
  let c = col0 + lid.x * 4u;
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r >= u.M) { break; }
    ${store}
  }
}`
}

/** An operand: a float32 tensor, or a packed f16 one (fp16 storage). */
export type Operand = TensorInfo | HalfOperand

// (undefined: a caller asking only for the variant of plain shapes, as the tests do)
const isHalf = (o: Operand | undefined): o is HalfOperand => o != null && 'offset' in o && 'data' in o

export interface MatmulArgs {
  a: Operand
  b: Operand
  M: number
  N: number
  K: number
  transA?: boolean
  transB?: boolean
  bias?: TensorInfo
  /** Batches and per-batch strides of A and B in elements (0: the same matrix for every batch). */
  batch?: number
  strideA?: number
  strideB?: number
  outShape?: number[]
  /** GELU in the epilogue: C = gelu(product + bias), and the pre-activation comes back too. */
  gelu?: boolean
  /** With gelu: the pre-activation comes back as packed f16 (int32 [M·N / 2]; N even, one batch). */
  packZ?: boolean
}

/** Records C = op(A)·op(B) (+ bias); returns C, shape outShape or [M, N] (batch × M × N values). */
export function matmul(backend: WebgpuBackendInternals, args: MatmulArgs): TensorInfo {
  return matmulOutputs(backend, args)[0]
}

/** Which buffers of this product can be bound as vec4 arrays (contiguous dimension and batch stride multiples of 4). */
export function matmulVariant(args: MatmulArgs): Variant {
  const { M, N, K, transA = false, transB = false } = args
  const strideA = args.strideA ?? M * K
  const strideB = args.strideB ?? K * N
  const vec = matmulVec4On()
  const halfA = isHalf(args.a)
  const halfB = isHalf(args.b)
  // a packed operand's vec2<u32> loads also need its element offset aligned to 4
  const aligned = (o: Operand) => !isHalf(o) || o.offset % 4 === 0
  return {
    transA,
    transB,
    bias: args.bias != null,
    f16: matmulInputsPrecision() === 'f16',
    halfA,
    halfB,
    gelu: args.gelu === true,
    halfZ: args.gelu === true && args.packZ === true,
    vecA: vec && (transA ? M : K) % 4 === 0 && strideA % 4 === 0 && aligned(args.a),
    vecB: vec && (transB ? K : N) % 4 === 0 && strideB % 4 === 0 && aligned(args.b),
    vecC: vec && N % 4 === 0,
  }
}

/** As `matmul`; with `gelu`, [gelu(z), z] (z packed with `packZ`). */
export function matmulOutputs(backend: WebgpuBackendInternals, args: MatmulArgs): TensorInfo[] {
  const { a, b, M, N, K, bias, batch = 1 } = args
  const v = matmulVariant(args)
  // rows of odd N would share words written by different invocations
  if (v.halfZ && (N % 2 !== 0 || batch !== 1)) throw new Error(`matmul: packZ needs an even N and one batch; got N ${N}, batch ${batch}`)
  const shape = args.outShape ?? [M, N]
  const z = () => (v.halfZ ? output(backend, [halfWords(M * N)], 'int32') : output(backend, shape))
  const outs = v.gelu ? [output(backend, shape), z()] : [output(backend, shape)]
  const flag = (on: boolean, name: string) => (on ? name : '-')
  dispatch(backend, {
    key: `matmul-${flag(v.transA, 'tA')}${flag(v.transB, 'tB')}${flag(v.bias, 'bias')}${v.f16 ? 'f16' : 'f32'}${flag(v.halfA, 'hA')}${flag(v.halfB, 'hB')}${flag(v.gelu, 'gelu')}${flag(v.halfZ, 'hZ')}${flag(v.vecA, 'vA')}${flag(v.vecB, 'vB')}${flag(v.vecC, 'vC')}`,
    code: () => matmulCode(v),
    outputs: outs,
    inputs: [...[a, b].map((o) => (isHalf(o) ? o.data : o)), ...(bias ? [bias] : [])],
    uniforms: [
      ...u32(M, N, K, args.strideA ?? M * K, args.strideB ?? K * N, M * N),
      ...(v.halfA || v.halfB ? u32(isHalf(a) ? a.offset : 0, isHalf(b) ? b.offset : 0) : []),
    ],
    workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE), batch],
  })
  return outs
}
