// jieba's prefix dictionary (Tokenizer.gen_pfdict + POSTokenizer.load_word_tag) as a trie over UTF-16 code
// units. Python keeps every prefix of every word in FREQ with frequency 0; a trie node is exactly such a
// prefix, so `frag in FREQ` is "the node exists" and `FREQ[frag]` is its frequency.
import { corrupt } from '../../errors'

export class JiebaDictionary {
  /** children of node n: key n * 65536 + code unit -> child node */
  private readonly children = new Map<number, number>()
  /** the root's children by code unit (-1: none): every walk starts there, so one array read instead of a hash */
  private readonly rootChildren = new Int32Array(65536).fill(-1)
  private freq: Float64Array
  private tag: Int32Array // index into tags, -1 when the word has no dictionary tag
  /** log(freq or 1) - log(total), Python's calc() term, precomputed per node */
  private logProb: Float64Array
  private nodeCount = 1
  readonly tags: string[] = []
  private readonly tagIndex = new Map<string, number>()
  total = 0
  readonly logTotal: number

  constructor(dictText: string, source = 'dict.txt') {
    this.freq = new Float64Array(1 << 20)
    this.tag = new Int32Array(1 << 20).fill(-1)
    const lines = dictText.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim()
      if (!line) continue
      const parts = line.split(' ')
      const freq = Number.parseInt(parts[1], 10)
      if (parts.length !== 3 || !/^\d+$/.test(parts[1])) {
        throw corrupt(`${source} line ${i + 1}: expected "word freq tag", got ${JSON.stringify(line)}`)
      }
      const node = this.insert(parts[0])
      this.freq[node] = freq
      this.tag[node] = this.internTag(parts[2])
      this.total += freq
    }
    for (const [key, child] of this.children) if (key < 65536) this.rootChildren[key] = child
    this.logTotal = Math.log(this.total)
    this.logProb = new Float64Array(this.nodeCount)
    for (let n = 0; n < this.nodeCount; n++) this.logProb[n] = Math.log(this.freq[n] || 1) - this.logTotal
  }

  private internTag(tag: string): number {
    let id = this.tagIndex.get(tag)
    if (id === undefined) {
      id = this.tags.length
      this.tags.push(tag)
      this.tagIndex.set(tag, id)
    }
    return id
  }

  private insert(word: string): number {
    let node = 0
    for (let i = 0; i < word.length; i++) {
      const key = node * 65536 + word.charCodeAt(i)
      let next = this.children.get(key)
      if (next === undefined) {
        next = this.nodeCount++
        if (next >= this.freq.length) this.grow()
        this.children.set(key, next)
      }
      node = next
    }
    return node
  }

  private grow(): void {
    const freq = new Float64Array(this.freq.length * 2)
    freq.set(this.freq)
    const tag = new Int32Array(this.tag.length * 2).fill(-1)
    tag.set(this.tag)
    this.freq = freq
    this.tag = tag
  }

  /** The child of `node` by one code unit, or -1 (Python: the longer fragment is not in FREQ). */
  step(node: number, code: number): number {
    if (node === 0) return this.rootChildren[code]
    return this.children.get(node * 65536 + code) ?? -1
  }

  /** The node of a whole string, or -1. */
  find(word: string): number {
    let node = 0
    for (let i = 0; i < word.length && node >= 0; i++) node = this.step(node, word.charCodeAt(i))
    return node
  }

  frequency(node: number): number {
    return node < 0 ? 0 : this.freq[node]
  }

  logProbability(node: number): number {
    return node < 0 ? -this.logTotal : this.logProb[node]
  }

  /** word_tag_tab.get(word, 'x') */
  tagOf(word: string): string {
    const node = this.find(word)
    const id = node < 0 ? -1 : this.tag[node]
    return id < 0 ? 'x' : this.tags[id]
  }
}
