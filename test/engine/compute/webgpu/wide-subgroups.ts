// The kernels that use subgroups, at NVIDIA's subgroup size (32) and AMD's (64), on lavapipe: its
// subgroup size is its SIMD width / 32, and LP_NATIVE_VECTOR_WIDTH sets that width (LLVM splits vectors
// wider than the CPU's), read when the driver loads. So each size is a file of its own that sets it
// before importing this (subgroups-32.test.ts, subgroups-64.test.ts; vitest runs each test file in a
// process of its own, and the first test fails if the size did not take). Checked at that size:
//   - the workgroup reductions (on by default where the device has subgroups): against tfjs cpu and
//     the barrier tree;
//   - the subgroup product at G 4 and 16 (both below the subgroup size): bit for bit the tiled kernel;
//   - the attention with 4 threads per row: against tfjs cpu, and through workgroup memory bit for bit;
//   - the matrix units' kernel, emulated (matmul-matrix.ts), with the subgroup layout this size gives it.
// Small shapes only: lavapipe this wide takes seconds to compile each pipeline.
import * as tf from '@tensorflow/tfjs'
import { afterEach, expect, it } from 'vitest'
import { setLaneSumsInMemory } from '../../../../engine/compute/webgpu/attention-lanes'
import { setAttentionLanes, setMatmulMatrix, setMatmulSubgroups, setWebgpuSubgroups } from '../../../../engine/compute/webgpu/flags'
import { matrixPlans } from '../../../../engine/compute/webgpu/matmul-choice'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { reductionsUseSubgroups } from '../../../../engine/compute/webgpu/wgsl'
import { attentionCore } from '../../../../engine/model/ops/attention'
import { expectClose } from '../../model/ops/compare'
import { flashInputs, plainAttention } from './flash-reference'
import { checkCases, SUBGROUP_CASES, subgroupSize } from './matmul-subgroup-cases'
import { checkMatrixCases, MATRIX_CASES } from './matrix-cases'
import { adapter, describeOnWebgpu } from './on-webgpu'
import { reductionsThreeWays } from './reductions'
import { valueAndGrads } from './value-and-grads'

export function wideSubgroupSuite(size: 32 | 64): void {
  describeOnWebgpu(`kernels with subgroups of ${size} (lavapipe, LP_NATIVE_VECTOR_WIDTH=${size * 32})`, () => {
    if (!/llvmpipe/i.test(`${adapter?.device} ${adapter?.description}`)) {
      it.skip(`needs lavapipe, whose subgroup size the variable sets (this adapter: ${adapter?.description})`, () => {})
      return
    }
    afterEach(() => {
      setWebgpuSubgroups(true)
      setMatmulSubgroups(false)
      setAttentionLanes(false)
      setLaneSumsInMemory(false)
      setMatmulMatrix(false)
    })

    it(`the kernels run with subgroups of ${size}`, async () => {
      expect(adapter!.subgroups).toBe(true)
      expect(adapter!.subgroupSizes).toBe(String(size)) // as Settings and the backend line report it
      expect(await subgroupSize()).toBe(size)
    })

    it('workgroup reductions (LayerNorm, softmax cross-entropy, global norm) equal tfjs cpu and the barrier tree', async () => {
      expect(reductionsUseSubgroups(webgpuInternals(tf.backend()).device)).toBe(true)
      const { asSet: withSubgroups, tree, cpu } = await reductionsThreeWays()
      expectClose(withSubgroups, cpu, 5e-5)
      expectClose(withSubgroups, tree, 5e-5)
    })

    it('the subgroup product at G 4 and 16 equals the tiled kernel bit for bit and tfjs cpu', async () => {
      // ragged; vec4 loads with a bias; packed f16 operands; the row sums beside dW
      const cases = [0, 4, 15, 19].map((i) => SUBGROUP_CASES[i])
      for (const share of [4, 16] as const) await checkCases(share, cases)
    }, 900_000)

    it('the attention with 4 threads per row equals tfjs cpu, and through workgroup memory the shuffles bit for bit', async () => {
      const [B, T, H, heads, rate, seed] = [2, 33, 32, 2, 0.3, 2024] // head size 16, padded keys, dropout
      const make = flashInputs(B, T, H, [5, 0], 1)
      const fused = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, m: tf.Tensor) => attentionCore(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, m as tf.Tensor4D, { heads, dropoutRate: rate, seed })
      setAttentionLanes(true)
      const lanes = (await valueAndGrads(fused, make)).slice(0, 4) // context, dq, dk, dv (the mask has none)
      setLaneSumsInMemory(true)
      const inMemory = (await valueAndGrads(fused, make)).slice(0, 4)
      await tf.setBackend('cpu')
      const cpu = (await valueAndGrads(plainAttention(B, T, H, heads, rate, seed), make)).slice(0, 4)
      await tf.setBackend('webgpu')
      expectClose(lanes, cpu, 2e-5)
      lanes.forEach((x, o) => expect(Buffer.from(x.buffer).equals(Buffer.from(inMemory[o].buffer)), `output ${o} bit for bit`).toBe(true))
    }, 900_000)

    it(`the matrix units' kernel (emulated) written for ${256 / size} subgroups, as the adapter's size makes it: the 64×64 kernel's values`, async () => {
      // NVIDIA's layout at 32 (8 subgroups, two 16×16 results each), AMD's at 64 (4, a row of four each)
      setMatmulMatrix({ emulate: [{ M: 16, N: 16, K: 16 }, { M: 16, N: 8, K: 16 }] })
      const plans = matrixPlans(webgpuInternals(tf.backend()).device) // 16×16×16 and 16×8×16, k tiles of 16 and 32
      expect(plans.map((p) => [p.subgroups, p.kTile])).toEqual([16, 32, 16, 32].map((kTile) => [256 / size, kTile]))
      // ragged; A·Bᵀ; packed dW and db; split-K (at 64, whose pipelines take minutes to compile cold, two of them)
      await checkMatrixCases(plans[0], (size === 32 ? [0, 2, 6] : [2]).map((i) => MATRIX_CASES[i]))
      await checkMatrixCases(plans[size === 32 ? 3 : 1], [MATRIX_CASES[8]])
    }, 900_000)
  })
}
