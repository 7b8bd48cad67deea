// A tiled matrix product for webgpu: C[b] = op(A[b]) · op(B[b]) (+ bias over columns), op = optional
// transpose, batched with strides (0 broadcasts). Each 16×16 workgroup computes a 64×64 tile of C from
// 64×16 and 16×64 tiles of A and B staged in workgroup memory, and each invocation a 4×4 register
// block of it, accumulating in f32. Edges are bounds-checked, so any M, N, K works (ragged tiles read
// zeros). The products of dense layers (forward, dX, dW), the tied MLM output layer and batched
// products all go through here.
import type { TensorInfo } from '@tensorflow/tfjs'
import { matmulInputsPrecision } from './flags'
import { bindings, dispatch, output, u32, type WebgpuBackendInternals } from './runner'
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
}`

function matmulCode(transA: boolean, transB: boolean, bias: boolean, f16: boolean, gelu: boolean): string {
  const inputs: [string, 'f32'][] = [['A', 'f32'], ['B', 'f32']]
  if (bias) inputs.push(['bias', 'f32'])
  const load = (e: string) => (f16 ? `half(${e})` : e)
  return /* wgsl */ `${f16 ? HALF_WGSL : ''}${gelu ? ERF_WGSL : ''}
${bindings(gelu ? ['C', 'Z'] : ['C'], inputs, 'M: u32, N: u32, K: u32, strideA: u32, strideB: u32, strideC: u32,')}
var<workgroup> As: array<array<f32, ${TILE}>, ${TK}>; // [k][m]
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TK}>; // [k][n]

fn loadA(base: u32, m: u32, k: u32) -> f32 {
  if (m >= u.M || k >= u.K) { return 0.0; }
  return ${load(`A[base + ${transA ? 'k * u.M + m' : 'm * u.K + k'}]`)};
}
fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (k >= u.K || n >= u.N) { return 0.0; }
  return ${load(`B[base + ${transB ? 'n * u.K + k' : 'k * u.N + n'}]`)};
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  let batch = wid.z;
  let baseA = batch * u.strideA;
  let baseB = batch * u.strideB;
  let tid = lid.y * 16u + lid.x;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < u.K; k0 += ${TK}u) {
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * 256u; // 0 .. 1023 over a 64 × 16 tile
      ${transA ? 'let am = e % 64u; let ak = e / 64u;' : 'let ak = e % 16u; let am = e / 16u;'}
      As[ak][am] = loadA(baseA, row0 + am, k0 + ak);
      ${transB ? 'let bk = e % 16u; let bn = e / 16u;' : 'let bn = e % 64u; let bk = e / 64u;'}
      Bs[bk][bn] = loadB(baseB, k0 + bk, col0 + bn);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = As[kk][lid.y * 4u + i]; b[i] = Bs[kk][lid.x * 4u + i]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r >= u.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x * 4u + j;
      if (c >= u.N) { continue; }
      let z = acc[i][j]${bias ? ' + bias[c]' : ''};
      let k = batch * u.strideC + r * u.N + c;
      ${gelu ? 'Z[k] = z;\n      C[k] = z * (erf(z * 0.70710678118654752) * 0.5 + 0.5);' : 'C[k] = z;'}
    }
  }
}`
}

export interface MatmulArgs {
  a: TensorInfo
  b: TensorInfo
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
}

/** Records C = op(A)·op(B) (+ bias); returns C, shape outShape or [M, N] (batch × M × N values). */
export function matmul(backend: WebgpuBackendInternals, args: MatmulArgs): TensorInfo {
  return matmulOutputs(backend, args)[0]
}

/** As `matmul`; with `gelu`, [gelu(z), z]. */
export function matmulOutputs(backend: WebgpuBackendInternals, args: MatmulArgs): TensorInfo[] {
  const { a, b, M, N, K, transA = false, transB = false, bias, batch = 1 } = args
  const gelu = args.gelu === true
  const outs = gelu ? [output(backend, args.outShape ?? [M, N]), output(backend, args.outShape ?? [M, N])] : [output(backend, args.outShape ?? [M, N])]
  const f16 = matmulInputsPrecision() === 'f16'
  dispatch(backend, {
    key: `matmul-${transA}-${transB}-${bias != null}-${f16 ? 'f16' : 'f32'}-${gelu ? 'gelu' : 'linear'}`,
    code: () => matmulCode(transA, transB, bias != null, f16, gelu),
    outputs: outs,
    inputs: bias ? [a, b, bias] : [a, b],
    uniforms: u32(M, N, K, args.strideA ?? M * K, args.strideB ?? K * N, M * N),
    workgroups: [Math.ceil(N / TILE), Math.ceil(M / TILE), batch],
  })
  return outs
}
