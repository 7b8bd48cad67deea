// Training token shards (docs/shards.md) built from a real dataset folder and its real tag cache: labels
// projected onto WordPieces for mixed Chinese/Latin/digits, segments cut from long lines keeping their
// labels aligned, the reader returning exactly what was written, and the manifest's checksums.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ShardWriter } from '../../../engine/data/shards'
import { tagDataset } from '../../../engine/tagging/dataset-tags'
import { BuiltinTagger } from '../../../engine/tagging/builtin'
import { projectOntoTokens } from '../../../engine/tagging/projection'
import { buildTokenShards, objectiveLabels } from '../../../engine/train/shard-build'
import { NO_LABEL, readTokenManifest, TokenSplitReader, WORD_START } from '../../../engine/text/token-shards'
import { BertTokenizer } from '../../../engine/text/tokenizer'
import { defaultVocabPath } from '../../../engine/text/default-vocab'
import { tempDir } from '../../helpers'

const TEXTS = ['马云于1999年在杭州创办了阿里巴巴集团，iPhone 12很贵。', '张三在北京工作。', '李白在长安写诗，杜甫在成都。', '天气很好']
const LONG = '我们在上海浦东新区参观了东方明珠电视塔，然后去北京故宫博物院看了清明上河图。'

describe('token shards', () => {
  const tmp = tempDir()
  const dataset = path.join(tmp.dir, 'ds')
  const vocab = defaultVocabPath()
  const tokenizer = BertTokenizer.fromFile(vocab)
  const labels = objectiveLabels()
  const tagger = BuiltinTagger.shared()
  beforeAll(async () => {
    const w = new ShardWriter(dataset, true)
    for (const t of TEXTS) w.write('train', { text: t })
    w.write('dev', { text: LONG })
    w.finish()
    await tagDataset(dataset, { tagger })
  })
  afterAll(() => tmp.cleanup())

  it('projects POS, BIO entities and word starts onto WordPieces exactly as the Tags view does', async () => {
    const dir = await buildTokenShards(dataset, { vocabFile: vocab, maxSegmentTokens: 126 })
    const manifest = readTokenManifest(dir)
    expect(manifest.tags).toEqual({ tagger: 'builtin', entities: true })
    expect(manifest.labels.pos.at(-1)).toBe('none')
    expect(manifest.labels.ner[0]).toBe('O')
    const reader = new TokenSplitReader(dir, manifest, 'train')
    expect(reader.size).toBe(TEXTS.length)
    const block = reader.read(0, reader.size)
    for (let i = 0; i < TEXTS.length; i++) {
      const seg = block.segment(i)
      const tok = tokenizer.tokenize(TEXTS[i])
      expect(Array.from(seg.ids)).toEqual(tok.ids)
      const projected = projectOntoTokens(tagger.tagText(TEXTS[i]), tok.tokens, tok.offsets)
      expect(Array.from(seg.pos, (c) => manifest.labels.pos[c])).toEqual(projected.map((p) => p.pos))
      expect(Array.from(seg.ner, (c) => manifest.labels.ner[c])).toEqual(projected.map((p) => p.ent))
    }
    // mixed script: jieba's "1999" and "年" are two words but one DATE entity; 阿里巴巴 is one word of
    // four tokens (one whole-word unit); "iphone" is one word whatever WordPiece makes of it
    const first = block.segment(0)
    const tok = tokenizer.tokenize(TEXTS[0])
    const at = (t: string) => tok.tokens.indexOf(t)
    expect(tok.tokens.slice(at('1999'), at('1999') + 2)).toEqual(['1999', '年'])
    expect([first.flags[at('1999')], first.flags[at('1999') + 1]]).toEqual([WORD_START, WORD_START])
    const ali = at('阿')
    expect(Array.from(first.flags.subarray(ali, ali + 5))).toEqual([WORD_START, 0, 0, 0, WORD_START]) // 阿里巴巴 | 集
    expect(manifest.labels.ner[first.ner[ali + 4]]).toBe('I-ORG') // 阿里巴巴集团 is one ORG across two words
    expect(manifest.labels.ner[first.ner[at('1999')]]).toBe('B-DATE')
    expect(manifest.labels.ner[first.ner[at('1999') + 1]]).toBe('I-DATE')
    const ip = at('ip')
    expect(tok.tokens.slice(ip, ip + 4)).toEqual(['ip', '##hon', '##e', '12'])
    expect(Array.from(first.flags.subarray(ip, ip + 4))).toEqual([WORD_START, 0, 0, WORD_START])
    expect(manifest.labels.pos[first.pos[ip + 2]]).toBe('X') // jieba's "iPhone"/x, on all three pieces
    // 杭州 is two characters, two tokens, one word and one GPE entity
    const hz = at('杭')
    expect([first.flags[hz] & WORD_START, first.flags[hz + 1] & WORD_START]).toEqual([WORD_START, 0])
    expect([manifest.labels.ner[first.ner[hz]], manifest.labels.ner[first.ner[hz + 1]]]).toEqual(['B-GPE', 'I-GPE'])
    expect(manifest.labels.pos[first.pos[hz]]).toBe('PROPN')
    reader.close()
  })

  it('cuts long lines into segments whose labels stay aligned; a cut entity restarts with B-', async () => {
    const max = 7
    const dir = await buildTokenShards(dataset, { vocabFile: vocab, maxSegmentTokens: max })
    const manifest = readTokenManifest(dir)
    const reader = new TokenSplitReader(dir, manifest, 'dev')
    const tok = tokenizer.tokenize(LONG)
    const projected = projectOntoTokens(tagger.tagText(LONG), tok.tokens, tok.offsets)
    expect(reader.size).toBe(Math.ceil(tok.ids.length / max))
    const block = reader.read(0, reader.size)
    const cutEntity: number[] = []
    for (let s = 0; s < reader.size; s++) {
      const seg = block.segment(s)
      expect(seg.record).toBe(TEXTS.length) // the dev record's dataset index
      expect(seg.flags[0] & WORD_START).toBe(WORD_START)
      for (let k = 0; k < seg.ids.length; k++) {
        const g = s * max + k
        expect(seg.ids[k]).toBe(tok.ids[g])
        expect(manifest.labels.pos[seg.pos[k]]).toBe(projected[g].pos)
        const ent = manifest.labels.ner[seg.ner[k]]
        if (k === 0 && projected[g].ent!.startsWith('I-')) {
          cutEntity.push(s)
          expect(ent).toBe(`B-${projected[g].ent!.slice(2)}`)
        } else expect(ent).toBe(projected[g].ent)
      }
    }
    expect(cutEntity.length).toBeGreaterThan(0) // the sentence's long place names do get cut at 7 tokens
    reader.close()
  })

  it('reads blocks from any position; the manifest checksums the files and the vocab; numpy reads the same', async () => {
    const dir = await buildTokenShards(dataset, { vocabFile: vocab, maxSegmentTokens: 5 })
    const manifest = readTokenManifest(dir)
    const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex')
    expect(manifest.vocab.sha256).toBe(sha(vocab))
    expect(manifest.vocab.specials).toEqual({ pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 })
    const split = manifest.splits.train
    for (const s of split.shards) {
      expect(sha(path.join(dir, s.tok))).toBe(s.sha256.tok)
      expect(sha(path.join(dir, s.idx))).toBe(s.sha256.idx)
    }
    const reader = new TokenSplitReader(dir, manifest, 'train')
    const all = reader.read(0, reader.size)
    const whole = Array.from({ length: reader.size }, (_, i) => Array.from(all.segment(i).ids))
    for (const [a, n] of [[0, 1], [3, 4], [reader.size - 2, 2]]) {
      const part = reader.read(a, n)
      for (let i = 0; i < n; i++) expect(Array.from(part.segment(i).ids)).toEqual(whole[a + i])
    }
    expect(whole.flat()).toEqual(TEXTS.flatMap((t) => tokenizer.tokenize(t).ids))
    expect(() => reader.read(reader.size - 1, 2)).toThrow(/cross shard/)
    reader.close()

    // the PyTorch trainer's view of the same bytes (numpy structured dtypes from docs/shards.md)
    const py = `
import json, sys, numpy as np
d = sys.argv[1]
m = json.load(open(d + '/manifest.json'))
s = m['splits']['train']['shards'][0]
tok = np.fromfile(d + '/' + s['tok'], dtype=np.dtype([('id', '<i4'), ('pos', 'u1'), ('ner', 'u1'), ('flags', 'u1'), ('pad', 'u1')]))
idx = np.fromfile(d + '/' + s['idx'], dtype=np.dtype([('start', '<u4'), ('length', '<u4'), ('record', '<u4')]))
print(json.dumps([tok['id'][e['start']:e['start'] + e['length']].tolist() for e in idx]))
`
    const fromNumpy = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, dir], { encoding: 'utf8' }))
    expect(fromNumpy).toEqual(whole)
  })

  it('without a tag cache: no labels, WordPiece words', async () => {
    const bare = path.join(tmp.dir, 'bare')
    const w = new ShardWriter(bare, false)
    w.write('train', { text: 'transformers很好用' })
    w.finish()
    const dir = await buildTokenShards(bare, { vocabFile: vocab, maxSegmentTokens: 126 })
    const manifest = readTokenManifest(dir)
    expect(manifest.tags).toBeNull()
    const reader = new TokenSplitReader(dir, manifest, 'train')
    const seg = reader.read(0, 1).segment(0)
    const tokens = tokenizer.tokenize('transformers很好用').tokens
    expect(Array.from(seg.pos).every((p) => p === NO_LABEL)).toBe(true)
    expect(Array.from(seg.flags)).toEqual(tokens.map((t) => (t.startsWith('##') ? 0 : WORD_START)))
    reader.close()
  })
})
