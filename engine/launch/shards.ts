// The run's training stream as token shards (docs/shards.md) for the torch trainer: an imported dataset
// uses its cached shards (engine/train/shard-build.ts, the same files the local engine streams from);
// a text file, token file or synthetic source is written out once, segment for segment what the local
// engine's openSource yields (no tags: labels 255, WordPiece word starts when there is a vocab).
import fs from 'node:fs'
import path from 'node:path'
import type { BertConfig } from '../model/config'
import { NO_LABEL, sha256File, TOKEN_SHARDS_FORMAT, TokenSplitWriter, WORD_START, type TokenShardsManifest } from '../text/token-shards'
import { loadVocab } from '../text/vocab'
import { vocabOf, type TrainConfig } from '../train/config'
import { openSource } from '../train/data'
import { buildTokenShards, objectiveLabels } from '../train/shard-build'

/** Segment length the local engine cuts a source into: a single sequence's ([CLS] segment [SEP]); pairs are truncated to fit. */
export function segmentTokensOf(config: TrainConfig): number {
  return config.maxSeqLength - 2
}

export interface ShardOptions {
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
}

/** The shard folder of the run's data: `dir/shards` (written here) or the dataset's cached folder. */
export async function materialiseShards(config: TrainConfig, bert: BertConfig, dir: string, options: ShardOptions = {}): Promise<string> {
  const maxSegmentTokens = segmentTokensOf(config)
  if (config.data.kind === 'dataset') {
    return buildTokenShards(config.data.dir, { vocabFile: vocabOf(config)!, maxSegmentTokens, signal: options.signal, onProgress: options.onProgress })
  }
  const { source, specials } = await openSource(config.data, bert.vocab_size, maxSegmentTokens + 2)
  const vocabFile = vocabOf(config)
  const vocab = vocabFile ? loadVocab(vocabFile) : null
  const final = path.join(dir, 'shards')
  const partial = `${final}.partial`
  fs.rmSync(partial, { recursive: true, force: true })
  fs.mkdirSync(partial, { recursive: true })
  const writer = new TokenSplitWriter(partial, 'train')
  for (let i = 0; i < source.size; i++) {
    const ids = source.get(i)
    const none = new Uint8Array(ids.length).fill(NO_LABEL)
    const flags = Uint8Array.from(ids, (id, k) => (k === 0 || !vocab || !(vocab.tokens[id] ?? '').startsWith('##') ? WORD_START : 0))
    writer.add(i, ids, none, none, flags)
    if (i % 4096 === 0) options.onProgress?.(i, source.size)
  }
  const manifest: TokenShardsManifest = {
    format: TOKEN_SHARDS_FORMAT,
    version: 1,
    vocab: { sha256: vocabFile ? await sha256File(vocabFile) : '', size: vocab?.size ?? bert.vocab_size, specials },
    maxSegmentTokens,
    labels: objectiveLabels(),
    tags: null,
    splits: { train: writer.finish() },
    createdAt: new Date().toISOString(),
  }
  fs.writeFileSync(path.join(partial, 'manifest.json'), JSON.stringify(manifest, null, 1))
  fs.rmSync(final, { recursive: true, force: true })
  fs.renameSync(partial, final)
  return final
}
