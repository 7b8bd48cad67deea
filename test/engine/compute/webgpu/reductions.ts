// LayerNorm values and gradients, softmax cross-entropy's loss and dlogits, and a global gradient norm
// with the clipped gradients, on the current backend: the kernels whose workgroup reductions (wgsl.ts)
// use subgroups where the device has them (subgroups.test.ts, wide-subgroups.ts); and the three ways
// those tests compare them.
import * as tf from '@tensorflow/tfjs'
import { setWebgpuSubgroups } from '../../../../engine/compute/webgpu/flags'
import { layerNorm } from '../../../../engine/model/ops/layer-norm'
import { softmaxCrossEntropy } from '../../../../engine/model/ops/softmax-cross-entropy'
import { clipByGlobalNorm } from '../../../../engine/train/optimizers'
import { randomValues } from '../../model/ops/compare'

const t = (shape: number[], seed: number, scale = 1) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed).map((x) => x * scale), shape)

/** LayerNorm values and gradients, softmax-xent loss and dlogits, a global norm: all read back. */
export async function reductions(): Promise<Float32Array[]> {
  const x = t([5, 130], 1, 100).add(300)
  const gamma = t([130], 2)
  const beta = t([130], 3)
  const logits = t([3, 1000], 4, 30)
  const labels = Int32Array.from([7, -100, 999])
  const grads = new Map(Array.from({ length: 5 }, (_, i) => [`g${i}`, t([3 + i, 257], 10 + i, i === 2 ? 1e3 : 1)]))
  const outs = tf.tidy(() => {
    const w = t([5, 130], 5)
    const [ln, dx, dg, db] = [layerNorm(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, 1e-12), ...tf.grads((a, g, b) => layerNorm(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12).mul(w).sum())([x, gamma, beta])]
    const [loss, dz] = [softmaxCrossEntropy(logits as tf.Tensor2D, labels), tf.grad((z) => softmaxCrossEntropy(z as tf.Tensor2D, labels))(logits)]
    return [ln, dx, dg, db, loss, dz]
  })
  const { norm, grads: clipped } = clipByGlobalNorm(grads, 1)
  const all = [...outs, norm, ...clipped.values()]
  const values = await Promise.all(all.map(async (v) => Float32Array.from(await v.data())))
  tf.dispose([...all, x, gamma, beta, logits, ...grads.values()])
  return values
}

/** reductions() on webgpu as set (subgroups where the device has them), then with the barrier tree, then on tfjs cpu; subgroups allowed again after. */
export async function reductionsThreeWays(): Promise<{ asSet: Float32Array[]; tree: Float32Array[]; cpu: Float32Array[] }> {
  const asSet = await reductions()
  setWebgpuSubgroups(false)
  try {
    const tree = await reductions()
    await tf.setBackend('cpu')
    const cpu = await reductions()
    return { asSet, tree, cpu }
  } finally {
    await tf.setBackend('webgpu')
    setWebgpuSubgroups(true)
  }
}
