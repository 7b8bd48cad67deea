import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { MetricSeries, RunDetail, RunTableRow } from '../../../engine/service/api'
import { useApi } from '../api/client'

/** Every run as a row of the run table (summary, dataset, size, parameters, final metrics, tags, notes). */
export const useRunsStore = defineStore('runs', () => {
  const items = ref<RunTableRow[]>([])
  const selected = ref<RunDetail | null>(null)
  const series = ref<MetricSeries[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)

  async function refresh() {
    loading.value = true
    try {
      items.value = await useApi().call('runs.table', {})
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
      series.value = []
      return
    }
    try {
      const api = useApi()
      ;[selected.value, series.value] = await Promise.all([api.call('runs.get', { id }), api.call('runs.metrics', { id })])
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  /** Tags and notes show at once and roll back when the engine refuses them. */
  async function annotate(id: number, patch: { tags?: string[]; notes?: string }) {
    const i = items.value.findIndex((r) => r.id === id)
    const before = items.value[i]
    if (before) items.value[i] = { ...before, ...patch }
    try {
      const row = await useApi().call('runs.annotate', { id, ...patch })
      const j = items.value.findIndex((r) => r.id === id)
      if (j >= 0) items.value[j] = row
      error.value = null
    } catch (err) {
      const j = items.value.findIndex((r) => r.id === id)
      if (before && j >= 0) items.value[j] = before
      error.value = (err as Error).message
    }
  }

  async function remove(ids: number[]): Promise<{ deleted: number[]; checkpoints: number } | null> {
    try {
      const result = await useApi().call('runs.delete', { runIds: ids })
      items.value = items.value.filter((r) => !result.deleted.includes(r.id))
      if (selected.value && result.deleted.includes(selected.value.id)) await select(null)
      error.value = null
      return result
    } catch (err) {
      error.value = (err as Error).message
      return null
    }
  }

  return { items, selected, series, loading, error, refresh, select, annotate, remove }
})
