// The run table's search, filters and sort survive a trip through the URL; bad values fall back.
import { describe, expect, it } from 'vitest'
import { DEFAULT_RUNS_TABLE, queryToTableState, tableStateToQuery, type RunsTableState } from '../../renderer/src/runs-table-query'

describe('run table state in the URL', () => {
  it('round-trips search, filters and sort, leaving defaults out', () => {
    const state: RunsTableState = { search: 'lamb lr=3e-4 & #12', status: 'failed', kind: 'pretrain · sweep', tag: 'baseline', sortKey: 'm:dev/loss', sortDir: -1 }
    const query = tableStateToQuery(state)
    expect(query).toEqual({ q: 'lamb lr=3e-4 & #12', status: 'failed', kind: 'pretrain · sweep', tag: 'baseline', sort: 'm:dev/loss', dir: 'desc' })
    expect(queryToTableState(query)).toEqual(state)
    expect(tableStateToQuery(DEFAULT_RUNS_TABLE)).toEqual({})
    expect(queryToTableState({})).toEqual(DEFAULT_RUNS_TABLE)
  })

  it('takes a column without a direction in the direction its header click would', () => {
    expect(queryToTableState({ sort: 'm:loss' })).toMatchObject({ sortKey: 'm:loss', sortDir: 1 })
    expect(queryToTableState({ sort: 'duration' })).toMatchObject({ sortKey: 'duration', sortDir: -1 })
    expect(queryToTableState({ sort: 'p:learningRate', dir: 'asc' })).toMatchObject({ sortKey: 'p:learningRate', sortDir: 1 })
  })

  it('ignores unknown columns, directions and non-string values', () => {
    expect(queryToTableState({ sort: 'colour', dir: 'sideways', q: ['a', 'b'], status: 3 })).toEqual(DEFAULT_RUNS_TABLE)
    expect(queryToTableState({ sort: 'p:' })).toMatchObject({ sortKey: 'created' })
  })
})
