// The text of an imported dataset (engine/data's JSON-lines shards), as a stream of documents for the
// vocab builder: a text dataset's `text`, or every text field of a task record (sentences, contexts,
// choices), never ids or labels.
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import zlib from 'node:zlib'
import { readManifest } from '../data/shards'

const NOT_TEXT = new Set(['id', 'label', 'label_desc', 'label_des', 'genre', 'prem_id', 'level', 'answer_start', 'idx'])

export async function* datasetTexts(dir: string): AsyncGenerator<string> {
  const manifest = readManifest(dir)
  for (const shard of manifest.shards) {
    let input: NodeJS.ReadableStream = fs.createReadStream(path.join(dir, shard.file))
    if (shard.file.endsWith('.gz')) input = input.pipe(zlib.createGunzip())
    const rl = readline.createInterface({ input, crlfDelay: Infinity })
    for await (const line of rl) {
      if (!line) continue
      const record = JSON.parse(line) as Record<string, unknown>
      if (typeof record.text === 'string') yield record.text
      else for (const t of textFields(record)) yield t
    }
  }
}

function textFields(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (value.trim()) out.push(value)
  } else if (Array.isArray(value)) for (const v of value) textFields(v, out)
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) if (!NOT_TEXT.has(k)) textFields(v, out)
  return out
}
