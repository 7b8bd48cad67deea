import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { escapeHtml, renderEntities } from '../../../engine/tagging/render'
import type { TaggedDoc } from '../../../engine/tagging/types'

// Golden files were reviewed by eye when written; a change in the renderer must show up as a diff there.
const golden = (name: string) => fs.readFileSync(new URL(`../../fixtures/tagging/${name}`, import.meta.url), 'utf8').trimEnd()

// Hostile text on purpose: markup and quotes in the text, a token that crosses an entity boundary.
const DOC: TaggedDoc = {
  text: '马云<b>在杭州\n创办了"阿里巴巴"',
  tokens: [
    { text: '马云', start: 0, end: 2, pos: 'PROPN', tag: 'nr' },
    { text: '<b>', start: 2, end: 5, pos: 'X', tag: 'x' },
    { text: '在', start: 5, end: 6, pos: 'ADP', tag: 'p' },
    { text: '杭州', start: 6, end: 8, pos: 'PROPN', tag: 'ns' },
    { text: '\n', start: 8, end: 9, pos: 'SPACE', tag: 'x' },
    { text: '创办', start: 9, end: 11, pos: 'VERB', tag: 'v' },
    { text: '了"', start: 11, end: 13, pos: 'PART', tag: 'ul' },
    { text: '阿里巴巴"', start: 13, end: 18, pos: 'PROPN', tag: 'nz' },
  ],
  ents: [
    { text: '马云', start: 0, end: 2, label: 'PERSON' },
    { text: '杭州', start: 6, end: 8, label: 'GPE' },
    { text: '"阿里巴巴"', start: 12, end: 18, label: 'ORG' },
  ],
}

describe('displaCy-like renderer', () => {
  it('renders entities with colours, labels and a legend (golden HTML)', () => {
    expect(renderEntities(DOC, { legend: true })).toBe(golden('render-entities.html'))
  })

  it('renders POS under each token and only the toggled labels (golden HTML)', () => {
    expect(renderEntities(DOC, { showPos: true, labels: ['ORG'] })).toBe(golden('render-pos.html'))
  })

  it('escapes every fragment, labels and colours included', () => {
    const doc: TaggedDoc = {
      text: `<script>alert('x')</script>`,
      tokens: [],
      ents: [{ text: 'script', start: 1, end: 7, label: '<img src=x onerror=alert(1)>' }],
    }
    const html = renderEntities(doc, { legend: true, colors: { '<img src=x onerror=alert(1)>': '"><script>' } })
    expect(html).not.toMatch(/<script|<img/)
    expect(html).toContain(escapeHtml('<img src=x onerror=alert(1)>'))
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;')
  })
})

describe('renderEntities without inline styles (the app, under a strict CSP)', () => {
  it('emits no style attribute but keeps labels, classes and escaping', async () => {
    const { renderEntities } = await import('../../../engine/tagging/render')
    const doc = { text: '<孟子>在邹国', tokens: [], ents: [{ text: '孟子', start: 1, end: 3, label: 'PERSON' }, { text: '邹国', start: 5, end: 7, label: 'GPE' }] }
    const html = renderEntities(doc, { inlineStyles: false, legend: true })
    expect(html).not.toMatch(/style=/)
    expect(html).toContain('<mark class="entity" data-label="PERSON">孟子<span class="label">PERSON</span></mark>')
    expect(html).toContain('&lt;')
    expect(renderEntities(doc, { inlineStyles: false, labels: ['GPE'] })).not.toContain('data-label="PERSON"')
  })
})
