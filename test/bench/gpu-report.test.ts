// gpu-vs-torch.sh's report (test/bench/gpu-report.mjs) on the lines of a real run: gpu-bench-entry.ts
// --variants at config A on lavapipe (1 step, a 100 s budget: the last variants not begun) and
// train_torch.py's config A step on cpu standing in for PyTorch CUDA (test/fixtures/gpu-bench/).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
// @ts-expect-error plain JavaScript (it runs under the bare Node carried to a GPU machine)
import { died, header, kernelTimes, parseLines, row, tunings } from './gpu-report.mjs'

const dir = join(import.meta.dirname, '../fixtures/gpu-bench')
const ours = readFileSync(join(dir, 'variants-A-lavapipe.jsonl'), 'utf8')
const torch = readFileSync(join(dir, 'torch-A-cpu.json'), 'utf8').trim()
const withTorch = `{"torch":"fp32","result":${torch}}\n{"torch":"fp16","result":null}\n${ours}`
// fused and untuned at config A on lavapipe, tuning forced on (MENGZI_WEBGPU_MATMUL_TUNE=1; a software adapter's 'auto' is off)
const tuned = readFileSync(join(dir, 'tuned-A-lavapipe.jsonl'), 'utf8')
const cells = (line: string) => line.split('|').slice(1, -1).map((c) => c.trim())

