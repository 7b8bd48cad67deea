// `mengzi datasets | runs | models`: what the database holds.
import type { Command } from 'commander'
import { formatTable, printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'

export function registerList(program: Command): void {
  withCommonOptions(program.command('datasets').description('list imported datasets')).action(async (opts: GlobalOptions) =>
    withWorkbench(opts, async (wb) => {
      const rows = await wb.call('datasets.list', {})
      if (opts.json) return printJson(rows)
      if (rows.length === 0) return console.log('No datasets yet. Import one: mengzi import PATH...')
      console.log(
        formatTable(
          ['ID', 'NAME', 'KIND', 'FILES', 'DOCUMENTS', 'CREATED'],
          rows.map((d) => [d.id, d.name, d.kind, d.fileCount, (d.stats.documents as number | undefined) ?? '', d.createdAt]),
        ),
      )
    }),
  )

  withCommonOptions(program.command('runs').description('list training and evaluation runs')).action(async (opts: GlobalOptions) =>
    withWorkbench(opts, async (wb) => {
      const rows = await wb.call('runs.list', {})
      if (opts.json) return printJson(rows)
      if (rows.length === 0) return console.log('No runs yet. Start one: mengzi train --preset NAME')
      console.log(
        formatTable(
          ['ID', 'NAME', 'KIND', 'STATUS', 'BACKEND', 'SEED', 'CREATED'],
          rows.map((r) => [r.id, r.name, r.kind, r.status, r.backend, r.seed, r.createdAt]),
        ),
      )
      const interrupted = rows.filter((r) => r.status === 'interrupted').map((r) => r.id)
      if (interrupted.length > 0) console.log(`\nInterrupted (their process is gone): continue with mengzi train --resume ID (fine-tuning: mengzi finetune --resume ID): ${interrupted.join(', ')}`)
    }),
  )

  withCommonOptions(program.command('models').description('list imported and trained models')).action(async (opts: GlobalOptions) =>
    withWorkbench(opts, async (wb) => {
      const rows = await wb.call('models.list', {})
      if (opts.json) return printJson(rows)
      if (rows.length === 0) return console.log('No models yet. Import a HuggingFace BERT folder: mengzi model import DIR')
      console.log(
        formatTable(
          ['ID', 'NAME', 'SOURCE', 'LAYERS', 'HIDDEN', 'VOCAB', 'CREATED'],
          rows.map((m) => [m.id, m.name, m.source, m.config.num_hidden_layers as number, m.config.hidden_size as number, m.config.vocab_size as number, m.createdAt]),
        ),
      )
    }),
  )
}
