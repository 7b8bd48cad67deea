import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { DatasetDetail, DatasetSamples, DatasetSummary, ImportOutcome, MethodInput } from '../../../engine/service/api'
import { useApi } from '../api/client'
import { useJobsStore } from './jobs'

export type ImportOptions = NonNullable<MethodInput<'datasets.import'>['options']>

export const SAMPLE_PAGE = 20

export const useDatasetsStore = defineStore('datasets', () => {
  const items = ref<DatasetSummary[]>([])
  const selected = ref<DatasetDetail | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** The import this window started last; its job (progress, then result) lives in the jobs store. */
  const importJobId = ref<string | null>(null)
  const samples = ref<DatasetSamples | null>(null)
  const sampleOffset = ref(0)
  const sampleQuery = ref('')
  const samplesError = ref<string | null>(null)

  const importJob = computed(() => (importJobId.value ? (useJobsStore().byId[importJobId.value] ?? null) : null))
  const importOutcome = computed(() => (importJob.value?.status === 'completed' ? (importJob.value.result as ImportOutcome) : null))

  async function refresh() {
    loading.value = true
    try {
      items.value = await useApi().call('datasets.list', {})
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    } finally {
      loading.value = false
    }
  }

  async function select(id: number | null) {
    if (id == null) {
      selected.value = null
      samples.value = null
      return
    }
    try {
      selected.value = await useApi().call('datasets.get', { id })
      error.value = null
      sampleQuery.value = ''
      await loadSamples(0)
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  async function startImport(paths: string[], options: ImportOptions) {
    try {
      const { jobId } = await useApi().call('datasets.import', { paths, options })
      importJobId.value = jobId
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  async function rename(id: number, name: string) {
    try {
      await useApi().call('datasets.rename', { id, name })
      if (selected.value?.id === id) selected.value = { ...selected.value, name: name.trim() }
      await refresh()
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  async function remove(id: number) {
    try {
      await useApi().call('datasets.delete', { id })
      if (selected.value?.id === id) await select(null)
      await refresh()
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  /** A page of records from `offset` (a line number to jump to), filtered by the current query. */
  async function loadSamples(offset: number) {
    if (!selected.value) return
    try {
      sampleOffset.value = Math.max(0, offset)
      samples.value = await useApi().call('datasets.samples', {
        id: selected.value.id,
        offset: sampleOffset.value,
        limit: SAMPLE_PAGE,
        query: sampleQuery.value.trim() || undefined,
      })
      samplesError.value = null
    } catch (err) {
      samples.value = null
      samplesError.value = (err as Error).message
    }
  }

  return {
    items,
    selected,
    loading,
    error,
    importJobId,
    importJob,
    importOutcome,
    samples,
    sampleOffset,
    sampleQuery,
    samplesError,
    refresh,
    select,
    startImport,
    rename,
    remove,
    loadSamples,
  }
})
