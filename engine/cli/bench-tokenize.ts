// `mengzi bench tokenize`: WordPiece tokenizer throughput on real Chinese text.
import type { Command } from 'commander'
import { badInput } from '../errors'
import { benchTokenize, type TokenizeBenchResult } from '../text/tokenize-bench'
import { formatTable, printJson } from './common'

interface BenchTokenizeOptions {
  vocab?: string
  mb: string
  rounds: string
  cased?: boolean
  json?: boolean
}

export function registerBenchTokenize(bench: Command): void {
  bench
    .command('tokenize')
    .description('WordPiece tokenizer throughput on real Chinese text (fortunes-zh, manpages-zh, chinese-poetry), one thread')
    .option('--vocab <file>', 'vocab.txt to use (default: a 21128-entry vocab built from the corpus)')
    .option('--mb <n>', 'corpus size in MB of UTF-8 text', '10')
    .option('--rounds <n>', 'timed passes after one warm-up', '3')
    .option('--cased', 'cased tokenizer (no lower-casing or accent stripping)')
    .option('--json', 'machine-readable JSON output')
    .action(async (opts: BenchTokenizeOptions) => {
      const mb = Number(opts.mb)
      const rounds = Number(opts.rounds)
      if (!(mb > 0 && mb <= 1024)) throw badInput(`--mb: expected a size in MB up to 1024, got ${JSON.stringify(opts.mb)}`)
      if (!Number.isInteger(rounds) || rounds < 1) throw badInput(`--rounds: expected a positive integer, got ${JSON.stringify(opts.rounds)}`)
      const result = await benchTokenize({
        megabytes: mb,
        rounds,
        vocab: opts.vocab,
        lowercase: !opts.cased,
        log: opts.json ? undefined : (l) => console.error(l),
      })
      if (opts.json) printJson(result)
      else console.log(formatTokenizeBench(result))
    })
}

export function formatTokenizeBench(r: TokenizeBenchResult): string {
  const m = (n: number) => (n / 1e6).toFixed(2)
  return [
    `corpus: ${r.corpus.documents} documents, ${r.corpus.characters.toLocaleString('en')} characters, ${r.corpus.megabytes.toFixed(1)} MB (${r.corpus.sources.join(', ')})`,
    `vocab: ${r.vocab.size} entries (${r.vocab.file}); ${r.tokens.toLocaleString('en')} tokens, [UNK] ${(r.unkRate * 100).toFixed(3)}%`,
    `node ${r.node}, ${r.cpu}, one thread, best of ${r.rounds}`,
    '',
    formatTable(
      ['PATH', 'BEST S', 'MEDIAN S', 'M CHARS/S', 'M TOKENS/S'],
      [
        ['ids + offsets (tokenizeInto)', r.ids.bestSeconds.toFixed(3), r.ids.medianSeconds.toFixed(3), m(r.ids.charsPerSecond), m(r.ids.tokensPerSecond)],
        ['full encoding (encode)', r.encode.bestSeconds.toFixed(3), r.encode.medianSeconds.toFixed(3), m(r.encode.charsPerSecond), m(r.encode.tokensPerSecond)],
      ],
    ),
  ].join('\n')
}
