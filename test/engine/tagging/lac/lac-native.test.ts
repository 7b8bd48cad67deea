// The native LAC kernel (engine/native/src/lac.c) against the JavaScript path on real Chinese text: the same
// label for every character of thousands of sentences, and the same emission bits, whatever the batch
// and the thread count.
import { beforeAll, describe, expect, it } from 'vitest'
import { lacChunks } from '../../../../engine/tagging/builtin'
import { LacSmall, nativeLacKernel } from '../../../../engine/tagging/lac/lac'
import { availableSources, localChineseDocuments } from '../../../../engine/text/local-corpus'

const SENTENCES = 2000
const MAX_CHARS = 16 // the JavaScript path runs ~2k characters per second: short real sentences keep this test quick

/** Sentence chunks (as the tagger cuts them) of modern text when fortunes-zh is installed, else classical poetry. */
async function realSentences(): Promise<string[][]> {
  const source = availableSources().includes('fortunes-zh') ? 'fortunes-zh' : 'chinese-poetry'
  const out: string[][] = []
  for await (const doc of localChineseDocuments([source])) {
    for (const [start, end] of lacChunks(doc)) {
      const chars = Array.from(doc.slice(start, end).trim())
      if (chars.length > 0 && chars.length <= MAX_CHARS) out.push(chars)
      if (out.length === SENTENCES) return out
    }
  }
  return out
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))

describe('LAC-small, native kernel vs JavaScript', () => {
  let js: LacSmall
  let native: LacSmall
  let sentences: string[][]
  beforeAll(async () => {
    js = LacSmall.load({ native: false })
    native = LacSmall.load()
    sentences = await realSentences()
    // edge cases: one character, Latin and digits, characters outside the BMP, the longest chunk the tagger makes
    sentences.push(['好'], Array.from('LAC 2.0 在2020年发布'), Array.from('𠀀李白在长安写诗🙂'), Array.from('北京大学的学生'.repeat(37)).slice(0, 256))
  })

  it('is built and found (npm builds @mengzi/native on install)', () => {
    expect(nativeLacKernel()).not.toBeNull()
    expect(native.native).not.toBeNull()
    expect(js.native).toBeNull()
  })

  it('tags thousands of real sentences exactly as the JavaScript path, with the same emission bits', () => {
    expect(sentences.length).toBeGreaterThanOrEqual(SENTENCES)
    const jsScores: Float32Array[] = []
    const nativeScores: Float32Array[] = []
    const expected = js.predictBatch(sentences, jsScores)
    const got = native.predictBatch(sentences, nativeScores)
    let differing = 0
    let bitsDiffer = 0
    sentences.forEach((_, i) => {
      if (Array.from(got[i]).join() !== Array.from(expected[i]).join()) differing++
      if (bits(nativeScores[i]).join() !== bits(jsScores[i]).join()) bitsDiffer++
    })
    expect({ differing, bitsDiffer }).toEqual({ differing: 0, bitsDiffer: 0 })
    // and the labels mean something: the text is not all one label
    expect(new Set(expected.flatMap((p) => Array.from(p))).size).toBeGreaterThan(20)
  }, 300_000) // ~10 s of CPU for the JavaScript path; the machine may be shared

  it('gives the same labels on one thread and on two, and for a sentence alone or in a batch', () => {
    const addon = native.native!
    const before = addon.kernelThreads()
    try {
      addon.kernelThreads(1)
      const one = native.predictBatch(sentences.slice(0, 500))
      addon.kernelThreads(2)
      const two = native.predictBatch(sentences.slice(0, 500))
      expect(two.map((p) => Array.from(p))).toEqual(one.map((p) => Array.from(p)))
      const alone = sentences.slice(0, 50).map((s) => Array.from(native.predictBatch([s])[0]))
      expect(alone).toEqual(one.slice(0, 50).map((p) => Array.from(p)))
    } finally {
      addon.kernelThreads(before)
    }
  })

  it('finds the entities of LAC’s examples on the native path', () => {
    const entities = native.tag('马云于1999年在杭州创办了阿里巴巴集团，注册资本500万元。').filter((w) => ['PER', 'LOC', 'ORG', 'TIME'].includes(w.tag))
    expect(entities.map((w) => `${w.word}/${w.tag}`)).toEqual(['马云/PER', '1999年/TIME', '杭州/LOC', '阿里巴巴集团/ORG'])
  })

  it('refuses a wrong call with a one-line reason instead of reading past an array', () => {
    const addon = native.native!
    const ids = new Int32Array([1, 2, 3])
    const call = (offsets: Int32Array, paths = new Int32Array(3)) =>
      addon.lacTagBatch(new Float32Array(10), 57, new Float32Array(128), new Float32Array(768), new Uint8Array(1), ids, offsets, paths, null)
    expect(() => call(new Int32Array([0, 3]))).toThrow(/^lacTagBatch: weights must hold/)
  })
})
