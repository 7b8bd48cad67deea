// Measures, on the device the engine trains on, which kernel runs each class of matrix product fastest
// (matmul-choice.ts says what a class is and where the choice is used). The tiled, wide and subgroup
// kernels give the same bits on a correct compiler, so the choice changes time only; which is fastest
// depends on the GPU (its shared-memory bandwidth, registers, subgroup size) and the shape, which no
// WebGPU limit reports. For each class the step recorded since the last call:
//   1. the product is replayed on operands of its sizes (deterministic values in [-1, 1]) with the
//      64×64 kernel, the reference, then with every other kernel, each under error scopes: a kernel
//      this device will not compile or run is set aside with the device's message, the run goes on;
//   2. each result must equal the reference value for value, or the kernel is set aside with the count of
//      values that differ (a compiler that breaks the same-bits rule gets no say in a run's numbers);
//   3. the kernels left are timed in `rounds` rounds of `reps` calls (timestamp queries where the
//      device has them, else the wall clock around a queue wait), in a rotating order, and the median
//      round counts; another kernel replaces the 64×64 one only when at least MARGIN faster.
// Between steps only: it waits for the device and reads results back.
import * as tf from '@tensorflow/tfjs'
import type { TensorInfo } from '@tensorflow/tfjs'
import type { GpuDevice } from './gpu'
import { packHalf, unpackHalf } from './half'
import { spinWhile } from './event-ticks'
import { startKernelTimer } from './kernel-timer'
import { matmulOutputs, type Operand } from './matmul'
import { MATRIX_TOLERANCE } from './matmul-matrix'
import { candidateKernels, chooseKernel, chosenKernel, forceKernel, kernelName, pendingProducts, takeCacheNews, takePendingProducts, TILED, type MatmulKernel, type PendingProduct, type ProductShape, type ProductSettings } from './matmul-choice'
import { saveTunedKernels, type CachedChoice } from './matmul-tune-cache'
import { setMatmulInputs, setMatmulSplitK, setMatmulVec4 } from './flags'
import { bindings, dispatch, grid, output, u32, webgpuInternals, type WebgpuBackendInternals } from './runner'
import { ENTRY_ARGS, FLAT_INDEX_WGSL } from './wgsl'

export { candidateKernels }

/** Another kernel replaces the 64×64 one only when its median time is at least this fraction lower. */
export const MARGIN = 0.03

export interface CandidateResult {
  kernel: string
  /** Median ms per product over the rounds; null where the kernel was set aside. */
  ms: number | null
  /** Why it was set aside: the device's error, or the values that differ from the 64×64 kernel's. */
  rejected?: string
}

export interface TunedProduct {
  /** The first product of the class: its kernel and sizes ("matmul-…-vA-vB-vC 4096×3072×768"). */
  product: string
  /** The class (matmul-choice.ts productClass). */
  class: string
  candidates: CandidateResult[]
  chosen: string
}

export interface MatmulTuneReport {
  products: TunedProduct[]
  seconds: number
  timing: 'timestamps' | 'wall clock'
  /** Where the choices were kept for later processes (matmul-tune-cache.ts), or why they could not be; absent without a cache. */
  cache?: { file: string; saved: number } | { file: string; error: string }
}

export interface TuneOptions {
  /** Rounds of timing (median taken); default 3. */
  rounds?: number
  /** Products per candidate per round; default 2. */
  reps?: number
  /** 'wall': time with the wall clock even where the device has timestamp queries (tests). */
  timing?: 'auto' | 'wall'
}

interface QueueDevice extends GpuDevice {
  queue: { onSubmittedWorkDone(): Promise<void> }
}

/** Tunes every class of product recorded since the last call (none pending: an empty report at once). */
export async function tuneMatmuls(options: TuneOptions = {}): Promise<MatmulTuneReport> {
  const started = performance.now()
  const pending = takePendingProducts()
  const backend = webgpuInternals(tf.backend())
  const device = backend.device as QueueDevice
  const timing = options.timing !== 'wall' && device.features.has('timestamp-query') ? 'timestamps' : 'wall clock'
  const products: TunedProduct[] = []
  if (pending.length === 0) return { products, seconds: 0, timing }
  try {
    // scoped too: a device error here would otherwise fail the device for the run
    const made = await scoped(backend, device, () => {
      const p = makePools(backend, pending.map((q) => q.shape))
      return p.half ? [p.f32, p.half] : [p.f32]
    })
    if (typeof made === 'string') throw new Error(`the operand pools: ${made}`)
    const pools: Pools = { f32: made[0], half: made[1] ?? null }
    try {
      for (const p of pending) products.push(await tuneProduct(backend, device, p, pools, options, timing))
    } finally {
      tf.dispose([pools.f32, ...(pools.half ? [pools.half] : [])])
    }
  } catch (e) {
    // the classes not tuned keep the 64×64 kernel, rather than being noted (and failing) again every step;
    // they are not kept in the cache, so a later process measures them again
    for (const p of pending.slice(products.length)) chooseKernel(p.key, TILED)
    throw e
  }
  const cache = keep(pending, products, timing)
  return { products, seconds: (performance.now() - started) / 1000, timing, ...(cache ? { cache } : {}) }
}

