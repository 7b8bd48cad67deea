// A dataset's records on disk: JSON-lines shards per split (`train-00000.jsonl`, optionally gzip), and a
// manifest with record counts and, for plain shards, the byte offset of every INDEX_EVERY-th record so
// the sample browser can jump to a line without reading what comes before.
//
// Writes are synchronous and go out in blocks (each block its own gzip member when compressing), so a
// file that fails mid-way is rolled back by truncating to the mark taken before it.
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import zlib from 'node:zlib'

export const INDEX_EVERY = 1000
const BLOCK_BYTES = 1 << 20
const SHARD_BYTES = 64 * 2 ** 20

export interface ShardInfo {
  file: string
  split: string
  records: number
  bytes: number // uncompressed
  /** Byte offsets of records 0, INDEX_EVERY, 2·INDEX_EVERY … (plain shards only). */
  offsets: number[]
}

export interface Manifest {
  format: 'jsonl'
  version: 1
  compression: 'none' | 'gzip'
  records: number
  shards: ShardInfo[]
}

/** What ShardWriter.checkpoint() saw on disk: enough to resume writing after a crash. */
export interface ShardWriterState {
  shards: ShardInfo[]
  /** split -> its open shard and the bytes of it on disk */
  open: Record<string, { file: string; diskBytes: number }>
  counters: Record<string, number>
}

interface OpenShard {
  info: ShardInfo
  fd: number
  diskBytes: number
  block: Buffer[]
  blockBytes: number
}

export class ShardWriter {
  private readonly open = new Map<string, OpenShard>()
  private readonly shards: ShardInfo[] = []
  private readonly counters = new Map<string, number>()
  private mark: { shards: number; open: Map<string, { info: ShardInfo; diskBytes: number; records: number; bytes: number; offsets: number }> } | null = null

  constructor(
    readonly dir: string,
    readonly gzip: boolean,
  ) {
    fs.mkdirSync(dir, { recursive: true })
  }

  write(split: string, record: unknown): void {
    let shard = this.open.get(split)
    if (!shard || shard.info.bytes >= SHARD_BYTES) {
      if (shard) this.closeShard(shard)
      shard = this.newShard(split)
    }
    const line = Buffer.from(`${JSON.stringify(record)}\n`)
    if (!this.gzip && shard.info.records % INDEX_EVERY === 0) shard.info.offsets.push(shard.info.bytes)
    shard.block.push(line)
    shard.blockBytes += line.length
    shard.info.bytes += line.length
    shard.info.records++
    if (shard.blockBytes >= BLOCK_BYTES) this.flush(shard)
  }

  /** Remembers the current end of every shard (call before each source file). */
  markFile(): void {
    for (const s of this.open.values()) this.flush(s)
    this.mark = {
      shards: this.shards.length,
      open: new Map(
        [...this.open].map(([split, s]) => [split, { info: s.info, diskBytes: s.diskBytes, records: s.info.records, bytes: s.info.bytes, offsets: s.info.offsets.length }]),
      ),
    }
  }

  /** Drops everything written since markFile(). */
  rollbackFile(): void {
    const mark = this.mark
    if (!mark) throw new Error('rollbackFile without markFile')
    for (const s of this.open.values()) fs.closeSync(s.fd)
    this.open.clear()
    for (const s of this.shards.splice(mark.shards)) fs.rmSync(path.join(this.dir, s.file), { force: true })
    for (const [split, m] of mark.open) {
      const file = path.join(this.dir, m.info.file)
      fs.truncateSync(file, m.diskBytes)
      Object.assign(m.info, { records: m.records, bytes: m.bytes })
      m.info.offsets.length = m.offsets
      this.open.set(split, { info: m.info, fd: fs.openSync(file, 'a'), diskBytes: m.diskBytes, block: [], blockBytes: 0 })
    }
    for (const [split, n] of this.counters) this.counters.set(split, Math.min(n, this.shards.filter((s) => s.split === split).length))
  }

  /** Flushes, fsyncs and closes every shard; writes the manifest. Returns it. */
  finish(): Manifest {
    for (const s of this.open.values()) this.closeShard(s)
    this.open.clear()
    const shards = this.shards.filter((s) => s.records > 0)
    for (const s of this.shards) if (s.records === 0) fs.rmSync(path.join(this.dir, s.file), { force: true })
    const manifest: Manifest = {
      format: 'jsonl',
      version: 1,
      compression: this.gzip ? 'gzip' : 'none',
      records: shards.reduce((n, s) => n + s.records, 0),
      shards,
    }
    writeFileSynced(path.join(this.dir, 'manifest.json'), JSON.stringify(manifest))
    return manifest
  }

  /**
   * Flushes and fsyncs every open shard and returns what is on disk now: with `ShardWriter.resume`, a
   * writer killed later continues from here (resumable jobs keep this state beside their output).
   */
  checkpoint(): ShardWriterState {
    for (const s of this.open.values()) {
      this.flush(s)
      fs.fsyncSync(s.fd)
    }
    return {
      shards: this.shards.map((s) => ({ ...s, offsets: [...s.offsets] })),
      open: Object.fromEntries([...this.open].map(([split, s]) => [split, { file: s.info.file, diskBytes: s.diskBytes }])),
      counters: Object.fromEntries(this.counters),
    }
  }

