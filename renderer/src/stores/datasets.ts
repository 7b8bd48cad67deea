import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DatasetDetail, DatasetSamples, DatasetSummary, ImportOutcome, JobInfo, MethodInput } from '../../../engine/service/api'
import { useApi } from '../api/client'

export type ImportOptions = NonNullable<MethodInput<'datasets.import'>['options']>

export const useDatasetsStore = defineStore('datasets', () => {
  const items = ref<DatasetSummary[]>([])
  const selected = ref<DatasetDetail | null>(null)
  const samples = ref<DatasetSamples | null>(null)
  const sampleQuery = ref('')
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** The import in progress (its job id) and the per-file table of the last one that finished. */
  const importJobId = ref<string | null>(null)
  const lastImport = ref<ImportOutcome | null>(null)

  async function attempt<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await fn()
      error.value = null
      return value
    } catch (err) {
      error.value = (err as Error).message
      return undefined
    }
  }

  async function refresh() {
    loading.value = true
    await attempt(async () => (items.value = await useApi().call('datasets.list', {})))
    loading.value = false
  }

  async function select(id: number | null) {
    if (id == null) {
      selected.value = null
      samples.value = null
      return
    }
    await attempt(async () => {
      selected.value = await useApi().call('datasets.get', { id })
      sampleQuery.value = ''
      samples.value = await useApi().call('datasets.samples', { id, offset: 0, limit: 20 })
    })
  }

  /** Starts an import job; its progress and result arrive as job events (see onJob). */
  async function importPaths(paths: string[], options: ImportOptions = {}) {
    if (paths.length === 0) return
    lastImport.value = null
    const started = await attempt(() => useApi().call('datasets.import', { paths, options }))
    if (started) importJobId.value = started.jobId
  }

  function onJob(job: JobInfo) {
    if (job.id !== importJobId.value || job.status === 'running') return
    importJobId.value = null
    if (job.status === 'completed') lastImport.value = job.result as ImportOutcome
    else error.value = job.status === 'cancelled' ? 'Import cancelled: nothing was added.' : job.error
    void refresh()
  }

  async function browse(offset: number, query = sampleQuery.value) {
    const id = selected.value?.id
    if (id == null) return
    sampleQuery.value = query
    await attempt(async () => (samples.value = await useApi().call('datasets.samples', { id, offset: Math.max(0, offset), limit: 20, query: query || undefined })))
  }

  async function rename(id: number, name: string) {
    const renamed = await attempt(() => useApi().call('datasets.rename', { id, name }))
    if (!renamed) return
    items.value = items.value.map((d) => (d.id === id ? renamed : d))
    if (selected.value?.id === id) selected.value = { ...selected.value, name: renamed.name }
  }

  async function remove(id: number) {
    const before = items.value
    items.value = items.value.filter((d) => d.id !== id) // optimistic; restored if the engine refuses
    if (selected.value?.id === id) await select(null)
    const result = await attempt(() => useApi().call('datasets.delete', { id }))
    if (!result) items.value = before
  }

  return { items, selected, samples, sampleQuery, loading, error, importJobId, lastImport, refresh, select, importPaths, onJob, browse, rename, remove }
})
