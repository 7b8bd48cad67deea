// MengziAdamW / MengziLamb on webgpu, with the constants of engine/native/src/adam.c (formed in double
// on the host, rounded to f32). AdamW is one elementwise pass. LAMB: a pass writing m', v' and the
// direction u (into p's output) with per-workgroup partial sums of p² and u², one workgroup reducing
// those to the trust ratio, and a pass p' = p − lr·trust·u.
// The optimizer on webgpu updates through multi-adam.ts (a few dispatches for all parameters); these
// per-parameter kernels serve `multiTensor: false` and are the reference multi-adam.ts is tested against.
import type { AdamAttrs } from '../kernels/adam-wasm'
import { bindings, dispatch, f32, grid, output, u32, webgpuKernel } from './runner'
import { sizeFromShape } from './shape'
import { ENTRY_ARGS, FLAT_INDEX_WGSL, workgroupReduction } from './wgsl'

/** (p, g, m, v) → [p', m', v'] for torch.optim.AdamW. */
export const adamWWebgpuConfig = webgpuKernel('MengziAdamW', (backend, { p, g, m, v }, attrs) => {
  const a = attrs as unknown as AdamAttrs
  const n = sizeFromShape(p.shape)
  const outs = [output(backend, p.shape), output(backend, p.shape), output(backend, p.shape)]
  dispatch(backend, {
    key: 'adamw',
    code: () => /* wgsl */ `
${bindings(['pOut', 'mOut', 'vOut'], [['p', 'f32'], ['g', 'f32'], ['m', 'f32'], ['v', 'f32']], 'n: u32, b1: f32, c1: f32, b2: f32, c2: f32, keep: f32, rootBc2: f32, eps: f32, step: f32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let gi = g[i];
  let mi = m[i] * u.b1 + gi * u.c1;
  let vi = v[i] * u.b2 + (gi * gi) * u.c2;
  mOut[i] = mi;
  vOut[i] = vi;
  pOut[i] = p[i] * u.keep - (mi / (sqrt(vi) / u.rootBc2 + u.eps)) * u.step;
}`,
    outputs: outs,
    inputs: [p, g, m, v],
    uniforms: [...u32(n), ...f32(a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, 1 - a.lr * a.weightDecay, Math.sqrt(a.bc2), a.eps, a.lr / a.bc1)],
    workgroups: grid(n, 256),
  })
  return outs
})

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
  dispatch(backend, {
    key: 'lamb-apply',
    code: () => /* wgsl */ `
${bindings(['pOut'], [['p', 'f32'], ['trust', 'f32']], 'n: u32, lr: f32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  pOut[i] = p[i] - pOut[i] * (trust[0] * u.lr);
}`,
    outputs: [pOut],
    inputs: [p, trust],
    uniforms: [...u32(n), ...f32(a.lr)],
    workgroups: grid(n, 256),
  })
  backend.disposeData(partials.dataId)
  backend.disposeData(trust.dataId)
  return [pOut, mOut, vOut]
})
