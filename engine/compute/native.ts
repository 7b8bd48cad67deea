// @mengzi/native (engine/native): C kernels over typed arrays, built by node-gyp when npm installs the
// project, and the machine's BLAS found at run time. Our wasm kernels hand it wasm memory directly, so
// the hot work (matrix products, fused layers, optimizer updates) runs as native code on tfjs's own
// buffers. Optional: without a C compiler, a BLAS, or with MENGZI_NATIVE=0, the wasm kernels keep their
// XNNPACK and JavaScript paths and `nativeStatus()` says why.
import os from 'node:os'
import { createRequire } from 'node:module'

/** The addon's functions (engine/native/src). Offsets and lengths count elements, not bytes. */
export interface NativeAddon {
  blasLoad(path: string): string
  /** BLAS's own threads: kept at 1, since our pool splits the products (engine/native/src/blas.c). */
  blasThreads(threads?: number): number
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOffset: number, lda: number, strideA: number,
    b: Float32Array, bOffset: number, ldb: number, strideB: number,
    beta: number, c: Float32Array, cOffset: number, ldc: number, strideC: number, batch: number,
  ): void
  geluForward(x: Float32Array, y: Float32Array, cdf: Float32Array): void
  geluBackward(dy: Float32Array, x: Float32Array, cdf: Float32Array, dx: Float32Array): void
  /** Threads for the fused kernels (the calling one included); returns the count in use. */
  kernelThreads(threads?: number): number
  /** The attention core on [B, T, H] activations: context = dropout(softmax(Q·Kᵀ·scale + mask))·V; probs [B, heads, T, T] for backward. */
  attentionForward(
    q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array | null, batch: number, seq: number, heads: number,
    scale: number, dropoutRate: number, seed: number, context: Float32Array, probs: Float32Array,
  ): void
  attentionBackward(
    dcontext: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, probs: Float32Array, batch: number, seq: number,
    heads: number, scale: number, dropoutRate: number, seed: number, dq: Float32Array, dk: Float32Array, dv: Float32Array,
  ): void
  addRepeat(a: Float32Array, b: Float32Array, out: Float32Array): void
  transpose<T extends Float32Array | Int32Array>(x: T, shape: Int32Array, perm: Int32Array, out: T): void
  /** out = x · mask(seed) / (1 − rate), the mask a pure function of (element index, seed). */
  dropoutApply(x: Float32Array, out: Float32Array, rate: number, seed: number): void
  /** y [rows, out] = x [rows, in] · w [out, in]ᵀ + b [out] */
  denseForward(x: Float32Array, w: Float32Array, b: Float32Array, rows: number, inFeatures: number, outFeatures: number, y: Float32Array): void
  /** dx = dy·w, dw = dyᵀ·x, db = Σ_rows dy */
  denseBackward(
    dy: Float32Array, x: Float32Array, w: Float32Array, rows: number, inFeatures: number, outFeatures: number,
    dx: Float32Array, dw: Float32Array, db: Float32Array,
  ): void
  sumRows(x: Float32Array, rows: number, inner: number, out: Float32Array): void
  scatterAddRows(rows: Float32Array, ids: Int32Array, skipId: number, out: Float32Array, tableRows: number, width: number): void
  layerNormForward(
    x: Float32Array, gamma: Float32Array, beta: Float32Array, rows: number, H: number, eps: number,
    y: Float32Array, xhat: Float32Array, rstd: Float32Array, residual?: Float32Array | null,
  ): void
  layerNormBackward(
    dy: Float32Array, xhat: Float32Array, rstd: Float32Array, gamma: Float32Array, rows: number, H: number,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
  ): void
  /** One AdamW update of a parameter (engine/native/src/adam.c); the outputs must not share memory with the inputs. */
  adamwStep(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, bc1: number, bc2: number,
  ): void
  /** Same arguments as adamwStep; returns the trust ratio it applied. */
  lambStep(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, bc1: number, bc2: number,
  ): number
  /** Row softmax of logits [N, C] into probs, and rowLoss = −log probs[target] (0 where target is −1). */
  softmaxXentForward(logits: Float32Array, targets: Int32Array, N: number, C: number, probs: Float32Array, rowLoss: Float32Array): void
  /** dlogits = (probs − onehot(target)) · rowScale[row]; N = targets.length. */
  softmaxXentBackward(probs: Float32Array, targets: Int32Array, rowScale: Float32Array, dlogits: Float32Array): void
}