/**
 * Saves the choices just measured in the tuning cache, where the products were noted with one. A class
 * with fewer than two kernels timed is not kept: what set the others aside (memory another process
 * held, say) may not last, so a later process measures it again.
 */
function keep(pending: PendingProduct[], products: TunedProduct[], timing: MatmulTuneReport['timing']): MatmulTuneReport['cache'] {
  const first = pending.find((p) => p.cache)?.cache
  if (!first) return undefined
  const choices: Record<string, CachedChoice> = {}
  const tunedAt = new Date().toISOString()
  pending.forEach((p, i) => {
    if (!p.cache || products[i].candidates.filter((c) => c.ms !== null).length < 2) return
    const ms = Object.fromEntries(products[i].candidates.map((c) => [c.kernel, c.ms]))
    choices[p.key] = { kernel: chosenKernel(p.key)!, source: p.cache.source, ms, timing, tunedAt }
  })
  try {
    saveTunedKernels(first.file, first.adapter, choices)
    return { file: first.file, saved: Object.keys(choices).length }
  } catch (e) {
    return { file: first.file, error: String((e as Error).message ?? e).split('\n')[0] }
  }
}

/**
 * Between steps: tunes the classes the steps so far recorded and not yet tuned, where the backend is
 * webgpu and tuning is on (matmul-choice.ts tuningActive); null when there was nothing to tune.
 */
export async function tunePendingMatmuls(options: TuneOptions = {}): Promise<MatmulTuneReport | null> {
  if (tf.getBackend() !== 'webgpu' || pendingProducts().length === 0) return null
  return tuneMatmuls(options)
}

/**
 * A training loop's pause to tune (after a step that recorded new classes): says so in the log, tunes,
 * and logs the result. A failure is logged and the products stay on the kernels they ran (a lost
 * device still fails the next step, which reads it back).
 */
export async function tuneBetweenSteps(log: ((line: string) => void) | undefined): Promise<void> {
  const news = takeCacheNews()
  if (news.notice) log?.(news.notice)
  if (news.taken.length > 0) log?.(`matmul kernels for ${news.taken.length} product classes kept from an earlier tuning on this adapter: ${countKernels(news.taken.map(([, k]) => kernelName(k)))}`)
  if (pendingProducts().length === 0) return
  log?.(`tuning the matrix products' kernels on the device for ${pendingProducts().length} new product classes`)
  try {
    const tuning = await tunePendingMatmuls()
    if (tuning) log?.(describeTuning(tuning))
  } catch (e) {
    log?.(`matmul kernel tuning failed: ${String((e as Error).message ?? e).split('\n')[0]}; those products stay on the 64×64 kernel`)
  }
}

/** Reports of several tunings as one (a benchmark's warm-up steps). */
export function joinTunings(a: MatmulTuneReport | null, b: MatmulTuneReport | null): MatmulTuneReport | null {
  if (!a || !b) return a ?? b
  const cache = b.cache ?? a.cache
  return { products: [...a.products, ...b.products], seconds: a.seconds + b.seconds, timing: b.timing, ...(cache ? { cache } : {}) }
}

/** One line for a run's log: how many classes, which kernels won, what was set aside. */
export function describeTuning(r: MatmulTuneReport): string {
  const rejected = r.products.flatMap((p) => p.candidates.filter((c) => c.rejected).map((c) => `${c.kernel} for ${p.product}: ${c.rejected}`))
  const chosen = countKernels(r.products.map((p) => p.chosen))
  const cache = !r.cache ? '' : 'error' in r.cache ? `; not kept for later runs (${r.cache.error})` : `; kept for later runs in ${r.cache.file}`
  return `matmul kernels tuned on the device for ${r.products.length} product classes in ${r.seconds.toFixed(1)} s (${r.timing}): ${chosen}${rejected.length ? `; set aside: ${rejected.join('; ')}` : ''}${cache}`
}

/** "wide 128 for 14, tiled 64 for 2". */
function countKernels(names: string[]): string {
  const wins = new Map<string, number>()
  for (const n of names) wins.set(n, (wins.get(n) ?? 0) + 1)
  return [...wins].map(([k, n]) => `${k} for ${n}`).join(', ')
}

interface Pools {
  f32: tf.Tensor
  half: tf.Tensor | null
}

const elements = (rows: number, cols: number, batch: number, stride: number) => (batch > 1 ? stride * (batch - 1) : 0) + rows * cols

