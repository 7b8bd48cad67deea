// The matrix units' product (engine/compute/webgpu/matmul-matrix.ts). Lavapipe has no matrix units, so
// what runs here is the kernel with its subgroup matrix built-ins emulated in plain WGSL (the same
// tiles, offsets, strides, layouts, subgroup shares and epilogue): against the 64×64 kernel and tfjs
// cpu at the shapes GPUs offer, on every kind of fp16 product; its fallback where the device runs
// another count of subgroups; and a tiny fp16 training run. The real built-ins are checked by Dawn's
// shader compiler on its null backend (no device needed): every variant compiles and makes a
// pipeline, and a shape mismatch is refused. At NVIDIA's subgroup size the emulated kernel runs in
// subgroups-32.test.ts (wide-subgroups.ts).
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { setMatmulMatrix } from '../../../../engine/compute/webgpu/flags'
import type { Variant } from '../../../../engine/compute/webgpu/matmul-parts'
import { candidateKernels, forceKernel, matrixPlans } from '../../../../engine/compute/webgpu/matmul-choice'
import { matrixLayout, matrixWorkgroupBytes, matrixMatmulCode, type MatrixPlan } from '../../../../engine/compute/webgpu/matmul-matrix'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { train } from '../../../../engine/train/loop'
import { TINY_BERT, tinyConfig } from '../../train/tiny-config'
import { checkMatrixCases, MATRIX_CASES } from './matrix-cases'
import { describeOnWebgpu } from './on-webgpu'

const backend = () => webgpuInternals(tf.backend())
const SHAPES = [
  { M: 16, N: 16, K: 16 }, // NVIDIA, AMD
  { M: 16, N: 8, K: 16 }, // NVIDIA
  { M: 8, N: 16, K: 16 }, // Intel
  { M: 8, N: 8, K: 8 }, // Apple
]

const dir = mkdtempSync(join(tmpdir(), 'mengzi-matrix-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('matrix kernel layouts', () => {
  it("split a 64×64 tile among a workgroup's subgroups, each a block of result matrices sharing their left operands", () => {
    // NVIDIA: 8 subgroups of 32, 16 result matrices of 16×16: each subgroup two side by side
    expect(matrixLayout({ m: 16, n: 16, k: 16, subgroups: 8, kTile: 16 })).toEqual({ rows: 4, cols: 4, active: 8, perRow: 2, perCol: 1, across: 2 })
    // AMD at 64 lanes: 4 subgroups, each a row of 4
    expect(matrixLayout({ m: 16, n: 16, k: 16, subgroups: 4, kTile: 32 })).toEqual({ rows: 4, cols: 4, active: 4, perRow: 4, perCol: 1, across: 1 })
    // 2 subgroups of 128: each 2 rows of 4
    expect(matrixLayout({ m: 16, n: 16, k: 16, subgroups: 2, kTile: 16 })).toEqual({ rows: 4, cols: 4, active: 2, perRow: 4, perCol: 2, across: 1 })
    // lavapipe's 32 subgroups of 8: more subgroups than 16×16 results, half of them only stage
    expect(matrixLayout({ m: 16, n: 16, k: 16, subgroups: 32, kTile: 16 })).toMatchObject({ active: 16, perRow: 1, perCol: 1 })
    expect(matrixLayout({ m: 8, n: 8, k: 8, subgroups: 32, kTile: 16 })).toMatchObject({ rows: 8, cols: 8, active: 32, perRow: 2, perCol: 1, across: 4 })
    // shapes that do not tile: m above 16 (C goes through workgroup memory 16 rows at a time), k above the k tile, n not dividing 64; k tiles other than 16 and 32
    expect(matrixLayout({ m: 32, n: 16, k: 16, subgroups: 8, kTile: 16 })).toBeNull()
    expect(matrixLayout({ m: 16, n: 16, k: 32, subgroups: 8, kTile: 16 })).toBeNull()
    expect(matrixLayout({ m: 16, n: 16, k: 32, subgroups: 8, kTile: 32 })).not.toBeNull()
    expect(matrixLayout({ m: 16, n: 24, k: 16, subgroups: 8, kTile: 16 })).toBeNull()
    expect(matrixLayout({ m: 16, n: 16, k: 16, subgroups: 8, kTile: 64 as 32 })).toBeNull()
    // within WebGPU's default 16 KiB of workgroup memory
    expect(matrixWorkgroupBytes(32)).toBeLessThanOrEqual(16384)
  })
})

