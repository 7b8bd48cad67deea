// The kernels tuned on a device (matmul-tune.ts), kept in a file between processes: every run of a
// sweep starts a worker of its own, and would otherwise tune again what an earlier one measured on
// the same GPU. A kept choice is used only where all it was measured with is still the same:
//   - the adapter: vendor, architecture, device, subgroup sizes, and Dawn's description, which names
//     the driver and its version (a new driver may compile a kernel differently);
//   - Dawn itself: the webgpu package's version (its shader compiler);
//   - the class (matmul-choice.ts productClass) and a hash of the WGSL source of every candidate
//     kernel for it (a changed kernel, or a new candidate, is measured afresh).
// A file that cannot be read or does not parse is reported once and set aside as <file>.unreadable
// when tuning next saves; a write goes to a temporary file renamed over the old one, after merging
// what other processes saved meanwhile (two that save at once may lose one's choices: they are
// measured again, never wrong).
import crypto from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { z } from 'zod'
import type { AdapterReport } from './device'
import type { MatmulKernel } from './matmul-choice'
import { matrixLayout } from './matmul-matrix'

const FORMAT = 1

const tile = z.union([z.literal(64), z.literal(128)])
const count = z.number().int().positive()
const Matrix = z.object({ m: count, n: count, k: count, subgroups: count, kTile: z.union([z.literal(16), z.literal(32)]), emulate: z.boolean() })
const Kernel = z
  .object({ share: z.union([z.literal(0), z.literal(4), z.literal(8), z.literal(16)]), tileM: tile, tileN: tile, matrix: Matrix.optional() })
  .refine((k) => k.share === 0 || (k.tileM === 64 && k.tileN === 64), 'the subgroup kernel has 64×64 tiles')
  .refine((k) => !k.matrix || (k.share === 0 && k.tileM === 64 && k.tileN === 64 && matrixLayout(k.matrix) !== null), 'the matrix kernel has 64×64 tiles that split among its subgroups')

const Choice = z.object({
  kernel: Kernel,
  /** sourceHash of the candidates' WGSL when measured. */
  source: z.string(),
  /** Each candidate's median ms per product (null: set aside), by kernel name: what the choice rests on. */
  ms: z.record(z.string(), z.number().nullable()),
  timing: z.string(),
  tunedAt: z.string(),
})
export type CachedChoice = Omit<z.infer<typeof Choice>, 'kernel'> & { kernel: MatmulKernel }

const CacheFile = z.object({
  format: z.literal(FORMAT),
  /** By adapterKey: the adapter, driver and Dawn the choices were measured on. */
  adapters: z.record(z.string(), z.object({ classes: z.record(z.string(), Choice) })),
})
type CacheContents = z.infer<typeof CacheFile>

const empty = (): CacheContents => ({ format: FORMAT, adapters: {} })

let dawnVersion: string | undefined

/** The webgpu package's version: which Dawn (and shader compiler) the process runs. */
function webgpuVersion(): string {
  if (dawnVersion === undefined) {
    try {
      dawnVersion = String((createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version)
    } catch {
      dawnVersion = 'unknown'
    }
  }
  return dawnVersion
}

/** What a kept choice must have been measured on: the adapter as Dawn describes it (driver included), its subgroup sizes, and the Dawn build. */
export function adapterKey(r: AdapterReport): string {
  return [r.vendor, r.architecture, r.device, r.description, `subgroups ${r.subgroupSizes ?? 'none'}`, `webgpu ${webgpuVersion()}`].join(' | ')
}

/** A short hash of the candidates' WGSL for a class. */
export function sourceHash(wgsl: string): string {
  return crypto.createHash('sha256').update(wgsl).digest('hex').slice(0, 16)
}

/** The file's contents, an empty cache when there is none, or why it cannot be used (one line, naming the file). */
export function readTuningCache(file: string): CacheContents | { reason: string } {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty()
    return { reason: `${file}: ${(e as Error).message}` }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return { reason: `${file}: not JSON (${(e as Error).message})` }
  }
  const parsed = CacheFile.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { reason: `${file}: field ${issue.path.join('.') || '(top)'}: ${issue.message}` }
  }
  return parsed.data
}

