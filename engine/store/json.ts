// Columns that hold JSON are parsed once at the query boundary; callers see plain objects.
export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text == null || text === '') return fallback
  return JSON.parse(text) as T
}
