// SMART (Jiang et al. 2020, docs/strategies.md § SMART): smoothness-inducing adversarial regularisation
// on the embedding output e of the encoder.
//   δ₀ ~ N(0, σ²);  g = ∇_δ KL(f(e + δ) ‖ sg(f(e)));  δ ← Π_ε(δ + η · g / (‖g‖_∞ + 1e-6))  (per example)
//   R_s = λ · symKL(f(e), f(e + δ))            with symKL(p, q) = KL(p ‖ q) + KL(q ‖ p), mean over rows
// and, optionally, the Bregman proximal point term μ · symKL(f(x; θ), f(x; θ̃)) to a momentum teacher
// θ̃ ← β θ̃ + (1 − β) θ after every step.
import * as tf from '@tensorflow/tfjs'
import type { Rng } from '../../compute/rng'
import type { Weights } from '../../model/bert'

/** KL(softmax(p) ‖ softmax(q)) averaged over rows of [N, C] logits. */
export function klRows(p: tf.Tensor2D, q: tf.Tensor2D): tf.Scalar {
  const lp = tf.logSoftmax(p)
  const lq = tf.logSoftmax(q)
  return tf.exp(lp).mul(lp.sub(lq)).sum(-1).mean() as tf.Scalar
}

/** KL(p ‖ q) + KL(q ‖ p) of softmax distributions over [N, C] logits, mean over rows. */
export function symmetricKl(p: tf.Tensor2D, q: tf.Tensor2D): tf.Scalar {
  return klRows(p, q).add(klRows(q, p)) as tf.Scalar
}

export interface SmartOptions {
  noise: number
  stepSize: number
  epsilon: number
  steps: number
}

/**
 * The adversarial perturbation δ of the embedding output, [N, T, H]. `logitsAt(δ)` runs the model on
 * e + δ and returns its logits (for span tasks: start and end logits stacked as rows); `clean` is f(e),
 * treated as a constant. Returns a tensor the caller disposes.
 */
export function adversarialDelta(shape: [number, number, number], logitsAt: (delta: tf.Tensor3D) => tf.Tensor2D, clean: tf.Tensor2D, o: SmartOptions, rng: Rng): tf.Tensor3D {
  const init = new Float32Array(shape[0] * shape[1] * shape[2])
  rng.fillNormal(init, o.noise)
  let delta = tf.tensor3d(init, shape)
  const target = tf.keep(clean.clone())
  try {
    for (let k = 0; k < o.steps; k++) {
      const g = tf.grad((d: tf.Tensor) => klRows(logitsAt(d as tf.Tensor3D), target))(delta) as tf.Tensor3D
      const next = tf.tidy(() => {
        const norm = g.abs().max([1, 2], true).add(1e-6) // per example ∞-norm
        return tf.clipByValue(delta.add(g.div(norm).mul(o.stepSize)), -o.epsilon, o.epsilon) as tf.Tensor3D
      })
      g.dispose()
      delta.dispose()
      delta = next
    }
  } finally {
    target.dispose()
  }
  return delta
}

/** A momentum copy of the weights for the Bregman proximal term (not trainable). */
export class MomentumTeacher {
  readonly weights: Weights = new Map()
  constructor(
    source: Weights,
    readonly momentum: number,
  ) {
    for (const [name, v] of source) this.weights.set(name, tf.variable(v.clone(), false))
  }

  /** θ̃ ← β θ̃ + (1 − β) θ */
  update(source: Weights): void {
    tf.tidy(() => {
      for (const [name, v] of this.weights) v.assign(v.mul(this.momentum).add(source.get(name)!.mul(1 - this.momentum)))
    })
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose()
  }
}
