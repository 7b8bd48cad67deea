// `mengzi launch --config FILE --emit DIR [--scheduler slurm]`: a job folder for PyTorch distributed on
// another machine or a cluster; `mengzi runs ingest DIR`: that folder, once run, back into the database.
import fs from 'node:fs'
import type { Command } from 'commander'
import { badInput } from '../errors'
import { emitJobFolder } from '../launch/emit'
import { applyOverrides, parseTrainConfig } from '../train/config'
import { printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'

interface LaunchFlags extends GlobalOptions {
  config: string
  emit: string
  scheduler: string
  set: string[]
  keep: string
}

const collect = (value: string, previous: string[]) => [...previous, value]

export function registerLaunch(program: Command): void {
  withCommonOptions(
    program
      .command('launch')
      .description('write a job folder that runs the config on PyTorch distributed elsewhere (shards, trainer, torchrun command, Slurm script)')
      .requiredOption('--config <file>', 'a JSON run config (engine/train/config.ts); torch options under "torch"')
      .requiredOption('--emit <dir>', 'the job folder to write (new or empty)')
      .option('--scheduler <name>', 'none, or slurm for a batch script beside run.sh', 'none')
      .option('--set <key=value>', 'override a config field (dotted keys, JSON values); repeatable', collect, [])
      .option('--keep <n>', 'newest checkpoints the job keeps (0 = all)', '2'),
  ).action(async (flags: LaunchFlags) => {
    if (flags.scheduler !== 'none' && flags.scheduler !== 'slurm') throw badInput(`--scheduler: expected none or slurm, got ${JSON.stringify(flags.scheduler)}`)
    const keep = Number(flags.keep)
    if (!Number.isInteger(keep) || keep < 0) throw badInput(`--keep: expected a non-negative integer, got ${JSON.stringify(flags.keep)}`)
    let raw: Record<string, unknown>
    try {
      raw = JSON.parse(fs.readFileSync(flags.config, 'utf8'))
    } catch (e) {
      throw badInput(`--config ${flags.config}: ${(e as Error).message.split('\n')[0]}`)
    }
    const config = parseTrainConfig(applyOverrides(raw, flags.set), flags.config)
    const result = await emitJobFolder(config, flags.emit, { scheduler: flags.scheduler, keepCheckpoints: keep })
    if (flags.json) return printJson(result)
    console.log(`Job folder ${result.dir}: ${result.files.filter((f) => !f.includes('/')).join(', ')}`)
    console.log(`Run it there: ./run.sh${flags.scheduler === 'slurm' ? '  (or: sbatch slurm.sbatch)' : ''}; then: mengzi runs ingest ${result.dir}`)
  })

  // `runs` itself (the list) is registered by list.ts; ingest is its subcommand
  const runs = program.commands.find((c) => c.name() === 'runs') ?? program.command('runs')
  withCommonOptions(runs.command('ingest <dir>').description('bring a finished job folder (mengzi launch --emit) back as a run, with its metrics and model')).action(
    async (dir: string, _flags: GlobalOptions, cmd: Command) => {
      const flags = cmd.optsWithGlobals<GlobalOptions>() // `runs` has --json/--db of its own, which commander fills first
      return withWorkbench(flags, async (wb) => {
        const result = await wb.call('runs.ingest', { dir })
        if (flags.json) return printJson(result)
        console.log(`Run ${result.runId} ${result.status} at step ${result.step}: ${result.metrics} metric points${result.modelId !== null ? `, model ${result.modelId}` : ''}`)
      })
    },
  )
}
