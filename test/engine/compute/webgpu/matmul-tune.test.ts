// Tuning the products' kernels on the device (matmul-choice.ts, matmul-tune.ts), on real training
// steps of the tiny model: which classes a step records, the check of every kernel against the 64×64
// one, the choice by the measured times, the chosen kernels running from the next step with the same
// losses bit for bit, the wall-clock timing, and a product the device cannot run set aside with the
// device's message while the device stays usable.
import * as tf from '@tensorflow/tfjs'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Precision } from '../../../../engine/compute/precision'
import { deviceFailure } from '../../../../engine/compute/webgpu/device'
import { setMatmulTile, setMatmulTuning, setMatmulTuningCache, setWebgpuSubgroups, type MatmulTuning } from '../../../../engine/compute/webgpu/flags'
import { startKernelTimer } from '../../../../engine/compute/webgpu/kernel-timer'
import { chooseKernel, currentSettings, kernelName, matmulChoices, pendingProducts, productClass, resetMatmulChoices, TILED, tunedKernel, tuningDue, type MatmulKernel } from '../../../../engine/compute/webgpu/matmul-choice'
import { adapterKey, readTuningCache } from '../../../../engine/compute/webgpu/matmul-tune-cache'
import { candidateKernels, describeTuning, MARGIN, tuneBetweenSteps, tuneMatmuls, type TunedProduct } from '../../../../engine/compute/webgpu/matmul-tune'
import { webgpuInternals } from '../../../../engine/compute/webgpu/runner'
import { parseBertConfig } from '../../../../engine/model/checkpoint'
import { benchBatch } from '../../../../engine/train/bench'
import { createBenchModel, type BenchModel } from '../../../../engine/train/bench-model'
import { TINY_BERT } from '../../train/tiny-config'
import { adapter, describeOnWebgpu } from './on-webgpu'

describe('product classes', () => {
  it('group sizes up to the same power of two (batches of varying length share a measurement), and tell splits and batches apart', () => {
    const key = 'matmul----f32----vAvBvC'
    const at = (M: number, N = 768, K = 768, batch = 1, splits = 1) => productClass(key, { M, N, K, batch }, splits)
    expect(at(2100)).toBe(at(4096))
    expect(at(2100)).toBe(`${key} 4096×1024×1024`)
    expect(at(2048)).not.toBe(at(2049))
    expect(at(4096, 768, 3072)).not.toBe(at(4096))
    expect(at(128, 128, 64, 12)).toBe(`${key} 128×128×64 ×16`)
    expect(at(768, 768, 4096, 1, 4)).toBe(`${key} 1024×1024×4096 k÷4`)
    expect(at(768, 768, 4096, 1, 4)).not.toBe(at(768, 768, 4096))
  })
})