describe('the GPU script report', () => {
  it('makes the row from the variants that ran: ms, host ms and dispatches, ratios to PyTorch, and says which did not run', () => {
    const parsed = parseLines(withTorch)
    const titles = cells(header().split('\n')[0])
    const row0 = cells(row('A', parsed))
    expect(row0).toHaveLength(titles.length)
    const at = (title: string) => row0[titles.indexOf(title)]
    const fused = parsed.variants.fused
    const torchMs = JSON.parse(torch).medianStepMs
    expect(at('PyTorch CUDA fp32 ms/step')).toBe(torchMs.toFixed(1))
    expect(at('PyTorch AMP fp16')).toBe('failed') // a run that printed nothing
    expect(at('ours, our WGSL kernels (host ms, dispatches)')).toBe(`${fused.medianStepMs.toFixed(1)} (${fused.medianHostMs.toFixed(1)}, ${fused.gpuWork.dispatches})`)
    expect(at('ours / PyTorch fp32')).toBe(`${(fused.medianStepMs / torchMs).toFixed(1)}×`)
    expect(at('ours, subgroup product')).toMatch(/ \(G 8\)$/) // lavapipe's subgroups are 8 wide
    expect(at('ours, stock tfjs-webgpu kernels')).toBe('skipped (past the deadline)')
    expect(row0.filter((c) => /^\d+\.\d$/.test(c)).length).toBeGreaterThanOrEqual(4)
  })

  it('without PyTorch the ratios are n/a, and each kernel-time variant that ran gives its top 15', () => {
    const parsed = parseLines(ours)
    const row0 = row('A', parsed)
    expect(row0).toContain('n/a (no CUDA torch, or past the budget)')
    const times = kernelTimes('A', parsed)
    const fp32 = parsed.variants['times-fp32'].kernelTimes
    expect(times).toContain(`kernel times, A fp32: ${fp32.totalMs.toFixed(2)} ms of GPU time`)
    expect(times).toContain(`| ${fp32.kernels[0].kernel} | ${fp32.kernels[0].dispatches} |`)
    expect(times).toMatch(/kernel times, A lanes: skipped \(past the deadline\)/)
  })

  it('gives the untuned column and, for a variant that tuned its products, each class\'s ms with each kernel and the choice', () => {
    const parsed = parseLines(tuned)
    const titles = cells(header().split('\n')[0])
    const row0 = cells(row('A', parsed))
    expect(row0[titles.indexOf('ours, untuned (64×64 products)')]).toBe(parsed.variants.untuned.medianStepMs.toFixed(1))
    expect(parsed.variants.untuned.matmulTuning).toBeNull()
    const t = parsed.variants.fused.matmulTuning
    const text = tunings('A', parsed)
    expect(text).toContain(`product kernels tuned, A fused: ${t.products.length} classes in ${t.seconds.toFixed(1)} s (timestamps), ms per product`)
    expect(text).toContain('| product | tiled 64 | wide 128 | tiles 128×64 | tiles 64×128 | subgroups G=4 | subgroups G=8 | chosen |')
    const lines = text.split('\n').filter((l: string) => l.startsWith('| matmul-'))
    expect(lines).toHaveLength(t.products.length)
    const first = t.products[0]
    expect(lines[0]).toBe(`| ${first.product} | ${first.candidates.map((c: { ms: number }) => c.ms.toFixed(3)).join(' | ')} | ${first.chosen} |`)
    expect(tunings('A', parseLines(ours))).toBe('') // lines from before tuning, or with none
  })

  it('names a line that is not JSON (a crash’s output) and still makes the row, and runs as a script under plain node', () => {
    const crashed = parseLines(`${ours}\nSegmentation fault`)
    expect(crashed.stray).toEqual([`gpu-report: line ${ours.split('\n').length + 1} is not JSON: Segmentation fault`])
    expect(row('A', crashed)).toBe(row('A', parseLines(ours)))
    const out = execFileSync(process.execPath, [join(import.meta.dirname, 'gpu-report.mjs'), '--config', 'A'], { input: withTorch, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
    expect(out.split('\n')[2]).toBe(row('A', parseLines(withTorch)))
    const json = JSON.parse(execFileSync(process.execPath, [join(import.meta.dirname, 'gpu-report.mjs'), '--config', 'A', '--json'], { input: withTorch, encoding: 'utf8' }))
    expect(Object.keys(json.variants)).toContain('fused')
    expect(json.torch.medianStepMs).toBeCloseTo(JSON.parse(torch).medianStepMs)
  })

  it('says why a run died: PyTorch\'s exception in its cell, our process\'s exit code and the end of its stderr after the table', () => {
    const error = 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.10 GiB total capacity)'
    const stderr = 'node:internal/modules/cjs/loader:1228\nError: libvulkan.so.1: cannot open shared object file: No such file or directory'
    const lines = `{"torch":"fp32","result":null,"error":${JSON.stringify(error)}}\n{"torch":"fp16","result":${torch}}\n{"oursExit":1,"stderr":${JSON.stringify(stderr)}}`
    const parsed = parseLines(lines)
    const titles = cells(header().split('\n')[0])
    const row0 = cells(row('BASE', parsed))
    expect(row0[titles.indexOf('PyTorch CUDA fp32 ms/step')]).toBe(`failed: ${error.slice(0, 80)}`)
    expect(row0[titles.indexOf('PyTorch AMP fp16')]).toBe(JSON.parse(torch).medianStepMs.toFixed(1))
    expect(row0[titles.indexOf('ours / PyTorch fp32')]).toBe('n/a')
    expect(row0[titles.indexOf('ours, our WGSL kernels (host ms, dispatches)')]).toBe('—')
    expect(died(parsed.died)).toBe(`ours: the bench process exited with code 1; its stderr ended:\n    node:internal/modules/cjs/loader:1228\n    Error: libvulkan.so.1: cannot open shared object file: No such file or directory`)
    const out = execFileSync(process.execPath, [join(import.meta.dirname, 'gpu-report.mjs'), '--config', 'BASE'], { input: lines, encoding: 'utf8' })
    expect(out).toContain(`\n${died(parsed.died)}\n`)
    expect(parseLines(withTorch).died).toBeNull()
    const json = JSON.parse(execFileSync(process.execPath, [join(import.meta.dirname, 'gpu-report.mjs'), '--config', 'BASE', '--json'], { input: lines, encoding: 'utf8' }))
    expect(json.torch).toEqual({ failed: error })
    expect(json.died.oursExit).toBe(1)
  })
})
