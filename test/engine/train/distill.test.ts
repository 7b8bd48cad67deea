// Knowledge distillation in pretraining (docs/strategies.md § Knowledge distillation): the KD terms of the
// MLM loss against a hand computation on a fixed batch, a short run distilling a 1-layer student from a
// pretrained 2-layer teacher where loss/kd falls, and the refusals.
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Rng } from '../../../engine/compute/rng'
import { checkTorchPlan } from '../../../engine/launch/plan'
import { EVAL, bertEncoder, gatherRows } from '../../../engine/model/bert'
import { parseBertConfig } from '../../../engine/model/checkpoint'
import { mlmLogits, targetPositions } from '../../../engine/model/heads'
import { disposeWeights, initWeights } from '../../../engine/model/weights'
import { buildBatch, plainSegment } from '../../../engine/train/batch'
import { BERT_CHINESE_SPECIALS } from '../../../engine/train/data'
import { train } from '../../../engine/train/loop'
import { headsFor, objectiveLosses, queueDistill, queueOutputs, teacherOutputs } from '../../../engine/train/objectives'
import { Readback } from '../../../engine/compute/read'
import { TINY_BERT, tinyConfig } from './tiny-config'

const dir = mkdtempSync(join(tmpdir(), 'mengzi-distill-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeAll(async () => {
  await tf.setBackend('cpu')
})

const noDropout = { ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }

