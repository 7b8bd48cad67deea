// f16 storage for fp16 mixed precision on webgpu: float32 values kept as packed f16, two per u32 word
// (element 2i in the low 16 bits of word i, 2i + 1 in the high), in an int32 tensor of ⌈n / 2⌉
// words (tfjs has no float16 dtype; tf.memory counts 2 bytes per value). What is stored this way: an
// f16 copy of each weight that a dense product reads (written by the optimizer in its update, multi-
// tensor or per-parameter, else packed here on first use), the dense layers' inputs saved for backward,
// the GELU layers' pre-activations, the LayerNorms' x̂, the attention's Q, K, V and context, and the
// softmax cross-entropy's probabilities, scaled by 2¹⁵ (dense.ts, layer-norm.ts, attention.ts,
// softmax-xent.ts).
//
// The conversions are integer arithmetic on the bits, not pack2x16float / f16(x): WGSL leaves those
// undefined beyond f16's range and lets them round either way, while the loss scaler needs overflow
// to become ±Infinity, and stored copies must equal the rounding the product applies to f32 inputs as
// they load (matmul-parts.ts's half(): nearest, ties to even; subnormals multiples of 2⁻²⁴; from 65520 on
// ±Infinity), so that storing in f16 changes memory, not numbers.
import type { TensorInfo } from '@tensorflow/tfjs'
import { matmulInputsPrecision } from './flags'
import { bindings, dispatch, grid, output, u32, type WebgpuBackendInternals } from './runner'
import { sizeFromShape } from './shape'
import { ENTRY_ARGS, FLAT_INDEX_WGSL } from './wgsl'

/** halfBits(x): the f16 bits of x rounded as described above; fromHalf(h): the f32 value of f16 bits h. */
export const HALF_BITS_WGSL = /* wgsl */ `
fn halfBits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let s = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return s | 0x7e00u; } // NaN stays NaN
  if (a >= 0x477ff000u) { return s | 0x7c00u; } // 65520 and up (Infinity included): Infinity
  if (a < 0x38800000u) { return s | u32(round(bitcast<f32>(a) * 16777216.0)); } // below 2⁻¹⁴: subnormal (1024 is the smallest normal)
  let r = (a + 0xfffu + ((a >> 13u) & 1u)) >> 13u; // 13 bits dropped, ties to even; a carry moves the exponent
  return s | (r - (112u << 10u));
}
fn fromHalf(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) { return bitcast<f32>(s | bitcast<u32>(f32(m) * 5.9604644775390625e-08)); }
  if (e == 31u) { return bitcast<f32>(s | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}
fn packHalf2(a: f32, b: f32) -> u32 { return halfBits(a) | (halfBits(b) << 16u); }
fn unpackHalf2(w: u32) -> vec2<f32> { return vec2<f32>(fromHalf(w & 0xffffu), fromHalf(w >> 16u)); }`

/**
 * How a backward kernel reads an activation that fp16 keeps in f16: as it is (fp32), f32 rounded to
 * f16 as it loads (fp16 with storage off, so that storing changes memory, not numbers), or packed.
 */
export type HalfRead = 'f32' | 'round' | 'packed'

export const halfRead = (t: TensorInfo): HalfRead => (t.dtype === 'int32' ? 'packed' : matmulInputsPrecision() === 'f16' ? 'round' : 'f32')

/** WGSL for element `i` (an expression) of `buf` read as `read` (HALF_BITS_WGSL needed unless 'f32'). */
export function halfLoad(read: HalfRead, buf: string, i: string): string {
  if (read === 'f32') return `${buf}[${i}]`
  if (read === 'round') return `fromHalf(halfBits(${buf}[${i}]))`
  return `fromHalf((${buf}[(${i}) >> 1u] >> (((${i}) & 1u) * 16u)) & 0xffffu)`
}

/** A packed f16 operand: words of `data` from element `offset` on (offset even). */
export interface HalfOperand {
  data: TensorInfo
  offset: number
}

/** Words for n packed values. */
export const halfWords = (n: number) => Math.ceil(n / 2)

/**
 * Packs float32 x (any shape) into a new int32 tensor [⌈n / 2⌉], or into words `into.word` … of
 * `into.out`; an odd count pads its last word with +0.
 */
export function packHalf(backend: WebgpuBackendInternals, x: TensorInfo, into?: { out: TensorInfo; word: number }): TensorInfo {
  const n = sizeFromShape(x.shape)
  const words = halfWords(n)
  const out = into?.out ?? output(backend, [Math.max(words, 1)], 'int32')
  dispatch(backend, {
    key: 'half-pack',
    code: () => /* wgsl */ `
${bindings([['h', 'u32']], [['x', 'f32']], 'n: u32, words: u32, at: u32,')}
${HALF_BITS_WGSL}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.words) { return; }
  let hi = select(0.0, x[min(2u * i + 1u, u.n - 1u)], 2u * i + 1u < u.n);
  h[u.at + i] = packHalf2(x[2u * i], hi);
}`,
    outputs: [out],
    inputs: [x],
    uniforms: u32(n, words, into?.word ?? 0),
    workgroups: grid(words, 256),
  })
  return out
}

/** The float32 values of packed h as a tensor of `shape` (tests; the products read packed operands directly). */
export function unpackHalf(backend: WebgpuBackendInternals, h: TensorInfo, shape: number[], offset = 0): TensorInfo {
  const n = sizeFromShape(shape)
  const out = output(backend, shape)
  dispatch(backend, {
    key: 'half-unpack',
    code: () => /* wgsl */ `
${bindings(['y'], [['h', 'u32']], 'n: u32, offset: u32,')}
${HALF_BITS_WGSL}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let e = u.offset + i;
  y[i] = fromHalf((h[e >> 1u] >> ((e & 1u) * 16u)) & 0xffffu);
}`,
    outputs: [out],
    inputs: [h],
    uniforms: u32(n, offset),
    workgroups: grid(n, 256),
  })
  return out
}
