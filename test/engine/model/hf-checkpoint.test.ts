// HuggingFace BERT folders: the hf-bert-tiny fixture (BertForPreTraining, saved by transformers 5.17)
// in, out, and in again; and the folders a user must be told about.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readHfCheckpoint, writeHfCheckpoint, canonicalName, checkpointFromTensors, type BertCheckpoint } from '../../../engine/model/hf-checkpoint'
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../../engine/model/safetensors'
import { WorkbenchError } from '../../../engine/errors'

const fixture = path.join(__dirname, '../../fixtures/hf-bert-tiny')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-hf-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** A copy of the fixture folder (the files a HF BERT folder holds), for tampering. */
function copyFixture(name: string, files = ['config.json', 'vocab.txt', 'model.safetensors']): string {
  const dir = path.join(tmp, name)
  fs.mkdirSync(dir, { recursive: true })
  for (const f of files) fs.copyFileSync(path.join(fixture, f), path.join(dir, f))
  return dir
}

async function expectError(p: Promise<unknown>, code: string, message: string | RegExp) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(WorkbenchError)
  expect((err as WorkbenchError).code).toBe(code)
  expect((err as WorkbenchError).message).toMatch(message)
  expect((err as WorkbenchError).message).not.toContain('\n')
}

function expectSameCheckpoint(a: BertCheckpoint, b: BertCheckpoint) {
  expect(b.config).toEqual(a.config)
  expect(b.vocab).toEqual(a.vocab)
  expect(b.heads).toEqual(a.heads)
  expect(b.lowercase).toBe(a.lowercase)
  expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()])
  for (const [name, t] of a.tensors) {
    expect(b.tensors.get(name)!.shape).toEqual(t.shape)
    expect(Buffer.from(b.tensors.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true)
  }
}

describe('HF import', () => {
  it('reads the fixture with its tensors, config, vocab and heads', async () => {
    const ckpt = await readHfCheckpoint(fixture)
    expect(ckpt.heads).toEqual(['pooler', 'mlm', 'nsp'])
    expect(ckpt.config).toMatchObject({ vocab_size: 3259, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, tie_word_embeddings: true })
    expect(ckpt.vocab).toHaveLength(3259)
    // every stored tensor, bit for bit, under the same (already canonical) name
    const raw = await readSafetensors(path.join(fixture, 'model.safetensors'))
    expect(ckpt.tensors.size).toBe(raw.size)
    for (const [key, t] of raw) expect(Buffer.from(ckpt.tensors.get(key)!.data.buffer).equals(Buffer.from(t.data.buffer as ArrayBuffer))).toBe(true)
  })

  it('maps BertModel keys, TF-era LayerNorm names and the tied decoder', () => {
    expect(canonicalName('embeddings.word_embeddings.weight', true)).toBe('bert.embeddings.word_embeddings.weight')
    expect(canonicalName('encoder.layer.3.output.LayerNorm.gamma', true)).toBe('bert.encoder.layer.3.output.LayerNorm.weight')
    expect(canonicalName('bert.embeddings.LayerNorm.beta', true)).toBe('bert.embeddings.LayerNorm.bias')
    expect(canonicalName('bert.embeddings.position_ids', true)).toBeNull()
    expect(canonicalName('cls.predictions.decoder.weight', true)).toBeNull()
    expect(canonicalName('cls.predictions.decoder.weight', false)).toBe('cls.predictions.decoder.weight')
    expect(canonicalName('classifier.weight', true)).toBe('classifier.weight')
  })
})

