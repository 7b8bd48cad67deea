// Baidu LAC-small (jieba/lac_small/nets.py) on plain typed arrays: character embedding -> 2 bidirectional
// GRU layers (Paddle's dynamic_gru) -> linear emission -> CRF Viterbi (Paddle's crf_decoding).
// Labels: word segmentation with 24 POS-like tags plus PER/LOC/ORG/TIME, as X-B / X-I per character.
//
// Two paths with the same bits: the native kernel (engine/native/src/lac.c, batches of sentences over
// threads) and this file's loops, the fallback. Both compute in float32 with one rounding per multiply and
// per add (Math.fround here), each sum in the same order (the bias first, then the inputs in order), and
// sigmoid/tanh from the same expf (expApprox below, exp_approx.h there); the CRF decodes in float64.
import { corrupt } from '../../errors'
import { loadAddon, type NativeAddon } from '../../native-addon'
import { readTaggingResource } from '../resources'
import { expectTensor, readSafetensors } from './weights'

const EMB = 128
const HID = 128
const GATES = 3 * HID // update | reset | candidate
const FIRST = 2 * GATES // a table row: the first layer's input projections, forward | reverse

/** The dense tensors in the order the native kernel unpacks them (lac.c, lac_unpack). */
const LAC_WEIGHTS = ['fc_0', 'fc_1', 'gru_0', 'gru_1', 'fc_2', 'fc_3', 'gru_2', 'gru_3', 'fc_4']

const f32 = Math.fround

interface Linear {
  w: Float32Array // [in, out]
  b: Float32Array // [out]
  inSize: number
  outSize: number
}

interface Gru {
  gateWeight: Float32Array // [HID, 2*HID]: update | reset, from h
  stateWeight: Float32Array // [HID, HID]: candidate, from r*h
  bias: Float32Array // [3*HID]
}

interface Direction {
  projection: Linear
  gru: Gru
  reverse: boolean
}

export interface LacWord {
  word: string
  tag: string // a POS tag (n, v, ...) or an entity type (PER, LOC, ORG, TIME)
  start: number // offsets in UTF-16 code units into the text given to tag()
  end: number
}

// The full LAC maps full-width characters to half-width (its q2b.dic) before the lookup; jieba's
// reader_small skips that step, and then the model tags "，" and "。" as verbs and nouns. We normalise the
// lookup key only (offsets and words keep the original characters).
const PUNCTUATION_TO_HALF_WIDTH: Record<string, string> = { '。': '.', '、': ',', '“': '"', '”': '"', '‘': "'", '’': "'", '\u3000': ' ' }

export function lacLookupKey(char: string): string {
  const code = char.charCodeAt(0)
  if (char.length === 1 && code >= 0xff01 && code <= 0xff5e) return String.fromCharCode(code - 0xfee0)
  return PUNCTUATION_TO_HALF_WIDTH[char] ?? char
}

function parseDic(text: string, source: string): Map<string, number> {
  // reader_small.load_kv_dict: "id\tkey" lines; lines with another shape are skipped
  const map = new Map<string, number>()
  for (const line of text.split('\n')) {
    const terms = line.split('\t')
    if (terms.length !== 2) continue
    if (map.has(terms[1])) throw corrupt(`${source}: key ${JSON.stringify(terms[1])} is duplicated`)
    map.set(terms[1], Number(terms[0]))
  }
  return map
}

export class LacSmall {
  private readonly wordIds: Map<string, number>
  private readonly oovId: number
  readonly labels: string[]
  private readonly embedding: Float32Array
  private readonly layers: Direction[][]
  private readonly emission: Linear
  private readonly crfStart: Float32Array
  private readonly crfEnd: Float32Array
  private readonly crfTrans: Float32Array // [L, L] from -> to
  /** the dense tensors packed for the native kernel (LAC_WEIGHTS) */
  private readonly packed: Float32Array
  /**
   * First-layer input projections per character id ([vocab, FIRST]: embedding row times fc_0 | fc_1),
   * filled on first use by either path; pages of rows never used are never touched.
   */
  private readonly table: Float32Array
  private readonly ready: Uint8Array
  /** The native kernel when the addon has it; null runs the loops below. */
  native: NativeAddon | null = null

