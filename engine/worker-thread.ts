// Starts a worker thread on an engine module. A bundled build ships the compiled `.js` entry beside its
// caller; from sources (CLI, tests, `electron-vite dev`) the `.ts` entry runs through tsx. Workers inherit
// neither the parent's module hooks nor `--import` loaders, so a small bootstrap registers tsx's ESM hooks
// in the worker first. tsx is resolved to an absolute URL here, so the cwd does not matter.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { WorkbenchError, type ErrorCode } from './errors'

const nodeRequire = createRequire(import.meta.url)

function tsxEsmApiUrl(): string {
  const pkgPath = nodeRequire.resolve('tsx/package.json')
  const exported = JSON.parse(readFileSync(pkgPath, 'utf8')).exports['./esm/api'].import.default as string
  return pathToFileURL(join(dirname(pkgPath), exported)).href
}

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads')
import(workerData.tsxApi).then((tsx) => { tsx.register(); return import(workerData.entry) })
`

export function startWorker(builtEntry: URL, sourceEntry: URL, workerData: object): Worker {
  if (existsSync(fileURLToPath(builtEntry))) return new Worker(builtEntry, { workerData })
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...workerData, tsxApi: tsxEsmApiUrl(), entry: sourceEntry.href } })
}

const ERROR_CODES = new Set<string>(['BAD_INPUT', 'NOT_FOUND', 'UNSUPPORTED', 'CORRUPT', 'CANCELLED', 'CONFLICT', 'UNAVAILABLE'])

/** Rebuilds an error a worker sent as {code, message}, keeping WorkbenchError codes. */
export function errorFromWorker(error: { code: string; message: string }): Error {
  return ERROR_CODES.has(error.code) ? new WorkbenchError(error.code as ErrorCode, error.message) : new Error(error.message)
}
