// Whether a process id names a live process on this host, for locks and leases left by a process that
// may have died. EPERM means it exists but belongs to another user.

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