  constructor(weights: Uint8Array, wordDic: string, tagDic: string) {
    const src = 'lac/lac-small.safetensors'
    this.wordIds = parseDic(wordDic, 'lac/word.dic')
    const oov = this.wordIds.get('OOV')
    if (oov === undefined) throw corrupt('lac/word.dic has no OOV entry')
    this.oovId = oov
    const tagIds = parseDic(tagDic, 'lac/tag.dic')
    this.labels = []
    for (const [tag, id] of tagIds) this.labels[id] = tag
    const L = this.labels.length
    const vocab = Math.max(...this.wordIds.values()) + 1
    const t = readSafetensors(weights, src)
    const shapes = (name: string): [number, number] =>
      name.startsWith('gru') ? [HID, GATES] : name === 'fc_4' ? [2 * HID, L] : name === 'fc_0' || name === 'fc_1' ? [EMB, GATES] : [2 * HID, GATES]
    const parts: Float32Array[] = []
    const tensors = new Map<string, { w: Float32Array; b: Float32Array }>()
    for (const name of LAC_WEIGHTS) {
      const [inSize, outSize] = shapes(name)
      const w = expectTensor(t, `${name}.w_0`, [inSize, outSize], src)
      const b = expectTensor(t, `${name}.b_0`, name.startsWith('gru') ? [1, GATES] : [outSize], src)
      tensors.set(name, { w, b })
      parts.push(w, b)
    }
    const crf = expectTensor(t, 'crfw', [L + 2, L], src)
    parts.push(crf)
    this.packed = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of parts) {
      this.packed.set(p, at)
      at += p.length
    }
    const linear = (name: string): Linear => {
      const [inSize, outSize] = shapes(name)
      return { ...tensors.get(name)!, inSize, outSize }
    }
    const gru = (name: string): Gru => {
      const { w, b } = tensors.get(name)!
      // Paddle's layout: [HID, 2*HID] for the update and reset gates, then [HID, HID] for the candidate
      return { gateWeight: w.subarray(0, HID * 2 * HID), stateWeight: w.subarray(HID * 2 * HID), bias: b }
    }
    this.embedding = expectTensor(t, 'word_emb', [vocab, EMB], src)
    this.layers = [0, 1].map((l) => [
      { projection: linear(`fc_${2 * l}`), gru: gru(`gru_${2 * l}`), reverse: false },
      { projection: linear(`fc_${2 * l + 1}`), gru: gru(`gru_${2 * l + 1}`), reverse: true },
    ])
    this.emission = linear('fc_4')
    this.crfStart = crf.subarray(0, L)
    this.crfEnd = crf.subarray(L, 2 * L)
    this.crfTrans = crf.subarray(2 * L)
    this.table = new Float32Array(vocab * FIRST)
    this.ready = new Uint8Array(vocab)
  }

  /** Loads the vendored model; `native` (default true) uses the native kernel when it is available. */
  static load(options: { native?: boolean } = {}): LacSmall {
    const lac = new LacSmall(
      readTaggingResource('lac/lac-small.safetensors'),
      readTaggingResource('lac/word.dic').toString('utf8'),
      readTaggingResource('lac/tag.dic').toString('utf8'),
    )
    if (options.native ?? true) lac.native = nativeLacKernel()
    return lac
  }

  /** The character ids LAC looks up for `chars` (code points). */
  ids(chars: string[]): Int32Array {
    return Int32Array.from(chars, (c) => this.wordIds.get(lacLookupKey(c)) ?? this.oovId)
  }

  /** Label ids per character (code point) of `chars`, on this file's loops (the reference path). */
  predict(chars: string[]): Int32Array {
    return this.viterbi(this.emissionsOf(chars), chars.length)
  }

  /** The emission scores [T, labels] the CRF decodes, on this file's loops. */
  emissionsOf(chars: string[]): Float32Array {
    const T = chars.length
    if (T === 0) return new Float32Array(0)
    const ids = this.ids(chars)
    const first = [new Float32Array(T * GATES), new Float32Array(T * GATES)] // [T, GATES] per direction
    for (let i = 0; i < T; i++) {
      const row = this.tableRow(ids[i])
      first[0].set(row.subarray(0, GATES), i * GATES)
      first[1].set(row.subarray(GATES), i * GATES)
    }
    let x = new Float32Array(0)
    this.layers.forEach((layer, l) => {
      const out = new Float32Array(T * 2 * HID) // [T, fwd | rev]
      layer.forEach((dir, d) => {
        const gates = l === 0 ? first[d] : applyLinear(dir.projection, x, T) // [T, GATES]
        runGru(dir.gru, gates, T, dir.reverse, out, d * HID, 2 * HID)
      })
      x = out
    })
    return applyLinear(this.emission, x, T)
  }

  /**
   * Label ids for many sentences at once: the native kernel when loaded (sentences batched over the
   * kernel threads), else `predict` one by one; the same labels either way. `emissions` (tests) receives
   * the emission scores per sentence, [T, labels].
   */
  predictBatch(sentences: string[][], emissions?: Float32Array[]): Int32Array[] {
    if (!this.native) {
      return sentences.map((chars) => {
        if (emissions) emissions.push(this.emissionsOf(chars))
        return this.predict(chars)
      })
    }
    const offsets = new Int32Array(sentences.length + 1)
    sentences.forEach((chars, i) => (offsets[i + 1] = offsets[i] + chars.length))
    const total = offsets[sentences.length]
    const ids = new Int32Array(total)
    sentences.forEach((chars, i) => ids.set(this.ids(chars), offsets[i]))
    const paths = new Int32Array(total)
    const L = this.labels.length
    const scores = emissions ? new Float32Array(total * L) : null
    this.native.lacTagBatch(this.packed, L, this.embedding, this.table, this.ready, ids, offsets, paths, scores)
    if (emissions) sentences.forEach((_, i) => emissions.push(scores!.slice(offsets[i] * L, offsets[i + 1] * L)))
    return sentences.map((_, i) => paths.subarray(offsets[i], offsets[i + 1]))
  }

  private tableRow(id: number): Float32Array {
    const row = this.table.subarray(id * FIRST, (id + 1) * FIRST)
    if (!this.ready[id]) {
      const emb = this.embedding.subarray(id * EMB, (id + 1) * EMB)
      row.set(applyLinear(this.layers[0][0].projection, emb, 1), 0)
      row.set(applyLinear(this.layers[0][1].projection, emb, 1), GATES)
      this.ready[id] = 1
    }
    return row
  }

  /** crf_decoding: argmax of start + emissions + transitions + end; ties keep the lower label id. */
  private viterbi(emission: Float32Array, T: number): Int32Array {
    if (T === 0) return new Int32Array(0)
    const L = this.labels.length
    let alpha = new Float64Array(L)
    let next = new Float64Array(L)
    const back = new Int32Array(T * L)
    for (let j = 0; j < L; j++) alpha[j] = this.crfStart[j] + emission[j]
    for (let k = 1; k < T; k++) {
      for (let i = 0; i < L; i++) {
        let best = -Infinity
        let arg = 0
        for (let j = 0; j < L; j++) {
          const s = alpha[j] + this.crfTrans[j * L + i]
          if (s > best) {
            best = s
            arg = j
          }
        }
        next[i] = best + emission[k * L + i]
        back[k * L + i] = arg
      }
      ;[alpha, next] = [next, alpha]
    }
    let best = -Infinity
    let last = 0
    for (let i = 0; i < L; i++) {
      const s = alpha[i] + this.crfEnd[i]
      if (s > best) {
        best = s
        last = i
      }
    }
    const path = new Int32Array(T)
    path[T - 1] = last
    for (let k = T - 1; k > 0; k--) path[k - 1] = back[k * L + path[k]]
    return path
  }

  /**
   * Words with LAC tags, like jieba's `posseg.cut(s, use_paddle=True)` (utils.parse_result): a word starts
   * at an X-B label, or at O after a non-O label. The input is stripped first, as reader_small does; offsets
   * still point into `text`.
   */
  tag(text: string): LacWord[] {
    return this.tagBatch([text])[0]
  }

  /** `tag` for many texts, run through the network together (predictBatch). */
  tagBatch(texts: string[]): LacWord[][] {
    const bodies = texts.map((text) => Array.from(text.trim()))
    const paths = this.predictBatch(bodies)
    return texts.map((text, k) => {
      const chars = bodies[k]
      const path = paths[k]
      const words: LacWord[] = []
      let at = text.length - text.trimStart().length
      let current: LacWord | null = null
      for (let i = 0; i < chars.length; i++) {
        const label = this.labels[path[i]]
        const startsWord = current === null || label.endsWith('-B') || (label === 'O' && this.labels[path[i - 1]] !== 'O')
        if (startsWord) {
          if (current) words.push(current)
          current = { word: chars[i], tag: label.split('-')[0], start: at, end: at + chars[i].length }
        } else {
          current!.word += chars[i]
          current!.end += chars[i].length
        }
        at += chars[i].length
      }
      if (current) words.push(current)
      return words
    })
  }
}

