// @mengzi/native (engine/native): C kernels over typed arrays, built by node-gyp when npm installs the
// project, and the machine's BLAS found at run time. Our wasm kernels hand it wasm memory directly, so
// the hot work (matrix products, fused layers, optimizer updates) runs as native code on tfjs's own
// buffers. Optional: without a C compiler, a BLAS, or with MENGZI_NATIVE=0, the wasm kernels keep their
// XNNPACK and JavaScript paths and `nativeStatus()` says why.
import os from 'node:os'
import { loadAddon, type NativeAddon } from '../native-addon'

export type { NativeAddon }

export type NativeStatus = { available: true; detail: string; threads: number } | { available: false; reason: string }

/** Where each platform keeps a BLAS with the CBLAS interface, fastest first. */
export const BLAS_CANDIDATES: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: ['libopenblas.so.0', 'libopenblas.so', 'libblis.so.4', 'libcblas.so.3'],
  darwin: ['/System/Library/Frameworks/Accelerate.framework/Accelerate', '/opt/homebrew/opt/openblas/lib/libopenblas.dylib'],
  win32: ['libopenblas.dll'],
}

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
  const found = loadAddon()
  if (!found.addon) return unavailable(found.reason)
  const addon = found.addon
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
