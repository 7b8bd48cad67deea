// Opt-in wasm threads in Node. tfjs 4.22 loads the non-threaded binary in Node (tfjs issue #3830) and
// its C++ side caps threads at half of os.cpus(). This loads tfjs-backend-wasm-threaded-simd.wasm
// anyway, which takes three Emscripten/tfjs internals into account (pinned to tfjs 4.22, checked by
// test/engine/compute/wasm-threads.test.ts):
//  1. Emscripten starts its pthread workers from a blob: URL, which worker_threads cannot load: the
//     worker script (shipped next to the binary) is passed as code instead.
//  2. It then posts the main script to each worker as a Blob, which the worker cannot read
//     synchronously: the path of the same script in node_modules is posted instead.
//  3. The C++ side reads os.cpus() once, at start-up, and uses at most half: os.cpus() reports
//     2 × the wanted threads while the backend starts.
// The workers never keep the process alive (Emscripten refs a worker while it runs a pthread, and the
// thread pool's pthreads run forever): the main thread waits for them synchronously, inside wasm.
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm'

const nodeRequire = createRequire(import.meta.url)

type WorkerCtor = new (script: string | URL, options?: object) => {
  postMessage(message: unknown, transfer?: unknown): void
  ref(): void
  unref(): void
}

let patched = false

function patchWorkers(): void {
  if (patched) return
  patched = true
  const threads = nodeRequire('node:worker_threads') as { Worker: WorkerCtor }
  const mainScript = nodeRequire.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js')
  const { wasmWorkerContents } = nodeRequire('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as { wasmWorkerContents: string }
  // The template literal turned the script's "\n" escapes into newlines; tfjs undoes that the same way.
  const workerCode = wasmWorkerContents.replace(/\n/g, '\\n')
  const Base = threads.Worker
  class EmscriptenWorker extends Base {
    constructor(script: string | URL, options?: object) {
      if (typeof script === 'string' && script.startsWith('blob:')) super(workerCode, { ...options, eval: true })
      else super(script, options)
      this.unref()
    }
    override ref(): void {}
    override postMessage(message: unknown, transfer?: unknown): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown } | null
      if (m && m.cmd === 'load' && typeof m.urlOrBlob !== 'string') message = { ...m, urlOrBlob: mainScript }
      super.postMessage(message, transfer)
    }
  }
  threads.Worker = EmscriptenWorker
}

/** Starts the wasm backend on `count` threads (the first start in the process decides). */
export async function startThreadedWasm(count: number): Promise<boolean> {
  patchWorkers()
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true)
  setThreadsCount(count)
  const os = nodeRequire('node:os') as { cpus: () => unknown[] }
  const realCpus = os.cpus
  os.cpus = () => {
    const cpus = realCpus()
    return Array.from({ length: 2 * count }, (_, i) => cpus[i % cpus.length])
  }
  try {
    return await tf.setBackend('wasm')
  } finally {
    os.cpus = realCpus
  }
}