describe('HF export', () => {
  it('fixture → export → import gives identical tensors and config', async () => {
    const first = await readHfCheckpoint(fixture)
    const out = path.join(tmp, 'export-f32')
    const files = await writeHfCheckpoint(out, first)
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'])
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))
    expect(config.architectures).toEqual(['BertForPreTraining'])
    expect(config.model_type).toBe('bert')
    expect(JSON.parse(fs.readFileSync(path.join(out, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ tokenizer_class: 'BertTokenizer', do_lower_case: true })
    expect((await readSafetensorsHeader(path.join(out, 'model.safetensors'))).metadata).toEqual({ format: 'pt' })
    expect(fs.readFileSync(path.join(out, 'vocab.txt'), 'utf8')).toBe(fs.readFileSync(path.join(fixture, 'vocab.txt'), 'utf8'))
    expectSameCheckpoint(first, await readHfCheckpoint(out))
  })

  it('exports float16 within half precision, and refuses a non-empty folder', async () => {
    const first = await readHfCheckpoint(fixture)
    const out = path.join(tmp, 'export-f16')
    await writeHfCheckpoint(out, first, { dtype: 'float16' })
    const header = await readSafetensorsHeader(path.join(out, 'model.safetensors'))
    expect(new Set(header.entries.map((e) => e.dtype))).toEqual(new Set(['F16']))
    const half = await readHfCheckpoint(out)
    const w = first.tensors.get('bert.embeddings.word_embeddings.weight')!.data
    const h = half.tensors.get('bert.embeddings.word_embeddings.weight')!.data
    let worst = 0
    for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i] - h[i]) / Math.max(Math.abs(w[i]), 6e-5))
    expect(worst).toBeLessThan(1e-3)
    await expectError(writeHfCheckpoint(out, first), 'CONFLICT', /not empty/)
  })

  it('exports an encoder alone as BertModel (keys without bert.) and a classifier with its labels', async () => {
    const first = await readHfCheckpoint(fixture)
    const encoderOnly: BertCheckpoint = { ...first, heads: ['pooler'], tensors: new Map([...first.tensors].filter(([k]) => k.startsWith('bert.'))) }
    const out = path.join(tmp, 'export-bertmodel')
    await writeHfCheckpoint(out, encoderOnly)
    const header = await readSafetensorsHeader(path.join(out, 'model.safetensors'))
    expect(header.entries.every((e) => !e.name.startsWith('bert.'))).toBe(true)
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).architectures).toEqual(['BertModel'])
    expectSameCheckpoint(encoderOnly, await readHfCheckpoint(out))

    const id2label = { '0': 'negative', '1': 'neutral', '2': 'positive' }
    const H = first.config.hidden_size
    const classifier: BertCheckpoint = {
      ...encoderOnly,
      config: { ...first.config, id2label },
      heads: ['pooler', 'classifier'],
      tensors: new Map([
        ...encoderOnly.tensors,
        ['classifier.weight', { shape: [3, H], data: new Float32Array(3 * H).map((_, i) => Math.sin(i)) }],
        ['classifier.bias', { shape: [3], data: new Float32Array([0.1, -0.2, 0.3]) }],
      ]),
    }
    const out2 = path.join(tmp, 'export-classifier')
    await writeHfCheckpoint(out2, classifier)
    const config = JSON.parse(fs.readFileSync(path.join(out2, 'config.json'), 'utf8'))
    expect(config.architectures).toEqual(['BertForSequenceClassification'])
    expect(config.id2label).toEqual(id2label)
    expect(config.label2id).toEqual({ negative: 0, neutral: 1, positive: 2 })
    const again = await readHfCheckpoint(out2)
    expect(again.config.label2id).toEqual({ negative: 0, neutral: 1, positive: 2 })
    expectSameCheckpoint({ ...classifier, config: again.config }, again)
  })
})

