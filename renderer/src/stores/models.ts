import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ModelSummary } from '../../../engine/service/api'
import { useApi } from '../api/client'

export const useModelsStore = defineStore('models', () => {
  const items = ref<ModelSummary[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)

  async function refresh() {
    loading.value = true
    try {
      items.value = await useApi().call('models.list', {})
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    } finally {
      loading.value = false
    }
  }

  return { items, loading, error, refresh }
})
