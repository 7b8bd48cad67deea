// A real spaCy as the tagger: the user's Python with spaCy and a Chinese pipeline, run as one long-lived
// subprocess (resources/tagging/spacy_tagger.py) speaking JSON lines. Same output shape as the built-in
// tagger. When Python, spaCy or the pipeline is missing, start() fails with UNAVAILABLE saying how to fix it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { WorkbenchError } from '../errors'
import { taggingResourceDir } from './resources'
import type { TaggedDoc, Tagger } from './types'

export interface SpacyTaggerOptions {
  /** The Python that has spaCy; default $MENGZI_SPACY_PYTHON, else `python3` on PATH. */
  python?: string
  /** A spaCy pipeline name or path; default zh_core_web_sm. */
  model?: string
}

export const SPACY_HOW_TO =
  'install spaCy and a Chinese pipeline into a Python (python -m pip install spacy && python -m spacy download zh_core_web_sm) and point the workbench at it (--python PATH, MENGZI_SPACY_PYTHON, or the spaCy Python setting)'

interface Reply {
  id?: number
  ready?: boolean
  error?: string
  docs?: TaggedDoc[]
  spacy?: string
  model?: string
}

export class SpacyTagger implements Tagger {
  readonly name = 'spacy' as const
  readonly python: string
  readonly model: string
  info: { spacy: string; model: string } | null = null
  private child: ChildProcessWithoutNullStreams | null = null
  private nextId = 1
  private readonly waiting = new Map<number, { resolve: (docs: TaggedDoc[]) => void; reject: (err: Error) => void }>()
  private stderr = ''

  constructor(options: SpacyTaggerOptions = {}) {
    this.python = options.python ?? process.env.MENGZI_SPACY_PYTHON ?? 'python3'
    this.model = options.model ?? 'zh_core_web_sm'
  }

  private unavailable(reason: string): WorkbenchError {
    return new WorkbenchError('UNAVAILABLE', `spaCy tagger unavailable: ${reason}; to enable it, ${SPACY_HOW_TO}`)
  }

  /** Starts the subprocess and waits for its ready line. */
  async start(): Promise<void> {
    if (this.child) return
    const script = path.join(taggingResourceDir(), 'spacy_tagger.py')
    const child = spawn(this.python, [script, this.model], { stdio: ['pipe', 'pipe', 'pipe'] })
    child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000)))
    const lines = readline.createInterface({ input: child.stdout })
    const ready = new Promise<Reply>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(this.unavailable(`cannot run Python ${JSON.stringify(this.python)} (${err.code ?? err.message})`)),
      )
      child.once('exit', (code) => {
        const last = this.stderr.trim().split('\n').pop() ?? ''
        reject(this.unavailable(`Python ${JSON.stringify(this.python)} exited with status ${code} before it was ready${last ? ` (${last})` : ''}`))
      })
      lines.once('line', (line) => {
        try {
          resolve(JSON.parse(line) as Reply)
        } catch {
          reject(this.unavailable(`unexpected first line from ${JSON.stringify(script)}: ${JSON.stringify(line.slice(0, 200))}`))
        }
      })
    })
    let first: Reply
    try {
      first = await ready
    } catch (err) {
      child.kill()
      throw err
    }
    if (!first.ready) {
      child.kill()
      throw this.unavailable(`${first.error ?? 'not ready'}`)
    }
    this.info = { spacy: first.spacy ?? '?', model: first.model ?? this.model }
    this.child = child
    lines.on('line', (line) => this.onReply(line))
    child.on('exit', (code) => {
      this.child = null
      const err = this.unavailable(`the spaCy process exited with status ${code}`)
      for (const w of this.waiting.values()) w.reject(err)
      this.waiting.clear()
    })
  }

  private onReply(line: string): void {
    let reply: Reply
    try {
      reply = JSON.parse(line) as Reply
    } catch {
      return // a stray print from a spaCy component; requests are matched by id
    }
    const waiter = reply.id === undefined ? undefined : this.waiting.get(reply.id)
    if (!waiter) return
    this.waiting.delete(reply.id!)
    if (reply.error) waiter.reject(new WorkbenchError('BAD_INPUT', `spaCy failed on request ${reply.id}: ${reply.error}`))
    else waiter.resolve(reply.docs ?? [])
  }

  async tag(texts: string[]): Promise<TaggedDoc[]> {
    await this.start()
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.child!.stdin.write(JSON.stringify({ id, texts }) + '\n')
    })
  }

  async close(): Promise<void> {
    const child = this.child
    if (!child) return
    this.child = null
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.stdin.end()
    const timer = setTimeout(() => child.kill(), 2000)
    await exited
    clearTimeout(timer)
  }
}
