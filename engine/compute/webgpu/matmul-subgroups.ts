// The matrix product with subgroup operations (flags.ts `setMatmulSubgroups`, off by default): the same
// 64×64 tile of C per 256-invocation workgroup and 4×4 block per invocation as the tiled kernel
// (matmul.ts), the same k order, but A's tile never enters workgroup memory. The 16 invocations
// computing the same four rows need the same 4 × 16 values of A per k tile (16 vec4s); a group of G
// lanes of one subgroup (G = 4, 8 or 16, a divisor of the subgroup size) loads them from global memory,
// 16 / G vec4s per lane into registers, and each lane takes the vec4s it needs from the others with
// subgroupShuffle. Only B is staged, double-buffered: the next B tile is written while the current one
// is read, so one barrier per k tile instead of two, and workgroup memory carries half the traffic.
//
// Which invocations form a subgroup is the device's choice; the kernel derives each invocation's place
// in the tile from subgroup_id · subgroup_size + subgroup_invocation_id, so the G lanes sharing a block
// are lanes of one subgroup whatever the mapping. That needs full subgroups of one size that G divides
// (sizes are powers of two from 4 to 128, so every size ≥ G). A workgroup where any invocation sees
// otherwise (a driver that runs partial subgroups, a G forced above the device's size) loads each
// invocation's A vec4s straight from global memory instead, no shuffles: slower, the same values.
import { matmulSubgroupsSetting } from './flags'
import { epilogue, fmas, loadGroup, MISFIT_DECLARATIONS, prelude, readB, rowSumAdd, rowSumInit, rowSumStore, sharedBType, sharingUnless, stageB, tileOrigin, TK, type Variant } from './matmul-parts'
import type { GpuDevice } from './gpu'
import { reductionsUseSubgroups } from './wgsl'

/**
 * What the choice of a product's kernel reads from the device: its features and, where Dawn reports
 * them, its subgroup sizes and subgroup matrix shapes (matmul-matrix.ts), and its limits.
 */
export type SubgroupDevice = Pick<GpuDevice, 'features' | 'adapterInfo'> & { readonly limits?: GpuDevice['limits'] }

/**
 * Lanes sharing each A block on `device` (0: the tiled kernel): the flag's forced size, else the
 * largest of 16, 8, 4 that the adapter's smallest subgroup reaches, so that every subgroup it runs fits.
 */
export function subgroupShare(device: SubgroupDevice): number {
  const setting = matmulSubgroupsSetting()
  if (setting === false || !reductionsUseSubgroups(device)) return 0
  if (setting !== true) return setting
  const min = device.adapterInfo?.subgroupMinSize ?? 4
  return min >= 16 ? 16 : min >= 8 ? 8 : 4
}

export function subgroupMatmulCode(v: Variant): string {
  const G = v.share
  const regs = TK / G // of the block's 16 vec4s, this lane loads vec4s part, part + G, ...
  // vec4 q of an invocation's A block: A stored [M, K] gives row 4y + q / 4, k 4·(q % 4) .. + 3; stored
  // [K, M] (transposed) gives k q, rows 4y .. + 3 — the orientations a0..a3 take in fmas().
  const loadBlockVec = (name: string, qExpr: string) => {
    const q = `(${qExpr})`
    return v.transA
      ? loadGroup(name, 'A', 'baseA', `k0 + ${q}`, 'row0 + y * 4u', 'u.K', 'u.M', v.vecA, v.f16, v.halfA)
      : loadGroup(name, 'A', 'baseA', `row0 + y * 4u + ${q} / 4u`, `k0 + (${q} % 4u) * 4u`, 'u.M', 'u.K', v.vecA, v.f16, v.halfA)
  }
  const ownLoads = Array.from({ length: regs }, (_, j) => loadBlockVec(`p${j}`, `part + ${G * j}u`)).join('\n      ')
  // at for four k of group kq: vec4 q = 4·kq + t (transposed) or 4·t + kq, held by lane q % G of the group in p(q / G)
  const shuffledKq = (kq: number) => {
    const take = [0, 1, 2, 3].map((t) => {
      const q = v.transA ? 4 * kq + t : 4 * t + kq
      return `let a${t} = subgroupShuffle(p${Math.floor(q / G)}, groupBase + ${q % G}u);`
    })
    return `{
        ${take.join(' ')}
        ${readB(v, 'Bs[buf]', 'x', `${kq}u`)}
        ${fmas(v)}
        ${rowSumAdd(v)}
      }`
  }
  const directA = [0, 1, 2, 3].map((t) => loadBlockVec(`a${t}`, v.transA ? `kq * 4u + ${t}u` : `${t}u * 4u + kq`)).join('\n        ')
  return /* wgsl */ `enable subgroups;
${prelude(v)}
var<workgroup> Bs: array<${sharedBType(v)}, 2>; // double-buffered B tile
${MISFIT_DECLARATIONS}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) lidx: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32,
        @builtin(subgroup_id) subgroupId: u32, @builtin(num_subgroups) subgroupCount: u32) {
  // Full subgroups of one size that ${G} divides, or every invocation of the workgroup loads A directly
  // (the flag goes through workgroup memory so that the choice is uniform: the loop below has barriers).
  ${sharingUnless(`lanes % ${G}u != 0u || lanes * subgroupCount != 256u`)}
  let place = select(lidx, subgroupId * lanes + lane, sharing);
  let x = place % 16u; // columns col0 + 4x .. + 3
  let y = place / 16u; // rows row0 + 4y .. + 3: the same for the ${G} lanes of a group
  let part = lane % ${G}u;
  let groupBase = lane - part;
  ${tileOrigin(v)}
  var acc: array<vec4<f32>, 4>;
  ${rowSumInit(v)}
  {
    ${stageB(v, 'Bs[0]', 'kBegin', 'lidx')}
  }
  workgroupBarrier();
  var buf = 0u;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}u) {
    if (k0 + ${TK}u < kEnd) {
      ${stageB(v, 'Bs[buf ^ 1u]', `k0 + ${TK}u`, 'lidx')}
    }
    if (sharing) {
      ${ownLoads}
      ${[0, 1, 2, 3].map(shuffledKq).join('\n      ')}
    } else {
      for (var kq = 0u; kq < ${TK / 4}u; kq++) {
        ${directA}
        ${readB(v, 'Bs[buf]', 'x', 'kq')}
        ${fmas(v)}
        ${rowSumAdd(v)}
      }
    }
    // the tile just read is the next one written: everyone is done reading it, the next is staged
    workgroupBarrier();
    buf ^= 1u;
  }
  ${epilogue(v, 'x', 'y')}
  ${rowSumStore(v, 'x', 'y')}
}`
}
