// Shared test helpers: a fresh data folder per test, removed afterwards.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export function tempDir(prefix = 'mengzi-test-'): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

export const repoRoot = path.resolve(import.meta.dirname, '..')
