// tags.preview through the Workbench API (validation, handler, projection), as the Tags view calls it.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Workbench } from '../../../engine/service/workbench'
import { tempDir } from '../../helpers'

const VOCAB = path.join(__dirname, '../../fixtures/hf-bert-tiny/vocab.txt')

describe('tags.preview', () => {
  const tmp = tempDir()
  let wb: Workbench
  beforeAll(() => (wb = new Workbench({ home: tmp.dir })))
  afterAll(async () => {
    await wb.close()
    tmp.cleanup()
  })

  it('returns the tagged text and the projected WordPiece sequence', async () => {
    const text = '李白在长安写了3首诗。'
    const plain = await wb.call('tags.preview', { text })
    expect(plain).toMatchObject({ text, tagger: 'builtin' })
    expect(plain.ents.find((e) => e.label === 'PERSON')?.text).toBe('李白')
    // without a vocab, the bundled one (resources/vocab) is used
    expect(plain.wordpieces!.map((p) => p.token)).toEqual(['李', '白', '在', '长', '安', '写', '了', '3', '首', '诗', '。'])
    const withPieces = await wb.call('tags.preview', { text, vocab: VOCAB })
    expect(withPieces.wordpieces!.map((p) => text.slice(p.start, p.end)).join('')).toBe(text)
    expect(withPieces.wordpieces![0]).toMatchObject({ pos: 'PROPN', ent: 'B-PERSON' })
  })

  it('projects onto an imported model\'s vocab, and refuses an unknown model', async () => {
    const { id } = await wb.call('models.import', { path: path.join(__dirname, '../../fixtures/hf-bert-tiny') })
    const viaModel = await wb.call('tags.preview', { text: '李白在长安', modelId: id })
    expect(viaModel.wordpieces!.map((p) => p.ent)).toEqual(['B-PERSON', 'I-PERSON', 'O', 'B-GPE', 'I-GPE'])
    await expect(wb.call('tags.preview', { text: '李白', modelId: id + 100 })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('rejects bad input and explains a missing spaCy with the configured Python', async () => {
    await expect(wb.dispatch('tags.preview', { text: 1 })).rejects.toMatchObject({ code: 'BAD_INPUT' })
    await wb.call('settings.update', { spacyPython: '/nonexistent/python3' })
    await expect(wb.call('tags.preview', { text: '北京', tagger: 'spacy' })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('/nonexistent/python3'),
    })
  })
})
