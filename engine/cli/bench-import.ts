// `mengzi bench import`: import throughput (MB/s) and peak RSS at several corpus sizes. Each size runs
// in a fresh child process so that its peak RSS is its own. The corpora are generated under /tmp (kept
// for reruns) from real Chinese text; see engine/data/bench.ts.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { badInput } from '../errors'
import { generateCorpus, sentencePool } from '../data/bench'
import { importCorpus } from '../data/import'
import { dataLayout } from '../paths'
import { openDatabase } from '../store/db'
import { DEDUP_MODES, type DedupMode } from '../data/types'
import { formatTable, printJson } from './common'

const BIN = fileURLToPath(new URL('../../bin/mengzi.js', import.meta.url))

interface BenchImportFlags {
  sizes: string
  dir: string
  dedup: string
  json?: boolean
  measure?: string
}

export interface ImportBenchRow {
  sizeMB: number
  files: number
  bytes: number
  records: number
  seconds: number
  mbPerSecond: number
  /** CPU time (user + system) of the importing process: steadier than wall time on a shared machine. */
  cpuSeconds: number
  mbPerCpuSecond: number
  peakRssMB: number
}

export function registerBenchImport(bench: Command): void {
  bench
    .command('import')
    .description('import throughput and peak memory on generated corpora of real Chinese text')
    .option('--sizes <mb>', 'corpus sizes in MB, comma separated', '256,1024')
    .option('--dir <dir>', 'where the generated corpora are kept', path.join(os.tmpdir(), 'mengzi-bench-import'))
    .option('--dedup <mode>', `dedup mode (${DEDUP_MODES.join(', ')})`, 'exact')
    .option('--json', 'machine-readable JSON output')
    .option('--measure <dir>', '(internal) import one corpus in this process and print its measurements')
    .action(async (flags: BenchImportFlags) => {
      if (!(DEDUP_MODES as readonly string[]).includes(flags.dedup)) throw badInput(`--dedup: unknown mode ${JSON.stringify(flags.dedup)}`)
      if (flags.measure) return printJson(await measureOnce(flags.measure, flags.dedup as DedupMode))
      const sizes = flags.sizes.split(',').map(Number)
      if (sizes.some((s) => !(s > 0))) throw badInput(`--sizes: expected sizes in MB like 256,1024, got ${JSON.stringify(flags.sizes)}`)
      let pool: string[] | null = null
      const rows: ImportBenchRow[] = []
      for (const size of sizes) {
        const dir = path.join(flags.dir, `${size}mb`)
        const marker = path.join(dir, '.complete')
        if (!fs.existsSync(marker)) {
          fs.rmSync(dir, { recursive: true, force: true })
          if (!pool) {
            const { sentences, sources } = sentencePool()
            pool = sentences
            if (!flags.json) process.stderr.write(`sentence pool: ${sentences.length} sentences ${JSON.stringify(sources)}\n`)
          }
          if (!flags.json) process.stderr.write(`generating ${size} MB in ${dir} …\n`)
          const made = generateCorpus(dir, size * 2 ** 20, pool)
          fs.writeFileSync(marker, JSON.stringify(made))
        }
        if (!flags.json) process.stderr.write(`importing ${size} MB …\n`)
        const child = spawnSync(process.execPath, [BIN, 'bench', 'import', '--measure', dir, '--dedup', flags.dedup], { encoding: 'utf8', maxBuffer: 1 << 24 })
        if (child.status !== 0) throw new Error(`benchmark child failed (${child.status}): ${child.stderr.trim().split('\n').pop()}`)
        rows.push({ sizeMB: size, ...(JSON.parse(child.stdout.trim().split('\n').pop()!) as Omit<ImportBenchRow, 'sizeMB'>) })
      }
      if (flags.json) return printJson({ benchmark: 'import', dedup: flags.dedup, node: process.versions.node, cpus: os.cpus().length, rows })
      console.log(
        formatTable(
          ['SIZE MB', 'FILES', 'RECORDS', 'SECONDS', 'MB/S', 'CPU S', 'MB/CPU S', 'PEAK RSS MB'],
          rows.map((r) => [r.sizeMB, r.files, r.records, r.seconds.toFixed(1), r.mbPerSecond.toFixed(1), r.cpuSeconds.toFixed(1), r.mbPerCpuSecond.toFixed(1), r.peakRssMB.toFixed(0)]),
        ),
      )
    })
}

/** One import in this process, into a throwaway data folder; peak RSS from the OS (ru_maxrss). */
async function measureOnce(corpus: string, dedup: DedupMode): Promise<Omit<ImportBenchRow, 'sizeMB'>> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-bench-home-'))
  const layout = dataLayout(home)
  const db = openDatabase(layout.database)
  try {
    const files = fs.readdirSync(corpus).filter((f) => !f.startsWith('.'))
    const bytes = files.reduce((n, f) => n + fs.statSync(path.join(corpus, f)).size, 0)
    const start = process.hrtime.bigint()
    const cpuStart = process.cpuUsage()
    const result = await importCorpus([corpus], { dedup }, { db, layout })
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const cpu = process.cpuUsage(cpuStart)
    const cpuSeconds = (cpu.user + cpu.system) / 1e6
    return {
      files: files.length,
      bytes,
      records: result.dataset?.records ?? 0,
      seconds,
      mbPerSecond: bytes / 2 ** 20 / seconds,
      cpuSeconds,
      mbPerCpuSecond: bytes / 2 ** 20 / cpuSeconds,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    }
  } finally {
    db.close()
    fs.rmSync(home, { recursive: true, force: true })
  }
}
