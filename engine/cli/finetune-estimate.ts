// `mengzi finetune … --estimate` and `mengzi sweep … --estimate`: what the Fine-tune form says before a
// start (finetune.check), without starting anything: the run's parameters, memory, steps and time (after a
// calibration step on its backend here), the sweep's totals, and why the run would fail where it would train.
import type { Workbench } from '../service/workbench'
import type { FinetuneRequest } from '../service/finetuning'
import type { Grid } from '../service/sweeps'
import { applyOverrides } from '../train/config'
import { printJson } from './common'

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`
const duration = (s: number | null) => (s === null ? 'not measured' : s < 120 ? `${s.toFixed(s < 10 ? 2 : 1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`)

export async function printFinetuneEstimate(wb: Workbench, req: FinetuneRequest, grid: Grid | undefined, json: boolean): Promise<void> {
  const { set, ...source } = req
  const check = await wb.call('finetune.check', { ...source, config: applyOverrides({}, set ?? []), calibrate: true, grid })
  if (json) return printJson(check)
  const e = check.estimate
  const epochs = e.totalSteps / e.stepsPerEpoch
  console.log(`parameters ${e.parameters.toLocaleString('en')} · memory ${mib(e.memory.total)} · ${e.stepsPerEpoch} steps × ${epochs} epoch${epochs === 1 ? '' : 's'} (${e.trainFeatures} training features)`)
  console.log(`time per step ${duration(e.secondsPerStep)} · whole run ${duration(e.totalSeconds)}`)
  if (check.sweep) console.log(`sweep: ${check.sweep.runs} runs · ${check.sweep.totalSteps} steps · ${duration(check.sweep.totalSeconds)} · largest run ${mib(check.sweep.peakMemory)}`)
  for (const line of check.backendWarnings) console.log(line)
  for (const [what, how] of Object.entries(e.method)) console.log(`${what}: ${how}`)
}