/** The addon's LAC kernel, or null (not built, an older build without it, or MENGZI_NATIVE=0). */
export function nativeLacKernel(): NativeAddon | null {
  const { addon } = loadAddon()
  return addon && typeof addon.lacTagBatch === 'function' ? addon : null
}

/**
 * expf as float32 steps, the same ones as exp_approx in engine/native/src/exp_approx.h (Cody–Waite
 * reduction, a degree-6 polynomial, 2^n in two factors), so both paths get the same bits. `x` is a float32.
 */
const LOG2E = f32(1.44269504088896341)
const LN2_LO = f32(-2.1219444e-4)
const P0 = f32(1.98756915e-4)
const P1 = f32(1.3981999507e-3)
const P2 = f32(8.3334519073e-3)
const P3 = f32(4.1665795894e-2)
const P4 = f32(1.6666665459e-1)
const P5 = f32(5.0000001201e-1)
const MAGIC = 12582912 // 1.5 * 2^23

export function expApprox(x: number): number {
  if (x < -104) return 0
  if (x > 89) return Infinity
  const t = f32(f32(x * LOG2E) + MAGIC)
  const n = f32(t - MAGIC)
  let r = f32(x - f32(n * 0.693359375))
  r = f32(r - f32(n * LN2_LO))
  let p = P0
  p = f32(f32(p * r) + P1)
  p = f32(f32(p * r) + P2)
  p = f32(f32(p * r) + P3)
  p = f32(f32(p * r) + P4)
  p = f32(f32(p * r) + P5)
  p = f32(f32(f32(f32(p * r) * r) + r) + 1)
  const h = n >> 1
  return f32(f32(p * POW2[h + 128]) * POW2[n - h + 128])
}

