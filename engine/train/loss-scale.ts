// Dynamic loss scaling for fp16 mixed precision (PyTorch's GradScaler): the loss is multiplied by
// `scale` before backward so small gradients survive f16; a step whose gradients overflowed
// (non-finite norm) is skipped and the scale halved; after `growthInterval` clean steps in a row the
// scale doubles. Its state goes into checkpoints, so a resumed run scales as an uninterrupted one.
import type * as tf from '@tensorflow/tfjs'
import type { Optimizer } from './optimizers'

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

/**
 * A training loop's fp16 loss scaling against its optimizer (pretraining's loop and fine-tuning's step it
 * alike). On webgpu's multi-tensor update the scale lives on the device, which skips an overflowed update
 * itself, so a step reads nothing back before its update and pipelines as an fp32 one; the host's scaler
 * follows as each step is reported. Elsewhere the scale lives on the host and the gradients' norm is read
 * before each update.
 */
export class LossScaling {
  private readonly scaler: DynamicLossScale
  readonly onDevice: boolean

  constructor(
    private readonly optimizer: Optimizer,
    options: LossScaleOptions = {},
    state?: LossScaleState,
    private readonly log?: (line: string) => void,
  ) {
    this.scaler = new DynamicLossScale(options, state)
    this.onDevice = optimizer.scalesOnDevice && options.onDevice !== false
    if (this.onDevice) optimizer.scaleOnDevice(this.scaler.state(), this.scaler.growthInterval)
  }

  /** The scale a step multiplies its loss by on the host (1 on the device, where `deviceScale` holds it). */
  hostScale(): number {
    return this.onDevice ? 1 : this.scaler.scale
  }

  /** The scale on the device, as a scalar to multiply the loss by (dispose it); null on the host. */
  deviceScale(): tf.Scalar | null {
    return this.onDevice ? this.optimizer.deviceLossScale() : null
  }

  /** clipGradients' lossScale for a step that started with `hostScale`. */
  clipScale(hostScale: number): number | 'device' {
    return this.onDevice ? 'device' : hostScale
  }

  /** On the host, once the norm is read, before the update: whether step `step` applies (an overflow skips it, as GradScaler does). */
  applies(gradNorm: number, step: number, used: number): boolean {
    const finite = this.scaler.update(Number.isFinite(gradNorm))
    if (!finite) this.overflowed(step, used)
    return finite
  }

  /** On the device, as step `step` is reported: the scale it used. The device applied or skipped it by the same rule; the host follows. */
  settle(gradNorm: number, step: number): number {
    const used = this.scaler.scale
    const finite = Number.isFinite(gradNorm)
    this.scaler.update(finite)
    this.optimizer.settleStep(finite)
    if (!finite) this.overflowed(step, used)
    return used
  }

  state(): LossScaleState {
    return this.scaler.state()
  }

  private overflowed(step: number, used: number): void {
    this.log?.(`step ${step}: gradients overflowed at loss scale ${used}; update skipped, scale now ${this.scaler.scale}`)
  }
}
