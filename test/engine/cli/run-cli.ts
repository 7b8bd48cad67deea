// Runs the `mengzi` command line in this process (no tsx start-up per call), capturing what it writes.
import { main } from '../../../engine/cli/index'

export interface CliResult {
  status: number
  stdout: string
  stderr: string
}

export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out: string[] = []
  const err: string[] = []
  const writeOut = process.stdout.write.bind(process.stdout)
  const writeErr = process.stderr.write.bind(process.stderr)
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  const capture = (sink: string[]) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined
      done?.()
      return true
    }) as typeof process.stdout.write
  const log = console.log
  process.stdout.write = capture(out)
  process.stderr.write = capture(err)
  console.log = (...a: unknown[]) => void out.push(`${a.join(' ')}\n`)
  Object.assign(process.env, env)
  process.exitCode = undefined
  try {
    const status = await main(args)
    return { status, stdout: out.join(''), stderr: err.join('') }
  } finally {
    process.stdout.write = writeOut
    process.stderr.write = writeErr
    console.log = log
    process.exitCode = undefined
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
