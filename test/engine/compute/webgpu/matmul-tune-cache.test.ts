// The file tuned kernels are kept in between processes (matmul-tune-cache.ts), without a device: what
// it reads (and why not), how saves merge with what other processes saved, and an unreadable file set
// aside rather than lost. matmul-tune.test.ts and loop-webgpu.test.ts use it on real tunings.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { adapterKey, cachedKernel, forgetTunedKernels, readTuningCache, resetTuningCacheMemo, saveTunedKernels, sourceHash, takeCacheNotice, type CachedChoice } from '../../../../engine/compute/webgpu/matmul-tune-cache'
import type { AdapterReport } from '../../../../engine/compute/webgpu/device'

const WIDE = { share: 0, tileM: 128, tileN: 128 }
const choice = (kernel: CachedChoice['kernel'], source = 'src1'): CachedChoice => ({ kernel, source, ms: { 'tiled 64': 2, 'wide 128': 1 }, timing: 'timestamps', tunedAt: '2026-12-07T00:00:00.000Z' })

const report = (description: string): AdapterReport => ({
  vendor: 'nvidia',
  architecture: 'hopper',
  device: '',
  description,
  software: null,
  f16: true,
  subgroups: true,
  subgroupSizes: '32',
  limits: { maxStorageBuffersPerShaderStage: 16, maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 },
})

