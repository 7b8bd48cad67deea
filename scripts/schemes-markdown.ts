// Writes resources/tagging/SCHEMES.md from resources/tagging/schemes.json: `npx tsx scripts/schemes-markdown.ts`.
import fs from 'node:fs'
import path from 'node:path'
import { Schemes } from '../engine/tagging/schemes'
import { schemesMarkdown } from '../engine/tagging/schemes-markdown'
import { taggingResourceDir } from '../engine/tagging/resources'

fs.writeFileSync(path.join(taggingResourceDir(), 'SCHEMES.md'), schemesMarkdown(Schemes.load()))
