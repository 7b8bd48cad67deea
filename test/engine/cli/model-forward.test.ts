// `mengzi model forward` on the hf-bert-tiny fixture: the outputs and gradients it writes equal
// HuggingFace's reference; bad inputs are refused with one line.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runForward } from '../../../engine/model/forward'
import { readSafetensors, writeSafetensors } from '../../../engine/model/safetensors'
import { parseTrainConfig } from '../../../engine/train/config'
import { train } from '../../../engine/train/loop'

const root = path.join(__dirname, '../../..')
const fixture = path.join(root, 'test/fixtures/hf-bert-tiny')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-forward-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))
beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('mengzi model forward', () => {
  it('writes hidden states, pooler, logits, loss and every gradient matching HF', async () => {
    const out = path.join(tmp, 'out.safetensors')
    const r = spawnSync(process.execPath, ['bin/mengzi.js', 'model', 'forward', '--model', fixture, '--inputs', path.join(fixture, 'reference_outputs.safetensors'), '--output', out, '--grads', '--json'], {
      cwd: root,
      encoding: 'utf8',
    })
    expect(r.status, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!)
    expect(summary.backend).toBe('cpu')

    const got = await readSafetensors(out)
    const ref = await readSafetensors(path.join(fixture, 'reference_outputs.safetensors'))
    const refGrads = await readSafetensors(path.join(fixture, 'reference_grads.safetensors'))
    const mask = ref.get('attention_mask')!.data as Int32Array
    for (const name of ['hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'pooler_output', 'prediction_logits', 'seq_relationship_logits', 'loss']) {
      const a = got.get(name)!
      const b = ref.get(name)!
      expect(a.shape, name).toEqual(b.shape)
      const perPosition = a.shape.length === 3 ? a.shape[2] : 0 // [B, T, ·]: skip padding positions
      let worst = 0
      a.data.forEach((v, i) => {
        if (perPosition && mask[Math.floor(i / perPosition)] === 0) return
        worst = Math.max(worst, Math.abs((v as number) - (b.data[i] as number)))
      })
      expect(worst, name).toBeLessThan(1e-5)
    }
    const gradNames = [...got.keys()].filter((n) => n.startsWith('grad.'))
    expect(gradNames.map((n) => n.slice(5)).sort()).toEqual([...refGrads.keys()].sort())
    for (const name of gradNames) {
      const want = refGrads.get(name.slice(5))!.data as Float32Array
      const largest = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
      const g = got.get(name)!.data as Float32Array
      const worst = g.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0)
      expect(worst, name).toBeLessThanOrEqual(Math.max(1e-4 * largest, 1e-9)) // key biases: both ~1e-12 noise
    }
  })

  it('runs without labels (I64 ids, default mask and types) and refuses --grads then', async () => {
    const ref = await readSafetensors(path.join(fixture, 'reference_outputs.safetensors'))
    const ids = ref.get('input_ids')!
    const inputs = path.join(tmp, 'ids.safetensors')
    await writeSafetensors(inputs, { input_ids: { dtype: 'I64', shape: [1, 12], data: (ids.data as Int32Array).slice(0, 12) } })
    const out = path.join(tmp, 'nolabels.safetensors')
    const r = await runForward(fixture, inputs, out)
    expect(r.loss).toBeNull()
    expect(r.outputs.map((o) => o.name)).toEqual(['hidden_states.0', 'hidden_states.1', 'hidden_states.2', 'pooler_output', 'prediction_logits', 'seq_relationship_logits'])
    await expect(runForward(fixture, inputs, out, { grads: true })).rejects.toThrow('--grads needs labels')
    await writeSafetensors(inputs, { input_ids: { dtype: 'I32', shape: [1, 2], data: Int32Array.of(101, 5000) } })
    await expect(runForward(fixture, inputs, out)).rejects.toThrow('input_ids holds 5000, outside [0, 3259)')
  })

  it('also runs a training checkpoint that has no vocab.txt', async () => {
    const config = parseTrainConfig({
      model: { config: { vocab_size: 200, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16 } },
      data: { kind: 'synthetic', sequences: 4, minLength: 3, maxLength: 6, seed: 2 },
      maxSeqLength: 16,
      batchSize: 2,
      totalSteps: 1,
      backend: 'cpu',
    })
    const { checkpointDir } = await train(config, { runDir: path.join(tmp, 'run') })
    expect(fs.existsSync(path.join(checkpointDir!, 'vocab.txt'))).toBe(false)
    const inputs = path.join(tmp, 'small.safetensors')
    await writeSafetensors(inputs, { input_ids: { dtype: 'I32', shape: [1, 4], data: Int32Array.of(101, 150, 160, 102) } })
    const r = await runForward(checkpointDir!, inputs, path.join(tmp, 'small-out.safetensors'))
    expect(r.outputs.map((o) => `${o.name} ${o.shape.join('×')}`)).toEqual([
      'hidden_states.0 1×4×16',
      'hidden_states.1 1×4×16',
      'pooler_output 1×16',
      'prediction_logits 1×4×200',
    ])
  })
})
