// `mengzi tag`: words with Universal POS and entities with OntoNotes labels, from the built-in tagger or spaCy.
import fs from 'node:fs'
import type { Command } from 'commander'
import { badInput, notFound } from '../errors'
import { tagTexts } from '../tagging/preview'
import type { TaggedDoc, TaggerName } from '../tagging/types'
import { printJson, withCommonOptions, withWorkbench } from './common'

interface TagCliOptions {
  text?: string
  input?: string
  tagger: string
  python?: string
  model?: string
  db?: string
  json?: boolean
}

export function registerTag(program: Command): void {
  withCommonOptions(
    program
      .command('tag')
      .description('part-of-speech (Universal POS) and entities (OntoNotes labels) of Chinese text; offsets are UTF-16 units')
      .option('--text <s>', 'the text to tag')
      .option('--input <file>', 'a UTF-8 file: each non-empty line is one text')
      .option('--tagger <name>', 'builtin (jieba + LAC, offline) or spacy', 'builtin')
      .option('--python <path>', 'the Python with spaCy (default: the spaCy Python setting, MENGZI_SPACY_PYTHON, python3)')
      .option('--model <name>', 'spaCy pipeline', 'zh_core_web_sm'),
  ).action(async (opts: TagCliOptions) => {
    if ((opts.text === undefined) === (opts.input === undefined)) throw badInput('give exactly one of --text S or --input FILE')
    if (opts.tagger !== 'builtin' && opts.tagger !== 'spacy') throw badInput(`--tagger: expected builtin or spacy, got ${JSON.stringify(opts.tagger)}`)
    const texts = opts.text !== undefined ? [opts.text] : readLines(opts.input!)
    let python = opts.python
    if (opts.tagger === 'spacy' && !python && !process.env.MENGZI_SPACY_PYTHON) {
      python = (await withWorkbench(opts, async (wb) => wb.settings().spacyPython)) ?? undefined
    }
    const docs = await tagTexts(texts, { tagger: opts.tagger as TaggerName, python, model: opts.model })
    if (opts.json) printJson(docs)
    else console.log(docs.map(formatDoc).join('\n\n'))
  })
}

function readLines(file: string): string[] {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${file}: no such input file`)
    throw err
  }
  return text.split(/\r?\n/).filter((line) => line.trim() !== '')
}

/** Human output: word/UPOS pairs on one line, then one line per entity. */
export function formatDoc(doc: TaggedDoc): string {
  const words = doc.tokens.filter((t) => t.pos !== 'SPACE').map((t) => `${t.text}/${t.pos}`)
  const ents = doc.ents.map((e) => `  ${e.label.padEnd(12)} ${e.text}  [${e.start}, ${e.end})`)
  return [words.join(' '), ...(ents.length ? ents : ['  (no entities)'])].join('\n')
}
