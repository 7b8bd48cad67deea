// The webgpu optimizer's parameter arena: every parameter's value (P), gradient (G) and Adam moments
// (M, V) laid out side by side in flat buffers, so that one dispatch updates every parameter
// (multi-adam.ts). Why a flat arena rather than binding the tensors themselves: WebGPU caps the storage
// buffers one shader binds (8 by default, the adapter's own number here: 16 on lavapipe, other values
// on NVIDIA), so tensors bound directly would need ⌈4·count / limit⌉ dispatches; through the arena the
// update binds 6 buffers whatever the model, and gathering into it is copyBufferToBuffer commands in
// the same command encoder, not dispatches. Nothing is read back.
//
// Layout: parameters in the weights' order, each starting on a CHUNK boundary (the CHUNK elements of
// one workgroup, so a workgroup never straddles two parameters and LAMB's per-parameter sums need no
// atomics); the padding stays zero. Parameters fill groups of at most maxStorageBufferBindingSize bytes
// (one arena set per group; one group up to 128 MiB of parameters at WebGPU's default limit).
// The table gives each segment (first chunk, offset in its group, length, flags: decays, active).
// M and V live here between steps; P holds the parameter values the last step wrote, copied in again
// only for a parameter whose variable has since been assigned something else (a resume, a load).
// fp16 storage: H holds the f16 copy of P (packed two per u32, so a segment's words start at offset / 2),
// written by the update dispatch itself; each updated variable's new data is given its place in H
// (half-weights.ts), which the dense products then read.
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import { adoptArenaCopy, releaseArenaCopy, releaseDeadHalfWeights, releaseHalfWeights } from './half-weights'
import { bufferOf, copyEncoder, output, type WebgpuBackendInternals } from './runner'

/** Elements per workgroup in the optimizer's kernels: 256 invocations × 8 elements. */
export const CHUNK = 2048

export interface ArenaParam {
  name: string
  shape: number[]
  /** Weight decay applies (false for biases and LayerNorm, as the optimizer's `noDecay` says). */
  decays: boolean
}

export interface Segment {
  name: string
  shape: number[]
  size: number
  decays: boolean
  group: number
  /** Index of its first chunk over all groups (LAMB's partial sums are indexed by it). */
  firstChunk: number
  /** Element offset in its group's buffers. */
  offset: number
}

export interface ArenaGroup {
  p: TensorInfo
  g: TensorInfo
  m: TensorInfo
  v: TensorInfo
  /** fp16 storage: the f16 copy of p, length / 2 words (int32); made on first use (`halves`). */
  h?: TensorInfo
  length: number
  /** Global index of the group's first chunk, and its chunk count. */
  chunkBase: number
  chunks: number
  /** Its segments are segments[segBegin, segEnd). */
  segBegin: number
  segEnd: number
}

/** Flag bits of a segment in the table. */
export const DECAYS = 1
export const ACTIVE = 2

export class OptimizerArena {
  readonly segments: Segment[] = []
  readonly groups: ArenaGroup[] = []
  readonly totalChunks: number
  private readonly index = new Map<string, number>()
  /** Parameters with moments (a gradient came, or a checkpoint gave them), as PyTorch's lazy state. */
  readonly withMoments = new Set<string>()
  /** The variable data each P segment holds: a variable assigned since is copied in again. */
  private readonly held = new Map<string, object>()
  private active = new Set<string>()
  /** fp16 storage: the variable data each segment's place in H was given. */
  private readonly halfHolders = new Map<string, object>()
  private tableTensor: TensorInfo | null = null
  private tableKey = ''

