// Dynamic loss scaling for fp16 mixed precision (PyTorch's GradScaler): the loss is multiplied by
// `scale` before backward so small gradients survive f16; a step whose gradients overflowed
// (non-finite norm) is skipped and the scale halved; after `growthInterval` clean steps in a row the
// scale doubles. Its state goes into checkpoints, so a resumed run scales as an uninterrupted one.

export interface LossScaleOptions {
  /** First scale; default 2^16 (PyTorch's). */
  initial?: number
  /** Clean steps before the scale doubles; default 2000 (PyTorch's). */
  growthInterval?: number
  /**
   * Where the training loop keeps the scale: on the device where the optimizer can (webgpu's multi-
   * tensor update; the default), so no step reads back before its update; false: on the host, the
   * norm read before each update. The same numbers either way.
   */
  onDevice?: boolean
}

export interface LossScaleState {
  scale: number
  cleanSteps: number
}

export class DynamicLossScale {
  scale: number
  cleanSteps = 0
  readonly growthInterval: number

  constructor(options: LossScaleOptions = {}, state?: LossScaleState) {
    this.scale = state?.scale ?? options.initial ?? 2 ** 16
    this.cleanSteps = state?.cleanSteps ?? 0
    this.growthInterval = options.growthInterval ?? 2000
    if (!(this.scale > 0 && Number.isFinite(this.scale))) throw new Error(`loss scale must be a positive finite number, got ${this.scale}`)
  }

  /** After a step: whether its gradients were finite (then the step applies). Updates the scale. */
  update(finite: boolean): boolean {
    if (!finite) {
      this.scale = Math.max(this.scale / 2, 2 ** -24)
      this.cleanSteps = 0
      return false
    }
    if (++this.cleanSteps >= this.growthInterval) {
      this.scale *= 2
      this.cleanSteps = 0
    }
    return true
  }

  state(): LossScaleState {
    return { scale: this.scale, cleanSteps: this.cleanSteps }
  }
}
