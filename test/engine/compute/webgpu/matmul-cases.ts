// Products of engine/compute/webgpu/matmul.ts called directly on webgpu, and the same on tfjs cpu, for
// matmul.test.ts (the tiled kernel) and matmul-subgroups.test.ts (the subgroup kernel).
import * as tf from '@tensorflow/tfjs'
import { setMatmulInputs } from '../../../../engine/compute/webgpu/flags'
import { packHalf, unpackHalf, type HalfOperand } from '../../../../engine/compute/webgpu/half'
import { matmulOutputs, type MatmulArgs } from '../../../../engine/compute/webgpu/matmul'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { randomValues } from '../../model/ops/compare'
import { f16, readInfo } from './f16'

export interface Case {
  M: number
  N: number
  K: number
  transA?: boolean
  transB?: boolean
  bias?: boolean
  gelu?: boolean
  batch?: number
  /** B shared by every batch (stride 0). */
  broadcastB?: boolean
  /** Inputs rounded to f16 as they load (setMatmulInputs('f16')). */
  f16?: boolean
  /** A / B given as packed f16 operands (implies f16); B packed at element offsetB of a larger array. */
  halfA?: boolean
  halfB?: boolean
  offsetB?: number
  /** With gelu: Z comes back packed (read back here as its f16 values). */
  packZ?: boolean
  /** (transA) The sums over k of A's rows come back last. */
  rowSums?: boolean
}

export type Inputs = { a: Float32Array; b: Float32Array; bias: Float32Array }

/** Inputs of a case as stored: A [batch, M, K] or [batch, K, M], B [batch?, K, N] or [.., N, K], bias [N]. */
export function inputsOf(c: Case, scale = 1): Inputs {
  const batch = c.batch ?? 1
  const bBatches = c.broadcastB ? 1 : batch
  return {
    a: randomValues(batch * c.M * c.K, 1 + c.M).map((x) => x * scale),
    b: randomValues(bBatches * c.K * c.N, 2 + c.N),
    bias: randomValues(c.N, 3 + c.K),
  }
}

const halfInputs = (c: Case) => c.f16 === true || c.halfA === true || c.halfB === true

/** The product's arguments for a case (as matmulVariant sees them: packed operands are placeholders). */
export function argsOf(c: Case, a: tf.Tensor | HalfOperand, b: tf.Tensor | HalfOperand, bias?: tf.Tensor): MatmulArgs {
  const batch = c.batch ?? 1
  return {
    a,
    b,
    M: c.M,
    N: c.N,
    K: c.K,
    transA: c.transA,
    transB: c.transB,
    bias: c.bias ? bias : undefined,
    gelu: c.gelu,
    packZ: c.packZ,
    rowSums: c.rowSums,
    batch,
    strideA: c.M * c.K,
    strideB: c.broadcastB ? 0 : c.K * c.N,
    outShape: [batch, c.M, c.N],
  }
}

/** Our kernel on webgpu: [C] or [gelu(Z), Z] (a packed Z read back as its f16 values). */
export async function onGpu(c: Case, x: Inputs): Promise<Float32Array[]> {
  const backend = webgpuInternals(tf.backend())
  const previous = halfInputs(c) ? setMatmulInputs('f16') : null // else as the caller set it
  const a = tf.tensor(x.a)
  const b = tf.tensor(c.offsetB ? Float32Array.from([...randomValues(c.offsetB, 9), ...x.b]) : x.b)
  const bias = tf.tensor(x.bias)
  const pa: HalfOperand | null = c.halfA ? { data: packHalf(backend, a), offset: 0 } : null
  const pb: HalfOperand | null = c.halfB ? { data: packHalf(backend, b), offset: c.offsetB ?? 0 } : null
  if (!pb && c.offsetB) throw new Error('offsetB is for a packed B')
  const outs = matmulOutputs(backend, argsOf(c, pa ?? a, pb ?? b, bias))
  if (previous) setMatmulInputs(previous)
  if (c.packZ) outs[1] = unpackHalf(backend, outs[1], [c.M * c.N])
  const values = await Promise.all(outs.map(readInfo))
  for (const p of [pa, pb]) if (p) backend.disposeData(p.data.dataId)
  tf.dispose([a, b, bias])
  return values
}

/** The same on tfjs cpu: matMul with transposes (of f16-rounded inputs where the case rounds), + bias, GELU by erf; a packed Z rounded to f16; A's row sums. */
export async function onCpu(c: Case, x: Inputs): Promise<Float32Array[]> {
  await tf.setBackend('cpu')
  const batch = c.batch ?? 1
  const round = (v: Float32Array) => (halfInputs(c) ? v.map(f16) : v)
  const out = tf.tidy(() => {
    const a = tf.tensor(round(x.a), [batch, ...(c.transA ? [c.K, c.M] : [c.M, c.K])])
    let b = tf.tensor(round(x.b), [c.broadcastB ? 1 : batch, ...(c.transB ? [c.N, c.K] : [c.K, c.N])])
    if (c.broadcastB) b = b.tile([batch, 1, 1])
    let z = tf.matMul(a, b, c.transA, c.transB)
    if (c.bias) z = z.add(tf.tensor(x.bias))
    const sums = c.rowSums ? [a.sum(1).reshape([batch * c.M])] : [] // A stored [batch, K, M]
    if (!c.gelu) return [z, ...sums]
    return [z.mul(tf.erf(z.mul(Math.SQRT1_2)).mul(0.5).add(0.5)), z, ...sums]
  })
  const values = out.map((t) => t.dataSync() as Float32Array)
  tf.dispose(out)
  await tf.setBackend('webgpu')
  if (c.packZ) values[1] = values[1].map(f16)
  return values
}
