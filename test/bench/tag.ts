// Tagger throughput: `npx tsx test/bench/tag.ts [--json] [--pos-chars N] [--ner-chars N]`, the same as
// `mengzi bench tag`. Not a test: timings on a shared machine are noisy.
import { main } from '../../engine/cli/index'

process.exitCode = await main(['bench', 'tag', ...process.argv.slice(2)])