  /** `groupBytes`: the most bytes one group's buffer holds; by default what the device lets a shader bind. */
  constructor(
    private readonly backend: WebgpuBackendInternals,
    params: ArenaParam[],
    groupBytes = Math.min(backend.device.limits.maxStorageBufferBindingSize, backend.device.limits.maxBufferSize),
  ) {
    const maxFloats = Math.floor(groupBytes / 4 / CHUNK) * CHUNK
    let chunk = 0
    const lengths: number[] = []
    const segBegins: number[] = []
    for (const p of params) {
      const size = p.shape.reduce((a, b) => a * b, 1)
      const padded = Math.ceil(size / CHUNK) * CHUNK
      if (padded > maxFloats) throw new Error(`parameter "${p.name}" (${size} values) exceeds the adapter's storage binding size (${groupBytes} bytes)`)
      if (lengths.length === 0 || lengths[lengths.length - 1] + padded > maxFloats) {
        lengths.push(0)
        segBegins.push(this.segments.length)
      }
      const group = lengths.length - 1
      this.index.set(p.name, this.segments.length)
      this.segments.push({ name: p.name, shape: p.shape, size, decays: p.decays, group, firstChunk: chunk, offset: lengths[group] })
      lengths[group] += padded
      chunk += padded / CHUNK
    }
    this.totalChunks = chunk
    lengths.forEach((length, i) => {
      const flat = () => this.zeros(Math.max(length, 1))
      const segEnd = i + 1 < segBegins.length ? segBegins[i + 1] : this.segments.length
      const first = this.segments[segBegins[i]]
      this.groups.push({ p: flat(), g: flat(), m: flat(), v: flat(), length, chunkBase: first.firstChunk, chunks: length / CHUNK, segBegin: segBegins[i], segEnd })
    })
  }

  has(name: string): boolean {
    return this.index.has(name)
  }

  private segment(name: string): Segment {
    const i = this.index.get(name)
    if (i === undefined) throw new Error(`gradient for unknown parameter "${name}"`)
    return this.segments[i]
  }

  /** A float32 (or int32) buffer of zeros: a backend tensor (tf.memory counts its bytes), disposed by `dispose`. */
  private zeros(length: number, dtype: 'float32' | 'int32' = 'float32'): TensorInfo {
    const t = output(this.backend, [length], dtype)
    copyEncoder(this.backend).clearBuffer(bufferOf(this.backend, t), 0, length * 4)
    return t
  }

  /**
   * fp16 storage, before an update that writes H: every group's H (made on first use), and H's places
   * taken back from the data they were given, since the update overwrites them (a clone of a weight
   * taken earlier keeps that data and must not read the new values).
   */
  halves(): TensorInfo[] {
    for (const group of this.groups) group.h ??= this.zeros(Math.max(group.length / 2, 1), 'int32')
    for (const name of this.active) {
      const id = this.halfHolders.get(name)
      if (id) releaseArenaCopy(id)
      this.halfHolders.delete(name)
    }
    return this.groups.map((g) => g.h!)
  }

  private copy(from: TensorInfo, fromElement: number, to: TensorInfo, toElement: number, count: number): void {
    if (count === 0) return
    copyEncoder(this.backend).copyBufferToBuffer(bufferOf(this.backend, from), fromElement * 4, bufferOf(this.backend, to), toElement * 4, count * 4)
  }

  /**
   * Copies the gradients into G, zeroes G where a parameter has none this step (so a global norm over G
   * is over these gradients only), and marks exactly these parameters active.
   */
  gatherGradients(grads: Map<string, TensorInfo>): void {
    for (const [name, g] of grads) {
      const s = this.segment(name)
      if (g.shape.reduce((a, b) => a * b, 1) !== s.size) throw new Error(`gradient for "${name}" has shape [${g.shape.join(', ')}], parameter has [${s.shape.join(', ')}]`)
    }
    for (const name of this.active) {
      if (!grads.has(name)) {
        const s = this.segment(name)
        copyEncoder(this.backend).clearBuffer(bufferOf(this.backend, this.groups[s.group].g), s.offset * 4, s.size * 4)
      }
    }
    for (const [name, g] of grads) {
      const s = this.segment(name)
      this.copy(g, 0, this.groups[s.group].g, s.offset, s.size)
      this.withMoments.add(name)
    }
    this.active = new Set(grads.keys())
  }

