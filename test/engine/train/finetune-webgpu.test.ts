// Fine-tuning on webgpu (on CI: lavapipe) with the products' kernels tuned on the device: each class of
// product the TNEWS steps and dev batches record is tuned once, between steps or batches, and logged,
// and the losses and dev metrics are those of an untuned run; a second run in a worker takes the kept
// choices from the tuning cache.
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { setMatmulTuning } from '../../../engine/compute/webgpu/flags'
import { matmulChoices, pendingProducts, resetMatmulChoices } from '../../../engine/compute/webgpu/matmul-choice'
import { finetune } from '../../../engine/train/finetune'
import { finetuneInWorker } from '../../../engine/train/finetune-run-worker'
import { parseFinetuneConfig } from '../../../engine/train/finetune-config'
import { tempDir } from '../../helpers'
import { describeOnWebgpu } from '../compute/webgpu/on-webgpu'
import { importClue, tnewsRecords, wideInitModel } from './finetune-data'

const tmp = tempDir('mengzi-finetune-webgpu-')
afterAll(() => tmp.cleanup())
let config: ReturnType<typeof parseFinetuneConfig>
beforeAll(async () => {
  const init = path.join(tmp.dir, 'start')
  await wideInitModel(init, 0.3)
  const tnews = await importClue(tmp.dir, 'tnews', { 'train.json': tnewsRecords(48, 1), 'dev.json': tnewsRecords(16, 2) })
  config = parseFinetuneConfig({ backend: 'webgpu', task: 'tnews', dataDir: tnews.dir, init, learningRate: 3e-3, batchSize: 8, evalBatchSize: 4, epochs: 1, maxSeqLength: 24, dropout: 0 })
})

describeOnWebgpu('fine-tuning on webgpu', () => {
  it('tunes each new class of product between steps and dev batches, logs it, and keeps an untuned run\'s losses and dev metrics', async () => {
    const previous = setMatmulTuning(false)
    try {
      resetMatmulChoices()
      const losses = (into: number[]) => ({ metrics: (ps: { name: string; value: number }[]) => into.push(...ps.filter((p) => p.name === 'loss').map((p) => p.value)) })
      const plainLosses: number[] = []
      const plain = await finetune(config, { runDir: path.join(tmp.dir, 'untuned') }, losses(plainLosses))
      setMatmulTuning(true)
      const tunedLosses: number[] = []
      const logs: string[] = []
      const tuned = await finetune(config, { runDir: path.join(tmp.dir, 'tuned') }, { ...losses(tunedLosses), log: (line) => logs.push(line) })
      const tunings = logs.filter((l) => l.startsWith('matmul kernels tuned on the device for '))
      // after the first step, and after the first dev batch (4 examples: products of other sizes than training's 8)
      expect(tunings.length).toBe(2)
      expect(logs.indexOf(tunings[1])).toBeGreaterThan(logs.indexOf(tunings[0]))
      expect(pendingProducts()).toEqual([]) // the later dev batches recorded nothing new
      const classes = tunings.map((l) => Number(/for (\d+) product classes/.exec(l)![1])).reduce((a, b) => a + b, 0)
      expect(matmulChoices()).toHaveLength(classes) // each class tuned once
      expect(tunedLosses).toHaveLength(6) // 48 examples in batches of 8
      expect(tunedLosses).toEqual(plainLosses)
      expect(tuned.epochs.map((e) => e.dev)).toEqual(plain.epochs.map((e) => e.dev))
    } finally {
      setMatmulTuning(previous)
      resetMatmulChoices()
    }
  })
  it('warns at the start when a batch at full length would make a tensor too large for one binding, and trains the shorter batches it gets', async () => {
    // 40,000 × 24 tokens at full length: the [960000, 64] feed-forward activations are 245.8 MB, over lavapipe's 134.2 MB
    const wide = parseFinetuneConfig({ ...config, batchSize: 40_000 })
    const logs: string[] = []
    const result = await finetune(wide, { runDir: path.join(tmp.dir, 'warned') }, { log: (line) => logs.push(line) })
    const warnings = logs.filter((l) => l.startsWith('warning: '))
    expect(warnings[0]).toMatch(/^warning: at full length \(40000 × 24 tokens per micro-batch\) the feed-forward activations would be a \[960000, 64\] float32 tensor that takes 245\.8 MB, more than one kernel may bind on this adapter \(maxStorageBufferBindingSize [\d.]+ MB\); a batch that long will fail the run/)
    expect(warnings[1]).toMatch(/^warning: at full length \(40000 × 24 tokens per micro-batch\) the Q, K, V projections would be a \[960000, 96\]/)
    expect(result.epochs).toHaveLength(1) // 48 examples of about 20 tokens: one step, well within the limit
  })

  it('in the fine-tuning worker, keeps the tuned kernels for the next run: it takes them from the cache instead of tuning, with the same losses', async () => {
    const cache = path.join(tmp.dir, 'home', 'cache', 'webgpu-matmul-tuning.json')
    const previous = process.env.MENGZI_WEBGPU_MATMUL_TUNE
    process.env.MENGZI_WEBGPU_MATMUL_TUNE = '1' // 'auto' is off on lavapipe; a worker copies the environment as it starts
    try {
      const run = async (name: string) => {
        const logs: string[] = []
        const losses: number[] = []
        const hooks = { log: (line: string) => logs.push(line), metrics: (ps: { name: string; value: number }[]) => losses.push(...ps.filter((p) => p.name === 'loss').map((p) => p.value)) }
        await finetuneInWorker(config, path.join(tmp.dir, name), hooks, undefined, { tuningCache: cache })
        return { logs, losses }
      }
      const count = (logs: string[], pattern: RegExp) => logs.map((l) => pattern.exec(l)).reduce((n, m) => n + (m ? Number(m[1]) : 0), 0)
      const first = await run('kept-1')
      const tuned = count(first.logs, /^matmul kernels tuned on the device for (\d+) product classes.*; kept for later runs in /)
      expect(tuned).toBeGreaterThan(5)
      const second = await run('kept-2')
      expect(second.logs.filter((l) => l.startsWith('tuning the matrix products'))).toEqual([])
      expect(count(second.logs, /^matmul kernels for (\d+) product classes kept from an earlier tuning on this adapter/)).toBe(tuned)
      expect(second.losses).toHaveLength(6)
      expect(second.losses).toEqual(first.losses)
    } finally {
      if (previous === undefined) delete process.env.MENGZI_WEBGPU_MATMUL_TUNE
      else process.env.MENGZI_WEBGPU_MATMUL_TUNE = previous
    }
  })
})
