// Timing recorded webgpu work from Node: record calls back to back, submit, wait for the queue.
import { spinWhile } from '../../engine/compute/webgpu/event-ticks'
import type { WebgpuBackendInternals } from '../../engine/compute/webgpu/runner'

export async function waitForQueue(backend: WebgpuBackendInternals): Promise<void> {
  if (backend.computePassEncoder) backend.endComputePassEncoder()
  if (backend.commandEncoder) backend.submitQueue() // null when nothing was recorded since the last submit
  await (backend.device as unknown as { queue: { onSubmittedWorkDone(): Promise<void> } }).queue.onSubmittedWorkDone()
}

/** ms per call of `run` (each returns a function that frees its outputs): a warm-up if asked, then `reps` calls recorded back to back. */
export async function timeCalls(backend: WebgpuBackendInternals, reps: number, run: () => () => void, warmUp: boolean): Promise<number> {
  if (warmUp) run()()
  // Dawn's own busy loop while timed (event-ticks.ts): a wait that ticks by the timer may end a millisecond late
  return spinWhile(async () => {
    await waitForQueue(backend)
    const start = performance.now()
    const frees: (() => void)[] = []
    for (let i = 0; i < reps; i++) frees.push(run())
    await waitForQueue(backend)
    const ms = (performance.now() - start) / reps
    frees.forEach((free) => free())
    return ms
  })
}

/** The median of some timings. */
export const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