describe('HF import refuses bad folders with a reason', () => {
  it('a folder without config.json', async () => {
    const dir = copyFixture('no-config', ['vocab.txt', 'model.safetensors'])
    await expectError(readHfCheckpoint(dir), 'NOT_FOUND', /no-config: no config\.json/)
    await expectError(readHfCheckpoint(path.join(tmp, 'nowhere')), 'NOT_FOUND', /no such directory/)
  })

  it('a vocab with a duplicate token, naming the line', async () => {
    const dir = copyFixture('dup-vocab')
    const lines = fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').split('\n')
    lines[500] = lines[400]
    fs.writeFileSync(path.join(dir, 'vocab.txt'), lines.join('\n'))
    await expectError(readHfCheckpoint(dir), 'BAD_INPUT', new RegExp(`vocab\\.txt:501: duplicate token ${JSON.stringify(lines[400]).replace(/[[\]]/g, '\\$&')} \\(first on line 401\\)`))
  })

  it('a truncated model file', async () => {
    const dir = copyFixture('truncated')
    const file = path.join(dir, 'model.safetensors')
    fs.truncateSync(file, fs.statSync(file).size - 1000)
    await expectError(readHfCheckpoint(dir), 'CORRUPT', /model\.safetensors/)
  })

  it('a pytorch_model.bin that is not a readable zip, or in the legacy format', async () => {
    const dir = copyFixture('pytorch-bin', ['config.json', 'vocab.txt'])
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'PK\x03\x04 not really a pickle')
    await expectError(readHfCheckpoint(dir), 'CORRUPT', /pytorch_model\.bin: not a readable zip archive/)
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), Buffer.from([0x80, 0x02, 0x8a, 0x0a]))
    await expectError(readHfCheckpoint(dir), 'UNSUPPORTED', /pytorch_model\.bin: not a zip archive — the legacy torch\.save format/)
  })

  it('another model type, relative positions, a bad field', async () => {
    const dir = copyFixture('roberta')
    const config = JSON.parse(fs.readFileSync(path.join(fixture, 'config.json'), 'utf8'))
    const setConfig = (c: object) => fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c))
    setConfig({ ...config, model_type: 'roberta' })
    await expectError(readHfCheckpoint(dir), 'UNSUPPORTED', /config\.json: model_type: "roberta" is not supported/)
    setConfig({ ...config, model_type: undefined, architectures: ['RobertaForMaskedLM'] })
    await expectError(readHfCheckpoint(dir), 'UNSUPPORTED', /config\.json: model_type: null is not supported/)
    setConfig({ ...config, model_type: undefined }) // an old BERT config without model_type
    expect((await readHfCheckpoint(dir)).config.hidden_size).toBe(64)
    setConfig({ ...config, position_embedding_type: 'relative_key' })
    await expectError(readHfCheckpoint(dir), 'UNSUPPORTED', /position_embedding_type: "relative_key"/)
    setConfig({ ...config, hidden_size: '64' })
    await expectError(readHfCheckpoint(dir), 'BAD_INPUT', /config\.json: hidden_size: expected a positive integer, got "64"/)
    setConfig({ ...config, num_attention_heads: 5 })
    await expectError(readHfCheckpoint(dir), 'BAD_INPUT', /hidden size \(64\) is not a multiple of the number of attention heads \(5\)/)
  })

  it('tensors that disagree with the config: a layer too many, a wrong shape, a stray key', async () => {
    const dir = copyFixture('mismatch')
    const config = JSON.parse(fs.readFileSync(path.join(fixture, 'config.json'), 'utf8'))
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 3 }))
    await expectError(readHfCheckpoint(dir), 'BAD_INPUT', /16 of \d+ tensors missing .*first "bert\.encoder\.layer\.2\./)
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, intermediate_size: 256 }))
    await expectError(readHfCheckpoint(dir), 'BAD_INPUT', /intermediate\.dense\.(weight|bias)" has shape \[128(,64)?\] but .*config\.json implies \[256(,64)?\]/)

    const stray = copyFixture('stray')
    const tensors = await readSafetensors(path.join(fixture, 'model.safetensors'))
    tensors.set('bert.encoder.layer.0.attention.self.rotary.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) })
    await writeSafetensors(path.join(stray, 'model.safetensors'), tensors as never, { format: 'pt' })
    await expectError(readHfCheckpoint(stray), 'BAD_INPUT', /unexpected tensor "bert\.encoder\.layer\.0\.attention\.self\.rotary\.weight"/)
  })
})

