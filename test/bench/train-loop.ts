// The full training loop (engine/train/loop.ts: masking, forward, backward, clipping, LAMB, metrics)
// per backend: `npx tsx test/bench/train-loop.ts [--model tiny|A|B|BASE] [--backends cpu,wasm]
// [--steps N] [--batch B] [--seq T] [--json]`. Not a test: timings on a shared machine are noisy.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { selectBackend, type BackendPreference } from '../../engine/compute/backends'
import { parseTrainConfig } from '../../engine/train/config'
import { train } from '../../engine/train/loop'

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: 'cpu,wasm' },
    model: { type: 'string', default: 'tiny' }, // tiny (hf-bert-tiny's size) or a bench config A, B, BASE
    steps: { type: 'string', default: '20' },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
  },
})
const fixtureConfig = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../fixtures/hf-bert-tiny/config.json'), 'utf8'))
const model = args.model === 'tiny' ? { config: fixtureConfig } : { preset: args.model }
const steps = Number(args.steps)
const rows: { backend: string; msPerStep: number; stepsPerSec: number; tokensPerSec: number }[] = []
for (const name of args.backends!.split(',') as BackendPreference[]) {
  const backend = await selectBackend(name)
  const config = parseTrainConfig({
    model,
    data: { kind: 'synthetic', sequences: 512, minLength: Number(args.seq) - 2, maxLength: Number(args.seq) - 2, seed: 1 },
    backend: name,
    maxSeqLength: Number(args.seq),
    batchSize: Number(args.batch),
    totalSteps: steps + 2,
    checkpointEvery: 0,
  })
  const times: number[] = []
  const tokens: number[] = []
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-bench-loop-'))
  await train(config, { runDir, backend: backend.name, stopAtStep: steps + 2 }, {
    progress: (p) => {
      times.push(performance.now())
      tokens.push(p.tokensPerSec)
    },
  })
  fs.rmSync(runDir, { recursive: true, force: true })
  const timed = times.slice(2) // the first two steps warm up (kernels, moments)
  const msPerStep = (timed[timed.length - 1] - times[1]) / (timed.length)
  rows.push({ backend: backend.name, msPerStep, stepsPerSec: 1000 / msPerStep, tokensPerSec: (Number(args.batch) * Number(args.seq) * 1000) / msPerStep })
}
const modelName = args.model === 'tiny' ? 'hf-bert-tiny size (2×64, 4 heads, FFN 128, vocab 3259)' : `bench config ${args.model}`
if (args.json) console.log(JSON.stringify({ model: modelName, batch: Number(args.batch), seq: Number(args.seq), steps, rows }))
else {
  console.log(`training loop, ${modelName}, batch ${args.batch} × seq ${args.seq}, LAMB, ${steps} timed steps`)
  for (const r of rows) console.log(`${r.backend.padEnd(6)} ${r.msPerStep.toFixed(1).padStart(8)} ms/step  ${r.stepsPerSec.toFixed(2).padStart(6)} steps/s  ${Math.round(r.tokensPerSec)} tokens/s`)
}
