// `mengzi model forward --model DIR|ID --inputs IN.safetensors --output OUT.safetensors [--grads]`:
// one forward (and backward) pass with HF's output names (engine/model/forward.ts).
import { existsSync } from 'node:fs'
import type { Command } from 'commander'
import { badInput, notFound } from '../errors'
import { runForward } from '../model/forward'
import { getModel } from '../store/models'
import { selectBackend, type BackendPreference } from '../compute/backends'
import { printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'
import { modelCommand } from './model'

interface ForwardOptions extends GlobalOptions {
  model: string
  inputs: string
  output: string
  grads?: boolean
  backend: BackendPreference
}

/** A folder path, or the id of a model in the database. */
async function modelDir(opts: ForwardOptions): Promise<string> {
  if (existsSync(opts.model)) return opts.model
  if (!/^\d+$/.test(opts.model)) throw notFound(`--model ${JSON.stringify(opts.model)}: no such folder, and not a model id`)
  return withWorkbench(opts, async (wb) => {
    const row = getModel(wb.db, Number(opts.model))
    if (!row) throw notFound(`--model ${opts.model}: model ${opts.model} does not exist`)
    return row.dir
  })
}

export function registerModelForward(program: Command): void {
  withCommonOptions(
    modelCommand(program)
      .command('forward')
      .description('run a model on inputs from a safetensors file; write hidden states, logits, loss (and gradients)')
      .requiredOption('--model <dir|id>', 'a HuggingFace BERT folder, or a model id')
      .requiredOption('--inputs <file>', 'safetensors with input_ids [, attention_mask, token_type_ids, mlm_labels, nsp_labels]')
      .requiredOption('--output <file>', 'safetensors to write')
      .option('--grads', 'also write grad.<parameter> for every parameter (needs labels)')
      .option('--backend <name>', 'auto, tensorflow, webgpu, wasm or cpu', 'cpu'),
  ).action(async (opts: ForwardOptions) => {
    if (!['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'].includes(opts.backend)) throw badInput(`--backend: expected auto, tensorflow, webgpu, wasm or cpu, got ${JSON.stringify(opts.backend)}`)
    const dir = await modelDir(opts)
    const backend = await selectBackend(opts.backend)
    const r = await runForward(dir, opts.inputs, opts.output, { grads: opts.grads })
    if (opts.json) return printJson({ output: opts.output, backend: backend.name, loss: r.loss, tensors: r.outputs })
    console.log(`Wrote ${r.outputs.length} tensors to ${opts.output} (backend ${backend.name})${r.loss === null ? '' : `; loss ${r.loss}`}`)
  })
}