  /**
   * A writer that continues from a checkpoint: open shards are cut back to their checkpointed length
   * (dropping whatever a killed process wrote after it) and shard files started later are removed.
   */
  static resume(dir: string, gzip: boolean, state: ShardWriterState): ShardWriter {
    const writer = new ShardWriter(dir, gzip)
    const known = new Set(state.shards.map((s) => s.file))
    for (const file of fs.readdirSync(dir)) if (/\.jsonl(\.gz)?$/.test(file) && !known.has(file)) fs.rmSync(path.join(dir, file))
    writer.shards.push(...state.shards.map((s) => ({ ...s, offsets: [...s.offsets] })))
    for (const [split, n] of Object.entries(state.counters)) writer.counters.set(split, n)
    for (const [split, { file, diskBytes }] of Object.entries(state.open)) {
      const info = writer.shards.find((s) => s.file === file)
      if (!info) throw new Error(`checkpoint names an open shard ${file} that it does not list`)
      const target = path.join(dir, file)
      fs.truncateSync(target, diskBytes)
      writer.open.set(split, { info, fd: fs.openSync(target, 'a'), diskBytes, block: [], blockBytes: 0 })
    }
    return writer
  }

  /** Closes file descriptors without finishing (cancel, failure); the caller removes the folder. */
  abort(): void {
    for (const s of this.open.values()) fs.closeSync(s.fd)
    this.open.clear()
  }

  private newShard(split: string): OpenShard {
    const n = this.counters.get(split) ?? 0
    this.counters.set(split, n + 1)
    const file = `${split}-${String(n).padStart(5, '0')}.jsonl${this.gzip ? '.gz' : ''}`
    const info: ShardInfo = { file, split, records: 0, bytes: 0, offsets: [] }
    this.shards.push(info)
    const shard = { info, fd: fs.openSync(path.join(this.dir, file), 'w'), diskBytes: 0, block: [], blockBytes: 0 }
    this.open.set(split, shard)
    return shard
  }

  private flush(s: OpenShard): void {
    if (s.blockBytes === 0) return
    const plain = Buffer.concat(s.block, s.blockBytes)
    const data = this.gzip ? zlib.gzipSync(plain, { level: 6 }) : plain
    fs.writeSync(s.fd, data)
    s.diskBytes += data.length
    s.block = []
    s.blockBytes = 0
  }

  private closeShard(s: OpenShard): void {
    this.flush(s)
    fs.fsyncSync(s.fd)
    fs.closeSync(s.fd)
    this.open.delete(s.info.split)
  }
}

export function writeFileSynced(file: string, data: string): void {
  const fd = fs.openSync(file, 'w')
  try {
    fs.writeSync(fd, data)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest
}

export interface Sample {
  /** 0-based position in the dataset (shards in manifest order). */
  index: number
  split: string
  record: Record<string, unknown>
}

/** Lines of one shard from a record index (plain shards seek through the offsets index). */
async function* shardLines(dir: string, shard: ShardInfo, from: number): AsyncGenerator<{ index: number; line: string }> {
  const file = path.join(dir, shard.file)
  const indexed = shard.offsets.length > 0 && !shard.file.endsWith('.gz')
  const block = indexed ? Math.min(Math.floor(from / INDEX_EVERY), shard.offsets.length - 1) : 0
  const start = indexed ? shard.offsets[block] : 0
  let index = indexed ? block * INDEX_EVERY : 0
  let input: NodeJS.ReadableStream = fs.createReadStream(file, { start })
  if (shard.file.endsWith('.gz')) input = input.pipe(zlib.createGunzip())
  const rl = readline.createInterface({ input, crlfDelay: Infinity })
  try {
    for await (const line of rl) {
      if (index >= from) yield { index, line }
      index++
    }
  } finally {
    rl.close()
    ;(input as unknown as { destroy(): void }).destroy()
  }
}

/**
 * Every record from the global index `from` on, in manifest order, read as a stream (one pass per shard);
 * with `split`, only that split's records (other shards are not read).
 */
export async function* readRecords(dir: string, from = 0, split?: string): AsyncGenerator<Sample> {
  const manifest = readManifest(dir)
  let base = 0
  for (const shard of manifest.shards) {
    if (base + shard.records > from && (split === undefined || shard.split === split)) {
      for await (const { index, line } of shardLines(dir, shard, Math.max(0, from - base))) {
        yield { index: base + index, split: shard.split, record: JSON.parse(line) as Record<string, unknown> }
      }
    }
    base += shard.records
  }
}

/**
 * Records from `offset`, at most `limit`; with `query`, only records whose JSON contains it, scanning
 * forward from `offset`. `next` is where the following page starts (null at the end).
 */
export async function readSamples(
  dir: string,
  offset: number,
  limit: number,
  query?: string,
): Promise<{ total: number; items: Sample[]; next: number | null }> {
  const manifest = readManifest(dir)
  const items: Sample[] = []
  let base = 0
  let next: number | null = null
  const needle = query?.toLowerCase()
  outer: for (const shard of manifest.shards) {
    if (base + shard.records <= offset) {
      base += shard.records
      continue
    }
    for await (const { index, line } of shardLines(dir, shard, Math.max(0, offset - base))) {
      const global = base + index
      if (items.length >= limit) {
        next = global
        break outer
      }
      if (needle) {
        const record = JSON.parse(line) as Record<string, unknown>
        if (!JSON.stringify(record).toLowerCase().includes(needle) && !line.toLowerCase().includes(needle)) continue
        items.push({ index: global, split: shard.split, record })
      } else {
        items.push({ index: global, split: shard.split, record: JSON.parse(line) })
      }
    }
    base += shard.records
  }
  return { total: manifest.records, items, next }
}
