// Models as folders in the data folder (layout.models/<id>/: a HuggingFace BERT folder, float32, keys as
// save_pretrained writes them) registered in the database: import from a HuggingFace folder, export to
// one, delete. A folder is complete before its row points at it: files are staged, then moved.
import fs from 'node:fs'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { notFound } from '../errors'
import { readHfCheckpoint, writeHfCheckpoint, type ExportDtype } from '../model/hf-checkpoint'
import type { DataLayout } from '../paths'
import type { Db } from '../store/db'
import { deleteModel, getModel, insertModel, setModelDir, type ModelRow } from '../store/models'

export interface ImportedModel {
  id: number
  name: string
  dir: string
  architecture: string
  tensors: number
  parameters: number
}

/** Validates a HuggingFace BERT folder, copies it into the data folder and registers it. */
export async function importHfModel(db: Db, layout: DataLayout, source: string, name?: string): Promise<ImportedModel> {
  const src = path.resolve(source)
  const ckpt = await readHfCheckpoint(src)
  const staging = path.join(layout.staging, `model-${randomUUID()}`)
  try {
    await writeHfCheckpoint(staging, ckpt, { dtype: 'float32' })
    const config = JSON.parse(fs.readFileSync(path.join(staging, 'config.json'), 'utf8')) as Record<string, unknown>
    const modelName = name?.trim() || path.basename(src)
    const id = insertModel(db, { name: modelName, source: 'imported', dir: staging, config })
    // another database sharing this data folder may have used the id: never overwrite its files
    let dir = path.join(layout.models, String(id))
    if (fs.existsSync(dir)) dir = path.join(layout.models, `${id}-${randomUUID().slice(0, 8)}`)
    try {
      fs.mkdirSync(layout.models, { recursive: true })
      fs.renameSync(staging, dir)
      setModelDir(db, id, dir)
    } catch (err) {
      deleteModel(db, id)
      throw err
    }
    let parameters = 0
    for (const t of ckpt.tensors.values()) parameters += t.data.length
    return { id, name: modelName, dir, architecture: (config.architectures as string[])[0], tensors: ckpt.tensors.size, parameters }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

function modelRow(db: Db, id: number): ModelRow {
  const row = getModel(db, id)
  if (!row) throw notFound(`model ${id} does not exist`)
  return row
}

/** Writes model `id` as a HuggingFace BERT folder that transformers loads. */
export async function exportHfModel(db: Db, id: number, out: string, dtype: ExportDtype = 'float32'): Promise<{ out: string; files: string[] }> {
  const row = modelRow(db, id)
  const ckpt = await readHfCheckpoint(row.dir)
  const dir = path.resolve(out)
  const files = await writeHfCheckpoint(dir, ckpt, { dtype })
  return { out: dir, files }
}

/** Removes a model's row and, when it lives in the data folder, its files. */
export function deleteStoredModel(db: Db, layout: DataLayout, id: number): { deleted: boolean } {
  const row = modelRow(db, id)
  deleteModel(db, id)
  // only folders the workbench owns are removed; a trained model may point elsewhere
  const inside = path.relative(layout.models, row.dir)
  if (inside && !inside.startsWith('..') && !path.isAbsolute(inside)) fs.rmSync(row.dir, { recursive: true, force: true })
  return { deleted: true }
}
