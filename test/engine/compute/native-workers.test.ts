// Worker threads come and go (a training run, its cancel, its resume); the native pool's threads stay.
// Node unloads an addon when the last worker that loaded it exits, so the library must stay mapped for
// the pool threads: a second worker after a first one that used the pool hung or crashed the process.
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startWorker } from '../../../engine/worker-thread'
import { tempDir } from '../../helpers'

const tmp = tempDir()
afterAll(() => tmp.cleanup())
let runs = 0

function runOnce(): Promise<{ loss?: number; skipped?: boolean }> {
  const runDir = path.join(tmp.dir, String(++runs))
  const worker = startWorker(new URL('./no-built-entry.js', import.meta.url), new URL('./native-worker-fixture.ts', import.meta.url), { runDir })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker did not answer within 30 s')), 30_000)
    worker.once('message', (m) => {
      clearTimeout(timer)
      void worker.terminate().then(() => resolve(m))
    })
    worker.once('error', reject)
  })
}

describe('@mengzi/native across worker threads', () => {
  it('serves a second and a third worker after the first one that used the pool has exited', async () => {
    const first = await runOnce()
    if (first.skipped) return // no addon on this machine: nothing to pin
    const second = await runOnce()
    const third = await runOnce()
    // the same seed, the same two steps: the same loss each time
    expect(second.loss).toBe(first.loss)
    expect(third.loss).toBe(first.loss)
  }, 120_000)
})
