// Training token shards (docs/shards.md): WordPiece ids with POS/NE classes and word starts, 8 bytes a
// token in `.tok` files, one 12-byte entry a segment in `.idx` files, a manifest with the vocab's checksum.
// The writer streams (a block buffer per file); the reader reads runs of consecutive segments with one
// positioned read each, so memory holds a block, never a split.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { corrupt } from '../errors'

export const TOKEN_SHARDS_FORMAT = 'mengzi-token-shards'
export const TOKEN_BYTES = 8
export const INDEX_BYTES = 12
export const NO_LABEL = 255
export const WORD_START = 1
const MAX_SHARD_TOKENS = 2 ** 27
const FLUSH_BYTES = 1 << 20

export interface TokenShardFile {
  tok: string
  idx: string
  segments: number
  tokens: number
  sha256: { tok: string; idx: string }
}

export interface TokenSplit {
  records: number
  segments: number
  tokens: number
  shards: TokenShardFile[]
}

export interface TokenShardsManifest {
  format: typeof TOKEN_SHARDS_FORMAT
  version: 1
  vocab: { sha256: string; size: number; specials: { pad: number; unk: number; cls: number; sep: number; mask: number } }
  maxSegmentTokens: number
  labels: { pos: string[]; ner: string[] }
  tags: { tagger: string; entities: boolean } | null
  splits: Record<string, TokenSplit>
  createdAt: string
}

/** One segment's tokens: ids and, per token, POS class, NE class and flags (views into a block). */
export interface Segment {
  ids: Int32Array
  pos: Uint8Array
  ner: Uint8Array
  flags: Uint8Array
  record: number
}

class HashedFile {
  private readonly fd: number
  private readonly hash = createHash('sha256')
  private chunks: Buffer[] = []
  private pending = 0

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w')
  }

  write(b: Buffer): void {
    this.chunks.push(b)
    this.pending += b.length
    if (this.pending >= FLUSH_BYTES) this.flush()
  }

  close(): string {
    this.flush()
    fs.fsyncSync(this.fd)
    fs.closeSync(this.fd)
    return this.hash.digest('hex')
  }

  abort(): void {
    fs.closeSync(this.fd)
  }

  private flush(): void {
    if (this.pending === 0) return
    const data = Buffer.concat(this.chunks, this.pending)
    this.hash.update(data)
    fs.writeSync(this.fd, data)
    this.chunks = []
    this.pending = 0
  }
}

/** Writes one split's segments into `<split>-NNNNN.tok/.idx` files in `dir`. */
export class TokenSplitWriter {
  private readonly shards: TokenShardFile[] = []
  private tok: HashedFile | null = null
  private idx: HashedFile | null = null
  private current: TokenShardFile | null = null
  private lastRecord = -1
  private records = 0

  constructor(
    readonly dir: string,
    readonly split: string,
  ) {}

  /** Appends a segment: ids with per-token POS class, NE class and flags (NO_LABEL where untagged). */
  add(record: number, ids: ArrayLike<number>, pos: ArrayLike<number>, ner: ArrayLike<number>, flags: ArrayLike<number>): void {
    const n = ids.length
    if (n === 0) return
    if (!this.current || this.current.tokens + n > MAX_SHARD_TOKENS) this.openShard()
    const shard = this.current!
    const tok = Buffer.alloc(n * TOKEN_BYTES)
    for (let i = 0; i < n; i++) {
      tok.writeInt32LE(ids[i], i * TOKEN_BYTES)
      tok[i * TOKEN_BYTES + 4] = pos[i]
      tok[i * TOKEN_BYTES + 5] = ner[i]
      tok[i * TOKEN_BYTES + 6] = flags[i]
    }
    const entry = Buffer.alloc(INDEX_BYTES)
    entry.writeUInt32LE(shard.tokens, 0)
    entry.writeUInt32LE(n, 4)
    entry.writeUInt32LE(record, 8)
    this.tok!.write(tok)
    this.idx!.write(entry)
    shard.tokens += n
    shard.segments++
    if (record !== this.lastRecord) this.records++
    this.lastRecord = record
  }

  finish(): TokenSplit {
    this.closeShard()
    return {
      records: this.records,
      segments: this.shards.reduce((s, f) => s + f.segments, 0),
      tokens: this.shards.reduce((s, f) => s + f.tokens, 0),
      shards: this.shards,
    }
  }

  abort(): void {
    this.tok?.abort()
    this.idx?.abort()
  }

  private openShard(): void {
    this.closeShard()
    const base = `${this.split}-${String(this.shards.length).padStart(5, '0')}`
    this.current = { tok: `${base}.tok`, idx: `${base}.idx`, segments: 0, tokens: 0, sha256: { tok: '', idx: '' } }
    this.tok = new HashedFile(path.join(this.dir, this.current.tok))
    this.idx = new HashedFile(path.join(this.dir, this.current.idx))
  }