// the file as last read, by its mtime: a class not found is looked up again only where another process has saved since
let memo: { file: string; mtimeMs: number; contents: CacheContents | { reason: string } } | null = null
let notice: string | null = null

function contentsOf(file: string): CacheContents | null {
  let mtimeMs = -1
  try {
    mtimeMs = fs.statSync(file).mtimeMs
  } catch {
    // no file yet (or none readable): readTuningCache says which
  }
  if (!memo || memo.file !== file || memo.mtimeMs !== mtimeMs) {
    memo = { file, mtimeMs, contents: readTuningCache(file) }
    if ('reason' in memo.contents) notice = `the matmul tuning cache cannot be used (${memo.contents.reason}); its classes are tuned afresh, and the file is set aside as ${path.basename(file)}.unreadable when they are saved`
  }
  return 'reason' in memo.contents ? null : memo.contents
}

/** The kernel kept for `classKey` on this adapter, if its candidates' source is still `source`. */
export function cachedKernel(file: string, adapter: string, classKey: string, source: string): MatmulKernel | null {
  const choice = contentsOf(file)?.adapters[adapter]?.classes[classKey]
  return choice && choice.source === source ? choice.kernel : null
}

/** Why the cache could not be read, once (for the run's log); null when nothing new. */
export function takeCacheNotice(): string | null {
  const n = notice
  notice = null
  return n
}

/**
 * Adds `choices` (by class) for `adapter` to the file, keeping what it holds for other classes and
 * adapters; an unreadable file is first renamed to <file>.unreadable. Throws where the file cannot be
 * written (the caller logs it: the run goes on, tuning again next time).
 */
export function saveTunedKernels(file: string, adapter: string, choices: Record<string, CachedChoice>): void {
  if (Object.keys(choices).length === 0) return
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const contents = readableOrSetAside(file).contents
  const entry = (contents.adapters[adapter] ??= { classes: {} })
  Object.assign(entry.classes, choices)
  writeAtomically(file, contents)
}

/**
 * Removes the choices kept for `adapter` (its classes are measured again by the next run on it),
 * keeping other adapters'; an unreadable file is set aside as <file>.unreadable (its path returned).
 */
export function forgetTunedKernels(file: string, adapter: string): { forgotten: number; setAside: string | null } {
  const { contents, setAside } = readableOrSetAside(file)
  const forgotten = Object.keys(contents.adapters[adapter]?.classes ?? {}).length
  if (forgotten > 0) {
    delete contents.adapters[adapter]
    writeAtomically(file, contents)
  }
  return { forgotten, setAside }
}

/** The file's contents, or an empty cache after renaming an unreadable file to <file>.unreadable. */
function readableOrSetAside(file: string): { contents: CacheContents; setAside: string | null } {
  const contents = readTuningCache(file)
  if (!('reason' in contents)) return { contents, setAside: null }
  const setAside = `${file}.unreadable`
  fs.renameSync(file, setAside)
  memo = null
  return { contents: empty(), setAside }
}

/** Writes a temporary file and renames it over `file`, so that a reader never sees half a file. */
function writeAtomically(file: string, contents: CacheContents): void {
  const temporary = `${file}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`
  try {
    fs.writeFileSync(temporary, `${JSON.stringify(contents, null, 1)}\n`)
    fs.renameSync(temporary, file)
  } catch (e) {
    fs.rmSync(temporary, { force: true })
    throw e
  }
  memo = null
}

/** Forgets the file as read and any notice (tests, a new device). */
export function resetTuningCacheMemo(): void {
  memo = null
  notice = null
}
