// WebGPU tests run where Dawn finds an adapter (on CI: Mesa's lavapipe, a CPU Vulkan). Elsewhere they
// are skipped with the reason in their name, unless MENGZI_REQUIRE_WEBGPU=1 (.ci/run sets it): then the
// missing adapter is a failure.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { findWebgpuAdapter, selectBackend } from '../../../../engine/compute/backends'
import type { AdapterReport } from '../../../../engine/compute/webgpu/device'

export const found = await findWebgpuAdapter()
export const adapter: AdapterReport | null = 'report' in found ? found.report : null

/** A describe block that runs on webgpu (forced by name, so a software adapter counts). */
export function describeOnWebgpu(name: string, body: () => void): void {
  if (adapter) {
    // Lavapipe compiles each new pipeline with LLVM: on a cold shader cache and a busy machine a test
    // can spend minutes there (about 1 minute of CPU for all webgpu tests together on a fresh machine).
    describe(name, { timeout: 300_000 }, () => {
      beforeAll(async () => {
        expect((await selectBackend('webgpu')).name).toBe('webgpu')
      })
      body()
    })
  } else if (process.env.MENGZI_REQUIRE_WEBGPU === '1') {
    describe(name, () => it('needs a WebGPU adapter (MENGZI_REQUIRE_WEBGPU=1)', () => expect.fail(`no WebGPU adapter: ${'reason' in found ? found.reason : ''}`)))
  } else {
    describe.skip(`${name} [skipped: no WebGPU adapter: ${'reason' in found ? found.reason : ''}]`, body)
  }
}

/** Values of a tensor built by `build` under tidy, read asynchronously (webgpu has no usable dataSync in Node). */
export async function valuesOf(build: () => tf.Tensor): Promise<Float32Array> {
  const t = tf.tidy(build)
  const v = (await t.data()) as Float32Array
  t.dispose()
  return v
}