  private closeShard(): void {
    if (!this.current) return
    this.current.sha256 = { tok: this.tok!.close(), idx: this.idx!.close() }
    this.shards.push(this.current)
    this.current = this.tok = this.idx = null
  }
}

export function readTokenManifest(dir: string): TokenShardsManifest {
  const file = path.join(dir, 'manifest.json')
  let m: TokenShardsManifest
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as TokenShardsManifest
  } catch (e) {
    throw corrupt(`${file}: unreadable (${(e as Error).message.split('\n')[0]})`)
  }
  if (m.format !== TOKEN_SHARDS_FORMAT || m.version !== 1) throw corrupt(`${file}: not ${TOKEN_SHARDS_FORMAT} version 1 (format ${JSON.stringify(m.format)}, version ${m.version})`)
  return m
}

/** A block of consecutive segments of one shard, read at once. */
export interface SegmentBlock {
  /** Global index (within the split) of the first segment. */
  first: number
  count: number
  segment(i: number): Segment
}

/**
 * One split of a token-shards folder: segment counts from the manifest, blocks read on demand with one
 * positioned read of the index and one of the tokens. File descriptors stay open until close().
 */
export class TokenSplitReader {
  readonly size: number
  readonly tokens: number
  private readonly starts: number[] = [] // global index of each shard's first segment
  private readonly fds: { tok: number; idx: number }[] = []

  constructor(
    readonly dir: string,
    readonly manifest: TokenShardsManifest,
    readonly split: string,
  ) {
    const s = manifest.splits[split]
    if (!s) throw corrupt(`${dir}: no "${split}" split in the token shards`)
    let at = 0
    for (const shard of s.shards) {
      this.starts.push(at)
      at += shard.segments
      for (const [file, bytes] of [
        [shard.tok, shard.tokens * TOKEN_BYTES],
        [shard.idx, shard.segments * INDEX_BYTES],
      ] as const) {
        const size = fs.statSync(path.join(dir, file)).size
        if (size !== bytes) throw corrupt(`${dir}/${file}: ${size} bytes, the manifest says ${bytes}`)
      }
      this.fds.push({ tok: fs.openSync(path.join(dir, shard.tok), 'r'), idx: fs.openSync(path.join(dir, shard.idx), 'r') })
    }
    this.size = at
    this.tokens = s.tokens
  }

  /** Shard number and its first global segment index, for the segment at `index`. */
  shardOf(index: number): { shard: number; first: number; segments: number } {
    let k = this.starts.length - 1
    while (k > 0 && this.starts[k] > index) k--
    return { shard: k, first: this.starts[k], segments: this.manifest.splits[this.split].shards[k].segments }
  }

  /** Segments [first, first + count), which must lie in one shard. */
  read(first: number, count: number): SegmentBlock {
    const { shard, first: shardFirst, segments } = this.shardOf(first)
    const local = first - shardFirst
    if (count <= 0 || local + count > segments) throw new Error(`token shards: segments [${first}, ${first + count}) cross shard ${shard}'s end`)
    const fd = this.fds[shard]
    const index = Buffer.alloc(count * INDEX_BYTES)
    fs.readSync(fd.idx, index, 0, index.length, local * INDEX_BYTES)
    const starts = new Uint32Array(count)
    const lengths = new Uint32Array(count)
    const records = new Uint32Array(count)
    for (let i = 0; i < count; i++) {
      starts[i] = index.readUInt32LE(i * INDEX_BYTES)
      lengths[i] = index.readUInt32LE(i * INDEX_BYTES + 4)
      records[i] = index.readUInt32LE(i * INDEX_BYTES + 8)
    }
    const firstToken = starts[0]
    const n = starts[count - 1] + lengths[count - 1] - firstToken
    const raw = Buffer.alloc(n * TOKEN_BYTES)
    fs.readSync(fd.tok, raw, 0, raw.length, firstToken * TOKEN_BYTES)
    // split the interleaved records into columns once, so segments are plain views
    const ids = new Int32Array(n)
    const pos = new Uint8Array(n)
    const ner = new Uint8Array(n)
    const flags = new Uint8Array(n)
    for (let t = 0; t < n; t++) {
      const o = t * TOKEN_BYTES
      ids[t] = raw.readInt32LE(o)
      pos[t] = raw[o + 4]
      ner[t] = raw[o + 5]
      flags[t] = raw[o + 6]
    }
    return {
      first,
      count,
      segment: (i) => {
        const a = starts[i] - firstToken
        const b = a + lengths[i]
        return { ids: ids.subarray(a, b), pos: pos.subarray(a, b), ner: ner.subarray(a, b), flags: flags.subarray(a, b), record: records[i] }
      },
    }
  }

  close(): void {
    for (const fd of this.fds.splice(0)) {
      fs.closeSync(fd.tok)
      fs.closeSync(fd.idx)
    }
  }
}

/** SHA-256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
