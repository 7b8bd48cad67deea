// `mengzi backends`: the backend ladder on this machine as Settings shows it (what auto picks, why each
// faster rung was passed over, the GPU adapter and the product kernels kept for it), for the machines
// where the app never runs; `--forget-tuning` is Settings' "Forget" button.
import type { Command } from 'commander'
import type { BackendInfo } from '../service/api'
import { adapterName, forgottenLine, tuningLine } from '../service/backend-lines'
import { formatTable, printJson, withCommonOptions, withWorkbench, type GlobalOptions } from './common'

interface BackendsOptions extends GlobalOptions {
  forgetTuning?: boolean
}

export function registerBackends(program: Command): void {
  withCommonOptions(
    program
      .command('backends')
      .description('list the training backends on this machine (what auto picks), the GPU adapter and its tuned product kernels')
      .option('--forget-tuning', 'forget the product kernels kept for the GPU adapter and driver; the next run measures them again'),
  ).action(async (opts: BackendsOptions) =>
    withWorkbench(opts, async (wb) => {
      const forgotten = opts.forgetTuning ? await wb.call('backends.forgetTuning', {}) : null
      const backends = forgotten?.backends ?? (await wb.call('backends.list', {}))
      if (opts.json) return printJson(forgotten ? { ...forgotten, backends } : backends)
      if (forgotten) console.log(`${forgottenLine(forgotten)}\n`)
      console.log(describeBackends(backends))
    }),
  )
}

function describeBackends(backends: BackendInfo[]): string {
  const auto = backends.find((b) => b.available)?.name
  const lines = [formatTable(['BACKEND', 'STATUS', 'DETAIL'], backends.map((b) => [b.name === auto ? `${b.name} (auto)` : b.name, b.available ? 'available' : 'unavailable', b.detail]))]
  const gpu = backends.find((b) => b.adapter)
  if (gpu?.adapter) {
    const a = gpu.adapter
    lines.push('', `GPU adapter: ${adapterName(a)} (${a.software ? `software: ${a.software}` : 'hardware'})`)
    const tuning = tuningLine(a, gpu.tuning)
    if (tuning) lines.push(`Product kernels: ${tuning}`)
  }
  return lines.join('\n')
}
