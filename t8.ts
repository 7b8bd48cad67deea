import * as tf from '@tensorflow/tfjs'
import { selectBackend } from './engine/train/backends'
await selectBackend('wasm')
const x = tf.randomNormal([16, 128, 256])
for (let i = 0; i < 4; i++) { const t = performance.now(); const y = tf.dropout(x, 0.1, undefined, 1234 + i); y.dataSync(); console.log('dropout [16,128,256]', (performance.now() - t).toFixed(1), 'ms'); y.dispose() }
const p = tf.randomNormal([16, 4, 128, 128])
for (let i = 0; i < 2; i++) { const t = performance.now(); const y = tf.dropout(p, 0.1, undefined, 99 + i); y.dataSync(); console.log('dropout [16,4,128,128]', (performance.now() - t).toFixed(1), 'ms'); y.dispose() }
