// Long data jobs that run in a worker thread (task-worker.ts), so that neither the Electron main process
// nor the server's event loop stalls while a corpus is imported or a dataset tagged. Each task gets its
// own database connection (WAL lets it write beside the service's) and reports progress as messages.
import { importCorpus, type ImportOptions } from '../data/import'
import { dataLayout } from '../paths'
import { openDatabase, type OpenOptions } from '../store/db'
import { tagDataset } from '../tagging/dataset-tags'
import { withTagger, type TaggerChoice } from '../tagging/preview'

export interface TaskEnvironment {
  home: string
  database: string
  sqlite?: OpenOptions
}

export interface TaskContext {
  signal: AbortSignal
  progress(done: number, total: number | null, unit: string, message?: string): void
}

export const tasks = {
  import: async (env: TaskEnvironment, input: { paths: string[]; options: ImportOptions }, ctx: TaskContext) => {
    const db = openDatabase(env.database, env.sqlite)
    try {
      return await importCorpus(input.paths, input.options, {
        db,
        layout: dataLayout(env.home, env.database),
        signal: ctx.signal,
        onProgress: (p) => ctx.progress(p.bytes, p.totalBytes, 'bytes', `${p.records} records · ${p.file}`),
      })
    } finally {
      db.close()
    }
  },
  probeBackends: async (env: TaskEnvironment) => (await import('../compute/backends')).probeBackends({ tuningCache: dataLayout(env.home, env.database).tuningCache }),
  forgetTuning: async (env: TaskEnvironment) => (await import('../compute/backends')).forgetKeptTuning({ tuningCache: dataLayout(env.home, env.database).tuningCache }),
  // a few measured training steps on a backend, for the time estimates of the run form
  calibrateTraining: async (_env: TaskEnvironment, input: { backend: 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu' }) =>
    (await import('../train/estimate')).calibrateTraining(input.backend),
  // a fine-tuning run's data packed as the run packs it, for the Fine-tune form's estimate
  finetuneCounts: async (_env: TaskEnvironment, input: import('../train/finetune-counts').CountsInput) => (await import('../train/finetune-counts')).finetuneCounts(input),
  tagDataset: async (_env: TaskEnvironment, input: { dir: string; choice: TaggerChoice; entities?: boolean }, ctx: TaskContext) =>
    withTagger(input.choice, (tagger) =>
      tagDataset(input.dir, { tagger, entities: input.entities, signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total, 'records') }),
    ),
}

export type TaskName = keyof typeof tasks
export type TaskInput<T extends TaskName> = Parameters<(typeof tasks)[T]>[1]
export type TaskResult<T extends TaskName> = Awaited<ReturnType<(typeof tasks)[T]>>
