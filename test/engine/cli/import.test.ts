import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { listDatasets } from '../../../engine/store/datasets'
import { openDatabase } from '../../../engine/store/db'

const ROOT = path.resolve(__dirname, '../../..')
const FIXTURES = path.join(ROOT, 'test/fixtures/import')
let home: string
beforeAll(() => (home = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-cli-import-'))))
afterAll(() => fs.rmSync(home, { recursive: true, force: true }))

const mengzi = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'bin/mengzi.js'), ...args, '--db', path.join(home, 'cli.db')], {
    env: { ...process.env, MENGZI_HOME: home },
    encoding: 'utf8',
  })

it('prints {dataset, files} with --json and exits 0 when something was imported', () => {
  const r = mengzi('import', path.join(FIXTURES, 'poems.txt'), path.join(FIXTURES, 'zips/traversal.zip'), '--name', '唐诗', '--dev-ratio', '0', '--json')
  expect(r.status).toBe(0)
  const out = JSON.parse(r.stdout)
  expect(out.dataset).toMatchObject({ name: '唐诗', kind: 'text', records: 40 })
  expect(out.files.map((f: { status: string }) => f.status)).toEqual(['imported', 'failed'])
  for (const f of out.files) expect(Object.keys(f)).toEqual(expect.arrayContaining(['file', 'status', 'reason', 'records', 'encoding', 'task', 'errors']))
  const db = openDatabase(path.join(home, 'cli.db'), { readonly: true })
  expect(listDatasets(db).map((d) => d.name)).toEqual(['唐诗'])
  db.close()
})

it('exits non-zero only when nothing could be imported, and on bad options', () => {
  const none = mengzi('import', path.join(FIXTURES, 'zips/bomb.zip'), '--json')
  expect(none.status).toBe(1)
  expect(JSON.parse(none.stdout).dataset).toBeNull()
  const bad = mengzi('import', path.join(FIXTURES, 'poems.txt'), '--dev-ratio', '2')
  expect(bad.status).toBe(2)
  expect(bad.stderr.trim()).toBe('mengzi: --dev-ratio: must be a number in [0, 1), got "2"')
})
