// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import type { DiffRow, ScoreTable } from '../../engine/service/api'
import CompareViewDiff from '../../renderer/src/components/CompareViewDiff.vue'
import CompareViewLegend from '../../renderer/src/components/CompareViewLegend.vue'
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

describe('CompareViewLegend', () => {
  const legend = (n: number) => {
    const names = Array.from({ length: n }, (_, i) => `run ${i}`)
    return mount(CompareViewLegend, {
      props: { metric: 'loss', names, colors: names.map(() => 'red'), values: names.map((_, i) => String(i / 10)), skipped: names.map((_, i) => (i === 3 ? 'no loss series' : undefined)) },
      attachTo: document.body,
    })
  }
  const shown = (w: ReturnType<typeof legend>) => w.findAll('li .legend-name').map((s) => s.text())

  it('names every run in its colour with its value, and a dash with the reason for a run without a line', () => {
    const w = legend(6)
    expect(shown(w)).toEqual(['run 0', 'run 1', 'run 2', 'run 3', 'run 4', 'run 5'])
    expect(w.findAll('li .legend-value').map((s) => s.text())).toEqual(['0', '0.1', '0.2', '—', '0.4', '0.5'])
    expect(w.findAll('li')[3].attributes('title')).toBe('no loss series')
    expect(w.findAll('li.spacer')).toHaveLength(0)
    w.unmount()
  })

  it('keeps only the rows in view of hundreds of runs, the rest stood in for by spacers, and follows the scroll', async () => {
    const w = legend(200)
    // 4 columns until measured; rows of 18 px in a 150 px box: 9 rows in view and 2 below
    expect(shown(w)).toEqual(Array.from({ length: 44 }, (_, i) => `run ${i}`))
    const spacers = () => w.findAll('li.spacer').map((li) => li.attributes('style'))
    expect(spacers()).toEqual([`height: ${(50 - 11) * 18 - 2}px;`])
    const ul = w.get('ul').element as HTMLUListElement
    ul.scrollTop = 25 * 18 // row 25 of 50 at the top
    await w.get('ul').trigger('scroll')
    await new Promise((r) => requestAnimationFrame(() => r(null)))
    await w.vm.$nextTick()
    // rows 23–35 (the view is rows 25–33; two more either side): runs 92–143
    expect(shown(w)).toEqual(Array.from({ length: 52 }, (_, i) => `run ${92 + i}`))
    expect(spacers()).toEqual([`height: ${23 * 18 - 2}px;`, `height: ${(50 - 36) * 18 - 2}px;`])
    expect(w.findAll('li .legend-value')[0].text()).toBe('9.2')
    w.unmount()
  })
})
