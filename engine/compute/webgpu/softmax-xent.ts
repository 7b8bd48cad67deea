// MengziSoftmaxXent / MengziSoftmaxXentGrad on webgpu. Forward: one workgroup per row of logits [N, C]
// (C = 21128 for the MLM head): the row's max and Σexp as workgroup reductions, the probabilities kept
// for backward, the row's loss logΣexp + max − z[target] (0 for target −1). Backward: elementwise
// (p − onehot)·rowScale.
import { bindings, dispatch, grid, output, u32, webgpuKernel } from './runner'
import { ENTRY_ARGS, FLAT_INDEX_WGSL, workgroupReduction } from './wgsl'

const WG = 256

/** (logits [N, C], targets int32 [N]) → [probs [N, C], rowLoss [N]] */
export const softmaxXentWebgpuConfig = webgpuKernel('MengziSoftmaxXent', (backend, { logits, targets }) => {
  const [N, C] = logits.shape
  const probs = output(backend, [N, C])
  const rowLoss = output(backend, [N])
  const r = workgroupReduction(backend.device, WG)
  dispatch(backend, {
    key: `softmax-xent${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings(['probs', 'rowLoss'], [['z', 'f32'], ['targets', 'i32']], 'N: u32, C: u32,')}
${r.code}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(${ENTRY_ARGS}${r.entryArgs}) {
  ${r.init}
  let row = groupIndex(wid, nw);
  if (row >= u.N) { return; }
  let base = row * u.C;
  var m = -3.4028234663852886e38;
  for (var c = lid; c < u.C; c += ${WG}u) { m = max(m, z[base + c]); }
  let rowMax = workgroupMax(m, lid);
  var s = 0.0;
  for (var c = lid; c < u.C; c += ${WG}u) {
    let e = exp(z[base + c] - rowMax);
    probs[base + c] = e;
    s += e;
  }
  let total = workgroupSum(s, lid);
  let inv = 1.0 / total;
  for (var c = lid; c < u.C; c += ${WG}u) { probs[base + c] = probs[base + c] * inv; }
  if (lid == 0u) {
    let t = targets[row];
    rowLoss[row] = select(0.0, log(total) + rowMax - z[base + u32(max(t, 0))], t >= 0);
  }
}`,
    outputs: [probs, rowLoss],
    inputs: [logits, targets],
    uniforms: u32(N, C),
    workgroups: grid(N, 1),
  })
  return [probs, rowLoss]
})

/** (probs [N, C], targets [N], rowScale [N]) → dlogits [N, C] */
export const softmaxXentGradWebgpuConfig = webgpuKernel('MengziSoftmaxXentGrad', (backend, { probs, targets, rowScale }) => {
  const [N, C] = probs.shape
  const dlogits = output(backend, [N, C])
  dispatch(backend, {
    key: 'softmax-xent-grad',
    code: () => /* wgsl */ `
${bindings(['dz'], [['probs', 'f32'], ['targets', 'i32'], ['rowScale', 'f32']], 'n: u32, C: u32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let row = i / u.C;
  let hit = targets[row] == i32(i % u.C);
  dz[i] = (probs[i] - select(0.0, 1.0, hit)) * rowScale[row];
}`,
    outputs: [dlogits],
    inputs: [probs, targets, rowScale],
    uniforms: u32(N * C, C),
    workgroups: grid(N * C, 256),
  })
  return [dlogits]
})
