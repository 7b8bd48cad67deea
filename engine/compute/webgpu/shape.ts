/** Elements of a tensor of `shape`. */
export const sizeFromShape = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

/** Rows and row length of a tensor taken over its last axis. */
export function rowsOf(shape: readonly number[]): { rows: number; H: number } {
  const H = shape.at(-1) ?? 1
  return { rows: sizeFromShape(shape.slice(0, -1)), H }
}
