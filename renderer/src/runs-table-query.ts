// The run table's search, filters and sort as URL query parameters, and back, so that a reload, the Back
// button after Compare, or a shared link shows the same rows in the same order. Defaults are left out
// of the URL; unknown or malformed values fall back to them.

export interface RunsTableState {
  search: string
  status: string
  kind: string
  tag: string
  /** A column: name, kind, status, dataset, model, duration, backend, created, `p:<param>` or `m:<metric>`. */
  sortKey: string
  /** 1 ascending, -1 descending. */
  sortDir: 1 | -1
}

const COLUMNS = ['name', 'kind', 'status', 'dataset', 'model', 'duration', 'backend', 'created']

/** The direction a column sorts in when first clicked: names and final metrics (losses) ascending. */
export const defaultSortDir = (key: string): 1 | -1 => (key.startsWith('m:') || key === 'name' ? 1 : -1)

export const DEFAULT_RUNS_TABLE: RunsTableState = { search: '', status: '', kind: '', tag: '', sortKey: 'created', sortDir: -1 }

export function tableStateToQuery(s: RunsTableState): Record<string, string> {
  const q: Record<string, string> = {}
  if (s.search) q.q = s.search
  if (s.status) q.status = s.status
  if (s.kind) q.kind = s.kind
  if (s.tag) q.tag = s.tag
  if (s.sortKey !== DEFAULT_RUNS_TABLE.sortKey || s.sortDir !== DEFAULT_RUNS_TABLE.sortDir) {
    q.sort = s.sortKey
    q.dir = s.sortDir === 1 ? 'asc' : 'desc'
  }
  return q
}

export function queryToTableState(q: Record<string, unknown>): RunsTableState {
  const str = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : '')
  const key = str('sort')
  const sortKey = COLUMNS.includes(key) || /^[pm]:./.test(key) ? key : DEFAULT_RUNS_TABLE.sortKey
  const dir = str('dir')
  return {
    search: str('q'),
    status: str('status'),
    kind: str('kind'),
    tag: str('tag'),
    sortKey,
    sortDir: dir === 'asc' ? 1 : dir === 'desc' ? -1 : sortKey === DEFAULT_RUNS_TABLE.sortKey ? DEFAULT_RUNS_TABLE.sortDir : defaultSortDir(sortKey),
  }
}
