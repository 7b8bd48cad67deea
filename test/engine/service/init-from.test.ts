// initFrom (continued pretraining): a model id, a run id (its newest checkpoint) or a HuggingFace folder
// becomes model.from with that folder's vocab; anything else is refused with one line.
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveInitFrom } from '../../../engine/service/training'
import { Workbench } from '../../../engine/service/workbench'
import { recordCheckpoint } from '../../../engine/store/checkpoints'
import { insertModel } from '../../../engine/store/models'
import { insertRun } from '../../../engine/store/runs'
import { parseTrainConfig } from '../../../engine/train/config'
import { tempDir } from '../../helpers'

const fixture = path.join(__dirname, '../../fixtures/hf-bert-tiny')
const tmp = tempDir()
afterAll(() => tmp.cleanup())

describe('initFrom', () => {
  it('resolves model:ID, run:ID and a folder to model.from and the folder’s vocab', async () => {
    const wb = new Workbench({ home: tmp.dir })
    try {
      const modelId = insertModel(wb.db, { name: 'tiny', source: 'imported', dir: fixture, config: {} })
      const runId = insertRun(wb.db, { name: 'r', kind: 'pretrain', config: {}, seed: 1 })
      recordCheckpoint(wb.db, runId, 10, path.join(tmp.dir, 'gone'))
      recordCheckpoint(wb.db, runId, 5, fixture)
      const data = { kind: 'dataset', dir: '/data/1' }
      for (const initFrom of [`model:${modelId}`, modelId, `run:${runId}`, fixture]) {
        const raw = resolveInitFrom(wb.db, { initFrom, data }) as Record<string, unknown>
        expect(raw.model).toEqual({ from: fixture })
        expect(raw.vocab).toBe(path.join(fixture, 'vocab.txt'))
        expect(raw.data).toEqual({ ...data, vocab: path.join(fixture, 'vocab.txt') })
        expect(parseTrainConfig(raw).initFrom).toBe(initFrom)
      }
      // a distillation teacher is named the same ways and becomes its folder; the student's model stays
      for (const teacher of [`model:${modelId}`, `run:${runId}`, fixture]) {
        const raw = resolveInitFrom(wb.db, { data, distill: { teacher, hiddenWeight: 1 } }) as Record<string, unknown>
        expect(raw.distill).toEqual({ teacher: fixture, hiddenWeight: 1 })
        expect(raw.model).toBeUndefined()
        expect(parseTrainConfig(raw).distill!.teacher).toBe(fixture)
      }
      expect(() => resolveInitFrom(wb.db, { data, distill: { teacher: 'run:99' } })).toThrow('distill.teacher: run 99 does not exist')
      expect(() => resolveInitFrom(wb.db, { initFrom: 'model:99', data })).toThrow('initFrom: model 99 does not exist')
      expect(() => resolveInitFrom(wb.db, { initFrom: '/nowhere', data })).toThrow(/initFrom: "\/nowhere" is not "model:ID", "run:ID" or a HuggingFace BERT folder/)
    } finally {
      await wb.close()
    }
  })
})
