// What an import leaves in the data folder: only committed datasets; orphans of this database are
// removed, folders it does not own (another database sharing the data folder) never are.
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { importCorpus } from '../../../engine/data/import'
import { FIXTURES, makeHome, type Home } from './helpers'

let home: Home
beforeEach(() => (home = makeHome()))
afterEach(() => home.close())
const poems = path.join(FIXTURES, 'poems.txt')

it('removes its own old orphan folders and stale staging, keeps foreign folders, and never overwrites one', async () => {
  const { datasets, staging } = home.layout
  fs.mkdirSync(datasets, { recursive: true })
  const old = new Date(Date.now() - 3_600_000)
  // an orphan of this database: moved into place, row never committed (crash), an hour ago
  const orphan = path.join(datasets, '7')
  fs.mkdirSync(orphan)
  fs.writeFileSync(path.join(orphan, '.pending'), JSON.stringify({ database: path.resolve(home.layout.database) }))
  fs.utimesSync(path.join(orphan, '.pending'), old, old)
  // a folder of another database sharing this data folder, under the id our next dataset gets
  const foreign = path.join(datasets, '1')
  fs.mkdirSync(foreign)
  fs.writeFileSync(path.join(foreign, 'manifest.json'), '{}')
  fs.utimesSync(foreign, old, old)
  // a staging folder of a process that no longer exists
  const dead = path.join(staging, 'import-999999999-dead')
  fs.mkdirSync(dead, { recursive: true })

  const r = await importCorpus([poems], {}, { db: home.db, layout: home.layout })
  expect(r.dataset!.id).toBe(1)
  expect(path.basename(r.dataset!.dir)).toMatch(/^1-[0-9a-f]{8}$/)
  expect(fs.existsSync(orphan)).toBe(false)
  expect(fs.readFileSync(path.join(foreign, 'manifest.json'), 'utf8')).toBe('{}')
  expect(fs.existsSync(dead)).toBe(false)
  expect(fs.existsSync(path.join(r.dataset!.dir, '.pending'))).toBe(false)
  expect(fs.readdirSync(r.dataset!.dir).sort()).toEqual(['dev-00000.jsonl', 'manifest.json', 'stats.json', 'train-00000.jsonl'])
})
