// The import's vocabulary, shared with the API contract (and so with the renderer): constants and plain
// types only, no imports, nothing that needs Node.
export const TASKS = ['text', 'afqmc', 'tnews', 'iflytek', 'cmnli', 'ocnli', 'wsc', 'csl', 'cmrc2018', 'c3', 'chid'] as const
export type Task = (typeof TASKS)[number]

export const ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'gb18030', 'big5'] as const
export type EncodingName = (typeof ENCODINGS)[number]

// records: entries between lone separator lines (`%` in fortune files, `%%`, `---`, …)
export const FORMATS = ['lines', 'paragraphs', 'records', 'jsonl', 'json', 'csv', 'tsv'] as const
export type Format = (typeof FORMATS)[number]

export const DEDUP_MODES = ['exact', 'near', 'none'] as const
export type DedupMode = (typeof DEDUP_MODES)[number]

export interface DatasetStats {
  documents: number
  sentences: number
  characters: number
  hanCharacters: number
  hanRatio: number
  /** Documents by length in characters: bin i counts lengths in [2^(i-1), 2^i); the last bin is open. */
  lengthHistogram: { from: number; to: number | null; count: number }[]
  topCharacters: { char: string; count: number }[]
  duplicatesRemoved: { exact: number; near: number }
  splits: Record<string, number>
  labels: Record<string, number>
  labelDescriptions: Record<string, string>
  vocab: { path: string; size: number; coveredCharacters: number; coverage: number; topMissing: { char: string; count: number }[] } | null
}

export interface ImportFileReport {
  file: string
  status: 'imported' | 'skipped' | 'failed'
  reason: string | null
  records: number
  encoding: string | null
  task: string | null
  errors: { line: number; reason: string }[]
  split: string | null
  format: string | null
  /** Detection confidence of the encoding (1 when chosen by the user or certain). */
  confidence: number | null
  /** Characters that could not be decoded (each became U+FFFD). */
  undecodable: number
  /** Errors beyond the first ones listed. */
  moreErrors: number
  /** What cleaning removed from the file's text: terminal escape sequences, other control characters. */
  cleaned: { escapeSequences: number; controlCharacters: number }
  /** The separator line between records, for the `records` format. */
  separator?: string
  bytes: number
}

export interface ImportProgress {
  bytes: number
  totalBytes: number
  records: number
  file: string
  /** Bytes per second since the start, and seconds left at that rate. */
  rate: number
  etaSeconds: number | null
}
