// Split-K in the matrix product (engine/compute/webgpu/matmul.ts): how a product's k is split (auto at
// BASE's shapes, forced, off), then split products on webgpu against tfjs cpu (ragged k and tiles, vec4
// and scalar loads, row sums beside dW, f16 rounding, packed f16 operands), the split sums the same on
// every run and in every kernel (tiled, subgroup, 128×128 tiles: bit for bit), and a tiny-model
// training run with every dense dW split against none.
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { setMatmulSplitK, setMatmulSubgroups, setMatmulTile, splitKFromEnv } from '../../../../engine/compute/webgpu/flags'
import { matmulSplit, matmulVariant, SPLIT_MIN_CHUNK, SPLIT_TARGET_WORKGROUPS, splitK } from '../../../../engine/compute/webgpu/matmul'
import { dispatchesRecorded } from '../../../../engine/compute/webgpu/runner'
import { train } from '../../../../engine/train/loop'
import { expectClose } from '../../model/ops/compare'
import { TINY_BERT, tinyConfig } from '../../train/tiny-config'
import { argsOf, inputsOf, onCpu, onGpu, type Case } from './matmul-cases'
import { describeOnWebgpu } from './on-webgpu'

describe('how a product splits its k', () => {
  it('auto splits the BASE dW products (few tiles, 4,096 tokens) and nothing with enough tiles or a short k', () => {
    // dW of a 768×768 layer: 144 tiles → 8 chunks of 512 (1,152 workgroups); of 768×3072: 576 → 2
    expect(splitK(144, 4096, 'auto')).toEqual({ splits: 8, chunk: 512 })
    expect(splitK(576, 4096, 'auto')).toEqual({ splits: 2, chunk: 2048 })
    expect(splitK(SPLIT_TARGET_WORKGROUPS, 1 << 20, 'auto').splits).toBe(1) // dX, forward: 768+ tiles already
    expect(splitK(1, 2 * SPLIT_MIN_CHUNK - 1, 'auto').splits).toBe(1) // not two chunks of the least k
    expect(splitK(1, 2 * SPLIT_MIN_CHUNK, 'auto')).toEqual({ splits: 2, chunk: SPLIT_MIN_CHUNK })
    expect(splitK(4, 2048, 'auto')).toEqual({ splits: 4, chunk: 512 }) // config A's 128×128 dW
    expect(splitK(144, 4096, false).splits).toBe(1)
  })

  it('a forced count is met with chunks that are whole k tiles (16), fewer where k is short', () => {
    expect(splitK(1, 130, 3)).toEqual({ splits: 3, chunk: 48 }) // 48 + 48 + 34
    expect(splitK(1, 20, 8)).toEqual({ splits: 2, chunk: 16 })
    expect(splitK(1, 16, 4).splits).toBe(1)
  })

  it('MENGZI_WEBGPU_MATMUL_SPLITK: 0 is off, a count forces it, anything else is refused with a reason', () => {
    expect(splitKFromEnv(undefined)).toBe('auto')
    expect(splitKFromEnv('0')).toBe(false)
    expect(splitKFromEnv('6')).toBe(6)
    expect(() => splitKFromEnv('1')).toThrow(/MENGZI_WEBGPU_MATMUL_SPLITK: expected 0 \(off\), auto, or a number of k chunks, 2 or more; got "1"/)
    expect(() => splitKFromEnv('two')).toThrow(/got "two"/)
    expect(() => setMatmulSplitK(-3)).toThrow(/2 or more/)
  })
})

const CASES: [Case, number, number][] = [
  // [case, scale, forced chunks]
  [{ M: 65, N: 3, K: 130, transA: true, rowSums: true }, 1, 3], // ragged everything; the last chunk short
  [{ M: 132, N: 68, K: 260, transA: true, rowSums: true }, 1e3, 4], // vec4 loads; 3 × 2 tiles, the first column writes row sums
  [{ M: 36, N: 44, K: 640, transA: true, f16: true, rowSums: true }, 3, 5],
  [{ M: 136, N: 44, K: 64, transA: true, halfA: true, halfB: true, rowSums: true }, 3, 2], // packed, vec2<u32> loads
  [{ M: 65, N: 133, K: 67, transB: true, halfB: true }, 3, 3], // packed, scalar loads
  [{ M: 63, N: 65, K: 257 }, 1, 7],
  [{ M: 128, N: 68, K: 36, transA: true, transB: true }, 1, 2],
]

