// AdamW and LAMB as multi-tensor kernels on webgpu: every parameter updated by a constant number of
// dispatches over the flat arena (optimizer-arena.ts), global-norm clipping included:
//   clip (when asked): one dispatch of partial sums of g² over G, one workgroup finishing the norm and
//                      the clip factor min(1, maxNorm / (‖g‖ + 1e-6)) / lossScale, kept on the GPU;
//   AdamW:             one dispatch, the factor applied to g as it loads;
//   LAMB:              one dispatch of per-chunk sums of p² and u², one workgroup per parameter turning
//                      its chunks' sums into the trust ratio, one dispatch p' = p − lr·trust·u (u recomputed,
//                      not stored: no buffer of the model's size for it).
// The per-parameter kernels (adam.ts) took 1 (AdamW) or 3 (LAMB) dispatches per parameter and clipping
// 3 per gradient. Per group of the arena (one below 128 MiB of parameters at the default limit): AdamW
// 1 dispatch, LAMB 2, clipping 1; plus one each for LAMB's trust ratios and the norm. Every shader binds
// at most 6 storage buffers (7 writing f16 copies), within WebGPU's minimum of 8.
// Numbers: the element formulas and the host-formed f32 constants of adam.ts (engine/native/src/adam.c);
// LAMB's per-parameter sums in adam.ts's order (256 × 8 elements per workgroup from the parameter's
// start, then strided over its workgroups), so the trust ratios are the per-parameter kernels' own.
// Loss scaling on the device (fp16, `scaleOnDevice`): the scale, the clean-step count and the applied-
// step count live in scratch; the norm's kernel flags whether the gradients are finite, the updates skip
// every write when they are not, and one thread after them updates the scale as DynamicLossScale does
// (halve on overflow, double after `growthInterval` clean steps). So a step needs no readback before its
// update; the host learns the outcome when it reads the norm, and passes the bias corrections of both
// possible step counts (the last step applied or not) for the update to pick from.
// fp16 storage (flags.halfStorageOn): the AdamW and LAMB updates also write the f16 copy of each new
// value into the arena's H in the same dispatch (7 storage buffers), so the copies the dense products
// read cost no pass of their own.
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import type { AdamAttrs } from '../kernels/adam-wasm'
import { halfStorageOn } from './flags'
import { HALF_BITS_WGSL } from './half'
import { ACTIVE, CHUNK, DECAYS, OptimizerArena, type ArenaGroup, type ArenaParam } from './optimizer-arena'
import { dispatch, f32, grid, output, u32, webgpuInternals, type WebgpuBackendInternals } from './runner'
import type { Uniform } from './runner'
import { workgroupReduction } from './wgsl'

export type AdamKind = 'adamw' | 'lamb'

type BiasCorrections = { bc1: number; bc2: number }

/**
 * A gated update (loss scale on the device): skipped on the device when the gradients overflowed; its
 * bias corrections are `a`'s while the device's applied-step count is still `tBase`, else `late`'s
 * (the previous step, whose outcome the host does not know yet, applied).
 */
export interface Gate {
  tBase: number
  late: BiasCorrections
}

const NORM_GROUPS = 1024 // workgroups of the g² partial sums per arena group, at most

// loss scaling on the device: slots of scratch from stateAt
const SCALE = 0
const CLEAN = 1
const APPLIED = 2
const OK = 3 // 1 when this step's gradients are finite (written by the norm's kernel), else 0

const storage = (i: number, name: string, type: string, write: boolean) =>
  `@group(0) @binding(${i}) var<storage, ${write ? 'read_write' : 'read'}> ${name}: array<${type}>;`
const uniformBlock = (i: number, fields: string) => `struct U { ${fields} };\n@group(0) @binding(${i}) var<uniform> u: U;`

/** Which segment holds a chunk, and the walk over its 8 × 256 elements (ELEMENT_LOOP's body sees i, k, seg). */
const SEGMENT_WGSL = /* wgsl */ `
fn segmentOf(chunk: u32) -> u32 {
  var lo = u.segBegin;
  var hi = u.segEnd;
  loop {
    if (hi - lo <= 1u) { break; }
    let mid = (lo + hi) / 2u;
    if (table[mid].x <= chunk) { lo = mid; } else { hi = mid; }
  }
  return lo;
}`

