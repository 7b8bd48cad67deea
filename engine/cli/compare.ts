// `mengzi compare RUN...`: runs side by side. JSON is one object {runs, config_diff, series, scores}
// (config_diff: only the keys whose values differ, nested keys dotted); csv has one row per run; md and
// the default table show the differing keys with runs as columns, final metrics and dev scores.
import type { Command } from 'commander'
import { badInput, notFound } from '../errors'
import { comparisonCsv, comparisonMarkdown, comparisonReport, type ComparisonReport } from '../service/compare'
import type { Workbench } from '../service/workbench'
import { formatTable, printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'

const FORMATS = ['table', 'json', 'csv', 'md'] as const

interface CompareCliOptions extends GlobalOptions {
  format: string
  points: string
  metrics?: string
}

export function registerCompare(program: Command): void {
  withCommonOptions(
    program
      .command('compare')
      .description('compare runs: config differences, final metrics, dev scores, metric series')
      .argument('<run...>', 'run ids (or exact run names)')
      .option('--format <f>', `output format: ${FORMATS.join(', ')}`, 'table')
      .option('--points <n>', 'json: keep the first, lowest, highest and last point of N buckets per series (0: every point)', '0')
      .option('--metrics <names>', 'json: only these series (comma-separated)'),
  ).action(async (runs: string[], opts: CompareCliOptions) => {
    const format = opts.json ? 'json' : opts.format
    if (!(FORMATS as readonly string[]).includes(format)) throw badInput(`--format: expected one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`)
    const points = Number(opts.points)
    if (!Number.isInteger(points) || points < 0) throw badInput(`--points: expected a whole number ≥ 0, got ${JSON.stringify(opts.points)}`)
    await withWorkbench(opts, async (wb) => {
      const ids = await resolveRuns(wb, runs)
      const report = comparisonReport(wb.db, ids, { points, metrics: opts.metrics?.split(',').filter(Boolean) })
      if (format === 'json') return printJson(report)
      if (format === 'csv') return void process.stdout.write(comparisonCsv(report))
      if (format === 'md') return void process.stdout.write(comparisonMarkdown(report))
      console.log(comparisonTable(report))
    })
  })
}

async function resolveRuns(wb: Workbench, args: string[]): Promise<number[]> {
  const all = await wb.call('runs.list', {})
  return args.map((arg) => {
    if (/^\d+$/.test(arg)) {
      if (!all.some((r) => r.id === Number(arg))) throw notFound(`run ${arg} does not exist (mengzi runs lists them)`)
      return Number(arg)
    }
    const named = all.filter((r) => r.name === arg)
    if (named.length === 0) throw notFound(`no run is named ${JSON.stringify(arg)} (mengzi runs lists them)`)
    if (named.length > 1) throw badInput(`${named.length} runs are named ${JSON.stringify(arg)}: give an id (${named.map((r) => r.id).join(', ')})`)
    return named[0].id
  })
}

const show = (v: unknown) => (v == null ? '' : typeof v === 'number' ? String(Number(v.toPrecision(6))) : typeof v === 'object' ? JSON.stringify(v) : String(v))

function comparisonTable(report: ComparisonReport): string {
  const header = ['', ...report.runs.map((r) => `${r.name} (#${r.id})`)]
  const diff = Object.entries(report.config_diff).map(([k, byRun]) => [k, ...report.runs.map((r) => show(byRun[String(r.id)]))])
  const metrics = [...new Set(report.runs.flatMap((r) => Object.keys(r.summary)))].sort()
  const finals = metrics.map((m) => [m, ...report.runs.map((r) => show(r.summary[m]))])
  const scoreRows = report.scores.columns.length > 1 ? report.scores.columns.map((c) => [c, ...report.runs.map((r) => {
    const text = show(report.scores.runs[String(r.id)]?.[c])
    return text && report.scores.best[c]?.includes(r.id) ? `${text} *` : text
  })]) : []
  return [
    'Config differences',
    diff.length ? formatTable(header, diff) : '(the configs are identical)',
    '',
    'Final metrics',
    finals.length ? formatTable(header, finals) : '(no metrics)',
    ...(scoreRows.length ? ['', 'Dev scores (* best)', formatTable(header, scoreRows)] : []),
  ].join('\n')
}
