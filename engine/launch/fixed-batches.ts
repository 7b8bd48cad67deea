// The local engine's training stream, materialised: the exact micro-batches engine/train/loop.ts builds
// for a run (same segment stream, same masking RNG, same pair sampling — its own drawBatch) and the
// weights it starts from, written as safetensors. The torch trainer replays them (`data: {kind: 'fixed'}`),
// so both engines see identical inputs — the parity test's ground. Dropout must be off: the local engine
// draws dropout seeds from the same RNG as the masking, interleaved with the forward passes.
import type { TensorToWrite } from '../model/safetensors'
import { writeSafetensors } from '../model/safetensors'
import type { BertConfig } from '../model/config'
import { disposeWeights, initWeights, weightsToTensors } from '../model/weights'
import { Rng } from '../compute/rng'
import { activeObjectives, type TrainConfig } from '../train/config'
import { drawBatch, openSegments } from '../train/loop'
import { headsFor } from '../train/objectives'
import { segmentTokensOf } from './shards'
import { SegmentStream } from '../train/stream'
import { badInput } from '../errors'

/** Writes `steps × gradientAccumulation` micro-batches as `<key>.<k>` (k = step·accumulation + micro). */
export async function exportFixedBatches(config: TrainConfig, bert: BertConfig, steps: number, path: string): Promise<void> {
  if (bert.hidden_dropout_prob > 0 || bert.attention_probs_dropout_prob > 0) {
    throw badInput('fixed batches: the model has dropout; the local engine draws its masks from the masking RNG, so set hidden_dropout_prob and attention_probs_dropout_prob to 0')
  }
  const objectives = activeObjectives(config)
  const opened = await openSegments(config, bert, segmentTokensOf(config))
  try {
    const stream = new SegmentStream(opened.train, config.seed)
    const rng = new Rng((config.seed ^ 0x6d656e67) >>> 0) // loop.ts's training RNG
    const options = { maxSeqLength: config.maxSeqLength, mlmProbability: config.mlmProbability, vocabSize: bert.vocab_size, specials: opened.specials, wholeWordMask: config.wholeWordMask }
    const tensors = new Map<string, TensorToWrite>()
    let position = 0
    for (let k = 0; k < steps * config.gradientAccumulation; k++) {
      const { batch, nspLabels, sopLabels } = drawBatch(() => stream.at(position++), config.batchSize, objectives, options, rng)
      const shape = [batch.batchSize, batch.seqLength]
      const perRow = [batch.batchSize]
      tensors.set(`input_ids.${k}`, { dtype: 'I32', shape, data: batch.inputIds })
      tensors.set(`attention_mask.${k}`, { dtype: 'I32', shape, data: batch.attentionMask })
      tensors.set(`token_type_ids.${k}`, { dtype: 'I32', shape, data: batch.tokenTypeIds })
      tensors.set(`labels.${k}`, { dtype: 'I32', shape, data: batch.labels })
      tensors.set(`pos_labels.${k}`, { dtype: 'I32', shape, data: batch.posLabels })
      tensors.set(`ner_labels.${k}`, { dtype: 'I32', shape, data: batch.nerLabels })
      tensors.set(`nsp_labels.${k}`, { dtype: 'I32', shape: perRow, data: nspLabels })
      tensors.set(`sop_labels.${k}`, { dtype: 'I32', shape: perRow, data: sopLabels })
      tensors.set(`units.${k}`, { dtype: 'I32', shape: perRow, data: batch.units })
      tensors.set(`units_hit.${k}`, { dtype: 'I32', shape: perRow, data: batch.unitsHit })
    }
    await writeSafetensors(path, tensors)
  } finally {
    opened.train.close()
    opened.dev?.close()
  }
}

/** The weights the local engine starts a fresh run from (initWeights with the run's seed). */
export async function exportInitialWeights(config: TrainConfig, bert: BertConfig, path: string): Promise<void> {
  const weights = initWeights({ config: bert, heads: headsFor(activeObjectives(config)), pooler: true }, config.seed)
  try {
    await writeSafetensors(path, await weightsToTensors(weights), { format: 'pt' })
  } finally {
    disposeWeights(weights)
  }
}
