// `mengzi predict RUN --dataset ID [--split test] --out FILE`: a fine-tuning run's best model over a split,
// written in CLUE's submission format.
import type { Command } from 'commander'
import { badInput } from '../errors'
import { startPredict, type PredictResult } from '../service/finetuning'
import { printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'
import { followJob, idFlag } from './follow-job'

interface PredictFlags extends GlobalOptions {
  dataset?: string
  split: string
  out?: string
}

export function registerPredict(program: Command): void {
  withCommonOptions(
    program
      .command('predict <run>')
      .description('predict a split with a fine-tuning run\'s best model, in CLUE\'s submission format (<task>_predict.json)')
      .option('--dataset <id>', 'the CLUE dataset holding the split')
      .option('--split <split>', 'train, dev or test', 'test')
      .option('--out <file>', 'the submission file to write'),
  ).action(async (run: string, flags: PredictFlags) =>
    withWorkbench(flags, async (wb) => {
      const datasetId = idFlag('--dataset', flags.dataset)
      if (datasetId === undefined) throw badInput('--dataset ID is required')
      if (!flags.out) throw badInput('--out FILE is required')
      if (!['train', 'dev', 'test'].includes(flags.split)) throw badInput(`--split: expected train, dev or test, got ${JSON.stringify(flags.split)}`)
      const { jobId } = startPredict(wb, { runId: idFlag('run', run)!, datasetId, split: flags.split, out: flags.out })
      const job = await followJob(wb, jobId, !flags.json, 'predict')
      if (job.status !== 'completed') throw new Error(job.error ?? `predict ${job.status}`)
      const r = job.result as PredictResult
      if (flags.json) printJson(r)
      else console.log(`${r.examples} predictions → ${r.out}${Object.keys(r.metrics).length ? ` (${JSON.stringify(r.metrics)})` : ''}`)
    }),
  )
}
