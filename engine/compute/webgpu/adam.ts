// MengziAdamW / MengziLamb on webgpu, with the constants of engine/native/src/adam.c (formed in double
// on the host, rounded to f32). AdamW is one elementwise pass. LAMB: a pass writing m', v' and the
// direction u (into p's output) with per-workgroup partial sums of p² and u², one workgroup reducing
// those to the trust ratio, and a pass p' = p − lr·trust·u.
// The optimizer on webgpu updates through multi-adam.ts (a few dispatches for all parameters); these
// per-parameter kernels serve `multiTensor: false` and are the reference multi-adam.ts is tested against.
// fp16 storage (flags.halfStorageOn): the pass that writes p' (AdamW's only pass, LAMB's last) also
// writes its f16 copy, packed (half.ts), each invocation a pair of elements and their word, and gives it
// to p''s data id (half-weights.ts), as the multi-tensor update does: the next forward's products read
// it and pack nothing. p' is a new tensor, so a clone of p taken before the step keeps p's data and
// whatever copy that has. The elements' arithmetic is the same either way. AdamW's pass then binds 8
// storage buffers, WebGPU's minimum per stage.
import type { TensorInfo } from '@tensorflow/tfjs'
import type { AdamAttrs } from '../kernels/adam-wasm'
import { halfStorageOn } from './flags'
import { HALF_BITS_WGSL, halfWords } from './half'
import { adoptOwnedCopy } from './half-weights'
import { bindings, dispatch, f32, grid, output, u32, webgpuKernel, type WebgpuBackendInternals } from './runner'
import { sizeFromShape } from './shape'
import { ENTRY_ARGS, FLAT_INDEX_WGSL, workgroupReduction } from './wgsl'

/** (p, g, m, v) → [p', m', v'] for torch.optim.AdamW. */
export const adamWWebgpuConfig = webgpuKernel('MengziAdamW', (backend, { p, g, m, v }, attrs) => {
  const a = attrs as unknown as AdamAttrs
  const n = sizeFromShape(p.shape)
  const outs = [output(backend, p.shape), output(backend, p.shape), output(backend, p.shape)]
  const half = halfCopyFor(backend, n)
  const update = /* wgsl */ `
  let gi = g[i];
  let mi = m[i] * u.b1 + gi * u.c1;
  let vi = v[i] * u.b2 + (gi * gi) * u.c2;
  mOut[i] = mi;
  vOut[i] = vi;
  pOut[i] = p[i] * u.keep - (mi / (sqrt(vi) / u.rootBc2 + u.eps)) * u.step;`
  dispatch(backend, {
    key: `adamw${half ? '-h' : ''}`,
    code: () => /* wgsl */ `
${bindings(half ? ['pOut', 'mOut', 'vOut', ['h', 'u32']] : ['pOut', 'mOut', 'vOut'], [['p', 'f32'], ['g', 'f32'], ['m', 'f32'], ['v', 'f32']], 'n: u32, b1: f32, c1: f32, b2: f32, c2: f32, keep: f32, rootBc2: f32, eps: f32, step: f32,')}
${FLAT_INDEX_WGSL}
${half ? pairsMain(update) : elementsMain(update)}`,
    outputs: half ? [...outs, half] : outs,
    inputs: [p, g, m, v],
    uniforms: [...u32(n), ...f32(a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, 1 - a.lr * a.weightDecay, Math.sqrt(a.bc2), a.eps, a.lr / a.bc1)],
    workgroups: grid(half ? halfWords(n) : n, 256),
  })
  if (half) adoptOwnedCopy(backend, outs[0].dataId, half)
  return outs
})

/** Under fp16 storage, the packed f16 copy of p' that the update writes (int32 [⌈n / 2⌉]); else null. */
const halfCopyFor = (backend: WebgpuBackendInternals, n: number): TensorInfo | null =>
  halfStorageOn() ? output(backend, [Math.max(halfWords(n), 1)], 'int32') : null

/** An entry point running `update` (WGSL that writes pOut[i]) for element i. */
const elementsMain = (update: string) => /* wgsl */ `
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }${update}
}`

/**
 * An entry point running `update` for elements 2w and 2w + 1 of word w, then writing their new values'
 * f16 into h[w] (half.ts's packing: an odd count pads the last word with +0).
 */