/** Operand pools large enough for every product: float32 values in [-1, 1) and their packed f16 copy. */
function makePools(backend: WebgpuBackendInternals, shapes: ProductShape[]): Pools {
  let f32 = 1
  let half = 0
  for (const s of shapes) {
    const a = elements(s.M, s.K, s.batch, s.strideA)
    const b = elements(s.K, s.N, s.batch, s.strideB)
    if (s.halfA === null) f32 = Math.max(f32, a)
    else half = Math.max(half, s.halfA + a)
    if (s.halfB === null) f32 = Math.max(f32, b)
    else half = Math.max(half, s.halfB + b)
    if (s.bias) f32 = Math.max(f32, s.N)
  }
  // a multiple of 4: whole vec4s, and an even count of packed words (vec2<u32>), whatever the operands' alignments
  const n = Math.ceil(Math.max(f32, half) / 4) * 4
  const values = output(backend, [n])
  dispatch(backend, {
    key: 'matmul-tune-values',
    code: () => /* wgsl */ `
${bindings(['x'], [], 'n: u32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  var h = i * 747796405u + 2891336453u; // a PCG step, then its output permutation
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  x[i] = f32(h >> 8u) / 8388608.0 - 1.0;
}`,
    outputs: [values],
    inputs: [],
    uniforms: u32(n),
    workgroups: grid(n, 256),
  })
  const tensor = (info: TensorInfo) => tf.engine().makeTensorFromTensorInfo(info, backend)
  return { f32: tensor(values), half: half > 0 ? tensor(packHalf(backend, values)) : null }
}

/** Records the product of `s` once on the pools with kernel `k`; its outputs as tensors. */
function replay(backend: WebgpuBackendInternals, s: ProductShape, pools: Pools, k: MatmulKernel): tf.Tensor[] {
  const operand = (offset: number | null): Operand => (offset === null ? pools.f32 : { data: pools.half!, offset })
  const previous = forceKernel(k)
  const restore = applySettings(s.settings)
  try {
    const outs = matmulOutputs(backend, {
      a: operand(s.halfA),
      b: operand(s.halfB),
      M: s.M,
      N: s.N,
      K: s.K,
      transA: s.transA,
      transB: s.transB,
      bias: s.bias ? pools.f32 : undefined,
      batch: s.batch,
      strideA: s.strideA,
      strideB: s.strideB,
      gelu: s.gelu,
      packZ: s.packZ,
      rowSums: s.rowSums,
    })
    return outs.map((o) => tf.engine().makeTensorFromTensorInfo(o, backend))
  } finally {
    restore()
    forceKernel(previous)
  }
}

function applySettings(s: ProductSettings): () => void {
  const inputs = setMatmulInputs(s.inputs)
  const vec4 = setMatmulVec4(s.vec4)
  const splitK = setMatmulSplitK(s.splitK)
  return () => {
    setMatmulInputs(inputs)
    setMatmulVec4(vec4)
    setMatmulSplitK(splitK)
  }
}

/** Submits what is recorded, so that what follows is measured (or scoped) apart from it. */
function flush(backend: WebgpuBackendInternals): void {
  backend.endComputePassEncoder()
  if (backend.commandEncoder) backend.submitQueue()
}

/** `run`'s tensors, or the device's errors (validation, memory, internal) while recording and submitting them. */
async function scoped(backend: WebgpuBackendInternals, device: GpuDevice, run: () => tf.Tensor[]): Promise<tf.Tensor[] | string> {
  flush(backend)
  const filters = ['validation', 'out-of-memory', 'internal'] as const
  for (const f of filters) device.pushErrorScope(f)
  let outs: tf.Tensor[] | null = null
  let thrown: string | null = null
  try {
    outs = run()
    flush(backend)
  } catch (e) {
    thrown = (e as Error).message
  }
  const errors: string[] = []
  for (let i = 0; i < filters.length; i++) {
    const error = await device.popErrorScope()
    if (error) errors.push(error.message.replace(/\s+/g, ' ').trim().slice(0, 200))
  }
  if (thrown !== null) errors.push(thrown)
  if (errors.length === 0) return outs!
  tf.dispose(outs ?? [])
  return `device error: ${errors.join('; ')}`
}

/** How many values of `outs` differ from `reference`'s (finite inputs: no NaN to compare). */
async function differing(outs: tf.Tensor[], reference: tf.Tensor[]): Promise<{ count: number; of: number }> {
  let count = 0
  let of = 0
  for (let i = 0; i < outs.length; i++) {
    const diff = tf.tidy(() => tf.sum(tf.cast(tf.notEqual(outs[i], reference[i]), 'int32')))
    count += (await diff.data())[0]
    diff.dispose()
    of += outs[i].size
  }
  return { count, of }
}

