import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { ModelExportResult, ModelImportResult, ModelSummary } from '../../../engine/service/api'
import { useApi } from '../api/client'

export type ExportDtype = 'float32' | 'float16'

export const useModelsStore = defineStore('models', () => {
  const items = ref<ModelSummary[]>([])
  const selectedId = ref<number | null>(null)
  const selected = computed(() => items.value.find((m) => m.id === selectedId.value) ?? null)
  const loading = ref(false)
  /** What is running now ('import', 'export', 'delete'), so that buttons can wait for it. */
  const busy = ref<'import' | 'export' | 'delete' | null>(null)
  const error = ref<string | null>(null)
  /** The outcome of the last import or export, for the user to read. */
  const notice = ref<string | null>(null)
  const lastExport = ref<ModelExportResult | null>(null)

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

  function select(id: number | null) {
    selectedId.value = id
  }

  async function run<T>(what: 'import' | 'export' | 'delete', fn: () => Promise<T>): Promise<T | null> {
    busy.value = what
    notice.value = null
    try {
      const result = await fn()
      error.value = null
      return result
    } catch (err) {
      error.value = (err as Error).message
      return null
    } finally {
      busy.value = null
    }
  }

  /** Imports a HuggingFace BERT folder; selects the new model. */
  async function importFolder(path: string, name?: string): Promise<ModelImportResult | null> {
    const r = await run('import', () => useApi().call('models.import', { path, ...(name ? { name } : {}) }))
    if (r) {
      notice.value = `Imported “${r.name}”: ${r.architecture}, ${(r.parameters / 1e6).toFixed(2)}M parameters`
      await refresh()
      selectedId.value = r.id
    }
    return r
  }

  async function exportModel(id: number, out: string, dtype: ExportDtype): Promise<ModelExportResult | null> {
    const r = await run('export', () => useApi().call('models.export', { id, out, dtype }))
    if (r) {
      lastExport.value = r
      notice.value = `Exported to ${r.out}`
    }
    return r
  }

  async function remove(id: number): Promise<boolean> {
    const r = await run('delete', () => useApi().call('models.delete', { id }))
    if (!r) return false
    if (selectedId.value === id) selectedId.value = null
    await refresh()
    return true
  }

  return { items, selectedId, selected, loading, busy, error, notice, lastExport, refresh, select, importFolder, exportModel, remove }
})
