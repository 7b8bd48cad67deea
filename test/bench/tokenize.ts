// Tokenizer throughput: `npx tsx test/bench/tokenize.ts [--json] [--mb N] [--vocab FILE]`, the same as
// `mengzi bench tokenize`. Not a test: timings on a shared machine are noisy.
import { main } from '../../engine/cli/index'

process.exitCode = await main(['bench', 'tokenize', ...process.argv.slice(2)])
