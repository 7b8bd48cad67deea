// Waits for a job, drawing its progress on stderr (a bar on a terminal, one line per epoch/run otherwise
// with --json off); Ctrl-C cancels it.
import cliProgress from 'cli-progress'
import type { JobInfo } from '../service/api'
import type { Workbench } from '../service/workbench'
import { badInput } from '../errors'

export async function followJob(wb: Workbench, jobId: string, show: boolean, label: string): Promise<JobInfo> {
  const bar =
    show && process.stderr.isTTY
      ? new cliProgress.SingleBar({ stream: process.stderr, format: `${label} [{bar}] {value}/{total} {unit} · {message}`, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
      : null
  let started = false
  const onSigint = () => wb.jobs.cancel(jobId)
  process.once('SIGINT', onSigint)
  try {
    return await new Promise<JobInfo>((resolve) => {
      const off = wb.subscribe((e) => {
        if (e.type !== 'job' || e.job.id !== jobId) return
        const p = e.job.progress
        if (bar && p && p.total) {
          if (!started) bar.start(p.total, p.done, { message: '', unit: p.unit })
          started = true
          bar.update(p.done, { message: p.message ?? '', unit: p.unit })
        }
        if (e.job.status !== 'running') {
          off()
          resolve(e.job)
        }
      })
      const known = wb.jobs.list().find((j) => j.id === jobId)
      if (known && known.status !== 'running') {
        off()
        resolve(known)
      }
    })
  } finally {
    bar?.stop()
    process.off('SIGINT', onSigint)
  }
}

const collect = (value: string, previous: string[]) => [...previous, value]
export { collect }

/** A positive integer id from a flag, or a one-line error naming the flag. */
export function idFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw badInput(`${name}: expected an id, got ${JSON.stringify(value)}`)
  return n
}
