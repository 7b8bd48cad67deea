// The local engine's training stream, materialised: the exact micro-batches engine/train/loop.ts would
// build for a run (same data order, same masking RNG, same pair sampling) and the weights it would
// start from, written as safetensors. The torch trainer replays them (`data: {kind: 'fixed'}`), so both
// engines see identical inputs — the parity test's ground. Dropout must be off: the local engine draws
// dropout seeds from the same RNG as the masking, interleaved with the forward passes.
import type { TensorToWrite } from '../model/safetensors'
import { writeSafetensors } from '../model/safetensors'
import type { BertConfig } from '../model/config'
import type { HeadSpec } from '../model/heads'
import { disposeWeights, initWeights, weightsToTensors } from '../model/weights'
import { Rng } from '../compute/rng'
import type { TrainConfig } from '../train/config'
import { buildMlmBatch, DataOrder, openSource, pairAt, type BatchItem } from '../train/data'
import { badInput } from '../errors'

/** The heads and pooler the local engine gives a pretraining run (loop.ts). */
export function pretrainingHeads(config: TrainConfig): HeadSpec[] {
  return config.pairObjective !== 'none' ? [{ kind: 'mlm' }, { kind: 'nsp' }] : [{ kind: 'mlm' }]
}

/** Writes `steps × gradientAccumulation` micro-batches as `<key>.<k>` (k = step·accumulation + micro). */
export async function exportFixedBatches(config: TrainConfig, bert: BertConfig, steps: number, path: string): Promise<void> {
  if (bert.hidden_dropout_prob > 0 || bert.attention_probs_dropout_prob > 0) {
    throw badInput('fixed batches: the model has dropout; the local engine draws its masks from the masking RNG, so set hidden_dropout_prob and attention_probs_dropout_prob to 0')
  }
  const pairs = config.pairObjective !== 'none'
  const segmentTokens = pairs ? Math.floor((config.maxSeqLength - 3) / 2) : config.maxSeqLength - 2
  const { source, specials } = await openSource(config.data, bert.vocab_size, segmentTokens + 2)
  const order = new DataOrder(source.size, config.seed)
  const rng = new Rng((config.seed ^ 0x6d656e67) >>> 0) // loop.ts's training RNG
  const tensors = new Map<string, TensorToWrite>()
  let position = 0
  for (let k = 0; k < steps * config.gradientAccumulation; k++) {
    const items: BatchItem[] = []
    const pairLabels = new Int32Array(config.batchSize)
    for (let b = 0; b < config.batchSize; b++) {
      const index = order.indexAt(position++)
      if (!pairs) items.push(source.get(index))
      else {
        const pair = pairAt(source, index, config.pairObjective as 'nsp' | 'sop', rng)
        items.push(pair.item)
        pairLabels[b] = pair.label
      }
    }
    const batch = buildMlmBatch(items, { maxSeqLength: config.maxSeqLength, mlmProbability: config.mlmProbability, vocabSize: bert.vocab_size, specials }, rng)
    const shape = [batch.batchSize, batch.seqLength]
    tensors.set(`input_ids.${k}`, { dtype: 'I32', shape, data: batch.inputIds })
    tensors.set(`attention_mask.${k}`, { dtype: 'I32', shape, data: batch.attentionMask })
    tensors.set(`token_type_ids.${k}`, { dtype: 'I32', shape, data: batch.tokenTypeIds })
    tensors.set(`labels.${k}`, { dtype: 'I32', shape, data: batch.labels })
    if (pairs) tensors.set(`pair_labels.${k}`, { dtype: 'I32', shape: [batch.batchSize], data: pairLabels })
  }
  await writeSafetensors(path, tensors)
}

/** The weights the local engine starts a fresh run from (initWeights with the run's seed). */
export async function exportInitialWeights(config: TrainConfig, bert: BertConfig, path: string): Promise<void> {
  const weights = initWeights({ config: bert, heads: pretrainingHeads(config), pooler: true }, config.seed)
  try {
    await writeSafetensors(path, await weightsToTensors(weights), { format: 'pt' })
  } finally {
    disposeWeights(weights)
  }
}
