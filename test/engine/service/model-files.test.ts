// Models through the Workbench API: import a HuggingFace folder into the data folder, list, export,
// import the export again, delete; and `mengzi model import --json` ending with {"id": …}.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Workbench } from '../../../engine/service/workbench'
import { readHfCheckpoint } from '../../../engine/model/hf-checkpoint'
import { runCli } from '../cli/run-cli'

const root = path.join(__dirname, '../../..')
const fixture = path.join(root, 'test/fixtures/hf-bert-tiny')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-models-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe('models.import / export / delete', () => {
  it('copies, registers, exports and re-imports identically, then deletes', async () => {
    const home = path.join(tmp, 'home')
    const wb = new Workbench({ home })
    const events: string[] = []
    wb.subscribe((e) => events.push(e.type))
    try {
      const imported = await wb.call('models.import', { path: fixture, name: 'tiny' })
      expect(imported).toMatchObject({ name: 'tiny', architecture: 'BertForPreTraining', tensors: 46 })
      expect(events).toContain('models.changed')
      const list = await wb.call('models.list', {})
      expect(list.map((m) => m.id)).toEqual([imported.id])
      expect(list[0].config).toMatchObject({ model_type: 'bert', num_hidden_layers: 2, hidden_size: 64, vocab_size: 3259, architectures: ['BertForPreTraining'] })
      const dir = path.join(home, 'models', String(imported.id))
      expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'])
      expect(fs.readdirSync(path.join(home, 'staging'))).toEqual([])

      const out = path.join(tmp, 'exported')
      const exported = await wb.call('models.export', { id: imported.id, out })
      expect(exported.out).toBe(out)
      const again = await wb.call('models.import', { path: out })
      expect(again.name).toBe('exported')
      const a = await readHfCheckpoint(fixture)
      const b = await readHfCheckpoint(path.join(home, 'models', String(again.id)))
      expect(b.config).toEqual(a.config)
      expect(b.vocab).toEqual(a.vocab)
      for (const [name, t] of a.tensors) expect(Buffer.from(b.tensors.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true)

      expect(await wb.call('models.delete', { id: imported.id })).toEqual({ deleted: true })
      expect(fs.existsSync(dir)).toBe(false)
      expect((await wb.call('models.list', {})).map((m) => m.id)).toEqual([again.id])
      await expect(wb.call('models.delete', { id: imported.id })).rejects.toThrow(`model ${imported.id} does not exist`)
      await expect(wb.call('models.export', { id: again.id, out, dtype: 'float16' })).rejects.toThrow('not empty')
    } finally {
      await wb.close()
    }
  })

  it('leaves nothing behind when a folder is refused', async () => {
    const home = path.join(tmp, 'home-refused')
    const wb = new Workbench({ home })
    try {
      await expect(wb.call('models.import', { path: path.join(tmp, 'missing') })).rejects.toThrow('no such directory')
      expect(await wb.call('models.list', {})).toEqual([])
      expect(fs.existsSync(path.join(home, 'models'))).toBe(false)
    } finally {
      await wb.close()
    }
  })
})

describe('mengzi model import / export', () => {
  it('prints {"id": …} as the last JSON line and exports float16', async () => {
    const run = (args: string[]) => runCli(args, { MENGZI_HOME: path.join(tmp, 'cli-home') })
    const r = await run(['model', 'import', fixture, '--name', 'cli', '--json'])
    expect(r.status).toBe(0)
    const last = JSON.parse(r.stdout.trim().split('\n').pop()!)
    expect(last.id).toBeGreaterThan(0)
    const out = path.join(tmp, 'cli-export')
    const e = await run(['export', String(last.id), '--out', out, '--dtype', 'float16', '--json'])
    expect(e.status).toBe(0)
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).dtype).toBe('float16')
    const models = JSON.parse((await run(['models', '--json'])).stdout)
    expect(models.map((m: { name: string }) => m.name)).toEqual(['cli'])
    const bad = await run(['export', String(last.id), '--out', path.join(tmp, 'x'), '--dtype', 'int8'])
    expect(bad.status).not.toBe(0)
    expect(bad.stderr.trim()).toBe('mengzi: --dtype: expected float32 or float16, got "int8"')
  })
})
