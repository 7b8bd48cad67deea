// What tfjs-webgpu's buffer pool holds over a training run whose batch shapes change every step
// (lengths and masked counts vary), with the bound (engine/compute/webgpu/buffer-pool.ts) and without.
// Each mode runs in a fresh process, so neither starts with the other's buffers.
//   XDG_RUNTIME_DIR=/tmp/xdg npx tsx test/bench/webgpu-pool.ts [--steps N] [--batch N] [--max-length N]
//     [--model tiny|A|B|BASE] [--hidden N] [--layers N] [--json]
// --model tiny (the default) is the tests' tiny BERT (vocab 140) at --hidden × --layers; A, B and BASE are
// the bench configs (vocab 21128: the MLM logits of BERT-BASE's size; test/bench/gpu-vs-torch.sh runs
// BASE on a GPU). A mode that fails (out of memory, say) is reported with the end of its stderr.
import * as tf from '@tensorflow/tfjs'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { selectBackend } from '../../engine/compute/backends'
import { bufferPoolCounts, setBufferPoolBound } from '../../engine/compute/webgpu/buffer-pool'
import { train } from '../../engine/train/loop'
import { parseTrainConfig } from '../../engine/train/config'
import { TINY_BERT } from '../engine/train/tiny-config'
import { BENCH_CONFIGS } from '../../engine/model/config'

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '60' },
    batch: { type: 'string', default: '4' },
    'max-length': { type: 'string', default: '64' },
    model: { type: 'string', default: 'tiny' },
    hidden: { type: 'string', default: '32' },
    layers: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    mode: { type: 'string' }, // bounded | unbounded: one run, in this process (the parent starts these)
  },
})

interface ModeResult { mode: string; heldMB: number[]; inUseMB: number; peakInUseMB: number; destroyed: number; msPerStep: number; losses: number[] }
interface ModeFailure { mode: string; failed: string }
if (!['tiny', 'A', 'B', 'BASE'].includes(args.model!)) throw new Error(`--model: tiny, A, B or BASE, not ${args.model}`)

async function runMode(mode: 'bounded' | 'unbounded'): Promise<ModeResult> {
  setBufferPoolBound(mode === 'bounded')
  const selection = await selectBackend('webgpu')
  if (selection.name !== 'webgpu') throw new Error(`no webgpu: ${selection.skipped.map((s) => s.reason).join('; ')}`)
  const maxLength = Number(args['max-length'])
  const hidden = Number(args.hidden)
  const bert = args.model === 'tiny'
    ? { ...TINY_BERT, hidden_size: hidden, intermediate_size: 4 * hidden, num_hidden_layers: Number(args.layers), max_position_embeddings: maxLength }
    : BENCH_CONFIGS[args.model as 'A' | 'B' | 'BASE']
  const config = parseTrainConfig({
    model: { config: bert },
    data: { kind: 'synthetic', sequences: 400, minLength: 2, maxLength: maxLength - 2, seed: 3 },
    backend: 'webgpu',
    maxSeqLength: maxLength,
    optimizer: 'adamw',
    learningRate: 1e-3,
    batchSize: Number(args.batch),
    totalSteps: Number(args.steps),
    checkpointEvery: 0,
  })
  const pool = (tf.backend() as unknown as { bufferManager: { numBytesAllocated: number; numBytesUsed: number } }).bufferManager
  const heldMB: number[] = []
  const dir = mkdtempSync(join(tmpdir(), 'mengzi-pool-bench-'))
  const start = performance.now()
  try {
    const result = await train(config, { runDir: dir }, { progress: () => heldMB.push(pool.numBytesAllocated / 1e6) })
    const counts = bufferPoolCounts(tf.backend())!
    return { mode, heldMB, inUseMB: pool.numBytesUsed / 1e6, peakInUseMB: counts.mostInUse / 1e6, destroyed: counts.destroyed, msPerStep: (performance.now() - start) / heldMB.length, losses: result.losses }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (args.mode === 'bounded' || args.mode === 'unbounded') {
  console.log(JSON.stringify(await runMode(args.mode)))
  process.exit(0)
}
const passOn = process.argv.slice(2).filter((a) => a !== '--json')
const results = (['bounded', 'unbounded'] as const).map((mode): ModeResult | ModeFailure => {
  try {
    const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1], ...passOn, '--mode', mode], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return JSON.parse(out.trim().split('\n').at(-1)!) as ModeResult
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n')
    const thrown = stderr.find((l) => /^\w*Error\b/.test(l)) // Node prints the thrown error's name and message on a line of its own
    return { mode, failed: thrown ?? stderr.filter((l) => l.trim() && !l.startsWith('Warning:')).slice(-3).join(' / ') }
  }
})
const ran = results.filter((r): r is ModeResult => !('failed' in r))
const sameLosses = ran.length === 2 ? JSON.stringify(ran[0].losses) === JSON.stringify(ran[1].losses) : null
if (args.json) console.log(JSON.stringify({ steps: Number(args.steps), batch: Number(args.batch), maxLength: Number(args['max-length']), sameLosses, results }))
else {
  const steps = Number(args.steps)
  const at = Array.from({ length: steps }, (_, i) => i).filter((i) => i === 0 || (i + 1) % Math.ceil(steps / 6) === 0 || i === steps - 1)
  const model = args.model === 'tiny' ? `tiny BERT, hidden ${args.hidden} × ${args.layers} layers` : `config ${args.model}`
  console.log(`${steps} steps, batches of ${args.batch} × 2–${Number(args['max-length']) - 2} tokens, ${model}; the same losses: ${sameLosses ?? 'n/a'}`)
  console.log(`| pool | ${at.map((i) => `MB held after step ${i + 1}`).join(' | ')} | MB in use at the end | peak in use | destroyed | ms/step |\n|${'---|'.repeat(at.length + 5)}`)
  for (const r of results) {
    if ('failed' in r) {
      console.log(`| ${r.mode} | failed: ${r.failed.slice(0, 300)} |`)
      continue
    }
    console.log(`| ${r.mode} | ${at.map((i) => r.heldMB[i]?.toFixed(2) ?? '—').join(' | ')} | ${r.inUseMB.toFixed(2)} | ${r.peakInUseMB.toFixed(2)} | ${r.destroyed} | ${r.msPerStep.toFixed(1)} |`)
  }
}
