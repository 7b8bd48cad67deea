// The arithmetic of UnsortedSegmentSum, shared by our cpu and wasm kernels: one pass over x, so the
// cost is tokens × hidden (tfjs-cpu's own kernel builds a mask per segment: vocab × tokens × hidden).
// TensorFlow's semantics: out[s] = Σ x[i] over i with ids[i] = s; ids outside [0, numSegments) drop.

/** Adds each of the `ids.length` rows of `x` (each `inner` long) into row ids[i] of `out` (zeroed here). */
export function segmentSumInto(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  inner: number,
  numSegments: number,
  out: Float32Array | Int32Array,
): void {
  out.fill(0)
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]
    if (s < 0 || s >= numSegments) continue
    const from = i * inner
    const to = s * inner
    for (let j = 0; j < inner; j++) out[to + j] += x[from + j]
  }
}

/** Output shape: [numSegments, ...x.shape after the segment ids' dimensions]. */
export function segmentSumShape(xShape: readonly number[], idsRank: number, numSegments: number): number[] {
  return [numSegments, ...xShape.slice(idsRank)]
}
