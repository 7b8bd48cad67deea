// What the Fine-tune form learns before a run starts: the config finetune.start would make (a bad field
// refused with its reason), its estimate (train/finetune-estimate.ts: parameters, memory, steps and, once
// this machine's speed on the backend is measured, time) from its data packed as the run packs it, and
// the check against Settings' probe of this machine (train/start-check.ts): a backend that cannot start,
// fp16 where auto lands off webgpu, tensors over the adapter's binding limit.
import type { BackendProbe } from '../compute/backends'
import { readBertConfig } from '../model/checkpoint'
import type { BertConfig } from '../model/config'
import { badInput } from '../errors'
import type { FinetuneConfig } from '../train/finetune-config'
import type { FinetuneCounts, CountsInput } from '../train/finetune-counts'
import { estimateFinetune } from '../train/finetune-estimate'
import { finetuneMicroBatch } from '../train/estimate'
import { startCheck } from '../train/start-check'
import type { FinetuneFormCheck } from './api'
import { backendCheckLines } from './backend-lines'
import type { Calibrations } from './calibrations'
import { finetuneConfigFor, type FinetuneDeps, type FinetuneRequest } from './finetuning'
import { expandGrid, MAX_SWEEP_RUNS, sweepRunSets, type Grid } from './sweeps'

export interface FinetuneCheckDeps extends Pick<FinetuneDeps, 'db' | 'layout'> {
  probeBackends(): Promise<BackendProbe[]>
  /** Packs the data as the run would (finetune-counts.ts, in a worker: tokenizing takes seconds). */
  countData(input: CountsInput): Promise<FinetuneCounts>
  calibration: Calibrations
}

/** Data counts kept per input: the form changes epochs, batch and strategies far more often than its data. */
const KEPT_COUNTS = 8

export function createFinetuneCheck(deps: FinetuneCheckDeps): (req: FinetuneRequest & { calibrate?: boolean; grid?: Grid }) => Promise<FinetuneFormCheck> {
  const counts = new Map<string, Promise<FinetuneCounts>>()
  const countsOf = (input: CountsInput) => {
    const key = JSON.stringify([input.dataDir, input.task, input.init, input.maxTrainExamples, input.maxDevExamples, input.maxSeqLength, input.docStride, input.maxQueryLength])
    let known = counts.get(key)
    if (known) counts.delete(key) // re-inserted below: the map's order is the order of use
    else {
      known = deps.countData(input)
      known.catch(() => counts.delete(key)) // a failure (a dataset being replaced, say) is tried again next time
    }
    counts.set(key, known)
    if (counts.size > KEPT_COUNTS) counts.delete(counts.keys().next().value!)
    return known
  }

  /** The estimate of one run's config, with its data counted (or found counted) and its speed if measured. */
  async function estimateOf(config: FinetuneConfig, calibrate: boolean, readConfig: (dir: string) => Promise<BertConfig>) {
    const [bert, teacher, data] = await Promise.all([
      readConfig(config.init),
      config.strategies.distill ? readConfig(config.strategies.distill.teacher) : null,
      countsOf({
        dataDir: config.dataDir,
        task: config.task,
        init: config.init,
        maxTrainExamples: config.maxTrainExamples,
        maxDevExamples: config.maxDevExamples,
        maxSeqLength: config.maxSeqLength,
        docStride: config.docStride,
        maxQueryLength: config.maxQueryLength,
      }),
    ])
    const measured = deps.calibration(config.backend, calibrate)
    return { bert, data, estimate: estimateFinetune(config, bert, data, teacher, measured ? await measured : null) }
  }

  return async ({ calibrate, grid, ...req }) => {
    // each model's config.json read once per check, however many runs a sweep's grid makes
    const configs = new Map<string, Promise<BertConfig>>()
    const readConfig = (dir: string) => {
      if (!configs.has(dir)) configs.set(dir, readBertConfig(dir))
      return configs.get(dir)!
    }
    const { config } = finetuneConfigFor(deps, req)
    const { bert, data, estimate } = await estimateOf(config, calibrate ?? false, readConfig)
    // cpu always starts and has no device limit; a probe that fails leaves the run's own errors and log
    const check =
      config.backend === 'cpu'
        ? { device: null, backendWarnings: [] }
        : backendCheckLines(startCheck(config, bert, finetuneMicroBatch(config, data.choices), await deps.probeBackends().catch(() => [])))
    return { ...check, estimate, sweep: grid ? await sweepEstimate(req, grid, calibrate ?? false, readConfig) : null }
  }

  /** A sweep's runs as sweeps.ts makes them (the grid's values as overrides of the form's config), estimated together. */
  async function sweepEstimate(req: FinetuneRequest, grid: Grid, calibrate: boolean, readConfig: (dir: string) => Promise<BertConfig>): Promise<FinetuneFormCheck['sweep']> {
    const combos = expandGrid(grid)
    if (combos.length > MAX_SWEEP_RUNS) throw badInput(`grid: ${combos.length} runs; at most ${MAX_SWEEP_RUNS} per sweep`)
    const sweep = { runs: combos.length, totalSteps: 0, totalSeconds: 0 as number | null, peakMemory: 0 }
    for (const params of combos) {
      const { estimate } = await estimateOf(finetuneConfigFor(deps, { ...req, set: sweepRunSets(req.set, params) }).config, calibrate, readConfig)
      sweep.totalSteps += estimate.totalSteps
      sweep.totalSeconds = sweep.totalSeconds === null || estimate.totalSeconds === null ? null : sweep.totalSeconds + estimate.totalSeconds
      sweep.peakMemory = Math.max(sweep.peakMemory, estimate.memory.total)
    }
    return sweep
  }
}
