// Row lookups on webgpu as our own dispatches instead of tfjs-webgpu's Gather, Slice, BinaryOp, Pad,
// Reduce and Transpose programs (each of those costs more host time to record than one of ours):
// - MengziGatherRows: table[ids[i]] for the MLM head's masked rows (any row gather);
// - MengziEmbeddings: BERT's embedding sum words[ids] + types[typeIds] + positions[t] in one dispatch,
//   added in the composition's order ((w + t) + p), so the forward is bit for bit tfjs's;
// - MengziEmbeddingsGrad: the three tables' gradients, words and types by scatter-add (scatter-rows.ts,
//   deterministic), positions summed over the batch in one dispatch (every table row written, rows
//   past T with 0, as the Slice's gradient pads them).
// Ids outside a table read a zero row, as tfjs-webgpu's Gather does, and add nothing in backward.
import { bindings, dispatch, grid, output, u32, webgpuKernel } from './runner'
import { scatterAddRows } from './scatter-rows'
import { ENTRY_ARGS, FLAT_INDEX_WGSL } from './wgsl'

/** (table [V, H], ids int32 [N]) → [N, H] */
export const gatherRowsWebgpuConfig = webgpuKernel('MengziGatherRows', (backend, { table, ids }) => {
  const [V, H] = table.shape
  const N = ids.shape.reduce((a, b) => a * b, 1)
  const out = output(backend, [N, H])
  dispatch(backend, {
    key: 'gather-rows',
    code: () => /* wgsl */ `
${bindings(['out'], [['table', 'f32'], ['ids', 'i32']], 'n: u32, H: u32, V: i32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let id = ids[i / u.H];
  out[i] = select(0.0, table[u32(id) * u.H + i % u.H], id >= 0 && id < u.V);
}`,
    outputs: [out],
    inputs: [table, ids],
    uniforms: [{ type: 'uint32', data: [N * H] }, { type: 'uint32', data: [H] }, { type: 'int32', data: [V] }],
    workgroups: grid(N * H, 256),
  })
  return [out]
})

/** (words [V, H], types [Vt, H], positions [P, H], ids int32 [B, T], typeIds int32 [B, T]) → [B, T, H] */
export const embeddingsWebgpuConfig = webgpuKernel('MengziEmbeddings', (backend, { words, types, positions, ids, typeIds }) => {
  const [B, T] = ids.shape
  const [V, H] = words.shape
  const out = output(backend, [B, T, H])
  dispatch(backend, {
    key: 'embeddings',
    code: () => /* wgsl */ `
${bindings(['out'], [['words', 'f32'], ['types', 'f32'], ['positions', 'f32'], ['ids', 'i32'], ['typeIds', 'i32']], 'n: u32, H: u32, T: u32, V: i32, Vt: i32,')}
${FLAT_INDEX_WGSL}
fn row(id: i32, rows: i32) -> bool { return id >= 0 && id < rows; }
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let token = i / u.H; // b·T + t
  let c = i % u.H;
  let w = ids[token];
  let y = typeIds[token];
  let word = select(0.0, words[u32(w) * u.H + c], row(w, u.V));
  let segment = select(0.0, types[u32(y) * u.H + c], row(y, u.Vt));
  out[i] = (word + segment) + positions[(token % u.T) * u.H + c];
}`,
    outputs: [out],
    inputs: [words, types, positions, ids, typeIds],
    uniforms: [...u32(B * T * H, H, T), { type: 'int32', data: [V] }, { type: 'int32', data: [types.shape[0]] }],
    workgroups: grid(B * T * H, 256),
  })
  return [out]
})

/**
 * (dy [B, T, H], ids int32 [B, T], typeIds int32 [B, T]; attrs wordRows, typeRows, positionRows, skipId
 * (the pad id, −1: none)) → [dWords, dTypes, dPositions]: five dispatches.
 */
export const embeddingsGradWebgpuConfig = webgpuKernel('MengziEmbeddingsGrad', (backend, { dy, ids, typeIds }, attrs) => {
  const [B, T, H] = dy.shape
  const P = attrs.positionRows as number
  const rows = { ...dy, shape: [B * T, H] } // the same buffer read as [B·T, H]
  const flat = (t: typeof ids) => ({ ...t, shape: [B * T] })
  const dWords = scatterAddRows(backend, rows, flat(ids), attrs.wordRows as number, attrs.skipId as number)
  const dTypes = scatterAddRows(backend, rows, flat(typeIds), attrs.typeRows as number, -1)
  const dPositions = output(backend, [P, H])
  dispatch(backend, {
    key: 'positions-grad',
    code: () => /* wgsl */ `
${bindings(['out'], [['dy', 'f32']], 'n: u32, H: u32, T: u32, B: u32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid); // p·H + c
  if (i >= u.n) { return; }
  var sum = 0.0;
  if (i < u.T * u.H) {
    for (var b = 0u; b < u.B; b++) { sum += dy[b * u.T * u.H + i]; }
  }
  out[i] = sum;
}`,
    outputs: [dPositions],
    inputs: [dy],
    uniforms: u32(P * H, H, T, B),
    workgroups: grid(P * H, 256),
  })
  return [dWords, dTypes, dPositions]
})
