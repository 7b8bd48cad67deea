// AdamW (PyTorch's torch.optim.AdamW semantics) and LAMB (You et al. 2019, "Large Batch Optimization
// for Deep Learning: Training BERT in 76 minutes", Algorithm 2), over a Map of named tf.Variables.
//
// Both keep Adam's moments per parameter (PyTorch's state names: exp_avg, exp_avg_sq) as variables so
// that a step updates them in place, and both can export/import that state for checkpoints. On webgpu
// (our kernels on) the moments live instead in one flat arena and every parameter is updated by a few
// dispatches, clipping included (compute/webgpu/multi-adam.ts); checkpoints see the same per-parameter
// tensors either way.
// Weight decay is skipped for parameters where `noDecay(name)` holds — by default biases and
// LayerNorm weights (`isNoDecay`, matched by name as HF's Trainer does).
import * as tf from '@tensorflow/tfjs'
import type { Weights } from '../model/bert'
import { isNoDecay } from '../model/weights'
import type { AdamAttrs } from '../compute/kernels/adam-wasm'
import { hasFusedKernel, runFused } from '../compute/kernels/fused'
import { webgpuFusedKernelsOn } from '../compute/webgpu/flags'
import { MultiTensorAdam, type Gate } from '../compute/webgpu/multi-adam'
import type { LossScaleState } from './loss-scale'

export type OptimizerKind = 'adamw' | 'lamb'

export interface OptimizerOptions {
  beta1?: number // 0.9
  beta2?: number // 0.999
  eps?: number // 1e-6 (HF's BERT default; PyTorch's own default is 1e-8)
  weightDecay?: number // 0.01
  /** Parameters exempt from weight decay; default: biases and LayerNorm (`isNoDecay`). */
  noDecay?: (name: string) => boolean
  /** The multi-tensor update (webgpu): default where the backend is webgpu with our kernels on. */
  multiTensor?: boolean
}

/** Gradients after clipping: hand exactly these to the next `step`. */
export interface ClippedGrads {
  /**
   * The gradients to step with. Where the optimizer clips inside its update (multi-tensor) these are
   * the gradients as given, and the clip factor is applied by `step`.
   */
  grads: Grads
  /** ‖g‖ over all gradients before clipping (divided by the loss scale); dispose it. */
  norm: tf.Scalar
}

export type { Grads } from '../compute/grads'
import type { Grads } from '../compute/grads'

export interface Optimizer {
  readonly kind: OptimizerKind
  /** Number of updates applied so far (PyTorch's state["step"]). */
  readonly stepCount: number
  /** Applies one update with learning rate `lr`. Parameters without a gradient are left alone (as PyTorch). */
  step(grads: Grads, lr: number): void
  /** `clipByGlobalNorm` for the next `step`, which must get the returned `grads` ('device': after scaleOnDevice). */
  clipGradients(grads: Grads, maxNorm: number, lossScale?: number | 'device'): ClippedGrads
  /**
   * fp16: whether the loss scale can live on the device (webgpu's multi-tensor update): then a step
   * needs no readback before its update, which the device skips on overflow.
   */
  readonly scalesOnDevice: boolean
  /**
   * Moves dynamic loss scaling onto the device from `state` (scalesOnDevice only). From then on the
   * loss is multiplied by `deviceLossScale()`, gradients are clipped with lossScale 'device', and each
   * `step` is settled with `settleStep` once its norm is read (at most one step unsettled).
   */
  scaleOnDevice(state: LossScaleState, growthInterval: number): void
  /** The loss scale on the device now, as a new scalar (dispose it). */
  deviceLossScale(): tf.Scalar
  /** Whether the oldest unsettled step applied (its gradients' norm was finite). */
  settleStep(applied: boolean): void
  /** Moments keyed `exp_avg.<param>` / `exp_avg_sq.<param>`; read them before the next step. */
  stateTensors(): Map<string, tf.Tensor>
  loadState(tensors: Map<string, { shape: number[]; data: Float32Array }>, stepCount: number): void
  dispose(): void
}

interface Moments {
  m: tf.Variable
  v: tf.Variable
}

abstract class AdamFamily implements Optimizer {
  abstract readonly kind: OptimizerKind
  protected readonly beta1: number
  protected readonly beta2: number
  protected readonly eps: number
  protected readonly weightDecay: number
  protected readonly noDecay: (name: string) => boolean
  protected readonly moments = new Map<string, Moments>()
  private steps = 0
  /** Loss scale on the device: steps recorded whose outcome (applied or skipped) is not read yet. */
  private unsettled = 0
  private onDevice = false
  private readonly multiTensor: boolean
  private flat: MultiTensorAdam | null = null
  /** The gradients `clipGradients` put in the arena, with their clip factor, for the next step. */
  private clipped: Grads | null = null
  /** stateTensors' copies out of the arena, disposed when the arena changes or on the next call. */
  private exported: tf.Tensor[] = []

