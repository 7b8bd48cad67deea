// A worker thread that trains a tiny BERT for two steps on wasm with the native kernels (their thread
// pool included), as a training job's worker does, and reports the loss.
import { parentPort, workerData } from 'node:worker_threads'
import { nativeStatus } from '../../../engine/compute/native'
import { useBackend } from '../../../engine/train/backend'
import { parseTrainConfig } from '../../../engine/train/config'
import { train } from '../../../engine/train/loop'

const { runDir } = workerData as { runDir: string }
if (!nativeStatus().available) parentPort!.postMessage({ skipped: true })
else {
  await useBackend('wasm')
  const model = { config: { vocab_size: 1000, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64 } }
  const data = { kind: 'synthetic', sequences: 32, minLength: 8, maxLength: 30, seed: 1 }
  const config = parseTrainConfig({ model, data, backend: 'wasm', optimizer: 'adamw', batchSize: 8, maxSeqLength: 32, totalSteps: 2, checkpointEvery: 0 })
  const result = await train(config, { runDir })
  parentPort!.postMessage({ loss: result.losses.at(-1) })
}
