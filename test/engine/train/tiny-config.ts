// The tiny BERT and run config the training-loop tests share: small enough for the cpu backend.
import { parseTrainConfig, type TrainConfigInput } from '../../../engine/train/config'

export const TINY_BERT = {
  vocab_size: 140,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 64,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 32,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
}

export function tinyConfig(overrides: Partial<TrainConfigInput> = {}) {
  return parseTrainConfig({
    model: { config: TINY_BERT },
    data: { kind: 'synthetic', sequences: 40, minLength: 4, maxLength: 20, seed: 3 },
    backend: 'cpu',
    maxSeqLength: 24,
    optimizer: 'lamb',
    learningRate: 1e-3,
    batchSize: 4,
    totalSteps: 10,
    checkpointEvery: 0,
    ...overrides,
  })
}
