// The Workbench service: the engine side of the API. One instance owns the database and the jobs; the
// Electron IPC bridge and the loopback server both call `dispatch`, which validates every request.
import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { defaultVocabPath } from '../text/default-vocab'
import { WorkbenchError, notFound } from '../errors'
import { VERSION } from '../version'
import { dataLayout, defaultHome, type DataLayout } from '../paths'
import { openDatabase, SCHEMA_VERSION, type Db, type OpenOptions } from '../store/db'
import { getSettings, setSettings } from '../store/settings'
import { getDataset, listDatasetFiles, listDatasets, type DatasetRow } from '../store/datasets'
import { getRun, listRuns, type RunRow } from '../store/runs'
import { finalMetrics, metricNames, metricSeries } from '../store/metrics'
import { getModel, listModels, type ModelRow } from '../store/models'
import { JobManager } from './jobs'
import type { LeaseTimings } from './leases'
import type { TaskContext, TaskEnvironment } from './tasks'
import { runTask } from './worker-task'
import { TaggerClient } from './tagger-client'
import type { BackendProbe } from '../compute/backends'
import { startTraining } from './training'
import { torchHandlers } from './torch-handlers'
import { createRunAppHandlers } from './runs-app'
import { createCalibrations } from './calibrations'
import { createFinetuneCheck } from './finetune-check'
import { finetuneSummary, readInspection, startFinetune, startFinetuneRun, startPredict } from './finetuning'
import { resumeSweep, startSweep, sweepDetail } from './sweeps'
import { listSweeps } from '../store/sweeps'
import { deleteStoredModel, exportHfModel, importHfModel } from './model-files'
import { datasetSamples, datasetStats, deleteDatasetAndFolder, renameDatasetChecked } from '../data/service'
import type { ImportResult } from '../data/import'
import {
  isMethodName,
  parseInput,
  type DatasetSummary,
  type MethodName,
  type ModelSummary,
  type RunSummary,
  type Settings,
  type WorkbenchApi,
  type WorkbenchEvent,
} from './api'
import { readTagSummary } from '../tagging/dataset-tags'
import { comparisonCsv, comparisonMarkdown, comparisonReport, compareSummary, deleteRuns, runTable } from './compare'
import { SeriesCache, seriesFrame } from './compare-series'
import { setRunAnnotations } from '../store/compare'

export interface WorkbenchOptions {
  /** The data folder; defaults to MENGZI_HOME or the platform's app data folder. */
  home?: string
  /** The database file; defaults to <home>/mengzi.db. */
  database?: string
  sqlite?: OpenOptions
  /** Set by the Electron main process. */
  electronVersion?: string
  /** Lease heartbeat and sweep intervals (tests shorten them). */
  leaseTimings?: Partial<LeaseTimings>
}

type Handlers = { [M in MethodName]: (input: Parameters<WorkbenchApi[M]>[0]) => ReturnType<WorkbenchApi[M]> }

export class Workbench {
  readonly layout: DataLayout
  readonly db: Db
  readonly jobs: JobManager
  private readonly events = new EventEmitter()
  private readonly handlers: Handlers
  private backendProbe: Promise<BackendProbe[]> | null = null
  private readonly tagger = new TaggerClient()
  private readonly series = new SeriesCache()
  private seriesWarming: Promise<void> | null = null

  constructor(private readonly options: WorkbenchOptions = {}) {
    this.layout = dataLayout(options.home ?? defaultHome(), options.database)
    fs.mkdirSync(this.layout.home, { recursive: true })
    this.db = openDatabase(this.layout.database, options.sqlite)
    this.jobs = new JobManager((job) => this.emit({ type: 'job', job }), { db: this.db, timings: options.leaseTimings })
    this.events.setMaxListeners(0)
    this.handlers = this.createHandlers()
    // runs whose process died show as interrupted, now and while this workbench is open
    this.jobs.watch((runIds) => {
      for (const id of runIds) this.emit({ type: 'runs.changed', id })
    })
    // cached series follow the runs: new points are appended on the next read, a restarted run is re-read
    this.subscribe((e) => {
      if (e.type === 'run.metrics') this.series.markStale(e.runId)
      else if (e.type === 'runs.changed' && e.id != null) this.series.forget(e.id)
    })
  }

  /** Validates and runs one API request. Unknown methods and bad payloads are refused with a reason. */
  async dispatch(method: unknown, input: unknown): Promise<unknown> {
    if (!isMethodName(method)) throw new WorkbenchError('BAD_INPUT', `unknown API method ${JSON.stringify(method)}`)
    const parsed = parseInput(method, input)
    return (this.handlers[method] as (i: unknown) => Promise<unknown>)(parsed)
  }

