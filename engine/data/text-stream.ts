// Bytes to decoded lines, streaming: a sample of the first bytes decides binary/empty and the encoding,
// then the rest flows through a Decoder chunk by chunk. Only the current line is ever held.
import type { Readable } from 'node:stream'
import { binaryReason, detectEncoding, Decoder, type EncodingGuess, type EncodingName } from './encoding'

export const SAMPLE_BYTES = 64 * 1024
export const MAX_LINE_CHARS = 32 * 2 ** 20

export class FileRefused extends Error {}

export interface TextStream {
  guess: EncodingGuess
  decoder: Decoder
  /** The decoded start of the stream, for format and field detection (not consumed). */
  sampleText: string
  /** Decoded text in chunks (for formats that are not line-based). */
  chunks(): AsyncGenerator<string>
  /** Decoded lines, one array per decoded chunk. */
  lineBatches(): AsyncGenerator<string[]>
  lines(): AsyncGenerator<string>
}

/** Reads the sample, refuses empty and binary streams, and prepares a line reader. */
export async function openTextStream(stream: Readable, encoding?: EncodingName): Promise<TextStream> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const head: Buffer[] = []
  let headBytes = 0
  let ended = false
  while (headBytes < SAMPLE_BYTES) {
    const next = await iterator.next()
    if (next.done) {
      ended = true
      break
    }
    head.push(next.value)
    headBytes += next.value.length
  }
  const sample = Buffer.concat(head).subarray(0, SAMPLE_BYTES)
  if (sample.length === 0) throw new FileRefused('empty file')
  const binary = binaryReason(sample)
  if (binary) throw new FileRefused(binary)
  const detected = detectEncoding(sample)
  const guess: EncodingGuess = encoding
    ? { encoding, confidence: 1, bom: detected.bom && detected.encoding === encoding, evidence: 'chosen by the user' }
    : detected
  const sampleText = new Decoder(guess.encoding).write(sample)
  const decoder = new Decoder(guess.encoding)

  async function* chunks(): AsyncGenerator<string> {
    for (const b of head) yield decoder.write(b)
    if (!ended) {
      for (;;) {
        const next = await iterator.next()
        if (next.done) break
        yield decoder.write(next.value)
      }
    }
    yield decoder.end()
  }

  /** Lines, a decoded chunk's worth at a time (no await per line). */
  async function* lineBatches(): AsyncGenerator<string[]> {
    let pending = ''
    let lineNo = 0
    for await (const text of chunks()) {
      const batch: string[] = []
      let from = 0
      let nl = text.indexOf('\n')
      while (nl !== -1) {
        let line = pending === '' ? text.slice(from, nl) : pending + text.slice(from, nl)
        pending = ''
        if (line.endsWith('\r')) line = line.slice(0, -1)
        batch.push(line)
        from = nl + 1
        nl = text.indexOf('\n', from)
      }
      lineNo += batch.length
      pending += text.slice(from)
      if (pending.length > MAX_LINE_CHARS) throw new Error(`line ${lineNo + 1} is longer than ${MAX_LINE_CHARS} characters`)
      if (batch.length > 0) yield batch
    }
    if (pending.length > 0) yield [pending.endsWith('\r') ? pending.slice(0, -1) : pending]
  }

  async function* lines(): AsyncGenerator<string> {
    for await (const batch of lineBatches()) yield* batch
  }

  return { guess, decoder, sampleText, chunks, lineBatches, lines }
}
