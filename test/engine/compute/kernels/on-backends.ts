// Helpers for kernel tests: run the same computation on two backends and compare the numbers.
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, expect } from 'vitest'
import { registerCustomKernels } from '../../../../engine/compute/kernels'
import { setNativeKernels } from '../../../../engine/compute/native'

/** Deterministic values in [-1, 1) (mulberry32), so a failure reproduces. */
export function randomValues(size: number, seed: number): Float32Array {
  const out = new Float32Array(size)
  let s = seed >>> 0
  for (let i = 0; i < size; i++) {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1
  }
  return out
}

export interface Result {
  shape: number[]
  dtype: tf.DataType
  values: Float32Array | Int32Array
}

/** Runs `build` with `backend` active and returns its result's shape and values. */
export async function runOn(backend: 'cpu' | 'wasm', build: () => tf.Tensor): Promise<Result> {
  await tf.setBackend(backend)
  const t = tf.tidy(build)
  const values = (await t.data()) as Float32Array | Int32Array
  const result = { shape: t.shape, dtype: t.dtype, values }
  t.dispose()
  return result
}

/** Same shape and dtype; NaN where the other has NaN, ±Inf where it has ±Inf, finite values close. */
export function expectSameNumbers(actual: Result, expected: Result, relTol = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape)
  expect(actual.dtype).toBe(expected.dtype)
  let scale = 0
  for (const v of expected.values) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v))
  const tol = relTol * Math.max(1, scale)
  for (let i = 0; i < expected.values.length; i++) {
    const a = actual.values[i]
    const e = expected.values[i]
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!Object.is(a, e)) expect.fail(`element ${i}: ${a}, expected ${e}`)
    } else if (!(Math.abs(a - e) <= tol)) {
      expect.fail(`element ${i}: ${a}, expected ${e} (tolerance ${tol})`)
    }
  }
}

/** Inside a describe: our kernels registered, their native paths on or off for it, restored after. */
export function withNativeKernels(on: boolean): void {
  let previous = true
  beforeAll(() => {
    registerCustomKernels()
    previous = setNativeKernels(on)
  })
  afterAll(() => {
    setNativeKernels(previous)
  })
}
