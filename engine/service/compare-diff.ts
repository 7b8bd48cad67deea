// Config diff: nested run configs flattened to dotted keys (`model.preset`), compared across runs.
// Arrays are leaves (compared whole); a key missing from a run reads as null there.

export type ConfigValue = string | number | boolean | null | unknown[]

/** `{model: {preset: 'A'}, lr: 1e-4}` → `{'model.preset': 'A', lr: 1e-4}`; empty objects vanish. */
export function flattenConfig(config: Record<string, unknown>, prefix = '', out: Record<string, ConfigValue> = {}): Record<string, ConfigValue> {
  for (const [key, value] of Object.entries(config)) {
    const dotted = prefix ? `${prefix}.${key}` : key
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) flattenConfig(value as Record<string, unknown>, dotted, out)
    else if (value !== undefined) out[dotted] = value as ConfigValue
  }
  return out
}

export interface DiffRow {
  key: string
  /** One value per run, in the order the runs were given. */
  values: ConfigValue[]
  differs: boolean
}

const same = (a: ConfigValue, b: ConfigValue) => a === b || (Array.isArray(a) && Array.isArray(b) && JSON.stringify(a) === JSON.stringify(b)) || (Number.isNaN(a) && Number.isNaN(b))

/** Every dotted key of any run, sorted, with each run's value and whether they differ. */
export function diffConfigs(configs: Record<string, unknown>[]): DiffRow[] {
  const flat = configs.map((c) => flattenConfig(c))
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort()
  return keys.map((key) => {
    const values = flat.map((f) => (Object.hasOwn(f, key) ? f[key] : null))
    return { key, values, differs: values.some((v) => !same(v, values[0])) }
  })
}

/** Only the differing keys, as `{key: {runId: value}}` (the CLI's `config_diff`). */
export function configDiff(runs: { id: number; config: Record<string, unknown> }[]): Record<string, Record<string, ConfigValue>> {
  const out: Record<string, Record<string, ConfigValue>> = {}
  for (const row of diffConfigs(runs.map((r) => r.config))) {
    if (!row.differs) continue
    out[row.key] = Object.fromEntries(runs.map((r, i) => [String(r.id), row.values[i]]))
  }
  return out
}