const POW2 = Float64Array.from({ length: 257 }, (_, i) => 2 ** (i - 128)) // 2^-128 … 2^128

const sigmoid = (v: number) => f32(1 / f32(1 + expApprox(-v)))

function tanh(v: number): number {
  const e = expApprox(f32(-2 * Math.abs(v)))
  const t = f32(f32(1 - e) / f32(1 + e))
  return v < 0 ? -t : t
}

/** y [T, out] = b + x [T, in] · w, each output summed from the bias in input order, as float32. */
function applyLinear(layer: Linear, x: Float32Array, T: number): Float32Array {
  const { w, b, inSize, outSize } = layer
  const y = new Float32Array(T * outSize)
  for (let t = 0; t < T; t++) {
    const row = y.subarray(t * outSize, (t + 1) * outSize)
    row.set(b)
    const xo = t * inSize
    for (let i = 0; i < inSize; i++) {
      const xi = x[xo + i]
      const wo = i * outSize
      let o = 0
      for (; o + 3 < outSize; o += 4) {
        row[o] = row[o] + f32(xi * w[wo + o]) // the store rounds the sum
        row[o + 1] = row[o + 1] + f32(xi * w[wo + o + 1])
        row[o + 2] = row[o + 2] + f32(xi * w[wo + o + 2])
        row[o + 3] = row[o + 3] + f32(xi * w[wo + o + 3])
      }
      for (; o < outSize; o++) row[o] = row[o] + f32(xi * w[wo + o])
    }
  }
  return y
}

/** Paddle's dynamic_gru (origin_mode false): h = (1-u)*h + u*c, c from r*h. Writes h into out[t, offset..]. */
function runGru(gru: Gru, gates: Float32Array, T: number, reverse: boolean, out: Float32Array, offset: number, stride: number): void {
  const h = new Float32Array(HID)
  const ur = new Float32Array(2 * HID)
  const rh = new Float32Array(HID)
  const c = new Float32Array(HID)
  const { gateWeight, stateWeight, bias } = gru
  for (let step = 0; step < T; step++) {
    const t = reverse ? T - 1 - step : step
    const g = t * GATES
    for (let j = 0; j < 2 * HID; j++) ur[j] = gates[g + j] + bias[j]
    for (let i = 0; i < HID; i++) {
      const hi = h[i]
      const wo = i * 2 * HID
      for (let j = 0; j < 2 * HID; j += 4) {
        ur[j] = ur[j] + f32(hi * gateWeight[wo + j])
        ur[j + 1] = ur[j + 1] + f32(hi * gateWeight[wo + j + 1])
        ur[j + 2] = ur[j + 2] + f32(hi * gateWeight[wo + j + 2])
        ur[j + 3] = ur[j + 3] + f32(hi * gateWeight[wo + j + 3])
      }
    }
    for (let j = 0; j < HID; j++) {
      ur[j] = sigmoid(ur[j])
      rh[j] = sigmoid(ur[HID + j]) * h[j]
      c[j] = gates[g + 2 * HID + j] + bias[2 * HID + j]
    }
    for (let i = 0; i < HID; i++) {
      const ri = rh[i]
      const wo = i * HID
      for (let j = 0; j < HID; j += 4) {
        c[j] = c[j] + f32(ri * stateWeight[wo + j])
        c[j + 1] = c[j + 1] + f32(ri * stateWeight[wo + j + 1])
        c[j + 2] = c[j + 2] + f32(ri * stateWeight[wo + j + 2])
        c[j + 3] = c[j + 3] + f32(ri * stateWeight[wo + j + 3])
      }
    }
    const o = t * stride + offset
    for (let j = 0; j < HID; j++) {
      const u = ur[j]
      h[j] = f32(f32(1 - u) * h[j]) + f32(u * tanh(c[j])) // the store rounds the sum
      out[o + j] = h[j]
    }
  }
}