const pairsMain = (update: string) => /* wgsl */ `
${HALF_BITS_WGSL}
fn updated(i: u32) -> f32 {${update}
  return pOut[i];
}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let w = flatIndex(wid, nw, lid);
  let i = 2u * w;
  if (i >= u.n) { return; }
  let lo = updated(i);
  var hi = 0.0;
  if (i + 1u < u.n) { hi = updated(i + 1u); }
  h[w] = packHalf2(lo, hi);
}`

const PER_THREAD = 8 // elements per invocation in LAMB's first pass, so the partial sums stay few

/** (p, g, m, v) → [p', m', v'] for LAMB, trust ratio included. */
export const lambWebgpuConfig = webgpuKernel('MengziLamb', (backend, { p, g, m, v }, attrs) => {
  const a = attrs as unknown as AdamAttrs
  const n = sizeFromShape(p.shape)
  const [pOut, mOut, vOut] = [output(backend, p.shape), output(backend, p.shape), output(backend, p.shape)]
  const groups = grid(Math.ceil(n / PER_THREAD), 256)
  const partialCount = groups[0] * groups[1]
  const partials = output(backend, [partialCount, 2])
  const trust = output(backend, [1])
  const r = workgroupReduction(backend.device, 256)
  dispatch(backend, {
    key: `lamb-direction${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings(['u_', 'mOut', 'vOut', 'partials'], [['p', 'f32'], ['g', 'f32'], ['m', 'f32'], ['v', 'f32']], 'n: u32, b1: f32, c1: f32, b2: f32, c2: f32, bc1: f32, bc2: f32, eps: f32, decay: f32,')}
${r.code}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}${r.entryArgs}) {
  ${r.init}
  let group = groupIndex(wid, nw);
  var pp = 0.0;
  var uu = 0.0;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = (group * ${PER_THREAD}u + j) * 256u + lid;
    if (i < u.n) {
      let gi = g[i];
      let mi = m[i] * u.b1 + gi * u.c1;
      let vi = v[i] * u.b2 + (gi * gi) * u.c2;
      mOut[i] = mi;
      vOut[i] = vi;
      let r = (mi / u.bc1) / (sqrt(vi / u.bc2) + u.eps);
      let d = select(r + p[i] * u.decay, r, u.decay == 0.0);
      u_[i] = d;
      pp += p[i] * p[i];
      uu += d * d;
    }
  }
  let sp = workgroupSum(pp, lid);
  let su = workgroupSum(uu, lid);
  if (lid == 0u) { partials[group * 2u] = sp; partials[group * 2u + 1u] = su; }
}`,
    outputs: [pOut, mOut, vOut, partials],
    inputs: [p, g, m, v],
    uniforms: [...u32(n), ...f32(a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.bc1, a.bc2, a.eps, a.weightDecay)],
    workgroups: groups,
  })
  dispatch(backend, {
    key: `lamb-trust${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings(['trust'], [['partials', 'f32']], 'count: u32,')}
${r.code}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32${r.entryArgs}) {
  ${r.init}
  var pp = 0.0;
  var uu = 0.0;
  for (var k = lid; k < u.count; k += 256u) { pp += partials[k * 2u]; uu += partials[k * 2u + 1u]; }
  let wn = sqrt(workgroupSum(pp, lid));
  let un = sqrt(workgroupSum(uu, lid));
  if (lid == 0u) { trust[0] = select(1.0, wn / un, wn > 0.0 && un > 0.0); }
}`,
    outputs: [trust],
    inputs: [partials],
    uniforms: u32(partialCount),
    workgroups: [1],
  })
  const half = halfCopyFor(backend, n)
  const apply = /* wgsl */ `
  pOut[i] = p[i] - pOut[i] * (trust[0] * u.lr);`
  dispatch(backend, {
    key: `lamb-apply${half ? '-h' : ''}`,
    code: () => /* wgsl */ `
${bindings(half ? ['pOut', ['h', 'u32']] : ['pOut'], [['p', 'f32'], ['trust', 'f32']], 'n: u32, lr: f32,')}
${FLAT_INDEX_WGSL}
${half ? pairsMain(apply) : elementsMain(apply)}`,
    outputs: half ? [pOut, half] : [pOut],
    inputs: [p, trust],
    uniforms: [...u32(n), ...f32(a.lr)],
    workgroups: grid(half ? halfWords(n) : n, 256),
  })
  backend.disposeData(partials.dataId)
  backend.disposeData(trust.dataId)
  if (half) adoptOwnedCopy(backend, pOut.dataId, half)
  return [pOut, mOut, vOut]
})
