// How close the Fine-tune form's time estimate (engine/train/finetune-estimate.ts: FLOPs ÷ the rate of a
// calibration step of model A) comes to the steps real fine-tuning runs take on this machine. Data: Tang
// and Song poems from chinese-poetry as a TNEWS-shaped 2-class task (real Chinese text of varied length);
// models: random BERTs of the bench sizes A (2×128) and B (4×256) over the bundled vocab; each run without
// a strategy, with distillation (the model as its own teacher) and with SMART. Prints a table of estimated
// against measured ms per step (median of the steps after the first two), JSON with --json.
//   npx tsx test/bench/finetune-estimate.ts [--backend wasm] [--train 160] [--batch 16] [--max-length 128] [--json]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import * as OpenCC from 'opencc-js'
import { selectBackend } from '../../engine/compute/backends'
import { Rng } from '../../engine/compute/rng'
import { BENCH_CONFIGS, type BertConfig } from '../../engine/model/config'
import { checkpointFromTensors, writeHfCheckpoint } from '../../engine/model/hf-checkpoint'
import { initialValue, parameterShapes } from '../../engine/model/weights'
import { defaultVocabPath } from '../../engine/text/default-vocab'
import { calibrateTraining } from '../../engine/train/estimate'
import { finetune } from '../../engine/train/finetune'
import { parseFinetuneConfig } from '../../engine/train/finetune-config'
import { finetuneCounts } from '../../engine/train/finetune-counts'
import { estimateFinetune } from '../../engine/train/finetune-estimate'
import { importCorpus } from '../../engine/data/import'
import { dataLayout } from '../../engine/paths'
import { openDatabase } from '../../engine/store/db'

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    train: { type: 'string', default: '160' },
    batch: { type: 'string', default: '16' },
    'max-length': { type: 'string', default: '128' },
    json: { type: 'boolean', default: false },
  },
})
const log = (s: string) => process.stderr.write(`${s}\n`)
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-ft-estimate-'))
const backend = (await selectBackend(args.backend as 'wasm')).name

// --- a TNEWS-shaped task from real poems: which dynasty, from one to four of a poem's lines ---
const poetry = path.resolve(import.meta.dirname, '../../node_modules/chinese-poetry/dist/quantangshi')
const t2s = OpenCC.Converter({ from: 't', to: 'cn' })
const rng = new Rng(7)
const poems = (prefix: string) =>
  (JSON.parse(fs.readFileSync(path.join(poetry, `${prefix}.0.json`), 'utf8')) as { paragraphs: string[] }[]).map((p) => p.paragraphs.map((l) => t2s(l)).filter(Boolean)).filter((ls) => ls.length >= 4)
const records = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => {
    const label = i % 2 ? '101' : '100'
    const from = poems(label === '100' ? 'poet.tang' : 'poet.song')
    const lines = from[(offset + i) % from.length]
    return { label, label_desc: label === '100' ? 'tang' : 'song', sentence: lines.slice(0, 1 + rng.int(4)).join(''), keywords: '', id: i }
  })
const train = Number(args.train)
const src = path.join(home, 'src', 'poems')
fs.mkdirSync(src, { recursive: true })
fs.writeFileSync(path.join(src, 'train.json'), records(train, 0).map((r) => JSON.stringify(r)).join('\n'))
fs.writeFileSync(path.join(src, 'dev.json'), records(32, train).map((r) => JSON.stringify(r)).join('\n'))
const db = openDatabase(dataLayout(home).database)
const imported = await importCorpus([src], { name: 'poems', dedup: 'none' }, { db, layout: dataLayout(home) })
db.close()
const data = imported.dataset!.dir

async function model(name: 'A' | 'B'): Promise<string> {
  const vocab = fs.readFileSync(defaultVocabPath(), 'utf8').split('\n').filter(Boolean)
  const config = { ...BENCH_CONFIGS[name], vocab_size: vocab.length, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, tie_word_embeddings: true }
  const r = new Rng(11)
  const tensors = new Map([...parameterShapes({ config, heads: [], pooler: true })].map(([n, shape]) => [n, { shape, data: initialValue(n, shape, config, r) }]))
  const dir = path.join(home, `model-${name}`)
  await writeHfCheckpoint(dir, checkpointFromTensors(config, vocab, true, tensors))
  return dir
}

log(`calibrating ${backend}…`)
const calibration = await calibrateTraining(backend as 'wasm')
log(calibration.measured)
interface Row { model: string; strategy: string; meanLength: number; estimatedMs: number; measuredMs: number; ratio: number }
const rows: Row[] = []
for (const size of ['A', 'B'] as const) {
  const init = await model(size)
  const bert = JSON.parse(fs.readFileSync(path.join(init, 'config.json'), 'utf8')) as BertConfig
  for (const [strategy, strategies] of [['none', {}], ['distill', { distill: { teacher: init } }], ['smart', { smart: {} }]] as const) {
    const config = parseFinetuneConfig({ task: 'tnews', dataDir: data, init, backend, epochs: 1, batchSize: Number(args.batch), maxSeqLength: Number(args['max-length']), strategies })
    const estimate = estimateFinetune(config, bert, await finetuneCounts(config), strategy === 'distill' ? bert : null, calibration)
    const at: number[] = []
    await finetune(config, { runDir: path.join(home, `run-${size}-${strategy}`) }, { progress: (p) => (at[p.step] = p.elapsedSeconds) })
    const steps = at.map((t, i) => t - at[i - 1]).filter((d, i) => i > 2 && Number.isFinite(d)).sort((a, b) => a - b)
    const measuredMs = 1000 * steps[Math.floor(steps.length / 2)]
    const estimatedMs = 1000 * estimate.secondsPerStep!
    rows.push({ model: size, strategy, meanLength: estimate.meanBatchLength, estimatedMs, measuredMs, ratio: measuredMs / estimatedMs })
    log(`${size} ${strategy}: estimated ${estimatedMs.toFixed(1)} ms, measured ${measuredMs.toFixed(1)} ms`)
  }
}
fs.rmSync(home, { recursive: true, force: true })
if (args.json) console.log(JSON.stringify({ backend, calibration, rows }))
else {
  console.log(`${backend}; ${calibration.measured}; ${train} examples, batch ${args.batch}, max length ${args['max-length']}`)
  console.log('| model | strategy | mean batch length | estimated ms/step | measured ms/step | measured ÷ estimated |')
  console.log('|---|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.model} | ${r.strategy} | ${r.meanLength.toFixed(1)} | ${r.estimatedMs.toFixed(1)} | ${r.measuredMs.toFixed(1)} | ${r.ratio.toFixed(2)} |`)
}
