// The torch engine on CPU, 1 rank against 2 (torchrun, gloo): the same run (global batch, sequence
// length, model) through engine/launch exactly as the workbench starts it, tokens per second from the
// trainer's own metric lines (median over the steps after --warmup).
//   npx tsx test/bench/torch-ranks.ts [--model A|B|BASE] [--batch 16] [--seq 128] [--steps 20] [--warmup 3] [--json]
// Layouts on the same cores: 1 rank × 2 threads, 1 rank × 1 thread, 2 ranks × 1 thread (OMP_WAIT_POLICY=PASSIVE:
// idle OpenMP threads sleep rather than spin on a shared machine). Not a test:
// timings on a shared machine are noisy; the table names what it measured.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { trainWithTorchrun } from '../../engine/launch/local'
import { findTorch } from '../../engine/launch/python'
import { parseTrainConfig } from '../../engine/train/config'

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'A' },
    batch: { type: 'string', default: '16' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
})
const probe = await findTorch()
const seq = Number(args.seq)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows: { ranks: number; threadsPerRank: number; tokensPerSec: number; msPerStep: number }[] = []
for (const [ranks, threads] of [[1, 2], [1, 1], [2, 1]]) {
  const config = parseTrainConfig({
    name: `bench-${ranks}x${threads}`,
    engine: 'torch',
    torch: { nprocPerNode: ranks, maxRestarts: 0 },
    model: { preset: args.model },
    data: { kind: 'synthetic', sequences: 4096, minLength: seq - 2, maxLength: seq - 2, seed: 1 },
    maxSeqLength: seq,
    batchSize: Number(args.batch),
    totalSteps: Number(args.steps),
    checkpointEvery: 0,
  })
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-bench-torch-'))
  const tps: number[] = []
  try {
    await trainWithTorchrun(config, { runDir, env: { OMP_NUM_THREADS: String(threads), MENGZI_TORCH_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' } }, {
      progress: (p) => {
        if (p.step > Number(args.warmup)) tps.push(p.tokensPerSec)
      },
    })
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true })
  }
  const tokensPerSec = median(tps)
  rows.push({ ranks, threadsPerRank: threads, tokensPerSec, msPerStep: (Number(args.batch) * seq * 1000) / tokensPerSec })
}
const meta = { torch: probe.torch, python: probe.python, cpus: os.cpus().length, model: args.model, globalBatch: Number(args.batch), seq, steps: Number(args.steps), warmup: Number(args.warmup) }
if (args.json) console.log(JSON.stringify({ ...meta, rows }))
else {
  console.log(`torch ${meta.torch} (${meta.python}), ${meta.cpus} CPUs; model ${meta.model}, global batch ${meta.globalBatch} × ${seq} tokens, median of steps ${meta.warmup + 1}–${meta.steps}`)
  console.log('ranks  threads/rank  tokens/s  ms/step')
  for (const r of rows) console.log(`${String(r.ranks).padEnd(7)}${String(r.threadsPerRank).padEnd(14)}${r.tokensPerSec.toFixed(0).padStart(8)}  ${r.msPerStep.toFixed(0).padStart(7)}`)
}
