// The matrix product with 128×128 tiles (flags.ts `setMatmulTile(128)`, off by default): the tiled
// kernel (matmul.ts) at twice the tile side, each of the 256 invocations computing four 4×4 blocks of C
// (rows 4y and 64 + 4y, columns 4x and 64 + 4x: the 64×64 kernel's block, repeated a tile quarter
// apart) instead of one. Per four k it reads 8 vec4s of A and 8 of B from workgroup memory for 256
// FMAs, where the 64×64 kernel reads 8 for 64: half the workgroup-memory traffic per FMA, which is
// what bounds the 64×64 kernel on GPUs whose FMA rate outruns their shared-memory bandwidth. The
// cost: four times fewer workgroups, so a product needs about four times the size to fill a GPU.
// Each block's sums are made in the same k order with the same FMAs (matmul-parts.ts), so the result
// equals the 64×64 kernel's bit for bit. Which is faster on a GPU has not been measured
// (test/bench/webgpu-matmul.ts, gpu-vs-torch.sh).
import { epilogue, fmas, prelude, readB, rowSumAdd, rowSumInit, rowSumStore, sharedAType, sharedBType, stageA, stageB, tileOrigin, TK, type Variant } from './matmul-parts'

export const WIDE_TILE = 128

export function wideMatmulCode(v: Variant): string {
  const T = WIDE_TILE
  // 512 vec4s per tile: two per invocation, groups tid and tid + 256
  const stage = (group: string) => `{
      ${stageA(v, 'k0', group, T)}
    }
    {
      ${stageB(v, 'Bs', 'k0', group, T)}
    }`
  // the 64×64 kernel's reads of its block, for the block a quarter tile (16 vec4s) further down (sy) or right (sx)
  const y = (sy: number) => (sy ? 'lid.y + 16u' : 'lid.y')
  const x = (sx: number) => (sx ? 'lid.x + 16u' : 'lid.x')
  const readA = (sy: number) =>
    [0, 1, 2, 3].map((t) => `let a${sy}${t} = ${v.transA ? `As[kq * 4u + ${t}u][${y(sy)}]` : `As[(${y(sy)}) * 4u + ${t}u][kq]`};`).join(' ')
  const blocks = [0, 1].flatMap((sy) => [0, 1].map((sx) => ({ sy, sx, acc: `acc${sy}${sx}` })))
  return /* wgsl */ `${prelude(v)}
var<workgroup> As: ${sharedAType(v, T)};
var<workgroup> Bs: ${sharedBType(v, T)};

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  ${tileOrigin(v, T)}
  let tid = lid.y * 16u + lid.x;
  ${blocks.map((k) => `var ${k.acc}: array<vec4<f32>, 4>;`).join(' ')}
  ${rowSumInit(v, 'rs0')} ${rowSumInit(v, 'rs1')}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}u) {
    ${stage('tid')}
    ${stage('(tid + 256u)')}
    workgroupBarrier();
    for (var kq = 0u; kq < ${TK / 4}u; kq++) {
      ${readA(0)} ${readA(1)}
      ${readB(v, 'Bs', x(0), 'kq', 'b0')} ${readB(v, 'Bs', `(${x(1)})`, 'kq', 'b1')}
      ${blocks.map((k) => fmas(v, k.acc, `a${k.sy}`, `b${k.sx}`)).join('\n      ')}
      ${rowSumAdd(v, 'a0', 'rs0')} ${rowSumAdd(v, 'a1', 'rs1')}
    }
    workgroupBarrier();
  }
  ${blocks.map((k) => `{\n  ${epilogue(v, `(${x(k.sx)})`, `(${y(k.sy)})`, k.acc)}\n  }`).join('\n  ')}
  ${rowSumStore(v, 'lid.x', `(${y(0)})`, 'rs0')}
  ${rowSumStore(v, 'lid.x', `(${y(1)})`, 'rs1')}
}`
}
