// `mengzi vocab` on real text (the Analects from chinese-poetry, one paragraph per line).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { poetry } from '../../../engine/text/local-corpus'
import { loadVocab } from '../../../engine/text/vocab'
import { runCli } from './run-cli'

describe('mengzi vocab', () => {
  it('writes a loadable vocab.txt and reports coverage as JSON', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-vocab-'))
    const input = path.join(dir, 'lunyu.txt')
    fs.writeFileSync(input, [...poetry(['lunyu'])].join('\n'))
    const out = path.join(dir, 'vocab.txt')
    const r = await runCli(['vocab', '--input', input, '--out', out, '--size', '1000', '--json'])
    expect(r.status).toBe(0)
    const stats = JSON.parse(r.stdout)
    const vocab = loadVocab(out)
    expect(vocab.size).toBe(stats.size)
    expect(vocab.size).toBeLessThanOrEqual(1000)
    expect(vocab.idOf('[CLS]')).toBe(101)
    expect(vocab.idOf('子')).toBeDefined()
    expect(stats.cjkCoverage).toBeGreaterThan(0.9)
    expect(stats.documents).toBe(fs.readFileSync(input, 'utf8').split('\n').filter((l) => l.trim()).length)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('builds from an imported dataset', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-vocab-ds-'))
    const env = { MENGZI_HOME: path.join(dir, 'home') }
    const input = path.join(dir, 'lunyu.txt')
    const paragraphs = [...poetry(['lunyu'])].join('\n').split('\n')
    fs.writeFileSync(input, paragraphs.join('\n'))
    const imported = await runCli(['import', input, '--name', 'lunyu', '--json'], env)
    expect(imported.status).toBe(0)
    const id = JSON.parse(imported.stdout.trim().split('\n').pop()!).dataset.id as number
    const out = path.join(dir, 'vocab.txt')
    const r = await runCli(['vocab', '--dataset', String(id), '--out', out, '--size', '1000', '--json'], env)
    expect(r.stderr).toBe('')
    const stats = JSON.parse(r.stdout)
    expect(stats.documents).toBe(paragraphs.filter((p) => p.trim()).length)
    expect(loadVocab(out).idOf('曰')).toBeDefined()
    const neither = await runCli(['vocab', '--out', out], env)
    expect(neither.stderr.trim()).toBe('mengzi: give either --dataset ID or --input FILE...')
    fs.rmSync(dir, { recursive: true, force: true })
  })
})
