// The fine-tuning demonstration on real Chinese text no one labelled for us (chinese-poetry, converted to
// simplified with OpenCC): a 3-way classification in TNEWS fields (Tang shi / Song shi / Song ci, from
// the poem's first lines) and a pair task in AFQMC fields (are two lines from the same poem?). A tiny BERT
// (preset A: 2 layers, hidden 128, the bundled vocab) is first pretrained with MLM on other poems and the
// classics; then each task is fine-tuned without and with each strategy. Prints dev accuracy against the
// majority class as a table (--json: one JSON object).
//   npx tsx test/bench/finetune-demo.ts [--out DIR] [--pretrain-steps 1000] [--epochs 3] [--lr 5e-4]
//     [--batch 32] [--train 300] [--dev 100] [--backend wasm] [--pretrained HF_DIR] [--json]
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import { parseArgs } from 'node:util'
import * as OpenCC from 'opencc-js'
import { Rng } from '../../engine/compute/rng'
import { spawnSync } from 'node:child_process'
import { defaultVocabPath } from '../../engine/text/default-vocab'

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    'pretrain-steps': { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '3' },
    lr: { type: 'string', default: '5e-4' },
    batch: { type: 'string', default: '32' },
    train: { type: 'string', default: '300' }, // per class (pairs: per label)
    dev: { type: 'string', default: '100' },
    backend: { type: 'string', default: 'wasm' },
    json: { type: 'boolean', default: false },
    // skip pretraining: start from this HF folder (e.g. an earlier demo's runs/1/checkpoints/step-…)
    pretrained: { type: 'string' },
  },
})
const log = (s: string) => process.stderr.write(`${s}\n`)
const out = args.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-demo-'))
fs.mkdirSync(out, { recursive: true })
const poetry = path.resolve(import.meta.dirname, '../../node_modules/chinese-poetry/dist')
const t2s = OpenCC.Converter({ from: 't', to: 'cn' })
const rng = new Rng(2021)

interface Poem { paragraphs: string[] }
const read = (rel: string): Poem[] => JSON.parse(fs.readFileSync(path.join(poetry, rel), 'utf8')) as Poem[]
const clean = (p: Poem) => p.paragraphs.map((l) => t2s(l).trim()).filter((l) => l && !/[□{}\[\]（）()]/.test(l))
function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[xs[i], xs[j]] = [xs[j], xs[i]]
  }
  return xs
}

// --- the tasks' poems (files 0–4000 of each collection) and the pretraining text (everything else) ---
const files = (dir: string, prefix: string) => fs.readdirSync(path.join(poetry, dir)).filter((f) => f.startsWith(prefix) && /\.\d+\.json$/.test(f)).map((f) => ({ f: `${dir}/${f}`, n: Number(/\.(\d+)\.json$/.exec(f)![1]) }))
const taskFiles = (dir: string, prefix: string) => files(dir, prefix).filter((x) => x.n < 4000).map((x) => x.f)
const pretrainFiles = (dir: string, prefix: string, max: number) => files(dir, prefix).filter((x) => x.n >= 10000 && x.n < max).map((x) => x.f)
const poemsOf = (fs_: string[]) => fs_.flatMap(read).map(clean).filter((ls) => ls.length >= 2)
const tang = shuffle(poemsOf(taskFiles('quantangshi', 'poet.tang.')))
const song = shuffle(poemsOf(taskFiles('quantangshi', 'poet.song.')))
const ci = shuffle(poemsOf(taskFiles('songci', 'ci.song.')))
const perClass = Number(args.train) + Number(args.dev)
if (Math.min(tang.length, song.length, ci.length) < 2 * perClass) throw new Error('not enough poems for the requested sizes')

const firstLines = (ls: string[]) => ls.slice(0, 2).join('').slice(0, 48)
const classes: [string, string, string[][]][] = [['100', 'tang_shi', tang], ['101', 'song_shi', song], ['102', 'song_ci', ci]]
const tnews = (from: number, n: number) =>
  shuffle(classes.flatMap(([label, desc, poems]) => poems.slice(from, from + n).map((ls) => ({ label, label_desc: desc, sentence: firstLines(ls), keywords: '' })))).map((r, id) => ({ ...r, id }))
const nTrain = Number(args.train)
const nDev = Number(args.dev)
// pairs from poems the classification task does not use
const pairPoems = shuffle([...tang.slice(perClass), ...song.slice(perClass)]).filter((ls) => ls.length >= 4)
function pairs(from: number, n: number) {
  const outPairs: Record<string, unknown>[] = []
  for (let i = from; i < from + n; i++) {
    const p = pairPoems[i]
    const q = pairPoems[(i + 1 + rng.int(pairPoems.length - 1)) % pairPoems.length]
    outPairs.push({ sentence1: p[0], sentence2: p[1], label: '1' }, { sentence1: p[2], sentence2: q[3], label: '0' })
  }
  return shuffle(outPairs).map((r, id) => ({ id, ...r }))
}

