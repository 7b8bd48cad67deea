#!/usr/bin/env node
// Builds better-sqlite3 for Electron's ABI into resources/native/electron/, beside (not instead of) the
// Node build in node_modules that the CLI and the tests use. Needs internet (Electron headers).
// The app finds it there (main/index.ts) and passes it to better-sqlite3 as `nativeBinding`.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const electronVersion = require('electron/package.json').version
const target = path.join(root, 'resources', 'native', 'electron', 'better_sqlite3.node')
if (process.argv.includes('--if-missing') && fs.existsSync(target)) process.exit(0)
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-sqlite-'))
const source = path.join(root, 'node_modules', 'better-sqlite3')

fs.cpSync(source, path.join(work, 'better-sqlite3'), { recursive: true, filter: (p) => !p.includes(`${path.sep}build${path.sep}`) })
console.log(`building better-sqlite3 for Electron ${electronVersion} in ${work}`)
execFileSync(
  'npx',
  ['--yes', '@electron/rebuild@4.2.1', '--version', electronVersion, '--module-dir', path.join(work, 'better-sqlite3'), '--force'],
  { stdio: 'inherit', cwd: root },
)
const built = path.join(work, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')
fs.mkdirSync(path.dirname(target), { recursive: true })
fs.copyFileSync(built, target)
fs.rmSync(work, { recursive: true, force: true })
console.log(`wrote ${path.relative(root, target)}`)
