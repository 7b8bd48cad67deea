// `mengzi train --config FILE | --preset NAME [--set key=value]... [--text FILE | --dataset ID] [--vocab FILE]`
// and `mengzi train --resume RUN`: MLM pretraining as a job (worker thread), progress on stderr; with
// --estimate, nothing starts and the run's cost here is printed (estimate.ts).
import fs from 'node:fs'
import path from 'node:path'
import cliProgress from 'cli-progress'
import type { Command } from 'commander'
import { badInput, notFound } from '../errors'
import { startTraining, type TrainingStart, type TrainingSummary } from '../service/training'
import type { JobInfo } from '../service/api'
import type { Workbench } from '../service/workbench'
import { getDataset } from '../store/datasets'
import { getRun } from '../store/runs'
import { applyOverrides } from '../train/config'
import { TRAIN_PRESETS } from '../train/presets'
import { defaultVocabPath } from '../text/default-vocab'
import { printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'
import { printRunEstimate } from './estimate'

interface TrainFlags extends GlobalOptions {
  config?: string
  preset?: string
  set: string[]
  text?: string
  dataset?: string
  vocab?: string
  resume?: string
  keep: string
  engine?: string
  nprocPerNode?: string
  estimate?: boolean
}

const collect = (value: string, previous: string[]) => [...previous, value]

export function registerTrain(program: Command): void {
  withCommonOptions(
    program
      .command('train')
      .description('pretrain a BERT with MLM (Mengzi style) as a job; Ctrl-C stops after a checkpoint, --resume continues')
      .option('--config <file>', 'a JSON run config (engine/train/config.ts)')
      .option('--preset <name>', `a built-in run config: ${Object.keys(TRAIN_PRESETS).join(', ')}`)
      .option('--set <key=value>', 'override a config field (dotted keys, JSON values); repeatable', collect, [])
      .option('--text <file>', 'train on a plain-text file, one document per line')
      .option('--dataset <id>', 'train on an imported text dataset (its train split; dev split for evaluation)')
      .option('--vocab <file>', 'the vocab.txt to tokenize with (default: the bundled resources/vocab/vocab.txt); shipped with the checkpoints')
      .option('--resume <run>', 'continue run RUN from its newest checkpoint')
      .option('--keep <n>', 'newest checkpoints to keep (0 = all)', '2')
      .option('--engine <name>', 'local (this process, TensorFlow.js) or torch (torchrun, PyTorch distributed)')
      .option('--nproc-per-node <n>', 'torch engine: torchrun workers on this machine')
      .option('--estimate', 'start nothing: estimate the run (parameters, memory, time after a calibration step here) and check it against this machine'),
  ).action(async (flags: TrainFlags) =>
    withWorkbench(flags, async (wb) => {
      const keepCheckpoints = Number(flags.keep)
      if (!Number.isInteger(keepCheckpoints) || keepCheckpoints < 0) throw badInput(`--keep: expected a non-negative integer, got ${JSON.stringify(flags.keep)}`)
      if (flags.estimate) {
        if (flags.resume !== undefined) throw badInput('--estimate estimates a new run; drop --resume')
        const { raw, datasetId } = buildConfig(wb, flags, false)
        return printRunEstimate(wb, datasetId, raw, flags.json ?? false)
      }
      let start: TrainingStart
      if (flags.resume !== undefined) {
        if (flags.config || flags.preset) throw badInput('--resume continues a run with its own config; drop --config/--preset')
        const id = Number(flags.resume)
        if (!Number.isInteger(id) || !getRun(wb.db, id)) throw notFound(`--resume: run ${JSON.stringify(flags.resume)} does not exist`)
        start = startTraining(wb, null, { resumeRunId: id, keepCheckpoints })
      } else {
        const { raw, datasetId } = buildConfig(wb, flags)
        start = startTraining(wb, raw, { keepCheckpoints, datasetId })
      }
      const job = await follow(wb, start, !flags.json, flags.json)
      const run = getRun(wb.db, start.runId)!
      const result = job.result as TrainingSummary | null
      const summary = {
        runId: start.runId,
        status: run.status,
        backend: run.backend,
        step: result?.step ?? null,
        loss: result?.loss ?? null,
        checkpoint: result?.checkpointDir ?? null,
        eval: result?.eval ?? null,
        error: job.error,
      }
      if (flags.json) printJson(summary)
      else if (job.status === 'failed') process.stderr.write(`mengzi: run ${start.runId} failed: ${job.error}\n`)
      else console.log(`Run ${start.runId} ${run.status} at step ${summary.step} (backend ${run.backend}), loss ${summary.loss?.toFixed(4)}; checkpoint ${summary.checkpoint}`)
      if (job.status !== 'completed') process.exitCode = job.status === 'cancelled' ? 130 : 1
    }),
  )
}

function buildConfig(wb: Workbench, flags: TrainFlags, needsData = true): { raw: Record<string, unknown>; datasetId?: number } {
  if (!!flags.config === !!flags.preset) throw badInput('give exactly one of --config FILE and --preset NAME')
  let raw: Record<string, unknown>
  if (flags.config) {
    try {
      raw = JSON.parse(fs.readFileSync(flags.config, 'utf8'))
    } catch (e) {
      throw badInput(`--config ${flags.config}: ${(e as Error).message.split('\n')[0]}`)
    }
  } else {
    const preset = TRAIN_PRESETS[flags.preset!]
    if (!preset) throw badInput(`--preset: unknown preset ${JSON.stringify(flags.preset)}; choose ${Object.keys(TRAIN_PRESETS).join(', ')}`)
    raw = structuredClone(preset) as Record<string, unknown>
  }
  let datasetId: number | undefined
  if (flags.text && flags.dataset) throw badInput('give at most one of --text and --dataset')
  // the bundled vocab unless one is given (or initFrom brings its own)
  const vocab = flags.vocab ? path.resolve(flags.vocab) : undefined
  if (flags.text) raw.data = { kind: 'text-file', path: path.resolve(flags.text), vocab: vocab ?? defaultVocabPath() }
  if (flags.dataset) {
    datasetId = Number(flags.dataset)
    const ds = Number.isInteger(datasetId) ? getDataset(wb.db, datasetId) : undefined
    if (!ds) throw notFound(`--dataset: dataset ${JSON.stringify(flags.dataset)} does not exist`)
    raw.data = { kind: 'dataset', dir: ds.dir, ...(vocab ? { vocab } : {}) }
  }
  const out = applyOverrides(raw, [...flags.set, ...engineSets(flags)])
  if (out.data === undefined && needsData) throw badInput('no training data: give --text FILE or --dataset ID, or data in the config')
  return { raw: out, datasetId }
}

/** --engine and --nproc-per-node as config overrides (engine/launch runs the torch engine). */
function engineSets(flags: TrainFlags): string[] {
  if (flags.nprocPerNode !== undefined && (flags.engine ?? 'torch') !== 'torch') throw badInput('--nproc-per-node applies to --engine torch')
  const sets = flags.engine !== undefined ? [`engine=${JSON.stringify(flags.engine)}`] : []
  if (flags.nprocPerNode !== undefined) sets.push('engine="torch"', `torch.nprocPerNode=${Number(flags.nprocPerNode)}`)
  return sets
}

/** Waits for the job, drawing its progress on stderr; Ctrl-C cancels (the run checkpoints first). */
async function follow(wb: Workbench, start: TrainingStart, show: boolean, jsonLines = false): Promise<JobInfo> {
  const bar =
    show && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { stream: process.stderr, format: 'train [{bar}] {value}/{total} {unit} · {message} · ETA {eta_formatted}', hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        )
      : null
  // the bar starts over when the unit changes (records of the token-shard build, then steps)
  let barUnit: string | null = null
  const onSigint = () => wb.jobs.cancel(start.jobId)
  process.once('SIGINT', onSigint)
  try {
    return await new Promise<JobInfo>((resolve) => {
      const off = wb.subscribe((e) => {
        if (e.type !== 'job' || e.job.id !== start.jobId) return
        const p = e.job.progress
        // --json: one line per progress event ({"progress": …}), then the summary object last
        if (jsonLines && p && e.job.status === 'running') process.stdout.write(`${JSON.stringify({ progress: { done: p.done, total: p.total, unit: p.unit, message: p.message ?? null } })}\n`)
        if (bar && p && p.total) {
          if (barUnit !== p.unit) {
            if (barUnit !== null) bar.stop()
            bar.start(p.total, p.done, { message: '', unit: p.unit })
            barUnit = p.unit
          }
          bar.update(p.done, { message: p.message ?? '', unit: p.unit })
        }
        if (e.job.status !== 'running') {
          off()
          resolve(e.job)
        }
      })
      // the job may have finished before we subscribed
      const known = wb.jobs.list().find((j) => j.id === start.jobId)
      if (known && known.status !== 'running') {
        off()
        resolve(known)
      }
    })
  } finally {
    bar?.stop()
    process.off('SIGINT', onSigint)
  }
}
