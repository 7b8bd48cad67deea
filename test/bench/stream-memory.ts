// Peak memory of a training run against corpus size: `npx tsx test/bench/stream-memory.ts [--sizes 10,200]
// [--steps 20] [--json]`. For each size (MB of UTF-8 text, unique lines made from fortunes-zh /
// chinese-poetry sentences) a dataset folder is written in the importer's shard format, then a child
// process trains the `tiny` model (MLM, wasm) for a few steps and reports its peak RSS, twice:
//   streamed   data kind "dataset": token shards built on first use (streaming), read block by block
//   cached     the same, a second run: the shards exist, so this is training alone
//   in-memory  data kind "text-file": the earlier path, the whole text tokenized into memory at start
//   build      the token-shard build alone (buildTokenShards, no model, no tfjs): its own footprint
// Not a test: it takes minutes and the numbers depend on the machine.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,200' },
    steps: { type: 'string', default: '20' },
    modes: { type: 'string', default: 'build,streamed,cached,in-memory' },
    json: { type: 'boolean', default: false },
    child: { type: 'string' }, // internal: "<mode>:<dir>"
  },
})

if (args.child) {
  const [mode, dir] = args.child.split(/:(.*)/s)
  if (mode === 'build') {
    const { buildTokenShards } = await import('../../engine/train/shard-build')
    const { defaultVocabPath } = await import('../../engine/text/default-vocab')
    const { TRAIN_PRESETS } = await import('../../engine/train/presets')
    const t0 = performance.now()
    // the segment length a `tiny` run asks for; removed after, so the next mode builds again
    const built = await buildTokenShards(dir, { vocabFile: defaultVocabPath(), maxSegmentTokens: TRAIN_PRESETS.tiny.maxSeqLength! - 2 })
    fs.rmSync(built, { recursive: true, force: true })
    const seconds = (performance.now() - t0) / 1000
    process.stdout.write(JSON.stringify({ peakRssMB: process.resourceUsage().maxRSS / 1024, seconds, startSeconds: seconds }) + '\n')
    process.exit(0)
  }
  const { useBackend } = await import('../../engine/train/backend')
  const { parseTrainConfig } = await import('../../engine/train/config')
  const { train } = await import('../../engine/train/loop')
  const { TRAIN_PRESETS } = await import('../../engine/train/presets')
  const { defaultVocabPath } = await import('../../engine/text/default-vocab')
  await useBackend('wasm')
  const data = mode !== 'in-memory' ? { kind: 'dataset', dir } : { kind: 'text-file', path: path.join(dir, 'corpus.txt'), vocab: defaultVocabPath() }
  const config = parseTrainConfig({ ...TRAIN_PRESETS.tiny, data, totalSteps: Number(args.steps), checkpointEvery: 0, evalEvery: 0 })
  const t0 = performance.now()
  let firstStep = 0
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-mem-run-'))
  await train(config, { runDir }, { progress: (p) => (firstStep ||= performance.now()) && p })
  fs.rmSync(runDir, { recursive: true, force: true })
  const seconds = (performance.now() - t0) / 1000
  const startSeconds = (firstStep - t0) / 1000
  process.stdout.write(JSON.stringify({ peakRssMB: process.resourceUsage().maxRSS / 1024, seconds, startSeconds }) + '\n')
  process.exit(0)
}

const { ShardWriter } = await import('../../engine/data/shards')
const { localChineseDocuments } = await import('../../engine/text/local-corpus')

/** Sentences of the local corpora, combined into unique lines until `bytes` of text are written. */
async function writeCorpus(dir: string, bytes: number): Promise<number> {
  const sentences: string[] = []
  for await (const doc of localChineseDocuments()) {
    for (const s of doc.split(/(?<=[。！？\n])/)) if (s.trim().length > 4) sentences.push(s.trim())
    if (sentences.length > 200_000) break
  }
  const writer = new ShardWriter(dir, false)
  const fd = fs.openSync(path.join(dir, 'corpus.txt'), 'w')
  let written = 0
  let i = 0
  let x = 12345
  while (written < bytes) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    const line = `${sentences[i % sentences.length]}${sentences[x % sentences.length]}（${i}）`
    writer.write(i % 100 === 0 ? 'dev' : 'train', { text: line })
    const b = Buffer.from(line + '\n')
    fs.writeSync(fd, b)
    written += b.length
    i++
  }
  fs.closeSync(fd)
  writer.finish()
  return i
}

const rows: { sizeMB: number; lines: number; mode: string; peakRssMB: number; startSeconds: number; seconds: number }[] = []
for (const size of args.sizes!.split(',').map(Number)) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mengzi-mem-${size}mb-`))
  try {
    const lines = await writeCorpus(dir, size * 2 ** 20)
    for (const mode of args.modes!.split(',')) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', `${mode}:${dir}`, '--steps', args.steps!], { encoding: 'utf8', maxBuffer: 1 << 24 })
      if (r.status !== 0) throw new Error(`${mode} ${size} MB: ${r.stderr.slice(-2000)}`)
      const m = JSON.parse(r.stdout.trim().split('\n').pop()!)
      rows.push({ sizeMB: size, lines, mode, ...m })
      if (!args.json) process.stderr.write(`${size} MB ${mode}: peak RSS ${m.peakRssMB.toFixed(0)} MB\n`)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
if (args.json) console.log(JSON.stringify({ steps: Number(args.steps), model: 'tiny (2×128, seq 64, batch 16, wasm)', rows }))
else {
  console.log(`tiny model, ${args.steps} steps, wasm; node ${process.version}`)
  console.log('| text MB | lines | data path | peak RSS MB | seconds to first step | total seconds |')
  console.log('|---|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.sizeMB} | ${r.lines} | ${r.mode} | ${r.peakRssMB.toFixed(0)} | ${r.startSeconds.toFixed(1)} | ${r.seconds.toFixed(1)} |`)
}
