// Options every command shares, and the one way commands print results.
import type { Command } from 'commander'
import { Workbench } from '../service/workbench'

export interface GlobalOptions {
  db?: string
  json?: boolean
}

/** Adds `--db PATH` and `--json` to a command. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--db <path>', 'experiment database file (default: mengzi.db in the data folder; MENGZI_HOME overrides)')
    .option('--json', 'machine-readable JSON output')
}

export function openWorkbench(opts: GlobalOptions): Workbench {
  return new Workbench({ database: opts.db })
}

/** Runs `fn` with a workbench that is always closed afterwards. */
export async function withWorkbench<T>(opts: GlobalOptions, fn: (wb: Workbench) => Promise<T>): Promise<T> {
  const wb = openWorkbench(opts)
  try {
    return await fn(wb)
  } finally {
    await wb.close()
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/** A plain text table: columns padded to the widest cell (CJK characters count double). */
export function formatTable(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c == null ? '' : String(c))))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => displayWidth(r[i] ?? ''))))
  return cells
    .map((r) => r.map((c, i) => c + ' '.repeat(widths[i] - displayWidth(c))).join('  ').trimEnd())
    .join('\n')
}

function displayWidth(s: string): number {
  let w = 0
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1
  return w
}
