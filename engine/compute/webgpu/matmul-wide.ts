// The matrix product with larger tiles than the 64×64 kernel's (matmul.ts): TM×TN tiles of C, TM and
// TN each 64 or 128 (128×128 "wide", or 128×64 and 64×128), still 256 invocations, each computing
// (TM / 64)·(TN / 64) 4×4 blocks of C (rows 4y, 64 + 4y; columns 4x, 64 + 4x: the 64×64 kernel's block,
// repeated a tile quarter apart) instead of one. At 128×128, per four k it reads 8 vec4s of A and 8 of
// B from workgroup memory for 256 FMAs, where the 64×64 kernel reads 8 for 64: half the workgroup-
// memory traffic per FMA, which is what bounds the 64×64 kernel on GPUs whose FMA rate outruns their
// shared-memory bandwidth. The cost: fewer workgroups (a quarter at 128×128, half at 128×64), so a
// product needs more size to fill a GPU; the rectangular tiles sit between. Each block's sums are made
// in the same k order with the same FMAs (matmul-parts.ts), so the result equals the 64×64 kernel's
// bit for bit. Which runs a product is tuned on the device (matmul-tune.ts), or forced by flags.ts
// setMatmulTile (128×128 only).
import { epilogue, fmas, prelude, readB, rowSumAdd, rowSumInit, rowSumStore, sharedAType, sharedBType, stageA, stageB, tileOrigin, TILE, TK, type Variant } from './matmul-parts'

export const WIDE_TILE = 128

export function wideMatmulCode(v: Variant): string {
  const { tileM, tileN } = v
  const ys = Array.from({ length: tileM / TILE }, (_, i) => i)
  const xs = Array.from({ length: tileN / TILE }, (_, i) => i)
  // each tile has tile·TK / 4 vec4s: tile / 64 per invocation, groups tid, tid + 256, ...
  const group = (i: number) => (i ? `(tid + ${256 * i}u)` : 'tid')
  const stages = [
    ...ys.map((i) => `{\n      ${stageA(v, 'k0', group(i), tileM)}\n    }`),
    ...xs.map((i) => `{\n      ${stageB(v, 'Bs', 'k0', group(i), tileN)}\n    }`),
  ].join('\n    ')
  // the 64×64 kernel's reads of its block, for the block a quarter tile (16 vec4s) further down (sy) or right (sx)
  const y = (sy: number) => (sy ? 'lid.y + 16u' : 'lid.y')
  const x = (sx: number) => (sx ? 'lid.x + 16u' : 'lid.x')
  const readA = (sy: number) =>
    [0, 1, 2, 3].map((t) => `let a${sy}${t} = ${v.transA ? `As[kq * 4u + ${t}u][${y(sy)}]` : `As[(${y(sy)}) * 4u + ${t}u][kq]`};`).join(' ')
  const blocks = ys.flatMap((sy) => xs.map((sx) => ({ sy, sx, acc: `acc${sy}${sx}` })))
  return /* wgsl */ `${prelude(v)}
var<workgroup> As: ${sharedAType(v, tileM)};
var<workgroup> Bs: ${sharedBType(v, tileN)};

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  ${tileOrigin(v, tileM, tileN)}
  let tid = lid.y * 16u + lid.x;
  ${blocks.map((k) => `var ${k.acc}: array<vec4<f32>, 4>;`).join(' ')}
  ${ys.map((sy) => rowSumInit(v, `rs${sy}`)).join(' ')}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}u) {
    ${stages}
    workgroupBarrier();
    for (var kq = 0u; kq < ${TK / 4}u; kq++) {
      ${ys.map(readA).join(' ')}
      ${xs.map((sx) => readB(v, 'Bs', sx ? `(${x(sx)})` : x(sx), 'kq', `b${sx}`)).join(' ')}
      ${blocks.map((k) => fmas(v, k.acc, `a${k.sy}`, `b${k.sx}`)).join('\n      ')}
      ${ys.map((sy) => rowSumAdd(v, `a${sy}`, `rs${sy}`)).join(' ')}
    }
    workgroupBarrier();
  }
  ${blocks.map((k) => `{\n  ${epilogue(v, `(${x(k.sx)})`, `(${y(k.sy)})`, k.acc)}\n  }`).join('\n  ')}
  ${ys.map((sy) => rowSumStore(v, 'lid.x', `(${y(sy)})`, `rs${sy}`)).join('\n  ')}
}`
}
