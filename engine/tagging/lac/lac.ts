// Baidu LAC-small (jieba/lac_small/nets.py) on plain typed arrays: character embedding -> 2 bidirectional
// GRU layers (Paddle's dynamic_gru) -> linear emission -> CRF Viterbi (Paddle's crf_decoding).
// Labels: word segmentation with 24 POS-like tags plus PER/LOC/ORG/TIME, as X-B / X-I per character.
import { corrupt } from '../../errors'
import { readTaggingResource } from '../resources'
import { expectTensor, readSafetensors } from './weights'

const EMB = 128
const HID = 128
const GATES = 3 * HID // update | reset | candidate

// Dense weights are widened to float64 once at load: the loops accumulate in float64, and loading float32
// elements would convert each one on every use.
interface Linear {
  w: Float64Array // [in, out]
  b: Float64Array // [out]
  inSize: number
  outSize: number
}

interface Gru {
  gateWeight: Float64Array // [HID, 2*HID]: update | reset, from h
  stateWeight: Float64Array // [HID, HID]: candidate, from r*h
  bias: Float64Array // [3*HID]
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
  /** first-layer projections per character id: embedding row times fc_0 / fc_1, computed once per id */
  private readonly firstProjection = new Map<number, Float32Array>()

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
    const linear = (name: string, inSize: number, outSize: number): Linear => ({
      w: Float64Array.from(expectTensor(t, `${name}.w_0`, [inSize, outSize], src)),
      b: Float64Array.from(expectTensor(t, `${name}.b_0`, [outSize], src)),
      inSize,
      outSize,
    })
    const gru = (name: string): Gru => {
      const w = Float64Array.from(expectTensor(t, `${name}.w_0`, [HID, GATES], src))
      return {
        gateWeight: w.subarray(0, HID * 2 * HID),
        stateWeight: w.subarray(HID * 2 * HID),
        bias: Float64Array.from(expectTensor(t, `${name}.b_0`, [1, GATES], src)),
      }
    }
    this.embedding = expectTensor(t, 'word_emb', [vocab, EMB], src)
    this.layers = [0, 1].map((l) => {
      const inSize = l === 0 ? EMB : 2 * HID
      return [
        { projection: linear(`fc_${2 * l}`, inSize, GATES), gru: gru(`gru_${2 * l}`), reverse: false },
        { projection: linear(`fc_${2 * l + 1}`, inSize, GATES), gru: gru(`gru_${2 * l + 1}`), reverse: true },
      ]
    })
    this.emission = linear('fc_4', 2 * HID, L)
    const crf = expectTensor(t, 'crfw', [L + 2, L], src)
    this.crfStart = crf.subarray(0, L)
    this.crfEnd = crf.subarray(L, 2 * L)
    this.crfTrans = crf.subarray(2 * L)
  }

  static load(): LacSmall {
    return new LacSmall(
      readTaggingResource('lac/lac-small.safetensors'),
      readTaggingResource('lac/word.dic').toString('utf8'),
      readTaggingResource('lac/tag.dic').toString('utf8'),
    )
  }

  /** Label ids per character (code point) of `chars`. */
  predict(chars: string[]): Int32Array {
    const T = chars.length
    if (T === 0) return new Int32Array(0)
    const first = [new Float64Array(T * GATES), new Float64Array(T * GATES)] // [T, GATES] per direction
    for (let i = 0; i < T; i++) {
      const id = this.wordIds.get(lacLookupKey(chars[i])) ?? this.oovId
      const projected = this.projectFirst(id)
      first[0].set(projected.subarray(0, GATES), i * GATES)
      first[1].set(projected.subarray(GATES), i * GATES)
    }
    let x = new Float64Array(0)
    this.layers.forEach((layer, l) => {
      const out = new Float64Array(T * 2 * HID) // [T, fwd | rev]
      layer.forEach((dir, d) => {
        const gates = l === 0 ? first[d] : applyLinear(dir.projection, x, T) // [T, GATES]
        runGru(dir.gru, gates, T, dir.reverse, out, d * HID, 2 * HID)
      })
      x = out
    })
    const emission = applyLinear(this.emission, x, T) // [T, L]
    return this.viterbi(emission, T)
  }

  private projectFirst(id: number): Float32Array {
    let projected = this.firstProjection.get(id)
    if (!projected) {
      const emb = Float64Array.from(this.embedding.subarray(id * EMB, (id + 1) * EMB))
      projected = new Float32Array(2 * GATES)
      projected.set(applyLinear(this.layers[0][0].projection, emb, 1), 0)
      projected.set(applyLinear(this.layers[0][1].projection, emb, 1), GATES)
      this.firstProjection.set(id, projected)
    }
    return projected
  }

  /** crf_decoding: argmax of start + emissions + transitions + end; ties keep the lower label id. */
  private viterbi(emission: Float64Array, T: number): Int32Array {
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
    const lead = text.length - text.trimStart().length
    const body = text.trim()
    const chars = Array.from(body)
    const path = this.predict(chars)
    const words: LacWord[] = []
    let at = lead
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
  }
}

