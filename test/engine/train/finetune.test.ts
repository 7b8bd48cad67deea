// The fine-tuning loop on small CLUE-shaped datasets: it learns a classification task above the majority
// class, keeps the best epoch as an HF folder with id2label, runs span extraction and multiple choice,
// and reports the tensors it re-initialises when transferring from another fine-tuned run.
import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finetune, predictSplit } from '../../../engine/train/finetune'
import { parseFinetuneConfig } from '../../../engine/train/finetune-config'
import { readHfCheckpoint } from '../../../engine/model/hf-checkpoint'
import { deviceWaits } from '../../../engine/compute/read'
import { tempDir } from '../../helpers'
import { importClue, tnewsRecords, wideInitModel } from './finetune-data'

const tmp = tempDir('mengzi-finetune-')
afterAll(() => tmp.cleanup())
beforeAll(async () => {
  await tf.setBackend('cpu')
})

let tnews: { dir: string }
const base = { backend: 'cpu', init: path.join(tmp.dir, 'start'), learningRate: 3e-3, batchSize: 16, epochs: 4, maxSeqLength: 24, dropout: 0 }
beforeAll(async () => {
  await wideInitModel(base.init, 0.3)
  tnews = await importClue(tmp.dir, 'tnews', { 'train.json': tnewsRecords(96, 1), 'dev.json': tnewsRecords(32, 2), 'test.json': tnewsRecords(6, 3).map(({ label, label_desc, ...r }) => (void label, void label_desc, r)) })
})


