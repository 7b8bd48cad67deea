// The 128×128-tile product (engine/compute/webgpu/matmul-wide.ts; and its 128×64 and 64×128 tiles) against tfjs cpu and, bit for bit,
// against the 64×64 tiled kernel (same FMAs in the same k order): shapes within one wide tile, across
// several, ragged at every edge, under every transpose, with vec4 and scalar loads, bias, the GELU
// epilogue (Z in f32 and packed f16), batches with a broadcast operand, f16 rounding as operands load and
// packed f16 operands; then a tiny-model training run with the wide tiles against the 64×64 ones.
import * as tf from '@tensorflow/tfjs'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, it } from 'vitest'
import { setMatmulSubgroups, setMatmulTile } from '../../../../engine/compute/webgpu/flags'
import { matmulVariant } from '../../../../engine/compute/webgpu/matmul'
import { forceKernel } from '../../../../engine/compute/webgpu/matmul-choice'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { train } from '../../../../engine/train/loop'
import { expectClose } from '../../model/ops/compare'
import { TINY_BERT, tinyConfig } from '../../train/tiny-config'
import { argsOf, inputsOf, onCpu, onGpu, type Case } from './matmul-cases'
import { describeOnWebgpu } from './on-webgpu'

const backend = () => webgpuInternals(tf.backend())

const CASES: [Case, number][] = [
  [{ M: 3, N: 257, K: 65 }, 1], // ragged everything, three tiles across
  [{ M: 130, N: 3, K: 130, transA: true }, 1],
  [{ M: 260, N: 129, K: 257, transB: true }, 1], // 3 × 2 tiles, ragged
  [{ M: 127, N: 131, K: 63, transA: true, transB: true }, 1],
  [{ M: 136, N: 264, K: 20, bias: true }, 1], // vec4 loads
  [{ M: 4, N: 128, K: 260, transA: true, bias: true }, 1],
  [{ M: 256, N: 8, K: 64, transB: true, bias: true }, 1],
  [{ M: 128, N: 68, K: 36, transA: true, transB: true }, 1],
  [{ M: 65, N: 130, K: 68, transB: true, bias: true }, 1], // A vec4, B ragged
  [{ M: 131, N: 132, K: 36, transB: true, bias: true, gelu: true }, 1],
  [{ M: 9, N: 61, K: 12, bias: true, gelu: true }, 30],
  [{ M: 33, N: 140, K: 32, batch: 3, transB: true, broadcastB: true }, 1],
  [{ M: 7, N: 9, K: 130, batch: 2, transA: true, broadcastB: true }, 1],
  [{ M: 136, N: 72, K: 40, transB: true, bias: true, f16: true }, 3],
  [{ M: 65, N: 133, K: 67, transB: true, halfB: true }, 3], // packed, scalar loads
  [{ M: 136, N: 44, K: 64, transA: true, halfA: true, halfB: true }, 3], // packed, vec2<u32> loads
  [{ M: 20, N: 24, K: 16, transB: true, halfB: true, offsetB: 2048 }, 1],
  [{ M: 140, N: 68, K: 36, transB: true, bias: true, gelu: true, packZ: true, halfB: true }, 1],
  [{ M: 17, N: 130, K: 33, transB: true, bias: true, gelu: true, packZ: true, f16: true }, 1], // packZ, scalar stores
  [{ M: 260, N: 3, K: 130, transA: true, rowSums: true }, 1], // db beside dW, three row tiles
  [{ M: 136, N: 140, K: 36, transA: true, rowSums: true }, 1], // two column tiles: the first writes
  [{ M: 136, N: 44, K: 64, transA: true, f16: true, rowSums: true }, 3],
]

