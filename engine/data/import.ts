// Corpus import: sources → decoded lines → raw items → task records → cleaned, deduplicated, split →
// shards in a staging folder → moved into datasets/<id>/ and registered in one transaction. A cancel or
// a crash before that point leaves only a staging folder, which the next import removes.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import { threadId } from 'node:worker_threads'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { WorkbenchError } from '../errors'
import type { DataLayout } from '../paths'
import type { Db } from '../store/db'
import { insertDataset, listDatasets } from '../store/datasets'
import { makeCleaner, sgrResidueIn, type CleanOptions } from './clean'
import { detectTask, RecordError, splitFromName, toRecords, type Detection, type Task } from './clue'
import { Deduplicator, hash64, isDev, type DedupMode } from './dedup'
import type { EncodingName } from './encoding'
import { createItemReader, detectFormat, detectSeparator, type Format, type RawItem } from './formats'
import { writeFileSynced, ShardWriter } from './shards'
import { fileUnit, isZip, walkPaths, zipUnits, DEFAULT_ZIP_LIMITS, type ImportUnit, type SourceProblem, type ZipLimits } from './sources'
import { readVocabChars, StatsAccumulator, type DatasetStats } from './stats'
import { FileRefused, openTextStream } from './text-stream'
import type { ImportFileReport, ImportProgress } from './types'
import { processAlive } from '../process-alive'

export interface ImportOptions {
  name?: string
  /** 'auto' detects per file; a task name forces it (items that do not fit are reported). */
  task?: Task | 'auto'
  encoding?: EncodingName | 'auto'
  format?: Format | 'auto'
  /** The text field of JSON/CSV items (plain text corpora). */
  field?: string
  dedup?: DedupMode
  t2s?: boolean
  halfwidth?: boolean
  /** Share of documents that go to the dev split, for files whose name names no split. */
  devRatio?: number
  seed?: number
  /** A vocab.txt whose character coverage the statistics report. */
  vocab?: string
  gzip?: boolean
  zipLimits?: ZipLimits
}

export type FileReport = ImportFileReport
export type { ImportProgress }

export interface ImportResult {
  dataset: { id: number; name: string; kind: string; dir: string; records: number; stats: DatasetStats } | null
  files: FileReport[]
}

export interface ImportContext {
  db: Db
  layout: DataLayout
  signal?: AbortSignal
  onProgress?: (p: ImportProgress) => void
}

const MAX_ERRORS = 100
const DETECT_ITEMS = 50
const PROGRESS_INTERVAL_MS = 100
/** An orphan dataset folder (renamed, never registered) is removed only after this long, in case its import is just committing. */
const ORPHAN_AGE_MS = 60_000
const activeStaging = new Set<string>()
/** Marks a dataset folder whose database row may not exist yet. */
const PENDING = '.pending'

export const DEFAULT_IMPORT_OPTIONS = { dedup: 'exact', devRatio: 0.01, seed: 42, gzip: false } as const

