// pytorch_model.bin read without Python: a fixture written by torch 1.13 (test/fixtures/torch-bin/
// make_fixture.py) imports equal to its safetensors twin; a pickle that would run code is refused.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readHfCheckpoint } from '../../../engine/model/hf-checkpoint'
import { readPytorchBin } from '../../../engine/model/pytorch-bin'
import { unpickle } from '../../../engine/model/torch-pickle'
import { readSafetensors } from '../../../engine/model/safetensors'
import { repoRoot, tempDir } from '../../helpers'

const fixtures = path.join(repoRoot, 'test/fixtures/torch-bin')

describe('pytorch_model.bin', () => {
  const tmp = tempDir()
  afterAll(() => tmp.cleanup())

  it('every tensor equals the safetensors twin (strided views, shared storages, int64 buffers included)', async () => {
    const bin = await readPytorchBin(path.join(fixtures, 'bin/pytorch_model.bin'))
    const twin = await readSafetensors(path.join(fixtures, 'safetensors/model.safetensors'))
    expect([...bin.keys()].sort()).toEqual([...twin.keys()].sort())
    for (const [name, t] of twin) {
      expect(bin.get(name)!.shape, name).toEqual(t.shape)
      expect(bin.get(name)!.dtype, name).toBe(t.dtype)
      expect(bin.get(name)!.data, name).toEqual(t.data)
    }
    expect(bin.get('bert.embeddings.position_ids')!.data).toBeInstanceOf(BigInt64Array)
  })

  it('imports as a HuggingFace folder equal to the twin, id2label kept', async () => {
    const a = await readHfCheckpoint(path.join(fixtures, 'bin'))
    const b = await readHfCheckpoint(path.join(fixtures, 'safetensors'))
    expect(a.heads).toEqual(['pooler', 'classifier'])
    expect(a.config.id2label).toEqual({ 0: 'neg', 1: 'neu', 2: 'pos' })
    expect([...a.tensors.keys()]).toEqual([...b.tensors.keys()])
    for (const [name, t] of b.tensors) expect(a.tensors.get(name)!.data, name).toEqual(t.data)
  })

  it('refuses a pickle that calls os.system, in one line, without running it', async () => {
    const marker = '/tmp/mengzi-pwned'
    fs.rmSync(marker, { force: true })
    const dir = path.join(tmp.dir, 'evil')
    fs.mkdirSync(dir)
    for (const f of ['config.json', 'vocab.txt']) fs.copyFileSync(path.join(fixtures, 'bin', f), path.join(dir, f))
    fs.copyFileSync(path.join(fixtures, 'malicious.bin'), path.join(dir, 'pytorch_model.bin'))
    const err = await readHfCheckpoint(dir).then(() => null, (e: Error & { code?: string }) => e)
    expect(err?.code).toBe('UNSUPPORTED')
    expect(err?.message).toMatch(/pytorch_model\.bin!.*data\.pkl: the pickle refers to posix\.system, which a PyTorch state dict never holds; refused/)
    expect(err?.message.split('\n')).toHaveLength(1)
    expect(fs.existsSync(marker)).toBe(false)
  })

  it('refuses opcodes and globals outside the state-dict subset', () => {
    const hooks = { resolve: (m: string, n: string) => { throw new Error(`${m}.${n} refused`) }, persistentLoad: () => null }
    // protocol 2: GLOBAL builtins eval
    expect(() => unpickle(Buffer.from('\x80\x02cbuiltins\neval\n.', 'latin1'), hooks)).toThrow('builtins.eval refused')
    // INST (0x69) can build arbitrary objects: not interpreted at all
    expect(() => unpickle(Buffer.from('(ios\nsystem\n.', 'latin1'), hooks, 'x.pkl')).toThrow(/x\.pkl: opcode 0x69 is not allowed at byte 1/)
    // a REDUCE of a plain value
    expect(() => unpickle(Buffer.from('\x80\x02K\x01)R.', 'latin1'), hooks)).toThrow(/REDUCE of something that is not an allowed callable/)
    // what a state dict does use works
    const ok = unpickle(Buffer.from('\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x05X\x01\x00\x00\x00bG?\xf8\x00\x00\x00\x00\x00\x00u.', 'latin1'), hooks)
    expect(ok).toEqual(new Map<string, number>([['a', 5], ['b', 1.5]]))
  })
})