const SEGMENT_FIELDS = 'segBegin: u32, segEnd: u32, chunkBase: u32, chunks: u32, clipped: u32, coefAt: u32, gated: u32, stateAt: u32, tBase: f32,'

/** The moments of element i with g scaled by the clip factor: defines gi, mi, vi. */
const MOMENTS_WGSL = /* wgsl */ `
      let gi = g[i] * coef;
      let mi = m[i] * u.b1 + gi * u.c1;
      let vi = v[i] * u.b2 + (gi * gi) * u.c2;`

/** Entry prologue: the workgroup's chunk, its segment `seg` (index s), whether it updates (`live`), the clip factor. */
const PROLOGUE_WGSL = /* wgsl */ `
  let w = wid.y * nw.x + wid.x;
  let chunk = u.chunkBase + w;
  let s = segmentOf(chunk);
  let seg = table[s];
  let live = w < u.chunks && (seg.w & ${ACTIVE}u) != 0u;
  // gated (loss scaling on the device): p, m, v are left as they are when this step's gradients
  // overflowed (the f16 copies are still written, of the unchanged p); the bias corrections are the
  // second set when the step count moved past tBase (the step before applied)
  let apply = u.gated == 0u || scratch[u.stateAt + ${OK}u] != 0.0;
  let late = u.gated != 0u && scratch[u.stateAt + ${APPLIED}u] != u.tBase;
  let decays = (seg.w & ${DECAYS}u) != 0u;
  let coef = select(1.0, scratch[u.coefAt], u.clipped != 0u);
  let first = (chunk - seg.x) * ${CHUNK}u;`

const ENTRY = '@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>'

const forElements = (body: string) => /* wgsl */ `
  for (var j = 0u; j < ${CHUNK / 256}u; j++) {
    let k = first + j * 256u + lid;
    if (live && k < seg.z) {
      let i = seg.y + k;${body}
    }
  }`

/**
 * As forElements, then the f16 of each new p[i] into H: neighbouring elements belong to neighbouring
 * invocations, so each puts its bits in workgroup memory and half of them write the pairs as words.
 * (Segments start on CHUNK boundaries, so a pair never straddles two; the pad after an odd length is 0.)
 */
const forElementsWritingHalves = (body: string) => /* wgsl */ `
  for (var j = 0u; j < ${CHUNK / 256}u; j++) {
    let k = first + j * 256u + lid;
    var bits = 0u;
    if (live && k < seg.z) {
      let i = seg.y + k;${body}
      bits = halfBits(p[i]);
    }
    halves[lid] = bits;
    workgroupBarrier();
    let pair = first + j * 256u + 2u * lid;
    if (lid < 128u && live && pair < seg.z) { h[(seg.y + pair) / 2u] = halves[2u * lid] | (halves[2u * lid + 1u] << 16u); }
    workgroupBarrier();
  }`

/** The update's element loop, its H binding and its WGSL helpers, with or without fp16 storage. */
function updateLoop(halves: boolean, uniformAt: number) {
  return halves
    ? { loop: forElementsWritingHalves, decls: `${storage(uniformAt, 'h', 'u32', true)}\n${HALF_BITS_WGSL}\nvar<workgroup> halves: array<u32, 256>;`, uniformAt: uniformAt + 1, key: '-h' }
    : { loop: forElements, decls: '', uniformAt, key: '' }
}

/** The arena, the scratch buffer (g² partials, clip factor, LAMB sums and trust ratios) and the kernels. */
export class MultiTensorAdam {
  private readonly backend: WebgpuBackendInternals
  readonly arena: OptimizerArena
  private readonly scratch: TensorInfo
  private readonly normAt: number[] = [] // per group: where its g² partials start
  private readonly normCount: number[] = []
  private readonly coefAt: number
  private readonly lambAt: number
  private readonly trustAt: number
  private readonly stateAt: number
  /** Loss scaling on the device: set by scaleOnDevice. */
  private deviceScale: { growthInterval: number } | null = null