  /** Direct typed calls for engine code and tests, through the same validation as the transports. */
  call<M extends MethodName>(method: M, input: Parameters<WorkbenchApi[M]>[0]): ReturnType<WorkbenchApi[M]> {
    return this.dispatch(method, input) as ReturnType<WorkbenchApi[M]>
  }

  subscribe(listener: (event: WorkbenchEvent) => void): () => void {
    this.events.on('event', listener)
    return () => this.events.off('event', listener)
  }

  emit(event: WorkbenchEvent): void {
    this.events.emit('event', event)
  }

  /**
   * Warms what a first Compare open reads (the stored overviews of finished runs), in the background,
   * then runs the newest finished runs once through the summary and a whole-extent frame, results
   * dropped: that first open's requests then run compiled code, not the interpreter (cold, 40–50 ms
   * each instead of 13–15, alone on the bench's 200 runs). Resolves when both are done.
   */
  preloadSeries(): Promise<void> {
    // once per workbench: a second call (the app and `serve` both start it) gets the same promise
    return (this.seriesWarming ??= new Promise((done) =>
      this.series.preloadOverviews(this.db, undefined, () => {
        try {
          const runIds = (this.db.prepare("SELECT id FROM runs WHERE status = 'completed' ORDER BY id DESC LIMIT 16").all() as { id: number }[]).map((r) => r.id)
          const metric = runIds.length >= 2 ? compareSummary(this.db, runIds).metrics[0] : undefined
          if (metric) this.series.quietly(() => seriesFrame(this.db, this.series, { runIds, metric, x: 'step', width: 256, smoothing: 0, range: null }))
        } catch {
          // the database closed meanwhile, or a run went away: nothing to warm
        }
        done()
      }),
    ))
  }

  /** Whole series the Compare cache holds in memory (for tests and diagnostics). */
  get seriesInMemory(): number {
    return this.series.size
  }

  async close(): Promise<void> {
    await this.jobs.shutdown()
    await this.tagger.close()
    this.series.stop()
    this.db.close()
  }

  /** Tags a dataset in a worker thread within another job (training that needs POS/NE labels). */
  tagDatasetFor(dir: string, ctx: TaskContext): Promise<unknown> {
    return runTask('tagDataset', this.taskEnvironment(), { dir, choice: { python: this.settings().spacyPython } }, ctx)
  }

  /** What a worker-thread task needs to open its own connection to our database. */
  private taskEnvironment(): TaskEnvironment {
    return { home: this.layout.home, database: this.layout.database, sqlite: this.options.sqlite }
  }

  /** The backend ladder, probed once per session in a throwaway worker: loading backends must not touch this process's tfjs. */
  private probeBackends(): Promise<BackendProbe[]> {
    this.backendProbe ??= runTask('probeBackends', this.taskEnvironment(), undefined, { signal: new AbortController().signal, progress: () => {} })
    this.backendProbe.catch(() => (this.backendProbe = null))
    return this.backendProbe
  }

  settings(): Settings {
    const stored = getSettings(this.db) as Partial<Settings>
    return {
      theme: stored.theme ?? 'system',
      backend: stored.backend ?? 'auto',
      spacyPython: stored.spacyPython ?? null,
      dataHome: this.layout.home,
    }
  }

