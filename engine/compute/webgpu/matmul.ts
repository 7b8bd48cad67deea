// A tiled matrix product for webgpu: C[b] = op(A[b]) · op(B[b]) (+ bias over columns), op = optional
// transpose, batched with strides (0 broadcasts). Each 16×16 workgroup computes a 64×64 tile of C from
// 64×16 and 16×64 tiles of A and B staged in workgroup memory as vec4s, and each invocation a 4×4
// register block of it: per 4 k, four vec4s of each tile from workgroup memory and sixteen vec4 FMAs,
// accumulating in f32. The products of dense layers (forward, dX, dW), the tied MLM output
// layer and batched products all go through here. The WGSL pieces it shares with the subgroup kernel
// are in matmul-parts.ts.
//
// Global memory: where a matrix's contiguous dimension (K for A, N for B, or M and K when transposed)
// and its batch stride are multiples of 4, it is bound as array<vec4<f32>> and each invocation loads one
// vec4 per tile; C, Z and the bias likewise when N is. Otherwise the same kernel loads four bounds-
// checked scalars per vec4, so any M, N, K works (ragged tiles read zeros).
//
// Subgroups: matmul-subgroups.ts is the same product with A's tile kept out of workgroup memory (lanes
// load it into registers and share it with subgroupShuffle) and B's double-buffered, one barrier per k
// tile. It supports every variant here (transposes, batches, bias, GELU, packed Z, ragged shapes, f16
// rounding and packed operands) and gives the same sums bit for bit. Forced for every product by
// flags.ts setMatmulSubgroups (MENGZI_WEBGPU_MATMUL_SUBGROUPS=1) for tests and benchmarks.
//
// Wide tiles: matmul-wide.ts is the same kernel with 128×128 tiles (four 4×4 blocks per invocation,
// half the workgroup-memory reads per FMA), equal bit for bit; forced by flags.ts setMatmulTile
// (MENGZI_WEBGPU_MATMUL_TILE=128, or 'auto': for products that still make WIDE_AUTO_WORKGROUPS at 128).
//
// Which of the three runs a product: tuned on the device (matmul-choice.ts, matmul-tune.ts; on by
// default for hardware adapters, MENGZI_WEBGPU_MATMUL_TUNE): each class of product is timed with each
// kernel between steps and the fastest runs from then on; otherwise, and until its class is timed, the
// 64×64 kernel. No GPU has run the tuning yet (gpu-vs-torch.sh reports its choices); lavapipe has.
//
// Split-K (flags.ts setMatmulSplitK, 'auto' by default): a product with few tiles of C and a long k
// (dW = dYᵀ·X sums over every token) runs S workgroups per tile, each over a chunk of k into its own
// partial product, and one more pass adds the S partials (and partial row sums) in chunk order. The sums
// differ from the unsplit kernel's by rounding (another association), the same in every kernel and on
// every run. Chosen by the count of workgroups alone (WebGPU does not report a GPU's cores): see splitK.
//
// fp16 storage (half.ts): A or B may be a packed f16 operand (2 values per u32, from an element offset),
// bound as array<vec2<u32>> (4 values per load) where aligned, else array<u32>; its values are f16
// already, so the load only widens them; the f32 operands are rounded as they load (matmul-parts.ts
// half()). The GELU epilogue may write Z packed too (`packZ`, half.ts's layout and rounding): whole words only, so N even.
import type { TensorInfo } from '@tensorflow/tfjs'
import { matmulInputsPrecision, matmulSplitKSetting, matmulTileSetting, matmulVec4On, type MatmulSplitK } from './flags'
import { halfWords, type HalfOperand } from './half'
import { candidateKernels, currentSettings, kernelChoiceApplies, productClass, tunedKernel, type ProductShape } from './matmul-choice'
import { epilogue, fmas, prelude, readB, rowSumAdd, rowSumInit, rowSumStore, sharedAType, sharedBType, stageA, stageB, tileOrigin, TILE, TK, type Variant } from './matmul-parts'
import { matrixKey, matrixMatmulCode } from './matmul-matrix'
import { subgroupMatmulCode, subgroupShare, type SubgroupDevice } from './matmul-subgroups'
import { WIDE_TILE, wideMatmulCode } from './matmul-wide'
import { bindings, dispatch, grid, output, u32, type WebgpuBackendInternals } from './runner'
import { ENTRY_ARGS, FLAT_INDEX_WGSL } from './wgsl'

