// The `mengzi` command line: one command per file in this folder, each a thin argument layer over an
// importable engine function. User errors are one line on stderr and a non-zero exit.
import { Command, CommanderError } from 'commander'
import { WorkbenchError } from '../errors'
import { VERSION } from '../version'
import { commands } from './commands'

export async function main(argv: string[]): Promise<number> {
  const program = new Command('mengzi')
    .description('Mengzi Workbench: build lightweight Chinese pre-trained language models')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false)
  for (const register of commands) register(program)
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0
      return err.exitCode
    }
    if (err instanceof WorkbenchError) {
      process.stderr.write(`mengzi: ${err.message}\n`)
      return 2
    }
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`mengzi: ${message.split('\n')[0]}\n`)
    if (process.env.MENGZI_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`)
    return 1
  }
}