  constructor(
    protected readonly weights: Weights,
    options: OptimizerOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9
    this.beta2 = options.beta2 ?? 0.999
    this.eps = options.eps ?? 1e-6
    this.weightDecay = options.weightDecay ?? 0.01
    this.noDecay = options.noDecay ?? isNoDecay
    for (const [b, what] of [[this.beta1, 'beta1'], [this.beta2, 'beta2']] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`${what} must be in [0, 1), got ${b}`)
    }
    this.multiTensor = (options.multiTensor ?? true) && tf.getBackend() === 'webgpu' && webgpuFusedKernelsOn()
  }

  /** The arena over every parameter in the weights' order (so a resume lays it out the same). */
  private arena(): MultiTensorAdam {
    this.flat ??= new MultiTensorAdam(
      this.kind,
      [...this.weights].map(([name, p]) => ({ name, shape: p.shape, decays: this.decayFor(name) !== 0 })),
    )
    return this.flat
  }

  private dropExported(): void {
    tf.dispose(this.exported)
    this.exported = []
  }

  get scalesOnDevice(): boolean {
    return this.multiTensor
  }

  scaleOnDevice(state: LossScaleState, growthInterval: number): void {
    if (!this.multiTensor) throw new Error('the loss scale lives on the device only with the multi-tensor update on webgpu')
    this.arena().scaleOnDevice(state, growthInterval, this.steps)
    this.onDevice = true
  }

  deviceLossScale(): tf.Scalar {
    if (!this.onDevice) throw new Error('deviceLossScale: call scaleOnDevice first')
    return this.arena().lossScale()
  }

  settleStep(applied: boolean): void {
    if (this.unsettled === 0) throw new Error('settleStep: no step is waiting to be settled')
    this.unsettled--
    if (applied) this.steps++
  }

  clipGradients(grads: Grads, maxNorm: number, lossScale: number | 'device' = 1): ClippedGrads {
    if ((lossScale === 'device') !== this.onDevice) throw new Error(lossScale === 'device' ? 'clipGradients: the loss scale is on the device only after scaleOnDevice' : 'clipGradients: the loss scale is on the device; pass "device"')
    if (!this.multiTensor) return clipByGlobalNorm(grads, maxNorm, lossScale as number)
    const flat = this.arena()
    flat.arena.gatherGradients(grads)
    this.clipped = grads
    return { grads, norm: flat.gradNorm(maxNorm, lossScale) }
  }

  get stepCount(): number {
    return this.steps
  }

  protected decayFor(name: string): number {
    return this.noDecay(name) ? 0 : this.weightDecay
  }

  private momentsFor(name: string, p: tf.Variable): Moments {
    let s = this.moments.get(name)
    if (!s) {
      // tidy disposes the zero tensors; the variables keep their own reference to the data
      s = tf.tidy(() => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) }))
      this.moments.set(name, s)
    }
    return s
  }

  step(grads: Grads, lr: number): void {
    const biasCorrections = (t: number) => ({ bc1: 1 - this.beta1 ** t, bc2: 1 - this.beta2 ** t })
    if (this.onDevice) {
      // the device's step count is `steps`, or steps + 1 when the unsettled step before applied: the
      // update gets the bias corrections of both and picks (tBase)
      if (this.unsettled > 1) throw new Error('step: the loss scale is on the device and two steps are unsettled; settle the older one first')
      if (this.clipped !== grads) throw new Error('step: with the loss scale on the device, step with the gradients clipGradients returned')
      const { bc1, bc2 } = biasCorrections(this.steps + 1)
      this.unsettled++
      this.multiTensorStep(grads, lr, bc1, bc2, { tBase: this.steps, late: biasCorrections(this.steps + 2) })
      return
    }
    this.steps++
    const { bc1, bc2 } = biasCorrections(this.steps)
    if (this.multiTensor) {
      this.multiTensorStep(grads, lr, bc1, bc2)
      return
    }
    // one native pass per parameter where the backend has it; the tfjs composition is the reference
    const fused = hasFusedKernel(this.fusedKernel)
    for (const [name, g] of grads) {
      const p = this.weights.get(name)
      if (!p) throw new Error(`gradient for unknown parameter "${name}"`)
      const s = this.momentsFor(name, p)
      tf.tidy(() => {
        let next: tf.Tensor, m: tf.Tensor, v: tf.Tensor
        if (fused) {
          const attrs: AdamAttrs = { lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.decayFor(name), bc1, bc2 }
          ;[next, m, v] = runFused(this.fusedKernel, { p, g, m: s.m, v: s.v }, { ...attrs })
        } else {
          m = s.m.mul(this.beta1).add(g.mul(1 - this.beta1)) // exp_avg
          v = s.v.mul(this.beta2).add(g.square().mul(1 - this.beta2)) // exp_avg_sq
          next = this.update(name, p, m, v, lr, bc1, bc2)
        }
        // assign takes the new tensors' buffers over (no copy); tidy drops only their handles
        s.m.assign(m)
        s.v.assign(v)
        p.assign(next)
      })
    }
  }

  private multiTensorStep(grads: Grads, lr: number, bc1: number, bc2: number, gate?: Gate): void {
    const flat = this.arena()
    const clipped = this.clipped === grads
    this.clipped = null
    this.dropExported()
    if (!clipped) flat.arena.gatherGradients(grads)
    flat.arena.gatherParams(this.weights)
    const halvesWritten = flat.update({ lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay, bc1, bc2 }, clipped, gate)
    flat.arena.scatterParams(this.weights, halvesWritten)
  }

  /** The kernel (kernels/adam-wasm.ts) that computes p', m', v' in one call, same numbers as `update`. */
  protected abstract readonly fusedKernel: string

  /** The new parameter value from the updated moments. */
  protected abstract update(name: string, p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, lr: number, bc1: number, bc2: number): tf.Tensor

  stateTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>()
    if (this.flat) {
      this.dropExported()
      for (const name of this.weights.keys()) {
        if (!this.flat.arena.withMoments.has(name)) continue
        const [m, v] = [this.flat.arena.slice(name, 'm'), this.flat.arena.slice(name, 'v')]
        this.exported.push(m, v)
        out.set(`exp_avg.${name}`, m)
        out.set(`exp_avg_sq.${name}`, v)
      }
      return out
    }
    for (const [name, s] of this.moments) {
      out.set(`exp_avg.${name}`, s.m)
      out.set(`exp_avg_sq.${name}`, s.v)
    }
    return out
  }

  loadState(tensors: Map<string, { shape: number[]; data: Float32Array }>, stepCount: number): void {
    const loaded = new Map<string, { m?: tf.Tensor; v?: tf.Tensor }>()
    const checked: [string, 'exp_avg' | 'exp_avg_sq', { shape: number[]; data: Float32Array }][] = []
    for (const [key, t] of tensors) {
      const match = /^(exp_avg|exp_avg_sq)\.(.+)$/.exec(key)
      if (!match) throw new Error(`optimizer state: unexpected key "${key}"`)
      const [, which, name] = match
      const p = this.weights.get(name)
      if (!p) throw new Error(`optimizer state: "${key}" names no parameter of the model`)
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`optimizer state: "${key}" has shape [${t.shape.join(', ')}], parameter has [${p.shape.join(', ')}]`)
      }
      checked.push([name, which as 'exp_avg' | 'exp_avg_sq', t])
    }
    for (const [name] of checked) {
      if (!tensors.has(`exp_avg.${name}`) || !tensors.has(`exp_avg_sq.${name}`)) {
        throw new Error(`optimizer state: "${name}" has only one of exp_avg / exp_avg_sq`)
      }
    }
    this.disposeMoments()
    for (const [name, which, t] of checked) {
      const entry = loaded.get(name) ?? {}
      entry[which === 'exp_avg' ? 'm' : 'v'] = tf.tensor(t.data, t.shape, 'float32')
      loaded.set(name, entry)
    }
    for (const [name, { m, v }] of loaded) {
      if (this.multiTensor) this.arena().arena.loadMoments(name, m!, v!)
      else {
        const s = this.momentsFor(name, this.weights.get(name)!)
        s.m.assign(m!)
        s.v.assign(v!)
      }
      tf.dispose([m!, v!])
    }
    this.steps = stepCount
  }

  private disposeMoments(): void {
    for (const s of this.moments.values()) {
      s.m.dispose()
      s.v.dispose()
    }
    this.moments.clear()
    this.dropExported()
    this.flat?.arena.clearMoments()
    this.clipped = null
  }

  dispose(): void {
    this.disposeMoments()
    this.flat?.dispose()
    this.flat = null
  }
}