describe('the tuning cache file', () => {
  let dir: string
  let file: string
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mengzi-tune-cache-'))
    file = path.join(dir, 'cache', 'webgpu-matmul-tuning.json')
    resetTuningCacheMemo()
  })
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true })
    resetTuningCacheMemo()
  })

  it('names the adapter, its driver (Dawn\'s description), its subgroups and the Dawn build; hashes sources', () => {
    const key = adapterKey(report('NVIDIA: 570.86.15'))
    expect(key).toMatch(/^nvidia \| hopper \|  \| NVIDIA: 570\.86\.15 \| subgroups 32 \| webgpu \d+\.\d+\.\d+$/)
    expect(adapterKey(report('NVIDIA: 575.51.03'))).not.toBe(key) // a new driver measures afresh
    expect(sourceHash('fn main() {}')).toMatch(/^[0-9a-f]{16}$/)
    expect(sourceHash('fn main() {}')).not.toBe(sourceHash('fn main() { }'))
  })

  it('saves (creating its folder), reads back only where adapter, class and source all match, and merges with what is there', () => {
    expect(readTuningCache(file)).toEqual({ format: 1, adapters: {} }) // none yet
    const a = adapterKey(report('driver 1'))
    const b = adapterKey(report('driver 2'))
    const matrix = { share: 0, tileM: 64, tileN: 64, matrix: { m: 16, n: 8, k: 16, subgroups: 8, kTile: 32 as const, emulate: false } } // matmul-matrix.ts
    saveTunedKernels(file, a, { 'class 1': choice(WIDE), 'class 2': choice({ share: 8, tileM: 64, tileN: 64 }), 'class 4': choice(matrix) })
    expect(cachedKernel(file, a, 'class 1', 'src1')).toEqual(WIDE)
    expect(cachedKernel(file, a, 'class 2', 'src1')).toEqual({ share: 8, tileM: 64, tileN: 64 })
    expect(cachedKernel(file, a, 'class 4', 'src1')).toEqual(matrix)
    expect(cachedKernel(file, a, 'class 1', 'src2')).toBeNull() // a kernel's source changed
    expect(cachedKernel(file, b, 'class 1', 'src1')).toBeNull() // another adapter or driver
    expect(cachedKernel(file, a, 'class 3', 'src1')).toBeNull()

    // another process saves: its classes join, others stay; the file is read again as it changed
    saveTunedKernels(file, b, { 'class 1': choice({ share: 0, tileM: 128, tileN: 64 }) })
    saveTunedKernels(file, a, { 'class 3': choice(WIDE), 'class 2': choice(WIDE, 'src2') })
    const read = readTuningCache(file)
    if ('reason' in read) throw new Error(read.reason)
    expect(Object.keys(read.adapters).sort()).toEqual([a, b].sort())
    expect(Object.keys(read.adapters[a].classes).sort()).toEqual(['class 1', 'class 2', 'class 3', 'class 4'])
    expect(read.adapters[a].classes['class 2']).toEqual(choice(WIDE, 'src2'))
    expect(cachedKernel(file, b, 'class 1', 'src1')).toEqual({ share: 0, tileM: 128, tileN: 64 })
    expect(fs.readdirSync(path.dirname(file))).toEqual(['webgpu-matmul-tuning.json']) // no temporary file left
    expect(takeCacheNotice()).toBeNull()
  })

  it('sees what another process saved after it first read the file', () => {
    const a = adapterKey(report('driver 1'))
    saveTunedKernels(file, a, { 'class 1': choice(WIDE) })
    expect(cachedKernel(file, a, 'class 2', 'src1')).toBeNull()
    // written as another process would: not through this module's memo
    const other = JSON.parse(fs.readFileSync(file, 'utf8'))
    other.adapters[a].classes['class 2'] = choice(WIDE)
    fs.writeFileSync(file, JSON.stringify(other))
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000)) // a later mtime, whatever the clock's resolution
    expect(cachedKernel(file, a, 'class 2', 'src1')).toEqual(WIDE)
  })

  it('reports an unreadable file once with a one-line reason naming the file and field, uses none of it, and sets it aside when saving', () => {
    const a = adapterKey(report('driver 1'))
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const cases: [string, RegExp][] = [
      ['{"format": 1, "adapters": {', /: not JSON \(/],
      ['{"format": 2, "adapters": {}}', /: field format: /],
      [JSON.stringify({ format: 1, adapters: { [a]: { classes: { 'class 1': { ...choice(WIDE), kernel: { share: 8, tileM: 128, tileN: 128 } } } } } }), /: field adapters\..+\.classes\.class 1\.kernel: the subgroup kernel has 64×64 tiles$/],
      [JSON.stringify({ format: 1, adapters: { [a]: { classes: { 'class 1': { ...choice(WIDE), kernel: { share: 0, tileM: 96, tileN: 128 } } } } } }), /: field adapters\..+\.classes\.class 1\.kernel\.tileM: /],
      // a matrix kernel whose 64×64 tile does not split into its shape over its subgroups
      [JSON.stringify({ format: 1, adapters: { [a]: { classes: { 'class 1': { ...choice(WIDE), kernel: { share: 0, tileM: 64, tileN: 64, matrix: { m: 16, n: 24, k: 16, subgroups: 8, kTile: 16, emulate: false } } } } } } }), /: field adapters\..+\.classes\.class 1\.kernel: the matrix kernel has 64×64 tiles that split among its subgroups$/],
    ]
    for (const [text, reason] of cases) {
      fs.writeFileSync(file, text)
      resetTuningCacheMemo()
      const read = readTuningCache(file)
      expect('reason' in read && read.reason, text).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${reason.source}`))
      expect(cachedKernel(file, a, 'class 1', 'src1')).toBeNull()
      const notice = takeCacheNotice()
      expect(notice).toContain('the matmul tuning cache cannot be used (')
      expect(notice).not.toContain('\n')
      expect(cachedKernel(file, a, 'class 1', 'src1')).toBeNull()
      expect(takeCacheNotice()).toBeNull() // once, not at every lookup
    }
    const bad = fs.readFileSync(file, 'utf8')
    saveTunedKernels(file, a, { 'class 1': choice(WIDE) })
    expect(fs.readFileSync(`${file}.unreadable`, 'utf8')).toBe(bad) // kept for whoever wants to look
    expect(cachedKernel(file, a, 'class 1', 'src1')).toEqual(WIDE)
  })

  it('forgets the choices kept for one adapter (Settings\' button), keeping other adapters\' and setting an unreadable file aside', () => {
    const a = adapterKey(report('driver 1'))
    const b = adapterKey(report('driver 2'))
    expect(forgetTunedKernels(file, a)).toEqual({ forgotten: 0, setAside: null }) // no file yet: nothing written
    expect(fs.existsSync(file)).toBe(false)
    saveTunedKernels(file, a, { 'class 1': choice(WIDE), 'class 2': choice(WIDE) })
    saveTunedKernels(file, b, { 'class 1': choice(WIDE) })
    expect(cachedKernel(file, a, 'class 1', 'src1')).toEqual(WIDE) // read (and memoised) before the forget
    expect(forgetTunedKernels(file, a)).toEqual({ forgotten: 2, setAside: null })
    expect(cachedKernel(file, a, 'class 1', 'src1')).toBeNull()
    expect(cachedKernel(file, b, 'class 1', 'src1')).toEqual(WIDE)
    const read = readTuningCache(file)
    expect('reason' in read ? read.reason : Object.keys(read.adapters)).toEqual([b])
    expect(forgetTunedKernels(file, a)).toEqual({ forgotten: 0, setAside: null })
    // a process that tuned before the forget saves later: only what it measured comes back
    saveTunedKernels(file, a, { 'class 3': choice(WIDE) })
    expect([cachedKernel(file, a, 'class 1', 'src1'), cachedKernel(file, a, 'class 3', 'src1')]).toEqual([null, WIDE])
    expect(fs.readdirSync(path.dirname(file))).toEqual(['webgpu-matmul-tuning.json'])

    fs.writeFileSync(file, '{"format": 1')
    expect(forgetTunedKernels(file, a)).toEqual({ forgotten: 0, setAside: `${file}.unreadable` })
    expect(fs.readFileSync(`${file}.unreadable`, 'utf8')).toBe('{"format": 1')
    expect(fs.existsSync(file)).toBe(false) // the next run starts a readable file
  })

  it('throws where the file cannot be written (the tuner logs it and the run goes on), leaving no temporary file', () => {
    const a = adapterKey(report('driver 1'))
    const blocked = path.join(dir, 'a file')
    fs.writeFileSync(blocked, 'not a folder')
    expect(() => saveTunedKernels(path.join(blocked, 'webgpu-matmul-tuning.json'), a, { 'class 1': choice(WIDE) })).toThrow(/ENOTDIR|EEXIST/)
    // the file itself a folder: it cannot be read, and is set aside as unreadable, not deleted
    fs.mkdirSync(path.join(file, 'inside'), { recursive: true })
    saveTunedKernels(file, a, { 'class 1': choice(WIDE) })
    expect(fs.existsSync(path.join(`${file}.unreadable`, 'inside'))).toBe(true)
    expect(cachedKernel(file, a, 'class 1', 'src1')).toEqual(WIDE)
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['webgpu-matmul-tuning.json', 'webgpu-matmul-tuning.json.unreadable'])
  })
})