describe('checkpointFromTensors', () => {
  it('accepts in-memory weights that match the config and refuses a wrong shape', async () => {
    const first = await readHfCheckpoint(fixture)
    const tensors = new Map([...first.tensors].filter(([k]) => !k.startsWith('cls.seq_relationship')))
    const ckpt = checkpointFromTensors(first.config, first.vocab, true, tensors)
    expect(ckpt.heads).toEqual(['pooler', 'mlm'])
    const out = path.join(tmp, 'from-tensors')
    await writeHfCheckpoint(out, ckpt)
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).architectures).toEqual(['BertForMaskedLM'])
    const bad = new Map(tensors)
    bad.set('bert.pooler.dense.bias', { shape: [63], data: new Float32Array(63) })
    expect(() => checkpointFromTensors(first.config, first.vocab, true, bad)).toThrow('tensor "bert.pooler.dense.bias" has shape [63], the config implies [64]')
  })
})

describe('HF import of other layouts', () => {
  it('reads sharded safetensors through model.safetensors.index.json', async () => {
    const dir = copyFixture('sharded', ['config.json', 'vocab.txt'])
    const tensors = await readSafetensors(path.join(fixture, 'model.safetensors'))
    const names = [...tensors.keys()]
    const half = Math.ceil(names.length / 2)
    const shards = [names.slice(0, half), names.slice(half)]
    const weightMap: Record<string, string> = {}
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`
      await writeSafetensors(path.join(dir, file), new Map(shard.map((n) => [n, tensors.get(n)!])) as never, { format: 'pt' })
      for (const n of shard) weightMap[n] = file
    }
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }))
    expectSameCheckpoint(await readHfCheckpoint(fixture), await readHfCheckpoint(dir))
    fs.rmSync(path.join(dir, 'model-00002-of-00002.safetensors'))
    await expectError(readHfCheckpoint(dir), 'NOT_FOUND', /shard model-00002-of-00002\.safetensors is missing/)
  })

  it('keeps an untied MLM decoder when the config says so', async () => {
    const dir = copyFixture('untied', ['vocab.txt'])
    const config = JSON.parse(fs.readFileSync(path.join(fixture, 'config.json'), 'utf8'))
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, tie_word_embeddings: false }))
    const tensors = await readSafetensors(path.join(fixture, 'model.safetensors'))
    const decoder = new Float32Array(3259 * 64).map((_, i) => Math.cos(i))
    tensors.set('cls.predictions.decoder.weight', { dtype: 'F32', shape: [3259, 64], data: decoder })
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors as never, { format: 'pt' })
    const ckpt = await readHfCheckpoint(dir)
    expect(ckpt.config.tie_word_embeddings).toBe(false)
    expect(ckpt.tensors.get('cls.predictions.decoder.weight')!.data).toEqual(decoder)
    const out = path.join(tmp, 'untied-export')
    await writeHfCheckpoint(out, ckpt)
    expectSameCheckpoint(ckpt, await readHfCheckpoint(out))
    // with tied embeddings, a stored decoder copy is dropped as HF does
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config))
    expect((await readHfCheckpoint(dir)).tensors.has('cls.predictions.decoder.weight')).toBe(false)
  })
})

describe('HF import with only a fast tokenizer', () => {
  it('takes the WordPiece vocabulary and lower-casing from tokenizer.json', async () => {
    const dir = copyFixture('tokenizer-json', ['config.json', 'model.safetensors'])
    const tokens = fs.readFileSync(path.join(fixture, 'vocab.txt'), 'utf8').split('\n').filter(Boolean)
    const tokenizerJson = {
      version: '1.0',
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(tokens.map((t, i) => [t, i])) },
    }
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson))
    const ckpt = await readHfCheckpoint(dir)
    expect(ckpt.vocab).toEqual(tokens)
    expect(ckpt.lowercase).toBe(false)
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ ...tokenizerJson, model: { type: 'BPE', vocab: {} } }))
    await expectError(readHfCheckpoint(dir), 'UNSUPPORTED', /tokenizer\.json: model\.type "BPE" is not supported/)
    fs.rmSync(path.join(dir, 'tokenizer.json'))
    await expectError(readHfCheckpoint(dir), 'NOT_FOUND', /no vocab\.txt/)
  })
})
