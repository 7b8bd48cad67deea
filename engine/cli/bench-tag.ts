// `mengzi bench tag`: built-in tagger throughput (engine/tagging/tag-bench.ts), a table or --json.
import type { Command } from 'commander'
import { badInput } from '../errors'
import { benchTag, type TagBenchResult } from '../tagging/tag-bench'
import { formatTable, printJson } from './common'

export function registerBenchTag(bench: Command): void {
  bench
    .command('tag')
    .description('built-in tagger throughput on real Chinese text: segmentation + POS, and NER on the JavaScript path and the native kernel')
    .option('--pos-chars <n>', 'characters for segmentation + POS', '2000000')
    .option('--ner-chars <n>', 'characters for NER on the native kernel', '300000')
    .option('--js-ner-chars <n>', 'characters for NER on the JavaScript path', '10000')
    .option('--threads <n>', 'threads for the native passes besides 1', '2')
    .option('--rounds <n>', 'timed passes after one warm-up', '3')
    .option('--json', 'machine-readable JSON output')
    .action(async (opts: { posChars: string; nerChars: string; jsNerChars: string; threads: string; rounds: string; json?: boolean }) => {
      const result = await benchTag({
        posChars: positive('--pos-chars', opts.posChars),
        nerChars: positive('--ner-chars', opts.nerChars),
        jsNerChars: positive('--js-ner-chars', opts.jsNerChars),
        threads: positive('--threads', opts.threads),
        rounds: positive('--rounds', opts.rounds),
        log: opts.json ? undefined : (l) => console.error(l),
      })
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
    `node ${r.node}, ${r.cpu} (${r.cores} cores), median of the rounds; load average ${r.loadAverage.map((l) => l.toFixed(1)).join(' ')}`,
    ...(r.nativeUnavailable ? [`no native passes: ${r.nativeUnavailable}`] : []),
    '',
    formatTable(
      ['PASS', 'PATH', 'THREADS', 'CHARS', 'BEST S', 'MEDIAN S', 'CHARS/S', 'CHARS/CPU-S'],
      r.passes.map((p) => [
        p.name,
        p.path,
        String(p.threads),
        p.characters.toLocaleString('en'),
        p.bestSeconds.toFixed(3),
        p.medianSeconds.toFixed(3),
        Math.round(p.charsPerSecond).toLocaleString('en'),
        Math.round(p.charsPerCpuSecond).toLocaleString('en'),
      ]),
    ),
  ].join('\n')
}
