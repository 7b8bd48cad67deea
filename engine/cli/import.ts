// `mengzi import PATH...`: corpora and CLUE task files into a dataset. A progress bar on stderr when it
// is a terminal; `--json` prints {dataset, files}. Exit 1 only when nothing could be imported.
import path from 'node:path'
import { Option, type Command } from 'commander'
import cliProgress from 'cli-progress'
import { badInput } from '../errors'
import { parseEncodingName } from '../data/encoding'
import { importCorpus, type ImportOptions, type ImportResult } from '../data/import'
import { DEDUP_MODES, FORMATS, TASKS, type DedupMode, type Format, type Task } from '../data/types'
import { formatTable, printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'

interface ImportFlags extends GlobalOptions {
  name?: string
  task: string
  encoding: string
  format: string
  field?: string
  dedup: string
  t2s?: boolean
  halfwidth?: boolean
  devRatio: string
  seed: string
  vocab?: string
  gzip?: boolean
}

export function registerImport(program: Command): void {
  withCommonOptions(
    program
      .command('import')
      .description('import corpora (txt, jsonl/json, csv/tsv, gz, zip; folders recursively) and CLUE task files as one dataset')
      .argument('<paths...>', 'files and folders')
      .option('--name <name>', 'dataset name (default: the first path)')
      .addOption(new Option('--task <task>', 'task of every file, or detect per file').choices(['auto', ...TASKS]).default('auto'))
      .option('--encoding <enc>', 'auto | utf-8 | utf-16le | utf-16be | gb18030 (gbk) | big5', 'auto')
      .addOption(new Option('--format <format>', 'auto | lines (one document per line) | paragraphs (blank-line separated) | jsonl | json | csv | tsv').choices(['auto', ...FORMATS]).default('auto'))
      .option('--field <name>', 'the text field of JSON/CSV items (default: detected: text, content, sentence, …)')
      .addOption(new Option('--dedup <mode>', 'remove duplicate documents').choices([...DEDUP_MODES]).default('exact'))
      .option('--t2s', 'convert traditional to simplified Chinese')
      .option('--halfwidth', 'convert full-width letters, digits and symbols to half-width')
      .option('--dev-ratio <r>', 'share of documents in the dev split (files named train/dev/test keep theirs)', '0.01')
      .option('--seed <n>', 'seed of the split and of near-duplicate hashing', '42')
      .option('--vocab <file>', 'a vocab.txt whose character coverage the statistics report')
      .option('--gzip', 'gzip the stored shards'),
  ).action(async (paths: string[], flags: ImportFlags) => {
    const options = parseFlags(flags)
    await withWorkbench(flags, async (wb) => {
      const controller = new AbortController()
      const onSigint = () => controller.abort()
      process.once('SIGINT', onSigint)
      const bar = process.stderr.isTTY ? progressBar() : null
      try {
        const result = await importCorpus(paths, options, {
          db: wb.db,
          layout: wb.layout,
          signal: controller.signal,
          onProgress: (p) => {
            if (!bar) return
            if (bar.getTotal() !== p.totalBytes) bar.setTotal(Math.max(1, p.totalBytes))
            bar.update(p.bytes, {
              mb: (p.bytes / 2 ** 20).toFixed(1),
              totalMb: (p.totalBytes / 2 ** 20).toFixed(1),
              rate: (p.rate / 2 ** 20).toFixed(1),
              records: p.records,
              file: path.basename(p.file.split('!').pop() ?? p.file).slice(0, 30),
              etaText: p.etaSeconds == null ? '?' : `${Math.ceil(p.etaSeconds)}s`,
            })
          },
        })
        bar?.stop()
        if (flags.json) printJson(outcome(result))
        else printHuman(result)
        if (!result.dataset) process.exitCode = 1
      } catch (err) {
        bar?.stop()
        throw err
      } finally {
        process.off('SIGINT', onSigint)
      }
    })
  })
}

function progressBar(): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'import [{bar}] {percentage}% {mb}/{totalMb} MB · {rate} MB/s · {records} records · ETA {etaText} · {file}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  )
  bar.start(1, 0, { mb: '0', totalMb: '?', rate: '0', records: 0, file: '', etaText: '?' })
  return bar
}

function parseFlags(f: ImportFlags): ImportOptions {
  const encoding = f.encoding === 'auto' ? 'auto' : parseEncodingName(f.encoding)
  if (!encoding) throw badInput(`--encoding: unknown encoding ${JSON.stringify(f.encoding)} (auto, utf-8, utf-16le, utf-16be, gb18030, gbk, big5)`)
  const devRatio = Number(f.devRatio)
  if (!(devRatio >= 0 && devRatio < 1)) throw badInput(`--dev-ratio: must be a number in [0, 1), got ${JSON.stringify(f.devRatio)}`)
  const seed = Number(f.seed)
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw badInput(`--seed: must be a non-negative integer, got ${JSON.stringify(f.seed)}`)
  return {
    name: f.name,
    task: f.task as Task | 'auto',
    encoding,
    format: f.format as Format | 'auto',
    field: f.field,
    dedup: f.dedup as DedupMode,
    t2s: f.t2s ?? false,
    halfwidth: f.halfwidth ?? false,
    devRatio,
    seed,
    vocab: f.vocab && path.resolve(f.vocab),
    gzip: f.gzip ?? false,
  }
}

/** The documented JSON shape: {dataset: {id, name, kind, records, stats}, files: [...]}. */
export function outcome(r: ImportResult) {
  return {
    dataset: r.dataset && { id: r.dataset.id, name: r.dataset.name, kind: r.dataset.kind, records: r.dataset.records, dir: r.dataset.dir, stats: r.dataset.stats },
    files: r.files,
  }
}

function printHuman(r: ImportResult): void {
  console.log(
    formatTable(
      ['FILE', 'STATUS', 'ENCODING', 'FORMAT', 'TASK', 'SPLIT', 'RECORDS', 'REASON'],
      r.files.map((f) => [f.file, f.status, f.encoding && f.confidence != null && f.confidence < 1 ? `${f.encoding} (${f.confidence})` : f.encoding, f.format, f.task, f.split, f.records, f.reason]),
    ),
  )
  for (const f of r.files) {
    for (const e of f.errors.slice(0, 5)) console.log(`  ${f.file}:${e.line}: ${e.reason}`)
    const more = f.errors.length - 5 + f.moreErrors
    if (more > 0) console.log(`  ${f.file}: … ${more} more errors`)
    const { escapeSequences, controlCharacters } = f.cleaned
    if (escapeSequences + controlCharacters > 0) console.log(`  ${f.file}: cleaned ${escapeSequences} terminal escape sequences, ${controlCharacters} control characters`)
  }
  if (!r.dataset) {
    console.log('Nothing could be imported.')
    return
  }
  const s = r.dataset.stats
  console.log(
    `Dataset ${r.dataset.id} "${r.dataset.name}" (${r.dataset.kind}): ${s.documents} records, ${s.sentences} sentences, ` +
      `${s.characters} characters (${(s.hanRatio * 100).toFixed(1)}% Han); splits ${JSON.stringify(s.splits)}; ` +
      `duplicates removed: ${s.duplicatesRemoved.exact} exact, ${s.duplicatesRemoved.near} near` +
      (s.vocab ? `; vocab coverage ${(s.vocab.coverage * 100).toFixed(2)}%` : ''),
  )
}
