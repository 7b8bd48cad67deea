import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { BACKEND_NAMES, describeSelection, selectBackend, vulkanLoaderPresent } from '../../../engine/compute/backends'
import { WorkbenchError } from '../../../engine/errors'

const require = createRequire(import.meta.url)
const installed = (pkg: string) => {
  try {
    require.resolve(pkg)
    return true
  } catch {
    return false
  }
}

describe('selectBackend', () => {
  it('auto takes the first rung that starts and gives a one-line reason for each faster one', async () => {
    const selection = await selectBackend('auto')
    expect(tf.getBackend()).toBe(selection.name)
    expect(selection.skipped.map((s) => s.name)).toEqual(BACKEND_NAMES.slice(0, BACKEND_NAMES.indexOf(selection.name)))
    for (const { reason } of selection.skipped) {
      expect(reason.length).toBeGreaterThan(0)
      expect(reason).not.toContain('\n')
    }
    expect(describeSelection(selection).split('\n').at(-1)).toContain(`using ${selection.name}`)
  })

  it.runIf(!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu'))(
    'refuses a forced tensorflow backend that is not installed, with code UNAVAILABLE',
    async () => {
      const err = await selectBackend('tensorflow').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WorkbenchError)
      expect((err as WorkbenchError).code).toBe('UNAVAILABLE')
      expect((err as WorkbenchError).message).toMatch(/not installed/)
    },
  )

  it('finds the Vulkan loader through LD_LIBRARY_PATH, or not at all', () => {
    const fs = require('node:fs') as typeof import('node:fs')
    const os = require('node:os') as typeof import('node:os')
    const path = require('node:path') as typeof import('node:path')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vk-'))
    try {
      fs.writeFileSync(path.join(dir, 'libvulkan.so.1'), '')
      expect(vulkanLoaderPresent({ LD_LIBRARY_PATH: `/nonexistent:${dir}` })).toBe(true)
      const inCache = fs.existsSync('/etc/ld.so.cache') && fs.readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1')
      expect(vulkanLoaderPresent({})).toBe(inCache || !fs.existsSync('/etc/ld.so.cache'))
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('forces wasm with our kernels, and cpu', async () => {
    const wasm = await selectBackend('wasm')
    expect(wasm).toMatchObject({ name: 'wasm', skipped: [] })
    expect(wasm.threads).toBeGreaterThanOrEqual(1)
    // The gradient of gather exists on wasm only through our kernel.
    const grad = tf.grad((e: tf.Tensor) => tf.gather(e, tf.tensor1d([1, 1], 'int32')).sum())(tf.ones([3, 2]))
    expect(Array.from(await grad.data())).toEqual([0, 0, 2, 2, 0, 0])
    expect((await selectBackend('cpu')).name).toBe('cpu')
    expect(tf.getBackend()).toBe('cpu')
  })
})