describe('fine-tuning', () => {
  it('TNEWS: learns above the majority class, logs dev accuracy per epoch, keeps the best as an HF folder', async () => {
    const runDir = path.join(tmp.dir, 'run-tnews')
    const metrics: string[] = []
    const config = parseFinetuneConfig({ ...base, task: 'tnews', dataDir: tnews.dir })
    const r = await finetune(config, { runDir }, { metrics: (ps) => metrics.push(...ps.map((p) => p.name)) })
    console.log('tnews epochs', r.epochs.map((e) => e.dev.accuracy), 'majority', r.majority)
    expect(r.epochs).toHaveLength(4)
    expect(metrics.filter((m) => m === 'dev/accuracy')).toHaveLength(4)
    expect(r.best!.dev.accuracy).toBeGreaterThan(r.majority! + 0.1)
    expect(r.reinitialised).toEqual(['classifier.weight', 'classifier.bias']) // the start folder has no head
    const saved = await readHfCheckpoint(r.best!.dir)
    expect(saved.heads).toEqual(['pooler', 'classifier'])
    expect(saved.config.id2label).toEqual({ 0: '100', 1: '101' })
    const inspection = JSON.parse(fs.readFileSync(path.join(runDir, 'predictions-dev.json'), 'utf8'))
    expect(inspection.examples).toHaveLength(32)
    expect(inspection.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(32)

    // the test split as CLUE's submission file
    const out = await predictSplit(r.best!.dir, 'tnews', tnews.dir, 'test', config)
    const lines = out.submission.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.map((l) => l.id)).toEqual([0, 1, 2, 3, 4, 5])
    expect(lines.every((l) => l.label === '100' || l.label === '101')).toBe(true)

    // transfer: a 3-label task from this run's best keeps the encoder and re-initialises only the head
    const three = await importClue(tmp.dir, 'tnews3', { 'train.json': tnewsRecords(24, 4, ['100', '101', '102']), 'dev.json': tnewsRecords(12, 5, ['100', '101', '102']) })
    const t = await finetune(parseFinetuneConfig({ ...base, task: 'tnews', dataDir: three.dir, init: r.best!.dir, epochs: 1 }), { runDir: path.join(tmp.dir, 'run-transfer') })
    expect(t.reinitialised).toEqual(['classifier.weight', 'classifier.bias'])
    const same = await finetune(parseFinetuneConfig({ ...base, task: 'tnews', dataDir: tnews.dir, init: r.best!.dir, epochs: 1, maxTrainExamples: 16 }), { runDir: path.join(tmp.dir, 'run-same') })
    expect(same.reinitialised).toEqual([])
  })

  it('reads each step with one wait, while the next step records; the epoch ends after its last step is reported', async () => {
    const config = parseFinetuneConfig({ ...base, task: 'tnews', dataDir: tnews.dir, epochs: 2, maxTrainExamples: 48 })
    const base0 = deviceWaits()
    const events: string[] = []
    await finetune(config, { runDir: path.join(tmp.dir, 'run-pipelined') }, {
      progress: (p) => events.push(`step ${p.step} after ${deviceWaits() - base0} waits`),
      epoch: (e) => events.push(`epoch ${e.epoch}`),
    })
    // 48 examples in batches of 16: 3 steps an epoch; step n is reported once step n+1 issued its
    // reads, an epoch's last step before the epoch's evaluation
    expect(events).toEqual(['step 1 after 2 waits', 'step 2 after 3 waits', 'step 3 after 3 waits', 'epoch 1', 'step 4 after 5 waits', 'step 5 after 6 waits', 'step 6 after 6 waits', 'epoch 2'])
  })

  it('CMRC2018: windows in, EM/F1 out, a QA folder saved', async () => {
    const ctx = '北京是中国的首都，上海是中国最大的城市，广州在南方。'
    const qa = (q: string, a: string, id: string) => ({ id, context: ctx, question: q, answers: [{ text: a, answer_start: ctx.indexOf(a) }] })
    const train = Array.from({ length: 8 }, (_, i) => qa(['首都是哪里', '最大的城市', '南方的城市', '中国的首都'][i % 4], ['北京', '上海', '广州', '北京'][i % 4], `T${i}`))
    const ds = await importClue(tmp.dir, 'cmrc', { 'train.jsonl': train, 'dev.jsonl': [qa('首都是哪里', '北京', 'D0'), qa('最大的城市', '上海', 'D1')] })
    const r = await finetune(parseFinetuneConfig({ ...base, task: 'cmrc2018', dataDir: ds.dir, epochs: 2, batchSize: 4, maxSeqLength: 24, docStride: 8 }), { runDir: path.join(tmp.dir, 'run-cmrc') })
    expect(Object.keys(r.best!.dev).sort()).toEqual(['em', 'f1'])
    expect(r.metric).toBe('em')
    expect((await readHfCheckpoint(r.best!.dir)).heads).toEqual(['qa'])
    const inspection = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'run-cmrc', 'predictions-dev.json'), 'utf8'))
    expect(inspection.examples[0].context).toBe(ctx)
  })

  it('C3: one score per choice, padding choices never chosen, a multiple-choice folder saved', async () => {
    const item = (i: number) => [['男：你喜欢山还是水？', '女：我喜欢水。'], [{ question: '女的喜欢什么？', choice: i % 2 ? ['山', '水', '云'] : ['水', '山'], answer: '水' }], `c${i}`]
    const ds = await importClue(tmp.dir, 'c3', { 'train.json': Array.from({ length: 8 }, (_, i) => item(i)), 'dev.json': [item(0), item(1)] }, true)
    const r = await finetune(parseFinetuneConfig({ ...base, task: 'c3', dataDir: ds.dir, epochs: 1, batchSize: 4, maxSeqLength: 32 }), { runDir: path.join(tmp.dir, 'run-c3') })
    expect(r.best!.dev.accuracy).toBeGreaterThanOrEqual(0)
    const saved = await readHfCheckpoint(r.best!.dir)
    expect(saved.heads).toEqual(['pooler', 'choice'])
    expect(saved.tensors.get('classifier.weight')!.shape).toEqual([1, 32])
    const inspection = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'run-c3', 'predictions-dev.json'), 'utf8'))
    expect(inspection.examples[0].choices).toEqual(['女的喜欢什么？||水', '女的喜欢什么？||山'])
    expect(inspection.examples[0].choices).toContain(inspection.examples[0].predicted) // never the padding slot
  })
})
