// Killing the importing process (SIGKILL, no chance to clean up) must leave the database consistent and
// nothing registered; the next import cleans the leftovers and succeeds.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { importCorpus } from '../../../engine/data/import'
import { openDatabase } from '../../../engine/store/db'
import { fixtureLines, makeHome, type Home } from './helpers'

const ROOT = path.resolve(__dirname, '../../..')
let home: Home
beforeEach(() => (home = makeHome()))
afterEach(() => home.close())

function shardBytes(staging: string): number {
  if (!fs.existsSync(staging)) return 0
  let n = 0
  for (const run of fs.readdirSync(staging)) {
    const data = path.join(staging, run, 'data')
    if (fs.existsSync(data)) for (const f of fs.readdirSync(data)) n += fs.statSync(path.join(data, f)).size
  }
  return n
}

it('SIGKILL mid-import leaves a consistent database with no dataset, and the re-import succeeds', async () => {
  const docs = fixtureLines('poems.txt')
  const corpus = path.join(home.dir, 'corpus.jsonl')
  const fd = fs.openSync(corpus, 'w')
  for (let i = 0; i < 80_000; i++) fs.writeSync(fd, `${JSON.stringify({ id: i, text: `${i}：${docs[i % docs.length]}` })}\n`)
  fs.closeSync(fd)
  const db = path.join(home.dir, 'child.db')
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/mengzi.js'), 'import', corpus, '--db', db, '--json'], {
    env: { ...process.env, MENGZI_HOME: home.dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  // Wait until the child has written shard data into its staging folder, then kill it without warning.
  const deadline = Date.now() + 60_000
  while (shardBytes(home.layout.staging) === 0) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the child never got to write shards: ${output}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  child.kill('SIGKILL')
  expect(await exited).toBeNull() // killed, not finished
  expect(fs.readdirSync(home.layout.staging).length).toBe(1) // its half-written staging folder remains

  const after = openDatabase(db)
  try {
    expect(after.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(after.pragma('foreign_key_check')).toEqual([])
    expect(after.prepare('SELECT COUNT(*) AS n FROM datasets').get()).toEqual({ n: 0 })
    expect(after.prepare('SELECT COUNT(*) AS n FROM dataset_files').get()).toEqual({ n: 0 })
    const result = await importCorpus([corpus], {}, { db: after, layout: home.layout })
    expect(result.files[0]).toMatchObject({ status: 'imported', records: 80_000 })
    expect(after.prepare('SELECT COUNT(*) AS n FROM datasets').get()).toEqual({ n: 1 })
    expect(fs.readdirSync(home.layout.staging)).toEqual([]) // the dead process's staging folder is gone
    expect(fs.readdirSync(home.layout.datasets)).toEqual([String(result.dataset!.id)])
  } finally {
    after.close()
  }
})
