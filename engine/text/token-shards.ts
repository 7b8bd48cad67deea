// Training token shards (docs/shards.md): WordPiece ids with POS/NE classes and word starts, 8 bytes a
// token in `.tok` files, one 12-byte entry a segment in `.idx` files, a manifest with the vocab's checksum.
// The writer streams through one fixed block buffer per file and can checkpoint and resume; the reader reads runs of consecutive segments with one
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
// write blocks: whole records, so a record never straddles a flush
const TOK_BLOCK_BYTES = (1 << 17) * TOKEN_BYTES // 1 MiB
const IDX_BLOCK_BYTES = (1 << 16) * INDEX_BYTES // 768 KiB

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

/**
 * An output file written through one fixed buffer: callers reserve room, fill it in place, and full
 * blocks go to disk (and into the running checksum). Nothing is allocated per record, so the writer's
 * memory is one block whatever the corpus (per-record Buffers fragment the malloc heap and RSS creeps).
 */
class BlockFile {
  private readonly fd: number
  private readonly hash = createHash('sha256')
  readonly block: Buffer
  used = 0
  /** Bytes on disk (flushed). */
  flushed = 0

  constructor(
    readonly file: string,
    blockBytes: number,
    resumeAt: number | null = null,
  ) {
    this.block = Buffer.allocUnsafe(blockBytes)
    if (resumeAt === null) {
      this.fd = fs.openSync(file, 'w')
      return
    }
    // continue a checkpointed file: cut what a killed run wrote after the checkpoint, and hash what stays
    fs.truncateSync(file, resumeAt)
    this.fd = fs.openSync(file, 'r+')
    for (let at = 0; at < resumeAt; ) {
      const n = fs.readSync(this.fd, this.block, 0, Math.min(blockBytes, resumeAt - at), at)
      if (n <= 0) throw corrupt(`${file}: shorter than its checkpoint (${at} of ${resumeAt} bytes)`)
      this.hash.update(this.block.subarray(0, n))
      at += n
    }
    this.flushed = resumeAt
  }

  /** Makes room for `bytes` more in the block (flushing it when full); returns the offset to fill. */
  reserve(bytes: number): number {
    if (this.used + bytes > this.block.length) this.flush()
    const at = this.used
    this.used += bytes
    return at
  }

  flush(): void {
    if (this.used === 0) return
    const data = this.block.subarray(0, this.used)
    this.hash.update(data)
    fs.writeSync(this.fd, data, 0, this.used, this.flushed)
    this.flushed += this.used
    this.used = 0
  }

  /** Flushes and fsyncs: what is on disk now survives a crash. */
  sync(): void {
    this.flush()
    fs.fsyncSync(this.fd)
  }

  close(): string {
    this.sync()
    fs.closeSync(this.fd)
    return this.hash.digest('hex')
  }

  abort(): void {
    fs.closeSync(this.fd)
  }
}

/** What TokenSplitWriter.checkpoint() saw on disk: enough to continue the split after a crash. */
export interface TokenSplitWriterState {
  /** finished shards, with their checksums */
  shards: TokenShardFile[]
  /** the open shard (segments and tokens on disk), if any */
  current: TokenShardFile | null
  records: number
  lastRecord: number
}

/** Writes one split's segments into `<split>-NNNNN.tok/.idx` files in `dir`, through fixed blocks. */
export class TokenSplitWriter {
  private readonly shards: TokenShardFile[] = []
  private tok: BlockFile | null = null
  private idx: BlockFile | null = null
  private current: TokenShardFile | null = null
  private lastRecord = -1
  private records = 0

  constructor(
    readonly dir: string,
    readonly split: string,
  ) {}

  /**
   * A writer that continues from a checkpoint: the open shard's files are cut back to their checkpointed
   * length (dropping what a killed run wrote after it) and re-hashed; shard files started later are removed.
   */
  static resume(dir: string, split: string, state: TokenSplitWriterState): TokenSplitWriter {
    const writer = new TokenSplitWriter(dir, split)
    writer.shards.push(...state.shards.map((s) => ({ ...s, sha256: { ...s.sha256 } })))
    writer.records = state.records
    writer.lastRecord = state.lastRecord
    const known = new Set(state.shards.flatMap((s) => [s.tok, s.idx]))
    if (state.current) known.add(state.current.tok).add(state.current.idx)
    const mine = new RegExp(`^${split.replace(/[^\w-]/g, '\\$&')}-\\d{5}\\.(tok|idx)$`)
    for (const file of fs.readdirSync(dir)) if (mine.test(file) && !known.has(file)) fs.rmSync(path.join(dir, file))
    if (state.current) {
      const c = { ...state.current, sha256: { tok: '', idx: '' } }
      writer.current = c
      writer.tok = new BlockFile(path.join(dir, c.tok), TOK_BLOCK_BYTES, c.tokens * TOKEN_BYTES)
      writer.idx = new BlockFile(path.join(dir, c.idx), IDX_BLOCK_BYTES, c.segments * INDEX_BYTES)
    }
    return writer
  }

  /** Appends a segment: ids with per-token POS class, NE class and flags (NO_LABEL where untagged). */
  add(record: number, ids: ArrayLike<number>, pos: ArrayLike<number>, ner: ArrayLike<number>, flags: ArrayLike<number>): void {
    const n = ids.length
    if (n === 0) return
    if (!this.current || this.current.tokens + n > MAX_SHARD_TOKENS) this.openShard()
    const shard = this.current!
    const tok = this.tok!
    for (let i = 0; i < n; i++) {
      const o = tok.reserve(TOKEN_BYTES)
      const b = tok.block
      b.writeInt32LE(ids[i], o)
      b[o + 4] = pos[i]
      b[o + 5] = ner[i]
      b[o + 6] = flags[i]
      b[o + 7] = 0
    }
    const idx = this.idx!
    const o = idx.reserve(INDEX_BYTES)
    idx.block.writeUInt32LE(shard.tokens, o)
    idx.block.writeUInt32LE(n, o + 4)
    idx.block.writeUInt32LE(record, o + 8)
    shard.tokens += n
    shard.segments++
    if (record !== this.lastRecord) this.records++
    this.lastRecord = record
  }

  /** Flushes and fsyncs the open shard; returns the state a resumed writer starts from. */
  checkpoint(): TokenSplitWriterState {
    this.tok?.sync()
    this.idx?.sync()
    const copy = (s: TokenShardFile) => ({ ...s, sha256: { ...s.sha256 } })
    return { shards: this.shards.map(copy), current: this.current && copy(this.current), records: this.records, lastRecord: this.lastRecord }
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
    this.tok = this.idx = null
  }

  private openShard(): void {
    this.closeShard()
    const base = `${this.split}-${String(this.shards.length).padStart(5, '0')}`
    this.current = { tok: `${base}.tok`, idx: `${base}.idx`, segments: 0, tokens: 0, sha256: { tok: '', idx: '' } }
    this.tok = new BlockFile(path.join(this.dir, this.current.tok), TOK_BLOCK_BYTES)
    this.idx = new BlockFile(path.join(this.dir, this.current.idx), IDX_BLOCK_BYTES)
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
