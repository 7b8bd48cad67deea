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
    await w.get('input[name=diff-only]').setValue(false)
    expect(w.emitted('update:diffOnly')).toEqual([[false]])
    await w.setProps({ diffOnly: false })
    expect(w.findAll('tbody th').map((th) => th.text())).toEqual(['batchSize', 'model.preset', 'task'])
    expect(w.findAll('tbody tr')[2].findAll('td').map((td) => td.text())).toEqual(['—', '—', 'afqmc'])
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
