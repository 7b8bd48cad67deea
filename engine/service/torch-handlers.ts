// The torch engine's API methods (#15): which Python and torch a run would use, job folders for a
// cluster (a job: writing shards takes a while), and bringing a finished folder back as a run.
import { emitJobFolder } from '../launch/emit'
import { ingestJobFolder } from '../launch/ingest'
import { findTorch } from '../launch/python'
import type { DataLayout } from '../paths'
import type { Db } from '../store/db'
import { parseTrainConfig } from '../train/config'
import type { MethodInput, MethodOutput, WorkbenchEvent } from './api'
import type { JobManager } from './jobs'

type TorchMethods = 'torch.probe' | 'launch.emit' | 'runs.ingest'

export function torchHandlers(wb: { db: Db; layout: DataLayout; jobs: JobManager; emit(e: WorkbenchEvent): void }): {
  [M in TorchMethods]: (input: MethodInput<M>) => Promise<MethodOutput<M>>
} {
  return {
    'torch.probe': async () => findTorch(),
    'launch.emit': async ({ config, out, scheduler, keepCheckpoints }) => {
      const parsed = parseTrainConfig(config)
      const job = wb.jobs.start('launch.emit', `Job folder for ${parsed.name} in ${out}`, () => emitJobFolder(parsed, out, { scheduler, keepCheckpoints }))
      return { jobId: job.id }
    },
    'runs.ingest': async ({ dir }) => {
      const result = ingestJobFolder(wb.db, wb.layout, dir)
      wb.emit({ type: 'runs.changed', id: result.runId })
      if (result.modelId !== null) wb.emit({ type: 'models.changed' })
      return result
    },
  }
}