export type NativeStatus = { available: true; detail: string; threads: number } | { available: false; reason: string }

/** Where each platform keeps a BLAS with the CBLAS interface, fastest first. */
export const BLAS_CANDIDATES: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: ['libopenblas.so.0', 'libopenblas.so', 'libblis.so.4', 'libcblas.so.3'],
  darwin: ['/System/Library/Frameworks/Accelerate.framework/Accelerate', '/opt/homebrew/opt/openblas/lib/libopenblas.dylib'],
  win32: ['libopenblas.dll'],
}

const loadModule = createRequire(import.meta.url)
let loaded: { addon: NativeAddon | null; status: NativeStatus } | null = null

export interface NativeOptions {
  /** Threads for the native kernels and products; default: the cores Node may use (os.availableParallelism()). */
  threads?: number
  env?: NodeJS.ProcessEnv
}

/** Loads the addon and a BLAS once per process; later calls return the first outcome. */
export function loadNative(options: NativeOptions = {}): { addon: NativeAddon | null; status: NativeStatus } {
  if (loaded) return loaded
  loaded = tryLoad(options)
  return loaded
}

let enabled = true

/** The addon when it and a BLAS loaded (and kernels are not switched off), else null. */
export function nativeAddon(): NativeAddon | null {
  return enabled ? loadNative().addon : null
}

/**
 * Switches the native paths of our kernels off and on at run time, so that tests and benchmarks can
 * compare them with the wasm paths in one process. Returns the previous setting.
 */
export function setNativeKernels(on: boolean): boolean {
  const previous = enabled
  enabled = on
  return previous
}

export function nativeStatus(): NativeStatus {
  return loadNative().status
}

function tryLoad(options: NativeOptions): { addon: NativeAddon | null; status: NativeStatus } {
  const env = options.env ?? process.env
  if (env.MENGZI_NATIVE === '0') return unavailable('disabled by MENGZI_NATIVE=0')
  let addon: NativeAddon | null = null
  let failure = ''
  // The build beside these sources first (a git worktree builds its own), then the installed package
  // (the Electron bundle, where sources are not beside it).
  for (const specifier of ['../native/index.cjs', '@mengzi/native']) {
    try {
      addon = loadModule(specifier) as NativeAddon
      break
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
      failure ||= missing
        ? '@mengzi/native is not built (npm builds it on install with a C compiler: `npm rebuild @mengzi/native`)'
        : `@mengzi/native did not load: ${firstLine(err)}`
    }
  }
  if (!addon) return unavailable(failure)
  const candidates = env.MENGZI_BLAS ? [env.MENGZI_BLAS] : (BLAS_CANDIDATES[process.platform] ?? [])
  const failures: string[] = []
  for (const path of candidates) {
    try {
      const detail = addon.blasLoad(path)
      // Our pool splits each product into single-threaded BLAS calls (engine/native/src/blas.c): on
      // few cores that beats BLAS's own threading for BERT-sized products, and one pool serves all.
      addon.blasThreads(1)
      const threads = addon.kernelThreads(options.threads ?? os.availableParallelism())
      return { addon, status: { available: true, detail, threads } }
    } catch (err) {
      failures.push(firstLine(err))
    }
  }
  const hint = process.platform === 'linux' ? ' (Debian/Ubuntu: apt-get install libopenblas0-pthread)' : ''
  return unavailable(`no BLAS with cblas_sgemm found${hint}: ${failures.join('; ') || `none known for ${process.platform}`}`)
}

function unavailable(reason: string): { addon: null; status: NativeStatus } {
  return { addon: null, status: { available: false, reason } }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]
}
