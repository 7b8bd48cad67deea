// The BERT configuration, field for field HuggingFace's BertConfig (config.json), so that a
// checkpoint's config loads and saves without translation. Defaults are bert-base-chinese's.
export interface BertConfig {
  vocab_size: number // 21128 for bert-base-chinese's vocab
  hidden_size: number // 768
  num_hidden_layers: number // 12
  num_attention_heads: number // 12; must divide hidden_size
  intermediate_size: number // 3072, the feed-forward width
  hidden_act: 'gelu' // GELU with erf, as HF's "gelu"
  hidden_dropout_prob: number // 0.1
  attention_probs_dropout_prob: number // 0.1
  max_position_embeddings: number // 512
  type_vocab_size: number // 2
  initializer_range: number // 0.02, std of the normal init (HF draws from a plain normal)
  layer_norm_eps: number // 1e-12
  pad_token_id: number // 0
  position_embedding_type: 'absolute'
  /** Task heads record their labels here (HF's id2label/label2id), keyed by the stringified id. */
  id2label?: Record<string, string>
  label2id?: Record<string, number>
  architectures?: string[]
}

export const BERT_BASE_CHINESE: BertConfig = {
  vocab_size: 21128,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
}

/** The three fixed benchmark models (`mengzi bench train --config A|B|BASE`). */
export const BENCH_CONFIGS: Record<'A' | 'B' | 'BASE', BertConfig> = {
  A: { ...BERT_BASE_CHINESE, num_hidden_layers: 2, hidden_size: 128, num_attention_heads: 2, intermediate_size: 512 },
  B: { ...BERT_BASE_CHINESE, num_hidden_layers: 4, hidden_size: 256, num_attention_heads: 4, intermediate_size: 1024 },
  BASE: { ...BERT_BASE_CHINESE },
}
