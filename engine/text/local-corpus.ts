// Real Chinese text already on this machine, as a stream of documents: the chinese-poetry npm package
// (a dev dependency: classical poetry, ci, the Four Books), Debian's fortunes-zh and manpages-zh when
// installed. For benchmarks and tests of the text pipeline; user corpora come from engine/data.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import zlib from 'node:zlib'

export type LocalSource = 'chinese-poetry' | 'fortunes-zh' | 'manpages-zh'

const FORTUNES_DIR = '/usr/share/games/fortunes'
const MANPAGE_DIRS = ['/usr/share/man/zh_CN', '/usr/share/man/zh_TW']

/** The chinese-poetry package's data folder, or null when it is not installed. */
export function chinesePoetryDir(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('chinese-poetry/package.json')
    const dir = path.join(path.dirname(pkg), 'dist')
    return fs.existsSync(dir) ? dir : null
  } catch {
    return null
  }
}

export function availableSources(): LocalSource[] {
  const found: LocalSource[] = []
  if (chinesePoetryDir()) found.push('chinese-poetry')
  if (fs.existsSync(path.join(FORTUNES_DIR, 'chinese'))) found.push('fortunes-zh')
  if (MANPAGE_DIRS.some((d) => fs.existsSync(d))) found.push('manpages-zh')
  return found
}

/** Documents from the given sources, in a fixed order. Stop iterating to stop reading. */
export async function* localChineseDocuments(sources: LocalSource[] = availableSources()): AsyncGenerator<string> {
  for (const source of sources) {
    if (source === 'fortunes-zh') yield* fortunes()
    else if (source === 'manpages-zh') yield* manpages()
    else yield* poetry()
  }
}

function* fortunes(): Generator<string> {
  for (const name of ['chinese', 'tang300', 'song100']) {
    const file = path.join(FORTUNES_DIR, name)
    if (!fs.existsSync(file)) continue
    // entries end with a line holding only "%"; titles carry ANSI colour escapes
    const text = fs.readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '')
    for (const entry of text.split(/\n%\n/)) if (entry.trim()) yield entry.trim()
  }
}

function* manpages(): Generator<string> {
  for (const root of MANPAGE_DIRS) {
    if (!fs.existsSync(root)) continue
    for (const section of fs.readdirSync(root).sort()) {
      const dir = path.join(root, section)
      if (!fs.statSync(dir).isDirectory()) continue
      for (const name of fs.readdirSync(dir).sort()) {
        if (!name.endsWith('.gz')) continue
        const file = path.join(dir, name)
        if (fs.lstatSync(file).isSymbolicLink()) continue
        const text = roffToText(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'))
        if (text) yield text
      }
    }
  }
}

/** Roughly the text of a man page: macro names, comments and font escapes dropped. */
function roffToText(roff: string): string {
  const lines: string[] = []
  for (const line of roff.split('\n')) {
    if (line.startsWith('.\\"') || line.startsWith("'\\\"")) continue
    const body = /^[.'][A-Za-z]+\s*/.test(line) ? line.replace(/^[.'][A-Za-z]+\s*/, '') : line
    const clean = body
      .replace(/\\f(\[[^\]]*\]|\(..|.)/g, '')
      .replace(/\\\(../g, '')
      .replace(/\\[-e]/g, (m) => (m === '\\-' ? '-' : '\\'))
      .replace(/\\[&/,|^]/g, '')
      .replace(/"/g, '')
      .trim()
    if (clean) lines.push(clean)
  }
  return lines.join('\n')
}

/** Folders of chinese-poetry that hold statistics or tonal patterns rather than text. */
const NOT_TEXT = new Set(['rank', 'strains'])

/** Documents (one per poem or chapter) from chinese-poetry, optionally from some of its folders only. */
export function* poetry(folders?: string[]): Generator<string> {
  const root = chinesePoetryDir()
  if (!root) return
  const chosen = folders ?? fs.readdirSync(root).filter((d) => !NOT_TEXT.has(d)).sort()
  for (const file of chosen.flatMap((d) => [...walkJson(path.join(root, d))])) {
    let data: unknown
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8'))
    } catch {
      continue // the package ships a few files that are not JSON
    }
    const records = Array.isArray(data) ? data : [data]
    for (const record of records) {
      const text = stringLeaves(record).join('\n')
      if (text) yield text
    }
  }
}

function* walkJson(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* walkJson(p)
    else if (entry.name.endsWith('.json')) yield p
  }
}

/** Every string in a JSON value except identifiers. */
function stringLeaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (value.trim()) out.push(value)
  } else if (Array.isArray(value)) for (const v of value) stringLeaves(v, out)
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (k !== 'id') stringLeaves(v, out)
  }
  return out
}