export async function importCorpus(paths: string[], options: ImportOptions, ctx: ImportContext): Promise<ImportResult> {
  if (paths.length === 0) throw new WorkbenchError('BAD_INPUT', 'import: no paths given')
  const devRatio = options.devRatio ?? DEFAULT_IMPORT_OPTIONS.devRatio
  if (!(devRatio >= 0 && devRatio < 1)) throw new WorkbenchError('BAD_INPUT', `import: dev ratio must be in [0, 1), got ${devRatio}`)
  cleanStale(ctx.db, ctx.layout)
  const staging = path.join(ctx.layout.staging, `import-${process.pid}-${threadId}-${randomUUID()}`)
  activeStaging.add(staging)
  const writer = new ShardWriter(path.join(staging, 'data'), options.gzip ?? DEFAULT_IMPORT_OPTIONS.gzip)
  try {
    const run = new ImportRun(options, ctx, writer)
    const files = await run.all(paths)
    if (run.stats.documents === 0) {
      writer.abort()
      return { dataset: null, files }
    }
    const stats = run.stats.finish(
      { exact: run.dedup.exactRemoved, near: run.dedup.nearRemoved },
      options.vocab ? await readVocabChars(options.vocab) : null,
      options.vocab ?? null,
    )
    const manifest = writer.finish()
    writeFileSynced(path.join(staging, 'data', 'stats.json'), JSON.stringify(stats))
    // Until the row commits, the folder says whose it is: only this database's uncommitted folders are orphans.
    writeFileSynced(path.join(staging, 'data', PENDING), JSON.stringify({ database: path.resolve(ctx.layout.database) }))
    const tasks = new Set(files.filter((f) => f.status === 'imported' && f.records > 0).map((f) => f.task ?? 'text'))
    const kind = tasks.size === 1 ? [...tasks][0] : 'mixed'
    const name = options.name?.trim() || defaultName(paths)
    throwIfCancelled(ctx.signal)
    const stored = { ...options, zipLimits: undefined }
    let placed = ''
    const id = insertDataset(
      ctx.db,
      {
        name,
        kind,
        dir: staging,
        stats: stats as unknown as Record<string, unknown>,
        options: stored,
        files: files.map((f) => ({
          sourcePath: f.file,
          status: f.status,
          reason: f.reason,
          records: f.records,
          encoding: f.encoding,
          task: f.task,
          split: f.split,
          bytes: f.bytes,
          errors: f.errors,
        })),
      },
      (id) => {
        // Inside the transaction: the folder appears under its id only if the row commits with it.
        fs.mkdirSync(ctx.layout.datasets, { recursive: true })
        let dir = path.join(ctx.layout.datasets, String(id))
        if (fs.existsSync(dir)) {
          // Our own orphan (a crash between rename and commit) is replaced; anything else (another
          // database sharing this data folder) is left alone and we take another name.
          if (isOwnOrphan(dir, ctx.layout)) fs.rmSync(dir, { recursive: true, force: true })
          else dir = path.join(ctx.layout.datasets, `${id}-${randomUUID().slice(0, 8)}`)
        }
        fs.renameSync(path.join(staging, 'data'), dir)
        placed = dir
        return dir
      },
    )
    fs.rmSync(path.join(placed, PENDING), { force: true })
    return { dataset: { id, name, kind, dir: placed, records: manifest.records, stats }, files }
  } catch (err) {
    writer.abort()
    throw err
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
    activeStaging.delete(staging)
  }
}

function defaultName(paths: string[]): string {
  const base = path.basename(path.resolve(paths[0])).replace(/(\.[a-z0-9]+)+$/i, '')
  return paths.length > 1 ? `${base} +${paths.length - 1}` : base
}

function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new WorkbenchError('CANCELLED', 'import cancelled')
}

/**
 * Removes what earlier imports left: staging folders of processes that are gone (or of this process but
 * no longer active), and dataset folders that no row references.
 */
export function cleanStale(db: Db, layout: DataLayout): void {
  if (fs.existsSync(layout.staging)) {
    for (const name of fs.readdirSync(layout.staging)) {
      const dir = path.join(layout.staging, name)
      // import-<pid>-<thread>-<uuid>: imports run in worker threads, each with its own activeStaging, so
      // within this process only this thread's own leftovers are known to be stale
      const m = /^import-(\d+)-(?:(\d+)-)?/.exec(name)
      if (!m) continue
      const pid = Number(m[1])
      const thread = m[2] === undefined ? null : Number(m[2])
      const stale = pid === process.pid ? thread === threadId && !activeStaging.has(dir) : !processAlive(pid)
      if (stale) fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  if (fs.existsSync(layout.datasets)) {
    const known = new Set(listDatasets(db).map((d) => path.resolve(d.dir)))
    for (const name of fs.readdirSync(layout.datasets)) {
      const dir = path.resolve(layout.datasets, name)
      if (known.has(dir) || !isOwnOrphan(dir, layout)) continue
      const age = Date.now() - fs.statSync(path.join(dir, PENDING)).mtimeMs
      if (age > ORPHAN_AGE_MS) fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A dataset folder moved into place by an import of this database whose row never committed. */
function isOwnOrphan(dir: string, layout: DataLayout): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dir, PENDING), 'utf8')) as { database?: string }
    return marker.database === path.resolve(layout.database)
  } catch {
    return false
  }
}


