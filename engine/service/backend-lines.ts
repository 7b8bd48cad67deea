// What Settings, the run forms and `mengzi backends` say about the GPU adapter, in one place: the
// renderer imports these (no Node here) so the app and the command line use the same words.
import type { StartCheck } from '../train/start-check'
import type { BackendCheck, BackendInfo, TuningForgotten } from './api'

type Adapter = NonNullable<BackendInfo['adapter']>

/** Whether runs tune the product kernels on the adapter, and what the tuning cache keeps for it; null from an older probe. */
export function tuningLine(adapter: Adapter, tuning: BackendInfo['tuning']): string | null {
  const t = tuning
  if (!t) return null
  if (!t.on) return adapter.software ? 'not tuned: off on a software adapter unless MENGZI_WEBGPU_MATMUL_TUNE=1' : 'not tuned (MENGZI_WEBGPU_MATMUL_TUNE=0, or a kernel forced by the tile or subgroup setting)'
  if (!t.file) return 'tuned on the device in each run, kept for none (MENGZI_WEBGPU_TUNING_CACHE=0)'
  if (t.unreadable) return `tuned on the device; the kept choices cannot be read (${t.unreadable}), so runs tune afresh`
  if (t.kept === 0) return `tuned on the device at a run's first steps, and kept in ${t.file} for later runs (none yet)`
  return `tuned on the device: ${t.kept} product ${t.kept === 1 ? 'class' : 'classes'} kept for this adapter and driver in ${t.file}`
}

/** Where forgetting does something: runs use kept choices, or cannot read them. */
export function canForgetTuning(tuning: BackendInfo['tuning']): 'forget' | 'set aside' | null {
  if (!tuning?.on || !tuning.file) return null
  if (tuning.unreadable) return 'set aside'
  return tuning.kept > 0 ? 'forget' : null
}

/** What a forget did, in a sentence. */
export function forgottenLine(r: Pick<TuningForgotten, 'forgotten' | 'setAside'>): string {
  if (r.setAside) return `The unreadable file was moved to ${r.setAside}; runs start a new one.`
  if (r.forgotten === 0) return 'Nothing was kept for this adapter and driver.'
  return `Forgot ${r.forgotten} product ${r.forgotten === 1 ? 'class' : 'classes'} kept for this adapter; the next run on it tunes ${r.forgotten === 1 ? 'it' : 'them'} again.`
}

/** "mesa software · llvmpipe: Mesa 25.0.7…": who made the adapter and what it is. */
export function adapterName(a: Adapter): string {
  return `${[a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown vendor'} · ${a.description || a.device}`
}

/** A run's start check (train/start-check.ts) as the forms show it. */
export function backendCheckLines(check: StartCheck): BackendCheck {
  const { adapter, warnings } = check
  return { device: adapter ? { adapter: adapterName(adapter), maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } : null, backendWarnings: warnings }
}
