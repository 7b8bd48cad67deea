import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { DatasetSample, JobInfo, TagPreview, TagSummary } from '../../../engine/service/api'
import { useApi } from '../api/client'

export type TaggerName = 'builtin' | 'spacy'

/** The Tags view's state: the text being previewed, its tags, and sentences picked from a dataset. */
export const useTagsStore = defineStore('tags', () => {
  const text = ref('孟子见梁惠王。王曰：“叟不远千里而来，亦将有以利吾国乎？”2021年10月，澜舟科技在北京发布了孟子预训练模型，参数量约1亿。')
  const tagger = ref<TaggerName>('builtin')
  /** Project onto this model's vocab; null uses the bundled vocab. */
  const modelId = ref<number | null>(null)
  const preview = ref<TagPreview | null>(null)
  const sentences = ref<DatasetSample[]>([])
  const loading = ref(false)
  const error = ref<string | null>(null)
  /** Tag distribution of a whole dataset (cached beside its shards), and the tagging job filling it. */
  const summary = ref<TagSummary | null>(null)
  const summaryJobId = ref<string | null>(null)
  let latest = 0

  async function tag() {
    const request = ++latest // typing fast: only the newest answer is shown
    if (text.value.trim() === '') {
      preview.value = null
      return
    }
    loading.value = true
    try {
      const result = await useApi().call('tags.preview', { text: text.value, tagger: tagger.value, modelId: modelId.value ?? undefined })
      if (request === latest) {
        preview.value = result
        error.value = null
      }
    } catch (err) {
      if (request === latest) {
        preview.value = null
        error.value = (err as Error).message
      }
    } finally {
      if (request === latest) loading.value = false
    }
  }

  async function loadSentences(datasetId: number, query?: string) {
    try {
      sentences.value = (await useApi().call('datasets.samples', { id: datasetId, offset: 0, limit: 30, query: query || undefined })).items
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  async function loadSummary(datasetId: number) {
    try {
      summary.value = await useApi().call('tags.summary', { id: datasetId })
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  async function tagDataset(datasetId: number) {
    try {
      summaryJobId.value = (await useApi().call('tags.dataset', { id: datasetId, tagger: tagger.value })).jobId
      error.value = null
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  function onJob(job: JobInfo, datasetId: number | null) {
    if (job.id !== summaryJobId.value || job.status === 'running') return
    summaryJobId.value = null
    if (job.status === 'completed' && datasetId != null) void loadSummary(datasetId)
    else if (job.status === 'failed') error.value = job.error
  }

  return { text, tagger, modelId, preview, sentences, loading, error, summary, summaryJobId, tag, loadSentences, loadSummary, tagDataset, onJob }
})