const write = (dir: string, file: string, items: unknown[]) => {
  fs.mkdirSync(path.join(out, dir), { recursive: true })
  fs.writeFileSync(path.join(out, dir, file), items.map((x) => JSON.stringify(x)).join('\n'))
}
write('poem-dynasty', 'train.json', tnews(0, nTrain))
write('poem-dynasty', 'dev.json', tnews(nTrain, nDev))
write('poem-pairs', 'train.json', pairs(0, nTrain))
write('poem-pairs', 'dev.json', pairs(nTrain, nDev))

// pretraining text: other Tang and Song poems, Song ci, the classics; one poem per line
const corpus = [
  ...poemsOf([...pretrainFiles('quantangshi', 'poet.tang.', 30000), ...pretrainFiles('quantangshi', 'poet.song.', 30000), ...pretrainFiles('songci', 'ci.song.', 21000)]).map((ls) => ls.join('')),
  ...['lunyu/lunyu.json', 'shijing/shijing.json'].flatMap((f) => (JSON.parse(fs.readFileSync(path.join(poetry, f), 'utf8')) as { paragraphs?: string[]; content?: string[] }[]).map((x) => t2s((x.paragraphs ?? x.content ?? []).join('')))),
].filter((l) => l.length >= 8)
const corpusFile = path.join(out, 'pretrain.txt')
fs.writeFileSync(corpusFile, corpus.join('\n'))
log(`data: ${corpus.length} pretraining lines (${(fs.statSync(corpusFile).size / 1e6).toFixed(1)} MB); classification ${3 * nTrain}/${3 * nDev}, pairs ${2 * nTrain}/${2 * nDev} train/dev → ${out}`)

// Each step runs as its own `mengzi` process (as a user would script it): on this machine a second
// training worker in one process hangs in the native kernels' thread pool (see the closing note).
const bin = path.resolve(import.meta.dirname, '../../bin/mengzi.js')
const home = path.join(out, 'home')
function mengzi(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [bin, ...args, '--json'], { env: { ...process.env, MENGZI_HOME: home }, encoding: 'utf8', maxBuffer: 64 << 20 })
  const last = r.stdout.trim().split('\n').at(-1) ?? ''
  if (r.status !== 0) throw new Error(`mengzi ${args.slice(0, 3).join(' ')} failed (${r.status}): ${r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning')).slice(-3).join(' | ')}`)
  return JSON.parse(last) as Record<string, unknown>
}

const imported: Record<string, number> = {}
for (const name of ['poem-dynasty', 'poem-pairs']) {
  const r = mengzi(['import', path.join(out, name), '--name', name, '--dedup', 'none']) as { dataset: { id: number; kind: string; records: number } }
  imported[name] = r.dataset.id
  log(`imported ${name}: dataset ${r.dataset.id} (${r.dataset.kind}, ${r.dataset.records} records)`)
}

// 1. pretrain the tiny model on real text
const pretrainConfig = path.join(out, 'pretrain.json')
fs.writeFileSync(pretrainConfig, JSON.stringify({
  name: 'tiny-poetry',
  model: { preset: 'A' },
  data: { kind: 'text-file', path: corpusFile, vocab: defaultVocabPath() },
  backend: args.backend,
  optimizer: 'lamb',
  learningRate: 2e-3,
  maxSeqLength: 64,
  batchSize: 32,
  totalSteps: Number(args['pretrain-steps']),
  checkpointEvery: 0,
  logEvery: 50,
}))
const t0 = Date.now()
let pre: { runId: number | null; step: number | null; loss: number | null; from?: string }
let model: { id: number } | undefined
if (args.pretrained) {
  const state = JSON.parse(fs.readFileSync(path.join(args.pretrained, 'trainer_state.json'), 'utf8')) as { step: number; lastLoss?: number }
  pre = { runId: null, step: state.step, loss: state.lastLoss ?? null, from: args.pretrained }
  model = mengzi(['model', 'import', args.pretrained, '--name', 'tiny-poetry']) as { id: number }
} else {
  pre = mengzi(['train', '--config', pretrainConfig]) as { runId: number; step: number; loss: number }
  const models = mengzi(['models']) as unknown
  model = (Array.isArray(models) ? models : []).find((m: { name: string }) => m.name.includes(`run ${pre.runId}`)) as { id: number } | undefined
}
const pretrainSeconds = (Date.now() - t0) / 1000
if (!model) throw new Error('the pretrained model was not registered')
log(`pretrained ${pre.from ?? `run ${pre.runId}`}: ${pre.step} steps, final MLM loss ${pre.loss?.toFixed(3)}, ${pretrainSeconds.toFixed(0)} s → model ${model.id}`)