  /** Copies into P the active parameters whose variables changed since the last update wrote them. */
  gatherParams(weights: Map<string, tf.Variable>): void {
    for (const name of this.active) {
      const p = weights.get(name)!
      if (this.held.get(name) === p.dataId) continue
      const s = this.segment(name)
      this.copy(p, 0, this.groups[s.group].p, s.offset, s.size)
      this.held.set(name, p.dataId)
    }
  }

  /**
   * Gives each active variable its updated value from P (a new buffer, as tfjs's assign expects), and
   * with `halvesWritten` (the update wrote H) its place in H as the f16 copy of that value.
   */
  scatterParams(weights: Map<string, tf.Variable>, halvesWritten = false): void {
    for (const name of this.active) {
      const p = weights.get(name)!
      const next = this.slice(name, 'p')
      p.assign(next)
      next.dispose()
      this.held.set(name, p.dataId)
      if (halvesWritten) {
        const s = this.segment(name)
        adoptArenaCopy(this.backend, p.dataId, { data: this.groups[s.group].h!, offset: s.offset })
        this.halfHolders.set(name, p.dataId)
      }
    }
    // the copies packed for the values these variables held before (the first forward's) are done with
    if (halvesWritten) releaseDeadHalfWeights(this.backend)
  }

  /** A copy of one parameter's part of P, M or V, as a tensor of the parameter's shape. */
  slice(name: string, which: 'p' | 'm' | 'v'): tf.Tensor {
    const s = this.segment(name)
    const out = output(this.backend, s.shape)
    this.copy(this.groups[s.group][which], s.offset, out, 0, s.size)
    return tf.engine().makeTensorFromTensorInfo(out, this.backend)
  }

  /** Writes one parameter's moments (from a checkpoint). */
  loadMoments(name: string, m: tf.Tensor, v: tf.Tensor): void {
    const s = this.segment(name)
    this.copy(m, 0, this.groups[s.group].m, s.offset, s.size)
    this.copy(v, 0, this.groups[s.group].v, s.offset, s.size)
    this.withMoments.add(name)
  }

  clearMoments(): void {
    for (const group of this.groups) {
      for (const t of [group.m, group.v]) copyEncoder(this.backend).clearBuffer(bufferOf(this.backend, t), 0, group.length * 4)
    }
    this.withMoments.clear()
  }

  /** The segment table for the current active set: vec4<u32>(first chunk, offset, length, flags) each. */
  table(): TensorInfo {
    const key = this.segments.map((s) => (this.active.has(s.name) ? 1 : 0)).join('')
    if (this.tableTensor && key === this.tableKey) return this.tableTensor
    if (this.tableTensor) this.backend.disposeData(this.tableTensor.dataId)
    const rows = new Int32Array(this.segments.length * 4)
    this.segments.forEach((s, i) => rows.set([s.firstChunk, s.offset, s.size, (s.decays ? DECAYS : 0) | (this.active.has(s.name) ? ACTIVE : 0)], i * 4))
    this.tableTensor = this.backend.makeTensorInfo([rows.length], 'int32', rows)
    this.tableKey = key
    return this.tableTensor
  }

  activeNames(): ReadonlySet<string> {
    return this.active
  }

  dispose(): void {
    releaseHalfWeights(this.backend, [...this.halfHolders.values()].filter(Boolean))
    this.halfHolders.clear()
    for (const group of this.groups) for (const t of [group.p, group.g, group.m, group.v, ...(group.h ? [group.h] : [])]) this.backend.disposeData(t.dataId)
    if (this.tableTensor) this.backend.disposeData(this.tableTensor.dataId)
    this.groups.length = 0
    this.tableTensor = null
  }
}
