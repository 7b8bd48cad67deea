// The backend ladder: tensorflow (libtensorflow through tfjs-node-gpu or tfjs-node) → webgpu (Dawn
// from the `webgpu` package) → wasm (XNNPACK, with our kernels) → cpu (the reference). `auto` takes
// the first rung that works and says why each faster one was passed over; naming a backend forces it.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
// The full package, not tfjs-core: only it registers the gradients (TFJS-NOTES).
import * as tf from '@tensorflow/tfjs'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import { WorkbenchError } from '../errors'
import { registerCustomKernels } from './kernels'
import { loadNative, setNativeKernels } from './native'
import { startThreadedWasm } from './wasm-threads'
import { describeAdapter, reportAdapter, type AdapterReport } from './webgpu/device'
import { installDawnTicks } from './webgpu/event-ticks'
import { matmulTuningApplies, matmulTuningCacheFile, matrixAtStart, setMatmulTuningCache, tuningCacheFromEnv } from './webgpu/flags'
import { adapterKey, forgetTunedKernels, readTuningCache } from './webgpu/matmul-tune-cache'
import type { Gpu } from './webgpu/gpu'
import { startWebgpu } from './webgpu/start'

export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const
export type BackendName = (typeof BACKEND_NAMES)[number]
export type BackendPreference = 'auto' | BackendName

export interface BackendSelection {
  name: BackendName
  /** Where the backend comes from, e.g. "@tensorflow/tfjs-node-gpu" or "tfjs-backend-wasm-simd.wasm". */
  detail: string
  /** The faster rungs that were tried first, each with the one-line reason it was not used. */
  skipped: { name: BackendName; reason: string }[]
  /** Threads the backend computes with, where it says (wasm). */
  threads?: number
  /** The GPU adapter (webgpu). */
  adapter?: AdapterReport
}

export interface BackendOptions {
  /**
   * wasm threads. tfjs uses 1 in Node (it loads the non-threaded binary there, tfjs issue #3830);
   * more than 1 loads the threaded binary through Emscripten internals (wasm-threads.ts). Only the
   * first wasm start in a process counts.
   */
  wasmThreads?: number
  /**
   * Native kernels for wasm (@mengzi/native: BLAS sgemm and fused layers on wasm memory); default on
   * where the addon and a BLAS load. Off: the XNNPACK and JavaScript paths only.
   */
  native?: boolean
  /** Threads for the native kernels and products; default: the cores Node may use. Only the first load counts. */
  nativeThreads?: number
}

type Attempt = { ok: true; detail: string; threads?: number; adapter?: AdapterReport } | { ok: false; reason: string }

const nodeRequire = createRequire(import.meta.url)

// tfjs's cpu backend greets Node on first use with an "install tfjs-node" banner, on every command. The
// ladder already says which backend runs and why faster ones do not; tfjs's PROD flag silences only its
// own warn/log output (tfjs-core log.ts) and changes no computation. MENGZI_DEBUG=1 keeps tfjs talking.
if (!process.env.MENGZI_DEBUG) tf.env().set('PROD', true)

/** Picks and activates a backend. A named one that cannot start throws UNAVAILABLE with the reason. */
export async function selectBackend(preference: BackendPreference = 'auto', options: BackendOptions = {}): Promise<BackendSelection> {
  registerCustomKernels()
  const ladder = preference === 'auto' ? BACKEND_NAMES : [preference]
  const skipped: BackendSelection['skipped'] = []
  for (const name of ladder) {
    const attempt = await tryBackend(name, options, preference === name)
    if (attempt.ok) return { name, detail: attempt.detail, skipped, threads: attempt.threads, adapter: attempt.adapter }
    if (preference !== 'auto') throw new WorkbenchError('UNAVAILABLE', `backend ${name} is unavailable: ${attempt.reason}`)
    skipped.push({ name, reason: attempt.reason })
  }
  // cpu always starts, so the ladder cannot run out.
  throw new WorkbenchError('UNAVAILABLE', `no backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`)
}

export interface BackendProbe {
  name: BackendName
  available: boolean
  /** What runs (when available) or why not, in one line. */
  detail: string
  /** webgpu: the adapter Dawn offers (also when it is a software one that auto passes over). */
  adapter?: AdapterReport
  /** webgpu: whether runs tune the product kernels on that adapter, and the classes kept for it between runs (matmul-tune-cache.ts). */
  tuning?: KeptTuning
}

