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

  async function* lines(): AsyncGenerator<string> {
    let pending = ''
    let lineNo = 0
    for await (const text of chunks()) {
      let from = 0
      let nl = text.indexOf('\n')
      while (nl !== -1) {
        let line = pending + text.slice(from, nl)
        pending = ''
        if (line.endsWith('\r')) line = line.slice(0, -1)
        lineNo++
        yield line
        from = nl + 1
        nl = text.indexOf('\n', from)
      }
      pending += text.slice(from)
      if (pending.length > MAX_LINE_CHARS) throw new Error(`line ${lineNo + 1} is longer than ${MAX_LINE_CHARS} characters`)
    }
    if (pending.length > 0) yield pending.endsWith('\r') ? pending.slice(0, -1) : pending
  }

  return { guess, decoder, sampleText, lines }
}
