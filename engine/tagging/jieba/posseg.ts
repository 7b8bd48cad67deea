// A faithful port of Python jieba's `jieba.posseg.cut(sentence, HMM=True)` (python3-jieba 0.42):
// blocks by re_han_internal / re_skip_internal, the dictionary DAG with the max-log-probability route,
// runs of single characters that are not a dictionary word go through __cut_detail (the posseg HMM for
// Chinese, `m` for numbers, `eng` for Latin). Output words concatenate back to the input exactly.
import { JiebaDictionary } from './dictionary'
import { PossegHmm, type HmmWord, type PossegHmmData } from './hmm'
import { readTaggingResource } from '../resources'

export interface WordFlag {
  word: string
  flag: string
}

// Python's `\s` on str: the ASCII whitespace plus every character whose str.isspace() is true.
const PY_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
  0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
])

const isHan = (c: number) => c >= 0x4e00 && c <= 0x9fd5 // re_han_detail's range
const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isAlnum = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
const isNum = (c: number) => isDigit(c) || c === 0x2e // [\.0-9]
// re_han_internal: [\u4E00-\u9FD5a-zA-Z0-9+#&\._]
const isHanInternal = (c: number) => isHan(c) || isAlnum(c) || c === 0x2b || c === 0x23 || c === 0x26 || c === 0x2e || c === 0x5f

export class PossegTokenizer {
  constructor(
    readonly dict: JiebaDictionary,
    readonly hmm: PossegHmm,
  ) {}

  static load(): PossegTokenizer {
    const dict = new JiebaDictionary(readTaggingResource('jieba/dict.txt.gz').toString('utf8'), 'jieba/dict.txt.gz')
    const hmm = new PossegHmm(JSON.parse(readTaggingResource('jieba/posseg-hmm.json.gz').toString('utf8')) as PossegHmmData)
    return new PossegTokenizer(dict, hmm)
  }

  /** jieba.posseg.cut(sentence) */
  cut(sentence: string): WordFlag[] {
    const out: WordFlag[] = []
    let i = 0
    const N = sentence.length
    while (i < N) {
      let j = i
      if (isHanInternal(sentence.charCodeAt(i))) {
        while (j < N && isHanInternal(sentence.charCodeAt(j))) j++
        this.cutDag(sentence.slice(i, j), out)
      } else {
        while (j < N && !isHanInternal(sentence.charCodeAt(j))) j++
        this.cutSkipped(sentence.slice(i, j), out)
      }
      i = j
    }
    return out
  }

  /** A block outside re_han_internal: whitespace tokens (\r\n as one), everything else one code point each. */
  private cutSkipped(block: string, out: WordFlag[]): void {
    for (let i = 0; i < block.length; ) {
      const c = block.charCodeAt(i)
      if (c === 0x0d && block.charCodeAt(i + 1) === 0x0a) {
        out.push({ word: '\r\n', flag: 'x' })
        i += 2
      } else if (PY_SPACE.has(c)) {
        out.push({ word: block[i], flag: 'x' })
        i += 1
      } else {
        const width = c >= 0xd800 && c <= 0xdbff && i + 1 < block.length ? 2 : 1 // Python iterates code points
        out.push({ word: block.slice(i, i + width), flag: 'x' })
        i += width
      }
    }
  }

  /** POSTokenizer.__cut_DAG on one re_han_internal block (BMP characters only). */
  private cutDag(block: string, out: WordFlag[]): void {
    const N = block.length
    const dict = this.dict
    // get_DAG + calc fused: route[idx] = max over ends x of (logP(block[idx..x]) + route[x+1], x)
    const routeProb = new Float64Array(N + 1)
    const routeEnd = new Int32Array(N)
    const routeNode = new Int32Array(N)
    for (let k = N - 1; k >= 0; k--) {
      let best = -Infinity
      let bestEnd = -1
      let bestNode = -1
      let node = dict.step(0, block.charCodeAt(k))
      for (let i = k; node >= 0; ) {
        if (dict.frequency(node)) {
          const p = dict.logProbability(node) + routeProb[i + 1]
          if (bestEnd < 0 || p > best || (p === best && i > bestEnd)) {
            best = p
            bestEnd = i
            bestNode = node
          }
        }
        i++
        if (i >= N) break
        node = dict.step(node, block.charCodeAt(i))
      }
      if (bestEnd < 0) {
        // no dictionary word starts here: the single character, FREQ.get(...) or 1
        const single = dict.step(0, block.charCodeAt(k))
        best = dict.logProbability(single) + routeProb[k + 1]
        bestEnd = k
        bestNode = single
      }
      routeProb[k] = best
      routeEnd[k] = bestEnd
      routeNode[k] = bestNode
    }

    let bufStart = -1
    for (let x = 0; x < N; ) {
      const y = routeEnd[x] + 1
      if (y - x === 1) {
        if (bufStart < 0) bufStart = x
      } else {
        if (bufStart >= 0) {
          this.flushBuffer(block.slice(bufStart, x), out)
          bufStart = -1
        }
        out.push({ word: block.slice(x, y), flag: dict.tagOf(block.slice(x, y)) })
      }
      x = y
    }
    if (bufStart >= 0) this.flushBuffer(block.slice(bufStart), out)
  }

  private flushBuffer(buf: string, out: WordFlag[]): void {
    if (buf.length === 1) out.push({ word: buf, flag: this.dict.tagOf(buf) })
    else if (!this.dict.frequency(this.dict.find(buf))) this.cutDetail(buf, out)
    else for (const ch of buf) out.push({ word: ch, flag: this.dict.tagOf(ch) })
  }

  /** POSTokenizer.__cut_detail: HMM for Chinese runs; [.0-9]+ is `m`, [a-zA-Z0-9]+ is `eng`, the rest `x`. */
  private cutDetail(text: string, out: WordFlag[]): void {
    const N = text.length
    for (let i = 0; i < N; ) {
      let j = i
      const c = text.charCodeAt(i)
      if (isHan(c)) {
        while (j < N && isHan(text.charCodeAt(j))) j++
        this.hmm.cut(text.slice(i, j), out as HmmWord[])
      } else if (isNum(c)) {
        while (j < N && isNum(text.charCodeAt(j))) j++
        out.push({ word: text.slice(i, j), flag: 'm' })
      } else if (isAlnum(c)) {
        while (j < N && isAlnum(text.charCodeAt(j))) j++
        out.push({ word: text.slice(i, j), flag: 'eng' })
      } else {
        while (j < N && !isHan(text.charCodeAt(j)) && !isAlnum(text.charCodeAt(j)) && !isNum(text.charCodeAt(j))) j++
        out.push({ word: text.slice(i, j), flag: 'x' })
      }
      i = j
    }
  }
}