  constructor(
    readonly kind: AdamKind,
    params: ArenaParam[],
    groupBytes?: number,
  ) {
    this.backend = webgpuInternals(tf.backend())
    this.arena = new OptimizerArena(this.backend, params, groupBytes)
    let at = 0
    for (const group of this.arena.groups) {
      this.normAt.push(at)
      this.normCount.push(Math.max(1, Math.min(NORM_GROUPS, group.chunks)))
      at += this.normCount[this.normCount.length - 1]
    }
    this.coefAt = at
    this.lambAt = at + 1
    this.trustAt = this.lambAt + 2 * this.arena.totalChunks
    this.stateAt = this.trustAt + this.arena.segments.length
    this.scratch = output(this.backend, [this.stateAt + 4])
  }

  /**
   * torch.nn.utils.clip_grad_norm_ over the gathered gradients: the norm (divided by `lossScale`) as a
   * scalar tensor, and the factor min(1, maxNorm / (norm + 1e-6)) / lossScale kept for the next update
   * (maxNorm ≤ 0 or infinite: no clipping, the factor only unscales).
   */
  gradNorm(maxNorm: number, lossScale: number | 'device'): tf.Scalar {
    const onDevice = lossScale === 'device'
    if (onDevice && !this.deviceScale) throw new Error('gradNorm: the loss scale is on the device only after scaleOnDevice')
    const r = workgroupReduction(this.backend.device, 256)
    this.arena.groups.forEach((group, gi) => {
      dispatch(this.backend, {
        key: `multi-norm-partials${r.key}`,
        code: () => /* wgsl */ `${r.enable}
${storage(0, 'scratch', 'f32', true)}
${storage(1, 'g', 'f32', false)}
${uniformBlock(2, 'n: u32, groups: u32, at: u32,')}
${r.code}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>${r.entryArgs}) {
  ${r.init}
  var s = 0.0;
  for (var i = wid.x * 256u + lid; i < u.n; i += u.groups * 256u) { s += g[i] * g[i]; }
  let total = workgroupSum(s, lid);
  if (lid == 0u) { scratch[u.at + wid.x] = total; }
}`,
        outputs: [this.scratch],
        inputs: [group.g],
        uniforms: u32(group.length, this.normCount[gi], this.normAt[gi]),
        workgroups: [this.normCount[gi]],
      })
    })
    const norm = output(this.backend, [])
    const clip = maxNorm > 0 && Number.isFinite(maxNorm)
    dispatch(this.backend, {
      key: `multi-norm-finish${r.key}`,
      code: () => /* wgsl */ `${r.enable}
${storage(0, 'norm', 'f32', true)}
${storage(1, 'scratch', 'f32', true)}
${uniformBlock(2, 'count: u32, coefAt: u32, clip: u32, onDevice: u32, stateAt: u32, maxNorm: f32, tiny: f32, lossScale: f32,')}
${r.code}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32${r.entryArgs}) {
  ${r.init}
  var s = 0.0;
  for (var k = lid; k < u.count; k += 256u) { s += scratch[k]; }
  let total = workgroupSum(s, lid);
  if (lid == 0u) {
    let scale = select(u.lossScale, scratch[u.stateAt + ${SCALE}u], u.onDevice != 0u);
    let n = sqrt(total) / scale;
    norm[0] = n;
    let clipCoef = select(1.0, min(u.maxNorm / (n + u.tiny), 1.0), u.clip != 0u);
    scratch[u.coefAt] = clipCoef / scale;
    // finite: not all exponent bits set (Inf, NaN), tested on the bits so no fast-math can drop it
    scratch[u.stateAt + ${OK}u] = select(0.0, 1.0, (bitcast<u32>(n) & 0x7f800000u) != 0x7f800000u);
  }
}`,
      outputs: [norm, this.scratch],
      inputs: [],
      // the partial sums of every group fill scratch[0, coefAt)
      uniforms: [...u32(this.coefAt, this.coefAt, clip ? 1 : 0, onDevice ? 1 : 0, this.stateAt), ...f32(clip ? maxNorm : 0, 1e-6, onDevice ? 1 : lossScale)],
      workgroups: [1],
    })
    return tf.engine().makeTensorFromTensorInfo(norm, this.backend) as tf.Scalar
  }

