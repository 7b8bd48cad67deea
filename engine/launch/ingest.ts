// `mengzi runs ingest DIR`: a job folder that ran elsewhere (emit.ts) comes back as a run — its config,
// every metric point, its final checkpoint (copied under the run's folder, which the workbench owns) and,
// when that checkpoint is a complete HF folder, a trained model. Files are copied before any row is
// written, and the rows go in one transaction: a bad folder leaves the database as it was.
import fs from 'node:fs'
import path from 'node:path'
import { WorkbenchError, badInput } from '../errors'
import type { DataLayout } from '../paths'
import { recordCheckpoint } from '../store/checkpoints'
import type { Db } from '../store/db'
import { MetricWriter } from '../store/metrics'
import { insertModel } from '../store/models'
import { insertRun, setRunStatus, type RunStatus } from '../store/runs'
import { parseTrainConfig } from '../train/config'
import type { TorchJob } from './job'
import { metricPoints, type EventLine, type MetricLine } from './records'

export interface IngestResult {
  runId: number
  status: RunStatus
  step: number
  metrics: number
  checkpoint: string | null
  modelId: number | null
}

function readLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) return []
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  const out: T[] = []
  lines.forEach((line, i) => {
    if (line.trim() === '') return
    try {
      out.push(JSON.parse(line) as T)
    } catch {
      // a last line cut short by a killed job is expected; a bad line before it is not
      if (i < lines.length - 2) throw badInput(`${file}:${i + 1}: not JSON: ${JSON.stringify(line.slice(0, 60))}`)
    }
  })
  return out
}

export function ingestJobFolder(db: Db, layout: DataLayout, folder: string): IngestResult {
  const dir = path.resolve(folder)
  const jobFile = path.join(dir, 'job.json')
  if (!fs.existsSync(jobFile)) throw badInput(`${folder}: no job.json (not a job folder from mengzi launch --emit)`)
  let job: TorchJob
  try {
    job = JSON.parse(fs.readFileSync(jobFile, 'utf8')) as TorchJob
  } catch (e) {
    throw badInput(`${jobFile}: ${(e as Error).message.split('\n')[0]}`)
  }
  const config = parseTrainConfig(job.run, `${jobFile} run`)
  const events = readLines<EventLine>(path.join(dir, 'events.jsonl'))
  if (events.length === 0) throw badInput(`${folder}: no events.jsonl yet — has the job run? (./run.sh or sbatch slurm.sbatch there)`)
  const metrics = readLines<MetricLine>(path.join(dir, 'metrics.jsonl'))
  const start = events.find((e) => e.event === 'start') as Extract<EventLine, { event: 'start' }> | undefined
  const done = events.findLast((e) => e.event === 'done') as Extract<EventLine, { event: 'done' }> | undefined
  const status: RunStatus = !done ? 'failed' : done.stopped ? 'cancelled' : 'completed'
  const last = events.findLast((e) => e.event === 'checkpoint') as Extract<EventLine, { event: 'checkpoint' }> | undefined
  // the trainer wrote absolute paths of the machine it ran on: find the checkpoint in this folder
  const source = last ? path.join(dir, 'checkpoints', path.basename(last.dir)) : null
  if (source && !fs.existsSync(path.join(source, 'model.safetensors'))) throw badInput(`${folder}: events.jsonl names checkpoint ${path.basename(last!.dir)}, which is not in ${path.join(dir, 'checkpoints')}`)

  fs.mkdirSync(layout.staging, { recursive: true })
  const staging = fs.mkdtempSync(path.join(layout.staging, 'ingest-'))
  let placed: string | null = null
  try {
    if (source) fs.cpSync(source, path.join(staging, 'checkpoints', path.basename(source)), { recursive: true })
    for (const f of ['job.json', 'metrics.jsonl', 'events.jsonl']) if (fs.existsSync(path.join(dir, f))) fs.copyFileSync(path.join(dir, f), path.join(staging, f))
    return db.transaction((): IngestResult => {
      const runId = insertRun(db, { name: config.name, kind: 'pretrain', config: config as unknown as Record<string, unknown>, seed: config.seed })
      const runDir = path.join(layout.runs, String(runId))
      if (fs.existsSync(runDir)) throw new WorkbenchError('CONFLICT', `${runDir} already exists; not overwriting it`)
      const writer = new MetricWriter(db, runId)
      let points = 0
      for (const line of metrics) {
        for (const p of metricPoints(line)) {
          writer.add(p.name, p.step, p.value, p.wallTime)
          points++
        }
      }
      writer.flush()
      const backend = start ? `torch ${start.torch} ${start.device.split(':')[0]}×${start.world_size}` : 'torch'
      setRunStatus(db, runId, status, { backend, error: status === 'failed' ? `ingested from ${dir}: the trainer did not finish (no "done" event; last: ${events.at(-1)!.event})` : undefined })
      fs.mkdirSync(layout.runs, { recursive: true })
      fs.renameSync(staging, runDir)
      placed = runDir
      let checkpoint: string | null = null
      let modelId: number | null = null
      if (source) {
        checkpoint = path.join(runDir, 'checkpoints', path.basename(source))
        recordCheckpoint(db, runId, last!.step, checkpoint)
        if (status === 'completed' && fs.existsSync(path.join(checkpoint, 'vocab.txt'))) {
          const bert = JSON.parse(fs.readFileSync(path.join(checkpoint, 'config.json'), 'utf8')) as Record<string, unknown>
          modelId = insertModel(db, { name: `${config.name} (run ${runId})`, source: 'trained', dir: checkpoint, config: bert, runId })
        }
      }
      return { runId, status, step: done?.step ?? last?.step ?? 0, metrics: points, checkpoint, modelId }
    })()
  } catch (err) {
    if (placed) fs.rmSync(placed, { recursive: true, force: true }) // the rows rolled back: so do the files
    throw err
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}
