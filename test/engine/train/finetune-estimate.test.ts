// The Fine-tune form's estimate against what fine-tuning runs do on the same data: the steps they take
// (CMRC2018's windows, C3's choices, augmentation's copies), the parameters they save, the padded length
// of a random batch, and what each strategy adds to memory and FLOPs.
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Rng } from '../../../engine/compute/rng'
import { readBertConfig } from '../../../engine/model/checkpoint'
import { readHfCheckpoint, readTokenizerFiles } from '../../../engine/model/hf-checkpoint'
import { activationBytes } from '../../../engine/train/estimate'
import { finetune } from '../../../engine/train/finetune'
import { parseFinetuneConfig, type FinetuneConfigInput } from '../../../engine/train/finetune-config'
import { finetuneCounts } from '../../../engine/train/finetune-counts'
import { packExamples, readTaskExamples } from '../../../engine/train/finetune-data'
import { buildBatch } from '../../../engine/train/finetune-model'
import { TASK_SPECS } from '../../../engine/tasks'
import { BertTokenizer } from '../../../engine/text/tokenizer'
import { estimateFinetune, longestInBatch } from '../../../engine/train/finetune-estimate'
import { tempDir } from '../../helpers'
import { importClue, tnewsRecords, wideInitModel } from './finetune-data'

const tmp = tempDir('mengzi-finetune-estimate-')
afterAll(() => tmp.cleanup())
const init = path.join(tmp.dir, 'start')
const data: Record<string, string> = {}
beforeAll(async () => {
  await tf.setBackend('cpu')
  await wideInitModel(init, 0.3)
  data.tnews = (await importClue(tmp.dir, 'tnews', { 'train.json': tnewsRecords(21, 1, ['100', '101', '102']), 'dev.json': tnewsRecords(5, 2, ['100', '101', '102']) })).dir
  // contexts of 16 to 40 characters: with 24 tokens a window and a stride of 8, one to four windows each
  const ctx = (n: number) => '北京是中国的首都，上海是中国最大的城市，广州在南方。天津在北方，重庆在西南，杭州在东南方。'.slice(0, n)
  const qa = (i: number) => ({ id: `q${i}`, context: ctx(16 + ((i * 7) % 25)), question: '首都是哪里', answers: [{ text: '北京', answer_start: 0 }] })
  data.cmrc2018 = (await importClue(tmp.dir, 'cmrc', { 'train.jsonl': Array.from({ length: 10 }, (_, i) => qa(i)), 'dev.jsonl': [qa(3), qa(8)] })).dir
  // choices of different lengths, the longest not always first: a row pads to an example's longest choice
  const item = (i: number) => [['男：你喜欢山还是水？', '女：我喜欢水。'], [{ question: '女的喜欢什么？', choice: i % 2 ? ['山', '水', '天上的云'] : ['水', '高高的大山'], answer: '水' }], `c${i}`]
  data.c3 = (await importClue(tmp.dir, 'c3', { 'train.json': Array.from({ length: 7 }, (_, i) => item(i)), 'dev.json': [item(0)] }, true)).dir
})

const configOf = (task: string, extra: Partial<FinetuneConfigInput> = {}) =>
  parseFinetuneConfig({ task, dataDir: data[task], init, backend: 'cpu', epochs: 2, batchSize: 4, maxSeqLength: 24, docStride: 8, dropout: 0, ...extra })

/** What a real run did: its steps (as its progress counts them) and the parameters its best folder holds. */
async function runOf(config: ReturnType<typeof configOf>, name: string) {
  let totalSteps = 0
  const r = await finetune(config, { runDir: path.join(tmp.dir, name) }, { progress: (p) => (totalSteps = p.totalSteps) })
  const saved = await readHfCheckpoint(r.best!.dir)
  const parameters = [...saved.tensors.values()].reduce((n, t) => n + t.data.length, 0)
  return { totalSteps, parameters }
}

describe('the estimate against real runs', () => {
  for (const task of ['tnews', 'cmrc2018', 'c3']) {
    it(`${task}: the steps and parameters the run has`, async () => {
      const config = configOf(task)
      const counts = await finetuneCounts(config)
      const estimate = estimateFinetune(config, await readBertConfig(init), counts, null, null)
      const run = await runOf(config, `run-${task}`)
      expect(estimate.totalSteps).toBe(run.totalSteps)
      expect(estimate.parameters).toBe(run.parameters)
      if (task === 'cmrc2018') expect(estimate.trainFeatures).toBeGreaterThan(counts.trainExamples) // windows
      if (task === 'c3') expect(counts.choices).toBe(3)
      expect(estimate.secondsPerStep).toBeNull() // no calibration yet
    })
  }

  it('augmentation: at most the copies asked for; the run has as many steps or fewer', async () => {
    const config = configOf('tnews', { strategies: { augment: { copies: 2 } } })
    const estimate = estimateFinetune(config, await readBertConfig(init), await finetuneCounts(config), null, null)
    expect(estimate.trainFeatures).toBe(21 * 3)
    // the copies are made at the start and may be longer: memory is bounded by the full length
    expect(estimate.memory.activations).toBe(activationBytes(await readBertConfig(init), config.batchSize, config.maxSeqLength, 0))
    const run = await runOf(config, 'run-augment')
    expect(run.totalSteps).toBeLessThanOrEqual(estimate.totalSteps)
    expect(run.totalSteps).toBeGreaterThan(configOf('tnews').epochs * Math.ceil(21 / 4))
  })
})

