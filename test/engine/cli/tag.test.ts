// `mengzi tag` end to end through the real command line.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const root = path.join(__dirname, '../../..')

function mengzi(args: string[], env: NodeJS.ProcessEnv = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-tag-'))
  return spawnSync(process.execPath, [path.join(root, 'bin/mengzi.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, MENGZI_HOME: home, ...env },
  })
}

describe('mengzi tag', () => {
  it('prints the JSON array of tagged texts from a file, one per non-empty line', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-tag-')), 'in.txt')
    fs.writeFileSync(file, '张三在北京工作。\n\n花了20美元🙂\n')
    const run = mengzi(['tag', '--input', file, '--json'])
    expect(run.status).toBe(0)
    const docs = JSON.parse(run.stdout)
    expect(docs.map((d: { text: string }) => d.text)).toEqual(['张三在北京工作。', '花了20美元🙂'])
    for (const doc of docs) {
      for (const t of doc.tokens) expect(doc.text.slice(t.start, t.end)).toBe(t.text)
      for (const e of doc.ents) expect(doc.text.slice(e.start, e.end)).toBe(e.text)
      expect(Object.keys(doc.tokens[0]).sort()).toEqual(['end', 'pos', 'start', 'tag', 'text'])
    }
    expect(docs[0].ents.map((e: { label: string }) => e.label)).toEqual(['PERSON', 'GPE'])
    expect(docs[1].ents).toEqual([{ text: '20美元', start: 2, end: 6, label: 'MONEY' }])
  })

  it('prints word/UPOS and entities for people', () => {
    const run = mengzi(['tag', '--text', '张三在北京工作。'])
    expect(run.status).toBe(0)
    expect(run.stdout).toContain('张三/PROPN 在/ADP 北京/PROPN 工作/VERB 。/PUNCT')
    expect(run.stdout).toMatch(/PERSON\s+张三/)
  })

  it('fails with one line on bad arguments and when spaCy is missing', () => {
    const both = mengzi(['tag', '--text', 'a', '--input', 'b'])
    expect(both.status).not.toBe(0)
    expect(both.stderr.trim().split('\n')).toHaveLength(1)
    const spacy = mengzi(['tag', '--text', '北京', '--tagger', 'spacy', '--python', '/nonexistent/python3'])
    expect(spacy.status).not.toBe(0)
    expect(spacy.stderr).toContain('spaCy tagger unavailable')
    expect(spacy.stderr.trim().split('\n')).toHaveLength(1)
  })
})