let nullInstance: { requestAdapter(): Promise<NullAdapter | null> } | undefined

/** Dawn on its null backend, with the subgroup matrix feature: compiles shaders, runs nothing. */
async function nullDevice() {
  const { create } = (await import('webgpu')) as unknown as { create(flags: string[]): { requestAdapter(): Promise<NullAdapter | null> } }
  // kept: the instance going to the garbage collector while its device is in use crashes the process
  nullInstance ??= create(['backend=null', 'enable-dawn-features=allow_unsafe_apis'])
  const adapter = await nullInstance.requestAdapter()
  if (!adapter) throw new Error("Dawn's null backend gave no adapter")
  return adapter.requestDevice({ requiredFeatures: ['chromium-experimental-subgroup-matrix', 'subgroups', 'shader-f16'] })
}
interface NullAdapter {
  requestDevice(d: { requiredFeatures: string[] }): Promise<NullDevice>
}
interface NullDevice {
  createShaderModule(d: { code: string }): { getCompilationInfo(): Promise<{ messages: { type: string; message: string; lineNum: number }[] }> }
  createComputePipeline(d: object): unknown
  pushErrorScope(f: string): void
  popErrorScope(): Promise<{ message: string } | null>
}

/** The compiler's errors and warnings for `code` (Dawn prints warnings on stdout), and the pipeline's validation error: empty where Dawn accepts it. */
async function refusals(device: NullDevice, code: string): Promise<string[]> {
  device.pushErrorScope('validation')
  const module = device.createShaderModule({ code })
  const info = await module.getCompilationInfo()
  device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } })
  const error = await device.popErrorScope()
  return [...info.messages.map((m) => `${m.type} line ${m.lineNum}: ${m.message.split('\n')[0]}`), ...(error ? [error.message.split('\n')[0]] : [])]
}

const PLAIN: Variant = { transA: false, transB: false, bias: false, f16: true, halfA: false, halfB: false, gelu: false, halfZ: false, vecA: true, vecB: true, vecC: true, share: 0, tileM: 64, tileN: 64, rowSums: false, splitK: false }

