// Tag previews run in one long-lived worker: answers match their requests, errors keep their code, and a
// worker that dies is replaced on the next request.
import { afterAll, describe, expect, it } from 'vitest'
import { TaggerClient } from '../../../engine/service/tagger-client'

const client = new TaggerClient()
afterAll(() => client.close())

describe('TaggerClient', () => {
  it('answers concurrent previews, each with its own text', async () => {
    const texts = ['李白在长安写诗。', '马云1999年在杭州创办了阿里巴巴集团。', '北京欢迎你']
    const results = await Promise.all(texts.map((text) => client.preview(text, {})))
    expect(results.map((r) => r.text)).toEqual(texts)
    expect(results[1].ents.map((e) => e.label)).toEqual(expect.arrayContaining(['PERSON', 'DATE', 'ORG']))
  })

  it('returns the tagger errors with their codes', async () => {
    await expect(client.preview('北京', { tagger: 'spacy', python: '/nonexistent/python3' })).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })

  it('starts a new worker when the old one died', async () => {
    const worker = (client as unknown as { worker: { terminate(): Promise<number> } }).worker
    await worker.terminate()
    const again = await client.preview('孟子见梁惠王。', {})
    expect(again.tokens.map((t) => t.text)).toEqual(['孟子', '见', '梁惠王', '。'])
  })
})
