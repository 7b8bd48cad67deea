import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { MetricSeries, RunDetail, RunSummary } from '../../../engine/service/api'
import { useApi } from '../api/client'

export const useRunsStore = defineStore('runs', () => {
  const items = ref<RunSummary[]>([])
  const selected = ref<RunDetail | null>(null)
  const series = ref<MetricSeries[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)

  async function refresh() {
    loading.value = true
    try {
      items.value = await useApi().call('runs.list', {})
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

  return { items, selected, series, loading, error, refresh, select }
})
