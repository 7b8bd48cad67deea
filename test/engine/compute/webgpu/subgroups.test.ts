// Workgroup reductions (wgsl.ts) with subgroup operations and with the barrier tree, each against tfjs
// cpu, through the kernels that use them: LayerNorm (sums), softmax cross-entropy (max and sum over a
// 256-invocation workgroup) and the global gradient norm (two levels of sums). The subgroup variant runs
// only where the adapter has 'subgroups' (lavapipe does: 8 lanes); kernels.test.ts runs the default.
import * as tf from '@tensorflow/tfjs'
import { afterEach, expect, it } from 'vitest'
import { setWebgpuSubgroups } from '../../../../engine/compute/webgpu/flags'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { reductionsUseSubgroups } from '../../../../engine/compute/webgpu/wgsl'
import { expectClose } from '../../model/ops/compare'
import { adapter, describeOnWebgpu } from './on-webgpu'
import { reductionsThreeWays } from './reductions'

describeOnWebgpu('workgroup reductions with and without subgroups', () => {
  afterEach(() => setWebgpuSubgroups(true))

  it(`both variants equal tfjs cpu (this adapter: ${adapter?.subgroups ? 'subgroups' : 'no subgroups, so only the barrier tree'})`, async () => {
    const device = webgpuInternals(tf.backend()).device
    expect(reductionsUseSubgroups(device)).toBe(adapter!.subgroups)
    expect(device.features.has('subgroups')).toBe(adapter!.subgroups) // the device was opened with it
    setWebgpuSubgroups(false)
    expect(reductionsUseSubgroups(device)).toBe(false) // the tree, as reductionsThreeWays runs it second
    setWebgpuSubgroups(true)
    const { asSet: withSubgroups, tree, cpu } = await reductionsThreeWays()
    expectClose(withSubgroups, cpu, 5e-5)
    expectClose(tree, cpu, 5e-5)
  })
})