  private createHandlers(): Handlers {
    const db = this.db
    const calibration = createCalibrations(() => this.taskEnvironment())
    const finetuneCheck = createFinetuneCheck({
      db,
      layout: this.layout,
      probeBackends: () => this.probeBackends(),
      countData: (input) => runTask('finetuneCounts', this.taskEnvironment(), input, { signal: new AbortController().signal, progress: () => {} }),
      calibration,
    })
    return {
      'app.version': async () => ({
        app: VERSION,
        node: process.versions.node,
        electron: this.options.electronVersion ?? null,
        platform: `${process.platform}-${process.arch}`,
        schemaVersion: SCHEMA_VERSION,
      }),
      'settings.get': async () => this.settings(),
      'settings.update': async (patch) => {
        setSettings(db, patch)
        const settings = this.settings()
        this.emit({ type: 'settings.changed', settings })
        return settings
      },
      'datasets.list': async () => listDatasets(db).map(datasetSummary),
      'datasets.get': async ({ id }) => {
        const row = getDataset(db, id)
        if (!row) throw notFound(`dataset ${id} does not exist`)
        return {
          ...datasetSummary(row),
          options: row.options,
          files: listDatasetFiles(db, id).map((f) => ({
            file: f.sourcePath,
            status: f.status,
            reason: f.reason,
            records: f.records,
            encoding: f.encoding,
            task: f.task,
            split: f.split,
            errors: f.errors,
          })),
        }
      },
      'datasets.import': async ({ paths, options }) => {
        const title = `Import ${paths.length === 1 ? paths[0] : `${paths.length} paths`}`
        const job = this.jobs.start('import', title, (ctx) => runTask('import', this.taskEnvironment(), { paths, options: options ?? {} }, ctx))
        job.done.then(
          (result: ImportResult) => result.dataset && this.emit({ type: 'datasets.changed' }),
          () => {},
        )
        return { jobId: job.id }
      },
      'datasets.rename': async ({ id, name }) => {
        renameDatasetChecked(db, id, name)
        this.emit({ type: 'datasets.changed' })
        return datasetSummary(getDataset(db, id)!)
      },
      'datasets.delete': async ({ id }) => {
        const deleted = deleteDatasetAndFolder(db, id)
        this.emit({ type: 'datasets.changed' })
        return { deleted }
      },
      'datasets.samples': async ({ id, offset, limit, query }) => datasetSamples(db, id, offset ?? 0, limit ?? 50, query),
      'datasets.stats': async ({ id }) => datasetStats(db, id),
      'runs.list': async () => listRuns(db).map((r) => ({ ...runSummary(r), config: r.config, summary: finalMetrics(db, r.id) })),
      'runs.get': async ({ id }) => {
        const row = getRun(db, id)
        if (!row) throw notFound(`run ${id} does not exist`)
        return { ...runSummary(row), config: row.config, metrics: metricNames(db, id) }
      },
      'runs.metrics': async ({ id, names }) => {
        if (!getRun(db, id)) throw notFound(`run ${id} does not exist`)
        return (names ?? metricNames(db, id)).map((name) => ({ name, ...metricSeries(db, id, name) }))
      },
      'models.list': async () => listModels(db).map(modelSummary),
      'models.get': async ({ id }) => {
        const row = getModel(db, id)
        if (!row) throw notFound(`model ${id} does not exist`)
        return modelSummary(row)
      },
      'models.import': async ({ path, name }) => {
        const job = this.jobs.start('models.import', `Import ${path}`, () => importHfModel(db, this.layout, path, name))
        const { id, name: modelName, architecture, tensors, parameters } = await job.done
        this.emit({ type: 'models.changed' })
        return { id, name: modelName, architecture, tensors, parameters }
      },
      'models.export': async ({ id, out, dtype }) =>
        this.jobs.start('models.export', `Export model ${id} to ${out}`, () => exportHfModel(db, id, out, dtype ?? 'float32')).done,
      'models.delete': async ({ id }) => {
        const result = deleteStoredModel(db, this.layout, id)
        this.emit({ type: 'models.changed' })
        return result
      },
      'tags.preview': async ({ text, tagger, vocab, modelId }) => {
        let projectOnto = vocab ?? defaultVocabPath()
        if (modelId != null) {
          const model = getModel(db, modelId)
          if (!model) throw notFound(`model ${modelId} does not exist`)
          projectOnto = path.join(model.dir, 'vocab.txt')
        }
        return this.tagger.preview(text, { tagger, vocab: projectOnto, python: this.settings().spacyPython })
      },
      'tags.dataset': async ({ id, tagger, entities }) => {
        const row = getDataset(db, id)
        if (!row) throw notFound(`dataset ${id} does not exist`)
        const input = { dir: row.dir, choice: { tagger, python: this.settings().spacyPython }, entities }
        const job = this.jobs.start('tagging', `Tag dataset ${row.name}`, (ctx) => runTask('tagDataset', this.taskEnvironment(), input, ctx))
        job.done.catch(() => {}) // the failure is reported through the job
        return { jobId: job.id }
      },
      'tags.summary': async ({ id }) => {
        const row = getDataset(db, id)
        if (!row) throw notFound(`dataset ${id} does not exist`)
        return readTagSummary(row.dir)
      },
      'train.start': async ({ config, keepCheckpoints }) => {
        const { runId, jobId } = startTraining(this, config, { keepCheckpoints })
        return { runId, jobId }
      },
      'train.resume': async ({ id, keepCheckpoints }) => {
        const { runId, jobId } = startTraining(this, null, { resumeRunId: id, keepCheckpoints })
        return { runId, jobId }
      },
      // Fine-tuning, sweeps, predictions (#12)
      'finetune.check': finetuneCheck,
      'finetune.start': async (req) => {
        const { runId, jobId } = startFinetune(this, req)
        return { runId, jobId }
      },
      'finetune.rerun': async ({ id }) => {
        const { runId, jobId } = startFinetuneRun(this, id)
        return { runId, jobId }
      },
      'finetune.get': async ({ id }) => finetuneSummary(db, this.layout, id),
      'finetune.predictions': async ({ id }) => readInspection(db, this.layout, id),
      'finetune.predict': async ({ id, datasetId, split, out }) => ({ jobId: startPredict(this, { runId: id, datasetId, split: split ?? 'test', out }).jobId }),
      'sweeps.start': async (req) => {
        const { sweepId, jobId } = startSweep(this, req)
        return { sweepId, jobId }
      },
      'sweeps.resume': async ({ id }) => {
        const { sweepId, jobId } = resumeSweep(this, id)
        return { sweepId, jobId }
      },
      'sweeps.get': async ({ id }) => sweepDetail(this, id),
      'sweeps.list': async () => listSweeps(db).map((s) => ({ id: s.id, name: s.name, status: sweepDetail(this, s.id).status, bestRunId: s.bestRunId, createdAt: s.createdAt })),
      'backends.list': async () => this.probeBackends(),
      'backends.forgetTuning': async () => {
        const forgotten = await runTask('forgetTuning', this.taskEnvironment(), undefined, { signal: new AbortController().signal, progress: () => {} })
        // the probe's row for the adapter: nothing kept for it now (until a run tunes again)
        const probed = await this.probeBackends()
        this.backendProbe = Promise.resolve(probed.map((b) => (b.tuning ? { ...b, tuning: { on: b.tuning.on, file: b.tuning.file, kept: 0 } } : b)))
        return { ...forgotten, backends: await this.backendProbe }
      },
      'runs.table': async () => runTable(db),
      'runs.annotate': async ({ id, tags, notes }) => {
        if (!setRunAnnotations(db, id, { tags: tags && [...new Set(tags)], notes })) throw notFound(`run ${id} does not exist`)
        this.emit({ type: 'runs.changed', id })
        return runTable(db).find((r) => r.id === id)!
      },
      'runs.delete': async ({ runIds }) => {
        const result = deleteRuns(db, this.layout, runIds)
        for (const id of result.deleted) this.series.forget(id)
        this.emit({ type: 'runs.changed' }) // once, not once per run: every open view refreshes its list
        return result
      },
      'compare.summary': async ({ runIds }) => compareSummary(db, runIds),
      'compare.series': async (req) => seriesFrame(db, this.series, { ...req, x: req.x ?? 'step', smoothing: req.smoothing ?? 0, range: req.range ?? null }),
      'compare.export': async ({ runIds, format, points }) => {
        const report = comparisonReport(db, runIds, { points: points ?? 0 })
        const text = format === 'csv' ? comparisonCsv(report) : format === 'md' ? comparisonMarkdown(report) : JSON.stringify(report)
        return { text, filename: `compare-${runIds.slice(0, 8).join('-')}${runIds.length > 8 ? '-etc' : ''}.${format}` }
      },
      'jobs.list': async () => this.jobs.list(),
      'jobs.cancel': async ({ id }) => ({ cancelled: this.jobs.cancel(id) }),
      ...torchHandlers(this),
      ...createRunAppHandlers({
        db,
        layout: this.layout,
        jobs: this.jobs,
        emit: (event) => this.emit(event),
        tagDatasetFor: (dir, ctx) => this.tagDatasetFor(dir, ctx),
        calibration,
        runSummary: (id) => runSummary(getRun(db, id)!),
        probeBackends: () => this.probeBackends(),
      }),
    }
  }
}

const datasetSummary = (r: DatasetRow): DatasetSummary => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  createdAt: r.createdAt,
  fileCount: r.fileCount,
  stats: r.stats,
})

const runSummary = (r: RunRow): RunSummary => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  status: r.status,
  seed: r.seed,
  backend: r.backend,
  backendDetail: r.backendDetail,
  createdAt: r.createdAt,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  error: r.error,
})

const modelSummary = (r: ModelRow): ModelSummary => ({
  id: r.id,
  name: r.name,
  source: r.source,
  createdAt: r.createdAt,
  config: r.config,
})