  /**
   * One update of every active parameter in P, M, V (`clipped`: scale g by gradNorm's factor); under
   * fp16 storage also their f16 copies in H. Returns whether it wrote H (for scatterParams).
   */
  update(a: AdamAttrs, clipped: boolean, gate?: Gate): boolean {
    if (gate && !(clipped && this.deviceScale)) throw new Error('update: a gated update follows gradNorm with the loss scale on the device')
    const table = this.arena.table()
    const halves = halfStorageOn() ? this.arena.halves() : null
    const g = gate ?? { tBase: 0, late: { bc1: a.bc1, bc2: a.bc2 } }
    const seg = (group: ArenaGroup) => this.segmentUniforms(group, clipped, gate != null, g.tBase)
    if (this.kind === 'lamb') this.arena.groups.forEach((group) => this.lambSums(group, table, a, seg(group), g.late))
    if (this.kind === 'lamb') this.lambTrust(table)
    this.arena.groups.forEach((group, gi) =>
      this.kind === 'adamw' ? this.adamw(group, table, a, seg(group), g.late, halves?.[gi]) : this.lambApply(group, table, a, seg(group), g.late, halves?.[gi]),
    )
    if (gate) this.updateScale()
    return halves != null
  }

  /**
   * Keeps the loss scale on the device from now on (DynamicLossScale's rules, from its state): gradNorm
   * reads it there, gated updates skip on overflow, and each gated update ends by updating it.
   * `applied`: the optimizer's step count, which the gated updates' tBase refers to.
   */
  scaleOnDevice(state: { scale: number; cleanSteps: number }, growthInterval: number, applied: number): void {
    if (applied >= 2 ** 24) throw new Error(`scaleOnDevice: step count ${applied} is past f32's exact integers`)
    this.deviceScale = { growthInterval }
    dispatch(this.backend, {
      key: 'multi-scale-init',
      code: () => /* wgsl */ `
${storage(0, 'scratch', 'f32', true)}
${uniformBlock(1, 'stateAt: u32, scale: f32, clean: f32, applied: f32,')}
@compute @workgroup_size(1)
fn main() {
  scratch[u.stateAt + ${SCALE}u] = u.scale;
  scratch[u.stateAt + ${CLEAN}u] = u.clean;
  scratch[u.stateAt + ${APPLIED}u] = u.applied;
  scratch[u.stateAt + ${OK}u] = 1.0;
}`,
      outputs: [this.scratch],
      inputs: [],
      uniforms: [...u32(this.stateAt), ...f32(state.scale, state.cleanSteps, applied)],
      workgroups: [1],
    })
  }

  /** The loss scale on the device now, as a new scalar tensor (the next step's loss is multiplied by it). */
  lossScale(): tf.Scalar {
    if (!this.deviceScale) throw new Error('lossScale: the loss scale is on the device only after scaleOnDevice')
    const out = output(this.backend, [])
    dispatch(this.backend, {
      key: 'multi-scale-read',
      code: () => /* wgsl */ `
${storage(0, 'out', 'f32', true)}
${storage(1, 'scratch', 'f32', false)}
${uniformBlock(2, 'at: u32,')}
@compute @workgroup_size(1)
fn main() { out[0] = scratch[u.at]; }`,
      outputs: [out],
      inputs: [this.scratch],
      uniforms: u32(this.stateAt + SCALE),
      workgroups: [1],
    })
    return tf.engine().makeTensorFromTensorInfo(out, this.backend) as tf.Scalar
  }

  /** After a gated update: DynamicLossScale.update on the device, and the applied-step count. */
  private updateScale(): void {
    dispatch(this.backend, {
      key: 'multi-scale-update',
      code: () => /* wgsl */ `
${storage(0, 'scratch', 'f32', true)}
${uniformBlock(1, 'stateAt: u32, growthInterval: f32,')}
@compute @workgroup_size(1)
fn main() {
  let at = u.stateAt;
  if (scratch[at + ${OK}u] != 0.0) {
    scratch[at + ${APPLIED}u] = scratch[at + ${APPLIED}u] + 1.0;
    let clean = scratch[at + ${CLEAN}u] + 1.0;
    let grow = clean >= u.growthInterval;
    scratch[at + ${CLEAN}u] = select(clean, 0.0, grow);
    scratch[at + ${SCALE}u] = select(scratch[at + ${SCALE}u], scratch[at + ${SCALE}u] * 2.0, grow);
  } else {
    scratch[at + ${CLEAN}u] = 0.0;
    scratch[at + ${SCALE}u] = max(scratch[at + ${SCALE}u] * 0.5, ${2 ** -24});
  }
}`,
      outputs: [this.scratch],
      inputs: [],
      uniforms: [...u32(this.stateAt), ...f32(this.deviceScale!.growthInterval)],
      workgroups: [1],
    })
  }

