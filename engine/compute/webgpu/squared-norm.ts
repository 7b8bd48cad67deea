// MengziSquaredNormAdd on webgpu: acc' = acc + Σ g², so a global gradient norm folds over the
// gradients two small dispatches each, with no AddN over every gradient at once (a stage binds three
// buffers whatever the model's size). Partial sums per workgroup, then one workgroup adds them to acc.
// The optimizer's own clipping on webgpu (Optimizer.clipGradients) sums over its flat arena instead
// (multi-adam.ts); this kernel serves clipByGlobalNorm called on its own.
import { bindings, dispatch, grid, output, u32, webgpuKernel } from './runner'
import { sizeFromShape } from './shape'
import { ENTRY_ARGS, FLAT_INDEX_WGSL, workgroupReduction } from './wgsl'

const PER_THREAD = 8

/** (g, acc [1]) → acc + Σ g² [1] */
export const squaredNormAddWebgpuConfig = webgpuKernel('MengziSquaredNormAdd', (backend, { g, acc }) => {
  const n = sizeFromShape(g.shape)
  const groups = grid(Math.ceil(n / PER_THREAD), 256)
  const count = groups[0] * groups[1]
  const partials = output(backend, [count])
  const out = output(backend, [])
  const r = workgroupReduction(backend.device, 256)
  dispatch(backend, {
    key: `squared-norm-partials${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings(['partials'], [['g', 'f32']], 'n: u32,')}
${r.code}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}${r.entryArgs}) {
  ${r.init}
  let group = groupIndex(wid, nw);
  var s = 0.0;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = (group * ${PER_THREAD}u + j) * 256u + lid;
    if (i < u.n) { s += g[i] * g[i]; }
  }
  let total = workgroupSum(s, lid);
  if (lid == 0u) { partials[group] = total; }
}`,
    outputs: [partials],
    inputs: [g],
    uniforms: u32(n),
    workgroups: groups,
  })
  dispatch(backend, {
    key: `squared-norm-add${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings(['out'], [['partials', 'f32'], ['acc', 'f32']], 'count: u32,')}
${r.code}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32${r.entryArgs}) {
  ${r.init}
  var s = 0.0;
  for (var k = lid; k < u.count; k += 256u) { s += partials[k]; }
  let total = workgroupSum(s, lid);
  if (lid == 0u) { out[0] = acc[0] + total; }
}`,
    outputs: [out],
    inputs: [partials, acc],
    uniforms: u32(count),
    workgroups: [1],
  })
  backend.disposeData(partials.dataId)
  return [out]
})
