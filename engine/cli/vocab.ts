// `mengzi vocab --input FILE... --out vocab.txt`: a WordPiece vocabulary in bert-base-chinese's layout
// built from plain UTF-8 text files (one document per line).
import fs from 'node:fs'
import readline from 'node:readline'
import type { Command } from 'commander'
import { badInput, notFound } from '../errors'
import { buildVocab } from '../text/vocab-builder'
import { formatVocab, parseVocab } from '../text/vocab'
import { datasetTexts } from '../text/dataset-text'
import { getDataset } from '../store/datasets'
import { formatTable, openWorkbench, printJson, withCommonOptions, type GlobalOptions } from './common'

interface VocabCliOptions extends GlobalOptions {
  input?: string[]
  dataset?: string
  out: string
  size: string
  minFrequency: string
  cased?: boolean
  json?: boolean
}

async function* linesOf(files: string[]): AsyncGenerator<string> {
  for (const file of files) {
    const rl = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })
    for await (const line of rl) if (line.trim()) yield line
  }
}

export function registerVocab(program: Command): void {
  withCommonOptions(
    program
      .command('vocab')
      .description("build a vocab.txt in bert-base-chinese's layout from an imported dataset or UTF-8 text files (one document per line)")
      .option('--dataset <id>', 'an imported dataset (see `mengzi datasets`)')
      .option('--input <files...>', 'text files')
      .requiredOption('--out <file>', 'the vocab.txt to write')
      .option('--size <n>', 'most entries', '21128')
      .option('--min-frequency <n>', 'leave out characters and pieces seen fewer times', '2')
      .option('--cased', 'for the cased tokenizer (no lower-casing or accent stripping)'),
  ).action(async (opts: VocabCliOptions) => {
    const size = Number(opts.size)
    const minFrequency = Number(opts.minFrequency)
    if (!Number.isInteger(size) || size < 1) throw badInput(`--size: expected a positive integer, got ${JSON.stringify(opts.size)}`)
    if (!Number.isInteger(minFrequency) || minFrequency < 1) throw badInput(`--min-frequency: expected a positive integer, got ${JSON.stringify(opts.minFrequency)}`)
    if ((opts.dataset === undefined) === (opts.input === undefined)) throw badInput('give either --dataset ID or --input FILE...')
    let documents: AsyncIterable<string>
    if (opts.dataset !== undefined) {
      const id = Number(opts.dataset)
      if (!Number.isInteger(id) || id < 1) throw badInput(`--dataset: expected a dataset id, got ${JSON.stringify(opts.dataset)}`)
      const wb = openWorkbench(opts)
      const row = getDataset(wb.db, id)
      await wb.close()
      if (!row) throw notFound(`dataset ${id} does not exist`)
      documents = datasetTexts(row.dir)
    } else {
      for (const f of opts.input!) if (!fs.existsSync(f)) throw notFound(`${f}: no such input file`)
      documents = linesOf(opts.input!)
    }
    const { tokens, stats } = await buildVocab(documents, { size, minFrequency, cased: opts.cased })
    const text = formatVocab(tokens)
    parseVocab(text, opts.out) // the same checks a reader will make
    fs.writeFileSync(opts.out, text)
    if (opts.json) return printJson({ out: opts.out, ...stats })
    const pct = (x: number) => `${(x * 100).toFixed(2)}%`
    console.log(`Wrote ${opts.out}: ${stats.size} entries from ${stats.documents} documents, ${stats.characters.toLocaleString('en')} characters`)
    console.log(
      formatTable(
        ['UNITS', 'SEEN', 'KEPT', 'COVERAGE'],
        [
          ['all characters', stats.distinctCharacters, '', pct(stats.characterCoverage)],
          ['CJK characters', stats.cjkSeen, stats.cjkKept, pct(stats.cjkCoverage)],
          ['symbols', '', stats.symbolsKept, ''],
          ['words (alphabet, pieces)', stats.wordsSeen, `${stats.alphabetKept}, ${stats.wordPiecesLearnt}`, pct(stats.wordCoverage)],
        ],
      ),
    )
  })
}
