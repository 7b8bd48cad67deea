// The tiled product (engine/compute/webgpu/matmul.ts) called directly against tfjs's cpu matMul: every
// transpose, shapes ragged against the 64×64×16 tiles and against vec4 groups (1, 3, 63, 65, 130,
// 257), the bias and GELU epilogues, batches with a broadcast operand, and the vec4 path (aligned
// shapes) against the scalar-load path of the same kernel, which must agree bit for bit (same
// accumulation order).
import * as tf from '@tensorflow/tfjs'
import { afterEach, expect, it } from 'vitest'
import { setMatmulInputs, setMatmulVec4 } from '../../../../engine/compute/webgpu/flags'
import { matmulOutputs, matmulVariant, type MatmulArgs } from '../../../../engine/compute/webgpu/matmul'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { expectClose } from '../../model/ops/compare'
import { inputsOf, onCpu, onGpu, type Case } from './matmul-cases'
import { describeOnWebgpu } from './on-webgpu'

const RAGGED = [1, 3, 63, 65, 130, 257]

describeOnWebgpu('tiled matrix product on webgpu against tfjs cpu', () => {
  afterEach(() => {
    setMatmulVec4(true)
    setMatmulInputs('f32')
  })

  // Each shape under one transpose pair, every pair at least once: lavapipe compiles each pipeline
  // variant with LLVM, seconds apiece on a busy machine.
  const PAIRS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]]

  it('ragged M, N, K (1, 3, 63, 65, 130, 257) under every transpose take the scalar path and equal cpu', async () => {
    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [3, 257, 65],
      [65, 3, 130],
      [130, 63, 257],
      [257, 130, 3],
      [63, 65, 63],
    ]
    for (const [s, [M, N, K]] of shapes.entries()) {
      const [transA, transB] = PAIRS[s % 4]
      const c: Case = { M, N, K, transA, transB }
      const v = matmulVariant(c as unknown as MatmulArgs)
      if (RAGGED.includes(transA ? M : K)) expect(v.vecA).toBe(false)
      if (RAGGED.includes(transB ? K : N)) expect(v.vecB).toBe(false)
      const x = inputsOf(c)
      expectClose(await onGpu(c, x), await onCpu(c, x), 2e-5)
    }
  })

  it('aligned shapes take the vec4 path under every transpose: equal cpu, and equal the scalar-load path bit for bit', async () => {
    const shapes: [number, number, number][] = [
      [68, 132, 20],
      [4, 64, 260],
      [192, 8, 64],
      [128, 68, 36],
    ]
    for (const [s, [M, N, K]] of shapes.entries()) {
      const [transA, transB] = PAIRS[s]
      const c: Case = { M, N, K, transA, transB, bias: true }
      expect(matmulVariant(c as unknown as MatmulArgs)).toMatchObject({ vecA: true, vecB: true, vecC: true })
      const x = inputsOf(c)
      const vec4 = await onGpu(c, x)
      expectClose(vec4, await onCpu(c, x), 2e-5)
      setMatmulVec4(false)
      expect(matmulVariant(c as unknown as MatmulArgs)).toMatchObject({ vecA: false, vecB: false, vecC: false })
      const scalar = await onGpu(c, x)
      setMatmulVec4(true)
      expect(vec4[0]).toEqual(scalar[0])
    }
  })

  it('mixed: one operand vec4, the other ragged (K multiple of 4, N not; M multiple of 4 transposed)', async () => {
    for (const c of [
      { M: 65, N: 130, K: 68, transB: true, bias: true },
      { M: 64, N: 65, K: 67, transA: true },
      { M: 130, N: 257, K: 64 },
    ] as Case[]) {
      const v = matmulVariant(c as unknown as MatmulArgs)
      expect(v.vecA !== v.vecB || v.vecC !== v.vecA, JSON.stringify(c)).toBe(true)
      const x = inputsOf(c)
      expectClose(await onGpu(c, x), await onCpu(c, x), 2e-5)
    }
  })

  it('bias and GELU epilogue (gelu(z) and z), vec4 and ragged outputs, large and small values', async () => {
    for (const [c, scale] of [
      [{ M: 67, N: 128, K: 36, transB: true, bias: true, gelu: true }, 1],
      [{ M: 33, N: 130, K: 45, transB: true, bias: true, gelu: true }, 1],
      [{ M: 16, N: 68, K: 64, transB: true, bias: true, gelu: true }, 1e-3],
      [{ M: 9, N: 61, K: 12, bias: true, gelu: true }, 30],
    ] as [Case, number][]) {
      const x = inputsOf(c, scale)
      const gpu = await onGpu(c, x)
      expect(gpu).toHaveLength(2)
      expectClose(gpu, await onCpu(c, x), 2e-5)
    }
  })

  it('batched products with per-batch strides and a broadcast operand (stride 0), vec4 and scalar', async () => {
    for (const c of [
      { M: 65, N: 36, K: 20, batch: 3 },
      { M: 33, N: 64, K: 32, batch: 4, transB: true, broadcastB: true },
      { M: 7, N: 9, K: 130, batch: 2, transA: true, broadcastB: true },
    ] as Case[]) {
      const x = inputsOf(c)
      expectClose(await onGpu(c, x), await onCpu(c, x), 2e-5)
    }
  })

  it('row sums beside a product with A transposed (db beside dW): ragged and vec4, batched, f16-rounded, the product unchanged', async () => {
    for (const [c, scale] of [
      [{ M: 65, N: 3, K: 130, transA: true, rowSums: true }, 1],
      [{ M: 132, N: 68, K: 36, transA: true, rowSums: true }, 1e3], // vec4 loads; three row tiles, two column tiles (the first writes)
      [{ M: 36, N: 44, K: 64, transA: true, f16: true, rowSums: true }, 3],
      [{ M: 7, N: 9, K: 130, batch: 2, transA: true, broadcastB: true, rowSums: true }, 1e-3],
    ] as [Case, number][]) {
      const x = inputsOf(c, scale)
      const gpu = await onGpu(c, x)
      expect(gpu).toHaveLength(2)
      expectClose(gpu, await onCpu(c, x), 2e-5)
      expect(gpu[0]).toEqual((await onGpu({ ...c, rowSums: false }, x))[0])
    }
    const a = tf.ones([4, 4])
    expect(() => matmulOutputs(webgpuInternals(tf.backend()), { a, b: a, M: 4, N: 4, K: 4, rowSums: true })).toThrow(/rowSums needs A transposed/)
    a.dispose()
  })

  it('fp16 inputs: the vec4 and scalar paths round the same values (bit-identical outputs)', async () => {
    setMatmulInputs('f16')
    const c: Case = { M: 68, N: 72, K: 40, transB: true, bias: true }
    const x = inputsOf(c, 3)
    const vec4 = await onGpu(c, x)
    setMatmulVec4(false)
    const scalar = await onGpu(c, x)
    expect(vec4[0]).toEqual(scalar[0])
    // and differ from f32 inputs, i.e. the rounding happened on this path
    setMatmulInputs('f32')
    setMatmulVec4(true)
    expect((await onGpu(c, x))[0]).not.toEqual(vec4[0])
  })
})
