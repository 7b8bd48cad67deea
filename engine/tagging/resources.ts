// Where the tagger's vendored data lives: resources/tagging/ at the repository (or app) root.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import { WorkbenchError } from '../errors'

export function taggingResourceDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MENGZI_TAGGING_RESOURCES) return path.resolve(env.MENGZI_TAGGING_RESOURCES)
  return fileURLToPath(new URL('../../resources/tagging', import.meta.url))
}

/** Reads a vendored file, gunzipping `*.gz`. */
export function readTaggingResource(relative: string, dir = taggingResourceDir()): Buffer {
  const file = path.join(dir, relative)
  if (!fs.existsSync(file)) {
    throw new WorkbenchError('NOT_FOUND', `tagger resource ${JSON.stringify(file)} is missing (run scripts/vendor-*.py)`)
  }
  const bytes = fs.readFileSync(file)
  return file.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes
}
