import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openSource } from '../../../engine/train/data'

const fixture = path.join(__dirname, '../../fixtures/hf-bert-tiny')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-data-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe('sources', () => {
  it('tokenizes a text file with the vocab and splits long lines', async () => {
    const file = path.join(tmp, 'text.txt')
    fs.writeFileSync(file, '子曰：学而时习之，不亦说乎？\n\n有朋自远方来，不亦乐乎？人不知而不愠，不亦君子乎？\n')
    const { source, specials } = await openSource({ kind: 'text-file', path: file, vocab: path.join(fixture, 'vocab.txt') }, 3259, 12)
    expect(specials).toEqual({ pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 })
    // 14 + 25 characters (one token each) in segments of at most 10
    expect(Array.from({ length: source.size }, (_, i) => source.get(i).length)).toEqual([10, 4, 10, 10, 5])
  })

  it('reads token files and names the bad line', async () => {
    const good = path.join(tmp, 'ids.jsonl')
    fs.writeFileSync(good, '[200, 201]\n\n[5]\n')
    const { source } = await openSource({ kind: 'token-file', path: good }, 300, 16)
    expect(Array.from(source.get(0))).toEqual([200, 201])
    expect(source.size).toBe(2)
    const bad = path.join(tmp, 'bad.jsonl')
    fs.writeFileSync(bad, '[1]\n[1, 400]\n')
    await expect(openSource({ kind: 'token-file', path: bad }, 300, 16)).rejects.toThrow(`${bad}:2: expected an array of token ids in [0, 300)`)
  })
})