function matmulCode(v: Variant): string {
  // Four k at a time (kq): four vec4 reads of each tile, then acc[i] += a(i, c) · (row c of the B block).
  const readA = [0, 1, 2, 3].map((t) => `let a${t} = ${v.transA ? `As[kq * 4u + ${t}u][lid.y]` : `As[lid.y * 4u + ${t}u][kq]`};`).join(' ')
  return /* wgsl */ `${prelude(v)}
var<workgroup> As: ${sharedAType(v)}; // ${v.transA ? '[k][m / 4]' : '[m][k / 4]'}
var<workgroup> Bs: ${sharedBType(v)};

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  ${tileOrigin(v)}
  let tid = lid.y * 16u + lid.x; // 256 invocations, one 4-element group of each ${TK} × ${TILE} tile
  var acc: array<vec4<f32>, 4>; // rows row0 + 4·lid.y + i, columns col0 + 4·lid.x .. + 3
  ${rowSumInit(v)}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}u) {
    {
      ${stageA(v, 'k0', 'tid')}
    }
    {
      ${stageB(v, 'Bs', 'k0', 'tid')}
    }
    workgroupBarrier();
    for (var kq = 0u; kq < ${TK / 4}u; kq++) {
      ${readA}
      ${readB(v, 'Bs', 'lid.x', 'kq')}
      ${fmas(v)}
      ${rowSumAdd(v)}
    }
    workgroupBarrier();
  }
  ${epilogue(v, 'lid.x', 'lid.y')}
  ${rowSumStore(v, 'lid.x', 'lid.y')}
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
  /** A transposed: the sums over k of op(A)'s rows come back too, [batch·M] (dW = dYᵀ·X and db = Σ dY in one pass). */
  rowSums?: boolean
}

/** Records C = op(A)·op(B) (+ bias); returns C, shape outShape or [M, N] (batch × M × N values). */
export function matmul(backend: WebgpuBackendInternals, args: MatmulArgs): TensorInfo {
  return matmulOutputs(backend, args)[0]
}

/**
 * Which buffers of this product can be bound as vec4 arrays (contiguous dimension and batch stride
 * multiples of 4), and which kernel runs it on `device`: the one flags.ts asks for, else the one tuned
 * for its class (matmul-choice.ts), else the 64×64 one.
 */
export function matmulVariant(args: MatmulArgs, device?: SubgroupDevice): Variant {
  const { M, N, K, transA = false, transB = false } = args
  const strideA = args.strideA ?? M * K
  const strideB = args.strideB ?? K * N
  const vec = matmulVec4On()
  const share = device ? subgroupShare(device) : 0
  const halfA = isHalf(args.a)
  const halfB = isHalf(args.b)
  // a packed operand's vec2<u32> loads also need its element offset aligned to 4
  const aligned = (o: Operand) => !isHalf(o) || o.offset % 4 === 0
  const v: Variant = {
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
    share,
    ...(share === 0 && wideTiles(args) ? { tileM: WIDE_TILE, tileN: WIDE_TILE } : { tileM: TILE, tileN: TILE }),
    rowSums: args.rowSums === true,
    splitK: false, // decided in matmulOutputs (matmulSplit)
  }
  if (!device || !kernelChoiceApplies()) return v
  // tuned on the device (matmul-choice.ts): the kernel measured fastest for this class of product
  const { M: m, N: n, K: k, batch = 1 } = args
  const base = variantKey({ ...v, share: 0, tileM: TILE, tileN: TILE })
  const { splits } = matmulSplit(args, v)
  const key = productClass(base, { M: m, N: n, K: k, batch }, splits)
  const label = `${base} ${m}×${n}×${k}${batch > 1 ? ` ×${batch}` : ''}${splits > 1 ? ` k÷${splits}` : ''}`
  // what a kept choice was measured with (matmul-tune-cache.ts): the WGSL of every candidate for this class
  const sources = () => candidateKernels(device, v.f16).map((c) => kernelCode({ ...v, ...c, splitK: splits > 1 })).join('\n')
  const tuned = tunedKernel(key, () => shapeOf(args), label, sources)
  return tuned ? { ...v, ...tuned } : v
}

/** The WGSL of a variant: the 64×64 kernel, larger tiles, or the subgroup kernel. */
function kernelCode(v: Variant): string {
  if (v.matrix) return matrixMatmulCode(v)
  return v.share ? subgroupMatmulCode(v) : v.tileM === TILE && v.tileN === TILE ? matmulCode(v) : wideMatmulCode(v)
}

/** The pipeline cache key of a variant: the kernel's name and everything its source depends on. */
export function variantKey(v: Variant): string {
  const flag = (on: boolean, name: string) => (on ? name : '-')
  return `matmul-${flag(v.transA, 'tA')}${flag(v.transB, 'tB')}${flag(v.bias, 'bias')}${v.f16 ? 'f16' : 'f32'}${flag(v.halfA, 'hA')}${flag(v.halfB, 'hB')}${flag(v.gelu, 'gelu')}${flag(v.halfZ, 'hZ')}${flag(v.vecA, 'vA')}${flag(v.vecB, 'vB')}${flag(v.vecC, 'vC')}${v.share ? `-sg${v.share}` : ''}${tilePart(v)}${v.rowSums ? '-rs' : ''}${v.splitK ? '-sk' : ''}${v.matrix ? matrixKey(v.matrix) : ''}`
}

// (128×128 keeps the name it had before the rectangular tiles: "-w128")
const tilePart = (v: Variant) => (v.tileM === TILE && v.tileN === TILE ? '' : v.tileM === v.tileN ? `-w${v.tileM}` : `-t${v.tileM}x${v.tileN}`)

function shapeOf(args: MatmulArgs): ProductShape {
  const { M, N, K, batch = 1 } = args
  return {
    M,
    N,
    K,
    batch,
    transA: args.transA === true,
    transB: args.transB === true,
    strideA: args.strideA ?? M * K,
    strideB: args.strideB ?? K * N,
    bias: args.bias != null,
    gelu: args.gelu === true,
    packZ: args.packZ === true,
    rowSums: args.rowSums === true,
    halfA: isHalf(args.a) ? args.a.offset : null,
    halfB: isHalf(args.b) ? args.b.offset : null,
    settings: currentSettings(),
  }
}

/** With the tile setting 'auto', a product takes 128×128 tiles where that still makes this many workgroups (chunks of a split k counted). */
export const WIDE_AUTO_WORKGROUPS = 512

function wideTiles(args: MatmulArgs): boolean {
  const setting = matmulTileSetting()
  if (setting !== 'auto') return setting === WIDE_TILE
  const { M, N, K, batch = 1 } = args
  const plain = batch === 1 && args.bias == null && args.gelu !== true // may split, as matmulSplit decides
  const layers = plain ? splitK(Math.ceil(M / TILE) * Math.ceil(N / TILE), K).splits : batch
  return Math.ceil(M / WIDE_TILE) * Math.ceil(N / WIDE_TILE) * layers >= WIDE_AUTO_WORKGROUPS
}

/** Below this many workgroups a product may split its k ('auto'): a few per core of a 100+-core GPU. */
export const SPLIT_TARGET_WORKGROUPS = 1024
/** The least k per chunk under 'auto': each partial tile costs a write and a read of its 4·T² bytes. */
export const SPLIT_MIN_CHUNK = 512

/**
 * How a product of `tiles` tiles of C (one batch) over `K` splits its k: { splits, chunk } (chunk a
 * multiple of TK; splits 1: not split). 'auto' aims at SPLIT_TARGET_WORKGROUPS with chunks of at least
 * SPLIT_MIN_CHUNK; a number asks for that many chunks (fewer where K is short).
 */
export function splitK(tiles: number, K: number, setting: MatmulSplitK = matmulSplitKSetting()): { splits: number; chunk: number } {
  const whole = { splits: 1, chunk: K }
  if (setting === false) return whole
  const wanted = setting === 'auto' ? (tiles >= SPLIT_TARGET_WORKGROUPS ? 1 : Math.min(Math.ceil(SPLIT_TARGET_WORKGROUPS / tiles), Math.floor(K / SPLIT_MIN_CHUNK))) : setting
  if (wanted < 2) return whole
  const chunk = Math.ceil(K / wanted / TK) * TK
  const splits = Math.ceil(K / chunk)
  return splits < 2 ? whole : { splits, chunk }
}

/** The split of this product (splits 1 where it may not split: batches, a bias or GELU epilogue). */
export function matmulSplit(args: MatmulArgs, v: Variant): { splits: number; chunk: number } {
  const { M, N, K, batch = 1 } = args
  if (batch !== 1 || v.bias || v.gelu) return { splits: 1, chunk: K }
  // counted in 64×64 tiles whatever the kernel, so that every kernel splits alike and sums alike
  return splitK(Math.ceil(M / TILE) * Math.ceil(N / TILE), K)
}

/** As `matmul`; with `gelu`, [gelu(z), z] (z packed with `packZ`); with `rowSums`, the row sums last. */
export function matmulOutputs(backend: WebgpuBackendInternals, args: MatmulArgs): TensorInfo[] {
  const { a, b, M, N, K, bias, batch = 1 } = args
  const whole = matmulVariant(args, backend.device)
  const { splits, chunk } = matmulSplit(args, whole)
  const v: Variant = { ...whole, splitK: splits > 1 }
  // rows of odd N would share words written by different invocations
  if (v.halfZ && (N % 2 !== 0 || batch !== 1)) throw new Error(`matmul: packZ needs an even N and one batch; got N ${N}, batch ${batch}`)
  if (v.rowSums && !v.transA) throw new Error('matmul: rowSums needs A transposed (the sums run along k)')
  const shape = args.outShape ?? [M, N]
  const z = () => (v.halfZ ? output(backend, [halfWords(M * N)], 'int32') : output(backend, shape))
  // split: the kernel writes S partial products (and row sums) where S batches would go
  const outs = v.splitK ? [output(backend, [splits * M * N])] : v.gelu ? [output(backend, shape), z()] : [output(backend, shape)]
  if (v.rowSums) outs.push(output(backend, [splits * batch * M]))
  const key = variantKey(v)
  dispatch(backend, {
    key,
    label: `${key} ${M}×${N}×${K}${batch > 1 ? ` ×${batch}` : ''}${v.splitK ? ` k÷${splits}` : ''}`,
    code: () => kernelCode(v),
    outputs: outs,
    inputs: [...[a, b].map((o) => (isHalf(o) ? o.data : o)), ...(bias ? [bias] : [])],
    uniforms: [
      ...(v.splitK ? u32(M, N, K, 0, 0, M * N) : u32(M, N, K, args.strideA ?? M * K, args.strideB ?? K * N, M * N)),
      ...(v.halfA || v.halfB ? u32(isHalf(a) ? a.offset : 0, isHalf(b) ? b.offset : 0) : []),
      ...(v.splitK ? u32(chunk) : []),
    ],
    workgroups: [Math.ceil(N / v.tileN), Math.ceil(M / v.tileM), v.splitK ? splits : batch],
  })
  if (!v.splitK) return outs
  const sums = addPartials(backend, outs, shape, splits, M, N, v.rowSums)
  for (const partial of outs) backend.disposeData(partial.dataId)
  return sums
}

/** C = Σ_s P[s] (and S = Σ_s Ps[s]) in chunk order s = 0, 1, …: one pass over the partials of a split product. */
function addPartials(backend: WebgpuBackendInternals, partials: TensorInfo[], shape: number[], splits: number, M: number, N: number, rowSums: boolean): TensorInfo[] {
  const c = output(backend, shape)
  const outs = rowSums ? [c, output(backend, [M])] : [c]
  const n = M * N + (rowSums ? M : 0) // the product's elements, then the row sums'
  dispatch(backend, {
    key: `matmul-split-sum${rowSums ? '-rs' : ''}`,
    label: `matmul-split-sum ${M}×${N} ÷${splits}`,
    code: () => /* wgsl */ `
${bindings(rowSums ? ['C', 'S'] : ['C'], rowSums ? [['P', 'f32'], ['Ps', 'f32']] : [['P', 'f32']], 'mn: u32, m: u32, splits: u32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i < u.mn) {
    var sum = P[i];
    for (var s = 1u; s < u.splits; s++) { sum += P[s * u.mn + i]; }
    C[i] = sum;
  }${rowSums ? ` else if (i < u.mn + u.m) {
    let r = i - u.mn;
    var sum = Ps[r];
    for (var s = 1u; s < u.splits; s++) { sum += Ps[s * u.m + r]; }
    S[r] = sum;
  }` : ''}
}`,
    outputs: outs,
    inputs: partials,
    uniforms: u32(M * N, M, splits),
    workgroups: grid(n, 256),
  })
  return outs
}
