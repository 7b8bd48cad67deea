// Rows of a table by id (embedding lookups, the MLM head's masked positions), with a linear-time
// gradient. On webgpu with our kernels both directions are our dispatches (compute/webgpu/embeddings.ts
// and scatter-rows.ts); elsewhere tf.gather and a scatter-add, the reference.
import * as tf from '@tensorflow/tfjs'
import { noGradient } from '../../compute/grads'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'

/**
 * tf.gather of table rows with a gradient that scatter-adds dy into the rows (linear in the number of
 * looked-up ids). tfjs's own gather gradient is UnsortedSegmentSum, which costs vocab × tokens ×
 * hidden on the cpu backend and is missing on wasm (TFJS-NOTES). `noGradRow` is nn.Embedding's
 * padding_idx: that row gets no gradient from the lookup.
 */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor, noGradRow?: number): tf.Tensor {
  const [V, H] = table.shape
  // ids is an input (not captured) so that the tape keeps it alive until the backward pass.
  const lookup = tf.customGrad(((t: tf.Tensor2D, i: tf.Tensor, save: tf.GradSaveFunc) => {
    save([i])
    const fused = i.dtype === 'int32' && hasFusedKernel('MengziGatherRows')
    return {
      value: fused ? runFused('MengziGatherRows', { table: t, ids: i })[0].reshape([...i.shape, H]) : tf.gather(t, i), // [...ids.shape, H]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        if (hasFusedKernel('MengziScatterAddRows') && saved[0].dtype === 'int32') {
          const [grad] = runFused('MengziScatterAddRows', { rows: dy.reshape([-1, H]), ids: saved[0].reshape([-1]) }, { tableRows: V, skipId: noGradRow ?? -1 })
          return [grad, noGradient(saved[0])]
        }
        const flatIds = saved[0].reshape([-1, 1]) // [N, 1]
        let rows = dy.reshape([-1, H]) // [N, H]
        if (noGradRow !== undefined) rows = rows.mul(flatIds.notEqual(noGradRow).cast('float32'))
        return [tf.scatterND(flatIds, rows, [V, H]), noGradient(saved[0])] // duplicate ids are summed
      },
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0])
  return lookup(table, ids)
}
