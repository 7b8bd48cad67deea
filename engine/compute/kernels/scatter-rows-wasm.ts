// MengziScatterAddRows on wasm memory through @mengzi/native (engine/native/src/rows.c): the gradient
// of a row lookup (embedding tables, masked-position gathers) as one pass, where tfjs-wasm's ScatterNd
// walks element by element.
import type { TensorInfo } from '@tensorflow/tfjs'
import { wasmFusedKernel } from './fused'

/** (rows [N, H], ids int32 [N]; attrs tableRows, skipId (−1: none)) → table gradient [tableRows, H] */
export const scatterAddRowsWasmConfig = wasmFusedKernel(
  'MengziScatterAddRows',
  (backend, { rows }, { tableRows }) => [backend.makeOutput([tableRows as number, rows.shape[1]], 'float32')] as [TensorInfo],
  ({ native, f32, i32 }, { rows, ids }, [out], { tableRows, skipId }) =>
    native.scatterAddRows(f32(rows), i32(ids), skipId as number, f32(out), tableRows as number, rows.shape[1]),
)
