// jieba.posseg's HMM (viterbi.py) for runs of characters outside the dictionary: joint B/M/E/S segmentation
// and part-of-speech states. Faithful to Python, including its tie-breaks: Python takes max() over
// (prob, state) tuples, so equal probabilities go to the larger state tuple; our states are indexed in that
// tuple order (the vendor script sorts them), so "larger index wins ties" is the same rule.

const MIN_FLOAT = -3.14e100

export interface PossegHmmData {
  states: string[] // "B:n", sorted like Python's tuples
  start: number[]
  trans: [number, number][][]
  emit: Record<string, number>[]
  charStates: Record<string, number[]>
}

export interface HmmWord {
  word: string
  flag: string
}

export class PossegHmm {
  private readonly stateCount: number
  private readonly bmes: Uint8Array // char code of B/M/E/S per state
  private readonly flags: string[]
  private readonly start: Float64Array
  private readonly transFrom: Int32Array[] // successors of each state
  private readonly transProb: Float64Array[]
  private readonly transDense: Float64Array // [from * S + to], -Infinity when absent (Python's MIN_INF)
  private readonly emit = new Map<number, number>() // code * S + state
  private readonly charStates = new Map<number, Int32Array>()
  private readonly allStates: Int32Array

  constructor(data: PossegHmmData) {
    const S = (this.stateCount = data.states.length)
    this.bmes = Uint8Array.from(data.states, (s) => s.charCodeAt(0))
    this.flags = data.states.map((s) => s.slice(2))
    this.start = Float64Array.from(data.start)
    this.transFrom = data.trans.map((row) => Int32Array.from(row, (t) => t[0]))
    this.transProb = data.trans.map((row) => Float64Array.from(row, (t) => t[1]))
    this.transDense = new Float64Array(S * S).fill(-Infinity)
    data.trans.forEach((row, from) => row.forEach(([to, p]) => (this.transDense[from * S + to] = p)))
    data.emit.forEach((table, state) => {
      for (const ch in table) this.emit.set(ch.charCodeAt(0) * S + state, table[ch])
    })
    for (const ch in data.charStates) this.charStates.set(ch.charCodeAt(0), Int32Array.from(data.charStates[ch]))
    this.allStates = Int32Array.from({ length: S }, (_, i) => i)
  }

  /** The part-of-speech flags the HMM can emit. */
  flagSet(): Set<string> {
    return new Set(this.flags)
  }

  private emission(code: number, state: number): number {
    return this.emit.get(code * this.stateCount + state) ?? MIN_FLOAT
  }

  /** Best state per character (viterbi.py). `text` holds BMP characters only (a re_han_detail block). */
  viterbi(text: string): Int32Array {
    const S = this.stateCount
    const N = text.length
    const V = new Float64Array(N * S)
    const back = new Int32Array(N * S)
    const active = new Uint8Array(N * S) // state computed at t (the keys of Python's mem_path[t])
    const expect = new Uint8Array(S)
    let prev: number[] = []

    const first = this.charStates.get(text.charCodeAt(0)) ?? this.allStates
    for (const y of first) {
      V[y] = this.start[y] + this.emission(text.charCodeAt(0), y)
      active[y] = 1
    }
    for (let t = 1; t < N; t++) {
      const code = text.charCodeAt(t)
      prev = []
      expect.fill(0)
      let anyExpected = false
      for (let y0 = 0; y0 < S; y0++) {
        if (!active[(t - 1) * S + y0] || this.transFrom[y0].length === 0) continue
        prev.push(y0)
        for (const y of this.transFrom[y0]) expect[y] = 1
        anyExpected = true
      }
      let obs: number[] = []
      for (const y of this.charStates.get(code) ?? this.allStates) if (expect[y]) obs.push(y)
      if (obs.length === 0) {
        obs = []
        for (let y = 0; y < S; y++) if (!anyExpected || expect[y]) obs.push(y)
      }
      for (const y of obs) {
        const em = this.emission(code, y)
        let best = -Infinity
        let bestState = -1
        for (const y0 of prev) {
          const p = V[(t - 1) * S + y0] + this.transDense[y0 * S + y] + em
          if (bestState < 0 || p > best || (p === best && y0 > bestState)) {
            best = p
            bestState = y0
          }
        }
        V[t * S + y] = best
        back[t * S + y] = bestState
        active[t * S + y] = 1
      }
    }
    let best = -Infinity
    let state = -1
    for (let y = 0; y < S; y++) {
      if (!active[(N - 1) * S + y]) continue
      const p = V[(N - 1) * S + y]
      if (state < 0 || p > best || (p === best && y > state)) {
        best = p
        state = y
      }
    }
    const route = new Int32Array(N)
    for (let i = N - 1; i >= 0; i--) {
      route[i] = state
      state = back[i * S + state]
    }
    return route
  }

  /** POSTokenizer.__cut: words and flags from the best state sequence. */
  cut(text: string, out: HmmWord[]): void {
    const route = this.viterbi(text)
    const B = 66, E = 69, S = 83
    let begin = 0
    let next = 0
    for (let i = 0; i < text.length; i++) {
      const pos = this.bmes[route[i]]
      if (pos === B) begin = i
      else if (pos === E) {
        out.push({ word: text.slice(begin, i + 1), flag: this.flags[route[i]] })
        next = i + 1
      } else if (pos === S) {
        out.push({ word: text[i], flag: this.flags[route[i]] })
        next = i + 1
      }
    }
    if (next < text.length) out.push({ word: text.slice(next), flag: this.flags[route[next]] })
  }
}