  private segmentUniforms(group: ArenaGroup, clipped: boolean, gated: boolean, tBase: number) {
    return [...u32(group.segBegin, group.segEnd, group.chunkBase, group.chunks, clipped ? 1 : 0, this.coefAt, gated ? 1 : 0, this.stateAt), ...f32(tBase)]
  }

  private adamw(group: ArenaGroup, table: TensorInfo, a: AdamAttrs, seg: Uniform[], late: BiasCorrections, h?: TensorInfo): void {
    const e = updateLoop(h != null, 6)
    dispatch(this.backend, {
      key: `multi-adamw${e.key}`,
      code: () => /* wgsl */ `
${storage(0, 'p', 'f32', true)}
${storage(1, 'm', 'f32', true)}
${storage(2, 'v', 'f32', true)}
${storage(3, 'g', 'f32', false)}
${storage(4, 'table', 'vec4<u32>', false)}
${storage(5, 'scratch', 'f32', false)}
${e.decls}
${uniformBlock(e.uniformAt, `${SEGMENT_FIELDS} b1: f32, c1: f32, b2: f32, c2: f32, keepDecayed: f32, rootBc2: f32, eps: f32, step: f32, rootBc2Late: f32, stepLate: f32,`)}
${SEGMENT_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY}) {${PROLOGUE_WGSL}
  let keep = select(1.0, u.keepDecayed, decays);
  let rootBc2 = select(u.rootBc2, u.rootBc2Late, late);
  let stepSize = select(u.step, u.stepLate, late);
${e.loop(`
      if (apply) {${MOMENTS_WGSL}
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * keep - (mi / (sqrt(vi) / rootBc2 + u.eps)) * stepSize;
      }`)}
}`,
      outputs: [group.p, group.m, group.v],
      inputs: [group.g, table, this.scratch, ...(h ? [h] : [])], // H last: binding 6, written (declared read_write)
      uniforms: [...seg, ...f32(a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, 1 - a.lr * a.weightDecay, Math.sqrt(a.bc2), a.eps, a.lr / a.bc1, Math.sqrt(late.bc2), a.lr / late.bc1)],
      workgroups: grid(group.chunks, 1),
    })
  }

  /** LAMB's direction u = m̂/(√v̂ + ε) + λ·p (λ = 0: no term at all, as the composition). */
  private static readonly DIRECTION_WGSL = /* wgsl */ `
      let r = (mi / bc1) / (sqrt(vi / bc2) + u.eps);
      let d = select(r + p[i] * decay, r, decay == 0.0);`

  private static readonly LAMB_FIELDS = `${SEGMENT_FIELDS} b1: f32, c1: f32, b2: f32, c2: f32, bc1: f32, bc2: f32, eps: f32, decay: f32, lr: f32, lambAt: u32, trustAt: u32, bc1Late: f32, bc2Late: f32,`

  private lambUniforms(seg: Uniform[], a: AdamAttrs, late: BiasCorrections) {
    return [...seg, ...f32(a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.bc1, a.bc2, a.eps, a.weightDecay, a.lr), ...u32(this.lambAt, this.trustAt), ...f32(late.bc1, late.bc2)]
  }

  /** The bias corrections LAMB's direction uses: the second set when the step count moved past tBase. */
  private static readonly BIAS_WGSL = /* wgsl */ `
  let bc1 = select(u.bc1, u.bc1Late, late);
  let bc2 = select(u.bc2, u.bc2Late, late);`

