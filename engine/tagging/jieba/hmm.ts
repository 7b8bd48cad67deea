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
  // emission log probabilities: one row of S per character that any state emits, MIN_FLOAT where absent
  private readonly emitRow = new Int32Array(65536).fill(-1)
  private readonly emitTable: Float64Array
  private readonly charStates = new Map<number, Int32Array>()
  private readonly allStates: Int32Array
  private readonly transDense: Float64Array // [from * S + to], -Infinity when absent (Python's MIN_INF)
  private readonly transFromProb: Float64Array[]
  private readonly transTo: Int32Array[] // predecessors of each state (a finite transition into it)
  private readonly inPrev: Int32Array // step stamp per state: the state is among the previous step's states
  // scratch reused across calls
  private readonly bestScratch: Int32Array
  private readonly prevList: Int32Array
  private readonly rowA: Float64Array
  private readonly rowB: Float64Array
  private readonly obsA: Int32Array
  private readonly obsB: Int32Array

  constructor(data: PossegHmmData) {
    const S = (this.stateCount = data.states.length)
    this.bmes = Uint8Array.from(data.states, (s) => s.charCodeAt(0))
    this.flags = data.states.map((s) => s.slice(2))
    this.start = Float64Array.from(data.start)
    this.transFrom = data.trans.map((row) => Int32Array.from(row, (t) => t[0]))
    let rows = 0
    for (const table of data.emit) for (const ch in table) if (this.emitRow[ch.charCodeAt(0)] < 0) this.emitRow[ch.charCodeAt(0)] = rows++
    this.emitTable = new Float64Array((rows + 1) * S).fill(MIN_FLOAT) // the last row: characters never emitted
    data.emit.forEach((table, state) => {
      for (const ch in table) this.emitTable[this.emitRow[ch.charCodeAt(0)] * S + state] = table[ch]
    })
    for (let c = 0; c < 65536; c++) if (this.emitRow[c] < 0) this.emitRow[c] = rows
    for (const ch in data.charStates) this.charStates.set(ch.charCodeAt(0), Int32Array.from(data.charStates[ch]))
    this.allStates = Int32Array.from({ length: S }, (_, i) => i)
    this.transDense = new Float64Array(S * S).fill(-Infinity)
    data.trans.forEach((row, from) => row.forEach(([to, p]) => (this.transDense[from * S + to] = p)))
    this.prevList = new Int32Array(S)
    this.bestScratch = new Int32Array(S)
    this.transFromProb = data.trans.map((row) => Float64Array.from(row, (t) => t[1]))
    const preds: number[][] = Array.from({ length: S }, () => [])
    data.trans.forEach((row, from) => row.forEach(([to]) => preds[to].push(from)))
    this.transTo = preds.map((p) => Int32Array.from(p))
    this.inPrev = new Int32Array(S).fill(-1)
    this.rowA = new Float64Array(S)
    this.rowB = new Float64Array(S)
    this.obsA = new Int32Array(S)
    this.obsB = new Int32Array(S)
  }

  /** The part-of-speech flags the HMM can emit. */
  flagSet(): Set<string> {
    return new Set(this.flags)
  }

  /**
   * Best state per character (viterbi.py). `text` holds BMP characters only (a re_han_detail block).
   * Python builds prev_states_expect_next (all successors of the previous states) and intersects it with
   * the character's states; a state is in that set exactly when some previous state has a finite
   * transition to it, i.e. when its best score is finite. So we score the character's ~10 states against
   * the ~10 previous ones and keep the finite ones: the same maximum and tie-break (larger state on equal
   * scores), without the ~6,000-element set per character. The full set is built only in the rare case
   * where no state of the character is reachable.
   */
  viterbi(text: string): Uint8Array {
    const S = this.stateCount
    const N = text.length
    const { transDense, transFrom, transTo, inPrev, emitTable, emitRow } = this
    inPrev.fill(-1) // stamps are step numbers of this call
    let prevV = this.rowA
    let curV = this.rowB
    const back = new Uint8Array(N * S) // S <= 256
    let obs = this.obsA // states computed at t (the keys of Python's mem_path[t])
    let obsCount = 0
    let nextObs = this.obsB
    const prev = this.prevList

    const firstBase = emitRow[text.charCodeAt(0)] * S
    const first = this.charStates.get(text.charCodeAt(0)) ?? this.allStates
    for (let k = 0; k < first.length; k++) {
      const y = first[k]
      curV[y] = this.start[y] + emitTable[firstBase + y]
      obs[obsCount++] = y
    }
    for (let t = 1; t < N; t++) {
      const swap = prevV
      prevV = curV
      curV = swap
      const code = text.charCodeAt(t)
      const emitBase = emitRow[code] * S
      let prevCount = 0 // prev_states: states at t-1 that have any transition
      for (let k = 0; k < obsCount; k++) if (transFrom[obs[k]].length > 0) prev[prevCount++] = obs[k]
      // stamp them, so a candidate with fewer predecessors than there are previous states walks its
      // predecessors instead (the max and its tie-break do not depend on the order of the walk)
      for (let k = 0; k < prevCount; k++) inPrev[prev[k]] = t
      let nextCount = 0
      const candidates = this.charStates.get(code)
      if (candidates === undefined) {
        // a character outside char_state_tab: every state is a candidate, so walk the previous states'
        // successor lists (~20 each) instead of 256 x |prev| pairs
        nextCount = this.unknownCharStep(prev, prevCount, prevV, curV, back, t, emitBase, nextObs)
      }
      for (let k = 0; candidates !== undefined && k < candidates.length; k++) {
        const y = candidates[k]
        const em = emitTable[emitBase + y]
        let best = -Infinity
        let bestState = -1
        const preds = transTo[y]
        if (preds.length < prevCount) {
          for (let m = 0; m < preds.length; m++) {
            const y0 = preds[m]
            if (inPrev[y0] !== t) continue
            const p = prevV[y0] + transDense[y0 * S + y] + em
            if (bestState < 0 || p > best || (p === best && y0 > bestState)) {
              best = p
              bestState = y0
            }
          }
        } else {
          for (let m = 0; m < prevCount; m++) {
            const y0 = prev[m]
            const tr = transDense[y0 * S + y]
            if (tr === -Infinity) continue
            const p = prevV[y0] + tr + em
            if (bestState < 0 || p > best || (p === best && y0 > bestState)) {
              best = p
              bestState = y0
            }
          }
        }
        if (bestState < 0) continue // not in prev_states_expect_next
        curV[y] = best
        back[t * S + y] = bestState
        nextObs[nextCount++] = y
      }
      if (nextCount === 0) nextCount = this.fallbackStep(prev, prevCount, prevV, curV, back, t, emitBase, nextObs)
      const swapObs = obs
      obs = nextObs
      nextObs = swapObs
      obsCount = nextCount
    }
    let best = -Infinity
    let state = -1
    for (let k = 0; k < obsCount; k++) {
      const y = obs[k]
      const p = curV[y]
      if (state < 0 || p > best || (p === best && y > state)) {
        best = p
        state = y
      }
    }
    const route = new Uint8Array(N)
    for (let i = N - 1; i >= 0; i--) {
      route[i] = state
      state = back[i * S + state]
    }
    return route
  }

  /** The step for a character with no char_state_tab entry: obs_states = prev_states_expect_next. */
  private unknownCharStep(
    prev: Int32Array,
    prevCount: number,
    prevV: Float64Array,
    curV: Float64Array,
    back: Uint8Array,
    t: number,
    emitBase: number,
    out: Int32Array,
  ): number {
    const S = this.stateCount
    const bestState = this.bestScratch.fill(-1)
    const { transFrom, transFromProb, emitTable } = this
    let count = 0
    for (let m = 0; m < prevCount; m++) {
      const y0 = prev[m]
      const succ = transFrom[y0]
      const probs = transFromProb[y0]
      const from = prevV[y0]
      for (let k = 0; k < succ.length; k++) {
        const y = succ[k]
        const p = from + probs[k] + emitTable[emitBase + y]
        const b = bestState[y]
        if (b < 0) {
          out[count++] = y
          curV[y] = p
          bestState[y] = y0
        } else if (p > curV[y] || (p === curV[y] && y0 > b)) {
          curV[y] = p
          bestState[y] = y0
        }
      }
    }
    for (let k = 0; k < count; k++) back[t * S + out[k]] = bestState[out[k]]
    return count
  }

  /** obs_states = prev_states_expect_next, or all states when that is empty; every previous state competes. */
  private fallbackStep(
    prev: Int32Array,
    prevCount: number,
    prevV: Float64Array,
    curV: Float64Array,
    back: Uint8Array,
    t: number,
    emitBase: number,
    out: Int32Array,
  ): number {
    const S = this.stateCount
    const expected = new Uint8Array(S)
    let any = false
    for (let m = 0; m < prevCount; m++) {
      for (const y of this.transFrom[prev[m]]) {
        expected[y] = 1
        any = true
      }
    }
    let count = 0
    for (let y = 0; y < S; y++) {
      if (any && !expected[y]) continue
      let best = -Infinity
      let bestState = -1
      for (let m = 0; m < prevCount; m++) {
        const y0 = prev[m]
        const p = prevV[y0] + this.transDense[y0 * S + y] + this.emitTable[emitBase + y]
        if (bestState < 0 || p > best || (p === best && y0 > bestState)) {
          best = p
          bestState = y0
        }
      }
      curV[y] = best
      back[t * S + y] = bestState
      out[count++] = y
    }
    return count
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