/**
 * torch.optim.AdamW: decoupled decay p ← p·(1 − lr·λ), then
 * p ← p − (lr / bc1) · m / (√v / √bc2 + ε)   (ε outside the square root, after bias correction).
 */
export class AdamW extends AdamFamily {
  readonly kind = 'adamw' as const
  protected readonly fusedKernel = 'MengziAdamW'
  protected update(name: string, p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, lr: number, bc1: number, bc2: number): tf.Tensor {
    const decayed = p.mul(1 - lr * this.decayFor(name))
    const denom = v.sqrt().div(Math.sqrt(bc2)).add(this.eps)
    return decayed.sub(m.div(denom).mul(lr / bc1))
  }
}

/**
 * LAMB, Algorithm 2 of You et al. 2019, one "layer" = one parameter tensor:
 *   m̂ = m / bc1,  v̂ = v / bc2,  r = m̂ / (√v̂ + ε),  u = r + λ·w
 *   trust = ‖w‖ / ‖u‖  (1 where either norm is 0),   w ← w − lr · trust · u
 * λ is 0 for no-decay parameters; the trust ratio applies to every parameter.
 */
export class Lamb extends AdamFamily {
  readonly kind = 'lamb' as const
  protected readonly fusedKernel = 'MengziLamb'
  protected update(name: string, p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, lr: number, bc1: number, bc2: number): tf.Tensor {
    const r = m.div(bc1).div(v.div(bc2).sqrt().add(this.eps))
    const decay = this.decayFor(name)
    const u = decay === 0 ? r : r.add(p.mul(decay))
    return p.sub(u.mul(trustRatio(p, u).mul(lr)))
  }
}

