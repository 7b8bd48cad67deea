// The parts that keep the token-shard build's memory flat, checked for what they write: the split writer
// fills one fixed block per file (a test crossing both blocks' boundaries several times, and stopping and
// resuming in the middle of a block, against bytes encoded here from docs/shards.md), and the label work
// arrays reused from record to record give the labels fresh arrays give (a short record after a long one
// sees nothing of it). Real text: fortunes-zh, else poetry. Memory itself is measured by
// test/bench/stream-memory.ts, not here.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BuiltinTagger } from '../../../engine/tagging/builtin'
import { availableSources, localChineseDocuments } from '../../../engine/text/local-corpus'
import { defaultVocabPath } from '../../../engine/text/default-vocab'
import { TokenSplitWriter } from '../../../engine/text/token-shards'
import { BertTokenizer, TokenBuffer } from '../../../engine/text/tokenizer'
import { LabelScratch, labelTokens, objectiveLabels } from '../../../engine/train/shard-build'
import { tempDir } from '../../helpers'

const tokenizer = BertTokenizer.fromFile(defaultVocabPath())

async function realLines(count: number): Promise<string[]> {
  const source = availableSources().includes('fortunes-zh') ? 'fortunes-zh' : 'chinese-poetry'
  const lines: string[] = []
  for await (const doc of localChineseDocuments([source])) {
    for (const l of doc.split('\n')) if (l.trim() && lines.push(l.trim()) >= count) return lines
  }
  return lines
}

interface Seg {
  record: number
  ids: Int32Array
  pos: Uint8Array
  ner: Uint8Array
  flags: Uint8Array
}

/** docs/shards.md's records, one Buffer per segment: the plain encoding the block writer must match. */
function encode(segs: Seg[]): { tok: Buffer; idx: Buffer } {
  const toks: Buffer[] = []
  const idxs: Buffer[] = []
  let start = 0
  for (const s of segs) {
    const t = Buffer.alloc(s.ids.length * 8)
    for (let i = 0; i < s.ids.length; i++) {
      t.writeInt32LE(s.ids[i], i * 8)
      t[i * 8 + 4] = s.pos[i]
      t[i * 8 + 5] = s.ner[i]
      t[i * 8 + 6] = s.flags[i]
    }
    const e = Buffer.alloc(12)
    e.writeUInt32LE(start, 0)
    e.writeUInt32LE(s.ids.length, 4)
    e.writeUInt32LE(s.record, 8)
    toks.push(t)
    idxs.push(e)
    start += s.ids.length
  }
  return { tok: Buffer.concat(toks), idx: Buffer.concat(idxs) }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('token-shard build: fixed-size blocks and reused label arrays', () => {
  const tmp = tempDir()
  let lines: string[]
  let segs: Seg[]
  beforeAll(async () => {
    lines = await realLines(4000)
    // the lines' tokens cut into segments of 1..7 tokens: > 2^16 segments (the index block) and
    // > 2^17 tokens (the token block), so both blocks fill and flush several times
    segs = []
    const buf = new TokenBuffer()
    for (let pass = 0; segs.length < 3 * 65536; pass++) {
      for (let r = 0; r < lines.length && segs.length < 3 * 65536; r++) {
        buf.clear()
        tokenizer.tokenizeInto(lines[r], buf)
        for (let a = 0, len = 1; a < buf.length; a += len, len = (len % 7) + 1) {
          const n = Math.min(len, buf.length - a)
          const ids = buf.ids.slice(a, a + n)
          segs.push({ record: pass * lines.length + r, ids, pos: Uint8Array.from(ids, (id) => id % 18), ner: Uint8Array.from(ids, (id) => id % 35), flags: Uint8Array.from(ids, (_, k) => (k === 0 ? 1 : 0)) })
        }
      }
    }
  }, 60_000)
  afterAll(() => tmp.cleanup())

  it('writes through its blocks exactly the plain encoding, and continues a checkpoint cut mid-block after a kill', () => {
    const expected = encode(segs)
    expect(expected.tok.length).toBeGreaterThan(3 * 8 * 2 ** 17)

    const whole = path.join(tmp.dir, 'whole')
    fs.mkdirSync(whole)
    const w = new TokenSplitWriter(whole, 'train')
    for (const s of segs) w.add(s.record, s.ids, s.pos, s.ner, s.flags)
    const split = w.finish()
    expect(fs.readFileSync(path.join(whole, 'train-00000.tok')).equals(expected.tok)).toBe(true)
    expect(fs.readFileSync(path.join(whole, 'train-00000.idx')).equals(expected.idx)).toBe(true)
    expect(split.shards[0].sha256).toEqual({ tok: sha(expected.tok), idx: sha(expected.idx) })
    expect(split).toMatchObject({ segments: segs.length, tokens: expected.tok.length / 8, records: new Set(segs.map((s) => s.record)).size })

    const cut = path.join(tmp.dir, 'cut')
    fs.mkdirSync(cut)
    const half = 100_003 // not a block boundary
    const a = new TokenSplitWriter(cut, 'train')
    for (const s of segs.slice(0, half)) a.add(s.record, s.ids, s.pos, s.ner, s.flags)
    const state = a.checkpoint()
    // the killed writer went on, past where the resumed one will end (so its files must be cut back)
    for (const s of [...segs.slice(half), ...segs.slice(0, 5000)]) a.add(s.record, s.ids, s.pos, s.ner, s.flags)
    a.checkpoint() // and flushed those to disk
    a.abort()
    const b = TokenSplitWriter.resume(cut, 'train', JSON.parse(JSON.stringify(state)))
    for (const s of segs.slice(half)) b.add(s.record, s.ids, s.pos, s.ner, s.flags)
    expect(b.finish()).toEqual(split)
    expect(fs.readFileSync(path.join(cut, 'train-00000.tok')).equals(expected.tok)).toBe(true)
    expect(fs.readFileSync(path.join(cut, 'train-00000.idx')).equals(expected.idx)).toBe(true)
  })

  it('labels from reused work arrays equal labels from fresh ones, record after record', () => {
    const tagger = BuiltinTagger.shared()
    const labels = objectiveLabels()
    const classes = { pos: new Map(labels.pos.map((l, i) => [l, i])), ner: new Map(labels.ner.map((l, i) => [l, i])) }
    // long records first, then short: a reused array longer than the record must not leak into it
    const texts = [lines.slice(0, 40).join(''), ...lines.slice(40, 140), lines.slice(140, 160).join(' '), ...lines.slice(160, 260)]
    const scratch = new LabelScratch()
    const buf = new TokenBuffer()
    for (const [i, text] of texts.entries()) {
      buf.clear()
      tokenizer.tokenizeInto(text, buf)
      // tagged, or (every third) untagged: both paths share the arrays
      const tags = i % 3 === 2 ? null : { tokens: tagger.tokens(text), ents: i % 2 ? tagger.tagText(text).ents : [] }
      const reused = labelTokens(text, buf, tokenizer.vocab, tags, classes, scratch)
      const fresh = labelTokens(text, buf, tokenizer.vocab, tags, classes)
      expect(reused.pos.length).toBe(buf.length)
      expect([Array.from(reused.pos), Array.from(reused.ner), Array.from(reused.flags)]).toEqual([Array.from(fresh.pos), Array.from(fresh.ner), Array.from(fresh.flags)])
    }
    expect(scratch.pos.length).toBeLessThan(2 * Math.max(...texts.map((t) => tokenizer.tokenize(t).ids.length)) + 256)
  })
})