/** One import's running state: shards, dedup, statistics, progress. */
class ImportRun {
  readonly stats = new StatsAccumulator()
  readonly dedup: Deduplicator
  private readonly cleanOptions: CleanOptions
  private bytesDone = 0
  private totalBytes = 0
  private records = 0
  private readonly started = Date.now()
  private lastProgress = 0
  private currentFile = ''
  private currentReport: FileReport | null = null

  constructor(
    private readonly options: ImportOptions,
    private readonly ctx: ImportContext,
    private readonly writer: ShardWriter,
  ) {
    this.dedup = new Deduplicator(options.dedup ?? DEFAULT_IMPORT_OPTIONS.dedup, options.seed ?? DEFAULT_IMPORT_OPTIONS.seed)
    this.cleanOptions = { t2s: options.t2s ?? false, halfwidth: options.halfwidth ?? false }
  }

  async all(paths: string[]): Promise<FileReport[]> {
    const reports: FileReport[] = []
    const files: { file: string; size: number }[] = []
    const order = new Map<string, number>()
    for await (const entry of walkPaths(paths)) {
      order.set('file' in entry ? entry.file : entry.name, order.size)
      if ('file' in entry) files.push(entry)
      else reports.push(problemReport(entry))
    }
    this.totalBytes = files.reduce((n, f) => n + f.size, 0)
    // Plain files together (so CHID answer files pair with their task file), then each archive.
    reports.push(...(await this.units(files.filter((f) => !isZip(f.file)).map((f) => fileUnit(f.file, f.size)))))
    for (const { file, size } of files.filter((f) => isZip(f.file))) {
      throwIfCancelled(this.ctx.signal)
      reports.push(...(await this.zip(file, size)))
    }
    this.report(true)
    // Report in the order the paths were given and walked (zip entries under their archive).
    const rank = (r: FileReport) => order.get(r.file) ?? order.get(r.file.split('!')[0]) ?? order.size
    return reports.sort((a, b) => rank(a) - rank(b))
  }

  private async zip(file: string, size: number): Promise<FileReport[]> {
    let listed: Awaited<ReturnType<typeof zipUnits>>
    try {
      listed = await zipUnits(file, this.options.zipLimits ?? DEFAULT_ZIP_LIMITS)
    } catch (err) {
      this.bytesDone += size
      return [{ ...emptyReport(file), status: 'failed', reason: (err as Error).message, bytes: size }]
    }
    try {
      const reports = [...listed.problems.map(problemReport), ...(await this.units(listed.units))]
      return reports
    } finally {
      listed.close()
    }
  }

  /** Units of one folder or archive; CHID answer files are paired with their task file. */
  private async units(units: ImportUnit[]): Promise<FileReport[]> {
    const answers = new Map<ImportUnit, ImportUnit>()
    const consumed = new Set<ImportUnit>()
    for (const u of units) {
      const m = /^(.*)_answers?\.json$/i.exec(u.baseName)
      if (!m) continue
      const dir = u.name.slice(0, u.name.length - u.baseName.length - (u.name.endsWith('.gz') ? 3 : 0))
      const partner = units.find((p) => p !== u && p.baseName === `${m[1]}.json` && p.name.startsWith(dir))
      if (partner) {
        answers.set(partner, u)
        consumed.add(u)
      }
    }
    const reports: FileReport[] = []
    for (const u of units) {
      throwIfCancelled(this.ctx.signal)
      if (consumed.has(u)) {
        this.bytesDone += u.diskBytes
        reports.push({ ...emptyReport(u.name), status: 'skipped', reason: `CHID answers, joined into ${path.basename(u.name.replace(/_answers?\.json$/i, '.json'))}`, task: 'chid', bytes: u.diskBytes })
        continue
      }
      reports.push(await this.unit(u, answers.get(u)))
    }
    return reports
  }