const dir = mkdtempSync(join(tmpdir(), 'mengzi-wide-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describeOnWebgpu('128×128-tile matrix product on webgpu', () => {
  afterEach(() => {
    setMatmulTile(64)
    setMatmulSubgroups(false)
  })

  it('is off by default, and gives way to the subgroup kernel where that is on', () => {
    const placeholder = tf.scalar(0)
    const args = argsOf({ M: 8, N: 8, K: 8 }, placeholder, placeholder)
    expect(matmulVariant(args, backend().device)).toMatchObject({ tileM: 64, tileN: 64 })
    setMatmulTile(128)
    expect(matmulVariant(args, backend().device)).toMatchObject({ tileM: 128, tileN: 128 })
    setMatmulSubgroups(4)
    expect(matmulVariant(args, backend().device)).toMatchObject({ share: 4, tileM: 64, tileN: 64 })
    placeholder.dispose()
  })

  it("'auto' takes 128×128 tiles where a product still makes 512 workgroups at that side, 64×64 elsewhere: the same bits", async () => {
    setMatmulTile('auto')
    const placeholder = tf.scalar(0)
    const wide = (c: Case) => matmulVariant(argsOf(c, placeholder, placeholder, placeholder), backend().device).tileM === 128
    expect(wide({ M: 4096, N: 3072, K: 768, transB: true, bias: true })).toBe(true) // BASE FFN forward: 768 workgroups
    expect(wide({ M: 4096, N: 768, K: 768, transB: true, bias: true })).toBe(false) // 192
    expect(wide({ M: 768, N: 768, K: 4096, transA: true, rowSums: true })).toBe(false) // dW, split in 8: 288
    expect(wide({ M: 616, N: 21128, K: 768, transB: true, bias: true })).toBe(true) // the MLM decoder: 830
    expect(wide({ M: 64, N: 64, K: 64, batch: 512 })).toBe(true) // batches count
    placeholder.dispose()
    const c: Case = { M: 2900, N: 2900, K: 20, transB: true } // 23 × 23 = 529 workgroups at 128
    expect(wide(c)).toBe(true)
    const x = inputsOf(c)
    const auto = await onGpu(c, x)
    setMatmulTile(64)
    expect(Buffer.from(auto[0].buffer).equals(Buffer.from((await onGpu(c, x))[0].buffer))).toBe(true)
  })

  it('every case equals the 64×64 kernel bit for bit and tfjs cpu', async () => {
    for (const [c, scale] of CASES) {
      const x = inputsOf(c, scale)
      setMatmulTile(64)
      const tiled = await onGpu(c, x)
      setMatmulTile(128)
      const wide = await onGpu(c, x)
      const name = JSON.stringify(c)
      wide.forEach((v, k) => expect(Array.from(v), `${name}, output ${k}`).toEqual(Array.from(tiled[k])))
      // a packed Z can differ from cpu's rounding by one f16 step where z lies at a rounding boundary
      expectClose(wide, await onCpu(c, x), c.packZ ? 1e-3 : 2e-5)
    }
  })

  it('the rectangular tiles (128×64, 64×128: tuning\'s candidates) equal the 64×64 kernel bit for bit across the cases', async () => {
    const placeholder = tf.scalar(0)
    for (const [tileM, tileN] of [[128, 64], [64, 128]]) {
      const previous = forceKernel({ share: 0, tileM, tileN })
      try {
        expect(matmulVariant(argsOf(CASES[0][0], placeholder, placeholder), backend().device)).toMatchObject({ tileM, tileN })
        // every transpose, ragged and vec4 edges, bias, GELU, batches, packed f16, packed Z, row sums
        for (const [c, scale] of [0, 1, 2, 3, 4, 9, 11, 15, 17, 19, 20].map((i) => CASES[i])) {
          const x = inputsOf(c, scale)
          const rect = await onGpu(c, x)
          forceKernel(null)
          const tiled = await onGpu(c, x)
          forceKernel({ share: 0, tileM, tileN })
          rect.forEach((v, k) => expect(Array.from(v), `${tileM}×${tileN} ${JSON.stringify(c)}, output ${k}`).toEqual(Array.from(tiled[k])))
        }
      } finally {
        forceKernel(previous)
      }
    }
    placeholder.dispose()
  })

  it('a tiny-model training run: the wide tiles give the 64×64 losses, fp32 and fp16', async () => {
    const config = (precision: 'fp32' | 'fp16') =>
      tinyConfig({ backend: 'webgpu', totalSteps: 3, precision, model: { config: { ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 } } })
    for (const precision of ['fp32', 'fp16'] as const) {
      const tiled = await train(config(precision), { runDir: join(dir, `tiled-${precision}`) })
      setMatmulTile(128)
      const wide = await train(config(precision), { runDir: join(dir, `wide-${precision}`) })
      setMatmulTile(64)
      expect(wide.losses, precision).toEqual(tiled.losses)
    }
  })
})