describeOnWebgpu('matmul tuning on the device', () => {
  const config = parseBertConfig({ ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, 'tiny')
  let previous: MatmulTuning
  beforeEach(() => {
    resetMatmulChoices()
    previous = setMatmulTuning(true)
  })
  afterEach(() => {
    setMatmulTuning(previous)
    resetMatmulChoices()
  })

  /** Runs `body` with a fresh tiny model (seed 7) and the fixed batch 4 × 24; disposes both. */
  async function withModel<T>(precision: Precision, body: (step: () => Promise<number>) => Promise<T>): Promise<T> {
    const model: BenchModel = createBenchModel(config, 7, precision)
    const batch = benchBatch(config, 4, 24)
    try {
      return await body(async () => model.readLoss(await model.step(batch, 1e-3)))
    } finally {
      model.dispose()
      tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask])
    }
  }

  /** The kernel labels ("matmul-… M×N×K") of one step's products, by the kernel timer. */
  async function productLabels(step: () => Promise<number>): Promise<{ loss: number; labels: string[] }> {
    const timer = startKernelTimer()
    const loss = await step()
    const labels = (await timer.stop()).kernels.map((k) => k.kernel).filter((k) => k.startsWith('matmul-') && !k.startsWith('matmul-split-sum'))
    return { loss, labels: labels.sort() }
  }

  /** The label a product of class `p` gets when kernel `k` runs it: the kernel's part in the pipeline key. */
  const labelWith = (product: string, k: MatmulKernel) => {
    const part = k.share ? `-sg${k.share}` : k.tileM === 64 && k.tileN === 64 ? '' : k.tileM === k.tileN ? `-w${k.tileM}` : `-t${k.tileM}x${k.tileN}`
    return product.replace(/^(\S*?)(-rs)?( .*)$/, (_, name: string, rs = '', sizes: string) => `${name}${part}${rs}${sizes.includes(' k÷') ? '-sk' : ''}${sizes}`)
  }

  it('"auto" tunes nothing on a software adapter, and tuning stands aside while the tile setting asks for a kernel', async () => {
    expect(adapter!.software).not.toBeNull() // lavapipe: 'auto' means off here
    setMatmulTuning('auto')
    await withModel('fp32', async (step) => {
      await step()
      expect(pendingProducts()).toEqual([])
      setMatmulTuning(true)
      const tile = setMatmulTile(128)
      try {
        await step()
        expect(pendingProducts()).toEqual([])
      } finally {
        setMatmulTile(tile)
      }
      await step()
      expect(pendingProducts().length).toBeGreaterThan(5)
    })
  })

  it('tunes each class a step records: every kernel checked and timed, the fastest by MARGIN chosen, run from the next step with the same losses', async () => {
    const device = webgpuInternals(tf.backend()).device
    const kernels = candidateKernels(device)
    expect(kernels.map(kernelName).slice(0, 4)).toEqual(['tiled 64', 'wide 128', 'tiles 128×64', 'tiles 64×128'])
    // the subgroup kernel at each G the smallest subgroup holds (lavapipe's default subgroups are 8 wide: 4 and 8)
    const min = device.adapterInfo?.subgroupMinSize ?? 4
    if (adapter!.subgroups) expect(kernels.map(kernelName).slice(4)).toEqual([4, 8, 16].filter((g) => g <= min).map((g) => `subgroups G=${g}`))
    else expect(kernels).toHaveLength(4)

    const untuned: number[] = []
    setMatmulTuning(false)
    await withModel('fp32', async (step) => {
      for (let i = 0; i < 2; i++) untuned.push(await step())
    })
    expect(pendingProducts()).toEqual([])

    setMatmulTuning(true)
    await withModel('fp32', async (step) => {
      const first = await step()
      const pending = pendingProducts()
      // the forward, dX and dW products of each dense layer, the fused Q, K, V, the tied MLM head
      expect(pending.length).toBeGreaterThan(10)
      expect(new Set(pending.map((p) => p.key)).size).toBe(pending.length)

      const report = await tuneMatmuls({ rounds: 2, reps: 1 })
      expect(report.timing).toBe('timestamps')
      expect(report.products.map((p) => p.class)).toEqual(pending.map((p) => p.key))
      expect(pendingProducts()).toEqual([])
      for (const p of report.products) {
        expect(p.candidates.map((c) => c.kernel)).toEqual(kernels.map(kernelName))
        for (const c of p.candidates) {
          expect(c.rejected, `${c.kernel} on ${p.product}`).toBeUndefined() // the same values as the 64×64 kernel
          expect(c.ms).toBeGreaterThan(0)
        }
        expect(p.chosen).toBe(expectedChoice(p))
      }
      const chosen = new Map(matmulChoices())
      expect(chosen.size).toBe(report.products.length)
      expect(describeTuning(report)).toMatch(new RegExp(`^matmul kernels tuned on the device for ${report.products.length} product classes in [\\d.]+ s \\(timestamps\\): `))

      const second = await productLabels(step)
      expect(pendingProducts()).toEqual([]) // every class of the step measured
      const expected = report.products.map((p) => labelWith(p.product, chosen.get(p.class)!)).sort()
      expect(second.labels).toEqual(expected)
      expect([first, second.loss]).toEqual(untuned)
    })
  })

  for (const precision of ['fp32', 'fp16'] as const) {
    it(`${precision}: every kernel chosen in turn runs its classes, and the losses stay those of the 64×64 kernel bit for bit`, async () => {
      const kernels = candidateKernels(webgpuInternals(tf.backend()).device)
      const untuned: number[] = []
      setMatmulTuning(false)
      await withModel(precision, async (step) => {
        for (let i = 0; i < 3; i++) untuned.push(await step())
      })
      setMatmulTuning(true)
      await withModel(precision, async (step) => {
        const losses = [await step()]
        const pending = pendingProducts()
        if (precision === 'fp16') expect(pending.some((p) => p.shape.halfA !== null || p.shape.halfB !== null)).toBe(true) // packed f16 operands
        for (let round = 0; round < 2; round++) {
          // class i gets kernel i + round (cycling), so that each kernel runs several classes
          const expected = pending.map((p, i) => {
            const k = kernels[(i + round) % kernels.length]
            chooseKernel(p.key, k)
            return labelWith(p.label, k)
          })
          const { loss, labels } = await productLabels(step)
          expect(labels).toEqual(expected.sort())
          losses.push(loss)
        }
        expect(losses).toEqual(untuned)
      })
    })
  }

  it('times with the wall clock around a queue wait where asked (a device without timestamp queries)', async () => {
    await withModel('fp32', async (step) => {
      await step()
      const report = await tuneMatmuls({ timing: 'wall', rounds: 1, reps: 1 })
      expect(report.timing).toBe('wall clock')
      expect(report.products.length).toBeGreaterThan(10)
      for (const p of report.products) for (const c of p.candidates) expect(c.ms).toBeGreaterThan(0)
    })
  })

  it('sets aside a product the device cannot run, with the device\'s message, and the device stays usable', async () => {
    // C of 60,000 × 60,000 floats is 14.4 GB, past any buffer the device allows; A and B are small
    const shape = { ...currentSettingsShape(), M: 60_000, N: 60_000, K: 4 }
    expect(tunedKernel('huge', () => shape, 'matmul-huge 60000×60000×4', noSources)).toBeUndefined()
    const report = await tuneMatmuls({ rounds: 1, reps: 1 })
    expect(report.products).toHaveLength(1)
    const [p] = report.products
    expect(p.chosen).toBe('tiled 64')
    expect(p.candidates[0].rejected).toMatch(/^device error: .+/)
    expect(p.candidates.slice(1).every((c) => c.ms === null && c.rejected === undefined)).toBe(true) // nothing to compare them with
    expect(describeTuning(report)).toMatch(/; set aside: tiled 64 for matmul-huge 60000×60000×4: device error: /)
    expect(deviceFailure()).toBeNull()
    const sum = tf.tidy(() => tf.matMul(tf.ones([3, 5]), tf.ones([5, 2])).sum())
    expect((await sum.data())[0]).toBe(30)
    sum.dispose()
  })

  it('a tuning that fails (operands the device cannot hold) is logged, its classes keep the 64×64 kernel and are not noted again, the device stays usable', async () => {
    // A of 60,000 × 60,000 floats: the operand pool cannot be made
    const shape = { ...currentSettingsShape(), M: 60_000, N: 4, K: 60_000 }
    tunedKernel('huge A', () => shape, 'matmul-huge 60000×4×60000', noSources)
    tunedKernel('small', () => ({ ...currentSettingsShape(), M: 8, N: 8, K: 8 }), 'matmul-small 8×8×8', noSources)
    const logs: string[] = []
    await tuneBetweenSteps((line) => logs.push(line))
    expect(logs[0]).toBe("tuning the matrix products' kernels on the device for 2 new product classes")
    expect(logs[1]).toMatch(/^matmul kernel tuning failed: the operand pools: device error: .+; those products stay on the 64×64 kernel$/)
    expect(logs).toHaveLength(2)
    expect(new Map(matmulChoices())).toEqual(new Map([['huge A', TILED], ['small', TILED]]))
    expect(tunedKernel('huge A', () => shape, 'again', noSources)).toEqual(TILED)
    expect(pendingProducts()).toEqual([])
    expect(deviceFailure()).toBeNull()
    const sum = tf.tidy(() => tf.matMul(tf.ones([3, 5]), tf.ones([5, 2])).sum())
    expect((await sum.data())[0]).toBe(30)
    sum.dispose()
  })
})

