// The warnings a run logs at its start on webgpu for tensors larger than one binding may be
// (estimate.ts bindingLimitWarnings): BERT-BASE's sizes against lavapipe's 128 MiB limit.
import { describe, expect, it } from 'vitest'
import { BERT_BASE_CHINESE } from '../../../engine/model/config'
import { bindingLimitWarnings, largestStepTensors } from '../../../engine/train/estimate'

const MiB128 = 134_217_728

describe('binding-limit warnings', () => {
  it('BERT-BASE at 32 × 512 with MLM: the feed-forward activations, the Q, K, V projections and the logits are over 128 MiB; the embeddings are not', () => {
    const shape = { sequences: 32, seqLength: 512, maskedPerSequence: Math.round(0.15 * 510) }
    expect(largestStepTensors(BERT_BASE_CHINESE, shape).map((t) => [t.what, t.shape, t.bytes])).toEqual([
      ['the feed-forward activations', [16384, 3072], 16384 * 3072 * 4],
      ['the Q, K, V projections', [16384, 2304], 16384 * 2304 * 4],
      ['the word embeddings', [21128, 768], 21128 * 768 * 4],
      ["the MLM decoder's logits", [2464, 21128], 2464 * 21128 * 4],
    ])
    expect(bindingLimitWarnings(BERT_BASE_CHINESE, shape, MiB128)).toEqual([
      'warning: at full length (32 × 512 tokens per micro-batch) the feed-forward activations would be a [16384, 3072] float32 tensor that takes 201.3 MB, more than one kernel may bind on this adapter (maxStorageBufferBindingSize 134.2 MB); a batch that long will fail the run. Fewer tokens per micro-batch (batchSize or maxSeqLength, with gradientAccumulation to keep the batch) would fit',
      'warning: at full length (32 × 512 tokens per micro-batch) the Q, K, V projections would be a [16384, 2304] float32 tensor that takes 151.0 MB, more than one kernel may bind on this adapter (maxStorageBufferBindingSize 134.2 MB); a batch that long will fail the run. Fewer tokens per micro-batch (batchSize or maxSeqLength, with gradientAccumulation to keep the batch) would fit',
      "warning: at full length (32 × 512 tokens per micro-batch) the MLM decoder's logits would be a [2464, 21128] float32 tensor that takes 208.2 MB, more than one kernel may bind on this adapter (maxStorageBufferBindingSize 134.2 MB); a batch that long will fail the run. Fewer tokens per micro-batch (batchSize or maxSeqLength, with gradientAccumulation to keep the batch) would fit",
    ])
  })

  it('no warning at 32 × 128 or under a 2 GiB limit; without MLM no logits; a vocabulary too large warns whatever the batch', () => {
    expect(bindingLimitWarnings(BERT_BASE_CHINESE, { sequences: 32, seqLength: 128, maskedPerSequence: 19 }, MiB128)).toEqual([])
    expect(bindingLimitWarnings(BERT_BASE_CHINESE, { sequences: 32, seqLength: 512, maskedPerSequence: 77 }, 2 ** 31)).toEqual([])
    expect(largestStepTensors(BERT_BASE_CHINESE, { sequences: 8, seqLength: 128, maskedPerSequence: 0 }).map((t) => t.what)).not.toContain("the MLM decoder's logits")
    const wide = { ...BERT_BASE_CHINESE, vocab_size: 50_000, hidden_size: 1024, intermediate_size: 4096 }
    expect(bindingLimitWarnings(wide, { sequences: 1, seqLength: 16, maskedPerSequence: 0 }, MiB128)).toEqual([
      'warning: the word embeddings are a [50000, 1024] float32 tensor that takes 204.8 MB, more than one kernel may bind on this adapter (maxStorageBufferBindingSize 134.2 MB); the run will fail at its first step. A smaller vocab_size or hidden_size would fit',
    ])
  })
})
