// Activates the tfjs backend for training through the backend ladder (engine/compute/backends.ts), which
// also registers our custom kernels, and names it in one line for progress reports and run rows.
import { describeSelection, selectBackend, type BackendPreference } from '../compute/backends'

export type { BackendPreference }

export async function useBackend(preference: BackendPreference): Promise<{ name: string; detail: string }> {
  const selection = await selectBackend(preference)
  return { name: selection.name, detail: describeSelection(selection) }
}
