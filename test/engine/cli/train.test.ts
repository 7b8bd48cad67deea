// `mengzi train`: a run from a config file with --set overrides, to completion, JSON summary last;
// refusals are one line and a non-zero exit.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Workbench } from '../../../engine/service/workbench'
import { getRun } from '../../../engine/store/runs'

const root = path.join(__dirname, '../../..')
const fixture = path.join(root, 'test/fixtures/hf-bert-tiny')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-train-cli-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

const mengzi = (args: string[]) =>
  spawnSync(process.execPath, ['bin/mengzi.js', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, MENGZI_HOME: path.join(tmp, 'home') } })

describe('mengzi train', () => {
  it('trains from a config file with --text, --vocab and --set, and prints a JSON summary', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(fixture, 'reference_meta.json'), 'utf8'))
    const corpus = path.join(tmp, 'corpus.txt')
    fs.writeFileSync(corpus, [...meta.texts_a, ...meta.texts_b].join('\n'))
    const config = path.join(tmp, 'run.json')
    fs.writeFileSync(
      config,
      JSON.stringify({
        name: 'cli-run',
        model: { config: { vocab_size: 3259, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32 } },
        data: { kind: 'synthetic', sequences: 4, minLength: 2, maxLength: 4, seed: 1 },
        backend: 'cpu',
        maxSeqLength: 32,
        batchSize: 2,
        totalSteps: 10,
      }),
    )
    const r = mengzi(['train', '--config', config, '--text', corpus, '--vocab', path.join(fixture, 'vocab.txt'), '--set', 'totalSteps=3', '--set', 'optimizer="adamw"', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!)
    expect(summary).toMatchObject({ runId: 1, status: 'completed', backend: 'cpu', step: 3, error: null })
    expect(fs.readdirSync(summary.checkpoint).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'vocab.txt'])
    const wb = new Workbench({ home: path.join(tmp, 'home') })
    try {
      expect(getRun(wb.db, 1)!.config).toMatchObject({ optimizer: 'adamw', totalSteps: 3, data: { kind: 'text-file', path: corpus } })
    } finally {
      void wb.close()
    }
  })

  it('--estimate starts nothing and prints what the run would cost here, with its time after a calibration step', () => {
    const home = path.join(tmp, 'estimate-home')
    const run = (args: string[]) => spawnSync(process.execPath, ['bin/mengzi.js', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, MENGZI_HOME: home } })
    // no data needed: the estimate reads none
    const r = run(['train', '--preset', 'tiny', '--set', 'totalSteps=50', '--set', 'batchSize=4', '--estimate', '--json'])
    expect(r.status, r.stderr).toBe(0)
    const e = JSON.parse(r.stdout.trim().split('\n').pop()!)
    expect(e.parameters).toBeGreaterThan(1e6) // the bundled vocab's embeddings
    expect(e.tokensPerStep).toBe(4 * 64)
    expect(e.totalSeconds).toBeCloseTo(50 * e.secondsPerStep, 9)
    expect(e.method.time).toMatch(/measured here \(median of 3 training steps of model A .* on wasm/)
    const text = run(['train', '--preset', 'tiny', '--estimate'])
    expect(text.stdout).toMatch(/^parameters [\d,]+ · memory [\d.]+ MiB · 1,024 tokens a step\ntime per step [\d.]+ s · whole run [\d.]+ (s|min|h)\n/)
    const wb = new Workbench({ home })
    try {
      expect(wb.db.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 })
    } finally {
      void wb.close()
    }
    expect(run(['train', '--resume', '1', '--estimate']).stderr).toMatch(/--estimate estimates a new run; drop --resume/)
  }, 120_000)

  it('refuses ambiguous or unknown input with one line', () => {
    const neither = mengzi(['train'])
    expect(neither.status).toBe(2)
    expect(neither.stderr.trim().split('\n').pop()).toBe('mengzi: give exactly one of --config FILE and --preset NAME')
    const preset = mengzi(['train', '--preset', 'XL', '--text', 'x.txt', '--vocab', 'v.txt'])
    expect(preset.stderr.trim().split('\n').pop()).toBe('mengzi: --preset: unknown preset "XL"; choose tiny, small, mengzi-base, A, B, BASE')
    const missing = mengzi(['train', '--preset', 'A'])
    expect(missing.stderr.trim().split('\n').pop()).toBe('mengzi: no training data: give --text FILE or --dataset ID, or data in the config')
  })
})
