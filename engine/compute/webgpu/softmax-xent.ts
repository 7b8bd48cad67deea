// MengziSoftmaxXent / MengziSoftmaxXentGrad on webgpu. Forward: one workgroup per row of logits [N, C]
// (C = 21128 for the MLM head): the row's max and Σexp as workgroup reductions, the probabilities kept
// for backward, the row's loss logΣexp + max − z[target] (0 for target −1), always in f32 from the f32
// logits. Backward: elementwise (p − onehot)·rowScale.
// In fp16 the probabilities, the largest activation kept (N·C), are an f16 activation: under f16
// storage the forward keeps them packed (half.ts), as f16(p·2¹⁵): p ≤ 1, so no overflow, and the exact
// power-of-two scale moves f16's subnormals (below 2⁻¹⁴) to p below 2⁻²⁹ ≈ 1.9e-9, so small
// probabilities keep f16's 11 bits (p under 2⁻⁴⁰ becomes 0). Word pairs in the kernel where rows end on
// whole words (C even: the model's case), else written scaled in f32 and packed after. The backward
// computes (q − 2¹⁵·onehot)·(rowScale·2⁻¹⁵) from q = f16(p·2¹⁵): unpacked, or rounded as it loads
// when p comes as f32 (storage off), so that storing changes memory, not numbers. fp32 is unchanged.
import { HALF_BITS_WGSL, halfLoad, halfRead, halfWords, packHalf } from './half'
import { halfStorageOn } from './flags'
import { bindings, dispatch, f32, grid, output, u32, webgpuKernel } from './runner'
import { ENTRY_ARGS, FLAT_INDEX_WGSL, REDUCE_WGSL, workgroupReduction } from './wgsl'

const WG = 256
/** The scale of the stored probabilities: 2¹⁵ (exact in f32 and f16, so scaling changes no bits). */
export const PROB_SCALE = 32768

/** (logits [N, C], targets int32 [N]) → [probs [N, C] (fp16 storage: f16(p·2¹⁵) packed, int32 [⌈N·C / 2⌉]), rowLoss [N]] */
export const softmaxXentWebgpuConfig = webgpuKernel('MengziSoftmaxXent', (backend, { logits, targets }) => {
  const [N, C] = logits.shape
  const half = halfStorageOn()
  const pairs = half && C % 2 === 0
  const probs = pairs ? output(backend, [halfWords(N * C)], 'int32') : output(backend, [N, C])
  const rowLoss = output(backend, [N])
  const r = workgroupReduction(backend.device, WG)
  // fp32 and storage off: e kept in probs, then scaled in place. Pairs: e computed again (the same
  // expression, so the same bits) for each pair (c, c + 1), c even, one word (C even: no word spans rows).
  const write = pairs
    ? `for (var c = 2u * lid; c < u.C; c += ${2 * WG}u) {
    let k = base + c;
    let p = vec2<f32>(exp(z[k] - rowMax), exp(z[k + 1u] - rowMax)) * inv;
    probs[k / 2u] = packHalf2(p.x * ${PROB_SCALE}.0, p.y * ${PROB_SCALE}.0);
  }`
    : `for (var c = lid; c < u.C; c += ${WG}u) { probs[base + c] = probs[base + c] * inv${half ? ` * ${PROB_SCALE}.0` : ''}; }`
  dispatch(backend, {
    key: `softmax-xent${pairs ? '-half' : half ? '-scaled' : ''}${r.key}`,
    code: () => /* wgsl */ `${r.enable}
${bindings([['probs', pairs ? 'u32' : 'f32'], 'rowLoss'], [['z', 'f32'], ['targets', 'i32']], 'N: u32, C: u32,')}
${pairs ? HALF_BITS_WGSL : ''}
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
    ${pairs ? '' : 'probs[base + c] = e;'}
    s += e;
  }
  let total = workgroupSum(s, lid);
  let inv = 1.0 / total;
  ${write}
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
  if (!half || pairs) return [probs, rowLoss]
  const packed = packHalf(backend, probs)
  backend.disposeData(probs.dataId)
  return [packed, rowLoss]
})

/**
 * (rowLoss [N]; count) → the mean loss Σ rowLoss / count, a scalar: one workgroup, where tf.sum and
 * tf.div record two tfjs-webgpu programs (the sum's order differs from tfjs's: the same within rounding).
 */
export const softmaxXentMeanWebgpuConfig = webgpuKernel('MengziSoftmaxXentMean', (backend, { rowLoss }, { count }) => {
  const loss = output(backend, [])
  dispatch(backend, {
    key: 'softmax-xent-mean',
    code: () => /* wgsl */ `
${bindings(['loss'], [['rowLoss', 'f32']], 'N: u32, count: f32,')}
${REDUCE_WGSL(WG)}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < u.N; i += ${WG}u) { s += rowLoss[i]; }
  let total = workgroupSum(s, lid);
  if (lid == 0u) { loss[0] = total / u.count; }
}`,
    outputs: [loss],
    inputs: [rowLoss],
    uniforms: [...u32(rowLoss.shape[0]), ...f32(count as number)],
    workgroups: [1],
  })
  return [loss]
})

/**
 * (probs [N, C] or packed, targets [N], and rowScale [N] or dy (the mean loss's gradient, a scalar);
 * C, count with dy) → dlogits [N, C]. With dy the row scale dy / count (0 on ignored rows) is computed
 * here instead of by two tfjs programs.
 */
export const softmaxXentGradWebgpuConfig = webgpuKernel('MengziSoftmaxXentGrad', (backend, { probs, targets, rowScale, dy }, { C, count }) => {
  const N = targets.shape[0]
  const read = halfRead(probs)
  if (read !== 'packed' && probs.shape[1] !== C) throw new Error(`softmax cross-entropy grad: probs ${probs.shape} but C ${C}`)
  const n = N * (C as number)
  const dlogits = output(backend, [N, C as number])
  // fp16: q = f16(p·2¹⁵) (stored, or rounded here from f32 p), and 2⁻¹⁵ folded into the row's scale
  const body =
    read === 'f32'
      ? 'dz[i] = (probs[i] - select(0.0, 1.0, hit)) * rowScale(row);'
      : `let q = ${read === 'packed' ? halfLoad('packed', 'probs', 'i') : `fromHalf(halfBits(probs[i] * ${PROB_SCALE}.0))`};
  dz[i] = (q - select(0.0, ${PROB_SCALE}.0, hit)) * (rowScale(row) * ${1 / PROB_SCALE});`
  const scale = dy ? 'select(0.0, scales[0] / u.count, targets[row] >= 0)' : 'scales[row]'
  dispatch(backend, {
    key: `softmax-xent-grad${read === 'f32' ? '' : `-${read}`}${dy ? '-dy' : ''}`,
    code: () => /* wgsl */ `
${bindings(['dz'], [['probs', read === 'packed' ? 'u32' : 'f32'], ['targets', 'i32'], ['scales', 'f32']], 'n: u32, C: u32, count: f32,')}
${read === 'f32' ? '' : HALF_BITS_WGSL}
fn rowScale(row: u32) -> f32 { return ${scale}; }
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let row = i / u.C;
  let hit = targets[row] == i32(i % u.C);
  ${body}
}`,
    outputs: [dlogits],
    inputs: [probs, targets, dy ?? rowScale],
    uniforms: [...u32(n, C as number), ...f32((count as number | undefined) ?? 1)],
    workgroups: grid(n, 256),
  })
  return [dlogits]
})
