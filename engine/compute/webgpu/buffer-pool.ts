// A bound on what tfjs-webgpu's buffer pool holds. Its BufferManager (4.22) files released buffers by
// exact byte size and never destroys one, and a training run keeps asking for new sizes: each count of
// masked tokens gives the MLM decoder new [M, vocab] buffers, and each batch length (batches pad to
// their longest member) a new set of activations. On lavapipe, 60 steps of a tiny BERT on batches of
// 4 × 2–62 tokens held 53 MB for 1.6 MB in use. At BERT-BASE's vocabulary one [616, 21128] f32 buffer
// is 52 MB, so a long run on a GPU would grow until the device runs out of memory.
// - When the pool has no free buffer of the size asked for and must make one, it first destroys free
//   buffers, the size used least recently first, until the free bytes are within the most bytes ever
//   in use at once. What it holds stays within twice that peak.
// - A run whose shapes repeat finds every buffer free after its first step and never gets here.
// - Destroying a free buffer is safe: tfjs releases a tensor's buffer only once the commands that use
//   it are submitted (commandQueueOwnedIds, which runner.ts keeps too), and Dawn keeps a destroyed
//   buffer's memory until the submitted work is done. A bind group cached for it (bind-groups.ts)
//   names its id, which no buffer handed out again has.
import type { GpuBuffer } from './gpu'

/** The parts of tfjs-webgpu's BufferManager (4.22) this uses. */
interface BufferManager {
  freeBuffers: Map<string, (GpuBuffer & { destroy(): void })[]>
  usedBuffers: Map<string, GpuBuffer[]>
  numFreeBuffers: number
  numBytesUsed: number
  numBytesAllocated: number
  acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GpuBuffer
}

export interface BufferPoolCounts {
  /** The most bytes the pool's buffers held in use at once: the bound on its free bytes. */
  mostInUse: number
  /** Free buffers destroyed to stay within the bound, and their bytes. */
  destroyed: number
  destroyedBytes: number
}

let bounded = process.env.MENGZI_WEBGPU_POOL_BOUND !== '0' // 0: tfjs's pool as it is (for comparisons)

/** Turns the bound on or off (a test compares the two); returns the previous setting. */
export function setBufferPoolBound(on: boolean): boolean {
  const previous = bounded
  bounded = on
  return previous
}

const pools = new WeakMap<object, BufferPoolCounts>()

/** The bound's counts for `backend`'s pool; null where boundBufferPool was not applied to it. */
export function bufferPoolCounts(backend: object): BufferPoolCounts | null {
  const counts = pools.get(backend)
  return counts ? { ...counts } : null
}

/** Bounds `backend`'s pool as the header says. */
export function boundBufferPool(backend: object): void {
  const pool = (backend as { bufferManager?: BufferManager }).bufferManager
  if (!pool || !(pool.freeBuffers instanceof Map) || typeof pool.acquireBuffer !== 'function' || !(pool.usedBuffers instanceof Map) || typeof pool.numBytesAllocated !== 'number') {
    throw new Error('not the tfjs-webgpu 4.22 buffer manager this was written for')
  }
  const counts: BufferPoolCounts = { mostInUse: 0, destroyed: 0, destroyedBytes: 0 }
  pools.set(backend, counts)
  const recency = new Map<string, true>() // buffer keys, the least recently acquired first
  const acquire = pool.acquireBuffer.bind(pool)

  /** Destroys free buffers, oldest key first, until the free bytes are within the bound. */
  function makeRoom(): void {
    for (const key of recency.keys()) {
      if (pool!.numBytesAllocated - pool!.numBytesUsed <= counts.mostInUse) return
      const free = pool!.freeBuffers.get(key)
      while (free?.length && pool!.numBytesAllocated - pool!.numBytesUsed > counts.mostInUse) {
        const buffer = free.pop()!
        pool!.numFreeBuffers--
        pool!.numBytesAllocated -= buffer.size
        counts.destroyed++
        counts.destroyedBytes += buffer.size
        buffer.destroy()
      }
      // no buffer of this size left: acquiring one again puts the key back (one in use stays, to be found once free)
      if (!free?.length && !pool!.usedBuffers.get(key)?.length) recency.delete(key)
    }
  }

  pool.acquireBuffer = (size, usage, mappedAtCreation = false, reuse = true) => {
    const key = `${size}_${usage}` // tfjs's getBufferKey
    recency.delete(key)
    recency.set(key, true)
    if (bounded && !pool.freeBuffers.get(key)?.length) makeRoom()
    const buffer = acquire(size, usage, mappedAtCreation, reuse)
    if (pool.numBytesUsed > counts.mostInUse) counts.mostInUse = pool.numBytesUsed
    return buffer
  }
}
