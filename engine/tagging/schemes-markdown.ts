// resources/tagging/SCHEMES.md from schemes.json: the same table, readable on GitHub. A test keeps the two
// in step; regenerate with `npx tsx scripts/schemes-markdown.ts`.
import type { Schemes } from './schemes'

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function schemesMarkdown(schemes: Schemes): string {
  const { upos, entities } = schemes.table
  const lines = [
    '# Tag schemes of the built-in tagger',
    '',
    '<!-- generated from schemes.json by scripts/schemes-markdown.ts; edit the JSON, not this file -->',
    '',
    cell((schemes.table as unknown as { about: string }).about),
    '',
    '## Universal POS from jieba / ICTCLAS and LAC tags',
    '',
    '| tag | UPOS | why |',
    '|---|---|---|',
    ...Object.entries(upos.tags).map(([tag, row]) => `| \`${tag}\` | ${row.pos} | ${cell(row.why)} |`),
    '',
    '### Words that override their tag',
    '',
    '| UPOS | when tagged | words | why |',
    '|---|---|---|---|',
    ...Object.entries(upos.words).map(([pos, row]) => `| ${pos} | ${row.when.join(', ')} | ${row.words.join(' ')} | ${cell(row.why)} |`),
    '',
    '### `x` (and LAC `w`) by character',
    '',
    '| UPOS | when |',
    '|---|---|',
    ...Object.entries(upos.xByCharacter).map(([pos, why]) => `| ${pos} | ${cell(why)} |`),
    '',
    '## OntoNotes entity labels',
    '',
    `Produced: ${entities.labels.join(', ')}.`,
    '',
    '| source | label | why |',
    '|---|---|---|',
    ...Object.entries(entities.sources).map(([source, row]) => `| ${source} | ${row.label} | ${cell(row.why)} |`),
    ...Object.entries(entities.notProduced).map(([label, why]) => `| — | ${label} (not produced) | ${cell(why)} |`),
    '',
    '### Word lists',
    '',
    ...(['FAC', 'LOC', 'GPE'] as const).map((l) => `- place suffixes → ${l}: ${entities.placeSuffixes[l].join(' ')}`),
    `- clock words (TIME rather than DATE): ${entities.timeWords.join(' ')}`,
    `- law suffixes (LAW rather than WORK_OF_ART): ${entities.lawSuffixes.join(' ')}`,
    `- event suffixes: ${entities.eventSuffixes.join(' ')}`,
    `- NORP words: ${entities.norpWords.join(' ')}`,
    `- LANGUAGE words: ${entities.languageWords.join(' ')}`,
    '',
    '### Numbers',
    '',
    '| label | rule | units |',
    '|---|---|---|',
    ...Object.entries(entities.numberRules).map(([label, row]) => `| ${label} | ${cell(row.why)} | ${(row.units ?? []).join(' ')} |`),
    '',
  ]
  return lines.join('\n')
}