const dir = mkdtempSync(join(tmpdir(), 'mengzi-split-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describeOnWebgpu('split-K products on webgpu', () => {
  afterEach(() => {
    setMatmulSplitK('auto')
    setMatmulTile(64)
    setMatmulSubgroups(false)
  })

  it('batched products and bias or GELU epilogues never split', () => {
    setMatmulSplitK(4)
    const placeholder = tf.scalar(0)
    const split = (c: Case) => matmulSplit(argsOf(c, placeholder, placeholder, placeholder), matmulVariant(argsOf(c, placeholder, placeholder, placeholder))).splits
    expect(split({ M: 8, N: 8, K: 256, transA: true, rowSums: true })).toBe(4)
    expect(split({ M: 8, N: 8, K: 256, batch: 2 })).toBe(1)
    expect(split({ M: 8, N: 8, K: 256, bias: true })).toBe(1)
    expect(split({ M: 8, N: 8, K: 256, bias: true, gelu: true })).toBe(1)
    placeholder.dispose()
    setMatmulSplitK('auto')
  })

  it('forced splits equal tfjs cpu, differ from the unsplit sums only by rounding, and repeat exactly', async () => {
    for (const [c, scale, chunks] of CASES) {
      const x = inputsOf(c, scale)
      const name = JSON.stringify(c)
      setMatmulSplitK(false)
      const whole = await onGpu(c, x)
      setMatmulSplitK(chunks)
      const before = dispatchesRecorded()
      const split = await onGpu(c, x)
      expect(dispatchesRecorded() - before, name).toBe(c.halfA || c.halfB ? 2 + Number(!!c.halfA) + Number(!!c.halfB) : 2) // (packing,) the chunks, their sum
      expect(split, name).toHaveLength(whole.length)
      expectClose(split, await onCpu(c, x), 2e-5)
      expectClose(split, whole, 2e-5)
      const again = await onGpu(c, x)
      split.forEach((v, k) => expect(Array.from(again[k]), `${name}, output ${k}`).toEqual(Array.from(v)))
    }
  })

  it('auto splits a one-tile product over 1,024 k into two chunks, and the result equals cpu', async () => {
    const c: Case = { M: 64, N: 64, K: 2 * SPLIT_MIN_CHUNK, transA: true, rowSums: true }
    const x = inputsOf(c)
    const before = dispatchesRecorded()
    const split = await onGpu(c, x)
    expect(dispatchesRecorded() - before).toBe(2)
    expectClose(split, await onCpu(c, x), 2e-5)
  })

  it('the subgroup and 128×128 kernels make the same split sums as the tiled kernel, bit for bit', async () => {
    for (const [c, scale, chunks] of CASES) {
      const x = inputsOf(c, scale)
      setMatmulSplitK(chunks)
      const tiled = await onGpu(c, x)
      for (const set of [() => setMatmulTile(128), () => setMatmulSubgroups(4)]) {
        set()
        const other = await onGpu(c, x)
        setMatmulTile(64)
        setMatmulSubgroups(false)
        other.forEach((v, k) => expect(Array.from(v), `${JSON.stringify(c)}, output ${k}`).toEqual(Array.from(tiled[k])))
      }
    }
  })

  it('a tiny-model training run with every dense dW split in 3 records the split and gives the unsplit losses within rounding', async () => {
    // weights drawn wide (σ 0.5, not 0.02): at 0.02 the first updates are about lr·sign(g) and the
    // losses barely depend on the gradients' sizes (a split losing a chunk's sum passed)
    const config = tinyConfig({ backend: 'webgpu', totalSteps: 4, model: { config: { ...TINY_BERT, initializer_range: 0.5, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 } } })
    setMatmulSplitK(false)
    let before = dispatchesRecorded()
    const whole = await train(config, { runDir: join(dir, 'whole') })
    const wholeDispatches = dispatchesRecorded() - before
    setMatmulSplitK(3)
    before = dispatchesRecorded()
    const split = await train(config, { runDir: join(dir, 'split') })
    // one more dispatch per split product (its sum): 10 dense dW per step here, forward-only evals aside
    expect(dispatchesRecorded() - before - wholeDispatches).toBeGreaterThanOrEqual(4 * 10)
    expect(split.losses).toHaveLength(4)
    split.losses.forEach((loss, k) => expect(Math.abs(loss - whole.losses[k]) / whole.losses[k]).toBeLessThan(1e-5))
  })
})
