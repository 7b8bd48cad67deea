// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import type { DiffRow, ScoreTable } from '../../engine/service/api'
import CompareViewDiff from '../../renderer/src/components/CompareViewDiff.vue'
import CompareViewScores from '../../renderer/src/components/CompareViewScores.vue'

const rows: DiffRow[] = [
  { key: 'batchSize', values: [16, 16, 16], differs: false },
  { key: 'model.preset', values: ['A', 'B', 'A'], differs: true },
  { key: 'task', values: [null, null, 'afqmc'], differs: true },
]

describe('CompareViewDiff', () => {
  it('hides agreeing keys with "differences only" and marks the cells that differ from the first run', async () => {
    const w = mount(CompareViewDiff, { props: { rows, names: ['a', 'b', 'c'], colors: ['red', 'green', 'blue'], diffOnly: true } })
    expect(w.findAll('tbody th').map((th) => th.text())).toEqual(['model.preset', 'task'])
    expect(w.findAll('td.diff-cell').map((td) => td.text())).toEqual(['B', 'afqmc'])
    expect(w.text()).toContain('2 of 3 keys differ')
    expect(w.find('colgroup').exists()).toBe(false) // a few runs: every column, sized by its contents
    await w.get('input[name=diff-only]').setValue(false)
    expect(w.emitted('update:diffOnly')).toEqual([[false]])
    await w.setProps({ diffOnly: false })
    expect(w.findAll('tbody th').map((th) => th.text())).toEqual(['batchSize', 'model.preset', 'task'])
    expect(w.findAll('tbody tr')[2].findAll('td').map((td) => td.text())).toEqual(['—', '—', 'afqmc'])
  })
  it('builds only the columns in view for hundreds of runs, and follows the horizontal scroll', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `run ${i}`)
    const many: DiffRow[] = [
      { key: 'learningRate', values: names.map((_, i) => [1e-4, 2e-4][i % 2]), differs: true },
      { key: 'seed', values: names.map((_, i) => i), differs: true },
    ]
    const w = mount(CompareViewDiff, { props: { rows: many, names, colors: names.map(() => 'red'), diffOnly: false }, attachTo: document.body })
    const headers = () => w.findAll('thead th[scope=col]').map((th) => th.text()).slice(1)
    // 1,280 px assumed before layout (happy-dom lays nothing out): ten columns of 136 px and two beyond
    expect(headers()).toEqual(names.slice(0, 12))
    expect(w.findAll('tbody tr')[1].findAll('td:not(.gap)').map((td) => td.text())).toEqual(names.slice(0, 12).map((_, i) => String(i)))
    // the table keeps the width of all 200 columns, so the scroll bar is the whole table's
    expect(w.get('table').attributes('style')).toContain(`width: ${200 + 200 * 136}px`)
    expect(w.get('table').attributes('aria-colcount')).toBe('201')
    const scroller = w.get('.scroll-x').element as HTMLDivElement
    scroller.scrollLeft = 200 + 100 * 136
    await w.get('.scroll-x').trigger('scroll')
    await new Promise((r) => requestAnimationFrame(() => r(null)))
    await w.vm.$nextTick()
    expect(headers()).toEqual(names.slice(98, 112))
    expect(w.find('thead th[aria-colindex="100"]').text()).toBe('run 98')
    w.unmount()
  })
})

describe('CompareViewScores', () => {
  it('shows tasks as columns with the average, and stars the best of each column', () => {
    const scores: ScoreTable = {
      columns: ['afqmc', 'dev/loss'],
      metricOf: { afqmc: 'accuracy', 'dev/loss': 'dev/loss' },
      rows: [
        { runId: 1, scores: { afqmc: 71.5, 'dev/loss': 2.2 }, average: 71.5 },
        { runId: 2, scores: { afqmc: 74, 'dev/loss': null }, average: 74 },
      ],
      best: { afqmc: [2], 'dev/loss': [1], average: [2] },
    }
    const w = mount(CompareViewScores, { props: { scores, names: new Map([[1, 'lamb'], [2, 'adamw']]), colorOf: () => 'red' } })
    expect(w.findAll('thead th').map((th) => th.text())).toEqual(['Run', 'afqmc', 'dev/loss', 'Average'])
    const [lamb, adamw] = w.findAll('tbody tr')
    expect(lamb.findAll('td').map((td) => td.text())).toEqual(['71.50', '2.20 ★', '71.50'])
    expect(adamw.findAll('td').map((td) => td.text())).toEqual(['74.00 ★', '—', '74.00 ★'])
    expect(w.findAll('td.best')).toHaveLength(3)
  })
})
