// The order in which training visits segments, read block by block: each epoch takes the blocks (runs of
// consecutive segments, one read each) in a random order, WINDOW_BLOCKS at a time, and the segments of
// those blocks in one random order, drawn from (seed, epoch, window). Memory holds the current window,
// whatever the corpus size, and a data position (segments consumed) is all a checkpoint needs to continue
// the same order.
import { Rng } from '../compute/rng'
import { badInput } from '../errors'
import { TokenSplitReader, type SegmentBlock } from '../text/token-shards'
import { plainSegment } from './batch'

export const BLOCK_SEGMENTS = 512
/** Blocks read and shuffled together: memory holds BLOCK_SEGMENTS × WINDOW_BLOCKS segments. */
export const WINDOW_BLOCKS = 8

/** Segments grouped into blocks; `read` loads one block. */
export interface SegmentSource {
  readonly size: number
  readonly blocks: readonly { first: number; count: number }[]
  /** Whether segments carry POS/NE labels (a tagged dataset). */
  readonly labelled: boolean
  read(first: number, count: number): SegmentBlock
  close(): void
}

/** Blocks of at most `size` consecutive segments within [first, first + count); a 1-segment tail joins the block before. */
export function blockRanges(first: number, count: number, size = BLOCK_SEGMENTS): { first: number; count: number }[] {
  const out: { first: number; count: number }[] = []
  for (let a = 0; a < count; a += size) out.push({ first: first + a, count: Math.min(size, count - a) })
  if (out.length > 1 && out[out.length - 1].count < 2) out[out.length - 2].count += out.pop()!.count
  return out
}

/** A token-shards split (labelled when the shards carry tags). */
export function shardSource(reader: TokenSplitReader, blockSegments = BLOCK_SEGMENTS): SegmentSource {
  let at = 0
  const blocks = reader.manifest.splits[reader.split].shards.flatMap((s) => {
    const ranges = blockRanges(at, s.segments, blockSegments)
    at += s.segments
    return ranges
  })
  return { size: reader.size, blocks, labelled: reader.manifest.tags !== null, read: (f, c) => reader.read(f, c), close: () => reader.close() }
}

/** In-memory token-id segments (synthetic data, token files, a text file): no labels, tokens as words. */
export function memorySource(source: { size: number; get(i: number): Int32Array }, blockSegments = BLOCK_SEGMENTS): SegmentSource {
  return {
    size: source.size,
    blocks: blockRanges(0, source.size, blockSegments),
    labelled: false,
    read: (first, count) => ({ first, count, segment: (i) => ({ ...plainSegment(source.get(first + i)), record: first + i }) }),
    close: () => {},
  }
}

/** Position → (block, segment in block). Each epoch shuffles the blocks, takes them `WINDOW_BLOCKS` at a
 * time and visits the segments of those blocks together in one random order: a batch mixes several
 * distant stretches of the corpus (one block of consecutive text per batch made the loss jump at every
 * block boundary), while memory still holds one window. */
export class SegmentStream {
  private epoch = -1
  private blockOrder = new Int32Array(0)
  private windowEnds = new Float64Array(0) // cumulative segment counts of this epoch's windows
  private loaded: { epoch: number; window: number; blocks: SegmentBlock[]; starts: Float64Array; perm: Int32Array } | null = null

  constructor(
    readonly source: SegmentSource,
    private readonly seed: number,
    private readonly windowBlocks = WINDOW_BLOCKS,
  ) {
    if (source.size <= 0) throw badInput('training data is empty')
  }

  /** The block holding position p and the segment's index in it. */
  at(position: number): { block: SegmentBlock; local: number } {
    const epoch = Math.floor(position / this.source.size)
    let q = position - epoch * this.source.size
    const epochSeed = (this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0
    if (epoch !== this.epoch) {
      this.epoch = epoch
      this.blockOrder = Int32Array.from(this.source.blocks.keys())
      new Rng(epochSeed).shuffle(this.blockOrder)
      const windows = Math.ceil(this.blockOrder.length / this.windowBlocks)
      let sum = 0
      this.windowEnds = Float64Array.from({ length: windows }, (_, w) => {
        for (const b of this.blockOrder.subarray(w * this.windowBlocks, (w + 1) * this.windowBlocks)) sum += this.source.blocks[b].count
        return sum
      })
    }
    let window = 0
    while (this.windowEnds[window] <= q) window++
    q -= window === 0 ? 0 : this.windowEnds[window - 1]
    if (!this.loaded || this.loaded.epoch !== epoch || this.loaded.window !== window) {
      this.loaded = null // the previous window's blocks go before the next are read
      const ranges = Array.from(this.blockOrder.subarray(window * this.windowBlocks, (window + 1) * this.windowBlocks), (b) => this.source.blocks[b])
      let sum = 0
      const starts = Float64Array.from(ranges, (r) => (sum += r.count) - r.count)
      const perm = Int32Array.from({ length: sum }, (_, i) => i)
      new Rng((epochSeed ^ Math.imul(window + 1, 0x85ebca6b)) >>> 0).shuffle(perm)
      this.loaded = { epoch, window, blocks: ranges.map((r) => this.source.read(r.first, r.count)), starts, perm }
    }
    const { blocks, starts, perm } = this.loaded
    const i = perm[q]
    let b = blocks.length - 1
    while (starts[b] > i) b--
    return { block: blocks[b], local: i - starts[b] }
  }
}
