// Where import bytes come from: files, folders (recursive), gzip streams and zip entries. Every source
// is opened read-only and streamed; nothing is modified, moved or locked. A zip is checked as a whole
// (names, entry count, declared sizes, compression ratio) before any entry is read, so a malicious
// archive is refused before it can write anything or fill the disk.
import fs from 'node:fs'
import path from 'node:path'
import { Readable, Transform } from 'node:stream'
import zlib from 'node:zlib'
import iconv from 'iconv-lite'
import yauzl from 'yauzl'
import { utf8Validity } from './encoding'

/** One stream of records-to-be: a plain file, a decompressed .gz, or a zip entry. */
export interface ImportUnit {
  /** Shown to the user and stored: the path, or `archive.zip!inner/path.jsonl`. */
  name: string
  /** The inner name's extension after removing .gz (".jsonl", ".txt", "" for none). */
  ext: string
  /** Base name without compression suffix, used for split and answer-file detection. */
  baseName: string
  /** Compressed size on disk, for progress; 0 when unknown. */
  diskBytes: number
  /** Opens the (decompressed) byte stream; `onDiskBytes` reports bytes consumed from disk. */
  open(onDiskBytes: (n: number) => void): Promise<Readable>
}

export interface SourceProblem {
  name: string
  status: 'skipped' | 'failed'
  reason: string
}

export interface ZipLimits {
  maxEntries: number
  /** Total declared uncompressed size of the entries we would read. */
  maxExpandedBytes: number
  /** Largest uncompressed/compressed ratio per entry; text compresses ~3-10x, bombs ~1000x. */
  maxRatio: number
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 100_000, maxExpandedBytes: 64 * 2 ** 30, maxRatio: 200 }

const SKIPPED_NAMES = new Set(['.ds_store', 'thumbs.db', 'desktop.ini', '__macosx'])

/** Expands paths (files and folders, recursively, in name order) into regular files and problems. */
export async function* walkPaths(paths: string[]): AsyncGenerator<{ file: string; size: number } | SourceProblem> {
  const visited = new Set<string>() // folders by device:inode, so a symlink loop is walked once
  for (const p of paths) yield* walk(path.resolve(p), true, visited)
}

