// Run presets for `mengzi train --preset NAME`: Mengzi-style MLM pretraining (LAMB, linear warm-up
// then decay, 15% masking, no NSP) at the three fixed model sizes. Data comes from the command line.
import type { TrainConfigInput } from './config'

export const TRAIN_PRESETS: Record<string, Omit<TrainConfigInput, 'data'>> = {
  // 2 layers, hidden 128: minutes on a laptop CPU for a first curve
  A: { name: 'mengzi-A', model: { preset: 'A' }, optimizer: 'lamb', learningRate: 2e-3, batchSize: 16, maxSeqLength: 128, totalSteps: 2000, checkpointEvery: 200 },
  // 4 layers, hidden 256
  B: { name: 'mengzi-B', model: { preset: 'B' }, optimizer: 'lamb', learningRate: 1e-3, batchSize: 16, maxSeqLength: 128, totalSteps: 10000, checkpointEvery: 500 },
  // bert-base size: for a GPU backend; accumulate gradients to reach a LAMB-sized batch
  BASE: { name: 'mengzi-base', model: { preset: 'BASE' }, optimizer: 'lamb', learningRate: 1e-3, batchSize: 32, gradientAccumulation: 8, maxSeqLength: 128, totalSteps: 100000, checkpointEvery: 1000 },
}
