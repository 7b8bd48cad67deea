// The import benchmark's corpus: real Chinese sentences (Debian's fortunes-zh and manpages-zh, the
// chinese-poetry collection) recombined, seeded, into documents until a size is reached: JSON lines and
// plain text files, with a few exact duplicates for the deduplicator to find.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import zlib from 'node:zlib'
import { splitSentences } from './clean'
import { mulberry32 } from './dedup'

const FORTUNE_DIRS = ['/usr/share/games/fortunes', '/usr/share/fortunes']
const MAN_DIRS = ['/usr/share/man/zh_CN', '/usr/share/man/zh_TW']
const POOL_LIMIT = 400_000
const FILE_BYTES = 128 * 2 ** 20

const hasHan = (s: string, n = 4) => (s.match(/\p{Script=Han}/gu)?.length ?? 0) >= n

/** Sentences of real Chinese text from whatever of the three sources this machine has. */
export function sentencePool(): { sentences: string[]; sources: Record<string, number> } {
  const seen = new Set<string>()
  const sources: Record<string, number> = {}
  const add = (source: string, text: string) => {
    for (const s of splitSentences(text)) {
      if (seen.size >= POOL_LIMIT) return
      if (s.length >= 4 && s.length <= 300 && hasHan(s) && !seen.has(s)) {
        seen.add(s)
        sources[source] = (sources[source] ?? 0) + 1
      }
    }
  }
  for (const dir of FORTUNE_DIRS.filter((d) => fs.existsSync(d))) {
    for (const f of fs.readdirSync(dir)) {
      if (f.includes('.')) continue // .dat indexes and .u8 links
      const text = fs.readFileSync(path.join(dir, f), 'utf8').replace(/\x1b\[[0-9;]*m/g, '')
      for (const fortune of text.split('\n%\n')) add('fortunes-zh', fortune.replace(/\s*\n\s*/g, ''))
    }
  }
  for (const dir of MAN_DIRS.filter((d) => fs.existsSync(d))) {
    for (const section of fs.readdirSync(dir).filter((s) => s.startsWith('man'))) {
      for (const f of fs.readdirSync(path.join(dir, section)).filter((n) => n.endsWith('.gz'))) {
        let page: string
        try {
          page = zlib.gunzipSync(fs.readFileSync(path.join(dir, section, f))).toString('utf8')
        } catch {
          continue
        }
        const text = page
          .split('\n')
          .filter((l) => !l.startsWith('.') && !l.startsWith("'"))
          .join('')
          .replace(/\\f[BIRP]|\\f\(..|\\\(..|\\[-&e]/g, '')
        add('manpages-zh', text)
      }
    }
  }
  const poetry = poetryDir()
  if (poetry) {
    for (const sub of fs.readdirSync(poetry).sort()) {
      const dir = path.join(poetry, sub)
      if (!fs.statSync(dir).isDirectory()) continue
      for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort().slice(0, 40)) {
        if (seen.size >= POOL_LIMIT) break
        try {
          collectStrings(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')), (s) => add('chinese-poetry', s))
        } catch {
          // a file that is not JSON: not a source of sentences
        }
      }
    }
  }
  return { sentences: [...seen], sources }
}

function poetryDir(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('chinese-poetry/package.json')
    const dist = path.join(path.dirname(pkg), 'dist')
    return fs.existsSync(dist) ? dist : null
  } catch {
    return null
  }
}

function collectStrings(v: unknown, each: (s: string) => void): void {
  if (typeof v === 'string') {
    if (hasHan(v)) each(v)
  } else if (Array.isArray(v)) for (const x of v) collectStrings(x, each)
  else if (v && typeof v === 'object') for (const x of Object.values(v)) collectStrings(x, each)
}

/** Writes about `bytes` bytes of documents into `dir` (files of FILE_BYTES), seeded. */
export function generateCorpus(dir: string, bytes: number, sentences: string[], seed = 1): { files: number; documents: number; bytes: number } {
  if (sentences.length === 0) throw new Error('no source text found (fortunes-zh, manpages-zh or chinese-poetry)')
  fs.mkdirSync(dir, { recursive: true })
  const rand = mulberry32(seed)
  const recent: string[] = []
  let written = 0
  let documents = 0
  let files = 0
  while (written < bytes) {
    const json = files % 3 !== 2 // two JSON-lines files, then a text file
    const file = path.join(dir, `part-${String(files).padStart(4, '0')}.${json ? 'jsonl' : 'txt'}`)
    const fd = fs.openSync(file, 'w')
    let fileBytes = 0
    let chunk: string[] = []
    let chunkChars = 0
    const flush = () => {
      const buf = Buffer.from(chunk.join(''))
      fs.writeSync(fd, buf)
      fileBytes += buf.length
      written += buf.length
      chunk = []
      chunkChars = 0
    }
    while (fileBytes < FILE_BYTES && written < bytes) {
      let doc: string
      if (recent.length > 0 && rand() < 0.03) doc = recent[Math.floor(rand() * recent.length)]
      else {
        const k = 2 + Math.floor(rand() * 30)
        const parts: string[] = []
        for (let i = 0; i < k; i++) parts.push(sentences[Math.floor(rand() * sentences.length)])
        doc = parts.join('')
        if (recent.length < 1000) recent.push(doc)
        else recent[Math.floor(rand() * 1000)] = doc
      }
      const line = json ? `${JSON.stringify({ id: documents, text: doc })}\n` : `${doc}\n`
      chunk.push(line)
      chunkChars += line.length
      documents++
      if (chunkChars > 1 << 20) flush()
    }
    flush()
    fs.closeSync(fd)
    files++
  }
  return { files, documents, bytes: written }
}
