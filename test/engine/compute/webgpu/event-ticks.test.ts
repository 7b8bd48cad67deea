// How a thread waits for the device (event-ticks.ts): with 'yield' (the default on a software adapter),
// Dawn's polling ticks, queued through the global setImmediate, run as Dawn queues them for the first
// SPIN_MS of a wait and then once per millisecond; every JavaScript caller of setImmediate passes
// straight through; 'spin' (the default on a GPU) and spinWhile keep Dawn's loop. Counted on real waits
// for lavapipe (a product of about a second's work) and real callbacks.
import * as tf from '@tensorflow/tfjs'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { dawnTicks, dawnWaitFromEnv, dawnWaitNow, effectiveWait, installDawnTicks, resetDawnTicks, setDawnWait, spinWhile } from '../../../../engine/compute/webgpu/event-ticks'
import { adapter, describeOnWebgpu } from './on-webgpu'

describe('the wait setting', () => {
  it('reads MENGZI_WEBGPU_WAIT, refusing anything else with a one-line reason', () => {
    expect([undefined, '', 'auto', 'yield', 'spin'].map(dawnWaitFromEnv)).toEqual(['auto', 'auto', 'auto', 'yield', 'spin'])
    expect(() => dawnWaitFromEnv('busy')).toThrow(/^MENGZI_WEBGPU_WAIT: expected auto \(.+\), yield \(.+\) or spin \(.+\); got "busy"$/)
  })

  it('auto yields on a software adapter and keeps Dawn\'s loop on a GPU until one has timed both', () => {
    expect([effectiveWait('auto', true), effectiveWait('auto', false)]).toEqual(['yield', 'spin'])
    expect([effectiveWait('yield', false), effectiveWait('spin', true)]).toEqual(['yield', 'spin'])
  })

  it('passes JavaScript callers of setImmediate straight through: functions, bound functions, promisified', async () => {
    installDawnTicks()
    resetDawnTicks()
    const order: string[] = []
    setImmediate((tag: string) => order.push(tag), 'arrow')
    setImmediate(function named() {
      order.push('named')
    })
    setImmediate(((tag: string) => order.push(tag)).bind(null, 'bound'))
    expect(await promisify(setImmediate)('promisified')).toBe('promisified')
    expect(order).toEqual(['arrow', 'named', 'bound'])
    expect(dawnTicks()).toEqual({ immediate: 0, timed: 0 }) // none taken for Dawn's
  })
})

describeOnWebgpu('waiting for the device', () => {
  afterEach(() => void setDawnWait('auto'))

  /** Ticks during the read of a product worth about a second of lavapipe's time, and its values' sum. */
  async function waitOnProduct(): Promise<{ ticks: { immediate: number; timed: number }; sum: number }> {
    const a = tf.randomUniform([768, 768], -1, 1, 'float32', 1)
    const product = tf.tidy(() => {
      let x = a
      for (let i = 0; i < 6; i++) x = tf.matMul(x, a).div(30)
      return x.sum()
    })
    resetDawnTicks()
    const sum = (await product.data())[0]
    const ticks = dawnTicks()
    tf.dispose([a, product])
    return { ticks, sum }
  }

  it('ticks by the timer after SPIN_MS of a wait, where Dawn\'s loop spins; the values are the same', async () => {
    await waitOnProduct() // pipelines compiled
    setDawnWait('spin')
    const spun = await waitOnProduct()
    setDawnWait('yield')
    const yielded = await waitOnProduct()
    expect(spun.ticks.timed).toBe(0)
    expect(yielded.ticks.timed).toBeGreaterThan(0)
    // Dawn's loop ticks as fast as the event loop turns; after SPIN_MS the timer ticks a thousand times a second at most
    expect(yielded.ticks.immediate + yielded.ticks.timed).toBeLessThan(spun.ticks.immediate / 5)
    expect(yielded.sum).toBe(spun.sum)
  })

  it('yields by default on this adapter where it is a software one (lavapipe), as the backend started it', async () => {
    expect(dawnWaitNow()).toBe(adapter!.software ? 'yield' : 'spin')
    await waitOnProduct()
    const byDefault = await waitOnProduct()
    expect(byDefault.ticks.timed > 0).toBe(adapter!.software !== null)
  })

  it('keeps Dawn\'s loop inside spinWhile (a wait the tuner times by the wall clock)', async () => {
    await waitOnProduct()
    const inside = await spinWhile(waitOnProduct)
    expect(inside.ticks.timed).toBe(0)
    expect(inside.ticks.immediate).toBeGreaterThan(0) // Dawn's ticks, counted
  })
})