  /** Per chunk: Σp², Σu² (into scratch at lambAt + 2·chunk). */
  private lambSums(group: ArenaGroup, table: TensorInfo, a: AdamAttrs, seg: Uniform[], late: BiasCorrections): void {
    const r = workgroupReduction(this.backend.device, 256) // the per-tensor kernels' reduction, so the sums agree bit for bit
    dispatch(this.backend, {
      key: `multi-lamb-sums${r.key}`,
      code: () => /* wgsl */ `${r.enable}
${storage(0, 'scratch', 'f32', true)}
${storage(1, 'p', 'f32', false)}
${storage(2, 'g', 'f32', false)}
${storage(3, 'm', 'f32', false)}
${storage(4, 'v', 'f32', false)}
${storage(5, 'table', 'vec4<u32>', false)}
${uniformBlock(6, MultiTensorAdam.LAMB_FIELDS)}
${SEGMENT_WGSL}
${r.code}
@compute @workgroup_size(256)
fn main(${ENTRY}${r.entryArgs}) {
  ${r.init}${PROLOGUE_WGSL}${MultiTensorAdam.BIAS_WGSL}
  let decay = select(0.0, u.decay, decays);
  var pp = 0.0;
  var uu = 0.0;
${forElements(`${MOMENTS_WGSL}${MultiTensorAdam.DIRECTION_WGSL}
      pp += p[i] * p[i];
      uu += d * d;`)}
  let sp = workgroupSum(pp, lid);
  let su = workgroupSum(uu, lid);
  if (lid == 0u && live) { scratch[u.lambAt + chunk * 2u] = sp; scratch[u.lambAt + chunk * 2u + 1u] = su; }
}`,
      outputs: [this.scratch],
      inputs: [group.p, group.g, group.m, group.v, table],
      uniforms: this.lambUniforms(seg, a, late),
      workgroups: grid(group.chunks, 1),
    })
  }

  /** One workgroup per parameter: ‖p‖ / ‖u‖ from its chunks' sums (1 where either is 0). */
  private lambTrust(table: TensorInfo): void {
    const r = workgroupReduction(this.backend.device, 256)
    dispatch(this.backend, {
      key: `multi-lamb-trust${r.key}`,
      code: () => /* wgsl */ `${r.enable}
${storage(0, 'scratch', 'f32', true)}
${storage(1, 'table', 'vec4<u32>', false)}
${uniformBlock(2, 'lambAt: u32, trustAt: u32,')}
${r.code}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>${r.entryArgs}) {
  ${r.init}
  let seg = table[wid.x];
  let chunks = (seg.z + ${CHUNK - 1}u) / ${CHUNK}u;
  var pp = 0.0;
  var uu = 0.0;
  for (var k = lid; k < chunks; k += 256u) { pp += scratch[u.lambAt + (seg.x + k) * 2u]; uu += scratch[u.lambAt + (seg.x + k) * 2u + 1u]; }
  let wn = sqrt(workgroupSum(pp, lid));
  let un = sqrt(workgroupSum(uu, lid));
  if (lid == 0u && (seg.w & ${ACTIVE}u) != 0u) { scratch[u.trustAt + wid.x] = select(1.0, wn / un, wn > 0.0 && un > 0.0); }
}`,
      outputs: [this.scratch],
      inputs: [table],
      uniforms: u32(this.lambAt, this.trustAt),
      workgroups: [this.arena.segments.length],
    })
  }

  /** m', v' and p' = p − u·(trust·lr). */
  private lambApply(group: ArenaGroup, table: TensorInfo, a: AdamAttrs, seg: Uniform[], late: BiasCorrections, h?: TensorInfo): void {
    const e = updateLoop(h != null, 6)
    dispatch(this.backend, {
      key: `multi-lamb-apply${e.key}`,
      code: () => /* wgsl */ `
${storage(0, 'p', 'f32', true)}
${storage(1, 'm', 'f32', true)}
${storage(2, 'v', 'f32', true)}
${storage(3, 'g', 'f32', false)}
${storage(4, 'table', 'vec4<u32>', false)}
${storage(5, 'scratch', 'f32', false)}
${e.decls}
${uniformBlock(e.uniformAt, MultiTensorAdam.LAMB_FIELDS)}
${SEGMENT_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY}) {${PROLOGUE_WGSL}${MultiTensorAdam.BIAS_WGSL}
  let decay = select(0.0, u.decay, decays);
  let stepSize = scratch[u.trustAt + s] * u.lr;
${e.loop(`
      if (apply) {${MOMENTS_WGSL}${MultiTensorAdam.DIRECTION_WGSL}
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] - d * stepSize;
      }`)}
}`,
      outputs: [group.p, group.m, group.v],
      inputs: [group.g, table, this.scratch, ...(h ? [h] : [])], // H last: binding 6, written (declared read_write)
      uniforms: this.lambUniforms(seg, a, late),
      workgroups: grid(group.chunks, 1),
    })
  }

  dispose(): void {
    this.arena.dispose()
    this.backend.disposeData(this.scratch.dataId)
  }
}
