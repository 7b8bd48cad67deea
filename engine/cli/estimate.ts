// `mengzi train … --estimate`, `mengzi finetune … --estimate` and `mengzi sweep … --estimate`: what the
// New run and Fine-tune forms say before a start (runs.estimate, finetune.check), without starting
// anything: parameters, memory, steps and time (after a calibration step on the run's backend here), a
// sweep's totals, and why the run would fail where it would train.
import type { Workbench } from '../service/workbench'
import type { FinetuneRequest } from '../service/finetuning'
import type { Grid } from '../service/sweeps'
import { applyOverrides } from '../train/config'
import { printJson } from './common'

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
const duration = (s: number | null) => (s === null ? 'not measured' : s < 120 ? `${s.toFixed(s < 10 ? 2 : 1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`)

/** A pretraining run's estimate: `config` as `mengzi train` builds it (its data is not read). */
export async function printRunEstimate(wb: Workbench, datasetId: number | undefined, config: Record<string, unknown>, json: boolean): Promise<void> {
  const e = await wb.call('runs.estimate', { datasetId, config, calibrate: true })
  if (json) return printJson(e)
  console.log(`parameters ${e.parameters.toLocaleString('en')} · memory ${mib(e.memory.total)} · ${e.tokensPerStep.toLocaleString('en')} tokens a step`)
  console.log(`time per step ${duration(e.secondsPerStep)} · whole run ${duration(e.totalSeconds)}`)
  printChecks(e.backendWarnings, e.method)
}

export async function printFinetuneEstimate(wb: Workbench, req: FinetuneRequest, grid: Grid | undefined, json: boolean): Promise<void> {
  const { set, ...source } = req
  const check = await wb.call('finetune.check', { ...source, config: applyOverrides({}, set ?? []), calibrate: true, grid })
  if (json) return printJson(check)
  const e = check.estimate
  const epochs = e.totalSteps / e.stepsPerEpoch
  console.log(`parameters ${e.parameters.toLocaleString('en')} · memory ${mib(e.memory.total)} · ${e.stepsPerEpoch} steps × ${epochs} epoch${epochs === 1 ? '' : 's'} (${e.trainFeatures} training features)`)
  console.log(`time per step ${duration(e.secondsPerStep)} · whole run ${duration(e.totalSeconds)}`)
  if (check.sweep) console.log(`sweep: ${check.sweep.runs} runs · ${check.sweep.totalSteps} steps · ${duration(check.sweep.totalSeconds)} · largest run ${mib(check.sweep.peakMemory)}`)
  printChecks(check.backendWarnings, e.method)
}

function printChecks(warnings: string[], method: Record<string, string>): void {
  for (const line of warnings) console.log(line)
  for (const [what, how] of Object.entries(method)) console.log(`${what}: ${how}`)
}
