// The tuner's value check (matmul-tune.ts) on the matrix units' kernel (matmul-matrix.ts), whose sums
// differ from the 64×64 kernel's by rounding on a GPU: it is accepted within MATRIX_TOLERANCE, not bit
// for bit, and set aside beyond. The emulated kernel (lavapipe has no matrix units) is handed to the
// device changed after generation: at 16×16×16 every value scaled by 1 + 2⁻²⁰ (a rounding-sized
// difference: accepted and timed), at 8×8×8 by 1.01 (a wrong kernel: set aside with its count).
import { afterEach, expect, it, vi } from 'vitest'
import { setMatmulMatrix, setMatmulTuning } from '../../../../engine/compute/webgpu/flags'
import { resetMatmulChoices } from '../../../../engine/compute/webgpu/matmul-choice'
import { tuneMatmuls } from '../../../../engine/compute/webgpu/matmul-tune'
import { parseBertConfig } from '../../../../engine/model/checkpoint'
import { benchBatch } from '../../../../engine/train/bench'
import { createBenchModel } from '../../../../engine/train/bench-model'
import { TINY_BERT } from '../../train/tiny-config'
import { describeOnWebgpu } from './on-webgpu'

vi.mock('../../../../engine/compute/webgpu/matmul-matrix', async (importOriginal) => {
  const matrix = await importOriginal<typeof import('../../../../engine/compute/webgpu/matmul-matrix')>()
  /** Scales C's 4×4 block by `factor` just before the epilogue (which starts with the block's column). */
  const scaled = (code: string, factor: string) => code.replace('let c = col0 + x * 4u;', `for (var i = 0u; i < 4u; i++) { acc[i] = acc[i] * ${factor}; }\n  let c = col0 + x * 4u;`)
  return {
    ...matrix,
    matrixMatmulCode: (v: Parameters<typeof matrix.matrixMatmulCode>[0]) => {
      const code = matrix.matrixMatmulCode(v)
      return v.matrix?.m === 8 ? scaled(code, '1.01') : scaled(code, String(1 + 2 ** -20))
    },
  }
})

describeOnWebgpu('matmul tuning with the matrix units\' kernel', () => {
  afterEach(() => {
    setMatmulMatrix(false)
    setMatmulTuning(false)
    resetMatmulChoices()
  })

  it('accepts it within the tolerance (not bit for bit) and times it; sets it aside beyond, with the count of values', async () => {
    const config = parseBertConfig({ ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, 'tiny')
    resetMatmulChoices()
    setMatmulTuning(true)
    setMatmulMatrix({ emulate: [{ M: 16, N: 16, K: 16 }, { M: 8, N: 8, K: 8 }] })
    const model = createBenchModel(config, 7, 'fp16')
    try {
      model.readLoss(await model.step(benchBatch(config, 4, 24), 1e-3))
      const report = await tuneMatmuls({ rounds: 1, reps: 1 })
      expect(report.products.length).toBeGreaterThan(5)
      for (const p of report.products) {
        for (const name of ['matrix 16×16×16 (emulated)', 'matrix 16×16×16 k32 (emulated)']) {
          const close = p.candidates.find((c) => c.kernel === name)
          expect(close, `${name}, ${p.product}`).toMatchObject({ ms: expect.any(Number) })
          expect(close!.rejected, p.product).toBeUndefined()
        }
        for (const name of ['matrix 8×8×8 (emulated)', 'matrix 8×8×8 k32 (emulated)']) {
          const wrong = p.candidates.find((c) => c.kernel === name)
          expect(wrong, `${name}, ${p.product}`).toMatchObject({ ms: null, rejected: expect.stringMatching(/^differs from the 64×64 kernel by more than 0\.1% of its largest value in \d+ of \d+ values$/) })
          expect(p.chosen).not.toBe(name)
        }
      }
    } finally {
      model.dispose()
    }
  })
})
