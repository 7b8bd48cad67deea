// The service's side of tagger-worker.ts: started on the first preview, kept for the next ones, restarted
// if it dies, and ended with the workbench.
import type { Worker } from 'node:worker_threads'
import type { TaggerChoice } from '../tagging/preview'
import type { TagPreview } from '../tagging/types'
import { errorFromWorker, startWorker } from '../worker-thread'

type Choice = TaggerChoice & { vocab?: string | null }
export interface PreviewRequest {
  id: number
  text: string
  choice: Choice
}
export type PreviewReply = { id: number; result: TagPreview; error?: undefined } | { id: number; error: { code: string; message: string } }

const BUILT_ENTRY = new URL('./tagger-worker.js', import.meta.url)
const SOURCE_ENTRY = new URL('./tagger-worker.ts', import.meta.url)

export class TaggerClient {
  private worker: Worker | null = null
  private nextId = 1
  private readonly pending = new Map<number, { resolve(p: TagPreview): void; reject(e: Error): void }>()

  preview(text: string, choice: Choice): Promise<TagPreview> {
    const worker = this.worker ?? this.start()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      worker.postMessage({ id, text, choice } satisfies PreviewRequest)
    })
  }

  async close(): Promise<void> {
    const worker = this.worker
    this.worker = null
    this.failAll(new Error('the workbench is closing'))
    await worker?.terminate()
  }

  private start(): Worker {
    const worker = startWorker(BUILT_ENTRY, SOURCE_ENTRY, {})
    worker.unref() // an idle tagger never keeps the process alive
    worker.on('message', (reply: PreviewReply) => {
      const waiting = this.pending.get(reply.id)
      if (!waiting) return
      this.pending.delete(reply.id)
      if (reply.error) waiting.reject(errorFromWorker(reply.error))
      else waiting.resolve(reply.result)
    })
    const died = (err: Error) => {
      if (this.worker !== worker) return
      this.worker = null // the next preview starts a fresh one
      this.failAll(err)
    }
    worker.on('error', died)
    worker.on('exit', (code) => died(new Error(`the tagger worker exited with code ${code}`)))
    this.worker = worker
    return worker
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
  }
}
