// The fused optimizer kernels (native, on wasm) against the tfjs composition they replace, through the
// optimizers themselves: several steps, decay on and off, LAMB's zero-norm cases, memory kept flat.
import * as tf from '@tensorflow/tfjs'
import { afterAll, describe, expect, it } from 'vitest'
import type { Weights } from '../../../engine/model/bert'
import { setNativeKernels } from '../../../engine/compute/native'
import { AdamW, Lamb, type Optimizer, type OptimizerOptions } from '../../../engine/train/optimizers'
import { randomValues, useBackend } from '../model/ops/compare'

afterAll(() => {
  setNativeKernels(true)
})

type Make = (weights: Weights, options: OptimizerOptions) => Optimizer
const KINDS: [string, Make, string][] = [
  ['AdamW', (w, o) => new AdamW(w, o), 'MengziAdamW'],
  ['LAMB', (w, o) => new Lamb(w, o), 'MengziLamb'],
]

// name → shape; the zero parameters give LAMB ‖w‖ = 0 (trust 1), the zero gradient ‖u‖ = 0 too
const PARAMS: [string, number[]][] = [
  ['layer.dense.weight', [7, 13]],
  ['layer.dense.bias', [13]],
  ['big.weight', [3, 3001]], // LAMB sums its norms in blocks of 4096: two and a tail
  ['layer.LayerNorm.weight', [13]],
  ['zero.weight', [5]],
  ['frozen.weight', [6]],
]

function makeWeights(): Weights {
  return new Map(
    PARAMS.map(([name, shape], k) => {
      const values = name.startsWith('zero') ? new Float32Array(tf.util.sizeFromShape(shape)) : randomValues(tf.util.sizeFromShape(shape), 10 + k)
      return [name, tf.variable(tf.tensor(values, shape))]
    }),
  )
}

function gradsFor(step: number): Map<string, tf.Tensor> {
  return new Map(
    PARAMS.map(([name, shape], k) => {
      const size = tf.util.sizeFromShape(shape)
      const values = name.startsWith('frozen') ? new Float32Array(size) : randomValues(size, 100 * step + k).map((x) => x * 0.1)
      return [name, tf.tensor(values, shape)]
    }),
  )
}

/** Weights and moments after `steps` steps, as plain arrays keyed by name. */
function train(make: Make, options: OptimizerOptions, steps: number): Map<string, Float32Array> {
  const weights = makeWeights()
  const optimizer = make(weights, options)
  for (let s = 1; s <= steps; s++) {
    const grads = gradsFor(s)
    optimizer.step(grads, 0.01 * s)
    for (const g of grads.values()) g.dispose()
  }
  const out = new Map<string, Float32Array>()
  for (const [name, t] of [...weights, ...optimizer.stateTensors()]) out.set(name, t.dataSync() as Float32Array)
  optimizer.dispose()
  for (const w of weights.values()) w.dispose()
  return out
}

for (const [kind, make, kernel] of KINDS) {
  describe(`${kind}: fused kernel on wasm`, () => {
    it('is the kernel the optimizer runs on wasm, and the composition runs on wasm-js and cpu', async () => {
      const kernelsOfOneStep = async () => {
        const weights = makeWeights()
        const optimizer = make(weights, {})
        const grads = gradsFor(1)
        const names = (await tf.profile(() => optimizer.step(grads, 0.01))).kernels.map((k) => k.name)
        optimizer.dispose()
        tf.dispose([...weights.values(), ...grads.values()])
        return names
      }
      await useBackend('wasm')
      const fused = await kernelsOfOneStep()
      expect(fused.filter((n) => n === kernel).length).toBe(PARAMS.length)
      expect(fused).not.toContain('Sqrt')
      await useBackend('wasm-js')
      expect(await kernelsOfOneStep()).not.toContain(kernel)
      await useBackend('cpu')
      expect(await kernelsOfOneStep()).not.toContain(kernel)
    })

    for (const weightDecay of [0, 0.01]) {
      it(`equals the composition over 4 steps, weight decay ${weightDecay}`, async () => {
        await useBackend('wasm')
        const fused = train(make, { weightDecay }, 4)
        await useBackend('wasm-js')
        const composed = train(make, { weightDecay }, 4)
        await useBackend('cpu')
        const onCpu = train(make, { weightDecay }, 4)
        expect([...fused.keys()]).toEqual([...composed.keys()])
        for (const [name, want] of composed) {
          const got = fused.get(name)!
          if (kind === 'AdamW') {
            // the same float32 operations in the same order: bit for bit, on either backend
            expect(got, name).toEqual(want)
            expect(onCpu.get(name), name).toEqual(want)
          } else {
            // LAMB's norms sum in double natively, in float32 in tfjs
            for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${name}[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[i])))
          }
        }
        // the zero parameter moved (trust 1, not 0/0) and the zero-gradient one only decayed
        expect(fused.get('zero.weight')!.some((x) => x !== 0)).toBe(true)
        expect(fused.get('frozen.weight')!.every(Number.isFinite)).toBe(true)
      })
    }

    it('keeps the tensor count and bytes flat over steps (assign takes the outputs, nothing leaks)', async () => {
      await useBackend('wasm')
      const weights = makeWeights()
      const optimizer = make(weights, {})
      const counts: [number, number][] = []
      for (let s = 1; s <= 4; s++) {
        const grads = gradsFor(s)
        optimizer.step(grads, 0.01)
        tf.dispose([...grads.values()])
        counts.push([tf.memory().numTensors, tf.memory().numBytes])
      }
      // the first step creates the moments; every later step leaves memory as it found it
      expect(counts.slice(1)).toEqual([counts[0], counts[0], counts[0]])
      optimizer.dispose()
      tf.dispose([...weights.values()])
    })
  })
}
