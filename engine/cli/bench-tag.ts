// `mengzi bench tag`: built-in tagger throughput (engine/tagging/tag-bench.ts), a table or --json.
import type { Command } from 'commander'
import { badInput } from '../errors'
import { benchTag, type TagBenchResult } from '../tagging/tag-bench'
import { formatTable, printJson } from './common'

export function registerBenchTag(bench: Command): void {
  bench
    .command('tag')
    .description('built-in tagger throughput on real Chinese text, one thread: segmentation + POS, and NER')
    .option('--pos-chars <n>', 'characters for segmentation + POS', '2000000')
    .option('--ner-chars <n>', 'characters for NER', '50000')
    .option('--rounds <n>', 'timed passes after one warm-up', '3')
    .option('--json', 'machine-readable JSON output')
    .action(async (opts: { posChars: string; nerChars: string; rounds: string; json?: boolean }) => {
      const posChars = positive('--pos-chars', opts.posChars)
      const nerChars = positive('--ner-chars', opts.nerChars)
      const rounds = positive('--rounds', opts.rounds)
      const result = await benchTag({ posChars, nerChars, rounds, log: opts.json ? undefined : (l) => console.error(l) })
      if (opts.json) printJson(result)
      else console.log(formatTagBench(result))
    })
}

function positive(flag: string, raw: string): number {
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1) throw badInput(`${flag}: expected a positive integer, got ${JSON.stringify(raw)}`)
  return value
}

export function formatTagBench(r: TagBenchResult): string {
  return [
    `corpus: ${r.documents} documents (${r.sources.join(', ')}); models loaded in ${r.loadSeconds.toFixed(2)} s`,
    `node ${r.node}, ${r.cpu}, one thread, best of the rounds; load average ${r.loadAverage.map((l) => l.toFixed(1)).join(' ')}`,
    '',
    formatTable(
      ['PASS', 'CHARS', 'BEST S', 'MEDIAN S', 'CHARS/S'],
      r.passes.map((p) => [p.name, p.characters.toLocaleString('en'), p.bestSeconds.toFixed(3), p.medianSeconds.toFixed(3), Math.round(p.charsPerSecond).toLocaleString('en')]),
    ),
  ].join('\n')
}
