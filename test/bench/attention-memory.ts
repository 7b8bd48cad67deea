// Memory of the attention core on webgpu between its forward and backward: `npx tsx
// test/bench/attention-memory.ts [--batch 16] [--heads 12] [--seq 512] [--hidden 768] [--json]`.
// For our flash-style kernel and for tfjs-webgpu's stock composition (split heads, matMul, softmax,
// matMul), the bytes of distinct tensor buffers alive when the forward returns under a gradient tape,
// beyond the inputs, mask and output (tfjs-webgpu's numBytesInGPU; tf.memory().numBytes would count a
// clone saved for backward twice), and the bytes of the second output kept for backward. The earlier
// fused kernel (before the flash rewrite) kept probs [B, heads, T, T], listed by its size. Any WebGPU
// adapter works (lavapipe included): bytes do not depend on the device; times are not reported. A row
// whose buffers the device refuses (past maxStorageBufferBindingSize, 128 MiB on lavapipe) says so.
import * as tf from '@tensorflow/tfjs'
import { parseArgs } from 'node:util'
import { selectBackend } from '../../engine/compute/backends'
import { currentDevice, deviceFailure, guardDevice } from '../../engine/compute/webgpu/device'
import { setWebgpuFusedKernels } from '../../engine/compute/webgpu/flags'
import { attentionCore } from '../../engine/model/ops/attention'

const { values: args } = parseArgs({
  options: {
    batch: { type: 'string', default: '16' },
    heads: { type: 'string', default: '12' },
    seq: { type: 'string', default: '512' },
    hidden: { type: 'string', default: '768' },
    json: { type: 'boolean', default: false },
  },
})
const [B, heads, T, H] = [args.batch, args.heads, args.seq, args.hidden].map(Number)
if (![B, heads, T, H].every((n) => Number.isInteger(n) && n > 0) || H % heads !== 0) throw new Error(`--batch, --heads, --seq, --hidden must be positive integers with heads dividing hidden; got ${B}, ${heads}, ${T}, ${H}`)

const backend = await selectBackend('webgpu')
if (backend.name !== 'webgpu') throw new Error(`no WebGPU adapter: ${backend.detail}`)

/** Bytes of GPU buffers in use (tfjs-webgpu's buffer manager: one buffer per distinct tensor data). */
function bufferBytes(): number {
  return (tf.memory() as tf.MemoryInfo & { numBytesInGPU: number }).numBytesInGPU
}

/** Buffer bytes alive right after the forward (tape on), beyond inputs and output; the gradients are then run and dropped. */
async function heldAfterForward(fused: boolean): Promise<number> {
  setWebgpuFusedKernels(fused)
  const random = (seed: number) => tf.randomUniform([B, T, H], -1, 1, 'float32', seed)
  const inputs = [random(1), random(2), random(3)]
  const mask = tf.zeros([B, 1, 1, T])
  tf.dispose(tf.tidy(() => [...inputs, mask].map((t) => t.add(0)))) // uploads them before counting (made on the CPU)
  await tf.ready()
  const base = bufferBytes()
  let held = 0
  const grads = tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => {
    const context = attentionCore(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, mask as tf.Tensor4D, { heads, dropoutRate: 0.1, seed: 7 })
    held = bufferBytes() - base - context.size * 4
    return context.sum()
  })(inputs)
  await guardDevice(Promise.all(grads.map((g) => g.data()))) // the backward ran to the end, or the device failed
  tf.dispose([...grads, ...inputs, mask])
  return held
}

const MB = (bytes: number) => bytes / 1e6
const bindingLimit = Number(currentDevice()?.device.limits.maxStorageBufferBindingSize ?? NaN)
const probsBytes = B * heads * T * T * 4

/** One measured row; a device error (a buffer past the binding limit, say) is reported, not measured. */
async function measured(kernel: string, fused: boolean, savedBytes: number, tempBytes: number) {
  const held = await heldAfterForward(fused).catch(() => NaN)
  const failure = deviceFailure()
  return { kernel, heldMB: failure ? NaN : MB(held), savedForBackwardMB: MB(savedBytes), backwardTempMB: MB(tempBytes), note: failure ? `failed: ${failure.message.slice(0, 160)}` : 'measured' }
}

const rows = [await measured('flash (ours)', true, B * heads * T * 2 * 4, B * heads * T * 3 * 4)]
// the earlier fused kernel (git 431d90a): its only tensor beyond the output was probs, and dS the same size in its backward
rows.push({
  kernel: 'earlier fused (probs)',
  heldMB: MB(probsBytes),
  savedForBackwardMB: MB(probsBytes),
  backwardTempMB: MB(probsBytes),
  note: `computed from its shapes${probsBytes > bindingLimit ? `; probs (${MB(probsBytes).toFixed(0)} MB) exceed this device's storage binding limit (${MB(bindingLimit).toFixed(0)} MB)` : ''}`,
})
// last: a device error is sticky and would fail any later row
rows.push(await measured('tfjs stock composition', false, NaN, NaN))
setWebgpuFusedKernels(true)
const settings = { B, heads, T, H, dropout: 0.1, adapter: backend.detail, maxStorageBufferBindingSize: bindingLimit }
if (args.json) console.log(JSON.stringify({ settings, rows }))
else {
  console.log(`attention core, B ${B}, heads ${heads}, T ${T}, H ${H}, dropout 0.1; ${backend.detail.split('\n')[0]}`)
  console.log('kernel                   | MB alive after forward | MB kept for backward | MB temporary in backward | how')
  const cell = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(2)).padStart(9)
  for (const r of rows) console.log(`${r.kernel.padEnd(24)} | ${cell(r.heldMB)} | ${cell(r.savedForBackwardMB)} | ${cell(r.backwardTempMB)} | ${r.note}`)
}
