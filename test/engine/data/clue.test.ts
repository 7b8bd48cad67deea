import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectTask, splitFromName } from '../../../engine/data/clue'
import { importCorpus, type ImportResult } from '../../../engine/data/import'
import { allRecords, FIXTURES, makeHome, type Home } from './helpers'

let home: Home
let result: ImportResult
const clue = path.join(FIXTURES, 'clue')
const byFile = (rel: string) => result.files.find((f) => f.file === path.join(clue, rel))!

beforeAll(async () => {
  home = makeHome()
  result = await importCorpus([clue], {}, { db: home.db, layout: home.layout })
})
afterAll(() => home.close())

describe('CLUE tasks', () => {
  it.each([
    ['afqmc/train.json', 'afqmc', 'train', 4],
    ['afqmc/test.json', 'afqmc', 'test', 1],
    ['tnews/train.json', 'tnews', 'train', 3],
    ['iflytek/dev.json', 'iflytek', 'dev', 2],
    ['cmnli/dev.json', 'cmnli', 'dev', 3],
    ['ocnli/train.50k.json', 'ocnli', 'train', 2],
    ['cluewsc2020/train.json', 'wsc', 'train', 2],
    ['csl/dev.json', 'csl', 'dev', 2],
    ['cmrc2018/dev.json', 'cmrc2018', 'dev', 2],
    ['cmrc2018-flat/train.jsonl', 'cmrc2018', 'train', 1],
    ['c3/d-dev.json', 'c3', 'dev', 3],
    ['chid/dev.json', 'chid', 'dev', 2],
  ])('%s is %s (%s split, %i records)', (file, task, split, records) => {
    const f = byFile(file)
    expect(f.status).toBe('imported')
    expect(f.task).toBe(task)
    expect(f.split).toBe(split)
    expect(f.records).toBe(records)
    expect(f.errors).toEqual([])
  })

  it('keeps label descriptions from labels.json and pairs CHID with its answer file', async () => {
    expect(byFile('tnews/labels.json')).toMatchObject({ status: 'imported', task: 'tnews', records: 0 })
    expect(byFile('chid/dev_answer.json')).toMatchObject({ status: 'skipped', task: 'chid' })
    const stats = result.dataset!.stats
    expect(stats.labelDescriptions['100']).toBe('news_story')
    expect(stats.labelDescriptions['11']).toBe('薅羊毛')
    expect(stats.labels.entailment).toBe(2)
    const records = await allRecords(result.dataset!.dir)
    const chid = records.filter((r) => 'candidates' in r)
    expect(chid.map((r) => r.answers)).toEqual([{ '#idiom000000#': 2 }, { '#idiom000001#': 0 }])
    expect(result.dataset!.kind).toBe('mixed')
  })

  it('flattens SQuAD-shaped CMRC2018 and keeps answer offsets pointing at the answers', async () => {
    const records = (await allRecords(result.dataset!.dir)).filter((r) => 'question' in r && 'answers' in r) as {
      context: string
      answers: { text: string[]; answer_start: number[] }
    }[]
    expect(records).toHaveLength(3)
    for (const r of records) expect(r.context.slice(r.answers.answer_start[0], r.answers.answer_start[0] + r.answers.text[0].length)).toBe(r.answers.text[0])
  })

  it('keeps WSC spans exact', async () => {
    const records = (await allRecords(result.dataset!.dir)).filter((r) => 'target' in r) as {
      text: string
      target: { span1_index: number; span1_text: string; span2_index: number; span2_text: string }
    }[]
    expect(records).toHaveLength(2)
    for (const { text, target } of records) {
      expect(text.substr(target.span1_index, target.span1_text.length)).toBe(target.span1_text)
      expect(text.substr(target.span2_index, target.span2_text.length)).toBe(target.span2_text)
    }
  })

  it('a forced task overrides detection', async () => {
    const r = await importCorpus([path.join(clue, 'afqmc/train.json')], { task: 'cmnli' }, { db: home.db, layout: home.layout })
    expect(r.files[0].task).toBe('cmnli')
    expect(r.dataset!.kind).toBe('cmnli')
  })

  it('reads splits from CLUE file names', () => {
    expect(['train.json', 'dev.json', 'test.json', 'd-dev.json', 'test1.0.json', 'trial.json', 'train.50k.json', 'poems.txt'].map(splitFromName)).toEqual([
      'train', 'dev', 'test', 'dev', 'test', 'test', 'train', null,
    ])
  })

  it('picks the text field of plain JSON corpora, and an unlabelled sentence pair by its path', () => {
    expect(detectTask([{ id: 1, content: '兰叶春葳蕤' }], 'x.jsonl').field).toBe('content')
    expect(detectTask([{ id: 1, 正文: '兰叶春葳蕤，桂华秋皎洁', tag: 'a' }], 'x.jsonl').field).toBe('正文')
    expect(detectTask([{ sentence1: '前不见古人', sentence2: '后不见来者' }], '/data/cmnli_public/test.json').task).toBe('cmnli')
    const files = fs.readdirSync(clue)
    expect(files.length).toBeGreaterThan(9)
  })
})
