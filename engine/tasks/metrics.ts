// CLUE's metrics. Classification and multiple choice: accuracy. CMRC2018: EM and F1 as CLUE's
// evaluation script (cmrc2018_evaluate.py, v5) computes them:
//   - both strings lower-cased and stripped;
//   - EM: equal after removing the script's punctuation characters (a fixed list, below), for any answer;
//   - F1: both strings segmented — each Han character (U+4E00–U+9FA5) and each listed punctuation mark
//     alone, runs of anything else split as nltk.word_tokenize splits them — punctuation removed, then
//     the longest common *contiguous* run of segments gives precision and recall; the best over answers;
//   - a question without a prediction scores 0 and still counts in the total.
// The script's list holds "……" as one entry but compares single characters, so "…" is never removed:
// kept here as the script behaves.

/** The script's sp_char, character by character (its "……" entry can never match a single character). */
const PUNCTUATION = new Set(['-', ':', '_', '*', '^', '/', '\\', '~', '`', '+', '=', '，', '。', '：', '？', '！', '“', '”', '；', '’', '《', '》', '·', '、', '「', '」', '（', '）', '－', '～', '『', '』'])
const HAN = /[\u4e00-\u9fa5]/

/**
 * nltk.word_tokenize on the non-Han runs, approximated for what CMRC answers hold (numbers, Latin words,
 * ASCII punctuation): whitespace separates, a word keeps inner . , ' between alphanumerics (3.5, 1,000),
 * any other symbol is a token of its own.
 */
export function wordTokenize(s: string): string[] {
  return s.match(/[\p{L}\p{N}]+(?:[.,'][\p{L}\p{N}]+)*|\S/gu) ?? []
}

/** The script's mixed_segmentation. */
export function mixedSegmentation(text: string, removePunctuation = false): string[] {
  const out: string[] = []
  let run = ''
  for (const ch of text.toLowerCase().trim()) {
    if (removePunctuation && PUNCTUATION.has(ch)) continue
    if (HAN.test(ch) || PUNCTUATION.has(ch)) {
      if (run) out.push(...wordTokenize(run))
      run = ''
      out.push(ch)
    } else run += ch
  }
  if (run) out.push(...wordTokenize(run))
  return out
}

/** The script's remove_punctuation. */
export function removePunctuation(text: string): string {
  let out = ''
  for (const ch of text.toLowerCase().trim()) if (!PUNCTUATION.has(ch)) out += ch
  return out
}

/** Length of the longest common contiguous run of two segment lists (the script's find_lcs). */
export function longestCommonRun(a: readonly string[], b: readonly string[]): number {
  let best = 0
  let prev = new Int32Array(b.length + 1)
  let cur = new Int32Array(b.length + 1)
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      cur[j + 1] = a[i] === b[j] ? prev[j] + 1 : 0
      if (cur[j + 1] > best) best = cur[j + 1]
    }
    ;[prev, cur] = [cur, prev]
  }
  return best
}

export function cmrcF1(answers: readonly string[], prediction: string): number {
  let best = 0
  const pred = mixedSegmentation(prediction, true)
  for (const ans of answers) {
    const gold = mixedSegmentation(ans, true)
    const lcs = longestCommonRun(gold, pred)
    if (lcs === 0) continue
    const precision = lcs / pred.length
    const recall = lcs / gold.length
    best = Math.max(best, (2 * precision * recall) / (precision + recall))
  }
  return best
}

export function cmrcExactMatch(answers: readonly string[], prediction: string): number {
  const pred = removePunctuation(prediction)
  return answers.some((a) => removePunctuation(a) === pred) ? 1 : 0
}

/**
 * EM and F1 over every question of the gold set, as fractions (the script prints them ×100);
 * questions missing from `predictions` count as 0.
 */
export function cmrcScores(gold: { id: string; answers: string[] }[], predictions: ReadonlyMap<string, string>): { em: number; f1: number; total: number; skipped: number } {
  let em = 0
  let f1 = 0
  let skipped = 0
  for (const q of gold) {
    const p = predictions.get(q.id)
    if (p === undefined) {
      skipped++
      continue
    }
    em += cmrcExactMatch(q.answers, p)
    f1 += cmrcF1(q.answers, p)
  }
  const n = Math.max(1, gold.length)
  return { em: em / n, f1: f1 / n, total: gold.length, skipped }
}

export function accuracy(predicted: ArrayLike<number>, gold: ArrayLike<number>): number {
  let right = 0
  let n = 0
  for (let i = 0; i < gold.length; i++) {
    if (gold[i] < 0) continue // no gold label
    n++
    if (predicted[i] === gold[i]) right++
  }
  return n === 0 ? 0 : right / n
}

/** confusion[gold][predicted] counts over labelled examples. */
export function confusionMatrix(predicted: ArrayLike<number>, gold: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
  for (let i = 0; i < gold.length; i++) if (gold[i] >= 0 && predicted[i] >= 0) m[gold[i]][predicted[i]]++
  return m
}
