// The subgroup product (engine/compute/webgpu/matmul-subgroups.ts) against tfjs cpu and, bit for bit,
// against the tiled kernel (same k order): ragged shapes under every transpose (scalar loads), aligned
// ones (vec4 loads), bias, the GELU epilogue with Z in f32 and packed f16, batches with a broadcast
// operand, f16 rounding as operands load, packed f16 operands (one at an element offset); then a
// tiny-model training step with the subgroup product on against off.
//
// Lanes sharing an A block (G) against this device's subgroup size S: G dividing S runs the subgroup
// path; a G above S must take the direct-load path in-kernel and still be right. Lavapipe's S is its
// SIMD width / 32: LP_NATIVE_VECTOR_WIDTH=128 gives 4, 256 (AVX2) 8, 512 16, 1024 32 (NVIDIA's), 2048 64
// (AMD's); LLVM splits vectors wider than the CPU's. Run this file under each to exercise every G on
// both paths (all pass at S = 4, 8, 16, 32 and 64; from 512 on the G tests take minutes, compiling).
// CI runs a few of these cases at 32 and 64 (subgroups-32.test.ts, subgroups-64.test.ts).
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, it } from 'vitest'
import { setMatmulSubgroups, setWebgpuSubgroups } from '../../../../engine/compute/webgpu/flags'
import { subgroupShare } from '../../../../engine/compute/webgpu/matmul-subgroups'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { train } from '../../../../engine/train/loop'
import { TINY_BERT, tinyConfig } from '../../train/tiny-config'
import { checkCases, SUBGROUP_CASES, subgroupSize } from './matmul-subgroup-cases'
import { adapter, describeOnWebgpu } from './on-webgpu'

const dir = mkdtempSync(join(tmpdir(), 'mengzi-sgmm-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describeOnWebgpu('subgroup matrix product on webgpu', () => {
  afterEach(() => {
    setMatmulSubgroups(false)
    setWebgpuSubgroups(true)
  })

  it(`is off by default and needs the device's 'subgroups' (this adapter: ${adapter?.subgroups ? 'has them' : 'has none'})`, () => {
    const device = webgpuInternals(tf.backend()).device
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
      await checkCases(share, SUBGROUP_CASES)
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