// 2. fine-tune: each strategy on its own
const base = ['--set', `learningRate=${args.lr}`, '--set', `batchSize=${args.batch}`, '--set', `epochs=${args.epochs}`, '--set', 'maxSeqLength=64', '--set', `backend="${args.backend}"`]
interface Summary { runId: number; dev: Record<string, number> | null; bestEpoch: number | null; majority: number | null; reinitialised: string[]; augmented: number }
const rows: { task: string; strategy: string; summary: Summary; seconds: number }[] = []
const run = (task: string, strategy: string, extra: string[]) => {
  const t = Date.now()
  const s = mengzi(['finetune', ...extra, ...base]) as unknown as Summary
  rows.push({ task, strategy, summary: s, seconds: (Date.now() - t) / 1000 })
  log(`${task} · ${strategy}: dev ${JSON.stringify(s.dev)} (majority ${s.majority?.toFixed(3)}) ${((Date.now() - t) / 1000).toFixed(0)} s`)
  return s
}
const pairs_ = ['--dataset', String(imported['poem-pairs'])]
const dyn = ['--dataset', String(imported['poem-dynasty'])]
const tiny = ['--model', String(model.id)]
const pairBase = run('poem-pairs (AFQMC fields)', 'none', [...pairs_, ...tiny])
run('poem-pairs (AFQMC fields)', 'choice smoothing (w 0.5)', [...pairs_, ...tiny, '--set', 'strategies.choiceSmoothing.weight=0.5'])
const baseline = run('poem-dynasty (TNEWS fields)', 'none', [...dyn, ...tiny])
run('poem-dynasty (TNEWS fields)', 'KD from the baseline run (T 2, logits + hidden MSE)', [...dyn, ...tiny, '--set', `strategies.distill.teacherRunId=${baseline.runId}`, '--set', 'strategies.distill.hiddenWeight=1'])
run('poem-dynasty (TNEWS fields)', 'transfer from the pair run', [...dyn, '--run', String(pairBase.runId)])
run('poem-dynasty (TNEWS fields)', 'choice smoothing (w 0.5)', [...dyn, ...tiny, '--set', 'strategies.choiceSmoothing.weight=0.5'])
run('poem-dynasty (TNEWS fields)', 'SMART (λ 1, σ 1e-5, η 1e-3, ε 1e-5)', [...dyn, ...tiny, '--set', 'strategies.smart={}'])
run('poem-dynasty (TNEWS fields)', 'augmentation (2 copies, embedding synonyms)', [...dyn, ...tiny, '--set', 'strategies.augment={}'])

const result = {
  settings: { lr: Number(args.lr), batch: Number(args.batch), epochs: Number(args.epochs), maxSeqLength: 64, backend: args.backend, pretrainSteps: Number(args['pretrain-steps']), pretrainModel: 'preset A: 2 layers, hidden 128, 2 heads, FFN 512, the bundled 21128-token vocab', trainPerClass: nTrain, devPerClass: nDev, cpus: os.cpus().length },
  pretrain: { runId: pre.runId, from: pre.from ?? null, steps: pre.step, loss: pre.loss, seconds: pretrainSeconds },
  rows: rows.map((r) => ({ task: r.task, strategy: r.strategy, runId: r.summary.runId, dev: r.summary.dev, bestEpoch: r.summary.bestEpoch, majority: r.summary.majority, reinitialised: r.summary.reinitialised, augmented: r.summary.augmented, seconds: r.seconds })),
}
if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`)
else {
  console.log(`| task | strategy | dev accuracy | majority class | best epoch | notes | seconds |`)
  console.log(`|---|---|---|---|---|---|---|`)
  for (const r of result.rows) {
    const notes = [r.reinitialised.length ? `re-initialised ${r.reinitialised.join(', ')}` : '', r.augmented ? `+${r.augmented} augmented` : ''].filter(Boolean).join('; ')
    console.log(`| ${r.task} | ${r.strategy} | ${r.dev?.accuracy?.toFixed(3)} | ${r.majority?.toFixed(3)} | ${r.bestEpoch} | ${notes} | ${r.seconds.toFixed(0)} |`)
  }
}
