// The bundled vocab (resources/vocab/vocab.txt, see its README): what tags are projected onto when no
// model is chosen. Two folders deep like engine/tagging/resources.ts, so the same relative URL also holds
// from Electron's bundled out/main/.
import { fileURLToPath } from 'node:url'

export function defaultVocabPath(): string {
  return fileURLToPath(new URL('../../resources/vocab/vocab.txt', import.meta.url))
}