/**
 * How many values of `outs` are further from `reference`'s than MATRIX_TOLERANCE of the largest
 * |reference| value of their output, or not finite; packed f16 outputs (int32) compared unpacked.
 */
export async function farFrom(backend: WebgpuBackendInternals, outs: tf.Tensor[], reference: tf.Tensor[]): Promise<{ count: number; of: number }> {
  let count = 0
  let of = 0
  for (let i = 0; i < outs.length; i++) {
    const values = (t: tf.Tensor) => (t.dtype === 'int32' ? tf.engine().makeTensorFromTensorInfo(unpackHalf(backend, t, [2 * t.size]), backend) : t)
    const o = values(outs[i])
    const r = values(reference[i])
    const far = tf.tidy(() => {
      const bound = tf.mul(tf.max(tf.abs(r)), MATRIX_TOLERANCE)
      const off = tf.logicalOr(tf.greater(tf.abs(tf.sub(o, r)), bound), tf.logicalNot(tf.isFinite(o)))
      return tf.sum(tf.cast(off, 'int32'))
    })
    count += (await far.data())[0]
    of += o.size
    tf.dispose([far, ...(o === outs[i] ? [] : [o]), ...(r === reference[i] ? [] : [r])])
  }
  return { count, of }
}

async function tuneProduct(backend: WebgpuBackendInternals, device: QueueDevice, p: PendingProduct, pools: Pools, options: TuneOptions, timing: MatmulTuneReport['timing']): Promise<TunedProduct> {
  const rounds = options.rounds ?? 3
  const reps = options.reps ?? 2
  const kernels = candidateKernels(device, p.shape.settings.inputs === 'f16')
  const results = new Map<MatmulKernel, CandidateResult>(kernels.map((k) => [k, { kernel: kernelName(k), ms: null }]))
  const report = (chosen: MatmulKernel): TunedProduct => {
    chooseKernel(p.key, chosen)
    return { product: p.label, class: p.key, candidates: [...results.values()], chosen: kernelName(chosen) }
  }
  const reference = await scoped(backend, device, () => replay(backend, p.shape, pools, TILED))
  if (typeof reference === 'string') {
    results.get(TILED)!.rejected = reference
    return report(TILED) // what the step ran already; nothing to compare the others with
  }
  const timed: MatmulKernel[] = [TILED]
  try {
    for (const k of kernels.slice(1)) {
      const outs = await scoped(backend, device, () => replay(backend, p.shape, pools, k))
      if (typeof outs === 'string') {
        results.get(k)!.rejected = outs
        continue
      }
      // the matrix units sum in their own order: within a tolerance; every other kernel bit for bit
      const d = k.matrix ? await farFrom(backend, outs, reference) : await differing(outs, reference)
      tf.dispose(outs)
      if (d.count > 0) results.get(k)!.rejected = `differs from the 64×64 kernel${k.matrix ? ` by more than ${MATRIX_TOLERANCE * 100}% of its largest value` : ''} in ${d.count} of ${d.of} values`
      else timed.push(k)
    }
  } finally {
    tf.dispose(reference)
  }
  if (timed.length === 1) return report(TILED) // nothing else to compare
  const times = new Map<MatmulKernel, number[]>(timed.map((k) => [k, []]))
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < timed.length; i++) {
      const k = timed[(i + r) % timed.length] // rotating, so no kernel always follows the same one
      times.get(k)!.push(await timeReplays(backend, device, p.shape, pools, k, reps, timing))
    }
  }
  let best = TILED
  for (const k of timed) {
    const ms = median(times.get(k)!)
    results.get(k)!.ms = ms
    if (ms < results.get(best)!.ms!) best = k
  }
  // noise decides nothing: the 64×64 kernel stays unless beaten by MARGIN
  if (best !== TILED && results.get(best)!.ms! > results.get(TILED)!.ms! * (1 - MARGIN)) best = TILED
  return report(best)
}

/** ms per product of `reps` products recorded back to back with kernel `k`. */
async function timeReplays(backend: WebgpuBackendInternals, device: QueueDevice, s: ProductShape, pools: Pools, k: MatmulKernel, reps: number, timing: MatmulTuneReport['timing']): Promise<number> {
  const run = () => {
    for (let i = 0; i < reps; i++) tf.dispose(replay(backend, s, pools, k))
  }
  if (timing === 'timestamps') {
    const timer = startKernelTimer(2 * reps) // each product, and the sum of a split one
    run()
    return (await timer.stop()).totalMs / reps
  }
  // Dawn's own loop while timed: a tick by the timer would add up to a millisecond to the wait
  return spinWhile(async () => {
    flush(backend)
    await device.queue.onSubmittedWorkDone()
    const start = performance.now()
    run()
    flush(backend)
    await device.queue.onSubmittedWorkDone()
    return (performance.now() - start) / reps
  })
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
