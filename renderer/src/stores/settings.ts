import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { BackendInfo, Settings, VersionInfo } from '../../../engine/service/api'
import { forgottenLine } from '../../../engine/service/backend-lines'
import { useApi } from '../api/client'

export const useSettingsStore = defineStore('settings', () => {
  const settings = ref<Settings | null>(null)
  const version = ref<VersionInfo | null>(null)
  const error = ref<string | null>(null)
  /** The backend ladder on this machine (probed once by the engine, in a worker). */
  const backends = ref<BackendInfo[] | null>(null)

  async function load() {
    const api = useApi()
    try {
      ;[settings.value, version.value] = await Promise.all([api.call('settings.get', {}), api.call('app.version', {})])
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  /** Optimistic: the change shows at once and rolls back if the engine refuses it. */
  async function update(patch: Partial<Pick<Settings, 'theme' | 'backend' | 'spacyPython'>>) {
    const before = settings.value
    if (before) settings.value = { ...before, ...patch }
    try {
      settings.value = await useApi().call('settings.update', patch)
      error.value = null
    } catch (err) {
      settings.value = before
      error.value = (err as Error).message
    }
  }

  async function loadBackends() {
    try {
      backends.value = await useApi().call('backends.list', {})
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  /** What the last forget of the adapter's kept tuning did, or why it failed (shown beside the button). */
  const forgetNotice = ref<string | null>(null)
  const forgetting = ref(false)

  async function forgetTuning() {
    forgetting.value = true
    try {
      const r = await useApi().call('backends.forgetTuning', {})
      backends.value = r.backends
      forgetNotice.value = forgottenLine(r)
    } catch (err) {
      forgetNotice.value = (err as Error).message
    } finally {
      forgetting.value = false
    }
  }

  return { settings, version, error, backends, forgetNotice, forgetting, load, update, loadBackends, forgetTuning }
})