describe('distillation in pretraining', () => {
  it('adds α·T²·KL(teacher ‖ student) of the masked-position MLM logits and β·MSE of mapped hidden states, as computed by hand', async () => {
    const student = parseBertConfig({ ...noDropout, num_hidden_layers: 1 }, 'student')
    const teacher = parseBertConfig({ ...noDropout, num_hidden_layers: 2 }, 'teacher')
    const sw = initWeights({ config: student, heads: headsFor(['mlm']), pooler: false }, 1)
    const tw = initWeights({ config: teacher, heads: headsFor(['mlm']), pooler: false }, 2)
    const rng = new Rng(7)
    const seg = (n: number) => plainSegment(Int32Array.from({ length: n }, () => 104 + rng.int(36)))
    const batch = buildBatch([seg(9), seg(5), seg(7)], { maxSeqLength: 16, mlmProbability: 0.4, vocabSize: 140, specials: BERT_CHINESE_SPECIALS }, rng)
    const positions = targetPositions(batch.labels)
    expect(positions.length).toBeGreaterThan(2)

    const terms = { temperature: 2, logitWeight: 0.7, hiddenWeight: 0.3, hiddenLoss: 'mse' as const }
    const taught = teacherOutputs(tw, teacher, batch, true)
    const r = objectiveLosses(sw, student, ['mlm'], {}, { batch }, EVAL, undefined, { teacher: taught, terms })
    const total = (await r.total.data())[0]
    const reads = new Readback()
    const stats = queueOutputs(r.outputs, reads)
    const kd = queueDistill(r.outputs, reads)
    await reads.read() // one wait for the losses, accuracies and distillation terms
    const mlm = stats.get('mlm')!.loss

    // the hand computation, in float64 from the raw logits and hidden states
    const shape: [number, number] = [batch.batchSize, batch.seqLength]
    const inputs = { inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'), attentionMask: tf.tensor2d(batch.attentionMask, shape, 'int32'), tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, shape, 'int32') }
    const logitsOf = (w: typeof sw, c: typeof student) => {
      const h = bertEncoder(w, c, inputs, EVAL, { pooler: false }).hiddenStates
      const seq = h[c.num_hidden_layers]
      const picked = gatherRows(seq.reshape([-1, c.hidden_size]) as tf.Tensor2D, tf.tensor1d(positions, 'int32'))
      return { logits: mlmLogits(w, c, picked).arraySync() as number[][], hidden: h.map((x) => x.arraySync() as number[][][]) }
    }
    const s = logitsOf(sw, student)
    const t = logitsOf(tw, teacher)
    const T = terms.temperature
    const logSoftmax = (z: number[]) => {
      const m = Math.max(...z.map((v) => v / T))
      const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v / T - m), 0))
      return z.map((v) => v / T - lse)
    }
    let kl = 0
    s.logits.forEach((zs, i) => {
      const ls = logSoftmax(zs)
      const lt = logSoftmax(t.logits[i])
      kl += lt.reduce((a, v, c) => a + Math.exp(v) * (v - ls[c]), 0)
    })
    const kdLogits = terms.logitWeight * T * T * (kl / s.logits.length)
    // uniform layer map, student 1 layer ← teacher 2: states 0 ← 0, 1 ← 2; mean over real tokens of mean over H
    let hiddenSum = 0
    for (const [si, ti] of [[0, 0], [1, 2]]) {
      let sum = 0
      let tokens = 0
      for (let b = 0; b < batch.batchSize; b++) {
        for (let j = 0; j < batch.seqLength; j++) {
          if (!batch.attentionMask[b * batch.seqLength + j]) continue
          const hs = s.hidden[si][b][j]
          const ht = t.hidden[ti][b][j]
          sum += hs.reduce((a, v, k) => a + (v - ht[k]) ** 2, 0) / hs.length
          tokens++
        }
      }
      hiddenSum += sum / tokens
    }
    const kdHidden = terms.hiddenWeight * (hiddenSum / 2)
    expect(kd.get('kd_logits')!).toBeGreaterThan(0)
    expect(kd.get('kd_logits')!).toBeCloseTo(kdLogits, 5)
    expect(kd.get('kd_hidden')!).toBeCloseTo(kdHidden, 5)
    expect(kd.get('kd')!).toBeCloseTo(kdLogits + kdHidden, 5)
    expect(total).toBeCloseTo(mlm + kdLogits + kdHidden, 4)
    tf.dispose([r.total, ...taught.hidden, taught.mlmLogits!, ...Object.values(inputs)])
    disposeWeights(sw)
    disposeWeights(tw)
  })

  it('distils a 1-layer student from a pretrained 2-layer teacher: loss/kd falls, and the teacher is left unchanged', async () => {
    // each segment counts upward from a random start, so a masked id is its neighbour plus one
    const lines = Array.from({ length: 64 }, (_, i) => JSON.stringify(Array.from({ length: 12 }, (_, j) => 104 + ((i * 7 + j) % 36))))
    writeFileSync(join(dir, 'counting.jsonl'), lines.join('\n'))
    const data = { kind: 'token-file' as const, path: join(dir, 'counting.jsonl') }
    const pre = await train(tinyConfig({ data, optimizer: 'adamw', learningRate: 5e-3, totalSteps: 20, batchSize: 8, warmupRatio: 0.05 }), { runDir: join(dir, 'teacher') })
    const teacherDir = pre.checkpointDir!
    const before = (await import('node:fs')).readFileSync(join(teacherDir, 'model.safetensors'))

    const points = new Map<string, number[]>()
    const logs: string[] = []
    const config = tinyConfig({
      data,
      model: { config: { ...TINY_BERT, num_hidden_layers: 1 } },
      optimizer: 'adamw',
      learningRate: 5e-3,
      totalSteps: 20,
      batchSize: 8,
      warmupRatio: 0.05,
      objectiveWeights: { mlm: 0 }, // pure distillation: only the teacher's soft labels and hidden states teach
      distill: { teacher: teacherDir, temperature: 2, logitWeight: 1, hiddenWeight: 1 },
    })
    const tensorsBefore = tf.memory().numTensors
    const { losses } = await train(config, { runDir: join(dir, 'student') }, {
      metrics: (ps) => ps.forEach((p) => points.set(p.name, [...(points.get(p.name) ?? []), p.value])),
      log: (l) => logs.push(l),
    })
    expect(tf.memory().numTensors).toBe(tensorsBefore) // teacher weights and its per-batch outputs all released
    const kd = points.get('loss/kd')!
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    console.log(`loss/kd first 5 steps ${mean(kd.slice(0, 5)).toFixed(4)}, last 5 ${mean(kd.slice(-5)).toFixed(4)}`)
    expect(kd).toHaveLength(20)
    expect(mean(kd.slice(-5))).toBeLessThan(mean(kd.slice(0, 5)) * 0.7)
    kd.forEach((v, i) => expect(v).toBeCloseTo(points.get('loss/kd_logits')![i] + points.get('loss/kd_hidden')![i], 5))
    losses.forEach((l, i) => expect(l).toBeCloseTo(kd[i], 4)) // objectiveWeights.mlm 0: the loss is the KD term alone
    expect(logs.some((l) => l.startsWith('distill: teacher'))).toBe(true)
    expect((await import('node:fs')).readFileSync(join(teacherDir, 'model.safetensors')).equals(before)).toBe(true)
  }, 60_000)

  it('refuses hidden-state distillation across hidden sizes, a teacher id in the engine, and the torch engine', async () => {
    const teacherDir = join(dir, 'teacher', 'checkpoints')
    const { readdirSync } = await import('node:fs')
    const ck = join(teacherDir, readdirSync(teacherDir).sort().at(-1)!)
    const wide = { ...TINY_BERT, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1 }
    await expect(train(tinyConfig({ model: { config: wide }, totalSteps: 1, distill: { teacher: ck, hiddenWeight: 1 } }), { runDir: join(dir, 'wide') })).rejects.toThrow(
      /distill\.teacher .*: hidden_size 32 ≠ the student's 16; hidden-state distillation needs equal sizes .*set distill\.hiddenWeight 0/,
    )
    const shallow = { ...TINY_BERT, num_hidden_layers: 1 }
    await expect(train(tinyConfig({ model: { config: shallow }, totalSteps: 1, distill: { teacher: ck, hiddenWeight: 1, layerMap: [0, 3] } }), { runDir: join(dir, 'map') })).rejects.toThrow(
      'distill.layerMap: needs 2 entries (embeddings + each student layer), each 0..2 (the teacher\'s layers); got [0,3]',
    )
    await expect(train(tinyConfig({ totalSteps: 1, distill: { teacher: 'model:3' } }), { runDir: join(dir, 'id') })).rejects.toThrow(/ids are resolved by the service/)
    expect(() => checkTorchPlan(tinyConfig({ engine: 'torch', distill: { teacher: ck } }))).toThrow(/^the torch engine cannot run this config: distill .* is not implemented by the PyTorch trainer yet; use engine "local"/)
  })
})
