// Run presets for `mengzi train --preset NAME`: Mengzi-style pretraining (linear warm-up then decay,
// 15% masking, no NSP by default). Data comes from the command line; `--set` changes any field.
import type { TrainConfigInput } from './config'

export const TRAIN_PRESETS: Record<string, Omit<TrainConfigInput, 'data'>> = {
  // 2 × 128 at sequence 64: learns visibly in about a minute on 2 cores. In its first ~300 steps the
  // model learns only character frequencies (the MLM loss sinks to the text's unigram entropy, below 7
  // on real Chinese text); SOP stays at chance until the MLM loss leaves that plateau. On the Analects
  // that took 200–500 steps with MLM + SOP, and with POS and NE added, which delay it, 350–600 (one seed
  // of nine ~900), but only over a schedule of 1,000 steps: over 600 the decaying learning rate left
  // 3 of 3 seeds at chance; hence 1,000 steps. β2 0.98 (RoBERTa's): with 0.999, 1 of 4 seeds never
  // left chance on SOP in 600 steps of MLM + SOP; with 0.98, none (README, "Presets"). wasm: a 2-layer
  // model is fastest on the CPU kernels, and the backend ladder may offer a software WebGPU adapter
  tiny: { name: 'tiny', model: { preset: 'tiny' }, backend: 'wasm', optimizer: 'adamw', learningRate: 2e-3, warmupRatio: 0.06, weightDecay: 0.01, beta2: 0.98, batchSize: 16, maxSeqLength: 64, totalSteps: 1000, checkpointEvery: 250, evalEvery: 250, evalBatches: 4 },
  // 4 × 256: an evening on a laptop CPU
  small: { name: 'small', model: { preset: 'small' }, optimizer: 'lamb', learningRate: 5e-3, warmupRatio: 0.06, batchSize: 32, maxSeqLength: 128, totalSteps: 5000, checkpointEvery: 500, evalEvery: 500 },
  // the Mengzi report's base model: BERT-base shape, LAMB, sequence 128 (then continue at 512 with
  // --set maxSeqLength=512 and initFrom the first stage's run); for a GPU backend or the torch engine
  'mengzi-base': { name: 'mengzi-base', model: { preset: 'mengzi-base' }, optimizer: 'lamb', learningRate: 1e-3, warmupRatio: 0.01, batchSize: 32, gradientAccumulation: 8, maxSeqLength: 128, totalSteps: 100000, checkpointEvery: 1000, evalEvery: 1000 },
  // the benchmark sizes, kept for `mengzi bench` comparisons
  // 2 layers, hidden 128
  A: { name: 'mengzi-A', model: { preset: 'A' }, optimizer: 'lamb', learningRate: 2e-3, batchSize: 16, maxSeqLength: 128, totalSteps: 2000, checkpointEvery: 200 },
  // 4 layers, hidden 256
  B: { name: 'mengzi-B', model: { preset: 'B' }, optimizer: 'lamb', learningRate: 1e-3, batchSize: 16, maxSeqLength: 128, totalSteps: 10000, checkpointEvery: 500 },
  // bert-base size: for a GPU backend; accumulate gradients to reach a LAMB-sized batch
  BASE: { name: 'mengzi-base', model: { preset: 'BASE' }, optimizer: 'lamb', learningRate: 1e-3, batchSize: 32, gradientAccumulation: 8, maxSeqLength: 128, totalSteps: 100000, checkpointEvery: 1000 },
}
