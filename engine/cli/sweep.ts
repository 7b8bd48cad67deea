// `mengzi sweep --dataset ID (--model ID | --run ID | --from DIR) [--grid JSON] [--set k=v]...` and
// `mengzi sweep --resume SWEEP`: a queue of fine-tuning runs; --json ends with {sweepId, runs, best}.
import type { Command } from 'commander'
import { badInput } from '../errors'
import { resumeSweep, startSweep, sweepDetail, type Grid } from '../service/sweeps'
import { REPORT_GRID } from '../train/finetune-config'
import { formatTable, printJson, withCommonOptions, withWorkbench } from './common'
import { finetuneRequest, withSourceOptions, type SourceFlags } from './finetune'
import { printFinetuneEstimate } from './estimate'
import { followJob, idFlag } from './follow-job'

interface SweepFlags extends SourceFlags {
  grid?: string
  resume?: string
}

export function registerSweep(program: Command): void {
  withCommonOptions(
    withSourceOptions(program.command('sweep').description('a grid of fine-tuning runs, one after another; the best by dev metric is marked'))
      .option('--grid <json>', `values per config field, e.g. '{"learningRate":[1e-5,2e-5],"batchSize":[16,32]}' (default: the report's ${JSON.stringify(REPORT_GRID)})`)
      .option('--resume <sweep>', 'continue a cancelled or interrupted sweep')
      .option('--estimate', 'start nothing: estimate the sweep (every run of its grid) and check its config against this machine'),
  ).action(async (flags: SweepFlags) =>
    withWorkbench(flags, async (wb) => {
      let started: { sweepId: number; jobId: string }
      if (flags.resume !== undefined) {
        if (flags.estimate) throw badInput('--estimate estimates a new sweep; drop --resume')
        started = resumeSweep(wb, idFlag('--resume', flags.resume)!)
      }
      else {
        let grid: Grid | undefined
        if (flags.grid !== undefined) {
          try {
            grid = JSON.parse(flags.grid) as Grid
          } catch (e) {
            throw badInput(`--grid: not JSON (${(e as Error).message.split('\n')[0]})`)
          }
          if (grid === null || typeof grid !== 'object' || Array.isArray(grid)) throw badInput('--grid: expected an object of field → [values]')
        }
        if (flags.estimate) return printFinetuneEstimate(wb, finetuneRequest(flags), grid ?? REPORT_GRID, flags.json ?? false)
        started = startSweep(wb, { ...finetuneRequest(flags), grid })
      }
      if (!flags.json) process.stderr.write(`sweep ${started.sweepId}\n`)
      const job = await followJob(wb, started.jobId, !flags.json, 'sweep')
      const d = sweepDetail(wb, started.sweepId)
      if (flags.json) printJson({ sweepId: d.sweepId, status: job.status === 'completed' ? 'completed' : d.status, metric: d.metric, runs: d.runs, best: d.best, error: job.error })
      else {
        console.log(formatTable(['run', ...Object.keys(d.runs[0]?.params ?? {}), 'status', `dev ${d.metric}`, 'best'], d.runs.map((r) => [r.runId, ...Object.values(r.params).map(String), r.status, r.dev?.[d.metric]?.toFixed(4), r.runId === d.best?.runId ? '*' : ''])))
      }
      if (job.status !== 'completed') process.exitCode = job.status === 'cancelled' ? 130 : 1
    }),
  )
}
