// The subgroup product (engine/compute/webgpu/matmul-subgroups.ts) against tfjs cpu and, bit for bit,
// against the tiled kernel (same k order): ragged shapes under every transpose (scalar loads), aligned
// ones (vec4 loads), bias, the GELU epilogue with Z in f32 and packed f16, batches with a broadcast
// operand, f16 rounding as operands load, packed f16 operands (one at an element offset); then a
// tiny-model training step with the subgroup product on against off.
//
// Lanes sharing an A block (G) against this device's subgroup size S: G dividing S runs the subgroup
// path; a G above S must take the direct-load path in-kernel and still be right. Lavapipe's S follows
// its SIMD width: LP_NATIVE_VECTOR_WIDTH=128 gives 4, 256 (AVX2) 8, 512 (AVX-512) 16; run this file
// under each to exercise every G on both paths (all pass at S = 4, 8 and 16; at 512 the G 8 and G 16
// tests take minutes, compiling).
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, it } from 'vitest'
import { setMatmulSubgroups, setWebgpuSubgroups } from '../../../../engine/compute/webgpu/flags'
import { matmulVariant } from '../../../../engine/compute/webgpu/matmul'
import { subgroupShare } from '../../../../engine/compute/webgpu/matmul-subgroups'
import { dispatch, output, webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { train } from '../../../../engine/train/loop'
import { expectClose } from '../../model/ops/compare'
import { TINY_BERT, tinyConfig } from '../../train/tiny-config'
import { readInfo } from './f16'
import { argsOf, inputsOf, onCpu, onGpu, type Case } from './matmul-cases'
import { adapter, describeOnWebgpu } from './on-webgpu'

const backend = () => webgpuInternals(tf.backend())

/** The subgroup size invocations of a 256-wide workgroup see on this device (what the kernel runs with). */
async function subgroupSize(): Promise<number> {
  const out = output(backend(), [256])
  dispatch(backend(), {
    key: 'test-subgroup-size',
    code: () => `enable subgroups;
@group(0) @binding(0) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(256) fn main(@builtin(local_invocation_index) i: u32, @builtin(subgroup_size) s: u32) { C[i] = f32(s); }`,
    outputs: [out],
    inputs: [],
    workgroups: [1],
  })
  const sizes = new Set(await readInfo(out))
  expect(sizes.size).toBe(1)
  return [...sizes][0]
}

// every case a product the dense layers or attention make, each feature at least once
const CASES: [Case, number][] = [
  [{ M: 3, N: 257, K: 65 }, 1], // ragged everything
  [{ M: 65, N: 3, K: 130, transA: true }, 1],
  [{ M: 130, N: 63, K: 257, transB: true }, 1],
  [{ M: 63, N: 65, K: 63, transA: true, transB: true }, 1],
  [{ M: 68, N: 132, K: 20, bias: true }, 1], // vec4 loads
  [{ M: 4, N: 64, K: 260, transA: true, bias: true }, 1],
  [{ M: 192, N: 8, K: 64, transB: true, bias: true }, 1],
  [{ M: 128, N: 68, K: 36, transA: true, transB: true }, 1],
  [{ M: 65, N: 130, K: 68, transB: true, bias: true }, 1], // mixed: A vec4, B ragged
  [{ M: 67, N: 128, K: 36, transB: true, bias: true, gelu: true }, 1],
  [{ M: 9, N: 61, K: 12, bias: true, gelu: true }, 30],
  [{ M: 33, N: 64, K: 32, batch: 4, transB: true, broadcastB: true }, 1],
  [{ M: 7, N: 9, K: 130, batch: 2, transA: true, broadcastB: true }, 1],
  [{ M: 68, N: 72, K: 40, transB: true, bias: true, f16: true }, 3],
  [{ M: 65, N: 33, K: 67, transB: true, halfB: true }, 3], // packed, scalar loads
  [{ M: 36, N: 44, K: 64, transA: true, halfA: true, halfB: true }, 3], // packed, vec2<u32> loads
  [{ M: 20, N: 24, K: 16, transB: true, halfB: true, offsetB: 2048 }, 1],
  [{ M: 40, N: 68, K: 36, transB: true, bias: true, gelu: true, packZ: true, halfB: true }, 1],
  [{ M: 17, N: 30, K: 33, transB: true, bias: true, gelu: true, packZ: true, f16: true }, 1], // packZ, scalar stores
  [{ M: 65, N: 3, K: 130, transA: true, rowSums: true }, 1], // db beside dW
  [{ M: 132, N: 68, K: 36, transA: true, rowSums: true }, 1],
  [{ M: 36, N: 44, K: 64, transA: true, f16: true, rowSums: true }, 3],
]

/** Each case on the subgroup kernel sharing by `share` lanes: equal the tiled kernel bit for bit, and cpu. */
async function checkCases(share: 4 | 8 | 16, cases: [Case, number][]): Promise<void> {
  for (const [c, scale] of cases) {
    const x = inputsOf(c, scale)
    setMatmulSubgroups(false)
    const tiled = await onGpu(c, x)
    setMatmulSubgroups(share)
    const placeholder = tf.scalar(0)
    expect(matmulVariant(argsOf(c, placeholder, placeholder), backend().device).share).toBe(share)
    placeholder.dispose()
    const sub = await onGpu(c, x)
    const name = `G ${share}: ${JSON.stringify(c)}`
    sub.forEach((v, k) => expect(Array.from(v), `${name}, output ${k}`).toEqual(Array.from(tiled[k])))
    // a packed Z can differ from cpu's rounding by one f16 step where z lies at a rounding boundary
    expectClose(sub, await onCpu(c, x), c.packZ ? 1e-3 : 2e-5)
  }
}

const dir = mkdtempSync(join(tmpdir(), 'mengzi-sgmm-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describeOnWebgpu('subgroup matrix product on webgpu', () => {
  afterEach(() => {
    setMatmulSubgroups(false)
    setWebgpuSubgroups(true)
  })

  it(`is off by default and needs the device's 'subgroups' (this adapter: ${adapter?.subgroups ? 'has them' : 'has none'})`, () => {
    const device = backend().device
    expect(subgroupShare(device)).toBe(0)
    setMatmulSubgroups(true)
    const min = device.adapterInfo?.subgroupMinSize ?? 4
    expect(subgroupShare(device)).toBe(adapter!.subgroups ? (min >= 16 ? 16 : min >= 8 ? 8 : 4) : 0)
    setWebgpuSubgroups(false)
    expect(subgroupShare(device)).toBe(0)
  })

  if (!adapter?.subgroups) return

  for (const share of [4, 8, 16] as const) {
    it(`G ${share}: every case equals the tiled kernel bit for bit and tfjs cpu (the subgroup path where ${share} divides the device's subgroup size, else the direct-load path)`, async () => {
      const size = await subgroupSize()
      console.log(`subgroup size ${size}: G ${share} takes the ${size % share === 0 ? 'subgroup (shuffle)' : 'direct-load'} path`)
      await checkCases(share, CASES)
    }, 900_000) // 38 pipelines: lavapipe at subgroup size 16 (AVX-512) compiles each of ours in about 20 s
  }

  it('a tiny-model training step: the subgroup product gives the tiled losses, fp32 and fp16', async () => {
    const config = (precision: 'fp32' | 'fp16') =>
      tinyConfig({ backend: 'webgpu', totalSteps: 3, precision, model: { config: { ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 } } })
    for (const precision of ['fp32', 'fp16'] as const) {
      const tiled = await train(config(precision), { runDir: join(dir, `tiled-${precision}`) })
      setMatmulSubgroups(true)
      const sub = await train(config(precision), { runDir: join(dir, `sub-${precision}`) })
      setMatmulSubgroups(false)
      expect(sub.losses, precision).toEqual(tiled.losses)
    }
  })
})
