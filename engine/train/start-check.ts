// What a run's form can know before the run starts, from the probe of this machine's backend ladder
// (Settings'): where the run would train, and each reason it would fail there, at its start (a backend
// that cannot start, fp16 off webgpu) or when a long batch comes (a tensor over the adapter's binding limit).
import { BACKEND_NAMES, type BackendName, type BackendProbe } from '../compute/backends'
import type { AdapterReport } from '../compute/webgpu/device'
import type { BertConfig } from '../model/config'
import type { TrainConfig } from './config'
import { bindingLimitWarnings, type StepShape } from './estimate'

/** The rung auto starts on: the first available one (cpu always is). */
const autoPick = (probes: BackendProbe[]): BackendName => BACKEND_NAMES.find((name) => probes.find((p) => p.name === name)?.available) ?? 'cpu'

/**
 * The adapter a run on `backend` would train on: webgpu's when the config names it (a software adapter
 * too), or when auto's ladder reaches webgpu first; null when the run would not use webgpu or the probe
 * found no adapter.
 */
export function webgpuAdapterFor(backend: TrainConfig['backend'], probes: BackendProbe[]): AdapterReport | null {
  const trainsOn = backend === 'auto' ? autoPick(probes) : backend
  return trainsOn === 'webgpu' ? (probes.find((p) => p.name === 'webgpu')?.adapter ?? null) : null
}

export interface StartCheck {
  /** The WebGPU adapter the run would train on, or null. */
  adapter: AdapterReport | null
  /** One line per reason the run would fail, as the run's own log and errors word them. */
  warnings: string[]
}

/** Where a run trains and in which precision: a pretraining or a fine-tuning config. */
export interface RunPlacement {
  backend: TrainConfig['backend']
  precision: 'fp32' | 'fp16'
}

/** The check of a local run (pretraining or fine-tuning) whose full-length micro-batch is `microBatch`, against the probe. */
export function startCheck(config: RunPlacement, bert: BertConfig, microBatch: StepShape, probes: BackendProbe[]): StartCheck {
  // no probe (it failed): nothing is known here; the run's start says what it finds
  if (probes.length === 0) return { adapter: null, warnings: [] }
  const warnings: string[] = []
  const rung = (name: BackendName) => probes.find((p) => p.name === name)
  if (config.backend !== 'auto') {
    const named = rung(config.backend)
    // a software adapter is "unavailable" to auto only: named, it trains
    const starts = !named || named.available || (named.name === 'webgpu' && named.adapter !== undefined)
    if (!starts) warnings.push(`warning: backend "${config.backend}" is unavailable here (${named.detail}); the run would fail at its start`)
  } else if (config.precision === 'fp16' && autoPick(probes) !== 'webgpu') {
    const webgpu = rung('webgpu')
    warnings.push(
      `warning: precision "fp16" trains on the webgpu backend only, and auto would train on ${autoPick(probes)} here${webgpu ? ` (webgpu: ${webgpu.detail})` : ''}; the run would fail at its start. Choose backend "webgpu", or precision "fp32"`,
    )
  }
  const adapter = webgpuAdapterFor(config.backend, probes)
  if (adapter) warnings.push(...bindingLimitWarnings(bert, microBatch, adapter.limits.maxStorageBufferBindingSize))
  return { adapter, warnings }
}
