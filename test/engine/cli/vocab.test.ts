// `mengzi vocab` on real text (the Analects from chinese-poetry, one paragraph per line).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { poetry } from '../../../engine/text/local-corpus'
import { loadVocab } from '../../../engine/text/vocab'

const root = path.join(__dirname, '../../..')

describe('mengzi vocab', () => {
  it('writes a loadable vocab.txt and reports coverage as JSON', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-vocab-'))
    const input = path.join(dir, 'lunyu.txt')
    fs.writeFileSync(input, [...poetry(['lunyu'])].join('\n'))
    const out = path.join(dir, 'vocab.txt')
    const r = spawnSync(process.execPath, [path.join(root, 'bin/mengzi.js'), 'vocab', '--input', input, '--out', out, '--size', '1000', '--json'], { cwd: root, encoding: 'utf8' })
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
})
