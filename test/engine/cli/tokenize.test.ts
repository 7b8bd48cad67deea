// `mengzi tokenize` end to end: the fixture's HF encodings through the real command line.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseTokenizeInput } from '../../../engine/text/tokenize-input'
import { runCli } from './run-cli'

const root = path.join(__dirname, '../../..')
const fixtureDir = path.join(root, 'test/fixtures/hf-bert-tiny')
const vocab = path.join(fixtureDir, 'vocab.txt')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-tok-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))
const cases = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'tokenizer_cases.json'), 'utf8'))

function mengzi(args: string[], input?: string) {
  return spawnSync(process.execPath, [path.join(root, 'bin/mengzi.js'), ...args], { cwd: root, input, encoding: 'utf8' })
}

describe('mengzi tokenize', () => {
  it('encodes a JSON array like HF (uncased and cased)', async () => {
    const file = path.join(tmp, 'texts.json')
    fs.writeFileSync(file, JSON.stringify(cases.texts))
    const lines = (await runCli(['tokenize', '--vocab', vocab, '--input', file])).stdout.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.map((l) => l.input_ids)).toEqual(cases.results.BertTokenizer.ids)
    expect(lines.map((l) => l.tokens.slice(1, -1))).toEqual(cases.results.BertTokenizer.tokens)
    expect(lines[0].attention_mask.every((m: number) => m === 1)).toBe(true)
    const casedLines = (await runCli(['tokenize', '--vocab', vocab, '--cased', '--input', file])).stdout.trim().split('\n')
    expect(casedLines.map((l) => JSON.parse(l).input_ids)).toEqual(cases.results.BertTokenizer_cased.ids)
  })

  it('encodes JSON-lines pairs with truncation and padding', async () => {
    const p = cases.results.pairs
    const file = path.join(tmp, 'pairs.jsonl')
    fs.writeFileSync(file, p.pairs.map((x: [string, string]) => JSON.stringify(x)).join('\n') + '\n')
    const out = (await runCli(['tokenize', '--vocab', vocab, '--pair', '--max-length', String(p.max_length), '--input', file])).stdout
    const lines = out.trim().split('\n').map((l) => JSON.parse(l))
    expect(lines.map((l) => l.input_ids)).toEqual(p.input_ids)
    expect(lines.map((l) => l.token_type_ids)).toEqual(p.token_type_ids)
    expect(lines.map((l) => l.attention_mask)).toEqual(p.attention_mask)
  })

  it('reads standard input, and fails with one line naming the input line', async () => {
    // the real command in its own process: stdin in, JSON lines out
    const ok = mengzi(['tokenize', '--vocab', vocab], '"子曰"\n')
    expect(JSON.parse(ok.stdout).tokens).toEqual(['[CLS]', '子', '曰', '[SEP]'])
    const r = mengzi(['tokenize', '--vocab', vocab], '"ok"\n42\n')
    expect(r.status).not.toBe(0)
    expect(r.stderr.trim()).toBe('mengzi: stdin:2: expected a string, got 42')
    const missing = await runCli(['tokenize', '--vocab', '/nonexistent/vocab.txt', '--input', vocab])
    expect(missing.status).not.toBe(0)
    expect(missing.stderr.trim()).toBe('mengzi: /nonexistent/vocab.txt: no such vocabulary file')
  })
})

describe('parseTokenizeInput', () => {
  it('tells a JSON array from JSON lines, and a single pair line from an array of strings', () => {
    expect(parseTokenizeInput('["a", "b"]', false, 's')).toEqual(['a', 'b'])
    expect(parseTokenizeInput('["a", "b"]\n', true, 's')).toEqual([['a', 'b']])
    expect(parseTokenizeInput('[["a", "b"], ["c", "d"]]', true, 's')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ])
    expect(parseTokenizeInput('["a", "b"]\n["c", "d"]\n', true, 's')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ])
    expect(parseTokenizeInput('"a"\n\n"b"', false, 's')).toEqual(['a', 'b'])
    expect(() => parseTokenizeInput('["a", "b"]\n["c"]', true, 's')).toThrow('s:2: expected a pair of strings [a, b], got ["c"]')
  })
})
