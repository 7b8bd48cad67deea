// Runs every fused native kernel on fixed inputs and prints one SHA-256 over all outputs; the test runs it
// under different thread counts and instruction sets and expects the same digest.
//   MENGZI_THREADS=N [MENGZI_NATIVE_BASELINE=1] npx tsx test/engine/compute/native-bits.ts
import { createHash } from 'node:crypto'
import { loadNative } from '../../../engine/compute/native'
import { randomValues } from './kernels/on-backends'

const { addon } = loadNative({ threads: Number(process.env.MENGZI_THREADS ?? 1) })
if (!addon) throw new Error('no native addon')
const hash = createHash('sha256')
const keep = (...arrays: Float32Array[]) => arrays.forEach((a) => hash.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)))

const [rows, H, C] = [300, 768, 5000]
const x = randomValues(rows * H, 1).map((v) => 4 * v)
const gamma = randomValues(H, 2), beta = randomValues(H, 3)
const y = new Float32Array(rows * H), xhat = new Float32Array(rows * H), rstd = new Float32Array(rows)
addon.layerNormForward(x, gamma, beta, rows, H, 1e-12, y, xhat, rstd)
const dx = new Float32Array(rows * H), dgamma = new Float32Array(H), dbeta = new Float32Array(H)
addon.layerNormBackward(x, xhat, rstd, gamma, rows, H, dx, dgamma, dbeta)
const gelu = new Float32Array(rows * H), cdf = new Float32Array(rows * H), dgelu = new Float32Array(rows * H)
addon.geluForward(x, gelu, cdf)
addon.geluBackward(y, x, cdf, dgelu)
const yr = new Float32Array(rows * H), xhatr = new Float32Array(rows * H), rstdr = new Float32Array(rows)
addon.layerNormForward(x, gamma, beta, rows, H, 1e-12, yr, xhatr, rstdr, y)
keep(y, xhat, rstd, dx, dgamma, dbeta, gelu, cdf, dgelu, yr, xhatr, rstdr)

const logits = randomValues(64 * C, 4).map((v) => 10 * v)
const targets = Int32Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? -1 : (i * 37) % C))
const probs = new Float32Array(64 * C), loss = new Float32Array(64), dlogits = new Float32Array(64 * C)
addon.softmaxXentForward(logits, targets, 64, C, probs, loss)
addon.softmaxXentBackward(probs, targets, new Float32Array(64).fill(0.5), dlogits)
keep(probs, loss, dlogits)

const [B, T, AH] = [4, 128, 64]
const [aq, ak, av] = [5, 6, 7].map((seed) => randomValues(B * T * AH, seed).map((x) => 3 * x))
const mask = new Float32Array(B * T).fill(-3.4e38, 100, 128)
const context = new Float32Array(B * T * AH), attention = new Float32Array(B * 2 * T * T)
addon.attentionForward(aq, ak, av, mask, B, T, 2, 0.125, 0.1, 5, context, attention)
const [dq, dk, dv] = [0, 1, 2].map(() => new Float32Array(B * T * AH))
addon.attentionBackward(aq, aq, ak, av, attention, B, T, 2, 0.125, 0.1, 5, dq, dk, dv)
keep(context, attention, dq, dk, dv)

const n = 100_003
const [p, g, m, v] = [6, 7, 8, 9].map((seed) => randomValues(n, seed))
const outs = [0, 1, 2].map(() => new Float32Array(n))
addon.adamwStep(p, g, m, v.map(Math.abs), outs[0], outs[1], outs[2], 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001)
keep(...outs)
const lambOuts = [0, 1, 2].map(() => new Float32Array(n))
const trust = addon.lambStep(p, g, m, v.map(Math.abs), lambOuts[0], lambOuts[1], lambOuts[2], 1e-3, 0.9, 0.999, 1e-6, 0.01, 0.1, 0.001)
keep(...lambOuts, Float32Array.of(trust))
const sums = new Float32Array(H), added = new Float32Array(rows * H)
addon.sumRows(x, rows, H, sums)
addon.addRepeat(x, gamma, added)
keep(sums, added)
const dropped = new Float32Array(rows * H)
addon.dropoutApply(x, dropped, 0.1, 77)
keep(dropped)
console.log(hash.digest('hex'))
