// The order in which training visits segments, read block by block: each epoch takes the blocks (runs of
// consecutive segments, one read each) in a random order and the segments of a block in a random order,
// both drawn from (seed, epoch, block). Memory holds the current block, whatever the corpus size, and a
// data position (segments consumed) is all a checkpoint needs to continue the same order.
import { Rng } from '../compute/rng'
import { badInput } from '../errors'
import { TokenSplitReader, type SegmentBlock } from '../text/token-shards'
import { plainSegment } from './batch'

export const BLOCK_SEGMENTS = 4096

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

/** Position → (block, segment in block), reading each block once as the positions reach it. */
export class SegmentStream {
  private epoch = -1
  private blockOrder = new Int32Array(0)
  private blockEnds = new Float64Array(0) // cumulative segment counts in this epoch's block order
  private loaded: { epoch: number; slot: number; block: SegmentBlock; perm: Int32Array } | null = null

  constructor(
    readonly source: SegmentSource,
    private readonly seed: number,
  ) {
    if (source.size <= 0) throw badInput('training data is empty')
  }

  /** The block holding position p and the segment's index in it. */
  at(position: number): { block: SegmentBlock; local: number } {
    const epoch = Math.floor(position / this.source.size)
    let q = position - epoch * this.source.size
    if (epoch !== this.epoch) {
      this.epoch = epoch
      this.blockOrder = Int32Array.from(this.source.blocks.keys())
      new Rng((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0).shuffle(this.blockOrder)
      let sum = 0
      this.blockEnds = Float64Array.from(this.blockOrder, (b) => (sum += this.source.blocks[b].count))
    }
    let slot = 0
    while (this.blockEnds[slot] <= q) slot++
    q -= slot === 0 ? 0 : this.blockEnds[slot - 1]
    if (!this.loaded || this.loaded.epoch !== epoch || this.loaded.slot !== slot) {
      const range = this.source.blocks[this.blockOrder[slot]]
      const perm = Int32Array.from({ length: range.count }, (_, i) => i)
      new Rng((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1) ^ Math.imul(this.blockOrder[slot] + 1, 0x85ebca6b)) >>> 0).shuffle(perm)
      this.loaded = { epoch, slot, block: this.source.read(range.first, range.count), perm }
    }
    return { block: this.loaded.block, local: this.loaded.perm[q] }
  }
}
