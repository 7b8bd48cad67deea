// Starting `torchrun` (python -m torch.distributed.run, so the interpreter the probe found is the one that
// runs) on a job folder, and stopping it: a STOP file first (the trainer checkpoints and ends at the next
// step boundary), then SIGTERM to the whole process group, then SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

export interface TorchrunSpec {
  python: string
  /** The trainer entry (the job folder's trainer/train.py) and job.json. */
  script: string
  job: string
  runDir: string
  nprocPerNode: number
  maxRestarts: number
  /** The rendezvous port on 127.0.0.1 (a free one by default). */
  port: number
  rdzvId: string
}

/** torchrun's arguments for one machine (rendezvous on loopback: no fixed port shared between runs). */
export function torchrunArgs(spec: Omit<TorchrunSpec, 'python'>): string[] {
  return [
    '--nnodes', '1',
    '--nproc_per_node', String(spec.nprocPerNode),
    '--max_restarts', String(spec.maxRestarts),
    '--rdzv_backend', 'c10d',
    '--rdzv_endpoint', `127.0.0.1:${spec.port}`,
    '--rdzv_id', spec.rdzvId,
    '--monitor_interval', '1',
    // each rank's stderr to logs/ and, prefixed, to torchrun's own; explicit because torch 1.13's
    // defaults ("0") fail to parse under Python 3.11 (IntFlag iteration skips NONE)
    '--redirects', '2', '--tee', '2', '--log_dir', path.join(spec.runDir, 'logs'),
    spec.script, '--job', spec.job, '--run-dir', spec.runDir,
  ]
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
}

export interface TorchrunProcess {
  child: ChildProcess
  /** Resolves when torchrun exits: its exit code (null when killed) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Ask for a graceful stop (checkpoint), escalating after `graceMs`. */
  stop(graceMs?: number): void
  /** The log file torchrun's and the workers' output go to. */
  log: string
}

export function startTorchrun(spec: TorchrunSpec, env: NodeJS.ProcessEnv = process.env): TorchrunProcess {
  const log = path.join(spec.runDir, 'torchrun.log')
  const out = fs.openSync(log, 'a')
  const child = spawn(spec.python, ['-m', 'torch.distributed.run', ...torchrunArgs(spec)], {
    cwd: spec.runDir,
    env: { PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: '1', ...env },
    stdio: ['ignore', out, out],
    detached: true, // its own process group: stopping reaches every worker
  })
  fs.closeSync(out)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
    child.on('error', () => resolve({ code: null, signal: null }))
  })
  let timers: NodeJS.Timeout[] = []
  void exited.then(() => timers.forEach(clearTimeout))
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal)
    } catch {
      // already gone
    }
  }
  return {
    child,
    exited,
    log,
    stop(graceMs = 60_000) {
      fs.writeFileSync(path.join(spec.runDir, 'STOP'), new Date().toISOString())
      timers = [setTimeout(() => signalGroup('SIGTERM'), graceMs), setTimeout(() => signalGroup('SIGKILL'), graceMs + 10_000)]
      timers.forEach((t) => t.unref())
    },
  }
}

/**
 * Why a torchrun ended badly, in one line: a rank that died by a signal (torchrun's failure summary
 * says which), else the trainer's own reason (`mengzi-trainer: …`, the first: the other ranks then fail
 * on a closed connection), else the log's last line.
 */
export function failureReason(log: string): string | null {
  let text: string
  try {
    text = fs.readFileSync(log, 'utf8')
  } catch {
    return null
  }
  const summary = text.slice(text.lastIndexOf('Failures:'))
  if (summary.length < text.length) {
    for (const entry of summary.split(/\n\[\d+\]:\n/).slice(1)) {
      const rank = /rank\s*:\s*(\d+)/.exec(entry)?.[1]
      const exit = Number(/exitcode\s*:\s*(-?\d+)/.exec(entry)?.[1])
      const trace = /traceback\s*:\s*(.*)/.exec(entry)?.[1]?.trim()
      if (rank !== undefined && exit < 0) return `rank ${rank} died (${trace ?? `signal ${-exit}`})`
    }
  }
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean)
  const own = lines.find((l) => l.includes('mengzi-trainer: '))
  if (own) return own.slice(own.indexOf('mengzi-trainer: ') + 'mengzi-trainer: '.length)
  return lines.at(-1) ?? null
}