export interface KeptTuning {
  on: boolean
  /** The tuning cache (null: none), the product classes it keeps for this adapter, driver and Dawn, or why it cannot be read. */
  file: string | null
  kept: number
  unreadable?: string
}

/**
 * Tries every rung of the ladder, for the Settings view. Switches tfjs's active backend as it goes, so it
 * runs in a throwaway worker (engine/service/tasks.ts), never in a process that is training.
 */
export async function probeBackends(options: BackendOptions & { tuningCache?: string } = {}): Promise<BackendProbe[]> {
  registerCustomKernels()
  // as a training worker sets it (train/backend.ts): MENGZI_WEBGPU_TUNING_CACHE, applied as webgpu starts, wins
  if (options.tuningCache) setMatmulTuningCache(options.tuningCache)
  const probes: BackendProbe[] = []
  for (const name of BACKEND_NAMES) {
    const attempt = await tryBackend(name, options, false)
    probes.push(attempt.ok ? { name, available: true, detail: attempt.detail } : { name, available: false, detail: attempt.reason })
    if (name === 'webgpu') {
      const found = await findWebgpuAdapter()
      if ('report' in found) Object.assign(probes[probes.length - 1], { adapter: found.report, tuning: keptTuning(found.report) })
    }
  }
  return probes
}

function keptTuning(report: AdapterReport): KeptTuning {
  const file = matmulTuningCacheFile()
  const on = matmulTuningApplies(report.software)
  if (!file) return { on, file, kept: 0 }
  const read = readTuningCache(file)
  if ('reason' in read) return { on, file, kept: 0, unreadable: read.reason }
  return { on, file, kept: Object.keys(read.adapters[adapterKey(report)]?.classes ?? {}).length }
}

export interface ForgottenTuning {
  file: string
  /** Product classes no longer kept for the adapter: the next run on it measures them again. */
  forgotten: number
  /** Where an unreadable file was moved (<file>.unreadable), or null. */
  setAside: string | null
}

/**
 * Forgets the product kernels the tuning cache keeps for the webgpu adapter (Settings' "Forget"; a
 * tuning measured while another job held the GPU, say), keeping other adapters' and drivers'. Finds the
 * adapter without starting a backend; MENGZI_WEBGPU_TUNING_CACHE wins over `tuningCache`, as in a run.
 */
export async function forgetKeptTuning(options: { tuningCache: string }): Promise<ForgottenTuning> {
  const env = process.env.MENGZI_WEBGPU_TUNING_CACHE
  const file = env === undefined ? options.tuningCache : tuningCacheFromEnv(env)
  if (!file) throw new WorkbenchError('UNAVAILABLE', 'the tuning cache is off (MENGZI_WEBGPU_TUNING_CACHE=0): no product kernels are kept to forget')
  const found = await findWebgpuAdapter()
  if ('reason' in found) throw new WorkbenchError('UNAVAILABLE', `no WebGPU adapter to forget the tuning of: ${found.reason}`)
  return { file, ...forgetTunedKernels(file, adapterKey(found.report)) }
}

/** `named`: the caller asked for this backend by name (a software GPU adapter is then acceptable). */
async function tryBackend(name: BackendName, options: BackendOptions, named: boolean): Promise<Attempt> {
  try {
    switch (name) {
      case 'tensorflow':
        return await tryTensorflow()
      case 'webgpu':
        return await tryWebgpu(named)
      case 'wasm':
        return await tryWasm(options)
      case 'cpu':
        return (await tf.setBackend('cpu')) ? { ok: true, detail: 'tfjs-backend-cpu (reference, JavaScript)' } : { ok: false, reason: 'tf.setBackend("cpu") failed' }
    }
  } catch (err) {
    return { ok: false, reason: oneLine(err) }
  }
}

async function tryTensorflow(): Promise<Attempt> {
  const missing: string[] = []
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      nodeRequire.resolve(pkg)
    } catch {
      missing.push(pkg)
      continue
    }
    // A variable specifier: these optional packages have no types to check against when absent.
    await import(pkg)
    if (await tf.setBackend('tensorflow')) return { ok: true, detail: pkg }
    return { ok: false, reason: `${pkg} is installed but its backend did not start` }
  }
  return { ok: false, reason: `${missing.join(' and ')} not installed (optional dependencies; they need libtensorflow)` }
}

/**
 * On Linux Dawn needs the Vulkan loader. Without it Dawn prints a native warning on stderr while probing,
 * so look for libvulkan.so.1 first (the loader cache and LD_LIBRARY_PATH) and skip quietly when absent.
 */
