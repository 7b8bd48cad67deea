// BERT's embedding sum before its LayerNorm: words[input ids] + token types[type ids] + positions[t].
// On webgpu with our kernels it is one dispatch forward (compute/webgpu/embeddings.ts, same additions
// in the same order, so the same bits) and five backward; elsewhere the composition below (two row
// lookups, a slice, two adds), which stays the reference.
import * as tf from '@tensorflow/tfjs'
import { noGradient } from '../../compute/grads'
import { hasFusedKernel, runFused } from '../../compute/kernels/fused'
import { gatherRows } from './gather-rows'

export interface EmbeddingTables {
  words: tf.Tensor2D // [vocab, H]
  types: tf.Tensor2D // [type vocab, H]
  positions: tf.Tensor2D // [max positions, H], absolute 0..T-1 used
}

/**
 * (words[ids] + types[typeIds]) + positions[0..T-1]: [B, T, H]. `padId` is nn.Embedding's
 * padding_idx of the word table: that row gets no gradient from the lookup.
 */
export function embeddingSum(tables: EmbeddingTables, inputIds: tf.Tensor2D, tokenTypeIds: tf.Tensor2D, padId?: number): tf.Tensor3D {
  const T = inputIds.shape[1]
  const [, H] = tables.words.shape
  if (T > tables.positions.shape[0]) throw new Error(`sequence length (${T}) exceeds the position table's ${tables.positions.shape[0]} rows`)
  const fused = inputIds.dtype === 'int32' && tokenTypeIds.dtype === 'int32' && tokenTypeIds.shape.join() === inputIds.shape.join()
    && hasFusedKernel('MengziEmbeddings') && hasFusedKernel('MengziEmbeddingsGrad')
  if (fused) {
    const attrs = { wordRows: tables.words.shape[0], typeRows: tables.types.shape[0], positionRows: tables.positions.shape[0], skipId: padId ?? -1 }
    // the ids are inputs (not captured) so that the tape keeps them alive until the backward pass
    const op = tf.customGrad(((words: tf.Tensor, types: tf.Tensor, positions: tf.Tensor, ids: tf.Tensor, typeIds: tf.Tensor, save: tf.GradSaveFunc) => {
      save([ids, typeIds])
      return {
        value: runFused('MengziEmbeddings', { words, types, positions, ids, typeIds })[0],
        gradFunc: (dy: tf.Tensor, [i, y]: tf.Tensor[]) => [
          ...runFused('MengziEmbeddingsGrad', { dy, ids: i, typeIds: y }, attrs), // dWords, dTypes, dPositions
          noGradient(i),
          noGradient(y),
        ],
      }
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...xs: tf.Tensor[]) => tf.Tensor3D
    return op(tables.words, tables.types, tables.positions, inputIds, tokenTypeIds)
  }
  const words = gatherRows(tables.words, inputIds, padId) // [B, T, H]
  const types = gatherRows(tables.types, tokenTypeIds) // [B, T, H]
  const positions = tables.positions.slice([0, 0], [T, H]) // [T, H]
  return words.add(types).add(positions) as tf.Tensor3D
}