describe('the data as the run packs it', () => {
  for (const task of ['cmrc2018', 'c3']) {
    it(`${task}: each feature's length is the row a batch of it pads to`, async () => {
      const config = configOf(task, { maxSeqLength: task === 'c3' ? 64 : 24 }) // C3's rows fit whole at 64
      const { train, labels, numChoices } = await readTaskExamples(config)
      const { vocab, lowercase } = readTokenizerFiles(init)
      const features = packExamples(TASK_SPECS[config.task], new BertTokenizer(vocab, { lowercase }), train, labels, numChoices, config)
      const want: number[] = []
      for (const f of features) {
        const length = buildBatch([f]).length
        want[length] = (want[length] ?? 0) + 1
      }
      expect((await finetuneCounts(config)).trainLengths).toEqual(Array.from(want, (c) => c ?? 0))
      expect(want.filter(Boolean).length).toBeGreaterThan(1) // lengths that differ
    })
  }
})

describe('the longest row of a random batch', () => {
  it('is distributed as enumerating every batch says', () => {
    const lengths = [3, 3, 5, 7, 9, 9]
    const counts: number[] = []
    for (const l of lengths) counts[l] = (counts[l] ?? 0) + 1
    const histogram = Array.from(counts, (c) => c ?? 0)
    for (const batch of [1, 2, 3, 6, 8]) {
      const want = new Array(histogram.length).fill(0)
      let batches = 0
      const pick = (from: number, chosen: number[]) => {
        if (chosen.length === Math.min(batch, lengths.length)) {
          want[Math.max(...chosen.map((i) => lengths[i]))]++
          batches++
          return
        }
        for (let i = from; i < lengths.length; i++) pick(i + 1, [...chosen, i])
      }
      pick(0, [])
      const got = longestInBatch(histogram, batch)
      want.forEach((w, l) => expect(got[l]).toBeCloseTo(w / batches, 12))
    }
  })

  it("matches random batches of the CMRC windows' real lengths", async () => {
    const config = configOf('cmrc2018')
    const counts = await finetuneCounts(config)
    const lengths = counts.trainLengths.flatMap((c, l) => new Array(c).fill(l))
    const estimate = estimateFinetune(config, await readBertConfig(init), counts, null, null)
    const rng = new Rng(5)
    let sum = 0
    const draws = 20_000
    for (let d = 0; d < draws; d++) {
      const pool = [...lengths]
      let longest = 0
      for (let k = 0; k < config.batchSize; k++) longest = Math.max(longest, pool.splice(rng.int(pool.length), 1)[0])
      sum += longest
    }
    expect(new Set(lengths).size).toBeGreaterThan(2)
    expect(estimate.meanBatchLength).toBeLessThan(Math.max(...lengths))
    expect(Math.abs(estimate.meanBatchLength - sum / draws)).toBeLessThan(0.05)
  })
})

describe('what strategies add', () => {
  it('memory: f16 copies, activations at the longest feature (twice with SMART), the teacher, the momentum copy', async () => {
    const bert = await readBertConfig(init)
    const config = configOf('c3')
    const counts = await finetuneCounts(config)
    const plain = estimateFinetune(config, bert, counts, null, null)
    const longest = counts.trainLengths.length - 1
    expect(plain.memory.activations).toBe(activationBytes(bert, config.batchSize * 3, longest, 0))
    expect(plain.memory.weights).toBe(4 * plain.parameters)
    expect(plain.memory.total).toBe(16 * plain.parameters + plain.memory.activations)

    const smart = estimateFinetune(configOf('c3', { strategies: { smart: { bregman: {} } } }), bert, counts, null, null)
    expect(smart.memory.activations).toBe(2 * plain.memory.activations)
    expect(smart.memory.momentum).toBe(4 * plain.parameters)
    const half = estimateFinetune(configOf('c3', { backend: 'webgpu', precision: 'fp16' }), bert, counts, null, null)
    expect(half.memory.weights).toBe(6 * plain.parameters)
    const taught = estimateFinetune(configOf('c3', { strategies: { distill: { teacher: init } } }), bert, counts, bert, null)
    // the teacher's weights (its head as the student's) and the hidden states it keeps: embeddings + 1 layer
    expect(taught.memory.teacher).toBe(4 * (plain.parameters + config.batchSize * 3 * longest * bert.hidden_size * 2))
  })

  it("FLOPs and time: a teacher's forward, SMART's extra passes, and each epoch's dev evaluation", async () => {
    const bert = await readBertConfig(init)
    const counts = await finetuneCounts(configOf('tnews'))
    const calibration = { backend: 'cpu', flopsPerSecond: 2e9, measured: 'a test rate' }
    const plain = estimateFinetune(configOf('tnews'), bert, counts, null, calibration)
    expect(plain.secondsPerStep).toBeCloseTo(plain.flopsPerStep / 2e9, 15)
    expect(plain.totalSeconds).toBeCloseTo((plain.flopsPerStep * plain.totalSteps + 2 * plain.evalFlops) / 2e9, 12)
    expect(plain.evalFlops).toBeGreaterThan(0)
    // the student's forward + backward is 3 forwards: a teacher the same size adds one
    const taught = estimateFinetune(configOf('tnews', { strategies: { distill: { teacher: init } } }), bert, counts, bert, calibration)
    expect(taught.flopsPerStep / plain.flopsPerStep).toBeCloseTo(4 / 3, 12)
    // SMART with 2 ascent steps and Bregman: + clean forward, 2 × (forward + backward to δ), perturbed pass, momentum forward
    const smart = estimateFinetune(configOf('tnews', { strategies: { smart: { steps: 2, bregman: {} } } }), bert, counts, null, calibration)
    expect(smart.flopsPerStep / plain.flopsPerStep).toBeCloseTo((3 + 1 + 4 + 3 + 1) / 3, 12)
    expect(smart.method.time).toMatch(/SMART's clean forward, 2 ascent steps \(forward and backward\) and perturbed pass, the momentum copy's forward/)
  })
})
