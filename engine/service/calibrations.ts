// This machine's measured training speed per backend (train/estimate.ts's calibration step, in a worker),
// measured once per session when a form first asks, and shared by the run form and the Fine-tune form.
import type { Calibration } from '../train/estimate'
import type { TrainConfig } from '../train/config'
import type { TaskEnvironment } from './tasks'
import { runTask } from './worker-task'

export type Calibrations = (backend: TrainConfig['backend'], measure: boolean) => Promise<Calibration> | null

/** The calibration of `backend`: the known one, a measurement started when `measure` is set, else null. */
export function createCalibrations(taskEnvironment: () => TaskEnvironment): Calibrations {
  const known = new Map<string, Promise<Calibration>>()
  return (backend, measure) => {
    const found = known.get(backend)
    if (found || !measure) return found ?? null
    const ctx = { signal: new AbortController().signal, progress: () => {} }
    const measuring = runTask('calibrateTraining', taskEnvironment(), { backend }, ctx)
    known.set(backend, measuring)
    measuring.catch(() => known.delete(backend)) // a failed measurement is tried again next time
    return measuring
  }
}