async function* walk(p: string, explicit: boolean, visited: Set<string>): AsyncGenerator<{ file: string; size: number } | SourceProblem> {
  let st: fs.Stats
  try {
    st = await fs.promises.stat(p)
  } catch (err) {
    yield { name: p, status: 'failed', reason: `cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }
    return
  }
  const base = path.basename(p)
  if (!explicit && (base.startsWith('.') || SKIPPED_NAMES.has(base.toLowerCase()))) {
    yield { name: p, status: 'skipped', reason: 'hidden or system file' }
    return
  }
  if (st.isDirectory()) {
    const key = `${st.dev}:${st.ino}`
    if (visited.has(key)) {
      yield { name: p, status: 'skipped', reason: 'folder already walked (a link back into the tree)' }
      return
    }
    visited.add(key)
    const names = (await fs.promises.readdir(p)).sort()
    for (const n of names) yield* walk(path.join(p, n), false, visited)
  } else if (st.isFile()) {
    yield { file: p, size: st.size }
  } else {
    yield { name: p, status: 'skipped', reason: 'not a regular file' }
  }
}

function splitExt(name: string): { ext: string; baseName: string; gz: boolean } {
  let base = name.split(/[\\/]/).pop() ?? name
  let gz = false
  if (/\.gz$/i.test(base)) {
    gz = true
    base = base.slice(0, -3)
  }
  const dot = base.lastIndexOf('.')
  return { ext: dot > 0 ? base.slice(dot).toLowerCase() : '', baseName: base, gz }
}

export function isZip(file: string): boolean {
  return /\.zip$/i.test(file)
}

/** A plain or gzip file as an import unit. gzip is also recognised by its magic bytes. */
export function fileUnit(file: string, size: number): ImportUnit {
  const { ext, baseName, gz: gzName } = splitExt(file)
  return {
    name: file,
    ext,
    baseName,
    diskBytes: size,
    async open(onDiskBytes) {
      const gz = gzName || (await hasGzipMagic(file))
      const raw = fs.createReadStream(file, { flags: 'r', highWaterMark: 1 << 20 })
      const counted = raw.pipe(counter(onDiskBytes))
      raw.on('error', (err) => counted.destroy(err))
      if (!gz) return counted
      const gunzip = zlib.createGunzip()
      counted.on('error', (err) => gunzip.destroy(err))
      return counted.pipe(gunzip)
    },
  }
}

async function hasGzipMagic(file: string): Promise<boolean> {
  const fh = await fs.promises.open(file, 'r')
  try {
    const buf = Buffer.alloc(2)
    const { bytesRead } = await fh.read(buf, 0, 2, 0)
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b
  } finally {
    await fh.close()
  }
}

function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length)
      cb(null, chunk)
    },
  })
}

interface CheckedEntry {
  entry: yauzl.Entry
  name: string
}

/** Zip names are UTF-8 when flagged, otherwise the creator's code page: CP437 or, for Chinese, GBK. */
function entryName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer
  if ((entry.generalPurposeBitFlag & 0x800) !== 0 || utf8Validity(raw).valid) return raw.toString('utf8')
  return iconv.decode(raw, 'gb18030')
}

/** Why a zip entry name is unsafe (path traversal, absolute paths), or null. */
export function unsafeEntryName(name: string): string | null {
  if (name.includes('\0')) return 'contains a NUL character'
  if (/^[\\/]/.test(name) || /^[a-zA-Z]:/.test(name)) return 'is an absolute path'
  if (name.split(/[\\/]/).includes('..')) return 'escapes the archive (../)'
  return null
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false }, (err, zip) =>
      err ? reject(err) : resolve(zip),
    ),
  )
}

function readEntries(zip: yauzl.ZipFile, each: (entry: yauzl.Entry) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      try {
        each(entry)
        zip.readEntry()
      } catch (err) {
        reject(err)
      }
    })
    zip.on('end', () => resolve())
    zip.on('error', reject)
    zip.readEntry()
  })
}

/**
 * Checks a whole zip and returns its entries as units plus per-entry problems. Throws (the whole archive
 * is refused) on an unsafe name, too many entries, too large an expansion or a bomb-like ratio.
 */
export async function zipUnits(
  file: string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<{ units: ImportUnit[]; problems: SourceProblem[]; close: () => void }> {
  let zip: yauzl.ZipFile
  try {
    zip = await openZip(file)
  } catch (err) {
    throw new Error(`not a readable zip archive: ${(err as Error).message}`)
  }
  const checked: CheckedEntry[] = []
  const problems: SourceProblem[] = []
  let count = 0
  let expanded = 0
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new Error(`zip has ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`)
    }
    await readEntries(zip, (entry) => {
      const name = entryName(entry)
      const unsafe = unsafeEntryName(name)
      if (unsafe) throw new Error(`zip entry ${JSON.stringify(name)} ${unsafe}; archive refused`)
      if (++count > limits.maxEntries) throw new Error(`zip has more than ${limits.maxEntries} entries; archive refused`)
      if (name.endsWith('/')) return
      const display = `${file}!${name}`
      const base = name.split('/').pop() ?? name
      if (base.startsWith('.') || name.split('/').some((part) => SKIPPED_NAMES.has(part.toLowerCase()))) {
        problems.push({ name: display, status: 'skipped', reason: 'hidden or system file' })
        return
      }
      if (entry.isEncrypted()) {
        problems.push({ name: display, status: 'failed', reason: 'encrypted zip entry' })
        return
      }
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        problems.push({ name: display, status: 'failed', reason: `unsupported zip compression method ${entry.compressionMethod}` })
        return
      }
      if (isZip(name)) {
        problems.push({ name: display, status: 'skipped', reason: 'nested zip archives are not opened' })
        return
      }
      const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize)
      if (entry.uncompressedSize > 1 << 20 && ratio > limits.maxRatio) {
        throw new Error(`zip entry ${JSON.stringify(name)} expands ${ratio.toFixed(0)}x (limit ${limits.maxRatio}x): a zip bomb; archive refused`)
      }
      expanded += entry.uncompressedSize
      if (expanded > limits.maxExpandedBytes) {
        throw new Error(`zip expands to more than ${limits.maxExpandedBytes} bytes; archive refused`)
      }
      checked.push({ entry, name })
    })
  } catch (err) {
    zip.close()
    throw err
  }
  const units = checked.map(({ entry, name }): ImportUnit => {
    const { ext, baseName, gz } = splitExt(name)
    return {
      name: `${file}!${name}`,
      ext,
      baseName,
      diskBytes: entry.compressedSize,
      open: (onDiskBytes) => openEntry(zip, entry, gz, onDiskBytes),
    }
  })
  return { units, problems, close: () => zip.close() }
}

/** The archive stays open (read-only) while its entries are read one after another. */
async function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, gz: boolean, onDiskBytes: (n: number) => void): Promise<Readable> {
  const stream = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))))
  const scale = entry.compressedSize / Math.max(1, entry.uncompressedSize)
  let carry = 0
  const counted = stream.pipe(
    counter((n) => {
      carry += n * scale
      const whole = Math.floor(carry)
      carry -= whole
      if (whole > 0) onDiskBytes(whole)
    }),
  )
  stream.on('error', (err) => counted.destroy(err))
  if (!gz) return counted
  const gunzip = zlib.createGunzip()
  counted.on('error', (err) => gunzip.destroy(err))
  return counted.pipe(gunzip)
}