describeOnWebgpu('matmul tuning kept between processes', () => {
  const config = parseBertConfig({ ...TINY_BERT, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, 'tiny')
  let dir: string
  let file: string
  let previous: { tuning: MatmulTuning; cache: string | null }
  beforeEach(() => {
    resetMatmulChoices()
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-tune-kept-'))
    file = path.join(dir, 'webgpu-matmul-tuning.json')
    previous = { tuning: setMatmulTuning(true), cache: setMatmulTuningCache(file) }
  })
  afterEach(() => {
    setMatmulTuning(previous.tuning)
    setMatmulTuningCache(previous.cache)
    resetMatmulChoices()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  /** One tiny fp32 step (seed 7, batch 4 × 24) on a fresh model, then the pause's log lines; what a new process does, after resetMatmulChoices. */
  async function stepAndPause(): Promise<{ loss: number; logs: string[]; labels: string[] }> {
    const model = createBenchModel(config, 7, 'fp32')
    const batch = benchBatch(config, 4, 24)
    try {
      const timer = startKernelTimer()
      const loss = model.readLoss(await model.step(batch, 1e-3))
      const labels = (await timer.stop()).kernels.map((k) => k.kernel).filter((k) => k.startsWith('matmul-') && !k.startsWith('matmul-split-sum'))
      const logs: string[] = []
      if (tuningDue()) await tuneBetweenSteps((line) => logs.push(line))
      return { loss: await loss, logs, labels: labels.sort() }
    } finally {
      model.dispose()
      tf.dispose([batch.inputIds, batch.tokenTypeIds, batch.attentionMask])
    }
  }

  const kept = () => {
    const read = readTuningCache(file)
    if ('reason' in read) throw new Error(read.reason)
    return read.adapters[adapterKey(adapter!)]?.classes ?? {}
  }

  it('saves the choices, a new process takes them instead of tuning, runs them from its first step with the same loss; a changed kernel source is tuned again alone', async () => {
    const first = await stepAndPause()
    expect(first.logs[0]).toMatch(/^tuning the matrix products' kernels on the device for \d+ new product classes$/)
    expect(first.logs[1]).toMatch(new RegExp(`; kept for later runs in ${escapeRegExp(file)}$`))
    expect(first.logs).toHaveLength(2)
    const choices = new Map(matmulChoices())
    const classes = kept()
    expect(Object.keys(classes).sort()).toEqual([...choices.keys()].sort())
    for (const [key, c] of Object.entries(classes)) {
      expect(c.kernel).toEqual(choices.get(key))
      expect(c.source).toMatch(/^[0-9a-f]{16}$/)
      expect(c.ms['tiled 64']).toBeGreaterThan(0)
    }

    const tunedHere = await stepAndPause() // the chosen kernels, in the process that chose them
    expect(tunedHere.logs).toEqual([])

    resetMatmulChoices() // a new process: nothing measured in memory
    const second = await stepAndPause()
    expect(pendingProducts()).toEqual([])
    expect(second.logs).toEqual([expect.stringMatching(new RegExp(`^matmul kernels for ${choices.size} product classes kept from an earlier tuning on this adapter: `))])
    expect(new Map(matmulChoices())).toEqual(choices)
    // from its first step, the kept kernels run (the first process's first step ran the 64×64 one throughout), with the same loss
    expect(second.labels).toEqual(tunedHere.labels)
    expect([second.loss, tunedHere.loss]).toEqual([first.loss, first.loss])

    // one class's candidates changed since (a new kernel source): only it is measured again
    const edited = JSON.parse(fs.readFileSync(file, 'utf8'))
    const [stale] = Object.keys(classes)
    edited.adapters[adapterKey(adapter!)].classes[stale].source = '0000000000000000'
    fs.writeFileSync(file, JSON.stringify(edited))
    resetMatmulChoices()
    const third = await stepAndPause()
    expect(third.logs[0]).toMatch(new RegExp(`^matmul kernels for ${choices.size - 1} product classes kept from an earlier tuning on this adapter: `))
    expect(third.logs[1]).toBe("tuning the matrix products' kernels on the device for 1 new product classes")
    expect(third.logs[2]).toMatch(/^matmul kernels tuned on the device for 1 product classes in /)
    expect(kept()[stale].source).toBe(classes[stale].source) // saved again, with the current source
    expect(third.loss).toBe(first.loss)

    // other candidates (no subgroup kernels where subgroups are off): every class is measured again
    if (!adapter!.subgroups) return
    const subgroups = setWebgpuSubgroups(false)
    try {
      resetMatmulChoices()
      const fourth = await stepAndPause()
      expect(fourth.logs[0]).toBe(`tuning the matrix products' kernels on the device for ${choices.size} new product classes`)
    } finally {
      setWebgpuSubgroups(subgroups)
    }
  })

  it('keeps no class it could not time two kernels for (a product the device cannot run): a later process measures it again', async () => {
    const shape = { ...currentSettingsShape(), M: 60_000, N: 60_000, K: 4 } // C of 14.4 GB
    tunedKernel('huge', () => shape, 'matmul-huge 60000×60000×4', () => 'huge sources')
    tunedKernel('small', () => ({ ...currentSettingsShape(), M: 64, N: 64, K: 64 }), 'matmul-small 64×64×64', () => 'small sources')
    const report = await tuneMatmuls({ rounds: 1, reps: 1 })
    expect(report.products.map((p) => p.chosen)[0]).toBe('tiled 64')
    expect(report.cache).toEqual({ file, saved: 1 })
    expect(Object.keys(kept())).toEqual(['small'])
    const small = kept().small.kernel
    resetMatmulChoices()
    expect(tunedKernel('small', () => shape, 'again', () => 'small sources')).toEqual(small)
    expect(tunedKernel('huge', () => shape, 'again', () => 'huge sources')).toBeUndefined()
    expect(pendingProducts().map((p) => p.key)).toEqual(['huge'])
  })

  it('an unreadable cache is said once, its classes tuned afresh and saved, the bad file set aside; an unwritable one is said and the run goes on', async () => {
    fs.writeFileSync(file, '{"format": 1, "adapt')
    const first = await stepAndPause()
    expect(first.logs[0]).toBe(`the matmul tuning cache cannot be used (${file}: not JSON (${jsonError('{"format": 1, "adapt')})); its classes are tuned afresh, and the file is set aside as webgpu-matmul-tuning.json.unreadable when they are saved`)
    expect(first.logs[1]).toMatch(/^tuning the matrix products' kernels on the device for \d+ new product classes$/)
    expect(first.logs[2]).toMatch(/; kept for later runs in /)
    expect(fs.readFileSync(`${file}.unreadable`, 'utf8')).toBe('{"format": 1, "adapt')
    expect(Object.keys(kept()).length).toBe(matmulChoices().length)

    resetMatmulChoices()
    setMatmulTuningCache(path.join(file, 'inside a file.json')) // its folder is a file: cannot be written
    const second = await stepAndPause()
    expect(second.logs[0]).toMatch(/^the matmul tuning cache cannot be used \(.*ENOTDIR/) // its path runs through a file
    expect(second.logs[2]).toMatch(/^matmul kernels tuned on the device for \d+ product classes in .*; not kept for later runs \(.*(ENOTDIR|EEXIST).*\)$/)
    expect(second.logs).toHaveLength(3)
    expect(second.loss).toBe(first.loss)
  })
})

/** The choice tuneProduct must make from a report's times: the fastest, if at least MARGIN faster than the 64×64 kernel. */
function expectedChoice(p: TunedProduct): string {
  const timed = p.candidates.filter((c) => c.ms !== null)
  const tiled = timed.find((c) => c.kernel === kernelName(TILED))!
  const best = timed.reduce((a, b) => (b.ms! < a.ms! ? b : a))
  return best.ms! <= tiled.ms! * (1 - MARGIN) ? best.kernel : tiled.kernel
}

/** A plain float32 product's shape under the current settings. */
function currentSettingsShape() {
  return { M: 1, N: 1, K: 1, batch: 1, transA: false, transB: false, strideA: 1, strideB: 1, bias: false, gelu: false, packZ: false, rowSums: false, halfA: null, halfB: null, settings: currentSettings() }
}

/** The WGSL of a class's candidates, where a test notes a class by hand (no cache in use: not called). */
function noSources(): string {
  return ''
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** JSON.parse's message for `text`, as the cache quotes it. */
function jsonError(text: string): string {
  try {
    JSON.parse(text)
  } catch (e) {
    return (e as Error).message
  }
  return ''
}
