// The trainer reads the workbench's token shards (docs/shards.md) as the workbench wrote them: every
// segment of an imported dataset's shards, memory-mapped by resources/trainer/shards.py, equals what the
// TypeScript reader returns; an epoch visits every segment once; each rank builds its own rows of a
// global micro-batch (together, the 1-rank batch's segments); masking takes ~15% of the tokens, never
// [CLS]/[SEP]/padding, with labels exactly there.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { ShardWriter } from '../../../engine/data/shards'
import { trainerSourceDir } from '../../../engine/launch/job'
import { materialiseShards } from '../../../engine/launch/shards'
import { presetModelConfig, parseTrainConfig } from '../../../engine/train/config'
import { defaultVocabPath } from '../../../engine/text/default-vocab'
import { poetry } from '../../../engine/text/local-corpus'
import { readTokenManifest, TokenSplitReader } from '../../../engine/text/token-shards'
import { tempDir } from '../../helpers'
import { skipTorch, torchProbe } from './torch-helpers'

const tmp = tempDir('mengzi-torch-shards-')
afterAll(() => tmp.cleanup())

const PROBE = `
import json, sys
sys.path.insert(0, sys.argv[1])
from shards import ShardSplit, ShardBatches, BlockOrder
directory, run = sys.argv[2], json.loads(sys.argv[3])
split = ShardSplit(directory)
order = BlockOrder(split.blocks(), run['seed'])
out = {'segments': [split.segment(i)['id'].tolist() for i in range(split.size)],
       'epoch0': sorted(order.index_at(p) for p in range(split.size))}
batches = ShardBatches(directory, run, {'vocab_size': 21128})
whole = batches.micro_batch(0, 0, 0, 1)
halves = [batches.micro_batch(0, 0, r, 2) for r in range(2)]
def real(b):  # each row's non-padding ids, with masked positions restored to their labels
    ids = b['input_ids'].where(b['labels'] == -100, b['labels'])
    return [row[m.bool()].tolist() for row, m in zip(ids, b['attention_mask'])]
out['whole'], out['halves'] = real(whole), real(halves[0]) + real(halves[1])
chosen = total = special_labels = 0
for step in range(40):
    b = batches.micro_batch(step, 0, 0, 1)
    real_tokens = (b['attention_mask'] == 1) & (b['input_ids'] != 101) & (b['input_ids'] != 102) | (b['labels'] != -100)
    chosen += int((b['labels'] != -100).sum()); total += int(real_tokens.sum())
    special_labels += int(((b['labels'] != -100) & (b['attention_mask'] == 0)).sum())
    special_labels += int((b['labels'][:, 0] != -100).sum())
out['masked'], out['special_labels'] = chosen / total, special_labels
import shards
shards.WINDOW = 2  # windows of 2 blocks of 5, as engine/train/stream.ts visits them
windowed = BlockOrder([(0, 5), (5, 5), (10, 5), (15, 5)], 9)
out['windowed'] = [windowed.index_at(p) for p in range(20)]
print(json.dumps(out))
`

describe.skipIf(skipTorch)('the trainer reads the workbench token shards', () => {
  it('segments, epoch order, rank slices and masking', { timeout: 60_000 }, async () => {
    const dataset = path.join(tmp.dir, 'lunyu')
    const writer = new ShardWriter(dataset, true)
    for (const text of [...poetry(['lunyu'])].slice(0, 200)) writer.write('train', { text })
    writer.finish()
    const config = parseTrainConfig({ engine: 'torch', model: { preset: 'A' }, data: { kind: 'dataset', dir: dataset, vocab: defaultVocabPath() }, maxSeqLength: 64, batchSize: 8, seed: 7 })
    const dir = await materialiseShards(config, presetModelConfig(config.model)!, tmp.dir)
    expect(dir.startsWith(path.join(dataset, 'tokens'))).toBe(true) // the dataset's own cached shards, as the local engine's

    const { stdout } = await promisify(execFile)(torchProbe!.python, ['-c', PROBE, trainerSourceDir(), dir, JSON.stringify(config)], { maxBuffer: 64 << 20 })
    const out = JSON.parse(stdout) as { segments: number[][]; epoch0: number[]; whole: number[][]; halves: number[][]; masked: number; special_labels: number; windowed: number[] }
    const reader = new TokenSplitReader(dir, readTokenManifest(dir), 'train')
    const block = reader.read(0, reader.size)
    expect(out.segments).toHaveLength(reader.size)
    for (let i = 0; i < reader.size; i++) expect(out.segments[i]).toEqual(Array.from(block.segment(i).ids))
    expect(out.epoch0).toEqual(Array.from({ length: reader.size }, (_, i) => i))
    // ranks take rows of the same global batch: the same sequences ([CLS] segment [SEP]) in the same order
    expect(out.halves).toEqual(out.whole)
    for (const row of out.whole) expect([row[0], row.at(-1)]).toEqual([101, 102])
    console.log(`${reader.size} segments read alike; masked ${(out.masked * 100).toFixed(1)}% of the tokens over 40 batches`)
    expect(out.masked).toBeGreaterThan(0.12)
    expect(out.masked).toBeLessThan(0.18)
    expect(out.special_labels).toBe(0)
    // blocks go two at a time, their segments mixed: each half of the epoch is two whole blocks, and its
    // first five positions already touch both
    const blockOf = (i: number) => Math.floor(i / 5)
    expect([...out.windowed].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    for (const window of [out.windowed.slice(0, 10), out.windowed.slice(10)]) {
      expect(new Set(window.map(blockOf)).size).toBe(2)
      expect(new Set(window.slice(0, 5).map(blockOf)).size).toBe(2)
    }
  })
})
