// Activates the tfjs backend for training through the backend ladder (engine/compute/backends.ts), which
// also registers our custom kernels, and names it in one line for progress reports and run rows.
import { describeSelection, selectBackend, type BackendPreference } from '../compute/backends'
import { setMatmulTuningCache } from '../compute/webgpu/flags'

export type { BackendPreference }

/** `tuningCache`: on webgpu, the file tuned product kernels are kept in between runs (matmul-tune-cache.ts). */
export async function useBackend(preference: BackendPreference, tuningCache?: string): Promise<{ name: string; detail: string }> {
  // set before the backend starts, which applies MENGZI_WEBGPU_TUNING_CACHE over it
  if (tuningCache) setMatmulTuningCache(tuningCache)
  const selection = await selectBackend(preference)
  return { name: selection.name, detail: describeSelection(selection) }
}
