// The Mengzi objectives compared on real text: `npx tsx test/bench/pretrain-demo.ts [--chars 100000]
// [--steps N (the preset's)] [--seed 42] [--json]`. Imports that much fortunes-zh text (chinese-poetry when fortunes-zh
// is not installed) with 5% dev, tags it (built-in tagger: jieba POS + LAC NER), then pretrains the
// `tiny` preset four times with the same seed and steps:
//   (a) MLM   (b) MLM+POS+NE+SOP   (c) (b) + DGC   (d) (b) + whole-word masking
// and prints the final dev MLM loss/accuracy/perplexity (token masking with a fixed seed, the same dev
// segments for all four), dev POS/NE accuracy, and the tagging and training speeds.
// Not a test: minutes of CPU, and timings on a shared machine are noisy.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { JobInfo } from '../../engine/service/api'
import { Workbench } from '../../engine/service/workbench'
import { metricSeries } from '../../engine/store/metrics'
import { localChineseDocuments, availableSources } from '../../engine/text/local-corpus'
import { TRAIN_PRESETS } from '../../engine/train/presets'

const { values: args } = parseArgs({
  options: {
    chars: { type: 'string', default: '100000' },
    steps: { type: 'string', default: String(TRAIN_PRESETS.tiny.totalSteps) },
    seed: { type: 'string', default: '42' },
    json: { type: 'boolean', default: false },
  },
})

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-demo-'))
const wb = new Workbench({ home })
const waitFor = (jobId: string) =>
  new Promise<JobInfo>((resolve) => {
    const check = () => {
      const job = wb.jobs.list().find((j) => j.id === jobId)
      if (job && job.status !== 'running') resolve(job)
      else setTimeout(check, 200)
    }
    check()
  })
const log = (s: string) => args.json || process.stderr.write(`${s}\n`)

try {
  const source = availableSources().includes('fortunes-zh') ? 'fortunes-zh' : 'chinese-poetry'
  const lines: string[] = []
  let chars = 0
  for await (const doc of localChineseDocuments([source])) {
    for (const line of doc.split('\n')) {
      const t = line.replace(/\x1b\[[0-9;]*m/g, '').trim()
      if (!t || t === '%') continue
      lines.push(t)
      chars += t.length
    }
    if (chars >= Number(args.chars)) break
  }
  const corpus = path.join(home, 'corpus.txt')
  fs.writeFileSync(corpus, lines.join('\n') + '\n')
  const imported = await waitFor((await wb.call('datasets.import', { paths: [corpus], options: { devRatio: 0.05 } })).jobId)
  const datasetId = (imported.result as { dataset: { id: number } }).dataset.id
  const dir = path.join(home, 'datasets', String(datasetId))
  log(`imported ${chars} characters of ${source} as dataset ${datasetId}`)

  const tagStart = performance.now()
  const tagged = await waitFor((await wb.call('tags.dataset', { id: datasetId })).jobId)
  if (tagged.status !== 'completed') throw new Error(`tagging: ${tagged.error}`)
  const tagSeconds = (performance.now() - tagStart) / 1000
  const summary = await wb.call('tags.summary', { id: datasetId })
  log(`tagged ${summary!.distribution.characters} characters in ${tagSeconds.toFixed(1)} s`)

  const steps = Number(args.steps)
  const mtl = ['mlm', 'pos', 'ner', 'sop']
  const variants: [string, Record<string, unknown>][] = [
    ['(a) MLM', { objectives: ['mlm'] }],
    ['(b) MLM+POS+NE+SOP', { objectives: mtl }],
    ['(c) (b) + DGC', { objectives: mtl, dgc: { enabled: true } }],
    ['(d) (b) + whole-word masking', { objectives: mtl, wholeWordMask: true }],
  ]
  const rows = []
  for (const [name, change] of variants) {
    const config = { ...TRAIN_PRESETS.tiny, name, data: { kind: 'dataset', dir }, seed: Number(args.seed), totalSteps: steps, evalEvery: 100, evalBatches: 32, checkpointEvery: 0, ...change }
    const configFile = path.join(home, 'run.json')
    fs.writeFileSync(configFile, JSON.stringify(config))
    const t0 = performance.now()
    // one process per run: a second wasm training worker in one process does not start (see the report)
    const r = spawnSync(process.execPath, ['bin/mengzi.js', 'train', '--config', configFile, '--json'], { encoding: 'utf8', env: { ...process.env, MENGZI_HOME: home }, maxBuffer: 1 << 26 })
    const result = JSON.parse(r.stdout.trim().split('\n').pop() || '{}')
    if (r.status !== 0 || result.status !== 'completed') throw new Error(`${name}: ${result.error ?? r.stderr.slice(-500)}`)
    const runId = result.runId as number
    const seconds = (performance.now() - t0) / 1000
    const last = (n: string) => metricSeries(wb.db, runId, n).values.at(-1) ?? null
    const tps = metricSeries(wb.db, runId, 'tokens_per_sec').values
    // the last 50 steps' mean: a single step's pair loss is noise
    const mean50 = (n: string) => {
      const v = metricSeries(wb.db, runId, n).values.slice(-50)
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null
    }
    const row = {
      name,
      devMlmLoss: last('eval/loss/mlm'),
      devMlmAcc: last('eval/acc/mlm'),
      devPpl: last('eval/ppl'),
      devPosAcc: last('eval/acc/pos'),
      devNerAcc: last('eval/acc/ner'),
      devSopAcc: last('eval/acc/sop'),
      trainSopLoss: mean50('loss/sop'),
      trainMlmLoss: last('loss/mlm'),
      tokensPerSec: tps.slice(5).reduce((a, b) => a + b, 0) / Math.max(1, tps.length - 5),
      seconds,
    }
    rows.push(row)
    log(`${name}: dev MLM loss ${row.devMlmLoss?.toFixed(3)}, ${seconds.toFixed(0)} s`)
  }
  const setting = { corpus: source, characters: chars, records: (imported.result as { dataset: { stats: unknown } }).dataset.stats, steps, seed: Number(args.seed), preset: 'tiny', tagSeconds, tagCharsPerSec: summary!.distribution.characters / tagSeconds }
  if (args.json) console.log(JSON.stringify({ setting, rows }))
  else {
    console.log(`tiny preset (2×128, seq 64, batch 16, AdamW 2e-3 β2 0.98, wasm), ${steps} steps, seed ${args.seed}; ${chars} characters of ${source}, 5% dev`)
    console.log(`tagging (built-in: jieba POS + LAC NER, in the job's worker): ${setting.tagCharsPerSec.toFixed(0)} chars/s`)
    console.log('| run | dev MLM loss | dev MLM acc | dev ppl | dev POS acc | dev NE acc | dev SOP acc | train SOP loss (last 50 steps) | train MLM loss (last step) | tokens/s | wall s |')
    console.log('|---|---|---|---|---|---|---|---|---|---|---|')
    const f = (x: number | null, d = 3) => (x === null ? '–' : x.toFixed(d))
    for (const r of rows) console.log(`| ${r.name} | ${f(r.devMlmLoss)} | ${f(r.devMlmAcc)} | ${f(r.devPpl, 0)} | ${f(r.devPosAcc)} | ${f(r.devNerAcc)} | ${f(r.devSopAcc)} | ${f(r.trainSopLoss)} | ${f(r.trainMlmLoss)} | ${r.tokensPerSec.toFixed(0)} | ${r.seconds.toFixed(0)} |`)
  }
} finally {
  await wb.close()
  fs.rmSync(home, { recursive: true, force: true })
}
