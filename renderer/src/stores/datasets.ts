import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DatasetDetail, DatasetSummary } from '../../../engine/service/api'
import { useApi } from '../api/client'

export const useDatasetsStore = defineStore('datasets', () => {
  const items = ref<DatasetSummary[]>([])
  const selected = ref<DatasetDetail | null>(null)
  const loading = ref(false)
  const error = ref<string | null>(null)

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
    if (id == null) return void (selected.value = null)
    try {
      selected.value = await useApi().call('datasets.get', { id })
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  return { items, selected, loading, error, refresh, select }
})