describe('matrix kernel WGSL with the real subgroup matrix built-ins (Tint, on Dawn\'s null backend)', () => {
  it('every variant compiles and makes a pipeline at every shape and subgroup count; a shape mismatch is refused', async () => {
    const device = await nullDevice()
    const variants: Partial<Variant>[] = [
      {},
      { vecA: false, vecB: false, vecC: false },
      { transA: true, rowSums: true },
      { transA: true, rowSums: true, splitK: true, halfA: true, halfB: true },
      { transB: true, bias: true },
      { transB: true, bias: true, gelu: true, halfZ: true, halfB: true },
      { transB: true, bias: true, gelu: true, vecC: false, halfB: true, vecB: false },
      { transA: true, transB: true, vecA: false },
    ]
    let compiled = 0
    for (const s of SHAPES) {
      for (const [subgroups, kTile] of [[2, 16], [4, 32], [8, 16], [8, 32], [16, 32], [32, 16]] as const) {
        const matrix: MatrixPlan = { m: s.M, n: s.N, k: s.K, subgroups, kTile, emulate: false }
        if (!matrixLayout(matrix)) continue
        for (const extra of variants) {
          const code = matrixMatmulCode({ ...PLAIN, ...extra, matrix })
          expect(await refusals(device, code), `${s.M}×${s.N}×${s.K} over ${subgroups} subgroups, k tile ${kTile}, ${JSON.stringify(extra)}`).toEqual([])
          compiled++
        }
      }
    }
    expect(compiled).toBeGreaterThanOrEqual(150)
    // the check can fail: a left operand of the wrong shape for the multiply
    const wrong = matrixMatmulCode({ ...PLAIN, matrix: { m: 16, n: 16, k: 16, subgroups: 8, kTile: 16, emulate: false } }).replace(/subgroup_matrix_left<f16, 16, 16>/g, 'subgroup_matrix_left<f16, 8, 16>')
    expect((await refusals(device, wrong)).join(' ')).toMatch(/no matching call to 'subgroupMatrixMultiplyAccumulate/)
  })
})

describeOnWebgpu('matrix kernel (emulated) on webgpu', () => {
  afterEach(() => {
    setMatmulMatrix(false)
    forceKernel(null)
  })

  it('is a candidate for fp16 products only, at the shapes the device offers (none on lavapipe) or emulates', () => {
    const device = backend().device
    const names = (f16: boolean) => candidateKernels(device, f16).filter((k) => k.matrix)
    expect(names(true)).toEqual([]) // off by default
    setMatmulMatrix(true)
    expect(matrixPlans(device)).toEqual([]) // lavapipe offers no subgroup matrices
    setMatmulMatrix({ emulate: [...SHAPES, { M: 32, N: 16, K: 16 }] })
    const subgroups = 256 / device.adapterInfo!.subgroupMaxSize!
    // each shape with k tiles of 16 and 32; 32×16×16 does not tile
    expect(matrixPlans(device)).toEqual(SHAPES.flatMap((s) => [16, 32].map((kTile) => ({ m: s.M, n: s.N, k: s.K, subgroups, kTile, emulate: true }))))
    expect(names(true).map((k) => k.matrix)).toEqual(matrixPlans(device))
    expect(names(false)).toEqual([])
  })

  it('16×16×16 on every kind of fp16 product, with k tiles of 16 and 32, equals the 64×64 kernel (A·Bᵀ within rounding) and tfjs cpu', async () => {
    setMatmulMatrix({ emulate: SHAPES })
    const [k16, k32] = matrixPlans(backend().device)
    expect([k16.kTile, k32.kTile]).toEqual([16, 32])
    await checkMatrixCases(k16, MATRIX_CASES)
    await checkMatrixCases(k32, MATRIX_CASES) // the split-K case's chunks end halfway through a k tile
  })

  it("the other GPUs' shapes on ragged, transposed, packed and split products", async () => {
    setMatmulMatrix({ emulate: SHAPES })
    for (const plan of matrixPlans(backend().device).slice(2)) await checkMatrixCases(plan, (plan.kTile === 16 ? [0, 2, 6] : [8]).map((i) => MATRIX_CASES[i]))
  })

  it('where the device runs another count of subgroups than the kernel was written for, FMAs from the staged tiles give the 64×64 sums', async () => {
    const actual = 256 / backend().device.adapterInfo!.subgroupMaxSize!
    const plan: MatrixPlan = { m: 16, n: 16, k: 16, subgroups: actual === 8 ? 4 : 8, kTile: 32, emulate: true }
    await checkMatrixCases(plan, [0, 1, 6, 8].map((i) => MATRIX_CASES[i]))
  })

  it('a tiny fp16 training run with every product on it: the losses of the 64×64 kernel within rounding', async () => {
    const config = tinyConfig({ backend: 'webgpu', totalSteps: 3, precision: 'fp16', model: { config: { ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 } } })
    const tiled = await train(config, { runDir: join(dir, 'tiled') })
    setMatmulMatrix({ emulate: SHAPES })
    forceKernel({ share: 0, tileM: 64, tileN: 64, matrix: matrixPlans(backend().device)[0] })
    const matrix = await train(config, { runDir: join(dir, 'matrix') })
    forceKernel(null)
    expect(matrix.losses.length).toBe(3)
    matrix.losses.forEach((loss, i) => expect(Math.abs(loss - tiled.losses[i]), `step ${i + 1}`).toBeLessThan(1e-4 * Math.abs(tiled.losses[i])))
  })
})
