import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { MetricSeries } from '../../../engine/service/api'
import { useApi } from '../api/client'

/** Runs picked for side-by-side comparison and their metric series, keyed by run id. */
export const useCompareStore = defineStore('compare', () => {
  const runIds = ref<number[]>([])
  const seriesByRun = ref<Record<number, MetricSeries[]>>({})
  const error = ref<string | null>(null)

  const metricNames = computed(() => {
    const names = new Set<string>()
    for (const list of Object.values(seriesByRun.value)) for (const s of list) names.add(s.name)
    return [...names].sort()
  })

  async function toggle(id: number) {
    if (runIds.value.includes(id)) {
      runIds.value = runIds.value.filter((r) => r !== id)
      const { [id]: _dropped, ...rest } = seriesByRun.value
      seriesByRun.value = rest
      return
    }
    runIds.value = [...runIds.value, id]
    try {
      seriesByRun.value = { ...seriesByRun.value, [id]: await useApi().call('runs.metrics', { id }) }
      error.value = null
    } catch (err) {
      runIds.value = runIds.value.filter((r) => r !== id)
      error.value = (err as Error).message
    }
  }

  return { runIds, seriesByRun, metricNames, error, toggle }
})
