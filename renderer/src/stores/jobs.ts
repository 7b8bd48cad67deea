import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { JobInfo, WorkbenchEvent } from '../../../engine/service/api'
import { useApi } from '../api/client'

/** Long-running jobs (import, tagging, training) and their live progress, fed by engine events. */
export const useJobsStore = defineStore('jobs', () => {
  const byId = ref<Record<string, JobInfo>>({})
  const running = computed(() => Object.values(byId.value).filter((j) => j.status === 'running'))

  function apply(event: WorkbenchEvent) {
    if (event.type === 'job') byId.value = { ...byId.value, [event.job.id]: event.job }
  }

  async function refresh() {
    const jobs = await useApi().call('jobs.list', {})
    byId.value = Object.fromEntries(jobs.map((j) => [j.id, j]))
  }

  async function cancel(id: string) {
    return (await useApi().call('jobs.cancel', { id })).cancelled
  }

  return { byId, running, apply, refresh, cancel }
})
