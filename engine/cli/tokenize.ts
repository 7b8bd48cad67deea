// `mengzi tokenize`: HuggingFace BertTokenizer encodings of JSON input, one JSON line per input.
import fs from 'node:fs'
import type { Command } from 'commander'
import { badInput, notFound } from '../errors'
import { BertTokenizer } from '../text/tokenizer'
import { parseTokenizeInput } from '../text/tokenize-input'

interface TokenizeCliOptions {
  vocab: string
  input?: string
  pair?: boolean
  maxLength?: string
  cased?: boolean
  offsets?: boolean
}

export function registerTokenize(program: Command): void {
  program
    .command('tokenize')
    .description('encode a JSON array or JSON lines of texts (or [a, b] pairs) as BertTokenizer does; one JSON line out per input')
    .requiredOption('--vocab <file>', 'vocab.txt')
    .option('--input <file>', 'input file (default: standard input)')
    .option('--pair', 'inputs are [a, b] sentence pairs')
    .option('--max-length <n>', 'truncate (longest first) and pad to this length')
    .option('--cased', 'keep case and accents (do_lower_case=False)')
    .option('--offsets', 'add "offsets": [start, end) of each token in its text, in UTF-16 units')
    .action(async (opts: TokenizeCliOptions) => {
      let maxLength: number | undefined
      if (opts.maxLength !== undefined) {
        maxLength = Number(opts.maxLength)
        if (!Number.isInteger(maxLength) || maxLength < 1) throw badInput(`--max-length: expected a positive integer, got ${JSON.stringify(opts.maxLength)}`)
      }
      const tokenizer = BertTokenizer.fromFile(opts.vocab, { lowercase: !opts.cased })
      const source = opts.input ?? 'stdin'
      const text = opts.input ? readInput(opts.input) : await readStdin()
      const items = parseTokenizeInput(text, opts.pair ?? false, source)
      const lines: string[] = []
      for (const item of items) {
        const enc = typeof item === 'string' ? tokenizer.encode(item, undefined, { maxLength }) : tokenizer.encode(item[0], item[1], { maxLength })
        const out: Record<string, unknown> = {
          input_ids: enc.input_ids,
          tokens: enc.tokens,
          token_type_ids: enc.token_type_ids,
          attention_mask: enc.attention_mask,
        }
        if (opts.offsets) out.offsets = enc.offsets
        lines.push(JSON.stringify(out))
        if (lines.length >= 1024) await write(lines.splice(0).join('\n') + '\n')
      }
      if (lines.length > 0) await write(lines.join('\n') + '\n')
    })
}

function readInput(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${file}: no such input file`)
    throw err
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Writes with backpressure, so that piping into `head` or a slow reader works. */
function write(s: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.write(s, (err) => (err ? reject(err) : undefined))) resolve()
    else process.stdout.once('drain', resolve)
  })
}