  private async unit(unit: ImportUnit, answerUnit?: ImportUnit): Promise<FileReport> {
    const report = emptyReport(unit.name)
    report.bytes = unit.diskBytes
    this.currentFile = unit.name
    this.currentReport = report
    const bytesBefore = this.bytesDone
    const fileStats = new StatsAccumulator()
    this.writer.markFile()
    let stream: Readable | null = null
    try {
      stream = await unit.open((n) => {
        this.bytesDone += n
        this.report(false)
      })
      await this.read(unit, stream, report, fileStats, answerUnit)
      this.dedup.commitFile()
      this.stats.merge(fileStats)
      this.records += report.records
      this.currentReport = null
    } catch (err) {
      this.writer.rollbackFile()
      this.dedup.discardFile()
      if (err instanceof WorkbenchError && err.code === 'CANCELLED') throw err
      this.currentReport = null
      report.status = 'failed'
      report.records = 0
      report.reason = failureReason(err)
    } finally {
      stream?.destroy()
      this.bytesDone = bytesBefore + unit.diskBytes
      this.report(false)
    }
    return report
  }

  private async read(unit: ImportUnit, stream: Readable, report: FileReport, fileStats: StatsAccumulator, answerUnit?: ImportUnit): Promise<void> {
    const forcedEncoding = this.options.encoding && this.options.encoding !== 'auto' ? this.options.encoding : undefined
    const text = await openTextStream(stream, forcedEncoding)
    report.encoding = text.guess.encoding
    report.confidence = text.guess.confidence
    const forcedFormat = this.options.format && this.options.format !== 'auto' ? this.options.format : undefined
    const detected = detectFormat(unit.ext, text.sampleText)
    const format = forcedFormat ?? detected.format
    report.format = format
    const separator = format === 'records' ? (detected.separator ?? detectSeparator(text.sampleText.split('\n')) ?? '%') : undefined
    if (separator !== undefined) report.separator = separator
    // per file: whether colour codes that lost their ESC are removed depends on this file showing them
    const clean = makeCleaner({ ...this.cleanOptions, sgrResidue: sgrResidueIn(text.sampleText) })
    report.cleaned = clean.counts

    const addError = (line: number, reason: string) => {
      if (report.errors.length < MAX_ERRORS) report.errors.push({ line, reason })
      else report.moreErrors++
    }
    // Items come out of a push parser; until the task is detected from the first ones they wait in `head`.
    const head: RawItem[] = []
    let headValues = 0
    let handle: ((item: RawItem) => void) | null = null
    let detection: Detection | null = null
    const reader = createItemReader(
      format,
      (item) => {
        if (handle) return handle(item)
        head.push(item)
        if (item.error === undefined) headValues++
      },
      { separator },
    )

    const detect = async () => {
      const values = head.filter((i) => i.error === undefined).map((i) => i.value)
      const field = this.options.field
      let found = detectTask(values, unit.name, field)
      const forcedTask = this.options.task && this.options.task !== 'auto' ? this.options.task : undefined
      if (forcedTask && forcedTask !== found.task) {
        found = { task: forcedTask, field: forcedTask === 'text' ? (field ?? found.field) : null, shape: found.shape ?? 'flat', evidence: 'chosen by the user' }
      }
      if (found.task === 'text' && found.field === null && values.length > 0 && typeof values[0] !== 'string') {
        throw new FileRefused(`no text field among ${Object.keys(values[0] as object).slice(0, 8).join(', ')}; choose one with --field`)
      }
      const d = found
      detection = d
      report.task = d.task
      const named = splitFromName(unit.baseName)
      report.split = named
      const chidAnswers = d.task === 'chid' && answerUnit ? await readChidAnswers(answerUnit) : undefined
      handle = (item: RawItem) => {
        if (item.error !== undefined) return addError(item.line, item.error)
        let records
        try {
          records = toRecords(d, item.value, clean, chidAnswers)
        } catch (err) {
          if (err instanceof RecordError) return addError(item.line, err.message)
          throw err
        }
        for (const r of records) {
          if (d.labelsOnly) {
            if (r.label !== null && r.labelDesc) fileStats.labelDescriptions.set(r.label, r.labelDesc)
            continue
          }
          const hash = d.task === 'text' ? hash64(r.texts[0]) : null
          if (hash && !this.dedup.keep(r.texts[0], hash)) continue
          const split = named ?? (hash ? (isDev(r.texts[0], this.seed, this.devRatio, hash) ? 'dev' : 'train') : 'train')
          this.writer.write(split, r.record)
          fileStats.add(r.texts, split, r.label, r.labelDesc)
          report.records++
        }
      }
      for (const item of head.splice(0)) handle(item)
    }

    let lineNo = 0
    let undecodableLines = 0
    const batches = format === 'json' ? wrapChunks(text.chunks()) : text.lineBatches()
    for await (const batch of batches) {
      for (const line of batch) {
        if (format !== 'json') {
          lineNo++
          if (line.includes('\ufffd') && undecodableLines++ < 10) addError(lineNo, `undecodable bytes as ${text.guess.encoding} (shown as U+FFFD)`)
        }
        reader.push(line)
      }
      if (!handle && headValues >= DETECT_ITEMS) await detect()
      throwIfCancelled(this.ctx.signal)
      this.report(false)
    }
    reader.end()
    if (!handle) await detect()
    const values = headValues
    const found = detection as Detection | null
    if (!found) throw new Error('task detection did not run')
    throwIfCancelled(this.ctx.signal)
    report.undecodable = text.decoder.undecodable
    const errorCount = report.errors.length + report.moreErrors
    if (found.labelsOnly) {
      report.reason = `label descriptions (${fileStats.labelDescriptions.size} labels)`
      if (found.task === 'chid') report.reason = 'CHID answers without their task file'
      return
    }
    if (report.records === 0) {
      if (values > 0 && errorCount === 0) {
        report.status = 'skipped'
        report.reason = 'every record was a duplicate or empty'
        return
      }
      const first = report.errors.find((e) => !e.reason.startsWith('undecodable'))
      throw new FileRefused(errorCount > 0 ? `no valid records (${errorCount} errors; line ${first?.line ?? report.errors[0].line}: ${(first ?? report.errors[0]).reason})` : 'no records found')
    }
    if (errorCount > 0) report.reason = `${errorCount} ${errorCount === 1 ? 'line' : 'lines'} with errors`
  }

