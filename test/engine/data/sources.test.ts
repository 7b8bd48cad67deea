import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { walkPaths, unsafeEntryName } from '../../../engine/data/sources'
import { makeHome, type Home } from './helpers'

let home: Home
beforeEach(() => (home = makeHome()))
afterEach(() => home.close())

it('walks folders recursively in name order, skips hidden files and survives a symlink loop', async () => {
  const root = path.join(home.dir, 'corpus')
  fs.mkdirSync(path.join(root, 'b', 'c'), { recursive: true })
  fs.writeFileSync(path.join(root, 'b', 'c', 'deep.txt'), '前不见古人\n')
  fs.writeFileSync(path.join(root, 'a.txt'), '后不见来者\n')
  fs.writeFileSync(path.join(root, '.DS_Store'), 'x')
  fs.symlinkSync(root, path.join(root, 'b', 'loop'))
  const seen: string[] = []
  for await (const e of walkPaths([root])) seen.push('file' in e ? `file ${path.relative(root, e.file)}` : `${e.status} ${path.relative(root, e.name)}`)
  expect(seen).toEqual(['skipped .DS_Store', 'file a.txt', 'file b/c/deep.txt', 'skipped b/loop'])
})

it('names unsafe zip entries', () => {
  expect(unsafeEntryName('corpus/a.txt')).toBeNull()
  expect(unsafeEntryName('../a.txt')).toMatch(/escapes/)
  expect(unsafeEntryName('a/../../b.txt')).toMatch(/escapes/)
  expect(unsafeEntryName('..\\a.txt')).toMatch(/escapes/)
  expect(unsafeEntryName('/etc/passwd')).toMatch(/absolute/)
  expect(unsafeEntryName('C:\\Windows\\x.txt')).toMatch(/absolute/)
})