function applyLinear(layer: Linear, x: Float64Array, T: number): Float64Array {
  const { w, b, inSize, outSize } = layer
  const y = new Float64Array(T * outSize)
  const row = new Float64Array(outSize)
  for (let t = 0; t < T; t++) {
    row.set(b)
    const xo = t * inSize
    for (let i = 0; i < inSize; i++) {
      const xi = x[xo + i]
      if (xi === 0) continue
      const wo = i * outSize
      let o = 0
      for (; o + 3 < outSize; o += 4) {
        row[o] += xi * w[wo + o]
        row[o + 1] += xi * w[wo + o + 1]
        row[o + 2] += xi * w[wo + o + 2]
        row[o + 3] += xi * w[wo + o + 3]
      }
      for (; o < outSize; o++) row[o] += xi * w[wo + o]
    }
    y.set(row, t * outSize)
  }
  return y
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v))

/** Paddle's dynamic_gru (origin_mode false): h = (1-u)*h + u*c, c from r*h. Writes h into out[t, offset..]. */
function runGru(gru: Gru, gates: Float64Array, T: number, reverse: boolean, out: Float64Array, offset: number, stride: number): void {
  const h = new Float64Array(HID)
  const ur = new Float64Array(2 * HID)
  const rh = new Float64Array(HID)
  const c = new Float64Array(HID)
  const { gateWeight, stateWeight, bias } = gru
  for (let step = 0; step < T; step++) {
    const t = reverse ? T - 1 - step : step
    const g = t * GATES
    for (let j = 0; j < 2 * HID; j++) ur[j] = gates[g + j] + bias[j]
    for (let i = 0; i < HID; i++) {
      const hi = h[i]
      if (hi === 0) continue
      const wo = i * 2 * HID
      for (let j = 0; j < 2 * HID; j += 4) {
        ur[j] += hi * gateWeight[wo + j]
        ur[j + 1] += hi * gateWeight[wo + j + 1]
        ur[j + 2] += hi * gateWeight[wo + j + 2]
        ur[j + 3] += hi * gateWeight[wo + j + 3]
      }
    }
    for (let j = 0; j < HID; j++) {
      ur[j] = sigmoid(ur[j])
      rh[j] = sigmoid(ur[HID + j]) * h[j]
      c[j] = gates[g + 2 * HID + j] + bias[2 * HID + j]
    }
    for (let i = 0; i < HID; i++) {
      const ri = rh[i]
      if (ri === 0) continue
      const wo = i * HID
      for (let j = 0; j < HID; j += 4) {
        c[j] += ri * stateWeight[wo + j]
        c[j + 1] += ri * stateWeight[wo + j + 1]
        c[j + 2] += ri * stateWeight[wo + j + 2]
        c[j + 3] += ri * stateWeight[wo + j + 3]
      }
    }
    const o = t * stride + offset
    for (let j = 0; j < HID; j++) {
      const u = ur[j]
      h[j] = (1 - u) * h[j] + u * Math.tanh(c[j])
      out[o + j] = h[j]
    }
  }
}
