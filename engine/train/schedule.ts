// The learning-rate schedule: HF's get_linear_schedule_with_warmup.
//   1. warm-up: lr rises linearly from 0 to the peak over the first `warmup` steps;
//   2. decay:   it then falls linearly to 0 at `total` steps.
// `step` counts completed optimizer updates, so the first update uses lrAt(0) — which is 0 whenever
// there is a warm-up, exactly as in HF (the scheduler's first value is lambda(0)).

export interface ScheduleOptions {
  peak: number // the learning rate at the end of warm-up
  total: number // total optimizer steps
  warmupRatio?: number // 0.1 of the total, rounded up (HF's get_warmup_steps), unless warmupSteps is given
  warmupSteps?: number
}

export function warmupSteps(options: ScheduleOptions): number {
  if (options.warmupSteps !== undefined) return options.warmupSteps
  return Math.ceil(options.total * (options.warmupRatio ?? 0.1))
}

export function linearWarmupDecay(options: ScheduleOptions): (step: number) => number {
  const { peak, total } = options
  const warmup = warmupSteps(options)
  if (!(total > 0)) throw new Error(`schedule: total steps must be positive, got ${total}`)
  if (!(warmup >= 0 && warmup <= total)) throw new Error(`schedule: warm-up (${warmup}) must be within [0, total (${total})]`)
  return (step: number) => {
    if (step < warmup) return (peak * step) / Math.max(1, warmup)
    return peak * Math.max(0, (total - step) / Math.max(1, total - warmup))
  }
}
