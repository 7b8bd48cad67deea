// `mengzi model import DIR`, `mengzi model delete ID` and `mengzi export ID --out DIR`: HuggingFace BERT
// folders in and out of the workbench.
import type { Command } from 'commander'
import { badInput } from '../errors'
import { printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'

/** The `model` command family, shared with other `model …` subcommands registered elsewhere. */
export function modelCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'model') ?? program.command('model').description('HuggingFace BERT models: import, delete')
}

function parseId(value: string, what: string): number {
  const id = Number(value)
  if (!Number.isInteger(id) || id < 1) throw badInput(`${what}: expected a model id (a positive integer), got ${JSON.stringify(value)}`)
  return id
}

export function registerModel(program: Command): void {
  const model = modelCommand(program)
  withCommonOptions(
    model
      .command('import')
      .description('copy a HuggingFace BERT folder (config.json, vocab.txt, model.safetensors) into the workbench')
      .argument('<dir>', 'the folder')
      .option('--name <name>', 'a name for the model (default: the folder name)'),
  ).action(async (dir: string, opts: GlobalOptions & { name?: string }) =>
    withWorkbench(opts, async (wb) => {
      const r = await wb.call('models.import', { path: dir, name: opts.name })
      if (opts.json) return printJson(r)
      console.log(`Imported model ${r.id} "${r.name}": ${r.architecture}, ${r.tensors} tensors, ${(r.parameters / 1e6).toFixed(2)}M parameters`)
    }),
  )

  withCommonOptions(model.command('delete').description('remove a model and its files from the workbench').argument('<id>', 'model id')).action(
    async (id: string, opts: GlobalOptions) =>
      withWorkbench(opts, async (wb) => {
        const r = await wb.call('models.delete', { id: parseId(id, 'model delete') })
        if (opts.json) return printJson(r)
        console.log(`Deleted model ${id}`)
      }),
  )

  withCommonOptions(
    program
      .command('export')
      .description('write a model as a HuggingFace BERT folder that transformers loads')
      .argument('<id>', 'model id (see `mengzi models`)')
      .requiredOption('--out <dir>', 'output folder (new or empty)')
      .option('--dtype <dtype>', 'float32 or float16', 'float32'),
  ).action(async (id: string, opts: GlobalOptions & { out: string; dtype: string }) =>
    withWorkbench(opts, async (wb) => {
      if (opts.dtype !== 'float32' && opts.dtype !== 'float16') throw badInput(`--dtype: expected float32 or float16, got ${JSON.stringify(opts.dtype)}`)
      const r = await wb.call('models.export', { id: parseId(id, 'export'), out: opts.out, dtype: opts.dtype })
      if (opts.json) return printJson(r)
      console.log(`Exported model ${id} to ${r.out}`)
      for (const f of r.files) console.log(`  ${f}`)
    }),
  )
}
