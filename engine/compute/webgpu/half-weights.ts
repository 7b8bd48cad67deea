// The f16 copies of weights that the dense products read in fp16 runs (half.ts), by the weight's data:
// a tfjs data id never changes its values (assign gives a variable a new one), so a copy made for an
// id stays right for as long as the id lives. Two kinds of copy:
//   - the multi-tensor optimizer's: its update dispatch writes the f16 of every updated weight into the
//     arena's packed buffer H (optimizer-arena.ts), and the variable's new id is given that place in H;
//   - a tensor of its own, released once its id is gone: written by the per-parameter optimizer's update
//     (adam.ts) with the new value, whose new id nothing else holds yet (`adoptOwnedCopy`), or packed here
//     on first use (the first forward, a weight loaded or assigned).
// Aliasing: a place in H is overwritten by the next update while the id it was given may live on (a
// clone of the weight taken before the step shares it); the arena takes the place back from the old id
// first (`releaseArenaCopy`), so that id gets a copy of its own values on its next use.
import type { TensorInfo } from '@tensorflow/tfjs'
import { packHalf, type HalfOperand } from './half'
import type { WebgpuBackendInternals } from './runner'

interface Copy {
  half: HalfOperand
  /** Packed here (a tensor to dispose), rather than a place in the arena's H. */
  owned: boolean
}

const copies = new Map<object, Copy>()

/** The f16 copy of weight w (float32), packing it if none is held for its data. */
export function halfWeight(backend: WebgpuBackendInternals, w: TensorInfo): HalfOperand {
  const held = copies.get(w.dataId)
  if (held) return held.half
  releaseDeadHalfWeights(backend)
  const half = { data: packHalf(backend, w), offset: 0 }
  copies.set(w.dataId, { half, owned: true })
  return half
}

/** The f16 copy held for weight data `id`, packing none (tests: the copy the products last read). */
export function heldHalfWeight(id: object): HalfOperand | undefined {
  return copies.get(id)?.half
}

/** Gives data id `id` the f16 copy at `half` (a place in the arena's H that the update just wrote). */
export function adoptArenaCopy(backend: WebgpuBackendInternals, id: object, half: HalfOperand): void {
  releaseCopy(backend, id)
  copies.set(id, { half, owned: false })
}

/** Gives data id `id` (new: an update's output) the packed copy `data` that the update wrote; it owns it. */
export function adoptOwnedCopy(backend: WebgpuBackendInternals, id: object, data: TensorInfo): void {
  releaseDeadHalfWeights(backend) // the weights' values before the step, replaced since, unless a clone holds them
  releaseCopy(backend, id)
  copies.set(id, { half: { data, offset: 0 }, owned: true })
}

/** Takes the arena's place back from `id` (before the update overwrites it); copies of its own stay. */
export function releaseArenaCopy(id: object): void {
  const held = copies.get(id)
  if (held && !held.owned) copies.delete(id)
}

function releaseCopy(backend: WebgpuBackendInternals, id: object): void {
  const held = copies.get(id)
  if (!held) return
  if (held.owned) backend.disposeData(held.half.data.dataId)
  copies.delete(id)
}

/** Releases the copies whose weights' data is gone (weights replaced since: by a load, or by an optimizer step). */
export function releaseDeadHalfWeights(backend: WebgpuBackendInternals): void {
  for (const id of [...copies.keys()]) if (!backend.tensorMap.has(id)) releaseCopy(backend, id)
}

/** Releases every copy (the end of an fp16 run, or an arena disposed: `ids` only). */
export function releaseHalfWeights(backend: WebgpuBackendInternals, ids?: Iterable<object>): void {
  for (const id of ids ? [...ids] : [...copies.keys()]) releaseCopy(backend, id)
}

/** Bytes of the copies packed here (the arena's H is counted with the arena). */
export function ownedHalfWeightBytes(): number {
  let bytes = 0
  for (const c of copies.values()) if (c.owned) bytes += c.half.data.shape[0] * 4
  return bytes
}
