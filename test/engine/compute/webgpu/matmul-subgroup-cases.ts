// The subgroup product's cases (matmul-subgroups.ts against the tiled kernel, bit for bit, and tfjs
// cpu) and the device's subgroup size, for matmul-subgroups.test.ts and wide-subgroups.ts.
import * as tf from '@tensorflow/tfjs'
import { expect } from 'vitest'
import { setMatmulSubgroups } from '../../../../engine/compute/webgpu/flags'
import { matmulVariant } from '../../../../engine/compute/webgpu/matmul'
import { dispatch, output, webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { expectClose } from '../../model/ops/compare'
import { readInfo } from './f16'
import { argsOf, inputsOf, onCpu, onGpu, type Case } from './matmul-cases'

const backend = () => webgpuInternals(tf.backend())

/** The subgroup size invocations of a 256-wide workgroup see on this device (what the kernel runs with). */
export async function subgroupSize(): Promise<number> {
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
export const SUBGROUP_CASES: [Case, number][] = [
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
export async function checkCases(share: 4 | 8 | 16, cases: [Case, number][]): Promise<void> {
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
