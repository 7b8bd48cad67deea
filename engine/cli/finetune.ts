// `mengzi finetune --dataset ID (--model ID | --run ID | --from DIR) [--task auto|<task>] [--set k=v]...`:
// fine-tunes on a CLUE dataset as a job; with --json the last line is {runId, status, dev, ...}.
// `mengzi finetune --resume RUN` continues an interrupted, failed or cancelled run from its last epoch checkpoint;
// `--estimate` starts nothing and prints what the run would cost here (estimate.ts).
import type { Command } from 'commander'
import { badInput } from '../errors'
import { TASKS } from '../data/types'
import { startFinetune, startFinetuneRun, finetuneSummary, type FinetuneRequest } from '../service/finetuning'
import type { ClueTask } from '../tasks/spec'
import { printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'
import { printFinetuneEstimate } from './estimate'
import { collect, followJob, idFlag } from './follow-job'

export interface SourceFlags extends GlobalOptions {
  dataset?: string
  model?: string
  run?: string
  from?: string
  task: string
  set: string[]
  name?: string
  resume?: string
  estimate?: boolean
}

export function finetuneRequest(flags: SourceFlags): FinetuneRequest {
  const datasetId = idFlag('--dataset', flags.dataset)
  if (datasetId === undefined) throw badInput('--dataset ID is required (an imported CLUE dataset)')
  if (flags.task !== 'auto' && !(TASKS as readonly string[]).includes(flags.task)) throw badInput(`--task: unknown task ${JSON.stringify(flags.task)}`)
  return {
    datasetId,
    modelId: idFlag('--model', flags.model),
    runId: idFlag('--run', flags.run),
    from: flags.from,
    task: flags.task as 'auto' | ClueTask,
    set: flags.set,
    name: flags.name,
  }
}

export function withSourceOptions(cmd: Command): Command {
  return cmd
    .option('--dataset <id>', 'the imported CLUE dataset')
    .option('--model <id>', 'start from a registered model')
    .option('--run <id>', 'start from a run (its best or final model): transfer learning')
    .option('--from <dir>', 'start from a HuggingFace BERT folder')
    .option('--task <task>', 'the CLUE task (auto: the dataset\'s)', 'auto')
    .option('--set <key=value>', 'override a fine-tuning config field (dotted keys, JSON values); repeatable', collect, [])
    .option('--name <name>', 'the run name')
}

export function registerFinetune(program: Command): void {
  withCommonOptions(withSourceOptions(program.command('finetune').description('fine-tune on a CLUE task (AdamW, the report\'s defaults; strategies via --set strategies.…)')))
    .option('--resume <run>', 'continue run RUN (interrupted, failed, cancelled) from its last epoch checkpoint')
    .option('--estimate', 'start nothing: estimate the run (parameters, memory, steps, time after a calibration step here) and check it against this machine')
    .action(async (flags: SourceFlags) =>
      withWorkbench(flags, async (wb) => {
        if (flags.estimate) {
          if (flags.resume !== undefined) throw badInput('--estimate estimates a new run; drop --resume')
          return printFinetuneEstimate(wb, finetuneRequest(flags), undefined, flags.json ?? false)
        }
        if (flags.resume !== undefined && (flags.dataset || flags.model || flags.run || flags.from || flags.set.length)) {
          throw badInput('--resume continues a run with its own config; drop --dataset/--model/--run/--from/--set')
        }
        const start = flags.resume !== undefined ? startFinetuneRun(wb, idFlag('--resume', flags.resume)!) : startFinetune(wb, finetuneRequest(flags))
        const off = flags.json ? () => {} : wb.subscribe((e) => {
          if (e.type === 'run.metrics' && e.runId === start.runId) {
            const dev = e.points.filter((p) => p.name.startsWith('dev/'))
            if (dev.length) process.stderr.write(`run ${start.runId} step ${dev[0].step}: ${dev.map((p) => `${p.name} ${p.value.toFixed(4)}`).join(', ')}\n`)
          }
        })
        const job = await followJob(wb, start.jobId, !flags.json, 'finetune')
        off()
        const s = finetuneSummary(wb.db, wb.layout, start.runId)
        if (flags.json) printJson({ ...s, error: s.error ?? job.error })
        else if (job.status === 'failed') process.stderr.write(`mengzi: run ${start.runId} failed: ${job.error}\n`)
        else console.log(`Run ${start.runId} ${s.status}: best epoch ${s.bestEpoch}, dev ${JSON.stringify(s.dev)}${s.modelId ? `, model ${s.modelId}` : ''}`)
        if (job.status !== 'completed') process.exitCode = job.status === 'cancelled' ? 130 : 1
      }),
  )
}
