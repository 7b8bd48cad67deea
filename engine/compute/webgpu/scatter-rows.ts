// MengziScatterAddRows on webgpu: the gradient of a row lookup (embedding tables, masked-position
// gathers), table[ids[i]] += rows[i]. Deterministic without atomics: invocation (column c, bucket k)
// walks all ids in order and adds only rows whose id ≡ k (mod BUCKETS), so each table element has one
// writer and one summation order, the ids' (a sequential f32 sum from 0; tfjs-webgpu's
// UnsortedSegmentSum adds with float atomics, in whatever order the GPU runs, which breaks exact
// resume). The element being summed stays in a register while its id repeats (runs: the token types'
// segments, 2 ids for all B·T rows), stored when another id of the bucket comes and reloaded if it
// comes back: the same sums, without a dependent load and store per row.
import type { TensorInfo } from '@tensorflow/tfjs'
import { bindings, dispatch, grid, output, u32, webgpuKernel, type WebgpuBackendInternals } from './runner'
import { ENTRY_ARGS, FLAT_INDEX_WGSL } from './wgsl'

const BUCKETS = 16

/**
 * A new [tableRows, H] gradient with rows[i] added into row ids[i] (ids outside [0, tableRows) and
 * `skipId` add nothing): two dispatches, a zero fill and the scatter. Also the embeddings' backward.
 */
export function scatterAddRows(backend: WebgpuBackendInternals, rows: TensorInfo, ids: TensorInfo, tableRows: number, skipId: number): TensorInfo {
  const [N, H] = rows.shape
  const V = tableRows
  const out = output(backend, [V, H])
  dispatch(backend, {
    key: 'fill-zero',
    code: () => /* wgsl */ `
${bindings(['out'], [], 'n: u32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i < u.n) { out[i] = 0.0; }
}`,
    outputs: [out],
    inputs: [],
    uniforms: u32(V * H),
    workgroups: grid(V * H, 256),
  })
  dispatch(backend, {
    key: 'scatter-add-rows',
    code: () => /* wgsl */ `
${bindings(['out'], [['rows', 'f32'], ['ids', 'i32']], 'N: u32, H: u32, V: i32, skip: i32,')}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let c = g.x;
  let bucket = i32(g.y);
  if (c >= u.H) { return; }
  var current = -1; // the id whose element is in acc
  var acc = 0.0;
  for (var i = 0u; i < u.N; i++) {
    let id = ids[i];
    if (id < 0 || id >= u.V || id == u.skip || id % ${BUCKETS} != bucket) { continue; }
    if (id != current) {
      if (current >= 0) { out[u32(current) * u.H + c] = acc; }
      current = id;
      acc = out[u32(id) * u.H + c];
    }
    acc = acc + rows[i * u.H + c];
  }
  if (current >= 0) { out[u32(current) * u.H + c] = acc; }
}`,
    outputs: [out],
    inputs: [rows, ids],
    uniforms: [{ type: 'uint32', data: [N] }, { type: 'uint32', data: [H] }, { type: 'int32', data: [V] }, { type: 'int32', data: [skipId] }],
    workgroups: [Math.ceil(H / 64), BUCKETS],
  })
  return out
}

/** (rows [N, H], ids int32 [N]; attrs tableRows, skipId (−1: none)) → table gradient [tableRows, H] */
export const scatterAddRowsWebgpuConfig = webgpuKernel('MengziScatterAddRows', (backend, { rows, ids }, { tableRows, skipId }) => [
  scatterAddRows(backend, rows, ids, tableRows as number, skipId as number),
])