  private get seed(): number {
    return this.options.seed ?? DEFAULT_IMPORT_OPTIONS.seed
  }

  private get devRatio(): number {
    return this.options.devRatio ?? DEFAULT_IMPORT_OPTIONS.devRatio
  }

  private report(force: boolean): void {
    const now = Date.now()
    if (!force && now - this.lastProgress < PROGRESS_INTERVAL_MS) return
    this.lastProgress = now
    const seconds = (now - this.started) / 1000
    const rate = seconds > 0 ? this.bytesDone / seconds : 0
    this.ctx.onProgress?.({
      bytes: this.bytesDone,
      totalBytes: this.totalBytes,
      records: this.records + (this.currentReport?.records ?? 0),
      file: this.currentFile,
      rate,
      etaSeconds: rate > 0 ? Math.max(0, (this.totalBytes - this.bytesDone) / rate) : null,
    })
  }
}

async function* wrapChunks(chunks: AsyncIterable<string>): AsyncGenerator<string[]> {
  for await (const c of chunks) yield [c]
}

async function readChidAnswers(unit: ImportUnit): Promise<Map<string, number>> {
  const stream = await unit.open(() => {})
  const text = await openTextStream(stream)
  const parts: string[] = []
  for await (const line of text.lines()) parts.push(line)
  const obj = JSON.parse(parts.join('\n')) as Record<string, unknown>
  return new Map(Object.entries(obj).map(([k, v]) => [k, Number(v)]))
}

function emptyReport(file: string): FileReport {
  return {
    file,
    status: 'imported',
    reason: null,
    records: 0,
    encoding: null,
    task: null,
    errors: [],
    split: null,
    format: null,
    confidence: null,
    undecodable: 0,
    moreErrors: 0,
    cleaned: { escapeSequences: 0, controlCharacters: 0 },
    bytes: 0,
  }
}

function problemReport(p: SourceProblem): FileReport {
  return { ...emptyReport(p.name), status: p.status, reason: p.reason }
}

function failureReason(err: unknown): string {
  if (err instanceof FileRefused) return err.message
  const e = err as NodeJS.ErrnoException
  if (e?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e?.message ?? '')) return 'truncated gzip stream (unexpected end of file)'
  if (e?.code?.startsWith?.('Z_')) return `corrupt gzip stream: ${e.message}`
  if (e?.code === 'ENOENT' || e?.code === 'EACCES' || e?.code === 'EISDIR') return `cannot read: ${e.code}`
  return (e?.message ?? String(err)).split('\n')[0]
}

export type { Detection }