/** ‖w‖ / ‖u‖ as a scalar tensor, 1 where either norm is 0 (no sync with the host). */
export function trustRatio(w: tf.Tensor, u: tf.Tensor): tf.Scalar {
  // sqrt(Σx²) rather than tf.norm, which goes through Pow (slow on wasm)
  const wn = w.square().sum().sqrt()
  const un = u.square().sum().sqrt()
  const bothPositive = tf.logicalAnd(wn.greater(0), un.greater(0))
  // divide by 1 where un is 0, so the unused branch holds no Infinity/NaN
  return tf.where(bothPositive, wn.div(tf.where(un.greater(0), un, tf.onesLike(un))), tf.onesLike(wn)) as tf.Scalar
}

export function createOptimizer(kind: OptimizerKind, weights: Weights, options: OptimizerOptions = {}): Optimizer {
  if (kind === 'adamw') return new AdamW(weights, options)
  if (kind === 'lamb') return new Lamb(weights, options)
  throw new Error(`unknown optimizer ${JSON.stringify(kind)}; expected "adamw" or "lamb"`)
}

/**
 * torch.nn.utils.clip_grad_norm_: scales every gradient by min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖
 * is the L2 norm over all gradients together. Returns the new gradients (the old are disposed) and
 * the norm before clipping as a scalar tensor (read it when convenient). `lossScale`: the gradients
 * are of a loss multiplied by it (fp16 runs); the norm and the returned gradients are divided by it.
 */
export function clipByGlobalNorm(grads: Grads, maxNorm: number, lossScale = 1): { grads: Grads; norm: tf.Scalar } {
  // With a loss scale the gradients arrive multiplied by it: the norm and the result are unscaled.
  const norm = tf.tidy(() => (lossScale === 1 ? tf.sqrt(squaredNorm([...grads.values()])) : tf.sqrt(squaredNorm([...grads.values()])).div(lossScale)) as tf.Scalar)
  const clip = maxNorm > 0 && Number.isFinite(maxNorm)
  if (!clip && lossScale === 1) return { grads, norm }
  const out: Grads = new Map()
  tf.tidy(() => {
    const clipCoef = clip ? tf.minimum(tf.scalar(maxNorm).div(norm.add(1e-6)), 1) : tf.scalar(1)
    const coef = lossScale === 1 ? clipCoef : clipCoef.div(lossScale)
    for (const [name, g] of grads) out.set(name, tf.keep(g.mul(coef)))
  })
  for (const g of grads.values()) g.dispose()
  return { grads: out, norm }
}

/** Σ over all tensors of Σx², as a scalar tensor: folded one tensor at a time where the backend has the kernel (webgpu), else one AddN. */
function squaredNorm(tensors: tf.Tensor[]): tf.Tensor {
  if (hasFusedKernel('MengziSquaredNormAdd')) return tensors.reduce((acc: tf.Tensor, g) => runFused('MengziSquaredNormAdd', { g, acc: acc.reshape([1]) })[0], tf.zeros([1])).reshape([])
  return tf.addN(tensors.map((g) => g.square().sum()))
}
