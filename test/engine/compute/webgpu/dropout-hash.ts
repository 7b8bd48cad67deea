// The dropout mask by its definition, for tests that rebuild it element by element: lowbias32, the hash
// of engine/native/src/dropout.h, written out again here from its definition.
const mix = (v: number) => {
  let h = v >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d) >>> 0
  h ^= h >>> 15
  h = Math.imul(h, 0x846ca68b) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}

/** Whether element i survives dropout with wgsl.ts's dropoutParams (seedWord, threshold). */
export const keptByHash = (i: number, seedWord: number, threshold: number): boolean => mix((mix((i ^ seedWord) >>> 0) + seedWord) >>> 0) >>> 8 >= threshold
