// WGSL shared by several kernels.
import { webgpuSubgroupsWanted } from './flags'

/**
 * The dropout mask of engine/native/src/dropout.h, bit for bit: element i is kept when the top 24 bits
 * of a lowbias32 hash of (i, seed) reach rate·2^24; kept values scale by 1/(1 − rate). So a seed gives
 * the same mask on wasm and webgpu, and backward recomputes it instead of storing it.
 */
export const DROPOUT_WGSL = /* wgsl */ `
fn mix32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}
fn dropoutFactor(i: u32, seedWord: u32, threshold: u32, scale: f32) -> f32 {
  let h = mix32(mix32(i ^ seedWord) + seedWord);
  return select(0.0, scale, (h >> 8u) >= threshold);
}`

/** Host side of DROPOUT_WGSL: the seed word, the threshold and the scale for (rate, seed). */
export function dropoutParams(rate: number, seed: number): { seedWord: number; threshold: number; scale: number } {
  return { seedWord: mix32((seed ^ 0x9e3779b9) >>> 0), threshold: Math.floor(rate * 16777216 + 0.5), scale: Math.fround(1 / (1 - rate)) }
}

function mix32(v: number): number {
  let x = v >>> 0
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d) >>> 0
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b) >>> 0
  x ^= x >>> 16
  return x >>> 0
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), the formula tfjs's own Erf kernels use. */
export const ERF_WGSL = /* wgsl */ `
fn erf(x: f32) -> f32 {
  let s = sign(x);
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}`

/** A workgroup-wide sum of one f32 per invocation (WG invocations, a power of two); every invocation gets it. */
export const REDUCE_WGSL = (wg: number) => /* wgsl */ `
var<workgroup> partial: array<f32, ${wg}>;
fn workgroupSum(value: f32, lid: u32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = ${wg / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}
fn workgroupMax(value: f32, lid: u32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = ${wg / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { partial[lid] = max(partial[lid], partial[lid + stride]); }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}`

/**
 * The same two functions with subgroup operations: subgroupAdd/subgroupMax within each subgroup, one
 * value per subgroup through workgroup memory, then every invocation folds those in subgroup order.
 * Two barriers instead of log2(WG) + 2, and partial sums in a fixed order (deterministic, like the tree).
 * Subgroups have at least 4 invocations (WebGPU's subgroupMinSize), so WG / 4 slots suffice. The entry
 * point passes the subgroup builtins in through SUBGROUP_ENTRY_ARGS and SUBGROUP_INIT (WGSL functions
 * cannot read builtins themselves).
 */
const SUBGROUP_REDUCE_WGSL = (wg: number) => /* wgsl */ `
var<workgroup> partial: array<f32, ${wg / 4}>;
var<private> subgroupIndex: u32;
var<private> subgroupCount: u32;
fn foldSubgroups(value: f32, isMax: bool) -> f32 {
  if (subgroupElect()) { partial[subgroupIndex] = value; }
  workgroupBarrier();
  var total = partial[0];
  for (var i = 1u; i < ${wg / 4}u; i++) {
    if (i < subgroupCount) { total = select(total + partial[i], max(total, partial[i]), isMax); }
  }
  workgroupBarrier();
  return total;
}
fn workgroupSum(value: f32, lid: u32) -> f32 { return foldSubgroups(subgroupAdd(value), false); }
fn workgroupMax(value: f32, lid: u32) -> f32 { return foldSubgroups(subgroupMax(value), true); }`

/**
 * How a kernel's workgroup reductions are compiled on this device: with subgroup operations where the
 * device has the 'subgroups' feature (and flags.ts allows them), else the barrier tree. A kernel puts
 * `enable` first in its source, `code` among its declarations, `entryArgs` after its entry point's
 * parameters, `init` first in its body, and `key` in its pipeline key.
 */
export interface Reduction {
  subgroups: boolean
  enable: string
  code: string
  entryArgs: string
  init: string
  key: string
}

export function workgroupReduction(device: { features: ReadonlySet<string> }, wg: number): Reduction {
  const subgroups = reductionsUseSubgroups(device)
  if (!subgroups) return { subgroups, enable: '', code: REDUCE_WGSL(wg), entryArgs: '', init: '', key: '' }
  return {
    subgroups,
    enable: 'enable subgroups;',
    code: SUBGROUP_REDUCE_WGSL(wg),
    entryArgs: ', @builtin(subgroup_id) subgroupId: u32, @builtin(num_subgroups) numSubgroups: u32',
    init: 'subgroupIndex = subgroupId; subgroupCount = numSubgroups;',
    key: '-subgroups',
  }
}

// Devices whose compiler refused SUBGROUP_PROBE_WGSL when opened (device.ts): they reduce with the tree.
const subgroupsRefused = new WeakSet<object>()

/** Whether workgroup reductions on `device` use subgroup operations. */
export function reductionsUseSubgroups(device: { features: ReadonlySet<string> }): boolean {
  return webgpuSubgroupsWanted() && device.features.has('subgroups') && !subgroupsRefused.has(device)
}

export function refuseSubgroups(device: object): void {
  subgroupsRefused.add(device)
}

/**
 * A shader with both subgroup reductions, compiled once when a device with 'subgroups' opens: the
 * feature alone does not promise every builtin used here (subgroup_id and num_subgroups are newer than
 * subgroupAdd), and a pipeline that fails to compile mid-training would stop the run.
 */
export const SUBGROUP_PROBE_WGSL = /* wgsl */ `enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
${SUBGROUP_REDUCE_WGSL(64)}
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_id) subgroupId: u32, @builtin(num_subgroups) numSubgroups: u32) {
  subgroupIndex = subgroupId; subgroupCount = numSubgroups;
  out[lid] = workgroupSum(f32(lid), lid) + workgroupMax(f32(lid), lid);
}`

/** The flat index of an invocation in a 1-D dispatch folded into 2-D by `grid` (workgroups of 256). */
export const FLAT_INDEX_WGSL = /* wgsl */ `
fn flatIndex(wid: vec3<u32>, nw: vec3<u32>, lid: u32) -> u32 { return (wid.y * nw.x + wid.x) * 256u + lid; }
fn groupIndex(wid: vec3<u32>, nw: vec3<u32>) -> u32 { return wid.y * nw.x + wid.x; }`

/** The entry point's builtins for FLAT_INDEX_WGSL. */
export const ENTRY_ARGS = '@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>'
