// Finding and loading @mengzi/native (engine/native: C kernels over typed arrays, built by node-gyp when npm
// installs the project), and the TypeScript side of its functions. A shared top-level file, like errors.ts:
// the addon is a package of its own that imports nothing of the engine, and two layers use it (tagging for
// LAC, compute for BLAS and the tfjs kernels). Pure loading only: the BLAS and the
// tfjs kernels are engine/compute's business (compute/native.ts); the tagger (engine/tagging/lac) uses the
// LAC kernel directly, which needs no BLAS.
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
  /**
   * LAC-small's network over a batch of sentences (src/lac.c): label ids per character into `paths`, the
   * same bits as the JavaScript path of engine/tagging/lac/lac.ts. `weights` packs the dense tensors in
   * the order of LAC_WEIGHTS there; rows of `table` (first-layer projections per character id) are filled
   * where `ready` is 0. Sentence s holds ids[offsets[s] .. offsets[s + 1]); `emissions` (optional)
   * receives the scores [characters, labels] the CRF decoded.
   */
  lacTagBatch(
    weights: Float32Array, labels: number, embedding: Float32Array, table: Float32Array, ready: Uint8Array, ids: Int32Array,
    offsets: Int32Array, paths: Int32Array, emissions: Float32Array | null,
  ): void
}

const loadModule = createRequire(import.meta.url)
let loaded: { addon: NativeAddon; reason?: undefined } | { addon: null; reason: string } | null = null

/**
 * The addon once per process, or why not: the build beside these sources first (a git worktree builds
 * its own), then the installed package (the Electron bundle, where sources are not beside it). A first
 * load starts the kernel pool with the cores Node may use, unless it runs already; engine/compute may
 * change that count.
 */
export function loadAddon(env: NodeJS.ProcessEnv = process.env): { addon: NativeAddon; reason?: undefined } | { addon: null; reason: string } {
  if (env.MENGZI_NATIVE === '0') return { addon: null, reason: 'disabled by MENGZI_NATIVE=0' }
  if (loaded) return loaded
  let failure = ''
  // the build beside these sources first; from a bundle (out/main/) there is none, and the package is found
  for (const specifier of ['./native/index.cjs', '@mengzi/native']) {
    try {
      const addon = loadModule(specifier) as NativeAddon
      // the pool is per process: start it unless another isolate (a worker thread) already set a count
      if (addon.kernelThreads() === 1) addon.kernelThreads(os.availableParallelism())
      loaded = { addon }
      return loaded
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
      failure ||= missing
        ? '@mengzi/native is not built (npm builds it on install with a C compiler: `npm rebuild @mengzi/native`)'
        : `@mengzi/native did not load: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`
    }
  }
  loaded = { addon: null, reason: failure }
  return loaded
}