export function vulkanLoaderPresent(env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)
  if (dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')))) return true
  try {
    return fs.readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1')
  } catch {
    return true // no loader cache to consult (not glibc): let Dawn decide
  }
}

let dawn: { gpu: Gpu; globals: object } | undefined // one Dawn instance per process

async function loadDawn(): Promise<{ gpu: Gpu; globals: object } | { reason: string }> {
  if (process.platform === 'linux' && !vulkanLoaderPresent()) {
    return { reason: 'no Vulkan loader (libvulkan.so.1) on this machine, which Dawn needs on Linux' }
  }
  if (!dawn) {
    const { create, globals } = (await import('webgpu')) as unknown as { create(flags: string[]): Gpu; globals: object }
    // Dawn rounds timestamps to 65.5 µs by default (a browser's guard against timing attacks, which a
    // local training process does not need); kernel-timer.ts needs them whole.
    // The matrix units' feature is experimental in Dawn: offered only with its unsafe APIs allowed, which
    // the process asks for only with MENGZI_WEBGPU_MATRIX=1 (flags.ts).
    dawn = { gpu: create(['disable-dawn-features=timestamp_quantization', ...(matrixAtStart ? ['enable-dawn-features=allow_unsafe_apis'] : [])]), globals }
    installDawnTicks() // Dawn's waits tick once per millisecond instead of spinning a core (event-ticks.ts)
  }
  return dawn
}

/** The adapter the webgpu backend would take (software or not), or why there is none: for Settings and tests. */
export async function findWebgpuAdapter(): Promise<{ report: AdapterReport } | { reason: string }> {
  try {
    const d = await loadDawn()
    if ('reason' in d) return d
    const adapter = await d.gpu.requestAdapter({ powerPreference: 'high-performance' })
    return adapter ? { report: reportAdapter(adapter) } : { reason: 'no WebGPU adapter (Dawn found no Vulkan, Metal or D3D12 device)' }
  } catch (err) {
    return { reason: oneLine(err) }
  }
}

async function tryWebgpu(allowSoftware: boolean): Promise<Attempt> {
  const d = await loadDawn()
  if ('reason' in d) return { ok: false, reason: d.reason }
  const start = await startWebgpu(d.gpu, d.globals, allowSoftware)
  if (!start.ok) return start
  return { ok: true, detail: `@tensorflow/tfjs-backend-webgpu over Dawn (webgpu package), ${describeAdapter(start.report)}`, adapter: start.report }
}

let wasmConfigured = false

async function tryWasm(options: BackendOptions): Promise<Attempt> {
  if (!wasmConfigured) {
    // The .wasm binaries sit next to the package's bundle; say so rather than rely on __dirname guesses.
    setWasmPaths(`${path.dirname(nodeRequire.resolve('@tensorflow/tfjs-backend-wasm'))}/`)
    wasmConfigured = true
    if ((options.wasmThreads ?? 1) > 1 && !(await startThreadedWasm(options.wasmThreads!))) {
      return { ok: false, reason: `the threaded wasm binary did not start with ${options.wasmThreads} threads` }
    }
  }
  if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'tf.setBackend("wasm") failed' }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')
  const backend = tf.backend() as unknown as { wasm: { tfjs: { getThreadsCount(): number } } }
  const threads = backend.wasm.tfjs.getThreadsCount()
  const binary = threads > 1 ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm'
  setNativeKernels(options.native !== false)
  return { ok: true, detail: `${binary} (XNNPACK)${nativeDetail(options)}`, threads }
}

/** What the native kernels add to wasm, or why they do not, as the tail of the wasm line. */
function nativeDetail(options: BackendOptions): string {
  if (options.native === false) return '; native kernels off'
  const { status } = loadNative({ threads: options.nativeThreads })
  if (!status.available) return `; native kernels unavailable: ${status.reason}`
  return ` + native kernels (sgemm: ${status.detail}; ${status.threads} thread${status.threads > 1 ? 's' : ''})`
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.split('\n')[0].slice(0, 300)
}

/** One line per decision, for logs and `bench train`. */
export function describeSelection(selection: BackendSelection): string {
  const skipped = selection.skipped.map((s) => `${s.name} skipped: ${s.reason}`)
  const threads = selection.threads ? `, ${selection.threads} ${selection.name} thread${selection.threads > 1 ? 's' : ''}` : ''
  return [...skipped, `using ${selection.name}: ${selection.detail}${threads}`].join('\n')
}
